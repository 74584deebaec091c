/*-------------------------------------------------------------------------
 * convert.c
 *		API values → Datums, one column at a time.
 *
 * Every value goes through the declared column type's input function, so
 * a user may declare another type than IMPORT FOREIGN SCHEMA does (numeric
 * for an amount, varchar for an id); Unix-second numbers still become
 * timestamps; an object or array into jsonb (attrs) is built as jsonb
 * directly (src/rowbuild.c).  Text from the network is verified (and
 * converted) to the server encoding before any input function sees it.
 * Both kinds of rows come here: API objects (mp_json_to_values) and the
 * cells of a report's CSV (mp_csv_to_values, with exact fast paths for
 * text, bigint and the legacy ":ISO" dates).  One error-context callback
 * names the column, the field and the object or the report's CSV line in
 * the CONTEXT of any failure.
 *
 * Field paths and how a JSON value becomes text or Unix seconds are in the
 * pure C src/jsonrow.c (unit-tested and fuzzed); this file turns its
 * statuses into ERRORs and its results into Datums.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include <cjson/cJSON.h>
#include <ctype.h>

#include "jsonrow.h"
#include "rowbuild.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/json.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

/* jsonrow.c's allocations: palloc in the current context (an ERROR on OOM) */
static void *
jr_palloc(void *ctx, size_t size)
{
	return palloc(size);
}

static void
jr_pfree(void *ctx, void *ptr)
{
	pfree(ptr);
}

static const MpAlloc jr_alloc = {jr_palloc, NULL, jr_pfree, NULL};

/* "debited_funds_amount" → "DebitedFundsAmount" */
static char *
snake_to_pascal(const char *s)
{
	char	   *out = palloc(strlen(s) + 1);
	char	   *o = out;
	bool		up = true;

	for (; *s; s++)
	{
		if (*s == '_')
		{
			up = true;
			continue;
		}
		*o++ = up ? toupper((unsigned char) *s) : *s;
		up = false;
	}
	*o = '\0';
	return out;
}

/* "DebitedFunds.Amount" → {"DebitedFunds", "Amount"}; empty segments skipped */
static void
split_path(MpColMap *m, const char *field)
{
	/* palloc never returns NULL, so neither does this */
	m->pathlen = mp_jsonrow_split_path(&jr_alloc, field, &m->path);
	m->nalt = 0;
	if (strchr(field, '|') || strchr(field, '*'))
	{
		/*
		 * A field of alternatives, "LocalBankTransfer.*.IBAN|
		 * InternationalBankTransfer.IBAN": the first one present wins, and
		 * a "*" step is any member of an object (a Recipient's account
		 * details are keyed by its currency, spec §11).
		 */
		char	   *copy = pstrdup(field);
		char	   *save = NULL;
		int			cap = 1;

		for (const char *c = field; *c; c++)
			cap += (*c == '|');
		m->altpath = palloc(sizeof(char **) * cap);
		m->altlen = palloc(sizeof(int) * cap);
		for (char *a = strtok_r(copy, "|", &save); a; a = strtok_r(NULL, "|", &save))
		{
			m->altlen[m->nalt] = mp_jsonrow_split_path(&jr_alloc, a, &m->altpath[m->nalt]);
			m->nalt++;
		}
	}
}

/* walk path in v, a "*" step trying every member of an object in turn */
static const cJSON *
walk_any(const cJSON *v, char *const *path, int n)
{
	for (int p = 0; p < n && v; p++)
	{
		if (strcmp(path[p], "*") == 0)
		{
			if (!cJSON_IsObject(v))
				return NULL;
			for (const cJSON *c = v->child; c; c = c->next)
			{
				const cJSON *r = walk_any(c, path + p + 1, n - p - 1);

				if (r)
					return r;
			}
			return NULL;
		}
		v = mp_jsonrow_walk(v, path + p, 1);
	}
	return (v == NULL || cJSON_IsNull(v)) ? NULL : v;
}

