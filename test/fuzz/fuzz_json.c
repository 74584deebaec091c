/*-------------------------------------------------------------------------
 *
 * fuzz_json.c
 *	  libFuzzer target for the JSON-to-row conversion (src/jsonrow.c).
 *
 * The input is parsed with cJSON_ParseWithLength, as a list page or an
 * object read by id is.  Then, for a fixed set of MangoPay field paths
 * ("DebitedFunds.Amount", "CreationDate", odd ones like "a..b" and "") and
 * for paths made of the input's own keys, the path is split and walked and
 * the value found is rendered for every column kind, with and without a
 * json/jsonb declared type.  Checked properties:
 *	- the split and the walk give exactly what convert.c's former code
 *	  (strtok_r, cJSON_GetObjectItemCaseSensitive) gave, which is kept here
 *	  as a reference model; so does the rendering (status, form, text,
 *	  Unix seconds), including PostgreSQL's "Infinity" spelling of %g;
 *	- a text is NUL-terminated at len with no NUL inside; text made here
 *	  (numbers, booleans) is ASCII; an integral number's ival round-trips
 *	  through its text and equals the double;
 *	- a timestamp is inside PostgreSQL's range, within rounding of
 *	  (secs - 946684800) * 10^6, and exact for integral seconds that a
 *	  double multiplies exactly;
 *	- JSON text reparses, and printing the reparsed tree gives it back;
 *	- the allocator contract holds, nothing leaks (cJSON's printer included),
 *	  and a failing allocator gives MP_JR_ENOMEM and leaks nothing.
 * The first 8 bytes, read as a double, also go through
 * mp_jsonrow_unix_to_pg and mp_jsonrow_number_text directly (NaN, infinities,
 * subnormals, the edges of the timestamp range).
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * The reference model differs from the former code in one place on purpose:
 * Unix seconds in [9223372036854.775807, 9224318016000] (years 294247 to
 * 294277) overflowed int64 microseconds there and gave a wrong timestamp;
 * jsonrow.c converts them exactly and rejects 9224318016000 itself, the
 * first instant past PostgreSQL's range.
 *
 * test/fuzz/fuzz_json.c
 *
 *-------------------------------------------------------------------------
 */
#define _POSIX_C_SOURCE 200809L

#include "jsonrow.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* PostgreSQL's timestamp range, microseconds since 2000-01-01 */
#define PG_MIN_TIMESTAMP	INT64_C(-211813488000000000)
#define PG_END_TIMESTAMP	INT64_C(9223371331200000000)

#define MAX_DERIVED_PATHS	48
#define MAX_DERIVED_DEPTH	8
#define MAX_PATH_CHARS		512

/* ---------------------------------------------------------------------- */
/* The allocator: contract checks, leak count, failure injection */

typedef struct FzAlloc
{
	long		live;
	long		calls;
	long		fail_at;		/* fail this call (1-based); 0 = never */
} FzAlloc;

typedef struct FzHdr
{
	size_t		size;
	size_t		pad;
} FzHdr;

static void *
fz_alloc(void *ctx, size_t size)
{
	FzAlloc    *st = ctx;
	FzHdr	   *h;

	if (size == 0)
		abort();
	st->calls++;
	if (st->fail_at != 0 && st->calls == st->fail_at)
		return NULL;
	h = malloc(sizeof(FzHdr) + size);
	if (h == NULL)
		return NULL;
	h->size = size;
	st->live++;
	return h + 1;
}

static void
fz_free(void *ctx, void *ptr)
{
	FzAlloc    *st = ctx;

	if (ptr == NULL)
		abort();
	st->live--;
	free((FzHdr *) ptr - 1);
}

/* ---------------------------------------------------------------------- */
/* Reference model: what convert.c did before jsonrow.c existed */

static int
ref_split(const char *field, char ***path, char **copy)
{
	int			n = 1;
	char	   *tok;
	char	   *save = NULL;
	int			len = 0;

	for (const char *c = field; *c; c++)
		if (*c == '.')
			n++;
	*copy = strdup(field);
	*path = malloc(sizeof(char *) * (size_t) n);
	if (*copy == NULL || *path == NULL)
		abort();
	for (tok = strtok_r(*copy, ".", &save); tok; tok = strtok_r(NULL, ".", &save))
		(*path)[len++] = tok;
	return len;
}

