/*-------------------------------------------------------------------------
 * mpfdw.h
 *		The contract between the parts of mangopay_fdw that include
 *		PostgreSQL headers: options, resource descriptors, the HTTP engine,
 *		the OAuth token cache, the list source and the value conversion.
 *
 * Pure C parts (CSV parser, header parsers, date windows) have their own
 * headers and never include this one.
 *-------------------------------------------------------------------------
 */
#ifndef MPFDW_H
#define MPFDW_H

#include "postgres.h"

#include "access/tupdesc.h"
#include "fmgr.h"
#include "lib/stringinfo.h"
#include "nodes/pg_list.h"
#include "utils/timestamp.h"
#include "executor/tuptable.h"
#include "utils/relcache.h"

#define MPFDW_VERSION "0.4.0"

/* PostgreSQL 18 replaced the postfix pg_attribute_noreturn() by the prefix
 * pg_noreturn */
#ifndef pg_noreturn
#define pg_noreturn pg_attribute_noreturn()
#endif

/* caps that protect the backend from a hostile or broken server */
#define MP_MAX_JSON_BYTES		(16 * 1024 * 1024)	/* one buffered JSON response */
#define MP_MAX_ERROR_BYTES		(64 * 1024)			/* what we keep of an error body */
#define MP_STREAM_BUFFER		(256 * 1024L)		/* libcurl's receive buffer for a CSV download */
#define MP_TOKEN_REFRESH_MARGIN_S 30				/* refresh this long before expiry */

/* ------------------------------------------------------------------------
 * options.c — every option of the contract, the validator, effective settings
 * ------------------------------------------------------------------------ */
typedef struct MpSettings
{
	Oid			serverid;
	Oid			umid;			/* user mapping OID (token cache key) */
	Oid			userid;
	char	   *servername;
	char	   *base_url;		/* without trailing slash, e.g. https://api.sandbox.mangopay.com */
	char	   *ca_file;
	char	   *client_id;
	char	   *api_key;		/* never printed */
	int			connect_timeout_ms;
	int			request_timeout_ms;
	int			max_retries;
	int			page_size;
	int			max_concurrency;
	int			report_poll_ms;
	int			report_timeout_s;
	int			report_max_age_s;
	int			max_lookups;
	bool		use_remote_estimate;
	int			rate_reserve_pct;	/* share of each window batch sessions leave */
	bool		async_capable;	/* scans may run concurrently under an Append */
	char	   *sca_context;	/* ScaContext sent on SCA-gated reads */
} MpSettings;

extern MpSettings *mp_get_settings(Oid serverid, Oid userid);
extern uint64 mp_key_changes(void);
extern MpSettings *mp_get_server_settings(Oid serverid);
extern char *mp_table_resource_name(Oid relid);
extern bool mp_table_async_capable(Oid relid);
extern char *mp_column_field_option(Oid relid, AttrNumber attnum);
extern bool mp_url_host_is_loopback(const char *url);
extern bool mp_url_is_acceptable(const char *url, bool *is_http);
extern bool mp_download_url_is_acceptable(const char *url, const char *api_url);
extern void mp_options_init(void);
typedef struct MpPair
{
	char	   *base_url;
	char	   *client_id;
} MpPair;
extern List *mp_usable_pairs(Oid roleid);

/* ------------------------------------------------------------------------
 * resources.c — the descriptor table
 * ------------------------------------------------------------------------ */
typedef enum MpSourceKind
{
	MP_SRC_LIST,				/* paginated GET endpoint */
	MP_SRC_BYID,				/* single-object GET only */
	MP_SRC_REPORT				/* report: create, poll, download CSV */
} MpSourceKind;

typedef enum MpColKind
{
	MP_CK_TEXT,
	MP_CK_TIME,					/* Unix seconds → timestamptz */
	MP_CK_INT8,					/* amounts in minor units */
	MP_CK_INT4,
	MP_CK_BOOL,
	MP_CK_JSON,					/* nested object/array → jsonb */
	MP_CK_DATE,					/* a key column of first-of-month dates (path YYYY/MM) */
	MP_CK_PRESENT,				/* boolean: the field is there and not null */
	MP_CK_NUMERIC				/* a decimal (a rate): the JSON number's own text */
} MpColKind;

