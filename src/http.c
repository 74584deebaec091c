/*-------------------------------------------------------------------------
 * http.c
 *		The libcurl multi engine: every HTTP request mangopay_fdw makes goes
 *		through here.
 *
 * One multi handle per backend keeps connections (and TLS sessions) alive
 * across scans.  Requests are palloc'ed in the scan's memory context; a
 * reset callback on that context removes their easy handles, so an ERROR,
 * a cancel or the end of a scan never leaks a handle or a socket.
 *
 * The backend drives curl itself (mp_http_pump): curl_multi_poll with a
 * short timeout, then CHECK_FOR_INTERRUPTS(), so a cancel or a
 * statement_timeout ends any wait within ~100 ms and PostgreSQL reports it
 * as such (57014).  No curl callback ever raises an ERROR: callbacks record
 * what happened in the request and report it after curl returns.
 *
 * Retries: a finished transfer is retried or final as http_retry.c
 * decides (network errors, 5xx, 429 and 401 up to max_retries); a retry
 * waits in MP_REQ_WAITING, its easy handle out of the multi.
 *
 * The bearer token of an API call comes from the MpAuthProvider auth.c
 * sets once (mp_http_set_auth, http_retry.c): the transport calls no layer
 * above it.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include <curl/curl.h>
#include <math.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/timerfd.h>
#endif

#include "apiparse.h"
#include "ratebudget.h"
#include "access/xact.h"
#include "miscadmin.h"
#include "tcop/tcopprot.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "storage/proc.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#if PG_VERSION_NUM >= 170000
#include "utils/wait_event.h"
static uint32 mp_wait_event = 0;
static uint32 mp_wait_event_rl = 0;
#define MP_WAIT_EVENT() \
	(mp_wait_event ? mp_wait_event : (mp_wait_event = WaitEventExtensionNew("MangoPayHTTP")))
#define MP_WAIT_EVENT_RATELIMIT() \
	(mp_wait_event_rl ? mp_wait_event_rl : (mp_wait_event_rl = WaitEventExtensionNew("MangoPayRateLimit")))
#else
#define MP_WAIT_EVENT() PG_WAIT_EXTENSION
#define MP_WAIT_EVENT_RATELIMIT() PG_WAIT_EXTENSION
#endif

static CURLM *mp_multi = NULL;
static MpRequest *mp_live = NULL;	/* every started, unreleased request */
static int	mp_token_fetches = 0;	/* >0 while an OAuth token is being fetched */
static uint64 mp_progress = 0;	/* bumped whenever a transfer hands over bytes */

static void
mp_http_init(void)
{
	if (mp_multi != NULL)
		return;
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("mangopay_fdw could not initialize libcurl")));
	mp_multi = curl_multi_init();
	if (mp_multi == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("mangopay_fdw could not create a libcurl multi handle")));
	curl_multi_setopt(mp_multi, CURLMOPT_MAXCONNECTS, 32L);
}

/* ------------------------------------------------------------------------
 * curl callbacks: record, never raise
 * ------------------------------------------------------------------------ */
static size_t
write_cb(char *data, size_t size, size_t nmemb, void *userp)
{
	MpRequest  *req = (MpRequest *) userp;
	size_t		n = size * nmemb;

	if (req->on_data)
	{
		size_t		r = req->on_data(req, data, n);

		if (r != n && r != CURL_WRITEFUNC_PAUSE)
			req->sink_failed = true;
		if (r == n)
		{
			mp_stats.bytes_received += n;
			mp_progress++;
		}
		return r;
	}
	mp_stats.bytes_received += n;
	mp_progress++;
	if (req->len + n > req->max_body)
	{
		req->too_large = true;
		return 0;				/* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (req->len + n + 1 > req->cap)
	{
		size_t		ncap = Max(req->cap * 2, 16384);
		char	   *nbuf;

		while (ncap < req->len + n + 1)
			ncap *= 2;
		if (req->secret && req->buf)
		{
			/* no copy of a secret left behind by realloc */
			nbuf = malloc(ncap);
			if (nbuf)
			{
				memcpy(nbuf, req->buf, req->len);
				explicit_bzero(req->buf, req->cap);
				free(req->buf);
			}
		}
		else
			nbuf = realloc(req->buf, ncap);
		if (nbuf == NULL)
		{
			req->too_large = true;
			return 0;
		}
		req->buf = nbuf;
		req->cap = ncap;
	}
	memcpy(req->buf + req->len, data, n);
	req->len += n;
	req->buf[req->len] = '\0';
	return n;
}

