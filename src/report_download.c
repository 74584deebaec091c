/*-------------------------------------------------------------------------
 * report_download.c
 *		The download stream of the window being read: the malloc'ed memory
 *		of the parser and the row queue, the CSV feed inside curl's write
 *		callback (bounded queue, pause), the download state (resume with
 *		Range, expired link), the header check and mapping.
 *-------------------------------------------------------------------------
 */
#include "report_int.h"

/* ------------------------------------------------------------------------
 * malloc'ed memory for the parser and the queue: never raises
 * ------------------------------------------------------------------------ */
void *
mpr_m_alloc(void *ctx, size_t n)
{
	return malloc(n);
}

void *
mpr_m_realloc(void *ctx, void *p, size_t n)
{
	return realloc(p, n);
}

void
mpr_m_free(void *ctx, void *p)
{
	free(p);
}

void
mpr_free_row(QRow *r)
{
	free(r);
}

static void
clear_queue(MpReportScan *s)
{
	while (s->qhead)
	{
		QRow	   *n = s->qhead->next;

		mpr_free_row(s->qhead);
		s->qhead = n;
	}
	s->qtail = NULL;
	s->qrows = 0;
	s->qbytes = 0;
	for (int i = 0; s->look && i < s->nlook; i++)
	{
		if (s->look[i].row)
			mpr_free_row(s->look[i].row);
		s->look[i].row = NULL;
		for (int v = 0; v < MP_MAX_VIEWS; v++)
			s->look[i].req[v] = NULL;
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
	s->err_len = 0;
}

static void free_header(MpReportScan *s);

void
mpr_scan_cleanup(void *arg)
{
	MpReportScan *s = (MpReportScan *) arg;

	drop_download(s);
	clear_queue(s);
	if (s->held)
		mpr_free_row(s->held);
	s->held = NULL;
	s->filters = s->columns = NULL;	/* their owner is the same context */
	free_header(s);
}

/* ------------------------------------------------------------------------
 * the CSV side: runs inside curl's write callback
 * ------------------------------------------------------------------------ */
static int
on_record(void *arg, const MpCsvRecord *rec)
{
	MpReportScan *s = (MpReportScan *) arg;
	size_t		base = sizeof(QRow) + rec->nfields * (sizeof(int32) + sizeof(char *));
	size_t		need = base;
	bool		contiguous = true;
	QRow	   *r;
	char	   *p;

	if (!s->header_seen)
	{
		/* the header: names are copied into malloc'ed memory too */
		s->file.ncsv = rec->nfields;
		s->file.names = calloc(rec->nfields, sizeof(char *));
		if (s->file.names == NULL)
			return -2;
		for (int i = 0; i < rec->nfields; i++)
		{
			s->file.names[i] = strndup(rec->fields[i].data, rec->fields[i].len);
			if (s->file.names[i] == NULL)
				return -2;
		}
		s->header_seen = true;
		return 0;
	}
	for (int i = 0; i < rec->nfields; i++)
	{
		/* the parser's fields lie one after another, each NUL-terminated */
		if (rec->fields[i].data != rec->fields[0].data + (need - base))
			contiguous = false;
		need += rec->fields[i].len + 1;
	}
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
	if (contiguous && rec->nfields > 0)
		memcpy(p, rec->fields[0].data, need - base);	/* the whole record at once */
	for (int i = 0; i < rec->nfields; i++)
	{
		const MpCsvField *f = &rec->fields[i];

		r->len[i] = (f->len == 0 && !f->quoted) ? -1 : (int32) f->len;
		r->data[i] = p;
		if (!contiguous)
		{
			memcpy(p, f->data, f->len);
			p[f->len] = '\0';
		}
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
		/*
		 * An error page (S3 XML, ...), or whatever else answered: counted,
		 * never kept, so no byte of it reaches a message.
		 */
		s->err_len += len;
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
void
mpr_set_download(MpReportScan *s, ScanReport *w, DlState to, MpRequest *r)
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
		w->state = RS_DOWNLOADING;
	if (to == DL_NONE)
	{
		if (s->csv)
			mp_csv_destroy(s->csv);
		s->csv = NULL;
		free_header(s);
		s->file.field_of = NULL;
	}
}

static void
start_download(MpReportScan *s, ScanReport *w, int64 from)
{
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);
	MpRequest  *r;

	if (!mp_download_url_is_acceptable(w->download_url, s->b.conn->base_url))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("MangoPay report %s for \"%s\" has a DownloadURL mangopay_fdw will not fetch",
						w->report_id, RelationGetRelationName(s->b.rel)),
				 errdetail("Only https:// download links are fetched; http:// only on a loopback host, and only when the server's api_url is itself http:// on a loopback host."),
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
	mpr_set_download(s, w, DL_STREAMING, r);
	s->skip = 0;
	s->dl_failed = false;
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
	ScanReport *w = &s->w[s->cur];
	const MpColumnDef *datecol = mp_resource_date_column(s->b.res);

	initStringInfo(&missing);
	if (s->date_field < 0 && datecol != NULL)
		appendStringInfoString(&missing, datecol->field);
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];

		if (m->colname == NULL || !m->needed || m->is_attrs || m->is_key ||
			(m->def && (m->def->flags & (MP_COL_LOOKUP | MP_COL_REPORTED))) || s->file.field_of[i] >= 0 ||
			(s->date_field < 0 && datecol != NULL && strcmp(m->field, datecol->field) == 0))
			continue;
		appendStringInfo(&missing, "%s%s", missing.len ? ", " : "", m->field);
	}
	if (s->need_lookups && s->id_field < 0)
		appendStringInfo(&missing, "%sId", missing.len ? ", " : "");
	if (missing.len == 0)
		return;
	/*
	 * Not the CSV asked for: whatever answered is described, never quoted
	 * (the link may lead to a service that is not MangoPay's).
	 */
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_STRING_FORMAT),
			 errmsg("MangoPay report %s for \"%s\" is not the CSV asked for: its header lacks %s",
					w->report_id ? w->report_id : "?", RelationGetRelationName(s->b.rel),
					missing.data),
			 errdetail("HTTP %ld, Content-Type \"%s\"; its first line has %d field%s (not quoted).",
					   s->dl ? (s->dl->status ? s->dl->status : mp_request_current_status(s->dl)) : 0L,
					   mp_safe_text(NULL, s->dl ? s->dl->content_type_resp : "", 80),
					   s->file.ncsv, s->file.ncsv == 1 ? "" : "s"),
			 errhint("A proxy or the download host may have answered with a page of its own; the query can be retried.")));
}

