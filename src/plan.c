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
 * Which of these a column takes is mp_column_push()'s (src/pushdesc.c),
 * the description mangopay_fdw_columns() and EXPLAIN print too.
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
#include "executor/executor.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/date.h"
#include "utils/datetime.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/syscache.h"

enum MpPrivateIndex
{
	MpPrivResource,
	MpPrivSortDir,
	MpPrivLimit,
	MpPrivPushes,
	MpPrivNeeded,
	MpPrivPrefilter,
	MpPrivById
};

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

static MpPush *
add_push(MpPlan *plan, MpPushKind kind, int colidx, bool is_array, Node *val)
{
	MpPush	   *p = palloc0(sizeof(MpPush));

	p->kind = kind;
	p->colidx = colidx;
	p->is_array = is_array;
	p->expr_idx = add_expr(plan, val);
	plan->pushes = lappend(plan->pushes, p);
	return p;
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
		MpColPush	cp;

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
		cp = mp_column_push(res, &res->cols[ci]);
		name = builtin_opname(op->opno, &lt, &rt);
		if (name == NULL)
			return false;

		if (cp.range == MP_RANGE_DATE && lt == TIMESTAMPTZOID && rt == TIMESTAMPTZOID)
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
		if (cp.range == MP_RANGE_MONTH && (var_left ? lt : rt) == DATEOID &&
			((var_left ? rt : lt) == DATEOID || (var_left ? rt : lt) == TIMESTAMPTZOID ||
			 (var_left ? rt : lt) == TIMESTAMPOID))
		{
			/*
			 * A month key: = is one month, a range the months it spans.  The
			 * bound may be a date or, as people write it, a timestamp
			 * (month >= date_trunc('month', now()) - interval '2 months'):
			 * PostgreSQL compares the date's midnight with it, and its date
			 * (in the session's time zone, at execution) is the bound.
			 */
			bool		ge = strcmp(name, ">") == 0 || strcmp(name, ">=") == 0;
			bool		le = strcmp(name, "<") == 0 || strcmp(name, "<=") == 0;
			bool		is_ts = (var_left ? rt : lt) != DATEOID;
			bool		lower = ge == var_left;

			if (strcmp(name, "=") == 0)
			{
				add_push(plan, (MpPushKind) cp.eq, ci, false, val);
				return cp.eq_narrows;
			}
			if (!ge && !le)
				return false;
			/*
			 * Inclusive, or a superset: the local check trims it.  A strict
			 * bound is the next date (a date), or the date of the instant
			 * before it (an upper timestamp bound); a strict lower timestamp
			 * bound is its own date.
			 */
			add_push(plan, lower ? MP_PUSH_MIN : MP_PUSH_MAX, ci, false, val)->adjust =
				strchr(name, '=') != NULL ? 0 : (!lower ? -1 : (is_ts ? 0 : 1));
			return true;
		}
		if (cp.range == MP_RANGE_AMOUNT && lt == INT8OID && (rt == INT8OID || rt == INT4OID))
		{
			bool		ge = strcmp(name, ">") == 0 || strcmp(name, ">=") == 0;
			bool		le = strcmp(name, "<") == 0 || strcmp(name, "<=") == 0;

			if (!var_left)
			{
				bool		t = ge;

				ge = le;
				le = t;
			}
			/*
			 * Whether MangoPay reads Min/Max as inclusive or exclusive is
			 * unknown: the bound is sent so that both readings return every
			 * matching row (>= v as Min v-1, <= v as Max v+1; > v as Min v
			 * and < v as Max v), and the local check trims the rest.
			 */
			if (strcmp(name, "=") == 0)
			{
				add_push(plan, MP_PUSH_MIN, ci, false, val)->adjust = -1;
				add_push(plan, MP_PUSH_MAX, ci, false, val)->adjust = 1;
				return true;
			}
			if (ge || le)
			{
				bool		incl = strchr(name, '=') != NULL;

				add_push(plan, ge ? MP_PUSH_MIN : MP_PUSH_MAX, ci, false, val)->adjust =
					incl ? (ge ? -1 : 1) : 0;
				return true;
			}
			return false;
		}
		if (strcmp(name, "=") == 0 && lt == TEXTOID && rt == TEXTOID && cp.eq >= 0)
		{
			add_push(plan, (MpPushKind) cp.eq, ci, false, val);
			/* a currency alone filters nothing at the API */
			return cp.eq_narrows;
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
		MpColPush	cp;

		if (!sa->useOr || list_length(sa->args) != 2)
			return false;
		v = strip_var(linitial(sa->args));
		val = lsecond(sa->args);
		ci = var_column(v, baserel, res, relid);
		if (ci < 0 || !value_ok(root, baserel, val))
			return false;
		cp = mp_column_push(res, &res->cols[ci]);
		name = builtin_opname(sa->opno, &lt, &rt);
		if (cp.eq < 0 || name == NULL || strcmp(name, "=") != 0 ||
			!((lt == TEXTOID && rt == TEXTOID) ||
			  (cp.range == MP_RANGE_MONTH && lt == DATEOID && rt == DATEOID)))
			return false;
		add_push(plan, (MpPushKind) cp.eq, ci, true, val);
		return cp.eq_narrows;
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
	plan->prefilter_at = -1;
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

		pushes = lappend(pushes, lappend_int(list_make4_int(p->kind, p->colidx, p->is_array,
															p->expr_idx), p->adjust));
	}
	while ((x = bms_next_member(plan->needed, x)) >= 0)
		needed = lappend_int(needed, x);
	return list_make2(list_make5(makeString(pstrdup(plan->res->name)),
								 makeInteger(plan->sort_dir),
								 makeString(psprintf(INT64_FORMAT, plan->limit_hint)),
								 pushes,
								 needed),
					  list_make2(makeInteger(plan->prefilter_at),
								 makeInteger(plan->by_id ? 1 : 0)));
}

