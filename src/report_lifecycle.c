/*-------------------------------------------------------------------------
 * report_lifecycle.c
 *		The lifecycle of one report of a scan (a ScanReport: a date window
 *		x the key values): create or reuse it, poll it, resolve a 409
 *		through GET /responses/{key}, EXPIRED and FAILED.  The only place a
 *		ScanReport's state changes.
 *-------------------------------------------------------------------------
 */
#include "report_int.h"

MpRequest *
mpr_api_request(MpReportScan *s, const char *method, const char *path)
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

/* look for a ready report of the same mpr_definition (report_max_age_s) */
static bool
find_reusable(MpReportScan *s, ScanReport *w, const char *tag)
{
	int64		since = (int64) time(NULL) - s->b.conn->report_max_age_s;
	char	   *path = psprintf("%s?page=1&per_page=100&AfterDate=" INT64_FORMAT "&Sort=CreationDate:DESC",
								report_path(s), since);
	MpRequest  *r = mpr_api_request(s, "GET", path);
	cJSON	   *j;
	bool		found = false;

	mp_request_wait(r);
	if (!mp_request_ok(r))
		mp_error_request_failed(r);
	j = mp_json_body(r, r->buf, r->len);
	if (j == NULL || !cJSON_IsArray(j))
		mp_error_json_shape(r, "the list of reports is not a JSON array");
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
	mp_json_release(j);
	mp_request_release(r);
	return found;
}