static bool
header_is(const char *line, size_t n, const char *name, const char **value)
{
	size_t		k = strlen(name);

	if (n <= k || pg_strncasecmp(line, name, k) != 0 || line[k] != ':')
		return false;
	*value = line + k + 1;
	return true;
}

static void
copy_header_value(char *dst, size_t dstsz, const char *v, const char *end)
{
	size_t		n;

	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	n = Min((size_t) (end - v), dstsz - 1);
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t
header_cb(char *line, size_t size, size_t nmemb, void *userp)
{
	MpRequest  *req = (MpRequest *) userp;
	size_t		n = size * nmemb;
	const char *v;
	char		tmp[2048];

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0)
	{
		/* a new response (after 100-continue or a redirect) */
		req->hdr_pages = -1;
		req->hdr_items = -1;
		req->hdr_link_next = false;
		req->hdr_link_seen = false;
		req->rl_nremaining = req->rl_nreset = req->rl_nused = 0;
		req->location[0] = '\0';
		req->www_authenticate[0] = '\0';
		return n;
	}
	if (header_is(line, n, "X-Number-Of-Pages", &v))
	{
		copy_header_value(tmp, sizeof(tmp), v, line + n);
		if (!mp_parse_int_header(tmp, &req->hdr_pages))
			req->hdr_pages = -1;
	}
	else if (header_is(line, n, "X-Number-Of-Items", &v))
	{
		copy_header_value(tmp, sizeof(tmp), v, line + n);
		if (!mp_parse_int_header(tmp, &req->hdr_items))
			req->hdr_items = -1;
	}
	else if (header_is(line, n, "Link", &v))
	{
		copy_header_value(tmp, sizeof(tmp), v, line + n);
		req->hdr_link_seen = true;
		/* only presence matters: page URLs are built by us, never followed */
		if (mp_parse_link_rel(tmp, "next", NULL, 0))
			req->hdr_link_next = true;
	}
	else if (header_is(line, n, "X-RateLimit-Remaining", &v))
	{
		copy_header_value(tmp, sizeof(tmp), v, line + n);
		req->rl_nremaining = mp_parse_ratelimit(tmp, req->rl_remaining, 4);
	}
	else if (header_is(line, n, "X-RateLimit", &v))
	{
		copy_header_value(tmp, sizeof(tmp), v, line + n);
		req->rl_nused = mp_parse_ratelimit(tmp, req->rl_used, 4);
	}
	else if (header_is(line, n, "X-RateLimit-Reset", &v))
	{
		copy_header_value(tmp, sizeof(tmp), v, line + n);
		req->rl_nreset = mp_parse_ratelimit(tmp, req->rl_reset, 4);
	}
	else if (header_is(line, n, "Location", &v))
		copy_header_value(req->location, sizeof(req->location), v, line + n);
	else if (header_is(line, n, "Content-Type", &v))
		copy_header_value(req->content_type_resp, sizeof(req->content_type_resp), v, line + n);
	else if (header_is(line, n, "WWW-Authenticate", &v))
		copy_header_value(req->www_authenticate, sizeof(req->www_authenticate), v, line + n);
	return n;
}

/* ------------------------------------------------------------------------
 * request lifecycle
 * ------------------------------------------------------------------------ */

/* requests started and not yet released (0 between queries: nothing leaks) */
int
mp_http_in_flight(void)
{
	int			n = 0;

	for (MpRequest *r = mp_live; r; r = r->next_active)
		n++;
	return n;
}

static void
unlink_live(MpRequest *req)
{
	for (MpRequest **p = &mp_live; *p; p = &(*p)->next_active)
		if (*p == req)
		{
			*p = req->next_active;
			req->next_active = NULL;
			return;
		}
}

static void
drop_handle(MpRequest *req)
{
	if (req->easy)
	{
		curl_multi_remove_handle(mp_multi, (CURL *) req->easy);
		curl_easy_cleanup((CURL *) req->easy);
		req->easy = NULL;
	}
	if (req->headers)
	{
		curl_slist_free_all((struct curl_slist *) req->headers);
		req->headers = NULL;
	}
}