MpPlan *
mp_plan_deserialize(List *fdw_private)
{
	MpPlan	   *plan = palloc0(sizeof(MpPlan));
	List	   *priv = list_concat_copy(linitial(fdw_private), lsecond(fdw_private));
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
		p->adjust = list_nth_int(l, 4);
		plan->pushes = lappend(plan->pushes, p);
	}
	foreach(lc, (List *) list_nth(priv, MpPrivNeeded))
		plan->needed = bms_add_member(plan->needed, lfirst_int(lc));
	plan->prefilter_at = intVal(list_nth(priv, MpPrivPrefilter));
	plan->by_id = intVal(list_nth(priv, MpPrivById)) != 0;
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

	if (list_length(root->query_pathkeys) != 1)
		return 0;
	pk = linitial(root->query_pathkeys);
	if (pk->pk_eclass->ec_has_volatile)
		return 0;
	foreach(lc, pk->pk_eclass->ec_members)
	{
		EquivalenceMember *em = lfirst(lc);
		Var		   *v = strip_var((Node *) em->em_expr);
		int			ci = var_column(v, baserel, res, relid);

		if (ci >= 0 && mp_column_push(res, &res->cols[ci]).sort &&
			exprType((Node *) v) == TIMESTAMPTZOID)
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

/* ------------------------------------------------------------------------
 * execution-time evaluation of the pushed values
 * ------------------------------------------------------------------------ */

/* s appended to a list of strings unless it is there */
static List *
append_unique(List *out, char *s)
{
	ListCell   *lc;

	foreach(lc, out)
		if (strcmp(lfirst(lc), s) == 0)
			return out;
	return lappend(out, s);
}

/* the text values of "= x" or "= ANY(array)", in UTF-8, de-duplicated */
static List *
datum_texts(Datum d, bool is_array)
{
	List	   *out = NIL;
	ArrayType  *arr;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (!is_array)
	{
		char	   *s = TextDatumGetCString(d);

		return list_make1(pg_server_to_any(s, strlen(s), PG_UTF8));
	}
	arr = DatumGetArrayTypeP(d);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
	{
		char	   *s;

		if (nulls[i])
			continue;
		s = TextDatumGetCString(elems[i]);
		out = append_unique(out, pg_server_to_any(s, strlen(s), PG_UTF8));
	}
	return out;
}

/* a date as the first day of its month, "YYYY-MM-01" */
static char *
month_text(DateADT d)
{
	int			y,
				m,
				dd;

	j2date(d + POSTGRES_EPOCH_JDATE, &y, &m, &dd);
	return psprintf("%04d-%02d-01", y, m);
}

/* the months of "= date" or "= ANY(date[])", de-duplicated */
static List *
datum_months(Datum d, bool is_array)
{
	List	   *out = NIL;
	Datum	   *elems;
	bool	   *nulls;
	int			n;

	if (!is_array)
		return DATE_NOT_FINITE(DatumGetDateADT(d)) ? NIL : list_make1(month_text(DatumGetDateADT(d)));
	deconstruct_array(DatumGetArrayTypeP(d), DATEOID, sizeof(DateADT), true, TYPALIGN_INT,
					  &elems, &nulls, &n);
	for (int i = 0; i < n; i++)
		if (!nulls[i] && !DATE_NOT_FINITE(DatumGetDateADT(elems[i])))
			out = append_unique(out, month_text(DatumGetDateADT(elems[i])));
	return out;
}

#define MP_MAX_MONTHS 1200

/*
 * every month whose first day is within lo..hi (days since 2000-01-01): a
 * month key's values are first days
 */
static List *
month_range(int64 lo, int64 hi)
{
	List	   *out = NIL;
	int			y,
				m,
				d,
				y2,
				m2;

	j2date((int) lo + POSTGRES_EPOCH_JDATE, &y, &m, &d);
	if (d != 1 && ++m > 12)
		m = 1, y++;
	j2date((int) hi + POSTGRES_EPOCH_JDATE, &y2, &m2, &d);
	if ((int64) (y2 - y) * 12 + (m2 - m) >= MP_MAX_MONTHS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the month range spans more than %d months", MP_MAX_MONTHS),
				 errhint("Each month costs one request: narrow the range.")));
	while (y < y2 || (y == y2 && m <= m2))
	{
		out = lappend(out, psprintf("%04d-%02d-01", y, m));
		if (++m > 12)
			m = 1, y++;
	}
	return out;
}

