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
 * id = / IN / = ANY become single-object GETs (byid.c: max_concurrency at
 * a time, at most max_lookups per scan); a 404 there is simply no row.
 * That mode is also the by-id source (mp_byid_source), and listing.c calls
 * byid.c, never the other way round.  Key
 * columns (client_wallet_transactions' funds_type, currency) become path
 * segments; when the WHERE clause gives none, the parents are listed first.
 *-------------------------------------------------------------------------
 */
#include "listing_int.h"

#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"


static void expand_parts(MpListScan *s, MpEval *ev, int nkeys);

/*
 * A parent-scoped list (the refunds of a pay-in, the e-money of a user's
 * month) is read per parent: the WHERE clause or a join must name every
 * key column, MangoPay has no list of all of them.
 */
static void
missing_keys(MpListScan *s, MpEval *ev)
{
	const MpResource *res = s->b.res;
	StringInfoData cols;
	StringInfoData ex;
	int			k = 0;
	bool		missing = false;

	initStringInfo(&cols);
	initStringInfo(&ex);
	for (int i = 0; i < res->ncols; i++)
	{
		const MpColumnDef *c = &res->cols[i];

		if (!(c->flags & MP_COL_KEY))
			continue;
		if (!ev->keys_set[k])
			missing = true;
		k++;
		appendStringInfo(&cols, "%s%s", cols.len ? " and " : "", c->name);
		if (c->kind == MP_CK_DATE)
			appendStringInfo(&ex, "%s%s BETWEEN date '2025-01-01' AND date '2025-06-01'",
							 ex.len ? " AND " : "", c->name);
		else
			appendStringInfo(&ex, "%s%s = '...'", ex.len ? " AND " : "", c->name);
	}
	if (!missing)
		return;
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("a query on \"%s\" must give %s", RelationGetRelationName(s->b.rel), cols.data),
			 errdetail("MangoPay lists %ss per parent (GET %s); it has no list of all of them.",
					   res->object_name, res->list_path),
			 errhint("Add WHERE %s (IN lists are read concurrently), or join the table that names them.", ex.data)));
}
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
		to_fetch = (s->nids - mpl_cached_count(s, ev->ids)) * (s->id_path2 ? 2 : 1);
		if (to_fetch > s->b.conn->max_lookups - s->lookups_total)
			mpl_lookups_exceeded(s, to_fetch);
		s->ids = palloc(sizeof(char *) * Max(1, s->nids));
		s->id_reqs = palloc0(sizeof(MpRequest *) * Max(1, s->nids));
		if (s->id_path2)
			s->id_reqs2 = palloc0(sizeof(MpRequest *) * Max(1, s->nids));
		for (int i = 0; i < s->nids; i++)
			s->ids[i] = list_nth(ev->ids, i);
	}
	else if (res->list_path == NULL && !s->no_rows)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("a query on \"%s\" must give the ids to fetch", RelationGetRelationName(s->b.rel)),
				 errdetail("MangoPay has no endpoint that lists %ss; each is read by id.", res->object_name),
				 errhint("Add WHERE id = '...' or id IN (...), or join the table that names the ids on id (for example disputes d JOIN repudiations r ON r.id = d.repudiation_id).")));
	else if (!s->no_rows && mp_resource_key_count(res) > 0 && res->enumerate_path == NULL)
		missing_keys(s, ev);

	/*
	 * A transaction list under a parent that never expires (a bank account,
	 * a dispute, a client wallet) omits the children older than 13 months
	 * (spec §11): a query that reaches further back is told where they are.
	 */
	if (res->child_retention_months > 0 && !s->no_rows && !s->retention_noticed &&
		(!ev->have_lo ||
		 mp_timestamptz_to_unix_floor(ev->lo) < (int64) time(NULL) -
		 (int64) res->child_retention_months * 31 * 86400 + 86400))
	{
		s->retention_noticed = true;
		ereport(NOTICE,
				(errmsg("MangoPay lists only the last %d months of \"%s\": older rows are not returned",
						res->child_retention_months, RelationGetRelationName(s->b.rel)),
				 errdetail("A transaction is readable through the API for %d months after its creation, also in the lists of a parent that does not expire.",
						   res->child_retention_months),
				 errhint("The transactions report (table transactions) holds 36 months: read older rows there by creation_date.")));
	}

	/* the list request: filters, date bounds, Sort */
	s->query = mp_list_query(res, ev, s->b.plan->sort_dir, &filter_dropped);
	s->per_page = s->b.conn->page_size;
	s->pages_needed = -1;
	s->reverse = s->b.plan->sort_dir < 0 && res->sort_field != NULL && !res->list_object;
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
	{
		expand_parts(s, ev, mp_resource_key_count(res));
		/* (every key combination named nothing) */
		if (s->nparts == 0)
			s->no_rows = true;
	}
	MemoryContextSwitchTo(old);
	s->started = true;
}

