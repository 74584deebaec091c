"""Deterministic seed data for the MangoPay mock (standard library only).

Everything here is derived from random.Random(seed) and the time anchor T0
("today 00:00 UTC" when the server starts), so two mocks started on the same
day with the same seed serve byte-identical data, and the number of records in
any date window does not depend on the hour the server was started.  All seeded
records are strictly older than T0.

Section references (§n) point at /work/shared/spec/mangopay-api.md.
"""

import bisect
import calendar
import datetime as _dt
import decimal
import random
import re
import time

from mock_common import RawNumber

# ---------------------------------------------------------------------------
# constants / enums (spec §2, §3, §5, §6, §7)

CURRENCIES = ["EUR", "GBP", "USD", "PLN", "JPY", "CHF"]      # client wallets
CCY_WEIGHTS = [55, 12, 12, 7, 7, 7]
# minor units per major unit; JPY has no minor unit (§7)
CCY_EXP = {"EUR": 2, "GBP": 2, "USD": 2, "PLN": 2, "JPY": 0, "CHF": 2}
# fixed "rates" to EUR used for conversions
CCY_RATE = {"EUR": 1.0, "GBP": 0.85, "USD": 1.08, "PLN": 4.3, "JPY": 160.0, "CHF": 0.95}
# ... and for the rates the API quotes, every supported currency (§7)
FX_RATE = dict(CCY_RATE, AED=3.97, AUD=1.64, CAD=1.48, CZK=25.2, DKK=7.46, HKD=8.44, NOK=11.6,
               SEK=11.3, ZAR=19.9)

FUNDS_TYPES = ["FEES", "CREDIT"]

DISPUTE_TYPES = ["CONTESTABLE", "NOT_CONTESTABLE", "RETRIEVAL"]
DISPUTE_STATUSES = ["CREATED", "PENDING_CLIENT_ACTION", "SUBMITTED", "PENDING_BANK_ACTION",
                    "REOPENED_PENDING_CLIENT_ACTION", "CLOSED"]
DISPUTE_RESULT_CODES = ["WON", "LOST", "VOID"]
DISPUTE_REASON_TYPES = [
    "DUPLICATE", "FRAUD", "PRODUCT_UNACCEPTABLE", "UNKNOWN", "OTHER", "REFUND_CONVERSION_RATE",
    "LATE_FAILURE_INSUFFICIENT_FUNDS", "LATE_FAILURE_CONTACT_USER",
    "LATE_FAILURE_BANKACCOUNT_CLOSED", "LATE_FAILURE_BANKACCOUNT_INCOMPATIBLE",
    "LATE_FAILURE_BANKACCOUNT_INCORRECT", "AUTHORISATION_DISPUTED", "TRANSACTION_NOT_RECOGNIZED",
    "PRODUCT_NOT_PROVIDED", "CANCELED_REOCCURING_TRANSACTION", "REFUND_NOT_PROCESSED",
    "COUNTERFEIT_PRODUCT"]
DOC_TYPES = ["DELIVERY_PROOF", "INVOICE", "REFUND_PROOF", "USER_CORRESPONDANCE",
             "USER_ACCEPTANCE_PROOF", "PRODUCT_REPLACEMENT_PROOF", "OTHER"]
DOC_STATUSES = ["CREATED", "VALIDATION_ASKED", "VALIDATED", "REFUSED", "OUT_OF_DATE"]
DOC_REFUSED_REASONS = ["DOCUMENT_UNREADABLE", "DOCUMENT_NOT_ACCEPTED", "DOCUMENT_HAS_EXPIRED",
                       "DOCUMENT_INCOMPLETE", "DOCUMENT_MISSING", "SPECIFIC_CASE",
                       "DOCUMENT_FALSIFIED", "OTHER"]

TX_TYPES = ["PAYIN", "TRANSFER", "CONVERSION", "PAYOUT"]
TX_STATUSES = ["CREATED", "SUCCEEDED", "FAILED"]
TX_NATURES = ["REGULAR", "REPUDIATION", "REFUND", "SETTLEMENT"]

REFUND_REASONS = ["INITIALIZED_BY_CLIENT", "BANKACCOUNT_INCORRECT", "BANKACCOUNT_HAS_BEEN_CLOSED",
                  "OWNER_DO_NOT_MATCH_BANKACCOUNT", "WITHDRAWAL_IMPOSSIBLE_ON_SAVINGS_ACCOUNTS",
                  "OTHER", "AC06_BLOCKED_BANKACCOUNT"]

# §3 payout failure codes (messages are plausible wording, not verbatim)
PAYOUT_FAIL = [
    ("121001", "The bank wire has been refused"),
    ("121002", "The author is not the wallet owner"),
    ("121003", "Insufficient wallet balance"),
    ("121004", "Specific case: please contact us"),
    ("121005", "Refused due to the Fraud Policy"),
    ("121006", "The associated bank account is not active"),
    ("121007", "The author is not the bank account owner"),
    ("121009", "The payout has expired"),
    ("121010", "Further analysis of the payout is required"),
    ("121012", "Inappropriate bank account type"),
    ("121030", "Verification of Payee: name mismatch"),
    ("121999", "Generic payout error"),
    ("001001", "Unsufficient wallet balance"),
    ("001999", "Generic Operation error"),
    ("002998", "The bank account needs to be KYC verified"),
    ("002999", "Blocked due to a Debited User's KYC limitations"),
]
PAYIN_FAIL = [
    ("101001", "The user does not complete transaction"),
    ("101101", "Transaction refused by the bank (Do not honor)"),
    ("101105", "Transaction refused by the bank (Card expired)"),
    ("101106", "Transaction refused by the bank (Card inactive)"),
    ("101410", "The card is not active"),
    ("008999", "Fraud policy error"),
]
TRANSFER_FAIL = [("001001", "Unsufficient wallet balance"), ("001999", "Generic Operation error")]
FALLBACK_REASONS = [("001999", "Generic Operation error"),
                    ("002001", "Instant payment not supported by the recipient bank"),
                    ("002002", "Instant payment amount limit exceeded")]

# Webhook/event types (DOCS webhooks/event-types.mdx, PHP EventType.php) - the
# /events EventType filter validates against this list.
EVENT_TYPES = [
    "USER_INFLOWS_BLOCKED", "USER_INFLOWS_UNBLOCKED", "USER_OUTFLOWS_BLOCKED",
    "USER_OUTFLOWS_UNBLOCKED", "USER_ACCOUNT_VALIDATION_ASKED", "USER_ACCOUNT_ACTIVATED",
    "USER_KYC_LIGHT", "USER_KYC_REGULAR", "LEGAL_COMPANY_NUMBER_VALIDATION_FAILED",
    "LEGAL_COMPANY_NUMBER_VALIDATION_SUCCEEDED", "KYC_CREATED", "KYC_FAILED", "KYC_OUTDATED",
    "KYC_SUCCEEDED", "KYC_VALIDATION_ASKED", "UBO_DECLARATION_CREATED",
    "UBO_DECLARATION_INCOMPLETE", "UBO_DECLARATION_REFUSED", "UBO_DECLARATION_VALIDATED",
    "UBO_DECLARATION_VALIDATION_ASKED", "PAYIN_NORMAL_CREATED", "PAYIN_NORMAL_FAILED",
    "PAYIN_NORMAL_SUCCEEDED", "CARD_VALIDATION_CREATED", "CARD_VALIDATION_FAILED",
    "CARD_VALIDATION_SUCCEEDED", "RECURRING_REGISTRATION_AUTH_NEEDED",
    "RECURRING_REGISTRATION_CREATED", "RECURRING_REGISTRATION_ENDED",
    "RECURRING_REGISTRATION_IN_PROGRESS", "PREAUTHORIZATION_CREATED", "PREAUTHORIZATION_FAILED",
    "PREAUTHORIZATION_PAYMENT_CANCELED", "PREAUTHORIZATION_PAYMENT_EXPIRED",
    "PREAUTHORIZATION_PAYMENT_VALIDATED", "PREAUTHORIZATION_PAYMENT_WAITING",
    "PREAUTHORIZATION_SUCCEEDED", "DEPOSIT_PREAUTHORIZATION_CREATED",
    "DEPOSIT_PREAUTHORIZATION_FAILED", "DEPOSIT_PREAUTHORIZATION_PAYMENT_CANCEL_REQUESTED",
    "DEPOSIT_PREAUTHORIZATION_PAYMENT_CANCELED", "DEPOSIT_PREAUTHORIZATION_PAYMENT_EXPIRED",
    "DEPOSIT_PREAUTHORIZATION_PAYMENT_FAILED", "DEPOSIT_PREAUTHORIZATION_PAYMENT_NO_SHOW",
    "DEPOSIT_PREAUTHORIZATION_PAYMENT_NO_SHOW_REQUESTED",
    "DEPOSIT_PREAUTHORIZATION_PAYMENT_TO_BE_COMPLETED",
    "DEPOSIT_PREAUTHORIZATION_PAYMENT_VALIDATED", "DEPOSIT_PREAUTHORIZATION_PAYMENT_WAITING",
    "PAYIN_NORMAL_PROCESSING_STATUS_PENDING_SUCCEEDED", "MANDATE_CREATED", "MANDATE_ACTIVATED",
    "MANDATE_EXPIRED", "MANDATE_FAILED", "MANDATE_SUBMITTED", "MANDATED_FAILED",
    "TRANSFER_NORMAL_CREATED", "TRANSFER_NORMAL_FAILED", "TRANSFER_NORMAL_SUCCEEDED",
    "PAYIN_REFUND_CREATED", "PAYIN_REFUND_FAILED", "PAYIN_REFUND_SUCCEEDED",
    "TRANSFER_REFUND_CREATED", "TRANSFER_REFUND_FAILED", "TRANSFER_REFUND_SUCCEEDED",
    "PAYOUT_REFUND_CREATED", "PAYOUT_REFUND_FAILED", "PAYOUT_REFUND_SUCCEEDED",
    "DISPUTE_ACTION_REQUIRED", "DISPUTE_CLOSED", "DISPUTE_CREATED",
    "DISPUTE_FURTHER_ACTION_REQUIRED", "DISPUTE_SENT_TO_BANK", "DISPUTE_SUBMITTED",
    "DISPUTE_DOCUMENT_CREATED", "DISPUTE_DOCUMENT_FAILED", "DISPUTE_DOCUMENT_SUCCEEDED",
    "DISPUTE_DOCUMENT_VALIDATION_ASKED", "PAYIN_REPUDIATION_CREATED", "PAYIN_REPUDIATION_FAILED",
    "PAYIN_REPUDIATION_SUCCEEDED", "TRANSFER_SETTLEMENT_CREATED", "TRANSFER_SETTLEMENT_FAILED",
    "TRANSFER_SETTLEMENT_SUCCEEDED", "PAYOUT_NORMAL_CREATED", "PAYOUT_NORMAL_FAILED",
    "PAYOUT_NORMAL_SUCCEEDED", "INSTANT_PAYOUT_FAILED", "INSTANT_PAYOUT_FALLBACKED",
    "INSTANT_PAYOUT_SUCCEEDED", "COUNTRY_AUTHORIZATION_UPDATED", "REPORT_GENERATED",
    "REPORT_FAILED",
]

# ---------------------------------------------------------------------------
# awkward text (brief: commas, quotes, backslashes, tabs, LF, CRLF, non-ASCII,
# leading/trailing spaces, literal NULL, empty string, 5,000 chars)

LONG_5000 = ("0123456789abcdefghij" * 250)  # exactly 5000 chars
assert len(LONG_5000) == 5000
AWKWARD_ALL = (' all, the "awkward" \'chars\' back\\slash \\N tab\there LF\nhere CRLF\r\nhere '
               'é ü € 日本語 🎉 NULL ')
AWKWARD = [
    "comma, separated, value",
    'double "quoted" text',
    "single 'quoted' text",
    "back\\slash C:\\temp\\ and \\N",
    "tab\tseparated\tvalue",
    "line one\nline two",
    "crlf line\r\nsecond line",
    "non-ASCII é ü € 日本語 🎉",
    "  leading and trailing spaces  ",
    "NULL",
    "",
    LONG_5000,
    AWKWARD_ALL,
    "semi;colon|pipe and {\"json\": [1,2]}",
]


# ---------------------------------------------------------------------------
# time helpers

def today_midnight_utc(now=None):
    d = _dt.datetime.fromtimestamp(now if now is not None else time.time(), _dt.timezone.utc)
    return int(calendar.timegm((d.year, d.month, d.day, 0, 0, 0)))


def parse_anchor(text, now=None):
    """T0 from --anchor: None/'' = today 00:00 UTC, 'now' = this second,
    Unix seconds, or ISO 8601 UTC 'YYYY-MM-DD[THH:MM[:SS]][Z]'."""
    now = time.time() if now is None else now
    if text is None or text == "":
        return today_midnight_utc(now)
    text = text.strip()
    if text == "now":
        return int(now)
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    m = re.fullmatch(r"(\d{4})-(\d\d)-(\d\d)(?:[T ](\d\d):(\d\d)(?::(\d\d))?)?(?:Z|\+00:?00)?", text)
    if not m:
        raise ValueError("--anchor: not Unix seconds nor YYYY-MM-DD[THH:MM[:SS]][Z]: %r" % text)
    y, mo, d, h, mi, sec = (int(g or 0) for g in m.groups())
    try:
        _dt.datetime(y, mo, d, h, mi, sec)
    except ValueError as e:
        raise ValueError("--anchor: %r: %s" % (text, e))
    return int(calendar.timegm((y, mo, d, h, mi, sec)))


def add_months(ts, months):
    """Calendar month arithmetic on a UTC Unix timestamp (day clamped)."""
    d = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    m = d.month - 1 + months
    y = d.year + m // 12
    m = m % 12 + 1
    day = min(d.day, calendar.monthrange(y, m)[1])
    return int(calendar.timegm((y, m, day, d.hour, d.minute, d.second)))


def end_of_day(ts):
    return ts - ts % 86400 + 86399


def iso_legacy(ts):
    """Legacy report ':ISO' columns: dd/MM/yyyy HH:mm:ss (UTC) - §4a."""
    if ts is None:
        return None
    d = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return "%02d/%02d/%04d %02d:%02d:%02d" % (d.day, d.month, d.year, d.hour, d.minute, d.second)


def iso_reporting(ts):
    """Reporting Service ':ISO' columns: format undocumented (§4c) - guessed ISO 8601."""
    if ts is None:
        return None
    d = _dt.datetime.fromtimestamp(ts, _dt.timezone.utc)
    return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (d.year, d.month, d.day, d.hour, d.minute, d.second)


