/*-------------------------------------------------------------------------
 * ratebudget.c
 *		One MangoPay rate budget per (API base URL, client id), shared by
 *		every backend of the cluster.
 *
 * MangoPay counts the calls of a client id in four sliding windows (15 min,
 * 30 min, 1 h, 24 h) and answers 429 beyond their allowances.  Each
 * response tells what is left (X-RateLimit-Remaining) and when the oldest
 * counted call leaves each window (X-RateLimit-Reset).  Here that truth is
 * kept in shared memory, and every API request takes a call slot before it
 * is sent:
 *
 *  - remaining[w] goes down by one per slot taken, and is replaced by the
 *    headers of each response, less the calls still in flight (which the
 *    API may not have counted yet).  Responses can arrive out of order:
 *    one whose reset is earlier than the last one applied is older news and
 *    only lowers the count.
 *  - between responses, once a window's reset has passed, slots come back
 *    at the documented rate (limit / window length), the first at once, so
 *    a probe fetches fresh headers.
 *  - before any header is known, one call at a time goes out.
 *
 * A backend that finds no slot queues (a ticket, one entry per backend) and
 * its request waits a few ms in the HTTP engine's ordinary retry wait, so
 * curl keeps driving its other transfers and interrupts are served.  The
 * oldest ticket that could use a free slot gets it; a backend that was
 * served goes to the back of the queue for its next request, so backends
 * take turns: a backfill cannot starve a short query.  Batch backends
 * (pg_cron jobs, or mangopay_fdw.workload = batch) leave the server's
 * rate_reserve_pct of every window to interactive ones.
 *
 * Nothing here is a lock held across a request: a slot is a consumed call,
 * and in-flight counts are returned when the response (or an error, or the
 * end of the scan) releases the request, or by an exit callback when the
 * backend ends.  A queue entry whose backend stopped asking for a second is
 * skipped, and dropped once its process is gone.  After a crash the
 * postmaster reinitializes shared memory.
 *
 * Shared memory comes from shared_preload_libraries, or on PostgreSQL 17+
 * from the DSM registry; otherwise each backend goes on by itself as
 * before, with a NOTICE once.
 *
 * There is room for mangopay_fdw.max_budgets pairs (a server restart
 * changes it).  A pair is found through a compact array of key hashes.
 * When every entry is taken, the idle one used longest ago (no call in
 * flight, no backend queued) is given to the new pair, which starts again
 * from one probe; when none is idle, the call goes on without a shared
 * budget (the busy pairs keep theirs), counted in a row of
 * mangopay_fdw_rate_limits() with no api_url and no client id, and the
 * backend says so in a WARNING once.
 *-------------------------------------------------------------------------
 */
#include "ratebudget.h"

#include <signal.h>
#include <time.h>

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "catalog/pg_authid.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/timestamp.h"
#if PG_VERSION_NUM >= 170000
#include "storage/dsm_registry.h"
#include "utils/wait_event.h"
#endif

PG_FUNCTION_INFO_V1(mangopay_fdw_rate_limits);

#define MP_NWIN			4
#define MP_NWAITERS		256
#define MP_NMINUTES		60		/* per-minute call counts, for 1 h */
#define MP_NQUARTERS	96		/* per-15-minute call counts, for 24 h */
#define MP_STALE_US		1000000 /* a waiter silent this long is skipped */
#define MP_IDLE_US		2000000 /* an entry unused this long may be reused */

/* the documented windows and allowances (mangopay-api.md §2) */
static const int64 mp_win_secs[MP_NWIN] = {900, 1800, 3600, 86400};
static const int64 mp_win_limit[MP_NWIN] = {2300, 4500, 8800, 105600};

typedef struct MpBudget
{
	bool		in_use;
	char		base_url[256];
	char		client_id[128];
	bool		known[MP_NWIN];	/* headers seen for this window */
	int64		remaining[MP_NWIN];
	int64		reset[MP_NWIN]; /* Unix seconds */
	int64		limit[MP_NWIN];
	int64		granted[MP_NWIN];	/* slots refilled since reset passed */
	int			inflight;		/* slots taken, response not yet seen */
	int64		calls;			/* slots taken since startup */
	int64		waits;			/* times a backend queued */
	int64		too_long;		/* waits refused (beyond the deadline) */
	TimestampTz last_used;		/* last slot asked for: the oldest idle is reused */
	int32		minute_stamp[MP_NMINUTES];
	uint32		minute_calls[MP_NMINUTES];
	int32		quarter_stamp[MP_NQUARTERS];
	uint32		quarter_calls[MP_NQUARTERS];
} MpBudget;