/* the k-th key column holds first-of-month dates */
static bool
key_is_month(const MpResource *res, int k)
{
	for (int i = 0; i < res->ncols; i++)
		if ((res->cols[i].flags & MP_COL_KEY) && k-- == 0)
			return res->cols[i].kind == MP_CK_DATE;
	return false;
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
			const char *v = p->keyvals[c[1] - '0'];

			/* a month key "YYYY-MM-01" is the path's {Year}/{Month} */
			if (key_is_month(s->b.res, c[1] - '0') && strlen(v) == 10)
				appendStringInfo(&b, "%.4s/%.2s", v, v + 5);
			else
				appendStringInfoString(&b, mp_url_escape(v));
			c += 2;
		}
		else
			appendStringInfoChar(&b, *c);
	}
	return b.data;
}

/*
 * An SCA-gated list (GET /users/{UserId}/wallets, spec §11): whose it is,
 * for the ERROR when the user must act ("user \"user_m_...\""), read from
 * the path between the template's text around {0}.
 */
static const char *
sca_list_subject(MpListScan *s, const char *path)
{
	const char *tmpl = s->b.res->list_path;
	const char *k = strstr(tmpl, "{0}");
	const MpColumnDef *key = NULL;
	size_t		pre,
				post,
				n = strlen(path);
	char	   *noun;

	if (k == NULL)
		return NULL;
	pre = k - tmpl;
	post = strlen(k + 3);
	if (n < pre + post)
		return NULL;
	for (int i = 0; i < s->b.res->ncols && key == NULL; i++)
		if (s->b.res->cols[i].flags & MP_COL_KEY)
			key = &s->b.res->cols[i];
	/* "user_id" → "user" */
	noun = pstrdup(key ? key->name : "parent");
	if (strlen(noun) > 3 && strcmp(noun + strlen(noun) - 3, "_id") == 0)
		noun[strlen(noun) - 3] = '\0';
	return psprintf("%s \"%.*s\"", noun, (int) (n - pre - post), path + pre);
}

MpRequest *
mpl_page_request(MpListScan *s, const char *path, int64 page, int per_page, const char *query)
{
	const char *sca = s->b.res->sca ? psprintf("%sScaContext=%s", query && *query ? "&" : "",
											  s->b.conn->sca_context) : "";
	char	   *pq = s->b.res->list_object ?
		psprintf("%s%s%s%s", path, (query && *query) || *sca ? "?" : "", query ? query : "", sca) :
		psprintf("%s?page=" INT64_FORMAT "&per_page=%d%s%s%s", path, page, per_page,
				 (query && *query) || *sca ? "&" : "", query ? query : "", sca);
	MpRequest  *r = mp_request_new(s->b.conn, RelationGetRelationName(s->b.rel), "GET",
								   mp_api_url(s->b.conn, pq, true));

	if (s->b.res->sca)
		r->sca_subject = sca_list_subject(s, path);
	r->log_path = pq;
	if (s->first_query == NULL)
		s->first_query = pq;
	return r;
}

/* parse a finished list page; errors name the resource and the request */
cJSON *
mpl_parse_page(MpListScan *s, MpRequest *r)
{
	cJSON	   *j;

	mpl_count_request(s, r);
	if (!mp_request_ok(r))
		mp_error_request_failed(r);
	j = mp_json_body(r, r->buf, r->len);	/* owned by the current context */
	if (j == NULL)
		mp_error_json_shape(r, "the body is not valid JSON (or nests too deeply)");
	if (s->b.res->list_object && cJSON_IsObject(j))
		j = mp_json_in_array(j);	/* one object per parent: a page of one row */
	if (!cJSON_IsArray(j))
		mp_error_json_shape(r, "a list endpoint answered with something other than a JSON array");
	for (cJSON *it = j->child; it; it = it->next)
		if (!cJSON_IsObject(it))
			mp_error_json_shape(r, "an element of the list is not a JSON object");
	s->n_pages++;
	return j;
}