static const cJSON *
ref_walk(const cJSON *obj, char **path, int pathlen)
{
	const cJSON *v = obj;

	for (int p = 0; p < pathlen && v; p++)
		v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, path[p]) : NULL;
	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	return v;
}

/* s matches pattern: 'd' a digit, anything else itself; returns the rest */
static const char *
ref_match(const char *s, const char *pattern)
{
	for (; *pattern; pattern++, s++)
		if (*pattern == 'd' ? !isdigit((unsigned char) *s) : *s != *pattern)
			return NULL;
	return s;
}

/* the API's ISO 8601 forms, spelled out one by one */
static bool
ref_iso_date(const char *s)
{
	static const char *const dates[] = {"dddd-dd-dd"};
	static const char *const times[] = {"", "Tdd:dd", "Tdd:dd:dd", " dd:dd", " dd:dd:dd"};
	static const char *const zones[] = {"", "Z", "+dd", "-dd", "+dd:dd", "-dd:dd", "+dddd", "-dddd"};
	const char *d = ref_match(s, dates[0]);

	if (d == NULL)
		return false;
	for (int t = 0; t < 5; t++)
	{
		const char *p = ref_match(d, times[t]);

		if (p == NULL)
			continue;
		/* fraction after seconds: a dot and one or more digits */
		if ((t == 2 || t == 4) && *p == '.' && isdigit((unsigned char) p[1]))
			for (p++; isdigit((unsigned char) *p); p++)
				;
		for (int z = 0; z < 8; z++)
		{
			const char *q = ref_match(p, zones[z]);

			if (q && *q == '\0')
				return true;
		}
	}
	return false;
}

static bool
ref_all_digits(const char *s)
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

/* psprintf("%lld" / "%.17g") with PostgreSQL's snprintf (src/port/snprintf.c) */
static void
ref_number_text(double v, char *buf, size_t bufsz)
{
	if (v == floor(v) && fabs(v) < 9.0e15)
	{
		snprintf(buf, bufsz, "%lld", (long long) v);
		return;
	}
	if (isnan(v))
	{
		snprintf(buf, bufsz, "NaN");
		return;
	}
	{
		const char *sign = "";
		static const double dzero = 0.0;

		if (v < 0.0 || (v == 0.0 && memcmp(&v, &dzero, sizeof(double)) != 0))
		{
			sign = "-";
			v = -v;
		}
		if (isinf(v))
			snprintf(buf, bufsz, "%sInfinity", sign);
		else
			snprintf(buf, bufsz, "%s%.17g", sign, v);
	}
}

typedef struct RefOut
{
	MpJrStatus	st;
	MpJrForm	form;
	char	   *text;			/* malloc'ed (or cJSON-allocated: json) */
	bool		json;			/* text from cJSON_PrintUnformatted */
	bool		network;
	double		secs;
	bool		usec_defined;	/* the former arithmetic had a defined result */
	int64_t		usec;
} RefOut;

static void
ref_time(double secs, RefOut *r)
{
	r->secs = secs;
	if (!isfinite(secs) || secs < -210866803200.0 || secs > 9224318016000.0)
	{
		r->st = MP_JR_ETIME_RANGE;
		return;
	}
	r->form = MP_JR_FORM_UNIX;
	if (secs * 1e6 < 9223372036854775808.0)
	{
		r->usec_defined = true;
		r->usec = (int64_t) llround(secs * 1e6) - MP_JR_PG_EPOCH_USEC;
	}
}

static void
ref_text(RefOut *r, const char *s, bool network)
{
	r->text = strdup(s);
	if (r->text == NULL)
		abort();
	r->network = network;
}

static void
ref_json(RefOut *r, const cJSON *v)
{
	r->text = cJSON_PrintUnformatted(v);
	if (r->text == NULL)
		abort();
	r->json = true;
	r->network = true;
}

