/*-------------------------------------------------------------------------
 *
 * test_jsonrow.c
 *	  Unit tests for field paths and JSON value rendering (src/jsonrow.c).
 *
 * test/unit/test_jsonrow.c
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "jsonrow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

/* one conversion's outcome, the text copied out */
typedef struct Conv
{
	MpJrStatus	st;
	MpJrValue	v;
	char		text[512];
	long		leaked;
	long		violations;
} Conv;

/*
 * conv
 *		Parse json, take its "v" member (or the whole document when json does
 *		not start with '{'), render it, free everything.
 */
static Conv
conv_ex(const char *json, MpJrKind kind, bool json_type, long fail_at)
{
	Conv		c;
	MpAlloc		a;
	UtAllocStats st;
	cJSON	   *doc = cJSON_Parse(json);
	const cJSON *v;

	memset(&c, 0, sizeof(c));
	ut_alloc_init(&a, &st);
	st.fail_at = fail_at;
	if (doc == NULL)
	{
		ut_fail(__FILE__, __LINE__, "test JSON does not parse: %s", json);
		c.st = MP_JR_ENOMEM;
		return c;
	}
	v = json[0] == '{' ? cJSON_GetObjectItemCaseSensitive(doc, "v") : doc;
	c.st = mp_jsonrow_value(&a, v, kind, json_type, &c.v);
	if (c.st == MP_JR_OK)
	{
		MpJrValue	saved = c.v;

		if (c.v.text == NULL || strlen(c.v.text) != c.v.len)
			ut_fail(__FILE__, __LINE__, "bad text/len for %s", json);
		else
			snprintf(c.text, sizeof(c.text), "%s", c.v.text);
		mp_jsonrow_free(&a, &c.v);
		mp_jsonrow_free(&a, &c.v);	/* twice is harmless */
		if (c.v.owned || c.v.len != 0)
			ut_fail(__FILE__, __LINE__, "mp_jsonrow_free left text behind");
		c.v = saved;			/* the flags, for the checks */
		c.v.text = c.text;
	}
	else if (st.live != 0)
		ut_fail(__FILE__, __LINE__, "memory left after status %d", (int) c.st);
	c.leaked = st.live;
	c.violations = st.violations;
	cJSON_Delete(doc);
	return c;
}

static Conv
conv(const char *json, MpJrKind kind, bool json_type)
{
	return conv_ex(json, kind, json_type, 0);
}

/* text of a value rendered for a kind; "" on any other outcome */
#define TEXT_OF(json, kind)		(conv((json), (kind), false).text)

#define CHECK_TEXT(json, kind, expect) \
	do { \
		Conv		c_ = conv((json), (kind), false); \
		CHECK_INT(c_.st, MP_JR_OK); \
		CHECK_INT(c_.v.form, MP_JR_FORM_TEXT); \
		CHECK_STR(c_.text, (expect)); \
		CHECK_INT(c_.leaked, 0); \
		CHECK_INT(c_.violations, 0); \
	} while (0)

#define CHECK_UNIX(json, expect_usec) \
	do { \
		Conv		c_ = conv((json), MP_JR_KIND_TIME, false); \
		CHECK_INT(c_.st, MP_JR_OK); \
		CHECK_INT(c_.v.form, MP_JR_FORM_UNIX); \
		CHECK_INT(c_.v.usec, (expect_usec)); \
		CHECK_INT(c_.leaked, 0); \
	} while (0)

#define CHECK_RANGE(json) \
	do { \
		Conv		c_ = conv((json), MP_JR_KIND_TIME, false); \
		CHECK_INT(c_.st, MP_JR_ETIME_RANGE); \
		CHECK_INT(c_.leaked, 0); \
	} while (0)

#define CHECK_FORMAT(json) \
	do { \
		Conv		c_ = conv((json), MP_JR_KIND_TIME, false); \
		CHECK_INT(c_.st, MP_JR_ETIME_FORMAT); \
		CHECK_INT(c_.leaked, 0); \
	} while (0)

/* Unix seconds → PostgreSQL microseconds, for integral seconds */
#define PGUS(secs)	((int64_t) (secs) * 1000000 - MP_JR_PG_EPOCH_USEC)

static const MpJrKind scalar_kinds[] = {
	MP_JR_KIND_TEXT, MP_JR_KIND_INT8, MP_JR_KIND_INT4, MP_JR_KIND_BOOL, MP_JR_KIND_JSON
};

#define NSCALAR ((int) (sizeof(scalar_kinds) / sizeof(scalar_kinds[0])))

/* ---------------------------------------------------------------------- */
/* Paths */

static int
split(const char *field, char ***path, MpAlloc *a, UtAllocStats *st)
{
	ut_alloc_init(a, st);
	return mp_jsonrow_split_path(a, field, path);
}

static void
test_split_path(void)
{
	MpAlloc		a;
	UtAllocStats st;
	char	  **p;

	CHECK_INT(split("DebitedFunds.Amount", &p, &a, &st), 2);
	CHECK_STR(p[0], "DebitedFunds");
	CHECK_STR(p[1], "Amount");
	CHECK_INT(st.calls, 1);		/* one block */
	a.free(a.ctx, p);
	CHECK_INT(st.live, 0);

	CHECK_INT(split("Id", &p, &a, &st), 1);
	CHECK_STR(p[0], "Id");
	a.free(a.ctx, p);

	CHECK_INT(split("A.B.C.D", &p, &a, &st), 4);
	CHECK_STR(p[3], "D");
	a.free(a.ctx, p);
	CHECK_INT(st.live, 0);
	CHECK_INT(st.violations, 0);
}

