/*-------------------------------------------------------------------------
 *
 * jsonrow.c
 *	  API object (cJSON) → column values (see jsonrow.h).
 *
 * No PostgreSQL header: src/convert.c raises the errors and runs the input
 * functions; the unit tests and test/fuzz/fuzz_json.c run this file alone.
 *
 * src/jsonrow.c
 *
 *-------------------------------------------------------------------------
 */
#include "jsonrow.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IS_DIGIT(c) ((c) >= '0' && (c) <= '9')

/* 2^63 as a double: the first value llround() cannot return */
#define TWO_POW_63	9223372036854775808.0

int
mp_jsonrow_split_path(const MpAlloc *a, const char *field, char ***path)
{
	size_t		flen = strlen(field);
	size_t		nseg = 1;
	size_t		i;
	char	  **segs;
	char	   *copy;
	int			n = 0;
	char	   *p;

	for (i = 0; i < flen; i++)
		if (field[i] == '.')
			nseg++;
	/* the segment pointers, then a copy of the field cut at the dots */
	segs = a->alloc(a->ctx, nseg * sizeof(char *) + flen + 1);
	if (segs == NULL)
	{
		*path = NULL;
		return -1;
	}
	copy = (char *) (segs + nseg);
	memcpy(copy, field, flen + 1);
	p = copy;
	while (*p)
	{
		char	   *dot;

		if (*p == '.')
		{
			p++;
			continue;
		}
		segs[n++] = p;
		dot = strchr(p, '.');
		if (dot == NULL)
			break;
		*dot = '\0';
		p = dot + 1;
	}
	*path = segs;
	return n;
}

const cJSON *
mp_jsonrow_walk(const cJSON *obj, char *const *path, int pathlen)
{
	const cJSON *v = obj;
	int			p;

	for (p = 0; p < pathlen && v; p++)
	{
		/* "Owners.0": a digit string indexes an array */
		if (cJSON_IsArray(v) && path[p][0] >= '0' && path[p][0] <= '9' &&
			strspn(path[p], "0123456789") == strlen(path[p]) && strlen(path[p]) < 6)
			v = cJSON_GetArrayItem(v, atoi(path[p]));
		else
			v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, path[p]) : NULL;
	}
	if (v == NULL || cJSON_IsNull(v))
		return NULL;
	return v;
}

bool
mp_jsonrow_unix_to_pg(double secs, int64_t *usec)
{
	double		us;

	if (!isfinite(secs) || secs < MP_JR_UNIX_MIN || secs >= MP_JR_UNIX_END)
		return false;
	us = secs * 1e6;
	if (us < TWO_POW_63)
		*usec = (int64_t) llround(us) - MP_JR_PG_EPOCH_USEC;
	else
	{
		/*
		 * From Unix second 9223372036854.775807 (year 294247) on, Unix
		 * microseconds no longer fit in int64 while the timestamp (epoch
		 * 2000) still does up to 294277: shift the epoch in integers.  There
		 * secs < 2^44, so its whole part and its fraction are exact.
		 */
		int64_t		whole = (int64_t) secs;
		double		frac = secs - (double) whole;

		*usec = (whole - MP_JR_PG_EPOCH_USEC / 1000000) * 1000000 +
			(int64_t) llround(frac * 1e6);
	}
	return true;
}

size_t
mp_jsonrow_number_text(double v, char *buf)
{
	int			n;

	if (isnan(v))
		n = snprintf(buf, MP_JR_NUMBER_BUFSZ, "NaN");
	else if (isinf(v))
		n = snprintf(buf, MP_JR_NUMBER_BUFSZ, "%s", v < 0 ? "-Infinity" : "Infinity");
	else if (v == floor(v) && fabs(v) < 9.0e15)
		n = snprintf(buf, MP_JR_NUMBER_BUFSZ, "%lld", (long long) v);
	else
		n = snprintf(buf, MP_JR_NUMBER_BUFSZ, "%.17g", v);
	return n < 0 ? 0 : (size_t) n;
}

/* a string convert.c has always read as Unix seconds: [-]digits */
static bool
all_digits(const char *s)
{
	if (*s == '-')
		s++;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!IS_DIGIT(*s))
			return false;
	return true;
}

/* copy len bytes and a NUL into the allocator's memory */
static char *
copy_text(const MpAlloc *a, const char *s, size_t len)
{
	char	   *t = a->alloc(a->ctx, len + 1);

	if (t != NULL)
	{
		memcpy(t, s, len);
		t[len] = '\0';
	}
	return t;
}

