/*-------------------------------------------------------------------------
 * plan.c
 *		Which parts of a WHERE clause the MangoPay API can filter on, and
 *		the request plan that carries them from the planner to the executor.
 *
 * Recognised (the Var may be on either side; the other side must not
 * reference this relation nor be volatile; it may be a Param):
 *	date column	<, <=, =, >=, > timestamptz	 → AfterDate / BeforeDate
 *	filter col	= text, IN (...), = ANY(...)  → the list filter (Status, ...)
 *	id			= text, IN, = ANY			  → single-object GETs
 *	key column	= text, IN, = ANY			  → the path segment
 *
 * Nothing is removed from the scan's quals: every pushed condition is
 * checked again locally, so results are exact whatever the API's
 * boundary semantics.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include "access/htup_details.h"
#include "access/stratnum.h"
#include "access/sysattr.h"
#include "catalog/pg_am.h"
#include "commands/defrem.h"
#include "catalog/pg_namespace.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_type.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "nodes/pathnodes.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

enum MpPrivateIndex
{
	MpPrivResource,
	MpPrivSortDir,
	MpPrivLimit,
	MpPrivPushes,
	MpPrivNeeded
};

const char *
mp_push_kind_name(MpPushKind k)
{
	switch (k)
	{
		case MP_PUSH_DATE_LO:
			return "lower date bound";
		case MP_PUSH_DATE_HI:
			return "upper date bound";
		case MP_PUSH_DATE_EQ:
			return "date";
		case MP_PUSH_FILTER:
			return "filter";
		case MP_PUSH_ID:
			return "id";
		case MP_PUSH_KEY:
			return "key";
	}
	return "?";
}

/* a built-in (pg_catalog) operator's name, or NULL */
static const char *
builtin_opname(Oid opno, Oid *left, Oid *right)
{
	HeapTuple	tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(opno));
	Form_pg_operator op;
	char	   *name = NULL;

	if (!HeapTupleIsValid(tup))
		return NULL;
	op = (Form_pg_operator) GETSTRUCT(tup);
	if (op->oprnamespace == PG_CATALOG_NAMESPACE)
	{
		name = pstrdup(NameStr(op->oprname));
		*left = op->oprleft;
		*right = op->oprright;
	}
	ReleaseSysCache(tup);
	return name;
}

static Var *
strip_var(Node *n)
{
	while (n && IsA(n, RelabelType))
		n = (Node *) ((RelabelType *) n)->arg;
	return (n && IsA(n, Var)) ? (Var *) n : NULL;
}

/* the descriptor column a Var of our relation stands for */
static int
var_column(Var *v, RelOptInfo *baserel, const MpResource *res, Oid relid)
{
	char	   *attname;
	char	   *field;

	if (v == NULL || v->varno != baserel->relid || v->varlevelsup != 0 || v->varattno <= 0)
		return -1;
	attname = get_attname(relid, v->varattno, false);
	/* a column re-pointed at another field is not what the filter means */
	field = mp_column_field_option(relid, v->varattno);
	for (int i = 0; i < res->ncols; i++)
		if (strcmp(res->cols[i].name, attname) == 0)
			return (field == NULL || strcmp(field, res->cols[i].field) == 0) ? i : -1;
	return -1;
}

static bool
value_ok(PlannerInfo *root, RelOptInfo *baserel, Node *val)
{
	Relids		r;

	if (val == NULL || contain_volatile_functions(val))
		return false;
#if PG_VERSION_NUM >= 140000
	r = pull_varnos(root, val);
#else
	r = pull_varnos(val);
#endif
	return !bms_is_member(baserel->relid, r);
}

static int
add_expr(MpPlan *plan, Node *val)
{
	plan->exprs = lappend(plan->exprs, val);
	return list_length(plan->exprs) - 1;
}

static void
add_push(MpPlan *plan, MpPushKind kind, int colidx, bool is_array, Node *val)
{
	MpPush	   *p = palloc0(sizeof(MpPush));

	p->kind = kind;
	p->colidx = colidx;
	p->is_array = is_array;
	p->expr_idx = add_expr(plan, val);
	plan->pushes = lappend(plan->pushes, p);
}

