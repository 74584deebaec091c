/*-------------------------------------------------------------------------
 * byid.c
 *		The by-id source: single-object GETs (id = / IN / = ANY, a join on
 *		id), max_concurrency at a time and at most max_lookups per scan,
 *		the cache of objects read by id (kept across rescans; also a
 *		parent-scoped list's pages), and a report table read by id
 *		(payouts), whose ids the GET no longer serves are found among the
 *		report's older rows.
 *-------------------------------------------------------------------------
 */
#include "listing_int.h"

#include "jsonrow.h"

#define MP_ID_KEYLEN 256

struct IdCacheEntry
{
	char		id[MP_ID_KEYLEN];	/* an id, or a parent-scoped list's path */
	char	   *json;			/* NULL: the API answered 404 */
};

IdCacheEntry *
mpl_cache_find(MpListScan *s, const char *id)
{
	if (s->id_cache == NULL || strlen(id) >= MP_ID_KEYLEN)
		return NULL;
	return hash_search(s->id_cache, id, HASH_FIND, NULL);
}

/* a parent's page read before (*hit), as a JSON array; NULL for a 404 */
cJSON *
mpl_cached_page(MpListScan *s, const char *path, bool *hit)
{
	IdCacheEntry *e = mpl_cache_find(s, path);
	cJSON	   *j;

	*hit = e != NULL;
	if (e == NULL || e->json == NULL)
		return NULL;
	s->n_cache_hits++;
	j = mp_json_own(cJSON_Parse(e->json), false);
	mp_jsonrow_exact_ints(j, e->json, strlen(e->json));
	if (j && s->b.res->list_object && cJSON_IsObject(j))
		j = mp_json_in_array(j);
	if (j == NULL || !cJSON_IsArray(j))
		elog(ERROR, "mangopay_fdw: cached page is not a JSON array");
	return j;
}

int
mpl_cached_count(MpListScan *s, List *ids)
{
	ListCell   *lc;
	int			n = 0;

	foreach(lc, ids)
		if (mpl_cache_find(s, lfirst(lc)))
			n++;
	return n;
}

/* remember an answer (len bytes of body, or NULL for 404) while work_mem allows */
void
mpl_cache_store(MpListScan *s, const char *id, const char *body, size_t len)
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
void
mpl_lookups_exceeded(MpListScan *s, int more)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("query on \"%s\" needs more than max_lookups (%d) single-object requests",
					RelationGetRelationName(s->b.rel), s->b.conn->max_lookups),
			 errdetail("%d made, %d more needed; each id the WHERE clause or a join names costs one GET %s.",
					   s->lookups_total, more, mp_resource_id_path(s->b.res)),
			 errhint("Narrow the query, or raise the server option max_lookups.")));
}

MpRequest *
mpl_start_id_request(MpListScan *s, const char *id)
{
	char	   *path = mp_path_with_id(mp_resource_id_path(s->b.res), id);
	MpRequest  *r;

	if (s->lookups_total >= s->b.conn->max_lookups)
		mpl_lookups_exceeded(s, 1);
	s->lookups_total++;
	r = mp_request_new(s->b.conn, RelationGetRelationName(s->b.rel), "GET",
					   mp_api_url(s->b.conn, path, true));
	r->log_path = path;
	if (s->first_query == NULL)
		s->first_query = path;
	mp_request_start(r);
	return r;
}

/*
 * parse one object's body into s->cur, owned by the scan's context; false
 * when it is one the table does not show
 */
