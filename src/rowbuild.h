/*-------------------------------------------------------------------------
 * rowbuild.h
 *		Report rows → Datums without a text round trip: the attrs jsonb
 *		built straight into its binary form, and exact fast paths for
 *		bigint and the legacy ":ISO" dates (src/rowbuild.c).
 *-------------------------------------------------------------------------
 */
#ifndef MP_ROWBUILD_H
#define MP_ROWBUILD_H

#include "postgres.h"
#include "datatype/timestamp.h"

/* a CSV header's attrs object: key order and key bytes, computed once */
typedef struct MpAttrsLayout MpAttrsLayout;

extern MpAttrsLayout *mp_attrs_layout(char *const *names, int n);

/*
 * The attrs jsonb of one row: {"<name>": "<cell>" | null, ...}, equal byte
 * for byte to jsonb_in of the JSON text mangopay_fdw built before (strings
 * verified and converted to the server encoding unless verified says they
 * are server text already; len -1 is a null).
 */
extern Datum mp_attrs_jsonb(MpAttrsLayout *l, char *const *data, const int32 *len,
							bool verified);

/* no byte of s[0..n) has its high bit set */
extern bool mp_ascii(const char *s, size_t n);

/* "-?[0-9]{1,18}" exactly → true and *out; anything else → false */
extern bool mp_fast_int8(const char *s, int len, int64 *out);

/*
 * "dd/MM/yyyy HH:mm:ss" exactly (a valid date and time of day, year >= 1)
 * → true and the timestamptz of that UTC time; anything else → false.
 */
extern bool mp_fast_legacy_iso(const char *s, int len, TimestampTz *out);

/* a cJSON object or array → jsonb, equal to jsonb_in of its cJSON_PrintUnformatted text */
struct cJSON;
extern Datum mp_cjson_to_jsonb(const struct cJSON *v);

#endif							/* MP_ROWBUILD_H */