#define MP_COL_FILTER	0x01	/* = / IN push down as API filter */
#define MP_COL_KEY		0x02	/* key column: value comes from WHERE */
#define MP_COL_DATE		0x04	/* the date the API's AfterDate/BeforeDate compare */
#define MP_COL_ID		0x08	/* single-object key */
#define MP_COL_ATTRS	0x10	/* the whole object as jsonb */
#define MP_COL_LOOKUP	0x20	/* needs a single-object GET per row */
#define MP_COL_RANGE	0x40	/* <, <=, >=, > → Min<filter> / Max<filter> */
#define MP_COL_SCALAR	0x80	/* the filter takes one value, not a list */
#define MP_COL_OPTIONAL 0x100	/* report column not in the default set */
#define MP_COL_MULTI	0x200	/* list filter documented to take A,B (one
								 * value per request otherwise) */
#define MP_COL_CCY		0x400	/* the currency of an amount bound: = goes to
								 * Min/Max<Base>Currency, never alone */
#define MP_COL_REPORTED 0x800	/* a report table's row: the report's own
								 * field (ReportDate), not a CSV cell */
/*
 * Which view of the object a lookup column (MP_COL_LOOKUP) comes from: a
 * report table's lookups may read two views of one object (payouts:
 * lookup_path GET /payouts/bankwire/{id}, lookup_path2 GET /payouts/{id}).
 * Neither flag: the first view only; MP_COL_VIEW2: the second only;
 * MP_COL_VIEWS: both carry it, and it is read from a view the row fetches
 * anyway (the first when it fetches neither for another column).
 */
#define MP_COL_VIEW2	0x1000
#define MP_COL_VIEWS	0x2000

typedef struct MpColumnDef
{
	const char *name;			/* SQL column name */
	const char *field;			/* API field path, '.' between nesting levels */
	MpColKind	kind;
	uint32		flags;
	const char *filter;			/* API filter name, when MP_COL_FILTER */
	const char *const *enumvals;	/* documented values, NULL-terminated */
	const char *json;			/* report column: its path in the API object
								 * (read by id), when not the same as field */
} MpColumnDef;

typedef struct MpResource
{
	const char *name;			/* table name */
	MpSourceKind source;
	const char *object_name;	/* for messages: "dispute" */
	const char *list_path;		/* "/disputes"; key columns appear as {0}, {1} */
	const char *single_path;	/* "/disputes/{id}" or NULL */
	const char *sort_field;		/* "CreationDate" / "Date" / NULL (no Sort) */
	const char *default_sort;	/* the API's order when no Sort is sent */
	int			max_history_days;	/* > 0: API refuses AfterDate older than this */
	const char *enumerate_path; /* key columns unset: list parents here */
	const MpColumnDef *cols;
	int			ncols;
	const char *description;
	/* report sources */
	const char *report_type;	/* TRANSACTIONS, WALLETS, USER_WALLET_TRANSACTIONS... */
	bool		report_v2;		/* Reporting Service (POST /reporting/reports) */
	const char *create_path;	/* /reports/transactions, /reporting/reports */
	int			window_months;	/* longest range one report may cover */
	bool		window_strict;	/* the range must be shorter than window_months */
	int			retention_months;	/* how far back the API goes */
	const char *fixed_filters;	/* JSON object merged into Filters */
	const char *lookup_path;	/* /payouts/bankwire/{id} for lookup columns */
	int			window_max_days;	/* > 0: a window is also at most this many days */
	bool		list_object;	/* the list path answers one object (a row), not pages */
	double		typical_rows;	/* rows a scan without conditions returns, for
								 * the planner; 0: its source's usual count */
	bool		sca;			/* SCA-gated reads: ScaContext is sent (spec §11) */
	const char *parent_404_hint;	/* a parent the API answers 404 for is an
									 * ERROR with this HINT, not "no rows" */
	int			child_retention_months; /* > 0: a list under a parent that never
										 * expires omits children older than this */
	bool		keys_differ;	/* two equal key values name nothing (a currency
								 * pair of one currency): no request, no row */
	const char *lookup_path2;	/* a second view for lookup columns marked
								 * MP_COL_VIEW2 or MP_COL_VIEWS (/payouts/{id}) */
} MpResource;