/* a page that failed its check, read once more (list_check.c) */
static cJSON *
reread_page(MpListScan *s, const char *path, int64 page, MpRequest **r)
{
	*r = mpl_page_request(s, path, page, s->per_page, s->query);
	mp_request_start(*r);
	mp_request_wait(*r);
	return mpl_parse_page(s, *r);
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
				Part	   *p = &s->parts[s->nparts];

				p->keyvals[0] = list_nth(ev->keys[0], i);
				if (nkeys > 1)
					p->keyvals[1] = list_nth(ev->keys[1], k);
				if (nkeys > 1 && s->b.res->keys_differ &&
					strcmp(p->keyvals[0], p->keyvals[1]) == 0)
					continue;
				s->nparts++;
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
			MpRequest  *r = mpl_page_request(s, s->b.res->enumerate_path, page, 100, NULL);
			cJSON	   *j;
			int			n = 0;

			mp_request_wait(r);
			j = mpl_parse_page(s, r);
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
			mp_json_release(j);
			mp_request_release(r);
			if ((total >= 0 && page >= total) || (total < 0 && n < 100) || n == 0)
				break;
			page++;
		}
	}
}

/* the scan's context is reset or deleted: its reset callback frees s->cur */
static void
cur_cb(void *arg)
{
	MpListScan *s = (MpListScan *) arg;

	s->cur = s->cur_it = NULL;
	s->cur_idx = s->cur_n = 0;
}

static void
start_part(MpListScan *s)
{
	s->total_pages = -1;
	s->next_page = 1;
	s->last_requested = 0;
	s->part_done = false;
	memset(s->window, 0, sizeof(s->window));
	s->rev_known = false;
	s->part_rows = 0;
	mpl_seen_reset(s);
}

/* the page number sent for the executor's page-th page */
static int64
phys_page(MpListScan *s, int64 page)
{
	if (s->reverse && s->rev_known)
		return Max(1, s->total_pages - page + 1);
	return page;
}

/*
 * Newest first: page 1 (oldest first) gave the count.  A LIMIT needs the
 * last page, which holds what is left over from full pages, and as many
 * before it as the rest of the LIMIT fills; a LIMIT within one page picks
 * the page size whose last page holds it, so one page is read.  True when
 * page 1 as read is the whole list.
 */
static bool
reverse_known(MpListScan *s, MpRequest *r)
{
	int64		items = r->hdr_items;
	int64		limit = s->b.plan->limit_hint;

	if (r->hdr_pages < 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("MangoPay did not say how many pages \"%s\" has", RelationGetRelationName(s->b.rel)),
				 errdetail("A newest-first scan reads the list oldest first from its last page back, and needs X-Number-Of-Pages (GET %s).",
						   r->log_path),
				 errhint("Leave out ORDER BY ... DESC, or sort the rows locally (ORDER BY an expression).")));
	s->rev_known = true;
	s->total_pages = r->hdr_pages;
	if (s->pages_needed <= 0 || s->total_pages <= 1)
		return s->total_pages <= 1;
	if (items > limit && limit <= s->b.conn->page_size)
	{
		for (int p = s->b.conn->page_size; p >= limit && p > s->per_page; p--)
			if (items % p == 0 || items % p >= limit)
			{
				s->per_page = p;
				s->total_pages = (items + p - 1) / p;
				s->pages_needed = 1;
				return false;
			}
	}
	{
		int64		last_rows = s->per_page;

		if (items >= 0)
			last_rows = items - (s->total_pages - 1) * s->per_page;
		if (last_rows <= 0 || last_rows > s->per_page)
			last_rows = s->per_page;
		s->pages_needed = limit <= last_rows ? 1 :
			1 + (limit - last_rows + s->per_page - 1) / s->per_page;
	}
	return false;
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
		MpRequest  *r = mpl_page_request(s, path, phys_page(s, p), s->per_page, s->query);

		mp_request_start(r);
		s->window[p % MP_MAX_WINDOW] = r;
		s->last_requested = p;
	}
}