/* a column's value in an API object (NULL: absent or JSON null) */
static const cJSON *
field_value(const cJSON *obj, const MpColMap *m)
{
	if (m->is_attrs)
		return mp_jsonrow_walk(obj, m->path, 0);
	for (int a = 0; a < m->nalt; a++)
	{
		const cJSON *v = walk_any(obj, m->altpath[a], m->altlen[a]);

		if (v)
			return v;
	}
	if (m->nalt > 0)
		return NULL;
	return mp_jsonrow_walk(obj, m->path, m->pathlen);
}

static MpJrKind
jr_kind(MpColKind kind)
{
	switch (kind)
	{
		case MP_CK_TEXT:
			return MP_JR_KIND_TEXT;
		case MP_CK_TIME:
			return MP_JR_KIND_TIME;
		case MP_CK_INT8:
			return MP_JR_KIND_INT8;
		case MP_CK_INT4:
			return MP_JR_KIND_INT4;
		case MP_CK_BOOL:
			return MP_JR_KIND_BOOL;
		case MP_CK_JSON:
			return MP_JR_KIND_JSON;
		case MP_CK_NUMERIC:
			return MP_JR_KIND_NUMERIC;
		case MP_CK_DATE:
		case MP_CK_PRESENT:
			return MP_JR_KIND_TEXT;
	}
	return MP_JR_KIND_TEXT;
}

static MpColKind
kind_from_type(Oid typid)
{
	switch (typid)
	{
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
		case DATEOID:
			return MP_CK_TIME;
		case INT8OID:
		case INT4OID:
		case INT2OID:
			return MP_CK_INT8;
		case NUMERICOID:
			return MP_CK_NUMERIC;
		case BOOLOID:
			return MP_CK_BOOL;
		case JSONBOID:
		case JSONOID:
			return MP_CK_JSON;
		default:
			return MP_CK_TEXT;
	}
}

/*
 * The views of the object a row GETs for the lookup columns the query reads
 * (MP_VIEW_1 | MP_VIEW_2, mp_lookup_fetch), 0 when it reads none.
 */
int
mp_lookup_views_read(const MpColMap *maps, int natts)
{
	int			need = 0;

	for (int i = 0; i < natts; i++)
		if (maps[i].colname && maps[i].needed && maps[i].def)
			need = mp_lookup_need(need, maps[i].def);
	return mp_lookup_fetch(need);
}

/*
 * One map per attribute of the foreign table (dropped ones included, with
 * needed = false), saying where its value comes from.
 */
MpColMap *
mp_build_colmaps(Relation rel, const MpResource *res, Bitmapset *needed, bool all,
				 bool json_view)
{
	TupleDesc	tupdesc = RelationGetDescr(rel);
	MpColMap   *maps = palloc0(sizeof(MpColMap) * tupdesc->natts);

	for (int i = 0; i < tupdesc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(tupdesc, i);
		MpColMap   *m = &maps[i];
		char	   *field;
		Oid			infunc;

		m->attnum = i + 1;
		if (att->attisdropped)
			continue;
		m->colname = pstrdup(NameStr(att->attname));
		m->typid = att->atttypid;
		m->typmod = att->atttypmod;
		m->needed = all ||
			bms_is_member(i + 1 - FirstLowInvalidHeapAttributeNumber, needed);
		field = mp_column_field_option(RelationGetRelid(rel), i + 1);
		m->def = mp_resource_column(res, m->colname);
		if (field == NULL && m->def)
			field = pstrdup(json_view && m->def->json ? m->def->json : m->def->field);
		if (field == NULL)
			field = snake_to_pascal(m->colname);
		m->field = field;
		m->is_attrs = (m->def && (m->def->flags & MP_COL_ATTRS)) ||
			(m->def == NULL && strcmp(m->colname, "attrs") == 0 &&
			 (m->typid == JSONBOID || m->typid == JSONOID));
		m->is_key = m->def && (m->def->flags & MP_COL_KEY);
		if (m->is_key)
		{
			/* position among the descriptor's key columns */
			for (const MpColumnDef *d = res->cols; d < m->def; d++)
				if (d->flags & MP_COL_KEY)
					m->key_index++;
		}
		m->kind = m->def ? m->def->kind : kind_from_type(m->typid);
		/* provenance columns are no API field: the scan fills them */
		if (m->def == NULL && mp_column_field_option(RelationGetRelid(rel), i + 1) == NULL &&
			((strcmp(m->colname, "_read_at") == 0 && m->typid == TIMESTAMPTZOID) ||
			 (strcmp(m->colname, "_source") == 0 && m->typid == TEXTOID)))
		{
			m->provenance = m->typid == TEXTOID ? MP_PROV_SOURCE : MP_PROV_READ_AT;
			m->prov_needed = m->needed;
			m->needed = false;
		}
		split_path(m, field);
		getTypeInputInfo(m->typid, &infunc, &m->ioparam);
		fmgr_info(infunc, &m->infunc);
	}
	return maps;
}