static void
test_split_path_empty_segments(void)
{
	MpAlloc		a;
	UtAllocStats st;
	char	  **p;

	/* what strtok_r(field, ".") gives, as convert.c always did */
	CHECK_INT(split("", &p, &a, &st), 0);
	CHECK(p != NULL);
	a.free(a.ctx, p);
	CHECK_INT(split("...", &p, &a, &st), 0);
	a.free(a.ctx, p);
	CHECK_INT(split("a..b", &p, &a, &st), 2);
	CHECK_STR(p[0], "a");
	CHECK_STR(p[1], "b");
	a.free(a.ctx, p);
	CHECK_INT(split(".a.", &p, &a, &st), 1);
	CHECK_STR(p[0], "a");
	a.free(a.ctx, p);
	CHECK_INT(split("x.", &p, &a, &st), 1);
	CHECK_STR(p[0], "x");
	a.free(a.ctx, p);
	CHECK_INT(st.live, 0);
}

static void
test_split_path_nomem(void)
{
	MpAlloc		a;
	UtAllocStats st;
	char	  **p = (char **) &a;

	ut_alloc_init(&a, &st);
	st.fail_at = 1;
	CHECK_INT(mp_jsonrow_split_path(&a, "A.B", &p), -1);
	CHECK(p == NULL);
	CHECK_INT(st.live, 0);
}

static void
test_walk(void)
{
	cJSON	   *o = cJSON_Parse("{\"DebitedFunds\":{\"Currency\":\"EUR\",\"Amount\":12500},"
								"\"Tag\":null,\"Arr\":[{\"x\":1}],\"S\":\"str\","
								"\"N\":{\"Inner\":null},\"a.b\":7,\"k\":1,\"k\":2}");
	char	   *p_amount[] = {"DebitedFunds", "Amount"};
	char	   *p_funds[] = {"DebitedFunds"};
	char	   *p_missing[] = {"DebitedFunds", "Nope"};
	char	   *p_case[] = {"debitedfunds", "Amount"};
	char	   *p_tag[] = {"Tag"};
	char	   *p_tagx[] = {"Tag", "X"};
	char	   *p_arr[] = {"Arr", "x"};
	char	   *p_arr0[] = {"Arr", "0"};
	char	   *p_arr0x[] = {"Arr", "0", "x"};
	char	   *p_arr5[] = {"Arr", "5"};
	char	   *p_arrneg[] = {"Arr", "-1"};
	char	   *p_amount0[] = {"DebitedFunds", "0"};
	char	   *p_str[] = {"S", "x"};
	char	   *p_inner[] = {"N", "Inner"};
	char	   *p_dotkey[] = {"a.b"};
	char	   *p_dup[] = {"k"};
	const cJSON *v;

	v = mp_jsonrow_walk(o, p_amount, 2);
	CHECK(cJSON_IsNumber(v) && v->valuedouble == 12500);
	CHECK(cJSON_IsObject(mp_jsonrow_walk(o, p_funds, 1)));
	CHECK(mp_jsonrow_walk(o, p_missing, 2) == NULL);
	CHECK(mp_jsonrow_walk(o, p_case, 2) == NULL);	/* case-sensitive */
	CHECK(mp_jsonrow_walk(o, p_tag, 1) == NULL);	/* null leaf */
	CHECK(mp_jsonrow_walk(o, p_tagx, 2) == NULL);	/* through a null */
	CHECK(mp_jsonrow_walk(o, p_arr, 2) == NULL);	/* through an array */
	/* a digit string indexes an array ("Owners.0"), nothing else */
	CHECK(cJSON_IsObject(mp_jsonrow_walk(o, p_arr0, 2)));
	v = mp_jsonrow_walk(o, p_arr0x, 3);
	CHECK(cJSON_IsNumber(v) && v->valuedouble == 1);
	CHECK(mp_jsonrow_walk(o, p_arr5, 2) == NULL);
	CHECK(mp_jsonrow_walk(o, p_arrneg, 2) == NULL);
	CHECK(mp_jsonrow_walk(o, p_amount0, 2) == NULL);	/* not an index of an object */
	CHECK(mp_jsonrow_walk(o, p_str, 2) == NULL);	/* through a string */
	CHECK(mp_jsonrow_walk(o, p_inner, 2) == NULL);
	/* a key with a dot is reachable only through an explicit path */
	v = mp_jsonrow_walk(o, p_dotkey, 1);
	CHECK(cJSON_IsNumber(v) && v->valuedouble == 7);
	/* duplicate keys: the first one */
	v = mp_jsonrow_walk(o, p_dup, 1);
	CHECK(cJSON_IsNumber(v) && v->valuedouble == 1);
	/* the empty path is the object itself (the attrs column) */
	CHECK(mp_jsonrow_walk(o, NULL, 0) == o);
	CHECK(mp_jsonrow_walk(NULL, p_tag, 1) == NULL);
	CHECK(mp_jsonrow_walk(NULL, NULL, 0) == NULL);
	cJSON_Delete(o);

	/* a non-object root: nothing but the empty path */
	o = cJSON_Parse("[1,2]");
	CHECK(mp_jsonrow_walk(o, p_tag, 1) == NULL);
	CHECK(mp_jsonrow_walk(o, NULL, 0) == o);
	cJSON_Delete(o);
	o = cJSON_Parse("null");
	CHECK(mp_jsonrow_walk(o, NULL, 0) == NULL);
	cJSON_Delete(o);
}

