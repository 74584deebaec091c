/*-------------------------------------------------------------------------
 * mangopay_fdw.c
 *		Entry points of mangopay_fdw: the FDW handler and its planner and
 *		executor callbacks, EXPLAIN, IMPORT FOREIGN SCHEMA, and the SQL
 *		functions mangopay_fdw_version() and mangopay_fdw_stats().
 *
 * Thin on purpose: what a qual means to the API lives in src/plan.c, the
 * resources in src/resources.c, HTTP in src/http.c, the list source in
 * src/listing.c.
 *-------------------------------------------------------------------------
 */
#include "src/mpfdw.h"

#include <math.h>

#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "foreign/fdwapi.h"
#include "foreign/foreign.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pathnodes.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/planmain.h"
#include "optimizer/restrictinfo.h"
#include "executor/executor.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(mangopay_fdw_handler);
PG_FUNCTION_INFO_V1(mangopay_fdw_version);
PG_FUNCTION_INFO_V1(mangopay_fdw_stats);
PG_FUNCTION_INFO_V1(mangopay_fdw_columns);

/* planner state of one foreign relation */
typedef struct MpRelInfo
{
	const MpResource *res;
	Oid			relid;
	MpPlan	   *quals;			/* what baserestrictinfo pushes */
	int			page_size;
} MpRelInfo;

/* executor state */
typedef struct MpScanState
{
	MpPlan	   *plan;
	MpListScan *list;			/* list and by-id sources */
	MpReportScan *report;		/* report sources */
} MpScanState;

void		_PG_init(void);

void
_PG_init(void)
{
	mp_auth_init();
}

/* ------------------------------------------------------------------------
 * planning
 * ------------------------------------------------------------------------ */
static void
mpGetForeignRelSize(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	MpRelInfo  *ri = palloc0(sizeof(MpRelInfo));
	const char *name = mp_table_resource_name(foreigntableid);
	double		rows;
	ListCell   *lc;

	ri->res = mp_resource_by_name(name);
	if (ri->res == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_ATTRIBUTE_VALUE),
				 errmsg("foreign table \"%s\" names an unknown MangoPay resource \"%s\"",
						get_rel_name(foreigntableid), name),
				 errhint("Valid resources are: %s.", mp_resource_names())));
	ri->relid = foreigntableid;
	ri->quals = mp_plan_classify(root, baserel, ri->res, foreigntableid, baserel->baserestrictinfo);
	ri->page_size = mp_get_server_settings(baserel->serverid)->page_size;
	baserel->fdw_private = ri;

	/* by id: as many rows as ids; lists: a guess narrowed by the quals */
	rows = ri->res->source == MP_SRC_REPORT ? 100000.0 : ri->res->list_path ? 1000.0 : 1.0;
	foreach(lc, ri->quals->pushes)
	{
		MpPush	   *p = lfirst(lc);
		Node	   *e = list_nth(ri->quals->exprs, p->expr_idx);

		if (p->kind == MP_PUSH_ID)
		{
			rows = 1;
			if (p->is_array && IsA(e, Const) && !((Const *) e)->constisnull)
				rows = ArrayGetNItems(ARR_NDIM(DatumGetArrayTypeP(((Const *) e)->constvalue)),
									  ARR_DIMS(DatumGetArrayTypeP(((Const *) e)->constvalue)));
			else if (p->is_array)
				rows = 10;
		}
	}
	if (ri->res->list_path && strcmp(ri->res->name, "client_wallets") == 0)
		rows = 12;
	if (ri->res->source != MP_SRC_BYID)
		rows *= clauselist_selectivity(root, baserel->baserestrictinfo, 0, JOIN_INNER, NULL);
	baserel->rows = clamp_row_est(rows);
}

/*
 * Cost in the planner's units: a request is expensive (network round trip),
 * a row is cheap.  A by-id table without ids can't be scanned at all: its
 * cost is prohibitive, and GetForeignPlan... reports it at execution.
 */
static void
estimate_cost(PlannerInfo *root, RelOptInfo *baserel, MpRelInfo *ri, double rows,
			  Cost *startup, Cost *total)
{
	double		requests;

	if (ri->res->source == MP_SRC_REPORT)
	{
		/* a report takes seconds to generate before the first row */
		*startup = 10000.0;
		*total = *startup + rows * (cpu_tuple_cost * 2);
		return;
	}
	if (ri->res->list_path == NULL)
		requests = rows;
	else
		requests = Max(1.0, ceil(rows / Max(1, ri->page_size)));
	*startup = 100.0;
	*total = *startup + requests * 100.0 + rows * (cpu_tuple_cost * 4);
}

