/*-------------------------------------------------------------------------
 * report.c
 *		The report source: a scan becomes MangoPay report requests —
 *		create, poll, download — and the CSV is parsed as it arrives and
 *		handed to the executor row by row, in bounded memory.
 *
 * The date range of the query (or the API's retention when it gives no
 * lower bound) is split into windows the report type accepts (6 months
 * for the legacy TRANSACTIONS report, 24 for WALLETS, under 12 for the
 * Reporting Service).  Windows are created up to max_concurrency at a
 * time, polled with growing intervals, and downloaded one after another
 * in date order.  Each window is asked for one second wider on each side
 * and rows outside it are dropped, so a row on a window boundary is
 * returned exactly once whatever the API's boundary semantics.
 *
 * Downloads stream: curl's write callback feeds the incremental CSV parser
 * (src/csv.c), whose records are copied into a small malloc'ed queue; when
 * the queue is full the transfer is paused until the executor has drained
 * it.  Nothing in a callback can raise an ERROR: failures are recorded and
 * reported after curl returns.  A download that breaks off resumes with a
 * Range request from the last byte parsed (or skips that many bytes when
 * the server ignores Range), so no row is lost or doubled.
 *
 * Every POST carries an Idempotency-Key, so a retried create never makes
 * two reports; a 409 on such a retry is resolved through
 * GET /responses/{key}.  With report_max_age_s > 0 a ready report of the
 * same definition (recognised by its Tag, a hash of the definition) is
 * reused instead of creating one.
 *-------------------------------------------------------------------------
 */
#include "report_int.h"

#include <math.h>

#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"

static void
evaluate(MpReportScan *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);

	s->ev = mp_plan_evaluate(s->b.plan, s->b.exprstates, s->b.node->ss.ps.ps_ExprContext);
	s->no_rows = s->ev->no_rows;
	if (!s->no_rows)
		mpr_build_request(s);
	if (s->only_old && s->need_lookups)
	{
		/* they would all answer 404: the columns are NULL, said by the caller */
		s->need_lookups = false;
		s->lookups_dropped = true;
	}
	s->cur = 0;
	if (s->need_lookups)
	{
		/* max_concurrency GETs in flight: rows times the views each GETs */
		s->nlook = Max(1, s->b.conn->max_concurrency / (s->views == (MP_VIEW_1 | MP_VIEW_2) ? 2 : 1));
		s->look = palloc0(sizeof(Lookup) * s->nlook);
	}
	MemoryContextSwitchTo(old);
	s->started = true;
}

/* wait a little for the network or a poll time, interrupts checked */
static void
wait_some(MpReportScan *s)
{
	TimestampTz t0 = GetCurrentTimestamp();

	mp_http_pump(100);
	s->wait_ms += (double) (GetCurrentTimestamp() - t0) / 1000.0;
}

static void *
report_begin(ForeignScanState *node, MpPlan *plan, MpSettings *conn)
{
	MpReportScan *s = palloc0(sizeof(MpReportScan));

	/* the parser, the queue and the windows array: malloc, never an ERROR */
	s->alloc.alloc = mpr_m_alloc;
	s->alloc.realloc = mpr_m_realloc;
	s->alloc.free = mpr_m_free;
	mp_scan_base_init(&s->b, node, plan, conn, mpr_scan_cleanup, s);
	s->file.cxt = s->b.cxt;
	s->nkeys = mp_resource_key_count(plan->res);
	if (s->nkeys > MP_MAX_KEY_COLUMNS)
		elog(ERROR, "mangopay_fdw: resource \"%s\" has more than %d key columns",
			 plan->res->name, MP_MAX_KEY_COLUMNS);
	s->file.ascii_check = -1;
	s->provenance = mp_has_provenance(s->b.maps, s->b.natts);
	if (plan->prefilter_at >= 0)
	{
		ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

		s->prefilter = ExecInitQual(list_copy_tail(fsplan->fdw_exprs, plan->prefilter_at),
									(PlanState *) node);
		s->prefilter_cxt = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw prefilter",
												 ALLOCSET_SMALL_SIZES);
	}
	return s;
}

