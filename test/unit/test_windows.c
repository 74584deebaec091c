/*-------------------------------------------------------------------------
 *
 * test_windows.c
 *	  Unit tests for calendar arithmetic and window splitting
 *	  (src/windows.c).
 *
 * test/unit/test_windows.c
 *
 *-------------------------------------------------------------------------
 */
#include "unit.h"
#include "windows.h"

#include <limits.h>

/* Unix time of a UTC date-time; fails the test on an invalid date */
static int64_t
T(int y, int mo, int d, int h, int mi, int s)
{
	int64_t		t = 0;

	if (!mp_make_time(y, mo, d, h, mi, s, &t))
		ut_fail(__FILE__, __LINE__, "invalid date %d-%d-%d", y, mo, d);
	return t;
}

#define D(y, mo, d) T(y, mo, d, 0, 0, 0)

/* ---------------------------------------------------------------------- */
/* Civil time conversion */

static void
test_make_time_known(void)
{
	CHECK_INT(D(1970, 1, 1), 0);
	CHECK_INT(D(2024, 2, 29), 1709164800);
	CHECK_INT(D(2023, 1, 1), 1672531200);
	CHECK_INT(T(2000, 2, 29, 12, 34, 56), 951827696);
	CHECK_INT(T(1969, 12, 31, 23, 59, 59), -1);
	CHECK_INT(D(1, 1, 1), MP_TIME_MIN);
	CHECK_INT(T(9999, 12, 31, 23, 59, 59), MP_TIME_MAX);
}

static void
test_make_time_invalid(void)
{
	int64_t		t = 123;

	CHECK(!mp_make_time(2023, 2, 29, 0, 0, 0, &t));
	CHECK(!mp_make_time(2100, 2, 29, 0, 0, 0, &t));
	CHECK(mp_make_time(2000, 2, 29, 0, 0, 0, &t));
	CHECK(!mp_make_time(2024, 4, 31, 0, 0, 0, &t));
	CHECK(!mp_make_time(2024, 13, 1, 0, 0, 0, &t));
	CHECK(!mp_make_time(2024, 0, 1, 0, 0, 0, &t));
	CHECK(!mp_make_time(2024, 1, 0, 0, 0, 0, &t));
	CHECK(!mp_make_time(2024, 1, 1, 24, 0, 0, &t));
	CHECK(!mp_make_time(2024, 1, 1, 0, 60, 0, &t));
	CHECK(!mp_make_time(2024, 1, 1, 0, 0, 60, &t));
	CHECK(!mp_make_time(2024, 1, 1, -1, 0, 0, &t));
	CHECK(!mp_make_time(0, 1, 1, 0, 0, 0, &t));
	CHECK(!mp_make_time(10000, 1, 1, 0, 0, 0, &t));
}

static void
test_split_time(void)
{
	MpCivilTime c;

	mp_split_time(-1, &c);
	CHECK_INT(c.year, 1969);
	CHECK_INT(c.month, 12);
	CHECK_INT(c.day, 31);
	CHECK_INT(c.hour, 23);
	CHECK_INT(c.minute, 59);
	CHECK_INT(c.second, 59);
	mp_split_time(951827696, &c);
	CHECK_INT(c.year, 2000);
	CHECK_INT(c.month, 2);
	CHECK_INT(c.day, 29);
	CHECK_INT(c.hour, 12);
	CHECK_INT(c.minute, 34);
	CHECK_INT(c.second, 56);
	mp_split_time(INT64_MAX, &c);
	CHECK_INT(c.year, 9999);
	mp_split_time(INT64_MIN, &c);
	CHECK_INT(c.year, 1);
	CHECK_INT(c.month, 1);
	CHECK_INT(c.day, 1);
}

