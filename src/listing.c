/*-------------------------------------------------------------------------
 * listing.c
 *		The list source: paginated GET endpoints and single-object GETs,
 *		one JSON object per row.
 *
 * Paging is lazy: page 1 first; once X-Number-Of-Pages is known, up to
 * max_concurrency further pages are kept in flight ahead of the executor,
 * but never more than a pushed-down LIMIT needs, so "LIMIT 5" costs one
 * request.  Without the header, pages are read one after another until a
 * short page or no Link rel="next".  Only the current page's JSON is held.
 *
 * id = / IN / = ANY become single-object GETs (max_concurrency at a time,
 * at most max_lookups per scan); a 404 there is simply no row.  Key
 * columns (client_wallet_transactions' funds_type, currency) become path
 * segments; when the WHERE clause gives none, the parents are listed first.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "access/sysattr.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/nodeFuncs.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

#define MP_MAX_WINDOW 64
#define MP_MAX_KEYS 2

typedef struct Part
{
	char	   *keyvals[MP_MAX_KEYS];
} Part;

struct MpListScan
{
	MpScanBase	b;				/* relation, plan, conn, maps, context */

	bool		started;
	bool		no_rows;		/* the WHERE clause excludes every row */

	/* the evaluated request */
	char	   *query;			/* filters, dates, Sort (URL-encoded) */
	int			per_page;
	int64		pages_needed;	/* from the LIMIT hint, or -1 */

	/* single-object mode */
	bool		by_id;
	List	   *missing;		/* by id: the ids the API answered 404 for */
	char	  **ids;
	int			nids;
	int			id_started;
	int			id_consumed;
	MpRequest **id_reqs;

	/*
	 * Objects already read by id, kept across rescans: a join that names
	 * the same id again (a parameterized scan, rescanned per outer row)
	 * costs no second GET.  Bounded by work_mem; max_lookups bounds the
	 * GETs of the whole scan, rescans included.
	 */
	HTAB	   *id_cache;
	MemoryContext cache_cxt;
	Size		cache_bytes;
	int			lookups_total;
	int64		n_cache_hits;
	bool		json_view;		/* a report table's row read as an API object */
	cJSON	   *fixed;			/* the report's fixed filters, checked by id */

	/* partitions (key column values) */
	Part	   *parts;
	int			nparts;
	int			part_idx;

	/* paging within the current partition */
	int64		total_pages;	/* -1 while unknown */
	int64		next_page;		/* the page the executor reads next */
	int64		last_requested;
	MpRequest  *window[MP_MAX_WINDOW];	/* in flight, indexed page % window */
	bool		part_done;

	/* the page being read */
	cJSON	   *cur;
	cJSON	   *cur_it;			/* the next element of cur to return */
	int			cur_idx;
	int			cur_n;

	/* EXPLAIN ANALYZE */
	int64		n_requests;
	int64		n_pages;
	int64		n_rows;
	int64		n_notfound;
	char	   *first_query;
};

/* ------------------------------------------------------------------------
 * the request from the evaluated plan
 * ------------------------------------------------------------------------ */
static void
append_param(StringInfo q, const char *name, const char *value)
{
	appendStringInfo(q, "%s%s=%s", q->len ? "&" : "", name, value);
}

/* comma-separated, each value escaped (the comma itself is the separator) */
static char *
join_escaped(List *vals)
{
	StringInfoData b;
	ListCell   *lc;

	initStringInfo(&b);
	foreach(lc, vals)
		appendStringInfo(&b, "%s%s", b.len ? "," : "", mp_url_escape(lfirst(lc)));
	return b.data;
}

/*
 * The query string of a list request (filters, date bounds, Sort), without
 * paging.  *filter_dropped: a value the API would refuse was left to the
 * local check, so the API returns more rows than the WHERE clause keeps.
 */