typedef struct MpWaiter
{
	int			budget;			/* -1: free entry */
	int			pid;
	int			reserve_pct;	/* 0 for an interactive backend */
	uint64		ticket;
	TimestampTz polled;
} MpWaiter;

/*
 * The shared header; after it (MAXALIGN'ed) nbudgets key hashes (0: free
 * entry) and the nbudgets budgets.  Offsets, not pointers: a DSM segment
 * maps at a different address in each backend.
 */
typedef struct MpBudgetShared
{
	LWLock		lock;
	int			tranche;
	int			nbudgets;
	uint64		next_ticket;
	int64		unshared_calls; /* calls that found every budget busy */
	MpWaiter	w[MP_NWAITERS];
} MpBudgetShared;

#define HASHES_OFF		MAXALIGN(sizeof(MpBudgetShared))
#define BUDGETS_OFF(n)	(HASHES_OFF + MAXALIGN(sizeof(uint32) * (n)))
#define KEYHASH(i)		(((uint32 *) ((char *) shared + HASHES_OFF))[i])
#define BUDGET(i)		(&((MpBudget *) ((char *) shared + BUDGETS_OFF(shared->nbudgets)))[i])

enum
{
	MODE_UNKNOWN, MODE_SHARED, MODE_LOCAL, MODE_GONE
};

static MpBudgetShared *shared = NULL;
static int	mode = MODE_UNKNOWN;
static int *my_held = NULL;		/* per budget: this backend's calls in flight */
static int *my_queued = NULL;	/* per budget: this backend's queued requests */
static int	my_queued_total = 0;
static bool warned_unshared = false;

static int	mp_max_budgets = 1024;

static bool mp_budget_on = true;
static int	mp_workload = 0;

static const struct config_enum_entry workload_options[] = {
	{"auto", 0, false},
	{"interactive", 1, false},
	{"batch", 2, false},
	{NULL, 0, false}
};

#if PG_VERSION_NUM >= 150000
static shmem_request_hook_type prev_shmem_request_hook = NULL;
#endif
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

static Size
shared_size(void)
{
	return add_size(BUDGETS_OFF(mp_max_budgets), mul_size(sizeof(MpBudget), mp_max_budgets));
}

static void
init_shared(void *ptr)
{
	MpBudgetShared *s = (MpBudgetShared *) ptr;

	memset(s, 0, shared_size());
	s->nbudgets = mp_max_budgets;
	s->tranche = LWLockNewTrancheId();
	LWLockInitialize(&s->lock, s->tranche);
	for (int i = 0; i < MP_NWAITERS; i++)
		s->w[i].budget = -1;
}

#if PG_VERSION_NUM >= 150000
static void
mp_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(shared_size()));
}
#endif

static void
mp_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("mangopay_fdw rate budget", shared_size(), &found);
	if (!found)
		init_shared(shared);
	LWLockRelease(AddinShmemInitLock);
}

void
mp_budget_init(void)
{
	DefineCustomBoolVariable("mangopay_fdw.rate_budget",
							 "Share MangoPay's rate limit among all sessions of the cluster.",
							 "When off, this session sends requests without taking call slots "
							 "from the shared budget and only reacts to 429 answers.",
							 &mp_budget_on, true, PGC_SUSET, 0, NULL, NULL, NULL);
	DefineCustomEnumVariable("mangopay_fdw.workload",
							 "Whether this session's MangoPay calls are interactive or batch.",
							 "Batch sessions leave the server's rate_reserve_pct of each rate "
							 "window to interactive ones; auto means batch for pg_cron jobs.",
							 &mp_workload, 0, workload_options, PGC_USERSET, 0, NULL, NULL, NULL);
	/* loaded later (the DSM registry): the value when the segment is created */
	DefineCustomIntVariable("mangopay_fdw.max_budgets",
							"How many (api_url, client id) pairs the shared rate budget has room for.",
							"When all are taken, the idle one used longest ago is reused; when "
							"none is idle, calls go on without a shared budget.",
							&mp_max_budgets, 1024, 2, 65536,
							process_shared_preload_libraries_in_progress ? PGC_POSTMASTER : PGC_SIGHUP,
							0, NULL, NULL, NULL);
	if (!process_shared_preload_libraries_in_progress)
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mp_shmem_request;
#else
	RequestAddinShmemSpace(MAXALIGN(shared_size()));
#endif
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = mp_shmem_startup;
}