/*
 * Free everything libcurl allocated for a request.  Idempotent; also the
 * memory-context reset callback, so an ERROR cleans up by itself.
 */
void
mp_request_release(MpRequest *req)
{
	mp_budget_forget(req);
	drop_handle(req);
	unlink_live(req);
	if (req->buf)
	{
		if (req->secret)
			explicit_bzero(req->buf, req->cap);
		free(req->buf);
		req->buf = NULL;
	}
	req->len = req->cap = 0;
	if (req->basic_auth)
	{
		/* wipe the Basic credentials before freeing them */
		explicit_bzero(req->basic_auth, strlen(req->basic_auth));
		req->basic_auth = NULL;
	}
}

static void
release_cb(void *arg)
{
	mp_request_release((MpRequest *) arg);
}

MpRequest *
mp_request_new(MpSettings *conn, const char *what, const char *method, const char *url)
{
	MpRequest  *req = palloc0(sizeof(MpRequest));
	MemoryContextCallback *cb = palloc0(sizeof(MemoryContextCallback));

	mp_http_init();
	req->conn = conn;
	req->what = what;
	req->method = method;
	req->url = pstrdup(url);
	req->log_path = req->url;
	req->max_body = MP_MAX_JSON_BYTES;
	req->use_auth = true;
	req->state = MP_REQ_NEW;
	req->hdr_pages = req->hdr_items = -1;
	cb->func = release_cb;
	cb->arg = req;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return req;
}

static void
reset_response(MpRequest *req)
{
	req->status = 0;
	req->curl_code = CURLE_OK;
	req->too_large = false;
	req->sink_failed = false;
	if (req->buf)
	{
		if (req->secret)
			explicit_bzero(req->buf, req->len);
		req->buf[0] = '\0';
	}
	req->len = 0;
	req->hdr_pages = req->hdr_items = -1;
	req->hdr_link_next = req->hdr_link_seen = false;
	req->rl_nremaining = req->rl_nreset = req->rl_nused = 0;
	req->ratelimit_until = 0;
	req->location[0] = '\0';
	req->content_type_resp[0] = '\0';
	req->www_authenticate[0] = '\0';
	req->errbuf[0] = '\0';
}

/* hand the request to curl now, once the shared rate budget allows it */
static void
launch(MpRequest *req)
{
	CURL	   *e;
	struct curl_slist *h = NULL;
	MpSettings *c = req->conn;
	bool		is_http = false;

	if (!mp_url_is_acceptable(req->url, &is_http))
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("mangopay_fdw refuses to fetch a URL for \"%s\" that is not https", req->what),
				 errdetail("Only https:// URLs are fetched; http:// only on loopback hosts.")));

	reset_response(req);
	drop_handle(req);

	/* the token may need a request of its own: get it before building */
	if (req->use_auth)
	{
		const char *tok = mp_http_auth_token(req);
		char	   *hv = psprintf("Authorization: Bearer %s", tok);

		h = curl_slist_append(h, hv);
		explicit_bzero(hv, strlen(hv));
		pfree(hv);
	}
	else if (req->basic_auth)
		h = curl_slist_append(h, req->basic_auth);

	/* a call slot of the shared rate budget (after the token's own) */
	switch (mp_budget_acquire(req, mp_http_wait_deadline(c), &req->ratelimit_until))
	{
		case MP_BUDGET_GO:
			break;
		case MP_BUDGET_WAIT:
			curl_slist_free_all(h);
			req->state = MP_REQ_WAITING;
			req->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), 20);
			return;
		case MP_BUDGET_TOO_LONG:
			curl_slist_free_all(h);
			req->ratelimit_wait_too_long = true;
			req->state = MP_REQ_DONE;
			unlink_live(req);
			return;
	}

	e = curl_easy_init();
	if (e == NULL)
	{
		curl_slist_free_all(h);
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("mangopay_fdw could not create a libcurl handle")));
	}
	req->easy = e;

	if (req->content_type)
		h = curl_slist_append(h, psprintf("Content-Type: %s", req->content_type));
	if (req->idempotency_key)
		h = curl_slist_append(h, psprintf("Idempotency-Key: %s", req->idempotency_key));
	if (req->on_data == NULL)
		h = curl_slist_append(h, "Accept: application/json");
	/* no "Expect: 100-continue" round trip for small POST bodies */
	h = curl_slist_append(h, "Expect:");
	req->headers = h;

	curl_easy_setopt(e, CURLOPT_URL, req->url);
	/* the path goes out as built: no "/./" or "/../" squashed by libcurl */
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_PRIVATE, req);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);	/* PostgreSQL owns SIGALRM */
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "https");
#else
	curl_easy_setopt(e, CURLOPT_PROTOCOLS, (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS));
	curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS, (long) CURLPROTO_HTTPS);
