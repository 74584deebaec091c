/*
 * test/clockshift.c — an LD_PRELOAD library that moves the wall clock by
 * MP_CLOCK_OFFSET seconds (test/timeshift.sh builds and uses it).
 *
 * Only what reads the wall clock moves: clock_gettime(CLOCK_REALTIME*),
 * gettimeofday() and time(). Monotonic clocks, timers, sleeps and waits are
 * the real ones, so statement_timeout, pg_sleep(), query cancel and curl's
 * timeouts behave as without it (libfaketime's wrappers of epoll_wait and
 * the like keep a waiting backend from seeing its statement_timeout).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn) (clockid_t, struct timespec *);

static clock_gettime_fn real_clock_gettime;
static time_t offset;

static void
setup(void)
{
	/* benign race: every thread computes the same values */
	if (real_clock_gettime == NULL)
	{
		const char *s = getenv("MP_CLOCK_OFFSET");

		offset = s ? (time_t) strtoll(s, NULL, 10) : 0;
		real_clock_gettime = (clock_gettime_fn) dlsym(RTLD_NEXT, "clock_gettime");
	}
}

int
clock_gettime(clockid_t clk, struct timespec *ts)
{
	int			rc;

	setup();
	rc = real_clock_gettime(clk, ts);
	if (rc == 0 && (clk == CLOCK_REALTIME || clk == CLOCK_REALTIME_COARSE))
		ts->tv_sec += offset;
	return rc;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void) tz;
	setup();
	if (real_clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec + offset;
	tv->tv_usec = ts.tv_nsec / 1000;
	return 0;
}

time_t
time(time_t *t)
{
	struct timespec ts;
	time_t		v;

	setup();
	real_clock_gettime(CLOCK_REALTIME, &ts);
	v = ts.tv_sec + offset;
	if (t)
		*t = v;
	return v;
}