static List *
intersect_texts(List *a, List *b)
{
	List	   *out = NIL;
	ListCell   *la,
			   *lb;

	foreach(la, a)
		foreach(lb, b)
			if (strcmp(lfirst(la), lfirst(lb)) == 0)
			{
				out = lappend(out, lfirst(la));
				break;
			}
	return out;
}

/* all values are among the column's documented enum values (if it has any) */
bool
mp_enum_documented(const MpColumnDef *col, List *vals)
{
	ListCell   *lc;

	if (col->enumvals == NULL)
		return true;
	foreach(lc, vals)
	{
		bool		found = false;

		for (const char *const *e = col->enumvals; *e; e++)
			if (strcmp(*e, lfirst(lc)) == 0)
				found = true;
		if (!found)
			return false;
	}
	return true;
}

/*
 * Could s be a MangoPay id (or a key that goes into a path)?  Ids are
 * case-sensitive strings of at most 128 characters (ULIDs with a prefix,
 * UUIDs, digit strings): no empty string, no "." or "..", nothing that
 * would change the path's shape or is not printable ASCII.
 */
bool
mp_plausible_id(const char *s)
{
	size_t		n = strlen(s);

	if (n == 0 || n > 128 || strspn(s, ".") == n)
		return false;
	for (const unsigned char *p = (const unsigned char *) s; *p; p++)
		if (*p <= ' ' || *p > '~' || strchr("/\\?#%", *p))
			return false;
	return true;
}

/*
 * The values of a key or id column that can match a row, each once: a
 * value that cannot be one (an impossible id, an enum value outside the
 * documented set, in any other case: text compares case-sensitively) is
 * dropped without a request, and a value given twice is read once.
 */