char *
mp_list_query(const MpResource *res, MpEval *ev, int sort_dir, bool *filter_dropped)
{
	StringInfoData q;

	initStringInfo(&q);
	*filter_dropped = false;
	for (int i = 0; i < res->ncols; i++)
	{
		if (!ev->vals_set[i] || ev->vals[i] == NIL || res->cols[i].filter == NULL)
			continue;
		/*
		 * An undocumented value would get a 400, and A,B is documented only
		 * for some filters (spec §2): leave those to the local check.
		 */
		if (mp_enum_documented(&res->cols[i], ev->vals[i]) &&
			(list_length(ev->vals[i]) == 1 || (res->cols[i].flags & MP_COL_MULTI)))
			append_param(&q, res->cols[i].filter, join_escaped(ev->vals[i]));
		else
			*filter_dropped = true;
	}
	if (res->sort_field)
	{
		int64		after = 0;
		bool		has_after = false;

		if (ev->have_lo)
		{
			/* widened by one second: the API's boundary semantics are unknown */
			after = mp_timestamptz_to_unix_floor(ev->lo) - 1;
			has_after = true;
		}
		if (res->max_history_days > 0)
		{
			/* older than the API's history is refused with a 400 */
			int64		oldest = mp_list_history_floor(res);

			if (!has_after || after < oldest)
				after = oldest, has_after = true;
		}
		if (has_after)
			append_param(&q, "AfterDate", psprintf(INT64_FORMAT, after));
		if (ev->have_hi)
			append_param(&q, "BeforeDate",
						 psprintf(INT64_FORMAT, mp_timestamptz_to_unix_ceil(ev->hi) + 1));
		/*
		 * Always an explicit order, oldest first unless the query asks for
		 * the newest: with a newest-first default, objects created while a
		 * scan pages would shift every later page (rows read twice or never).
		 */
		append_param(&q, "Sort", psprintf("%s:%s", res->sort_field,
										  sort_dir < 0 ? "DESC" : "ASC"));
	}
	return q.data;
}

/*
 * The oldest date a list with a history limit (events: 45 days) may be
 * asked for, a minute inside the limit (the API's clock reads later).
 */
int64
mp_list_history_floor(const MpResource *res)
{
	return (int64) time(NULL) - (int64) res->max_history_days * 86400 + 60;
}

/*
 * use_remote_estimate: how many rows the list request of these values
 * returns, from X-Number-Of-Items of one per_page=1 request (the API
 * counts for free what paging would fetch); -1 when it does not say.
 */
int64
mp_list_remote_count(MpConn *conn, const MpResource *res, MpEval *ev, const char *relname)
{
	bool		dropped;
	char	   *q = mp_list_query(res, ev, 0, &dropped);
	char	   *pq = psprintf("%s?page=1&per_page=1%s%s", res->list_path, *q ? "&" : "", q);
	MpRequest  *r = mp_request_new(conn, relname, "GET", mp_api_url(conn, pq, true));
	int64		n;

	r->log_path = pq;
	mp_request_wait(r);
	if (!mp_request_ok(r))
		mp_report_request_failure(r);
	n = r->hdr_items;
	mp_request_release(r);
	return n;
}

static void expand_parts(MpListScan *s, MpEval *ev, int nkeys);
static int	cached_count(MpListScan *s, List *ids);
static void lookups_exceeded(MpListScan *s, int more) pg_attribute_noreturn();
static void start_part(MpListScan *s);

/*
 * Evaluate the pushed expressions (Consts, Params, stable functions) and
 * build the request: once per scan and again after each rescan.
 */
static void
evaluate(MpListScan *s)
{
	const MpResource *res = s->b.res;
	MpEval	   *ev;
	bool		filter_dropped = false;
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);

	ev = mp_plan_evaluate(s->b.plan, s->b.exprstates, s->b.node->ss.ps.ps_ExprContext);
	s->no_rows = ev->no_rows;
	/* a range that ends before the API's history (events: 45 days) has no rows */
	if (res->max_history_days > 0 && ev->have_hi && !ev->have_ids &&
		mp_timestamptz_to_unix_ceil(ev->hi) < mp_list_history_floor(res))
		s->no_rows = true;

	/* single-object GETs */
	s->by_id = ev->have_ids;
	if (ev->have_ids)
	{
		int			to_fetch;

		s->nids = list_length(ev->ids);
		to_fetch = s->nids - cached_count(s, ev->ids);
		if (to_fetch > s->b.conn->max_lookups - s->lookups_total)
			lookups_exceeded(s, to_fetch);
		s->ids = palloc(sizeof(char *) * Max(1, s->nids));
		s->id_reqs = palloc0(sizeof(MpRequest *) * Max(1, s->nids));
		for (int i = 0; i < s->nids; i++)
			s->ids[i] = list_nth(ev->ids, i);
	}
	else if (res->list_path == NULL && !s->no_rows)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("a query on \"%s\" must give the ids to fetch", RelationGetRelationName(s->b.rel)),
				 errdetail("MangoPay has no endpoint that lists %ss; each is read by id.", res->object_name),
				 errhint("Add WHERE id = '...' or id IN (...), or join the table that names the ids on id (for example disputes d JOIN repudiations r ON r.id = d.repudiation_id).")));

	/* the list request: filters, date bounds, Sort */
	s->query = mp_list_query(res, ev, s->b.plan->sort_dir, &filter_dropped);
	s->per_page = s->b.conn->page_size;
	s->pages_needed = -1;
	/* a LIMIT helps only if the API filters as the WHERE clause does */
	if (s->b.plan->limit_hint > 0 && !filter_dropped)
	{
		if (s->b.plan->limit_hint < s->per_page)
			s->per_page = (int) s->b.plan->limit_hint;
		s->pages_needed = (s->b.plan->limit_hint + s->per_page - 1) / s->per_page;
	}

	start_part(s);
	s->part_idx = 0;
	if (!s->no_rows && !s->by_id)
		expand_parts(s, ev, mp_resource_key_count(res));
	MemoryContextSwitchTo(old);
	s->started = true;
}