/* kind of push for "col = value" on this column, or -1 */
static int
equality_kind(const MpColumnDef *col)
{
	if (col->flags & MP_COL_ID)
		return MP_PUSH_ID;
	if (col->flags & MP_COL_KEY)
		return MP_PUSH_KEY;
	if ((col->flags & MP_COL_FILTER) && col->filter)
		return MP_PUSH_FILTER;
	return -1;
}

static bool
classify_one(PlannerInfo *root, RelOptInfo *baserel, const MpResource *res, Oid relid,
			 MpPlan *plan, Expr *clause)
{
	if (IsA(clause, OpExpr))
	{
		OpExpr	   *op = (OpExpr *) clause;
		Node	   *l,
				   *r;
		Var		   *v;
		Node	   *val;
		Oid			lt,
					rt;
		const char *name;
		bool		var_left = true;
		int			ci;
		const MpColumnDef *col;

		if (list_length(op->args) != 2)
			return false;
		l = linitial(op->args);
		r = lsecond(op->args);
		v = strip_var(l);
		val = r;
		if (var_column(v, baserel, res, relid) < 0)
		{
			v = strip_var(r);
			val = l;
			var_left = false;
		}
		ci = var_column(v, baserel, res, relid);
		if (ci < 0 || !value_ok(root, baserel, val))
			return false;
		col = &res->cols[ci];
		name = builtin_opname(op->opno, &lt, &rt);
		if (name == NULL)
			return false;

		if ((col->flags & MP_COL_DATE) && res->sort_field &&
			lt == TIMESTAMPTZOID && rt == TIMESTAMPTZOID)
		{
			bool		lower;

			if (strcmp(name, "=") == 0)
			{
				add_push(plan, MP_PUSH_DATE_EQ, ci, false, val);
				return true;
			}
			if (strcmp(name, ">") == 0 || strcmp(name, ">=") == 0)
				lower = var_left;
			else if (strcmp(name, "<") == 0 || strcmp(name, "<=") == 0)
				lower = !var_left;
			else
				return false;
			add_push(plan, lower ? MP_PUSH_DATE_LO : MP_PUSH_DATE_HI, ci, false, val);
			return true;
		}
		if (strcmp(name, "=") == 0 && lt == TEXTOID && rt == TEXTOID && equality_kind(col) >= 0)
		{
			add_push(plan, (MpPushKind) equality_kind(col), ci, false, val);
			return true;
		}
		return false;
	}
	if (IsA(clause, ScalarArrayOpExpr))
	{
		ScalarArrayOpExpr *sa = (ScalarArrayOpExpr *) clause;
		Var		   *v;
		Node	   *val;
		Oid			lt,
					rt;
		const char *name;
		int			ci;

		if (!sa->useOr || list_length(sa->args) != 2)
			return false;
		v = strip_var(linitial(sa->args));
		val = lsecond(sa->args);
		ci = var_column(v, baserel, res, relid);
		if (ci < 0 || !value_ok(root, baserel, val) || equality_kind(&res->cols[ci]) < 0)
			return false;
		name = builtin_opname(sa->opno, &lt, &rt);
		if (name == NULL || strcmp(name, "=") != 0 || lt != TEXTOID || rt != TEXTOID)
			return false;
		add_push(plan, (MpPushKind) equality_kind(&res->cols[ci]), ci, true, val);
		return true;
	}
	return false;
}

/*
 * Build the pushable part of a request plan from a list of RestrictInfos
 * (or bare clauses).
 */
MpPlan *
mp_plan_classify(PlannerInfo *root, RelOptInfo *baserel, const MpResource *res, Oid relid,
				 List *clauses)
{
	MpPlan	   *plan = palloc0(sizeof(MpPlan));
	ListCell   *lc;

	plan->res = res;
	plan->limit_hint = -1;
	plan->all_pushed = true;
	foreach(lc, clauses)
	{
		Node	   *n = lfirst(lc);
		Expr	   *clause = IsA(n, RestrictInfo) ? ((RestrictInfo *) n)->clause : (Expr *) n;

		if (!classify_one(root, baserel, res, relid, plan, clause))
			plan->all_pushed = false;
	}
	return plan;
}

