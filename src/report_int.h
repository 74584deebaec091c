/*-------------------------------------------------------------------------
 * report_int.h
 *		The report source's state, shared by report.c (the source's entry
 *		points), report_request.c, report_lifecycle.c, report_download.c and
 *		report_rows.c.  Not for other parts of mangopay_fdw.
 *-------------------------------------------------------------------------
 */
#ifndef REPORT_INT_H
#define REPORT_INT_H

#include "mpfdw.h"
#include "jsonrow.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <ctype.h>
#include <openssl/sha.h>

#include "access/sysattr.h"
#include "foreign/foreign.h"
#include "nodes/nodeFuncs.h"
#include "commands/explain.h"
#if PG_VERSION_NUM >= 180000
#include "commands/explain_format.h"
#include "commands/explain_state.h"
#endif
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "csv.h"
#include "rowbuild.h"
#include "windows.h"

#define MP_QUEUE_ROWS	1024	/* rows parsed ahead of the executor, at most */
#define MP_QUEUE_BYTES	(8 * 1024 * 1024)
#define MP_POLL_MAX_MS	10000
#define MP_MAX_RESUMES	20
/* the one Sort field both report APIs accept, whatever the table's date column */
#define MPR_SORT_FIELD	"CreationDate"

typedef enum ReportState
{
	RS_NEW,						/* not created yet */
	RS_CREATING,					/* POST in flight (or GET /responses/{key}) */
	RS_WAITING,					/* created, next poll at next_poll */
	RS_POLLING,					/* GET /reports/{Id} in flight */
	RS_READY,					/* DownloadURL known */
	RS_DOWNLOADING,				/* its CSV is read: see DlState */
	RS_DONE
} ReportState;

/*
 * Where the download of the window being read stands.  Only
 * set_download() changes it, and s->dl is set exactly while it is
 * DL_STREAMING: a finished download is a state of its own, never a
 * released request still waiting to be looked at.
 */
typedef enum DlState
{
	DL_NONE,					/* no file open: s->dl and s->csv are NULL */
	DL_STREAMING,				/* s->dl in flight (or paused), s->csv parses it */
	DL_FINISHED					/* read to its end and parsed, s->dl released:
								 * only queued rows are left */
} DlState;

/*
 * One report of the scan: the date window it covers (windows.c's MpWindow)
 * for one set of key values, and where its request stands.  "Window" is
 * kept for the date range only; MangoPay's rate-limit windows are another
 * thing (ratebudget.c).
 */
typedef struct ScanReport
{
	int64		start;			/* rows with start <= CreationDate < end */
	int64		end;
	int			part;			/* key values (user_wallet_transactions) */
	ReportState	state;
	DlState		dl;				/* while RS_DOWNLOADING */
	char		idem_key[MP_IDEM_KEY_LEN + 1];
	int			creates;		/* POSTs started (a new key after a failure) */
	char	   *report_id;
	char	   *download_url;
	MpRequest  *req;
	TimestampTz created_at;
	TimestampTz next_poll;
	int			poll_ms;
	int			polls;
	bool		recreated;		/* EXPIRED → created again once */
	bool		recovering;		/* 409: reading GET /responses/{key} */
	bool		reused;
	int64		report_date;	/* its ReportDate (Unix seconds), 0 unknown */
} ScanReport;

/* one CSV record, copied out of the parser (malloc'ed) */
typedef struct QRow
{
	struct QRow *next;
	size_t		size;
	int			nfields;
	uint64		line;
	int32	   *len;			/* -1: NULL (an empty unquoted cell) */
	char	  **data;
} QRow;

typedef struct Lookup
{
	QRow	   *row;
	MpRequest  *req[MP_MAX_VIEWS];	/* per view of the object the row GETs */
} Lookup;

struct MpReportScan
{
	MpScanBase	b;				/* relation, plan, conn, maps, context */