static void
ref_render(const cJSON *v, MpJrKind kind, bool json_type, RefOut *r)
{
	memset(r, 0, sizeof(*r));
	r->st = MP_JR_OK;
	r->form = MP_JR_FORM_TEXT;
	if (v == NULL || cJSON_IsNull(v))
		r->st = MP_JR_ABSENT;
	else if (json_type)
		ref_json(r, v);
	else if (cJSON_IsNumber(v))
	{
		char		buf[64];

		if (kind == MP_JR_KIND_TIME)
			ref_time(v->valuedouble, r);
		else
		{
			ref_number_text(v->valuedouble, buf, sizeof(buf));
			ref_text(r, buf, false);
		}
	}
	else if (cJSON_IsString(v))
	{
		if (kind == MP_JR_KIND_TIME && ref_all_digits(v->valuestring))
			ref_time(strtod(v->valuestring, NULL), r);
		else if (kind == MP_JR_KIND_TIME && !ref_iso_date(v->valuestring))
			r->st = MP_JR_ETIME_FORMAT;
		else
			ref_text(r, v->valuestring, true);
	}
	else if (cJSON_IsBool(v))
		ref_text(r, cJSON_IsTrue(v) ? "true" : "false", false);
	else
		ref_json(r, v);
}

static void
ref_free(RefOut *r)
{
	if (r->text == NULL)
		return;
	if (r->json)
		cJSON_free(r->text);
	else
		free(r->text);
	r->text = NULL;
}

/* ---------------------------------------------------------------------- */
/* Checks */

static void
check_time(double secs, bool ok, int64_t usec)
{
	int64_t		ref_usec = 0;
	bool		old_ok = isfinite(secs) && secs >= -210866803200.0 &&
		secs <= 9224318016000.0;

	if (!old_ok)
	{
		if (ok)
			abort();
		return;
	}
	if (secs * 1e6 < 9223372036854775808.0)
	{
		/* where the former code was defined: the same result */
		ref_usec = (int64_t) llround(secs * 1e6) - MP_JR_PG_EPOCH_USEC;
		if (!ok || usec != ref_usec)
			abort();
	}
	else if (!ok)
	{
		/* the first instant past the range is all that is refused there */
		if (secs != MP_JR_UNIX_END)
			abort();
		return;
	}
	if (usec < PG_MIN_TIMESTAMP || usec >= PG_END_TIMESTAMP)
		abort();
	/* within the rounding of a double product */
	{
		long double exact = ((long double) secs - 946684800.0L) * 1000000.0L;
		long double diff = fabsl((long double) usec - exact);

		if (diff > 1100.0L)
			abort();
	}
	/* integral seconds that a double multiplies exactly round-trip */
	if (secs == floor(secs) && fabs(secs) < 5.0e11)
	{
		int64_t		s = (int64_t) secs;

		if (usec != s * 1000000 - MP_JR_PG_EPOCH_USEC)
			abort();
		if ((usec + MP_JR_PG_EPOCH_USEC) / 1000000 != s)
			abort();
	}
}

static bool
is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char) *s >= 0x80)
			return false;
	return true;
}

/* JSON text reparses, and reprints to itself */
static void
check_json_text(const char *text, size_t len)
{
	cJSON	   *back = cJSON_ParseWithLength(text, len);
	char	   *again;

	if (back == NULL)
		abort();
	again = cJSON_PrintUnformatted(back);
	if (again == NULL || strcmp(again, text) != 0)
		abort();
	cJSON_free(again);
	cJSON_Delete(back);
}

static void
check_number_text(double d, const MpJrValue *jv)
{
	if (jv->integral)
	{
		char	   *end;
		long long	back = strtoll(jv->text, &end, 10);

		if (*end != '\0' || back != jv->ival || (double) jv->ival != d ||
			jv->ival >= INT64_C(9000000000000000) || jv->ival <= -INT64_C(9000000000000000))
			abort();
	}
	else if (isfinite(d))
	{
		/* %.17g round-trips every double */
		if (strtod(jv->text, NULL) != d || (d == floor(d) && fabs(d) < 9.0e15))
			abort();
	}
	else if (strcmp(jv->text, isnan(d) ? "NaN" : d > 0 ? "Infinity" : "-Infinity") != 0)
		abort();
}

/*
 * One value for one kind: compare with the reference, check invariants,
 * and free everything.
 */