List *
mp_plan_serialize(MpPlan *plan)
{
	List	   *pushes = NIL;
	List	   *needed = NIL;
	ListCell   *lc;
	int			x = -1;

	foreach(lc, plan->pushes)
	{
		MpPush	   *p = lfirst(lc);

		pushes = lappend(pushes, list_make4_int(p->kind, p->colidx, p->is_array, p->expr_idx));
	}
	while ((x = bms_next_member(plan->needed, x)) >= 0)
		needed = lappend_int(needed, x);
	return list_make5(makeString(pstrdup(plan->res->name)),
					  makeInteger(plan->sort_dir),
					  makeString(psprintf(INT64_FORMAT, plan->limit_hint)),
					  pushes,
					  needed);
}

MpPlan *
mp_plan_deserialize(List *priv)
{
	MpPlan	   *plan = palloc0(sizeof(MpPlan));
	ListCell   *lc;

	plan->res = mp_resource_by_name(strVal(list_nth(priv, MpPrivResource)));
	if (plan->res == NULL)
		elog(ERROR, "mangopay_fdw: unknown resource in plan");
	plan->sort_dir = intVal(list_nth(priv, MpPrivSortDir));
	plan->limit_hint = strtoll(strVal(list_nth(priv, MpPrivLimit)), NULL, 10);
	foreach(lc, (List *) list_nth(priv, MpPrivPushes))
	{
		List	   *l = lfirst(lc);
		MpPush	   *p = palloc0(sizeof(MpPush));

		p->kind = linitial_int(l);
		p->colidx = lsecond_int(l);
		p->is_array = lthird_int(l);
		p->expr_idx = lfourth_int(l);
		plan->pushes = lappend(plan->pushes, p);
	}
	foreach(lc, (List *) list_nth(priv, MpPrivNeeded))
		plan->needed = bms_add_member(plan->needed, lfirst_int(lc));
	return plan;
}

/*
 * 1 or -1 when the query's ORDER BY is exactly the resource's date column
 * ascending or descending (with default NULLS placement), so that the API's
 * Sort can produce it; 0 otherwise.
 */
int
mp_plan_sort_dir(PlannerInfo *root, RelOptInfo *baserel, const MpResource *res, Oid relid)
{
	PathKey    *pk;
	ListCell   *lc;
	bool		found = false;
	Oid			family;

	if (res->sort_field == NULL || list_length(root->query_pathkeys) != 1)
		return 0;
	pk = linitial(root->query_pathkeys);
	if (pk->pk_eclass->ec_has_volatile)
		return 0;
	foreach(lc, pk->pk_eclass->ec_members)
	{
		EquivalenceMember *em = lfirst(lc);
		Var		   *v = strip_var((Node *) em->em_expr);
		int			ci = var_column(v, baserel, res, relid);

		if (ci >= 0 && (res->cols[ci].flags & MP_COL_DATE) && exprType((Node *) v) == TIMESTAMPTZOID)
			found = true;
	}
	if (!found)
		return 0;
	family = get_opclass_family(GetDefaultOpClass(TIMESTAMPTZOID, BTREE_AM_OID));
	if (pk->pk_opfamily != family)
		return 0;
#if PG_VERSION_NUM >= 180000
	if (pk->pk_cmptype == COMPARE_LT && !pk->pk_nulls_first)
		return 1;
	if (pk->pk_cmptype == COMPARE_GT && pk->pk_nulls_first)
		return -1;
#else
	if (pk->pk_strategy == BTLessStrategyNumber && !pk->pk_nulls_first)
		return 1;
	if (pk->pk_strategy == BTGreaterStrategyNumber && pk->pk_nulls_first)
		return -1;
#endif
	return 0;
}