static void
test_split_make_roundtrip(void)
{
	int64_t		t;
	long		bad = 0;

	for (t = D(1899, 1, 1); t < D(2101, 1, 1); t += 86400 * 13 + 3607)
	{
		MpCivilTime c;
		int64_t		back = 0;

		mp_split_time(t, &c);
		if (!mp_make_time(c.year, c.month, c.day, c.hour, c.minute, c.second,
						  &back) || back != t)
			bad++;
	}
	CHECK_INT(bad, 0);
}

/* ---------------------------------------------------------------------- */
/* mp_add_months */

static void
test_add_months_simple(void)
{
	CHECK_INT(mp_add_months(D(2024, 1, 15), 1), D(2024, 2, 15));
	CHECK_INT(mp_add_months(D(2024, 12, 15), 1), D(2025, 1, 15));
	CHECK_INT(mp_add_months(D(2024, 1, 15), -1), D(2023, 12, 15));
	CHECK_INT(mp_add_months(D(2024, 3, 10), -13), D(2023, 2, 10));
	CHECK_INT(mp_add_months(D(2024, 3, 10), 36), D(2027, 3, 10));
	CHECK_INT(mp_add_months(D(2024, 3, 10), 0), D(2024, 3, 10));
}

static void
test_add_months_end_clamp(void)
{
	CHECK_INT(mp_add_months(D(2024, 1, 31), 1), D(2024, 2, 29));
	CHECK_INT(mp_add_months(D(2023, 1, 31), 1), D(2023, 2, 28));
	CHECK_INT(mp_add_months(D(2024, 3, 31), -1), D(2024, 2, 29));
	CHECK_INT(mp_add_months(D(2024, 3, 31), 1), D(2024, 4, 30));
	CHECK_INT(mp_add_months(D(2024, 8, 31), 6), D(2025, 2, 28));
	CHECK_INT(mp_add_months(D(2024, 5, 31), -3), D(2024, 2, 29));
	CHECK_INT(mp_add_months(D(2024, 10, 31), 1), D(2024, 11, 30));
}

static void
test_add_months_leap_years(void)
{
	CHECK_INT(mp_add_months(D(2024, 2, 29), 12), D(2025, 2, 28));
	CHECK_INT(mp_add_months(D(2024, 2, 29), 48), D(2028, 2, 29));
	CHECK_INT(mp_add_months(D(2024, 2, 29), -12), D(2023, 2, 28));
	CHECK_INT(mp_add_months(D(2000, 2, 29), 1200), D(2100, 2, 28));
	CHECK_INT(mp_add_months(D(1999, 2, 28), 12), D(2000, 2, 28));
	CHECK_INT(mp_add_months(D(2099, 1, 31), 13), D(2100, 2, 28));
}

static void
test_add_months_time_of_day(void)
{
	CHECK_INT(mp_add_months(T(2024, 1, 31, 23, 59, 59), 1), T(2024, 2, 29, 23, 59, 59));
	CHECK_INT(mp_add_months(T(2024, 7, 1, 0, 0, 1), -6), T(2024, 1, 1, 0, 0, 1));
	/* negative Unix times */
	CHECK_INT(mp_add_months(T(1969, 12, 31, 12, 0, 0), 2), T(1970, 2, 28, 12, 0, 0));
	CHECK_INT(mp_add_months(T(1970, 1, 1, 0, 0, 0), -1), T(1969, 12, 1, 0, 0, 0));
}

static void
test_add_months_saturates(void)
{
	CHECK_INT(mp_add_months(MP_TIME_MAX, 1), MP_TIME_MAX);
	CHECK_INT(mp_add_months(MP_TIME_MIN, -1), MP_TIME_MIN);
	CHECK_INT(mp_add_months(D(2024, 1, 1), INT_MAX), MP_TIME_MAX);
	CHECK_INT(mp_add_months(D(2024, 1, 1), INT_MIN), MP_TIME_MIN);
	CHECK_INT(mp_add_months(INT64_MAX, -1), mp_add_months(MP_TIME_MAX, -1));
	CHECK_INT(mp_add_months(INT64_MIN, 1), D(1, 2, 1));
	CHECK_INT(mp_add_months(D(9999, 11, 30), 1), D(9999, 12, 30));
}

