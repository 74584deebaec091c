/*-------------------------------------------------------------------------
 * mangopay_fdw.c
 *		Entry points of mangopay_fdw: the FDW handler and its planner and
 *		executor callbacks, EXPLAIN and IMPORT FOREIGN SCHEMA.
 *
 * The planner side is here: paths (parameterized ones for joins on ids
 * and key columns) from the request plan src/plan.c makes of the quals,
 * with the rows and costs the table's source answers (its MpPlanSource,
 * chosen once per table).  The executor callbacks only hand the scan to
 * its source (MpSource), chosen once per scan; both choices are in
 * src/sources.c (src/listing.c, src/byid.c or src/report.c).  Resources
 * are data in src/resources.c, HTTP is src/http.c, the SQL functions are
 * src/sqlfuncs.c.
 *-------------------------------------------------------------------------
 */
#include "src/mpfdw.h"
#include "src/ratebudget.h"

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/defrem.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "parser/parsetree.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "executor/executor.h"
#if PG_VERSION_NUM >= 140000
#include "executor/execAsync.h"
#include "nodes/execnodes.h"
#include "storage/latch.h"
#endif
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(mangopay_fdw_handler);

/* executor state */
typedef struct MpScanState
{
	MpPlan	   *plan;
	const MpSource *src;		/* report, list or by id: chosen once */
	void	   *scan;			/* the source's state; NULL for EXPLAIN only */
	MpAsyncWait *wait;			/* asynchronous execution: the fd it waits on */
	bool		async_call;		/* a row asked for by ForeignAsyncRequest */
	bool		stalled;		/* ... and none was ready without waiting */
	bool		tokens_asked;	/* the Append's tokens were asked for */
} MpScanState;


void		_PG_init(void);

void
_PG_init(void)
{
	mp_auth_init();
	mp_budget_init();
	mp_options_init();
}

/* ------------------------------------------------------------------------
 * planning
 *
 * The table's source (src/sources.c) answers for its rows, costs and paths
 * (MpPlanSource); the cost model is in src/mpfdw.h.
 * ------------------------------------------------------------------------ */

/* create_foreignscan_path() gained fdw_restrictinfo in 17 and disabled_nodes
 * in 18; our paths have neither a target, an outer plan nor join clauses */
#if PG_VERSION_NUM >= 180000
#define mp_foreignscan_path(root, rel, rows, startup, total, pathkeys, outer, priv) \
	create_foreignscan_path(root, rel, NULL, rows, 0, startup, total, pathkeys, outer, NULL, NIL, priv)
#elif PG_VERSION_NUM >= 170000
#define mp_foreignscan_path(root, rel, rows, startup, total, pathkeys, outer, priv) \
	create_foreignscan_path(root, rel, NULL, rows, startup, total, pathkeys, outer, NULL, NIL, priv)
#else
#define mp_foreignscan_path(root, rel, rows, startup, total, pathkeys, outer, priv) \
	create_foreignscan_path(root, rel, NULL, rows, startup, total, pathkeys, outer, NULL, priv)
#endif

/* the user whose mapping a scan of this relation uses */
static Oid
planner_userid(PlannerInfo *root, RelOptInfo *baserel)
{
#if PG_VERSION_NUM >= 160000
	return OidIsValid(baserel->userid) ? baserel->userid : GetUserId();
#else
	RangeTblEntry *rte = planner_rt_fetch(baserel->relid, root);

	return OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
#endif
}

/* id pushes of a plan: are there any, and how many ids (estimated) */
static bool
count_ids(MpPlan *plan, double *nids)
{
	ListCell   *lc;
	bool		found = false;

	*nids = 1;
	foreach(lc, plan->pushes)
	{
		MpPush	   *p = lfirst(lc);
		Node	   *e = list_nth(plan->exprs, p->expr_idx);
		double		n = 1;

		if (p->kind != MP_PUSH_ID)
			continue;
		if (p->is_array && IsA(e, Const) && !((Const *) e)->constisnull)
		{
			ArrayType  *a = DatumGetArrayTypeP(((Const *) e)->constvalue);

			n = ArrayGetNItems(ARR_NDIM(a), ARR_DIMS(a));
		}
		else if (p->is_array)
			n = 10;
		/* several id conditions intersect: the smallest bounds the rows */
		*nids = found ? Min(*nids, n) : n;
		found = true;
	}
	return found;
}