static void
mpGetForeignPaths(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid)
{
	MpRelInfo  *ri = baserel->fdw_private;
	Cost		startup,
				total;
	int64		limit = -1;
	int			sort_dir;

	/* LIMIT helps only when no join, grouping or unpushed qual is between */
	if (root->limit_tuples > 0 && root->limit_tuples < (double) PG_INT32_MAX &&
		bms_membership(root->all_baserels) == BMS_SINGLETON && ri->quals->all_pushed)
		limit = (int64) root->limit_tuples;

	estimate_cost(root, baserel, ri, baserel->rows, &startup, &total);
	add_path(baserel, (Path *)
			 create_foreignscan_path(root, baserel, NULL, baserel->rows, startup, total,
									 NIL, NULL, NULL,
									 list_make2(makeInteger(0),
												makeString(psprintf(INT64_FORMAT,
																	root->query_pathkeys == NIL ? limit : -1)))));

	sort_dir = mp_plan_sort_dir(root, baserel, ri->res, foreigntableid);
	if (sort_dir != 0)
		add_path(baserel, (Path *)
				 create_foreignscan_path(root, baserel, NULL, baserel->rows, startup, total + 0.01,
										 root->query_pathkeys, NULL, NULL,
										 list_make2(makeInteger(sort_dir),
													makeString(psprintf(INT64_FORMAT, limit)))));
}

static ForeignScan *
mpGetForeignPlan(PlannerInfo *root, RelOptInfo *baserel, Oid foreigntableid,
				 ForeignPath *best_path, List *tlist, List *scan_clauses, Plan *outer_plan)
{
	MpRelInfo  *ri = baserel->fdw_private;
	MpPlan	   *plan;
	Bitmapset  *attrs = NULL;
	ListCell   *lc;

	plan = mp_plan_classify(root, baserel, ri->res, foreigntableid, scan_clauses);
	plan->sort_dir = intVal(linitial(best_path->fdw_private));
	plan->limit_hint = strtoll(strVal(lsecond(best_path->fdw_private)), NULL, 10);

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
	if (ri->res->lookup_path)
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
	MpConn	   *conn;

	st->plan = mp_plan_deserialize(fsplan->fdw_private);
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
	conn = mp_get_conn(GetForeignTable(relid)->serverid, userid);
	if (st->plan->res->source == MP_SRC_REPORT)
		st->report = mp_report_begin(node, st->plan, conn);
	else
		st->list = mp_list_begin(node, st->plan, conn);
}

static TupleTableSlot *
mpIterateForeignScan(ForeignScanState *node)
{
	MpScanState *st = node->fdw_state;
	TupleTableSlot *slot = node->ss.ss_ScanTupleSlot;

	if (st->report)
		mp_report_next(st->report, slot);
	else
		mp_list_next(st->list, slot);
	return slot;
}

static void
mpReScanForeignScan(ForeignScanState *node)
{
	MpScanState *st = node->fdw_state;

	if (st->list)
		mp_list_rescan(st->list);
	if (st->report)
		mp_report_rescan(st->report);
}

static void
mpEndForeignScan(ForeignScanState *node)
{
	MpScanState *st = node->fdw_state;

	if (st && st->list)
		mp_list_end(st->list);
	if (st && st->report)
		mp_report_end(st->report);
}

static void
mpExplainForeignScan(ForeignScanState *node, ExplainState *es)
{
	MpScanState *st = node->fdw_state;

	if (st->plan->res->source == MP_SRC_REPORT)
		mp_report_explain(st->report, st->plan, node, es);
	else
		mp_list_explain(st->list, st->plan, node, es);
}

static bool
mpAnalyzeForeignTable(Relation relation, AcquireSampleRowsFunc *func, BlockNumber *totalpages)
{
	/* sampling would read the whole API history: refused (PostgreSQL warns) */
	return false;
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

	if (strcmp(stmt->remote_schema, "mangopay") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_SCHEMA_NOT_FOUND),
				 errmsg("MangoPay has no schema \"%s\"", stmt->remote_schema),
				 errhint("Use IMPORT FOREIGN SCHEMA mangopay FROM SERVER %s INTO ...;",
						 quote_identifier(server->servername))));

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
							 mp_coltype_sql(res->cols[c].kind), c + 1 < res->ncols ? "," : "");
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
	PG_RETURN_POINTER(r);
}

/* ------------------------------------------------------------------------
 * SQL functions
 * ------------------------------------------------------------------------ */
Datum
mangopay_fdw_version(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(MPFDW_VERSION));
}

