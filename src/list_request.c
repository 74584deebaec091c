/*-------------------------------------------------------------------------
 * list_request.c
 *		A list request without a scan: the query string of the evaluated
 *		plan (filters, date bounds, Sort), the history floor, the remote
 *		row count (use_remote_estimate) and the ANALYZE sample.
 *-------------------------------------------------------------------------
 */
#include "listing_int.h"

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
		MpManyKind	many = mp_column_push(res, &res->cols[i]).many;

		if (!ev->vals_set[i] || ev->vals[i] == NIL || res->cols[i].filter == NULL)
			continue;
		/* a parameter of the answer, not a filter (user_emoney's Currency) */
		if (many == MP_MANY_ONE && list_length(ev->vals[i]) > 1)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("%s.%s takes one value per query", res->name, res->cols[i].name),
					 errdetail("MangoPay answers in the one %s it is sent.", res->cols[i].filter),
					 errhint("Query each value separately (UNION ALL).")));
		/*
		 * An undocumented value would get a 400, and A,B is documented only
		 * for some filters (spec §2): leave those to the local check.
		 */
		if (mp_enum_documented(&res->cols[i], ev->vals[i]) &&
			(list_length(ev->vals[i]) == 1 || many == MP_MANY_LIST))
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
		 * Always an explicit order, oldest first, also for ORDER BY ... DESC
		 * (read from the last page back, listing.c): with newest first,
		 * objects created while a scan pages would shift every later page
		 * (rows read twice or never).
		 */
		append_param(&q, "Sort", psprintf("%s:ASC", res->sort_field));
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
mp_list_remote_count(MpSettings *conn, const MpResource *res, MpEval *ev, const char *relname)
{
	bool		dropped;
	char	   *q = mp_list_query(res, ev, 0, &dropped);
	char	   *pq = psprintf("%s?page=1&per_page=1%s%s", res->list_path, *q ? "&" : "", q);
	MpRequest  *r = mp_request_new(conn, relname, "GET", mp_api_url(conn, pq, true));
	int64		n;

	r->log_path = pq;
	mp_request_wait(r);
	if (!mp_request_ok(r))
		mp_error_request_failed(r);
	n = r->hdr_items;
	mp_request_release(r);
	return n;
}

/* ------------------------------------------------------------------------
 * ANALYZE: a sample of a list endpoint
 * ------------------------------------------------------------------------ */
/*
 * Up to targrows rows from at most MP_ANALYZE_MAX_PAGES pages spread evenly
 * over the list (page 1, then pages across the whole history), and the
 * row count the API reports in X-Number-Of-Items.  Only pages are read:
 * no report is created and no per-row GET is made.
 */
int
mp_list_sample(Relation rel, MpSettings *conn, const MpResource *res, HeapTuple *rows,
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

	none.res = res;
	query = mp_list_query(res, mp_plan_evaluate(&none, NIL, NULL), 0, &dropped);
	want = Max(1, Min((targrows + per_page - 1) / per_page, MP_ANALYZE_MAX_PAGES));

	for (int k = 0; k < want && numrows < targrows; k++)
	{
		int64		page = 1;
		char	   *pq;
		MpRequest  *r;
		MemoryContext old;
		cJSON	   *j;

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
		old = MemoryContextSwitchTo(page_cxt);	/* the request and page: freed per page */
		r = mp_request_new(conn, relname, "GET", mp_api_url(conn, pq, true));
		r->log_path = pq;
		mp_request_wait(r);
		if (!mp_request_ok(r))
			mp_error_request_failed(r);
		if (page == 1)
		{
			total_pages = r->hdr_pages;
			items = r->hdr_items;
		}
		j = mp_json_body(r, r->buf, r->len);
		if (j == NULL || !cJSON_IsArray(j))
			mp_error_json_shape(r, "a list endpoint answered with something other than a JSON array");
		mp_request_release(r);
		MemoryContextSwitchTo(old);
		for (cJSON *it = j->child; it && numrows < targrows; it = it->next)
		{
			if (!cJSON_IsObject(it))
				continue;
			mp_json_to_values(it, maps, natts, values, nulls, NULL, relname);
			rows[numrows++] = heap_form_tuple(RelationGetDescr(rel), values, nulls);
		}
		MemoryContextReset(page_cxt);	/* frees j */
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
