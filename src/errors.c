/*-------------------------------------------------------------------------
 * errors.c
 *		Turn a failed request into one clear ERROR: an SQLSTATE a job can
 *		act on, a message naming the resource, DETAIL with the API's own
 *		Type, Message, Id and errors, and a HINT where the user can act.
 *
 * SQLSTATEs:
 *	28000  credentials refused (401 after a token refresh)
 *	42501  403 forbidden_ressource
 *	55000  an SCA-gated read (spec §11) the end user must allow first: a 401
 *		   with WWW-Authenticate: PendingUserAction (the token is valid), or a
 *		   403 because the user gave no consent to reads without the user
 *	53400  rate limit still exceeded after the retries, or its reset is
 *		   beyond statement_timeout / report_timeout_s
 *	54000  a response over the size cap
 *	HV00N  network, TLS, timeout, 5xx after the retries
 *	HV00R  404 on a list endpoint (a wrong api_url or resource path)
 *	HV004  a response of an unexpected shape (bad JSON, wrong types)
 *	HV000  any other API error (400 param_error, 409, ...)
 *
 * Bodies are quoted only after every occurrence of the api_key or the
 * cached token is masked, in case a broken proxy echoes a request: the
 * holder of a secret registers its masker here (mp_error_add_masker).
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"
#include "jsonrow.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>

#include "mb/pg_wchar.h"
#include "miscadmin.h"

bool
mp_request_ok(MpRequest *req)
{
	return req->curl_code == CURLE_OK && !req->too_large &&
		req->status >= 200 && req->status < 300;
}

/*
 * A 404 that MangoPay itself answered for a missing object (Type
 * "ressource_not_found", the API's spelling, or the English one, with
 * errors.RessourceNotFound naming the object: "Cannot found the ressource
 * PayIn with the id=...").  Only this one means "no such row" (or a parent
 * without children); any other 404 (a route the API does not have, errors
 * null or "No HTTP resource was found that matches the request URI", a
 * wrong api_url, a proxy's page) stays an ERROR, so a misconfiguration
 * never looks like an empty table.
 */
bool
mp_request_not_found(MpRequest *req)
{
	cJSON	   *j;
	cJSON	   *t;
	bool		r = false;

	if (req->curl_code != CURLE_OK || req->status != 404 || req->buf == NULL)
		return false;
	j = mp_json_lenient(req);
	if (j == NULL)
		return false;
	t = cJSON_GetObjectItemCaseSensitive(j, "Type");
	if (cJSON_IsString(t) && (strcmp(t->valuestring, "ressource_not_found") == 0 ||
							  strcmp(t->valuestring, "resource_not_found") == 0))
	{
		cJSON	   *e = cJSON_GetObjectItemCaseSensitive(j, "errors");

		r = cJSON_IsObject(e) && (cJSON_GetObjectItem(e, "RessourceNotFound") != NULL ||
								  cJSON_GetObjectItem(e, "ResourceNotFound") != NULL);
	}
	mp_json_release(j);
	return r;
}

/*
 * The functions that mask the secrets of their holders (auth.c: the token
 * and the Basic value), registered once: errors.c calls nobody above it.
 */
static MpMaskFn maskers[4];
static int	nmaskers = 0;

void
mp_error_add_masker(MpMaskFn fn)
{
	for (int i = 0; i < nmaskers; i++)
		if (maskers[i] == fn)
			return;
	if (nmaskers == lengthof(maskers))
		elog(ERROR, "mangopay_fdw: too many secret maskers");
	maskers[nmaskers++] = fn;
}

/*
 * A 401 that asks for the end user's strong customer authentication
 * (WWW-Authenticate: PendingUserAction RedirectUrl=..., spec §11), not for
 * new credentials: the token stays.
 */