#endif
	/* API calls never follow redirects: the bearer token must not travel */
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	/* no proxy from the postmaster's environment */
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_file)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_file);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long) c->connect_timeout_ms);
	if (req->on_data == NULL)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long) c->request_timeout_ms);
	else
	{
		/* downloads are bounded by progress, not total time */
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long) Max(1, c->request_timeout_ms / 1000));
	}
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "mangopay_fdw/" MPFDW_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, req);
	if (req->on_data)
		curl_easy_setopt(e, CURLOPT_BUFFERSIZE, MP_STREAM_BUFFER);	/* fewer reads and callbacks */
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, req);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, req->errbuf);
	if (strcmp(req->method, "POST") == 0)
	{
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE, (long) (req->body ? strlen(req->body) : 0));
		curl_easy_setopt(e, CURLOPT_COPYPOSTFIELDS, req->body ? req->body : "");
	}
	else if (req->range_from > 0)
	{
		char		range[64];

		snprintf(range, sizeof(range), INT64_FORMAT "-", req->range_from);
		curl_easy_setopt(e, CURLOPT_RANGE, range);
	}

	if (curl_multi_add_handle(mp_multi, e) != CURLM_OK)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("mangopay_fdw could not start a request for \"%s\"", req->what)));
	req->state = MP_REQ_RUNNING;
	req->started_at = GetCurrentTimestamp();
	req->attempts++;
	mp_stats.requests++;
}

void
mp_request_start(MpRequest *req)
{
	if (req->state != MP_REQ_NEW)
		return;
	req->next_active = mp_live;
	mp_live = req;
	if (req->not_before > GetCurrentTimestamp())
		req->state = MP_REQ_WAITING;
	else
		launch(req);
}

/* ------------------------------------------------------------------------
 * completion (the retry policy is in http_retry.c)
 * ------------------------------------------------------------------------ */
static void
finish(MpRequest *req, CURLcode result)
{
	long		status = 0;
	long		delay;			/* ms until retry; -1: no retry */
	double		secs = 0;

	curl_easy_getinfo((CURL *) req->easy, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_getinfo((CURL *) req->easy, CURLINFO_TOTAL_TIME, &secs);
	req->status = status;
	req->curl_code = result;
	req->elapsed_ms = secs * 1000.0;
	curl_multi_remove_handle(mp_multi, (CURL *) req->easy);
	mp_http_record_ratelimit(req);
	mp_budget_response(req);

	delay = mp_http_retry_delay(req, result, status);

	elog(DEBUG1, "mangopay_fdw: %s %s -> %ld%s%s in %.0f ms (attempt %d)%s",
		 req->method, req->log_path, status,
		 result != CURLE_OK ? " " : "", result != CURLE_OK ? curl_easy_strerror(result) : "",
		 req->elapsed_ms, req->attempts, delay >= 0 ? ", will retry" : "");

	if (delay >= 0)
	{
		mp_stats.retries++;
		req->state = MP_REQ_WAITING;
		req->not_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), delay);
		/* keep the easy handle out of the multi until then */
		drop_handle(req);
		return;
	}
	if (status >= 400 || result != CURLE_OK)
		mp_stats.http_errors++;
	req->state = MP_REQ_DONE;
	drop_handle(req);
	unlink_live(req);
}

/*
 * Move every request forward: start those whose retry time has come, let
 * curl work, record completions, then wait at most max_wait_ms for the
 * network.  Checks for interrupts on every turn.
 */
