/*-------------------------------------------------------------------------
 * rowbuild.c
 *		Report rows → Datums without a text round trip.
 *
 * The attrs column of a report row is a jsonb object of every CSV cell,
 * keyed by the header's names.  Built as JSON text and read back by
 * jsonb_in, each row cost an escape pass, a parse and a sort of its keys.
 * Here the key order (jsonb sorts keys by length, then bytes, and keeps the
 * last of equal keys), the keys' bytes and their JEntries are computed once
 * per header, and each row is written straight into jsonb's binary layout
 * (utils/jsonb.h): the container header, 2n JEntries (keys, then values;
 * every JB_OFFSET_STRIDE-th an end offset, the others lengths), the keys'
 * bytes, then the values' bytes.  The result is byte for byte what jsonb_in
 * made of the text (sql/reports.sql compares them).
 *
 * List tables' attrs (an API object) go from the cJSON tree to jsonb the
 * same way, through pushJsonbValue, instead of printed and parsed back.
 *
 * Typed columns: a bigint and a legacy "dd/MM/yyyy HH:mm:ss" date in their
 * usual exact form are converted here; any other form still goes through
 * the column type's input function, so values and errors are unchanged.
 *-------------------------------------------------------------------------
 */
#include "rowbuild.h"
#include "jsonrow.h"

#include <cjson/cJSON.h>

#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

struct MpAttrsLayout
{
	int			npairs;
	int		   *field;			/* per pair, in key order: its CSV field */
	JEntry	   *kentry;			/* the keys' JEntries */
	char	   *keys;			/* the keys' bytes, in key order */
	uint32		keylen;
	/* per row scratch: each value's bytes (NULL: null) and length */
	const char **vptr;
	uint32	   *vlen;
};

typedef struct KeySort
{
	const char *name;
	uint32		len;
	int			field;
} KeySort;

/* jsonb's key order; equal keys: the later field first (it is kept) */
static int
key_cmp(const void *a, const void *b)
{
	const KeySort *x = (const KeySort *) a;
	const KeySort *y = (const KeySort *) b;
	int			r;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	r = memcmp(x->name, y->name, x->len);
	if (r != 0)
		return r;
	return x->field > y->field ? -1 : (x->field < y->field ? 1 : 0);
}

static void
too_big(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("total size of jsonb object elements exceeds the maximum of %d bytes",
					JENTRY_OFFLENMASK)));
}

/* the header's names (network text) → the attrs layout, in the current context */
MpAttrsLayout *
mp_attrs_layout(char *const *names, int n)
{
	MpAttrsLayout *l = palloc0(sizeof(MpAttrsLayout));
	KeySort    *k = palloc(sizeof(KeySort) * Max(n, 1));
	uint64		total = 0;
	int			u = 0;

	for (int i = 0; i < n; i++)
	{
		k[i].name = pg_any_to_server(names[i], strlen(names[i]), PG_UTF8);
		k[i].len = strlen(k[i].name);
		k[i].field = i;
	}
	qsort(k, n, sizeof(KeySort), key_cmp);
	/* unique keys: the first of a run of equal ones is the last field */
	for (int i = 0; i < n; i++)
		if (u == 0 || k[i].len != k[u - 1].len || memcmp(k[i].name, k[u - 1].name, k[i].len) != 0)
			k[u++] = k[i];
	l->npairs = u;
	l->field = palloc(sizeof(int) * Max(u, 1));
	l->kentry = palloc(sizeof(JEntry) * Max(u, 1));
	l->vptr = palloc(sizeof(char *) * Max(u, 1));
	l->vlen = palloc(sizeof(uint32) * Max(u, 1));
	for (int i = 0; i < u; i++)
	{
		total += k[i].len;
		if (total > JENTRY_OFFLENMASK)
			too_big();
		l->field[i] = k[i].field;
		l->kentry[i] = (i % JB_OFFSET_STRIDE) == 0 ?
			(JENTRY_ISSTRING | JENTRY_HAS_OFF | (uint32) total) : (JENTRY_ISSTRING | k[i].len);
	}
	l->keylen = (uint32) total;
	l->keys = palloc(Max(total, 1));
	total = 0;
	for (int i = 0; i < u; i++)
	{
		memcpy(l->keys + total, k[i].name, k[i].len);
		total += k[i].len;
	}
	pfree(k);
	return l;
}

Datum
mp_attrs_jsonb(MpAttrsLayout *l, char *const *data, const int32 *len, bool verified)
{
	int			n = l->npairs;
	uint64		total = l->keylen;
	Size		size;
	Jsonb	   *res;
	uint32	   *header;
	JEntry	   *je;
	char	   *p;
	uint32		off;

	for (int i = 0; i < n; i++)
	{
		int			f = l->field[i];
		char	   *c;

		if (len[f] < 0)
		{
			l->vptr[i] = NULL;
			l->vlen[i] = 0;
			continue;
		}
		c = verified ? data[f] : pg_any_to_server(data[f], len[f], PG_UTF8);
		l->vptr[i] = c;
		l->vlen[i] = c == data[f] ? (uint32) len[f] : (uint32) strlen(c);
		total += l->vlen[i];
		if (total > JENTRY_OFFLENMASK)
			too_big();
	}
	size = VARHDRSZ + sizeof(uint32) + sizeof(JEntry) * 2 * n + total;
	res = (Jsonb *) palloc(size);
	SET_VARSIZE(res, size);
	header = (uint32 *) VARDATA(res);
	*header = (uint32) n | JB_FOBJECT;
	je = (JEntry *) (header + 1);
	memcpy(je, l->kentry, sizeof(JEntry) * n);
	p = (char *) (je + 2 * n);
	memcpy(p, l->keys, l->keylen);
	p += l->keylen;
	off = l->keylen;
	for (int i = 0; i < n; i++)
	{
		JEntry		type = l->vptr[i] ? JENTRY_ISSTRING : JENTRY_ISNULL;

		off += l->vlen[i];
		je[n + i] = ((i + n) % JB_OFFSET_STRIDE) == 0 ?
			(type | JENTRY_HAS_OFF | off) : (type | l->vlen[i]);
		if (l->vlen[i] > 0)
		{
			memcpy(p, l->vptr[i], l->vlen[i]);
			p += l->vlen[i];
		}
	}
	return JsonbPGetDatum(res);
}