bool
mp_request_pending_user_action(MpRequest *req)
{
	const char *w = req->www_authenticate;

	while (*w == ' ' || *w == '\t')
		w++;
	return req->curl_code == CURLE_OK && req->status == 401 &&
		pg_strncasecmp(w, "PendingUserAction", strlen("PendingUserAction")) == 0;
}

/* replace every occurrence of secret in s (in place) with '*' */
void
mp_mask_secret(char *s, const char *secret)
{
	size_t		n;
	char	   *p;

	if (secret == NULL || (n = strlen(secret)) < 4)
		return;
	while ((p = strstr(s, secret)) != NULL)
		memset(p, '*', n);
}

/*
 * API text fit to quote: every secret of conn (when not NULL) (its api_key,
 * and what the registered maskers mask: the cached token, the Basic value
 * base64(client_id:api_key)) masked before the text is cut, so no
 * part of one survives at the cut; control bytes as spaces, at most maxlen
 * bytes, valid in the server encoding.
 */
char *
mp_safe_text(MpSettings *conn, const char *s, size_t maxlen)
{
	StringInfoData buf;
	size_t		slen = strlen(s);
	size_t		take = Min(slen, maxlen + 512);	/* room for a secret at the cut */
	char	   *copy = pnstrdup(s, take);
	if (conn)
	{
		mp_mask_secret(copy, conn->api_key);
		for (int i = 0; i < nmaskers; i++)
			maskers[i] (conn, copy);
	}
	initStringInfo(&buf);
	for (size_t i = 0; copy[i] && i < maxlen; i++)
	{
		unsigned char c = (unsigned char) copy[i];

		appendStringInfoChar(&buf, (c < ' ' || c == 0x7f) ? ' ' : (char) c);
	}
	if (slen > maxlen)
	{
		/* never end inside a multibyte character */
		buf.len = pg_mbcliplen(buf.data, buf.len, buf.len);
		buf.data[buf.len] = '\0';
		appendStringInfoString(&buf, "...");
	}
	pfree(copy);
	/* the pieces of text we quote must be valid in the server encoding */
	if (!pg_verifymbstr(buf.data, buf.len, true))
		return pstrdup("(not valid text)");
	return buf.data;
}

static char *
safe_text(MpRequest *req, const char *s, size_t maxlen)
{
	return mp_safe_text(req->conn, s, maxlen);
}

/* "Type param_error; Message ...; Id ...; errors {...}" from an API error body */
static char *
api_error_detail(MpRequest *req, char **type_out)
{
	cJSON	   *j;
	StringInfoData buf;
	static const char *const keys[] = {"Type", "Message", "Id", "error", "error_description"};

	*type_out = NULL;
	if (req->buf == NULL || req->len == 0)
		return NULL;
	j = mp_json_lenient(req);
	if (j == NULL || !cJSON_IsObject(j))
	{
		mp_json_release(j);
		return psprintf("body: %s", safe_text(req, req->buf, 300));
	}
	initStringInfo(&buf);
	for (int i = 0; i < lengthof(keys); i++)
	{
		cJSON	   *v = cJSON_GetObjectItemCaseSensitive(j, keys[i]);

		if (!cJSON_IsString(v))
			continue;
		if (buf.len)
			appendStringInfoString(&buf, "; ");
		appendStringInfo(&buf, "%s: %s", keys[i], safe_text(req, v->valuestring, 500));
		if (strcmp(keys[i], "Type") == 0 || strcmp(keys[i], "error") == 0)
			*type_out = pstrdup(v->valuestring);
	}
	{
		cJSON	   *errs = cJSON_GetObjectItemCaseSensitive(j, "errors");

		if (errs && !cJSON_IsNull(errs))
		{
			char	   *t = cJSON_PrintUnformatted(errs);

			if (t)
			{
				appendStringInfo(&buf, "%serrors: %s", buf.len ? "; " : "", safe_text(req, t, 1000));
				cJSON_free(t);
			}
		}
	}
	mp_json_release(j);
	return buf.len ? buf.data : NULL;
}

