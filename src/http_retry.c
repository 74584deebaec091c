/*-------------------------------------------------------------------------
 * http_retry.c
 *		What a finished transfer means: retried (after a backoff, a fresh
 *		token, or the rate-limit window's reset) or final.
 *
 * Transport errors that may pass and HTTP 500/502/503/504 are retried with
 * exponential backoff and jitter; a 429 whose X-RateLimit-Remaining shows
 * an exhausted window waits for that window's X-RateLimit-Reset, unless
 * that is beyond statement_timeout or report_timeout_s; a 401 on an API
 * call drops the cached token and retries once with a fresh one, unless it
 * asks for the end user's authentication (WWW-Authenticate:
 * PendingUserAction, spec §11): the token is fine then.  A POST
 * is retried only when it is idempotent, and a retry after an answer goes
 * under a new Idempotency-Key.  http.c calls this from its completion.
 *
 * Also what the engine takes from above without calling it: the
 * Authorization provider auth.c sets once (MpAuthProvider), and the
 * backend's counters.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include <curl/curl.h>
#include <math.h>

#include "apiparse.h"
#include "access/xact.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/timestamp.h"

/*
 * The backend's counters (mangopay_fdw_stats()), here below the engine
 * that counts most of them, so that neither file calls the other back.
 */
MpStats		mp_stats;

/* the provider of API calls' Authorization: set once, by auth.c */
static const MpAuthProvider *auth_provider = NULL;

void
mp_http_set_auth(const MpAuthProvider *provider)
{
	auth_provider = provider;
}

/* the bearer token of an API call (http.c); notes which one it is */
const char *
mp_http_auth_token(MpRequest *req)
{
	if (auth_provider == NULL)
		elog(ERROR, "mangopay_fdw: no provider of the Authorization is set");
	return auth_provider->token(req->conn, &req->auth_generation);
}

/* a 401 answered req's token: the provider drops it, a new one is fetched */
static void
auth_rejected(MpRequest *req)
{
	if (auth_provider)
		auth_provider->forget(req->conn, req->auth_generation);
}

static bool
curl_code_retryable(int code)
{
	switch (code)
	{
		case CURLE_COULDNT_RESOLVE_HOST:
		case CURLE_COULDNT_CONNECT:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_SEND_ERROR:
		case CURLE_RECV_ERROR:
		case CURLE_GOT_NOTHING:
		case CURLE_PARTIAL_FILE:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			return true;
		default:
			return false;
	}
}

/* backoff for the n-th retry: 250 ms · 2^(n-1), capped at 30 s, ±50% jitter */
static long
backoff_ms(int attempt)
{
	double		base = 250.0 * pow(2.0, Max(0, attempt - 1));
	double		jitter = 0.5 + ((double) random() / (double) 0x7FFFFFFF);

	base = Min(base, 30000.0);
	return (long) (base * jitter);
}

/* the latest moment a wait may end: statement_timeout and report_timeout_s */
TimestampTz
mp_http_wait_deadline(MpSettings *c)
{
	TimestampTz d = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												(int64) c->report_timeout_s * 1000);

	if (StatementTimeout > 0)
	{
		TimestampTz s = TimestampTzPlusMilliseconds(GetCurrentStatementStartTimestamp(),
													StatementTimeout);

		if (s < d)
			d = s;
	}
	return d;
}

/* windows for which both X-RateLimit-Remaining and -Reset were given */
static int
ratelimit_windows(MpRequest *req)
{
	return Min(4, Min(req->rl_nremaining, req->rl_nreset));
}

/* the X-RateLimit headers of a response into mangopay_fdw_stats() */
void
mp_http_record_ratelimit(MpRequest *req)
{
	int			n = ratelimit_windows(req);

	if (n <= 0)
		return;
	mp_stats.ratelimit_seen = true;
	for (int i = 0; i < n; i++)
	{
		mp_stats.ratelimit_remaining[i] = req->rl_remaining[i];
		mp_stats.ratelimit_reset[i] = req->rl_reset[i];
	}
}

/*
 * A rate-limit wait longer than a few seconds is said, once per statement
 * and reset time: the user sees why the query is idle and until when.  The
 * retry at that time re-checks the limit; nothing of the wait outlives the
 * request, so the next statement never waits on stale state.
 */
#define MP_RATELIMIT_NOTICE_MS 3000

static void
ratelimit_wait_notice(MpRequest *req, int64 until, long delay)
{
	static TimestampTz said_stmt = 0;
	static int64 said_until = 0;
	TimestampTz stmt = GetCurrentStatementStartTimestamp();

	req->ratelimit_until = until;
	if (delay < MP_RATELIMIT_NOTICE_MS || (said_stmt == stmt && said_until == until))
		return;
	said_stmt = stmt;
	said_until = until;
	ereport(NOTICE,
			(errmsg("MangoPay rate limit reached while reading \"%s\": waiting until %s",
					req->what, timestamptz_to_str(time_t_to_timestamptz((pg_time_t) until))),
			 errdetail("%s %s answered HTTP 429; X-RateLimit-Reset says the limit resets then, when the request is tried again.",
					   req->method, req->log_path)));
}

/*
 * The delay before request req is tried again, in ms, or -1 when its
 * outcome is final (curl's result, the HTTP status).
 */
long
mp_http_retry_delay(MpRequest *req, int result, long status)
{
	long		delay = -1;

	if (result != CURLE_OK)
	{
		if (!req->too_large && !req->sink_failed && !req->data_delivered &&
			curl_code_retryable(result))
			delay = backoff_ms(req->attempts);
	}
	else if (status == 401 && req->use_auth && !req->auth_retried &&
			 !mp_request_pending_user_action(req))
	{
		/* the token expired or was revoked: fetch a new one, once */
		auth_rejected(req);
		req->auth_retried = true;
		delay = 0;
		req->attempts--;		/* does not count against max_retries */
	}
	else if (status == 429)
	{
		int64		now = (int64) time(NULL);
		int64		until = 0;

		mp_stats.rate_limited++;
		if (ratelimit_windows(req) > 0)
			until = mp_ratelimit_wait_until(req->rl_remaining, req->rl_reset,
											ratelimit_windows(req), now);
		if (until > now)
		{
			TimestampTz at = time_t_to_timestamptz((pg_time_t) until);

			if (at > mp_http_wait_deadline(req->conn))
			{
				req->ratelimit_wait_too_long = true;
				req->ratelimit_until = until;
			}
			else
			{
				delay = (long) ((until - now) * 1000) + 250 + (random() % 500);
				ratelimit_wait_notice(req, until, delay);
			}
		}
		else
			delay = Max(1000, backoff_ms(req->attempts + 2));
	}
	else if (status == 500 || status == 502 || status == 503 || status == 504)
		delay = backoff_ms(req->attempts);

	if (delay >= 0 && strcmp(req->method, "POST") == 0 && !req->retry_post &&
		status != 401)
		delay = -1;				/* a POST is only retried when it is idempotent */
	if (delay >= 0 && req->attempts > req->conn->max_retries && !(status == 401 && delay == 0))
		delay = -1;

	if (delay >= 0 && result == CURLE_OK && req->idempotency_key)
	{
		/*
		 * The API blocks a key used on a failed call, whatever the status
		 * (spec §3): a retry after an answer goes under a new key.  After
		 * no answer (timeout, dropped connection) the key stays, so that a
		 * creation that went through is found again (409, /responses/{key}).
		 */
		mp_idempotency_key(req->idempotency_key);
	}
	return delay;
}