/*
 * A parent-scoped list (payin_refunds, user_emoney) needs every key column
 * from the WHERE clause or a join: do these pushes give them all?
 */
static bool
keys_given(const MpResource *res, List *pushes)
{
	for (int c = 0; c < res->ncols; c++)
	{
		bool		eq = false,
					lo = false,
					hi = false;
		ListCell   *lc;

		if (!(res->cols[c].flags & MP_COL_KEY))
			continue;
		foreach(lc, pushes)
		{
			MpPush	   *p = lfirst(lc);

			if (p->colidx != c)
				continue;
			eq |= p->kind == MP_PUSH_KEY;
			lo |= p->kind == MP_PUSH_MIN;
			hi |= p->kind == MP_PUSH_MAX;
		}
		if (!eq && !(lo && hi))
			return false;
	}
	return true;
}


static void
mpGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	MpRelInfo  *ri = palloc0(sizeof(MpRelInfo));
	const char *name = mp_table_resource_name(foreigntableid);
	const MpResource *res;
	List	   *local = NIL;
	ListCell   *lc;
	double		rows;

	ri->res = res = mp_resource_by_name(name);
	if (res == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("foreign table \"%s\" names an unknown MangoPay resource \"%s\"",
						get_rel_name(foreigntableid), name),
				 errhint("Valid resources are: %s.", mp_resource_names())));
	ri->src = mp_plan_source_for(res);
	ri->relid = foreigntableid;
	ri->userid = planner_userid(root, baserel);
	ri->settings = mp_get_server_settings(baserel->serverid);
	ri->plan = mp_plan_classify(root, baserel, res, foreigntableid, baserel->baserestrictinfo);
	ri->has_ids = count_ids(ri->plan, &ri->nids);
	ri->keys_given = keys_given(res, ri->plan->pushes);
	baserel->fdw_private = ri;

	/* the quals the API does not filter on: their selectivity applies to what it returns */
	foreach(lc, baserel->baserestrictinfo)
		if (!mp_plan_classify(root, baserel, res, foreigntableid, list_make1(lfirst(lc)))->all_pushed)
			local = lappend(local, lfirst(lc));

	if (ri->has_ids)
		rows = ri->nids;		/* at most one row per id */
	else
		rows = ri->src->rows(root, baserel, ri, local);
	baserel->rows = clamp_row_est(rows);
}

static List *
path_private(int sort_dir, int64 limit, bool by_id)
{
	return list_make3(makeInteger(sort_dir), makeString(psprintf(INT64_FORMAT, limit)),
					  makeInteger(by_id ? 1 : 0));
}

/* for generate_implied_equalities_for_column(): our id column's member */
typedef struct IdColumnArg
{
	AttrNumber	attno;
} IdColumnArg;

static bool
ec_member_is_id(PlannerInfo *root, RelOptInfo *rel, EquivalenceClass *ec,
				EquivalenceMember *em, void *arg)
{
	Expr	   *e = em->em_expr;

	while (e && IsA(e, RelabelType))
		e = ((RelabelType *) e)->arg;
	return e && IsA(e, Var) && ((Var *) e)->varno == rel->relid &&
		((Var *) e)->varlevelsup == 0 && ((Var *) e)->varattno == ((IdColumnArg *) arg)->attno;
}

/* the attribute number of the resource's id column, or 0 */
static AttrNumber
id_attno(MpRelInfo *ri)
{
	const MpColumnDef *idcol = mp_resource_id_column(ri->res);
	AttrNumber	attno;

	if (idcol == NULL)
		return 0;
	attno = get_attnum(ri->relid, idcol->name);
	return attno == InvalidAttrNumber ? 0 : attno;
}

