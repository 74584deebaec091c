/*-------------------------------------------------------------------------
 * listing_int.h
 *		The state of a list or by-id scan, shared by listing.c (pages),
 *		byid.c (single-object GETs and their cache) and list_request.c.
 *		Not for other parts of mangopay_fdw.
 *-------------------------------------------------------------------------
 */
#ifndef LISTING_INT_H
#define LISTING_INT_H

#include "mpfdw.h"

#include <cjson/cJSON.h>
#include <math.h>

#include "access/sysattr.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
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

/*
 * The rows a scan of one list has returned, as 64-bit hashes in two
 * generations (list_check.c): [0] the current one, [1] the previous one.
 */
typedef struct MpIdSet
{
	uint64	   *slots[2];		/* open addressing, 0 = empty */
	uint32		mask[2];		/* slots - 1 */
	uint32		n[2];
	uint32		gen_max;		/* ids per generation */
	bool		rotated;		/* a generation was dropped */
} MpIdSet;

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
	const char *id_path;		/* the GET by id: /disputes/{id} */
	const char *id_path2;		/* a second view GET per id, or NULL (payouts:
								 * /payouts/{id} beside the bankwire view) */
	MpRequest **id_reqs2;
	bool		view2_noticed;	/* the NOTICE on its 404 given */

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
	bool		lookups;		/* a needed column is only in the object by id */
	cJSON	   *fixed;			/* the report's fixed filters, checked by id */

	/* partitions (key column values) */
	Part	   *parts;
	int			nparts;
	int			part_idx;
	MpRequest **part_first;		/* page 1 of the next parts, started ahead */
	int			parts_started;	/* parts whose page 1 has been started */

	/* paging within the current partition */
	int64		total_pages;	/* -1 while unknown */
	int64		next_page;		/* the page the executor reads next */
	int64		last_requested;
	MpRequest  *window[MP_MAX_WINDOW];	/* in flight, indexed page % window */
	bool		part_done;

	/*
	 * ORDER BY ... DESC: the list is read oldest first (pages do not shift
	 * as objects are created) from its last page back, each page reversed.
	 * Page 1 is read first for the count; rev_known once it is.
	 */
	bool		reverse;
	bool		rev_known;

	/* what this partition's scan has returned (list_check.c) */
	MemoryContext seen_cxt;
	MpIdSet		seen;
	int64		part_rows;
	int64		n_rereads;

	/* the page being read */
	bool		provenance;		/* the query reads _read_at or _source */
	char	   *cur_source;		/* "GET <path>?page=N", for _source */
	cJSON	   *cur;
	cJSON	   *cur_it;			/* the next element of cur to return */
	int			cur_idx;
	int			cur_n;

	/* EXPLAIN ANALYZE */
	int64		n_requests;
	int64		n_budget_waits;	/* requests that queued for the shared budget */
	int64		n_pages;
	int64		n_rows;
	int64		n_notfound;
	char	   *first_query;
	bool		retention_noticed;	/* the NOTICE on child_retention_months given */
};

typedef struct IdCacheEntry IdCacheEntry;

extern IdCacheEntry *mpl_cache_find(MpListScan *s, const char *id);
extern void mpl_cache_store(MpListScan *s, const char *id, const char *body, size_t len);
extern int mpl_cached_count(MpListScan *s, List *ids);
extern cJSON *mpl_cached_page(MpListScan *s, const char *path, bool *hit);
extern void mpl_free_cur(MpListScan *s);
pg_noreturn extern void mpl_lookups_exceeded(MpListScan *s, int more);
extern bool mpl_next_by_id(MpListScan *s);
extern cJSON *mpl_parse_fixed(MpListScan *s, const char *text);
extern MpRequest *mpl_start_id_request(MpListScan *s, const char *id);
extern MpRequest *mpl_start_path_request(MpListScan *s, const char *idpath, const char *id);
extern const char *mpl_id_paths(const MpResource *res, const MpColMap *maps, int natts,
								bool json_view, const char **path2);
extern MpRequest *mpl_page_request(MpListScan *s, const char *path, int64 page, int per_page,
								   const char *query);
extern cJSON *mpl_parse_page(MpListScan *s, MpRequest *r);

/* a request of the scan is over: counted for EXPLAIN ANALYZE */
static inline void
mpl_count_request(MpListScan *s, const MpRequest *r)
{
	s->n_requests += r->attempts;
	s->n_budget_waits += r->budget_waits;
}

/* list_check.c */
/* a page read again: the request in *r, its parsed rows returned */
typedef cJSON *(*MplReread) (MpListScan *s, const char *path, int64 page, MpRequest **r);
extern void mpl_seen_reset(MpListScan *s);
extern void mpl_check_page(MpListScan *s, const char *path, int64 page, MpRequest **r, cJSON **j,
						   bool remember, MplReread reread);
extern void mpl_reverse_page(cJSON *j);

#endif							/* LISTING_INT_H */
