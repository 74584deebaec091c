/*-------------------------------------------------------------------------
 * report_rows.c
 *		A queued CSV row → a tuple, and the payouts' lookup columns
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
	char	   *end;
	long long	v;
	int64		v8;

	*ok = false;
	if (f < 0 || f >= r->nfields || r->len[f] <= 0)
		return 0;
	if (mp_fast_int8(r->data[f], r->len[f], &v8))
	{
		*ok = true;
		return v8;
	}
	v = strtoll(r->data[f], &end, 10);
	*ok = (*end == '\0');
	return v;
}

/* "dd/MM/yyyy HH:mm:ss" (legacy :ISO columns) → "yyyy-MM-dd HH:mm:ss+00" */
static const char *
iso_text(const char *v, char *buf, size_t bufsz)
{
	int			d,
				mo,
				y,
				h,
				mi,
				se;
	char		tail;

	if (sscanf(v, "%2d/%2d/%4d %2d:%2d:%2d%c", &d, &mo, &y, &h, &mi, &se, &tail) == 6)
	{
		snprintf(buf, bufsz, "%04d-%02d-%02d %02d:%02d:%02d+00", y, mo, d, h, mi, se);
		return buf;
	}
	/* only the API's formats: never "now" or "yesterday" */
	if (!mp_jsonrow_iso_date(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("MangoPay date \"%s\" is neither Unix seconds nor an ISO 8601 date",
						mp_safe_text(NULL, v, 60))));
	return v;
}

typedef struct RowCtx
{
	MpReportScan *s;
	MpColMap   *m;
	uint64		line;
} RowCtx;

static void
row_context(void *arg)
{
	RowCtx	   *c = (RowCtx *) arg;
	Window	   *w = &c->s->w[c->s->cur];

	if (c->m)
		errcontext("column \"%s\" of foreign table \"%s\" (report %s, CSV line %llu, column \"%s\")",
				   c->m->colname, RelationGetRelationName(c->s->b.rel),
				   w->report_id ? w->report_id : "?", (unsigned long long) c->line, c->m->field);
	else
		errcontext("foreign table \"%s\" (report %s, CSV line %llu)",
				   RelationGetRelationName(c->s->b.rel), w->report_id ? w->report_id : "?",
				   (unsigned long long) c->line);
}

/* a CSV cell as server-encoded text (UTF-8 verified) */
static char *
cell(QRow *r, int f)
{
	return pg_any_to_server(r->data[f], r->len[f], PG_UTF8);
}

void
mpr_store_row(MpReportScan *s, QRow *r, char **lookup, TupleTableSlot *slot)
{
	Datum	   *values = slot->tts_values;
	bool	   *nulls = slot->tts_isnull;
	ErrorContextCallback cb;
	RowCtx		ctx = {s, NULL, r->line};
	Window	   *w = &s->w[s->cur];
	int64		v8;
	bool		ascii = false;

	cb.callback = row_context;
	cb.arg = &ctx;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	if (r->nfields != s->ncsv)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("malformed CSV in MangoPay report %s for \"%s\"", w->report_id,
						RelationGetRelationName(s->b.rel)),
				 errdetail("Line %llu has %d fields, the header %d.", (unsigned long long) r->line,
						   r->nfields, s->ncsv)));
	if (s->ascii_check < 0)
	{
		/* many cells read: one look at the whole row instead of one per cell */
		int			cells = 0;

		for (int i = 0; i < s->b.natts; i++)
			if (s->b.maps[i].needed && s->b.maps[i].colname)
				cells += s->b.maps[i].is_attrs ? s->ncsv : (s->attr_field[i] >= 0);
		s->ascii_check = cells >= 4 && GetDatabaseEncoding() == PG_UTF8;
	}
	/* ASCII is valid UTF-8 (the parser lets no NUL through): no cell needs verifying */
	if (s->ascii_check > 0 && r->nfields > 0)
		ascii = mp_ascii(r->data[0], r->data[r->nfields - 1] + Max(r->len[r->nfields - 1], 0) -
						 r->data[0]);
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];
		int			f = s->attr_field[i];

		values[i] = (Datum) 0;
		nulls[i] = true;
		if (!m->needed || m->colname == NULL)
			continue;
		ctx.m = m;
		if (m->is_key)
		{
			const char *v = mpr_partval(s, w->part, m->key_index);

			if (v)
			{
				values[i] = mp_text_to_datum(m, v);
				nulls[i] = false;
			}
			continue;
		}
		if (m->is_attrs && m->typid == JSONBOID)
		{
			/* built straight into jsonb's binary form (src/rowbuild.c) */
			if (s->attrs_layout == NULL)
			{
				MemoryContext old = MemoryContextSwitchTo(s->b.cxt);

				s->attrs_layout = mp_attrs_layout(s->csv_names, s->ncsv);
				MemoryContextSwitchTo(old);
			}
			values[i] = mp_attrs_jsonb(s->attrs_layout, r->data, r->len, ascii);
			nulls[i] = false;
			continue;
		}
		if (m->is_attrs)
		{
			/* a json column keeps the text as it is */
			StringInfoData j;

			initStringInfo(&j);
			appendStringInfoChar(&j, '{');
			for (int k = 0; k < s->ncsv; k++)
			{
				if (k)
					appendStringInfoChar(&j, ',');
				escape_json(&j, pg_any_to_server(s->csv_names[k], strlen(s->csv_names[k]), PG_UTF8));
				appendStringInfoChar(&j, ':');
				if (r->len[k] < 0)
					appendStringInfoString(&j, "null");
				else
					escape_json(&j, cell(r, k));
			}
			appendStringInfoChar(&j, '}');
			values[i] = mp_text_to_datum(m, j.data);
			nulls[i] = false;
			continue;
		}
		if (m->def && (m->def->flags & MP_COL_LOOKUP))
		{
			if (lookup && lookup[i])
			{
				values[i] = mp_text_to_datum(m, lookup[i]);
				nulls[i] = false;
			}
			continue;
		}
		if (f < 0 || r->len[f] < 0)
			continue;
		if (m->kind == MP_CK_TIME)
		{
			bool		ok;
			int64		v = field_int(r, f, &ok);
			char		buf[64];
			TimestampTz ts;

			if (ok)
				values[i] = mp_unix_to_datum(m, (double) v);
			else if (m->typid == TIMESTAMPTZOID && m->typmod < 0 &&
					 mp_fast_legacy_iso(r->data[f], r->len[f], &ts))
				values[i] = TimestampTzGetDatum(ts);
			else
				values[i] = mp_text_to_datum(m, iso_text(cell(r, f), buf, sizeof(buf)));
			nulls[i] = false;
			continue;
		}
		if (m->typid == TEXTOID)
		{
			/* most columns: no input function call, no strlen */
			char	   *c = ascii ? r->data[f] : cell(r, f);

			values[i] = PointerGetDatum(cstring_to_text_with_len(c, c == r->data[f] ? r->len[f]
																	: (int) strlen(c)));
		}
		else if (m->typid == INT8OID && mp_fast_int8(r->data[f], r->len[f], &v8))
			values[i] = Int64GetDatum(v8);
		else
			values[i] = mp_text_to_datum(m, cell(r, f));
		nulls[i] = false;
	}
	error_context_stack = cb.previous;
}

/* the next queued row inside its window, or NULL */
QRow *
mpr_pop_row(MpReportScan *s)
{
	Window	   *w = &s->w[s->cur];

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
		if (s->date_field >= 0 && r->nfields == s->ncsv)
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
