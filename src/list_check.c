/*-------------------------------------------------------------------------
 * list_check.c
 *		A list page is checked before its rows are returned: a scan returns
 *		each object once and all of them, or fails.
 *
 *	- X-Number-Of-Pages must be what X-Number-Of-Items makes at the page
 *	  size sent (ceil(items / per_page));
 *	- every page before the last one announced holds per_page rows (an
 *	  empty or short page would drop rows), and no page holds more;
 *	- no row of the page was returned before by the same scan of the same
 *	  list (a repeated or shifted page would return rows twice).
 *
 * A page that fails is read once more; if the second answer passes it is
 * used, else the scan stops with an ERROR that names the page and the
 * counts.
 *
 * The rows already returned are kept as 64-bit hashes of their Id (of the
 * object's JSON text when it has no Id, as events), in two generations of
 * at most Max(65536, work_mem / 16 bytes) ids each: when the current one
 * is full the previous one is dropped, so memory stays bounded and the
 * latest rows (those a shifted page repeats) are always checked.
 *-------------------------------------------------------------------------
 */
#include "listing_int.h"

#include "common/hashfn.h"

#define MP_SEEN_MIN_GEN 65536

/* forget every id: a new partition, a rescan */
void
mpl_seen_reset(MpListScan *s)
{
	if (s->seen_cxt)
		MemoryContextReset(s->seen_cxt);
	memset(&s->seen, 0, sizeof(s->seen));
}

static uint64
row_hash(const cJSON *it)
{
	const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "Id");
	uint64		h;

	if (cJSON_IsString(id) && id->valuestring)
		h = hash_bytes_extended((const unsigned char *) id->valuestring,
								strlen(id->valuestring), 0);
	else
	{
		char	   *t = cJSON_PrintUnformatted(it);

		if (t == NULL)
			ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
		h = hash_bytes_extended((const unsigned char *) t, strlen(t), 1);
		cJSON_free(t);
	}
	return h ? h : 1;			/* 0 marks an empty slot */
}

static bool
gen_has(const MpIdSet *set, int g, uint64 h)
{
	if (set->slots[g] == NULL)
		return false;
	for (uint32 i = (uint32) h & set->mask[g];; i = (i + 1) & set->mask[g])
	{
		if (set->slots[g][i] == 0)
			return false;
		if (set->slots[g][i] == h)
			return true;
	}
}

static bool
seen_has(const MpIdSet *set, uint64 h)
{
	return gen_has(set, 0, h) || gen_has(set, 1, h);
}

static void
gen_put(MpIdSet *set, uint64 h)
{
	uint32		i;

	for (i = (uint32) h & set->mask[0]; set->slots[0][i] != 0; i = (i + 1) & set->mask[0])
		if (set->slots[0][i] == h)
			return;
	set->slots[0][i] = h;
	set->n[0]++;
}

static void
seen_add(MpListScan *s, uint64 h)
{
	MpIdSet    *set = &s->seen;

	if (set->gen_max == 0)
		set->gen_max = Max(MP_SEEN_MIN_GEN, (uint32) Min((int64) work_mem * 1024 / 16, PG_INT32_MAX / 4));
	if (set->slots[0] && set->n[0] >= set->gen_max)
	{
		/* the current generation is full: it becomes the previous one */
		if (set->slots[1])
			pfree(set->slots[1]);
		set->slots[1] = set->slots[0];
		set->mask[1] = set->mask[0];
		set->n[1] = set->n[0];
		set->slots[0] = NULL;
		set->n[0] = 0;
		set->rotated = true;
	}
	if (set->slots[0] == NULL || (set->n[0] + 1) * 2 > set->mask[0] + 1)
	{
		/* (re)build at twice the size: at most half the slots are used */
		uint32		cap = set->slots[0] ? (set->mask[0] + 1) * 2 : 1024;
		uint64	   *old = set->slots[0];
		uint32		oldcap = old ? set->mask[0] + 1 : 0;

		set->slots[0] = MemoryContextAllocZero(s->seen_cxt, sizeof(uint64) * cap);
		set->mask[0] = cap - 1;
		set->n[0] = 0;
		for (uint32 i = 0; i < oldcap; i++)
			if (old[i])
				gen_put(set, old[i]);
		if (old)
			pfree(old);
	}
	gen_put(set, h);
}

/* rows of page j already returned by the scan, or repeated in the page */
static int
repeated_rows(MpListScan *s, cJSON *j)
{
	int			n = cJSON_GetArraySize(j);
	uint64	   *hs = palloc(sizeof(uint64) * Max(1, n));
	int			k = 0;
	int			dups = 0;

	for (cJSON *it = j->child; it; it = it->next, k++)
	{
		hs[k] = row_hash(it);
		if (seen_has(&s->seen, hs[k]))
			dups++;
		else
			for (int m = 0; m < k; m++)
				if (hs[m] == hs[k])
				{
					dups++;
					break;
				}
	}
	pfree(hs);
	return dups;
}