/*
 * A report table read by id (payouts): its rows older than the by-id GET
 * serves (see load_old_rows in report_byid.c), without lookups.
 */
MpReportScan *
mp_report_begin_old(ForeignScanState *node, MpPlan *plan, MpSettings *conn)
{
	MpReportScan *s = report_begin(node, plan, conn);

	s->only_old = true;
	return s;
}

bool
mp_report_lookups_dropped(MpReportScan *s)
{
	return s->lookups_dropped;
}

static bool
report_next(void *scan, TupleTableSlot *slot)
{
	MpReportScan *s = scan;

	ExecClearTuple(slot);
	if (!s->started)
		evaluate(s);
	if (s->no_rows)
		return false;
	for (;;)
	{
		ScanReport *w;
		QRow	   *r;

		if (s->cur >= s->nw)
			return false;
		w = &s->w[s->cur];

		/* payouts' lookups: keep max_concurrency GETs in flight, rows in order */
		if (s->need_lookups && s->file.field_of)
		{
			int			inflight = 0;

			for (int i = 0; i < s->nlook; i++)
				if (s->look[(s->look_head + i) % s->nlook].row)
					inflight++;
			while (inflight < s->nlook && (r = mpr_pop_row(s)) != NULL)
			{
				Lookup	   *l = &s->look[(s->look_head + inflight) % s->nlook];

				if (s->prefilter && !mpr_row_passes(s, r, slot))
				{
					mpr_free_row(r);
					continue;
				}
				l->row = r;
				mpr_start_lookup(s, l);
				inflight++;
			}
			if (inflight > 0)
			{
				Lookup	   *l = &s->look[s->look_head];
				char	  **vals = NULL;

				for (int v = 0; v < MP_MAX_VIEWS; v++)
				{
					MpRequest  *q = l->req[v];

					if (q == NULL)
						continue;
					mp_request_wait(q);
					if (mp_request_ok(q))
						continue;
					if (!mp_request_not_found(q))
						mp_error_request_failed(q);
					if (!(s->old_notice & (1 << v)))
					{
						/* past the API's retention of objects: said, not silent */
						s->old_notice |= 1 << v;
						ereport(NOTICE,
								(errmsg("MangoPay no longer serves some %ss of \"%s\" by id: their lookup columns are NULL",
										s->b.res->object_name, RelationGetRelationName(s->b.rel)),
								 errdetail("GET %s answered 404; objects are readable for 13 months, reports list them for %d.",
										   mp_lookup_view_path(s->b.res, 1 << v), s->b.res->retention_months)));
					}
				}
				vals = mpr_lookup_values(s, l);
				s->held = l->row;
				l->row = NULL;
				mpr_store_row(s, s->held, vals, slot);
				mpr_free_row(s->held);
				s->held = NULL;
				for (int v = 0; v < MP_MAX_VIEWS; v++)
				{
					if (l->req[v])
						mp_request_release(l->req[v]);
					l->req[v] = NULL;
				}
				s->look_head = (s->look_head + 1) % s->nlook;
				ExecStoreVirtualTuple(slot);
				s->rows++;
				mp_stats.rows_returned++;
				return true;
			}
		}
		else if (s->file.field_of && (r = mpr_pop_row(s)) != NULL)
		{
			s->held = r;
			mpr_store_row(s, r, NULL, slot);
			mpr_free_row(r);
			s->held = NULL;
			ExecStoreVirtualTuple(slot);
			s->rows++;
			mp_stats.rows_returned++;
			return true;
		}

		/* the header arrived: map the columns once per window */
		if (s->header_seen && s->file.field_of == NULL && w->state == RS_DOWNLOADING)
		{
			mpr_map_header(s);
			continue;
		}

		/* here the queue is empty: every row parsed so far was returned */
		if (w->state == RS_DOWNLOADING)
		{
			switch (w->dl)
			{
				case DL_STREAMING:
					if (s->dl->state == MP_REQ_DONE)
					{
						mpr_download_finished(s, w);
						continue;
					}

					/*
					 * Drained: let a paused transfer go on.  Unpausing hands
					 * over what curl had buffered at once; only when that
					 * brought no row is there reason to wait for the network.
					 */
					mp_request_unpause(s->dl);
					if (s->qhead == NULL)
						wait_some(s);
					continue;
				case DL_FINISHED:

					/*
					 * The whole file was returned.  A file without even a
					 * header (an empty body) is a report without rows.
					 */
					mpr_set_download(s, w, DL_NONE, NULL);
					w->state = RS_DONE;
					s->cur++;
					continue;
				case DL_NONE:
					break;
			}
			elog(ERROR, "mangopay_fdw: report %s is being downloaded without a download",
				 w->report_id ? w->report_id : "?");
		}
		mpr_advance_reports(s);
		if (w->state == RS_READY)
		{
			mpr_open_report(s, w);
			continue;
		}
		if (w->state == RS_NEW)
			continue;
		wait_some(s);
	}
}

