/*-------------------------------------------------------------------------
 * auth.c
 *		OAuth2 client-credentials tokens, cached per backend and per
 *		(server, user mapping).
 *
 * POST /v2.01/oauth/token with Basic base64(ClientId:ApiKey) answers
 * {"access_token", "token_type", "expires_in"}.  The token is reused until
 * MP_TOKEN_REFRESH_MARGIN_S before it expires; a 401 on an API call drops
 * it (mp_auth_forget) and the engine retries once with a new one.
 *
 * Auth sits above the transport: it sends its token request through the
 * engine (http.c), and hands the engine the bearer token through the
 * MpAuthProvider it sets once; the engine never calls auth.  errors.c
 * masks the token and the Basic value through the masker set here.
 * ALTER SERVER / ALTER USER MAPPING drop every cached token through
 * syscache callbacks, as postgres_fdw does for its connections.
 *
 * Neither the api_key nor a token is ever put in a message or a log.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "utils/hsearch.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"

#define MP_TOKEN_MAX 1024

typedef struct TokenKey
{
	Oid			serverid;
	Oid			umid;
} TokenKey;

typedef struct TokenEntry
{
	TokenKey	key;
	bool		valid;
	uint32		generation;
	TimestampTz expires_at;
	char		token[MP_TOKEN_MAX + 1];
} TokenEntry;

static HTAB *token_cache = NULL;

static void register_auth(void);

static void
wipe_all(Datum arg, int cacheid, uint32 hashvalue)
{
	HASH_SEQ_STATUS scan;
	TokenEntry *e;

	if (token_cache == NULL)
		return;
	hash_seq_init(&scan, token_cache);
	while ((e = hash_seq_search(&scan)) != NULL)
	{
		explicit_bzero(e->token, sizeof(e->token));
		e->valid = false;
	}
}

void
mp_auth_init(void)
{
	HASHCTL		ctl;

	if (token_cache)
		return;
	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(TokenKey);
	ctl.entrysize = sizeof(TokenEntry);
	ctl.hcxt = TopMemoryContext;
	token_cache = hash_create("mangopay_fdw tokens", 8, &ctl,
							  HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	CacheRegisterSyscacheCallback(FOREIGNSERVEROID, wipe_all, (Datum) 0);
	CacheRegisterSyscacheCallback(USERMAPPINGOID, wipe_all, (Datum) 0);
	register_auth();
}

static TokenEntry *
entry_for(MpSettings *conn)
{
	TokenKey	key;
	bool		found;
	TokenEntry *e;
	static uint64 key_changes_seen = 0;

	mp_auth_init();
	/* a key file's key changed: the tokens fetched with the old one go */
	if (mp_key_changes() != key_changes_seen)
	{
		wipe_all((Datum) 0, 0, 0);
		key_changes_seen = mp_key_changes();
	}
	memset(&key, 0, sizeof(key));
	key.serverid = conn->serverid;
	key.umid = conn->umid;
	e = hash_search(token_cache, &key, HASH_ENTER, &found);
	if (!found)
	{
		e->valid = false;
		e->generation = 0;
		e->token[0] = '\0';
	}
	return e;
}

/* the token in the cache, if any, without fetching (to scrub messages) */
static const char *
mp_auth_cached_token(MpSettings *conn)
{
	TokenEntry *e = entry_for(conn);

	return e->valid ? e->token : NULL;
}

static uint32
mp_auth_generation(MpSettings *conn)
{
	return entry_for(conn)->generation;
}

static void
mp_auth_forget(MpSettings *conn, uint32 generation)
{
	TokenEntry *e = entry_for(conn);

	if (e->generation == generation)
	{
		explicit_bzero(e->token, sizeof(e->token));
		e->valid = false;
	}
}

static char *
basic_header(MpSettings *conn)
{
	char	   *plain = psprintf("%s:%s", conn->client_id, conn->api_key);
	int			n = strlen(plain);
	char	   *b64 = palloc(4 * ((n + 2) / 3) + 1);
	char	   *hdr;

	EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) plain, n);
	hdr = psprintf("Authorization: Basic %s", b64);
	explicit_bzero(plain, n);
	explicit_bzero(b64, strlen(b64));
	pfree(plain);
	pfree(b64);
	return hdr;
}

/* the Basic credentials' value, base64(client_id:api_key), palloc'ed */
static char *
mp_auth_basic_value(MpSettings *conn)
{
	char	   *plain;
	int			n;
	char	   *b64;

	if (conn->client_id == NULL || conn->api_key == NULL)
		return pstrdup("");
	plain = psprintf("%s:%s", conn->client_id, conn->api_key);
	n = strlen(plain);
	b64 = palloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *) b64, (const unsigned char *) plain, n);
	explicit_bzero(plain, n);
	pfree(plain);
	return b64;
}

