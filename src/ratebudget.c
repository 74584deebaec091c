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
 *-------------------------------------------------------------------------
 */
#include "ratebudget.h"

#include <signal.h>
#include <time.h>

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
#define MP_NBUDGETS		16		/* distinct (api_url, client_id) pairs */
#define MP_NWAITERS		256
#define MP_NMINUTES		1440	/* per-minute call counts, for 24 h */
#define MP_STALE_US		1000000 /* a waiter silent this long is skipped */

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
	int32		minute_stamp[MP_NMINUTES];
	uint32		minute_calls[MP_NMINUTES];
} MpBudget;

typedef struct MpWaiter
{
	int			budget;			/* -1: free entry */
	int			pid;
	int			reserve_pct;	/* 0 for an interactive backend */
	uint64		ticket;
	TimestampTz polled;
} MpWaiter;

typedef struct MpBudgetShared
{
	LWLock		lock;
	int			tranche;
	uint64		next_ticket;
	MpBudget	b[MP_NBUDGETS];
	MpWaiter	w[MP_NWAITERS];
} MpBudgetShared;

enum
{
	MODE_UNKNOWN, MODE_SHARED, MODE_LOCAL, MODE_GONE
};

static MpBudgetShared *shared = NULL;
static int	mode = MODE_UNKNOWN;
static int	my_held[MP_NBUDGETS];
static int	my_queued[MP_NBUDGETS];

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

static void
init_shared(void *ptr)
{
	MpBudgetShared *s = (MpBudgetShared *) ptr;

	memset(s, 0, sizeof(MpBudgetShared));
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
	RequestAddinShmemSpace(MAXALIGN(sizeof(MpBudgetShared)));
}
#endif

static void
mp_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	shared = ShmemInitStruct("mangopay_fdw rate budget", sizeof(MpBudgetShared), &found);
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
	if (!process_shared_preload_libraries_in_progress)
		return;
#if PG_VERSION_NUM >= 150000
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = mp_shmem_request;
#else
	RequestAddinShmemSpace(MAXALIGN(sizeof(MpBudgetShared)));
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
	for (int i = 0; i < MP_NBUDGETS; i++)
	{
		shared->b[i].inflight = Max(0, shared->b[i].inflight - my_held[i]);
		my_held[i] = my_queued[i] = 0;
	}
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

			shared = GetNamedDSMSegment("mangopay_fdw_rate_budget", sizeof(MpBudgetShared),
										init_shared, &found);
		}
#endif
		if (shared != NULL)
		{
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

static int
find_budget(MpSettings *conn, bool add)
{
	int			free_slot = -1;

	for (int i = 0; i < MP_NBUDGETS; i++)
	{
		MpBudget   *b = &shared->b[i];

		if (!b->in_use)
		{
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (strncmp(b->base_url, conn->base_url, sizeof(b->base_url) - 1) == 0 &&
			strncmp(b->client_id, conn->client_id, sizeof(b->client_id) - 1) == 0)
			return i;
	}
	if (!add || free_slot < 0)
		return -1;
	{
		MpBudget   *b = &shared->b[free_slot];

		memset(b, 0, sizeof(MpBudget));
		b->in_use = true;
		strlcpy(b->base_url, conn->base_url, sizeof(b->base_url));
		strlcpy(b->client_id, conn->client_id, sizeof(b->client_id));
		for (int w = 0; w < MP_NWIN; w++)
			b->limit[w] = mp_win_limit[w];
	}
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
	int			k = m % MP_NMINUTES;

	if (b->minute_stamp[k] != m)
	{
		b->minute_stamp[k] = m;
		b->minute_calls[k] = 0;
	}
	b->minute_calls[k]++;
	b->calls++;
}

static int64
calls_in(MpBudget *b, int64 now, int64 secs)
{
	int32		m = (int32) (now / 60);
	int64		n = 0;

	for (int32 i = 0; i < secs / 60 && i < MP_NMINUTES; i++)
	{
		int			k = (m - i) % MP_NMINUTES;

		if (b->minute_stamp[k] == m - i)
			n += b->minute_calls[k];
	}
	return n;
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

	if (!mp_budget_on || !is_api_request(req) || !attach())
		return MP_BUDGET_GO;
	now_us = GetCurrentTimestamp();
	now = (int64) time(NULL);
	reserve = is_batch() ? req->conn->rate_reserve_pct : 0;

	LWLockAcquire(&shared->lock, LW_EXCLUSIVE);
	bi = find_budget(req->conn, true);
	if (bi < 0)
	{
		LWLockRelease(&shared->lock);
		return MP_BUDGET_GO;	/* more client ids than slots: on our own */
	}
	b = &shared->b[bi];
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
			my_held[bi]++;
			if (req->budget_state == MP_BUDGET_QUEUED)
				my_queued[bi]--;
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
		if (req->budget_state == MP_BUDGET_QUEUED && --my_queued[bi] == 0)
			drop_waiter(bi);
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
	LWLockRelease(&shared->lock);
	if (req->budget_state != MP_BUDGET_QUEUED)
	{
		req->budget_state = MP_BUDGET_QUEUED;
		req->budget_slot = bi;
		my_queued[bi]++;
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
	b = &shared->b[req->budget_slot];
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
		shared->b[bi].inflight = Max(0, shared->b[bi].inflight - 1);
		my_held[bi]--;
	}
	else if (--my_queued[bi] == 0)
		drop_waiter(bi);
	LWLockRelease(&shared->lock);
}

/* is one of this backend's requests waiting for a slot? */
bool
mp_budget_waiting(void)
{
	for (int i = 0; i < MP_NBUDGETS; i++)
		if (my_queued[i] > 0)
			return true;
	return false;
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
	int			nwait[MP_NBUDGETS] = {0};
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

	copy = palloc(sizeof(MpBudget) * MP_NBUDGETS);
	LWLockAcquire(&shared->lock, LW_EXCLUSIVE);
	for (int i = 0; i < MP_NBUDGETS; i++)
		if (shared->b[i].in_use)
			refill(&shared->b[i], now);
	memcpy(copy, shared->b, sizeof(MpBudget) * MP_NBUDGETS);
	for (int i = 0; i < MP_NWAITERS; i++)
		if (shared->w[i].budget >= 0)
			nwait[shared->w[i].budget]++;
	LWLockRelease(&shared->lock);

	for (int i = 0; i < MP_NBUDGETS; i++)
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
	return (Datum) 0;
}