void
mp_http_pump(long max_wait_ms)
{
	int			running = 0;
	CURLMsg    *msg;
	int			left;
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz next_due = 0;
	MpRequest  *due[64];
	int			ndue = 0;
	long		wait_ms;
	int			completed = 0;
	uint64		progress0;
	bool		rl_only = true;

	mp_http_init();

	/* collect first: starting one may fetch a token, which pumps too */
	for (MpRequest *r = mp_live; r; r = r->next_active)
	{
		if (r->state != MP_REQ_WAITING)
			continue;
		if (r->use_auth && mp_auth_fetch_in_progress())
			continue;
		if (r->not_before <= now && ndue < lengthof(due))
			due[ndue++] = r;
		else
		{
			if (next_due == 0 || r->not_before < next_due)
				next_due = r->not_before;
			if (r->ratelimit_until == 0)
				rl_only = false;
		}
	}
	for (int i = 0; i < ndue; i++)
		if (due[i]->state == MP_REQ_WAITING)
			launch(due[i]);

	progress0 = mp_progress;
	curl_multi_perform(mp_multi, &running);
	while ((msg = curl_multi_info_read(mp_multi, &left)) != NULL)
	{
		MpRequest  *req = NULL;

		if (msg->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &req);
		if (req)
		{
			finish(req, msg->data.result);
			completed++;
		}
	}

	/*
	 * Something finished, or a stream handed over bytes (rows for the
	 * executor): let the caller look at it before waiting for the network.
	 */
	wait_ms = (completed > 0 || mp_progress != progress0) ? 0 : Min(max_wait_ms, 100);
	if (next_due != 0)
	{
		long		until_due = (long) ((next_due - GetCurrentTimestamp()) / 1000);

		wait_ms = Max(0, Min(wait_ms, until_due));
	}
	if (wait_ms > 0)
	{
		/* waits for the shared budget or a rate-limit reset: say so in pg_stat_activity */
		uint32		ev = (mp_budget_waiting() && running == 0) ? mp_budget_wait_event() :
			(running == 0 && next_due != 0 && rl_only) ? MP_WAIT_EVENT_RATELIMIT() : MP_WAIT_EVENT();

		pgstat_report_wait_start(ev);
		if (running > 0)
			curl_multi_poll(mp_multi, NULL, 0, (int) wait_ms, NULL);
		else
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 wait_ms, ev);
			ResetLatch(MyLatch);
		}
		pgstat_report_wait_end();
	}
	CHECK_FOR_INTERRUPTS();
}

void
mp_request_wait(MpRequest *req)
{
	if (req->state == MP_REQ_NEW)
		mp_request_start(req);
	while (req->state != MP_REQ_DONE)
		mp_http_pump(100);
}

/* wait until at least one of reqs is done; returns its index */
int
mp_request_wait_any(MpRequest **reqs, int n)
{
	for (;;)
	{
		for (int i = 0; i < n; i++)
		{
			if (reqs[i] == NULL)
				continue;
			if (reqs[i]->state == MP_REQ_NEW)
				mp_request_start(reqs[i]);
			if (reqs[i]->state == MP_REQ_DONE)
				return i;
		}
		mp_http_pump(100);
	}
}