static void
test_split_then_walk(void)
{
	MpAlloc		a;
	UtAllocStats st;
	char	  **p;
	int			n;
	cJSON	   *o = cJSON_Parse("{\"DisputeReason\":{\"DisputeReasonType\":\"FRAUD\"}}");
	const cJSON *v;

	n = split("DisputeReason..DisputeReasonType.", &p, &a, &st);
	v = mp_jsonrow_walk(o, p, n);
	CHECK(cJSON_IsString(v) && strcmp(v->valuestring, "FRAUD") == 0);
	a.free(a.ctx, p);
	CHECK_INT(st.live, 0);
	cJSON_Delete(o);
}

/* ---------------------------------------------------------------------- */
/* Absent values */

static void
test_absent(void)
{
	int			k;

	for (k = MP_JR_KIND_TEXT; k <= MP_JR_KIND_JSON; k++)
	{
		CHECK_INT(conv("{\"v\":null}", (MpJrKind) k, false).st, MP_JR_ABSENT);
		CHECK_INT(conv("{\"v\":null}", (MpJrKind) k, true).st, MP_JR_ABSENT);
		CHECK_INT(conv("{\"w\":1}", (MpJrKind) k, false).st, MP_JR_ABSENT);
	}
}

/* ---------------------------------------------------------------------- */
/* Text, and the kinds that are read like text (INT8, INT4, BOOL, JSON) */

static void
test_text_string(void)
{
	Conv		c = conv("{\"v\":\"po_m_01JQ81\"}", MP_JR_KIND_TEXT, false);

	CHECK_INT(c.st, MP_JR_OK);
	CHECK_STR(c.text, "po_m_01JQ81");
	CHECK(c.v.network);
	CHECK(!c.v.owned);			/* borrowed from the tree */
	CHECK(!c.v.integral);
	CHECK_INT(c.leaked, 0);
	CHECK_TEXT("{\"v\":\"\"}", MP_JR_KIND_TEXT, "");
	/* unicode escapes arrive as UTF-8 */
	CHECK_TEXT("{\"v\":\"caf\\u00e9 \\ud83d\\ude00\"}", MP_JR_KIND_TEXT,
			   "caf\xc3\xa9 \xf0\x9f\x98\x80");
	/* a \u0000 ends the C string, as it always did */
	CHECK_TEXT("{\"v\":\"ab\\u0000cd\"}", MP_JR_KIND_TEXT, "ab");
}

static void
test_text_number_integral(void)
{
	Conv		c = conv("{\"v\":12500}", MP_JR_KIND_INT8, false);

	CHECK_INT(c.st, MP_JR_OK);
	CHECK_STR(c.text, "12500");
	CHECK(c.v.integral);
	CHECK_INT(c.v.ival, 12500);
	CHECK(c.v.owned);
	CHECK(!c.v.network);
	CHECK_INT(c.leaked, 0);
	CHECK_TEXT("{\"v\":-4999}", MP_JR_KIND_INT8, "-4999");
	CHECK_TEXT("{\"v\":0}", MP_JR_KIND_INT8, "0");
	CHECK_TEXT("{\"v\":-0}", MP_JR_KIND_INT8, "0");
	CHECK_TEXT("{\"v\":-0.0}", MP_JR_KIND_INT8, "0");
	CHECK_TEXT("{\"v\":1.25e2}", MP_JR_KIND_INT8, "125");
	CHECK_TEXT("{\"v\":12500.0}", MP_JR_KIND_INT8, "12500");
	/* the largest integers written with %lld: |v| < 9e15 */
	CHECK_TEXT("{\"v\":8999999999999999}", MP_JR_KIND_INT8, "8999999999999999");
	CHECK_TEXT("{\"v\":-8999999999999999}", MP_JR_KIND_INT8, "-8999999999999999");
	c = conv("{\"v\":8999999999999999}", MP_JR_KIND_INT8, false);
	CHECK(c.v.integral);
	CHECK_INT(c.v.ival, INT64_C(8999999999999999));
}

static void
test_text_number_not_integral(void)
{
	Conv		c = conv("{\"v\":12.5}", MP_JR_KIND_INT8, false);

	/* not rejected here: bigint's input function rejects "12.5" */
	CHECK_INT(c.st, MP_JR_OK);
	CHECK_STR(c.text, "12.5");
	CHECK(!c.v.integral);
	CHECK_TEXT("{\"v\":0.1}", MP_JR_KIND_INT8, "0.10000000000000001");
	CHECK_TEXT("{\"v\":-1.5}", MP_JR_KIND_TEXT, "-1.5");
	/* from 9e15 on, %.17g even for integers */
	CHECK_TEXT("{\"v\":9000000000000000}", MP_JR_KIND_INT8, "9000000000000000");
	c = conv("{\"v\":9000000000000000}", MP_JR_KIND_INT8, false);
	CHECK(!c.v.integral);
	CHECK_TEXT("{\"v\":9007199254740993}", MP_JR_KIND_INT8, "9007199254740992");
	CHECK_TEXT("{\"v\":9223372036854775807}", MP_JR_KIND_INT8, "9.2233720368547758e+18");
	CHECK_TEXT("{\"v\":1e300}", MP_JR_KIND_INT8, "1.0000000000000001e+300");
	CHECK_TEXT("{\"v\":-1e-300}", MP_JR_KIND_INT8, "-1e-300");
	CHECK_TEXT("{\"v\":5e-324}", MP_JR_KIND_INT8, "4.9406564584124654e-324");
	/* beyond a double: strtod's infinity, in PostgreSQL's spelling */
	CHECK_TEXT("{\"v\":1e999}", MP_JR_KIND_INT8, "Infinity");
	CHECK_TEXT("{\"v\":-1e999}", MP_JR_KIND_INT4, "-Infinity");
}