static void
check_value(const cJSON *v, MpJrKind kind, bool json_type, bool reparse)
{
	FzAlloc		st = {0, 0, 0};
	MpAlloc		a = {fz_alloc, NULL, fz_free, &st};
	MpJrValue	jv;
	MpJrStatus	s = mp_jsonrow_value(&a, v, kind, json_type, &jv);
	RefOut		r;

	ref_render(v, kind, json_type, &r);
	if (r.st == MP_JR_ETIME_RANGE || (r.st == MP_JR_OK && r.form == MP_JR_FORM_UNIX))
	{
		/* Unix seconds: same seconds, the time checks decide the rest */
		if (s != MP_JR_OK && s != MP_JR_ETIME_RANGE)
			abort();
		if (jv.secs != r.secs && !(isnan(jv.secs) && isnan(r.secs)))
			abort();
		if (s == MP_JR_OK && jv.form != MP_JR_FORM_UNIX)
			abort();
		check_time(jv.secs, s == MP_JR_OK, jv.usec);
		if (r.usec_defined && s == MP_JR_OK && jv.usec != r.usec)
			abort();
	}
	else if (s != r.st)
		abort();
	else if (s == MP_JR_OK)
	{
		if (jv.form != MP_JR_FORM_TEXT || jv.text == NULL ||
			jv.text[jv.len] != '\0' || strlen(jv.text) != jv.len ||
			strcmp(jv.text, r.text) != 0 || jv.network != r.network)
			abort();
		if (!jv.network && !is_ascii(jv.text))
			abort();
		if (jv.integral && (!cJSON_IsNumber(v) || json_type))
			abort();
		if (cJSON_IsNumber(v) && !json_type)
			check_number_text(v->valuedouble, &jv);
		if (r.json && reparse)
			check_json_text(jv.text, jv.len);
	}
	ref_free(&r);
	if (s == MP_JR_OK)
		mp_jsonrow_free(&a, &jv);
	if (st.live != 0)
		abort();

	/* the same with an allocator that fails at once */
	st.calls = 0;
	st.fail_at = 1;
	s = mp_jsonrow_value(&a, v, kind, json_type, &jv);
	if (s == MP_JR_OK)
	{
		/* only what needs no allocation may succeed */
		if (jv.owned)
			abort();
		mp_jsonrow_free(&a, &jv);
	}
	else if (s == MP_JR_ENOMEM)
	{
		if (st.calls != 1)
			abort();
	}
	if (st.live != 0)
		abort();
}

static void
check_path(const cJSON *root, const char *field)
{
	FzAlloc		st = {0, 0, 0};
	MpAlloc		a = {fz_alloc, NULL, fz_free, &st};
	char	  **path;
	char	  **rpath;
	char	   *rcopy;
	int			n = mp_jsonrow_split_path(&a, field, &path);
	int			rn = ref_split(field, &rpath, &rcopy);
	const cJSON *v;

	if (n != rn || path == NULL || st.live != 1)
		abort();
	for (int i = 0; i < n; i++)
		if (path[i][0] == '\0' || strchr(path[i], '.') != NULL ||
			strcmp(path[i], rpath[i]) != 0)
			abort();
	v = mp_jsonrow_walk(root, path, n);
	if (v != ref_walk(root, rpath, rn))
		abort();
	for (int k = MP_JR_KIND_TEXT; k <= MP_JR_KIND_JSON; k++)
	{
		/* JSON text is the same for every kind: reparse it once */
		check_value(v, (MpJrKind) k, false, k == MP_JR_KIND_TEXT);
		check_value(v, (MpJrKind) k, true, k == MP_JR_KIND_TEXT);
	}
	a.free(a.ctx, path);
	free(rpath);
	free(rcopy);
	if (st.live != 0)
		abort();

	/* a split whose allocation fails */
	st.calls = 0;
	st.fail_at = 1;
	if (mp_jsonrow_split_path(&a, field, &path) != -1 || path != NULL || st.live != 0)
		abort();
}

/* ---------------------------------------------------------------------- */
/* Paths made of the input's own keys */

typedef struct Derived
{
	int			n;
	char		paths[MAX_DERIVED_PATHS][MAX_PATH_CHARS];
} Derived;

static void
derive(const cJSON *node, char *prefix, size_t plen, int depth, Derived *d)
{
	if (!cJSON_IsObject(node) || depth >= MAX_DERIVED_DEPTH)
		return;
	for (const cJSON *c = node->child; c && d->n < MAX_DERIVED_PATHS; c = c->next)
	{
		size_t		klen = c->string ? strlen(c->string) : 0;
		size_t		nlen = plen + (plen ? 1 : 0) + klen;

		if (c->string == NULL || nlen >= MAX_PATH_CHARS)
			continue;
		if (plen)
			prefix[plen] = '.';
		memcpy(prefix + plen + (plen ? 1 : 0), c->string, klen);
		prefix[nlen] = '\0';
		memcpy(d->paths[d->n++], prefix, nlen + 1);
		derive(c, prefix, nlen, depth + 1, d);
		prefix[plen] = '\0';
	}
}