bool
mp_fast_int8(const char *s, int len, int64 *out)
{
	int64		v = 0;
	int			i = 0;
	bool		neg = false;

	if (len > 0 && s[0] == '-')
	{
		neg = true;
		i = 1;
	}
	if (len - i < 1 || len - i > 18)
		return false;
	for (; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return true;
}

/* n digits at s → their value, or -1 */
static int
digits(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool
mp_fast_legacy_iso(const char *s, int len, TimestampTz *out)
{
	int			d,
				mo,
				y,
				h,
				mi,
				se;

	/* dd/MM/yyyy HH:mm:ss */
	if (len != 19 || s[2] != '/' || s[5] != '/' || s[10] != ' ' || s[13] != ':' || s[16] != ':')
		return false;
	d = digits(s, 2);
	mo = digits(s + 3, 2);
	y = digits(s + 6, 4);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	se = digits(s + 17, 2);
	if (d < 1 || mo < 1 || mo > 12 || y < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 ||
		se < 0 || se > 59 || d > day_tab[isleap(y)][mo - 1])
		return false;
	*out = (TimestampTz) (date2j(y, mo, d) - POSTGRES_EPOCH_JDATE) * USECS_PER_DAY +
		((int64) ((h * MINS_PER_HOUR + mi) * SECS_PER_MINUTE + se)) * USECS_PER_SEC;
	return true;
}

bool
mp_ascii(const char *s, size_t n)
{
	uint64		acc = 0;
	size_t		i = 0;

	for (; i + 8 <= n; i += 8)
	{
		uint64		w;

		memcpy(&w, s + i, 8);
		acc |= w;
	}
	for (; i < n; i++)
		acc |= (unsigned char) s[i];
	return (acc & UINT64CONST(0x8080808080808080)) == 0;
}

/* network text → a jsonb string (verified, converted to the server encoding) */
static void
jb_string(JsonbValue *v, const char *s)
{
	size_t		len = strlen(s);
	char	   *c = pg_any_to_server(s, len, PG_UTF8);

	v->type = jbvString;
	v->val.string.val = c;
	v->val.string.len = c == s ? len : strlen(c);
}

/* one cJSON value into the jsonb being built, as jsonb_in reads cJSON's text */
static JsonbValue *
push_cjson(JsonbParseState **st, JsonbIteratorToken tok, const cJSON *v)
{
	JsonbValue	jv;

	check_stack_depth();
	if (cJSON_IsObject(v) || cJSON_IsArray(v))
	{
		bool		obj = cJSON_IsObject(v);
		JsonbValue *res;

		pushJsonbValue(st, obj ? WJB_BEGIN_OBJECT : WJB_BEGIN_ARRAY, NULL);
		for (const cJSON *c = v->child; c; c = c->next)
		{
			if (obj)
			{
				jb_string(&jv, c->string ? c->string : "");
				pushJsonbValue(st, WJB_KEY, &jv);
			}
			push_cjson(st, obj ? WJB_VALUE : WJB_ELEM, c);
		}
		res = pushJsonbValue(st, obj ? WJB_END_OBJECT : WJB_END_ARRAY, NULL);
		return res;
	}
	if (cJSON_IsString(v))
		jb_string(&jv, v->valuestring ? v->valuestring : "");
	else if (cJSON_IsNumber(v) && mp_jsonrow_number_literal(v) != NULL)
	{
		/* the number as it came (0.8468000, 1E-7, 40 digits): no double between */
		jv.type = jbvNumeric;
		jv.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in,
															 CStringGetDatum(mp_jsonrow_number_literal(v)),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1)));
	}
	else if (cJSON_IsNumber(v))
	{
		/* a tree not from mp_jsonrow_parse: cJSON's own text (NaN, Infinity: null) */
		char	   *t = cJSON_PrintUnformatted(v);

		if (t == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		if (strcmp(t, "null") == 0)
			jv.type = jbvNull;
		else
		{
			jv.type = jbvNumeric;
			jv.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(t),
																 ObjectIdGetDatum(InvalidOid),
																 Int32GetDatum(-1)));
		}
		cJSON_free(t);
	}
	else if (cJSON_IsRaw(v) && v->valuestring)
	{
		/* an integer too large for a double: the digits received (jsonrow.h) */
		jv.type = jbvNumeric;
		jv.val.numeric = DatumGetNumeric(DirectFunctionCall3(numeric_in, CStringGetDatum(v->valuestring),
															 ObjectIdGetDatum(InvalidOid),
															 Int32GetDatum(-1)));
	}
	else if (cJSON_IsBool(v))
	{
		jv.type = jbvBool;
		jv.val.boolean = cJSON_IsTrue(v);
	}
	else
		jv.type = jbvNull;
	return pushJsonbValue(st, tok, &jv);
}

Datum
mp_cjson_to_jsonb(const cJSON *v)
{
	JsonbParseState *st = NULL;

	return JsonbPGetDatum(JsonbValueToJsonb(push_cjson(&st, WJB_ELEM, v)));
}
