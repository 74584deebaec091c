/*-------------------------------------------------------------------------
 * report_request.c
 *		What a report scan asks for: a window's definition (Filters,
 *		Columns, Sort, Tag), the date range and the API's retention, and the
 *		windows × key values the range is split into.
 *-------------------------------------------------------------------------
 */
#include "report_int.h"

/* ------------------------------------------------------------------------
 * request building
 * ------------------------------------------------------------------------ */
const char *
mpr_partval(MpReportScan *s, int part, int k)
{
	return s->parts ? s->parts[part * 2 + k] : NULL;
}

/* the report definition of one window, as JSON; Tag left out */
cJSON *
mpr_definition(MpReportScan *s, ScanReport *w)
{
	const MpResource *res = s->b.res;
	cJSON	   *b = mp_json_own(cJSON_CreateObject(), false);
	cJSON	   *f = cJSON_Duplicate(s->filters, true);	/* into b below: no ERROR in between */
	int64		after = w->start - 1;
	int64		before = w->end;
	int			k = 0;

	/* asked one second wider, but never past the API's retention */
	if (after < s->floor_from)
		after = w->start;

	/* key columns are filters (user_wallet_transactions' user_id, wallet_id) */
	for (int i = 0; i < res->ncols; i++)
		if (res->cols[i].flags & MP_COL_KEY)
		{
			const char *v = mpr_partval(s, w->part, k++);

			if (v)
				cJSON_AddStringToObject(f, res->cols[i].filter, v);
		}
	cJSON_AddStringToObject(b, "DownloadFormat", "CSV");
	if (res->report_v2)
	{
		cJSON_AddStringToObject(b, "ReportType", res->report_type);
		cJSON_AddStringToObject(b, "Sort", s->sort);
		cJSON_AddNumberToObject(b, "AfterDate", (double) after);
		cJSON_AddNumberToObject(b, "BeforeDate", (double) before);
	}
	else
	{
		cJSON_AddStringToObject(b, "Sort", s->sort);
		cJSON_AddFalseToObject(b, "Preview");
		cJSON_AddNumberToObject(f, "AfterDate", (double) after);
		cJSON_AddNumberToObject(f, "BeforeDate", (double) before);
	}
	cJSON_AddItemToObject(b, "Filters", f);
	if (s->columns)
		cJSON_AddItemToObject(b, "Columns", cJSON_Duplicate(s->columns, true));
	return b;
}

/* "mangopay_fdw <hash of the definition>": how a reusable report is found */
char *
mpr_definition_tag(MpReportScan *s, cJSON *def)
{
	char	   *t = cJSON_PrintUnformatted(def);
	unsigned char h[SHA256_DIGEST_LENGTH];
	char		hex[2 * 12 + 1];

	SHA256((unsigned char *) t, strlen(t), h);
	cJSON_free(t);
	for (int i = 0; i < 12; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	return psprintf("mangopay_fdw %s %s", s->b.res->report_type, hex);
}

/* ------------------------------------------------------------------------
 * planning the windows
 * ------------------------------------------------------------------------ */
/* the oldest time a report of this type may start at */
static int64
retention_floor(const MpResource *res, int64 now)
{
	/*
	 * An hour inside the limit: the API checks against its own, later clock.
	 * (The Reporting Service goes back 24 months, spec §4b.)
	 */
	return mp_clamp_retention(INT64_MIN, now, res->retention_months, 3600);
}

/* is name in the Columns array already? */
static bool
columns_has(const cJSON *cols, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cols)
	{
		if (cJSON_IsString(c) && strcmp(c->valuestring, name) == 0)
			return true;
	}
	return false;
}

/* window size in months, as mpr_build_request() splits */
int
mpr_window_months(const MpResource *res)
{
	return res->window_strict ? res->window_months - 1 : res->window_months;
}

/*
 * The longest window in seconds (0: months only).  A window [s, e) is asked
 * for as AfterDate s - 1, BeforeDate e: one second shorter than the limit.
 */
static int64
window_max_secs(const MpResource *res)
{
	return res->window_max_days > 0 ? (int64) res->window_max_days * 86400 - 1 : 0;
}

/*
 * At plan time: how many reports a scan with these (constant) bounds
 * creates, per key value.  0 when the range is empty.
 */
int
mp_report_estimate_windows(const MpResource *res, MpEval *ev)
{
	int64		now = (int64) time(NULL);
	int64		from = retention_floor(res, now);
	int64		to = now + 1;

	if (ev->no_rows)
		return 0;
	if (ev->have_lo)
		from = Max(from, mp_timestamptz_to_unix_floor(ev->lo));
	if (ev->have_hi)
		to = Min(to, mp_timestamptz_to_unix_floor(ev->hi) + 1);
	if (from >= to)
		return 0;
	return Max(1, mp_split_windows_span(from, to, mpr_window_months(res), true,
										window_max_secs(res), NULL, 0));
}

