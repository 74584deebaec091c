/*-------------------------------------------------------------------------
 * report.c
 *		The report source: a scan becomes MangoPay report requests —
 *		create, poll, download — and the CSV is parsed as it arrives and
 *		handed to the executor row by row, in bounded memory.
 *
 * The date range of the query (or the API's retention when it gives no
 * lower bound) is split into windows the report type accepts (6 months
 * for the legacy TRANSACTIONS report, 24 for WALLETS, under 12 for the
 * Reporting Service).  Windows are created up to max_concurrency at a
 * time, polled with growing intervals, and downloaded one after another
 * in date order.  Each window is asked for one second wider on each side
 * and rows outside it are dropped, so a row on a window boundary is
 * returned exactly once whatever the API's boundary semantics.
 *
 * Downloads stream: curl's write callback feeds the incremental CSV parser
 * (src/csv.c), whose records are copied into a small malloc'ed queue; when
 * the queue is full the transfer is paused until the executor has drained
 * it.  Nothing in a callback can raise an ERROR: failures are recorded and
 * reported after curl returns.  A download that breaks off resumes with a
 * Range request from the last byte parsed (or skips that many bytes when
 * the server ignores Range), so no row is lost or doubled.
 *
 * Every POST carries an Idempotency-Key, so a retried create never makes
 * two reports; a 409 on such a retry is resolved through
 * GET /responses/{key}.  With report_max_age_s > 0 a ready report of the
 * same definition (recognised by its Tag, a hash of the definition) is
 * reused instead of creating one.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"
#include "jsonrow.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <ctype.h>
#include <openssl/sha.h>

#include "access/sysattr.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "foreign/fdwapi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"
#include "utils/rel.h"

#include "csv.h"
#include "windows.h"

#define MP_QUEUE_ROWS	1024	/* rows parsed ahead of the executor, at most */
#define MP_QUEUE_BYTES	(8 * 1024 * 1024)
#define MP_POLL_MAX_MS	10000
#define MP_MAX_RESUMES	20

typedef enum WinState
{
	W_NEW,						/* not created yet */
	W_CREATING,					/* POST in flight (or GET /responses/{key}) */
	W_WAITING,					/* created, next poll at next_poll */
	W_POLLING,					/* GET /reports/{Id} in flight */
	W_READY,					/* DownloadURL known */
	W_DOWNLOADING,				/* its CSV is read: see DlState */
	W_DONE
} WinState;

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

typedef struct Window
{
	int64		start;			/* rows with start <= CreationDate < end */
	int64		end;
	int			part;			/* key values (user_wallet_transactions) */
	WinState	state;
	DlState		dl;				/* while W_DOWNLOADING */
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
} Window;

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
	MpRequest  *req;
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
	Window	   *w;
	int			nw;
	int			cur;			/* the window being read */
	int			date_field;		/* index of CreationDate in the CSV, or -1 */
	bool		need_lookups;
	int			id_field;

	/* the download of window cur (set_download() sets and releases dl) */
	MpRequest  *dl;
	MpCsvParser *csv;
	MpAlloc		alloc;
	bool		header_seen;
	char	  **csv_names;
	int			ncsv;
	int		   *attr_field;		/* per attribute: CSV field index or -1 */
	uint64		skip;			/* bytes to drop (server ignored Range) */
	uint64		resumes;
	bool		dl_failed;		/* callback-side failure (memory, CSV) */
	char		dl_error[512];
	char	   *err_body;		/* non-2xx download body (malloc) */
	size_t		err_len;

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
	bool		old_notice;		/* the NOTICE on lookups past retention given */
	double		wait_ms;
};

/* ------------------------------------------------------------------------
 * malloc'ed memory for the parser and the queue: never raises
 * ------------------------------------------------------------------------ */
static void *
m_alloc(void *ctx, size_t n)
{
	return malloc(n);
}

static void *
m_realloc(void *ctx, void *p, size_t n)
{
	return realloc(p, n);
}

static void
m_free(void *ctx, void *p)
{
	free(p);
}

static void
free_row(QRow *r)
{
	free(r);
}

static void
clear_queue(MpReportScan *s)
{
	while (s->qhead)
	{
		QRow	   *n = s->qhead->next;

		free_row(s->qhead);
		s->qhead = n;
	}
	s->qtail = NULL;
	s->qrows = 0;
	s->qbytes = 0;
	for (int i = 0; s->look && i < s->nlook; i++)
	{
		if (s->look[i].row)
			free_row(s->look[i].row);
		s->look[i].row = NULL;
		s->look[i].req = NULL;
	}
}

static void
drop_download(MpReportScan *s)
{
	if (s->dl)
	{
		mp_request_release(s->dl);
		s->dl = NULL;
	}
	if (s->csv)
	{
		mp_csv_destroy(s->csv);
		s->csv = NULL;
	}
	if (s->err_body)
	{
		free(s->err_body);
		s->err_body = NULL;
	}
	s->err_len = 0;
}

static void free_header(MpReportScan *s);

static void
scan_cleanup(void *arg)
{
	MpReportScan *s = (MpReportScan *) arg;

	drop_download(s);
	clear_queue(s);
	if (s->held)
		free_row(s->held);
	s->held = NULL;
	if (s->filters)
		cJSON_Delete(s->filters);
	if (s->columns)
		cJSON_Delete(s->columns);
	s->filters = s->columns = NULL;
	free_header(s);
}

/* ------------------------------------------------------------------------
 * the CSV side: runs inside curl's write callback
 * ------------------------------------------------------------------------ */
static int
on_record(void *arg, const MpCsvRecord *rec)
{
	MpReportScan *s = (MpReportScan *) arg;
	size_t		need = sizeof(QRow) + rec->nfields * (sizeof(int32) + sizeof(char *));
	QRow	   *r;
	char	   *p;

	if (!s->header_seen)
	{
		/* the header: names are copied into malloc'ed memory too */
		s->ncsv = rec->nfields;
		s->csv_names = calloc(rec->nfields, sizeof(char *));
		if (s->csv_names == NULL)
			return -2;
		for (int i = 0; i < rec->nfields; i++)
		{
			s->csv_names[i] = strndup(rec->fields[i].data, rec->fields[i].len);
			if (s->csv_names[i] == NULL)
				return -2;
		}
		s->header_seen = true;
		return 0;
	}
	for (int i = 0; i < rec->nfields; i++)
		need += rec->fields[i].len + 1;
	r = malloc(need);
	if (r == NULL)
		return -2;
	r->next = NULL;
	r->size = need;
	r->nfields = rec->nfields;
	r->line = rec->line;
	/* the pointers first: after the int32s they would be misaligned */
	r->data = (char **) (r + 1);
	r->len = (int32 *) (r->data + rec->nfields);
	p = (char *) (r->len + rec->nfields);
	for (int i = 0; i < rec->nfields; i++)
	{
		const MpCsvField *f = &rec->fields[i];

		r->len[i] = (f->len == 0 && !f->quoted) ? -1 : (int32) f->len;
		r->data[i] = p;
		memcpy(p, f->data, f->len);
		p[f->len] = '\0';
		p += f->len + 1;
	}
	if (s->qtail)
		s->qtail->next = r;
	else
		s->qhead = r;
	s->qtail = r;
	s->qrows++;
	s->qbytes += need;
	return 0;
}

