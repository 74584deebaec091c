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
/* CARD_VALIDATION exists in objects but is not a documented filter value */
static const char *const tx_type[] = {"PAYIN", "TRANSFER", "CONVERSION", "PAYOUT", NULL};
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
#define DEPOSIT_COL {"deposit_id", "DepositId", T, 0, NULL, NULL}

/* comma multi-values: documented for the transaction lists'
 * Status/Type/Nature/ResultCode, the refund lists' Status/ResultCode and
 * the dispute lists' Status/DisputeType only (spec §2, §11) */
#define MULTI(ff) (((ff) & MP_COL_FILTER) ? MP_COL_MULTI : 0)

/* the fields every transaction object has (spec §7), with the filters of a
 * transaction list */
#define TX_BASE_COLS(idflags, ff) TX_COLS_F(idflags, ff, ff)
/* ... sf: the filters on Status and ResultCode, tf: on Type and Nature (a
 * refund list documents the first two only, spec §11) */
#define TX_COLS_F(idflags, sf, tf) \
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
	{"status", "Status", T, (sf) | MULTI(sf), "Status", tx_status}, \
	{"result_code", "ResultCode", T, (sf) | MULTI(sf), "ResultCode", NULL}, \
	{"result_message", "ResultMessage", T, 0, NULL, NULL}, \
	{"execution_date", "ExecutionDate", TS, 0, NULL, NULL}, \
	{"type", "Type", T, (tf) | MULTI(tf), "Type", tx_type}, \
	{"nature", "Nature", T, (tf) | MULTI(tf), "Nature", tx_nature}, \
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

#define DISPUTE_FILTER (MP_COL_FILTER | MP_COL_MULTI)
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
	/* not in the list's reduced items: GET /reporting/reports/{Id} per row */
	{"download_url_present", "DownloadURL", MP_CK_PRESENT, MP_COL_LOOKUP, NULL, NULL},
	{"after_date", "AfterDate", TS, MP_COL_LOOKUP, NULL, NULL},
	{"before_date", "BeforeDate", TS, MP_COL_LOOKUP, NULL, NULL},
	{"filters", "Filters", J, MP_COL_LOOKUP, NULL, NULL},
	{"columns", "Columns", J, MP_COL_LOOKUP, NULL, NULL},
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
	DEPOSIT_COL,
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

/* ------------------------------------------------------------------------
 * objects a reconciliation follows: by id, and parent-scoped lists whose
 * parent id is a key column (the {0} of the path)
 * ------------------------------------------------------------------------ */
