/*-------------------------------------------------------------------------
 * sources.c
 *		The choice of a source, made once: which source answers the
 *		planner for a table (MpPlanSource, by the kind of its resource)
 *		and which one reads a scan (MpSource, by its plan).
 *
 * The only place above the sources that knows their kinds: the planner
 * and executor callbacks ask the chosen source and test no kind.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

/* a report table's planning, a by-id table's, or a list's */
const MpPlanSource *
mp_plan_source_for(const MpResource *res)
{
	switch (res->source)
	{
		case MP_SRC_REPORT:
			return &mp_report_plan;
		case MP_SRC_BYID:
			return &mp_byid_plan;
		case MP_SRC_LIST:
			break;
	}
	return &mp_list_plan;
}

/*
 * The source of a scan: a report table's report unless the plan reads it
 * by id (then its by-id mode); single-object GETs when the table has no
 * list or the WHERE clause names ids; the list otherwise.
 */
const MpSource *
mp_source_for(const MpPlan *plan)
{
	ListCell   *lc;

	if (plan->res->source == MP_SRC_REPORT)
		return plan->by_id ? &mp_report_byid_source : &mp_report_source;
	if (plan->res->source == MP_SRC_BYID)
		return &mp_byid_source;
	foreach(lc, plan->pushes)
		if (((MpPush *) lfirst(lc))->kind == MP_PUSH_ID)
			return &mp_byid_source;
	return &mp_list_source;
}