/* the path of one partition's list endpoint */
static char *
part_path(MpListScan *s, Part *p)
{
	StringInfoData b;

	initStringInfo(&b);
	for (const char *c = s->b.res->list_path; *c; c++)
	{
		if (c[0] == '{' && c[1] >= '0' && c[1] <= '9' && c[2] == '}')
		{
			appendStringInfoString(&b, mp_url_escape(p->keyvals[c[1] - '0']));
			c += 2;
		}
		else
			appendStringInfoChar(&b, *c);
	}
	return b.data;
}

static MpRequest *
page_request(MpListScan *s, const char *path, int64 page, int per_page, const char *query)
{
	char	   *pq = psprintf("%s?page=" INT64_FORMAT "&per_page=%d%s%s", path, page, per_page,
							  query && *query ? "&" : "", query ? query : "");
	MpRequest  *r = mp_request_new(s->b.conn, RelationGetRelationName(s->b.rel), "GET",
								   mp_api_url(s->b.conn, pq, true));

	r->log_path = pq;
	if (s->first_query == NULL)
		s->first_query = pq;
	return r;
}

/* parse a finished list page; errors name the resource and the request */
static cJSON *
parse_page(MpListScan *s, MpRequest *r)
{
	cJSON	   *j;

	s->n_requests += r->attempts;
	if (!mp_request_ok(r))
		mp_report_request_failure(r);
	j = mp_json_body(r, r->buf, r->len);
	if (j == NULL)
		mp_error_json_shape(r, "the body is not valid JSON (or nests too deeply)");
	if (!cJSON_IsArray(j))
	{
		cJSON_Delete(j);
		mp_error_json_shape(r, "a list endpoint answered with something other than a JSON array");
	}
	for (cJSON *it = j->child; it; it = it->next)
		if (!cJSON_IsObject(it))
		{
			cJSON_Delete(j);
			mp_error_json_shape(r, "an element of the list is not a JSON object");
		}
	s->n_pages++;
	return j;
}

/*
 * The partitions to read: the cartesian product of the key values the
 * WHERE clause gave, or, for keys it left open, the parents listed at
 * enumerate_path (e.g. every client wallet).
 */
static void
expand_parts(MpListScan *s, MpEval *ev, int nkeys)
{
	if (nkeys == 0)
	{
		s->parts = palloc0(sizeof(Part));
		s->nparts = 1;
		return;
	}
	if (ev->keys_set[0] && (nkeys < 2 || ev->keys_set[1]))
	{
		int			n0 = list_length(ev->keys[0]);
		int			n1 = nkeys > 1 ? list_length(ev->keys[1]) : 1;

		s->parts = palloc0(sizeof(Part) * n0 * n1);
		for (int i = 0; i < n0; i++)
			for (int k = 0; k < n1; k++)
			{
				Part	   *p = &s->parts[s->nparts++];

				p->keyvals[0] = list_nth(ev->keys[0], i);
				if (nkeys > 1)
					p->keyvals[1] = list_nth(ev->keys[1], k);
			}
		return;
	}
	else
	{
		/* list the parents, keep those matching the keys that were given */
		int64		page = 1;
		int64		total = -1;
		int			cap = 16;
		const char *fields[MP_MAX_KEYS];
		int			f = 0;

		for (int i = 0; i < s->b.res->ncols && f < MP_MAX_KEYS; i++)
			if (s->b.res->cols[i].flags & MP_COL_KEY)
				fields[f++] = s->b.res->cols[i].field;
		s->parts = palloc0(sizeof(Part) * cap);
		for (;;)
		{
			MpRequest  *r = page_request(s, s->b.res->enumerate_path, page, 100, NULL);
			cJSON	   *j;
			int			n = 0;

			mp_request_wait(r);
			j = parse_page(s, r);
			total = r->hdr_pages;
			for (cJSON *it = j->child; it; it = it->next, n++)
			{
				Part		p;
				bool		keep = true;

				for (int k = 0; k < nkeys; k++)
				{
					cJSON	   *v = cJSON_GetObjectItemCaseSensitive(it, fields[k]);

					if (!cJSON_IsString(v))
					{
						keep = false;
						break;
					}
					p.keyvals[k] = pstrdup(v->valuestring);
					if (ev->keys_set[k])
					{
						ListCell   *lc;
						bool		found = false;

						foreach(lc, ev->keys[k])
							if (strcmp(lfirst(lc), p.keyvals[k]) == 0)
								found = true;
						keep = keep && found;
					}
				}
				if (!keep)
					continue;
				if (s->nparts == cap)
				{
					cap *= 2;
					s->parts = repalloc(s->parts, sizeof(Part) * cap);
				}
				s->parts[s->nparts++] = p;
			}
			cJSON_Delete(j);
			mp_request_release(r);
			if ((total >= 0 && page >= total) || (total < 0 && n < 100) || n == 0)
				break;
			page++;
		}
	}
}