_CROCK = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def ulid(ts, rng):
    """ULID-like id body (26 Crockford base32 chars, time-ordered) - §7 ids."""
    t = int(ts) * 1000 + rng.randrange(1000)
    r = rng.getrandbits(80)
    out = []
    for _ in range(16):
        out.append(_CROCK[r & 31])
        r >>= 5
    for _ in range(10):
        out.append(_CROCK[t & 31])
        t >>= 5
    return "".join(reversed(out))


def fixed_ulid(n):
    """Readable fixed ULID-like body for the documented test records."""
    s = "01JQ" + "0" * 18 + "%04d" % n
    assert len(s) == 26
    return s


def money(ccy, amount):
    return {"Currency": ccy, "Amount": amount}


def rand_amount(rng, ccy, lo=100, hi=500000):
    a = rng.randint(lo, hi)
    if CCY_EXP[ccy] == 0:
        a = max(1, a // 10) * 10   # yen amounts, whole units
    return a


# ---------------------------------------------------------------------------
# the ledger: every platform transaction, flat (report-column names, §4a)

LEDGER_FIELDS = [
    # legacy TRANSACTIONS report columns (minus the derived :ISO ones)
    "Id", "Tag", "CreationDate", "ExecutionDate", "AuthorId", "CreditedUserId",
    "DebitedFundsAmount", "DebitedFundsCurrency", "CreditedFundsAmount", "CreditedFundsCurrency",
    "FeesAmount", "FeesCurrency", "Status", "ResultCode", "ResultMessage", "Type", "Nature",
    "CreditedWalletId", "DebitedWalletId", "PaymentType", "ExecutionType", "BankAccountId",
    "BankWireRef", "CardId", "CardType", "Alias", "Country", "Culture",
    "DeclaredDebitedFundsAmount", "DeclaredDebitedFundsCurrency", "DeclaredFeesAmount",
    "DeclaredFeesCurrency", "PreauthorizationId", "WireReference", "ExpirationDate",
    # extras used by the JSON views only
    "InitialTransactionId", "InitialTransactionType", "InitialTransactionNature",
    "RefundReasonType", "RefundReasonMessage", "RepudiationId", "ModeRequested", "ModeApplied",
    "FallbackCode", "FallbackMessage", "EndToEndId", "PaymentRef", "StatementDescriptor",
    "DepositId",
]
LF = {name: i for i, name in enumerate(LEDGER_FIELDS)}
NF = len(LEDGER_FIELDS)

LEGACY_TX_COLUMNS = [
    "Alias", "AuthorId", "BankAccountId", "BankWireRef", "CardId", "CardType", "Country",
    "CreationDate", "CreationDate:ISO", "CreditedFundsAmount", "CreditedFundsCurrency",
    "CreditedUserId", "CreditedWalletId", "Culture", "DebitedFundsAmount", "DebitedFundsCurrency",
    "DebitedWalletId", "DeclaredDebitedFundsAmount", "DeclaredDebitedFundsCurrency",
    "DeclaredFeesAmount", "DeclaredFeesCurrency", "ExecutionDate", "ExecutionDate:ISO",
    "ExecutionType", "ExpirationDate", "FeesAmount", "FeesCurrency", "Id", "Nature",
    "PaymentType", "PreauthorizationId", "ResultCode", "ResultMessage", "Status", "Tag", "Type",
    "WireReference"]
LEGACY_TX_DEFAULT = ["Id", "Tag", "CreationDate", "ExecutionDate", "AuthorId", "CreditedUserId",
                     "DebitedFundsAmount", "DebitedFundsCurrency", "CreditedFundsAmount",
                     "CreditedFundsCurrency", "FeesAmount", "FeesCurrency", "Status", "ResultCode",
                     "ResultMessage", "Type", "Nature", "CreditedWalletId", "DebitedWalletId"]
WALLET_FIELDS = ["Id", "Tag", "CreationDate", "Owners", "Description", "BalanceAmount",
                 "BalanceCurrency", "Currency", "FundsType"]
WF = {name: i for i, name in enumerate(WALLET_FIELDS)}
LEGACY_WALLET_COLUMNS = ["Id", "Tag", "CreationDate", "CreationDate:ISO", "Owners",
                         "Description", "BalanceAmount", "BalanceCurrency", "Currency", "FundsType"]
LEGACY_WALLET_DEFAULT = ["Id", "Tag", "CreationDate", "Owners", "Description", "BalanceAmount",
                         "BalanceCurrency", "Currency", "FundsType"]

CARD_TYPES = ["CB_VISA_MASTERCARD", "CB_VISA_MASTERCARD", "CB_VISA_MASTERCARD", "AMEX",
              "MAESTRO", "P24", "IDEAL", "BCMC"]
COUNTRIES = ["FR", "DE", "GB", "ES", "IT", "NL", "BE", "PL", "JP", "CH", "US", "IE"]
CULTURES = ["FR", "EN", "DE", "ES", "IT", "NL", "PL"]


def _tag(rng, p_awk=0.03, p_none=0.45, prefix="order-"):
    r = rng.random()
    if r < p_awk:
        return AWKWARD[rng.randrange(len(AWKWARD))]
    if r < p_awk + p_none:
        return None
    return "%s%d" % (prefix, rng.randrange(1000, 999999))


class Store:
    """All seeded collections. Objects are stored exactly as the API renders them."""

    def __init__(self, seed=42, t0=None, n_disputes=3000, client_id="acme-test",
                 n_ledger=60000, n_wallets=2000):
        self.seed = seed
        self.t0 = t0 if t0 is not None else today_midnight_utc()
        self.client_id = client_id
        self.rng = random.Random(seed)
        # §5/§8: transaction objects are readable for 13 months after CreationDate,
        # then GET returns 404 and lists omit them.  Anchored at T0.
        self.retention_cutoff = add_months(self.t0, -13)
        self.n_disputes = n_disputes
        self.n_ledger = n_ledger
        self.n_wallets = n_wallets
        self._gen_wallets()
        self._gen_ledger()
        self._gen_disputes()
        self._gen_client_wallet_txs()
        self._link_disputes()
        self._finish_ledger()
        self._gen_docs()
        self._build_views()
        self._gen_events()
        self._gen_reports()

    # ------------------------------------------------------------------ users/wallets
    def _gen_wallets(self):
        rng = random.Random(self.seed * 7 + 1)
        start = add_months(self.t0, -48)
        span = self.t0 - 86400 * 2 - start
        times = sorted(start + rng.randrange(span) for _ in range(self.n_wallets))
        wallets = []
        old_cut = add_months(self.t0, -30)
        users = []
        for i, t in enumerate(times):
            # users own 1-2 wallets; older objects have numeric ids (§7)
            if users and rng.random() < 0.3:
                uid = users[rng.randrange(max(0, len(users) - 50), len(users))]
            else:
                uid = ("%d" % (140000000 + i * 1013)) if t < old_cut else "user_m_" + ulid(t - 60, rng)
                users.append(uid)
            wid = ("%d" % (150000000 + i * 997)) if t < old_cut else "wlt_m_" + ulid(t, rng)
            ccy = rng.choices(CURRENCIES, CCY_WEIGHTS)[0]
            desc = rng.choice(["Main wallet", "Escrow", "Seller wallet", "Buyer wallet",
                               "Wallet %d" % i])
            if rng.random() < 0.02:
                desc = AWKWARD[rng.randrange(len(AWKWARD))]
            wallets.append([wid, _tag(rng, 0.02, 0.6, "w-"), t, uid, desc, 0, ccy, ccy, "DEFAULT"])
        self.wallets = wallets
        self.wallet_times = [w[WF["CreationDate"]] for w in wallets]
        self.wallet_index = {w[0]: i for i, w in enumerate(wallets)}
        self.users = users

    def _pick_wallet(self, rng, t, ccy=None):
        n = bisect.bisect_left(self.wallet_times, t)
        if n == 0:
            n = 1
        for _ in range(8):
            w = self.wallets[rng.randrange(n)]
            if ccy is None or w[WF["Currency"]] == ccy:
                return w
        return w

    # ------------------------------------------------------------------ ledger
    def _new_row(self):
        return [None] * NF

    def _gen_ledger(self):
        rng = random.Random(self.seed * 7 + 2)
        start = add_months(self.t0, -36) + 86400   # always inside the 36-month window (§4a)
        span = self.t0 - 60 - start
        # growth: more recent months are busier (sqrt distribution)
        times = sorted(start + int(span * (rng.random() ** 0.8)) for _ in range(self.n_ledger))
        old_cut = add_months(self.t0, -30)   # before that: numeric ids (§7 "older objects")
        rows = []
        kinds = ["PAYIN", "TRANSFER", "CONVERSION", "PAYOUT", "REF_PAYIN", "REF_PAYOUT",
                 "REF_TRANSFER"]
        kw = [600, 260, 40, 22, 12, 5, 4]
        seq = 200000000
        recent_payins = []
        recent_payouts = []
        recent_transfers = []
        for t in times:
            kind = rng.choices(kinds, kw)[0]
            r = self._new_row()
            seq += rng.randint(1, 40)
            numeric = t < old_cut
            st_r = rng.random()
            age = self.t0 - t
            if st_r < 0.84:
                status = "SUCCEEDED"
            elif st_r < 0.96:
                status = "FAILED"
            else:
                status = "CREATED" if age < 86400 * 20 or rng.random() < 0.2 else "SUCCEEDED"
            r[LF["CreationDate"]] = t
            r[LF["Status"]] = status
            r[LF["Tag"]] = _tag(rng)
            r[LF["Nature"]] = "REGULAR"
            if kind in ("PAYIN", "TRANSFER", "CONVERSION", "PAYOUT"):
                w = self._pick_wallet(rng, t)
                ccy = w[WF["Currency"]]
                amt = rand_amount(rng, ccy, 200, 300000)
                fees = (amt * rng.choice([0, 0, 1, 2, 3]) // 100)
                r[LF["DebitedFundsAmount"]] = amt
                r[LF["DebitedFundsCurrency"]] = ccy
                r[LF["FeesAmount"]] = fees
                r[LF["FeesCurrency"]] = ccy
                r[LF["CreditedFundsAmount"]] = amt - fees
                r[LF["CreditedFundsCurrency"]] = ccy
                uid = w[WF["Owners"]]
            if kind == "PAYIN":
                r[LF["Id"]] = str(seq) if numeric else "payin_m_" + ulid(t, rng)
                r[LF["Type"]] = "PAYIN"
                r[LF["AuthorId"]] = uid
                r[LF["CreditedUserId"]] = uid
                r[LF["CreditedWalletId"]] = w[0]
                pt = rng.choices(["CARD", "BANK_WIRE", "DIRECT_DEBIT", "PAYPAL", "APPLEPAY",
                                  "GOOGLE_PAY", "PAYCONIQ"], [60, 15, 8, 6, 5, 4, 2])[0]
                r[LF["PaymentType"]] = pt
                r[LF["Culture"]] = rng.choice(CULTURES)
                if pt in ("CARD", "APPLEPAY", "GOOGLE_PAY"):
                    r[LF["ExecutionType"]] = rng.choice(["WEB", "DIRECT", "DIRECT"])
                    r[LF["CardId"]] = str(seq + 7) if numeric else "card_m_" + ulid(t - 3600, rng)
                    r[LF["CardType"]] = rng.choice(CARD_TYPES)
                    r[LF["Alias"]] = "497010XXXXXX%04d" % rng.randrange(10000)
                    r[LF["Country"]] = rng.choice(COUNTRIES)
                    r[LF["ExpirationDate"]] = "%02d%02d" % (rng.randint(1, 12), rng.randint(25, 31))
                    if rng.random() < 0.1:
                        r[LF["PreauthorizationId"]] = "preauth_m_" + ulid(t - 7200, rng)
                    r[LF["StatementDescriptor"]] = rng.choice([None, "ACME", "ACME SHOP"])
                elif pt == "BANK_WIRE":
                    r[LF["ExecutionType"]] = "DIRECT"
                    r[LF["DeclaredDebitedFundsAmount"]] = r[LF["DebitedFundsAmount"]]
                    r[LF["DeclaredDebitedFundsCurrency"]] = ccy
                    r[LF["DeclaredFeesAmount"]] = r[LF["FeesAmount"]]
                    r[LF["DeclaredFeesCurrency"]] = ccy
                    r[LF["WireReference"]] = "%08X" % rng.getrandbits(32)
                else:
                    r[LF["ExecutionType"]] = rng.choice(["WEB", "EXTERNAL_INSTRUCTION"])
                if status == "FAILED":
                    r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(PAYIN_FAIL)
                if status == "SUCCEEDED":
                    recent_payins.append(r)
            elif kind == "TRANSFER":
                w2 = self._pick_wallet(rng, t, ccy)
                r[LF["Id"]] = str(seq) if numeric else "transfer_m_" + ulid(t, rng)
                r[LF["Type"]] = "TRANSFER"
                r[LF["AuthorId"]] = uid
                r[LF["CreditedUserId"]] = w2[WF["Owners"]]
                r[LF["DebitedWalletId"]] = w[0]
                r[LF["CreditedWalletId"]] = w2[0]
                if status == "FAILED":
                    r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(TRANSFER_FAIL)
                if status == "SUCCEEDED":
                    recent_transfers.append(r)
            elif kind == "CONVERSION":
                ccy2 = rng.choice([c for c in CURRENCIES if c != ccy])
                w2 = self._pick_wallet(rng, t, ccy2)
                ccy2 = w2[WF["Currency"]]
                r[LF["Id"]] = str(seq) if numeric else "conv_m_" + ulid(t, rng)
                r[LF["Type"]] = "CONVERSION"
                r[LF["AuthorId"]] = uid
                r[LF["CreditedUserId"]] = uid
                r[LF["DebitedWalletId"]] = w[0]
                r[LF["CreditedWalletId"]] = w2[0]
                cred = int((amt - fees) / CCY_RATE[ccy] * CCY_RATE[ccy2]
                           * (10 ** (CCY_EXP[ccy2] - CCY_EXP[ccy])))
                r[LF["CreditedFundsAmount"]] = max(1, cred)
                r[LF["CreditedFundsCurrency"]] = ccy2
                if status == "FAILED":
                    r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(TRANSFER_FAIL)
            elif kind == "PAYOUT":
                self._fill_payout(r, rng, t, seq, numeric, w, status)
                if status == "SUCCEEDED":
                    recent_payouts.append(r)
            else:
                # refunds (§7): payin refund = Type PAYOUT/Nature REFUND; payout refund
                # (bank return) = Type PAYIN/Nature REFUND; transfer refund = TRANSFER/REFUND
                pool = {"REF_PAYIN": recent_payins, "REF_PAYOUT": recent_payouts,
                        "REF_TRANSFER": recent_transfers}[kind]
                if not pool:
                    continue
                init = pool[max(0, len(pool) - 1 - rng.randrange(min(len(pool), 200)))]
                self._fill_refund(r, rng, t, seq, numeric, init, status, kind)
            if status == "SUCCEEDED":
                delay = rng.randint(0, 5) if r[LF["Type"]] != "PAYOUT" else rng.randint(600, 172800)
                r[LF["ExecutionDate"]] = min(t + delay, self.t0 - 1)
                r[LF["ResultCode"]] = "000000"
                r[LF["ResultMessage"]] = "Success"
            rows.append(r)
        self.ledger = rows

    def _fill_payout(self, r, rng, t, seq, numeric, w, status, fixed=None):
        r[LF["Id"]] = fixed or (str(seq) if numeric else "po_m_" + ulid(t, rng))
        r[LF["Type"]] = "PAYOUT"
        r[LF["Nature"]] = "REGULAR"
        if w is not None:
            r[LF["AuthorId"]] = w[WF["Owners"]]
            r[LF["DebitedWalletId"]] = w[0]
        r[LF["CreditedUserId"]] = None
        r[LF["CreditedWalletId"]] = None   # §5 always null
        r[LF["PaymentType"]] = "BANK_WIRE"
        r[LF["BankAccountId"]] = ("rec_" + ulid(t - 86400 * 30, rng)) if rng.random() < 0.6 \
            else str(160000000 + rng.randrange(9000000))
        r[LF["BankWireRef"]] = rng.choice([None, "ACME %d" % rng.randrange(10000), "Payout",
                                           "Ref, with comma", "ÉCHÉANCE été"])
        r[LF["EndToEndId"]] = "%032x" % rng.getrandbits(128)
        if rng.random() < 0.05:
            r[LF["PaymentRef"]] = {"ReasonType": "PAYIN_REFUND",
                                   "ReferenceId": "payin_m_" + ulid(t - 86400, rng)}
        mode = rng.choices([None, "STANDARD", "INSTANT_PAYMENT", "INSTANT_PAYMENT_ONLY",
                            "RTGS_PAYMENT"], [30, 35, 25, 6, 4])[0]
        r[LF["ModeRequested"]] = mode
        if status == "CREATED":
            applied = "PENDING_RESPONSE"
        elif mode == "INSTANT_PAYMENT" and rng.random() < 0.35:
            applied = "STANDARD"       # fallback (§5 example)
            r[LF["FallbackCode"]], r[LF["FallbackMessage"]] = rng.choice(FALLBACK_REASONS)
        elif mode in ("INSTANT_PAYMENT", "INSTANT_PAYMENT_ONLY"):
            applied = "INSTANT_PAYMENT"
        elif mode == "RTGS_PAYMENT":
            applied = "RTGS_PAYMENT"
        else:
            applied = "STANDARD"
        r[LF["ModeApplied"]] = applied
        if status == "FAILED":
            r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(PAYOUT_FAIL)

    def _fill_refund(self, r, rng, t, seq, numeric, init, status, kind):
        r[LF["Id"]] = str(seq) if numeric else "refund_m_" + ulid(t, rng)
        r[LF["Nature"]] = "REFUND"
        r[LF["InitialTransactionId"]] = init[LF["Id"]]
        r[LF["InitialTransactionType"]] = init[LF["Type"]]
        r[LF["InitialTransactionNature"]] = init[LF["Nature"]]
        ccy = init[LF["CreditedFundsCurrency"]] if kind != "REF_PAYOUT" else init[LF["DebitedFundsCurrency"]]
        full = init[LF["DebitedFundsAmount"]]
        amt = full if rng.random() < 0.7 else max(1, full // 2)
        if kind == "REF_PAYIN":
            r[LF["Type"]] = "PAYOUT"
            r[LF["AuthorId"]] = init[LF["AuthorId"]]
            r[LF["DebitedWalletId"]] = init[LF["CreditedWalletId"]]
            r[LF["CreditedUserId"]] = init[LF["AuthorId"]]
            r[LF["RefundReasonType"]] = "INITIALIZED_BY_CLIENT"
            r[LF["StatementDescriptor"]] = init[LF["StatementDescriptor"]]
        elif kind == "REF_PAYOUT":
            r[LF["Type"]] = "PAYIN"
            r[LF["AuthorId"]] = init[LF["AuthorId"]]
            r[LF["CreditedWalletId"]] = init[LF["DebitedWalletId"]]
            r[LF["RefundReasonType"]] = rng.choice(REFUND_REASONS[1:])
        else:
            r[LF["Type"]] = "TRANSFER"
            r[LF["AuthorId"]] = init[LF["AuthorId"]]
            r[LF["DebitedWalletId"]] = init[LF["CreditedWalletId"]]
            r[LF["CreditedWalletId"]] = init[LF["DebitedWalletId"]]
            r[LF["CreditedUserId"]] = init[LF["AuthorId"]]
            r[LF["RefundReasonType"]] = "INITIALIZED_BY_CLIENT"
        msg_r = rng.random()
        r[LF["RefundReasonMessage"]] = (None if msg_r < 0.5 else
                                        AWKWARD[rng.randrange(len(AWKWARD))] if msg_r < 0.55 else
                                        r[LF["RefundReasonType"]])
        r[LF["DebitedFundsAmount"]] = amt
        r[LF["DebitedFundsCurrency"]] = ccy
        r[LF["FeesAmount"]] = 0
        r[LF["FeesCurrency"]] = ccy
        r[LF["CreditedFundsAmount"]] = amt
        r[LF["CreditedFundsCurrency"]] = ccy
        if status == "FAILED":
            r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(TRANSFER_FAIL)

    # ------------------------------------------------------------------ disputes (§6)
    def _gen_disputes(self):
        rng = random.Random(self.seed * 7 + 3)
        start = add_months(self.t0, -14)
        span = self.t0 - 3600 - start
        n = self.n_disputes
        times = sorted(start + rng.randrange(span) for _ in range(n))
        did = 990000000
        disputes = []
        self.repud_rows = []
        self.settle_rows = []
        for t in times:
            did += rng.randint(1, 40000)
            d = self._make_dispute(rng, str(did), t)
            disputes.append(d)
        # fixed records (README "Fixed records")
        disputes.extend(self._fixed_disputes())
        disputes.sort(key=lambda d: (d["CreationDate"], d["Id"]))
        self.disputes = disputes

    def _make_dispute(self, rng, did, t, force=None):
        f = force or {}
        age = self.t0 - t
        dtype = f.get("DisputeType") or rng.choices(DISPUTE_TYPES, [60, 25, 15])[0]
        days = age / 86400.0
        if "Status" in f:
            status = f["Status"]
        elif dtype == "NOT_CONTESTABLE":
            status = "CLOSED" if days > 2 else "CREATED"
        elif dtype == "RETRIEVAL":
            status = "CLOSED" if days > 25 else rng.choice(["CREATED", "PENDING_CLIENT_ACTION",
                                                            "SUBMITTED"])
        else:
            if days > 75:
                status = "CLOSED" if rng.random() < 0.97 else rng.choice(
                    ["PENDING_BANK_ACTION", "REOPENED_PENDING_CLIENT_ACTION"])
            elif days > 20:
                status = rng.choice(["PENDING_BANK_ACTION", "SUBMITTED",
                                     "REOPENED_PENDING_CLIENT_ACTION", "CLOSED", "CLOSED"])
            else:
                status = rng.choice(["CREATED", "PENDING_CLIENT_ACTION", "PENDING_CLIENT_ACTION",
                                     "SUBMITTED"])
        ccy = f.get("Currency") or rng.choices(CURRENCIES, CCY_WEIGHTS)[0]
        amount = f.get("Amount") or rand_amount(rng, ccy, 500, 250000)
        closed = None
        result = None
        if status == "CLOSED":
            if "ResultCode" in f:
                result = f["ResultCode"]
            elif dtype == "NOT_CONTESTABLE":
                result = "LOST" if rng.random() < 0.85 else "VOID"
            elif dtype == "RETRIEVAL":
                result = rng.choice(["VOID", "VOID", "WON"])
            else:
                result = rng.choices(["WON", "LOST", "VOID"], [35, 55, 10])[0]
            closed = f.get("ClosedDate") or self._before_t0(rng, t, t + rng.randint(3600, 86400 * 70))
            # §6: ClosedDate is null for disputes closed before 2023-02-16
            if closed < 1676505600:
                closed = None
        contested = None
        if dtype != "NOT_CONTESTABLE" and (status in ("SUBMITTED", "PENDING_BANK_ACTION",
                                                      "REOPENED_PENDING_CLIENT_ACTION")
                                           or (status == "CLOSED" and result != "VOID"
                                               and rng.random() < 0.7)):
            contested = money(ccy, amount if rng.random() < 0.8 else max(1, amount // 2))
        if "ContestedFunds" in f:
            contested = f["ContestedFunds"]
        if status == "CLOSED":
            rc_out = result
            msg = {"WON": "The dispute was won", "LOST": "The dispute was lost",
                   "VOID": "The dispute was voided"}[result]
            rmsg = msg if rng.random() < 0.8 else None
        else:
            # §6: ResultCode null or "" until closed
            rc_out = "" if rng.random() < 0.7 else None
            rmsg = None if rng.random() < 0.8 else ""
        sm_r = rng.random()
        status_msg = (None if sm_r < 0.7 else
                      AWKWARD[rng.randrange(len(AWKWARD))] if sm_r < 0.8 else
                      rng.choice(["Please provide documents", "Awaiting bank answer",
                                  "Documents received"]))
        dr_r = rng.random()
        reason_msg = (None if dr_r < 0.6 else
                      AWKWARD[rng.randrange(len(AWKWARD))] if dr_r < 0.7 else
                      rng.choice(["Customer says goods never arrived", "Card stolen",
                                  "Charged twice"]))
        it_type = rng.choices(["PAYIN", "TRANSFER", "CONVERSION", "PAYOUT"], [96, 2, 1, 1])[0]
        it_nat = rng.choices(TX_NATURES, [95, 1, 2, 2])[0]
        it_time = t - rng.randint(86400, 86400 * 90)
        it_id = (str(180000000 + rng.randrange(10 ** 7)) if it_time < add_months(self.t0, -30)
                 else {"PAYIN": "payin_m_", "TRANSFER": "transfer_m_", "CONVERSION": "conv_m_",
                       "PAYOUT": "po_m_"}[it_type] + ulid(it_time, rng))
        author = self.users[rng.randrange(len(self.users))]
        d = {
            "Id": did,
            "Tag": _tag(rng, 0.08, 0.5, "dispute-"),
            "CreationDate": t,
            "InitialTransactionId": it_id,
            "InitialTransactionType": it_type,
            "InitialTransactionNature": it_nat,
            "DisputeType": dtype,
            # §6: ContestDeadlineDate = end of day, 7-18 days out; null for
            # NOT_CONTESTABLE (guess: nothing to contest)
            "ContestDeadlineDate": (None if dtype == "NOT_CONTESTABLE"
                                    else end_of_day(t + 86400 * rng.randint(7, 18))),
            "DisputedFunds": money(ccy, amount),
            "ContestedFunds": contested,
            "Status": status,
            "StatusMessage": status_msg,
            "DisputeReason": {"DisputeReasonType": rng.choice(DISPUTE_REASON_TYPES),
                              "DisputeReasonMessage": reason_msg},
            "ResultCode": rc_out,
            "ResultMessage": rmsg,
            "ClosedDate": closed,
            "RepudiationId": None,
        }
        if "InitialTransactionId" in f:      # fixed records: a plain card pay-in
            d["InitialTransactionType"] = "PAYIN"
            d["InitialTransactionNature"] = "REGULAR"
            it_type, it_nat = "PAYIN", "REGULAR"
            it_id = f["InitialTransactionId"]
            author = "user_m_" + fixed_ulid(9)
        for k in ("Tag", "StatusMessage", "ResultMessage", "ContestDeadlineDate",
                  "InitialTransactionId"):
            if k in f:
                d[k] = f[k]
        if "DisputeReason" in f:
            d["DisputeReason"] = f["DisputeReason"]
        if "ResultCode" in f and status != "CLOSED":
            d["ResultCode"] = f["ResultCode"]
        # LOST disputes have a repudiation on the CREDIT_<CCY> wallet (§6)
        if status == "CLOSED" and result == "LOST":
            rt = closed or (t + 86400)
            rid = f.get("RepudiationId") or "repud_m_" + ulid(rt, rng)
            d["RepudiationId"] = rid
            rr = self._new_row()
            rr[LF["Id"]] = rid
            rr[LF["Tag"]] = None
            rr[LF["CreationDate"]] = rt
            rr[LF["ExecutionDate"]] = rt
            rr[LF["AuthorId"]] = author
            rr[LF["CreditedUserId"]] = None
            for p in ("DebitedFunds", "CreditedFunds"):
                rr[LF[p + "Amount"]] = amount
                rr[LF[p + "Currency"]] = ccy
            rr[LF["FeesAmount"]] = 0
            rr[LF["FeesCurrency"]] = ccy
            rr[LF["Status"]] = "SUCCEEDED"
            rr[LF["ResultCode"]] = "000000"
            rr[LF["ResultMessage"]] = "Success"
            rr[LF["Type"]] = "PAYOUT"
            rr[LF["Nature"]] = "REPUDIATION"
            rr[LF["CreditedWalletId"]] = None
            rr[LF["DebitedWalletId"]] = "CREDIT_" + ccy
            rr[LF["InitialTransactionId"]] = it_id
            rr[LF["InitialTransactionType"]] = it_type
            rr[LF["InitialTransactionNature"]] = it_nat
            rr[LF["PaymentType"]] = None
            self.repud_rows.append(rr)
            want_settle = f.get("settle")
            if want_settle is None:
                want_settle = rng.random() < 0.45
            if want_settle:
                st = self._before_t0(rng, rt, rt + rng.randint(3600, 86400 * 20))
                sr = self._new_row()
                sr[LF["Id"]] = f.get("SettlementId") or "settlement_m_" + ulid(st, rng)
                sr[LF["Tag"]] = _tag(rng, 0.05, 0.7, "settle-")
                sr[LF["CreationDate"]] = st
                sr[LF["ExecutionDate"]] = st
                w = self._pick_wallet(rng, st, ccy)
                sr[LF["AuthorId"]] = w[WF["Owners"]]
                sr[LF["CreditedUserId"]] = None
                for p in ("DebitedFunds", "CreditedFunds"):
                    sr[LF[p + "Amount"]] = amount
                    sr[LF[p + "Currency"]] = ccy
                sr[LF["FeesAmount"]] = 0
                sr[LF["FeesCurrency"]] = ccy
                sr[LF["Status"]] = "SUCCEEDED"
                sr[LF["ResultCode"]] = "000000"
                sr[LF["ResultMessage"]] = "Success"
                sr[LF["Type"]] = "TRANSFER"
                sr[LF["Nature"]] = "SETTLEMENT"
                sr[LF["CreditedWalletId"]] = "CREDIT_" + ccy
                sr[LF["DebitedWalletId"]] = w[0]
                sr[LF["RepudiationId"]] = rid
                self.settle_rows.append(sr)
        return d

    def _before_t0(self, rng, lo, cand):
        """cand if it is before T0, else a random time in (lo, T0) - no pile-up at T0."""
        if cand < self.t0 - 1:
            return cand
        return lo + 1 + rng.randrange(max(1, self.t0 - lo - 2))

    def _fixed_disputes(self):
        rng = random.Random(12345)
        t0 = self.t0
        out = []
        # 9000000001: every awkward character in Tag; LOST, no settlement yet
        out.append(self._make_dispute(rng, "9000000001", t0 - 30 * 86400 + 12 * 3600, {
            "DisputeType": "CONTESTABLE", "Status": "CLOSED", "ResultCode": "LOST",
            "Currency": "EUR", "Amount": 4999, "ContestedFunds": money("EUR", 4999),
            "ClosedDate": t0 - 10 * 86400 + 8 * 3600, "Tag": AWKWARD_ALL,
            "StatusMessage": "NULL", "ResultMessage": "The dispute was lost",
            "ContestDeadlineDate": end_of_day(t0 - 20 * 86400),
            "InitialTransactionId": "payin_m_" + fixed_ulid(1),
            "DisputeReason": {"DisputeReasonType": "FRAUD", "DisputeReasonMessage": LONG_5000},
            "RepudiationId": "repud_m_" + fixed_ulid(1), "settle": False}))
        # 9000000002: open, JPY, Tag null, StatusMessage "", ResultCode ""
        out.append(self._make_dispute(rng, "9000000002", t0 - 5 * 86400 + 3600, {
            "DisputeType": "CONTESTABLE", "Status": "PENDING_CLIENT_ACTION", "Currency": "JPY",
            "Amount": 15000, "ContestedFunds": None, "Tag": None, "StatusMessage": "",
            "ResultCode": "", "ResultMessage": None,
            "ContestDeadlineDate": end_of_day(t0 + 9 * 86400),
            "InitialTransactionId": "payin_m_" + fixed_ulid(2),
            "DisputeReason": {"DisputeReasonType": "PRODUCT_NOT_PROVIDED",
                              "DisputeReasonMessage": None}}))
        # 9000000003: closed WON, GBP, Tag "" (empty string)
        out.append(self._make_dispute(rng, "9000000003", t0 - 200 * 86400, {
            "DisputeType": "CONTESTABLE", "Status": "CLOSED", "ResultCode": "WON",
            "Currency": "GBP", "Amount": 12345, "ContestedFunds": money("GBP", 12345),
            "ClosedDate": t0 - 150 * 86400, "Tag": "", "StatusMessage": None,
            "ResultMessage": "The dispute was won",
            "ContestDeadlineDate": end_of_day(t0 - 190 * 86400),
            "InitialTransactionId": "payin_m_" + fixed_ulid(3),
            "DisputeReason": {"DisputeReasonType": "DUPLICATE",
                              "DisputeReasonMessage": "Charged twice"}}))
        # 9000000004: LOST with a settlement transfer
        out.append(self._make_dispute(rng, "9000000004", t0 - 100 * 86400, {
            "DisputeType": "NOT_CONTESTABLE", "Status": "CLOSED", "ResultCode": "LOST",
            "Currency": "USD", "Amount": 25000, "ContestedFunds": None,
            "ClosedDate": t0 - 99 * 86400, "Tag": "order-4411", "StatusMessage": None,
            "ResultMessage": "The dispute was lost",
            "InitialTransactionId": "payin_m_" + fixed_ulid(4),
            "DisputeReason": {"DisputeReasonType": "TRANSACTION_NOT_RECOGNIZED",
                              "DisputeReasonMessage": None},
            "RepudiationId": "repud_m_" + fixed_ulid(4),
            "SettlementId": "settlement_m_" + fixed_ulid(4), "settle": True}))
        # 9000000005: reopened, Tag = 5,000-char string, ResultCode null
        out.append(self._make_dispute(rng, "9000000005", t0 - 40 * 86400, {
            "DisputeType": "CONTESTABLE", "Status": "REOPENED_PENDING_CLIENT_ACTION",
            "Currency": "EUR", "Amount": 100, "ContestedFunds": money("EUR", 50),
            "Tag": LONG_5000, "StatusMessage": "line one\nline two", "ResultCode": None,
            "ResultMessage": None, "ContestDeadlineDate": end_of_day(t0 - 30 * 86400),
            "InitialTransactionId": "payin_m_" + fixed_ulid(5),
            "DisputeReason": {"DisputeReasonType": "COUNTERFEIT_PRODUCT",
                              "DisputeReasonMessage": "non-ASCII é ü € 日本語 🎉"}}))
        # fix the settlement of 9000000004 to a deterministic time / tag
        for sr in self.settle_rows:
            if sr[LF["Id"]] == "settlement_m_" + fixed_ulid(4):
                sr[LF["CreationDate"]] = sr[LF["ExecutionDate"]] = t0 - 90 * 86400
                sr[LF["Tag"]] = "settlement, fixed"
        return out

    # ------------------------------------------------------------------ client wallets (§7)
    def _gen_client_wallet_txs(self):
        """Transactions on the client's own FEES_/CREDIT_ wallets (besides repudiations
        and settlements, which already sit on CREDIT_<CCY>).  FEES_CHF stays empty."""
        rng = random.Random(self.seed * 7 + 4)
        counts = {"EUR": 420, "GBP": 60, "USD": 50, "PLN": 25, "JPY": 15, "CHF": 0}
        start = add_months(self.t0, -14)
        span = self.t0 - 3600 - start
        rows = []
        for ccy in CURRENCIES:
            n = counts[ccy]
            times = sorted(start + rng.randrange(span) for _ in range(n))
            for i, t in enumerate(times):
                r = self._new_row()
                kind = rng.choices(["FEE_PAYOUT", "FEE_TRANSFER", "FEE_CONV", "FEE_REFUND",
                                    "CREDIT_PAYIN"], [30, 20, 10, 5, 35])[0]
                st_r = rng.random()
                status = "SUCCEEDED" if st_r < 0.85 else "FAILED" if st_r < 0.95 else "CREATED"
                amt = rand_amount(rng, ccy, 1000, 2000000)
                r[LF["CreationDate"]] = t
                r[LF["Status"]] = status
                r[LF["Tag"]] = _tag(rng, 0.08, 0.4, "client-")
                r[LF["AuthorId"]] = self.client_id
                for p in ("DebitedFunds", "CreditedFunds"):
                    r[LF[p + "Amount"]] = amt
                    r[LF[p + "Currency"]] = ccy
                r[LF["FeesAmount"]] = 0
                r[LF["FeesCurrency"]] = ccy
                r[LF["Nature"]] = "REGULAR"
                if kind == "FEE_PAYOUT":
                    self._fill_payout(r, rng, t, 0, False, None, status)
                    r[LF["AuthorId"]] = self.client_id
                    r[LF["DebitedWalletId"]] = "FEES_" + ccy
                elif kind == "FEE_TRANSFER":
                    r[LF["Id"]] = "transfer_m_" + ulid(t, rng)
                    r[LF["Type"]] = "TRANSFER"
                    r[LF["DebitedWalletId"]] = "FEES_" + ccy
                    r[LF["CreditedWalletId"]] = "CREDIT_" + ccy
                    if status == "FAILED":
                        r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(TRANSFER_FAIL)
                elif kind == "FEE_CONV":
                    ccy2 = rng.choice([c for c in CURRENCIES if c not in (ccy, "CHF")])
                    r[LF["Id"]] = "conv_m_" + ulid(t, rng)
                    r[LF["Type"]] = "CONVERSION"
                    r[LF["DebitedWalletId"]] = "FEES_" + ccy
                    r[LF["CreditedWalletId"]] = "FEES_" + ccy2
                    r[LF["CreditedFundsCurrency"]] = ccy2
                    r[LF["CreditedFundsAmount"]] = max(1, int(amt / CCY_RATE[ccy] * CCY_RATE[ccy2]
                                                              * 10 ** (CCY_EXP[ccy2] - CCY_EXP[ccy])))
                    if status == "FAILED":
                        r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(TRANSFER_FAIL)
                elif kind == "FEE_REFUND":
                    # a returned fee payout: Type PAYIN, Nature REFUND (§5 caution)
                    r[LF["Id"]] = "refund_m_" + ulid(t, rng)
                    r[LF["Type"]] = "PAYIN"
                    r[LF["Nature"]] = "REFUND"
                    r[LF["CreditedWalletId"]] = "FEES_" + ccy
                    r[LF["InitialTransactionId"]] = "po_m_" + ulid(t - 86400 * 3, rng)
                    r[LF["InitialTransactionType"]] = "PAYOUT"
                    r[LF["InitialTransactionNature"]] = "REGULAR"
                    r[LF["RefundReasonType"]] = rng.choice(REFUND_REASONS[1:])
                    if status == "FAILED":
                        r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(TRANSFER_FAIL)
                else:
                    r[LF["Id"]] = "payin_m_" + ulid(t, rng)
                    r[LF["Type"]] = "PAYIN"
                    r[LF["PaymentType"]] = "BANK_WIRE"
                    r[LF["ExecutionType"]] = "DIRECT"
                    r[LF["CreditedWalletId"]] = "CREDIT_" + ccy
                    r[LF["CreditedUserId"]] = self.client_id
                    r[LF["DeclaredDebitedFundsAmount"]] = amt
                    r[LF["DeclaredDebitedFundsCurrency"]] = ccy
                    r[LF["DeclaredFeesAmount"]] = 0
                    r[LF["DeclaredFeesCurrency"]] = ccy
                    r[LF["WireReference"]] = "%08X" % rng.getrandbits(32)
                    if status == "FAILED":
                        r[LF["ResultCode"]], r[LF["ResultMessage"]] = rng.choice(PAYIN_FAIL)
                if status == "SUCCEEDED":
                    r[LF["ExecutionDate"]] = min(t + rng.randint(0, 7200), self.t0 - 1)
                    r[LF["ResultCode"]] = "000000"
                    r[LF["ResultMessage"]] = "Success"
                rows.append(r)
        self.client_rows = rows

    def _fixed_ledger_rows(self):
        """Fixed payouts/refunds documented in README."""
        rng = random.Random(54321)
        t0 = self.t0
        out = []
        specs = [
            # id, status, mode requested, mode applied, fallback, result
            ("po_m_" + fixed_ulid(1), "SUCCEEDED", "INSTANT_PAYMENT", "STANDARD",
             ("001999", "Generic Operation error"), ("000000", "Success")),
            ("po_m_" + fixed_ulid(2), "FAILED", "STANDARD", "STANDARD", None,
             ("121003", "Insufficient wallet balance")),
            ("po_m_" + fixed_ulid(3), "CREATED", None, "PENDING_RESPONSE", None, (None, None)),
        ]
        for i, (pid, status, mreq, mapp, fb, res) in enumerate(specs):
            t = t0 - (3 - i) * 86400 + 9 * 3600
            r = self._new_row()
            r[LF["CreationDate"]] = t
            r[LF["Status"]] = status
            r[LF["Tag"]] = ["order-4411", 'payout "fixed", #2', None][i]
            r[LF["DebitedFundsAmount"]] = 12500
            r[LF["DebitedFundsCurrency"]] = "EUR"
            r[LF["FeesAmount"]] = 125
            r[LF["FeesCurrency"]] = "EUR"
            r[LF["CreditedFundsAmount"]] = 12375
            r[LF["CreditedFundsCurrency"]] = "EUR"
            self._fill_payout(r, rng, t, 0, False, None, status, fixed=pid)
            r[LF["AuthorId"]] = "user_m_" + fixed_ulid(1)
            r[LF["DebitedWalletId"]] = "wlt_m_" + fixed_ulid(1)
            r[LF["BankAccountId"]] = "rec_" + fixed_ulid(1)
            r[LF["BankWireRef"]] = "ACME 4411"
            r[LF["EndToEndId"]] = "9a8b7c6d5e4f40312a1b0c9d8e7f6a5%d" % i
            r[LF["PaymentRef"]] = None
            r[LF["ModeRequested"]] = mreq
            r[LF["ModeApplied"]] = mapp
            r[LF["FallbackCode"]], r[LF["FallbackMessage"]] = fb or (None, None)
            r[LF["ResultCode"]], r[LF["ResultMessage"]] = res
            r[LF["ExecutionDate"]] = t + 56 if status == "SUCCEEDED" else None
            out.append(r)
        # refund 1: payin refund (Type PAYOUT, Nature REFUND, InitialTransactionType PAYIN)
        r = self._new_row()
        t = t0 - 2 * 86400 + 10 * 3600
        vals = {"Id": "refund_m_" + fixed_ulid(1), "Tag": "refund, \"fixed\"", "CreationDate": t,
                "ExecutionDate": t + 2, "AuthorId": "user_m_" + fixed_ulid(1),
                "CreditedUserId": "user_m_" + fixed_ulid(1), "DebitedFundsAmount": 2000,
                "DebitedFundsCurrency": "EUR", "CreditedFundsAmount": 2000,
                "CreditedFundsCurrency": "EUR", "FeesAmount": 0, "FeesCurrency": "EUR",
                "Status": "SUCCEEDED", "ResultCode": "000000", "ResultMessage": "Success",
                "Type": "PAYOUT", "Nature": "REFUND", "DebitedWalletId": "wlt_m_" + fixed_ulid(1),
                "CreditedWalletId": None, "InitialTransactionId": "payin_m_" + fixed_ulid(10),
                "InitialTransactionType": "PAYIN", "InitialTransactionNature": "REGULAR",
                "RefundReasonType": "INITIALIZED_BY_CLIENT", "RefundReasonMessage": None,
                "StatementDescriptor": "ACME"}
        for k, v in vals.items():
            r[LF[k]] = v
        out.append(r)
        # refund 2: payout refund / bank return (Type PAYIN, Nature REFUND)
        r = self._new_row()
        t = t0 - 1 * 86400 + 11 * 3600
        vals.update({"Id": "refund_m_" + fixed_ulid(2), "Tag": None, "CreationDate": t,
                     "ExecutionDate": t + 5, "CreditedUserId": None, "Type": "PAYIN",
                     "DebitedWalletId": None, "CreditedWalletId": "wlt_m_" + fixed_ulid(1),
                     "DebitedFundsAmount": 12375, "CreditedFundsAmount": 12375,
                     "InitialTransactionId": "po_m_" + fixed_ulid(1),
                     "InitialTransactionType": "PAYOUT",
                     "RefundReasonType": "BANKACCOUNT_HAS_BEEN_CLOSED",
                     "RefundReasonMessage": "Compte clôturé", "StatementDescriptor": None})
        for k, v in vals.items():
            r[LF[k]] = v
        out.append(r)
        return out

    def _finish_ledger(self):
        rows = self.ledger + self.repud_rows + self.settle_rows + self.client_rows
        rows += self._fixed_ledger_rows()
        rows.sort(key=lambda r: (r[LF["CreationDate"]], r[LF["Id"]]))
        # bank accounts own several payouts: a user's go to the account drawn for
        # the user's first payout, the client's fee payouts to one account per
        # currency (GET /bankaccounts/{Id}/transactions, §5); no draw, so the
        # rest of the data does not move
        accounts = {}
        for r in rows:
            if r[LF["Type"]] == "PAYOUT" and r[LF["Nature"]] == "REGULAR" and r[LF["BankAccountId"]]:
                a = r[LF["AuthorId"]]
                key = (a, r[LF["DebitedFundsCurrency"]] if a == self.client_id else None)
                r[LF["BankAccountId"]] = accounts.setdefault(key, r[LF["BankAccountId"]])
        self.ledger = [tuple(r) for r in rows]
        self.ledger_times = [r[LF["CreationDate"]] for r in self.ledger]
        self.ledger_by_id = {r[LF["Id"]]: i for i, r in enumerate(self.ledger)}
        # wallet balances from SUCCEEDED flows (plus an opening amount so none is negative)
        bal = {}
        for r in self.ledger:
            if r[LF["Status"]] != "SUCCEEDED":
                continue
            dw, cw = r[LF["DebitedWalletId"]], r[LF["CreditedWalletId"]]
            if dw:
                bal[dw] = bal.get(dw, 0) - r[LF["DebitedFundsAmount"]]
            if cw:
                bal[cw] = bal.get(cw, 0) + r[LF["CreditedFundsAmount"]]
        self.balances = bal
        for w in self.wallets:
            b = bal.get(w[0], 0)
            w[WF["BalanceAmount"]] = b if b >= 0 else (-b) % 100000
        self.wallets = [tuple(w) for w in self.wallets]

    # ------------------------------------------------------------------ JSON views (§5-§7)
    def tx_object(self, r, kind="transaction"):
        """Render a ledger row as the API's JSON object.  Field order follows the docs'
        examples for each endpoint (view-repudiation, view-settlement-transfer,
        view-refund, view-payout-bankwire, transaction list)."""
        g = lambda k: r[LF[k]]
        debited = money(g("DebitedFundsCurrency"), g("DebitedFundsAmount"))
        credited = money(g("CreditedFundsCurrency"), g("CreditedFundsAmount"))
        fees = money(g("FeesCurrency"), g("FeesAmount"))
        if kind == "repudiation":
            return {"AuthorId": g("AuthorId"), "CreditedUserId": g("CreditedUserId"),
                    "CreditedFunds": credited, "Status": g("Status"),
                    "ExecutionDate": g("ExecutionDate"), "Type": g("Type"),
                    "Nature": g("Nature"), "CreditedWalletId": g("CreditedWalletId"),
                    "DebitedWalletId": g("DebitedWalletId"), "DebitedFunds": debited,
                    "Fees": fees, "ResultCode": g("ResultCode"),
                    "ResultMessage": g("ResultMessage"), "Id": g("Id"), "Tag": g("Tag"),
                    "CreationDate": g("CreationDate"),
                    "InitialTransactionId": g("InitialTransactionId"),
                    "InitialTransactionType": g("InitialTransactionType"),
                    "InitialTransactionNature": g("InitialTransactionNature")}
        if kind == "settlement":
            return {"Id": g("Id"), "Tag": g("Tag"), "CreationDate": g("CreationDate"),
                    "ResultCode": g("ResultCode"), "ResultMessage": g("ResultMessage"),
                    "DebitedFunds": debited, "Fees": fees, "AuthorId": g("AuthorId"),
                    "CreditedUserId": g("CreditedUserId"), "CreditedFunds": credited,
                    "Status": g("Status"), "ExecutionDate": g("ExecutionDate"),
                    "Type": g("Type"), "Nature": g("Nature"),
                    "CreditedWalletId": g("CreditedWalletId"),
                    "DebitedWalletId": g("DebitedWalletId"), "RepudiationId": g("RepudiationId")}
        if kind == "refund":
            return {"Id": g("Id"), "Tag": g("Tag"), "CreationDate": g("CreationDate"),
                    "AuthorId": g("AuthorId"), "CreditedUserId": g("CreditedUserId"),
                    "DebitedFunds": debited, "CreditedFunds": credited, "Fees": fees,
                    "Status": g("Status"), "ResultCode": g("ResultCode"),
                    "ResultMessage": g("ResultMessage"), "ExecutionDate": g("ExecutionDate"),
                    "Type": g("Type"), "Nature": g("Nature"),
                    "InitialTransactionId": g("InitialTransactionId"),
                    "InitialTransactionType": g("InitialTransactionType"),
                    "InitialTransactionNature": g("InitialTransactionNature"),
                    "DebitedWalletId": g("DebitedWalletId"),
                    "CreditedWalletId": g("CreditedWalletId"),
                    "RefundReason": {"RefundReasonMessage": g("RefundReasonMessage"),
                                     "RefundReasonType": g("RefundReasonType")},
                    "StatementDescriptor": g("StatementDescriptor")}
        o = {"Id": g("Id"), "Tag": g("Tag"), "CreationDate": g("CreationDate"),
             "AuthorId": g("AuthorId"), "CreditedUserId": g("CreditedUserId"),
             "DebitedFunds": debited, "CreditedFunds": credited, "Fees": fees,
             "Status": g("Status"), "ResultCode": g("ResultCode"),
             "ResultMessage": g("ResultMessage"), "ExecutionDate": g("ExecutionDate"),
             "Type": g("Type"), "Nature": g("Nature"),
             "CreditedWalletId": g("CreditedWalletId"), "DebitedWalletId": g("DebitedWalletId")}
        if kind == "transaction":
            o["DepositId"] = g("DepositId")     # in recent list examples (§7)
            return o
        if kind == "payin":
            for k in ("PaymentType", "ExecutionType", "CardId", "Culture", "StatementDescriptor",
                      "DepositId"):
                o[k] = g(k)
            self._payin_kind(r, o)
            return o
        if kind == "conversion":
            self._conversion_fields(r, o)
            return o
        if kind == "transfer":
            return o
        if kind in ("payout", "payout_bankwire"):
            o["PaymentType"] = g("PaymentType")
            o["BankAccountId"] = g("BankAccountId")
            o["BankWireRef"] = g("BankWireRef")
            if kind == "payout_bankwire":
                o["ModeRequested"] = g("ModeRequested")
                o["ModeApplied"] = g("ModeApplied")
                fc = g("FallbackCode")
                o["FallbackReason"] = (None if fc is None else
                                       {"Code": fc, "Message": g("FallbackMessage")})
            o["EndToEndId"] = g("EndToEndId")
            o["PaymentRef"] = g("PaymentRef")
            return o
        raise ValueError(kind)

    # the pay-in kinds of §11 and the fields a reconciliation matches on, each
    # at its documented path (DOCS api-reference/*/view-payin-*.mdx).  Drawn
    # from a random stream of the pay-in's own (seeded by its id), so no other
    # collection changes; the ledger (the reports' view) is left as it is.
    PAYIN_SCHEMES = ["SEPA_CREDIT_TRANSFER", "SEPA_INSTANT_CREDIT_TRANSFER", None]
    CARD_BRANDS = [("VISA", "CREDIT"), ("MASTERCARD", "DEBIT"), ("VISA", "DEBIT"),
                   ("AMERICAN_EXPRESS", "CHARGE"), ("CB", "DEBIT"), ("MAESTRO", "PREPAID")]
    DEBTORS = ["Example Business Services GmbH", "Zoë Müller", "O'Brien & Sons, Ltd",
               'Café "Crème"', "山田 太郎", "  padded name  ", ""]

    def _payin_kind(self, r, o):
        g = lambda k: r[LF[k]]
        rid = g("Id")
        rng = random.Random("payin-kind:%d:%s" % (self.seed, rid))
        pt, st = g("PaymentType"), g("Status")
        pick = rng.random()
        if g("DepositId"):
            # a deposit pre-authorization's capture (view-payin-deposit-preauthorized)
            o.update(PaymentType="PREAUTHORIZED", ExecutionType="DIRECT")
            o.pop("CardId", None)
            return
        if pt == "CARD" and g("PreauthorizationId"):
            # a card pre-authorization's capture (view-payin-preauthorized): no CardId
            o.update(PaymentType="PREAUTHORIZED", ExecutionType="DIRECT",
                     PreauthorizationId=g("PreauthorizationId"))
            o.pop("CardId", None)
            return
        if pt in ("CARD", "APPLEPAY", "GOOGLE_PAY"):
            if pt == "CARD" and g("ExecutionType") == "WEB":
                # web card pay-in: no CardId at all, the card type only
                o.pop("CardId", None)
                o["CardType"] = g("CardType")
                return
            if pt == "APPLEPAY":
                o["CardId"] = None
            if pt != "CARD":
                o["ExecutionType"] = "DIRECT"
            brand, typ = self.CARD_BRANDS[rng.randrange(len(self.CARD_BRANDS))]
            if pick < 0.08:
                o["CardInfo"] = None            # older pay-ins: none
            elif pick < 0.12:
                pass                            # ... or no key at all
            else:
                o["CardInfo"] = {
                    "BIN": "%06d" % rng.randrange(400000, 560000),
                    "IssuingBank": rng.choice(["LA BANQUE POSTALE", "Crédit Agricole", None, ""]),
                    "IssuerCountryCode": rng.choice(COUNTRIES + [None]),
                    "Type": typ, "Brand": brand,
                    "SubType": rng.choice([None, "PLATINUM", "CLASSIC"])}
            return
        if pt == "BANK_WIRE" and pick < 0.4:
            # a wire to a virtual IBAN (view-payin-external-instruction): the
            # payer's account when MangoPay has it (EU IBANs only)
            o["ExecutionType"] = "EXTERNAL_INSTRUCTION"
            o["BankingAliasId"] = "wltbank_m_" + ulid(g("CreationDate") - 86400 * 30, rng)
            o["WireReference"] = rng.choice([g("WireReference"), None, AWKWARD_ALL])
            shape = rng.randrange(5)
            owner = self.DEBTORS[rng.randrange(len(self.DEBTORS))]
            if shape == 0:
                o["DebitedBankAccount"] = None
            elif shape == 1:
                pass                            # not returned (a non-EU account)
            elif shape == 2:
                o["DebitedBankAccount"] = {"IBAN": None, "BIC": None,
                                           "AccountNumber": "%010d" % rng.randrange(10 ** 10),
                                           "Country": "US", "OwnerName": owner, "Type": "OTHER"}
            else:
                o["DebitedBankAccount"] = {"IBAN": "FR76%023d" % rng.randrange(10 ** 22),
                                           "BIC": "BNPAFRPP", "AccountNumber": None,
                                           "Country": None, "OwnerName": owner, "Type": "IBAN"}
            return
        if pt == "BANK_WIRE":
            # a declared bank wire (view-payin-bank-wire): until SUCCEEDED the
            # debited funds are placeholders (XXX, 0); the camt details once
            # received
            o["ExecutionType"] = "DIRECT"
            if st != "SUCCEEDED":
                o["DebitedFunds"] = money("XXX", 0)
            o["DeclaredDebitedFunds"] = money(g("DeclaredDebitedFundsCurrency"),
                                              g("DeclaredDebitedFundsAmount"))
            o["DeclaredFees"] = money(g("DeclaredFeesCurrency"), g("DeclaredFeesAmount"))
            o["WireReference"] = g("WireReference")
            o["BankAccount"] = {
                "OwnerAddress": {"AddressLine1": "2 Avenue Amélie", "AddressLine2": None,
                                 "City": "Luxembourg", "Region": None, "PostalCode": "L-1125",
                                 "Country": "LU"},
                "Type": "IBAN", "OwnerName": "MANGOPAY SA",
                "IBAN": "FR7630056009271234567890182", "BIC": "CCFRFRPPXXX"}
            if st == "SUCCEEDED":
                details = []
                for _ in range(1 if pick < 0.9 else 2):
                    details.append({
                        "BankTransactionDomainCode": "PMNT",
                        "BankTransactionDomainFamilyCode": "RCDT",
                        "BankTransactionDomainSubFamilyCode": rng.choice([None, "ESCT"]),
                        "References": [{"Type": "EndToEndId",
                                        "Value": "E2E-%012X" % rng.getrandbits(48)}],
                        "DebtorName": self.DEBTORS[rng.randrange(len(self.DEBTORS))],
                        "DebtorAccount": "DE%020d" % rng.randrange(10 ** 20),
                        "DebtorAgent": "COBADEFFXXX", "DebtorAddressLine1": None,
                        "DebtorAddressLine2": None, "DebtorAddressLine3": None,
                        "RemittanceInformationLine1": g("WireReference"),
                        "RemittanceInformationLine2": rng.choice([None, "/SABF/9URQ", "é ü €"]),
                        "RemittanceInformationLine3": None, "RemittanceInformationLine4": None})
                o["TransactionDetails"] = details
            elif pick < 0.5:
                o["TransactionDetails"] = rng.choice([None, []])   # or no key at all
            return
        if pt == "DIRECT_DEBIT":
            # view-payin-direct-debit: the mandate, and the charge date once known
            o["ExecutionType"] = "DIRECT"
            o["MandateId"] = "mdt_m_" + ulid(g("CreationDate") - 86400 * 10, rng)
            o["ChargeDate"] = (None if st == "CREATED" and pick < 0.5
                               else (g("CreationDate") // 86400 + 2) * 86400)
            return
        if pt == "PAYPAL":
            # view-payin-paypal: the order at PayPal and the platform's reference
            o["ExecutionType"] = "WEB"
            o["PaypalOrderID"] = None if st == "FAILED" else "%017X" % rng.getrandbits(68)
            o["Reference"] = rng.choice(["1234", "abcd-efgh-ijkl", None, AWKWARD_ALL])
            o["PaypalBuyerAccountEmail"] = "buyer@example.invalid"
            return
        if pt == "PAYCONIQ" and (pick < 0.6 or st == "CREATED"):
            # view-payin-pay-by-bank: PENDING_SUCCEEDED while initiated and not
            # received; not returned once SUCCEEDED
            o.update(PaymentType="PAY_BY_BANK", ExecutionType="WEB",
                     Country="DE", BIC="AACSDE33", IBAN="DE%020d" % rng.randrange(10 ** 20),
                     PaymentFlow="WEB", BankName="de-demobank-open-banking-embedded-templates",
                     Scheme=self.PAYIN_SCHEMES[rng.randrange(3)])
            if st == "CREATED":
                o["ProcessingStatus"] = "PENDING_SUCCEEDED"
            elif rng.random() < 0.5:
                o["ProcessingStatus"] = None
            return
        if pt == "PAYCONIQ":
            o["ExecutionType"] = "WEB"

    # -------------------------------------------------------------- FX (§11)
    def rate_text(self, rate, rng):
        """A rate of up to 7 decimal places as the API may write it: plain,
        with its trailing zeros, or with an exponent (all the same decimal)."""
        d = decimal.Decimal(rate).quantize(decimal.Decimal("0.0000001"),
                                           rounding=decimal.ROUND_HALF_EVEN)
        form = rng.randrange(4)
        if form == 0:
            d4 = d.quantize(decimal.Decimal("0.0001"), rounding=decimal.ROUND_HALF_EVEN)
            return RawNumber(format(d4.quantize(decimal.Decimal("0.0000001")), "f"))  # 0.8468000
        if form == 3:
            m, e = format(d.normalize(), "e").split("e")        # 8.468e-1
            return RawNumber("%sE%d" % (m, int(e)))
        t = format(d.normalize(), "f")
        return RawNumber(t)                                     # 0.8468

    def _conversion_fields(self, r, o):
        """view-conversion: instant conversions have QuoteId null and Fees; quoted
        ones a QuoteId and no Fees; both the rates applied (ClientRate, with
        MangoPay's markup) and the market rate."""
        rid = r[LF["Id"]]
        rng = random.Random("conversion:%d:%s" % (self.seed, rid))
        c1, c2 = r[LF["DebitedFundsCurrency"]], r[LF["CreditedFundsCurrency"]]
        market = FX_RATE[c2] / FX_RATE[c1] * (1 + rng.uniform(-0.01, 0.01))
        client = market * (1 - rng.choice([0.005, 0.01, 0.0125]))
        if rng.random() < 0.5:
            o["QuoteId"] = "cvrquote_" + ulid(r[LF["CreationDate"]] - 30, rng)
            del o["Fees"]
        else:
            o["QuoteId"] = None
        o["ConversionRateResponse"] = (None if rng.random() < 0.03 else
                                       {"ClientRate": self.rate_text(client, rng),
                                        "MarketRate": self.rate_text(market, rng)})

    def conversion_rate(self, debited, credited):
        """GET /conversions/rate/{Debited}/{Credited}: the indicative rate now,
        one per pair and mock day."""
        rng = random.Random("rate:%d:%d:%s:%s" % (self.seed, self.t0, debited, credited))
        market = FX_RATE[credited] / FX_RATE[debited] * (1 + rng.uniform(-0.01, 0.01))
        return {"DebitedCurrency": debited, "CreditedCurrency": credited,
                "ClientRate": self.rate_text(market * 0.99, rng),
                "MarketRate": self.rate_text(market, rng),
                "MarketRateDate": self.t0 - 60 - rng.randrange(3600)}

    def _build_views(self):
        self.repudiations = {}
        self.settlements = {}
        self.refunds = {}
        self.payouts = {}          # bankwire view; /payouts/{Id} drops the mode keys
        self.wallet_txs = {(ft, c): [] for ft in FUNDS_TYPES for c in CURRENCIES}
        for r in self.ledger:
            typ, nat = r[LF["Type"]], r[LF["Nature"]]
            rid = r[LF["Id"]]
            if nat == "REPUDIATION":
                self.repudiations[rid] = self.tx_object(r, "repudiation")
            elif nat == "SETTLEMENT":
                self.settlements[rid] = self.tx_object(r, "settlement")
            elif nat == "REFUND":
                self.refunds[rid] = self.tx_object(r, "refund")
            elif typ == "PAYOUT" and nat == "REGULAR":
                self.payouts[rid] = self.tx_object(r, "payout_bankwire")
            for wid in (r[LF["DebitedWalletId"]], r[LF["CreditedWalletId"]]):
                if wid and (wid.startswith("FEES_") or wid.startswith("CREDIT_")):
                    ft, c = wid.split("_", 1)
                    lst = self.wallet_txs.get((ft, c))
                    if lst is not None and (not lst or lst[-1]["Id"] != rid):
                        lst.append(self.tx_object(r, "transaction"))
        # client wallets (§7): one FEES and one CREDIT per currency
        rng = random.Random(self.seed * 7 + 5)
        created = add_months(self.t0, -40) + 3600 * 9
        self.client_wallets = []
        for ft in FUNDS_TYPES:
            for c in CURRENCIES:
                wid = "%s_%s" % (ft, c)
                b = self.balances.get(wid, 0)
                if b < 0:
                    b = rand_amount(rng, c, 10000, 5000000)
                self.client_wallets.append({
                    "Id": wid, "Balance": money(c, b), "Currency": c, "FundsType": ft,
                    "Tag": None if ft == "FEES" else "Repudiation wallet",
                    "CreationDate": created + CURRENCIES.index(c) * 60})

    # ------------------------------------------------------------------ objects (§5-§7)
    def _link_disputes(self):
        """Every dispute's InitialTransactionId is a real SUCCEEDED pay-in of the ledger,
        in the dispute's currency and before it; the disputed funds, the repudiation and
        the settlement follow that pay-in.  Some disputed pay-ins were partly refunded
        before the dispute; some repudiations were refunded (a reversed chargeback).
        A tenth of the card pay-ins carry a DepositId.  Own random stream: the data
        generated before is unchanged."""
        rng = random.Random(self.seed * 7 + 9)
        by_ccy = {}
        for r in self.ledger:
            if r[LF["Type"]] == "PAYIN" and r[LF["Nature"]] == "REGULAR":
                if r[LF["PaymentType"]] == "CARD" and rng.random() < 0.1:
                    r[LF["DepositId"]] = "deposit_m_" + ulid(r[LF["CreationDate"]] - 600, rng)
                if r[LF["Status"]] == "SUCCEEDED" and r[LF["CreditedWalletId"]]:
                    by_ccy.setdefault(r[LF["DebitedFundsCurrency"]], []).append(r)
        times = {c: [r[LF["CreationDate"]] for r in rows] for c, rows in by_ccy.items()}
        repud = {r[LF["Id"]]: r for r in self.repud_rows}
        settle = {}
        for r in self.settle_rows:
            settle.setdefault(r[LF["RepudiationId"]], []).append(r)
        used = set()
        extra = []
        for d in self.disputes:
            t = d["CreationDate"]
            ccy = d["DisputedFunds"]["Currency"]
            payin = None
            fixed = d["Id"].startswith("90000000")
            if not fixed:
                rows = by_ccy.get(ccy, [])
                hi = bisect.bisect_left(times.get(ccy, []), t - 86400)
                lo = bisect.bisect_left(times.get(ccy, []), t - 86400 * 90)
                for _ in range(12):
                    if hi <= lo:
                        break
                    cand = rows[rng.randrange(lo, hi)]
                    if cand[LF["Id"]] not in used:
                        payin = cand
                        break
            if payin is None:
                # a pay-in made for this dispute (fixed records keep their ids)
                w = self._pick_wallet(rng, t - 86400 * 20, ccy)
                payin = self._new_row()
                pt = t - 86400 * 20 - rng.randrange(86400)
                amt = d["DisputedFunds"]["Amount"]
                vals = {"Id": d["InitialTransactionId"] if fixed else "payin_m_" + ulid(pt, rng),
                        "Tag": None, "CreationDate": pt, "ExecutionDate": pt + 2,
                        "AuthorId": w[WF["Owners"]], "CreditedUserId": w[WF["Owners"]],
                        "DebitedFundsAmount": amt, "DebitedFundsCurrency": ccy,
                        "CreditedFundsAmount": amt, "CreditedFundsCurrency": ccy,
                        "FeesAmount": 0, "FeesCurrency": ccy, "Status": "SUCCEEDED",
                        "ResultCode": "000000", "ResultMessage": "Success", "Type": "PAYIN",
                        "Nature": "REGULAR", "CreditedWalletId": w[0], "PaymentType": "CARD",
                        "ExecutionType": "DIRECT", "Culture": "FR",
                        "CardId": "card_m_" + ulid(pt - 3600, rng)}
                for k, v in vals.items():
                    payin[LF[k]] = v
                extra.append(payin)
            used.add(payin[LF["Id"]])
            old = d["DisputedFunds"]["Amount"]
            amt = payin[LF["DebitedFundsAmount"]]
            d["InitialTransactionId"] = payin[LF["Id"]]
            d["InitialTransactionType"] = "PAYIN"
            d["InitialTransactionNature"] = "REGULAR"
            if not fixed:
                d["DisputedFunds"] = money(ccy, amt)
                if d["ContestedFunds"] is not None:
                    d["ContestedFunds"] = money(ccy, amt if d["ContestedFunds"]["Amount"] == old
                                                else max(1, amt // 2))
            rr = repud.get(d["RepudiationId"]) if d["RepudiationId"] else None
            if rr is not None:
                rr[LF["InitialTransactionId"]] = payin[LF["Id"]]
                rr[LF["InitialTransactionType"]] = "PAYIN"
                rr[LF["InitialTransactionNature"]] = "REGULAR"
                rr[LF["AuthorId"]] = payin[LF["AuthorId"]]
                for x in [rr] + settle.get(rr[LF["Id"]], []):
                    for p in ("DebitedFunds", "CreditedFunds"):
                        x[LF[p + "Amount"]] = d["DisputedFunds"]["Amount"]
                if rng.random() < 0.08:
                    # the repudiation refunded: the funds come back to CREDIT_<CCY>
                    rt = self._before_t0(rng, rr[LF["CreationDate"]],
                                         rr[LF["CreationDate"]] + rng.randint(86400, 86400 * 30))
                    rf = self._new_row()
                    vals = {"Id": "refund_m_" + ulid(rt, rng), "CreationDate": rt,
                            "ExecutionDate": rt + 1, "AuthorId": rr[LF["AuthorId"]],
                            "DebitedFundsAmount": rr[LF["DebitedFundsAmount"]],
                            "DebitedFundsCurrency": ccy,
                            "CreditedFundsAmount": rr[LF["DebitedFundsAmount"]],
                            "CreditedFundsCurrency": ccy, "FeesAmount": 0, "FeesCurrency": ccy,
                            "Status": "SUCCEEDED", "ResultCode": "000000",
                            "ResultMessage": "Success", "Type": "PAYIN", "Nature": "REFUND",
                            "CreditedWalletId": "CREDIT_" + ccy,
                            "InitialTransactionId": rr[LF["Id"]],
                            "InitialTransactionType": "PAYOUT",
                            "InitialTransactionNature": "REPUDIATION",
                            "RefundReasonType": "OTHER",
                            "RefundReasonMessage": "Chargeback reversed"}
                    for k, v in vals.items():
                        rf[LF[k]] = v
                    extra.append(rf)
            if d["RepudiationId"] and rng.random() < 0.12:
                # a partial refund of the pay-in before the dispute
                ft = payin[LF["CreationDate"]] + rng.randint(3600, max(3601, t - payin[LF["CreationDate"]] - 60))
                rf = self._new_row()
                rf[LF["CreationDate"]] = ft
                rf[LF["Status"]] = "SUCCEEDED"
                rf[LF["Tag"]] = None
                self._fill_refund(rf, rng, ft, 0, False, payin, "SUCCEEDED", "REF_PAYIN")
                rf[LF["DebitedFundsAmount"]] = rf[LF["CreditedFundsAmount"]] = max(1, amt // 4)
                rf[LF["ExecutionDate"]] = ft + 2
                rf[LF["ResultCode"]], rf[LF["ResultMessage"]] = "000000", "Success"
                extra.append(rf)
        self.ledger.extend(extra)

    # built on first use, not at startup: the by-id views and their indexes
    LAZY = ("payins", "transfers", "conversions", "refunds_by_parent", "owner", "wallet_objs",
            "wallets_by_user", "user_objs", "disputes_by_payin", "disputes_by_wallet",
            "disputes_by_user", "emoney", "sca_consent", "recipients", "recipients_by_user", "regulatory")

    def __getattr__(self, name):
        if name in Store.LAZY and "_objects_built" not in self.__dict__:
            self._objects_built = True
            self._build_objects()
            return getattr(self, name)
        raise AttributeError(name)

    def _build_objects(self):
        """The by-id views (pay-ins, transfers, conversions, users, wallets) and the
        indexes behind the parent-scoped lists."""
        rng = random.Random(self.seed * 7 + 10)
        self.payins, self.transfers, self.conversions = {}, {}, {}
        self.refunds_by_parent = {}
        for r in self.ledger:
            typ, nat, rid = r[LF["Type"]], r[LF["Nature"]], r[LF["Id"]]
            if nat == "REGULAR" and typ == "PAYIN":
                self.payins[rid] = self.tx_object(r, "payin")
            elif nat == "REGULAR" and typ == "TRANSFER":
                self.transfers[rid] = self.tx_object(r, "transfer")
            elif nat == "REGULAR" and typ == "CONVERSION":
                self.conversions[rid] = self.tx_object(r, "conversion")
            elif nat == "REFUND" and r[LF["InitialTransactionId"]]:
                self.refunds_by_parent.setdefault(r[LF["InitialTransactionId"]], []).append(
                    self.refunds[rid])
        self.owner = {w[0]: w[WF["Owners"]] for w in self.wallets}
        self.wallet_objs = {}
        first = {}
        for w in self.wallets:
            self.wallet_objs[w[0]] = {
                "Id": w[0], "Owners": [w[WF["Owners"]]], "Description": w[WF["Description"]],
                "Balance": money(w[WF["Currency"]], w[WF["BalanceAmount"]]),
                "Currency": w[WF["Currency"]], "FundsType": "DEFAULT", "Tag": w[WF["Tag"]],
                "CreationDate": w[WF["CreationDate"]]}
            first.setdefault(w[WF["Owners"]], w[WF["CreationDate"]])
        self.wallets_by_user = {}
        for w in self.wallet_objs.values():
            self.wallets_by_user.setdefault(w["Owners"][0], []).append(w)
        self.user_objs = {}
        for uid, t in first.items():
            ut = t - 60
            tag = _tag(rng, 0.03, 0.6, "user-")
            if rng.random() < 0.7:
                fn = rng.choice(["Marie", "Jean", "Ana", "Lukas", "Zoë", "Émile", "Kenji"])
                ln = rng.choice(["Martin", "Dubois", "Müller", "García", "O'Brien", "Tanaka"])
                self.user_objs[uid] = {
                    "Id": uid, "PersonType": "NATURAL", "FirstName": fn, "LastName": ln,
                    "Email": "%s.%s@example.invalid" % (fn.lower(), ln.lower()),
                    "Birthday": 315532800 + rng.randrange(30 * 365) * 86400,
                    "Nationality": rng.choice(COUNTRIES), "CountryOfResidence": rng.choice(COUNTRIES),
                    "KYCLevel": rng.choice(["LIGHT", "LIGHT", "REGULAR"]),
                    "UserCategory": rng.choice(["PAYER", "OWNER"]),
                    "TermsAndConditionsAccepted": True, "Tag": tag, "CreationDate": ut}
            else:
                name = rng.choice(["Acme SAS", "Widgets GmbH", "Café, Crème & Co", "Tanaka KK",
                                   "O'Brien Ltd"])
                self.user_objs[uid] = {
                    "Id": uid, "PersonType": "LEGAL", "Name": name,
                    "LegalPersonType": rng.choice(["BUSINESS", "ORGANIZATION", "SOLETRADER"]),
                    "Email": "billing@example.invalid",
                    "CompanyNumber": "%09d" % rng.randrange(10 ** 9),
                    "LegalRepresentativeFirstName": "Claire", "LegalRepresentativeLastName": "Roux",
                    "KYCLevel": rng.choice(["LIGHT", "REGULAR", "REGULAR"]),
                    "UserCategory": "OWNER", "TermsAndConditionsAccepted": True,
                    "Tag": tag, "CreationDate": ut}
        self._add_sca_users()
        self._user_status()
        self._build_recipients()
        # disputes per pay-in, per credited wallet and per user (the pay-in's author)
        self.disputes_by_payin, self.disputes_by_wallet, self.disputes_by_user = {}, {}, {}
        for d in self.disputes:
            p = self.payins.get(d["InitialTransactionId"])
            self.disputes_by_payin.setdefault(d["InitialTransactionId"], []).append(d)
            if p is not None:
                self.disputes_by_wallet.setdefault(p["CreditedWalletId"], []).append(d)
                self.disputes_by_user.setdefault(p["AuthorId"], []).append(d)
        self.emoney = None          # built on first use (startup time)

    # §11 SCA: fixed users (no random draw, so no other collection changes)
    SCA_OWNER_NO_CONSENT = "user_m_01SCA0WNERN0C0NSENT00000"
    SCA_PAYER_NO_CONSENT = "user_m_01SCAPAYERN0C0NSENT00000"

    def _add_sca_users(self):
        """Whether each user consented to reads without the user present
        (ScaContext=USER_NOT_PRESENT): every generated user did; two fixed users did
        not, an OWNER (403 then) and a PAYER (not SCA-gated), each with one wallet
        outside the WALLETS report's data."""
        self.sca_consent = {uid: True for uid in self.user_objs}
        t = self.t0 - 200 * 86400
        for i, (uid, cat, fn) in enumerate(((self.SCA_OWNER_NO_CONSENT, "OWNER", "Olga"),
                                            (self.SCA_PAYER_NO_CONSENT, "PAYER", "Pablo"))):
            self.user_objs[uid] = {
                "Id": uid, "PersonType": "NATURAL", "FirstName": fn, "LastName": "Sans-Consent",
                "Email": "%s@example.invalid" % fn.lower(), "Birthday": 315532800,
                "Nationality": "FR", "CountryOfResidence": "FR", "KYCLevel": "LIGHT",
                "UserCategory": cat, "TermsAndConditionsAccepted": True,
                "Tag": None, "CreationDate": t + i}
            self.sca_consent[uid] = False
            wid = "wlt_m_01SCA%sN0C0NSENT00000" % ("0WNER" if cat == "OWNER" else "PAYER")
            w = {"Id": wid, "Owners": [uid], "Description": "SCA test wallet",
                 "Balance": money("EUR", 1234 + i), "Currency": "EUR", "FundsType": "DEFAULT",
                 "Tag": None, "CreationDate": t + 60 + i}
            self.wallet_objs[wid] = w
            self.wallets_by_user[uid] = [w]

    def _user_status(self):
        """§11 UserStatus, TermsAndConditionsAcceptedDate and the regulatory status
        (GET /users/{Id}/regulatory: ScopeBlocked, ActionCode; GUESS: the codes), from
        a generator of their own: no other collection changes."""
        rng = random.Random(self.seed * 7 + 13)
        self.regulatory = {}
        for uid in sorted(self.user_objs):
            u = self.user_objs[uid]
            st = rng.choices(["ACTIVE", "CLOSED", "PENDING_USER_ACTION"], [90, 4, 6])[0]
            u["UserStatus"] = st
            u["TermsAndConditionsAcceptedDate"] = u["CreationDate"] + rng.randint(0, 600)
            inflow = st == "CLOSED" or (st == "PENDING_USER_ACTION" and rng.random() < 0.3)
            outflow = st != "ACTIVE"
            self.regulatory[uid] = {
                "ScopeBlocked": {"Inflows": inflow, "Outflows": outflow},
                "ActionCode": {"ACTIVE": None, "CLOSED": "USER_CLOSED",
                               "PENDING_USER_ACTION": rng.choice(["KYC_REQUIRED",
                                                                  "TERMS_ACCEPTANCE_REQUIRED"])}[st]}

    RECIPIENT_COUNTRY = {"EUR": ["FR", "DE", "ES", "IT", "NL", "BE", "IE"], "GBP": ["GB"],
                         "USD": ["US"], "PLN": ["PL"], "JPY": ["JP"], "CHF": ["CH"]}

    def _build_recipients(self):
        """§11 Recipients: one per account a payout's BankAccountId names (a Recipient
        id rec_... or a legacy bank account id, both read by GET /recipients/{Id}),
        owned by the payout's author; some users also have a PAYIN-scope recipient.
        A generator of its own: no other collection changes."""
        rng = random.Random(self.seed * 7 + 12)
        first = {}
        for po in sorted(self.payouts.values(), key=lambda o: (o["CreationDate"], o["Id"])):
            a = po.get("BankAccountId")
            if a and a not in first:
                first[a] = po
        self.recipients = {}
        self.recipients_by_user = {}
        for acct in sorted(first):
            po = first[acct]
            self._add_recipient(rng, acct, po["AuthorId"], po["DebitedFunds"]["Currency"],
                                po["CreationDate"] - rng.randint(1, 60) * 86400, "PAYOUT")
        for uid in sorted(self.recipients_by_user):
            if rng.random() < 0.15:
                rid = "rec_" + ulid(self.t0 - rng.randint(1, 300) * 86400, rng)
                self._add_recipient(rng, rid, uid, "EUR", self.t0 - rng.randint(1, 300) * 86400,
                                    "PAYIN")

    def _add_recipient(self, rng, rid, uid, ccy, t, scope):
        u = self.user_objs.get(uid) or {}
        legal = u.get("PersonType") != "NATURAL"
        country = rng.choice(self.RECIPIENT_COUNTRY.get(ccy, ["FR"]))
        addr = {"AddressLine1": "%d rue des Lilas" % rng.randint(1, 200), "AddressLine2": None,
                "City": rng.choice(["Paris", "Lyon", "Berlin", "London", "Zürich"]),
                "Region": None, "PostalCode": "%05d" % rng.randrange(100000),
                "Country": country}
        bic = "%sBANK%s2X" % (rng.choice(["AGRI", "BNPA", "DEUT", "HSBC", "UBSW"]), country)
        iban = "%s%02d%s" % (country, rng.randint(10, 99), "".join(
            str(rng.randrange(10)) for _ in range(20)))
        local = intl = None
        if ccy == "EUR":
            method, local = "LocalBankTransfer", {"EUR": {"IBAN": iban, "BIC": bic}}
        elif ccy == "GBP":
            method, local = "LocalBankTransfer", {"GBP": {
                "SortCode": "%06d" % rng.randrange(10 ** 6),
                "AccountNumber": "%08d" % rng.randrange(10 ** 8)}}
        elif ccy in ("USD", "JPY"):
            method, intl = "InternationalBankTransfer", {
                "AccountNumber": "%012d" % rng.randrange(10 ** 12), "BIC": bic}
        else:
            method, intl = "InternationalBankTransfer", {"IBAN": iban, "BIC": bic}
        if legal:
            name = u.get("Name") or "Client account %s" % ccy
            who = {"BusinessName": name, "Address": addr}
        else:
            name = "%s %s" % (u.get("FirstName"), u.get("LastName"))
            who = {"FirstName": u.get("FirstName"), "LastName": u.get("LastName"), "Address": addr}
        status = rng.choices(["ACTIVE", "CANCELED", "PENDING"], [85, 10, 5])[0]
        display = "%s %s account" % (name, ccy)
        if rng.random() < 0.03:
            display = AWKWARD[rng.randrange(len(AWKWARD))]
        vop = None
        if ccy == "EUR":
            check = rng.choices(["MATCH", "CLOSE_MATCH", "NO_MATCH", "NOT_POSSIBLE"],
                                [80, 10, 5, 5])[0]
            vop = {"RecipientVerificationId": "vop_" + ulid(t, rng),
                   "RecipientVerificationCheck": check,
                   "RecipientVerificationMessage": {
                       "MATCH": None, "CLOSE_MATCH": "The name is close to the account holder's",
                       "NO_MATCH": "The name does not match the account holder's",
                       "NOT_POSSIBLE": "The check was not possible"}[check]}
        o = {"Id": rid, "Tag": _tag(rng, 0.03, 0.6, "rcp-"), "CreationDate": t,
             "Status": status, "DisplayName": display, "PayoutMethodType": method,
             "RecipientType": "Business" if legal else "Individual", "Currency": ccy,
             "Country": country,
             "IndividualRecipient": None if legal else who,
             "BusinessRecipient": who if legal else None,
             "LocalBankTransfer": local, "InternationalBankTransfer": intl,
             "PendingUserAction": {"RedirectUrl": "https://sca.sandbox.mangopay.com/?token=%s"
                                   % rid[-12:]} if status == "PENDING" else None,
             "UserId": uid, "RecipientScope": scope,
             "RecipientVerificationOfPayee": vop}
        self.recipients[rid] = o
        self.recipients_by_user.setdefault(uid, []).append(o)

    def _build_emoney(self):
        """e-money per user and month: SUCCEEDED flows into / out of the user's wallets"""
        em = {}
        st, cd, cw, dw = LF["Status"], LF["CreationDate"], LF["CreditedWalletId"], LF["DebitedWalletId"]
        sides = ((cw, 0, LF["CreditedFundsCurrency"], LF["CreditedFundsAmount"]),
                 (dw, 1, LF["DebitedFundsCurrency"], LF["DebitedFundsAmount"]))
        for r in self.ledger:
            if r[st] != "SUCCEEDED":
                continue
            for wi, side, ci, ai in sides:
                uid = self.owner.get(r[wi])
                if uid is None:
                    continue
                tm = time.gmtime(r[cd])
                e = em.setdefault((uid, tm.tm_year, tm.tm_mon), {})
                e.setdefault(r[ci], [0, 0])[side] += r[ai]
        self.emoney = em

    def emoney_object(self, uid, year, month, ccy="EUR", wallets_in=False):
        """GET /users/{Id}/emoney/{Year}/{Month}: the month's credited and debited
        e-money of the user's wallets, converted into ccy at the fixed rates;
        wallets_in (the docs' reading of Currency, §11): of the user's wallets
        in ccy only, unconverted."""
        if self.emoney is None:
            self._build_emoney()
        cred = deb = 0
        for c, (a, b) in self.emoney.get((uid, year, month), {}).items():
            if wallets_in and c != ccy:
                continue
            f = CCY_RATE[ccy] / CCY_RATE[c] * 10 ** (CCY_EXP[ccy] - CCY_EXP[c])
            cred += int(round(a * f))
            deb += int(round(b * f))
        return {"UserId": uid, "CreditedEMoney": money(ccy, cred),
                "DebitedEMoney": money(ccy, deb)}

    def refresh_tx(self, r):
        """A ledger row changed or was added (POST /__mock/mutate): its by-id
        object (payout, pay-in, refund, ...) and the parent-scoped refund
        lists follow it."""
        typ, nat, rid = r[LF["Type"]], r[LF["Nature"]], r[LF["Id"]]
        built = "_objects_built" in self.__dict__
        if nat == "REPUDIATION":
            self.repudiations[rid] = self.tx_object(r, "repudiation")
        elif nat == "SETTLEMENT":
            self.settlements[rid] = self.tx_object(r, "settlement")
        elif nat == "REFUND":
            o = self.refunds[rid] = self.tx_object(r, "refund")
            parent = r[LF["InitialTransactionId"]]
            if built and parent:
                kids = [k for k in self.refunds_by_parent.get(parent, []) if k["Id"] != rid]
                kids.append(o)
                kids.sort(key=lambda k: (k["CreationDate"], k["Id"]))
                self.refunds_by_parent[parent] = kids
        elif typ == "PAYOUT" and nat == "REGULAR":
            self.payouts[rid] = self.tx_object(r, "payout_bankwire")
        elif built and nat == "REGULAR" and typ in ("PAYIN", "TRANSFER", "CONVERSION"):
            coll = {"PAYIN": self.payins, "TRANSFER": self.transfers,
                    "CONVERSION": self.conversions}[typ]
            coll[rid] = self.tx_object(r, typ.lower())

    def retained(self, obj):
        """§5/§8 13-month retention for transaction objects (anchored at T0)."""
        return obj["CreationDate"] >= self.retention_cutoff

    # ------------------------------------------------------------------ dispute documents
    def _gen_docs(self):
        rng = random.Random(self.seed * 7 + 6)
        docs = []
        did = 70000000
        for d in self.disputes:
            contested = d["ContestedFunds"] is not None or d["Status"] in (
                "SUBMITTED", "PENDING_BANK_ACTION", "REOPENED_PENDING_CLIENT_ACTION")
            if not contested:
                continue
            k = rng.randint(1, 3)
            for j in range(k):
                did += rng.randint(1, 5000)
                t = min(d["CreationDate"] + rng.randint(3600, 86400 * 6), self.t0 - 10)
                st = rng.choices(DOC_STATUSES, [10, 20, 45, 15, 10])[0]
                doc = {"Id": str(did), "Tag": _tag(rng, 0.08, 0.6, "doc-"), "CreationDate": t,
                       "DisputeId": d["Id"], "Type": rng.choice(DOC_TYPES), "Status": st,
                       "RefusedReasonType": None, "RefusedReasonMessage": None,
                       "ProcessedDate": None}
                if st in ("VALIDATED", "REFUSED", "OUT_OF_DATE"):
                    doc["ProcessedDate"] = min(t + rng.randint(3600, 86400 * 3), self.t0 - 5)
                if st == "REFUSED":
                    doc["RefusedReasonType"] = rng.choice(DOC_REFUSED_REASONS)
                    doc["RefusedReasonMessage"] = rng.choice(
                        [None, "Unreadable scan", AWKWARD[rng.randrange(len(AWKWARD))]])
                docs.append(doc)
        t = self.t0 - 25 * 86400
        docs.append({"Id": "9100000001", "Tag": 'doc "fixed", \\ é', "CreationDate": t,
                     "DisputeId": "9000000001", "Type": "DELIVERY_PROOF", "Status": "REFUSED",
                     "RefusedReasonType": "DOCUMENT_UNREADABLE",
                     "RefusedReasonMessage": "line one\r\nline two",
                     "ProcessedDate": t + 7200})
        docs.append({"Id": "9100000002", "Tag": None, "CreationDate": t + 60,
                     "DisputeId": "9000000001", "Type": "INVOICE", "Status": "VALIDATED",
                     "RefusedReasonType": None, "RefusedReasonMessage": None,
                     "ProcessedDate": t + 7260})
        docs.sort(key=lambda x: (x["CreationDate"], x["Id"]))
        self.dispute_documents = docs

    # ------------------------------------------------------------------ events (§2: 45 days)
    def _gen_events(self):
        rng = random.Random(self.seed * 7 + 7)
        lo = self.t0 - 44 * 86400      # strictly inside "the last 45 days" whatever the hour
        ev = []

        def add(rid, et, t):
            if lo <= t < self.t0:
                ev.append({"ResourceId": rid, "EventType": et, "Date": t})

        for d in self.disputes:
            t = d["CreationDate"]
            add(d["Id"], "DISPUTE_CREATED", t)
            if d["DisputeType"] != "NOT_CONTESTABLE" and d["Status"] != "CREATED":
                add(d["Id"], "DISPUTE_ACTION_REQUIRED", t + 600)
            if d["Status"] in ("SUBMITTED", "PENDING_BANK_ACTION") or d["ContestedFunds"]:
                add(d["Id"], "DISPUTE_SUBMITTED", t + 86400 * 2)
            if d["Status"] == "PENDING_BANK_ACTION":
                add(d["Id"], "DISPUTE_SENT_TO_BANK", t + 86400 * 3)
            if d["Status"] == "REOPENED_PENDING_CLIENT_ACTION":
                add(d["Id"], "DISPUTE_FURTHER_ACTION_REQUIRED", t + 86400 * 4)
            if d["ClosedDate"]:
                add(d["Id"], "DISPUTE_CLOSED", d["ClosedDate"])
        for doc in self.dispute_documents:
            add(doc["Id"], "DISPUTE_DOCUMENT_CREATED", doc["CreationDate"])
            if doc["Status"] != "CREATED":
                add(doc["Id"], "DISPUTE_DOCUMENT_VALIDATION_ASKED", doc["CreationDate"] + 60)
            if doc["Status"] == "VALIDATED":
                add(doc["Id"], "DISPUTE_DOCUMENT_SUCCEEDED", doc["ProcessedDate"])
            if doc["Status"] == "REFUSED":
                add(doc["Id"], "DISPUTE_DOCUMENT_FAILED", doc["ProcessedDate"])
        start = bisect.bisect_left(self.ledger_times, lo)
        for r in self.ledger[start:]:
            typ, nat, st = r[LF["Type"]], r[LF["Nature"]], r[LF["Status"]]
            if nat == "REPUDIATION":
                base = "PAYIN_REPUDIATION"
            elif nat == "SETTLEMENT":
                base = "TRANSFER_SETTLEMENT"
            elif nat == "REFUND":
                base = {"PAYOUT": "PAYIN_REFUND", "PAYIN": "PAYOUT_REFUND",
                        "TRANSFER": "TRANSFER_REFUND"}.get(typ)
            elif typ == "PAYOUT":
                base = "PAYOUT_NORMAL"
            elif typ in ("PAYIN", "TRANSFER"):
                if rng.random() > 0.04:        # keep the total near ~2000
                    continue
                base = typ + "_NORMAL"
            else:
                continue
            t = r[LF["CreationDate"]]
            rid = r[LF["Id"]]
            add(rid, base + "_CREATED", t)
            if st == "SUCCEEDED":
                add(rid, base + "_SUCCEEDED", r[LF["ExecutionDate"]] or t)
                if base == "PAYOUT_NORMAL" and r[LF["ModeApplied"]] == "INSTANT_PAYMENT":
                    add(rid, "INSTANT_PAYOUT_SUCCEEDED", r[LF["ExecutionDate"]] or t)
                if base == "PAYOUT_NORMAL" and r[LF["FallbackCode"]]:
                    add(rid, "INSTANT_PAYOUT_FALLBACKED", t + 5)
            elif st == "FAILED":
                add(rid, base + "_FAILED", t + 1)
        ev.sort(key=lambda e: (e["Date"], e["ResourceId"], e["EventType"]))
        self.events = ev

    # ------------------------------------------------------------------ historical reports
    def _gen_reports(self):
        """~30 legacy report objects (§4a) and ~20 Reporting Service objects (§4b).
        Their Status/DownloadURL are finalised by the server (which knows its
        download port); here we keep the definition plus the planned outcome."""
        rng = random.Random(self.seed * 7 + 8)
        self.legacy_reports = []
        n = 30
        for i in range(n):
            fixed = i < 3
            if fixed:
                rid = "report_m_" + fixed_ulid(i + 1)
                t = [self.t0 - 2 * 3600, self.t0 - 5 * 86400, self.t0 - 40 * 86400][i]
                outcome = ["READY_FOR_DOWNLOAD", "FAILED", "EXPIRED"][i]
                rtype = "TRANSACTIONS"
            else:
                t = self.t0 - rng.randint(3 * 3600, 300 * 86400)
                rid = "report_m_" + ulid(t, rng)
                age = self.t0 - t
                outcome = ("FAILED" if rng.random() < 0.15 else
                           "EXPIRED" if age > 86400 else "READY_FOR_DOWNLOAD")
                rtype = rng.choice(["TRANSACTIONS", "TRANSACTIONS", "WALLETS"])
            if rtype == "TRANSACTIONS":
                before = t - rng.randint(3600, 86400 * 3) if not fixed else self.t0 - 86400 * 1 - 1
                after = add_months(before, -rng.choice([1, 1, 3, 6])) if not fixed else \
                    self.t0 - 86400 * 8
                filters = {"BeforeDate": before, "AfterDate": after,
                           "Type": rng.choice([[], ["PAYOUT"], ["PAYIN", "TRANSFER"]]),
                           "ResultCode": [], "Status": rng.choice([[], ["SUCCEEDED"]]),
                           "Nature": rng.choice([[], ["REGULAR"]]), "WalletId": None,
                           "AuthorId": None, "MinDebitedFundsAmount": None,
                           "MinDebitedFundsCurrency": None, "MaxDebitedFundsAmount": None,
                           "MaxDebitedFundsCurrency": None, "MinFeesAmount": None,
                           "MinFeesCurrency": None, "MaxFeesAmount": None,
                           "MaxFeesCurrency": None}
                if fixed and i == 0:
                    filters.update({"Type": ["PAYOUT"], "Status": [], "Nature": ["REGULAR"]})
                cols = list(LEGACY_TX_DEFAULT) if rng.random() < 0.6 else \
                    ["Id", "CreationDate", "CreationDate:ISO", "Tag", "AuthorId",
                     "DebitedFundsAmount", "DebitedFundsCurrency", "Status", "Type", "Nature",
                     "BankAccountId", "BankWireRef"]
            else:
                before = t - 3600
                after = add_months(before, -rng.choice([1, 12, 24]))
                filters = {"BeforeDate": before, "AfterDate": after, "OwnerId": None,
                           "Currency": rng.choice([None, "EUR"]), "MinBalanceAmount": None,
                           "MinBalanceCurrency": None, "MaxBalanceAmount": None,
                           "MaxBalanceCurrency": None}
                cols = list(LEGACY_WALLET_DEFAULT)
            rep = {
                "Id": rid, "Tag": None if rng.random() < 0.4 else rng.choice(
                    ["fdw-nightly", "monthly, export", "é-report"]),
                "CreationDate": t, "ReportDate": None, "Status": "PENDING",
                "DownloadFormat": "CSV", "DownloadURL": None,
                "CallbackURL": rng.choice([None, None, "https://example.invalid/hook"]),
                "ReportType": rtype,
                "Sort": rng.choice(["CreationDate:ASC", "CreationDate:ASC", "CreationDate:DESC"]),
                "Preview": False, "Filters": filters, "Columns": cols,
                "ResultCode": None, "ResultMessage": None,
            }
            if fixed and i > 0:
                rep.update({"Tag": ["", "fixed-failed", "fixed-expired"][i], "CallbackURL": None})
            if fixed and i == 0:
                rep.update({"Tag": "fixed-ready", "Sort": "CreationDate:ASC", "CallbackURL": None,
                            "Columns": ["Id", "Tag", "CreationDate", "CreationDate:ISO",
                                        "ExecutionDate", "AuthorId", "DebitedFundsAmount",
                                        "DebitedFundsCurrency", "FeesAmount", "Status",
                                        "ResultCode", "Type", "Nature", "DebitedWalletId",
                                        "BankAccountId", "BankWireRef"]})
            self.legacy_reports.append({"obj": rep, "outcome": outcome,
                                        "report_date": t + rng.randint(2, 40)})
        self.legacy_reports.sort(key=lambda x: (x["obj"]["CreationDate"], x["obj"]["Id"]))

        self.reporting_reports = []
        types = ["USER_WALLET_TRANSACTIONS", "COLLECTED_FEES", "ECHO_INTENT",
                 "ECHO_INTENT_ACTION", "ECHO_SETTLEMENT", "ECHO_SPLIT"]
        for i in range(20):
            fixed = i < 2
            if fixed:
                rid = "report_" + fixed_ulid(i + 1)
                t = [self.t0 - 3 * 3600, self.t0 - 3 * 86400][i]
                outcome = ["GENERATED", "FAILED"][i]
                rtype = ["USER_WALLET_TRANSACTIONS", "COLLECTED_FEES"][i]
            else:
                t = self.t0 - rng.randint(3600, 200 * 86400)
                rid = "report_" + ulid(t, rng)
                age = self.t0 - t
                outcome = ("FAILED" if rng.random() < 0.15 else
                           "EXPIRED" if age > 31 * 86400 else "GENERATED")
                rtype = types[i % len(types)]
            before = t - 3600
            after = add_months(before, -rng.choice([1, 3, 6]))
            if rtype == "USER_WALLET_TRANSACTIONS":
                w = self.wallets[rng.randrange(len(self.wallets))]
                filters = {"UserId": w[WF["Owners"]], "WalletId": None, "Currency": None}
                if fixed:
                    filters = {"UserId": None, "WalletId": w[0], "Currency": None}
            elif rtype == "COLLECTED_FEES":
                filters = {"Currency": rng.choice([None, "EUR"])}
            elif rtype in ("ECHO_INTENT", "ECHO_INTENT_ACTION"):
                filters = {"Type": None, "Status": None, "PaymentMethod": None}
            elif rtype == "ECHO_SETTLEMENT":
                filters = {"Status": None, "ExternalProviderName": None}
            else:
                filters = {"Status": None, "IntentId": None, "Scheduled": None}
            tag = rng.choice([None, "fdw", "weekly, fees", "ü-tag"])
            if fixed:
                tag = ["fixed-generated", "fixed-failed"][i]
            rep = {"Id": rid, "Tag": tag,
                   "CreationDate": t, "ReportDate": None, "Status": "PENDING",
                   "ResultCode": None, "ResultMessage": None, "DownloadFormat": "CSV",
                   "DownloadURL": None, "ReportType": rtype, "Sort": "CreationDate:DESC",
                   "AfterDate": after, "BeforeDate": before, "Filters": filters,
                   "Columns": None}
            self.reporting_reports.append({"obj": rep, "outcome": outcome,
                                           "report_date": t + rng.randint(5, 300),
                                           "columns": None})
        self.reporting_reports.sort(key=lambda x: (x["obj"]["CreationDate"], x["obj"]["Id"]))


if __name__ == "__main__":   # quick timing / summary
    t = time.time()
    s = Store()
    print("seeded in %.2fs: disputes=%d docs=%d ledger=%d wallets=%d events=%d payouts=%d "
          "refunds=%d repud=%d settle=%d" % (
              time.time() - t, len(s.disputes), len(s.dispute_documents), len(s.ledger),
              len(s.wallets), len(s.events), len(s.payouts), len(s.refunds),
              len(s.repudiations), len(s.settlements)))
    print({k: len(v) for k, v in s.wallet_txs.items()})