/* an OAuth error body, {"error": "...", "error_description": "..."} */
static void
token_refused(MpRequest *req)
{
	cJSON	   *j = mp_json_lenient(req);	/* wiped and freed with the token's context */
	const char *err = NULL;
	const char *desc = NULL;
	char	   *errs = NULL;
	char	   *descs = NULL;

	if (j)
	{
		cJSON	   *e = cJSON_GetObjectItemCaseSensitive(j, "error");
		cJSON	   *d = cJSON_GetObjectItemCaseSensitive(j, "error_description");

		if (!cJSON_IsString(e))
			e = cJSON_GetObjectItemCaseSensitive(j, "Type");
		if (!cJSON_IsString(d))
			d = cJSON_GetObjectItemCaseSensitive(j, "Message");
		if (cJSON_IsString(e))
			err = e->valuestring;
		if (cJSON_IsString(d))
			desc = d->valuestring;
	}
	/* the body may echo the credentials: masked, sanitised and capped */
	errs = err ? mp_safe_text(req->conn, err, 200) : pstrdup("unknown");
	descs = desc ? mp_safe_text(req->conn, desc, 500) : NULL;
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("MangoPay refused the credentials of the user mapping for server \"%s\"",
					req->conn->servername),
			 descs ? errdetail("HTTP %ld from the OAuth token endpoint: %s (%s).", req->status, errs, descs)
			 : errdetail("HTTP %ld from the OAuth token endpoint: %s.", req->status, errs),
			 errhint("Check client_id and api_key (or the file api_key_file names) in the user mapping for server \"%s\" (the key may be revoked, be for the other environment, or the account may be locked after repeated failures).",
					 req->conn->servername)));
}

/*
 * Check the token response and store its token in e.  Runs in the token's
 * own context: the tree (mp_json_body, wiped because req->secret) goes
 * with it, whichever way this ends.
 */
static void
take_token(MpRequest *req, TokenEntry *e)
{
	cJSON	   *j;
	cJSON	   *tok,
			   *typ,
			   *exp;
	double		expires_in = 1200;	/* the sandbox's lifetime, if none is given */
	size_t		toklen;

	if (req->curl_code == 0 && (req->status == 400 || req->status == 401 || req->status == 403))
		token_refused(req);
	if (!mp_request_ok(req))
		mp_error_request_failed(req);

	j = mp_json_body(req, req->buf, req->len);
	if (j == NULL)
		mp_error_json_shape(req, "the OAuth token response is not valid JSON");
	tok = cJSON_GetObjectItemCaseSensitive(j, "access_token");
	typ = cJSON_GetObjectItemCaseSensitive(j, "token_type");
	exp = cJSON_GetObjectItemCaseSensitive(j, "expires_in");
	if (!cJSON_IsString(tok) || (toklen = strlen(tok->valuestring)) == 0 || toklen > MP_TOKEN_MAX)
		mp_error_json_shape(req, "the OAuth token response has no usable \"access_token\"");
	for (const char *c = tok->valuestring; *c; c++)
		if (*c <= ' ' || *c > '~')
			mp_error_json_shape(req, "the OAuth token response's \"access_token\" has invalid characters");
	if (typ != NULL && !cJSON_IsNull(typ) &&
		(!cJSON_IsString(typ) || pg_strcasecmp(typ->valuestring, "bearer") != 0))
		mp_error_json_shape(req, "the OAuth token response has a \"token_type\" other than bearer");
	if (cJSON_IsNumber(exp))
		expires_in = exp->valuedouble;
	else if (cJSON_IsString(exp))
		expires_in = strtod(exp->valuestring, NULL);
	if (!(expires_in > 0))
		expires_in = 60;

	memcpy(e->token, tok->valuestring, toklen + 1);
	mp_json_release(j);			/* wiped */
	e->valid = true;
	e->generation++;
	/* refresh early, but never sooner than half the lifetime */
	e->expires_at = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
												(int64) (expires_in * 1000) -
												(int64) Min(MP_TOKEN_REFRESH_MARGIN_S * 1000.0, expires_in * 500.0));
	mp_stats.tokens_fetched++;
}

/* send the token request and wait for its answer (not inlined: a PG_TRY of its own) */
static pg_noinline void
wait_for_token(MpRequest *req)
{
	mp_token_fetch_enter();
	PG_TRY();
	{
		mp_request_wait(req);
	}
	PG_FINALLY();
	{
		mp_token_fetch_leave();
	}
	PG_END_TRY();
	/* the engine dropped the handle and its headers; wipe our copy too */
	explicit_bzero(req->basic_auth, strlen(req->basic_auth));
	req->basic_auth = NULL;
}