static size_t
on_download(MpRequest *req, const char *data, size_t len)
{
	MpReportScan *s = (MpReportScan *) req->arg;
	long		status = mp_request_current_status(req);

	if (status >= 300 || status < 200)
	{
		/* an error page (S3 XML, ...): keep its start for the message */
		size_t		room = MP_MAX_ERROR_BYTES - s->err_len;
		char	   *nb;

		if (room > 0)
		{
			nb = realloc(s->err_body, s->err_len + Min(room, len) + 1);
			if (nb == NULL)
				return len;
			s->err_body = nb;
			memcpy(nb + s->err_len, data, Min(room, len));
			s->err_len += Min(room, len);
			nb[s->err_len] = '\0';
		}
		return len;
	}
	if (s->qrows >= MP_QUEUE_ROWS || s->qbytes >= MP_QUEUE_BYTES)
		return CURL_WRITEFUNC_PAUSE;	/* the executor drains, then we go on */
	if (!req->data_delivered && req->range_from > 0 && status == 200)
		s->skip = (uint64) req->range_from;	/* Range ignored: the whole file again */
	req->data_delivered = true;
	if (s->skip > 0)
	{
		/* the server ignored Range: drop what was parsed already */
		size_t		k = Min((uint64) len, s->skip);

		s->skip -= k;
		if (k < len && mp_csv_feed(s->csv, data + k, len - k) != 0)
			goto failed;
		return len;				/* curl wants the whole chunk accounted for */
	}
	if (mp_csv_feed(s->csv, data, len) != 0)
		goto failed;
	return len;

failed:
	s->dl_failed = true;
	snprintf(s->dl_error, sizeof(s->dl_error), "%s",
			 mp_csv_error(s->csv) ? mp_csv_error(s->csv) : "out of memory");
	return 0;
}

/* ------------------------------------------------------------------------
 * request building
 * ------------------------------------------------------------------------ */
static const char *
partval(MpReportScan *s, int part, int k)
{
	return s->parts ? s->parts[part * 2 + k] : NULL;
}

/* the report definition of one window, as JSON; Tag left out */
static cJSON *
definition(MpReportScan *s, Window *w)
{
	const MpResource *res = s->b.res;
	cJSON	   *b = cJSON_CreateObject();
	cJSON	   *f = cJSON_Duplicate(s->filters, true);
	int64		after = w->start - 1;
	int64		before = w->end;
	int			k = 0;

	/* asked one second wider, but never past the API's retention */
	if (after < s->floor_from)
		after = w->start;

	/* key columns of user_wallet_transactions are filters */
	for (int i = 0; i < res->ncols; i++)
		if (res->cols[i].flags & MP_COL_KEY)
		{
			const char *v = partval(s, w->part, k++);

			if (v)
				cJSON_AddStringToObject(f, res->cols[i].filter, v);
		}
	cJSON_AddStringToObject(b, "DownloadFormat", "CSV");
	if (res->report_v2)
	{
		cJSON_AddStringToObject(b, "ReportType", res->report_type);
		cJSON_AddStringToObject(b, "Sort", s->sort);
		cJSON_AddNumberToObject(b, "AfterDate", (double) after);
		cJSON_AddNumberToObject(b, "BeforeDate", (double) before);
	}
	else
	{
		cJSON_AddStringToObject(b, "Sort", s->sort);
		cJSON_AddFalseToObject(b, "Preview");
		cJSON_AddNumberToObject(f, "AfterDate", (double) after);
		cJSON_AddNumberToObject(f, "BeforeDate", (double) before);
	}
	cJSON_AddItemToObject(b, "Filters", f);
	if (s->columns)
		cJSON_AddItemToObject(b, "Columns", cJSON_Duplicate(s->columns, true));
	return b;
}

/* "mangopay_fdw <hash of the definition>": how a reusable report is found */
static char *
definition_tag(MpReportScan *s, cJSON *def)
{
	char	   *t = cJSON_PrintUnformatted(def);
	unsigned char h[SHA256_DIGEST_LENGTH];
	char		hex[2 * 12 + 1];

	SHA256((unsigned char *) t, strlen(t), h);
	cJSON_free(t);
	for (int i = 0; i < 12; i++)
		sprintf(hex + 2 * i, "%02x", h[i]);
	return psprintf("mangopay_fdw %s %s", s->b.res->report_type, hex);
}

static MpRequest *
api_request(MpReportScan *s, const char *method, const char *path)
{
	MpRequest  *r;
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);

	r = mp_request_new(s->b.conn, RelationGetRelationName(s->b.rel), method,
					   mp_api_url(s->b.conn, path, true));
	r->log_path = pstrdup(path);
	MemoryContextSwitchTo(old);
	return r;
}

static const char *
report_path(MpReportScan *s)
{
	return s->b.res->report_v2 ? "/reporting/reports" : "/reports";
}

/* look for a ready report of the same definition (report_max_age_s) */
static bool
find_reusable(MpReportScan *s, Window *w, const char *tag)
{
	int64		since = (int64) time(NULL) - s->b.conn->report_max_age_s;
	char	   *path = psprintf("%s?page=1&per_page=100&AfterDate=" INT64_FORMAT "&Sort=CreationDate:DESC",
								report_path(s), since);
	MpRequest  *r = api_request(s, "GET", path);
	cJSON	   *j;
	bool		found = false;

	mp_request_wait(r);
	if (!mp_request_ok(r))
		mp_report_request_failure(r);
	j = mp_json_body(r, r->buf, r->len);
	if (j == NULL || !cJSON_IsArray(j))
	{
		if (j)
			cJSON_Delete(j);
		mp_error_json_shape(r, "the list of reports is not a JSON array");
	}
	for (cJSON *it = j->child; it && !found; it = it->next)
	{
		cJSON	   *t = cJSON_GetObjectItemCaseSensitive(it, "Tag");
		cJSON	   *st = cJSON_GetObjectItemCaseSensitive(it, "Status");
		cJSON	   *id = cJSON_GetObjectItemCaseSensitive(it, "Id");

		if (cJSON_IsString(t) && strcmp(t->valuestring, tag) == 0 && cJSON_IsString(id) &&
			cJSON_IsString(st) && (strcmp(st->valuestring, "READY_FOR_DOWNLOAD") == 0 ||
								   strcmp(st->valuestring, "GENERATED") == 0))
		{
			w->report_id = MemoryContextStrdup(s->b.cxt, id->valuestring);
			found = true;
		}
	}
	cJSON_Delete(j);
	mp_request_release(r);
	return found;
}

static void
start_create(MpReportScan *s, Window *w)
{
	cJSON	   *def = definition(s, w);
	char	   *tag = definition_tag(s, def);
	char	   *body;

	cJSON_AddStringToObject(def, "Tag", tag);
	body = cJSON_PrintUnformatted(def);
	cJSON_Delete(def);
	w->req = api_request(s, "POST", s->b.res->create_path);
	w->req->body = MemoryContextStrdup(s->b.cxt, body);
	cJSON_free(body);			/* nothing malloc'ed is left when an ERROR comes */
	if (s->b.conn->report_max_age_s > 0 && !w->recreated && find_reusable(s, w, tag))
	{
		mp_request_release(w->req);
		w->req = NULL;
		w->reused = true;
		s->reused++;
		mp_stats.reports_reused++;
		w->state = W_WAITING;
		w->created_at = GetCurrentTimestamp();
		w->next_poll = 0;
		w->poll_ms = s->b.conn->report_poll_ms;
		return;
	}
	w->req->content_type = "application/json";
	mp_idempotency_key(w->idem_key);
	w->creates++;
	w->req->idempotency_key = w->idem_key;
	w->req->retry_post = true;	/* the Idempotency-Key makes it safe */
	mp_request_start(w->req);
	w->state = W_CREATING;
	w->recovering = false;
	w->created_at = GetCurrentTimestamp();
}

/* what mangopay_fdw reads of a report object, copied out of the JSON */
typedef struct ReportInfo
{
	char	   *id;
	char	   *status;
	char	   *url;
	char	   *result_code;
	char	   *result_message;
} ReportInfo;

static char *
json_str(const cJSON *obj, const char *key)
{
	cJSON	   *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? pstrdup(v->valuestring) : NULL;
}

/*
 * Parse a report object (or, with envelope, GET /responses/{key}'s
 * "Resource") into a ReportInfo; the JSON is freed before anything can
 * raise an ERROR.
 */