static MpJrStatus
set_json_text(const MpAlloc *a, const cJSON *v, MpJrValue *out)
{
	char	   *t = cJSON_PrintUnformatted(v);
	size_t		len;
	char	   *copy;

	if (t == NULL)
		return MP_JR_ENOMEM;
	len = strlen(t);
	copy = copy_text(a, t, len);
	cJSON_free(t);
	if (copy == NULL)
		return MP_JR_ENOMEM;
	out->text = copy;
	out->len = len;
	out->owned = true;
	out->network = true;
	return MP_JR_OK;
}

static MpJrStatus
set_unix(double secs, MpJrValue *out)
{
	out->secs = secs;
	if (!mp_jsonrow_unix_to_pg(secs, &out->usec))
		return MP_JR_ETIME_RANGE;
	out->form = MP_JR_FORM_UNIX;
	return MP_JR_OK;
}

MpJrStatus
mp_jsonrow_value(const MpAlloc *a, const cJSON *v, MpJrKind kind, bool json_type,
				 MpJrValue *out)
{
	memset(out, 0, sizeof(*out));
	out->form = MP_JR_FORM_TEXT;
	out->text = "";
	if (v == NULL || cJSON_IsNull(v))
		return MP_JR_ABSENT;

	if (json_type)
		return set_json_text(a, v, out);

	if (cJSON_IsNumber(v))
	{
		double		d = v->valuedouble;
		char		buf[MP_JR_NUMBER_BUFSZ];
		size_t		len;
		char	   *copy;
		const char *lit = mp_jsonrow_number_literal(v);

		if (kind == MP_JR_KIND_TIME)
			return set_unix(d, out);
		if (kind == MP_JR_KIND_NUMERIC && lit != NULL)
		{
			/* borrowed from the tree: digits, sign, '.', 'e' only */
			out->text = lit;
			out->len = strlen(lit);
			return MP_JR_OK;
		}
		len = mp_jsonrow_number_text(d, buf);
		copy = copy_text(a, buf, len);
		if (copy == NULL)
			return MP_JR_ENOMEM;
		out->text = copy;
		out->len = len;
		out->owned = true;
		if (d == floor(d) && fabs(d) < 9.0e15)
		{
			out->integral = true;
			out->ival = (int64_t) d;
		}
		return MP_JR_OK;
	}

	if (cJSON_IsRaw(v) && v->valuestring)
	{
		/* an integer too large for a double: the digits received */
		if (kind == MP_JR_KIND_TIME)
			return set_unix(strtod(v->valuestring, NULL), out);
		out->text = v->valuestring;
		out->len = strlen(v->valuestring);
		if (fabs(v->valuedouble) < 9.0e15)
		{
			out->integral = true;
			out->ival = (int64_t) strtoll(v->valuestring, NULL, 10);
		}
		out->network = true;
		return MP_JR_OK;
	}

	if (cJSON_IsString(v))
	{
		/* a string cJSON did not fill in only comes from a hand-made tree */
		const char *s = v->valuestring ? v->valuestring : "";

		/* a date sent as a string of digits is still Unix seconds */
		if (kind == MP_JR_KIND_TIME && all_digits(s))
			return set_unix(strtod(s, NULL), out);
		out->text = s;
		if (kind == MP_JR_KIND_TIME && !mp_jsonrow_iso_date(s))
		{
			out->len = strlen(s);
			out->network = true;
			return MP_JR_ETIME_FORMAT;
		}
		out->len = strlen(s);
		out->network = true;
		return MP_JR_OK;
	}

	if (cJSON_IsBool(v))
	{
		out->text = cJSON_IsTrue(v) ? "true" : "false";
		out->len = strlen(out->text);
		return MP_JR_OK;
	}

	/* object or array into a scalar column: its JSON text */
	return set_json_text(a, v, out);
}

void
mp_jsonrow_free(const MpAlloc *a, MpJrValue *val)
{
	if (val->owned && val->text != NULL)
		a->free(a->ctx, (void *) val->text);
	val->owned = false;
	val->text = "";
	val->len = 0;
}

/* n digits at *p, advancing it */
static bool
digits(const char **p, int n)
{
	for (int i = 0; i < n; i++)
		if (!IS_DIGIT((*p)[i]))
			return false;
	*p += n;
	return true;
}