/*
 * A parent-scoped list (no list of the parents to enumerate) keeps the
 * answer of a parent that fits one page across rescans, as the by-id
 * tables keep objects: a join that names a parent twice reads it once.
 */
static bool
keeps_parents(MpListScan *s)
{
	return mp_resource_key_count(s->b.res) > 0 && s->b.res->enumerate_path == NULL;
}


/*
 * Lookup columns of a list (reporting_reports' filters, dates, columns):
 * the list returns reduced items, so each item of the page is completed
 * with the object read by id (max_concurrency GETs at a time, counted
 * against max_lookups).  An object gone since the list (404) keeps the
 * item as listed: its lookup columns are NULL.
 */
static void
lookup_page(MpListScan *s, cJSON *page)
{
	int			n = cJSON_GetArraySize(page);
	cJSON	  **items = palloc(sizeof(cJSON *) * Max(1, n));
	MpRequest **reqs = palloc0(sizeof(MpRequest *) * Max(1, n));
	int			window = s->b.conn->max_concurrency;
	int			started = 0;
	int			i = 0;

	for (cJSON *it = page->child; it; it = it->next)
		items[i++] = it;
	for (int done = 0; done < n; done++)
	{
		MpRequest  *r;
		cJSON	   *full;

		for (; started < n && started < done + window; started++)
		{
			cJSON	   *id = cJSON_GetObjectItemCaseSensitive(items[started], "Id");

			if (cJSON_IsString(id))
				reqs[started] = mpl_start_id_request(s, id->valuestring);
		}
		if ((r = reqs[done]) == NULL)
			continue;
		mp_request_wait(r);
		mpl_count_request(s, r);
		if (mp_request_not_found(r))
		{
			mp_request_release(r);
			continue;
		}
		if (!mp_request_ok(r))
			mp_error_request_failed(r);
		full = mp_json_lenient(r);
		if (full == NULL || !cJSON_IsObject(full))
			mp_error_json_shape(r, "a single-object endpoint answered with something other than a JSON object");
		mp_request_release(r);
		/* the object's fields over the item's; list-only fields stay */
		while (full->child)
		{
			cJSON	   *f = cJSON_DetachItemViaPointer(full, full->child);

			cJSON_DeleteItemFromObjectCaseSensitive(items[done], f->string);
			cJSON_AddItemToObject(items[done], f->string, f);
		}
		mp_json_release(full);
	}
}

/*
 * Several parents (an IN list, = ANY of an array): page 1 of the next
 * max_concurrency parents is in flight while the current one is read.
 */