/*
 * Parameterized paths: a join clause "id = <other table's column>" makes
 * this scan read, per outer row, the one object that row names (a nested
 * loop).  Only what the outer side names is fetched; the scan caches the
 * objects it read, so an id named twice costs one GET.
 */
static void
add_parameterized_paths(PlannerInfo *root, RelOptInfo *baserel, MpRelInfo *ri)
{
	List	   *clauses = NIL;
	List	   *seen = NIL;
	IdColumnArg arg;
	ListCell   *lc;
	bool		parents = mp_resource_needs_parents(ri->res);

	arg.attno = id_attno(ri);
	if (arg.attno == 0 && !parents)
		return;
	/* "r.id = d.repudiation_id" lives in an equivalence class ... */
	if (arg.attno != 0)
		clauses = generate_implied_equalities_for_column(root, baserel, ec_member_is_id, &arg,
														 baserel->lateral_referencers);
	/* ... as does "f.payin_id = d.initial_transaction_id" of a parent key */
	for (int c = 0; parents && c < ri->res->ncols; c++)
	{
		if (!(ri->res->cols[c].flags & MP_COL_KEY))
			continue;
		arg.attno = get_attnum(ri->relid, ri->res->cols[c].name);
		if (arg.attno != InvalidAttrNumber)
			clauses = list_concat(clauses,
								  generate_implied_equalities_for_column(root, baserel, ec_member_is_id,
																		 &arg, baserel->lateral_referencers));
	}
	/* ... other join clauses (r.id = lower(d.x), r.id = ANY(d.ids)) in joininfo */
	foreach(lc, baserel->joininfo)
	{
		RestrictInfo *rinfo = lfirst(lc);

		if (join_clause_is_movable_to(rinfo, baserel))
			clauses = lappend(clauses, rinfo);
	}

	foreach(lc, clauses)
	{
		RestrictInfo *rinfo = lfirst(lc);
		Relids		outer = bms_difference(rinfo->clause_relids, baserel->relids);
		MpPlan	   *one;
		double		nids;
		double		rows;
		Cost		startup,
					total;
		ListCell   *s;
		bool		dup = false;

		if (bms_is_empty(outer) || bms_overlap(outer, baserel->lateral_referencers))
			continue;
		one = mp_plan_classify(root, baserel, ri->res, ri->relid, list_make1(rinfo));
		if (count_ids(one, &nids))
			rows = ri->has_ids ? Min(nids, ri->nids) : nids;	/* one object per id */
		else if (parents && !ri->has_ids)
		{
			/* the key columns may come from several join clauses of these outer rels */
			List	   *group = NIL;
			ListCell   *g;

			foreach(g, clauses)
			{
				RestrictInfo *r2 = lfirst(g);
				Relids		o2 = bms_difference(r2->clause_relids, baserel->relids);

				if (!bms_is_empty(o2) && bms_is_subset(o2, outer))
					group = lappend(group, r2);
			}
			one = mp_plan_classify(root, baserel, ri->res, ri->relid, group);
			if (!keys_given(ri->res, list_concat(list_copy(ri->plan->pushes), one->pushes)))
				continue;
			rows = nids = 5;	/* a parent's few children, one request */
		}
		else
			continue;
		foreach(s, seen)
			if (bms_equal(lfirst(s), outer))
				dup = true;
		if (dup)
			continue;
		seen = lappend(seen, outer);
		mp_cost_by_id(nids, rows, &startup, &total);
		add_path(baserel, (Path *)
				 mp_foreignscan_path(root, baserel, clamp_row_est(rows), startup, total,
									 NIL, outer, path_private(0, -1, count_ids(one, &nids))));
	}
}