/* the token request of conn (in the current context) */
static MpRequest *
token_request(MpSettings *conn)
{
	MpRequest  *req;

	req = mp_request_new(conn, psprintf("OAuth token of server %s", conn->servername), "POST",
						 mp_api_url(conn, "/oauth/token", false));
	req->use_auth = false;
	req->basic_auth = basic_header(conn);
	req->body = "grant_type=client_credentials";
	req->content_type = "application/x-www-form-urlencoded";
	req->retry_post = true;		/* asking for a token twice is harmless */
	req->secret = true;			/* the body and its tree are wiped when freed */
	req->max_body = MP_MAX_ERROR_BYTES;
	req->log_path = "/v2.01/oauth/token";
	return req;
}

static bool
token_usable(TokenEntry *e)
{
	return e->valid && GetCurrentTimestamp() < e->expires_at;
}

static void
fetch_token(MpSettings *conn, TokenEntry *e)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw token",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	MpRequest  *req = token_request(conn);

	/*
	 * Whatever happens, the token's context goes now, not when the ERROR
	 * reaches the caller's: the body (mp_request_release) and the parsed
	 * response (mp_json_own) are wiped and freed by its reset callbacks.
	 */
	PG_TRY();
	{
		wait_for_token(req);
		take_token(req, e);
	}
	PG_FINALLY();
	{
		MemoryContextSwitchTo(old);
		MemoryContextDelete(tmp);
	}
	PG_END_TRY();
}

/*
 * A valid bearer token for this (server, user mapping), fetching one when
 * the cache has none or it is about to expire.
 */
static const char *
mp_auth_token(MpSettings *conn)
{
	TokenEntry *e = entry_for(conn);

	if (!token_usable(e))
	{
		e->valid = false;
		fetch_token(conn, e);
		e = entry_for(conn);
	}
	return e->token;
}

/* ------------------------------------------------------------------------
 * what auth gives the layers below it, set once (mp_auth_init): the
 * engine's Authorization provider, and the masker of the secrets auth holds
 * ------------------------------------------------------------------------ */
static const char *
provide_token(MpSettings *conn, uint32 *generation)
{
	const char *tok = mp_auth_token(conn);

	*generation = mp_auth_generation(conn);
	return tok;
}

static const MpAuthProvider auth_provider = {provide_token, mp_auth_forget};

/* the cached token and the Basic value, wherever they occur in text */
static void
mask_secrets(MpSettings *conn, char *text)
{
	char	   *basic = mp_auth_basic_value(conn);

	mp_mask_secret(text, mp_auth_cached_token(conn));
	mp_mask_secret(text, basic);
	explicit_bzero(basic, strlen(basic));
	pfree(basic);
}

static void
register_auth(void)
{
	mp_http_set_auth(&auth_provider);
	mp_error_add_masker(mask_secrets);
}

/*
 * Tokens for several (server, user mapping)s at once: the requests of
 * those without a usable token go out together, so the first rows of an
 * Append over many client ids wait for one token round, not one per client
 * id.  A refusal or failure is the ERROR mp_auth_token would raise.
 */
void
mp_auth_prefetch(MpSettings **conns, int n)
{
	MemoryContext tmp;
	MemoryContext old;
	MpRequest **reqs;
	volatile int pending = 0;

	if (n < 2)
		return;
	tmp = AllocSetContextCreate(CurrentMemoryContext, "mangopay_fdw tokens", ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(tmp);
	reqs = palloc0(sizeof(MpRequest *) * n);
	for (int i = 0; i < n; i++)
	{
		bool		dup = false;

		if (token_usable(entry_for(conns[i])))
			continue;
		for (int k = 0; k < i && !dup; k++)
			dup = reqs[k] && conns[k]->serverid == conns[i]->serverid &&
				conns[k]->umid == conns[i]->umid;
		if (dup)
			continue;
		entry_for(conns[i])->valid = false;
		reqs[i] = token_request(conns[i]);
		pending++;
	}
	mp_token_fetch_enter();
	PG_TRY();
	{
		while (pending > 0)
		{
			int			k = mp_request_wait_any(reqs, n);

			explicit_bzero(reqs[k]->basic_auth, strlen(reqs[k]->basic_auth));
			reqs[k]->basic_auth = NULL;
			take_token(reqs[k], entry_for(conns[k]));
			mp_request_release(reqs[k]);
			reqs[k] = NULL;
			pending--;
		}
	}
	PG_FINALLY();
	{
		mp_token_fetch_leave();
		MemoryContextSwitchTo(old);
		MemoryContextDelete(tmp);
	}
	PG_END_TRY();
}