static void
free_cur(MpListScan *s)
{
	if (s->cur)
	{
		cJSON_Delete(s->cur);
		s->cur = NULL;
	}
	s->cur_it = NULL;
	s->cur_idx = s->cur_n = 0;
}

static void
cur_cb(void *arg)
{
	free_cur((MpListScan *) arg);
}

static void
start_part(MpListScan *s)
{
	s->total_pages = -1;
	s->next_page = 1;
	s->last_requested = 0;
	s->part_done = false;
	memset(s->window, 0, sizeof(s->window));
}

/* keep up to max_concurrency pages in flight ahead of the reader */
static void
prefetch(MpListScan *s, const char *path)
{
	int			window = Min(s->b.conn->max_concurrency, MP_MAX_WINDOW);
	int64		last = s->next_page + window - 1;

	if (s->total_pages < 0)
		return;					/* unknown length: one page at a time */
	last = Min(last, s->total_pages);
	if (s->pages_needed > 0 && s->next_page <= s->pages_needed)
		last = Min(last, s->pages_needed);
	for (int64 p = Max(s->last_requested + 1, s->next_page); p <= last; p++)
	{
		MpRequest  *r = page_request(s, path, p, s->per_page, s->query);

		mp_request_start(r);
		s->window[p % MP_MAX_WINDOW] = r;
		s->last_requested = p;
	}
}

/* read the next non-empty page into s->cur; false at the end */
static bool
next_page(MpListScan *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);

	for (;;)
	{
		Part	   *part;
		char	   *path;
		MpRequest  *r;
		cJSON	   *j;
		int			n;

		if (s->part_done)
		{
			if (++s->part_idx >= s->nparts)
			{
				MemoryContextSwitchTo(old);
				return false;
			}
			start_part(s);
		}
		part = &s->parts[s->part_idx];
		path = part_path(s, part);
		if (s->total_pages >= 0 && s->next_page > s->total_pages)
		{
			s->part_done = true;
			continue;
		}
		r = s->window[s->next_page % MP_MAX_WINDOW];
		if (r == NULL || s->last_requested < s->next_page)
		{
			r = page_request(s, path, s->next_page, s->per_page, s->query);
			mp_request_start(r);
			s->last_requested = s->next_page;
		}
		s->window[s->next_page % MP_MAX_WINDOW] = NULL;
		mp_request_wait(r);
		if (mp_resource_key_count(s->b.res) > 0 && mp_request_not_found(r))
		{
			/* a wallet asked for by key that does not exist: no rows */
			s->n_requests += r->attempts;
			mp_request_release(r);
			s->part_done = true;
			continue;
		}
		j = parse_page(s, r);
		n = cJSON_GetArraySize(j);
		if (s->next_page == 1 || s->total_pages < 0)
			s->total_pages = r->hdr_pages;
		if (s->total_pages < 0 && (n < s->per_page && !r->hdr_link_next))
			s->part_done = true;
		if (r->hdr_link_seen && !r->hdr_link_next && s->total_pages < 0)
			s->part_done = true;
		mp_request_release(r);
		s->next_page++;
		if (n == 0 && s->total_pages >= 0 && s->next_page - 1 <= s->total_pages)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("MangoPay returned an empty page %lld of %lld for \"%s\"",
							(long long) (s->next_page - 1), (long long) s->total_pages,
							RelationGetRelationName(s->b.rel)),
					 errdetail("X-Number-Of-Pages announced %lld pages; the rows of this page would be missing.",
							   (long long) s->total_pages),
					 errhint("The list may have changed while it was read; the query can be retried.")));
		if (n == 0)
		{
			cJSON_Delete(j);
			s->part_done = true;
			continue;
		}
		prefetch(s, path);
		s->cur = j;
		s->cur_it = j->child;
		s->cur_n = n;
		s->cur_idx = 0;
		MemoryContextSwitchTo(old);
		return true;
	}
}