static ReportInfo *
read_report(MpRequest *r, const char *envelope)
{
	cJSON	   *j = mp_json_body(r, r->buf, r->len);
	cJSON	   *obj = j;
	ReportInfo *ri = palloc0(sizeof(ReportInfo));

	if (j && envelope)
		obj = cJSON_GetObjectItemCaseSensitive(j, envelope);
	if (obj && cJSON_IsObject(obj))
	{
		ri->id = json_str(obj, "Id");
		ri->status = json_str(obj, "Status");
		ri->url = json_str(obj, "DownloadURL");
		ri->result_code = json_str(obj, "ResultCode");
		ri->result_message = json_str(obj, "ResultMessage");
	}
	if (j)
		cJSON_Delete(j);
	if (ri->id == NULL || ri->status == NULL)
		mp_error_json_shape(r, envelope ? "GET /responses/{key} has no report in \"Resource\"" :
							"the report object has no Id or Status");
	return ri;
}

static void
report_failed(MpReportScan *s, Window *w, ReportInfo *ri)
{
	char	   *code = mp_safe_text(s->b.conn, ri->result_code ? ri->result_code : "?", 100);
	char	   *msg = ri->result_message ? ri->result_message : "";

	msg = mp_safe_text(s->b.conn, pg_any_to_server(msg, strlen(msg), PG_UTF8), 500);

	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("MangoPay could not generate report %s for \"%s\"", w->report_id,
					RelationGetRelationName(s->b.rel)),
			 errdetail("Status FAILED; ResultCode: %s; ResultMessage: %s", code, msg),
			 errhint("805001 is a validation error of the report request, 809001 an execution error on MangoPay's side; a narrower date range may help.")));
}

/*
 * A report object (from the POST, a poll or /responses/{key}): move the
 * window on according to its Status.
 */
static void
take_report(MpReportScan *s, Window *w, MpRequest *r, ReportInfo *ri)
{
	const char *status = ri->status;

	if (w->report_id == NULL)
		w->report_id = MemoryContextStrdup(s->b.cxt, ri->id);
	if (strcmp(status, "READY_FOR_DOWNLOAD") == 0 || strcmp(status, "GENERATED") == 0)
	{
		if (ri->url == NULL || ri->url[0] == '\0')
			mp_error_json_shape(r, "a ready report has no DownloadURL");
		w->download_url = MemoryContextStrdup(s->b.cxt, ri->url);
		w->state = W_READY;
		return;
	}
	if (strcmp(status, "FAILED") == 0)
		report_failed(s, w, ri);
	if (strcmp(status, "EXPIRED") == 0)
	{
		if (w->recreated)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("MangoPay report %s for \"%s\" expired twice", w->report_id,
							RelationGetRelationName(s->b.rel))));
		/* its file is gone: ask for the same report again, once */
		w->recreated = true;
		w->report_id = NULL;
		w->download_url = NULL;
		w->state = W_NEW;
		return;
	}
	/* PENDING, GENERATING or anything new: wait, a bit longer each time */
	if (GetCurrentTimestamp() >= TimestampTzPlusMilliseconds(w->created_at,
															 (int64) s->b.conn->report_timeout_s * 1000))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("MangoPay report %s for \"%s\" was not ready after %d s", w->report_id,
						RelationGetRelationName(s->b.rel), s->b.conn->report_timeout_s),
				 errdetail("Its last status was %s.", status),
				 errhint("Raise the server option report_timeout_s, or narrow the date range.")));
	w->state = W_WAITING;
	if (w->poll_ms == 0)
		w->poll_ms = s->b.conn->report_poll_ms;
	else
		w->poll_ms = Min(MP_POLL_MAX_MS, w->poll_ms * 3 / 2 + 1);
	w->next_poll = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), w->poll_ms);
}

static bool
is_idempotency_conflict(MpRequest *r)
{
	return r->curl_code == 0 && r->status == 409 && r->buf &&
		strstr(r->buf, "idempotent_creation_conflict") != NULL;
}

/*
 * The StatusCode of GET /responses/{key} (a string or a number), or 0 when
 * it has none.
 */
static int
stored_status(MpRequest *r)
{
	cJSON	   *j = cJSON_ParseWithLength(r->buf ? r->buf : "", r->len);
	cJSON	   *c = j ? cJSON_GetObjectItemCaseSensitive(j, "StatusCode") : NULL;
	int			code = 0;

	if (cJSON_IsNumber(c))
		code = (int) c->valuedouble;
	else if (cJSON_IsString(c))
		code = atoi(c->valuestring);
	if (j)
		cJSON_Delete(j);
	return code;
}

/* a finished create / poll / recovery request of window w */
static void
window_request_done(MpReportScan *s, Window *w)
{
	MpRequest  *r = w->req;
	bool		recovered;

	w->req = NULL;
	if (w->state == W_CREATING && w->recovering &&
		(mp_request_not_found(r) || mp_request_ok(r)))
	{
		int			code = mp_request_ok(r) ? stored_status(r) : 404;

		if (code < 200 || code >= 300)
		{
			/*
			 * The first call under this key failed (or left no answer): no
			 * report was made, and the key is spent.  Create it anew.
			 */
			if (w->creates > s->b.conn->max_retries)
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("MangoPay did not create a report for \"%s\" after %d attempts",
								RelationGetRelationName(s->b.rel), w->creates),
						 errdetail("GET %s answered %d: the call under that Idempotency-Key failed.",
								   r->log_path, code),
						 errhint("Raise the server option max_retries, or try again later.")));
			mp_request_release(r);
			w->recovering = false;
			w->state = W_NEW;
			return;
		}
	}
	if (w->state == W_CREATING && !w->recovering && is_idempotency_conflict(r))
	{
		/* a retried POST whose first attempt went through: read its answer */
		w->recovering = true;
		w->req = api_request(s, "GET", psprintf("/responses/%s", w->idem_key));
		mp_request_start(w->req);
		mp_request_release(r);
		return;
	}
	if (!mp_request_ok(r))
		mp_report_request_failure(r);
	recovered = w->recovering;
	w->recovering = false;		/* later answers are plain report objects */
	if (w->state == W_CREATING)
	{
		s->created++;			/* by the first POST, when recovered */
		mp_stats.reports_created++;
	}
	else
		s->polls++;
	take_report(s, w, r, read_report(r, recovered ? "Resource" : NULL));
	mp_request_release(r);
}

/*
 * Move every window forward without blocking: create up to max_concurrency
 * reports ahead of the one being read (only the next one when a LIMIT may
 * stop the scan early), poll those whose time has come, collect answers.
 */
static void
advance_windows(MpReportScan *s)
{
	int			ahead = (s->b.plan->limit_hint > 0) ? 1 : Max(1, s->b.conn->max_concurrency);
	int			active = 0;

	for (int i = s->cur; i < s->nw && i < s->cur + ahead; i++)
	{
		Window	   *w = &s->w[i];

		if (w->req && w->req->state == MP_REQ_DONE)
			window_request_done(s, w);
		if (w->state == W_NEW && active < ahead)
			start_create(s, w);
		if (w->state == W_WAITING && GetCurrentTimestamp() >= w->next_poll)
		{
			char	   *path = psprintf("%s/%s", report_path(s), mp_url_escape(w->report_id));

			w->req = api_request(s, "GET", path);
			mp_request_start(w->req);
			w->state = W_POLLING;
			w->polls++;
		}
		if (w->state == W_CREATING || w->state == W_POLLING)
			active++;
	}
}

static const char *const dl_state_names[] = {"none", "streaming", "finished"};

/*
 * The one place the download state of window w (the window being read)
 * changes:
 *	NONE → STREAMING		the file is opened (r: its request)
 *	STREAMING → STREAMING	it broke off and is resumed (r: the new request)
 *	STREAMING → FINISHED	it was read to its end; rows may still be queued
 *	STREAMING → NONE		given up (the signed link expired: the window waits
 *							for a new one)
 *	FINISHED → NONE			every row was returned: the window is closed
 * A request left behind is released here, and with NONE the parser and
 * the header go too.  Any other move is a bug, reported as one.
 */