static void
test_number_text_direct(void)
{
	char		buf[MP_JR_NUMBER_BUFSZ];

	CHECK_INT(mp_jsonrow_number_text(NAN, buf), 3);
	CHECK_STR(buf, "NaN");
	CHECK_INT(mp_jsonrow_number_text(-INFINITY, buf), 9);
	CHECK_STR(buf, "-Infinity");
	mp_jsonrow_number_text(-1.7976931348623157e308, buf);
	CHECK_STR(buf, "-1.7976931348623157e+308");
	mp_jsonrow_number_text(-2.2250738585072014e-308, buf);
	CHECK_STR(buf, "-2.2250738585072014e-308");
	mp_jsonrow_number_text(-8999999999999999.0, buf);
	CHECK_STR(buf, "-8999999999999999");
}

static void
test_text_bool(void)
{
	int			k;

	for (k = 0; k < NSCALAR; k++)
	{
		Conv		c = conv("{\"v\":true}", scalar_kinds[k], false);

		CHECK_INT(c.st, MP_JR_OK);
		CHECK_STR(c.text, "true");
		CHECK(!c.v.owned);
		CHECK(!c.v.network);
		CHECK_STR(TEXT_OF("{\"v\":false}", scalar_kinds[k]), "false");
	}
	/* the BOOL kind takes what boolean's input function takes */
	CHECK_TEXT("{\"v\":\"yes\"}", MP_JR_KIND_BOOL, "yes");
	CHECK_TEXT("{\"v\":1}", MP_JR_KIND_BOOL, "1");
	CHECK_TEXT("{\"v\":\"maybe\"}", MP_JR_KIND_BOOL, "maybe");
}

static void
test_text_object_array(void)
{
	int			k;

	for (k = 0; k < NSCALAR; k++)
	{
		Conv		c = conv("{\"v\":{\"Code\": \"001999\", \"Message\": \"Generic\"}}",
							 scalar_kinds[k], false);

		CHECK_INT(c.st, MP_JR_OK);
		CHECK_STR(c.text, "{\"Code\":\"001999\",\"Message\":\"Generic\"}");
		CHECK(c.v.owned);
		CHECK(c.v.network);
		CHECK_INT(c.leaked, 0);
		CHECK_STR(TEXT_OF("{\"v\":[1, \"a\", null, [], {}]}", scalar_kinds[k]),
				  "[1,\"a\",null,[],{}]");
	}
	/* raw UTF-8 stays raw, control characters are escaped */
	CHECK_TEXT("{\"v\":{\"m\":\"\\u00e9\\n\"}}", MP_JR_KIND_TEXT, "{\"m\":\"\xc3\xa9\\n\"}");
	CHECK_TEXT("{\"v\":[1e999]}", MP_JR_KIND_TEXT, "[null]");
}

/* ---------------------------------------------------------------------- */
/* json / jsonb columns */

static void
test_json_type(void)
{
	int			k;

	for (k = MP_JR_KIND_TEXT; k <= MP_JR_KIND_JSON; k++)
	{
		Conv		c = conv("{\"v\":\"abc\"}", (MpJrKind) k, true);

		CHECK_INT(c.st, MP_JR_OK);
		CHECK_INT(c.v.form, MP_JR_FORM_TEXT);
		CHECK_STR(c.text, "\"abc\"");
		CHECK(c.v.owned);
		CHECK(c.v.network);
		CHECK_INT(c.leaked, 0);
		/* even for the TIME kind a number is JSON, not a timestamp */
		CHECK_STR(conv("{\"v\":1735000000}", (MpJrKind) k, true).text, "1735000000");
		CHECK_STR(conv("{\"v\":12.5}", (MpJrKind) k, true).text, "12.5");
		CHECK_STR(conv("{\"v\":1e999}", (MpJrKind) k, true).text, "null");
		CHECK_STR(conv("{\"v\":false}", (MpJrKind) k, true).text, "false");
		CHECK_STR(conv("{\"v\":{\"a\" : [ 1 , 2 ] }}", (MpJrKind) k, true).text,
				  "{\"a\":[1,2]}");
		CHECK(!conv("{\"v\":3}", (MpJrKind) k, true).v.integral);
	}
	/* the whole document, as the attrs column sees it */
	CHECK_STR(conv("[{\"Id\":\"1\"}]", MP_JR_KIND_JSON, true).text, "[{\"Id\":\"1\"}]");
}

/* ---------------------------------------------------------------------- */
/* Time */

static void
test_time_number(void)
{
	Conv		c;

	CHECK_UNIX("{\"v\":1735000000}", PGUS(1735000000));
	CHECK_UNIX("{\"v\":0}", -MP_JR_PG_EPOCH_USEC);
	CHECK_UNIX("{\"v\":946684800}", 0);
	CHECK_UNIX("{\"v\":-1}", PGUS(-1));
	CHECK_UNIX("{\"v\":1735000000.5}", PGUS(1735000000) + 500000);
	CHECK_UNIX("{\"v\":0.0000004}", -MP_JR_PG_EPOCH_USEC);
	CHECK_UNIX("{\"v\":0.0000006}", -MP_JR_PG_EPOCH_USEC + 1);
	CHECK_UNIX("{\"v\":1.7e9}", PGUS(1700000000));
	c = conv("{\"v\":1735000000}", MP_JR_KIND_TIME, false);
	CHECK(c.v.secs == 1735000000.0);
	CHECK(!c.v.integral);
}