static void
start_create(MpReportScan *s, ScanReport *w)
{
	cJSON	   *def = mpr_definition(s, w);
	char	   *tag = mpr_definition_tag(s, def);
	char	   *body;

	cJSON_AddStringToObject(def, "Tag", tag);
	body = cJSON_PrintUnformatted(def);
	mp_json_release(def);
	w->req = mpr_api_request(s, "POST", s->b.res->create_path);
	w->req->body = MemoryContextStrdup(s->b.cxt, body);
	cJSON_free(body);			/* nothing malloc'ed is left when an ERROR comes */
	if (s->b.conn->report_max_age_s > 0 && !w->recreated && find_reusable(s, w, tag))
	{
		mp_request_release(w->req);
		w->req = NULL;
		w->reused = true;
		s->reused++;
		mp_stats.reports_reused++;
		w->state = RS_WAITING;
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
	w->state = RS_CREATING;
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
	int64		report_date;	/* ReportDate, 0 when null */
} ReportInfo;

static char *
json_str(const cJSON *obj, const char *key)
{
	cJSON	   *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	return cJSON_IsString(v) ? pstrdup(v->valuestring) : NULL;
}

/*
 * Parse a report object (or, with envelope, GET /responses/{key}'s
 * "Resource") into a ReportInfo; the JSON is freed here, or by the
 * context that owns it when an ERROR comes first.
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
		{
			cJSON	   *d = cJSON_GetObjectItemCaseSensitive(obj, "ReportDate");

			if (cJSON_IsNumber(d) && d->valuedouble > 0 && d->valuedouble < 1e12)
				ri->report_date = (int64) d->valuedouble;
		}
	}
	mp_json_release(j);
	if (ri->id == NULL || ri->status == NULL)
		mp_error_json_shape(r, envelope ? "GET /responses/{key} has no report in \"Resource\"" :
							"the report object has no Id or Status");
	return ri;
}

static void
report_failed(MpReportScan *s, ScanReport *w, ReportInfo *ri)
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
 * A table whose rows carry the report's own time (wallets: the balances
 * when the report was generated, spec §11) says when a scan mixes reports
 * generated at different times, or reads one generated before the query.
 */
static void
reported_notice(MpReportScan *s, ScanReport *w)
{
	const MpColumnDef *col = NULL;
	const char *when;

	for (int i = 0; i < s->b.res->ncols && col == NULL; i++)
		if (s->b.res->cols[i].flags & MP_COL_REPORTED)
			col = &s->b.res->cols[i];
	if (col == NULL || s->reported_notice)
		return;
	when = w->report_date > 0 ?
		timestamptz_to_str(time_t_to_timestamptz((pg_time_t) w->report_date)) : "an unknown time";
	if (w->reused)
	{
		s->reported_notice = true;
		ereport(NOTICE,
				(errmsg("\"%s\" reuses a %s report generated before this query: its rows are as of that report's time",
						RelationGetRelationName(s->b.rel), s->b.res->report_type),
				 errdetail("Report %s was generated at %s; report_max_age_s allows reusing it.",
						   w->report_id, when),
				 errhint("Column %s gives each row's time.", col->name)));
	}
	else if (s->nw > 1)
	{
		s->reported_notice = true;
		ereport(NOTICE,
				(errmsg("\"%s\" reads %d %s reports, generated one after the other: each row is as of its own report's time",
						RelationGetRelationName(s->b.rel), s->nw, s->b.res->report_type),
				 errdetail("One report covers at most %d months of creation dates.", s->b.res->window_months),
				 errhint("Column %s gives each row's time.", col->name)));
	}
}

/*
 * A report object (from the POST, a poll or /responses/{key}): move the
 * window on according to its Status.
 */
static void
take_report(MpReportScan *s, ScanReport *w, MpRequest *r, ReportInfo *ri)
{
	const char *status = ri->status;

	if (w->report_id == NULL)
		w->report_id = MemoryContextStrdup(s->b.cxt, ri->id);
	if (strcmp(status, "READY_FOR_DOWNLOAD") == 0 || strcmp(status, "GENERATED") == 0)
	{
		if (ri->url == NULL || ri->url[0] == '\0')
			mp_error_json_shape(r, "a ready report has no DownloadURL");
		w->download_url = MemoryContextStrdup(s->b.cxt, ri->url);
		w->report_date = ri->report_date;
		w->state = RS_READY;
		reported_notice(s, w);
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
		w->state = RS_NEW;
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
	w->state = RS_WAITING;
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
	cJSON	   *j = mp_json_lenient(r);
	cJSON	   *c = j ? cJSON_GetObjectItemCaseSensitive(j, "StatusCode") : NULL;
	int			code = 0;

	if (cJSON_IsNumber(c))
		code = (int) c->valuedouble;
	else if (cJSON_IsString(c))
		code = atoi(c->valuestring);
	mp_json_release(j);
	return code;
}

/* a finished create / poll / recovery request of window w */
static void
window_request_done(MpReportScan *s, ScanReport *w)
{
	MpRequest  *r = w->req;
	bool		recovered;

	w->req = NULL;
	if (w->state == RS_CREATING && w->recovering &&
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
			w->state = RS_NEW;
			return;
		}
	}
	if (w->state == RS_CREATING && !w->recovering && is_idempotency_conflict(r))
	{
		/* a retried POST whose first attempt went through: read its answer */
		w->recovering = true;
		w->req = mpr_api_request(s, "GET", psprintf("/responses/%s", w->idem_key));
		mp_request_start(w->req);
		mp_request_release(r);
		return;
	}
	if (!mp_request_ok(r))
		mp_error_request_failed(r);
	recovered = w->recovering;
	w->recovering = false;		/* later answers are plain report objects */
	if (w->state == RS_CREATING)
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
void
mpr_advance_reports(MpReportScan *s)
{
	int			ahead = (s->b.plan->limit_hint > 0) ? 1 : Max(1, s->b.conn->max_concurrency);
	int			active = 0;

	for (int i = s->cur; i < s->nw && i < s->cur + ahead; i++)
	{
		ScanReport *w = &s->w[i];

		if (w->req && w->req->state == MP_REQ_DONE)
			window_request_done(s, w);
		if (w->state == RS_NEW && active < ahead)
			start_create(s, w);
		if (w->state == RS_WAITING && GetCurrentTimestamp() >= w->next_poll)
		{
			char	   *path = psprintf("%s/%s", report_path(s), mp_url_escape(w->report_id));

			w->req = mpr_api_request(s, "GET", path);
			mp_request_start(w->req);
			w->state = RS_POLLING;
			w->polls++;
		}
		if (w->state == RS_CREATING || w->state == RS_POLLING)
			active++;
	}
}