static void
set_download(MpReportScan *s, Window *w, DlState to, MpRequest *r)
{
	DlState		from = w->dl;
	bool		legal;

	switch (from)
	{
		case DL_NONE:
			legal = (to == DL_STREAMING);
			break;
		case DL_STREAMING:
			legal = true;
			break;
		case DL_FINISHED:
			legal = (to == DL_NONE);
			break;
		default:
			legal = false;
			break;
	}
	if (!legal || (to == DL_STREAMING) != (r != NULL))
		elog(ERROR, "mangopay_fdw: download of report %s cannot go from state %s to %s",
			 w->report_id ? w->report_id : "?",
			 (unsigned) from < lengthof(dl_state_names) ? dl_state_names[from] : "?",
			 (unsigned) to < lengthof(dl_state_names) ? dl_state_names[to] : "?");
	if (s->dl && s->dl != r)
		mp_request_release(s->dl);
	s->dl = r;
	w->dl = to;
	if (to == DL_STREAMING)
		w->state = W_DOWNLOADING;
	if (to == DL_NONE)
	{
		if (s->csv)
			mp_csv_destroy(s->csv);
		s->csv = NULL;
		free_header(s);
		s->attr_field = NULL;
	}
}

static void
start_download(MpReportScan *s, Window *w, int64 from)
{
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);
	MpRequest  *r;
	bool		is_http = false;

	if (!mp_url_is_acceptable(w->download_url, &is_http))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("MangoPay report %s for \"%s\" has a DownloadURL mangopay_fdw will not fetch",
						w->report_id, RelationGetRelationName(s->b.rel)),
				 errdetail("Only https:// download links are fetched (http:// only on loopback hosts)."),
				 errhint("If a proxy rewrites the links, make it serve them over https.")));
	r = mp_request_new(s->b.conn, RelationGetRelationName(s->b.rel), "GET", w->download_url);
	/* a signed URL on another host: the bearer token must not go there */
	r->use_auth = false;
	r->on_data = on_download;
	r->arg = s;
	r->range_from = from;
	{
		/* log the path only: the query string is the signature */
		char	   *q = strchr(w->download_url, '?');
		const char *p = strstr(w->download_url, "://");

		p = p ? strchr(p + 3, '/') : NULL;
		r->log_path = pnstrdup(p ? p : "/", q && p && q > p ? (Size) (q - p) : strlen(p ? p : "/"));
	}
	set_download(s, w, DL_STREAMING, r);
	s->skip = 0;
	s->dl_failed = false;
	if (s->err_body)
	{
		free(s->err_body);
		s->err_body = NULL;
	}
	s->err_len = 0;
	mp_request_start(r);
	MemoryContextSwitchTo(old);
}

/*
 * The header must name every column asked for and the date column: a file
 * that is not the CSV asked for (a proxy's HTML page served with 200, a
 * header with spaces after the commas) is an ERROR, never 0 rows or NULLs.
 */
static void
check_header(MpReportScan *s)
{
	StringInfoData missing;
	StringInfoData head;
	Window	   *w = &s->w[s->cur];

	initStringInfo(&missing);
	if (s->date_field < 0 && mp_resource_date_column(s->b.res) != NULL)
		appendStringInfoString(&missing, "CreationDate");
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];

		if (m->colname == NULL || !m->needed || m->is_attrs || m->is_key ||
			(m->def && (m->def->flags & MP_COL_LOOKUP)) || s->attr_field[i] >= 0 ||
			(s->date_field < 0 && strcmp(m->field, "CreationDate") == 0))
			continue;
		appendStringInfo(&missing, "%s%s", missing.len ? ", " : "", m->field);
	}
	if (s->need_lookups && s->id_field < 0)
		appendStringInfo(&missing, "%sId", missing.len ? ", " : "");
	if (missing.len == 0)
		return;
	/* the header as it came, sanitised: what the file starts with */
	initStringInfo(&head);
	for (int f = 0; f < s->ncsv && head.len < 200; f++)
		appendStringInfo(&head, "%s%s", f ? "," : "", s->csv_names[f]);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("MangoPay report %s for \"%s\" is not the CSV asked for: its header lacks %s",
					w->report_id ? w->report_id : "?", RelationGetRelationName(s->b.rel),
					missing.data),
			 errdetail("The file starts with \"%s\".",
					   mp_safe_text(s->b.conn, head.data, 120)),
			 errhint("A proxy or the download host may have answered with a page of its own; the query can be retried.")));
}

/* map the table's columns onto the CSV header */
static void
map_header(MpReportScan *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);

	s->attr_field = palloc(sizeof(int) * s->b.natts);
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];

		s->attr_field[i] = -1;
		if (m->colname == NULL || m->is_attrs || m->is_key ||
			(m->def && (m->def->flags & MP_COL_LOOKUP)))
			continue;
		for (int pass = 0; pass < 2 && s->attr_field[i] < 0; pass++)
			for (int f = 0; f < s->ncsv; f++)
				if (pass == 0 ? strcmp(s->csv_names[f], m->field) == 0 :
					pg_strcasecmp(s->csv_names[f], m->field) == 0)
				{
					s->attr_field[i] = f;
					break;
				}
	}
	s->date_field = -1;
	s->id_field = -1;
	for (int f = 0; f < s->ncsv; f++)
	{
		if (strcmp(s->csv_names[f], "CreationDate") == 0)
			s->date_field = f;
		if (strcmp(s->csv_names[f], "Id") == 0)
			s->id_field = f;
	}
	MemoryContextSwitchTo(old);
	check_header(s);
}

static void
free_header(MpReportScan *s)
{
	for (int i = 0; s->csv_names && i < s->ncsv; i++)
		free(s->csv_names[i]);
	free(s->csv_names);
	s->csv_names = NULL;
	s->ncsv = 0;
	s->header_seen = false;
}

/*
 * The request of window cur's download is done: the file was read to its
 * end (DL_FINISHED; the last record, if it had no line end, is queued
 * now), or it broke off and is resumed, or its link expired and the window
 * waits for a new one, or an ERROR says why it failed.
 */
static void
download_finished(MpReportScan *s, Window *w)
{
	MpRequest  *r = s->dl;
	uint64		pos = mp_csv_bytes_consumed(s->csv);

	if (s->dl_failed)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("malformed CSV in MangoPay report %s for \"%s\"", w->report_id,
						RelationGetRelationName(s->b.rel)),
				 errdetail("Line %llu: %s.", (unsigned long long) mp_csv_error_line(s->csv),
						   s->dl_error)));
	if (r->curl_code == 0 && r->status >= 200 && r->status < 300)
	{
		if (mp_csv_finish(s->csv) != 0)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
					 errmsg("malformed CSV in MangoPay report %s for \"%s\"", w->report_id,
							RelationGetRelationName(s->b.rel)),
					 errdetail("Line %llu: %s.", (unsigned long long) mp_csv_error_line(s->csv),
							   mp_csv_error(s->csv))));
		set_download(s, w, DL_FINISHED, NULL);
		return;
	}
	if (r->curl_code != 0 && r->data_delivered && s->resumes < MP_MAX_RESUMES &&
		s->resumes <= (uint64) s->b.conn->max_retries)
	{
		/* broke off mid-file: go on from the last byte parsed */
		s->resumes++;
		mp_stats.retries++;
		elog(DEBUG1, "mangopay_fdw: download of report %s broke off at byte %llu, resuming",
			 w->report_id, (unsigned long long) pos);
		start_download(s, w, (int64) pos);
		return;
	}
	if (r->curl_code == 0 && r->status == 403 && !w->recreated)
	{
		/* the signed link expired: ask the API for the report (and link) again */
		set_download(s, w, DL_NONE, NULL);
		w->state = W_WAITING;
		w->next_poll = 0;
		w->recreated = true;
		return;
	}
	if (r->curl_code == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not download MangoPay report %s for \"%s\"", w->report_id,
						RelationGetRelationName(s->b.rel)),
				 errdetail("HTTP %ld from GET %s: %.200s", r->status, r->log_path,
						   s->err_body ? s->err_body : "")));
	mp_report_request_failure(r);
}