/*
 * The one currency the WHERE clause fixes for the amount column ci
 * ("DebitedFundsAmount" → the column whose field is DebitedFundsCurrency;
 * for wallets also the Currency filter), or NULL.
 */
static const char *
bound_currency(MpReportScan *s, int ci)
{
	const MpResource *res = s->b.res;
	MpEval	   *ev = s->ev;
	const char *fallback = NULL;

	for (int i = 0; i < res->ncols; i++)
	{
		int			m = mp_amount_currency(&res->cols[ci], &res->cols[i]);

		if (m == 0 || !ev->vals_set[i] || list_length(ev->vals[i]) != 1)
			continue;
		if (m == 2)
			return linitial(ev->vals[i]);
		fallback = linitial(ev->vals[i]);
	}
	return fallback;
}

/*
 * Min<F>/Max<F> of a pushed amount bound (already widened so that both an
 * inclusive and an exclusive reading return every matching row), with
 * Min/Max<Base>Currency, when the query fixes one currency; without one
 * nothing is sent (the local check filters: an amount is only comparable
 * within a currency, and the API may refuse a bound without it).
 */
static void
add_amount_bounds(MpReportScan *s, int ci)
{
	const char *f = s->b.res->cols[ci].filter;
	const char *ccy = bound_currency(s, ci);
	int			base = (int) (strlen(f) - strlen("Amount"));

	if (ccy == NULL)
		return;

	for (int k = 0; k < 2; k++)
	{
		const char *mm = k == 0 ? "Min" : "Max";

		if (!(k == 0 ? s->ev->have_min[ci] : s->ev->have_max[ci]))
			continue;
		cJSON_AddNumberToObject(s->filters, psprintf("%s%s", mm, f),
								(double) (k == 0 ? s->ev->min[ci] : s->ev->max[ci]));
		cJSON_AddStringToObject(s->filters, psprintf("%s%.*sCurrency", mm, base, f), ccy);
	}
}