static void
test_time_string(void)
{
	/* digits, with an optional '-', are Unix seconds */
	CHECK_UNIX("{\"v\":\"1735000000\"}", PGUS(1735000000));
	CHECK_UNIX("{\"v\":\"-86400\"}", PGUS(-86400));
	CHECK_UNIX("{\"v\":\"000042\"}", PGUS(42));
	CHECK_UNIX("{\"v\":\"-0\"}", -MP_JR_PG_EPOCH_USEC);
	/* an ISO 8601 date goes to the input function as it is */
	CHECK_TEXT("{\"v\":\"2024-12-24T10:00:00Z\"}", MP_JR_KIND_TIME, "2024-12-24T10:00:00Z");
	CHECK_TEXT("{\"v\":\"2024-12-24\"}", MP_JR_KIND_TIME, "2024-12-24");
	CHECK_TEXT("{\"v\":\"2024-12-24 10:00:00.123+01:00\"}", MP_JR_KIND_TIME,
			   "2024-12-24 10:00:00.123+01:00");
	/* anything else is no date of the API's: never "now" or "yesterday" */
	CHECK_FORMAT("{\"v\":\"now\"}");
	CHECK_FORMAT("{\"v\":\"yesterday\"}");
	CHECK_FORMAT("{\"v\":\"epoch\"}");
	CHECK_FORMAT("{\"v\":\"infinity\"}");
	CHECK_FORMAT("{\"v\":\"2024-12-24 now\"}");
	CHECK_FORMAT("{\"v\":\"2024-12-24T10:00:00+01:\"}");
	CHECK_FORMAT("{\"v\":\"+1735000000\"}");
	CHECK_FORMAT("{\"v\":\" 1735000000\"}");
	CHECK_FORMAT("{\"v\":\"1735000000.5\"}");
	CHECK_FORMAT("{\"v\":\"1e9\"}");
	CHECK_FORMAT("{\"v\":\"-\"}");
	CHECK_FORMAT("{\"v\":\"\"}");
	CHECK_FORMAT("{\"v\":\"\\u0661\\u0662\"}");
	/* other kinds never read digits as time */
	CHECK_TEXT("{\"v\":\"1735000000\"}", MP_JR_KIND_TEXT, "1735000000");
}

static void
test_time_other_types(void)
{
	CHECK_TEXT("{\"v\":true}", MP_JR_KIND_TIME, "true");
	CHECK_TEXT("{\"v\":{\"a\":1}}", MP_JR_KIND_TIME, "{\"a\":1}");
	CHECK_TEXT("{\"v\":[]}", MP_JR_KIND_TIME, "[]");
}

static void
test_time_range(void)
{
	Conv		c;

	/* PostgreSQL's first timestamp, 4714-11-24 00:00:00 BC */
	CHECK_UNIX("{\"v\":-210866803200}", INT64_C(-211813488000000000));
	CHECK_RANGE("{\"v\":-210866803200.5}");
	CHECK_RANGE("{\"v\":-210866803201}");
	CHECK_RANGE("{\"v\":\"-210866803201\"}");
	/* its last second, 294276-12-31 23:59:59 */
	CHECK_UNIX("{\"v\":9224318015999}", INT64_C(9223371331199000000));
	CHECK_UNIX("{\"v\":\"9224318015999\"}", INT64_C(9223371331199000000));
	CHECK_RANGE("{\"v\":9224318016000}");
	CHECK_RANGE("{\"v\":9224318016001}");
	/* where Unix microseconds overflow int64 but the timestamp does not */
	CHECK_UNIX("{\"v\":9223372036855}", INT64_C(9222425352055000000));
	CHECK_UNIX("{\"v\":9224000000000.25}", INT64_C(9223053315200250000));
	CHECK_RANGE("{\"v\":1e300}");
	CHECK_RANGE("{\"v\":-1e300}");
	CHECK_RANGE("{\"v\":1e999}");
	/* a digit string too long for a double */
	c = conv("{\"v\":\"99999999999999999999999999999999999999999999999999999999999999999999"
			 "99999999999999999999999999999999999999999999999999999999999999999999999999"
			 "99999999999999999999999999999999999999999999999999999999999999999999999999"
			 "99999999999999999999999999999999999999999999999999999999999999999999999999"
			 "99999999999999999999999999999999999999999999999999999999999999999999999999\"}",
			 MP_JR_KIND_TIME, false);
	CHECK_INT(c.st, MP_JR_ETIME_RANGE);
	CHECK(isinf(c.v.secs) && c.v.secs > 0);
	/* the seconds come back for the message */
	c = conv("{\"v\":1e300}", MP_JR_KIND_TIME, false);
	CHECK(c.v.secs == 1e300);
	c = conv("{\"v\":\"-99999999999999\"}", MP_JR_KIND_TIME, false);
	CHECK_INT(c.st, MP_JR_ETIME_RANGE);
	CHECK(c.v.secs == -99999999999999.0);
}