/* ---------------------------------------------------------------------- */
/* mp_clamp_retention */

static void
test_clamp_retention(void)
{
	int64_t		now = T(2025, 6, 15, 10, 0, 0);

	CHECK_INT(mp_clamp_retention(D(2020, 1, 1), now, 36, 0), T(2022, 6, 15, 10, 0, 0));
	CHECK_INT(mp_clamp_retention(D(2024, 1, 1), now, 36, 0), D(2024, 1, 1));
	CHECK_INT(mp_clamp_retention(D(2020, 1, 1), now, 24, 86400), T(2023, 6, 16, 10, 0, 0));
	CHECK_INT(mp_clamp_retention(D(2020, 1, 1), T(2028, 2, 29, 1, 0, 0), 12, 0),
			  T(2027, 2, 28, 1, 0, 0));
	CHECK_INT(mp_clamp_retention(D(2020, 1, 1), now, 24, -5), T(2023, 6, 15, 10, 0, 0));
	CHECK_INT(mp_clamp_retention(INT64_MIN, now, 24, INT64_MAX), MP_TIME_MAX);
}

/* ---------------------------------------------------------------------- */
/* mp_split_windows */

/*
 * check_windows
 *		The invariants every split must satisfy: windows cover [from, to)
 *		in order without gaps, each is non-empty and within the limit, and
 *		each but the last is as long as the limit allows.
 */
static bool
check_windows(int64_t from, int64_t to, int months, bool strict,
			  const MpWindow *w, int n)
{
	int			i;

	if (from >= to)
		return n == 0;
	if (n < 1 || w[0].start != from || w[n - 1].end != to)
		return false;
	for (i = 0; i < n; i++)
	{
		int64_t		lim = mp_add_months(w[i].start, months) - (strict ? 1 : 0);

		if (w[i].start >= w[i].end || w[i].end > lim)
			return false;
		if (i > 0 && w[i].start != w[i - 1].end)
			return false;
		if (i < n - 1 && w[i].end != lim)
			return false;
	}
	return true;
}

static void
test_windows_14_months(void)
{
	MpWindow	w[8];
	int64_t		from = D(2024, 1, 1);
	int64_t		to = D(2025, 3, 1);
	int			n;

	/* Reporting Service: strictly less than 12 months */
	n = mp_split_windows(from, to, 12, true, w, 8);
	CHECK_INT(n, 2);
	CHECK_INT(w[0].start, from);
	CHECK_INT(w[0].end, T(2024, 12, 31, 23, 59, 59));
	CHECK_INT(w[1].start, T(2024, 12, 31, 23, 59, 59));
	CHECK_INT(w[1].end, to);
	CHECK(check_windows(from, to, 12, true, w, n));

	/* at most 12 months */
	n = mp_split_windows(from, to, 12, false, w, 8);
	CHECK_INT(n, 2);
	CHECK_INT(w[0].end, D(2025, 1, 1));
	CHECK(check_windows(from, to, 12, false, w, n));

	/* legacy TRANSACTIONS: at most 6 months */
	n = mp_split_windows(from, to, 6, false, w, 8);
	CHECK_INT(n, 3);
	CHECK_INT(w[0].end, D(2024, 7, 1));
	CHECK_INT(w[1].end, D(2025, 1, 1));
	CHECK_INT(w[2].end, to);
	CHECK(check_windows(from, to, 6, false, w, n));

	/* WALLETS: at most 24 months */
	n = mp_split_windows(from, to, 24, false, w, 8);
	CHECK_INT(n, 1);
	CHECK_INT(w[0].start, from);
	CHECK_INT(w[0].end, to);
}