static void
mpGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	MpRelInfo  *ri = baserel->fdw_private;
	const MpResource *res = ri->res;
	Cost		startup,
				total;
	int64		limit = -1;
	int			sort_dir;
	bool		all_pushed = ri->src->all_pushed(ri);

	/* LIMIT helps only when no join, grouping or unpushed qual is between */
	if (root->limit_tuples > 0 && root->limit_tuples < (double) PG_INT32_MAX &&
		bms_membership(root->all_baserels) == BMS_SINGLETON && all_pushed)
		limit = (int64) root->limit_tuples;

	if (ri->src->ids_own_path && ri->has_ids)
	{
		/* payouts: "id = ..." reads each by id, without a report */
		double		rows = baserel->rows;

		mp_cost_by_id(ri->nids, rows, &startup, &total);
		add_path(baserel, (Path *)
				 mp_foreignscan_path(root, baserel, rows, startup, total,
									 NIL, NULL, path_private(0, -1, true)));
	}

	ri->src->cost(root, ri, baserel->rows, &startup, &total);
	add_path(baserel, (Path *)
			 mp_foreignscan_path(root, baserel, baserel->rows, startup, total,
								 NIL, NULL,
								 path_private(0, root->query_pathkeys == NIL ? limit : -1, false)));

	sort_dir = mp_plan_sort_dir(root, baserel, res, foreigntableid);
	if (sort_dir != 0)
		add_path(baserel, (Path *)
				 mp_foreignscan_path(root, baserel, baserel->rows, startup, total + 0.01,
									 root->query_pathkeys, NULL,
									 path_private(sort_dir, limit, false)));

	add_parameterized_paths(root, baserel, ri);
}

static ForeignScan *
mpGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				 ForeignPath *best_path, List *tlist, List *scan_clauses, Plan *outer_plan)
{
	MpRelInfo  *ri = baserel->fdw_private;
	MpPlan	   *plan;
	Bitmapset  *attrs = NULL;
	ListCell   *lc;

	/* scan_clauses has the join clauses of a parameterized path too */
	plan = mp_plan_classify(root, baserel, ri->res, foreigntableid, scan_clauses);
	plan->sort_dir = intVal(linitial(best_path->fdw_private));
	plan->limit_hint = strtoll(strVal(lsecond(best_path->fdw_private)), NULL, 10);
	plan->by_id = intVal(lthird(best_path->fdw_private)) != 0;

	/* off the by-id path, a report does not filter on id: those quals stay local only */
	if (ri->src->ids_own_path && !plan->by_id)
	{
		List	   *keep = NIL;

		foreach(lc, plan->pushes)
			if (((MpPush *) lfirst(lc))->kind != MP_PUSH_ID)
				keep = lappend(keep, lfirst(lc));
		plan->pushes = keep;
	}

	/* the columns to convert: the target list and every local qual */
	pull_varattnos((Node *) baserel->reltarget->exprs, baserel->relid, &attrs);
	foreach(lc, scan_clauses)
		pull_varattnos((Node *) ((RestrictInfo *) lfirst(lc))->clause, baserel->relid, &attrs);
	plan->needed = attrs;

	/* every qual is checked locally too: the API only narrows the fetch */
	scan_clauses = extract_actual_clauses(scan_clauses, false);

	/*
	 * Lookup columns cost one GET per row: the quals that do not read them
	 * are checked before the lookups, so only rows that can match cost one.
	 */
	if (ri->res->lookup_path && !plan->by_id)
	{
		List	   *pre = NIL;

		foreach(lc, scan_clauses)
		{
			Node	   *clause = lfirst(lc);
			Bitmapset  *cols = NULL;
			bool		ok = true;
			int			x = -1;

			pull_varattnos(clause, baserel->relid, &cols);
			while (ok && (x = bms_next_member(cols, x)) >= 0)
			{
				AttrNumber	attno = x + FirstLowInvalidHeapAttributeNumber;
				const MpColumnDef *col;

				if (attno <= 0)
				{
					ok = false;	/* a whole-row reference reads every column */
					break;
				}
				col = mp_resource_column(ri->res, get_attname(foreigntableid, attno, false));
				if (col && (col->flags & MP_COL_LOOKUP))
					ok = false;
			}
			if (ok && !contain_volatile_functions(clause))
				pre = lappend(pre, clause);
		}
		if (pre != NIL)
		{
			plan->prefilter_at = list_length(plan->exprs);
			plan->exprs = list_concat(plan->exprs, pre);
		}
	}
	return make_foreignscan(tlist, scan_clauses, baserel->relid, plan->exprs,
							mp_plan_serialize(plan), NIL, NIL, outer_plan);
}

