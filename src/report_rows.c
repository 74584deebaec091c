/*-------------------------------------------------------------------------
 * report_rows.c
 *		A queued CSV row → a tuple (its cells converted by convert.c), and
 *		the payouts' lookup columns
 *		(GET /payouts/bankwire/{Id} per row, local quals checked first).
 *-------------------------------------------------------------------------
 */
#include "report_int.h"

/* ------------------------------------------------------------------------
 * rows
 * ------------------------------------------------------------------------ */
static int64
field_int(const QRow *r, int f, bool *ok)
{
	*ok = false;
	if (f < 0 || f >= r->nfields)
		return 0;
	return mp_cell_int(r->data[f], r->len[f], ok);
}

/*
 * One queued row into the slot: the cells through convert.c
 * (mp_csv_to_values), key columns from the window's key values, lookup
 * columns from the caller's GETs.
 */
void
mpr_store_row(MpReportScan *s, QRow *r, char **lookup, TupleTableSlot *slot)
{
	ScanReport *w = &s->w[s->cur];
	MpCsvCells	cells = {r->nfields, r->line, r->data, r->len};
	const char *keyvals[MP_MAX_KEY_COLUMNS];

	for (int k = 0; k < s->nkeys; k++)
		keyvals[k] = mpr_partval(s, w->part, k);
	s->file.relname = RelationGetRelationName(s->b.rel);
	s->file.report_id = w->report_id;
	mp_csv_to_values(&s->file, &cells, s->b.maps, s->b.natts, keyvals, lookup,
					 slot->tts_values, slot->tts_isnull);
	/* the report's own time (wallets: when the balances were taken) */
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];

		if (m->colname && m->needed && m->def && (m->def->flags & MP_COL_REPORTED) &&
			w->report_date > 0)
		{
			slot->tts_values[i] = mp_unix_to_datum(m, (double) w->report_date);
			slot->tts_isnull[i] = false;
		}
	}
	if (mp_has_provenance(s->b.maps, s->b.natts))
		mp_fill_provenance(s->b.maps, s->b.natts, slot->tts_values, slot->tts_isnull,
						   psprintf("report %s", w->report_id));
}

/* the next queued row inside its window, or NULL */
QRow *
mpr_pop_row(MpReportScan *s)
{
	ScanReport *w = &s->w[s->cur];

	while (s->qhead)
	{
		QRow	   *r = s->qhead;
		bool		ok;
		int64		d;

		s->qhead = r->next;
		if (s->qhead == NULL)
			s->qtail = NULL;
		s->qrows--;
		s->qbytes -= r->size;
		if (s->date_field >= 0 && r->nfields == s->file.ncsv)
		{
			d = field_int(r, s->date_field, &ok);
			if (ok && (d < w->start || d >= w->end))
			{
				/* asked one second wider: belongs to the next window */
				s->dropped++;
				mpr_free_row(r);
				continue;
			}
		}
		return r;
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * payouts' lookup columns: GET /payouts/bankwire/{Id}, in row order
 * ------------------------------------------------------------------------ */
void
mpr_start_lookup(MpReportScan *s, Lookup *l)
{

	if (s->id_field < 0 || l->row->len[s->id_field] <= 0)
	{
		l->req = NULL;
		return;
	}
	if (s->lookups_done >= s->b.conn->max_lookups)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("query on \"%s\" needs more than max_lookups (%d) requests to GET %s",
						RelationGetRelationName(s->b.rel), s->b.conn->max_lookups, s->b.res->lookup_path),
				 errdetail("Columns mode_requested, mode_applied, fallback_reason_code, fallback_reason_message and end_to_end_id need one request per row."),
				 errhint("Narrow the query (a shorter date range, a status), leave those columns out, or raise the server option max_lookups.")));
	s->lookups_done++;
	l->req = mpr_api_request(s, "GET", mp_path_with_id(s->b.res->lookup_path, l->row->data[s->id_field]));
	mp_request_start(l->req);
}

/*
 * The lookup columns of one row from GET /payouts/bankwire/{Id}, as
 * server-encoded text per attribute (NULL where absent).
 */
char **
mpr_lookup_values(MpReportScan *s, MpRequest *r)
{
	cJSON	   *j = mp_json_body(r, r->buf, r->len);
	char	  **vals = palloc0(sizeof(char *) * s->b.natts);

	if (j == NULL || !cJSON_IsObject(j))
		mp_error_json_shape(r, "the payout is not a JSON object");
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];
		const cJSON *v = j;

		if (!m->colname || !m->needed || !m->def || !(m->def->flags & MP_COL_LOOKUP))
			continue;
		for (int p = 0; p < m->pathlen && v; p++)
			v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, m->path[p]) : NULL;
		if (cJSON_IsString(v))
			vals[i] = pstrdup(v->valuestring);
	}
	mp_json_release(j);
	for (int i = 0; i < s->b.natts; i++)
		if (vals[i])
			vals[i] = pg_any_to_server(vals[i], strlen(vals[i]), PG_UTF8);
	return vals;
}

/*
 * Does the row pass the local quals that read no lookup column?  Checked
 * before its lookup: a row that cannot match costs no GET.  The values live
 * in a context of their own, reset after each row, since many rows may be
 * rejected within one call.
 */
bool
mpr_row_passes(MpReportScan *s, QRow *r, TupleTableSlot *slot)
{
	ExprContext *econtext = s->b.node->ss.ps.ps_ExprContext;
	MemoryContext old = MemoryContextSwitchTo(s->prefilter_cxt);
	bool		ok;

	s->held = r;
	mpr_store_row(s, r, NULL, slot);
	s->held = NULL;
	ExecStoreVirtualTuple(slot);
	econtext->ecxt_scantuple = slot;
	ok = ExecQual(s->prefilter, econtext);
	ExecClearTuple(slot);
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->prefilter_cxt);
	if (!ok)
		s->prefiltered++;
	return ok;
}