/* the views of a report table's lookups: bits of a mask, at most two */
#define MP_VIEW_1		0x01	/* lookup_path */
#define MP_VIEW_2		0x02	/* lookup_path2 */
#define MP_VIEW_EITHER	0x04	/* (a need) a column both views carry */
#define MP_MAX_VIEWS	2

extern const MpResource *mp_resource_by_name(const char *name);
extern const MpResource *mp_resource_at(int i);
extern int	mp_resource_count(void);
extern char *mp_resource_names(void);
extern const MpColumnDef *mp_resource_column(const MpResource *res, const char *colname);
extern const char *mp_coltype_sql(MpColKind kind);
extern const MpColumnDef *mp_resource_date_column(const MpResource *res);
extern const MpColumnDef *mp_resource_id_column(const MpResource *res);
extern const char *mp_resource_id_path(const MpResource *res);
extern int	mp_lookup_views(const MpColumnDef *col);
extern int	mp_lookup_need(int need, const MpColumnDef *col);
extern int	mp_lookup_fetch(int need);
extern const char *mp_lookup_view_path(const MpResource *res, int view);
extern char *mp_lookup_views_text(const MpResource *res, int views, const char *sep);
extern int	mp_resource_key_count(const MpResource *res);
extern bool mp_resource_needs_parents(const MpResource *res);
extern double mp_resource_typical_rows(const MpResource *res);
extern int	mp_resource_event_types(const MpResource *res, const char **types, int max);

/* ------------------------------------------------------------------------
 * stats — per-backend counters (mangopay_fdw_stats()), in http_retry.c
 * ------------------------------------------------------------------------ */
typedef struct MpStats
{
	int64		requests;
	int64		retries;
	int64		rate_limited;
	int64		bytes_received;
	int64		tokens_fetched;
	int64		http_errors;
	int64		reports_created;
	int64		reports_reused;
	int64		rows_returned;
	int64		ratelimit_remaining[4];
	int64		ratelimit_reset[4];
	bool		ratelimit_seen;
} MpStats;

extern MpStats mp_stats;

/* ------------------------------------------------------------------------
 * http.c — libcurl multi engine
 * ------------------------------------------------------------------------ */
typedef struct MpRequest MpRequest;
typedef size_t (*MpDataFn) (MpRequest *req, const char *data, size_t len);

typedef enum MpReqState
{
	MP_REQ_NEW,					/* not yet started */
	MP_REQ_RUNNING,				/* in the multi handle */
	MP_REQ_WAITING,				/* waiting for a retry time */
	MP_REQ_DONE					/* finished: success or final failure */
} MpReqState;

struct MpRequest
{
	/* what to send */
	MpSettings *conn;
	const char *what;			/* resource name, for messages */
	char	   *url;
	char	   *log_path;		/* path+query for logs and errors */
	const char *method;			/* "GET" or "POST" */
	char	   *body;
	const char *content_type;
	bool		use_auth;		/* send the bearer token */
	char	   *basic_auth;		/* token endpoint only; freed after use */
	char	   *idempotency_key;	/* a buffer of MP_IDEM_KEY_LEN + 1: a retry
									 * after an answer writes a new key in it */
	bool		retry_post;		/* POST may be retried (idempotent) */
	bool		secret;			/* the answer holds a secret (the OAuth token):
								 * its buffer and parsed tree are wiped */
	size_t		max_body;
	MpDataFn	on_data;		/* streaming sink instead of buffering */
	void	   *arg;

	/* state */
	MpReqState	state;
	int			attempts;
	bool		auth_retried;
	uint32		auth_generation;	/* which cached token was sent */
	int64		range_from;		/* > 0: ask for bytes from here (resume) */
	bool		data_delivered; /* streaming sink got bytes: no blind retry */
	bool		ratelimit_wait_too_long;
	int64		ratelimit_until;
	TimestampTz not_before;
	TimestampTz started_at;
	void	   *easy;			/* CURL * */
	void	   *headers;		/* struct curl_slist * */
	char		errbuf[256];