static void
prefetch_parts(MpListScan *s)
{
	int			window = Min(s->b.conn->max_concurrency, MP_MAX_WINDOW);

	if (s->nparts < 2)
		return;
	if (s->part_first == NULL)
	{
		s->part_first = palloc0(sizeof(MpRequest *) * s->nparts);
		s->parts_started = s->part_idx + 1;	/* the current one is read as before */
	}
	while (s->parts_started < s->nparts && s->parts_started < s->part_idx + window)
	{
		int			i = s->parts_started++;
		char	   *path = part_path(s, &s->parts[i]);
		MpRequest  *r;

		if (keeps_parents(s) && mpl_cache_find(s, path))
			continue;			/* read before: no request */
		r = mpl_page_request(s, path, 1, s->per_page, s->query);
		mp_request_start(r);
		s->part_first[i] = r;
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
		int64		page;

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
		if (s->next_page == 1 && keeps_parents(s))
		{
			bool		hit;

			j = mpl_cached_page(s, path, &hit);
			if (hit)
			{
				s->part_done = true;
				s->next_page++;
				if (j == NULL)
					continue;
				if (s->reverse)
					mpl_reverse_page(j);	/* kept as read, oldest first */
				prefetch_parts(s);
				if (s->provenance)
					s->cur_source = psprintf("GET %s?page=1", path);
				s->cur = j;
				s->cur_it = j->child;
				s->cur_n = cJSON_GetArraySize(j);
				s->cur_idx = 0;
				MemoryContextSwitchTo(old);
				return true;
			}
		}
		prefetch_parts(s);
		page = phys_page(s, s->next_page);
		r = s->window[s->next_page % MP_MAX_WINDOW];
		if (s->next_page == 1 && !s->rev_known && s->part_first && s->part_first[s->part_idx])
		{
			r = s->part_first[s->part_idx];
			s->part_first[s->part_idx] = NULL;
			s->last_requested = 1;
		}
		else if (r == NULL || s->last_requested < s->next_page)
		{
			r = mpl_page_request(s, path, page, s->per_page, s->query);
			mp_request_start(r);
			s->last_requested = s->next_page;
		}
		s->window[s->next_page % MP_MAX_WINDOW] = NULL;
		mp_request_wait(r);
		if (mp_resource_key_count(s->b.res) > 0 && mp_request_not_found(r) &&
			s->b.res->parent_404_hint)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("MangoPay does not list the %ss of \"%s\" for \"%s\"",
							s->b.res->object_name, part->keyvals[0], RelationGetRelationName(s->b.rel)),
					 errdetail("GET %s answered 404 (ressource_not_found): no such parent, rather than no rows.",
							   r->log_path),
					 errhint("%s", s->b.res->parent_404_hint)));
		if (mp_resource_key_count(s->b.res) > 0 && mp_request_not_found(r))
		{
			/* a wallet asked for by key that does not exist: no rows */
			mpl_count_request(s, r);
			if (s->next_page == 1 && keeps_parents(s))
				mpl_cache_store(s, path, NULL, 0);
			mp_request_release(r);
			s->part_done = true;
			continue;
		}
		j = mpl_parse_page(s, r);
		if (s->reverse && !s->rev_known)
		{
			/* page 1, oldest first: the count; the scan starts at the last page */
			mpl_check_page(s, path, 1, &r, &j, false, reread_page);
			if (!reverse_known(s, r))
			{
				mp_json_release(j);
				mp_request_release(r);
				s->last_requested = 0;
				continue;
			}
			/* one page (or none): this is it */
		}
		if (!s->reverse && (s->next_page == 1 || s->total_pages < 0))
			s->total_pages = r->hdr_pages;
		mpl_check_page(s, path, page, &r, &j, true, reread_page);
		if (!s->reverse && (s->next_page == 1 || s->total_pages < 0))
			s->total_pages = r->hdr_pages;	/* of the second read, if there was one */
		n = cJSON_GetArraySize(j);
		if (s->total_pages < 0 && (n < s->per_page && !r->hdr_link_next))
			s->part_done = true;
		if (r->hdr_link_seen && !r->hdr_link_next && s->total_pages < 0)
			s->part_done = true;
		if (s->next_page == 1 && keeps_parents(s) && r->buf && memchr(r->buf, '\0', r->len) == NULL &&
			(s->total_pages == 1 || (s->total_pages < 0 && s->part_done) || n == 0))
			mpl_cache_store(s, path, r->buf, r->len);
		mp_request_release(r);
		s->next_page++;
		if (n == 0)
		{
			mp_json_release(j);
			s->part_done = true;
			continue;
		}
		if (s->reverse)
			mpl_reverse_page(j);
		prefetch(s, path);
		if (s->lookups)
			lookup_page(s, j);
		if (s->provenance)
			s->cur_source = psprintf("GET %s?page=%lld", path, (long long) (s->next_page - 1));
		s->cur = j;
		s->cur_it = j->child;
		s->cur_n = n;
		s->cur_idx = 0;
		MemoryContextSwitchTo(old);
		return true;
	}
}


static void *
list_begin(ForeignScanState *node, MpPlan *plan, MpSettings *conn)
{
	MpListScan *s = palloc0(sizeof(MpListScan));

	s->json_view = mp_plan_report_by_id(plan);	/* payouts by id */
	mp_scan_base_init(&s->b, node, plan, conn, cur_cb, s);
	s->provenance = mp_has_provenance(s->b.maps, s->b.natts);
	s->id_path = mpl_id_paths(plan->res, s->b.maps, s->b.natts, s->json_view, &s->id_path2);
	for (int i = 0; i < s->b.natts && !s->json_view; i++)
		if (s->b.maps[i].needed && s->b.maps[i].def && (s->b.maps[i].def->flags & MP_COL_LOOKUP))
			s->lookups = plan->res->single_path != NULL;
	s->cache_cxt = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw objects by id",
										 ALLOCSET_DEFAULT_SIZES);
	s->seen_cxt = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw rows returned",
										ALLOCSET_DEFAULT_SIZES);
	if (s->json_view && plan->res->fixed_filters)
		s->fixed = mpl_parse_fixed(s, plan->res->fixed_filters);
	return s;
}

