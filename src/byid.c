/*-------------------------------------------------------------------------
 * byid.c
 *		Reading by id: single-object GETs (id = / IN / = ANY, a join on
 *		id), max_concurrency at a time and at most max_lookups per scan,
 *		and the cache of objects read by id (kept across rescans; also a
 *		parent-scoped list's pages); the planning of by-id tables.
 *
 * The list scan's by-id mode (listing.c, also the by-id source) calls
 * this; it calls no source.  A report table read by id (payouts) is the
 * report source's by-id mode (report_byid.c), on top of the same GETs.
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

/* free the page (or object) being read: s->cur is owned by the scan's context */
void
mpl_free_cur(MpListScan *s)
{
	mp_json_release(s->cur);
	s->cur = NULL;
	s->cur_it = NULL;
	s->cur_idx = s->cur_n = 0;
}

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
	MpJrParse	why;

	*hit = e != NULL;
	if (e == NULL || e->json == NULL)
		return NULL;
	s->n_cache_hits++;
	j = mp_json_own(mp_jsonrow_parse(e->json, strlen(e->json), &why), false);
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
			 errdetail("%d made, %d more needed; each id the WHERE clause or a join names costs one GET %s%s%s.",
					   s->lookups_total, more, s->id_path,
					   s->id_path2 ? " and one GET " : "", s->id_path2 ? s->id_path2 : ""),
			 errhint("Narrow the query, or raise the server option max_lookups.")));
}

/*
 * The GET by id of the scan (s->id_path: the object, or the view of it the
 * query's columns need) and of a second view (mpl_id_paths).  A report
 * table read by id (payouts) reads the view its lookup columns need: the
 * second alone when only its columns are read, both when both are.
 */
const char *
mpl_id_paths(const MpResource *res, const MpColMap *maps, int natts, bool json_view,
			 const char **path2)
{
	int			views = json_view ? mp_lookup_views_read(maps, natts) : 0;

	*path2 = NULL;
	if (views == MP_VIEW_2 && res->lookup_path2)
		return res->lookup_path2;
	if (views == (MP_VIEW_1 | MP_VIEW_2))
		*path2 = res->lookup_path2;
	return mp_resource_id_path(res);
}

MpRequest *
mpl_start_id_request(MpListScan *s, const char *id)
{
	return mpl_start_path_request(s, s->id_path, id);
}