	/* results */
	long		status;
	int			curl_code;
	bool		too_large;
	bool		sink_failed;
	char	   *buf;			/* malloc'ed body */
	size_t		len;
	size_t		cap;
	int64		hdr_pages;		/* X-Number-Of-Pages or -1 */
	int64		hdr_items;		/* X-Number-Of-Items or -1 */
	bool		hdr_link_next;	/* Link has rel="next" */
	bool		hdr_link_seen;
	int64		rl_remaining[4];
	int64		rl_reset[4];
	int			rl_nremaining;	/* values parsed from X-RateLimit-Remaining */
	int			rl_nreset;		/* ... and from X-RateLimit-Reset */
	int64		rl_used[4];		/* X-RateLimit: calls counted */
	int			rl_nused;
	int			budget_state;	/* MP_BUDGET_*: the shared rate budget */
	int			budget_slot;
	int			budget_waits;	/* times it queued for a slot of the budget */
	char		location[512];
	char		content_type_resp[128];
	char		www_authenticate[256];	/* a 401's challenge (PendingUserAction) */
	const char *sca_subject;	/* an SCA-gated read: whose ("user \"...\"") */
	double		elapsed_ms;

	struct MpRequest *next_active;	/* engine's list of live requests */
};

#define MP_IDEM_KEY_LEN 36
extern void mp_idempotency_key(char *buf);
extern MpRequest *mp_request_new(MpSettings *conn, const char *what, const char *method,
								 const char *url);
extern void mp_request_start(MpRequest *req);
extern void mp_request_wait(MpRequest *req);
extern int	mp_request_wait_any(MpRequest **reqs, int n);
extern void mp_request_unpause(MpRequest *req);
extern long mp_request_current_status(MpRequest *req);
extern void mp_token_fetch_enter(void);
extern void mp_token_fetch_leave(void);
extern bool mp_auth_fetch_in_progress(void);

/*
 * The Authorization of an API call (use_auth) comes from a provider set
 * once (auth.c, in mp_auth_init; kept in http_retry.c): the engine never
 * calls auth; auth sends its token request through the engine.
 */
typedef struct MpAuthProvider
{
	/* a bearer token for conn, fetched when needed; *generation: which one */
	const char *(*token) (MpSettings *conn, uint32 *generation);
	/* an API call answered 401 to the token of that generation: drop it */
	void		(*forget) (MpSettings *conn, uint32 generation);
} MpAuthProvider;
extern void mp_http_set_auth(const MpAuthProvider *provider);
extern const char *mp_http_auth_token(MpRequest *req);
extern void mp_http_pump(long max_wait_ms);
extern void mp_request_release(MpRequest *req);
extern int	mp_http_in_flight(void);

/* asynchronous execution: one pollable fd per waiting scan (Linux) */
typedef struct MpAsyncWait MpAsyncWait;
extern bool mp_async_supported(void);
extern MpAsyncWait *mp_async_wait_new(MemoryContext cxt);
extern int	mp_async_wait_arm(MpAsyncWait *w, bool now);
extern void mp_async_wait_clear(MpAsyncWait *w);
/* http_retry.c: a finished transfer retried or final (-1); rate-limit headers → stats */
extern long mp_http_retry_delay(MpRequest *req, int result, long status);
extern void mp_http_record_ratelimit(MpRequest *req);
extern TimestampTz mp_http_wait_deadline(MpSettings *c);
extern char *mp_api_url(MpSettings *conn, const char *path_and_query, bool with_client);
extern char *mp_url_escape(const char *s);
extern char *mp_path_with_id(const char *tmpl, const char *id);

/* ------------------------------------------------------------------------
 * auth.c — OAuth client-credentials token per (server, user mapping); sets
 * itself as the engine's MpAuthProvider and its secrets' masker in errors.c
 * ------------------------------------------------------------------------ */
extern void mp_auth_init(void);
extern void mp_auth_prefetch(MpSettings **conns, int n);

/* ------------------------------------------------------------------------
 * errors.c — API and transport failures → ERROR
 * ------------------------------------------------------------------------ */
