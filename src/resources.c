/*-------------------------------------------------------------------------
 * resources.c
 *		The descriptor table: every MangoPay resource mangopay_fdw maps,
 *		with its endpoint, its columns (name, API field, type) and what
 *		of a WHERE clause the API can filter on.
 *
 * A new MangoPay resource is a new descriptor here, not new code.  Field
 * names and enum values follow ../shared/spec/mangopay-api.md.
 *-------------------------------------------------------------------------
 */
#include "mpfdw.h"

#include "lib/stringinfo.h"

/* documented enum values: a filter value outside them is not sent (the API
 * would answer 400), it is only checked locally */
static const char *const tx_status[] = {"CREATED", "SUCCEEDED", "FAILED", NULL};
static const char *const tx_type[] = {"PAYIN", "TRANSFER", "CONVERSION", "PAYOUT", "CARD_VALIDATION", NULL};
static const char *const tx_nature[] = {"REGULAR", "REPUDIATION", "REFUND", "SETTLEMENT", NULL};
static const char *const dispute_status[] = {"CREATED", "PENDING_CLIENT_ACTION", "SUBMITTED",
	"PENDING_BANK_ACTION", "REOPENED_PENDING_CLIENT_ACTION", "CLOSED", NULL};
static const char *const dispute_type[] = {"CONTESTABLE", "NOT_CONTESTABLE", "RETRIEVAL", NULL};
static const char *const doc_type[] = {"DELIVERY_PROOF", "INVOICE", "REFUND_PROOF", "USER_CORRESPONDANCE",
	"USER_ACCEPTANCE_PROOF", "PRODUCT_REPLACEMENT_PROOF", "OTHER", NULL};
static const char *const doc_status[] = {"CREATED", "VALIDATION_ASKED", "VALIDATED", "REFUSED", "OUT_OF_DATE", NULL};
static const char *const reporting_status[] = {"PENDING", "GENERATING", "GENERATED", "FAILED", "EXPIRED", NULL};
static const char *const funds_types[] = {"FEES", "CREDIT", NULL};

#define T MP_CK_TEXT
#define TS MP_CK_TIME
#define I8 MP_CK_INT8
#define B MP_CK_BOOL
#define J MP_CK_JSON

#define ATTRS_COL {"attrs", "", J, MP_COL_ATTRS, NULL, NULL}

/* the fields every transaction object has (spec §7) */
#define TX_BASE_COLS(idflags, ff) \
	{"id", "Id", T, idflags, NULL, NULL}, \
	{"tag", "Tag", T, 0, NULL, NULL}, \
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL}, \
	{"author_id", "AuthorId", T, 0, NULL, NULL}, \
	{"credited_user_id", "CreditedUserId", T, 0, NULL, NULL}, \
	{"debited_funds_currency", "DebitedFunds.Currency", T, 0, NULL, NULL}, \
	{"debited_funds_amount", "DebitedFunds.Amount", I8, 0, NULL, NULL}, \
	{"credited_funds_currency", "CreditedFunds.Currency", T, 0, NULL, NULL}, \
	{"credited_funds_amount", "CreditedFunds.Amount", I8, 0, NULL, NULL}, \
	{"fees_currency", "Fees.Currency", T, 0, NULL, NULL}, \
	{"fees_amount", "Fees.Amount", I8, 0, NULL, NULL}, \
	{"status", "Status", T, ff, "Status", tx_status}, \
	{"result_code", "ResultCode", T, ff, "ResultCode", NULL}, \
	{"result_message", "ResultMessage", T, 0, NULL, NULL}, \
	{"execution_date", "ExecutionDate", TS, 0, NULL, NULL}, \
	{"type", "Type", T, ff, "Type", tx_type}, \
	{"nature", "Nature", T, ff, "Nature", tx_nature}, \
	{"credited_wallet_id", "CreditedWalletId", T, 0, NULL, NULL}, \
	{"debited_wallet_id", "DebitedWalletId", T, 0, NULL, NULL}