static bool
list_next(void *scan, TupleTableSlot *slot)
{
	MpListScan *s = scan;

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
			if (s->provenance)
			{
				const cJSON *id = cJSON_GetObjectItemCaseSensitive(obj, "Id");

				mp_fill_provenance(s->b.maps, s->b.natts, slot->tts_values, slot->tts_isnull,
								   !s->by_id ? s->cur_source :
								   cJSON_IsString(id) ?
								   psprintf("GET %s", mp_path_with_id(s->id_path,
																	  id->valuestring)) : NULL);
			}
			ExecStoreVirtualTuple(slot);
			s->n_rows++;
			mp_stats.rows_returned++;
			return true;
		}
		mpl_free_cur(s);
		if (s->by_id ? !mpl_next_by_id(s) : !next_page(s))
			return false;
	}
}

/*
 * Asynchronous execution: would list_next return without waiting?  A
 * plain list (one partition, no lookups) starts the page it reads next and
 * answers whether it is in; every other shape says yes and reads as it
 * always does (waiting, while curl drives every scan's transfers).
 */
static bool
list_ready(void *scan)
{
	MpListScan *s = scan;
	MpRequest  *r;
	MemoryContext old;

	if (!s->started)
		evaluate(s);
	if (s->no_rows || s->by_id || s->lookups || s->nparts != 1 || s->part_done ||
		(s->cur && s->cur_idx < s->cur_n) ||
		(s->total_pages >= 0 && s->next_page > s->total_pages))
		return true;
	r = s->window[s->next_page % MP_MAX_WINDOW];
	if (r == NULL || s->last_requested < s->next_page)
	{
		/* the request next_page() would start: started here, found there */
		old = MemoryContextSwitchTo(s->b.cxt);
		r = mpl_page_request(s, part_path(s, &s->parts[0]), phys_page(s, s->next_page),
							 s->per_page, s->query);
		mp_request_start(r);
		s->window[s->next_page % MP_MAX_WINDOW] = r;
		s->last_requested = s->next_page;
		MemoryContextSwitchTo(old);
	}
	return r->state == MP_REQ_DONE;
}

static void
list_rescan(void *scan)
{
	MpListScan *s = scan;

	mp_scan_base_reset(&s->b);	/* releases every request in flight, and cur */
	s->started = false;
	s->parts = NULL;
	s->nparts = 0;
	s->part_idx = 0;
	s->part_first = NULL;
	s->parts_started = 0;
	s->ids = NULL;
	s->id_reqs = NULL;
	s->id_reqs2 = NULL;
	s->nids = s->id_started = s->id_consumed = 0;
	s->missing = NIL;
	s->first_query = NULL;
	start_part(s);
}

/* by id: the GET of each id (a report table's: the view its columns need) */
const char *
mp_list_id_path(MpListScan *s)
{
	return s->id_path;
}

/* by id: the ids the API answered 404 for (in the scan's context) */
List *
mp_list_missing_ids(MpListScan *s)
{
	return s->missing;
}

static void
list_end(void *scan)
{
	MpListScan *s = scan;

	mpl_free_cur(s);
	MemoryContextDelete(s->b.cxt);
	MemoryContextDelete(s->cache_cxt);
	MemoryContextDelete(s->seen_cxt);
}