pg_noreturn extern void mp_error_request_failed(MpRequest *req);
extern bool mp_request_ok(MpRequest *req);
extern bool mp_request_not_found(MpRequest *req);
extern bool mp_request_pending_user_action(MpRequest *req);
pg_noreturn extern void mp_error_json_shape(MpRequest *req, const char *problem);
extern char *mp_safe_text(MpSettings *conn, const char *s, size_t maxlen);
/* who holds a secret registers a function that masks it in a text (once) */
typedef void (*MpMaskFn) (MpSettings *conn, char *text);
extern void mp_error_add_masker(MpMaskFn fn);
extern void mp_mask_secret(char *text, const char *secret);
struct cJSON;
extern struct cJSON *mp_json_body(MpRequest *req, const char *buf, size_t len);
extern struct cJSON *mp_json_lenient(MpRequest *req);

/* ------------------------------------------------------------------------
 * json_own.c — every cJSON tree is owned by a memory context
 * ------------------------------------------------------------------------ */
extern struct cJSON *mp_json_own(struct cJSON *j, bool wipe);
extern void mp_json_release(struct cJSON *j);
extern struct cJSON *mp_json_in_array(struct cJSON *j);

/* ------------------------------------------------------------------------
 * convert.c — API values → Datums
 * ------------------------------------------------------------------------ */
typedef struct MpColMap
{
	AttrNumber	attnum;
	const char *colname;
	const MpColumnDef *def;		/* NULL for user-added columns */
	char	  **path;			/* field path split at '.' */
	int			pathlen;
	int			nalt;			/* > 0: a field with '|' or '*' (convert.c) */
	char	 ***altpath;		/* its alternatives, each split at '.' */
	int		   *altlen;
	char	   *field;			/* full field name */
	MpColKind	kind;			/* how the API value is read */
	bool		is_attrs;
	bool		is_key;
	int			key_index;		/* among the descriptor's key columns */
	bool		needed;			/* referenced by the query */
	Oid			typid;
	int32		typmod;
	FmgrInfo	infunc;
	Oid			ioparam;
	/* provenance: _read_at timestamptz, _source text (filled by the scan) */
	int			provenance;		/* MP_PROV_* */
	bool		prov_needed;	/* referenced by the query (needed is false) */
} MpColMap;

#define MP_PROV_NONE 0
#define MP_PROV_READ_AT 1
#define MP_PROV_SOURCE 2

struct cJSON;
extern MpColMap *mp_build_colmaps(Relation rel, const MpResource *res, Bitmapset *needed,
								  bool all, bool json_view);
extern int	mp_lookup_views_read(const MpColMap *maps, int natts);
extern void mp_json_to_values(const struct cJSON *obj, MpColMap *maps, int natts,
							  Datum *values, bool *nulls, const char *const *keyvals,
							  const char *relname);

/* one CSV record of a report (cells NUL-terminated; len -1: NULL) */
typedef struct MpCsvCells
{
	int			nfields;
	uint64		line;
	char	  **data;
	int32	   *len;
} MpCsvCells;

/* a report's CSV file as its rows are converted: the header and what it maps */
typedef struct MpCsvFile
{
	const char *relname;
	const char *report_id;		/* for messages */
	int			ncsv;			/* header fields */
	char	  **names;			/* header names (malloc'ed) */
	int		   *field_of;		/* per attribute: CSV field index or -1 */
	struct MpAttrsLayout *attrs_layout; /* the header's attrs keys, made at the first row */
	int			ascii_check;	/* -1: not known yet; 1: check rows for ASCII at once */
	MemoryContext cxt;			/* where attrs_layout is made */
} MpCsvFile;

#define MP_MAX_KEY_COLUMNS 4
extern void mp_csv_to_values(MpCsvFile *file, const MpCsvCells *r, MpColMap *maps, int natts,
							 const char *const *keyvals, char **lookup, Datum *values,
							 bool *nulls);
extern int64 mp_cell_int(const char *data, int32 len, bool *ok);
extern Datum mp_text_to_datum(MpColMap *m, const char *s);
extern bool mp_has_provenance(const MpColMap *maps, int natts);
extern void mp_fill_provenance(MpColMap *maps, int natts, Datum *values, bool *nulls,
							   const char *source);
extern Datum mp_unix_to_timestamptz(double secs);
extern Datum mp_unix_to_datum(MpColMap *m, double secs);
extern int64 mp_timestamptz_to_unix_floor(TimestampTz t);
extern int64 mp_timestamptz_to_unix_ceil(TimestampTz t);

