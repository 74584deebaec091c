"""Reports for the MangoPay mock: legacy Reports API (§4a), Reporting Service (§4b),
their CSV files (§4c) and the CloudFront/S3-like download server.

Report objects move PENDING -> READY_FOR_DOWNLOAD (legacy) or PENDING -> GENERATING
-> GENERATED (Reporting Service) after config "report_delay_ms"; states are
computed lazily on read from the creation time, so no timer threads exist.
"""

import base64
import bisect
import email.utils
import hashlib
import hmac
import json
import math
import random
import re
import time
import uuid

import mock_data as md
from mock_data import LF, WF

REPORT_FAULT_KINDS = ("report_failed", "report_expired", "report_stays_pending", "report_slow")

LEGACY_TX_FILTER_KEYS = ["BeforeDate", "AfterDate", "Type", "ResultCode", "Status", "Nature",
                         "WalletId", "AuthorId", "MinDebitedFundsAmount",
                         "MinDebitedFundsCurrency", "MaxDebitedFundsAmount",
                         "MaxDebitedFundsCurrency", "MinFeesAmount", "MinFeesCurrency",
                         "MaxFeesAmount", "MaxFeesCurrency"]
LEGACY_TX_LIST_FILTERS = {"Type": md.TX_TYPES, "Status": md.TX_STATUSES,
                          "Nature": md.TX_NATURES, "ResultCode": None}
LEGACY_WALLET_FILTER_KEYS = ["BeforeDate", "AfterDate", "OwnerId", "Currency",
                             "MinBalanceAmount", "MinBalanceCurrency", "MaxBalanceAmount",
                             "MaxBalanceCurrency"]

# §4b columns per Reporting Service type: (name, is_default), API order
def _cols(names):
    out = []
    for n in names:
        opt = n.endswith("?")
        out.append((n.rstrip("?"), not opt))
    return out


REPORTING_COLUMNS = {
    "USER_WALLET_TRANSACTIONS": _cols([
        "ClientId", "TransactionId", "CreationDate", "CreationDate:ISO?", "ExecutionDate",
        "ExecutionDate:ISO?", "AuthorId", "CreditedUserId", "DebitedFundsAmount",
        "DebitedFundsCurrency", "CreditedFundsAmount", "CreditedFundsCurrency", "FeesAmount",
        "FeesCurrency", "Type", "Nature", "CreditedWalletId", "DebitedWalletId", "BankAccountId",
        "PreauthorizationId", "BankWireRef", "CardId", "CardAlias", "CardType", "CardCountry",
        "CardExpirationDate", "Culture", "DeclaredDebitedFundsAmount",
        "DeclaredDebitedFundsCurrency", "DeclaredFeesAmount", "DeclaredFeesCurrency",
        "ExecutionType", "PaymentType", "WireReference", "Tag"]),
    "COLLECTED_FEES": _cols([
        "ClientId", "TransactionId", "CreationDate", "CreationDate:ISO?", "ExecutionDate",
        "ExecutionDate:ISO?", "AuthorId", "DebitedWalletId", "CreditedWalletId",
        "CreditedFundsCurrency", "CreditedFundsAmount", "DebitedFundsCurrency",
        "DebitedFundsAmount", "FeesAmount", "FeesCurrency", "Type", "Nature", "PaymentType",
        "Tag"]),
    "ECHO_INTENT": _cols(["Id", "Status", "Amount", "Currency", "FeesAmount", "FeesCurrency",
                          "Type", "PaymentMethod", "BuyerId", "SellerId"]),
    "ECHO_INTENT_ACTION": _cols([
        "IntentId", "Id", "ExternalProcessingDate", "ExternalProviderReference",
        "ExternalMerchantReference", "Status", "Amount", "Currency", "FeesAmount",
        "FeesCurrency", "Type", "PaymentMethod", "BuyerId", "SellerId"]),
    "ECHO_SETTLEMENT": _cols([
        "Id", "CreationDate", "CreationDate:ISO?", "FileName", "SettlementCurrency", "Status",
        "SettledTransactionCount", "UnsettledTransactionCount", "SettledAmount",
        "DeclaredAmount", "DeficitAmount", "ExternalProviderName"]),
    "ECHO_SPLIT": _cols([
        "Id", "IntentId", "AuthorId", "Amount", "Currency", "FeesAmount", "FeesCurrency",
        "Status", "Description", "CreditedWalletId", "DebitedWalletId", "Scheduled",
        "CreationDate", "CreationDate:ISO?", "ExecutionDate", "ExecutionDate:ISO?"]),
}
REPORTING_FILTERS = {
    "USER_WALLET_TRANSACTIONS": {"Currency": None, "UserId": None, "WalletId": None},
    "COLLECTED_FEES": {"Currency": None},
    "ECHO_INTENT": {"Type": ["PAYIN", "REFUND", "DISPUTE"],
                    "Status": ["AUTHORIZED", "PARTIALLY_CAPTURED", "CAPTURED", "CANCELED",
                               "REFUNDED", "REFUND_REVERSED", "DISPUTED", "DEFENDED",
                               "DISPUTED_WON", "DISPUTED_LOST"], "PaymentMethod": None},
    "ECHO_SETTLEMENT": {"Status": ["UPLOADED", "CREATED", "UNMATCHED", "PARTIALLY_MATCHED",
                                   "PENDING_FUNDS_RECEPTION", "INSUFFICIENT_FUNDS",
                                   "RECONCILED", "FAILED"], "ExternalProviderName": None},
    "ECHO_SPLIT": {"Status": ["CREATED", "PENDING_FUNDS_RECEPTION", "AVAILABLE", "PENDING",
                              "COMPLETED", "REJECTED", "FAILED", "REVERSED"],
                   "IntentId": None, "Scheduled": None},
}
REPORTING_FILTERS["ECHO_INTENT_ACTION"] = REPORTING_FILTERS["ECHO_INTENT"]
REPORTING_ALIASES = {"TransactionId": "Id", "CardAlias": "Alias", "CardCountry": "Country",
                     "CardExpirationDate": "ExpirationDate"}
FAIL_MESSAGES = {"805001": "Validation error: the report definition is not valid",
                 "809001": "Execution error: the report could not be generated"}


def csv_field(v):
    """RFC 4180: quote when the value holds a comma, a quote, CR or LF; double the
    quotes; null -> empty cell (§4c choices; README)."""
    if v is None:
        return ""
    if v is True:
        return "true"
    if v is False:
        return "false"
    s = v if isinstance(v, str) else str(v)
    if "," in s or '"' in s or "\n" in s or "\r" in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def csv_line(values, eol="\r\n"):
    return (",".join(csv_field(v) for v in values) + eol).encode("utf-8")


BOM = b"\xef\xbb\xbf"

