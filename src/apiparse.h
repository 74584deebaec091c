/*-------------------------------------------------------------------------
 *
 * apiparse.h
 *	  Parsers for MangoPay response headers: rate limits, Link, counts.
 *
 * Pure C without PostgreSQL headers, so they can be unit-tested and fuzzed;
 * none allocates memory.  Header values arrive from the network and are
 * treated as hostile: every function accepts any NUL-terminated string (or
 * NULL) and fails cleanly on malformed input.
 *
 *	X-RateLimit, X-RateLimit-Remaining, X-RateLimit-Reset:
 *		"1715241060, 1715241960, 1715243760, 1715326500" -- one value per
 *		bucket (15 min, 30 min, 60 min, 24 h; old accounts sent three).
 *	Link:
 *		<https://...&page=2>; rel="next", <https://...&page=9>; rel="last"
 *	X-Number-Of-Pages, X-Number-Of-Items:
 *		a non-negative integer.
 *
 * src/apiparse.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MP_APIPARSE_H
#define MP_APIPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpalloc.h"

/*
 * Parse a comma-separated list of non-negative integers (spaces and tabs
 * allowed around each) into out[0..max).  Returns how many were stored.
 * Parsing stops without error at the first element that is not a plain
 * non-negative integer fitting in int64_t (empty, negative, signed,
 * fractional, overflowing or trailing garbage): "1, 2, x" gives 2, "1, 2,"
 * gives 2.  Values past max are ignored.  NULL value gives 0.
 */
extern int	mp_parse_ratelimit(const char *value, int64_t *out, int max);

/*
 * Find the first link in a Link header (RFC 8288) whose rel parameter
 * contains the relation type rel (compared ignoring ASCII case; rel="prev
 * first" holds two types; quoted or token form) and copy its URI, without
 * the angle brackets, to out.  Commas and semicolons inside <...> and inside
 * quoted parameter values are handled.  A malformed link-value is skipped up
 * to the next comma.  Returns false (and out = "" if outsz > 0) when there is
 * no such link or its URI does not fit in outsz bytes with its NUL.  With
 * out == NULL (outsz ignored) it only tells whether such a link exists,
 * whatever the length of its URI.
 */
extern bool mp_parse_link_rel(const char *value, const char *rel,
							  char *out, size_t outsz);

/*
 * Parse a strict non-negative integer with optional surrounding spaces and
 * tabs ("12", " 12 "); no sign, no other characters, no overflow.
 */
extern bool mp_parse_int_header(const char *value, int64_t *out);

/*
 * Given the Remaining and Reset values of n rate-limit buckets (absolute
 * Unix times), return the Unix time to wait until before the next call:
 * the latest Reset among buckets whose Remaining is <= 0 and whose Reset is
 * still after now.  0 means no wait is needed.  The caller decides how long
 * a wait is acceptable (a 24 h bucket can ask for hours).
 */
extern int64_t mp_ratelimit_wait_until(const int64_t *remaining,
									   const int64_t *reset, int n,
									   int64_t now);

#endif							/* MP_APIPARSE_H */