/* give back what this backend holds (exit callback: the transaction's
 * own cleanup may run later and must then find nothing to return) */
static void
detach(int code, Datum arg)
{
	if (mode != MODE_SHARED)
		return;
	LWLockAcquire(&shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < shared->nbudgets; i++)
	{
		BUDGET(i)->inflight = Max(0, BUDGET(i)->inflight - my_held[i]);
		my_held[i] = my_queued[i] = 0;
	}
	my_queued_total = 0;
	for (int i = 0; i < MP_NWAITERS; i++)
		if (shared->w[i].pid == MyProcPid)
			shared->w[i].budget = -1;
	LWLockRelease(&shared->lock);
	mode = MODE_GONE;
}

static bool
attach(void)
{
	if (mode == MODE_UNKNOWN)
	{
#if PG_VERSION_NUM >= 170000
		if (shared == NULL)
		{
			bool		found;

			shared = GetNamedDSMSegment("mangopay_fdw_rate_budget", shared_size(),
										init_shared, &found);
		}
#endif
		if (shared != NULL)
		{
			my_held = MemoryContextAllocZero(TopMemoryContext, sizeof(int) * shared->nbudgets);
			my_queued = MemoryContextAllocZero(TopMemoryContext, sizeof(int) * shared->nbudgets);
			LWLockRegisterTranche(shared->tranche, "mangopay_fdw");
			before_shmem_exit(detach, (Datum) 0);
			mode = MODE_SHARED;
		}
		else
		{
			mode = MODE_LOCAL;
			ereport(NOTICE,
					(errmsg("mangopay_fdw's rate budget is not shared: this session knows only its own MangoPay calls"),
					 errhint("Add mangopay_fdw to shared_preload_libraries and restart PostgreSQL (or use PostgreSQL 17 or later), so that all sessions share the client id's rate limit and wait for their turn instead of meeting 429 answers.")));
		}
	}
	return mode == MODE_SHARED;
}

static bool
is_batch(void)
{
	const char *app;

	if (mp_workload != 0)
		return mp_workload == 2;
	if (MyBackendType == B_BG_WORKER)
		return true;
	app = GetConfigOption("application_name", true, false);
	return app != NULL && strcmp(app, "pg_cron") == 0;
}

/* requests to the API itself (not to a report's download host) */
static bool
is_api_request(MpRequest *req)
{
	size_t		n = strlen(req->conn->base_url);

	return strncmp(req->url, req->conn->base_url, n) == 0 && req->url[n] == '/';
}

static uint32
key_hash(MpSettings *conn)
{
	uint32		h = 2166136261u;	/* FNV-1a over "base_url\0client_id" */

	for (const char *p = conn->base_url; *p; p++)
		h = (h ^ (unsigned char) *p) * 16777619u;
	h = h * 16777619u;
	for (const char *p = conn->client_id; *p; p++)
		h = (h ^ (unsigned char) *p) * 16777619u;
	return h | 1;				/* never 0: 0 marks a free entry */
}

/* no call in flight, none for MP_IDLE_US, and no live backend queued */
static bool
budget_idle(int bi, TimestampTz now_us)
{
	/* between two pages of a scan nothing is in flight for a moment */
	if (BUDGET(bi)->inflight > 0 || now_us - BUDGET(bi)->last_used < MP_IDLE_US)
		return false;
	for (int i = 0; i < MP_NWAITERS; i++)
	{
		MpWaiter   *w = &shared->w[i];

		if (w->budget != bi)
			continue;
		if (kill(w->pid, 0) != 0 && errno == ESRCH)
			w->budget = -1;
		else
			return false;
	}
	return true;
}