static List *
plausible_values(const MpColumnDef *col, List *vals)
{
	List	   *out = NIL;
	ListCell   *lc;

	foreach(lc, vals)
	{
		char	   *v = lfirst(lc);
		List	   *one = list_make1(v);
		bool		dup = false;
		ListCell   *lo;

		if (!mp_plausible_id(v) || !mp_enum_documented(col, one))
			continue;
		/*
		 * ISO 4217 codes are upper case; XXX ("no currency") is what a bank
		 * wire pay-in shows before its funds arrive (debited funds XXX 0)
		 */
		if (strlen(col->field) >= 8 &&
			strcmp(col->field + strlen(col->field) - 8, "Currency") == 0 &&
			(!(strlen(v) == 3 && strspn(v, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3) ||
			 strcmp(v, "XXX") == 0))
			continue;
		foreach(lo, out)
			if (strcmp(lfirst(lo), v) == 0)
				dup = true;
		if (!dup)
			out = lappend(out, v);
	}
	return out;
}

/*
 * A timestamp or timestamptz compared with a month key (a date): the date
 * PostgreSQL's cast gives (timestamptz: in the session's time zone), of the
 * instant before it when adjust < 0 (month < ts).  Any other type: d.
 */
static Datum
ts_as_date(Datum d, Oid type, int adjust)
{
	Timestamp	ts;

	if (type != TIMESTAMPTZOID && type != TIMESTAMPOID)
		return d;
	ts = DatumGetTimestamp(d);
	if (adjust < 0 && !TIMESTAMP_NOT_FINITE(ts))
		ts -= 1;
	return DirectFunctionCall1(type == TIMESTAMPTZOID ? timestamptz_date : timestamp_date,
							   TimestampGetDatum(ts));
}

static void
set_values(List **dst, bool *set, List *v, bool *no_rows)
{
	*dst = *set ? intersect_texts(*dst, v) : v;
	*set = true;
	if (*dst == NIL)
		*no_rows = true;
}

/*
 * Evaluate every pushed expression (Consts, Params, stable functions) into
 * the values a request is built from.  A NULL, an empty IN list, a
 * contradiction (status = 'A' AND status = 'B', an empty date range) sets
 * no_rows: no row can match, so no API call is made.
 */
MpEval *
mp_plan_evaluate(MpPlan *plan, List *exprstates, ExprContext *econtext)
{
	const MpResource *res = plan->res;
	MpEval	   *ev = palloc0(sizeof(MpEval));
	ListCell   *lc;

	ev->vals = palloc0(sizeof(List *) * res->ncols);
	ev->vals_set = palloc0(sizeof(bool) * res->ncols);
	ev->have_min = palloc0(sizeof(bool) * res->ncols);
	ev->have_max = palloc0(sizeof(bool) * res->ncols);
	ev->min = palloc0(sizeof(int64) * res->ncols);
	ev->max = palloc0(sizeof(int64) * res->ncols);

	foreach(lc, plan->pushes)
	{
		MpPush	   *p = lfirst(lc);
		ExprState  *es = list_nth(exprstates, p->expr_idx);
		bool		isnull;
		Datum		d = ExecEvalExpr(es, econtext, &isnull);

		if (isnull)
		{
			/* "col = NULL", "col < NULL": no row can match */
			ev->no_rows = true;
			continue;
		}
		switch (p->kind)
		{
			case MP_PUSH_DATE_LO:
			case MP_PUSH_DATE_HI:
			case MP_PUSH_DATE_EQ:
				{
					TimestampTz t = DatumGetTimestampTz(d);

					if (p->kind != MP_PUSH_DATE_HI && !TIMESTAMP_IS_NOBEGIN(t))
					{
						if (TIMESTAMP_IS_NOEND(t))
							ev->no_rows = true;
						else if (!ev->have_lo || t > ev->lo)
							ev->lo = t, ev->have_lo = true;
					}
					if (p->kind != MP_PUSH_DATE_LO && !TIMESTAMP_IS_NOEND(t))
					{
						if (TIMESTAMP_IS_NOBEGIN(t))
							ev->no_rows = true;
						else if (!ev->have_hi || t < ev->hi)
							ev->hi = t, ev->have_hi = true;
					}
					break;
				}
			case MP_PUSH_FILTER:
				set_values(&ev->vals[p->colidx], &ev->vals_set[p->colidx],
						   datum_texts(d, p->is_array), &ev->no_rows);
				break;
			case MP_PUSH_ID:
				set_values(&ev->ids, &ev->have_ids,
						   plausible_values(&res->cols[p->colidx], datum_texts(d, p->is_array)),
						   &ev->no_rows);
				break;
			case MP_PUSH_KEY:
				{
					int			k = 0;

					/* a timestamp given for a month key: its date */
					d = ts_as_date(d, exprType((Node *) es->expr), 0);

					for (int i = 0; i < p->colidx; i++)
						if (res->cols[i].flags & MP_COL_KEY)
							k++;
					if (k < 2)
						set_values(&ev->keys[k], &ev->keys_set[k],
									   res->cols[p->colidx].kind == MP_CK_DATE ?
									   datum_months(d, p->is_array) :
									   plausible_values(&res->cols[p->colidx],
														datum_texts(d, p->is_array)),
								   &ev->no_rows);
					break;
				}
			case MP_PUSH_MIN:
			case MP_PUSH_MAX:
				{
					Oid			t = exprType((Node *) es->expr);
					int			adjust = p->adjust;
					int64		v;
					int			c = p->colidx;

					if (t == TIMESTAMPTZOID || t == TIMESTAMPOID)
					{
						/* a month key's timestamp bound: its date (adjusted there) */
						d = ts_as_date(d, t, adjust);
						t = DATEOID;
						adjust = 0;
					}
					v = (t == INT4OID) ? DatumGetInt32(d) :
						(t == DATEOID) ? DatumGetDateADT(d) : DatumGetInt64(d);

					/* an infinite month bound bounds nothing (-infinity) or excludes all */
					if (t == DATEOID && DATE_NOT_FINITE(DatumGetDateADT(d)))
					{
						if ((p->kind == MP_PUSH_MIN) == DATE_IS_NOEND(DatumGetDateADT(d)))
							ev->no_rows = true;
						break;
					}
					/* widened so that either reading of the bound keeps the row */
					if ((adjust < 0 && v == PG_INT64_MIN) || (adjust > 0 && v == PG_INT64_MAX))
						break;	/* nothing to widen to: the local check alone */
					v += adjust;

					if (p->kind == MP_PUSH_MIN && (!ev->have_min[c] || v > ev->min[c]))
						ev->min[c] = v, ev->have_min[c] = true;
					if (p->kind == MP_PUSH_MAX && (!ev->have_max[c] || v < ev->max[c]))
						ev->max[c] = v, ev->have_max[c] = true;
					if (ev->have_min[c] && ev->have_max[c] && ev->min[c] > ev->max[c])
						ev->no_rows = true;
					break;
				}
		}
	}
	if (ev->have_lo && ev->have_hi && ev->lo > ev->hi)
		ev->no_rows = true;
	/* a closed range on a month key: its months */
	for (int c = 0, k = 0; c < res->ncols && !ev->no_rows; c++)
	{
		if (!(res->cols[c].flags & MP_COL_KEY))
			continue;
		if (res->cols[c].kind == MP_CK_DATE && k < 2 && ev->have_min[c] && ev->have_max[c])
			set_values(&ev->keys[k], &ev->keys_set[k], month_range(ev->min[c], ev->max[c]),
					   &ev->no_rows);
		k++;
	}
	return ev;
}

/*
 * At plan time: the values of the pushed expressions that are constants
 * (after folding), for estimates.  Params and volatile parts are left out,
 * which widens the request: an estimate errs on the high side.
 */
MpEval *
mp_plan_evaluate_consts(PlannerInfo *root, MpPlan *plan)
{
	MpPlan		sub = *plan;
	List	   *states = NIL;
	ExprContext *econtext;
	MpEval	   *ev;
	ListCell   *lc;

	sub.pushes = NIL;
	foreach(lc, plan->exprs)
	{
		Node	   *e = estimate_expression_value(root, (Node *) lfirst(lc));

		states = lappend(states, IsA(e, Const) ? ExecInitExpr((Expr *) e, NULL) : NULL);
	}
	foreach(lc, plan->pushes)
	{
		MpPush	   *p = lfirst(lc);

		if (list_nth(states, p->expr_idx) != NULL)
			sub.pushes = lappend(sub.pushes, p);
	}
	econtext = CreateStandaloneExprContext();
	ev = mp_plan_evaluate(&sub, states, econtext);
	FreeExprContext(econtext, true);
	return ev;
}