/* the CSV of a window starts: a fresh parser */
static void
open_window(MpReportScan *s, Window *w)
{
	MpCsvOptions opt;

	memset(&opt, 0, sizeof(opt));
	free_header(s);
	s->attr_field = NULL;
	s->csv = mp_csv_create(&s->alloc, &opt, on_record, s);
	if (s->csv == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	s->resumes = 0;
	start_download(s, w, 0);
}

/* ------------------------------------------------------------------------
 * rows
 * ------------------------------------------------------------------------ */
static int64
field_int(const QRow *r, int f, bool *ok)
{
	char	   *end;
	long long	v;

	*ok = false;
	if (f < 0 || f >= r->nfields || r->len[f] <= 0)
		return 0;
	v = strtoll(r->data[f], &end, 10);
	*ok = (*end == '\0');
	return v;
}

/* "dd/MM/yyyy HH:mm:ss" (legacy :ISO columns) → "yyyy-MM-dd HH:mm:ss+00" */
static const char *
iso_text(const char *v, char *buf, size_t bufsz)
{
	int			d,
				mo,
				y,
				h,
				mi,
				se;
	char		tail;

	if (sscanf(v, "%2d/%2d/%4d %2d:%2d:%2d%c", &d, &mo, &y, &h, &mi, &se, &tail) == 6)
	{
		snprintf(buf, bufsz, "%04d-%02d-%02d %02d:%02d:%02d+00", y, mo, d, h, mi, se);
		return buf;
	}
	/* only the API's formats: never "now" or "yesterday" */
	if (!mp_jsonrow_iso_date(v))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_DATETIME_FORMAT),
				 errmsg("MangoPay date \"%s\" is neither Unix seconds nor an ISO 8601 date",
						mp_safe_text(NULL, v, 60))));
	return v;
}

typedef struct RowCtx
{
	MpReportScan *s;
	MpColMap   *m;
	uint64		line;
} RowCtx;

static void
row_context(void *arg)
{
	RowCtx	   *c = (RowCtx *) arg;
	Window	   *w = &c->s->w[c->s->cur];

	if (c->m)
		errcontext("column \"%s\" of foreign table \"%s\" (report %s, CSV line %llu, column \"%s\")",
				   c->m->colname, RelationGetRelationName(c->s->b.rel),
				   w->report_id ? w->report_id : "?", (unsigned long long) c->line, c->m->field);
	else
		errcontext("foreign table \"%s\" (report %s, CSV line %llu)",
				   RelationGetRelationName(c->s->b.rel), w->report_id ? w->report_id : "?",
				   (unsigned long long) c->line);
}

/* a CSV cell as server-encoded text (UTF-8 verified) */
static char *
cell(QRow *r, int f)
{
	return pg_any_to_server(r->data[f], r->len[f], PG_UTF8);
}

static void
store_row(MpReportScan *s, QRow *r, char **lookup, TupleTableSlot *slot)
{
	Datum	   *values = slot->tts_values;
	bool	   *nulls = slot->tts_isnull;
	ErrorContextCallback cb;
	RowCtx		ctx = {s, NULL, r->line};
	Window	   *w = &s->w[s->cur];

	cb.callback = row_context;
	cb.arg = &ctx;
	cb.previous = error_context_stack;
	error_context_stack = &cb;
	if (r->nfields != s->ncsv)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
				 errmsg("malformed CSV in MangoPay report %s for \"%s\"", w->report_id,
						RelationGetRelationName(s->b.rel)),
				 errdetail("Line %llu has %d fields, the header %d.", (unsigned long long) r->line,
						   r->nfields, s->ncsv)));
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];
		int			f = s->attr_field[i];

		values[i] = (Datum) 0;
		nulls[i] = true;
		if (!m->needed || m->colname == NULL)
			continue;
		ctx.m = m;
		if (m->is_key)
		{
			const char *v = partval(s, w->part, m->key_index);

			if (v)
			{
				values[i] = mp_text_to_datum(m, v);
				nulls[i] = false;
			}
			continue;
		}
		if (m->is_attrs)
		{
			StringInfoData j;

			initStringInfo(&j);
			appendStringInfoChar(&j, '{');
			for (int k = 0; k < s->ncsv; k++)
			{
				if (k)
					appendStringInfoChar(&j, ',');
				escape_json(&j, pg_any_to_server(s->csv_names[k], strlen(s->csv_names[k]), PG_UTF8));
				appendStringInfoChar(&j, ':');
				if (r->len[k] < 0)
					appendStringInfoString(&j, "null");
				else
					escape_json(&j, cell(r, k));
			}
			appendStringInfoChar(&j, '}');
			values[i] = mp_text_to_datum(m, j.data);
			nulls[i] = false;
			continue;
		}
		if (m->def && (m->def->flags & MP_COL_LOOKUP))
		{
			if (lookup && lookup[i])
			{
				values[i] = mp_text_to_datum(m, lookup[i]);
				nulls[i] = false;
			}
			continue;
		}
		if (f < 0 || r->len[f] < 0)
			continue;
		if (m->kind == MP_CK_TIME)
		{
			bool		ok;
			int64		v = field_int(r, f, &ok);
			char		buf[64];

			if (ok)
				values[i] = mp_unix_to_datum(m, (double) v);
			else
				values[i] = mp_text_to_datum(m, iso_text(cell(r, f), buf, sizeof(buf)));
			nulls[i] = false;
			continue;
		}
		if (m->typid == TEXTOID)
		{
			/* most columns: no input function call, no strlen */
			char	   *c = cell(r, f);

			values[i] = PointerGetDatum(cstring_to_text_with_len(c, c == r->data[f] ? r->len[f]
																	: (int) strlen(c)));
		}
		else
			values[i] = mp_text_to_datum(m, cell(r, f));
		nulls[i] = false;
	}
	error_context_stack = cb.previous;
}

/* the next queued row inside its window, or NULL */
static QRow *
pop_row(MpReportScan *s)
{
	Window	   *w = &s->w[s->cur];

	while (s->qhead)
	{
		QRow	   *r = s->qhead;
		bool		ok;
		int64		d;

		s->qhead = r->next;
		if (s->qhead == NULL)
			s->qtail = NULL;
		s->qrows--;
		s->qbytes -= r->size;
		if (s->date_field >= 0 && r->nfields == s->ncsv)
		{
			d = field_int(r, s->date_field, &ok);
			if (ok && (d < w->start || d >= w->end))
			{
				/* asked one second wider: belongs to the next window */
				s->dropped++;
				free_row(r);
				continue;
			}
		}
		return r;
	}
	return NULL;
}

/* ------------------------------------------------------------------------
 * payouts' lookup columns: GET /payouts/bankwire/{Id}, in row order
 * ------------------------------------------------------------------------ */
static void
start_lookup(MpReportScan *s, Lookup *l)
{

	if (s->id_field < 0 || l->row->len[s->id_field] <= 0)
	{
		l->req = NULL;
		return;
	}
	if (s->lookups_done >= s->b.conn->max_lookups)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("query on \"%s\" needs more than max_lookups (%d) requests to GET %s",
						RelationGetRelationName(s->b.rel), s->b.conn->max_lookups, s->b.res->lookup_path),
				 errdetail("Columns mode_requested, mode_applied, fallback_reason_code, fallback_reason_message and end_to_end_id need one request per row."),
				 errhint("Narrow the query (a shorter date range, a status), leave those columns out, or raise the server option max_lookups.")));
	s->lookups_done++;
	l->req = api_request(s, "GET", mp_path_with_id(s->b.res->lookup_path, l->row->data[s->id_field]));
	mp_request_start(l->req);
}