#define MP_ID_KEYLEN 256

typedef struct IdCacheEntry
{
	char		id[MP_ID_KEYLEN];
	char	   *json;			/* NULL: the API answered 404 */
} IdCacheEntry;

static IdCacheEntry *
cache_find(MpListScan *s, const char *id)
{
	if (s->id_cache == NULL || strlen(id) >= MP_ID_KEYLEN)
		return NULL;
	return hash_search(s->id_cache, id, HASH_FIND, NULL);
}

static int
cached_count(MpListScan *s, List *ids)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, ids)
		if (cache_find(s, lfirst(lc)))
			n++;
	return n;
}

/* remember an answer (len bytes of body, or NULL for 404) while work_mem allows */
static void
cache_store(MpListScan *s, const char *id, const char *body, size_t len)
{
	IdCacheEntry *e;
	bool		found;

	if (strlen(id) >= MP_ID_KEYLEN ||
		s->cache_bytes + len + MP_ID_KEYLEN > (Size) work_mem * 1024)
		return;
	if (s->id_cache == NULL)
	{
		HASHCTL		ctl;

		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = MP_ID_KEYLEN;
		ctl.entrysize = sizeof(IdCacheEntry);
		ctl.hcxt = s->cache_cxt;
		s->id_cache = hash_create("mangopay_fdw objects by id", 64, &ctl,
#if PG_VERSION_NUM >= 140000
								  HASH_STRINGS |
#endif
								  HASH_ELEM | HASH_CONTEXT);
	}
	e = hash_search(s->id_cache, id, HASH_ENTER, &found);
	if (!found)
	{
		e->json = NULL;
		if (body)
		{
			/* body need not be NUL-terminated: len bytes, then one */
			e->json = MemoryContextAlloc(s->cache_cxt, len + 1);
			memcpy(e->json, body, len);
			e->json[len] = '\0';
		}
		s->cache_bytes += len + MP_ID_KEYLEN;
	}
}

/* a report table read by id: the object must be one its fixed filters keep */
static bool
fixed_filters_match(MpListScan *s, cJSON *obj)
{
	if (s->fixed == NULL)
		return true;
	for (cJSON *f = s->fixed->child; f; f = f->next)
	{
		cJSON	   *v = cJSON_GetObjectItemCaseSensitive(obj, f->string);
		bool		ok = false;

		if (!cJSON_IsString(v))
			return false;
		for (cJSON *a = f->child; a; a = a->next)
			if (cJSON_IsString(a) && strcmp(a->valuestring, v->valuestring) == 0)
				ok = true;
		if (!ok)
			return false;
	}
	return true;
}

/* more GETs by id than max_lookups allows, this one scan (rescans included) */
static void
lookups_exceeded(MpListScan *s, int more)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("query on \"%s\" needs more than max_lookups (%d) single-object requests",
					RelationGetRelationName(s->b.rel), s->b.conn->max_lookups),
			 errdetail("%d made, %d more needed; each id the WHERE clause or a join names costs one GET %s.",
					   s->lookups_total, more, mp_resource_id_path(s->b.res)),
			 errhint("Narrow the query, or raise the server option max_lookups.")));
}

static MpRequest *
start_id_request(MpListScan *s, const char *id)
{
	char	   *path = mp_path_with_id(mp_resource_id_path(s->b.res), id);
	MpRequest  *r;

	if (s->lookups_total >= s->b.conn->max_lookups)
		lookups_exceeded(s, 1);
	s->lookups_total++;
	r = mp_request_new(s->b.conn, RelationGetRelationName(s->b.rel), "GET",
					   mp_api_url(s->b.conn, path, true));
	r->log_path = path;
	if (s->first_query == NULL)
		s->first_query = path;
	mp_request_start(r);
	return r;
}

/* parse one object's body; false when it is one the table does not show */
static bool
take_object(MpListScan *s, MpRequest *r, const char *body, size_t len)
{
	s->cur = r ? mp_json_body(r, body, len) : cJSON_ParseWithLength(body, len);
	if (s->cur == NULL || !cJSON_IsObject(s->cur))
	{
		free_cur(s);
		if (r)
			mp_error_json_shape(r, "a single-object endpoint answered with something other than a JSON object");
		elog(ERROR, "mangopay_fdw: cached object is not a JSON object");
	}
	if (!fixed_filters_match(s, s->cur))
	{
		free_cur(s);
		return false;
	}
	s->cur_it = s->cur;
	s->cur_n = 1;
	s->cur_idx = 0;
	return true;
}