/*
 * A response body as JSON, strictly (mp_jsonrow_parse): data after the
 * value or a NUL character is an ERROR; NULL when it is not JSON at all,
 * for the caller to say what it expected.  The tree is owned by
 * CurrentMemoryContext (mp_json_own), wiped when the request is secret.
 */
cJSON *
mp_json_body(MpRequest *req, const char *buf, size_t len)
{
	MpJrParse	why;
	cJSON	   *j = mp_json_own(mp_jsonrow_parse(buf, len, &why), req->secret);

	if (why == MP_JR_PARSE_TRAILING)
		mp_error_json_shape(req, "the body has data after its JSON value");
	if (why == MP_JR_PARSE_NUL)
		mp_error_json_shape(req, "the body holds a NUL character, which PostgreSQL text cannot hold");
	return j;
}

/*
 * The body as JSON, leniently (what follows the value is ignored), for
 * reading an error body; NULL when there is none or it is not JSON.
 * Owned by CurrentMemoryContext, as mp_json_body's.
 */
cJSON *
mp_json_lenient(MpRequest *req)
{
	if (req->buf == NULL)
		return NULL;
	return mp_json_own(cJSON_ParseWithLength(req->buf, req->len), req->secret);
}

void
mp_error_json_shape(MpRequest *req, const char *problem)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 errmsg("MangoPay returned an invalid response for \"%s\"", req->what),
			 errdetail("%s (%s %s, HTTP %ld, %zu bytes).", problem, req->method, req->log_path,
					   req->status, req->len)));
	pg_unreachable();
}