/* ------------------------------------------------------------------------
 * execution
 * ------------------------------------------------------------------------ */
static void
mpBeginForeignScan(ForeignScanState *node, int eflags)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;
	MpScanState *st = palloc0(sizeof(MpScanState));
	Oid			relid = RelationGetRelid(node->ss.ss_currentRelation);
	Oid			userid;
	MpSettings *conn;

	st->plan = mp_plan_deserialize(fsplan->fdw_private);
	st->src = mp_source_for(st->plan);
	node->fdw_state = st;
	if (eflags & EXEC_FLAG_EXPLAIN_ONLY)
		return;
#if PG_VERSION_NUM >= 160000
	userid = OidIsValid(fsplan->checkAsUser) ? fsplan->checkAsUser : GetUserId();
#else
	{
		RangeTblEntry *rte = exec_rt_fetch(fsplan->scan.scanrelid, node->ss.ps.state);

		userid = OidIsValid(rte->checkAsUser) ? rte->checkAsUser : GetUserId();
	}
#endif
	conn = mp_get_settings(GetForeignTable(relid)->serverid, userid);
	st->scan = st->src->begin(node, st->plan, conn);
}

static TupleTableSlot *
mpIterateForeignScan(ForeignScanState *node)
{
	MpScanState *st = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	/* asked for asynchronously: no row yet rather than a wait */
	if (st->async_call && st->src->ready && !st->src->ready(st->scan))
	{
		st->stalled = true;
		return ExecClearTuple(slot);
	}
	if (!st->src->next(st->scan, slot))
		ExecClearTuple(slot);
	return slot;
}

#if PG_VERSION_NUM >= 140000
/* ------------------------------------------------------------------------
 * asynchronous execution (an Append over foreign partitions): each scan
 * starts its requests and returns rows as they come, the Append waits for
 * all of them at once (the fd of mp_async_wait_arm)
 * ------------------------------------------------------------------------ */
static bool
mpIsForeignPathAsyncCapable(ForeignPath *path)
{
	MpRelInfo  *ri = path->path.parent->fdw_private;

	/* a plain list: not a report, not by id, not per parent */
	return mp_async_supported() && ri->src->can_async && !ri->has_ids &&
		mp_resource_key_count(ri->res) == 0 && path->path.param_info == NULL &&
		!intVal(lthird(path->fdw_private)) && mp_table_async_capable(ri->relid);
}

/* a row if one is ready, the end, or pending (the Append waits) */
static void
produce_async(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;
	MpScanState *st = node->fdw_state;
	TupleTableSlot *result;

	st->async_call = true;
	st->stalled = false;
	result = areq->requestee->ExecProcNodeReal(areq->requestee);
	st->async_call = false;
	if (!TupIsNull(result))
		ExecAsyncRequestDone(areq, result);
	else if (st->stalled)
		ExecAsyncRequestPending(areq);
	else
		ExecAsyncRequestDone(areq, NULL);
}

static void mpForeignAsyncRequest(AsyncRequest *areq);

/*
 * The OAuth tokens of every mangopay_fdw scan of the Append, fetched
 * together before the first scan starts its requests (once they are
 * cached, this asks for nothing).
 */
static void
prefetch_tokens(AsyncRequest *areq)
{
	AppendState *app = (AppendState *) areq->requestor;
	MpSettings **conns;
	int			n = 0;
	int			i = -1;

	if (!IsA(app, AppendState))
		return;
	conns = palloc(sizeof(MpSettings *) * Max(1, app->as_nasyncplans));
	while ((i = bms_next_member(app->as_asyncplans, i)) >= 0 && n < app->as_nasyncplans)
	{
		AsyncRequest *r = app->as_asyncrequests[i];
		ForeignScanState *fss;
		MpScanState *st;

		if (r == NULL || !IsA(r->requestee, ForeignScanState))
			continue;
		fss = (ForeignScanState *) r->requestee;
		st = fss->fdw_state;
		if (fss->fdwroutine == NULL || fss->fdwroutine->ForeignAsyncRequest != mpForeignAsyncRequest ||
			st == NULL || st->scan == NULL || st->src != &mp_list_source)
			continue;
		conns[n++] = ((MpScanBase *) st->scan)->conn;
	}
	mp_auth_prefetch(conns, n);
	pfree(conns);
}