static void
test_unix_to_pg_direct(void)
{
	int64_t		us = 7;

	CHECK(!mp_jsonrow_unix_to_pg(NAN, &us));
	CHECK(!mp_jsonrow_unix_to_pg(INFINITY, &us));
	CHECK(!mp_jsonrow_unix_to_pg(-INFINITY, &us));
	CHECK_INT(us, 7);			/* untouched on failure */
	CHECK(mp_jsonrow_unix_to_pg(MP_JR_UNIX_MIN, &us));
	CHECK_INT(us, INT64_C(-211813488000000000));
	CHECK(!mp_jsonrow_unix_to_pg(nextafter(MP_JR_UNIX_MIN, -INFINITY), &us));
	CHECK(!mp_jsonrow_unix_to_pg(MP_JR_UNIX_END, &us));
	CHECK(mp_jsonrow_unix_to_pg(nextafter(MP_JR_UNIX_END, 0), &us));
	/* 2^-9 s below the end of the range: still below PostgreSQL's END_TIMESTAMP */
	CHECK(us < INT64_C(9223371331200000000));
	CHECK(us > INT64_C(9223371331199990000));
	/* the first seconds whose microseconds do not fit in int64 */
	CHECK(mp_jsonrow_unix_to_pg(9223372036854.775807, &us));
	CHECK(us > INT64_C(9222425352054770000) && us < INT64_C(9222425352054780000));
	CHECK(mp_jsonrow_unix_to_pg(-0.0, &us));
	CHECK_INT(us, -MP_JR_PG_EPOCH_USEC);
}

/* ---------------------------------------------------------------------- */
/* Memory */

static void
test_nomem(void)
{
	Conv		c;

	/* the copy of a number's text */
	c = conv_ex("{\"v\":12500}", MP_JR_KIND_INT8, false, 1);
	CHECK_INT(c.st, MP_JR_ENOMEM);
	CHECK_INT(c.leaked, 0);
	/* the copy of JSON text (cJSON's own buffer is freed) */
	c = conv_ex("{\"v\":{\"a\":1}}", MP_JR_KIND_TEXT, false, 1);
	CHECK_INT(c.st, MP_JR_ENOMEM);
	CHECK_INT(c.leaked, 0);
	c = conv_ex("{\"v\":\"x\"}", MP_JR_KIND_JSON, true, 1);
	CHECK_INT(c.st, MP_JR_ENOMEM);
	CHECK_INT(c.leaked, 0);
	/* nothing is allocated for strings, booleans and times */
	CHECK_INT(conv_ex("{\"v\":\"x\"}", MP_JR_KIND_TEXT, false, 1).st, MP_JR_OK);
	CHECK_INT(conv_ex("{\"v\":true}", MP_JR_KIND_BOOL, false, 1).st, MP_JR_OK);
	CHECK_INT(conv_ex("{\"v\":1735000000}", MP_JR_KIND_TIME, false, 1).st, MP_JR_OK);
}

static void
test_hand_made_tree(void)
{
	/* a string node without a string: only a hand-made tree has one */
	cJSON	   *s = cJSON_CreateString("x");
	MpAlloc		a;
	UtAllocStats st;
	MpJrValue	v;
	char	   *save = s->valuestring;

	ut_alloc_init(&a, &st);
	s->valuestring = NULL;
	CHECK_INT(mp_jsonrow_value(&a, s, MP_JR_KIND_TEXT, false, &v), MP_JR_OK);
	CHECK_STR(v.text, "");
	mp_jsonrow_free(&a, &v);
	/* "" is no date */
	CHECK_INT(mp_jsonrow_value(&a, s, MP_JR_KIND_TIME, false, &v), MP_JR_ETIME_FORMAT);
	s->valuestring = save;
	cJSON_Delete(s);
	CHECK_INT(st.live, 0);
}

/* ---------------------------------------------------------------------- */
/* Strict parse of a whole body */

static void
check_parse(const char *body, size_t len, MpJrParse expect)
{
	MpJrParse	why;
	cJSON	   *j = mp_jsonrow_parse(body, len, &why);

	CHECK_INT(why, expect);
	CHECK((j != NULL) == (expect == MP_JR_PARSE_OK));
	cJSON_Delete(j);
}

#define PARSE(lit, expect) check_parse((lit), sizeof(lit) - 1, (expect))

static void
test_parse_strict(void)
{
	PARSE("[{\"Id\":\"1\"}]", MP_JR_PARSE_OK);
	PARSE(" [1, 2] \r\n\t", MP_JR_PARSE_OK);
	PARSE("{\"a\":\"x\\\\u0000\"}", MP_JR_PARSE_OK);	/* an escaped backslash, then text */
	PARSE("{\"a\":\"\\u00001\"}", MP_JR_PARSE_NUL);
	PARSE("{\"a\":\"a\\u0000b\"}", MP_JR_PARSE_NUL);
	PARSE("[\"a\0b\"]", MP_JR_PARSE_NUL);
	PARSE("[1] trailing garbage", MP_JR_PARSE_TRAILING);
	PARSE("[{\"a\":1}][{\"a\":2}]", MP_JR_PARSE_TRAILING);
	PARSE("[1],", MP_JR_PARSE_TRAILING);
	PARSE("[1", MP_JR_PARSE_SYNTAX);
	PARSE("", MP_JR_PARSE_SYNTAX);
	check_parse(NULL, 0, MP_JR_PARSE_SYNTAX);
	/* the length is the body: a NUL past it is not read */
	check_parse("[1]\0garbage", 3, MP_JR_PARSE_OK);
}

/* the NUMERIC kind of the value at "v" of a strictly parsed body */
static const char *
numeric_of(const char *body, cJSON **keep, const char *key)
{
	MpJrParse	why;
	cJSON	   *j = mp_jsonrow_parse(body, strlen(body), &why);
	MpJrValue	v;
	MpAlloc		a;
	UtAllocStats st;

	ut_alloc_init(&a, &st);
	*keep = j;
	if (j == NULL)
		return "(parse error)";
	if (mp_jsonrow_value(&a, cJSON_GetObjectItemCaseSensitive(j, key), MP_JR_KIND_NUMERIC,
						 false, &v) != MP_JR_OK)
		return "(not ok)";
	CHECK(!v.owned);
	return v.text;
}