/*
 * The next object by id, keeping max_concurrency GETs in flight; ids read
 * before (in this scan, across rescans) come from the cache.
 */
static bool
next_by_id(MpListScan *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);

	while (s->id_consumed < s->nids)
	{
		MpRequest  *r;
		IdCacheEntry *e;
		int			window = s->b.conn->max_concurrency;
		const char *id;

		while (s->id_started < s->nids && s->id_started < s->id_consumed + window)
		{
			id = s->ids[s->id_started];
			s->id_reqs[s->id_started++] = cache_find(s, id) ? NULL : start_id_request(s, id);
		}
		id = s->ids[s->id_consumed];
		r = s->id_reqs[s->id_consumed];
		s->id_reqs[s->id_consumed++] = NULL;
		if (r == NULL && (e = cache_find(s, id)) != NULL)
		{
			s->n_cache_hits++;
			if (e->json == NULL)
			{
				s->n_notfound++;
				s->missing = lappend(s->missing, pstrdup(id));
			}
			else if (take_object(s, NULL, e->json, strlen(e->json)))
			{
				MemoryContextSwitchTo(old);
				return true;
			}
			continue;
		}
		if (r == NULL)
			r = start_id_request(s, id);
		mp_request_wait(r);
		s->n_requests += r->attempts;
		if (mp_request_not_found(r))
		{
			/* the id does not exist (or is past the API's retention): no row */
			s->n_notfound++;
			s->missing = lappend(s->missing, pstrdup(id));
			cache_store(s, id, NULL, 0);
			mp_request_release(r);
			continue;
		}
		if (!mp_request_ok(r))
			mp_report_request_failure(r);
		if (r->buf && memchr(r->buf, '\0', r->len) == NULL)
			cache_store(s, id, r->buf, r->len);
		if (!take_object(s, r, r->buf ? r->buf : "", r->len))
		{
			mp_request_release(r);
			continue;
		}
		mp_request_release(r);
		MemoryContextSwitchTo(old);
		return true;
	}
	MemoryContextSwitchTo(old);
	return false;
}

static void
fixed_cb(void *arg)
{
	cJSON_Delete((cJSON *) arg);
}

/* the fixed filters as a cJSON tree, freed with the cache's context */
static cJSON *
parse_fixed(MpListScan *s, const char *text)
{
	cJSON	   *j = cJSON_Parse(text);
	MemoryContextCallback *cb;

	if (j == NULL)
		elog(ERROR, "mangopay_fdw: bad fixed filters of \"%s\"", s->b.res->name);
	cb = MemoryContextAlloc(s->cache_cxt, sizeof(MemoryContextCallback));
	cb->func = fixed_cb;
	cb->arg = j;
	MemoryContextRegisterResetCallback(s->cache_cxt, cb);
	return j;
}

MpListScan *
mp_list_begin(ForeignScanState *node, MpPlan *plan, MpConn *conn)
{
	MpListScan *s = palloc0(sizeof(MpListScan));

	s->json_view = plan->res->source == MP_SRC_REPORT;	/* payouts by id */
	mp_scan_base_init(&s->b, node, plan, conn, cur_cb, s);
	s->cache_cxt = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw objects by id",
										 ALLOCSET_DEFAULT_SIZES);
	if (s->json_view && plan->res->fixed_filters)
		s->fixed = parse_fixed(s, plan->res->fixed_filters);
	return s;
}

bool
mp_list_next(MpListScan *s, TupleTableSlot *slot)
{
	ExecClearTuple(slot);
	if (!s->started)
		evaluate(s);
	for (;;)
	{
		if (s->no_rows)
			return false;
		if (s->cur && s->cur_idx < s->cur_n)
		{
			cJSON	   *obj = s->cur_it;
			Part	   *part = s->by_id ? NULL : &s->parts[s->part_idx];

			s->cur_it = obj->next;
			s->cur_idx++;
			mp_json_to_values(obj, s->b.maps, s->b.natts, slot->tts_values, slot->tts_isnull,
							  part ? (const char *const *) part->keyvals : NULL,
							  RelationGetRelationName(s->b.rel));
			ExecStoreVirtualTuple(slot);
			s->n_rows++;
			mp_stats.rows_returned++;
			return true;
		}
		free_cur(s);
		if (s->by_id ? !next_by_id(s) : !next_page(s))
			return false;
	}
}