int64
mp_timestamptz_to_unix_floor(TimestampTz t)
{
	int64		usec = t + (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	if (usec >= 0)
		return usec / USECS_PER_SEC;
	return -((-usec + USECS_PER_SEC - 1) / USECS_PER_SEC);
}

int64
mp_timestamptz_to_unix_ceil(TimestampTz t)
{
	int64		f = mp_timestamptz_to_unix_floor(t);
	TimestampTz back = (TimestampTz) f * USECS_PER_SEC -
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;

	return back == t ? f : f + 1;
}

pg_noreturn static void unix_out_of_range(double secs);

static void
unix_out_of_range(double secs)
{
	ereport(ERROR,
			(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
			 errmsg("Unix time %g is out of range for a timestamp", secs)));
}

Datum
mp_unix_to_timestamptz(double secs)
{
	int64_t		t;

	StaticAssertStmt(MP_JR_PG_EPOCH_USEC ==
					 (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY,
					 "jsonrow.h's epoch is PostgreSQL's");
	if (!mp_jsonrow_unix_to_pg(secs, &t))
		unix_out_of_range(secs);
	return TimestampTzGetDatum((TimestampTz) t);
}

/* network text → server encoding (verifies UTF-8 on the way) */
static char *
to_server(const char *s)
{
	return pg_any_to_server(s, strlen(s), PG_UTF8);
}

Datum
mp_text_to_datum(MpColMap *m, const char *s)
{
	return InputFunctionCall(&m->infunc, (char *) s, m->ioparam, m->typmod);
}

/* a timestamp into a date/time column of any declared type */
static Datum
timestamptz_to_datum(MpColMap *m, Datum ts)
{
	if (m->typid == TIMESTAMPTZOID)
		return ts;
	return mp_text_to_datum(m, DatumGetCString(DirectFunctionCall1(timestamptz_out, ts)));
}

/* a Unix-seconds value into a date/time column of any declared type */
Datum
mp_unix_to_datum(MpColMap *m, double secs)
{
	return timestamptz_to_datum(m, mp_unix_to_timestamptz(secs));
}

/*
 * One JSON value (not null) → the column's Datum.  jsonrow.c decides what
 * the value means (see jsonrow.h); the encoding check and the input
 * function are here.
 */
static Datum
json_value_to_datum(MpColMap *m, const cJSON *v)
{
	MpJrValue	jv;

	/* an object or array into jsonb (attrs): built directly, no text */
	if (m->typid == JSONBOID && (cJSON_IsObject(v) || cJSON_IsArray(v)))
		return mp_cjson_to_jsonb(v);
	switch (mp_jsonrow_value(&jr_alloc, v, jr_kind(m->kind),
							 m->typid == JSONBOID || m->typid == JSONOID, &jv))
	{
		case MP_JR_OK:
			break;
		case MP_JR_ETIME_RANGE:
			unix_out_of_range(jv.secs);
			break;
		case MP_JR_ENOMEM:
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
			break;
		case MP_JR_ABSENT:
			elog(ERROR, "null JSON value reached the conversion");
			break;
		case MP_JR_ETIME_FORMAT:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
					 errmsg("MangoPay date \"%s\" is neither Unix seconds nor an ISO 8601 date",
							mp_safe_text(NULL, to_server(jv.text), 60))));
			break;
	}
	if (jv.form == MP_JR_FORM_UNIX)
		return timestamptz_to_datum(m, TimestampTzGetDatum((TimestampTz) jv.usec));
	/*
	 * Text from the network is verified (and converted) to the server
	 * encoding.  Like the Datum, the text stays in the current (per-row)
	 * context.
	 */
	return mp_text_to_datum(m, jv.network ? to_server(jv.text) : jv.text);
}