/*
 * The lookup columns of one row from GET /payouts/bankwire/{Id}, as
 * server-encoded text per attribute (NULL where absent).
 */
static char **
lookup_values(MpReportScan *s, MpRequest *r)
{
	cJSON	   *j = mp_json_body(r, r->buf, r->len);
	char	  **vals = palloc0(sizeof(char *) * s->b.natts);

	if (j == NULL || !cJSON_IsObject(j))
	{
		if (j)
			cJSON_Delete(j);
		mp_error_json_shape(r, "the payout is not a JSON object");
	}
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];
		const cJSON *v = j;

		if (!m->colname || !m->needed || !m->def || !(m->def->flags & MP_COL_LOOKUP))
			continue;
		for (int p = 0; p < m->pathlen && v; p++)
			v = cJSON_IsObject(v) ? cJSON_GetObjectItemCaseSensitive(v, m->path[p]) : NULL;
		if (cJSON_IsString(v))
			vals[i] = pstrdup(v->valuestring);
	}
	cJSON_Delete(j);
	for (int i = 0; i < s->b.natts; i++)
		if (vals[i])
			vals[i] = pg_any_to_server(vals[i], strlen(vals[i]), PG_UTF8);
	return vals;
}

/*
 * Does the row pass the local quals that read no lookup column?  Checked
 * before its lookup: a row that cannot match costs no GET.  The values live
 * in a context of their own, reset after each row, since many rows may be
 * rejected within one call.
 */
static bool
row_passes(MpReportScan *s, QRow *r, TupleTableSlot *slot)
{
	ExprContext *econtext = s->b.node->ss.ps.ps_ExprContext;
	MemoryContext old = MemoryContextSwitchTo(s->prefilter_cxt);
	bool		ok;

	s->held = r;
	store_row(s, r, NULL, slot);
	s->held = NULL;
	ExecStoreVirtualTuple(slot);
	econtext->ecxt_scantuple = slot;
	ok = ExecQual(s->prefilter, econtext);
	ExecClearTuple(slot);
	MemoryContextSwitchTo(old);
	MemoryContextReset(s->prefilter_cxt);
	if (!ok)
		s->prefiltered++;
	return ok;
}

/* ------------------------------------------------------------------------
 * planning the windows
 * ------------------------------------------------------------------------ */
/* the oldest time a report of this type may start at */
static int64
retention_floor(const MpResource *res, int64 now)
{
	/*
	 * An hour inside the limit: the API checks against its own, later clock.
	 * (The Reporting Service goes back 24 months, spec §4b.)
	 */
	return mp_clamp_retention(INT64_MIN, now, res->retention_months, 3600);
}

/* is name in the Columns array already? */
static bool
columns_has(const cJSON *cols, const char *name)
{
	const cJSON *c;

	cJSON_ArrayForEach(c, cols)
	{
		if (cJSON_IsString(c) && strcmp(c->valuestring, name) == 0)
			return true;
	}
	return false;
}

/* window size in months, as build_request() splits */
static int
window_months(const MpResource *res)
{
	return res->window_strict ? res->window_months - 1 : res->window_months;
}

/*
 * The longest window in seconds (0: months only).  A window [s, e) is asked
 * for as AfterDate s - 1, BeforeDate e: one second shorter than the limit.
 */
static int64
window_max_secs(const MpResource *res)
{
	return res->window_max_days > 0 ? (int64) res->window_max_days * 86400 - 1 : 0;
}

/*
 * At plan time: how many reports a scan with these (constant) bounds
 * creates, per key value.  0 when the range is empty.
 */
int
mp_report_estimate_windows(const MpResource *res, MpEval *ev)
{
	int64		now = (int64) time(NULL);
	int64		from = retention_floor(res, now);
	int64		to = now + 1;

	if (ev->no_rows)
		return 0;
	if (ev->have_lo)
		from = Max(from, mp_timestamptz_to_unix_floor(ev->lo));
	if (ev->have_hi)
		to = Min(to, mp_timestamptz_to_unix_floor(ev->hi) + 1);
	if (from >= to)
		return 0;
	return Max(1, mp_split_windows_span(from, to, window_months(res), true,
										window_max_secs(res), NULL, 0));
}

/*
 * The one currency the WHERE clause fixes for the amount column ci
 * ("DebitedFundsAmount" → the column whose field is DebitedFundsCurrency;
 * for wallets also the Currency filter), or NULL.
 */
static const char *
bound_currency(MpReportScan *s, int ci)
{
	const MpResource *res = s->b.res;
	MpEval	   *ev = s->ev;
	const char *f = res->cols[ci].filter;
	size_t		base = strlen(f) - strlen("Amount");
	const char *fallback = NULL;

	if (strlen(f) <= strlen("Amount") || strcmp(f + base, "Amount") != 0)
		return NULL;
	for (int i = 0; i < res->ncols; i++)
	{
		const MpColumnDef *col = &res->cols[i];

		if (!ev->vals_set[i] || list_length(ev->vals[i]) != 1)
			continue;
		if ((col->flags & MP_COL_CCY) && strncmp(col->field, f, base) == 0 &&
			strcmp(col->field + base, "Currency") == 0)
			return linitial(ev->vals[i]);
		if (col->filter && strcmp(col->filter, "Currency") == 0)
			fallback = linitial(ev->vals[i]);
	}
	return fallback;
}

/*
 * Min<F>/Max<F> of a pushed amount bound (already widened so that both an
 * inclusive and an exclusive reading return every matching row), with
 * Min/Max<Base>Currency when the query fixes the currency.
 */
static void
add_amount_bounds(MpReportScan *s, int ci)
{
	const char *f = s->b.res->cols[ci].filter;
	const char *ccy = bound_currency(s, ci);
	int			base = (int) (strlen(f) - strlen("Amount"));

	for (int k = 0; k < 2; k++)
	{
		const char *mm = k == 0 ? "Min" : "Max";

		if (!(k == 0 ? s->ev->have_min[ci] : s->ev->have_max[ci]))
			continue;
		cJSON_AddNumberToObject(s->filters, psprintf("%s%s", mm, f),
								(double) (k == 0 ? s->ev->min[ci] : s->ev->max[ci]));
		if (ccy)
			cJSON_AddStringToObject(s->filters, psprintf("%s%.*sCurrency", mm, base, f), ccy);
	}
}