static void
test_windows_36_months(void)
{
	MpWindow	w[16];
	int64_t		from = T(2022, 3, 15, 10, 0, 0);
	int64_t		to = T(2025, 3, 15, 10, 0, 0);
	int			n;

	n = mp_split_windows(from, to, 6, false, w, 16);
	CHECK_INT(n, 6);
	CHECK_INT(w[1].start, T(2022, 9, 15, 10, 0, 0));
	CHECK_INT(w[5].start, T(2024, 9, 15, 10, 0, 0));
	CHECK(check_windows(from, to, 6, false, w, n));

	/* strict: each window is a second short, so one more is needed */
	n = mp_split_windows(from, to, 6, true, w, 16);
	CHECK_INT(n, 7);
	CHECK_INT(w[6].end - w[6].start, 6);
	CHECK(check_windows(from, to, 6, true, w, n));

	n = mp_split_windows(from, to, 12, true, w, 16);
	CHECK_INT(n, 4);
	CHECK(check_windows(from, to, 12, true, w, n));

	n = mp_split_windows(from, to, 12, false, w, 16);
	CHECK_INT(n, 3);
	CHECK(check_windows(from, to, 12, false, w, n));

	n = mp_split_windows(from, to, 24, false, w, 16);
	CHECK_INT(n, 2);
	CHECK_INT(w[0].end, T(2024, 3, 15, 10, 0, 0));
	CHECK(check_windows(from, to, 24, false, w, n));

	n = mp_split_windows(from, to, 24, true, w, 16);
	CHECK_INT(n, 2);
	CHECK(check_windows(from, to, 24, true, w, n));
}

static void
test_windows_month_end_chain(void)
{
	MpWindow	w[8];
	int64_t		from = D(2024, 1, 31);
	int64_t		to = D(2024, 6, 1);
	int			n;

	n = mp_split_windows(from, to, 1, false, w, 8);
	CHECK_INT(n, 5);
	CHECK_INT(w[0].end, D(2024, 2, 29));
	CHECK_INT(w[1].end, D(2024, 3, 29));
	CHECK_INT(w[2].end, D(2024, 4, 29));
	CHECK_INT(w[3].end, D(2024, 5, 29));
	CHECK_INT(w[4].end, to);
	CHECK(check_windows(from, to, 1, false, w, n));

	/* from the end of August, six months reach the end of February */
	n = mp_split_windows(D(2023, 8, 31), D(2024, 9, 1), 6, false, w, 8);
	CHECK_INT(n, 3);
	CHECK_INT(w[0].end, D(2024, 2, 29));
	CHECK_INT(w[1].end, D(2024, 8, 29));
}

static void
test_windows_exact_multiple(void)
{
	MpWindow	w[4];
	int			n;

	/* exactly 12 months: one window non-strict, two strict */
	n = mp_split_windows(D(2024, 2, 29), D(2025, 2, 28), 12, false, w, 4);
	CHECK_INT(n, 1);
	n = mp_split_windows(D(2024, 2, 29), D(2025, 2, 28), 12, true, w, 4);
	CHECK_INT(n, 2);
	CHECK_INT(w[1].end - w[1].start, 1);
	/* one second less than 12 months: one window either way */
	n = mp_split_windows(D(2024, 5, 1), D(2025, 5, 1) - 1, 12, true, w, 4);
	CHECK_INT(n, 1);
}

static void
test_windows_empty_and_invalid(void)
{
	MpWindow	w[2];

	CHECK_INT(mp_split_windows(100, 100, 12, true, w, 2), 0);
	CHECK_INT(mp_split_windows(200, 100, 12, true, w, 2), 0);
	CHECK_INT(mp_split_windows(0, 100, 0, true, w, 2), -1);
	CHECK_INT(mp_split_windows(0, 100, -6, false, w, 2), -1);
	CHECK_INT(mp_split_windows(MP_TIME_MIN - 1, 100, 6, false, w, 2), -1);
	CHECK_INT(mp_split_windows(0, MP_TIME_MAX + 1, 6, false, w, 2), -1);
	CHECK_INT(mp_split_windows(0, 1, 1, true, w, 2), 1);
	CHECK_INT(w[0].start, 0);
	CHECK_INT(w[0].end, 1);
}

