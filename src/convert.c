/*-------------------------------------------------------------------------
 * convert.c
 *		API values → Datums, one column at a time.
 *
 * Every value goes through the declared column type's input function, so
 * a user may declare another type than IMPORT FOREIGN SCHEMA does (numeric
 * for an amount, varchar for an id); Unix-second numbers still become
 * timestamps.  Text from the network is verified (and converted) to the
 * server encoding before any input function sees it.  A failure names the
 * column, the field and the row in the error's CONTEXT.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <math.h>

#include "catalog/pg_type.h"
#include "mb/pg_wchar.h"
#include "utils/builtins.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"

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

static void
split_path(MpColMap *m, const char *field)
{
	char	   *copy = pstrdup(field);
	int			n = 1;
	char	   *tok;
	char	   *save = NULL;

	for (const char *c = field; *c; c++)
		if (*c == '.')
			n++;
	m->path = palloc(sizeof(char *) * n);
	m->pathlen = 0;
	for (tok = strtok_r(copy, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		m->path[m->pathlen++] = tok;
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
		case NUMERICOID:
			return MP_CK_INT8;
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

Datum
mp_unix_to_timestamptz(double secs)
{
	TimestampTz t;

	if (!isfinite(secs) || secs < -210866803200.0 || secs > 9224318016000.0)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("Unix time %g is out of range for a timestamp", secs)));
	t = (TimestampTz) llround(secs * USECS_PER_SEC) -
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
	return TimestampTzGetDatum(t);
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

/* a Unix-seconds value into a date/time column of any declared type */
Datum
mp_unix_to_datum(MpColMap *m, double secs)
{
	Datum		ts = mp_unix_to_timestamptz(secs);

	if (m->typid == TIMESTAMPTZOID)
		return ts;
	return mp_text_to_datum(m, DatumGetCString(DirectFunctionCall1(timestamptz_out, ts)));
}

static bool
all_digits(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char) *s))
			return false;
	return true;
}

static char *
number_text(double v)
{
	if (v == floor(v) && fabs(v) < 9.0e15)
		return psprintf("%lld", (long long) v);
	return psprintf("%.17g", v);
}

static Datum
json_value_to_datum(MpColMap *m, const cJSON *v)
{
	if (m->typid == JSONBOID || m->typid == JSONOID)
	{
		char	   *t = cJSON_PrintUnformatted(v);
		char	   *copy;

		if (t == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		/* into palloc'ed memory first, so an ERROR below leaks nothing */
		copy = pstrdup(t);
		cJSON_free(t);
		return mp_text_to_datum(m, to_server(copy));
	}
	if (cJSON_IsNumber(v))
	{
		if (m->kind == MP_CK_TIME)
			return mp_unix_to_datum(m, v->valuedouble);
		return mp_text_to_datum(m, number_text(v->valuedouble));
	}
	if (cJSON_IsString(v))
	{
		char	   *s = to_server(v->valuestring);

		/* a date sent as a string of digits is still Unix seconds */
		if (m->kind == MP_CK_TIME && all_digits(s))
			return mp_unix_to_datum(m, strtod(s, NULL));
		return mp_text_to_datum(m, s);
	}
	if (cJSON_IsBool(v))
		return mp_text_to_datum(m, cJSON_IsTrue(v) ? "true" : "false");
	/* object or array into a scalar column: its JSON text */
	{
		char	   *t = cJSON_PrintUnformatted(v);
		char	   *s;

		if (t == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		s = pstrdup(t);
		cJSON_free(t);
		return mp_text_to_datum(m, to_server(s));
	}
}

typedef struct ConvCtx
{
	const char *relname;
	MpColMap   *m;
} ConvCtx;

static void
conv_context(void *arg)
{
	ConvCtx    *c = (ConvCtx *) arg;

	if (c->m)
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
	ConvCtx		ctx = {relname, NULL};

	cb.callback = conv_context;
	cb.arg = &ctx;
	cb.previous = error_context_stack;
	error_context_stack = &cb;

	for (int i = 0; i < natts; i++)
	{
		MpColMap   *m = &maps[i];
		const cJSON *v = obj;

		values[i] = (Datum) 0;
		nulls[i] = true;
		if (!m->needed || m->colname == NULL)
			continue;
		ctx.m = m;
		if (m->is_key)
		{
			if (keyvals && keyvals[m->key_index])
			{
				values[i] = mp_text_to_datum(m, keyvals[m->key_index]);
				nulls[i] = false;
			}
			continue;
		}
		if (!m->is_attrs)
		{
			for (int p = 0; p < m->pathlen && v; p++)
				v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, m->path[p]) : NULL;
		}
		if (v == NULL || cJSON_IsNull(v))
			continue;
		values[i] = json_value_to_datum(m, v);
		nulls[i] = false;
	}
	error_context_stack = cb.previous;
}