static bool
take_object(MpListScan *s, MpRequest *r, const char *body, size_t len)
{
	s->cur = r ? mp_json_body(r, body, len) : mp_json_own(cJSON_ParseWithLength(body, len), false);
	if (r == NULL)
		mp_jsonrow_exact_ints(s->cur, body, len);
	if (s->cur == NULL || !cJSON_IsObject(s->cur))
	{
		mpl_free_cur(s);
		if (r)
			mp_error_json_shape(r, "a single-object endpoint answered with something other than a JSON object");
		elog(ERROR, "mangopay_fdw: cached object is not a JSON object");
	}
	if (!fixed_filters_match(s, s->cur))
	{
		mpl_free_cur(s);
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
bool
mpl_next_by_id(MpListScan *s)
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
			s->id_reqs[s->id_started++] = mpl_cache_find(s, id) ? NULL : mpl_start_id_request(s, id);
		}
		id = s->ids[s->id_consumed];
		r = s->id_reqs[s->id_consumed];
		s->id_reqs[s->id_consumed++] = NULL;
		if (r == NULL && (e = mpl_cache_find(s, id)) != NULL)
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
			r = mpl_start_id_request(s, id);
		mp_request_wait(r);
		s->n_requests += r->attempts;
		if (mp_request_not_found(r))
		{
			/* the id does not exist (or is past the API's retention): no row */
			s->n_notfound++;
			s->missing = lappend(s->missing, pstrdup(id));
			mpl_cache_store(s, id, NULL, 0);
			mp_request_release(r);
			continue;
		}
		if (!mp_request_ok(r))
			mp_error_request_failed(r);
		if (r->buf && memchr(r->buf, '\0', r->len) == NULL)
			mpl_cache_store(s, id, r->buf, r->len);
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

/* the fixed filters as a cJSON tree, owned by the cache's context */
cJSON *
mpl_parse_fixed(MpListScan *s, const char *text)
{
	MemoryContext old = MemoryContextSwitchTo(s->cache_cxt);
	cJSON	   *j = mp_json_own(cJSON_Parse(text), false);

	MemoryContextSwitchTo(old);
	if (j == NULL)
		elog(ERROR, "mangopay_fdw: bad fixed filters of \"%s\"", s->b.res->name);
	return j;
}

/* ------------------------------------------------------------------------
 * the by-id source
 * ------------------------------------------------------------------------ */
typedef struct ByIdScan
{
	MpListScan *list;			/* the GETs */
	ForeignScanState *node;
	MpPlan	   *plan;
	MpSettings *conn;
	/* a report table read by id (payouts): the ids the GET did not find */
	bool		ids_done;		/* the GETs are done */
	List	   *missing;		/* ids still to look up in old_rows */
	HTAB	   *old_rows;		/* id → row older than the GET serves, once per scan */
	MemoryContext old_cxt;
	bool		old_lookups;	/* lookup columns asked for: NULL for those rows */
	bool		old_noticed;
} ByIdScan;

#define MP_OLD_ID_LEN 130		/* ids are at most 128 characters */

typedef struct OldRow
{
	char		id[MP_OLD_ID_LEN];
	MinimalTuple tup;
} OldRow;

/*
 * Payouts by id: GET /payouts/bankwire/{id} answers 404 for payouts older
 * than 13 months, which the report still lists (36).  So that the same
 * query gives the same rows whatever the plan, ids the GET did not find are
 * looked up among the report's rows older than 12 months, read once per
 * scan (a join's rescans reuse them), without lookups: those columns are
 * NULL, and a NOTICE says so.
 */
static void
load_old_rows(ByIdScan *st, TupleTableSlot *slot)
{
	ForeignScanState *node = st->node;
	Relation	rel = node->ss.ss_currentRelation;
	const MpColumnDef *idcol = mp_resource_id_column(st->plan->res);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	idatt = InvalidAttrNumber;
	MemoryContext old;
	MemoryContext tmp;
	MpPlan	   *p;
	MpReportScan *r;
	HASHCTL		ctl;

	st->old_cxt = AllocSetContextCreate(node->ss.ps.state->es_query_cxt,
										"mangopay_fdw old rows", ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = MP_OLD_ID_LEN;
	ctl.entrysize = sizeof(OldRow);
	ctl.hcxt = st->old_cxt;
	st->old_rows = hash_create("mangopay_fdw old rows", 256, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (int i = 0; idcol && i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), idcol->name) == 0)
			idatt = i + 1;
	if (idatt == InvalidAttrNumber)
		return;

	old = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);
	p = palloc(sizeof(MpPlan));
	*p = *st->plan;
	p->by_id = false;			/* CSV columns, not the object's fields */
	p->pushes = NIL;			/* every old row: a rescan may ask other values */
	p->limit_hint = 0;
	p->needed = bms_add_member(bms_copy(st->plan->needed),
							   idatt - FirstLowInvalidHeapAttributeNumber);
	r = mp_report_begin_old(node, p, st->conn);
	/* each row's values in a context of their own, as the executor's per-tuple one */
	tmp = AllocSetContextCreate(node->ss.ps.state->es_query_cxt, "mangopay_fdw old row",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		bool		isnull;
		Datum		d;
		char	   *id;
		OldRow	   *e;
		bool		found;

		MemoryContextReset(tmp);
		MemoryContextSwitchTo(tmp);
		if (!mp_report_source.next(r, slot))
			break;
		d = slot_getattr(slot, idatt, &isnull);
		if (isnull || strlen(id = TextDatumGetCString(d)) >= MP_OLD_ID_LEN)
			continue;
		e = hash_search(st->old_rows, id, HASH_ENTER, &found);
		if (!found)
		{
			MemoryContextSwitchTo(st->old_cxt);
			e->tup = ExecCopySlotMinimalTuple(slot);
		}
	}
	MemoryContextSwitchTo(old);
	ExecClearTuple(slot);
	MemoryContextDelete(tmp);
	st->old_lookups = mp_report_lookups_dropped(r);
	mp_report_source.end(r);
}

