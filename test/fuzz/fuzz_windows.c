/*-------------------------------------------------------------------------
 *
 * fuzz_windows.c
 *	  libFuzzer target for calendar arithmetic and window splitting
 *	  (src/windows.c).
 *
 * The input gives two times, a month count, a month limit and the strict
 * flag.  Checked properties:
 *	- mp_split_time/mp_make_time round-trip every time in range;
 *	- mp_add_months keeps the time of day, lands in the right month, never
 *	  moves the day forward, and only clamps when the month is too short;
 *	- mp_split_windows covers [from, to) in order without gaps or overlaps,
 *	  every window within the limit and all but the last as long as allowed,
 *	  and a too-small buffer gets a prefix of the same windows.
 * Any violation aborts, which libFuzzer reports as a crash.
 *
 * test/fuzz/fuzz_windows.c
 *
 *-------------------------------------------------------------------------
 */
#include "windows.h"

#include <stdlib.h>
#include <string.h>

static int64_t
get_i64(const uint8_t *p)
{
	uint64_t	v = 0;
	int			i;

	for (i = 0; i < 8; i++)
		v |= (uint64_t) p[i] << (8 * i);
	return (int64_t) v;
}

/* Map any 64-bit value onto the supported range, biased to nearby years */
static int64_t
to_time(int64_t raw, bool wide)
{
	uint64_t	u = (uint64_t) raw;

	if (wide)
		return MP_TIME_MIN + (int64_t) (u % (uint64_t) (MP_TIME_MAX - MP_TIME_MIN + 1));
	/* 1960 .. 2100 */
	return INT64_C(-315619200) + (int64_t) (u % UINT64_C(4417977600));
}

static void
check_time(int64_t t)
{
	MpCivilTime c;
	int64_t		back;

	mp_split_time(t, &c);
	if (!mp_make_time(c.year, c.month, c.day, c.hour, c.minute, c.second, &back) ||
		back != t)
		abort();
}

static void
check_add_months(int64_t t, int months)
{
	MpCivilTime a;
	MpCivilTime b;
	int64_t		r = mp_add_months(t, months);
	int64_t		mi;
	int64_t		first;

	mp_split_time(t, &a);
	mp_split_time(r, &b);
	mi = (int64_t) a.year * 12 + (a.month - 1) + months;
	if (mi < 12 || mi >= (int64_t) 10000 * 12)
	{
		/* saturated */
		if (r != MP_TIME_MIN && r != MP_TIME_MAX)
			abort();
		return;
	}
	if (b.year != mi / 12 || b.month != mi % 12 + 1)
		abort();
	if (b.hour != a.hour || b.minute != a.minute || b.second != a.second)
		abort();
	if (b.day > a.day)
		abort();
	if (b.day < a.day)
	{
		/* clamped: must be the last day of the month */
		if (mp_make_time(b.year, b.month, b.day + 1, 0, 0, 0, &first))
			abort();
	}
	/* monotonic in the month count */
	if (months < 1000 && mp_add_months(t, months + 1) <= r && r != MP_TIME_MAX)
		abort();
}

static void
check_split(int64_t from, int64_t to, int months, bool strict)
{
	MpWindow	w[64];
	MpWindow	few[3];
	int			n = mp_split_windows(from, to, months, strict, w, 64);
	int			n3;
	int			i;

	if (from >= to)
	{
		if (n != 0)
			abort();
		return;
	}
	if (n < 1)
		abort();
	n3 = mp_split_windows(from, to, months, strict, few, 3);
	if (n3 != n)
		abort();
	for (i = 0; i < n && i < 3; i++)
		if (few[i].start != w[i].start || few[i].end != w[i].end)
			abort();
	if (n > 64)
		return;					/* too many to check here */
	if (w[0].start != from || w[n - 1].end != to)
		abort();
	for (i = 0; i < n; i++)
	{
		int64_t		lim = mp_add_months(w[i].start, months) - (strict ? 1 : 0);

		if (w[i].start >= w[i].end || w[i].end > lim)
			abort();
		if (i > 0 && w[i].start != w[i - 1].end)
			abort();
		if (i < n - 1 && w[i].end != lim)
			abort();
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int64_t		a;
	int64_t		b;
	int			months;
	int			limit;
	bool		strict;
	bool		wide;

	if (size < 20)
		return 0;
	wide = data[18] & 2;
	a = to_time(get_i64(data), wide);
	b = to_time(get_i64(data + 8), wide);
	months = (int) (int16_t) (data[16] | data[17] << 8);
	limit = 1 + data[18] % 48;
	strict = data[19] & 1;

	check_time(a);
	check_time(b);
	check_add_months(a, months);
	check_add_months(b, -months);
	if (!wide || (data[19] & 2))
	{
		/* keep the window count bounded: to - from under ~40 years */
		if (wide && b - a > INT64_C(40) * 366 * 86400)
			b = a + (b - a) % (INT64_C(40) * 366 * 86400);
		check_split(a, b, limit, strict);
	}
	if (mp_split_windows(a, b, 0, strict, NULL, 0) != -1)
		abort();
	return 0;
}