static void
test_windows_small_buffer(void)
{
	MpWindow	w[3];
	int64_t		from = D(2020, 1, 1);
	int64_t		to = D(2025, 1, 1);

	w[2].start = -42;
	w[2].end = -42;
	CHECK_INT(mp_split_windows(from, to, 6, false, w, 2), 10);
	CHECK_INT(w[0].start, from);
	CHECK_INT(w[1].start, D(2020, 7, 1));
	CHECK_INT(w[2].start, -42);
	CHECK_INT(w[2].end, -42);
	CHECK_INT(mp_split_windows(from, to, 6, false, NULL, 0), 10);
	CHECK_INT(mp_split_windows(from, to, 6, false, NULL, 5), 10);
}

static void
test_windows_whole_range(void)
{
	/* the widest range with one-month windows: terminates, no overflow */
	int			n = mp_split_windows(MP_TIME_MIN, MP_TIME_MAX, 1, true, NULL, 0);
	MpWindow	w[2];

	/* a strict window is a second short, and ends drift to day 28 */
	CHECK(n > 9999 * 12 && n <= 9999 * 12 + 3);
	CHECK_INT(mp_split_windows(MP_TIME_MAX - 1, MP_TIME_MAX, 1, true, w, 2), 1);
	CHECK_INT(mp_split_windows(MP_TIME_MIN, MP_TIME_MAX, INT_MAX, false, w, 2), 1);
}

static void
test_windows_alloc(void)
{
	MpAlloc		a;
	UtAllocStats st;
	MpWindow   *w = NULL;
	MpWindow	ref[8];
	int			n;
	int			i;

	ut_alloc_init(&a, &st);
	n = mp_split_windows_alloc(&a, D(2022, 1, 1), D(2025, 1, 1), 12, true, &w);
	CHECK_INT(n, 4);
	CHECK(w != NULL);
	CHECK_INT(mp_split_windows(D(2022, 1, 1), D(2025, 1, 1), 12, true, ref, 8), 4);
	for (i = 0; w && i < n; i++)
	{
		CHECK_INT(w[i].start, ref[i].start);
		CHECK_INT(w[i].end, ref[i].end);
	}
	if (w)
		a.free(a.ctx, w);
	CHECK_INT(st.live, 0);

	CHECK_INT(mp_split_windows_alloc(&a, 5, 5, 12, true, &w), 0);
	CHECK(w == NULL);
	CHECK_INT(mp_split_windows_alloc(&a, 5, 6, 0, true, &w), -1);
	CHECK(w == NULL);
	st.fail_at = st.calls + 1;
	CHECK_INT(mp_split_windows_alloc(&a, 5, 6, 1, true, &w), -2);
	CHECK(w == NULL);
	CHECK_INT(st.live, 0);
	CHECK_INT(st.violations, 0);
}

static void
test_windows_property(void)
{
	static const int months[] = {1, 2, 6, 12, 13, 24, 36};
	uint64_t	seed = 0x9e3779b97f4a7c15u;
	int			iter;
	long		bad = 0;

	for (iter = 0; iter < 3000; iter++)
	{
		MpWindow	w[400];
		int64_t		from;
		int64_t		to;
		int			m;
		bool		strict;
		int			n;

		seed = seed * 6364136223846793005u + 1442695040888963407u;
		from = D(1990, 1, 1) + (int64_t) ((seed >> 20) % (UINT64_C(40) * 365 * 86400));
		seed = seed * 6364136223846793005u + 1442695040888963407u;
		to = from + (int64_t) ((seed >> 20) % (UINT64_C(6) * 366 * 86400)) - 86400;
		m = months[(seed >> 8) % 7];
		strict = (seed >> 4) & 1;
		n = mp_split_windows(from, to, m, strict, w, 400);
		if (n > 400 || !check_windows(from, to, m, strict, w, n))
			bad++;
	}
	CHECK_INT(bad, 0);
}