/* map the table's columns onto the CSV header */
void
mpr_map_header(MpReportScan *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->b.cxt);
	const MpColumnDef *datecol;

	s->file.field_of = palloc(sizeof(int) * s->b.natts);
	for (int i = 0; i < s->b.natts; i++)
	{
		MpColMap   *m = &s->b.maps[i];

		s->file.field_of[i] = -1;
		if (m->colname == NULL || m->is_attrs || m->is_key ||
			(m->def && (m->def->flags & MP_COL_LOOKUP)))
			continue;
		for (int pass = 0; pass < 2 && s->file.field_of[i] < 0; pass++)
			for (int f = 0; f < s->file.ncsv; f++)
				if (pass == 0 ? strcmp(s->file.names[f], m->field) == 0 :
					pg_strcasecmp(s->file.names[f], m->field) == 0)
				{
					s->file.field_of[i] = f;
					break;
				}
	}
	s->file.attrs_layout = NULL;
	s->file.ascii_check = -1;
	s->date_field = -1;
	s->id_field = -1;
	datecol = mp_resource_date_column(s->b.res);
	for (int f = 0; f < s->file.ncsv; f++)
	{
		if (datecol != NULL && strcmp(s->file.names[f], datecol->field) == 0)
			s->date_field = f;
		if (strcmp(s->file.names[f], "Id") == 0)
			s->id_field = f;
	}
	MemoryContextSwitchTo(old);
	check_header(s);
}

static void
free_header(MpReportScan *s)
{
	for (int i = 0; s->file.names && i < s->file.ncsv; i++)
		free(s->file.names[i]);
	free(s->file.names);
	s->file.names = NULL;
	s->file.ncsv = 0;
	s->header_seen = false;
}

/*
 * The request of window cur's download is done: the file was read to its
 * end (DL_FINISHED; the last record, if it had no line end, is queued
 * now), or it broke off and is resumed, or its link expired and the window
 * waits for a new one, or an ERROR says why it failed.
 */
void
mpr_download_finished(MpReportScan *s, ScanReport *w)
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
		mpr_set_download(s, w, DL_FINISHED, NULL);
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
		mpr_set_download(s, w, DL_NONE, NULL);
		w->state = RS_WAITING;
		w->next_poll = 0;
		w->recreated = true;
		return;
	}
	if (r->curl_code == 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("could not download MangoPay report %s for \"%s\"", w->report_id,
						RelationGetRelationName(s->b.rel)),
				 errdetail("HTTP %ld from GET %s, Content-Type \"%s\", %zu bytes (not quoted: the answer is not the report's CSV).",
						   r->status, r->log_path,
						   mp_safe_text(NULL, r->content_type_resp, 80), s->err_len)));
	mp_error_request_failed(r);
}

/* the CSV of a window starts: a fresh parser */
void
mpr_open_report(MpReportScan *s, ScanReport *w)
{
	MpCsvOptions opt;

	memset(&opt, 0, sizeof(opt));
	free_header(s);
	s->file.field_of = NULL;
	s->csv = mp_csv_create(&s->alloc, &opt, on_record, s);
	if (s->csv == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	s->resumes = 0;
	start_download(s, w, 0);
}
