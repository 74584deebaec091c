/*-------------------------------------------------------------------------
 *
 * windows.h
 *	  Report date windows: calendar-month arithmetic on Unix times (UTC).
 *
 * MangoPay limits the date range of one report: the Reporting Service wants
 * BeforeDate - AfterDate < 12 months, the legacy TRANSACTIONS report <= 6
 * months and WALLETS <= 24 months; data also has a retention horizon (36 or
 * 24 months back).  A query over a longer range is therefore split into
 * consecutive windows, one report each.  Everything here is pure UTC
 * calendar arithmetic on int64_t Unix seconds, with no time zones and no
 * allocation except through a caller-supplied MpAlloc.
 *
 * Supported times are 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z
 * (MP_TIME_MIN .. MP_TIME_MAX); mp_add_months() saturates to that range.
 *
 * (The file name clashes with nothing on Unix, but a Windows port would
 * have to include it as "windows.h" with the src directory first.)
 *
 * src/windows.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef MP_WINDOWS_H
#define MP_WINDOWS_H

#include <stdbool.h>
#include <stdint.h>

#include "mpalloc.h"

#define MP_TIME_MIN		((int64_t) -62135596800)	/* 0001-01-01 00:00:00Z */
#define MP_TIME_MAX		((int64_t) 253402300799)	/* 9999-12-31 23:59:59Z */

/* One window: the half-open interval [start, end) of Unix times */
typedef struct MpWindow
{
	int64_t		start;
	int64_t		end;
} MpWindow;

/* A broken-down UTC time */
typedef struct MpCivilTime
{
	int			year;			/* 1 .. 9999 */
	int			month;			/* 1 .. 12 */
	int			day;			/* 1 .. 31 */
	int			hour;
	int			minute;
	int			second;
} MpCivilTime;

/*
 * Unix time of a UTC calendar date and time.  Returns false if a component
 * is out of range (including Feb 30 and friends; no leap seconds).
 */
extern bool mp_make_time(int year, int month, int day, int hour, int minute,
						 int second, int64_t *out);

/* Break a Unix time down into its UTC calendar date and time */
extern void mp_split_time(int64_t t, MpCivilTime *out);

/*
 * t plus (or minus) months calendar months, keeping the time of day and
 * clamping the day to the end of a shorter month: Jan 31 + 1 month = Feb 28
 * (Feb 29 in a leap year), Mar 31 - 1 month = Feb 28/29.
 */
extern int64_t mp_add_months(int64_t t, int months);

/*
 * Clamp "from" to a retention horizon: max(from, now - months + margin).
 * margin (seconds, >= 0) keeps the request inside the horizon even though
 * the server's clock reads a little later than ours when it checks it.
 */
extern int64_t mp_clamp_retention(int64_t from, int64_t now, int months,
								  int64_t margin);

/*
 * Split [from, to) into consecutive windows in date order, without gaps or
 * overlaps, the first starting at from and the last ending at to.  Each
 * window [s, e) satisfies e <= mp_add_months(s, max_months), or, if strict,
 * e < mp_add_months(s, max_months) (e is then at most one second short of
 * max_months months).  Windows are chained from each window's own start,
 * which is what a server checking "AfterDate + N months" accepts.
 *
 * Writes at most max_out windows to out (out may be NULL if max_out is 0)
 * and returns how many windows the range needs, like snprintf: a result
 * larger than max_out means out was too small.  Returns 0 if from >= to and
 * -1 if max_months < 1 or a bound is outside MP_TIME_MIN..MP_TIME_MAX.
 */
extern int	mp_split_windows(int64_t from, int64_t to, int max_months,
							 bool strict, MpWindow *out, int max_out);

/*
 * Like mp_split_windows(), but allocates the array with a.  *out is set to
 * NULL when the result is 0 or -1; -2 means the allocator failed.  Free the
 * array with a->free.
 */
extern int	mp_split_windows_alloc(const MpAlloc *a, int64_t from, int64_t to,
								   int max_months, bool strict,
								   MpWindow **out);

/*
 * Like mp_split_windows(), with one more limit: when max_secs > 0, every
 * window also satisfies e - s <= max_secs (a limit read as a number of days
 * rather than calendar months: windows stay inside both readings).
 */
extern int	mp_split_windows_span(int64_t from, int64_t to, int max_months,
								  bool strict, int64_t max_secs,
								  MpWindow *out, int max_out);
extern int	mp_split_windows_span_alloc(const MpAlloc *a, int64_t from, int64_t to,
										int max_months, bool strict, int64_t max_secs,
										MpWindow **out);

#endif							/* MP_WINDOWS_H */