typedef enum PageProblem
{
	PAGE_OK,
	PAGE_HEADERS,				/* X-Number-Of-Pages vs X-Number-Of-Items */
	PAGE_EMPTY,					/* no rows before the last page */
	PAGE_SHORT,					/* fewer than per_page rows before the last */
	PAGE_LONG,					/* more than per_page rows */
	PAGE_REPEATS				/* rows returned before */
} PageProblem;

static PageProblem
page_problem(MpListScan *s, MpRequest *r, cJSON *j, int64 page, bool remember, int *dups)
{
	int			n = cJSON_GetArraySize(j);

	*dups = 0;
	if (r->hdr_pages >= 0 && r->hdr_items >= 0 &&
		r->hdr_pages != (r->hdr_items + s->per_page - 1) / s->per_page)
		return PAGE_HEADERS;
	if (s->total_pages >= 0 && page < s->total_pages && n == 0)
		return PAGE_EMPTY;
	if (s->total_pages >= 0 && page < s->total_pages && n < s->per_page)
		return PAGE_SHORT;
	if (n > s->per_page)
		return PAGE_LONG;
	if (remember && (*dups = repeated_rows(s, j)) > 0)
		return PAGE_REPEATS;
	return PAGE_OK;
}

pg_noreturn static void
page_error(MpListScan *s, MpRequest *r, PageProblem p, cJSON *j, int64 page, int dups,
		   int first_n)
{
	const char *rel = RelationGetRelationName(s->b.rel);
	int			n = cJSON_GetArraySize(j);
	const char *hint = "The list may have changed while it was read; the query can be retried.";

	switch (p)
	{
		case PAGE_HEADERS:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("MangoPay's paging headers contradict each other for \"%s\"", rel),
					 errdetail("Page %lld (GET %s): X-Number-Of-Pages %lld, X-Number-Of-Items %lld; %lld items at per_page=%d are %lld pages. A second read said the same.",
							   (long long) page, r->log_path, (long long) r->hdr_pages,
							   (long long) r->hdr_items, (long long) r->hdr_items, s->per_page,
							   (long long) ((r->hdr_items + s->per_page - 1) / s->per_page)),
					 errhint("%s", hint)));
			break;
		case PAGE_EMPTY:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("MangoPay returned an empty page %lld of %lld for \"%s\"",
							(long long) page, (long long) s->total_pages, rel),
					 errdetail("X-Number-Of-Pages announced %lld pages; the rows of this page would be missing. A second read was empty too.",
							   (long long) s->total_pages),
					 errhint("%s", hint)));
			break;
		case PAGE_SHORT:
		case PAGE_LONG:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("MangoPay returned page %lld of %lld for \"%s\" with %d rows where per_page=%d",
							(long long) page, (long long) s->total_pages, rel, n, s->per_page),
					 errdetail("Every page before the last holds per_page rows and none more (X-Number-Of-Items %lld); rows would be %s. The first read gave %d rows, a second %d (GET %s).",
							   (long long) r->hdr_items, p == PAGE_SHORT ? "missing" : "wrong",
							   first_n, n, r->log_path),
					 errhint("%s", hint)));
			break;
		case PAGE_REPEATS:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("MangoPay returned page %lld of %lld for \"%s\" with rows of earlier pages",
							(long long) page, (long long) s->total_pages, rel),
					 errdetail("%d of its %d rows were already returned by this scan (%lld rows so far, X-Number-Of-Items %lld); a second read repeated them too (GET %s).",
							   dups, n, (long long) s->part_rows, (long long) r->hdr_items,
							   r->log_path),
					 errhint("%s", hint)));
			break;
		case PAGE_OK:
			break;
	}
	pg_unreachable();
}

/*
 * Check page (the page number sent) read by *r as *j; a page that fails
 * is read once more by reread (the list source's, so this file calls
 * nothing above it) (*r and *j are then the second answer, the first
 * released), and an ERROR if it fails again.  The rows of a page that
 * passes are remembered, unless it was read only for its headers.
 */
void
mpl_check_page(MpListScan *s, const char *path, int64 page, MpRequest **r, cJSON **j,
			   bool remember, MplReread reread)
{
	int			dups;
	PageProblem p = page_problem(s, *r, *j, page, remember, &dups);

	if (p != PAGE_OK)
	{
		int			first_n = cJSON_GetArraySize(*j);

		mp_json_release(*j);
		mp_request_release(*r);
		*j = reread(s, path, page, r);
		s->n_rereads++;
		if ((p = page_problem(s, *r, *j, page, remember, &dups)) != PAGE_OK)
			page_error(s, *r, p, *j, page, dups, first_n);
	}
	if (!remember)
		return;
	for (cJSON *it = (*j)->child; it; it = it->next)
		seen_add(s, row_hash(it));
	s->part_rows += cJSON_GetArraySize(*j);
}

/* a page read oldest first, turned newest first */
void
mpl_reverse_page(cJSON *j)
{
	cJSON	   *prev = NULL;
	cJSON	   *it = j->child;

	if (it == NULL)
		return;
	while (it)
	{
		cJSON	   *next = it->next;

		it->next = prev;
		it->prev = next;		/* fixed below for the new head */
		prev = it;
		it = next;
	}
	/* cJSON: the head's prev points at the tail (the old head) */
	prev->prev = j->child;
	j->child = prev;
}