	bool		started;
	bool		no_rows;
	MpEval	   *ev;
	cJSON	   *filters;		/* the Filters object, without dates */
	cJSON	   *columns;		/* Columns to request, or NULL (the default set) */
	char	   *sort;			/* "CreationDate:ASC" */
	int64		floor_from;		/* the oldest AfterDate the API accepts */
	char	  **parts;			/* per partition: the key values, 2 each */
	int			nparts;
	ScanReport *w;
	int			nw;
	int			cur;			/* the window being read */
	int			date_field;		/* index of CreationDate in the CSV, or -1 */
	bool		need_lookups;
	bool		provenance;		/* the query reads _read_at or _source */
	int			views;			/* the views each row GETs (MP_VIEW_1 | MP_VIEW_2) */
	int			id_field;
	int			nkeys;			/* key columns of the resource */

	/* the download of window cur (set_download() sets and releases dl) */
	MpRequest  *dl;
	MpCsvParser *csv;
	MpAlloc		alloc;
	bool		header_seen;
	MpCsvFile	file;			/* its header, as convert.c reads rows */
	uint64		skip;			/* bytes to drop (server ignored Range) */
	uint64		resumes;
	bool		dl_failed;		/* callback-side failure (memory, CSV) */
	char		dl_error[512];
	size_t		err_len;		/* bytes of a non-2xx answer (never kept) */

	/* rows parsed, not yet returned */
	QRow	   *qhead;
	QRow	   *qtail;
	int			qrows;
	size_t		qbytes;

	QRow	   *held;			/* the row being converted (freed on ERROR) */
	ExprState  *prefilter;		/* local quals checked before lookups */
	MemoryContext prefilter_cxt;
	char	  **lookup_vals;	/* per attribute: a lookup column's text */

	/* payouts: lookups in flight, in row order */
	Lookup	   *look;
	int			nlook;
	int			look_head;
	int			lookups_done;

	/* EXPLAIN ANALYZE */
	int			created;
	int			reused;
	int			polls;
	int64		rows;
	int64		dropped;		/* outside their window (boundary rows) */
	int64		prefiltered;	/* rows the local quals rejected before a lookup */
	bool		only_old;		/* rows the by-id GET no longer serves, no lookups */
	bool		lookups_dropped;	/* only_old: lookup columns were asked for */
	int			old_notice;		/* the views whose 404 NOTICE was given */
	bool		reported_notice;	/* the NOTICE on the reports' times given */
	double		wait_ms;
};

extern void *mpr_m_alloc(void *ctx, size_t n);
extern void *mpr_m_realloc(void *ctx, void *p, size_t n);
extern void mpr_download_finished(MpReportScan *s, ScanReport *w);
extern void mpr_free_row(QRow *r);
extern void mpr_m_free(void *ctx, void *p);
extern void mpr_map_header(MpReportScan *s);
extern void mpr_open_report(MpReportScan *s, ScanReport *w);
extern void mpr_scan_cleanup(void *arg);
extern void mpr_set_download(MpReportScan *s, ScanReport *w, DlState to, MpRequest *r);
extern cJSON *mpr_definition(MpReportScan *s, ScanReport *w);
extern char *mpr_definition_tag(MpReportScan *s, cJSON *def);
extern const char *mpr_partval(MpReportScan *s, int part, int k);
extern int mpr_window_months(const MpResource *res);
extern int	mp_report_estimate_windows(const MpResource *res, MpEval *ev);
extern void mpr_build_request(MpReportScan *s);
extern QRow *mpr_pop_row(MpReportScan *s);
extern bool mpr_row_passes(MpReportScan *s, QRow *r, TupleTableSlot *slot);
extern char **mpr_lookup_values(MpReportScan *s, Lookup *l);
extern void mpr_start_lookup(MpReportScan *s, Lookup *l);
extern void mpr_store_row(MpReportScan *s, QRow *r, char **lookup, TupleTableSlot *slot);
extern MpRequest *mpr_api_request(MpReportScan *s, const char *method, const char *path);
extern void mpr_advance_reports(MpReportScan *s);
extern MpReportScan *mp_report_begin_old(ForeignScanState *node, MpPlan *plan, MpSettings *conn);
extern bool mp_report_lookups_dropped(MpReportScan *s);

#endif							/* REPORT_INT_H */