static void
report_rescan(void *scan)
{
	MpReportScan *s = scan;

	mp_scan_base_reset(&s->b);	/* releases requests, the parser, the queue */
	s->started = false;
	s->dl = NULL;
	s->csv = NULL;
	s->w = NULL;
	s->nw = 0;
	s->look = NULL;
	s->nlook = 0;
	s->look_head = 0;
	s->file.field_of = NULL;
	s->file.attrs_layout = NULL;
	s->file.ascii_check = -1;
	s->need_lookups = false;
}

static void
report_end(void *scan)
{
	MemoryContextDelete(((MpReportScan *) scan)->b.cxt);	/* scan_cleanup frees what is malloc'ed */
}

/* a value only execution knows: a parameter, an outer column, a subquery */
static bool
known_at_execution_only(Node *node, void *context)
{
	if (node == NULL)
		return false;
	if (IsA(node, Param) || IsA(node, Var) || IsA(node, SubPlan) || IsA(node, AlternativeSubPlan))
		return true;
	return expression_tree_walker(node, known_at_execution_only, context);
}

/*
 * Plain EXPLAIN: the request an execution would send, when every pushed
 * value is known without executing.  The same code builds it (Filters,
 * Columns and the windows: the range split into reports), without a user
 * mapping and without any call to the API; NULL when a value needs the
 * execution.
 */
static MpReportScan *
explain_request(MpPlan *plan, ForeignScanState *node)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	Oid			serverid = GetForeignTable(RelationGetRelid(node->ss.ss_currentRelation))->serverid;
	MpReportScan *s;
	ListCell   *lc;

	foreach(lc, plan->pushes)
		if (known_at_execution_only(list_nth(fsplan->fdw_exprs, ((MpPush *) lfirst(lc))->expr_idx), NULL))
			return NULL;
	s = report_begin(node, plan, mp_get_server_settings(serverid));
	evaluate(s);
	return s;
}