static void
list_explain(void *scan, MpPlan *plan, ForeignScanState *node, ExplainState *es)
{
	MpListScan *s = scan;
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
	{
		/* the view(s) of the object the columns need: also without a scan */
		Relation	rel = node->ss.ss_currentRelation;
		const char *path2 = NULL;
		const char *path = s ? s->id_path :
			mpl_id_paths(res, mp_build_colmaps(rel, res, plan->needed,
											   bms_is_member(0 - FirstLowInvalidHeapAttributeNumber,
															 plan->needed),
											   mp_plan_report_by_id(plan)),
						 RelationGetDescr(rel)->natts, mp_plan_report_by_id(plan), &path2);

		if (s)
			path2 = s->id_path2;
		appendStringInfo(&q, "GET %s%s%s for each id", path, path2 ? " and GET " : "",
						 path2 ? path2 : "");
	}
	else if (res->list_path)
	{
		appendStringInfo(&q, "GET %s", res->list_path);
		/* newest first: oldest first from the last page back (list_check.c) */
		if (plan->sort_dir != 0)
			appendStringInfo(&q, " Sort=%s:ASC%s", res->sort_field,
							 plan->sort_dir < 0 && !res->list_object ? ", last page first (newest first)" : "");
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
			if (!s->by_id && s->n_rereads > 0)
				ExplainPropertyInteger("MangoPay Pages Read Twice", NULL, s->n_rereads, es);
			if (!s->by_id && s->n_cache_hits > 0)
				ExplainPropertyInteger("MangoPay Parents From Cache", NULL, s->n_cache_hits, es);
			if (s->by_id)
			{
				ExplainPropertyInteger("MangoPay Not Found", NULL, s->n_notfound, es);
				ExplainPropertyInteger("MangoPay Ids From Cache", NULL, s->n_cache_hits, es);
			}
			/* depends on what else the cluster's sessions ask: with timing */
			if (es->timing)
				ExplainPropertyInteger("MangoPay Rate Budget Waits", NULL, s->n_budget_waits, es);
		}
	}
}

/* ------------------------------------------------------------------------
 * the list source
 * ------------------------------------------------------------------------ */
const MpSource mp_list_source = {
	"list", list_begin, list_next, list_rescan, list_end, list_explain, list_ready
};

/* the by-id source: the same scan, its ids read by byid.c's GETs and cache */
const MpSource mp_byid_source = {
	"by id", list_begin, list_next, list_rescan, list_end, list_explain
};

/* ------------------------------------------------------------------------
 * planning a list table
 * ------------------------------------------------------------------------ */
static double
list_plan_rows(PlannerInfo *root, RelOptInfo *baserel, MpRelInfo *ri, List *local_quals)
{
	const MpResource *res = ri->res;

	if (ri->settings->use_remote_estimate && mp_resource_key_count(res) == 0)
	{
		/* ask the API: X-Number-Of-Items of a per_page=1 request */
		MpSettings *conn = mp_get_settings(baserel->serverid, ri->userid);
		MpEval	   *ev = mp_plan_evaluate_consts(root, ri->plan);
		int64		n = ev->no_rows ? 0 :
			mp_list_remote_count(conn, res, ev, get_rel_name(ri->relid));

		return (n >= 0 ? (double) n : mp_resource_typical_rows(res)) *
			clauselist_selectivity(root, local_quals, 0, JOIN_INNER, NULL);
	}
	/* ANALYZE recorded the table's size; else the table's typical size */
	return (baserel->tuples > 0 ? baserel->tuples : mp_resource_typical_rows(res)) *
		clauselist_selectivity(root, baserel->baserestrictinfo, 0, JOIN_INNER, NULL);
}

/* pages of page_size rows; by id when the WHERE clause names ids */
static void
list_plan_cost(PlannerInfo *root, MpRelInfo *ri, double rows, Cost *startup, Cost *total)
{
	const MpResource *res = ri->res;
	double		requests;

	if (ri->has_ids)
	{
		mp_cost_by_id(ri->nids, rows, startup, total);
		return;
	}
	if (res->list_path == NULL || (mp_resource_needs_parents(res) && !ri->keys_given))
	{
		*startup = *total = MP_NO_IDS_COST;
		return;
	}
	requests = Max(1.0, ceil(rows / Max(1, ri->settings->page_size)));
	*startup = MP_REQUEST_COST;
	*total = MP_REQUEST_COST * requests + rows * cpu_tuple_cost * 4;
}

static bool
list_plan_all_pushed(const MpRelInfo *ri)
{
	return ri->plan->all_pushed;
}

static const char *
list_no_sample(const MpResource *res)
{
	if (mp_resource_key_count(res) == 0)
		return NULL;			/* ANALYZE reads a few pages */
	return mp_resource_needs_parents(res) ?
		"MangoPay lists these objects per parent only." :
		"Its rows are listed per key value (funds type and currency).";
}

const MpPlanSource mp_list_plan = {
	"list", list_plan_rows, list_plan_cost, list_plan_all_pushed, false, list_no_sample,
	true
};