/*
 * Where a value came from, for the CONTEXT line of an error converting it:
 * the one error-context callback of every conversion (API objects and
 * report CSV cells).
 */
typedef struct MpConvContext
{
	const char *relname;
	MpColMap   *m;				/* the column being converted, or NULL */
	const char *report_id;		/* a report's CSV: the report and the line;
								 * NULL for an API object */
	uint64		line;
} MpConvContext;

static void
conv_context(void *arg)
{
	MpConvContext *c = (MpConvContext *) arg;

	if (c->report_id && c->m)
		errcontext("column \"%s\" of foreign table \"%s\" (report %s, CSV line %llu, column \"%s\")",
				   c->m->colname, c->relname, c->report_id, (unsigned long long) c->line,
				   c->m->field);
	else if (c->report_id)
		errcontext("foreign table \"%s\" (report %s, CSV line %llu)",
				   c->relname, c->report_id, (unsigned long long) c->line);
	else if (c->m)
		errcontext("column \"%s\" of foreign table \"%s\" (MangoPay field \"%s\")",
				   c->m->colname, c->relname, c->m->field);
}

/*
 * Fill values/nulls from one API object.  keyvals holds the values of key
 * columns (in descriptor order), as the WHERE clause asked for them.
 */
void
mp_json_to_values(const cJSON *obj, MpColMap *maps, int natts, Datum *values, bool *nulls,
				  const char *const *keyvals, const char *relname)
{
	ErrorContextCallback cb;
	MpConvContext ctx = {relname, NULL, NULL, 0};

	cb.callback = conv_context;
	cb.arg = &ctx;
	cb.previous = error_context_stack;
	error_context_stack = &cb;

	for (int i = 0; i < natts; i++)
	{
		MpColMap   *m = &maps[i];
		const cJSON *v;

		values[i] = (Datum) 0;
		nulls[i] = true;
		if (!m->needed || m->colname == NULL)
			continue;
		ctx.m = m;
		if (m->is_key && keyvals && keyvals[m->key_index])
		{
			values[i] = mp_text_to_datum(m, keyvals[m->key_index]);
			nulls[i] = false;
			continue;
		}
		/* the attrs column is the whole object */
		v = field_value(obj, m);
		if (m->kind == MP_CK_PRESENT && m->typid == BOOLOID)
		{
			/* absent: unknown (NULL); null: false; a value: true */
			const cJSON *raw = mp_jsonrow_walk(obj, m->path, m->pathlen - 1);

			raw = cJSON_IsObject(raw) ? cJSON_GetObjectItemCaseSensitive(raw, m->path[m->pathlen - 1]) : NULL;
			if (raw != NULL)
			{
				values[i] = BoolGetDatum(v != NULL);
				nulls[i] = false;
			}
			continue;
		}
		if (v == NULL)
			continue;
		values[i] = json_value_to_datum(m, v);
		nulls[i] = false;
	}
	error_context_stack = cb.previous;
}

/* ------------------------------------------------------------------------
 * report CSV cells
 * ------------------------------------------------------------------------ */

