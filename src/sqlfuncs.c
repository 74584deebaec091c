/*-------------------------------------------------------------------------
 * sqlfuncs.c
 *		The SQL functions mangopay_fdw_version(), mangopay_fdw_columns(),
 *		mangopay_fdw_stats() and mangopay_fdw_change_events().
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

PG_FUNCTION_INFO_V1(mangopay_fdw_version);
PG_FUNCTION_INFO_V1(mangopay_fdw_stats);
PG_FUNCTION_INFO_V1(mangopay_fdw_columns);

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
			const char *push = mp_column_push_text(res, col);

			v[0] = CStringGetTextDatum(res->name);
			v[1] = Int32GetDatum(c + 1);
			v[2] = CStringGetTextDatum(col->name);
			v[3] = CStringGetTextDatum(mp_coltype_sql(col->kind));
			v[4] = CStringGetTextDatum((col->flags & MP_COL_ATTRS) ? "(whole object)" :
									   (col->flags & MP_COL_KEY) ? psprintf("(key) %s", col->field) :
									   (col->flags & MP_COL_REPORTED) ? psprintf("(report) %s", col->field) :
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
		{"requests_live", mp_http_in_flight()},
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

PG_FUNCTION_INFO_V1(mangopay_fdw_change_events);

/*
 * mangopay_fdw_change_events(): change capture as data — per table, the
 * event types that say one of its objects changed, whether the table reads
 * an object by id and a range of its creation dates, and how many days of
 * events the API keeps (mangopay_fdw_sync() reads them).
 */
Datum
mangopay_fdw_change_events(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Tuplestorestate *ts = begin_srf(fcinfo, &tupdesc);
	const MpResource *events = mp_resource_by_name("events");

	for (int i = 0; i < mp_resource_count(); i++)
	{
		const MpResource *res = mp_resource_at(i);
		const char *types[64];
		int			n = mp_resource_event_types(res, types, lengthof(types));

		for (int t = 0; t < n; t++)
		{
			Datum		v[5];
			bool		nulls[5] = {false, false, false, false, false};

			v[0] = CStringGetTextDatum(res->name);
			v[1] = CStringGetTextDatum(types[t]);
			v[2] = BoolGetDatum(mp_resource_id_path(res) != NULL);
			v[3] = BoolGetDatum(mp_resource_date_column(res) != NULL);
			v[4] = Int32GetDatum(events ? events->max_history_days : 0);
			tuplestore_putvalues(ts, tupdesc, v, nulls);
		}
	}
	return (Datum) 0;
}
