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
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include "access/sysattr.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "utils/memutils.h"
#include "utils/rel.h"

static void
register_cleanup(MpScanBase *b)
{
	MemoryContextCallback *cb = MemoryContextAlloc(b->cxt, sizeof(MemoryContextCallback));

	cb->func = b->cleanup;
	cb->arg = b->cleanup_arg;
	MemoryContextRegisterResetCallback(b->cxt, cb);
}

void
mp_scan_base_init(MpScanBase *b, ForeignScanState *node, MpPlan *plan, MpConn *conn,
				  MemoryContextCallbackFunction cleanup, void *arg)
{
	ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

	b->node = node;
	b->plan = plan;
	b->conn = conn;
	b->res = plan->res;
	b->rel = node->ss.ss_currentRelation;
	b->natts = RelationGetDescr(b->rel)->natts;
	/* a report table read by id (payouts) reads API objects, not CSV rows */
	b->maps = mp_build_colmaps(b->rel, b->res, plan->needed,
							   bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, plan->needed),
							   plan->by_id && b->res->source == MP_SRC_REPORT);
	b->exprstates = ExecInitExprList(fsplan->fdw_exprs, (PlanState *) node);
	b->cxt = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw scan", ALLOCSET_DEFAULT_SIZES);
	b->cleanup = cleanup;
	b->cleanup_arg = arg;
	register_cleanup(b);
}

/* a rescan: free everything of the last execution, keep the callback armed */
void
mp_scan_base_reset(MpScanBase *b)
{
	MemoryContextReset(b->cxt);
	register_cleanup(b);
}