/* ------------------------------------------------------------------------
 * plan.c — quals, sort and limit → the request plan (fdw_private)
 * ------------------------------------------------------------------------ */
typedef enum MpPushKind
{
	MP_PUSH_DATE_LO,			/* creation_date > / >= x  → AfterDate */
	MP_PUSH_DATE_HI,			/* creation_date < / <= x  → BeforeDate */
	MP_PUSH_DATE_EQ,			/* creation_date = x       → both */
	MP_PUSH_FILTER,				/* col = x / IN / = ANY    → API filter */
	MP_PUSH_ID,					/* id = x / IN / = ANY     → single-object GETs */
	MP_PUSH_KEY,				/* key column = x / IN     → path segment / filter */
	MP_PUSH_MIN,				/* amount >= / > x         → Min<filter> */
	MP_PUSH_MAX					/* amount <= / < x         → Max<filter> */
} MpPushKind;

typedef struct MpPush
{
	MpPushKind	kind;
	int			colidx;			/* into res->cols */
	bool		is_array;		/* the value is an array (IN, = ANY) */
	int			expr_idx;		/* into fdw_exprs */
	int			adjust;			/* MIN/MAX: added to the value (-1, 0, +1) so
								 * that an inclusive and an exclusive reading
								 * both return every matching row */
} MpPush;

typedef struct MpPlan
{
	const MpResource *res;
	int			sort_dir;		/* 0: none sent, 1: ASC, -1: DESC */
	int64		limit_hint;		/* rows the query needs at most, or -1 */
	List	   *pushes;			/* MpPush * */
	List	   *exprs;			/* the values' expressions (fdw_exprs) */
	Bitmapset  *needed;			/* attnos (offset by FirstLowInvalid...) */
	bool		all_pushed;		/* every restriction clause went to the API */
	int			prefilter_at;	/* fdw_exprs from here: local quals checked
								 * before a row's lookups, or -1 */
	bool		by_id;			/* read by id (single-object GETs), also for
								 * a report table (payouts) */
} MpPlan;

/* the pushed values of one execution (after Params are known) */
typedef struct MpEval
{
	bool		no_rows;		/* the WHERE clause excludes every row */
	bool		have_lo;
	bool		have_hi;
	TimestampTz lo;				/* creation_date >= lo (inclusive bound) */
	TimestampTz hi;				/* creation_date <= hi */
	bool		have_ids;
	List	   *ids;			/* char * (UTF-8), de-duplicated */
	List	  **vals;			/* per column: char * values of = / IN */
	bool	   *vals_set;
	bool	   *have_min;
	bool	   *have_max;
	int64	   *min;			/* per column: amount bounds */
	int64	   *max;
	List	   *keys[2];		/* key columns, in descriptor order */
	bool		keys_set[2];
} MpEval;

struct PlannerInfo;
struct RelOptInfo;
struct ExprContext;
extern MpEval *mp_plan_evaluate(MpPlan *plan, List *exprstates, struct ExprContext *econtext);
extern bool mp_enum_documented(const MpColumnDef *col, List *vals);
extern bool mp_plausible_id(const char *s);
extern MpEval *mp_plan_evaluate_consts(struct PlannerInfo *root, MpPlan *plan);
extern MpPlan *mp_plan_classify(struct PlannerInfo *root, struct RelOptInfo *baserel,
								const MpResource *res, Oid relid, List *clauses);
extern List *mp_plan_serialize(MpPlan *plan);
extern MpPlan *mp_plan_deserialize(List *fdw_private);
extern const char *mp_push_kind_name(MpPushKind k);
extern int	mp_plan_sort_dir(struct PlannerInfo *root, struct RelOptInfo *baserel,
							 const MpResource *res, Oid relid);

/* ------------------------------------------------------------------------
 * pushdesc.c — what of a WHERE clause or ORDER BY on a column reaches the
 * API: the one description the planner, EXPLAIN and mangopay_fdw_columns()
 * all read
 * ------------------------------------------------------------------------ */
