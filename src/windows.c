/*-------------------------------------------------------------------------
 *
 * windows.c
 *	  Calendar-month arithmetic and report window splitting (see windows.h).
 *
 * Dates are converted with Howard Hinnant's days_from_civil/civil_from_days
 * algorithms (proleptic Gregorian calendar, exact for every year of the
 * supported range), so no libc time function, time zone or locale is
 * involved.
 *
 * src/windows.c
 *
 *-------------------------------------------------------------------------
 */
#include "windows.h"

#define SECS_PER_DAY	INT64_C(86400)

/*
 * floor_div
 *		a / b rounded towards minus infinity (b > 0).
 */
static int64_t
floor_div(int64_t a, int64_t b)
{
	int64_t		q = a / b;

	if ((a % b) < 0)
		q--;
	return q;
}

/*
 * days_from_civil
 *		Days since 1970-01-01 of a proleptic Gregorian date.
 */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= (m <= 2);
	era = floor_div(y, 400);
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * civil_from_days
 *		Inverse of days_from_civil.
 */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = floor_div(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/*
 * is_leap / days_in_month
 *		Gregorian leap years and month lengths.
 */
static bool
is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int64_t y, int m)
{
	static const int mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	if (m == 2 && is_leap(y))
		return 29;
	return mdays[m - 1];
}

/*
 * clamp_time
 *		Bring t into the supported range.
 */
static int64_t
clamp_time(int64_t t)
{
	if (t < MP_TIME_MIN)
		return MP_TIME_MIN;
	if (t > MP_TIME_MAX)
		return MP_TIME_MAX;
	return t;
}

/*
 * mp_make_time
 *		Unix time of a UTC date and time, validating every component.
 */
bool
mp_make_time(int year, int month, int day, int hour, int minute, int second,
			 int64_t *out)
{
	if (year < 1 || year > 9999 || month < 1 || month > 12 ||
		day < 1 || day > days_in_month(year, month) ||
		hour < 0 || hour > 23 || minute < 0 || minute > 59 ||
		second < 0 || second > 59)
		return false;
	*out = days_from_civil(year, month, day) * SECS_PER_DAY +
		hour * 3600 + minute * 60 + second;
	return true;
}

/*
 * mp_split_time
 *		UTC calendar date and time of a Unix time (clamped to the range).
 */
void
mp_split_time(int64_t t, MpCivilTime *out)
{
	int64_t		days;
	int64_t		secs;
	int64_t		y;

	t = clamp_time(t);
	days = floor_div(t, SECS_PER_DAY);
	secs = t - days * SECS_PER_DAY;
	civil_from_days(days, &y, &out->month, &out->day);
	out->year = (int) y;
	out->hour = (int) (secs / 3600);
	out->minute = (int) (secs / 60 % 60);
	out->second = (int) (secs % 60);
}

/*
 * mp_add_months
 *		Calendar-month addition with end-of-month clamping, saturating at
 *		MP_TIME_MIN/MP_TIME_MAX.
 */
int64_t
mp_add_months(int64_t t, int months)
{
	int64_t		days;
	int64_t		secs;
	int64_t		y;
	int			m;
	int			d;
	int64_t		mi;
	int			dim;

	t = clamp_time(t);
	days = floor_div(t, SECS_PER_DAY);
	secs = t - days * SECS_PER_DAY;
	civil_from_days(days, &y, &m, &d);

	/* month index counted from year 0, month 0 */
	mi = y * 12 + (m - 1) + months;
	y = floor_div(mi, 12);
	m = (int) (mi - y * 12) + 1;
	if (y < 1)
		return MP_TIME_MIN;
	if (y > 9999)
		return MP_TIME_MAX;
	dim = days_in_month(y, m);
	if (d > dim)
		d = dim;
	return days_from_civil(y, m, d) * SECS_PER_DAY + secs;
}

/*
 * mp_clamp_retention
 *		max(from, now - months + margin).
 */
int64_t
mp_clamp_retention(int64_t from, int64_t now, int months, int64_t margin)
{
	int64_t		horizon = mp_add_months(now, -months);

	if (margin > 0)
		horizon = clamp_time(horizon + (margin < MP_TIME_MAX ? margin : MP_TIME_MAX));
	return from > horizon ? from : horizon;
}

/*
 * mp_split_windows
 *		Split [from, to) into windows of at most max_months months each.
 */
int
mp_split_windows(int64_t from, int64_t to, int max_months, bool strict,
				 MpWindow *out, int max_out)
{
	return mp_split_windows_span(from, to, max_months, strict, 0, out, max_out);
}

/*
 * mp_split_windows_span
 *		mp_split_windows(), each window also at most max_secs long (> 0).
 */
int
mp_split_windows_span(int64_t from, int64_t to, int max_months, bool strict,
					  int64_t max_secs, MpWindow *out, int max_out)
{
	int64_t		s = from;
	int			n = 0;

	if (max_months < 1 || max_secs < 0 ||
		from < MP_TIME_MIN || from > MP_TIME_MAX ||
		to < MP_TIME_MIN || to > MP_TIME_MAX)
		return -1;
	if (out == NULL)
		max_out = 0;

	while (s < to)
	{
		int64_t		lim = mp_add_months(s, max_months);
		int64_t		e;

		if (strict)
			lim--;
		if (max_secs > 0 && s <= MP_TIME_MAX - max_secs && s + max_secs < lim)
			lim = s + max_secs;
		/* only at the saturated end of the range can lim fail to advance */
		e = (lim > s && lim < to) ? lim : to;
		if (n < max_out)
		{
			out[n].start = s;
			out[n].end = e;
		}
		n++;
		s = e;
	}
	return n;
}

/*
 * mp_split_windows_alloc
 *		mp_split_windows() into an array allocated with a.
 */
int
mp_split_windows_alloc(const MpAlloc *a, int64_t from, int64_t to,
					   int max_months, bool strict, MpWindow **out)
{
	return mp_split_windows_span_alloc(a, from, to, max_months, strict, 0, out);
}

/*
 * mp_split_windows_span_alloc
 *		mp_split_windows_span() into an array allocated with a.
 */
int
mp_split_windows_span_alloc(const MpAlloc *a, int64_t from, int64_t to,
							int max_months, bool strict, int64_t max_secs,
							MpWindow **out)
{
	int			n;

	*out = NULL;
	n = mp_split_windows_span(from, to, max_months, strict, max_secs, NULL, 0);
	if (n <= 0)
		return n;
	*out = a->alloc(a->ctx, sizeof(MpWindow) * (size_t) n);
	if (*out == NULL)
		return -2;
	return mp_split_windows_span(from, to, max_months, strict, max_secs, *out, n);
}