# §4c: line ends, the final line break, a BOM and the form of a report without
# rows are all unknown, so every combination is served.  Each report gets the
# next shape of this cycle (or config "csv_shape"); "noeol": the last line (the
# header when there are no rows) has no line break; "emptybody": a report without
# rows is an empty body (just the BOM with "bom") instead of its header line.
SHAPE_TOKENS = ("crlf", "lf", "noeol", "bom", "emptybody")
CSV_SHAPES = [",".join(t for t, on in (("lf" if k & 1 else "crlf", True), ("noeol", k & 2),
                                        ("bom", k & 4), ("emptybody", k & 8)) if on)
              for k in range(16)]


def parse_shape(name):
    """"lf,noeol,bom" -> {"eol", "final", "bom", "emptybody"}; ValueError if unknown."""
    toks = [t.strip().lower() for t in str(name).split(",") if t.strip()]
    bad = [t for t in toks if t not in SHAPE_TOKENS]
    if bad or ("lf" in toks and "crlf" in toks):
        raise ValueError("csv_shape: %r is not a comma-separated set of %s"
                         % (name, "|".join(SHAPE_TOKENS)))
    return {"eol": "\n" if "lf" in toks else "\r\n", "final": "noeol" not in toks,
            "bom": "bom" in toks, "emptybody": "emptybody" in toks}


def shape_name(shape):
    return ",".join(t for t, on in (("lf" if shape["eol"] == "\n" else "crlf", True),
                                    ("noeol", not shape["final"]), ("bom", shape["bom"]),
                                    ("emptybody", shape["emptybody"])) if on)


_DAYS = {}