/* a CSV cell's integer: "-?[0-9]+" exactly (an empty or NULL cell is not one) */
int64
mp_cell_int(const char *data, int32 len, bool *ok)
{
	char	   *end;
	long long	v;
	int64		v8;

	*ok = false;
	if (len <= 0)
		return 0;
	if (mp_fast_int8(data, len, &v8))
	{
		*ok = true;
		return v8;
	}
	v = strtoll(data, &end, 10);
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

/* a CSV cell as server-encoded text (UTF-8 verified) */
static char *
cell(const MpCsvCells *r, int f)
{
	return pg_any_to_server(r->data[f], r->len[f], PG_UTF8);
}

/*
 * Fill values/nulls from one CSV record of a report.  keyvals holds the
 * values of the key columns (by key index), lookup the lookup columns'
 * text (by attribute, NULL: none).
 */
void
mp_csv_to_values(MpCsvFile *file, const MpCsvCells *r, MpColMap *maps, int natts,
				 const char *const *keyvals, char **lookup, Datum *values, bool *nulls)
{
	MpConvContext ctxdata = {file->relname, NULL, file->report_id ? file->report_id : "?", r->line};
	MpConvContext *ctx = &ctxdata;
	ErrorContextCallback cb;
	int64		v8;
	bool		ascii = false;

	cb.callback = conv_context;
	cb.arg = ctx;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	if (r->nfields != file->ncsv)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("malformed CSV in MangoPay report %s for \"%s\"", file->report_id,
						file->relname),
				 errdetail("Line %llu has %d fields, the header %d.", (unsigned long long) r->line,
						   r->nfields, file->ncsv)));
	if (file->ascii_check < 0)
	{
		/* many cells read: one look at the whole row instead of one per cell */
		int			cells = 0;

		for (int i = 0; i < natts; i++)
			if (maps[i].needed && maps[i].colname)
				cells += maps[i].is_attrs ? file->ncsv : (file->field_of[i] >= 0);
		file->ascii_check = cells >= 4 && GetDatabaseEncoding() == PG_UTF8;
	}
	/* ASCII is valid UTF-8 (the parser lets no NUL through): no cell needs verifying */
	if (file->ascii_check > 0 && r->nfields > 0)
		ascii = mp_ascii(r->data[0], r->data[r->nfields - 1] + Max(r->len[r->nfields - 1], 0) -
						 r->data[0]);
	for (int i = 0; i < natts; i++)
	{
		MpColMap   *m = &maps[i];
		int			f = file->field_of[i];

		values[i] = (Datum) 0;
		nulls[i] = true;
		if (!m->needed || m->colname == NULL)
			continue;
		ctx->m = m;
		if (m->is_key)
		{
			const char *v = keyvals[m->key_index];

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
			if (file->attrs_layout == NULL)
			{
				MemoryContext old = MemoryContextSwitchTo(file->cxt);

				file->attrs_layout = mp_attrs_layout(file->names, file->ncsv);
				MemoryContextSwitchTo(old);
			}
			values[i] = mp_attrs_jsonb(file->attrs_layout, r->data, r->len, ascii);
			nulls[i] = false;
			continue;
		}
		if (m->is_attrs)
		{
			/* a json column keeps the text as it is */
			StringInfoData j;

			initStringInfo(&j);
			appendStringInfoChar(&j, '{');
			for (int k = 0; k < file->ncsv; k++)
			{
				if (k)
					appendStringInfoChar(&j, ',');
				escape_json(&j, pg_any_to_server(file->names[k], strlen(file->names[k]), PG_UTF8));
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
			int64		v = mp_cell_int(r->data[f], r->len[f], &ok);
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

/* the query reads a provenance column (_read_at, _source) */
bool
mp_has_provenance(const MpColMap *maps, int natts)
{
	for (int i = 0; i < natts; i++)
		if (maps[i].provenance != MP_PROV_NONE && maps[i].prov_needed)
			return true;
	return false;
}

/*
 * A row's provenance: _read_at is the statement's start (every row of a
 * statement was read inside it), _source what it was read from (a report
 * id, or the request: endpoint and page).
 */
void
mp_fill_provenance(MpColMap *maps, int natts, Datum *values, bool *nulls, const char *source)
{
	for (int i = 0; i < natts; i++)
	{
		MpColMap   *m = &maps[i];

		if (m->provenance == MP_PROV_NONE || !m->prov_needed)
			continue;
		if (m->provenance == MP_PROV_READ_AT)
		{
			values[i] = TimestampTzGetDatum(GetCurrentStatementStartTimestamp());
			nulls[i] = false;
		}
		else if (source)
		{
			values[i] = mp_text_to_datum(m, source);
			nulls[i] = false;
		}
	}
}
