/*-------------------------------------------------------------------------
 *
 * jsonrow.h
 *	  API object (cJSON) → column values: field paths and value rendering.
 *
 * The PostgreSQL-independent half of src/convert.c.  For each column of a
 * foreign table convert.c
 *	1. splits the column's MangoPay field ("DebitedFunds.Amount") into a
 *	   path once per scan (mp_jsonrow_split_path),
 *	2. walks that path in every API object (mp_jsonrow_walk), and
 *	3. turns the value found into what the column's input function gets
 *	   (mp_jsonrow_value): a text, or Unix seconds already converted to a
 *	   PostgreSQL timestamp.
 * Raising errors, encoding conversion and the input functions stay in
 * convert.c; this file only says what happened (MpJrStatus).
 *
 * Rules (they are what convert.c has always done):
 *	- Path: split at '.', empty segments ignored ("a..b" = "a.b"; "" and
 *	  "..." are the empty path, which is the object itself).  Each step
 *	  looks the key up case-sensitively in an object (first of duplicate
 *	  keys); a missing key, a step into a non-object (array, string,
 *	  null...) or a JSON null at the end means "absent" (SQL NULL).
 *	- Declared type json/jsonb (json_type): any value is its unformatted JSON
 *	  text (cJSON_PrintUnformatted; a string keeps its quotes, a number too
 *	  large for a double prints as null), whatever the kind.
 *	- Kind TIME: a number, or a string of ASCII digits with an optional
 *	  leading '-' ("1735000000"), is Unix seconds; it must lie in
 *	  PostgreSQL's timestamp range [4714-11-24 BC, 294277-01-01) or the
 *	  status is MP_JR_ETIME_RANGE.  Any other value is rendered as below
 *	  An ISO 8601 string (mp_jsonrow_iso_date) goes to the input function
 *	  as it is; any other string ("now", "yesterday", "epoch") is
 *	  MP_JR_ETIME_FORMAT, never a time relative to the query.
 *	- Everything else, for every kind (TEXT, INT8, INT4, BOOL, JSON):
 *	  a string is its contents; a number is "%lld" when it is integral
 *	  and |v| < 9e15, else "%.17g" ("12.5", "1.0000000000000001e+300",
 *	  and "Infinity"/"-Infinity" as PostgreSQL's snprintf writes them);
 *	  true/false are "true"/"false"; an object or array is its JSON text.
 *	  An integer of 1e15 or more read by mp_jsonrow_parse is a raw item
 *	  (mp_jsonrow_exact_ints): its text is the digits received, never
 *	  rounded through a double.
 *	  Nothing is rejected here: an amount of 12.5 or "abc" reaches the
 *	  column type's input function, which rejects it for bigint and
 *	  accepts it for numeric or text.  For a number, integral/ival say
 *	  whether it is an exact integer, so that callers and tests need not
 *	  reparse the text.
 *	- Kind NUMERIC (an exchange rate): a number is the text it had in the
 *	  response ("0.8315406", "1.10", "8.468E-1"), never rounded through a
 *	  double; mp_jsonrow_parse keeps that text on each number node.  A
 *	  tree from elsewhere (without it) falls back to the rule above.
 *
 * Memory: texts that are not borrowed from the cJSON tree (or static) are
 * allocated with the MpAlloc; mp_jsonrow_free() releases them.  The cJSON
 * printer itself allocates through cJSON's hooks (malloc), and its result is
 * copied and freed before mp_jsonrow_value returns.
 *
 * src/jsonrow.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MP_JSONROW_H
#define MP_JSONROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "mpalloc.h"

/*
 * PostgreSQL's timestamp range in Unix seconds: the first valid instant
 * (4714-11-24 00:00:00 BC) and the first invalid one after the range
 * (294277-01-01 00:00:00).  MP_JR_PG_EPOCH_USEC is 2000-01-01 in Unix
 * microseconds, PostgreSQL's epoch.
 */
#define MP_JR_UNIX_MIN		(-210866803200.0)
#define MP_JR_UNIX_END		9224318016000.0
#define MP_JR_PG_EPOCH_USEC	INT64_C(946684800000000)

/* How the API value is read; the same values as MpColKind in mpfdw.h */
typedef enum MpJrKind
{
	MP_JR_KIND_TEXT,
	MP_JR_KIND_TIME,			/* Unix seconds → timestamp */
	MP_JR_KIND_INT8,
	MP_JR_KIND_INT4,
	MP_JR_KIND_BOOL,
	MP_JR_KIND_JSON,
	MP_JR_KIND_NUMERIC			/* a decimal: the number's own text */
} MpJrKind;

typedef enum MpJrStatus
{
	MP_JR_OK = 0,				/* the value is in *out */
	MP_JR_ABSENT,				/* no value (NULL or JSON null): SQL NULL */
	MP_JR_ETIME_RANGE,			/* Unix seconds out of the timestamp range;
								 * out->secs holds them */
	MP_JR_ENOMEM,				/* the allocator or cJSON's printer failed */
	MP_JR_ETIME_FORMAT			/* a date string in none of the API's formats
								 * (Unix seconds, ISO 8601): out->text holds
								 * it */
} MpJrStatus;

typedef enum MpJrForm
{
	MP_JR_FORM_TEXT,			/* text for the column type's input function */
	MP_JR_FORM_UNIX				/* Unix seconds: secs, and usec = timestamp */
} MpJrForm;

