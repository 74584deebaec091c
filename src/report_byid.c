/*-------------------------------------------------------------------------
 * report_byid.c
 *		The report source's by-id mode: a report table read by id
 *		(payouts WHERE id = ..., a join on id).  The GETs are the by-id
 *		source's; the ids the GET no longer serves are found among the
 *		report's older rows.
 *-------------------------------------------------------------------------
 */
#include "report_int.h"

typedef struct ByIdScan
{
	MpListScan *list;			/* the GETs (the by-id source's scan) */
	ForeignScanState *node;
	MpPlan	   *plan;
	MpSettings *conn;
	/* the ids the GET did not find */
	bool		ids_done;		/* the GETs are done */
	List	   *missing;		/* ids still to look up in old_rows */
	HTAB	   *old_rows;		/* id → row older than the GET serves, once per scan */
	MemoryContext old_cxt;
	bool		old_lookups;	/* lookup columns asked for: NULL for those rows */
	bool		old_noticed;
} ByIdScan;

#define MP_OLD_ID_LEN 130		/* ids are at most 128 characters */

typedef struct OldRow
{
	char		id[MP_OLD_ID_LEN];
	MinimalTuple tup;
} OldRow;

/*
 * Payouts by id: GET /payouts/bankwire/{id} (or /payouts/{id}, the view the
 * columns need) answers 404 for payouts older
 * than 13 months, which the report still lists (36).  So that the same
 * query gives the same rows whatever the plan, ids the GET did not find are
 * looked up among the report's rows older than 12 months, read once per
 * scan (a join's rescans reuse them), without lookups: those columns are
 * NULL, and a NOTICE says so.
 */
static void
load_old_rows(ByIdScan *st, TupleTableSlot *slot)
{
	ForeignScanState *node = st->node;
	Relation	rel = node->ss.ss_currentRelation;
	const MpColumnDef *idcol = mp_resource_id_column(st->plan->res);
	TupleDesc	desc = RelationGetDescr(rel);
	AttrNumber	idatt = InvalidAttrNumber;
	MemoryContext old;
	MemoryContext tmp;
	MpPlan	   *p;
	MpReportScan *r;
	HASHCTL		ctl;

	st->old_cxt = AllocSetContextCreate(node->ss.ps.state->es_query_cxt,
										"mangopay_fdw old rows", ALLOCSET_DEFAULT_SIZES);
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = MP_OLD_ID_LEN;
	ctl.entrysize = sizeof(OldRow);
	ctl.hcxt = st->old_cxt;
	st->old_rows = hash_create("mangopay_fdw old rows", 256, &ctl,
							   HASH_ELEM | HASH_STRINGS | HASH_CONTEXT);
	for (int i = 0; idcol && i < desc->natts; i++)
		if (!TupleDescAttr(desc, i)->attisdropped &&
			strcmp(NameStr(TupleDescAttr(desc, i)->attname), idcol->name) == 0)
			idatt = i + 1;
	if (idatt == InvalidAttrNumber)
		return;

	old = MemoryContextSwitchTo(node->ss.ps.state->es_query_cxt);
	p = palloc(sizeof(MpPlan));
	*p = *st->plan;
	p->by_id = false;			/* CSV columns, not the object's fields */
	p->pushes = NIL;			/* every old row: a rescan may ask other values */
	p->limit_hint = 0;
	p->needed = bms_add_member(bms_copy(st->plan->needed),
							   idatt - FirstLowInvalidHeapAttributeNumber);
	r = mp_report_begin_old(node, p, st->conn);
	/* each row's values in a context of their own, as the executor's per-tuple one */
	tmp = AllocSetContextCreate(node->ss.ps.state->es_query_cxt, "mangopay_fdw old row",
								ALLOCSET_DEFAULT_SIZES);
	for (;;)
	{
		bool		isnull;
		Datum		d;
		char	   *id;
		OldRow	   *e;
		bool		found;

		MemoryContextReset(tmp);
		MemoryContextSwitchTo(tmp);
		if (!mp_report_source.next(r, slot))
			break;
		d = slot_getattr(slot, idatt, &isnull);
		if (isnull || strlen(id = TextDatumGetCString(d)) >= MP_OLD_ID_LEN)
			continue;
		e = hash_search(st->old_rows, id, HASH_ENTER, &found);
		if (!found)
		{
			MemoryContextSwitchTo(st->old_cxt);
			e->tup = ExecCopySlotMinimalTuple(slot);
		}
	}
	MemoryContextSwitchTo(old);
	ExecClearTuple(slot);
	MemoryContextDelete(tmp);
	st->old_lookups = mp_report_lookups_dropped(r);
	mp_report_source.end(r);
}

static bool
old_row_next(ByIdScan *st, TupleTableSlot *slot)
{
	ForeignScanState *node = st->node;

	ExecClearTuple(slot);
	if (st->old_rows == NULL)
		load_old_rows(st, slot);
	while (st->missing != NIL)
	{
		char	   *id = linitial(st->missing);
		OldRow	   *e = strlen(id) < MP_OLD_ID_LEN ?
			hash_search(st->old_rows, id, HASH_FIND, NULL) : NULL;

		st->missing = list_delete_first(st->missing);
		if (e == NULL)
			continue;
		if (st->old_lookups && !st->old_noticed)
		{
			st->old_noticed = true;
			ereport(NOTICE,
					(errmsg("MangoPay no longer serves some %ss of \"%s\" by id: their lookup columns are NULL",
							st->plan->res->object_name, RelationGetRelationName(node->ss.ss_currentRelation)),
					 errdetail("GET %s answered 404; objects are readable for 13 months, reports list them for %d.",
							   mp_list_id_path(st->list), st->plan->res->retention_months)));
		}
		ExecForceStoreMinimalTuple(e->tup, slot, false);
		return true;
	}
	return false;
}


static void *
report_byid_begin(ForeignScanState *node, MpPlan *plan, MpSettings *conn)
{
	ByIdScan   *st = palloc0(sizeof(ByIdScan));

	st->node = node;
	st->plan = plan;
	st->conn = conn;
	st->list = mp_byid_source.begin(node, plan, conn);
	return st;
}

static bool
report_byid_next(void *scan, TupleTableSlot *slot)
{
	ByIdScan   *st = scan;

	if (!st->ids_done)
	{
		if (mp_byid_source.next(st->list, slot))
			return true;
		/* the ids the GET did not find */
		st->ids_done = true;
		st->missing = list_copy(mp_list_missing_ids(st->list));
		if (st->missing == NIL)
			return false;
	}
	return old_row_next(st, slot);
}

static void
report_byid_rescan(void *scan)
{
	ByIdScan   *st = scan;

	/* the old rows are kept: the next ids may be among them */
	st->ids_done = false;
	st->missing = NIL;
	mp_byid_source.rescan(st->list);
}

static void
report_byid_end(void *scan)
{
	mp_byid_source.end(((ByIdScan *) scan)->list);
}

static void
report_byid_explain(void *scan, MpPlan *plan, ForeignScanState *node, ExplainState *es)
{
	mp_byid_source.explain(scan ? ((ByIdScan *) scan)->list : NULL, plan, node, es);
}

const MpSource mp_report_byid_source = {
	"report by id", report_byid_begin, report_byid_next, report_byid_rescan, report_byid_end,
	report_byid_explain
};