typedef enum MpRangeKind
{
	MP_RANGE_NONE,
	MP_RANGE_DATE,				/* timestamptz < <= = >= > → AfterDate / BeforeDate */
	MP_RANGE_MONTH,				/* a month key (date): a closed range → its months */
	MP_RANGE_AMOUNT				/* bigint < <= = >= > → Min<filter> / Max<filter> */
} MpRangeKind;

typedef enum MpManyKind
{
	MP_MANY_NONE,				/* no equality is sent */
	MP_MANY_LIST,				/* IN / = ANY: every value in one request */
	MP_MANY_EACH,				/* one request (GET, path, report) per value */
	MP_MANY_LOCAL,				/* one value is sent; several: checked locally */
	MP_MANY_ONE,				/* one value per query: several are an ERROR */
	MP_MANY_BOUND				/* a currency: sent only with an amount bound */
} MpManyKind;

typedef struct MpColPush
{
	int			eq;				/* MpPushKind of = / IN / = ANY, or -1: checked
								 * locally only */
	bool		eq_narrows;		/* that push alone narrows the request */
	MpManyKind	many;			/* what IN / = ANY becomes */
	MpRangeKind range;
	bool		sort;			/* ORDER BY the column → the API's Sort */
	bool		join;			/* a join clause col = other.col reads per outer row */
	bool		required;		/* a key column the table cannot be read without */
	bool		lookup;			/* one GET per row, when referenced */
	bool		optional;		/* report column requested only when referenced */
	bool		id_local;		/* an id column of a table with no GET by id */
} MpColPush;

extern MpColPush mp_column_push(const MpResource *res, const MpColumnDef *col);
extern const char *mp_push_target(const MpResource *res, const MpColumnDef *col,
								  MpPushKind kind);
extern char *mp_column_push_text(const MpResource *res, const MpColumnDef *col);
extern int	mp_amount_currency(const MpColumnDef *amount, const MpColumnDef *col);

/* ------------------------------------------------------------------------
 * scan.c — what every source's executor state shares
 * ------------------------------------------------------------------------ */
typedef struct MpScanBase
{
	struct ForeignScanState *node;
	MpPlan	   *plan;
	MpSettings *conn;
	const MpResource *res;
	Relation	rel;
	MpColMap   *maps;
	int			natts;
	List	   *exprstates;
	MemoryContext cxt;			/* requests, evaluated plan; reset on rescan */
	MemoryContextCallbackFunction cleanup;	/* frees what is outside palloc */
	void	   *cleanup_arg;
} MpScanBase;

extern void mp_scan_base_init(MpScanBase *b, struct ForeignScanState *node, MpPlan *plan,
							  MpSettings *conn, MemoryContextCallbackFunction cleanup, void *arg);
extern void mp_scan_base_reset(MpScanBase *b);

/*
 * A source: how rows come from the API.  Chosen once per scan
 * (mp_source_for), called by the executor callbacks.  begin is not called
 * for EXPLAIN without ANALYZE: explain then gets a NULL scan.
 */
struct ExplainState;
typedef struct MpSource
{
	const char *name;
	void	   *(*begin) (struct ForeignScanState *node, MpPlan *plan, MpSettings *conn);
	bool		(*next) (void *scan, TupleTableSlot *slot);	/* false at the end */
	void		(*rescan) (void *scan);
	void		(*end) (void *scan);
	void		(*explain) (void *scan, MpPlan *plan, struct ForeignScanState *node,
							struct ExplainState *es);
	/*
	 * Optional (asynchronous execution): would next() return without
	 * waiting for the network?  Starts the requests it needs, never waits.
	 * NULL: next() may always wait (the scan is not async capable).
	 */
	bool		(*ready) (void *scan);
} MpSource;

extern const MpSource mp_list_source;	/* listing.c: paginated GETs */
extern const MpSource mp_byid_source;	/* listing.c: the list scan's by-id mode,
										 * single-object GETs (byid.c) */
extern const MpSource mp_report_source; /* report.c: create, poll, download */
extern const MpSource mp_report_byid_source;	/* report_byid.c: a report
												 * table by id (payouts) */
extern bool mp_plan_report_by_id(const MpPlan *plan);