typedef struct MpJrValue
{
	MpJrForm	form;

	/* MP_JR_FORM_TEXT */
	const char *text;			/* NUL-terminated, never NULL */
	size_t		len;			/* strlen(text) */
	bool		owned;			/* allocated with the MpAlloc */
	bool		network;		/* holds bytes from the API (a string's
								 * contents, JSON text): the caller verifies
								 * or converts its encoding; otherwise the
								 * text is plain ASCII made here */
	bool		integral;		/* a number with an integral value, |v| < 9e15 */
	int64_t		ival;			/* ... that value; text is its "%lld" */

	/* MP_JR_FORM_UNIX, and MP_JR_ETIME_RANGE */
	double		secs;			/* Unix seconds */
	int64_t		usec;			/* microseconds since 2000-01-01 00:00:00 UTC
								 * (a PostgreSQL timestamp), in range */
} MpJrValue;

/*
 * Split a field name at '.' into *path: one allocation holding the array of
 * segment pointers and the segments, to be freed with a->free(a->ctx, *path).
 * Empty segments are skipped.  Returns the number of segments (0 for "" or
 * "..."), or -1 if the allocator failed (*path = NULL).
 */
extern int	mp_jsonrow_split_path(const MpAlloc *a, const char *field, char ***path);

/*
 * The value at path in obj, or NULL when absent: obj NULL, a key missing, a
 * step into something that is not an object, or a JSON null at the end.
 * pathlen 0 gives obj itself (NULL if it is a JSON null).
 */
extern const cJSON *mp_jsonrow_walk(const cJSON *obj, char *const *path, int pathlen);

/*
 * Render the value v (as found by mp_jsonrow_walk; NULL or a JSON null give
 * MP_JR_ABSENT) for a column of the given kind; json_type says that the
 * column's declared type is json or jsonb.  On MP_JR_OK *out is filled (call
 * mp_jsonrow_free when done); on any other status nothing needs freeing.
 */
extern MpJrStatus mp_jsonrow_value(const MpAlloc *a, const cJSON *v, MpJrKind kind,
								   bool json_type, MpJrValue *out);

/* Free what mp_jsonrow_value allocated in *val (safe to call twice) */
extern void mp_jsonrow_free(const MpAlloc *a, MpJrValue *val);

/*
 * Unix seconds → PostgreSQL timestamp (microseconds since 2000-01-01 UTC,
 * rounded to the nearest).  False if secs is not finite or outside
 * [MP_JR_UNIX_MIN, MP_JR_UNIX_END).
 */
extern bool mp_jsonrow_unix_to_pg(double secs, int64_t *usec);

/*
 * The text of a JSON number in a non-time column: "%lld" if integral and
 * |v| < 9e15, else "%.17g", with "Infinity", "-Infinity" and "NaN" for the
 * non-finite values (what PostgreSQL's snprintf writes).  buf must hold
 * MP_JR_NUMBER_BUFSZ bytes; returns the length.
 */
#define MP_JR_NUMBER_BUFSZ 32
extern size_t mp_jsonrow_number_text(double v, char *buf);

/*
 * Is s an ISO 8601 date or date-time as the API writes them?
 * YYYY-MM-DD, then optionally [T ]hh:mm[:ss[.f+]], then optionally Z or
 * +hh[[:]mm] / -hh[[:]mm].  Nothing else (no words, no spaces around it).
 */
extern bool mp_jsonrow_iso_date(const char *s);

/*
 * Strict JSON parse of a whole response body of len bytes: NULL with *why
 * set when it is not one JSON value and only whitespace after it, or when
 * it holds a NUL character (a raw byte 0 or the escape \u0000: PostgreSQL
 * text cannot hold one, and cJSON would cut the string there).
 * Each number node of the tree keeps the number's text as it was in buf
 * in its valuestring (allocated with cJSON's allocator, freed by
 * cJSON_Delete; cJSON itself reads only valuedouble of a number), which
 * mp_jsonrow_number_literal returns.
 */
typedef enum MpJrParse
{
	MP_JR_PARSE_OK = 0,
	MP_JR_PARSE_SYNTAX,			/* not JSON (or cJSON ran out of memory) */
	MP_JR_PARSE_TRAILING,		/* data after the value */
	MP_JR_PARSE_NUL				/* a NUL character in the text */
} MpJrParse;
extern cJSON *mp_jsonrow_parse(const char *buf, size_t len, MpJrParse *why);

/* the text a number node had in the body mp_jsonrow_parse read, or NULL */
extern const char *mp_jsonrow_number_literal(const cJSON *v);

/*
 * Integers of at least MP_JR_EXACT_FROM in magnitude (where cJSON prints
 * 15 significant digits, and past 2^53 where a double no longer holds every
 * integer) as the digits received: each such integer
 * literal of buf (the text root was parsed from) becomes a cJSON_Raw item
 * whose valuestring is its digits ("9007199254740993"), which
 * mp_jsonrow_value renders as they are and cJSON prints as they are.
 * mp_jsonrow_parse does this; a tree parsed otherwise can be passed here.
 */
#define MP_JR_EXACT_FROM 1.0e15
extern void mp_jsonrow_exact_ints(cJSON *root, const char *buf, size_t len);

/*
 * Overwrite with zeros every key, string value and number of j and of
 * everything under it (not its siblings), before a tree that held a
 * secret (the OAuth token response) is freed.  References and constant
 * keys are left alone: they are not the tree's own memory.
 */
extern void mp_json_wipe(cJSON *j);

#endif							/* MP_JSONROW_H */