bool
mp_jsonrow_iso_date(const char *s)
{
	const char *p = s;

	if (!digits(&p, 4) || *p++ != '-' || !digits(&p, 2) || *p++ != '-' || !digits(&p, 2))
		return false;
	if (*p == 'T' || *p == ' ')
	{
		p++;
		if (!digits(&p, 2) || *p++ != ':' || !digits(&p, 2))
			return false;
		if (*p == ':')
		{
			p++;
			if (!digits(&p, 2))
				return false;
			if (*p == '.')
			{
				p++;
				if (!digits(&p, 1))
					return false;
				while (IS_DIGIT(*p))
					p++;
			}
		}
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		p++;
		if (!digits(&p, 2))
			return false;
		if (*p == ':')
		{
			p++;
			if (!digits(&p, 2))
				return false;
		}
		else if (IS_DIGIT(*p) && !digits(&p, 2))
			return false;
	}
	return *p == '\0';
}

/*
 * The numbers of a JSON text in document order: outside strings, a number
 * is '-' or a digit and what follows of "+-.eE0123456789" (what cJSON
 * reads of it, for a text it parsed).  next_number finds the next one at
 * or after *pos: false when there is none.
 */
static bool
next_number(const char *buf, size_t len, size_t *pos, size_t *from, size_t *to)
{
	for (size_t i = *pos; i < len; i++)
	{
		char		c = buf[i];

		if (c == '"')
		{
			for (i++; i < len && buf[i] != '"'; i++)
				if (buf[i] == '\\')
					i++;
		}
		else if (c == '-' || IS_DIGIT(c))
		{
			*from = i;
			while (i + 1 < len && buf[i + 1] != '\0' &&
				   strchr("+-.eE0123456789", buf[i + 1]) != NULL)
				i++;
			*to = *pos = i + 1;
			return true;
		}
	}
	*pos = len;
	return false;
}

/* number nodes of j and under it */
static size_t
count_numbers(const cJSON *j)
{
	size_t		n = cJSON_IsNumber(j) ? 1 : 0;

	for (const cJSON *c = j->child; c; c = c->next)
		n += count_numbers(c);
	return n;
}

static void
drop_literals(cJSON *j)
{
	if (cJSON_IsNumber(j) && j->valuestring != NULL)
	{
		cJSON_free(j->valuestring);
		j->valuestring = NULL;
	}
	for (cJSON *c = j->child; c; c = c->next)
		drop_literals(c);
}

/* give each number node under j its text, in document order; false when out of memory */
static bool
set_literals(cJSON *j, const char *buf, size_t len, size_t *pos)
{
	if (cJSON_IsNumber(j))
	{
		size_t		from,
					to;
		char	   *t;

		if (!next_number(buf, len, pos, &from, &to))
			return false;		/* cannot happen: the counts agreed */
		t = cJSON_malloc(to - from + 1);
		if (t == NULL)
			return false;
		memcpy(t, buf + from, to - from);
		t[to - from] = '\0';
		j->valuestring = t;
	}
	for (cJSON *c = j->child; c; c = c->next)
		if (!set_literals(c, buf, len, pos))
			return false;
	return true;
}

/*
 * Exact integers.  cJSON reads every number into a double, which holds
 * every integer only up to 2^53: 9007199254740993 would be read as
 * ...992 (and cJSON prints 15 significant digits: 1234567890123456 as
 * 1.23456789012346e+15).  So each integer literal of the text (digits, an optional '-',
 * no fraction or exponent) whose value is at least MP_JR_EXACT_FROM in
 * magnitude is made a raw item holding the digits received: the column
 * gets them, bigint's input function takes them or says they are out of
 * range, and the JSON text of attrs prints them as they came.
 *
 * The numbers of the tree, walked depth first, are the number literals of
 * the text in the order they appear (keys are strings), so the walk and a
 * scan of the text that skips strings meet the same numbers in turn.
 */
typedef struct NumScan
{
	const char *buf;
	size_t		len;
	size_t		pos;
} NumScan;

/* the next number literal of the text, outside strings; false at the end */
static bool
next_literal(NumScan *ns, const char **tok, size_t *toklen)
{
	size_t		from,
				to;

	if (!next_number(ns->buf, ns->len, &ns->pos, &from, &to))
		return false;
	*tok = ns->buf + from;
	*toklen = to - from;
	return true;
}

static bool
integer_literal(const char *t, size_t len)
{
	size_t		i = (len > 0 && t[0] == '-') ? 1 : 0;

	if (i == len)
		return false;
	for (; i < len; i++)
		if (!IS_DIGIT(t[i]))
			return false;
	return true;
}

const char *
mp_jsonrow_number_literal(const cJSON *v)
{
	if (v == NULL || !cJSON_IsNumber(v) || (v->type & cJSON_IsReference))
		return NULL;
	return v->valuestring;
}