void
mp_error_request_failed(MpRequest *req)
{
	char	   *type = NULL;
	char	   *detail;
	char	   *where;
	char	   *tries;
	const char *tail;
	const char *what = req->what;

	/* a cancel or statement_timeout is reported as such, not as a failure */
	CHECK_FOR_INTERRUPTS();

	if (req->too_large)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("MangoPay response for \"%s\" is larger than %zu bytes", what, req->max_body),
				 errdetail("%s %s was aborted.", req->method, req->log_path)));

	if (req->ratelimit_wait_too_long)
	{
		pg_time_t	t = (pg_time_t) req->ratelimit_until;

		ereport(ERROR,
				(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
				 errmsg("MangoPay rate limit exhausted while reading \"%s\"", what),
				 errdetail("The API allows the next call at %s, later than statement_timeout or report_timeout_s allow.",
						   timestamptz_to_str(time_t_to_timestamptz(t))),
				 errhint("Run the query after that time, raise statement_timeout or the server's report_timeout_s, or ask MangoPay to raise the platform's rate limits.")));
	}

	if (req->curl_code != CURLE_OK)
	{
		const char *msg = req->errbuf[0] ? req->errbuf : curl_easy_strerror(req->curl_code);

		switch (req->curl_code)
		{
			case CURLE_PEER_FAILED_VERIFICATION:
			case CURLE_SSL_CONNECT_ERROR:
			case CURLE_SSL_CERTPROBLEM:
			case CURLE_SSL_CIPHER:
			case CURLE_SSL_CACERT_BADFILE:
			case CURLE_SSL_ISSUER_ERROR:
				ereport(ERROR,
						(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
						 errmsg("could not connect securely to MangoPay for \"%s\"", what),
						 errdetail("%s %s: %s", req->method, req->log_path, safe_text(req, msg, 300)),
						 errhint("The server's certificate could not be verified. If api_url points at a proxy or test server, a superuser can set the server option ca_file; verification cannot be turned off.")));
				break;
			case CURLE_UNSUPPORTED_PROTOCOL:
			case CURLE_URL_MALFORMAT:
				ereport(ERROR,
						(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
						 errmsg("mangopay_fdw refuses the URL for \"%s\"", what),
						 errdetail("%s", safe_text(req, msg, 300))));
				break;
			default:
				ereport(ERROR,
						(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
						 errmsg("could not reach the MangoPay API for \"%s\"", what),
						 errdetail("%s %s failed after %d attempt%s: %s", req->method, req->log_path,
								   req->attempts, req->attempts == 1 ? "" : "s",
								   safe_text(req, msg, 300)),
						 errhint("Check the network path to %s, or the server options connect_timeout_ms, request_timeout_ms and max_retries.",
								 req->conn->base_url)));
		}
	}

	detail = api_error_detail(req, &type);
	if (req->status >= 300 && req->status < 400)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("MangoPay API answered \"%s\" with a redirect, which mangopay_fdw does not follow", what),
				 errdetail("HTTP %ld from %s %s to \"%s\".", req->status, req->method, req->log_path,
						   safe_text(req, req->location, 200)),
				 errhint("Point the server option api_url at the final address.")));
	/* "HTTP 404 from GET /disputes?...", " after 3 attempts", ": <the API's detail>" */
	where = psprintf("HTTP %ld from %s %s", req->status, req->method, req->log_path);
	tries = psprintf(" after %d attempt%s", req->attempts, req->attempts == 1 ? "" : "s");
	tail = detail ? psprintf(": %s", detail) : ".";
	if (mp_request_pending_user_action(req))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("MangoPay asks for the strong customer authentication of %s to read \"%s\"",
						req->sca_subject ? req->sca_subject : "the user", what),
				 errdetail("%s%s WWW-Authenticate: %s", where, tail,
						   safe_text(req, req->www_authenticate, 200)),
				 errhint("The user has not authenticated within 180 days. Read without the user: the server option sca_context 'USER_NOT_PRESENT' (the default) once the user consented to it; or read the wallets report (balances) or user_wallet_transactions (transactions), which are not SCA-gated.")));
	if (req->status == 403 && req->sca_subject)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("MangoPay needs the consent of %s to read \"%s\" without the user",
						req->sca_subject, what),
				 errdetail("%s%s", where, tail),
				 errhint("The user must consent, through MangoPay's SCA flow, to the platform reading the wallets without the user (ScaContext %s); until then read the wallets report (balances) or user_wallet_transactions (transactions), which are not SCA-gated.",
						 req->conn->sca_context)));
	switch (req->status)
	{
		case 401:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("MangoPay rejected the credentials for \"%s\"", what),
					 errdetail("%s%s", where, tail),
					 errhint("Check client_id and api_key (or the file api_key_file names) in the user mapping for server \"%s\".",
							 req->conn->servername)));
			break;
		case 403:
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("MangoPay refused access to \"%s\"", what),
					 errdetail("%s%s", where, tail),
					 errhint("This endpoint may not be enabled for the platform; ask MangoPay support.")));
			break;
		case 404:
			ereport(ERROR,
					(errcode(ERRCODE_FDW_TABLE_NOT_FOUND),
					 errmsg("MangoPay API has no endpoint for \"%s\" at this address", what),
					 errdetail("%s%s", where, tail),
					 errhint("Check the server option api_url (%s) and the client_id.", req->conn->base_url)));
			break;
		case 429:
			ereport(ERROR,
					(errcode(ERRCODE_CONFIGURATION_LIMIT_EXCEEDED),
					 errmsg("MangoPay rate limit exceeded while reading \"%s\"", what),
					 errdetail("%s%s%s", where, tries, tail),
					 errhint("Lower max_concurrency, spread scheduled jobs, or ask MangoPay to raise the platform's limits.")));
			break;
		default:
			break;
	}
	if (req->status >= 500)
		ereport(ERROR,
				(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
				 errmsg("MangoPay API failed while reading \"%s\"", what),
				 errdetail("%s%s%s", where, tries, tail),
				 errhint("The API may be degraded; the query can be retried later.")));
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("MangoPay API rejected the request for \"%s\"%s%s", what,
					type ? ": " : "", type ? type : ""),
			 errdetail("%s%s", where, tail)));
	pg_unreachable();
}