static void
test_numeric_literal(void)
{
	cJSON	   *j;

	/* the number as it was written: no double in between */
	CHECK_STR(numeric_of("{\"v\":0.8315406}", &j, "v"), "0.8315406");
	cJSON_Delete(j);
	CHECK_STR(numeric_of("{\"v\":1.2630000}", &j, "v"), "1.2630000");
	cJSON_Delete(j);
	CHECK_STR(numeric_of("{\"v\":8.468E-1}", &j, "v"), "8.468E-1");
	cJSON_Delete(j);
	CHECK_STR(numeric_of("{\"v\":0.1000000000000000055511151231257827}", &j, "v"),
			  "0.1000000000000000055511151231257827");
	cJSON_Delete(j);
	CHECK_STR(numeric_of("{\"v\":-12}", &j, "v"), "-12");
	cJSON_Delete(j);
	/* each number node its own text, in document order, strings skipped */
	CHECK_STR(numeric_of("{\"s\":\"1, 2.0 \\\" 3\",\"a\":[1.50,{\"b\":-3e2}],\"v\":7.00,\"n\":null}",
						 &j, "v"), "7.00");
	CHECK_STR(mp_jsonrow_number_literal(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "a"), 0)), "1.50");
	CHECK_STR(mp_jsonrow_number_literal(cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "a"), 1), "b")),
			  "-3e2");
	CHECK(mp_jsonrow_number_literal(cJSON_GetObjectItem(j, "s")) == NULL);
	cJSON_Delete(j);
	/* other kinds keep their rendering; a tree made by hand falls back to it */
	CHECK_TEXT("{\"v\":0.1}", MP_JR_KIND_INT8, "0.10000000000000001");
	CHECK_TEXT("{\"v\":0.1}", MP_JR_KIND_NUMERIC, "0.10000000000000001");
}

static void
test_iso_date(void)
{
	CHECK(mp_jsonrow_iso_date("2024-02-29"));
	CHECK(mp_jsonrow_iso_date("2024-02-29T10:11"));
	CHECK(mp_jsonrow_iso_date("2024-02-29T10:11:12"));
	CHECK(mp_jsonrow_iso_date("2024-02-29T10:11:12.5Z"));
	CHECK(mp_jsonrow_iso_date("2024-02-29 10:11:12-0130"));
	CHECK(mp_jsonrow_iso_date("2024-02-29T10:11:12+01"));
	CHECK(!mp_jsonrow_iso_date("2024-02-29T10:11:12."));
	CHECK(!mp_jsonrow_iso_date("2024-02-29T10"));
	CHECK(!mp_jsonrow_iso_date("2024-2-29"));
	CHECK(!mp_jsonrow_iso_date("29/02/2024 10:11:12"));
	CHECK(!mp_jsonrow_iso_date("2024-02-29Z "));
	CHECK(!mp_jsonrow_iso_date("today"));
	CHECK(!mp_jsonrow_iso_date("allballs"));
}

/*
 * cJSON hooks that look at every block freed: how many still held the
 * marker (a secret left in freed memory).  A size header before each block.
 */
#define SECRET_MARK "tok-3f9a51c7e2d84b06"

static long freed_with_secret;
static long freed_blocks;

static void *
spy_malloc(size_t n)
{
	size_t	   *p = malloc(n + sizeof(size_t) * 2);

	if (p == NULL)
		return NULL;
	p[0] = n;
	return p + 2;
}

static void
spy_free(void *ptr)
{
	size_t	   *p;
	const char *b;
	size_t		mlen = strlen(SECRET_MARK);

	if (ptr == NULL)
		return;
	p = (size_t *) ptr - 2;
	b = ptr;
	freed_blocks++;
	for (size_t i = 0; i + mlen <= p[0]; i++)
		if (memcmp(b + i, SECRET_MARK, mlen) == 0)
		{
			freed_with_secret++;
			break;
		}
	free(p);
}

static void
spy_on(void)
{
	cJSON_Hooks h = {spy_malloc, spy_free};

	freed_with_secret = freed_blocks = 0;
	cJSON_InitHooks(&h);
}

/* every key, string and number of a tree is zero after mp_json_wipe */
static void
test_wipe(void)
{
	const char *body = "{\"access_token\":\"" SECRET_MARK "\",\"expires_in\":1200.5,"
		"\"a\":[\"" SECRET_MARK "\",{\"" SECRET_MARK "\":7}],\"t\":true}";
	cJSON	   *j;

	spy_on();
	j = cJSON_Parse(body);
	CHECK(j != NULL);
	mp_json_wipe(j);
	CHECK_STR(cJSON_GetObjectItemCaseSensitive(j, "expires_in") ? "kept" : "wiped", "wiped");
	CHECK(j->child != NULL && j->child->string[0] == '\0' && j->child->valuestring[0] == '\0');
	CHECK(j->child->next->valuedouble == 0 && j->child->next->valueint == 0);
	CHECK(cJSON_IsTrue(j->child->next->next->next));	/* the structure is kept */
	cJSON_Delete(j);
	CHECK_INT(freed_with_secret, 0);
	CHECK(freed_blocks >= 8);
	mp_json_wipe(NULL);
	cJSON_InitHooks(NULL);
}

