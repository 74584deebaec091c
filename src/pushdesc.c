/*-------------------------------------------------------------------------
 * pushdesc.c
 *		What of a WHERE clause or an ORDER BY on a column reaches the API,
 *		read from the column's descriptor once: the planner classifies with
 *		it, EXPLAIN names the pushes with it and mangopay_fdw_columns()
 *		prints its text, so the three cannot say different things.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

MpColPush
mp_column_push(const MpResource *res, const MpColumnDef *col)
{
	MpColPush	p;
	bool		report = res->source == MP_SRC_REPORT;

	memset(&p, 0, sizeof(p));
	p.eq = -1;
	p.lookup = (col->flags & MP_COL_LOOKUP) != 0;
	p.optional = (col->flags & MP_COL_OPTIONAL) != 0;

	if ((col->flags & MP_COL_DATE) && res->sort_field)
	{
		p.range = MP_RANGE_DATE;
		/*
		 * Key columns split a scan into one request series per parent, read
		 * one after another: the API's Sort orders each, not the whole.
		 */
		p.sort = mp_resource_key_count(res) == 0;
	}
	else if ((col->flags & MP_COL_KEY) && col->kind == MP_CK_DATE)
		p.range = MP_RANGE_MONTH;
	else if ((col->flags & MP_COL_RANGE) && col->filter)
		p.range = MP_RANGE_AMOUNT;

	if ((col->flags & MP_COL_ID) && mp_resource_id_path(res))
	{
		p.eq = MP_PUSH_ID;
		p.many = MP_MANY_EACH;
		p.join = true;
	}
	else if (col->flags & MP_COL_KEY)
	{
		p.eq = MP_PUSH_KEY;
		p.many = MP_MANY_EACH;
		/* a parent key is given by the WHERE clause or a join, or nothing is read */
		p.required = p.join = mp_resource_needs_parents(res);
	}
	else if ((col->flags & MP_COL_FILTER) && col->filter)
	{
		p.eq = MP_PUSH_FILTER;
		if (col->flags & MP_COL_SCALAR)
			p.many = report ? MP_MANY_LOCAL : MP_MANY_ONE;
		else
			p.many = (report || (col->flags & MP_COL_MULTI)) ? MP_MANY_LIST : MP_MANY_LOCAL;
	}
	else if (col->flags & MP_COL_CCY)
	{
		p.eq = MP_PUSH_FILTER;
		p.many = MP_MANY_BOUND;
	}
	p.eq_narrows = p.eq >= 0 && p.many != MP_MANY_BOUND;
	p.id_local = (col->flags & MP_COL_ID) && p.eq < 0;
	return p;
}

/*
 * Whether a value of col fixes the currency of the amount bound on the
 * report column amount: 2 for the currency of the same amount
 * (DebitedFundsCurrency for DebitedFundsAmount), 1 for a report's Currency
 * filter (a wallet's balance is in the wallet's currency), else 0.  An
 * amount bound is sent only with one currency: every published example
 * sends both, and an API that requires it answers 400 to a bound alone.
 */
int
mp_amount_currency(const MpColumnDef *amount, const MpColumnDef *col)
{
	const char *f = amount->filter;
	size_t		base;

	if (f == NULL || !(amount->flags & MP_COL_RANGE) || strlen(f) <= strlen("Amount"))
		return 0;
	base = strlen(f) - strlen("Amount");
	if (strcmp(f + base, "Amount") != 0)
		return 0;
	if ((col->flags & MP_COL_CCY) && strncmp(col->field, f, base) == 0 &&
		strcmp(col->field + base, "Currency") == 0)
		return 2;
	if (col->filter && strcmp(col->filter, "Currency") == 0)
		return 1;
	return 0;
}

/* the API parameter (or path) a push of this kind on this column goes to */
const char *
mp_push_target(const MpResource *res, const MpColumnDef *col, MpPushKind kind)
{
	switch (kind)
	{
		case MP_PUSH_DATE_LO:
			return "AfterDate";
		case MP_PUSH_DATE_HI:
			return "BeforeDate";
		case MP_PUSH_DATE_EQ:
			return "AfterDate+BeforeDate";
		case MP_PUSH_ID:
			return "single-object GET";
		case MP_PUSH_KEY:
			return res->source == MP_SRC_REPORT ? col->filter : "path";
		case MP_PUSH_MIN:
			return col->filter ? psprintf("Min%s", col->filter) : "path (from this month)";
		case MP_PUSH_MAX:
			return col->filter ? psprintf("Max%s", col->filter) : "path (to this month)";
		case MP_PUSH_FILTER:
			/* a currency goes with the amount bound of the same base */
			return (col->flags & MP_COL_CCY) ? psprintf("Min/Max%s", col->field) : col->filter;
	}
	return "?";
}