/*
 * Planning.  Costs are in the planner's units and model what the API
 * charges: every HTTP request costs MP_REQUEST_COST (a network round trip,
 * and a share of the rate limit), a report costs MP_REPORT_COST before its
 * first row (created, generated by MangoPay, polled: tens of seconds), and
 * rows are cheap.  So "payouts WHERE id = 'x'" reads one payout by id
 * instead of a report, and a join that names few repudiations fetches just
 * those.
 */
#define MP_REQUEST_COST 100.0
#define MP_REPORT_COST	10000.0
/* a by-id table scanned without ids is an error at execution: never chosen
 * while a parameterized path exists */
#define MP_NO_IDS_COST	1.0e10

/* the planner's state of one foreign table (its RelOptInfo's fdw_private) */
typedef struct MpPlanSource MpPlanSource;
typedef struct MpRelInfo
{
	const MpResource *res;
	const MpPlanSource *src;	/* the source that answers for the table */
	Oid			relid;
	Oid			userid;			/* whose user mapping a scan uses */
	MpSettings *settings;		/* the server's options (no credentials) */
	MpPlan	   *plan;			/* the request plan of baserestrictinfo */
	bool		has_ids;		/* id = / IN / = ANY among them */
	double		nids;			/* how many ids (estimated for a Param) */
	bool		keys_given;		/* they give every key column */
} MpRelInfo;

/*
 * A source's answers to the planner's questions about a table it reads,
 * chosen once per table (mp_plan_source_for): mangopay_fdw.c asks, and
 * never tests which kind of source it is.
 */
struct MpPlanSource
{
	const char *name;
	/* the rows of a scan that names no id (one row per id is the caller's) */
	double		(*rows) (struct PlannerInfo *root, struct RelOptInfo *baserel, MpRelInfo *ri,
						 List *local_quals);
	/* startup and total cost of the path without parameters */
	void		(*cost) (struct PlannerInfo *root, MpRelInfo *ri, double rows, Cost *startup,
						 Cost *total);
	/* the API filters every restriction clause (so a LIMIT may be sent) */
	bool		(*all_pushed) (const MpRelInfo *ri);
	/* ids are read by id on a path of their own; the other paths read the
	 * whole table and check the ids locally */
	bool		ids_own_path;
	/* why ANALYZE takes no sample of the table, or NULL when it does */
	const char *(*no_sample) (const MpResource *res);
	/* its scans can return rows without blocking (MpSource.ready), so an
	 * Append may run them asynchronously */
	bool		can_async;
};

extern const MpPlanSource mp_list_plan;	/* listing.c */
extern const MpPlanSource mp_byid_plan;	/* byid.c */
extern const MpPlanSource mp_report_plan;	/* report.c */
extern void mp_cost_by_id(double nids, double rows, Cost *startup, Cost *total);

/* sources.c: the choice, once per table and once per scan */
extern const MpPlanSource *mp_plan_source_for(const MpResource *res);
extern const MpSource *mp_source_for(const MpPlan *plan);

/* ------------------------------------------------------------------------
 * listing.c — the list source (paginated GETs, single-object GETs)
 * ------------------------------------------------------------------------ */
typedef struct MpListScan MpListScan;
struct ForeignScanState;
struct ExplainState;
/* begin, next, rescan, end and explain: only through mp_list_source */
extern List *mp_list_missing_ids(MpListScan *s);
extern const char *mp_list_id_path(MpListScan *s);
extern char *mp_list_query(const MpResource *res, MpEval *ev, int sort_dir,
						   bool *filter_dropped);
extern int64 mp_list_history_floor(const MpResource *res);
extern int64 mp_list_remote_count(MpSettings *conn, const MpResource *res, MpEval *ev,
								  const char *relname);
#define MP_ANALYZE_MAX_PAGES 10
extern int	mp_list_sample(Relation rel, MpSettings *conn, const MpResource *res, HeapTuple *rows,
						   int targrows, double *totalrows);
extern char *mp_explain_pushes(MpPlan *plan, struct ForeignScanState *node, struct ExplainState *es);

/* ------------------------------------------------------------------------
 * report.c — the report source (create, poll, download, CSV → rows)
 * ------------------------------------------------------------------------ */
typedef struct MpReportScan MpReportScan;
/* begin, next, rescan, end and explain: only through mp_report_source */

#endif							/* MPFDW_H */