/* the status of the response being received (inside a write callback) */
long
mp_request_current_status(MpRequest *req)
{
	long		status = 0;

	if (req->easy)
		curl_easy_getinfo((CURL *) req->easy, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

/* resume a transfer whose write callback paused it */
void
mp_request_unpause(MpRequest *req)
{
	if (req->easy && req->state == MP_REQ_RUNNING)
		curl_easy_pause((CURL *) req->easy, CURLPAUSE_CONT);
}

void
mp_token_fetch_enter(void)
{
	mp_token_fetches++;
}

void
mp_token_fetch_leave(void)
{
	if (mp_token_fetches > 0)
		mp_token_fetches--;
}

bool
mp_auth_fetch_in_progress(void)
{
	return mp_token_fetches > 0;
}

/* ------------------------------------------------------------------------
 * asynchronous execution
 *
 * An Append over foreign partitions waits for them in one WaitEventSet,
 * one fd per waiting scan, and calls back the scan whose fd is readable.
 * Every scan's transfers share this backend's multi handle, so the fd a
 * scan gives is an epoll instance holding the sockets curl waits on now
 * and a timer (curl's next timeout, a retry's or a rate-limit wait's time,
 * at most 100 ms; at once when the scan can go on without the network).
 * The callback then drives curl without waiting, and the scan returns a
 * row if one is ready.  A socket curl could not report (beyond
 * FD_SETSIZE) is still served within 100 ms by the timer.
 * ------------------------------------------------------------------------ */
#define MP_ASYNC_MAXFDS 256

struct MpAsyncWait
{
	int			epfd;
	int			tfd;
	int			nfds;
	int			fds[MP_ASYNC_MAXFDS];
};

bool
mp_async_supported(void)
{
#ifdef __linux__
	return true;
#else
	return false;
#endif
}

#ifdef __linux__
static void
async_wait_close(void *arg)
{
	MpAsyncWait *w = (MpAsyncWait *) arg;

	if (w->tfd >= 0)
		close(w->tfd);
	if (w->epfd >= 0)
		close(w->epfd);
	w->tfd = w->epfd = -1;
}
#endif

/* the fds live as long as cxt (closed by its reset callback) */
MpAsyncWait *
mp_async_wait_new(MemoryContext cxt)
{
	MpAsyncWait *w = MemoryContextAllocZero(cxt, sizeof(MpAsyncWait));
#ifdef __linux__
	MemoryContextCallback *cb = MemoryContextAllocZero(cxt, sizeof(MemoryContextCallback));
	struct epoll_event ev = {0};

	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	cb->func = async_wait_close;
	cb->arg = w;
	MemoryContextRegisterResetCallback(cxt, cb);
	ev.events = EPOLLIN;
	ev.data.fd = w->tfd;
	if (w->epfd < 0 || w->tfd < 0 || epoll_ctl(w->epfd, EPOLL_CTL_ADD, w->tfd, &ev) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("mangopay_fdw could not set up an asynchronous wait: %m")));
#else
	elog(ERROR, "mangopay_fdw: asynchronous execution is not supported on this platform");
#endif
	return w;
}

/* the fd to wait on: readable when curl has work or the timer runs out */
int
mp_async_wait_arm(MpAsyncWait *w, bool now)
{
#ifdef __linux__
	fd_set		rd,
				wr,
				ex;
	int			maxfd = -1;
	long		ms = 100;
	struct itimerspec its;

	mp_http_init();
	for (int i = 0; i < w->nfds; i++)
		(void) epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->fds[i], NULL);
	w->nfds = 0;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_ZERO(&ex);
	if (!now && curl_multi_fdset(mp_multi, &rd, &wr, &ex, &maxfd) == CURLM_OK)
	{
		for (int fd = 0; fd <= maxfd && w->nfds < MP_ASYNC_MAXFDS; fd++)
		{
			struct epoll_event ev = {0};

			if (fd == w->epfd || fd == w->tfd)
				continue;
			if (FD_ISSET(fd, &rd))
				ev.events |= EPOLLIN;
			if (FD_ISSET(fd, &wr))
				ev.events |= EPOLLOUT;
			if (FD_ISSET(fd, &ex))
				ev.events |= EPOLLPRI;
			if (ev.events == 0)
				continue;
			ev.data.fd = fd;
			if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
				w->fds[w->nfds++] = fd;
		}
	}
	if (now)
		ms = 0;
	else
	{
		long		tmo = -1;
		TimestampTz t = GetCurrentTimestamp();

		if (curl_multi_timeout(mp_multi, &tmo) == CURLM_OK && tmo >= 0)
			ms = Min(ms, tmo);
		for (MpRequest *r = mp_live; r; r = r->next_active)
			if (r->state == MP_REQ_WAITING)
				ms = Min(ms, Max(0, (long) ((r->not_before - t) / 1000)));
	}
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (ms % 1000) * 1000000L;
	if (ms == 0)
		its.it_value.tv_nsec = 1;	/* zero would disarm it */
	if (timerfd_settime(w->tfd, 0, &its, NULL) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("mangopay_fdw could not arm an asynchronous wait: %m")));
	return w->epfd;
#else
	return -1;
#endif
}

/* the wait is over: drain the timer */
void
mp_async_wait_clear(MpAsyncWait *w)
{
#ifdef __linux__
	uint64		n;

	if (read(w->tfd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		elog(DEBUG1, "mangopay_fdw: reading the async timer: %m");
#endif
}