static void
test_windows_reporting_service_flow(void)
{
	/* a query from 2020 on: clamp to the 24-month horizon, split < 12 */
	int64_t		now = T(2025, 6, 15, 10, 0, 0);
	int64_t		from = mp_clamp_retention(D(2020, 1, 1), now, 24, 86400);
	MpWindow	w[4];
	int			n = mp_split_windows(from, now, 12, true, w, 4);

	CHECK_INT(from, T(2023, 6, 16, 10, 0, 0));
	CHECK_INT(n, 2);
	CHECK(check_windows(from, now, 12, true, w, n));
	CHECK(w[0].end < mp_add_months(w[0].start, 12));
}

/* months and a number of days: every window inside both readings */
static void
test_windows_span(void)
{
	MpWindow	w[8];
	int64_t		from = D(2024, 7, 1);
	int64_t		to = D(2025, 7, 1);
	int64_t		cap = 181 * INT64_C(86400) - 1;
	int			n;

	/* Jul 1 + 6 months is 184 days: the day cap wins */
	n = mp_split_windows_span(from, to, 6, true, cap, w, 8);
	CHECK_INT(n, 3);
	CHECK_INT(w[0].start, from);
	CHECK_INT(w[0].end, from + cap);
	for (int i = 0; i < n; i++)
	{
		CHECK(w[i].end - w[i].start <= cap);
		CHECK(w[i].end < mp_add_months(w[i].start, 6));
		if (i > 0)
			CHECK_INT(w[i].start, w[i - 1].end);
	}
	CHECK_INT(w[n - 1].end, to);
	/* a cap longer than the months changes nothing */
	CHECK_INT(mp_split_windows_span(from, to, 6, true, 400 * INT64_C(86400), w, 8),
			  mp_split_windows(from, to, 6, true, NULL, 0));
	/* 0: months only; negative: invalid */
	CHECK_INT(mp_split_windows_span(from, to, 6, true, 0, NULL, 0), 3);
	CHECK_INT(mp_split_windows_span(from, to, 6, true, -1, w, 8), -1);
	/* near the end of time the cap cannot overflow */
	CHECK_INT(mp_split_windows_span(MP_TIME_MAX - 10, MP_TIME_MAX, 1, true, cap, w, 8),
			  mp_split_windows(MP_TIME_MAX - 10, MP_TIME_MAX, 1, true, NULL, 0));
}

const UtTest windows_tests[] = {
	{"make_time_known", test_make_time_known},
	{"make_time_invalid", test_make_time_invalid},
	{"split_time", test_split_time},
	{"split_make_roundtrip", test_split_make_roundtrip},
	{"add_months_simple", test_add_months_simple},
	{"add_months_end_clamp", test_add_months_end_clamp},
	{"add_months_leap_years", test_add_months_leap_years},
	{"add_months_time_of_day", test_add_months_time_of_day},
	{"add_months_saturates", test_add_months_saturates},
	{"clamp_retention", test_clamp_retention},
	{"windows_14_months", test_windows_14_months},
	{"windows_36_months", test_windows_36_months},
	{"windows_month_end_chain", test_windows_month_end_chain},
	{"windows_exact_multiple", test_windows_exact_multiple},
	{"windows_empty_and_invalid", test_windows_empty_and_invalid},
	{"windows_small_buffer", test_windows_small_buffer},
	{"windows_whole_range", test_windows_whole_range},
	{"windows_alloc", test_windows_alloc},
	{"windows_property", test_windows_property},
	{"windows_reporting_service_flow", test_windows_reporting_service_flow},
	{"windows_span", test_windows_span},
	{NULL, NULL}
};