static bool
old_row_next(ByIdScan *st, TupleTableSlot *slot)
{
	ForeignScanState *node = st->node;

	ExecClearTuple(slot);
	if (st->old_rows == NULL)
		load_old_rows(st, slot);
	while (st->missing != NIL)
	{
		char	   *id = linitial(st->missing);
		OldRow	   *e = strlen(id) < MP_OLD_ID_LEN ?
			hash_search(st->old_rows, id, HASH_FIND, NULL) : NULL;

		st->missing = list_delete_first(st->missing);
		if (e == NULL)
			continue;
		if (st->old_lookups && !st->old_noticed)
		{
			st->old_noticed = true;
			ereport(NOTICE,
					(errmsg("MangoPay no longer serves some %ss of \"%s\" by id: their lookup columns are NULL",
							st->plan->res->object_name, RelationGetRelationName(node->ss.ss_currentRelation)),
					 errdetail("GET %s answered 404; objects are readable for 13 months, reports list them for %d.",
							   st->plan->res->lookup_path, st->plan->res->retention_months)));
		}
		ExecForceStoreMinimalTuple(e->tup, slot, false);
		return true;
	}
	return false;
}


static void *
byid_begin(ForeignScanState *node, MpPlan *plan, MpSettings *conn)
{
	ByIdScan   *st = palloc0(sizeof(ByIdScan));

	st->node = node;
	st->plan = plan;
	st->conn = conn;
	st->list = mp_list_source.begin(node, plan, conn);
	return st;
}

static bool
byid_next(void *scan, TupleTableSlot *slot)
{
	ByIdScan   *st = scan;

	if (!st->ids_done)
	{
		if (mp_list_source.next(st->list, slot) || st->plan->res->source != MP_SRC_REPORT)
			return !TupIsNull(slot);
		/* a report table read by id: the ids the GET did not find */
		st->ids_done = true;
		st->missing = list_copy(mp_list_missing_ids(st->list));
		if (st->missing == NIL)
			return false;
	}
	return old_row_next(st, slot);
}

static void
byid_rescan(void *scan)
{
	ByIdScan   *st = scan;

	/* the old rows are kept: the next ids may be among them */
	st->ids_done = false;
	st->missing = NIL;
	mp_list_source.rescan(st->list);
}

static void
byid_end(void *scan)
{
	mp_list_source.end(((ByIdScan *) scan)->list);
}

static void
byid_explain(void *scan, MpPlan *plan, ForeignScanState *node, ExplainState *es)
{
	mp_list_source.explain(scan ? ((ByIdScan *) scan)->list : NULL, plan, node, es);
}

const MpSource mp_byid_source = {
	"by id", byid_begin, byid_next, byid_rescan, byid_end, byid_explain
};