/* the budget of conn's pair; with add, a free or the oldest idle entry */
static int
find_budget(MpSettings *conn, bool add)
{
	uint32		h = key_hash(conn);
	int			free_slot = -1;
	int			oldest = -1;
	TimestampTz now_us = GetCurrentTimestamp();
	MpBudget   *b;

	for (int i = 0; i < shared->nbudgets; i++)
	{
		uint32		k = KEYHASH(i);

		if (k == 0)
		{
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (k != h)
			continue;
		b = BUDGET(i);
		if (strncmp(b->base_url, conn->base_url, sizeof(b->base_url) - 1) == 0 &&
			strncmp(b->client_id, conn->client_id, sizeof(b->client_id) - 1) == 0)
			return i;
	}
	if (!add)
		return -1;
	if (free_slot < 0)
	{
		/* full: the idle entry used longest ago; none idle: no room */
		for (int i = 0; i < shared->nbudgets; i++)
			if ((oldest < 0 || BUDGET(i)->last_used < BUDGET(oldest)->last_used) &&
				budget_idle(i, now_us))
				oldest = i;
		if (oldest < 0)
			return -1;
		free_slot = oldest;
	}
	b = BUDGET(free_slot);
	memset(b, 0, sizeof(MpBudget));
	b->in_use = true;
	strlcpy(b->base_url, conn->base_url, sizeof(b->base_url));
	strlcpy(b->client_id, conn->client_id, sizeof(b->client_id));
	for (int w = 0; w < MP_NWIN; w++)
		b->limit[w] = mp_win_limit[w];
	KEYHASH(free_slot) = h;
	return free_slot;
}

/* slots that come back after a window's reset, at the documented rate */
static void
refill(MpBudget *b, int64 now)
{
	for (int w = 0; w < MP_NWIN; w++)
	{
		int64		due;

		if (!b->known[w] || now < b->reset[w])
			continue;
		due = 1 + (now - b->reset[w]) * b->limit[w] / mp_win_secs[w];
		if (due > b->granted[w])
		{
			b->remaining[w] = Min(b->limit[w], b->remaining[w] + due - b->granted[w]);
			b->granted[w] = due;
		}
	}
}

/* slots a backend with this reserve may take now */
static int64
available(MpBudget *b, int reserve_pct, int64 now)
{
	bool		any = false;
	bool		stale = false;
	int64		a = PG_INT64_MAX;
	int64		raw = PG_INT64_MAX;

	for (int w = 0; w < MP_NWIN; w++)
	{
		if (!b->known[w])
			continue;
		any = true;
		raw = Min(raw, b->remaining[w]);
		a = Min(a, b->remaining[w] - (b->limit[w] * reserve_pct + 99) / 100);
		if (now >= b->reset[w])
			stale = true;
	}
	if (!any)
		return b->inflight == 0 ? 1 : 0;	/* nothing known: one probe */
	/* a batch backend may probe for fresher headers when nothing is out */
	if (a <= 0 && reserve_pct > 0 && raw > 0 && stale && b->inflight == 0)
		return 1;
	return a;
}

/* when this backend's class gets a slot, if nobody else takes one */
static int64
next_slot_at(MpBudget *b, int reserve_pct, int64 now)
{
	int64		t = now;

	for (int w = 0; w < MP_NWIN; w++)
		if (b->known[w] &&
			b->remaining[w] - (b->limit[w] * reserve_pct + 99) / 100 <= 0)
			t = Max(t, b->reset[w]);
	return t;
}

static void
count_call(MpBudget *b, int64 now)
{
	int32		m = (int32) (now / 60);
	int32		q = (int32) (now / 900);
	int			k = m % MP_NMINUTES;
	int			kq = q % MP_NQUARTERS;

	if (b->minute_stamp[k] != m)
	{
		b->minute_stamp[k] = m;
		b->minute_calls[k] = 0;
	}
	b->minute_calls[k]++;
	if (b->quarter_stamp[kq] != q)
	{
		b->quarter_stamp[kq] = q;
		b->quarter_calls[kq] = 0;
	}
	b->quarter_calls[kq]++;
	b->calls++;
}

/* calls in the last secs: by minute up to 1 h, by quarter hour beyond */
static int64
calls_in(MpBudget *b, int64 now, int64 secs)
{
	int32		m = (int32) (now / 60);
	int32		q = (int32) (now / 900);
	int64		n = 0;

	if (secs > MP_NMINUTES * 60)
	{
		for (int32 i = 0; i < secs / 900 && i < MP_NQUARTERS; i++)
		{
			int			k = (q - i) % MP_NQUARTERS;

			if (b->quarter_stamp[k] == q - i)
				n += b->quarter_calls[k];
		}
		return n;
	}
	for (int32 i = 0; i < secs / 60 && i < MP_NMINUTES; i++)
	{
		int			k = (m - i) % MP_NMINUTES;

		if (b->minute_stamp[k] == m - i)
			n += b->minute_calls[k];
	}
	return n;
}

/*
 * A wait for the shared budget longer than a few seconds is said once per
 * statement (NOTICE), as a 429's wait is: why the query is idle and until
 * when.  The reason is taken under the lock, the NOTICE given after.
 */
#define MP_BUDGET_NOTICE_US (3 * USECS_PER_SEC)

typedef struct WaitWhy
{
	bool		exhausted;		/* no call left in a window */
	int			window;			/* ... that window (index) */
	int64		remaining;
	int64		limit;
	int64		until;			/* Unix seconds of the next slot, 0 unknown */
	int			ahead;			/* sessions queued before this one */
	bool		probing;		/* no headers yet: one call at a time */
	bool		reserve;		/* a batch session kept out of the reserve */
	char		client_id[128];
} WaitWhy;

static TimestampTz wait_started = 0;

static void
wait_why(MpBudget *b, int me, int bi, int reserve, int64 now, WaitWhy *why)
{
	memset(why, 0, sizeof(*why));
	strlcpy(why->client_id, b->client_id, sizeof(why->client_id));
	why->reserve = reserve > 0;
	why->window = -1;
	for (int w = 0; w < MP_NWIN; w++)
		if (b->known[w] && b->remaining[w] - (b->limit[w] * reserve + 99) / 100 <= 0 &&
			(why->window < 0 || b->reset[w] > why->until))
		{
			why->exhausted = true;
			why->window = w;
			why->remaining = b->remaining[w];
			why->limit = b->limit[w];
			why->until = b->reset[w];
		}
	if (!why->exhausted)
	{
		bool		any = false;

		for (int w = 0; w < MP_NWIN; w++)
			any = any || b->known[w];
		why->probing = !any;
	}
	for (int i = 0; i < MP_NWAITERS; i++)
		if (shared->w[i].budget == bi && i != me &&
			(me < 0 || shared->w[i].ticket < shared->w[me].ticket))
			why->ahead++;
}

static void
wait_notice(MpRequest *req, const WaitWhy *why, TimestampTz now_us)
{
	static TimestampTz said_stmt = 0;
	TimestampTz stmt = GetCurrentStatementStartTimestamp();
	static TimestampTz wait_stmt = 0;
	static const char *const win_name[MP_NWIN] = {"15-minute", "30-minute", "1-hour", "24-hour"};

	if (wait_started == 0 || wait_stmt != stmt)
	{
		wait_started = now_us;	/* a wait of an earlier statement is over */
		wait_stmt = stmt;
	}
	if (now_us - wait_started < MP_BUDGET_NOTICE_US || said_stmt == stmt)
		return;
	said_stmt = stmt;
	if (why->exhausted)
		ereport(NOTICE,
				(errmsg("waiting for MangoPay's rate limit while reading \"%s\": until %s",
						req->what, timestamptz_to_str(time_t_to_timestamptz((pg_time_t) why->until))),
				 errdetail("The %s window of client \"%s\" has %lld of %lld calls left%s, counted over every session of this cluster; the window resets then.",
						   win_name[why->window], why->client_id, (long long) why->remaining,
						   (long long) why->limit,
						   why->reserve ? " beyond rate_reserve_pct, which is kept for interactive sessions" : ""),
				 errhint("The wait ends at report_timeout_s at the latest; mangopay_fdw_rate_limits() shows the budget.")));
	else
		ereport(NOTICE,
				(errmsg("waiting for a call slot of MangoPay's shared rate budget while reading \"%s\"",
						req->what),
				 errdetail("%s; %d other request(s) of client \"%s\" queued before this one.",
						   why->probing ? "Until MangoPay's rate-limit headers are known, one call at a time goes out" :
						   "The cluster's sessions take turns for the calls left",
						   why->ahead, why->client_id),
				 errhint("The wait ends at report_timeout_s at the latest; mangopay_fdw_rate_limits() shows the budget.")));
}

static void
drop_waiter(int budget)
{
	for (int i = 0; i < MP_NWAITERS; i++)
		if (shared->w[i].budget == budget && shared->w[i].pid == MyProcPid)
			shared->w[i].budget = -1;
}

MpBudgetResult
mp_budget_acquire(MpRequest *req, TimestampTz deadline, int64 *until)
{
	TimestampTz now_us;
	int64		now;
	int			reserve;
	int			bi;
	int			me = -1;
	MpBudget   *b;
	bool		ahead = false;
	MpBudgetResult result;
	WaitWhy		why;

	if (!mp_budget_on || !is_api_request(req) || !attach())
		return MP_BUDGET_GO;
	now_us = GetCurrentTimestamp();
	now = (int64) time(NULL);
	reserve = is_batch() ? req->conn->rate_reserve_pct : 0;

	LWLockAcquire(&shared->lock, LW_EXCLUSIVE);
	/* a request queued for an entry since given to another pair */
	if (req->budget_state == MP_BUDGET_QUEUED &&
		(KEYHASH(req->budget_slot) != key_hash(req->conn) ||
		 strcmp(BUDGET(req->budget_slot)->client_id, req->conn->client_id) != 0 ||
		 strcmp(BUDGET(req->budget_slot)->base_url, req->conn->base_url) != 0))
	{
		my_queued_total--;
		if (--my_queued[req->budget_slot] == 0)
			drop_waiter(req->budget_slot);
		req->budget_state = MP_BUDGET_NONE;
	}
	bi = find_budget(req->conn, true);
	if (bi < 0)
	{
		/* every budget busy: this call goes on without one (counted) */
		shared->unshared_calls++;
		LWLockRelease(&shared->lock);
		if (!warned_unshared)
		{
			warned_unshared = true;
			ereport(WARNING,
					(errmsg("mangopay_fdw's shared rate budgets are all in use: calls for client id \"%s\" go on without one",
							req->conn->client_id),
					 errdetail("All %d entries (mangopay_fdw.max_budgets) have calls in flight or sessions waiting.",
							   shared->nbudgets),
					 errhint("Raise mangopay_fdw.max_budgets and restart PostgreSQL; mangopay_fdw_rate_limits() counts these calls in a row without api_url.")));
		}
		return MP_BUDGET_GO;
	}
	b = BUDGET(bi);
	b->last_used = now_us;
	refill(b, now);
	for (int i = 0; i < MP_NWAITERS; i++)
		if (shared->w[i].budget == bi && shared->w[i].pid == MyProcPid)
			me = i;

	if (available(b, reserve, now) > 0)
	{
		/* the oldest fresh ticket that could use a slot goes first */
		for (int i = 0; i < MP_NWAITERS && !ahead; i++)
		{
			MpWaiter   *w = &shared->w[i];

			if (w->budget != bi || i == me ||
				(me >= 0 && w->ticket > shared->w[me].ticket))
				continue;
			if (now_us - w->polled > MP_STALE_US)
			{
				if (kill(w->pid, 0) != 0 && errno == ESRCH)
					w->budget = -1;
				continue;
			}
			if (available(b, w->reserve_pct, now) > 0)
				ahead = true;
		}
		if (!ahead)
		{
			for (int w = 0; w < MP_NWIN; w++)
				if (b->known[w])
					b->remaining[w]--;
			b->inflight++;
			count_call(b, now);
			if (me >= 0)
				shared->w[me].budget = -1;
			LWLockRelease(&shared->lock);
			wait_started = 0;
			my_held[bi]++;
			if (req->budget_state == MP_BUDGET_QUEUED)
			{
				my_queued[bi]--;
				my_queued_total--;
			}
			req->budget_state = MP_BUDGET_HELD;
			req->budget_slot = bi;
			return MP_BUDGET_GO;
		}
	}
	else if (next_slot_at(b, reserve, now) > now &&
			 time_t_to_timestamptz((pg_time_t) next_slot_at(b, reserve, now)) > deadline)
	{
		*until = next_slot_at(b, reserve, now);
		b->too_long++;
		if (req->budget_state == MP_BUDGET_QUEUED)
		{
			my_queued_total--;
			if (--my_queued[bi] == 0)
				drop_waiter(bi);
		}
		LWLockRelease(&shared->lock);
		req->budget_state = MP_BUDGET_NONE;
		return MP_BUDGET_TOO_LONG;
	}

	/* wait: take a ticket unless this backend has one */
	result = MP_BUDGET_WAIT;
	if (me < 0)
	{
		for (int i = 0; i < MP_NWAITERS && me < 0; i++)
			if (shared->w[i].budget < 0)
			{
				me = i;
				shared->w[i].budget = bi;
				shared->w[i].pid = MyProcPid;
				shared->w[i].ticket = shared->next_ticket++;
				b->waits++;
			}
	}
	if (me >= 0)
	{
		shared->w[me].reserve_pct = reserve;
		shared->w[me].polled = now_us;
	}
	wait_why(b, me, bi, reserve, now, &why);
	LWLockRelease(&shared->lock);
	wait_notice(req, &why, now_us);
	if (req->budget_state != MP_BUDGET_QUEUED)
	{
		req->budget_state = MP_BUDGET_QUEUED;
		req->budget_waits++;
		req->budget_slot = bi;
		my_queued[bi]++;
		my_queued_total++;
	}
	return result;
}

/* a response (or a final transport failure): the headers are the truth */
void
mp_budget_response(MpRequest *req)
{
	MpBudget   *b;
	int			n;

	if (req->budget_state != MP_BUDGET_HELD)
		return;
	req->budget_state = MP_BUDGET_NONE;
	if (mode != MODE_SHARED)
		return;
	n = Min(MP_NWIN, Min(req->rl_nremaining, req->rl_nreset));
	LWLockAcquire(&shared->lock, LW_EXCLUSIVE);
	b = BUDGET(req->budget_slot);
	b->inflight = Max(0, b->inflight - 1);
	my_held[req->budget_slot]--;
	for (int w = 0; w < n; w++)
	{
		int64		rem = Max(0, req->rl_remaining[w] - b->inflight);

		if (w < req->rl_nused && req->rl_used[w] + req->rl_remaining[w] > 0)
			b->limit[w] = req->rl_used[w] + req->rl_remaining[w];
		if (!b->known[w] || req->rl_reset[w] > b->reset[w])
		{
			b->remaining[w] = rem;
			b->reset[w] = req->rl_reset[w];
			b->granted[w] = 0;
			b->known[w] = true;
		}
		else if (req->rl_reset[w] == b->reset[w])
			b->remaining[w] = Min(b->remaining[w], rem);
	}
	LWLockRelease(&shared->lock);
}

/* the request is released without a response (ERROR, cancel, end of scan) */
void
mp_budget_forget(MpRequest *req)
{
	int			bi = req->budget_slot;
	int			st = req->budget_state;

	req->budget_state = MP_BUDGET_NONE;
	if (st == MP_BUDGET_NONE || mode != MODE_SHARED)
		return;
	LWLockAcquire(&shared->lock, LW_EXCLUSIVE);
	if (st == MP_BUDGET_HELD)
	{
		BUDGET(bi)->inflight = Max(0, BUDGET(bi)->inflight - 1);
		my_held[bi]--;
	}
	else
	{
		my_queued_total--;
		if (--my_queued[bi] == 0)
			drop_waiter(bi);
	}
	LWLockRelease(&shared->lock);
}

/* is one of this backend's requests waiting for a slot? */
bool
mp_budget_waiting(void)
{
	return my_queued_total > 0;
}

uint32
mp_budget_wait_event(void)
{
#if PG_VERSION_NUM >= 170000
	static uint32 ev = 0;

	if (ev == 0)
		ev = WaitEventExtensionNew("MangoPayRateBudget");
	return ev;
#else
	return PG_WAIT_EXTENSION;
#endif
}

/*
 * mangopay_fdw_rate_limits(): one row per client id the cluster has called,
 * the four windows as arrays (15 min, 30 min, 1 h, 24 h).
 */
Datum
mangopay_fdw_rate_limits(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		now = (int64) time(NULL);
	MpBudget   *copy;
	int		   *nwait;
	int			ncopy = 0;
	int64		unshared;
	bool		sees_all;
	List	   *mine = NIL;

#if PG_VERSION_NUM >= 150000
	InitMaterializedSRF(fcinfo, 0);
#else
	{
		TupleDesc	tupdesc;
		MemoryContext old;

		if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
			!(rsinfo->allowedModes & SFRM_Materialize))
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("set-valued function called in context that cannot accept a set")));
		if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
			elog(ERROR, "return type must be a row type");
		old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
		rsinfo->returnMode = SFRM_Materialize;
		rsinfo->setResult = tuplestore_begin_heap(true, false, work_mem);
		rsinfo->setDesc = CreateTupleDescCopy(tupdesc);
		MemoryContextSwitchTo(old);
	}
