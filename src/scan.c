/*-------------------------------------------------------------------------
 * scan.c
 *		What the executor state of every source shares: the relation, the
 *		plan, the connection settings, the column maps, the pushed
 *		expressions and a memory context whose reset callback frees what
 *		libcurl, cJSON and the CSV parser allocated outside palloc.
 *
 * The callback runs whenever the context is reset (a rescan) or deleted
 * (the end of the scan, or an ERROR unwinding the executor), so no path
 * can leak a curl handle or a malloc'ed buffer.
 *
 * Also what the sources share when they plan (the cost of reading by id)
 * and EXPLAIN the pushed conditions.  The choice of a source is
 * src/sources.c: this file calls no source.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include "access/sysattr.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "optimizer/optimizer.h"
#include "utils/memutils.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/ruleutils.h"

static void
register_cleanup(MpScanBase *b)
{
	MemoryContextCallback *cb = MemoryContextAlloc(b->cxt, sizeof(MemoryContextCallback));

	cb->func = b->cleanup;
	cb->arg = b->cleanup_arg;
	MemoryContextRegisterResetCallback(b->cxt, cb);
}

void
mp_scan_base_init(MpScanBase *b, ForeignScanState *node, MpPlan *plan, MpSettings *conn,
				  MemoryContextCallbackFunction cleanup, void *arg)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

	b->node = node;
	b->plan = plan;
	b->conn = conn;
	b->res = plan->res;
	b->rel = node->ss.ss_currentRelation;
	b->natts = RelationGetDescr(b->rel)->natts;
	b->maps = mp_build_colmaps(b->rel, b->res, plan->needed,
							   bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, plan->needed),
							   mp_plan_report_by_id(plan));
	b->exprstates = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	b->cxt = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw scan", ALLOCSET_DEFAULT_SIZES);
	b->cleanup = cleanup;
	b->cleanup_arg = arg;
	register_cleanup(b);
}

/* a report table read by id (payouts): API objects, not CSV rows */
bool
mp_plan_report_by_id(const MpPlan *plan)
{
	return plan->by_id && plan->res->source == MP_SRC_REPORT;
}

/* planning: the cost of reading rows by id (nids GETs, max_concurrency at once) */
void
mp_cost_by_id(double nids, double rows, Cost *startup, Cost *total)
{
	*startup = MP_REQUEST_COST;
	*total = MP_REQUEST_COST * Max(1.0, nids) + rows * cpu_tuple_cost * 4;
}

/* a rescan: free everything of the last execution, keep the callback armed */
void
mp_scan_base_reset(MpScanBase *b)
{
	MemoryContextReset(b->cxt);
	register_cleanup(b);
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
/*
 * An amount bound of a report goes with one currency only: say so when the
 * plan pushes no "=" on its currency (with = ANY, the execution decides).
 */
static const char *
amount_note(MpPlan *plan, MpPush *amount)
{
	const MpResource *res = plan->res;
	const char *note = " (not sent: no currency fixed; checked locally)";
	ListCell   *lc;

	if (amount->kind != MP_PUSH_MIN && amount->kind != MP_PUSH_MAX)
		return "";
	if (mp_column_push(res, &res->cols[amount->colidx]).range != MP_RANGE_AMOUNT)
		return "";
	foreach(lc, plan->pushes)
	{
		MpPush	   *p = lfirst(lc);

		if (p->kind != MP_PUSH_FILTER ||
			mp_amount_currency(&res->cols[amount->colidx], &res->cols[p->colidx]) == 0)
			continue;
		if (!p->is_array)
			return "";
		note = " (sent only when one currency is given)";
	}
	return note;
}

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
		const char *api = mp_push_target(res, col, p->kind);
		const char *op = p->is_array ? "= ANY" : "=";

		if (p->kind == MP_PUSH_DATE_LO || p->kind == MP_PUSH_MIN)
			op = "from";
		else if (p->kind == MP_PUSH_DATE_HI || p->kind == MP_PUSH_MAX)
			op = "until";
		appendStringInfo(&f, "%s%s %s %s → %s%s", f.len ? ", " : "", col->name, op,
						 expr_text(e, es), api, amount_note(plan, p));
	}
	return f.len ? f.data : NULL;
}