/* a materialized SRF's tuplestore, for PostgreSQL 13 to 18 alike */
static Tuplestorestate *
begin_srf(FunctionCallInfo fcinfo, TupleDesc *tupdesc)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	MemoryContext old;
	Tuplestorestate *ts;

	if (rsinfo == NULL || !IsA(rsinfo, ReturnSetInfo) ||
		!(rsinfo->allowedModes & SFRM_Materialize))
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("set-valued function called in context that cannot accept a set")));
	if (get_call_result_type(fcinfo, NULL, tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	old = MemoryContextSwitchTo(rsinfo->econtext->ecxt_per_query_memory);
	*tupdesc = CreateTupleDescCopy(*tupdesc);
	ts = tuplestore_begin_heap(true, false, work_mem);
	rsinfo->returnMode = SFRM_Materialize;
	rsinfo->setResult = ts;
	rsinfo->setDesc = *tupdesc;
	MemoryContextSwitchTo(old);
	return ts;
}

/*
 * mangopay_fdw_columns(): the descriptor table as data — every table and
 * column IMPORT FOREIGN SCHEMA creates, the API field it reads, and what
 * of a WHERE clause on it reaches the API.
 */
Datum
mangopay_fdw_columns(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *ts = begin_srf(fcinfo, &tupdesc);

	for (int i = 0; i < mp_resource_count(); i++)
	{
		const MpResource *res = mp_resource_at(i);

		for (int c = 0; c < res->ncols; c++)
		{
			const MpColumnDef *col = &res->cols[c];
			Datum		v[7];
			bool		n[7] = {false, false, false, false, false, false, false};
			const char *push = NULL;

			if (col->flags & MP_COL_ATTRS)
				push = NULL;
			else if (col->flags & MP_COL_LOOKUP)
				push = psprintf("lookup: GET %s per row, when referenced", res->lookup_path);
			else if ((col->flags & MP_COL_ID) && res->single_path)
				push = psprintf("= / IN / = ANY: GET %s", res->single_path);
			else if ((col->flags & MP_COL_KEY) && res->source == MP_SRC_REPORT)
				push = psprintf("= / IN / = ANY: Filters.%s (key column: one is required)", col->filter);
			else if (col->flags & MP_COL_KEY)
				push = psprintf("= / IN / = ANY: path %s (key column)", res->list_path);
			else if ((col->flags & MP_COL_DATE) && res->sort_field)
				push = psprintf("< <= = >= >: AfterDate/BeforeDate; ORDER BY: Sort=%s", res->sort_field);
			else if ((col->flags & MP_COL_FILTER) && col->filter && (col->flags & MP_COL_SCALAR))
				push = psprintf("=: Filters.%s", col->filter);
			else if ((col->flags & MP_COL_FILTER) && col->filter && res->source == MP_SRC_REPORT)
				push = psprintf("= / IN / = ANY: Filters.%s", col->filter);
			else if ((col->flags & MP_COL_FILTER) && col->filter)
				push = psprintf("= / IN / = ANY: %s", col->filter);
			else if (col->flags & MP_COL_RANGE)
				push = psprintf("< <= = >= >: Filters.Min%s / Max%s", col->filter, col->filter);
			else if (col->flags & MP_COL_OPTIONAL)
				push = "(optional report column: requested only when referenced)";
			v[0] = CStringGetTextDatum(res->name);
			v[1] = Int32GetDatum(c + 1);
			v[2] = CStringGetTextDatum(col->name);
			v[3] = CStringGetTextDatum(mp_coltype_sql(col->kind));
			v[4] = CStringGetTextDatum((col->flags & MP_COL_ATTRS) ? "(whole object)" :
									   (col->flags & MP_COL_KEY) ? psprintf("(key) %s", col->field) :
									   col->field);
			if (push)
				v[5] = CStringGetTextDatum(push);
			else
				n[5] = true;
			if (res->source == MP_SRC_REPORT)
				v[6] = CStringGetTextDatum(psprintf("POST %s (%s)", res->create_path, res->report_type));
			else if (res->source == MP_SRC_BYID)
				v[6] = CStringGetTextDatum(psprintf("GET %s", res->single_path));
			else
				v[6] = CStringGetTextDatum(psprintf("GET %s", res->list_path));
			tuplestore_putvalues(ts, tupdesc, v, n);
		}
	}
	return (Datum) 0;
}

Datum
mangopay_fdw_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *ts;
	static const char *const windows[] = {"15min", "30min", "60min", "24h"};
	struct
	{
		const char *name;
		int64		value;
	}			c[] = {
		{"requests", mp_stats.requests},
		{"retries", mp_stats.retries},
		{"rate_limited", mp_stats.rate_limited},
		{"http_errors", mp_stats.http_errors},
		{"bytes_received", mp_stats.bytes_received},
		{"tokens_fetched", mp_stats.tokens_fetched},
		{"reports_created", mp_stats.reports_created},
		{"reports_reused", mp_stats.reports_reused},
		{"rows_returned", mp_stats.rows_returned},
	};

	ts = begin_srf(fcinfo, &tupdesc);
	for (int i = 0; i < lengthof(c) + 4; i++)
	{
		Datum		v[2];
		bool		n[2] = {false, false};

		if (i < lengthof(c))
		{
			v[0] = CStringGetTextDatum(c[i].name);
			v[1] = Int64GetDatum(c[i].value);
		}
		else
		{
			int			w = i - lengthof(c);

			v[0] = CStringGetTextDatum(psprintf("ratelimit_remaining_%s", windows[w]));
			v[1] = Int64GetDatum(mp_stats.ratelimit_remaining[w]);
			n[1] = !mp_stats.ratelimit_seen;
		}
		tuplestore_putvalues(ts, tupdesc, v, n);
	}
	return (Datum) 0;
}