MpRequest *
mpl_start_path_request(MpListScan *s, const char *idpath, const char *id)
{
	char	   *path = mp_path_with_id(idpath, id);
	MpRequest  *r;

	if (s->lookups_total >= s->b.conn->max_lookups)
		mpl_lookups_exceeded(s, 1);
	s->lookups_total++;
	/* an SCA-gated object (GET /wallets/{Id}, spec §11) */
	if (s->b.res->sca)
		path = psprintf("%s?ScaContext=%s", path, s->b.conn->sca_context);
	r = mp_request_new(s->b.conn, RelationGetRelationName(s->b.rel), "GET",
					   mp_api_url(s->b.conn, path, true));
	if (s->b.res->sca)
		r->sca_subject = psprintf("the owner of %s \"%s\"", s->b.res->object_name, id);
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
	MpJrParse	why;

	/* (strict like the answer it was: the numbers keep their text) */
	s->cur = r ? mp_json_body(r, body, len) : mp_json_own(mp_jsonrow_parse(body, len, &why), false);
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

/* an id without a row: its second view's GET, if any, is not needed */
static void
drop_view2(MpListScan *s, int k)
{
	if (s->id_path2 && s->id_reqs2[k])
	{
		mp_request_wait(s->id_reqs2[k]);
		mpl_count_request(s, s->id_reqs2[k]);
		mp_request_release(s->id_reqs2[k]);
		s->id_reqs2[k] = NULL;
	}
}

/*
 * The second view of the object just taken (payouts: GET /payouts/{Id}
 * beside the bankwire view, when the query reads columns of both): the
 * fields of the columns only it carries replace the first view's.  A 404
 * there leaves them NULL, and a NOTICE says so.  Cached under its path.
 */
static void
merge_view2(MpListScan *s, int k, const char *id)
{
	char	   *key = mp_path_with_id(s->id_path2, id);
	MpRequest  *r = s->id_reqs2[k];
	IdCacheEntry *e;
	cJSON	   *obj2 = NULL;
	MpJrParse	why;

	s->id_reqs2[k] = NULL;
	if (r == NULL && (e = mpl_cache_find(s, key)) != NULL)
	{
		if (e->json)
			obj2 = mp_json_own(mp_jsonrow_parse(e->json, strlen(e->json), &why), false);
	}
	else
	{
		if (r == NULL)
			r = mpl_start_path_request(s, s->id_path2, id);
		mp_request_wait(r);
		mpl_count_request(s, r);
		if (mp_request_not_found(r))
			mpl_cache_store(s, key, NULL, 0);
		else if (!mp_request_ok(r))
			mp_error_request_failed(r);
		else
		{
			if (r->buf && memchr(r->buf, '\0', r->len) == NULL)
				mpl_cache_store(s, key, r->buf, r->len);
			obj2 = mp_json_body(r, r->buf ? r->buf : "", r->len);
			if (obj2 == NULL || !cJSON_IsObject(obj2))
				mp_error_json_shape(r, "a single-object endpoint answered with something other than a JSON object");
		}
		mp_request_release(r);
	}
	if (obj2 == NULL && !s->view2_noticed)
	{
		s->view2_noticed = true;
		ereport(NOTICE,
				(errmsg("MangoPay no longer serves some %ss of \"%s\" by id: their lookup columns are NULL",
						s->b.res->object_name, RelationGetRelationName(s->b.rel)),
				 errdetail("GET %s answered 404; objects are readable for 13 months, reports list them for %d.",
						   s->id_path2, s->b.res->retention_months)));
	}
	/* the fields of the second view's own columns: its values, or none */
	for (int i = 0; i < s->b.natts; i++)
		if (s->b.maps[i].needed && s->b.maps[i].def && s->b.maps[i].pathlen > 0 &&
			mp_lookup_views(s->b.maps[i].def) == MP_VIEW_2)
			cJSON_DeleteItemFromObjectCaseSensitive(s->cur, s->b.maps[i].path[0]);
	for (int i = 0; obj2 && i < s->b.natts; i++)
	{
		cJSON	   *f;

		if (s->b.maps[i].needed && s->b.maps[i].def && s->b.maps[i].pathlen > 0 &&
			mp_lookup_views(s->b.maps[i].def) == MP_VIEW_2 &&
			(f = cJSON_DetachItemFromObjectCaseSensitive(obj2, s->b.maps[i].path[0])) != NULL)
			cJSON_AddItemToObject(s->cur, s->b.maps[i].path[0], f);
	}
	if (obj2)
		mp_json_release(obj2);
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

		int			k = s->id_consumed;

		if (s->id_path2)
			window = Max(1, window / 2);	/* two GETs per id */
		while (s->id_started < s->nids && s->id_started < s->id_consumed + window)
		{
			id = s->ids[s->id_started];
			if (s->id_path2)
				s->id_reqs2[s->id_started] = mpl_cache_find(s, mp_path_with_id(s->id_path2, id)) ?
					NULL : mpl_start_path_request(s, s->id_path2, id);
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
				if (s->id_path2)
					merge_view2(s, k, id);
				MemoryContextSwitchTo(old);
				return true;
			}
			drop_view2(s, k);
			continue;
		}
		if (r == NULL)
			r = mpl_start_id_request(s, id);
		mp_request_wait(r);
		mpl_count_request(s, r);
		if (mp_request_not_found(r))
		{
			/* the id does not exist (or is past the API's retention): no row */
			s->n_notfound++;
			s->missing = lappend(s->missing, pstrdup(id));
			mpl_cache_store(s, id, NULL, 0);
			mp_request_release(r);
			drop_view2(s, k);
			continue;
		}
		if (!mp_request_ok(r))
			mp_error_request_failed(r);
		if (r->buf && memchr(r->buf, '\0', r->len) == NULL)
			mpl_cache_store(s, id, r->buf, r->len);
		if (!take_object(s, r, r->buf ? r->buf : "", r->len))
		{
			mp_request_release(r);
			drop_view2(s, k);
			continue;
		}
		mp_request_release(r);
		if (s->id_path2)
			merge_view2(s, k, id);
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
 * planning a by-id table
 * ------------------------------------------------------------------------ */
static double
byid_plan_rows(PlannerInfo *root, RelOptInfo *baserel, MpRelInfo *ri, List *local_quals)
{
	return 1;					/* can't be scanned without ids */
}

static void
byid_plan_cost(PlannerInfo *root, MpRelInfo *ri, double rows, Cost *startup, Cost *total)
{
	if (ri->has_ids)
		mp_cost_by_id(ri->nids, rows, startup, total);
	else
		*startup = *total = MP_NO_IDS_COST;
}

static bool
byid_plan_all_pushed(const MpRelInfo *ri)
{
	return ri->plan->all_pushed;
}

static const char *
byid_no_sample(const MpResource *res)
{
	return "MangoPay has no endpoint that lists these objects.";
}

const MpPlanSource mp_byid_plan = {
	"by id", byid_plan_rows, byid_plan_cost, byid_plan_all_pushed, false, byid_no_sample,
	false
};