#define DISPUTE_COLS \
	{"id", "Id", T, MP_COL_ID, NULL, NULL}, \
	{"tag", "Tag", T, 0, NULL, NULL}, \
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL}, \
	{"initial_transaction_id", "InitialTransactionId", T, 0, NULL, NULL}, \
	{"initial_transaction_type", "InitialTransactionType", T, 0, NULL, NULL}, \
	{"initial_transaction_nature", "InitialTransactionNature", T, 0, NULL, NULL}, \
	{"dispute_type", "DisputeType", T, DISPUTE_FILTER, "DisputeType", dispute_type}, \
	{"contest_deadline_date", "ContestDeadlineDate", TS, 0, NULL, NULL}, \
	{"disputed_funds_currency", "DisputedFunds.Currency", T, 0, NULL, NULL}, \
	{"disputed_funds_amount", "DisputedFunds.Amount", I8, 0, NULL, NULL}, \
	{"contested_funds_currency", "ContestedFunds.Currency", T, 0, NULL, NULL}, \
	{"contested_funds_amount", "ContestedFunds.Amount", I8, 0, NULL, NULL}, \
	{"status", "Status", T, DISPUTE_FILTER, "Status", dispute_status}, \
	{"status_message", "StatusMessage", T, 0, NULL, NULL}, \
	{"dispute_reason_type", "DisputeReason.DisputeReasonType", T, 0, NULL, NULL}, \
	{"dispute_reason_message", "DisputeReason.DisputeReasonMessage", T, 0, NULL, NULL}, \
	{"result_code", "ResultCode", T, 0, NULL, NULL}, \
	{"result_message", "ResultMessage", T, 0, NULL, NULL}, \
	{"closed_date", "ClosedDate", TS, 0, NULL, NULL}, \
	{"repudiation_id", "RepudiationId", T, 0, NULL, NULL}, \
	ATTRS_COL

#define DISPUTE_FILTER MP_COL_FILTER
static const MpColumnDef disputes_cols[] = {DISPUTE_COLS};
#undef DISPUTE_FILTER
/* /disputes/pendingsettlement documents no filter but paging */
#define DISPUTE_FILTER 0
static const MpColumnDef disputes_pending_cols[] = {DISPUTE_COLS};
#undef DISPUTE_FILTER