void
mp_list_rescan(MpListScan *s)
{
	mp_scan_base_reset(&s->b);	/* releases every request in flight, and cur */
	s->started = false;
	s->parts = NULL;
	s->nparts = 0;
	s->part_idx = 0;
	s->ids = NULL;
	s->id_reqs = NULL;
	s->nids = s->id_started = s->id_consumed = 0;
	s->missing = NIL;
	s->first_query = NULL;
	start_part(s);
}

/* by id: the ids the API answered 404 for (in the scan's context) */
List *
mp_list_missing_ids(MpListScan *s)
{
	return s->missing;
}

void
mp_list_end(MpListScan *s)
{
	free_cur(s);
	MemoryContextDelete(s->b.cxt);
	MemoryContextDelete(s->cache_cxt);
}

/* ------------------------------------------------------------------------
 * EXPLAIN
 * ------------------------------------------------------------------------ */
static char *
expr_text(Node *expr, ExplainState *es)
{
	if (IsA(expr, Const))
	{
		Const	   *c = (Const *) expr;
		Oid			out;
		bool		isvarlena;

		if (c->constisnull)
			return "NULL";
		getTypeOutputInfo(c->consttype, &out, &isvarlena);
		return OidOutputFunctionCall(out, c->constvalue);
	}
	return deparse_expression(expr, es->deparse_cxt, false, false);
}

/*
 * "status = ANY {CLOSED,SUBMITTED} → Status, ..." : what of the WHERE
 * clause goes to the API, for EXPLAIN (list and report sources alike)
 */
char *
mp_explain_pushes(MpPlan *plan, ForeignScanState *node, ExplainState *es)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	const MpResource *res = plan->res;
	StringInfoData f;
	ListCell   *lc;

	initStringInfo(&f);
	foreach(lc, plan->pushes)
	{
		MpPush	   *p = lfirst(lc);
		const MpColumnDef *col = &res->cols[p->colidx];
		Node	   *e = list_nth(fsplan->fdw_exprs, p->expr_idx);
		const char *api;
		const char *op = p->is_array ? "= ANY" : "=";

		switch (p->kind)
		{
			case MP_PUSH_DATE_LO:
				api = "AfterDate";
				op = "from";
				break;
			case MP_PUSH_DATE_HI:
				api = "BeforeDate";
				op = "until";
				break;
			case MP_PUSH_DATE_EQ:
				api = "AfterDate+BeforeDate";
				break;
			case MP_PUSH_ID:
				api = "single-object GET";
				break;
			case MP_PUSH_KEY:
				api = res->source == MP_SRC_REPORT ? col->filter : "path";
				break;
			case MP_PUSH_MIN:
				api = psprintf("Min%s", col->filter);
				op = "from";
				break;
			case MP_PUSH_MAX:
				api = psprintf("Max%s", col->filter);
				op = "until";
				break;
			default:
				api = col->filter;
		}
		appendStringInfo(&f, "%s%s %s %s → %s", f.len ? ", " : "", col->name, op,
						 expr_text(e, es), api);
	}
	return f.len ? f.data : NULL;
}

void
mp_list_explain(MpListScan *s, MpPlan *plan, ForeignScanState *node, ExplainState *es)
{
	const MpResource *res = plan->res;
	StringInfoData q;
	char	   *pushed = mp_explain_pushes(plan, node, es);
	bool		by_id = false;
	ListCell   *lc;

	foreach(lc, plan->pushes)
		if (((MpPush *) lfirst(lc))->kind == MP_PUSH_ID)
			by_id = true;
	ExplainPropertyText("MangoPay Resource", res->name, es);
	initStringInfo(&q);
	if (by_id)
		appendStringInfo(&q, "GET %s for each id", mp_resource_id_path(res));
	else if (res->list_path)
	{
		appendStringInfo(&q, "GET %s", res->list_path);
		if (plan->sort_dir != 0)
			appendStringInfo(&q, " Sort=%s:%s", res->sort_field, plan->sort_dir > 0 ? "ASC" : "DESC");
	}
	ExplainPropertyText("MangoPay Endpoint", q.data, es);
	if (pushed)
		ExplainPropertyText("MangoPay Pushed", pushed, es);
	if (plan->limit_hint > 0)
		ExplainPropertyInteger("MangoPay Limit", NULL, plan->limit_hint, es);
	if (s && s->started)
	{
		if (s->first_query)
			ExplainPropertyText("MangoPay First Request", psprintf("GET %s", s->first_query), es);
		if (es->analyze)
		{
			ExplainPropertyInteger("MangoPay HTTP Requests", NULL, s->n_requests, es);
			if (!s->by_id)
				ExplainPropertyInteger("MangoPay Pages", NULL, s->n_pages, es);
			else
			{
				ExplainPropertyInteger("MangoPay Not Found", NULL, s->n_notfound, es);
				ExplainPropertyInteger("MangoPay Ids From Cache", NULL, s->n_cache_hits, es);
			}
		}
	}
}