#endif
	if (!attach())
		return (Datum) 0;

	/*
	 * pg_monitor (and superusers) see every budget; another role the
	 * budgets of the pairs it can call through (mp_usable_pairs), as
	 * pg_user_mappings shows it only its own client_id.
	 */
	sees_all = has_privs_of_role(GetUserId(), ROLE_PG_MONITOR);
	if (!sees_all)
		mine = mp_usable_pairs(GetUserId());

	/* the entries in use, copied under the lock (their waiters counted) */
	copy = palloc(sizeof(MpBudget) * shared->nbudgets);
	nwait = palloc0(sizeof(int) * shared->nbudgets);
	LWLockAcquire(&shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < MP_NWAITERS; i++)
		if (shared->w[i].budget >= 0)
			nwait[shared->w[i].budget]++;
	for (int i = 0; i < shared->nbudgets; i++)
		if (KEYHASH(i) != 0)
		{
			refill(BUDGET(i), now);
			memcpy(&copy[ncopy], BUDGET(i), sizeof(MpBudget));
			nwait[ncopy++] = nwait[i];
		}
	unshared = shared->unshared_calls;
	LWLockRelease(&shared->lock);

	for (int i = 0; i < ncopy; i++)
	{
		MpBudget   *b = &copy[i];
		Datum		values[11];
		bool		nulls[11] = {0};
		Datum		lim[MP_NWIN],
					rem[MP_NWIN],
					rst[MP_NWIN],
					calls[MP_NWIN];
		bool		remnull[MP_NWIN],
					rstnull[MP_NWIN];
		int			dims[1] = {MP_NWIN};
		int			lbs[1] = {1};

		if (!b->in_use)
			continue;
		if (!sees_all)
		{
			ListCell   *lc;
			bool		visible = false;

			foreach(lc, mine)
			{
				MpPair	   *p = (MpPair *) lfirst(lc);

				if (strncmp(b->base_url, p->base_url, sizeof(b->base_url) - 1) == 0 &&
					strncmp(b->client_id, p->client_id, sizeof(b->client_id) - 1) == 0)
					visible = true;
			}
			if (!visible)
				continue;
		}
		for (int w = 0; w < MP_NWIN; w++)
		{
			lim[w] = Int64GetDatum(b->limit[w]);
			rem[w] = Int64GetDatum(Max(0, b->remaining[w]));
			rst[w] = TimestampTzGetDatum(time_t_to_timestamptz((pg_time_t) b->reset[w]));
			remnull[w] = rstnull[w] = !b->known[w];
			calls[w] = Int64GetDatum(calls_in(b, now, mp_win_secs[w]));
		}
		values[0] = CStringGetTextDatum(b->base_url);
		values[1] = CStringGetTextDatum(b->client_id);
		values[2] = PointerGetDatum(construct_array(lim, MP_NWIN, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[3] = PointerGetDatum(construct_md_array(rem, remnull, 1, dims, lbs, INT8OID, 8,
													   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[4] = PointerGetDatum(construct_md_array(rst, rstnull, 1, dims, lbs, TIMESTAMPTZOID, 8,
													   FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[5] = PointerGetDatum(construct_array(calls, MP_NWIN, INT8OID, 8, FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
		values[6] = Int32GetDatum(b->inflight);
		values[7] = Int32GetDatum(nwait[i]);
		values[8] = Int64GetDatum(b->calls);
		values[9] = Int64GetDatum(b->waits);
		values[10] = Int64GetDatum(b->too_long);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	if (unshared > 0 && sees_all)
	{
		/* calls that found every budget busy: no api_url, no client id */
		Datum		values[11] = {0};
		bool		nulls[11];

		for (int i = 0; i < 11; i++)
			nulls[i] = (i != 8);
		values[8] = Int64GetDatum(unshared);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