static const MpColumnDef dispute_documents_cols[] = {
	{"id", "Id", T, MP_COL_ID, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL},
	{"dispute_id", "DisputeId", T, 0, NULL, NULL},
	{"type", "Type", T, MP_COL_FILTER, "Type", doc_type},
	{"status", "Status", T, MP_COL_FILTER, "Status", doc_status},
	{"refused_reason_type", "RefusedReasonType", T, 0, NULL, NULL},
	{"refused_reason_message", "RefusedReasonMessage", T, 0, NULL, NULL},
	{"processed_date", "ProcessedDate", TS, 0, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef reports_cols[] = {
	{"id", "Id", T, MP_COL_ID, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL},
	{"report_date", "ReportDate", TS, 0, NULL, NULL},
	{"status", "Status", T, 0, NULL, NULL},
	{"report_type", "ReportType", T, 0, NULL, NULL},
	{"download_format", "DownloadFormat", T, 0, NULL, NULL},
	{"download_url", "DownloadURL", T, 0, NULL, NULL},
	{"callback_url", "CallbackURL", T, 0, NULL, NULL},
	{"sort", "Sort", T, 0, NULL, NULL},
	{"preview", "Preview", B, 0, NULL, NULL},
	{"filters", "Filters", J, 0, NULL, NULL},
	{"columns", "Columns", J, 0, NULL, NULL},
	{"result_code", "ResultCode", T, 0, NULL, NULL},
	{"result_message", "ResultMessage", T, 0, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef reporting_reports_cols[] = {
	{"id", "Id", T, MP_COL_ID, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL},
	{"last_updated", "LastUpdated", TS, 0, NULL, NULL},
	{"report_type", "ReportType", T, 0, NULL, NULL},
	{"status", "Status", T, MP_COL_FILTER, "Status", reporting_status},
	{"result_code", "ResultCode", T, 0, NULL, NULL},
	{"result_message", "ResultMessage", T, 0, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef client_wallets_cols[] = {
	{"id", "Id", T, 0, NULL, NULL},
	{"funds_type", "FundsType", T, 0, NULL, funds_types},
	{"currency", "Currency", T, 0, NULL, NULL},
	{"balance_amount", "Balance.Amount", I8, 0, NULL, NULL},
	{"balance_currency", "Balance.Currency", T, 0, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, 0, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef client_wallet_tx_cols[] = {
	{"funds_type", "FundsType", T, MP_COL_KEY, NULL, funds_types},
	{"currency", "Currency", T, MP_COL_KEY, NULL, NULL},
	TX_BASE_COLS(0, MP_COL_FILTER),
	ATTRS_COL
};

static const MpColumnDef events_cols[] = {
	{"resource_id", "ResourceId", T, 0, NULL, NULL},
	{"event_type", "EventType", T, MP_COL_FILTER, "EventType", NULL},
	{"date", "Date", TS, MP_COL_DATE, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef refunds_cols[] = {
	TX_BASE_COLS(MP_COL_ID, 0),
	{"initial_transaction_id", "InitialTransactionId", T, 0, NULL, NULL},
	{"initial_transaction_type", "InitialTransactionType", T, 0, NULL, NULL},
	{"initial_transaction_nature", "InitialTransactionNature", T, 0, NULL, NULL},
	{"refund_reason_type", "RefundReason.RefundReasonType", T, 0, NULL, NULL},
	{"refund_reason_message", "RefundReason.RefundReasonMessage", T, 0, NULL, NULL},
	{"statement_descriptor", "StatementDescriptor", T, 0, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef repudiations_cols[] = {
	TX_BASE_COLS(MP_COL_ID, 0),
	{"initial_transaction_id", "InitialTransactionId", T, 0, NULL, NULL},
	{"initial_transaction_type", "InitialTransactionType", T, 0, NULL, NULL},
	{"initial_transaction_nature", "InitialTransactionNature", T, 0, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef settlement_transfers_cols[] = {
	TX_BASE_COLS(MP_COL_ID, 0),
	{"repudiation_id", "RepudiationId", T, 0, NULL, NULL},
	ATTRS_COL
};

#define COLS(a) a, lengthof(a)

/*
 * The list of every resource: IMPORT FOREIGN SCHEMA creates them in this
 * order.  Report-backed tables (transactions, payouts, wallets and the
 * Reporting Service types) are described in report descriptors.
 */
static const MpResource resources[] = {
	{"disputes", MP_SRC_LIST, "dispute", "/disputes", "/disputes/{id}",
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(disputes_cols),
	"disputes of the platform (GET /disputes)"},
	{"disputes_pending_settlement", MP_SRC_LIST, "dispute", "/disputes/pendingsettlement", NULL,
		NULL, NULL, 0, NULL, COLS(disputes_pending_cols),
	"lost disputes awaiting a settlement transfer (GET /disputes/pendingsettlement)"},
	{"dispute_documents", MP_SRC_LIST, "dispute document", "/dispute-documents", "/dispute-documents/{id}",
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(dispute_documents_cols),
	"documents submitted for disputes (GET /dispute-documents)"},
	{"reports", MP_SRC_LIST, "report", "/reports", "/reports/{id}",
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(reports_cols),
	"legacy report requests (GET /reports)"},
	{"reporting_reports", MP_SRC_LIST, "reporting report", "/reporting/reports", "/reporting/reports/{id}",
		"CreationDate", "CreationDate:DESC", 0, NULL, COLS(reporting_reports_cols),
	"Reporting Service report requests (GET /reporting/reports)"},
	{"client_wallets", MP_SRC_LIST, "client wallet", "/clients/wallets", NULL,
		NULL, NULL, 0, NULL, COLS(client_wallets_cols),
	"the platform's FEES and CREDIT wallets (GET /clients/wallets)"},
	{"client_wallet_transactions", MP_SRC_LIST, "client wallet transaction",
		"/clients/wallets/{0}/{1}/transactions", NULL,
		"CreationDate", "CreationDate:ASC", 0, "/clients/wallets", COLS(client_wallet_tx_cols),
	"transactions of the client wallets (GET /clients/wallets/{FundsType}/{Currency}/transactions)"},
	{"events", MP_SRC_LIST, "event", "/events", NULL,
		"Date", "Date:ASC", 45, NULL, COLS(events_cols),
	"events (webhook notifications) of the last 45 days (GET /events)"},
	{"refunds", MP_SRC_BYID, "refund", NULL, "/refunds/{id}",
		NULL, NULL, 0, NULL, COLS(refunds_cols),
	"refunds, by id (GET /refunds/{Id})"},
	{"repudiations", MP_SRC_BYID, "repudiation", NULL, "/repudiations/{id}",
		NULL, NULL, 0, NULL, COLS(repudiations_cols),
	"repudiations of lost disputes, by id (GET /repudiations/{Id})"},
	{"settlement_transfers", MP_SRC_BYID, "settlement transfer", NULL, "/settlements/{id}",
		NULL, NULL, 0, NULL, COLS(settlement_transfers_cols),
	"settlement transfers of lost disputes, by id (GET /settlements/{Id})"},
};

int
mp_resource_count(void)
{
	return lengthof(resources);
}

const MpResource *
mp_resource_at(int i)
{
	return &resources[i];
}

const MpResource *
mp_resource_by_name(const char *name)
{
	for (int i = 0; i < lengthof(resources); i++)
		if (strcmp(resources[i].name, name) == 0)
			return &resources[i];
	return NULL;
}

char *
mp_resource_names(void)
{
	StringInfoData buf;

	initStringInfo(&buf);
	for (int i = 0; i < lengthof(resources); i++)
		appendStringInfo(&buf, "%s%s", i ? ", " : "", resources[i].name);
	return buf.data;
}

const MpColumnDef *
mp_resource_column(const MpResource *res, const char *colname)
{
	for (int i = 0; i < res->ncols; i++)
		if (strcmp(res->cols[i].name, colname) == 0)
			return &res->cols[i];
	return NULL;
}

const MpColumnDef *
mp_resource_date_column(const MpResource *res)
{
	if (res->sort_field == NULL)
		return NULL;
	for (int i = 0; i < res->ncols; i++)
		if (res->cols[i].flags & MP_COL_DATE)
			return &res->cols[i];
	return NULL;
}

const MpColumnDef *
mp_resource_id_column(const MpResource *res)
{
	if (res->single_path == NULL)
		return NULL;
	for (int i = 0; i < res->ncols; i++)
		if (res->cols[i].flags & MP_COL_ID)
			return &res->cols[i];
	return NULL;
}

int
mp_resource_key_count(const MpResource *res)
{
	int			n = 0;

	for (int i = 0; i < res->ncols; i++)
		if (res->cols[i].flags & MP_COL_KEY)
			n++;
	return n;
}

const char *
mp_coltype_sql(MpColKind kind)
{
	switch (kind)
	{
		case MP_CK_TEXT:
			return "text";
		case MP_CK_TIME:
			return "timestamptz";
		case MP_CK_INT8:
			return "bigint";
		case MP_CK_INT4:
			return "integer";
		case MP_CK_BOOL:
			return "boolean";
		case MP_CK_JSON:
			return "jsonb";
	}
	return "text";
}