/*
 * Keep each number's text on its node (see jsonrow.h).  The tree's numbers
 * and the text's are the same, in the same order; if they ever differ, or
 * memory runs out, no node keeps a text and readers fall back to the
 * double.
 */
static void
keep_number_texts(cJSON *j, const char *buf, size_t len)
{
	size_t		n = count_numbers(j);
	size_t		pos = 0,
				from,
				to,
				found = 0;

	if (n == 0)
		return;
	while (next_number(buf, len, &pos, &from, &to))
		found++;
	if (found != n)
		return;
	pos = 0;
	if (!set_literals(j, buf, len, &pos))
		drop_literals(j);
}

/* false when the text and the tree disagree (or memory ran out): stop */
static bool
exact_walk(cJSON *item, NumScan *ns)
{
	for (; item; item = item->next)
	{
		if (cJSON_IsNumber(item))
		{
			const char *tok;
			size_t		len;

			if (!next_literal(ns, &tok, &len))
				return false;
			if (fabs(item->valuedouble) >= MP_JR_EXACT_FROM && integer_literal(tok, len))
			{
				char	   *digits = cJSON_malloc(len + 1);

				if (digits == NULL)
					return false;
				memcpy(digits, tok, len);
				digits[len] = '\0';
				/* the text keep_number_texts gave it, if any, is replaced */
				if (item->valuestring != NULL)
					cJSON_free(item->valuestring);
				item->type = cJSON_Raw;
				item->valuestring = digits;
			}
		}
		else if ((cJSON_IsArray(item) || cJSON_IsObject(item)) && !exact_walk(item->child, ns))
			return false;
	}
	return true;
}

void
mp_jsonrow_exact_ints(cJSON *root, const char *buf, size_t len)
{
	NumScan		ns;
	int			run = 0;
	bool		long_run = false;

	if (root == NULL || buf == NULL)
		return;
	/* the common case: no run of 16 digits, no integer that large */
	for (size_t i = 0; i < len && !long_run; i++)
	{
		run = IS_DIGIT(buf[i]) ? run + 1 : 0;
		long_run = run >= 16;
	}
	if (!long_run)
		return;
	ns.buf = buf;
	ns.len = len;
	ns.pos = 0;
	(void) exact_walk(root, &ns);
}

cJSON *
mp_jsonrow_parse(const char *buf, size_t len, MpJrParse *why)
{
	const char *end = NULL;
	cJSON	   *j;

	*why = MP_JR_PARSE_OK;
	if (buf == NULL)
		buf = "";
	/* a NUL: a raw byte, or \u0000 (a backslash not itself escaped) */
	for (size_t i = 0; i < len; i++)
	{
		if (buf[i] == '\0')
		{
			*why = MP_JR_PARSE_NUL;
			return NULL;
		}
		if (buf[i] == '\\' && i + 1 < len)
		{
			if (buf[i + 1] == 'u' && i + 5 < len && memcmp(buf + i + 2, "0000", 4) == 0)
			{
				*why = MP_JR_PARSE_NUL;
				return NULL;
			}
			i++;				/* the escaped character */
		}
	}
	j = cJSON_ParseWithLengthOpts(buf, len, &end, false);
	if (j == NULL)
	{
		*why = MP_JR_PARSE_SYNTAX;
		return NULL;
	}
	for (const char *p = end; p && p < buf + len; p++)
		if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
		{
			mp_json_wipe(j);	/* the body may be a secret's (a token) */
			cJSON_Delete(j);
			*why = MP_JR_PARSE_TRAILING;
			return NULL;
		}
	keep_number_texts(j, buf, len);
	mp_jsonrow_exact_ints(j, buf, (size_t) (end - buf));
	return j;
}

/* zeros that the compiler cannot drop as dead stores */
static void
wipe_bytes(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n--)
		*v++ = 0;
}

void
mp_json_wipe(cJSON *j)
{
	if (j == NULL || (j->type & cJSON_IsReference))
		return;
	if (j->valuestring)
		wipe_bytes(j->valuestring, strlen(j->valuestring));
	if (j->string && !(j->type & cJSON_StringIsConst))
		wipe_bytes(j->string, strlen(j->string));
	wipe_bytes(&j->valuedouble, sizeof(j->valuedouble));
	wipe_bytes(&j->valueint, sizeof(j->valueint));
	for (cJSON *c = j->child; c; c = c->next)
		mp_json_wipe(c);
}