static const MpColumnDef payins_cols[] = {
	TX_BASE_COLS(MP_COL_ID, 0),
	{"payment_type", "PaymentType", T, 0, NULL, NULL},
	{"execution_type", "ExecutionType", T, 0, NULL, NULL},
	{"card_id", "CardId", T, 0, NULL, NULL},
	{"statement_descriptor", "StatementDescriptor", T, 0, NULL, NULL},
	DEPOSIT_COL,
	/* what a reconciliation matches on, per kind of pay-in (spec §11) */
	/* bank wire (declared) and wire to a virtual IBAN */
	{"wire_reference", "WireReference", T, 0, NULL, NULL},
	{"declared_debited_funds_currency", "DeclaredDebitedFunds.Currency", T, 0, NULL, NULL},
	{"declared_debited_funds_amount", "DeclaredDebitedFunds.Amount", I8, 0, NULL, NULL},
	{"declared_fees_currency", "DeclaredFees.Currency", T, 0, NULL, NULL},
	{"declared_fees_amount", "DeclaredFees.Amount", I8, 0, NULL, NULL},
	{"debited_bank_account_iban", "DebitedBankAccount.IBAN", T, 0, NULL, NULL},
	{"debited_bank_account_owner_name", "DebitedBankAccount.OwnerName", T, 0, NULL, NULL},
	{"banking_alias_id", "BankingAliasId", T, 0, NULL, NULL},
	/* card pre-authorization capture; direct debit; pay by bank */
	{"preauthorization_id", "PreauthorizationId", T, 0, NULL, NULL},
	{"mandate_id", "MandateId", T, 0, NULL, NULL},
	{"charge_date", "ChargeDate", TS, 0, NULL, NULL},
	{"processing_status", "ProcessingStatus", T, 0, NULL, NULL},
	{"scheme", "Scheme", T, 0, NULL, NULL},
	/* cards (direct, Apple Pay, Google Pay) */
	{"card_info_bin", "CardInfo.BIN", T, 0, NULL, NULL},
	{"card_info_brand", "CardInfo.Brand", T, 0, NULL, NULL},
	{"card_info_type", "CardInfo.Type", T, 0, NULL, NULL},
	{"card_info_issuer_country_code", "CardInfo.IssuerCountryCode", T, 0, NULL, NULL},
	/* PayPal */
	{"paypal_order_id", "PaypalOrderID", T, 0, NULL, NULL},
	{"reference", "Reference", T, 0, NULL, NULL},
	/* the bank's ISO 20022 (camt) details of a received wire */
	{"transaction_details", "TransactionDetails", J, 0, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef transfers_cols[] = {
	TX_BASE_COLS(MP_COL_ID, 0),
	ATTRS_COL
};

/* quoted conversions have a QuoteId and no Fees; the rates are decimals */
static const MpColumnDef conversions_cols[] = {
	TX_BASE_COLS(MP_COL_ID, 0),
	{"quote_id", "QuoteId", T, 0, NULL, NULL},
	{"client_rate", "ConversionRateResponse.ClientRate", MP_CK_NUMERIC, 0, NULL, NULL},
	{"market_rate", "ConversionRateResponse.MarketRate", MP_CK_NUMERIC, 0, NULL, NULL},
	ATTRS_COL
};

/* GET /conversions/rate/{DebitedCurrency}/{CreditedCurrency}: one object */
static const MpColumnDef conversion_rates_cols[] = {
	{"debited_currency", "DebitedCurrency", T, MP_COL_KEY, NULL, NULL},
	{"credited_currency", "CreditedCurrency", T, MP_COL_KEY, NULL, NULL},
	{"client_rate", "ClientRate", MP_CK_NUMERIC, 0, NULL, NULL},
	{"market_rate", "MarketRate", MP_CK_NUMERIC, 0, NULL, NULL},
	{"market_rate_date", "MarketRateDate", TS, 0, NULL, NULL},
	ATTRS_COL
};

/* GET /users (paged) and GET /users/{Id}; natural and legal users (§11) */
static const MpColumnDef users_cols[] = {
	{"id", "Id", T, MP_COL_ID, NULL, NULL},
	{"person_type", "PersonType", T, 0, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL},
	{"email", "Email", T, 0, NULL, NULL},
	{"kyc_level", "KYCLevel", T, 0, NULL, NULL},
	{"user_category", "UserCategory", T, 0, NULL, NULL},
	{"user_status", "UserStatus", T, 0, NULL, NULL},
	{"first_name", "FirstName", T, 0, NULL, NULL},
	{"last_name", "LastName", T, 0, NULL, NULL},
	{"name", "Name", T, 0, NULL, NULL},
	{"legal_person_type", "LegalPersonType", T, 0, NULL, NULL},
	{"company_number", "CompanyNumber", T, 0, NULL, NULL},
	{"nationality", "Nationality", T, 0, NULL, NULL},
	{"country_of_residence", "CountryOfResidence", T, 0, NULL, NULL},
	{"terms_and_conditions_accepted", "TermsAndConditionsAccepted", B, 0, NULL, NULL},
	{"terms_and_conditions_accepted_date", "TermsAndConditionsAcceptedDate", TS, 0, NULL, NULL},
	ATTRS_COL
};

/* GET /users/{UserId}/regulatory: whether the user's flows are blocked */
static const MpColumnDef user_regulatory_cols[] = {
	{"user_id", "UserId", T, MP_COL_KEY, NULL, NULL},
	{"inflows_blocked", "ScopeBlocked.Inflows", B, 0, NULL, NULL},
	{"outflows_blocked", "ScopeBlocked.Outflows", B, 0, NULL, NULL},
	{"action_code", "ActionCode", T, 0, NULL, NULL},
	ATTRS_COL
};

/* GET /wallets/{Id} and GET /users/{UserId}/wallets: the balance now */
static const MpColumnDef user_wallets_cols[] = {
	{"user_id", "Owners.0", T, MP_COL_KEY, NULL, NULL},
	{"id", "Id", T, MP_COL_ID, NULL, NULL},
	{"description", "Description", T, 0, NULL, NULL},
	{"currency", "Currency", T, 0, NULL, NULL},
	{"balance_amount", "Balance.Amount", I8, 0, NULL, NULL},
	{"balance_currency", "Balance.Currency", T, 0, NULL, NULL},
	{"funds_type", "FundsType", T, 0, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, 0, NULL, NULL},
	ATTRS_COL
};

/* the refund lists filter on Status and ResultCode (and the dates, but for
 * the repudiation refunds: the list has no Sort field then) */
#define REFUND_BODY_COLS \
	TX_COLS_F(0, MP_COL_FILTER, 0), \
	{"initial_transaction_id", "InitialTransactionId", T, 0, NULL, NULL}, \
	{"initial_transaction_type", "InitialTransactionType", T, 0, NULL, NULL}, \
	{"initial_transaction_nature", "InitialTransactionNature", T, 0, NULL, NULL}, \
	{"refund_reason_type", "RefundReason.RefundReasonType", T, 0, NULL, NULL}, \
	{"refund_reason_message", "RefundReason.RefundReasonMessage", T, 0, NULL, NULL}, \
	{"statement_descriptor", "StatementDescriptor", T, 0, NULL, NULL}, \
	ATTRS_COL

#define PARENT_KEY(name) {name, "InitialTransactionId", T, MP_COL_KEY, NULL, NULL}
static const MpColumnDef payin_refunds_cols[] = {PARENT_KEY("payin_id"), REFUND_BODY_COLS};
static const MpColumnDef transfer_refunds_cols[] = {PARENT_KEY("transfer_id"), REFUND_BODY_COLS};
static const MpColumnDef payout_refunds_cols[] = {PARENT_KEY("payout_id"), REFUND_BODY_COLS};
static const MpColumnDef repudiation_refunds_cols[] = {PARENT_KEY("repudiation_id"), REFUND_BODY_COLS};

/* a parent-scoped transaction list (spec §7), with the filters of §2 */
#define TX_LIST_COLS(key, field) \
	{key, field, T, MP_COL_KEY, NULL, NULL}, \
	TX_BASE_COLS(0, MP_COL_FILTER), \
	DEPOSIT_COL, \
	ATTRS_COL
static const MpColumnDef dispute_transactions_cols[] = {TX_LIST_COLS("dispute_id", "DisputeId")};
static const MpColumnDef bank_account_transactions_cols[] = {TX_LIST_COLS("bank_account_id", "BankAccountId")};

static const MpColumnDef dispute_documents_by_dispute_cols[] = {
	{"dispute_id", "DisputeId", T, MP_COL_KEY, NULL, NULL},
	{"id", "Id", T, 0, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL},
	{"type", "Type", T, MP_COL_FILTER, "Type", doc_type},
	{"status", "Status", T, MP_COL_FILTER, "Status", doc_status},
	{"refused_reason_type", "RefusedReasonType", T, 0, NULL, NULL},
	{"refused_reason_message", "RefusedReasonMessage", T, 0, NULL, NULL},
	{"processed_date", "ProcessedDate", TS, 0, NULL, NULL},
	ATTRS_COL
};

#define DISPUTE_FILTER (MP_COL_FILTER | MP_COL_MULTI)
static const MpColumnDef user_disputes_cols[] = {{"user_id", "UserId", T, MP_COL_KEY, NULL, NULL}, DISPUTE_COLS};
static const MpColumnDef wallet_disputes_cols[] = {{"wallet_id", "WalletId", T, MP_COL_KEY, NULL, NULL}, DISPUTE_COLS};
static const MpColumnDef payin_disputes_cols[] = {{"payin_id", "InitialTransactionId", T, MP_COL_KEY, NULL, NULL}, DISPUTE_COLS};
#undef DISPUTE_FILTER

/* GET /users/{UserId}/emoney/{Year}/{Month}: month is a key column of
 * first-of-month dates; = / IN / a closed range give the months */
static const MpColumnDef user_emoney_cols[] = {
	{"user_id", "UserId", T, MP_COL_KEY, NULL, NULL},
	{"month", "Month", MP_CK_DATE, MP_COL_KEY, NULL, NULL},
	{"currency", "CreditedEMoney.Currency", T, MP_COL_FILTER | MP_COL_SCALAR, "Currency", NULL},
	{"credited_emoney_amount", "CreditedEMoney.Amount", I8, 0, NULL, NULL},
	{"debited_emoney_amount", "DebitedEMoney.Amount", I8, 0, NULL, NULL},
	ATTRS_COL
};

/*
 * Recipients (spec §11): the payee of a payout.  The account details are
 * keyed by the payout method and, for a local transfer, by the currency
 * ("LocalBankTransfer": {"EUR": {"IBAN": ...}}): '*' is any member, '|'
 * separates alternatives, the first present wins.
 */
static const char *const recipient_scope[] = {"PAYIN", "PAYOUT", NULL};

#define RECIPIENT_COLS(idflags, scopeflags) \
	{"id", "Id", T, idflags, NULL, NULL}, \
	{"tag", "Tag", T, 0, NULL, NULL}, \
	{"creation_date", "CreationDate", TS, 0, NULL, NULL}, \
	{"status", "Status", T, 0, NULL, NULL}, \
	{"display_name", "DisplayName", T, 0, NULL, NULL}, \
	{"payout_method_type", "PayoutMethodType", T, 0, NULL, NULL}, \
	{"recipient_type", "RecipientType", T, 0, NULL, NULL}, \
	{"recipient_scope", "RecipientScope", T, scopeflags, "RecipientScope", recipient_scope}, \
	{"currency", "Currency", T, 0, NULL, NULL}, \
	{"country", "Country", T, 0, NULL, NULL}, \
	{"owner_name", "BusinessRecipient.BusinessName|IndividualRecipient.LastName", T, 0, NULL, NULL}, \
	{"owner_first_name", "IndividualRecipient.FirstName", T, 0, NULL, NULL}, \
	{"iban", "LocalBankTransfer.*.IBAN|InternationalBankTransfer.IBAN", T, 0, NULL, NULL}, \
	{"bic", "LocalBankTransfer.*.BIC|InternationalBankTransfer.BIC", T, 0, NULL, NULL}, \
	{"account_number", "LocalBankTransfer.*.AccountNumber|InternationalBankTransfer.AccountNumber", T, 0, NULL, NULL}, \
	{"sort_code", "LocalBankTransfer.*.SortCode", T, 0, NULL, NULL}, \
	{"verification_of_payee_check", "RecipientVerificationOfPayee.RecipientVerificationCheck", T, 0, NULL, NULL}, \
	{"verification_of_payee_message", "RecipientVerificationOfPayee.RecipientVerificationMessage", T, 0, NULL, NULL}, \
	{"pending_user_action_url", "PendingUserAction.RedirectUrl", T, 0, NULL, NULL}, \
	ATTRS_COL

static const MpColumnDef recipients_cols[] = {
	{"user_id", "UserId", T, 0, NULL, NULL},
	RECIPIENT_COLS(MP_COL_ID, 0)
};
static const MpColumnDef user_recipients_cols[] = {
	{"user_id", "UserId", T, MP_COL_KEY, NULL, NULL},
	RECIPIENT_COLS(0, MP_COL_FILTER | MP_COL_SCALAR)
};

static const MpColumnDef settlement_transfers_cols[] = {
	TX_BASE_COLS(MP_COL_ID, 0),
	{"repudiation_id", "RepudiationId", T, 0, NULL, NULL},
	ATTRS_COL
};

/* ------------------------------------------------------------------------
 * report columns: field = the CSV header (spec §4)
 * ------------------------------------------------------------------------ */
#define OPT MP_COL_OPTIONAL
#define RF (MP_COL_FILTER | MP_COL_SCALAR)

#define LEGACY_TX_COLS(idf, txf) \
	{"id", "Id", T, idf, NULL, NULL}, \
	{"tag", "Tag", T, 0, NULL, NULL}, \
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL}, \
	{"creation_date_iso", "CreationDate:ISO", TS, OPT, NULL, NULL, "CreationDate"}, \
	{"execution_date", "ExecutionDate", TS, 0, NULL, NULL}, \
	{"execution_date_iso", "ExecutionDate:ISO", TS, OPT, NULL, NULL, "ExecutionDate"}, \
	{"author_id", "AuthorId", T, RF, "AuthorId", NULL}, \
	{"credited_user_id", "CreditedUserId", T, 0, NULL, NULL}, \
	{"debited_funds_amount", "DebitedFundsAmount", I8, MP_COL_RANGE, "DebitedFundsAmount", NULL, "DebitedFunds.Amount"}, \
	{"debited_funds_currency", "DebitedFundsCurrency", T, MP_COL_CCY, NULL, NULL, "DebitedFunds.Currency"}, \
	{"credited_funds_amount", "CreditedFundsAmount", I8, 0, NULL, NULL, "CreditedFunds.Amount"}, \
	{"credited_funds_currency", "CreditedFundsCurrency", T, 0, NULL, NULL, "CreditedFunds.Currency"}, \
	{"fees_amount", "FeesAmount", I8, MP_COL_RANGE, "FeesAmount", NULL, "Fees.Amount"}, \
	{"fees_currency", "FeesCurrency", T, MP_COL_CCY, NULL, NULL, "Fees.Currency"}, \
	{"status", "Status", T, MP_COL_FILTER, "Status", tx_status}, \
	{"result_code", "ResultCode", T, MP_COL_FILTER, "ResultCode", NULL}, \
	{"result_message", "ResultMessage", T, 0, NULL, NULL}, \
	{"type", "Type", T, txf, "Type", tx_type}, \
	{"nature", "Nature", T, txf, "Nature", tx_nature}, \
	{"credited_wallet_id", "CreditedWalletId", T, RF, "WalletId", NULL}, \
	{"debited_wallet_id", "DebitedWalletId", T, RF, "WalletId", NULL}, \
	{"payment_type", "PaymentType", T, 0, NULL, NULL}, \
	{"alias", "Alias", T, OPT, NULL, NULL}, \
	{"bank_account_id", "BankAccountId", T, OPT, NULL, NULL}, \
	{"bank_wire_ref", "BankWireRef", T, OPT, NULL, NULL}, \
	{"card_id", "CardId", T, OPT, NULL, NULL}, \
	{"card_type", "CardType", T, OPT, NULL, NULL}, \
	{"country", "Country", T, OPT, NULL, NULL}, \
	{"culture", "Culture", T, OPT, NULL, NULL}, \
	{"declared_debited_funds_amount", "DeclaredDebitedFundsAmount", I8, OPT, NULL, NULL, "DeclaredDebitedFunds.Amount"}, \
	{"declared_debited_funds_currency", "DeclaredDebitedFundsCurrency", T, OPT, NULL, NULL, "DeclaredDebitedFunds.Currency"}, \
	{"declared_fees_amount", "DeclaredFeesAmount", I8, OPT, NULL, NULL, "DeclaredFees.Amount"}, \
	{"declared_fees_currency", "DeclaredFeesCurrency", T, OPT, NULL, NULL, "DeclaredFees.Currency"}, \
	{"execution_type", "ExecutionType", T, OPT, NULL, NULL}, \
	{"expiration_date", "ExpirationDate", T, OPT, NULL, NULL}, \
	{"preauthorization_id", "PreauthorizationId", T, OPT, NULL, NULL}, \
	{"wire_reference", "WireReference", T, OPT, NULL, NULL}

static const MpColumnDef transactions_cols[] = {
	LEGACY_TX_COLS(0, MP_COL_FILTER),
	ATTRS_COL
};

/*
 * payouts: Type=PAYOUT and Nature=REGULAR are fixed; lookup columns come
 * from the view of the payout that carries them (spec §5, §11): the mode
 * fields from GET /payouts/bankwire/{Id} (lookup_path), PaymentRef from
 * GET /payouts/{Id} (lookup_path2, MP_COL_VIEW2); EndToEndId is in both
 * (MP_COL_VIEWS).  The bankwire view also serves id = ... and joins on id
 * without a report.
 */
static const MpColumnDef payouts_cols[] = {
	LEGACY_TX_COLS(MP_COL_ID, 0),
	{"mode_requested", "ModeRequested", T, MP_COL_LOOKUP, NULL, NULL},
	{"mode_applied", "ModeApplied", T, MP_COL_LOOKUP, NULL, NULL},
	{"fallback_reason_code", "FallbackReason.Code", T, MP_COL_LOOKUP, NULL, NULL},
	{"fallback_reason_message", "FallbackReason.Message", T, MP_COL_LOOKUP, NULL, NULL},
	{"end_to_end_id", "EndToEndId", T, MP_COL_LOOKUP | MP_COL_VIEWS, NULL, NULL},
	{"payment_ref_reason_type", "PaymentRef.ReasonType", T, MP_COL_LOOKUP | MP_COL_VIEW2, NULL, NULL},
	{"payment_ref_reference_id", "PaymentRef.ReferenceId", T, MP_COL_LOOKUP | MP_COL_VIEW2, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef wallets_cols[] = {
	{"id", "Id", T, 0, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL},
	{"creation_date_iso", "CreationDate:ISO", TS, OPT, NULL, NULL},
	{"owners", "Owners", T, RF, "OwnerId", NULL},
	{"description", "Description", T, 0, NULL, NULL},
	{"balance_amount", "BalanceAmount", I8, MP_COL_RANGE, "BalanceAmount", NULL},
	{"balance_currency", "BalanceCurrency", T, MP_COL_CCY, NULL, NULL},
	{"currency", "Currency", T, RF, "Currency", NULL},
	{"funds_type", "FundsType", T, 0, NULL, NULL},
	/* the balances are those when the report was generated (spec §11) */
	{"balances_at", "ReportDate", TS, MP_COL_REPORTED, NULL, NULL},
	ATTRS_COL
};

#define V2_TX_HEAD \
	{"client_id", "ClientId", T, 0, NULL, NULL}, \
	{"transaction_id", "TransactionId", T, 0, NULL, NULL}, \
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL}, \
	{"creation_date_iso", "CreationDate:ISO", TS, OPT, NULL, NULL}, \
	{"execution_date", "ExecutionDate", TS, 0, NULL, NULL}, \
	{"execution_date_iso", "ExecutionDate:ISO", TS, OPT, NULL, NULL}, \
	{"author_id", "AuthorId", T, 0, NULL, NULL}

static const MpColumnDef user_wallet_tx_cols[] = {
	{"user_id", "UserId", T, MP_COL_KEY, "UserId", NULL},
	{"wallet_id", "WalletId", T, MP_COL_KEY, "WalletId", NULL},
	V2_TX_HEAD,
	{"credited_user_id", "CreditedUserId", T, 0, NULL, NULL},
	{"debited_funds_amount", "DebitedFundsAmount", I8, 0, NULL, NULL},
	{"debited_funds_currency", "DebitedFundsCurrency", T, 0, NULL, NULL},
	{"credited_funds_amount", "CreditedFundsAmount", I8, 0, NULL, NULL},
	{"credited_funds_currency", "CreditedFundsCurrency", T, 0, NULL, NULL},
	{"fees_amount", "FeesAmount", I8, 0, NULL, NULL},
	{"fees_currency", "FeesCurrency", T, 0, NULL, NULL},
	{"type", "Type", T, 0, NULL, tx_type},
	{"nature", "Nature", T, 0, NULL, tx_nature},
	{"credited_wallet_id", "CreditedWalletId", T, 0, NULL, NULL},
	{"debited_wallet_id", "DebitedWalletId", T, 0, NULL, NULL},
	{"bank_account_id", "BankAccountId", T, 0, NULL, NULL},
	{"preauthorization_id", "PreauthorizationId", T, 0, NULL, NULL},
	{"bank_wire_ref", "BankWireRef", T, 0, NULL, NULL},
	{"card_id", "CardId", T, 0, NULL, NULL},
	{"card_alias", "CardAlias", T, 0, NULL, NULL},
	{"card_type", "CardType", T, 0, NULL, NULL},
	{"card_country", "CardCountry", T, 0, NULL, NULL},
	{"card_expiration_date", "CardExpirationDate", T, 0, NULL, NULL},
	{"culture", "Culture", T, 0, NULL, NULL},
	{"declared_debited_funds_amount", "DeclaredDebitedFundsAmount", I8, 0, NULL, NULL},
	{"declared_debited_funds_currency", "DeclaredDebitedFundsCurrency", T, 0, NULL, NULL},
	{"declared_fees_amount", "DeclaredFeesAmount", I8, 0, NULL, NULL},
	{"declared_fees_currency", "DeclaredFeesCurrency", T, 0, NULL, NULL},
	{"execution_type", "ExecutionType", T, 0, NULL, NULL},
	{"payment_type", "PaymentType", T, 0, NULL, NULL},
	{"wire_reference", "WireReference", T, 0, NULL, NULL},
	/* in the newest docs example only: requested only when referenced */
	{"tag", "Tag", T, OPT, NULL, NULL},
	ATTRS_COL
};

static const MpColumnDef collected_fees_cols[] = {
	V2_TX_HEAD,
	{"debited_wallet_id", "DebitedWalletId", T, 0, NULL, NULL},
	{"credited_wallet_id", "CreditedWalletId", T, 0, NULL, NULL},
	{"credited_funds_currency", "CreditedFundsCurrency", T, 0, NULL, NULL},
	{"credited_funds_amount", "CreditedFundsAmount", I8, 0, NULL, NULL},
	{"debited_funds_currency", "DebitedFundsCurrency", T, 0, NULL, NULL},
	{"debited_funds_amount", "DebitedFundsAmount", I8, 0, NULL, NULL},
	{"fees_amount", "FeesAmount", I8, 0, NULL, NULL},
	{"fees_currency", "FeesCurrency", T, RF, "Currency", NULL},
	{"type", "Type", T, 0, NULL, tx_type},
	{"nature", "Nature", T, 0, NULL, tx_nature},
	{"payment_type", "PaymentType", T, 0, NULL, NULL},
	{"tag", "Tag", T, 0, NULL, NULL},
	ATTRS_COL
};

static const char *const echo_intent_status[] = {"AUTHORIZED", "PARTIALLY_CAPTURED", "CAPTURED",
	"CANCELED", "REFUNDED", "REFUND_REVERSED", "DISPUTED", "DEFENDED", "DISPUTED_WON", "DISPUTED_LOST", NULL};
static const char *const echo_intent_type[] = {"PAYIN", "REFUND", "DISPUTE", NULL};
static const char *const echo_settlement_status[] = {"UPLOADED", "CREATED", "UNMATCHED",
	"PARTIALLY_MATCHED", "PENDING_FUNDS_RECEPTION", "INSUFFICIENT_FUNDS", "RECONCILED", "FAILED", NULL};
static const char *const echo_split_status[] = {"CREATED", "PENDING_FUNDS_RECEPTION", "AVAILABLE",
	"PENDING", "COMPLETED", "REJECTED", "FAILED", "REVERSED", NULL};

#define ECHO_INTENT_BODY \
	{"status", "Status", T, RF, "Status", echo_intent_status}, \
	{"amount", "Amount", I8, 0, NULL, NULL}, \
	{"currency", "Currency", T, 0, NULL, NULL}, \
	{"fees_amount", "FeesAmount", I8, 0, NULL, NULL}, \
	{"fees_currency", "FeesCurrency", T, 0, NULL, NULL}, \
	{"type", "Type", T, RF, "Type", echo_intent_type}, \
	{"payment_method", "PaymentMethod", T, RF, "PaymentMethod", NULL}, \
	{"buyer_id", "BuyerId", T, 0, NULL, NULL}, \
	{"seller_id", "SellerId", T, 0, NULL, NULL}

static const MpColumnDef echo_intents_cols[] = {
	{"id", "Id", T, 0, NULL, NULL},
	ECHO_INTENT_BODY,
	ATTRS_COL
};

static const MpColumnDef echo_intent_actions_cols[] = {
	{"intent_id", "IntentId", T, 0, NULL, NULL},
	{"id", "Id", T, 0, NULL, NULL},
	{"external_processing_date", "ExternalProcessingDate", TS, 0, NULL, NULL},
	{"external_provider_reference", "ExternalProviderReference", T, 0, NULL, NULL},
	{"external_merchant_reference", "ExternalMerchantReference", T, 0, NULL, NULL},
	ECHO_INTENT_BODY,
	ATTRS_COL
};

static const MpColumnDef echo_settlements_cols[] = {
	{"id", "Id", T, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL},
	{"creation_date_iso", "CreationDate:ISO", TS, OPT, NULL, NULL},
	{"file_name", "FileName", T, 0, NULL, NULL},
	{"settlement_currency", "SettlementCurrency", T, 0, NULL, NULL},
	{"status", "Status", T, RF, "Status", echo_settlement_status},
	{"settled_transaction_count", "SettledTransactionCount", MP_CK_INT4, 0, NULL, NULL},
	{"unsettled_transaction_count", "UnsettledTransactionCount", MP_CK_INT4, 0, NULL, NULL},
	{"settled_amount", "SettledAmount", I8, 0, NULL, NULL},
	{"declared_amount", "DeclaredAmount", I8, 0, NULL, NULL},
	{"deficit_amount", "DeficitAmount", I8, 0, NULL, NULL},
	{"external_provider_name", "ExternalProviderName", T, RF | OPT, "ExternalProviderName", NULL},
	ATTRS_COL
};

static const MpColumnDef echo_splits_cols[] = {
	{"id", "Id", T, 0, NULL, NULL},
	{"intent_id", "IntentId", T, RF, "IntentId", NULL},
	{"author_id", "AuthorId", T, 0, NULL, NULL},
	{"amount", "Amount", I8, 0, NULL, NULL},
	{"currency", "Currency", T, 0, NULL, NULL},
	{"fees_amount", "FeesAmount", I8, 0, NULL, NULL},
	{"fees_currency", "FeesCurrency", T, 0, NULL, NULL},
	{"status", "Status", T, RF, "Status", echo_split_status},
	{"description", "Description", T, 0, NULL, NULL},
	{"credited_wallet_id", "CreditedWalletId", T, 0, NULL, NULL},
	{"debited_wallet_id", "DebitedWalletId", T, 0, NULL, NULL},
	{"scheduled", "Scheduled", B, 0, NULL, NULL},
	{"creation_date", "CreationDate", TS, MP_COL_DATE, NULL, NULL},
	{"creation_date_iso", "CreationDate:ISO", TS, OPT, NULL, NULL},
	{"execution_date", "ExecutionDate", TS, 0, NULL, NULL},
	{"execution_date_iso", "ExecutionDate:ISO", TS, OPT, NULL, NULL},
	ATTRS_COL
};

#define COLS(a) a, lengthof(a)
/* after days: designated initializers of later fields (.lookup_path2) */
#define REPORT(name, obj, cols, desc, type, v2, path, months, strict, keep, fixed, lookup, days, ...) \
	{name, MP_SRC_REPORT, obj, NULL, NULL, "CreationDate", "CreationDate:ASC", 0, NULL, \
	 COLS(cols), desc, type, v2, path, months, strict, keep, fixed, lookup, days, ##__VA_ARGS__}
#define REPORT_NODATE(name, obj, cols, desc, type) \
	{name, MP_SRC_REPORT, obj, NULL, NULL, NULL, NULL, 0, NULL, \
	 COLS(cols), desc, type, true, "/reporting/reports", 12, true, 24, NULL, NULL, 0}

/*
 * The list of every resource: IMPORT FOREIGN SCHEMA creates them in this
 * order.  Report-backed tables (transactions, payouts, wallets and the
 * Reporting Service types) are described in report descriptors.
 */
static const MpResource resources[] = {
	REPORT("transactions", "transaction", transactions_cols,
		   "every transaction of the platform (legacy TRANSACTIONS report)",
		   "TRANSACTIONS", false, "/reports/transactions", 6, false, 36, NULL, NULL, 181),
	REPORT("payouts", "payout", payouts_cols,
		   "payouts (TRANSACTIONS report with Type=PAYOUT, Nature=REGULAR; lookups from GET /payouts/bankwire/{Id} and GET /payouts/{Id})",
		   "TRANSACTIONS", false, "/reports/transactions", 6, false, 36,
		   "{\"Type\":[\"PAYOUT\"],\"Nature\":[\"REGULAR\"]}", "/payouts/bankwire/{id}", 181,
		   .lookup_path2 = "/payouts/{id}"),
	REPORT("wallets", "wallet", wallets_cols,
		   "user and client wallets, with their balances when the report is generated; the date range selects wallets by creation date (legacy WALLETS report)",
		   "WALLETS", false, "/reports/wallets", 24, false, 156, NULL, NULL, 0),
	REPORT("user_wallet_transactions", "user wallet transaction", user_wallet_tx_cols,
		   "SUCCEEDED transactions of one user or wallet (Reporting Service USER_WALLET_TRANSACTIONS)",
		   "USER_WALLET_TRANSACTIONS", true, "/reporting/reports", 12, true, 24, NULL, NULL, 0),
	REPORT("collected_fees", "collected fee", collected_fees_cols,
		   "fees collected by the platform (Reporting Service COLLECTED_FEES)",
		   "COLLECTED_FEES", true, "/reporting/reports", 12, true, 24, NULL, NULL, 0),
	REPORT("echo_settlements", "Echo settlement", echo_settlements_cols,
		   "Echo settlements (Reporting Service ECHO_SETTLEMENT)",
		   "ECHO_SETTLEMENT", true, "/reporting/reports", 12, true, 24, NULL, NULL, 0),
	REPORT_NODATE("echo_intents", "Echo intent", echo_intents_cols,
				  "Echo intents (Reporting Service ECHO_INTENT)", "ECHO_INTENT"),
	REPORT_NODATE("echo_intent_actions", "Echo intent action", echo_intent_actions_cols,
				  "Echo intent actions (Reporting Service ECHO_INTENT_ACTION)", "ECHO_INTENT_ACTION"),
	REPORT("echo_splits", "Echo split", echo_splits_cols,
		   "Echo splits (Reporting Service ECHO_SPLIT)",
		   "ECHO_SPLIT", true, "/reporting/reports", 12, true, 24, NULL, NULL, 0),
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
	"the platform's FEES and CREDIT wallets (GET /clients/wallets)",
	.typical_rows = 12},
	{"client_wallet_transactions", MP_SRC_LIST, "client wallet transaction",
		"/clients/wallets/{0}/{1}/transactions", NULL,
		"CreationDate", "CreationDate:ASC", 0, "/clients/wallets", COLS(client_wallet_tx_cols),
		"transactions of the client wallets (GET /clients/wallets/{FundsType}/{Currency}/transactions)",
	.child_retention_months = 13},
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
	{"payins", MP_SRC_BYID, "pay-in", NULL, "/payins/{id}",
		NULL, NULL, 0, NULL, COLS(payins_cols),
	"pay-ins, by id (GET /payins/{Id}); older than 13 months: no row"},
	{"transfers", MP_SRC_BYID, "transfer", NULL, "/transfers/{id}",
		NULL, NULL, 0, NULL, COLS(transfers_cols),
	"transfers between wallets, by id (GET /transfers/{Id}); older than 13 months: no row"},
	{"conversions", MP_SRC_BYID, "conversion", NULL, "/conversions/{id}",
		NULL, NULL, 0, NULL, COLS(conversions_cols),
	"currency conversions, by id (GET /conversions/{Id}); older than 13 months: no row"},
	{"users", MP_SRC_LIST, "user", "/users", "/users/{id}",
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(users_cols),
	"natural and legal users (GET /users), by id (GET /users/{Id})"},
	{"user_wallets", MP_SRC_LIST, "user wallet", "/users/{0}/wallets", "/wallets/{id}",
		NULL, NULL, 0, NULL, COLS(user_wallets_cols),
	"user wallets and their balance now, by id (GET /wallets/{Id}) or by user (GET /users/{UserId}/wallets)",
	.sca = true},
	{"payin_refunds", MP_SRC_LIST, "pay-in refund", "/payins/{0}/refunds", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(payin_refunds_cols),
	"refunds of a pay-in (GET /payins/{PayInId}/refunds)"},
	{"transfer_refunds", MP_SRC_LIST, "transfer refund", "/transfers/{0}/refunds", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(transfer_refunds_cols),
	"refunds of a transfer (GET /transfers/{TransferId}/refunds)"},
	{"payout_refunds", MP_SRC_LIST, "payout refund", "/payouts/{0}/refunds", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(payout_refunds_cols),
	"refunds (bank returns) of a payout (GET /payouts/{PayOutId}/refunds)"},
	{"repudiation_refunds", MP_SRC_LIST, "repudiation refund", "/repudiations/{0}/refunds", NULL,
		NULL, NULL, 0, NULL, COLS(repudiation_refunds_cols),
	"refunds of a repudiation (GET /repudiations/{RepudiationId}/refunds)"},
	{"dispute_transactions", MP_SRC_LIST, "dispute transaction", "/disputes/{0}/transactions", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(dispute_transactions_cols),
		"the repudiation and settlement transfers of a dispute (GET /disputes/{DisputeId}/transactions)",
	.child_retention_months = 13},
	{"bank_account_transactions", MP_SRC_LIST, "bank account transaction", "/bankaccounts/{0}/transactions", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(bank_account_transactions_cols),
		"the payouts to a legacy bank account and the pay-ins debited from it (GET /bankaccounts/{BankAccountId}/transactions)",
		.parent_404_hint = "A payout's bank_account_id is now usually a Recipient id (rec_...), which the bank account endpoints do not serve: read the payee from recipients (WHERE id = ...) and its payouts from payouts (WHERE bank_account_id = ...).",
	.child_retention_months = 13},
	{"dispute_documents_by_dispute", MP_SRC_LIST, "dispute document", "/disputes/{0}/documents", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(dispute_documents_by_dispute_cols),
	"the documents of a dispute (GET /disputes/{DisputeId}/documents)"},
	{"user_disputes", MP_SRC_LIST, "dispute", "/users/{0}/disputes", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(user_disputes_cols),
	"disputes of a user (GET /users/{UserId}/disputes)"},
	{"wallet_disputes", MP_SRC_LIST, "dispute", "/wallets/{0}/disputes", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(wallet_disputes_cols),
	"disputes of a wallet (GET /wallets/{WalletId}/disputes)"},
	{"payin_disputes", MP_SRC_LIST, "dispute", "/payins/{0}/disputes", NULL,
		"CreationDate", "CreationDate:ASC", 0, NULL, COLS(payin_disputes_cols),
	"disputes of a pay-in (GET /payins/{PayInId}/disputes)"},
	{"recipients", MP_SRC_BYID, "recipient", NULL, "/recipients/{id}",
		NULL, NULL, 0, NULL, COLS(recipients_cols),
	"payees of payouts, by id: Recipients and legacy bank accounts (GET /recipients/{RecipientId})"},
	{"user_recipients", MP_SRC_LIST, "recipient", "/users/{0}/recipients", NULL,
		NULL, NULL, 0, NULL, COLS(user_recipients_cols),
	"the recipients (payees) of a user (GET /users/{UserId}/recipients)"},
	{"user_regulatory", MP_SRC_LIST, "user regulatory status", "/users/{0}/regulatory", NULL,
		NULL, NULL, 0, NULL, COLS(user_regulatory_cols),
		"whether a user's inflows and outflows are blocked, and why (GET /users/{UserId}/regulatory)",
	.list_object = true},
	{"user_emoney", MP_SRC_LIST, "user e-money month", "/users/{0}/emoney/{1}", NULL,
		NULL, NULL, 0, NULL, COLS(user_emoney_cols),
	"a user's credited and debited e-money per month (GET /users/{UserId}/emoney/{Year}/{Month})",
	.list_object = true},
	{"conversion_rates", MP_SRC_LIST, "conversion rate", "/conversions/rate/{0}/{1}", NULL,
		NULL, NULL, 0, NULL, COLS(conversion_rates_cols),
	"MangoPay's indicative rate now for a currency pair (GET /conversions/rate/{DebitedCurrency}/{CreditedCurrency})",
	.list_object = true, .keys_differ = true},
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

/*
 * The single-object endpoint that reads one row by id: a list resource's
 * own, a by-id resource's, or a report table's lookup endpoint (payouts)
 * when its id column is marked as the key of it.  NULL when none.
 */
const char *
mp_resource_id_path(const MpResource *res)
{
	if (res->single_path)
		return res->single_path;
	if (res->source == MP_SRC_REPORT && res->lookup_path)
		for (int i = 0; i < res->ncols; i++)
			if (res->cols[i].flags & MP_COL_ID)
				return res->lookup_path;
	return NULL;
}

/* the views of a lookup column (MP_VIEW_1 | MP_VIEW_2), 0 for another column */
int
mp_lookup_views(const MpColumnDef *col)
{
	if (!(col->flags & MP_COL_LOOKUP))
		return 0;
	if (col->flags & MP_COL_VIEWS)
		return MP_VIEW_1 | MP_VIEW_2;
	return (col->flags & MP_COL_VIEW2) ? MP_VIEW_2 : MP_VIEW_1;
}

/* a row's need of views, given one more lookup column it reads */
int
mp_lookup_need(int need, const MpColumnDef *col)
{
	int			v = mp_lookup_views(col);

	return need | (v == (MP_VIEW_1 | MP_VIEW_2) ? MP_VIEW_EITHER : v);
}

/*
 * The views a row GETs for its need: each view a column is only in; a
 * column both carry is read from one of those, or the first view alone.
 */
int
mp_lookup_fetch(int need)
{
	int			v = need & (MP_VIEW_1 | MP_VIEW_2);

	return v ? v : (need & MP_VIEW_EITHER) ? MP_VIEW_1 : 0;
}

const char *
mp_lookup_view_path(const MpResource *res, int view)
{
	return view == MP_VIEW_2 ? res->lookup_path2 : res->lookup_path;
}

/* "GET a<sep>GET b" for the views in the mask */
char *
mp_lookup_views_text(const MpResource *res, int views, const char *sep)
{
	char	   *t = NULL;

	for (int v = MP_VIEW_1; v <= MP_VIEW_2; v <<= 1)
		if ((views & v) && mp_lookup_view_path(res, v))
			t = t ? psprintf("%s%sGET %s", t, sep, mp_lookup_view_path(res, v)) :
				psprintf("GET %s", mp_lookup_view_path(res, v));
	return t ? t : pstrdup("");
}

const MpColumnDef *
mp_resource_id_column(const MpResource *res)
{
	if (mp_resource_id_path(res) == NULL)
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

/*
 * The rows a scan of the table without conditions typically returns, for
 * the planner when ANALYZE has not counted them: its descriptor's
 * typical_rows, else a report's or a list's usual size.
 */
double
mp_resource_typical_rows(const MpResource *res)
{
	if (res->typical_rows > 0)
		return res->typical_rows;
	return res->source == MP_SRC_REPORT ? 100000.0 : 1000.0;
}

/* the table is read per parent and has no list of the parents */
bool
mp_resource_needs_parents(const MpResource *res)
{
	return res->source == MP_SRC_LIST && mp_resource_key_count(res) > 0 &&
		res->enumerate_path == NULL;
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
		case MP_CK_DATE:
			return "date";
		case MP_CK_PRESENT:
			return "boolean";
		case MP_CK_NUMERIC:
			return "numeric";
	}
	return "text";
}

/* ------------------------------------------------------------------------
 * change capture: the event types (GET /events) that say an object of a
 * table changed; the event's ResourceId is the object's id (spec §5, §6:
 * the webhook types).  mangopay_fdw_sync() reads them through
 * mangopay_fdw_change_events().
 * ------------------------------------------------------------------------ */
static const char *const ev_payouts[] = {"PAYOUT_NORMAL_CREATED", "PAYOUT_NORMAL_SUCCEEDED",
	"PAYOUT_NORMAL_FAILED", "INSTANT_PAYOUT_SUCCEEDED", "INSTANT_PAYOUT_FALLBACKED",
	"INSTANT_PAYOUT_FAILED", NULL};
static const char *const ev_payins[] = {"PAYIN_NORMAL_CREATED", "PAYIN_NORMAL_SUCCEEDED",
	"PAYIN_NORMAL_FAILED", "PAYIN_NORMAL_PROCESSING_STATUS_PENDING_SUCCEEDED", NULL};
static const char *const ev_transfers[] = {"TRANSFER_NORMAL_CREATED", "TRANSFER_NORMAL_SUCCEEDED",
	"TRANSFER_NORMAL_FAILED", NULL};
static const char *const ev_refunds[] = {"PAYIN_REFUND_CREATED", "PAYIN_REFUND_SUCCEEDED",
	"PAYIN_REFUND_FAILED", "TRANSFER_REFUND_CREATED", "TRANSFER_REFUND_SUCCEEDED",
	"TRANSFER_REFUND_FAILED", "PAYOUT_REFUND_CREATED", "PAYOUT_REFUND_SUCCEEDED",
	"PAYOUT_REFUND_FAILED", NULL};
static const char *const ev_repudiations[] = {"PAYIN_REPUDIATION_CREATED",
	"PAYIN_REPUDIATION_SUCCEEDED", "PAYIN_REPUDIATION_FAILED", NULL};
static const char *const ev_settlements[] = {"TRANSFER_SETTLEMENT_CREATED",
	"TRANSFER_SETTLEMENT_SUCCEEDED", "TRANSFER_SETTLEMENT_FAILED", NULL};
static const char *const ev_disputes[] = {"DISPUTE_CREATED", "DISPUTE_ACTION_REQUIRED",
	"DISPUTE_SUBMITTED", "DISPUTE_SENT_TO_BANK", "DISPUTE_FURTHER_ACTION_REQUIRED",
	"DISPUTE_CLOSED", NULL};
static const char *const ev_dispute_documents[] = {"DISPUTE_DOCUMENT_CREATED",
	"DISPUTE_DOCUMENT_VALIDATION_ASKED", "DISPUTE_DOCUMENT_SUCCEEDED",
	"DISPUTE_DOCUMENT_FAILED", NULL};

#define MP_EVENT_LISTS 6
static const struct
{
	const char *table;
	const char *const *lists[MP_EVENT_LISTS];	/* NULL-terminated lists */
}			event_map[] = {
	{"transactions", {ev_payins, ev_transfers, ev_payouts, ev_refunds, ev_repudiations, ev_settlements}},
	{"payouts", {ev_payouts}},
	{"payins", {ev_payins}},
	{"transfers", {ev_transfers}},
	{"refunds", {ev_refunds}},
	{"repudiations", {ev_repudiations}},
	{"settlement_transfers", {ev_settlements}},
	{"disputes", {ev_disputes}},
	{"dispute_documents", {ev_dispute_documents}},
};

/*
 * The event types that say an object of res changed, into types[] (at most
 * max); returns how many (0: the table has no change events).
 */
int
mp_resource_event_types(const MpResource *res, const char **types, int max)
{
	int			n = 0;

	for (int i = 0; i < lengthof(event_map); i++)
	{
		if (strcmp(event_map[i].table, res->name) != 0)
			continue;
		for (int l = 0; l < MP_EVENT_LISTS && event_map[i].lists[l]; l++)
			for (const char *const *t = event_map[i].lists[l]; *t && n < max; t++)
				types[n++] = *t;
	}
	return n;
}