static void
mpForeignAsyncRequest(AsyncRequest *areq)
{
	MpScanState *st = ((ForeignScanState *) areq->requestee)->fdw_state;

	if (!st->tokens_asked)
	{
		st->tokens_asked = true;
		prefetch_tokens(areq);
	}
	produce_async(areq);
}

static void
mpForeignAsyncConfigureWait(AsyncRequest *areq)
{
	ForeignScanState *node = (ForeignScanState *) areq->requestee;
	MpScanState *st = node->fdw_state;
	AppendState *requestor = (AppendState *) areq->requestor;

	if (st->wait == NULL)
		st->wait = mp_async_wait_new(node->ss.ps.state->es_query_cxt);
	AddWaitEventToSet(requestor->as_eventset, WL_SOCKET_READABLE,
					  mp_async_wait_arm(st->wait, st->src->ready == NULL || st->src->ready(st->scan)),
					  NULL, areq);
}

static void
mpForeignAsyncNotify(AsyncRequest *areq)
{
	MpScanState *st = ((ForeignScanState *) areq->requestee)->fdw_state;

	mp_async_wait_clear(st->wait);
	mp_http_pump(0);			/* drive every transfer, without waiting */
	produce_async(areq);
}
#endif

static void
mpReScanForeignScan(ForeignScanState *node)
{
	MpScanState *st = node->fdw_state;

	st->src->rescan(st->scan);
}

static void
mpEndForeignScan(ForeignScanState *node)
{
	MpScanState *st = node->fdw_state;

	if (st && st->scan)
		st->src->end(st->scan);
}

static void
mpExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	MpScanState *st = node->fdw_state;

	st->src->explain(st->scan, st->plan, node, es);
}

static int
mp_acquire_sample(Relation rel, int elevel, HeapTuple *rows, int targrows,
				  double *totalrows, double *totaldeadrows)
{
	const MpResource *res = mp_resource_by_name(mp_table_resource_name(RelationGetRelid(rel)));
	MpSettings *conn = mp_get_settings(GetForeignTable(RelationGetRelid(rel))->serverid, GetUserId());
	int			n = mp_list_sample(rel, conn, res, rows, targrows, totalrows);

	*totaldeadrows = 0;
	ereport(elevel,
			(errmsg("\"%s\": %d rows sampled from GET %s, %.0f rows in total",
					RelationGetRelationName(rel), n, res->list_path, *totalrows)));
	return n;
}

/*
 * ANALYZE reads a sample of a list table: at most MP_ANALYZE_MAX_PAGES
 * pages, and the row count the API reports.  A report table would need a
 * report of the whole history, a by-id table has nothing to list: those
 * are refused with the reason (PostgreSQL then skips the table).
 */
static bool
mpAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func, BlockNumber *totalpages)
{
	const MpResource *res = mp_resource_by_name(mp_table_resource_name(RelationGetRelid(relation)));
	const char *why = res == NULL ? "The table names no known MangoPay resource." :
		mp_plan_source_for(res)->no_sample(res);

	if (why != NULL)
	{
		ereport(NOTICE,
				(errmsg("mangopay_fdw does not sample \"%s\"", RelationGetRelationName(relation)),
				 errdetail("%s", why),
				 errhint("Row estimates come from the WHERE clause; set the server option use_remote_estimate for list tables.")));
		return false;
	}
	*func = mp_acquire_sample;
	*totalpages = 1;
	return true;
}

/* ------------------------------------------------------------------------
 * IMPORT FOREIGN SCHEMA mangopay
 * ------------------------------------------------------------------------ */