static void
report_explain(void *scan, MpPlan *plan, ForeignScanState *node, ExplainState *es)
{
	MpReportScan *s = scan;
	const MpResource *res = plan->res;
	char	   *pushed = mp_explain_pushes(plan, node, es);
	int			views = 0;
	MpReportScan *planned = NULL;

	ExplainPropertyText("MangoPay Resource", res->name, es);
	ExplainPropertyText("MangoPay Report", psprintf("%s (%s), POST %s, windows of %s%d months%s",
													res->report_type,
													res->report_v2 ? "Reporting Service" : "legacy Reports API",
													res->create_path, res->window_strict ? "under " : "up to ",
													res->window_months,
													res->window_max_days > 0 ?
													psprintf(" and %d days", res->window_max_days) : ""), es);
	if (res->fixed_filters)
		ExplainPropertyText("MangoPay Fixed Filters", res->fixed_filters, es);
	if (pushed)
		ExplainPropertyText("MangoPay Pushed", pushed, es);
	if (res->lookup_path)
		views = mp_lookup_views_read(mp_build_colmaps(node->ss.ss_currentRelation, res, plan->needed,
													  bms_is_member(0 - FirstLowInvalidHeapAttributeNumber,
																	plan->needed), false),
									 RelationGetDescr(node->ss.ss_currentRelation)->natts);
	if (views)
		ExplainPropertyText("MangoPay Lookups",
							psprintf("%s per row%s", mp_lookup_views_text(res, views, " and "),
									 plan->prefilter_at >= 0 ? " passing the local conditions" : ""), es);
	if (s == NULL && !es->analyze)
		s = planned = explain_request(plan, node);
	if (s && s->started && !s->no_rows)
	{
		char	   *cols = s->columns ? cJSON_PrintUnformatted(s->columns) : NULL;
		char	   *filt = s->filters ? cJSON_PrintUnformatted(s->filters) : NULL;

		ExplainPropertyText("MangoPay Filters", filt ? filt : "{}", es);
		ExplainPropertyText("MangoPay Columns", cols ? cols : "(the default set)", es);
		if (cols)
			cJSON_free(cols);
		if (filt)
			cJSON_free(filt);
		ExplainPropertyInteger("MangoPay Windows", NULL, s->nw, es);
		if (es->analyze)
		{
			ExplainPropertyInteger("MangoPay Reports Created", NULL, s->created, es);
			ExplainPropertyInteger("MangoPay Reports Reused", NULL, s->reused, es);
			if (s->lookups_done || s->prefiltered)
			{
				ExplainPropertyInteger("MangoPay Lookups Made", NULL, s->lookups_done, es);
				ExplainPropertyInteger("MangoPay Rows Filtered Before Lookups", NULL, s->prefiltered, es);
			}
			if (es->timing)
				ExplainPropertyFloat("MangoPay Wait Time", "ms", s->wait_ms, 0, es);
		}
	}
	if (planned)
		report_end(planned);
}

/* ------------------------------------------------------------------------
 * the report source
 * ------------------------------------------------------------------------ */
const MpSource mp_report_source = {
	"report", report_begin, report_next, report_rescan, report_end, report_explain
};

/* ------------------------------------------------------------------------
 * planning a report table
 * ------------------------------------------------------------------------ */
static double
report_plan_rows(PlannerInfo *root, RelOptInfo *baserel, MpRelInfo *ri, List *local_quals)
{
	return mp_resource_typical_rows(ri->res) *
		clauselist_selectivity(root, baserel->baserestrictinfo, 0, JOIN_INNER, NULL);
}

/* the reports are generated before the first row: rounds of max_concurrency */
static void
report_plan_cost(PlannerInfo *root, MpRelInfo *ri, double rows, Cost *startup, Cost *total)
{
	MpEval	   *ev = mp_plan_evaluate_consts(root, ri->plan);
	int			nwin = mp_report_estimate_windows(ri->res, ev);
	int			nkeys = 1;
	double		rounds;

	for (int k = 0; k < 2; k++)
		if (ev->keys_set[k])
			nkeys *= Max(1, list_length(ev->keys[k]));
	rounds = ceil((double) nwin * nkeys / Max(1, ri->settings->max_concurrency));
	*startup = MP_REPORT_COST * Max(1.0, rounds);
	*total = *startup + rows * cpu_tuple_cost * 2;
}

/* a report does not filter on id: an id condition is checked locally */
static bool
report_plan_all_pushed(const MpRelInfo *ri)
{
	return ri->plan->all_pushed && !ri->has_ids;
}

static const char *
report_no_sample(const MpResource *res)
{
	return "A sample would need a report of the API's whole history.";
}

const MpPlanSource mp_report_plan = {
	"report", report_plan_rows, report_plan_cost, report_plan_all_pushed, true, report_no_sample,
	false
};
