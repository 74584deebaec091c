/*-------------------------------------------------------------------------
 *
 * unit.h
 *	  A tiny self-contained unit test runner for the pure-C parts.
 *
 * Each test is a void function; a test fails if any CHECK in it fails.
 * Every test file exports a table of UtTest entries ending with {NULL, NULL}
 * and unit_main.c runs all tables, printing failures and a final line
 * "N passed, M failed" (exit status 1 if M > 0).  A test allocator that
 * wraps malloc checks the MpAlloc contract, counts live blocks (leaks),
 * records the largest block, and can fail on the n-th allocation.
 *
 * test/unit/unit.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MP_UNIT_H
#define MP_UNIT_H

#include <inttypes.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "mpalloc.h"

typedef struct UtTest
{
	const char *name;
	void		(*fn) (void);
} UtTest;

/* Report a failed check (prints the location; marks the current test) */
extern void ut_fail(const char *file, int line, const char *fmt,...)
#if defined(__GNUC__)
			__attribute__((format(printf, 3, 4)))
#endif
			;

#define CHECK(cond) \
	do { \
		if (!(cond)) \
			ut_fail(__FILE__, __LINE__, "CHECK(%s)", #cond); \
	} while (0)

#define CHECK_INT(a, b) \
	do { \
		long long ut_a_ = (long long) (a); \
		long long ut_b_ = (long long) (b); \
		if (ut_a_ != ut_b_) \
			ut_fail(__FILE__, __LINE__, "%s == %lld, expected %s == %lld", \
					#a, ut_a_, #b, ut_b_); \
	} while (0)

#define CHECK_STR(a, b) \
	do { \
		const char *ut_a_ = (a); \
		const char *ut_b_ = (b); \
		if (ut_a_ == NULL || ut_b_ == NULL || strcmp(ut_a_, ut_b_) != 0) \
			ut_fail(__FILE__, __LINE__, "%s:\n    got      \"%s\"\n    expected \"%s\"", \
					#a, ut_a_ ? ut_a_ : "(null)", ut_b_ ? ut_b_ : "(null)"); \
	} while (0)

/* The test allocator */
typedef struct UtAllocStats
{
	long		live;			/* blocks allocated and not freed */
	long		calls;			/* alloc + realloc calls so far */
	long		fail_at;		/* fail the call with this number (1-based), 0 = never */
	size_t		largest;		/* largest block ever requested */
	long		violations;		/* MpAlloc contract violations */
} UtAllocStats;

extern void ut_alloc_init(MpAlloc *a, UtAllocStats *st);

/* Test tables */
extern const UtTest csv_tests[];
extern const UtTest apiparse_tests[];
extern const UtTest windows_tests[];
extern const UtTest jsonrow_tests[];

#endif							/* MP_UNIT_H */
