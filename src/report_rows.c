/*-------------------------------------------------------------------------
 * report_rows.c
 *		A queued CSV row → a tuple (its cells converted by convert.c), and
 *		the payouts' lookup columns
 *		(a GET per row of each view of the payout they need, local quals
 *		checked first).
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
	if (s->provenance)
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
 * payouts' lookup columns: one GET per view of the payout the query's
 * columns need (GET /payouts/bankwire/{Id}, GET /payouts/{Id}), in row order
 * ------------------------------------------------------------------------ */
pg_noreturn static void
lookups_exceeded(MpReportScan *s)
{
	StringInfoData cols;

	initStringInfo(&cols);
	for (int i = 0; i < s->b.natts; i++)
		if (s->b.maps[i].colname && s->b.maps[i].needed && s->b.maps[i].def &&
			(s->b.maps[i].def->flags & MP_COL_LOOKUP))
			appendStringInfo(&cols, "%s%s", cols.len ? ", " : "", s->b.maps[i].colname);
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("query on \"%s\" needs more than max_lookups (%d) requests to %s",
					RelationGetRelationName(s->b.rel), s->b.conn->max_lookups,
					mp_lookup_views_text(s->b.res, s->views, " and ")),
			 errdetail("Columns %s need one request per row to each view of the %s that carries them.",
					   cols.data, s->b.res->object_name),
			 errhint("Narrow the query (a shorter date range, a status), leave those columns out, or raise the server option max_lookups.")));
}

void
mpr_start_lookup(MpReportScan *s, Lookup *l)
{
	for (int v = 0; v < MP_MAX_VIEWS; v++)
		l->req[v] = NULL;
	if (s->id_field < 0 || l->row->len[s->id_field] <= 0)
		return;
	for (int v = 0; v < MP_MAX_VIEWS; v++)
	{
		const char *path = mp_lookup_view_path(s->b.res, 1 << v);

		if (!(s->views & (1 << v)) || path == NULL)
			continue;
		if (s->lookups_done >= s->b.conn->max_lookups)
			lookups_exceeded(s);
		s->lookups_done++;
		l->req[v] = mpr_api_request(s, "GET", mp_path_with_id(path, l->row->data[s->id_field]));
		mp_request_start(l->req[v]);
	}
}

/*
 * The lookup columns of one row from the views it read (a view that
 * answered 404, or none, leaves its columns NULL), as server-encoded text
 * per attribute (NULL where absent).  A column both views carry is read
 * from the first view the row read.
 */
char **
mpr_lookup_values(MpReportScan *s, Lookup *l)
{
	cJSON	   *obj[MP_MAX_VIEWS] = {NULL};
	char	  **vals = palloc0(sizeof(char *) * s->b.natts);

	for (int v = 0; v < MP_MAX_VIEWS; v++)
	{
		MpRequest  *r = l->req[v];

		if (r == NULL || !mp_request_ok(r))
			continue;
		obj[v] = mp_json_body(r, r->buf, r->len);
		if (obj[v] == NULL || !cJSON_IsObject(obj[v]))
			mp_error_json_shape(r, "the payout is not a JSON object");
	}
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];
		const cJSON *val;
		int			v = 0;

		if (!m->colname || !m->needed || !m->def || !(m->def->flags & MP_COL_LOOKUP))
			continue;
		while (v < MP_MAX_VIEWS && (!(mp_lookup_views(m->def) & (1 << v)) || obj[v] == NULL))
			v++;
		if (v == MP_MAX_VIEWS)
			continue;
		val = obj[v];
		for (int p = 0; p < m->pathlen && val; p++)
			val = cJSON_IsObject(val) ? cJSON_GetObjectItemCaseSensitive(val, m->path[p]) : NULL;
		if (cJSON_IsString(val))
			vals[i] = pstrdup(val->valuestring);
	}
	for (int v = 0; v < MP_MAX_VIEWS; v++)
		if (obj[v])
			mp_json_release(obj[v]);
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