def fast_iso(ts):
    """md.iso_legacy without a datetime per call (bench rows)."""
    d, s = divmod(ts, 86400)
    ds = _DAYS.get(d)
    if ds is None:
        ds = _DAYS[d] = md.iso_legacy(d * 86400)[:10]
    return "%s %02d:%02d:%02d" % (ds, s // 3600, s // 60 % 60, s % 60)


class BytesCsv:
    def __init__(self, data, last_record_at, etag=None):
        self.data = data
        self.size = len(data)
        self.last_record_at = last_record_at    # where the last line starts
        self.etag = etag or hashlib.md5(data).hexdigest()

    def iter_from(self, offset, end=None):
        end = self.size if end is None else end
        for i in range(offset, end, 65536):
            yield self.data[i:min(i + 65536, end)]


class BenchCsv:
    """Config "bench_rows": N synthetic TRANSACTIONS rows, generated on the fly.

    Every variable-width piece of row i depends only on i % P and every other
    piece has a fixed width, so the byte offset of any row is arithmetic: the
    file size and Range requests need no pass over the data and nothing is kept
    in memory."""
    P = 997

    def __init__(self, n, columns, after, before, desc, filters, shape, client_id):
        self.n = n
        self.columns = columns
        self.after = after
        self.span = max(0, before - after)
        self.desc = desc
        self.client_id = client_id
        types = filters.get("Type") or ["PAYIN", "TRANSFER", "PAYOUT", "CONVERSION"]
        stats = filters.get("Status") or ["SUCCEEDED", "SUCCEEDED", "SUCCEEDED", "FAILED",
                                          "CREATED"]
        nats = filters.get("Nature") or ["REGULAR"]
        tags = [None, "bench", "bench, with comma", 'bench "quoted"', "bénch ü €", "line\nbreak"]
        ccys = ["EUR", "EUR", "GBP", "USD", "PLN", "CHF"]
        self.phase = []
        for p in range(self.P):
            st = stats[(p * 7) % len(stats)]
            res = (("000000", "Success") if st == "SUCCEEDED" else
                   ("001999", "Generic Operation error") if st == "FAILED" else (None, None))
            self.phase.append({"Type": types[p % len(types)], "Status": st,
                               "Nature": nats[(p // 3) % len(nats)], "Tag": tags[p % len(tags)],
                               "Currency": ccys[(p * 5) % len(ccys)], "ResultCode": res[0],
                               "ResultMessage": res[1], "exec_delay": p % 50})
        self.eol = shape["eol"]
        bom = BOM if shape["bom"] else b""
        self.header = bom + (b"" if n == 0 and shape["emptybody"] else csv_line(columns, self.eol))
        self.templates = [self._template(p) for p in range(self.P)]
        self.lengths = [len(self.row(p)) for p in range(self.P)]
        self.prefix = [0]
        for L in self.lengths:
            self.prefix.append(self.prefix[-1] + L)
        self.cycle = self.prefix[-1]
        full, part = divmod(n, self.P)
        self.size = len(self.header) + full * self.cycle + self.prefix[part]
        self.last_record_at = self.size - self.lengths[(n - 1) % self.P] if n else len(bom)
        if not shape["final"] and self.size > len(bom):
            self.size -= len(self.eol)          # iter_from stops there
        self.etag = hashlib.md5(("bench-%d-%d-%d-%s-%s" % (n, after, before, columns, sorted(shape.items()))).encode()
                                ).hexdigest()

    # columns whose value depends on the row number i (everything else is per phase)
    _I_COLS = ("Id", "CreationDate", "CreationDate:ISO", "ExecutionDate", "ExecutionDate:ISO",
               "AuthorId", "CreditedUserId", "DebitedFundsAmount", "CreditedFundsAmount",
               "FeesAmount", "CreditedWalletId", "DebitedWalletId", "BankAccountId", "CardId")

    def _template(self, p):
        """Per-phase %-template: constant cells baked in (CSV-escaped), the rest named."""
        ph = self.phase[p]
        typ = ph["Type"]
        const = {"Tag": ph["Tag"], "DebitedFundsCurrency": ph["Currency"],
                 "CreditedFundsCurrency": ph["Currency"], "FeesCurrency": ph["Currency"],
                 "Status": ph["Status"], "ResultCode": ph["ResultCode"],
                 "ResultMessage": ph["ResultMessage"], "Type": typ, "Nature": ph["Nature"],
                 "PaymentType": ("BANK_WIRE" if typ == "PAYOUT" else "CARD" if typ == "PAYIN"
                                 else None),
                 "ExecutionType": "DIRECT" if typ == "PAYIN" else None,
                 "BankWireRef": "BENCH" if typ == "PAYOUT" else None,
                 "CardType": "CB_VISA_MASTERCARD" if typ == "PAYIN" else None,
                 "Alias": "497010XXXXXX1234" if typ == "PAYIN" else None,
                 "Country": "FR" if typ == "PAYIN" else None, "Culture": "EN",
                 "ExpirationDate": "1229" if typ == "PAYIN" else None}
        cells = []
        for c in self.columns:
            if c in self._I_COLS:
                cells.append("%%(%s)s" % c)
            else:
                cells.append(csv_field(const.get(c)).replace("%", "%%"))
        return ",".join(cells) + self.eol

    def row(self, i):
        p = i % self.P
        ph = self.phase[p]
        k = (self.n - 1 - i) if self.desc else i
        cd = self.after + (k * self.span // self.n if self.n else 0)
        if cd < 1000000000:
            cd = 1000000000
        amt = 11000 + (i * 7919) % 88000          # always 5 digits
        fees = 100 + (i * 31) % 900               # always 3 digits
        succeeded = ph["Status"] == "SUCCEEDED"
        ex = cd + ph["exec_delay"] if succeeded else None
        typ = ph["Type"]
        n8 = "%08d" % (i % 100000000)
        wid = "wlt_m_bench" + n8
        v = {"Id": "bench_m_%020d" % i, "CreationDate": cd, "CreationDate:ISO": fast_iso(cd),
             "ExecutionDate": "" if ex is None else ex,
             "ExecutionDate:ISO": "" if ex is None else fast_iso(ex),
             "AuthorId": "user_m_bench" + n8,
             "CreditedUserId": "" if typ == "PAYOUT" else "user_m_bench" + n8,
             "DebitedFundsAmount": amt, "CreditedFundsAmount": amt - fees, "FeesAmount": fees,
             "CreditedWalletId": "" if typ == "PAYOUT" else wid,
             "DebitedWalletId": "" if typ == "PAYIN" else wid,
             "BankAccountId": "rec_bench" + n8 if typ == "PAYOUT" else "",
             "CardId": "card_m_bench" + n8 if typ == "PAYIN" else ""}
        return (self.templates[p] % v).encode("utf-8")

    def iter_from(self, offset, end=None):
        end = self.size if end is None else end
        pos = offset
        hl = len(self.header)
        if pos < hl:
            chunk = self.header[pos:min(hl, end)]
            pos += len(chunk)
            yield chunk
        if pos >= end:
            return
        off = pos - hl
        block, rem = divmod(off, self.cycle)
        p = bisect.bisect_right(self.prefix, rem) - 1
        i = block * self.P + p
        skip = rem - self.prefix[p]
        buf = []
        blen = 0
        while i < self.n and pos < end:
            r = self.row(i)
            if skip:
                r = r[skip:]
                skip = 0
            if pos + len(r) > end:
                r = r[:end - pos]
            buf.append(r)
            blen += len(r)
            pos += len(r)
            i += 1
            if blen >= 65536:
                yield b"".join(buf)
                buf = []
                blen = 0
        if buf:
            yield b"".join(buf)


def st_cfg(state, key):
    return state.config.get(key)


def amount_ok(state, f, base, v, ccy_of_row):
    """Min<base>Amount / Max<base>Amount of a legacy report, each with its
    *Currency when given.  Whether the bound itself is included is unverified
    (§4a): config amount_bounds "inclusive" (default) or "exclusive"."""
    excl = str(state.config.get("amount_bounds") or "inclusive").lower() == "exclusive"
    for mm in ("Min", "Max"):
        amt = f.get(mm + base + "Amount")
        if amt is None:
            continue
        ccy = f.get(mm + base + "Currency")
        if ccy and ccy_of_row != ccy:
            return False
        if mm == "Min" and (v < amt or (excl and v == amt)):
            return False
        if mm == "Max" and (v > amt or (excl and v == amt)):
            return False
    return True


def b64_cf(b):
    """CloudFront's URL-safe base64 variant: + -> -, = -> _, / -> ~."""
    return base64.b64encode(b).decode().translate(str.maketrans("+=/", "-_~"))


def unb64_cf(s):
    return base64.b64decode(s.translate(str.maketrans("-_~", "+=/")))


class ReportEngine:
    def __init__(self, state):
        self.state = state
        self.store = state.store
        self.lock = state.lock
        self.recs = {}          # id -> record
        self.shapes_served = 0  # reports given a CSV shape of the cycle so far
        self.files = {}         # download path -> report id
        s = self.store
        for x in s.legacy_reports:
            self._add_seeded(x, "legacy")
        for x in s.reporting_reports:
            self._add_seeded(x, "reporting")
        # WALLETS report rows: user wallets + the client's FEES_/CREDIT_ wallets
        cw = [(w["Id"], w["Tag"], w["CreationDate"], s.client_id,
               "Client fees wallet" if w["FundsType"] == "FEES" else "Client repudiation wallet",
               w["Balance"]["Amount"], w["Currency"], w["Currency"], w["FundsType"])
              for w in s.client_wallets]
        self.all_wallets = sorted(list(s.wallets) + cw, key=lambda w: (w[2], w[0]))
        self.wallet_times = [w[2] for w in self.all_wallets]
        self.echo = self._gen_echo()

    def _add_seeded(self, x, kind):
        obj = json.loads(json.dumps(x["obj"]))
        rec = {"kind": kind, "obj": obj, "outcome": x["outcome"], "created_mono": None,
               "report_date": x["report_date"], "final": False, "csv": None, "bench": 0,
               "fault": None, "seeded": True, "shape": self._next_shape()}
        if kind == "reporting":
            rec["columns"] = self._reporting_columns(obj["ReportType"], None)
            obj["Columns"] = [{"Name": n, "IsDefault": d} for n, d in rec["columns"]]
        self.recs[obj["Id"]] = rec

    def _next_shape(self):
        """The CSV shape of a new report: config "csv_shape", else the cycle's next."""
        forced = self.state.config.get("csv_shape")
        with self.lock:
            k = self.shapes_served
            self.shapes_served += 1
        shape = parse_shape(forced if forced else CSV_SHAPES[k % len(CSV_SHAPES)])
        if self.state.config.get("csv_bom"):
            shape["bom"] = True
        return shape

    # -------------------------------------------------------------- state machine
    def _materialize(self, rec):
        o = rec["obj"]
        now = time.time()
        if rec["final"]:
            # download link validity: 24 h legacy / 31 days Reporting, then EXPIRED
            if o["DownloadURL"] and rec.get("expires") and now > rec["expires"]:
                o["Status"] = "EXPIRED"
                o["DownloadURL"] = None
            return o
        if rec["created_mono"] is not None:
            elapsed = time.monotonic() - rec["created_mono"]
            if rec["outcome"] == "stays_pending" or elapsed < rec["delay"]:
                if rec["kind"] == "reporting" and elapsed >= rec["delay"] / 2.0:
                    o["Status"] = "GENERATING"
                return o
            report_date = o["CreationDate"] + int(math.ceil(rec["delay"]))
            url_from = now
        else:
            if rec["outcome"] == "PENDING":
                return o
            report_date = rec["report_date"]
            url_from = max(report_date, self.state.started)
        o["ReportDate"] = report_date
        outcome = rec["outcome"]
        if outcome == "FAILED":
            code = (rec.get("fault") or {}).get("result_code", "809001")
            o["Status"] = "FAILED"
            o["ResultCode"] = code
            o["ResultMessage"] = (rec.get("fault") or {}).get(
                "result_message", FAIL_MESSAGES.get(code, "Report generation failed"))
            o["DownloadURL"] = None
        elif outcome == "EXPIRED":
            o["Status"] = "EXPIRED"
            o["ResultCode"] = "000000"
            o["ResultMessage"] = "Success"
            o["DownloadURL"] = None
        else:
            o["Status"] = "READY_FOR_DOWNLOAD" if rec["kind"] == "legacy" else "GENERATED"
            o["ResultCode"] = "000000"
            o["ResultMessage"] = "Success"
            ttl = int(self.state.config["download_url_ttl" if rec["kind"] == "legacy"
                                        else "reporting_url_ttl"])
            rec["expires"] = url_from + ttl
            o["DownloadURL"] = self._signed_url(rec, int(rec["expires"]))
        rec["final"] = True
        return o

    def _file_path(self, rec):
        h = hashlib.md5(("%s/%d" % (rec["obj"]["Id"], self.state.args.seed)).encode()).hexdigest()
        if rec["kind"] == "legacy":
            return "/%s.csv" % h
        slug = rec["obj"]["ReportType"].lower().replace("_", "-")
        u = str(uuid.UUID(h))
        f = rec["obj"].get("Filters") or {}
        extra = ""
        if rec["obj"]["ReportType"] == "USER_WALLET_TRANSACTIONS":
            extra = "-user-id-%s-wallet-id-%s" % (f.get("UserId") or "", f.get("WalletId") or "")
        return "/reporting/%s-%s%s.csv" % (slug, u, extra)

    def _signed_url(self, rec, exp):
        path = self._file_path(rec)
        self.files[path] = rec["obj"]["Id"]
        host = self.state.args.host
        if host in ("0.0.0.0", "::", ""):
            host = "127.0.0.1"
        if ":" in host:
            host = "[%s]" % host
        resource = "http://%s:%d%s" % (host, self.state.ports.get("download", 0), path)
        base = self.state.config.get("download_url_base")
        if base:
            # a link elsewhere: another host, port or scheme (the FDW must refuse
            # it, or describe what answered without quoting it)
            resource = str(base).rstrip("/") + path
        policy = json.dumps({"Statement": [{"Resource": resource, "Condition": {
            "DateLessThan": {"AWS:EpochTime": exp}}}]}, separators=(",", ":"))
        pol = b64_cf(policy.encode())
        sig = b64_cf(hmac.new(self.state.signing_key, pol.encode(), hashlib.sha256).digest())
        return "%s?Policy=%s&Signature=%s&Key-Pair-Id=KMOCK" % (resource, pol, sig)

    # -------------------------------------------------------------- reads
    def legacy_objects(self):
        with self.lock:
            return [dict(self._materialize(r)) for r in self.recs.values() if r["kind"] == "legacy"]

    def legacy_get(self, rid):
        with self.lock:
            r = self.recs.get(rid)
            if r is None or r["kind"] != "legacy":
                return None          # §4: ids of one system are not readable via the other
            return dict(self._materialize(r))

    def reporting_objects(self, reduced):
        with self.lock:
            out = []
            for r in self.recs.values():
                if r["kind"] != "reporting":
                    continue
                o = self._materialize(r)
                if reduced:
                    # §4b: the list returns reduced items
                    out.append({"Id": o["Id"], "ReportType": o["ReportType"],
                                "Status": o["Status"],
                                "LastUpdated": o["ReportDate"] or o["CreationDate"],
                                "CreationDate": o["CreationDate"], "Tag": o["Tag"],
                                "ResultCode": o["ResultCode"],
                                "ResultMessage": o["ResultMessage"]})
                else:
                    # truth: the full object plus the list's LastUpdated, so one truth
                    # row covers both the list item and the single-object view
                    full = dict(o)
                    full["LastUpdated"] = o["ReportDate"] or o["CreationDate"]
                    out.append(full)
            return out

    def reporting_get(self, rid):
        with self.lock:
            r = self.recs.get(rid)
            if r is None or r["kind"] != "reporting":
                return None
            return dict(self._materialize(r))

    # -------------------------------------------------------------- creation
    def create(self, client, seg, body, idem_key, rule):
        from mock_common import ApiError, Resp, mp_error, param_error, JSON_CT
        st = self.state
        if idem_key is not None:
            # §3: 16-36 chars, alphanumerics and '-'
            if not re.fullmatch(r"[A-Za-z0-9-]{16,36}", idem_key):
                raise param_error({"Idempotency-Key": "The Idempotency-Key must be 16 to 36 "
                                                      "characters: letters, digits and '-'"})
            with self.lock:
                prev = st.idem.get((client, idem_key))
                if prev and time.time() - prev["time"] < 86400:
                    # §3: re-use within 24 h -> 409 whatever the first outcome
                    raise ApiError(409, mp_error(
                        "idempotent_creation_conflict",
                        "A resource has already been created with this idempotency key", None))
                st.idem[(client, idem_key)] = {"time": time.time(), "pending": True}
        try:
            if seg[0] == "reports":
                obj = self._create_legacy(client, seg[1].upper(), body, rule)
            else:
                obj = self._create_reporting(client, body, rule)
            resp = Resp(200, obj=obj)
        except ApiError as e:
            resp = Resp(e.status, obj=e.body)
        if idem_key is not None:
            raw = resp.body_bytes()
            with self.lock:
                st.idem[(client, idem_key)] = {
                    "time": time.time(), "status": resp.status, "length": len(raw),
                    "content_type": JSON_CT, "resource": json.loads(raw.decode("utf-8")),
                    "date": email.utils.formatdate(usegmt=True)}
        return resp

    def record_failed(self, client, key, status, raw, content_type):
        """A faulted answer to a report-creating POST: the key is spent as if the
        call had failed with that status (§3: a failed call blocks its key)."""
        if not re.fullmatch(r"[A-Za-z0-9-]{16,36}", key or ""):
            return
        try:
            resource = json.loads(raw.decode("utf-8")) if raw else None
        except (ValueError, UnicodeDecodeError):
            resource = raw.decode("utf-8", "replace")
        with self.lock:
            if (client, key) in self.state.idem:
                return
            self.state.idem[(client, key)] = {
                "time": time.time(), "status": status, "length": len(raw or b""),
                "content_type": content_type, "resource": resource,
                "date": email.utils.formatdate(usegmt=True)}

    def idempotency_response(self, client, key):
        from mock_common import Resp, not_found
        with self.lock:
            rec = self.state.idem.get((client, key))
            if not rec or rec.get("pending") or time.time() - rec["time"] > 86400:
                raise not_found("Response", key)
            # §3 body: StatusCode, ContentLength, ContentType, Date, Resource (GUESS: strings)
            return Resp(200, obj={"StatusCode": str(rec["status"]),
                                  "ContentLength": str(rec["length"]),
                                  "ContentType": rec["content_type"], "Date": rec["date"],
                                  "Resource": rec["resource"]})

    @staticmethod
    def _parse_body(body):
        from mock_common import param_error
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            raise param_error({"body": "The request body is not valid JSON"})
        if not isinstance(data, dict):
            raise param_error({"body": "The request body must be a JSON object"})
        return data

    @staticmethod
    def _int_or_none(v, name):
        from mock_common import param_error
        if v is None:
            return None
        if isinstance(v, bool) or not isinstance(v, (int, float)) or int(v) != v:
            if isinstance(v, str) and re.fullmatch(r"-?\d+", v.strip()):
                return int(v)
            raise param_error({name: "The value '%s' is not valid for %s." % (v, name)})
        return int(v)

    def _common(self, data, default_sort):
        from mock_common import param_error
        fmt = data.get("DownloadFormat") or "CSV"
        if str(fmt).upper() != "CSV":
            raise param_error({"DownloadFormat": "Only CSV is supported"})
        sort = data.get("Sort") or default_sort
        m = re.fullmatch(r"(?i)CreationDate:(ASC|DESC)", str(sort).strip())
        if not m:
            raise param_error({"Sort": "The value '%s' is not valid for Sort." % sort})
        tag = data.get("Tag")
        if tag is not None and not isinstance(tag, str):
            raise param_error({"Tag": "Tag must be a string"})
        return "CSV", "CreationDate:" + m.group(1).upper(), tag

    def _new_rec(self, kind, obj, rule):
        st = self.state
        outcome = "READY_FOR_DOWNLOAD"
        delay = float(st.config.get("report_delay_ms", 300)) / 1000.0
        fault = None
        if rule and rule.get("kind") in REPORT_FAULT_KINDS:
            k = rule["kind"]
            fault = dict(rule)
            if k == "report_failed":
                outcome = "FAILED"
            elif k == "report_expired":
                outcome = "EXPIRED"
            elif k == "report_stays_pending":
                outcome = "stays_pending"
            elif k == "report_slow":
                delay = float(rule.get("ms", 5000)) / 1000.0
        rec = {"kind": kind, "obj": obj, "outcome": outcome, "created_mono": time.monotonic(),
               "delay": delay, "report_date": None, "final": False, "csv": None,
               "bench": int(st.config.get("bench_rows") or 0), "fault": fault, "seeded": False,
               "shape": self._next_shape()}
        with self.lock:
            self.recs[obj["Id"]] = rec
        return rec

    def _create_legacy(self, client, rtype, body, rule):
        from mock_common import param_error
        data = self._parse_body(body)
        fmt, sort, tag = self._common(data, "CreationDate:ASC")
        now = int(time.time())
        preview = data.get("Preview", False)
        if not isinstance(preview, bool):
            raise param_error({"Preview": "Preview must be a boolean"})
        cb = data.get("CallbackURL")
        fin = data.get("Filters") or {}
        if not isinstance(fin, dict):
            raise param_error({"Filters": "Filters must be an object"})
        if rtype == "TRANSACTIONS":
            keys, allowed_cols, default_cols = (LEGACY_TX_FILTER_KEYS, md.LEGACY_TX_COLUMNS,
                                                md.LEGACY_TX_DEFAULT)
        else:
            keys, allowed_cols, default_cols = (LEGACY_WALLET_FILTER_KEYS,
                                                md.LEGACY_WALLET_COLUMNS, md.LEGACY_WALLET_DEFAULT)
        filters = {}
        for k in keys:
            v = fin.get(k)
            if k in ("BeforeDate", "AfterDate") or k.endswith("Amount"):
                filters[k] = self._int_or_none(v, "Filters." + k)
            elif rtype == "TRANSACTIONS" and k in LEGACY_TX_LIST_FILTERS:
                # echoed as [] when unset (§4a)
                if v is None:
                    v = []
                if isinstance(v, str):
                    v = [x.strip() for x in v.split(",") if x.strip()]
                if not isinstance(v, list):
                    raise param_error({"Filters." + k: "must be an array"})
                allowed = LEGACY_TX_LIST_FILTERS[k]
                vv = []
                for x in v:
                    xs = str(x).upper() if allowed else str(x)
                    if allowed and xs not in allowed:
                        raise param_error({"Filters." + k: "The value '%s' is not valid. Allowed "
                                           "values: %s" % (x, ", ".join(allowed))})
                    vv.append(xs)
                filters[k] = vv
            else:
                filters[k] = v if v is None else str(v)
        if st_cfg(self.state, "amount_needs_currency"):
            # every published example sends the *Currency with an amount bound
            # (§4a); an API that requires it answers 400 without it
            for k in keys:
                if k.endswith("Amount") and filters[k] is not None and \
                        not filters.get(k[:-len("Amount")] + "Currency"):
                    raise param_error({"Filters." + k[:-len("Amount")] + "Currency":
                                       "The currency is required with " + k})
        # date limits (§4a)
        after, before = filters["AfterDate"], filters["BeforeDate"]
        cap = now - 300
        if rtype == "TRANSACTIONS":
            if before is not None and before > cap:
                before = filters["BeforeDate"] = cap          # silently capped to creation - 5 min
            if after is not None and after < md.add_months(now, -36):
                raise param_error({"Filters.AfterDate":
                                   "This report type can only be done for the last 36 months."})
            eff_before = before if before is not None else cap
            eff_after = after if after is not None else md.add_months(eff_before, -1)  # GUESS
            if eff_after >= eff_before:
                raise param_error({"Filters.BeforeDate": "BeforeDate must be greater than AfterDate"})
            max_days = int(st_cfg(self.state, "legacy_max_days") or 0)
            if eff_before > md.add_months(eff_after, 6) or (
                    max_days and eff_before - eff_after > max_days * 86400):
                # config legacy_max_days: "6 months" read as a number of days
                raise param_error({"Filters.AfterDate": "The date range can be a maximum of "
                                                        "6 months for this report type."})
        else:
            eff_before = before if before is not None else now
            eff_after = after if after is not None else md.add_months(eff_before, -1)
            if eff_after >= eff_before:
                raise param_error({"Filters.BeforeDate": "BeforeDate must be greater than AfterDate"})
            if eff_before > md.add_months(eff_after, 24):
                raise param_error({"Filters.AfterDate": "The date range can be a maximum of "
                                                        "24 months."})
        cols = data.get("Columns")
        if cols in (None, []):
            cols = list(default_cols)
        if not isinstance(cols, list) or not all(isinstance(c, str) for c in cols):
            raise param_error({"Columns": "Columns must be an array of strings"})
        unknown = [c for c in cols if c not in allowed_cols]
        if unknown:
            # GUESS: legacy unknown-column message
            raise param_error({"Columns": "Unknown columns were found in the list: %s"
                                          % ", ".join(unknown)})
        rid = "report_m_" + md.ulid(now, random.Random())
        obj = {"Id": rid, "Tag": tag, "CreationDate": now, "ReportDate": None,
               "Status": "PENDING", "DownloadFormat": fmt, "DownloadURL": None,
               "CallbackURL": cb, "ReportType": rtype, "Sort": sort, "Preview": preview,
               "Filters": filters, "Columns": cols, "ResultCode": None, "ResultMessage": None}
        rec = self._new_rec("legacy", obj, rule)
        rec["window"] = (eff_after, eff_before)
        return dict(obj)

    def _reporting_columns(self, rtype, names):
        allc = REPORTING_COLUMNS[rtype]
        if not names:
            return [(n, d) for n, d in allc if d]        # expanded to the default set (§4b)
        dmap = dict(allc)
        return [(n, dmap[n]) for n in names]

    def _create_reporting(self, client, body, rule):
        from mock_common import param_error
        data = self._parse_body(body)
        fmt, sort, tag = self._common(data, "CreationDate:DESC")    # §4b default DESC
        now = int(time.time())
        rtype = str(data.get("ReportType") or "").upper()
        if rtype not in REPORTING_COLUMNS:
            raise param_error({"ReportType": "The value '%s' is not valid for ReportType. Allowed "
                               "values: %s" % (data.get("ReportType"),
                                               ", ".join(REPORTING_COLUMNS))})
        after = self._int_or_none(data.get("AfterDate"), "AfterDate")
        before = self._int_or_none(data.get("BeforeDate"), "BeforeDate")
        if after is None:
            raise param_error({"AfterDate": "The AfterDate field is required."})
        if before is None:
            raise param_error({"BeforeDate": "The BeforeDate field is required."})
        if before <= after:
            raise param_error({"Report": "BeforeDate must be greater than AfterDate."})
        if before >= md.add_months(after, 12):
            raise param_error({"Report": "Max 12 months between AfterDate and BeforeDate."})
        if after < md.add_months(now, -24):
            raise param_error({"Report": "AfterDate cannot be older than 24 months."})
        cols = data.get("Columns")
        if cols is not None and (not isinstance(cols, list)
                                 or not all(isinstance(c, str) for c in cols)):
            raise param_error({"Columns": "Columns must be an array of strings"})
        allowed = [n for n, _ in REPORTING_COLUMNS[rtype]]
        unknown = [c for c in (cols or []) if c not in allowed]
        if unknown:
            raise param_error({"Report": "Unknown columns were found in the list: %s, Report "
                                         "Columns: %s" % (", ".join(unknown), ", ".join(allowed))})
        fin = data.get("Filters") or {}
        if not isinstance(fin, dict):
            raise param_error({"Filters": "Filters must be an object"})
        spec = REPORTING_FILTERS[rtype]
        filters = {}
        for k, allowed_vals in spec.items():
            v = fin.get(k)
            if allowed_vals and v is not None:
                vals = v if isinstance(v, list) else [x.strip() for x in str(v).split(",")]
                for x in vals:
                    if str(x).upper() not in allowed_vals:
                        raise param_error({"Filters.%s" % k: "The value '%s' is not valid" % x})
            filters[k] = v
        if rtype == "USER_WALLET_TRANSACTIONS":
            # §4b: no filter = every user wallet; an older example refused it
            if (st_cfg(self.state, "uwt_requires_key") and not filters.get("UserId")
                    and not filters.get("WalletId")):
                # §4b example error key, verbatim
                raise param_error({"UserId & Currency":
                                   "User Id or Wallet Id has to be provided in filters"})
            if filters.get("WalletId") and filters.get("Currency"):
                raise param_error({"WalletId & Currency":
                                   "Currency can not be used together with WalletId"})
        columns = self._reporting_columns(rtype, cols)
        rid = "report_" + md.ulid(now, random.Random())
        obj = {"Id": rid, "Tag": tag, "CreationDate": now, "ReportDate": None,
               "Status": "PENDING", "ResultCode": None, "ResultMessage": None,
               "DownloadFormat": fmt, "DownloadURL": None, "ReportType": rtype, "Sort": sort,
               "AfterDate": after, "BeforeDate": before, "Filters": filters,
               "Columns": [{"Name": n, "IsDefault": d} for n, d in columns]}
        rec = self._new_rec("reporting", obj, rule)
        rec["columns"] = columns
        return dict(obj)

    # -------------------------------------------------------------- CSV building
    def _csv_for(self, rec):
        if rec["csv"] is not None:
            return rec["csv"]
        o = rec["obj"]
        shape = rec["shape"]
        if rec["kind"] == "legacy" and o["ReportType"] == "TRANSACTIONS" and rec["bench"] > 0:
            f = o["Filters"]
            after, before = rec.get("window") or (f["AfterDate"], f["BeforeDate"])
            csv = BenchCsv(rec["bench"], o["Columns"], after, before,
                           o["Sort"].endswith("DESC"), f, shape, self.store.client_id)
            if self.state.config.get("bench_cache"):
                csv = self._bench_cached(csv)
        else:
            eol = shape["eol"]
            bom = BOM if shape["bom"] else b""
            lines = [csv_line(self._header(rec), eol)]
            for vals in self._rows(rec):
                lines.append(csv_line(vals, eol))
            if len(lines) == 1 and shape["emptybody"]:
                lines = []
            data = bom + b"".join(lines)
            last = len(data) - len(lines[-1]) if lines else len(bom)
            if lines and not shape["final"]:
                data = data[:-len(eol)]
            csv = BytesCsv(data, last)
        rec["csv"] = csv
        return csv

    def _bench_cached(self, csv):
        """Config "bench_cache": the same bench file (same rows, columns, dates and
        filters) built into memory once and served at memory speed afterwards; the
        two files built last are kept."""
        cache = self.__dict__.setdefault("bench_files", {})
        got = cache.get(csv.etag)
        if got is None:
            got = BytesCsv(b"".join(csv.iter_from(0)), csv.last_record_at, etag=csv.etag)
            with self.lock:
                while len(cache) >= 2:
                    cache.pop(next(iter(cache)))
                cache[csv.etag] = got
        return got

    def _header(self, rec):
        if rec["kind"] == "legacy":
            return rec["obj"]["Columns"]
        return [n for n, _ in rec["columns"]]

    def _window(self, rec):
        o = rec["obj"]
        if rec["kind"] == "reporting":
            return o["AfterDate"], o["BeforeDate"]
        if rec.get("window"):
            return rec["window"]
        f = o["Filters"]
        b = f["BeforeDate"] if f["BeforeDate"] is not None else o["CreationDate"] - 300
        a = f["AfterDate"] if f["AfterDate"] is not None else md.add_months(b, -1)
        return a, b

    def _rows(self, rec):
        """Row value lists for a report.  Report date windows are inclusive on both
        ends (GUESS; the FDW re-checks its quals locally)."""
        o = rec["obj"]
        s = self.store
        after, before = self._window(rec)
        desc = o["Sort"].endswith("DESC")
        if rec["kind"] == "legacy" and o["ReportType"] == "WALLETS":
            f = o["Filters"]
            lo = bisect.bisect_left(self.wallet_times, after)
            hi = bisect.bisect_right(self.wallet_times, before)
            sel = []
            for w in self.all_wallets[lo:hi]:
                if f.get("OwnerId") and w[WF["Owners"]] != f["OwnerId"]:
                    continue
                if f.get("Currency") and w[WF["Currency"]] != f["Currency"]:
                    continue
                bal = w[WF["BalanceAmount"]]
                if not amount_ok(self.state, f, "Balance", bal, w[WF["BalanceCurrency"]]):
                    continue
                sel.append(w)
            if desc:
                sel.reverse()
            if o.get("Preview"):
                sel = sel[:10]
            cols = o["Columns"]
            for w in sel:
                yield [md.iso_legacy(w[2]) if c == "CreationDate:ISO" else w[WF[c]] for c in cols]
            return
        if rec["kind"] == "legacy":
            sel = self._legacy_tx_select(o["Filters"], after, before)
            if desc:
                sel.reverse()
            if o.get("Preview"):
                sel = sel[:10]      # §4a Preview: first 10 lines (GUESS: 10 data rows)
            cols = o["Columns"]
            for r in sel:
                yield [self._legacy_value(r, c) for c in cols]
            return
        rtype = o["ReportType"]
        cols = [n for n, _ in rec["columns"]]
        if rtype in ("USER_WALLET_TRANSACTIONS", "COLLECTED_FEES"):
            f = o["Filters"] or {}
            lo = bisect.bisect_left(s.ledger_times, after)
            hi = bisect.bisect_right(s.ledger_times, before)
            sel = []
            for r in s.ledger[lo:hi]:
                if r[LF["Status"]] != "SUCCEEDED":     # §4b only SUCCEEDED transactions
                    continue
                if rtype == "COLLECTED_FEES":
                    if not r[LF["FeesAmount"]]:
                        continue
                    if f.get("Currency") and r[LF["FeesCurrency"]] != f["Currency"]:
                        continue
                else:
                    if f.get("UserId") and f["UserId"] not in (r[LF["AuthorId"]],
                                                               r[LF["CreditedUserId"]]):
                        continue
                    if f.get("WalletId") and f["WalletId"] not in (r[LF["DebitedWalletId"]],
                                                                   r[LF["CreditedWalletId"]]):
                        continue
                    if f.get("Currency") and f["Currency"] not in (
                            r[LF["DebitedFundsCurrency"]], r[LF["CreditedFundsCurrency"]]):
                        continue
                sel.append(r)
            if desc:
                sel.reverse()
            for r in sel:
                yield [self._reporting_value(r, c) for c in cols]
            return
        rows = [e for e in self.echo[rtype] if after <= e["_date"] <= before]
        f = o["Filters"] or {}
        for k, v in f.items():
            if v is None:
                continue
            vals = {str(x).upper() for x in (v if isinstance(v, list) else str(v).split(","))}
            rows = [e for e in rows if str(e.get(k)).upper() in vals]
        rows.sort(key=lambda e: (e["_date"], e["Id"]), reverse=desc)
        for e in rows:
            yield [e.get(c) for c in cols]

    def _legacy_tx_select(self, f, after, before):
        s = self.store
        lo = bisect.bisect_left(s.ledger_times, after)
        hi = bisect.bisect_right(s.ledger_times, before)
        sets = {k: set(f.get(k) or []) for k in ("Type", "Status", "Nature", "ResultCode")}
        out = []
        for r in s.ledger[lo:hi]:
            if sets["Type"] and r[LF["Type"]] not in sets["Type"]:
                continue
            if sets["Status"] and r[LF["Status"]] not in sets["Status"]:
                continue
            if sets["Nature"] and r[LF["Nature"]] not in sets["Nature"]:
                continue
            if sets["ResultCode"] and r[LF["ResultCode"]] not in sets["ResultCode"]:
                continue
            if f.get("WalletId") and f["WalletId"] not in (r[LF["DebitedWalletId"]],
                                                           r[LF["CreditedWalletId"]]):
                continue
            if f.get("AuthorId") and r[LF["AuthorId"]] != f["AuthorId"]:
                continue
            if (amount_ok(self.state, f, "DebitedFunds", r[LF["DebitedFundsAmount"]],
                          r[LF["DebitedFundsCurrency"]])
                    and amount_ok(self.state, f, "Fees", r[LF["FeesAmount"]], r[LF["FeesCurrency"]])):
                out.append(r)
        return out

    @staticmethod
    def _legacy_value(r, c):
        if c == "CreationDate:ISO":
            return md.iso_legacy(r[LF["CreationDate"]])
        if c == "ExecutionDate:ISO":
            return md.iso_legacy(r[LF["ExecutionDate"]])
        return r[LF[c]]

    def _reporting_value(self, r, c):
        if c == "ClientId":
            return self.store.client_id
        if c == "CreationDate:ISO":
            return md.iso_reporting(r[LF["CreationDate"]])
        if c == "ExecutionDate:ISO":
            return md.iso_reporting(r[LF["ExecutionDate"]])
        return r[LF[REPORTING_ALIASES.get(c, c)]]

    def _gen_echo(self):
        """Small synthetic Echo data (§4b) - ~60 rows per type over the last year."""
        rng = random.Random(self.state.args.seed * 7 + 9)
        t0 = self.store.t0
        out = {}
        intents = []
        for i in range(60):
            t = t0 - rng.randint(3600, 360 * 86400)
            ccy = rng.choice(["EUR", "EUR", "GBP", "USD"])
            amt = rng.randint(500, 90000)
            intents.append({"_date": t, "Id": "int_%s" % uuid.UUID(int=rng.getrandbits(128)),
                            "Status": rng.choice(REPORTING_FILTERS["ECHO_INTENT"]["Status"]),
                            "Amount": amt, "Currency": ccy, "FeesAmount": amt // 100,
                            "FeesCurrency": ccy, "Type": rng.choice(["PAYIN", "REFUND", "DISPUTE"]),
                            "PaymentMethod": rng.choice(["CARD", "PAYPAL", "KLARNA"]),
                            "BuyerId": "user_m_" + md.ulid(t - 86400, rng),
                            "SellerId": "user_m_" + md.ulid(t - 86400 * 2, rng)})
        out["ECHO_INTENT"] = intents
        actions = []
        for it in intents:
            for j in range(rng.randint(1, 2)):
                t = it["_date"] + j * 3600
                a = dict(it)
                a.update({"_date": t, "IntentId": it["Id"],
                          "Id": "int_action_%s" % uuid.UUID(int=rng.getrandbits(128)),
                          "ExternalProcessingDate": md.iso_reporting(t)[:10],
                          "ExternalProviderReference": "psp-%d" % rng.randrange(10 ** 8),
                          "ExternalMerchantReference": rng.choice(["order-1", "order, 2",
                                                                   'order "3"', None])})
                actions.append(a)
        out["ECHO_INTENT_ACTION"] = actions
        sets = []
        for i in range(40):
            t = t0 - rng.randint(3600, 360 * 86400)
            dec = rng.randint(10000, 900000)
            settled = dec - rng.choice([0, 0, 150, 2000])
            sets.append({"_date": t, "Id": "int_stlmnt_%s" % uuid.UUID(int=rng.getrandbits(128)),
                         "CreationDate": t, "CreationDate:ISO": md.iso_reporting(t),
                         "FileName": "settlement_%d.csv" % i,
                         "SettlementCurrency": rng.choice(["EUR", "GBP"]),
                         "Status": rng.choice(REPORTING_FILTERS["ECHO_SETTLEMENT"]["Status"]),
                         "SettledTransactionCount": rng.randint(1, 500),
                         "UnsettledTransactionCount": rng.randint(0, 5), "SettledAmount": settled,
                         "DeclaredAmount": dec, "DeficitAmount": dec - settled,
                         "ExternalProviderName": rng.choice(["Stripe", "Adyen", "Checkout.com"])})
        out["ECHO_SETTLEMENT"] = sets
        splits = []
        for it in intents[:50]:
            t = it["_date"] + 600
            ex = t + 86400 if rng.random() < 0.7 else None
            splits.append({"_date": t, "Id": "int_split_%s" % uuid.UUID(int=rng.getrandbits(128)),
                           "IntentId": it["Id"], "AuthorId": it["SellerId"],
                           "Amount": it["Amount"] // 2, "Currency": it["Currency"],
                           "FeesAmount": it["FeesAmount"], "FeesCurrency": it["Currency"],
                           "Status": rng.choice(REPORTING_FILTERS["ECHO_SPLIT"]["Status"]),
                           "Description": rng.choice(["split", "split, seller", "é"]),
                           "CreditedWalletId": "wlt_m_" + md.ulid(t - 86400 * 9, rng),
                           "DebitedWalletId": "wlt_m_" + md.ulid(t - 86400 * 9, rng),
                           "Scheduled": rng.random() < 0.3, "CreationDate": t,
                           "CreationDate:ISO": md.iso_reporting(t), "ExecutionDate": ex,
                           "ExecutionDate:ISO": md.iso_reporting(ex)})
        out["ECHO_SPLIT"] = splits
        return out

    # -------------------------------------------------------------- truth
    def truth_lines(self, name, after, before):
        from mock_common import jdump
        s = self.store
        out = []
        if name == "transactions":
            ledger = s.ledger
            lo = 0 if after is None else bisect.bisect_right(s.ledger_times, after)
            hi = len(ledger) if before is None else bisect.bisect_left(s.ledger_times, before)
            # the lines of the whole ledger, rendered once per ledger: a
            # change (mutate, re-seed) puts a new list in s.ledger, and the
            # cache holds the list it was made from, so "is" cannot be fooled
            # by a reused id.  60,000 rows took 15-25 s to render per call.
            cache = getattr(self, "_tx_truth", None)
            if cache is None or cache[0] is not ledger:
                lines = []
                for r in ledger:
                    o = {c: self._legacy_value(r, c) for c in md.LEGACY_TX_COLUMNS}
                    o["ClientId"] = s.client_id
                    o["TransactionId"] = r[LF["Id"]]
                    o["CardAlias"] = r[LF["Alias"]]
                    o["CardCountry"] = r[LF["Country"]]
                    o["CardExpirationDate"] = r[LF["ExpirationDate"]]
                    lines.append(jdump(o))
                cache = (ledger, lines)
                self._tx_truth = cache
            out.extend(cache[1][lo:hi])
        else:
            for w in self.all_wallets:
                if after is not None and not w[2] > after:
                    continue
                if before is not None and not w[2] < before:
                    continue
                o = {c: (md.iso_legacy(w[2]) if c == "CreationDate:ISO" else w[WF[c]])
                     for c in md.LEGACY_WALLET_COLUMNS}
                out.append(jdump(o))
        return out

    # -------------------------------------------------------------- download server
    def download(self, method, path, q, headers):
        from mock_common import Resp, s3_error
        xml = "application/xml"
        cf = [("Server", "AmazonS3"), ("X-Cache", "Error from cloudfront"),
              ("Via", "1.1 mock.cloudfront.net (CloudFront)")]
        denied = Resp(403, raw=s3_error("AccessDenied", "Access denied"), content_type=xml,
                      headers=cf)
        if method not in ("GET", "HEAD"):
            return Resp(405, raw=s3_error("MethodNotAllowed",
                                          "The specified method is not allowed against this "
                                          "resource."), content_type=xml, headers=cf)
        if headers.get("Authorization") is not None:
            return denied                   # signed URL: no bearer token wanted (§4a)
        pol, sig, kp = q.first("Policy"), q.first("Signature"), q.first("Key-Pair-Id")
        if not pol or not sig or kp != "KMOCK":
            return denied
        good = b64_cf(hmac.new(self.state.signing_key, pol.encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(good, sig):
            return denied
        try:
            policy = json.loads(unb64_cf(pol))
            stmt = policy["Statement"][0]
            exp = stmt["Condition"]["DateLessThan"]["AWS:EpochTime"]
            res_path = "/" + stmt["Resource"].split("/", 3)[3]
        except (ValueError, KeyError, IndexError, TypeError):
            return denied
        if res_path != path or time.time() >= exp:
            return denied
        with self.lock:
            rid = self.files.get(path)
            rec = self.recs.get(rid) if rid else None
            if rec is None:
                return denied               # S3 answers 403 for a missing key
            o = self._materialize(rec)
            if o["Status"] == "EXPIRED":
                return denied
        csv = self._csv_for(rec)     # built outside the global lock (idempotent)
        size = csv.size
        hdrs = [("Accept-Ranges", "bytes"), ("ETag", '"%s"' % csv.etag),
                ("Last-Modified", email.utils.formatdate(o["ReportDate"] or time.time(),
                                                         usegmt=True)),
                ("X-Cache", "Miss from cloudfront"), ("X-Mock-Csv-Shape", shape_name(rec["shape"])),
                ("Via", "1.1 mock.cloudfront.net (CloudFront)"), ("Server", "AmazonS3")]
        rng = headers.get("Range")
        if rng and not self.state.config.get("download_ignore_range"):
            m = re.fullmatch(r"\s*bytes=(\d*)-(\d*)\s*", rng)
            if m and (m.group(1) or m.group(2)):
                if m.group(1):
                    start = int(m.group(1))
                    end = int(m.group(2)) + 1 if m.group(2) else size
                else:
                    start = max(0, size - int(m.group(2)))
                    end = size
                end = min(end, size)
                if start >= size or start >= end:
                    return Resp(416, raw=s3_error("InvalidRange",
                                                  "The requested range is not satisfiable"),
                                content_type=xml,
                                headers=[("Content-Range", "bytes */%d" % size)] + cf)
                hdrs.append(("Content-Range", "bytes %d-%d/%d" % (start, end - 1, size)))
                resp = Resp(206, content_type="text/csv", headers=hdrs,
                            stream=lambda: csv.iter_from(start, end), length=end - start)
                resp.file_offset = start
                resp.csv = csv
                return resp
        resp = Resp(200, content_type="text/csv", headers=hdrs,
                    stream=lambda: csv.iter_from(0), length=size)
        resp.file_offset = 0
        resp.csv = csv
        return resp