/* the conditions that are sent: "= / IN / = ANY / join", "< <= = >= >" */
static char *
ops_text(const MpColPush *p)
{
	StringInfoData s;

	if (p->range == MP_RANGE_DATE || p->range == MP_RANGE_AMOUNT)
		return "< <= = >= >";
	initStringInfo(&s);
	appendStringInfoString(&s, "=");
	if (p->many == MP_MANY_LIST || p->many == MP_MANY_EACH)
		appendStringInfoString(&s, " / IN / = ANY");
	if (p->join)
		appendStringInfoString(&s, p->eq == MP_PUSH_ID ? " / join on id" : " / join");
	if (p->range == MP_RANGE_MONTH)
		appendStringInfoString(&s, " / < <= >= > (a closed range)");
	return s.data;
}

/*
 * The text of mangopay_fdw_columns()'s pushdown column, derived from
 * mp_column_push() and mp_push_target() only; NULL when nothing of a
 * condition on the column is sent and it costs nothing to read.
 */
char *
mp_column_push_text(const MpResource *res, const MpColumnDef *col)
{
	MpColPush	p = mp_column_push(res, col);
	const char *filters = res->source == MP_SRC_REPORT ? "Filters." : "";
	const char *what = NULL;

	if (p.range == MP_RANGE_DATE)
		what = psprintf("%s/%s%s", mp_push_target(res, col, MP_PUSH_DATE_LO),
						mp_push_target(res, col, MP_PUSH_DATE_HI),
						p.sort ? psprintf("; ORDER BY: Sort=%s", res->sort_field) : "");
	else if (p.range == MP_RANGE_AMOUNT)
		what = psprintf("%s%s / %s (widened by 1 where needed) with its currency, only when the WHERE clause fixes one currency (else checked locally)",
						filters, mp_push_target(res, col, MP_PUSH_MIN), mp_push_target(res, col, MP_PUSH_MAX));
	else if (p.eq == MP_PUSH_ID)
		what = psprintf("%s %s%s", mp_push_target(res, col, MP_PUSH_ID), mp_resource_id_path(res),
						res->source == MP_SRC_REPORT ? " instead of a report" : "");
	else if (p.eq == MP_PUSH_KEY && res->source == MP_SRC_REPORT)
		what = psprintf("%s%s (key column: one report per value; none: every user wallet)",
						filters, mp_push_target(res, col, MP_PUSH_KEY));
	else if (p.eq == MP_PUSH_KEY)
		what = psprintf("%s %s, one request per %s (key column%s)",
						mp_push_target(res, col, MP_PUSH_KEY), res->list_path,
						p.range == MP_RANGE_MONTH ? "month" : "value",
						p.required ? ": required" : "");
	else if (p.eq == MP_PUSH_FILTER)
		what = psprintf("%s%s%s", filters, mp_push_target(res, col, MP_PUSH_FILTER),
						p.many == MP_MANY_LOCAL ? " (IN / = ANY: checked locally)" :
						p.many == MP_MANY_ONE ? " (one value)" :
						p.many == MP_MANY_BOUND ? ", with an amount bound (alone: checked locally)" : "");

	if (what)
		return psprintf("%s: %s", ops_text(&p), what);
	if (p.lookup && res->lookup_path2 && mp_lookup_views(col) == (MP_VIEW_1 | MP_VIEW_2))
		return psprintf("lookup: %s per row, when referenced (from whichever of them the row reads)",
						mp_lookup_views_text(res, mp_lookup_views(col), " or "));
	if (p.lookup)
		return psprintf("lookup: GET %s per row, when referenced",
						res->lookup_path ? mp_lookup_view_path(res, mp_lookup_views(col)) : res->single_path);
	if (p.optional)
		return "(optional report column: requested only when referenced)";
	if (p.id_local)
		return "(checked locally only: the table has no GET by id)";
	return NULL;
}