static void
build_request(MpReportScan *s)
{
	const MpResource *res = s->b.res;
	MpEval	   *ev = s->ev;
	int64		now = (int64) time(NULL);
	int64		from,
				to,
				floor_from;
	int			nkeys = mp_resource_key_count(res);
	bool		all = bms_is_member(0 - FirstLowInvalidHeapAttributeNumber, s->b.plan->needed);
	bool		want_attrs = all;
	bool		optional = false;
	MpWindow   *wins;
	int			nwins;
	int64		granule = Max(60, s->b.conn->report_max_age_s);

	/* Filters: fixed ones (payouts), then what the WHERE clause pushes */
	s->filters = res->fixed_filters ? cJSON_Parse(res->fixed_filters) : cJSON_CreateObject();
	for (int i = 0; i < res->ncols; i++)
	{
		const MpColumnDef *col = &res->cols[i];

		if (ev->vals_set[i] && ev->vals[i] != NIL && col->filter &&
			mp_enum_documented(col, ev->vals[i]) &&
			!cJSON_HasObjectItem(s->filters, col->filter))
		{
			if (col->flags & MP_COL_SCALAR)
			{
				/* one value only (IN with several is checked locally) */
				if (list_length(ev->vals[i]) == 1)
					cJSON_AddStringToObject(s->filters, col->filter, linitial(ev->vals[i]));
			}
			else
			{
				cJSON	   *a = cJSON_AddArrayToObject(s->filters, col->filter);
				ListCell   *lc;

				foreach(lc, ev->vals[i])
					cJSON_AddItemToArray(a, cJSON_CreateString(lfirst(lc)));
			}
		}
		if (ev->have_min[i] || ev->have_max[i])
			add_amount_bounds(s, i);
	}

	/* Columns: what the query reads (plus CreationDate and Id for our own use) */
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];

		if (m->colname && m->is_attrs && m->needed)
			want_attrs = true;
		if (m->colname && m->needed && m->def && (m->def->flags & MP_COL_OPTIONAL))
			optional = true;
		if (m->colname && m->needed && m->def && (m->def->flags & MP_COL_LOOKUP))
			s->need_lookups = true;
		if (m->colname && m->needed && !m->is_attrs && !m->is_key &&
			(m->def == NULL || strcmp(m->field, m->def->field) != 0))
			optional = true;	/* a field of its own: not in the default set */
	}
	if (want_attrs && !optional)
		s->columns = NULL;		/* the whole default row */
	else
	{
		s->columns = cJSON_CreateArray();
		for (int i = 0; i < res->ncols; i++)
		{
			const MpColumnDef *col = &res->cols[i];
			bool		take = false;

			if (col->flags & (MP_COL_ATTRS | MP_COL_KEY | MP_COL_LOOKUP))
				continue;
			if (want_attrs && !(col->flags & MP_COL_OPTIONAL))
				take = true;
			if ((col->flags & MP_COL_DATE) || (strcmp(col->field, "Id") == 0 && s->need_lookups))
				take = true;
			for (int a = 0; a < s->b.natts && !take; a++)
				if (s->b.maps[a].needed && s->b.maps[a].def == col)
					take = true;
			if (take)
				cJSON_AddItemToArray(s->columns, cJSON_CreateString(col->field));
		}
		/*
		 * a referenced column whose field is not a descriptor's (the field
		 * option, a hand-defined table): requested by that name, so that it
		 * is read or the API refuses it, never silently NULL
		 */
		for (int a = 0; a < s->b.natts; a++)
		{
			MpColMap   *m = &s->b.maps[a];

			if (m->colname == NULL || !m->needed || m->is_attrs || m->is_key ||
				(m->def && (m->def->flags & MP_COL_LOOKUP)) ||
				(m->def && strcmp(m->field, m->def->field) == 0) ||
				columns_has(s->columns, m->field))
				continue;
			cJSON_AddItemToArray(s->columns, cJSON_CreateString(m->field));
		}
		if (cJSON_GetArraySize(s->columns) == 0)
			cJSON_AddItemToArray(s->columns, cJSON_CreateString(res->cols[0].field));
	}
	s->sort = (s->b.plan->sort_dir < 0) ? "CreationDate:DESC" : "CreationDate:ASC";

	/* the range: the query's, within the API's retention */
	floor_from = retention_floor(res, now);
	s->floor_from = floor_from;
	from = floor_from;
	if (ev->have_lo)
	{
		int64		lo = mp_timestamptz_to_unix_floor(ev->lo);
		int64		asked = lo;

		/* rounded down like "now" below, so that a reusable report matches */
		if (s->b.conn->report_max_age_s > 0)
			lo = (lo / granule) * granule;
		if (asked < floor_from)
			ereport(NOTICE,
					(errmsg("MangoPay keeps %s data for %d months: rows before %s are not returned",
							res->report_type, res->retention_months,
							timestamptz_to_str(time_t_to_timestamptz((pg_time_t) floor_from)))));
		else
			from = Max(lo, floor_from);	/* rounding never crosses the limit */
	}
	/*
	 * Up to now, inclusive (the window is [from, to)); rounded down only when
	 * report_max_age_s asks for reuse, so that reruns find the same definition.
	 */
	to = s->b.conn->report_max_age_s > 0 ? (now / granule) * granule : now + 1;
	if (ev->have_hi)
	{
		int64		hi = mp_timestamptz_to_unix_floor(ev->hi) + 1;

		if (hi < to)
			to = hi;
	}
	if (ev->have_lo && !ev->have_hi)
		to = Max(to, from + 1);
	/* rows the by-id GET does not serve (13 months): only older ones */
	if (s->only_old)
		to = Min(to, mp_add_months(now, -12));
	if (from >= to)
	{
		s->no_rows = true;
		return;
	}
	/*
	 * Windows end one second short of the limit and are asked one second
	 * wider at the start: "up to 6 months" gets 6 months, "under 12" gets 11.
	 */
	nwins = mp_split_windows_span_alloc(&s->alloc, from, to, window_months(res), true,
										window_max_secs(res), &wins);
	if (nwins <= 0)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));

	/* partitions: the key values (user_wallet_transactions) */
	s->nparts = 1;
	if (nkeys > 0)
	{
		int			n0 = ev->keys_set[0] ? list_length(ev->keys[0]) : 1;
		int			n1 = (nkeys > 1 && ev->keys_set[1]) ? list_length(ev->keys[1]) : 1;

		/* neither key: one report of every user wallet (spec §4b) */
		s->nparts = n0 * n1;
		s->parts = palloc0(sizeof(char *) * 2 * s->nparts);
		for (int a = 0; a < n0; a++)
			for (int b = 0; b < n1; b++)
			{
				int			p = a * n1 + b;

				s->parts[p * 2] = ev->keys_set[0] ? list_nth(ev->keys[0], a) : NULL;
				s->parts[p * 2 + 1] = (nkeys > 1 && ev->keys_set[1]) ? list_nth(ev->keys[1], b) : NULL;
			}
	}
	s->nw = nwins * s->nparts;
	s->w = palloc0(sizeof(Window) * s->nw);
	for (int p = 0; p < s->nparts; p++)
		for (int k = 0; k < nwins; k++)
		{
			/* ORDER BY creation_date DESC: the newest window first */
			MpWindow   *src = &wins[s->b.plan->sort_dir < 0 ? nwins - 1 - k : k];
			Window	   *w = &s->w[p * nwins + k];

			w->start = src->start;
			w->end = src->end;
			w->part = p;
			w->state = W_NEW;
		}
	free(wins);
}

static void
evaluate(MpReportScan *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);

	s->ev = mp_plan_evaluate(s->b.plan, s->b.exprstates, s->b.node->ss.ps.ps_ExprContext);
	s->no_rows = s->ev->no_rows;
	if (!s->no_rows)
		build_request(s);
	if (s->only_old && s->need_lookups)
	{
		/* they would all answer 404: the columns are NULL, said by the caller */
		s->need_lookups = false;
		s->lookups_dropped = true;
	}
	s->cur = 0;
	if (s->need_lookups)
	{
		s->nlook = Max(1, s->b.conn->max_concurrency);
		s->look = palloc0(sizeof(Lookup) * s->nlook);
	}
	MemoryContextSwitchTo(old);
	s->started = true;
}

/* wait a little for the network or a poll time, interrupts checked */
static void
wait_some(MpReportScan *s)
{
	TimestampTz t0 = GetCurrentTimestamp();

	mp_http_pump(100);
	s->wait_ms += (double) (GetCurrentTimestamp() - t0) / 1000.0;
}

MpReportScan *
mp_report_begin(ForeignScanState *node, MpPlan *plan, MpConn *conn)
{
	MpReportScan *s = palloc0(sizeof(MpReportScan));

	/* the parser, the queue and the windows array: malloc, never an ERROR */
	s->alloc.alloc = m_alloc;
	s->alloc.realloc = m_realloc;
	s->alloc.free = m_free;
	mp_scan_base_init(&s->b, node, plan, conn, scan_cleanup, s);
	if (plan->prefilter_at >= 0)
	{
		ForeignScan *fsplan = (ForeignScan *) node->ss.ps.plan;

		s->prefilter = ExecInitQual(list_copy_tail(fsplan->fdw_exprs, plan->prefilter_at),
									(PlanState *) node);
		s->prefilter_cxt = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw prefilter",
												 ALLOCSET_SMALL_SIZES);
	}
	return s;
}