/* a strict parse that fails on trailing data wipes the tree it drops */
static void
test_parse_trailing_wiped(void)
{
	const char *body = "{\"access_token\":\"" SECRET_MARK "\"} and more";
	MpJrParse	why;

	spy_on();
	CHECK(mp_jsonrow_parse(body, strlen(body), &why) == NULL);
	CHECK_INT(why, MP_JR_PARSE_TRAILING);
	CHECK(freed_blocks >= 2);
	CHECK_INT(freed_with_secret, 0);
	cJSON_InitHooks(NULL);
}

/* an integer beyond 2^53 keeps the digits received (issue 24) */
static void
check_exact(const char *body, const char *field, const char *expect_text, bool raw)
{
	MpJrParse	why;
	cJSON	   *j = mp_jsonrow_parse(body, strlen(body), &why);
	const cJSON *v;
	MpJrValue	jv;
	char	   *printed;
	MpAlloc		a;
	UtAllocStats st;

	ut_alloc_init(&a, &st);
	CHECK_INT(why, MP_JR_PARSE_OK);
	if (j == NULL)
		return;
	v = cJSON_GetObjectItemCaseSensitive(cJSON_IsArray(j) ? j->child : j, field);
	CHECK(v != NULL);
	CHECK(cJSON_IsRaw(v) == raw);
	CHECK_INT(mp_jsonrow_value(&a, v, MP_JR_KIND_INT8, false, &jv), MP_JR_OK);
	CHECK_STR(jv.text, expect_text);
	mp_jsonrow_free(&a, &jv);
	if (raw)
	{
		/* the JSON text (attrs, a json column) has the digits too */
		CHECK_INT(mp_jsonrow_value(&a, v, MP_JR_KIND_TEXT, true, &jv), MP_JR_OK);
		CHECK_STR(jv.text, expect_text);
		mp_jsonrow_free(&a, &jv);
		printed = cJSON_PrintUnformatted(j);
		CHECK(printed != NULL && strstr(printed, expect_text) != NULL);
		cJSON_free(printed);
	}
	CHECK_INT(st.live, 0);
	cJSON_Delete(j);
}

static void
test_exact_integers(void)
{
	check_exact("{\"Amount\":9007199254740993}", "Amount", "9007199254740993", true);
	check_exact("{\"Amount\":-9007199254740993}", "Amount", "-9007199254740993", true);
	check_exact("{\"Amount\":9223372036854775807}", "Amount", "9223372036854775807", true);
	/* beyond bigint: the digits, for the input function to refuse */
	check_exact("{\"Amount\":99999999999999999999}", "Amount", "99999999999999999999", true);
	/* from 1e15 cJSON prints 15 digits ("9e+15"): raw too */
	check_exact("{\"Amount\":8999999999999999}", "Amount", "8999999999999999", true);
	check_exact("{\"Amount\":1234567890123456}", "Amount", "1234567890123456", true);
	/* below, a number as before */
	check_exact("{\"Amount\":999999999999999}", "Amount", "999999999999999", false);
	/* strings with long digit runs, keys and numbers before it do not shift the match */
	check_exact("[{\"Tag\":\"12345678901234567890 \\\" 1\",\"a\":[1,2.5e3,{\"b\":-3}],"
				"\"12345678901234567\":7,\"Amount\":9007199254740995,\"z\":1e300}]",
				"Amount", "9007199254740995", true);
	/* a fraction or an exponent is not an integer literal: a double as before */
	check_exact("{\"Amount\":9007199254740993.0}", "Amount", "9007199254740992", false);
	/* a date column reads the raw digits as seconds: out of range */
	{
		MpJrParse	why;
		const char *b = "{\"d\":90071992547409930}";
		cJSON	   *j = mp_jsonrow_parse(b, strlen(b), &why);
		MpJrValue	jv;
		MpAlloc		a;
		UtAllocStats st;

		ut_alloc_init(&a, &st);
		CHECK(j != NULL);
		if (j)
		{
			CHECK_INT(mp_jsonrow_value(&a, j->child, MP_JR_KIND_TIME, false, &jv),
					  MP_JR_ETIME_RANGE);
			cJSON_Delete(j);
		}
	}
}

const UtTest jsonrow_tests[] = {
	{"jsonrow_exact_integers", test_exact_integers},
	{"jsonrow_parse_strict", test_parse_strict},
	{"jsonrow_iso_date", test_iso_date},
	{"jsonrow_numeric_literal", test_numeric_literal},
	{"jsonrow_split_path", test_split_path},
	{"jsonrow_split_path_empty_segments", test_split_path_empty_segments},
	{"jsonrow_split_path_nomem", test_split_path_nomem},
	{"jsonrow_walk", test_walk},
	{"jsonrow_split_then_walk", test_split_then_walk},
	{"jsonrow_absent", test_absent},
	{"jsonrow_text_string", test_text_string},
	{"jsonrow_text_number_integral", test_text_number_integral},
	{"jsonrow_text_number_not_integral", test_text_number_not_integral},
	{"jsonrow_number_text_direct", test_number_text_direct},
	{"jsonrow_text_bool", test_text_bool},
	{"jsonrow_text_object_array", test_text_object_array},
	{"jsonrow_json_type", test_json_type},
	{"jsonrow_time_number", test_time_number},
	{"jsonrow_time_string", test_time_string},
	{"jsonrow_time_other_types", test_time_other_types},
	{"jsonrow_time_range", test_time_range},
	{"jsonrow_unix_to_pg_direct", test_unix_to_pg_direct},
	{"jsonrow_nomem", test_nomem},
	{"jsonrow_hand_made_tree", test_hand_made_tree},
	{"jsonrow_wipe", test_wipe},
	{"jsonrow_parse_trailing_wiped", test_parse_trailing_wiped},
	{NULL, NULL}
};