static bool
wanted(ImportForeignSchemaStmt *stmt, const char *name)
{
	ListCell   *lc;

	if (stmt->list_type == FDW_IMPORT_SCHEMA_ALL)
		return true;
	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = lfirst(lc);

		if (strcmp(rv->relname, name) == 0)
			return stmt->list_type == FDW_IMPORT_SCHEMA_LIMIT_TO;
	}
	return stmt->list_type == FDW_IMPORT_SCHEMA_EXCEPT;
}

static List *
mpImportForeignSchema(ImportForeignSchemaStmt *stmt, Oid serverOid)
{
	List	   *cmds = NIL;
	ForeignServer *server = GetForeignServer(serverOid);
	ListCell   *lc;
	bool		provenance = false;

	if (strcmp(stmt->remote_schema, "mangopay") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("MangoPay has no schema \"%s\"", stmt->remote_schema),
				 errhint("Use IMPORT FOREIGN SCHEMA mangopay FROM SERVER %s INTO ...;",
						 quote_identifier(server->servername))));

	/* provenance 'true': each table gains _read_at and _source */
	foreach(lc, stmt->options)
	{
		DefElem    *def = lfirst(lc);

		if (strcmp(def->defname, "provenance") == 0)
			provenance = defGetBoolean(def);
		else
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid IMPORT FOREIGN SCHEMA option \"%s\"", def->defname),
					 errhint("The option IMPORT FOREIGN SCHEMA mangopay takes is provenance 'true'.")));
	}

	/* LIMIT TO / EXCEPT naming a table that does not exist is a typo: say so */
	foreach(lc, stmt->table_list)
	{
		RangeVar   *rv = lfirst(lc);

		if (mp_resource_by_name(rv->relname) == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
					 errmsg("MangoPay has no table \"%s\"", rv->relname),
					 errhint("Valid tables are: %s.", mp_resource_names())));
	}

	for (int i = 0; i < mp_resource_count(); i++)
	{
		const MpResource *res = mp_resource_at(i);
		StringInfoData sql;

		if (!wanted(stmt, res->name))
			continue;
		initStringInfo(&sql);
		appendStringInfo(&sql, "CREATE FOREIGN TABLE %s (\n", quote_identifier(res->name));
		for (int c = 0; c < res->ncols; c++)
			appendStringInfo(&sql, "  %s %s%s\n", quote_identifier(res->cols[c].name),
							 mp_coltype_sql(res->cols[c].kind), c + 1 < res->ncols || provenance ? "," : "");
		if (provenance)
			appendStringInfoString(&sql, "  _read_at timestamptz,\n  _source text\n");
		appendStringInfo(&sql, ") SERVER %s OPTIONS (resource %s)",
						 quote_identifier(server->servername), quote_literal_cstr(res->name));
		cmds = lappend(cmds, sql.data);
	}
	return cmds;
}

Datum
mangopay_fdw_handler(PG_FUNCTION_ARGS)
{
	FdwRoutine *r = makeNode(FdwRoutine);

	r->GetForeignRelSize = mpGetForeignRelSize;
	r->GetForeignPaths = mpGetForeignPaths;
	r->GetForeignPlan = mpGetForeignPlan;
	r->BeginForeignScan = mpBeginForeignScan;
	r->IterateForeignScan = mpIterateForeignScan;
	r->ReScanForeignScan = mpReScanForeignScan;
	r->EndForeignScan = mpEndForeignScan;
	r->ExplainForeignScan = mpExplainForeignScan;
	r->AnalyzeForeignTable = mpAnalyzeForeignTable;
	r->ImportForeignSchema = mpImportForeignSchema;
#if PG_VERSION_NUM >= 140000
	r->IsForeignPathAsyncCapable = mpIsForeignPathAsyncCapable;
	r->ForeignAsyncRequest = mpForeignAsyncRequest;
	r->ForeignAsyncConfigureWait = mpForeignAsyncConfigureWait;
	r->ForeignAsyncNotify = mpForeignAsyncNotify;
#endif
	PG_RETURN_POINTER(r);
}