/* ------------------------------------------------------------------------
 * ANALYZE: a sample of a list endpoint
 * ------------------------------------------------------------------------ */
typedef struct SampleHolder
{
	cJSON	   *page;
} SampleHolder;

static void
sample_cb(void *arg)
{
	SampleHolder *h = arg;

	if (h->page)
		cJSON_Delete(h->page);
	h->page = NULL;
}

/*
 * Up to targrows rows from at most MP_ANALYZE_MAX_PAGES pages spread evenly
 * over the list (page 1, then pages across the whole history), and the
 * row count the API reports in X-Number-Of-Items.  Only pages are read:
 * no report is created and no per-row GET is made.
 */
int
mp_list_sample(Relation rel, MpConn *conn, const MpResource *res, HeapTuple *rows,
			   int targrows, double *totalrows)
{
	const char *relname = RelationGetRelationName(rel);
	int			natts = RelationGetDescr(rel)->natts;
	MpColMap   *maps = mp_build_colmaps(rel, res, NULL, true, false);
	Datum	   *values = palloc(sizeof(Datum) * natts);
	bool	   *nulls = palloc(sizeof(bool) * natts);
	MpPlan		none = {0};
	bool		dropped;
	char	   *query;
	int			per_page = conn->page_size;
	int64		total_pages = -1;
	int64		items = -1;
	int			want;
	int			numrows = 0;
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw sample",
											  ALLOCSET_DEFAULT_SIZES);
	MemoryContext page_cxt = AllocSetContextCreate(tmp, "mangopay_fdw sample page",
												   ALLOCSET_DEFAULT_SIZES);
	SampleHolder *h = MemoryContextAllocZero(tmp, sizeof(SampleHolder));
	MemoryContextCallback *cb = MemoryContextAlloc(tmp, sizeof(MemoryContextCallback));

	cb->func = sample_cb;
	cb->arg = h;
	MemoryContextRegisterResetCallback(tmp, cb);
	none.res = res;
	query = mp_list_query(res, mp_plan_evaluate(&none, NIL, NULL), 0, &dropped);
	want = Max(1, Min((targrows + per_page - 1) / per_page, MP_ANALYZE_MAX_PAGES));

	for (int k = 0; k < want && numrows < targrows; k++)
	{
		int64		page = 1;
		char	   *pq;
		MpRequest  *r;
		MemoryContext old;

		if (k > 0)
		{
			/* spread over the pages page 1 announced */
			if (total_pages <= 1)
				break;
			page = 1 + (int64) ((double) k * total_pages / want);
			if (page > total_pages)
				break;
		}
		pq = psprintf("%s?page=" INT64_FORMAT "&per_page=%d%s%s", res->list_path, page, per_page,
					  *query ? "&" : "", query);
		old = MemoryContextSwitchTo(page_cxt);	/* the request: freed per page */
		r = mp_request_new(conn, relname, "GET", mp_api_url(conn, pq, true));
		r->log_path = pq;
		mp_request_wait(r);
		if (!mp_request_ok(r))
			mp_report_request_failure(r);
		if (page == 1)
		{
			total_pages = r->hdr_pages;
			items = r->hdr_items;
		}
		h->page = mp_json_body(r, r->buf, r->len);
		if (h->page == NULL || !cJSON_IsArray(h->page))
			mp_error_json_shape(r, "a list endpoint answered with something other than a JSON array");
		mp_request_release(r);
		MemoryContextSwitchTo(old);
		for (cJSON *it = h->page->child; it && numrows < targrows; it = it->next)
		{
			if (!cJSON_IsObject(it))
				continue;
			mp_json_to_values(it, maps, natts, values, nulls, NULL, relname);
			rows[numrows++] = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		}
		cJSON_Delete(h->page);
		h->page = NULL;
		MemoryContextReset(page_cxt);
	}
	MemoryContextDelete(tmp);
	if (items >= 0)
		*totalrows = (double) items;
	else if (total_pages >= 0)
		*totalrows = (double) total_pages * per_page;
	else
		*totalrows = numrows;
	return numrows;
}