/* ---------------------------------------------------------------------- */

static void
check_double(double d)
{
	int64_t		usec = 0;
	bool		ok = mp_jsonrow_unix_to_pg(d, &usec);
	char		buf[MP_JR_NUMBER_BUFSZ];
	char		ref[64];
	size_t		len;

	check_time(d, ok, usec);
	len = mp_jsonrow_number_text(d, buf);
	ref_number_text(d, ref, sizeof(ref));
	if (len == 0 || len >= MP_JR_NUMBER_BUFSZ || strlen(buf) != len ||
		strcmp(buf, ref) != 0 || !is_ascii(buf))
		abort();
	if (isfinite(d) && strtod(buf, NULL) != d)
		abort();
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/*
 * mp_jsonrow_exact_ints on a second parse of the input: the tree keeps its
 * shape, and an item is raw exactly where the plain parse has an integer
 * literal of 1e15 or more; its text is that integer's digits, which read
 * back give the plain parse's double, and it renders as those digits.
 */
static void
exact_same(const cJSON *plain, const cJSON *exact)
{
	for (; plain || exact; plain = plain->next, exact = exact->next)
	{
		if (plain == NULL || exact == NULL)
			abort();
		if (cJSON_IsRaw(exact))
		{
			const char *t = exact->valuestring;
			MpJrValue	v;
			FzAlloc		st = {0, 0, 0};
			MpAlloc		ma = {fz_alloc, NULL, fz_free, &st};
			const MpAlloc *a = &ma;

			if (!cJSON_IsNumber(plain) || t == NULL || fabs(plain->valuedouble) < MP_JR_EXACT_FROM)
				abort();
			for (const char *p = (*t == '-') ? t + 1 : t; *p; p++)
				if (*p < '0' || *p > '9')
					abort();
			if (strtod(t, NULL) != plain->valuedouble)
				abort();
			if (mp_jsonrow_value(a, exact, MP_JR_KIND_INT8, false, &v) != MP_JR_OK ||
				strcmp(v.text, t) != 0)
				abort();
			mp_jsonrow_free(a, &v);
		}
		else if ((plain->type & 0xFF) != (exact->type & 0xFF))
			abort();
		else
			exact_same(plain->child, exact->child);
	}
}

static void
check_exact(const cJSON *plain, const char *data, size_t size)
{
	cJSON	   *exact = cJSON_ParseWithLength(data, size);

	if (exact == NULL)
		abort();
	mp_jsonrow_exact_ints(exact, data, size);
	exact_same(plain, exact);
	cJSON_Delete(exact);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const fixed[] = {
		"Id", "Tag", "CreationDate", "ExecutionDate", "ContestDeadlineDate",
		"ClosedDate", "DebitedFunds.Amount", "DebitedFunds.Currency",
		"CreditedFunds.Amount", "Fees.Amount", "DisputedFunds.Amount",
		"DisputeReason.DisputeReasonType", "RefundReason.RefundReasonType",
		"FallbackReason.Code", "PaymentRef", "Status", "Preview",
		"Balance.Amount", "Filters", "Columns", "v", "a.b.c",
		"", "...", ".Id.", "DebitedFunds..Amount", "DebitedFunds.Amount.x",
	};
	cJSON	   *root;
	Derived    *d;
	char		prefix[MAX_PATH_CHARS];

	if (size >= sizeof(double))
	{
		double		dv;

		memcpy(&dv, data, sizeof(dv));
		check_double(dv);
	}

	root = cJSON_ParseWithLength((const char *) data, size);
	if (root == NULL)
		return 0;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
		check_path(root, fixed[i]);

	d = malloc(sizeof(Derived));
	if (d == NULL)
		abort();
	d->n = 0;
	prefix[0] = '\0';
	derive(root, prefix, 0, 0, d);
	for (int i = 0; i < d->n; i++)
		check_path(root, d->paths[i]);
	free(d);

	/* every number in an array at the top, as a time and as text */
	if (cJSON_IsArray(root))
		for (const cJSON *c = root->child; c; c = c->next)
		{
			check_value(c, MP_JR_KIND_TIME, false, false);
			check_value(c, MP_JR_KIND_INT8, false, false);
		}
	/* the same text with exact integers: raw items only where due */
	check_exact(root, (const char *) data, size);
	cJSON_Delete(root);
	return 0;
}