/*
 * A report table read by id (payouts): its rows older than the by-id GET
 * serves (see load_old_rows in mangopay_fdw.c), without lookups.
 */
MpReportScan *
mp_report_begin_old(ForeignScanState *node, MpPlan *plan, MpConn *conn)
{
	MpReportScan *s = mp_report_begin(node, plan, conn);

	s->only_old = true;
	return s;
}

bool
mp_report_lookups_dropped(MpReportScan *s)
{
	return s->lookups_dropped;
}

bool
mp_report_next(MpReportScan *s, TupleTableSlot *slot)
{
	ExecClearTuple(slot);
	if (!s->started)
		evaluate(s);
	if (s->no_rows)
		return false;
	for (;;)
	{
		Window	   *w;
		QRow	   *r;

		if (s->cur >= s->nw)
			return false;
		w = &s->w[s->cur];

		/* payouts' lookups: keep max_concurrency GETs in flight, rows in order */
		if (s->need_lookups && s->attr_field)
		{
			int			inflight = 0;

			for (int i = 0; i < s->nlook; i++)
				if (s->look[(s->look_head + i) % s->nlook].row)
					inflight++;
			while (inflight < s->nlook && (r = pop_row(s)) != NULL)
			{
				Lookup	   *l = &s->look[(s->look_head + inflight) % s->nlook];

				if (s->prefilter && !row_passes(s, r, slot))
				{
					free_row(r);
					continue;
				}
				l->row = r;
				start_lookup(s, l);
				inflight++;
			}
			if (inflight > 0)
			{
				Lookup	   *l = &s->look[s->look_head];
				char	  **vals = NULL;

				if (l->req)
				{
					mp_request_wait(l->req);
					if (mp_request_ok(l->req))
						vals = lookup_values(s, l->req);
					else if (!mp_request_not_found(l->req))
						mp_report_request_failure(l->req);
					else if (!s->old_notice)
					{
						/* past the API's retention of objects: said, not silent */
						s->old_notice = true;
						ereport(NOTICE,
								(errmsg("MangoPay no longer serves some %ss of \"%s\" by id: their lookup columns are NULL",
										s->b.res->object_name, RelationGetRelationName(s->b.rel)),
								 errdetail("GET %s answered 404; objects are readable for 13 months, reports list them for %d.",
										   s->b.res->lookup_path, s->b.res->retention_months)));
					}
				}
				s->held = l->row;
				l->row = NULL;
				store_row(s, s->held, vals, slot);
				free_row(s->held);
				s->held = NULL;
				if (l->req)
					mp_request_release(l->req);
				l->req = NULL;
				s->look_head = (s->look_head + 1) % s->nlook;
				ExecStoreVirtualTuple(slot);
				s->rows++;
				mp_stats.rows_returned++;
				return true;
			}
		}
		else if (s->attr_field && (r = pop_row(s)) != NULL)
		{
			s->held = r;
			store_row(s, r, NULL, slot);
			free_row(r);
			s->held = NULL;
			ExecStoreVirtualTuple(slot);
			s->rows++;
			mp_stats.rows_returned++;
			return true;
		}

		/* the header arrived: map the columns once per window */
		if (s->header_seen && s->attr_field == NULL && w->state == W_DOWNLOADING)
		{
			map_header(s);
			continue;
		}

		/* here the queue is empty: every row parsed so far was returned */
		if (w->state == W_DOWNLOADING)
		{
			switch (w->dl)
			{
				case DL_STREAMING:
					if (s->dl->state == MP_REQ_DONE)
					{
						download_finished(s, w);
						continue;
					}

					/*
					 * Drained: let a paused transfer go on.  Unpausing hands
					 * over what curl had buffered at once; only when that
					 * brought no row is there reason to wait for the network.
					 */
					mp_request_unpause(s->dl);
					if (s->qhead == NULL)
						wait_some(s);
					continue;
				case DL_FINISHED:

					/*
					 * The whole file was returned.  A file without even a
					 * header (an empty body) is a report without rows.
					 */
					set_download(s, w, DL_NONE, NULL);
					w->state = W_DONE;
					s->cur++;
					continue;
				case DL_NONE:
					break;
			}
			elog(ERROR, "mangopay_fdw: report %s is being downloaded without a download",
				 w->report_id ? w->report_id : "?");
		}
		advance_windows(s);
		if (w->state == W_READY)
		{
			open_window(s, w);
			continue;
		}
		if (w->state == W_NEW)
			continue;
		wait_some(s);
	}
}

void
mp_report_rescan(MpReportScan *s)
{
	mp_scan_base_reset(&s->b);	/* releases requests, the parser, the queue */
	s->started = false;
	s->dl = NULL;
	s->csv = NULL;
	s->w = NULL;
	s->nw = 0;
	s->look = NULL;
	s->nlook = 0;
	s->look_head = 0;
	s->attr_field = NULL;
	s->need_lookups = false;
}

void
mp_report_end(MpReportScan *s)
{
	MemoryContextDelete(s->b.cxt);	/* scan_cleanup frees what is malloc'ed */
}

void
mp_report_explain(MpReportScan *s, MpPlan *plan, ForeignScanState *node, ExplainState *es)
{
	const MpResource *res = plan->res;
	char	   *pushed = mp_explain_pushes(plan, node, es);
	bool		lookups = false;

	ExplainPropertyText("MangoPay Resource", res->name, es);
	ExplainPropertyText("MangoPay Report", psprintf("%s (%s), POST %s, windows of %s%d months%s",
													res->report_type,
													res->report_v2 ? "Reporting Service" : "legacy Reports API",
													res->create_path, res->window_strict ? "under " : "up to ",
													res->window_months,
													res->window_max_days > 0 ?
													psprintf(" and %d days", res->window_max_days) : ""), es);
	if (res->fixed_filters)
		ExplainPropertyText("MangoPay Fixed Filters", res->fixed_filters, es);
	if (pushed)
		ExplainPropertyText("MangoPay Pushed", pushed, es);
	for (int i = 0; i < res->ncols; i++)
		if ((res->cols[i].flags & MP_COL_LOOKUP) &&
			bms_is_member(i + 1 - FirstLowInvalidHeapAttributeNumber, plan->needed))
			lookups = true;
	if (lookups)
		ExplainPropertyText("MangoPay Lookups",
							psprintf("GET %s per row%s", res->lookup_path,
									 plan->prefilter_at >= 0 ? " passing the local conditions" : ""), es);
	if (s && s->started && !s->no_rows)
	{
		char	   *cols = s->columns ? cJSON_PrintUnformatted(s->columns) : NULL;
		char	   *filt = s->filters ? cJSON_PrintUnformatted(s->filters) : NULL;

		ExplainPropertyText("MangoPay Filters", filt ? filt : "{}", es);
		ExplainPropertyText("MangoPay Columns", cols ? cols : "(the default set)", es);
		if (cols)
			cJSON_free(cols);
		if (filt)
			cJSON_free(filt);
		ExplainPropertyInteger("MangoPay Windows", NULL, s->nw, es);
		if (es->analyze)
		{
			ExplainPropertyInteger("MangoPay Reports Created", NULL, s->created, es);
			ExplainPropertyInteger("MangoPay Reports Reused", NULL, s->reused, es);
			if (s->lookups_done || s->prefiltered)
			{
				ExplainPropertyInteger("MangoPay Lookups Made", NULL, s->lookups_done, es);
				ExplainPropertyInteger("MangoPay Rows Filtered Before Lookups", NULL, s->prefiltered, es);
			}
			if (es->timing)
				ExplainPropertyFloat("MangoPay Wait Time", "ms", s->wait_ms, 0, es);
		}
	}
}