void
mpr_build_request(MpReportScan *s)
{
	const MpResource *res = s->b.res;
	MpEval	   *ev = s->ev;
	int64		now = (int64) time(NULL);
	int64		from,
				to,
				floor_from;
	int			nkeys = mp_resource_key_count(res);
	bool		all = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, s->b.plan->needed);
	bool		want_attrs = all;
	bool		optional = false;
	MpWindow   *wins;
	int			nwins;
	int64		granule = Max(60, s->b.conn->report_max_age_s);

	/* Filters: fixed ones (payouts), then what the WHERE clause pushes (owned by the scan's context) */
	s->filters = mp_json_own(res->fixed_filters ? cJSON_Parse(res->fixed_filters) : cJSON_CreateObject(),
							 false);
	for (int i = 0; i < res->ncols; i++)
	{
		const MpColumnDef *col = &res->cols[i];

		if (ev->vals_set[i] && ev->vals[i] != NIL && col->filter &&
			mp_enum_documented(col, ev->vals[i]) &&
			!cJSON_HasObjectItem(s->filters, col->filter))
		{
			if (mp_column_push(res, col).many != MP_MANY_LIST)
			{
				/* one value only (IN with several is checked locally) */
				if (list_length(ev->vals[i]) == 1)
					cJSON_AddStringToObject(s->filters, col->filter, linitial(ev->vals[i]));
			}
			else
			{
				cJSON	   *a = cJSON_AddArrayToObject(s->filters, col->filter);
				ListCell   *lc;

				foreach(lc, ev->vals[i])
					cJSON_AddItemToArray(a, cJSON_CreateString(lfirst(lc)));
			}
		}
		if (ev->have_min[i] || ev->have_max[i])
			add_amount_bounds(s, i);
	}

	/* Columns: what the query reads (plus the date column and Id for our own use) */
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];

		if (m->colname && m->is_attrs && m->needed)
			want_attrs = true;
		if (m->colname && m->needed && m->def && (m->def->flags & MP_COL_OPTIONAL))
			optional = true;
		if (m->colname && m->needed && m->def && (m->def->flags & MP_COL_LOOKUP))
			s->need_lookups = true;
		if (m->colname && m->needed && !m->is_attrs && !m->is_key &&
			!(m->def && (m->def->flags & MP_COL_REPORTED)) &&
			(m->def == NULL || strcmp(m->field, m->def->field) != 0))
			optional = true;	/* a field of its own: not in the default set */
	}
	s->views = mp_lookup_views_read(s->b.maps, s->b.natts);
	if (want_attrs && !optional)
		s->columns = NULL;		/* the whole default row */
	else
	{
		s->columns = mp_json_own(cJSON_CreateArray(), false);
		for (int i = 0; i < res->ncols; i++)
		{
			const MpColumnDef *col = &res->cols[i];
			bool		take = false;

			if (col->flags & (MP_COL_ATTRS | MP_COL_KEY | MP_COL_LOOKUP | MP_COL_REPORTED))
				continue;
			if (want_attrs && !(col->flags & MP_COL_OPTIONAL))
				take = true;
			if ((col->flags & MP_COL_DATE) || (strcmp(col->field, "Id") == 0 && s->need_lookups))
				take = true;
			for (int a = 0; a < s->b.natts && !take; a++)
				if (s->b.maps[a].needed && s->b.maps[a].def == col)
					take = true;
			if (take)
				cJSON_AddItemToArray(s->columns, cJSON_CreateString(col->field));
		}
		/*
		 * a referenced column whose field is not a descriptor's (the field
		 * option, a hand-defined table): requested by that name, so that it
		 * is read or the API refuses it, never silently NULL
		 */
		for (int a = 0; a < s->b.natts; a++)
		{
			MpColMap   *m = &s->b.maps[a];

			if (m->colname == NULL || !m->needed || m->is_attrs || m->is_key ||
				(m->def && (m->def->flags & MP_COL_LOOKUP)) ||
				(m->def && strcmp(m->field, m->def->field) == 0) ||
				columns_has(s->columns, m->field))
				continue;
			cJSON_AddItemToArray(s->columns, cJSON_CreateString(m->field));
		}
		if (cJSON_GetArraySize(s->columns) == 0)
			cJSON_AddItemToArray(s->columns, cJSON_CreateString(res->cols[0].field));
	}
	s->sort = (s->b.plan->sort_dir < 0) ? MPR_SORT_FIELD ":DESC" : MPR_SORT_FIELD ":ASC";

	/* the range: the query's, within the API's retention */
	floor_from = retention_floor(res, now);
	s->floor_from = floor_from;
	from = floor_from;
	if (ev->have_lo)
	{
		int64		lo = mp_timestamptz_to_unix_floor(ev->lo);
		int64		asked = lo;

		/* rounded down like "now" below, so that a reusable report matches */
		if (s->b.conn->report_max_age_s > 0)
			lo = (lo / granule) * granule;
		if (asked < floor_from)
			ereport(NOTICE,
					(errmsg("MangoPay keeps %s data for %d months: rows before %s are not returned",
							res->report_type, res->retention_months,
							timestamptz_to_str(time_t_to_timestamptz((pg_time_t) floor_from)))));
		else
			from = Max(lo, floor_from);	/* rounding never crosses the limit */
	}
	/*
	 * Up to now, inclusive (the window is [from, to)); rounded down only when
	 * report_max_age_s asks for reuse, so that reruns find the same definition.
	 */
	to = s->b.conn->report_max_age_s > 0 ? (now / granule) * granule : now + 1;
	if (ev->have_hi)
	{
		int64		hi = mp_timestamptz_to_unix_floor(ev->hi) + 1;

		if (hi < to)
			to = hi;
	}
	if (ev->have_lo && !ev->have_hi)
		to = Max(to, from + 1);
	/* rows the by-id GET does not serve (13 months): only older ones */
	if (s->only_old)
		to = Min(to, mp_add_months(now, -12));
	if (from >= to)
	{
		s->no_rows = true;
		return;
	}
	/*
	 * Windows end one second short of the limit and are asked one second
	 * wider at the start: "up to 6 months" gets 6 months, "under 12" gets 11.
	 */
	nwins = mp_split_windows_span_alloc(&s->alloc, from, to, mpr_window_months(res), true,
										window_max_secs(res), &wins);
	if (nwins <= 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

	/* partitions: the key values (user_wallet_transactions) */
	s->nparts = 1;
	if (nkeys > 0)
	{
		int			n0 = ev->keys_set[0] ? list_length(ev->keys[0]) : 1;
		int			n1 = (nkeys > 1 && ev->keys_set[1]) ? list_length(ev->keys[1]) : 1;

		/* neither key: one report of every user wallet (spec §4b) */
		s->nparts = n0 * n1;
		s->parts = palloc0(sizeof(char *) * 2 * s->nparts);
		for (int a = 0; a < n0; a++)
			for (int b = 0; b < n1; b++)
			{
				int			p = a * n1 + b;

				s->parts[p * 2] = ev->keys_set[0] ? list_nth(ev->keys[0], a) : NULL;
				s->parts[p * 2 + 1] = (nkeys > 1 && ev->keys_set[1]) ? list_nth(ev->keys[1], b) : NULL;
			}
	}
	s->nw = nwins * s->nparts;
	s->w = palloc0(sizeof(ScanReport) * s->nw);
	for (int p = 0; p < s->nparts; p++)
		for (int k = 0; k < nwins; k++)
		{
			/* ORDER BY creation_date DESC: the newest window first */
			MpWindow   *src = &wins[s->b.plan->sort_dir < 0 ? nwins - 1 - k : k];
			ScanReport *w = &s->w[p * nwins + k];

			w->start = src->start;
			w->end = src->end;
			w->part = p;
			w->state = RS_NEW;
		}
	free(wins);
}
