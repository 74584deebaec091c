#!/usr/bin/env python3
"""Quick self-test of the MangoPay mock (standard library only).

Starts the mock on free ports (plain HTTP, TLS with throwaway certificates from
gen_certs.sh, and the download server), exercises the token endpoint, lists with
pagination and filters, errors, faults, rate limits, the request log, TLS and the
report endpoints, then prints "N passed, N failed" and exits non-zero on failure.

    python3 test/mock/selftest.py [-v]
"""

import base64
import csv
import http.client
import io
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import traceback
from urllib.parse import urlsplit

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True     # keep test/mock free of __pycache__
sys.path.insert(0, HERE)
import mock_data  # noqa: E402
import mock_reports as mr  # noqa: E402

BOMB = mr.BOM

CLIENT = "acme-test"
KEY = "sk-test-0123456789abcdef"
VERBOSE = "-v" in sys.argv
PASSED = 0
FAILED = 0


def check(name, cond, detail=""):
    global PASSED, FAILED
    if cond:
        PASSED += 1
        if VERBOSE:
            print("ok   %s" % name)
    else:
        FAILED += 1
        print("FAIL %s %s" % (name, detail))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


class Client:
    """Tiny keep-alive HTTP client.  The default timeout is a generous bound
    for a busy machine (a reset that re-seeds the data is CPU-bound)."""

    def __init__(self, port, tls_ctx=None, host="127.0.0.1", timeout=300):
        self.port = port
        self.host = host
        self.tls_ctx = tls_ctx
        self.timeout = timeout
        self.conn = None

    def _conn(self):
        if self.conn is None:
            if self.tls_ctx:
                self.conn = http.client.HTTPSConnection(self.host, self.port, context=self.tls_ctx,
                                                        timeout=self.timeout)
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return self.conn

    def req(self, method, path, body=None, headers=None):
        hdrs = dict(headers or {})
        if isinstance(body, (dict, list)):
            body = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            c = self._conn()
            try:
                c.request(method, path, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                if r.getheader("Connection", "").lower() == "close":
                    self.close()
                return r.status, {k.lower(): v for k, v in r.getheaders()}, data
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def json(self, method, path, body=None, headers=None):
        st, h, data = self.req(method, path, body, headers)
        try:
            obj = json.loads(data.decode("utf-8")) if data else None
        except ValueError:
            obj = None
        return st, h, obj

    def close(self):
        if self.conn:
            self.conn.close()
        self.conn = None


def main():
    tmp = tempfile.mkdtemp(prefix="mpmock-selftest-")
    proc = None
    try:
        have_tls = shutil.which("openssl") is not None
        certs = os.path.join(tmp, "certs")
        if have_tls:
            subprocess.check_call(["sh", os.path.join(HERE, "gen_certs.sh"), certs])
        api, tlsp, dlp, tlsx = free_port(), free_port(), free_port(), free_port()
        ready = os.path.join(tmp, "ready.json")
        logf = os.path.join(tmp, "mock.log")
        cmd = [sys.executable, os.path.join(HERE, "mangopay_mock.py"), "--host", "127.0.0.1",
               "--port", str(api), "--download-port", str(dlp), "--log", logf,
               "--ready-file", ready, "--extra-client", "other-client:other-key"]
        if have_tls:
            cmd += ["--tls-port", str(tlsp), "--tls-cert", os.path.join(certs, "server.crt"),
                    "--tls-key", os.path.join(certs, "server.key"),
                    "--tls-extra", "%d:%s:%s" % (tlsx, os.path.join(certs, "expired.crt"),
                                                 os.path.join(certs, "expired.key"))]
        t_start = time.time()
        proc = subprocess.Popen(cmd)
        while not os.path.exists(ready):
            if proc.poll() is not None:
                raise SystemExit("mock did not start: it exited with status %d" % proc.returncode)
            if time.time() - t_start > 120:
                raise SystemExit("mock did not start: not listening after 120 s")
            time.sleep(0.05)
        # a start-up time is a benchmark, not a test: on a loaded machine any
        # bound flakes (seeding the data is CPU-bound); the loop above fails
        # after 120 s
        print("mock started in %.2fs" % (time.time() - t_start))
        run_tests(api, tlsp if have_tls else None, dlp, tlsx if have_tls else None, certs, logf)
    except Exception:
        traceback.print_exc()
        check("selftest ran to completion", False)
    finally:
        if proc:
            proc.terminate()
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)
    print("%d passed, %d failed" % (PASSED, FAILED))
    sys.exit(1 if FAILED else 0)


def truth(c, name, **params):
    q = "&".join("%s=%s" % kv for kv in params.items())
    st, h, data = c.req("GET", "/__mock/truth/%s%s" % (name, "?" + q if q else ""))
    assert st == 200, (st, data[:200])
    return [json.loads(line) for line in data.decode("utf-8").split("\n") if line]


def truth_raw(c, name):
    st, h, data = c.req("GET", "/__mock/truth/%s" % name)
    assert st == 200, (st, data[:200])
    return data.split(b"\n")


def run_tests(api, tlsp, dlp, tlsx, certs, logf):
    c = Client(api)
    ctl = Client(api)
    st, h, body = ctl.json("GET", "/__mock/health")
    check("health", st == 200 and body["ok"] is True, body)
    t0 = body["t0"]

    # ---------------------------------------------------------------- OAuth
    basic = "Basic " + base64.b64encode(("%s:%s" % (CLIENT, KEY)).encode()).decode()
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    st, h, tok = c.json("POST", "/v2.01/oauth/token", b"grant_type=client_credentials",
                        dict(form, Authorization=basic))
    check("token 200", st == 200, (st, tok))
    check("token shape", tok and tok["token_type"] == "bearer" and len(tok["access_token"]) == 32
          and tok["expires_in"] == 1200, tok)
    check("token has rate-limit headers", len(h.get("x-ratelimit", "").split(", ")) == 4, h)
    token = tok["access_token"]
    st, h, body = c.json("POST", "/v2.01/oauth/token/", b"grant_type=client_credentials",
                         dict(form, Authorization=basic))
    check("token trailing slash", st == 200, st)
    bad = "Basic " + base64.b64encode(b"acme-test:wrong").decode()
    st, h, body = c.json("POST", "/v2.01/oauth/token", b"grant_type=client_credentials",
                         dict(form, Authorization=bad))
    check("bad credentials -> 401 invalid_client", st == 401 and body["error"] == "invalid_client",
          (st, body))
    st, h, body = c.json("POST", "/v2.01/oauth/token", b"grant_type=client_credentials", form)
    check("missing Basic -> 401", st == 401 and "x-ratelimit-reset" in h, st)

    auth = {"Authorization": "Bearer " + token}
    lauth = {"Authorization": "bearer " + token}
    B = "/v2.01/%s" % CLIENT

    # ---------------------------------------------------------------- auth errors
    st, h, body = c.json("GET", B + "/disputes")
    check("no token -> 401 invalid_credentials", st == 401 and body["Type"] == "invalid_credentials"
          and "Id" not in body and "errors" not in body and isinstance(body["Date"], int), body)
    st, h, body = c.json("GET", B + "/disputes", headers={"Authorization": basic})
    check("Basic on resource -> 401", st == 401, st)
    st, h, body = c.json("GET", B + "/disputes", headers=lauth)
    check("lower-case bearer accepted", st == 200, st)
    st, h, body = c.json("GET", "/v2.01/nobody/disputes", headers=auth)
    check("unknown ClientId -> 401", st == 401, st)

    # ---------------------------------------------------------------- §11 objects
    st, h, raw = c.req("GET", B + "/conversions/rate/EUR/JPY", headers=auth)
    rate = json.loads(raw)
    check("conversion rate", st == 200 and rate["DebitedCurrency"] == "EUR"
          and rate["CreditedCurrency"] == "JPY" and rate["ClientRate"] < rate["MarketRate"], rate)
    check("rates as decimals of up to 7 places",
          all(c.req("GET", B + "/conversions/rate/%s/%s" % p, headers=auth)[0] == 200
              for p in (("GBP", "ZAR"), ("AED", "SEK"))), raw)
    texts = [line for line in (truth_raw(ctl, "conversion_rates")) if line]
    check("rate texts: trailing zeros and exponents",
          any(b'0,"MarketRate"' in t or b'0,"MarketRateDate"' in t for t in texts)
          and any(b"E-" in t or b"E1" in t or b"E2" in t for t in texts), texts[:3])
    st, h, body = c.json("GET", B + "/conversions/rate/EUR/EUR", headers=auth)
    check("same currency -> 400", st == 400, (st, body))
    pays = truth(ctl, "payins")
    kinds = {(p["PaymentType"], p["ExecutionType"]) for p in pays}
    check("every pay-in kind", {("BANK_WIRE", "DIRECT"), ("BANK_WIRE", "EXTERNAL_INSTRUCTION"),
                                ("PREAUTHORIZED", "DIRECT"), ("DIRECT_DEBIT", "DIRECT"),
                                ("PAY_BY_BANK", "WEB"), ("PAYPAL", "WEB"), ("CARD", "WEB"),
                                ("CARD", "DIRECT"), ("APPLEPAY", "DIRECT")} <= kinds, kinds)
    check("pending pay by bank", any(p.get("ProcessingStatus") == "PENDING_SUCCEEDED" for p in pays))
    convs = truth(ctl, "conversions")
    check("quoted and instant conversions",
          any(x["QuoteId"] and "Fees" not in x for x in convs)
          and any(x["QuoteId"] is None and "Fees" in x for x in convs))
    par = [x for x in truth(ctl, "payin_refunds")][0]["_InitialTransactionId"]
    st, h, body = c.json("GET", B + "/payins/%s/refunds?Type=PAYOUT" % par, headers=auth)
    check("refund list: undocumented filter -> 400", st == 400, (st, body))
    st, h, body = c.json("GET", B + "/payins/%s/refunds?Status=SUCCEEDED,FAILED&ResultCode=000000" % par,
                         headers=auth)
    check("refund list: Status and ResultCode lists", st == 200, (st, body))
    uid = pays[0]["AuthorId"]
    _, _, conv_usd = c.json("GET", B + "/users/%s/emoney/2020/1?Currency=USD" % uid, headers=auth)
    ctl.json("POST", "/__mock/config", {"emoney_currency": "wallets"})
    _, _, wal_usd = c.json("GET", B + "/users/%s/emoney/2020/1?Currency=USD" % uid, headers=auth)
    ctl.json("POST", "/__mock/config", {"emoney_currency": "convert"})
    check("e-money Currency, both readings", conv_usd["CreditedEMoney"]["Currency"] == "USD"
          and wal_usd["CreditedEMoney"]["Currency"] == "USD", (conv_usd, wal_usd))

    # ---------------------------------------------------------------- disputes list
    all_d = truth(ctl, "disputes")
    check("~3000 disputes", 2990 <= len(all_d) <= 3100, len(all_d))
    st, h, page1 = c.json("GET", B + "/disputes?per_page=100&Sort=CreationDate:ASC", headers=auth)
    check("list 200 + bare array", st == 200 and isinstance(page1, list) and len(page1) == 100)
    check("X-Number-Of-Items", h.get("x-number-of-items") == str(len(all_d)), h)
    check("X-Number-Of-Pages", h.get("x-number-of-pages") == str((len(all_d) + 99) // 100), h)
    link = h.get("link", "")
    check("Link absolute + rels", ('rel="next"' in link and 'rel="last"' in link
                                   and 'rel="first"' in link and 'rel="prev"' not in link
                                   and "http://127.0.0.1:%d%s/disputes?" % (api, B) in link
                                   and "Sort=CreationDate:ASC" in link), link)
    got = []
    p = 1
    while True:
        st, h, items = c.json("GET", B + "/disputes?per_page=100&Sort=CreationDate:ASC&page=%d" % p,
                              headers=auth)
        if not items:
            break
        got.extend(items)
        p += 1
    check("paging == truth", got == all_d, (len(got), len(all_d)))
    _, _, newest = c.json("GET", B + "/disputes?per_page=5", headers=auth)
    check("no Sort: newest first", [d["Id"] for d in newest] == [d["Id"] for d in all_d[::-1][:5]],
          [d["Id"] for d in newest])
    check("page past end -> []", st == 200 and items == [], (st, items))
    st, h, desc = c.json("GET", B + "/disputes?per_page=5&Sort=creationdate:desc", headers=auth)
    check("Sort DESC", [d["Id"] for d in desc] == [d["Id"] for d in all_d[::-1][:5]],
          [d["Id"] for d in desc])
    want = [d for d in all_d if d["Status"] in ("CREATED", "SUBMITTED")]
    st, h, _ = c.json("GET", B + "/disputes?Status=created&Status=SUBMITTED", headers=auth)
    check("repeated enum keys", h.get("x-number-of-items") == str(len(want)), h.get("x-number-of-items"))
    st, h, _ = c.json("GET", B + "/disputes?Status=Created,submitted&foo=bar", headers=auth)
    check("comma enum values", h.get("x-number-of-items") == str(len(want)), h.get("x-number-of-items"))
    x = all_d[1000]["CreationDate"]
    st, h, items = c.json("GET", B + "/disputes?AfterDate=%d&BeforeDate=%d&per_page=100"
                          % (x - 1, x + 1), headers=auth)
    check("date window strict (inside)", any(d["Id"] == all_d[1000]["Id"] for d in items))
    st, h, items = c.json("GET", B + "/disputes?AfterDate=%d&per_page=1" % x, headers=auth)
    exp = sum(1 for d in all_d if d["CreationDate"] > x)
    check("AfterDate strict", h.get("x-number-of-items") == str(exp), (h.get("x-number-of-items"), exp))
    for q, field in (("per_page=101", "per_page"), ("page=0", "page"), ("page=abc", "page"),
                     ("Status=BOGUS", "Status"), ("Sort=Foo:ASC", "Sort"),
                     ("AfterDate=yesterday", "AfterDate")):
        st, h, body = c.json("GET", B + "/disputes?" + q, headers=auth)
        check("400 for %s" % q, st == 400 and body["Type"] == "param_error"
              and field in (body.get("errors") or {})
              and body["Message"].startswith("One or several required parameters"), (st, body))
    st, h, d1 = c.json("GET", B + "/disputes/9000000001", headers=auth)
    check("fixed dispute awkward Tag", st == 200 and d1["Tag"] == mock_data.AWKWARD_ALL, d1 and d1["Tag"])
    st, h, d1s = c.json("GET", B + "/disputes/9000000001/", headers=auth)
    check("trailing slash on object", d1s == d1)
    st, h, body = c.json("GET", B + "/disputes/123", headers=auth)
    check("404 ressource_not_found", st == 404 and body["Type"] == "ressource_not_found"
          and body["errors"]["RessourceNotFound"] ==
          "Cannot found the ressource Dispute with the id=123" and isinstance(body["Date"], float),
          body)
    st, h, data = c.req("GET", B + "/disputes/123", headers=auth)
    check("404 Date serialised as float", b'.0,"errors"' in data, data)
    st, h, body = c.json("GET", B + "/nothing/here", headers=auth)
    check("unknown route 404", st == 404 and body["Type"] == "ressource_not_found", st)
    pend = truth(ctl, "disputes_pending_settlement")
    ids = {d["Id"] for d in pend}
    check("pendingsettlement", "9000000001" in ids and "9000000004" not in ids, len(ids))
    st, h, tx = c.json("GET", B + "/disputes/9000000004/transactions", headers=auth)
    check("dispute transactions", st == 200 and sorted(t["Nature"] for t in tx)
          == ["REPUDIATION", "SETTLEMENT"], tx)
    # bank account transactions (§5, §7): the payouts to the account, paged, filtered
    # Recipient ids listed as accounts (the other reading of §11): the client's
    # fee account, over a page, may be one
    ctl.json("POST", "/__mock/config", {"bankaccount_recipient_ids": True})
    bt = truth(ctl, "bank_account_transactions")
    by_acct = {}
    for t in bt:
        by_acct.setdefault(t["_BankAccountId"], []).append(t)
    big = max(by_acct, key=lambda a: len(by_acct[a]))
    want = sorted(by_acct[big], key=lambda t: (t["CreationDate"], t["Id"]))
    got = []
    for page in (1, 2):
        st, h, rows = c.json("GET", B + "/bankaccounts/%s/transactions?page=%d&per_page=100"
                             "&Sort=CreationDate:ASC" % (big, page), headers=auth)
        got += rows or []
    check("bank account transactions paged", len(want) > 100 and st == 200
          and h["x-number-of-pages"] == "2" and [t["Id"] for t in got] == [t["Id"] for t in want]
          and all(t["Type"] == "PAYOUT" and "BankAccountId" not in t for t in got), (big, len(got)))
    st, h, _ = c.json("GET", B + "/bankaccounts/%s/transactions?Status=FAILED,CREATED" % big,
                      headers=auth)
    check("bank account transactions Status filter", h.get("x-number-of-items") == str(
        sum(1 for t in want if t["Status"] in ("FAILED", "CREATED"))), h.get("x-number-of-items"))
    st, h, body = c.json("GET", B + "/bankaccounts/rec_nosuch/transactions", headers=auth)
    check("bank account unknown 404", st == 404 and body["errors"]["RessourceNotFound"].endswith(
        "BankAccount with the id=rec_nosuch"), body)
    ctl.json("POST", "/__mock/config", {"bankaccount_refunds": True})
    bt2 = truth(ctl, "bank_account_transactions")
    check("bank account refunds (bankaccount_refunds)", len(bt2) > len(bt) and
          {t["Nature"] for t in bt2} == {"REGULAR", "REFUND"}, len(bt2))
    ctl.json("POST", "/__mock/config", {"bankaccount_refunds": False,
                                        "bankaccount_recipient_ids": False})
    st, h, rep = c.json("GET", B + "/repudiations/" + d1["RepudiationId"], headers=auth)
    check("repudiation object", st == 200 and rep["Type"] == "PAYOUT"
          and rep["DebitedWalletId"] == "CREDIT_EUR" and rep["CreditedWalletId"] is None, rep)
    st, h, po = c.json("GET", B + "/payouts/bankwire/po_m_01JQ0000000000000000000001", headers=auth)
    check("payout bankwire view", st == 200 and po["FallbackReason"] ==
          {"Code": "001999", "Message": "Generic Operation error"}, po)
    st, h, po2 = c.json("GET", B + "/payouts/po_m_01JQ0000000000000000000001", headers=auth)
    check("payout plain view", st == 200 and "ModeApplied" not in po2 and "PaymentRef" in po2
          and "EndToEndId" in po2, po2)
    check("payout bankwire view without PaymentRef", "PaymentRef" not in po and "EndToEndId" in po, po)
    ctl.json("POST", "/__mock/config", {"payout_bankwire_payment_ref": True})
    st, h, po3 = c.json("GET", B + "/payouts/bankwire/po_m_01JQ0000000000000000000001", headers=auth)
    check("payout bankwire view with PaymentRef (config)", st == 200 and "PaymentRef" in po3, po3)
    ctl.json("POST", "/__mock/config", {"payout_bankwire_payment_ref": False})

    # ---------------------------------------------------------------- SCA (§11)
    users = {u["Id"]: u for u in truth(ctl, "users")}
    owner = sorted(u for u, o in users.items() if o["UserCategory"] == "OWNER"
                   and u != "user_m_01SCA0WNERN0C0NSENT00000")[0]
    st, h, body = c.json("GET", B + "/users/%s/wallets" % owner, headers=auth)
    check("SCA: OWNER without ScaContext -> 401 PendingUserAction", st == 401 and
          h.get("www-authenticate", "").startswith("PendingUserAction RedirectUrl=")
          and body["Type"] == "unauthorized", (st, h.get("www-authenticate")))
    st, h, ws = c.json("GET", B + "/users/%s/wallets?ScaContext=USER_NOT_PRESENT" % owner,
                       headers=auth)
    check("SCA: OWNER with consent, USER_NOT_PRESENT -> 200", st == 200 and len(ws) > 0, st)
    st, h, _ = c.json("GET", B + "/wallets/%s?ScaContext=USER_PRESENT" % ws[0]["Id"], headers=auth)
    check("SCA: wallet by id, USER_PRESENT -> 401", st == 401, st)
    st, h, body = c.json("GET", B + "/users/user_m_01SCA0WNERN0C0NSENT00000/wallets"
                         "?ScaContext=USER_NOT_PRESENT", headers=auth)
    check("SCA: OWNER without consent -> 403", st == 403 and body["Type"] == "forbidden_ressource",
          (st, body))
    st, h, ws = c.json("GET", B + "/users/user_m_01SCAPAYERN0C0NSENT00000/wallets", headers=auth)
    check("SCA: PAYER not gated", st == 200 and len(ws) == 1, st)
    st, h, _ = c.json("GET", B + "/wallets/%s?ScaContext=NOBODY" % ws[0]["Id"], headers=auth)
    check("SCA: bad ScaContext -> 400", st == 400, st)

    # ---------------------------------------------------------------- recipients, users (§11)
    rcp = {r["Id"]: r for r in truth(ctl, "recipients")}
    named = {po["BankAccountId"] for po in truth(ctl, "payouts") if po.get("BankAccountId")}
    check("recipients: every payout's account", named <= set(rcp), len(named - set(rcp)))
    rid = sorted(r for r in rcp if r.startswith("rec_"))[0]
    st, h, o = c.json("GET", B + "/recipients/" + rid, headers=auth)
    check("recipient by id", st == 200 and o == rcp[rid], st)
    legacy = sorted(r for r in rcp if not r.startswith("rec_"))[0]
    st, h, o = c.json("GET", B + "/recipients/" + legacy, headers=auth)
    check("recipient by legacy bank account id", st == 200 and o["Id"] == legacy, st)
    st, h, _ = c.json("GET", B + "/bankaccounts/%s/transactions" % rid, headers=auth)
    check("Recipient id under /bankaccounts -> 404", st == 404, st)
    st, h, body = c.json("GET", B + "/recipients/rec_nosuch", headers=auth)
    check("unknown recipient -> 404", st == 404, st)
    payin_owner = sorted(r["UserId"] for r in rcp.values() if r["RecipientScope"] == "PAYIN")[0]
    st, h, lst = c.json("GET", B + "/users/%s/recipients?RecipientScope=PAYIN" % payin_owner,
                        headers=auth)
    check("user recipients, RecipientScope", st == 200 and lst and
          all(r["RecipientScope"] == "PAYIN" for r in lst), st)
    st, h, lst = c.json("GET", B + "/users?per_page=100&Sort=CreationDate:ASC", headers=auth)
    check("users list", st == 200 and len(lst) == 100 and
          int(h["x-number-of-items"]) == len(users), h.get("x-number-of-items"))
    st, h, reg = c.json("GET", B + "/users/%s/regulatory" % owner, headers=auth)
    check("user regulatory", st == 200 and set(reg) == {"ScopeBlocked", "ActionCode"}, reg)

    # ---------------------------------------------------------------- wallets, events
    st, h, ws = c.json("GET", B + "/clients/wallets?per_page=100", headers=auth)
    check("client wallets", st == 200 and len(ws) == 12, len(ws or []))
    st, h, w = c.json("GET", B + "/clients/wallets/FEES/EUR", headers=auth)
    check("client wallet object", st == 200 and w["Id"] == "FEES_EUR", w)
    st, h, e = c.json("GET", B + "/clients/wallets/FEES/CHF/transactions", headers=auth)
    check("empty wallet", st == 200 and e == [] and h["x-number-of-items"] == "0", (st, e))
    st, h, e = c.json("GET", B + "/clients/wallets/DEFAULT", headers=auth)
    check("bad FundsType 400", st == 400, st)
    wt = truth(ctl, "client_wallet_transactions")
    eur = [t for t in wt if t["_FundsType"] == "CREDIT" and t["_Currency"] == "EUR"]
    st, h, _ = c.json("GET", B + "/clients/wallets/CREDIT/EUR/transactions?Nature=REPUDIATION",
                      headers=auth)
    check("wallet tx Nature filter", h.get("x-number-of-items") == str(
        sum(1 for t in eur if t["Nature"] == "REPUDIATION")), h.get("x-number-of-items"))
    st, h, body = c.json("GET", B + "/events?AfterDate=%d" % (time.time() - 46 * 86400), headers=auth)
    check("events >45 days -> 400", st == 400 and "AfterDate" in body["errors"], body)
    evs = truth(ctl, "events")
    check("events count", 1000 < len(evs) < 4000, len(evs))
    st, h, _ = c.json("GET", B + "/events?EventType=dispute_closed", headers=auth)
    check("events EventType", h.get("x-number-of-items") == str(sum(
        1 for x in evs if x["EventType"] == "DISPUTE_CLOSED")), h)
    st, h, body = c.json("GET", B + "/events?EventType=DISPUTE_CREATED,dispute_closed", headers=auth)
    check("events EventType takes one value", st == 400 and "EventType" in body["errors"], body)
    st, h, body = c.json("GET", B + "/events?BeforeDate=%d" % (time.time() - 46 * 86400), headers=auth)
    check("events BeforeDate >45 days -> 400", st == 400 and "BeforeDate" in body["errors"], body)
    st, h, body = c.json("GET", B + "/events?EventType=NOPE", headers=auth)
    check("events bad EventType", st == 400, st)

    # ---------------------------------------------------------------- faults
    def fault(*rules):
        st, h, b = ctl.json("POST", "/__mock/faults", {"faults": list(rules)})
        assert st == 200, b

    fault({"path": "/disputes$", "kind": "status", "status": 503, "times": 1})
    st, h, data = c.req("GET", B + "/disputes", headers=auth)
    check("fault 503 (HTML)", st == 503 and b"503" in data and "x-ratelimit" in h, st)
    st, h, data = c.req("GET", B + "/disputes", headers=auth)
    check("fault consumed", st == 200, st)
    fault({"path": "/disputes$", "kind": "status", "status": 500, "skip": 1, "times": 1})
    s1 = c.req("GET", B + "/disputes", headers=auth)[0]
    s2 = c.req("GET", B + "/disputes", headers=auth)[0]
    check("fault skip", (s1, s2) == (200, 500), (s1, s2))
    fault({"path": "/disputes$", "kind": "malformed"})
    st, h, data = c.req("GET", B + "/disputes", headers=auth)
    bad_json = False
    try:
        json.loads(data)
    except ValueError:
        bad_json = True
    check("fault malformed", st == 200 and bad_json)
    fault({"path": "/disputes$", "kind": "drop"})
    raw = Client(api)
    try:
        raw._conn().request("GET", B + "/disputes", headers=auth)
        raw.conn.getresponse()
        dropped = False
    except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
        dropped = True
    raw.close()
    check("fault drop", dropped)
    fault({"path": "/disputes$", "kind": "drop_mid_body"})
    raw = Client(api)
    try:
        raw._conn().request("GET", B + "/disputes", headers=auth)
        r = raw.conn.getresponse()
        r.read()
        cut = False
    except http.client.IncompleteRead:
        cut = True
    raw.close()
    check("fault drop_mid_body", cut)
    fault({"path": "/disputes$", "kind": "rate_limit", "reset_in": 2})
    st, h, body = c.json("GET", B + "/disputes", headers=auth)
    check("fault rate_limit", st == 429 and body["Type"] == "rate_limit" and body["errors"] is None
          and "retry-after" not in h and h["x-ratelimit-remaining"].split(", ")[0] == "0"
          and abs(int(h["x-ratelimit-reset"].split(", ")[0]) - time.time() - 2) < 3, (st, h, body))
    fault({"path": "/disputes$", "kind": "wrong_types"})
    st, h, body = c.json("GET", B + "/disputes", headers=auth)
    check("fault wrong_types", st == 200 and isinstance(body[0]["CreationDate"], str)
          and isinstance(body[0]["DisputedFunds"]["Amount"], float), body and body[0])
    fault({"path": "/disputes$", "kind": "empty_page", "skip": 1})
    st, h, d1 = c.req("GET", B + "/disputes?page=1", headers=auth)
    st2, h2, d2 = c.req("GET", B + "/disputes?page=2", headers=auth)
    check("fault empty_page", st == st2 == 200 and d1 != b"[]" and d2 == b"[]"
          and h2.get("x-number-of-pages") == h.get("x-number-of-pages") and int(h2["x-number-of-pages"]) > 2,
          (st, st2, h2))
    # list page faults: repeated, short, contradictory headers; a missing route
    fault({"path": "/disputes$", "kind": "repeat_page", "skip": 1})
    st, h, p1 = c.json("GET", B + "/disputes?page=1&per_page=100&Sort=CreationDate:ASC", headers=auth)
    st2, h2, p2 = c.json("GET", B + "/disputes?page=2&per_page=100&Sort=CreationDate:ASC", headers=auth)
    check("fault repeat_page", st == st2 == 200 and [o["Id"] for o in p1] == [o["Id"] for o in p2]
          and h2.get("x-number-of-pages") == h.get("x-number-of-pages"), (st, st2))
    fault({"path": "/disputes$", "kind": "short_page", "keep": 30})
    st, h, body = c.json("GET", B + "/disputes?page=2&per_page=100", headers=auth)
    check("fault short_page", st == 200 and len(body) == 30 and int(h["x-number-of-pages"]) > 2, (st, len(body)))
    fault({"path": "/disputes$", "kind": "page_headers", "pages": 3})
    st, h, body = c.json("GET", B + "/disputes?page=1&per_page=100", headers=auth)
    check("fault page_headers", st == 200 and len(body) == 100 and h["x-number-of-pages"] == "3"
          and int(h["x-number-of-items"]) > 300, h)
    fault({"path": "/refunds$", "kind": "no_route"})
    st, h, body = c.json("GET", B + "/payins/payin_m_01JQ0000000000000000000001/refunds", headers=auth)
    check("fault no_route", st == 404 and "Type" not in body
          and body["Message"].startswith("No HTTP resource was found"), (st, body))
    # objects created while a list is read
    ctl.json("POST", "/__mock/config", {"grow_events": 2})
    st, h, e1 = c.json("GET", B + "/events?per_page=1", headers=auth)
    st2, h2, e2 = c.json("GET", B + "/events?per_page=1", headers=auth)
    ctl.json("POST", "/__mock/config", {"grow_events": 0})
    check("config grow_events", st == st2 == 200
          and int(h2["x-number-of-items"]) == int(h["x-number-of-items"]) + 2
          and e2[0]["ResourceId"].startswith("grown_"), (h, h2, e2))
    lenient = {}
    for mode in ("trailing", "two_arrays", "nul", "date_words"):
        fault({"path": "/disputes$", "kind": "lenient_json", "mode": mode})
        lenient[mode] = c.req("GET", B + "/disputes", headers=auth)[2]
    check("fault lenient_json", lenient["trailing"].endswith(b"] trailing garbage")
          and lenient["two_arrays"].count(b"][") == 1
          and b'"Tag": "a\\u0000b"' in lenient["nul"].replace(b'"Tag":"', b'"Tag": "')
          and b'"yesterday"' in lenient["date_words"], {k: v[-40:] for k, v in lenient.items()})
    st, h, body = c.json("GET", B + "/disputes", headers=auth)
    check("fault lenient_json leaves the store", st == 200 and isinstance(body[0]["CreationDate"], int)
          and body[0].get("Tag") != "a\x00b", body and body[0])
    fault({"path": "/oauth/token$", "kind": "token_echo"})
    basic = "Basic " + base64.b64encode(("%s:%s" % (CLIENT, KEY)).encode()).decode()
    st, h, body = c.json("POST", "/v2.01/oauth/token", b"grant_type=client_credentials",
                         {"Authorization": basic, "Content-Type": "application/x-www-form-urlencoded"})
    check("fault token_echo", st == 401 and KEY in body["error_description"]
          and basic in body["error_description"] and "\x1b" in body["error_description"], (st, body))
    fault({"path": "/disputes$", "kind": "deep"})
    st, h, data = c.req("GET", B + "/disputes", headers=auth)
    check("fault deep", st == 200 and data.startswith(b"[[[[") and len(data) == 200000, len(data))
    fault({"path": "/disputes$", "kind": "huge", "mb": 2})
    st, h, data = c.req("GET", B + "/disputes", headers=auth)
    check("fault huge", st == 200 and len(data) > 2000000 and len(json.loads(data)) > 1000, len(data))
    fault({"path": "/disputes$", "kind": "redirect", "status": 302, "location": "http://x.invalid/"})
    st, h, data = c.req("GET", B + "/disputes", headers=auth)
    check("fault redirect", st == 302 and h.get("location") == "http://x.invalid/", st)
    fault({"path": "/disputes$", "kind": "latency", "ms": 400})
    t = time.time()
    st, h, data = c.req("GET", B + "/disputes", headers=auth)
    check("fault latency", st == 200 and time.time() - t >= 0.39, time.time() - t)
    fault({"path": "/disputes$", "kind": "hang"})
    hc = Client(api, timeout=0.7)
    t = time.time()
    try:
        hc.req("GET", B + "/disputes", headers=auth)
        hung = False
    except (socket.timeout, TimeoutError):
        hung = True
    hc.close()
    check("fault hang", hung and time.time() - t < 3)
    fault({"path": "/disputes$", "kind": "expire_token"})
    st, h, body = c.json("GET", B + "/disputes", headers=auth)
    check("fault expire_token", st == 401 and body["Type"] == "invalid_credentials", st)
    st, h, tok = c.json("POST", "/v2.01/oauth/token", b"grant_type=client_credentials",
                        dict(form, Authorization=basic))
    auth = {"Authorization": "Bearer " + tok["access_token"]}
    st, h, body = c.json("GET", B + "/disputes", headers=auth)
    check("new token after expiry", st == 200, st)

    # ---------------------------------------------------------------- request log
    st, h, log = ctl.json("GET", "/__mock/requests?path=oauth")
    blob = json.dumps(log)
    check("request log has token calls", len(log) >= 4 and log[0]["path"] == "/v2.01/oauth/token")
    check("request log redacts", token not in blob and KEY not in blob and
          base64.b64encode(("%s:%s" % (CLIENT, KEY)).encode()).decode() not in blob
          and log[0]["headers"]["authorization"] == "Basic <redacted>"
          and log[0]["auth_scheme"] == "Basic", log[0]["headers"])
    st, h, log = ctl.json("GET", "/__mock/requests?since=0&path=/disputes$")
    check("request log fields", log and {"seq", "time", "method", "path", "query", "raw_query",
                                         "headers", "has_authorization", "auth_scheme", "status",
                                         "port"} <= set(log[-1]) and log[-1]["port"] == api, log[-1])
    with open(logf, encoding="utf-8") as f:
        text = f.read()
    check("log file has no secrets", token not in text and KEY not in text and
          "/v2.01/acme-test/disputes" in text)

    # ---------------------------------------------------------------- rate limits
    ctl.json("POST", "/__mock/reset")
    ctl.json("POST", "/__mock/config", {"rate_limits": [5, 4500, 8800, 105600]})
    statuses = []
    for i in range(7):
        st, h, _ = c.req("GET", B + "/clients/wallets", headers=auth)
        statuses.append((st, h["x-ratelimit"], h["x-ratelimit-remaining"]))
    check("rate limit 5/15min", [s[0] for s in statuses] == [200] * 5 + [429] * 2, statuses)
    check("rate headers consistent", statuses[0][1].startswith("1, 1, 1, 1")
          and statuses[4][2].startswith("0, 4495"), statuses)
    ctl.json("POST", "/__mock/reset")
    st, h, _ = c.req("GET", B + "/clients/wallets", headers=auth)
    check("reset clears limits", st == 200, st)
    # a request that reached the mock before a reset belongs to the old log,
    # even when its thread reads it after the reset (read_delay_ms: the
    # download port's thread looks 1.5 s late); one sent after it is logged
    ctl.json("POST", "/__mock/config", {"read_delay_ms": 1500})
    late = http.client.HTTPConnection("127.0.0.1", dlp, timeout=300)
    late.request("GET", "/sent-before-reset")
    ctl.json("POST", "/__mock/reset")          # read_delay_ms back to 0 for new waits
    late.getresponse().read()
    paths = [e["path"] for e in ctl.json("GET", "/__mock/requests")[2]]
    check("request sent before a reset, read after it: not in the new log",
          "/sent-before-reset" not in paths, paths)
    late.request("GET", "/sent-after-reset")
    late.getresponse().read()
    late.close()
    paths = [e["path"] for e in ctl.json("GET", "/__mock/requests")[2]]
    check("request sent after a reset on the same connection: logged",
          "/sent-after-reset" in paths, paths)

    # ---------------------------------------------------------------- TLS
    if tlsp:
        ctx = ssl.create_default_context(cafile=os.path.join(certs, "ca.crt"))
        tc = Client(tlsp, ctx, host="localhost")
        st, h, body = tc.json("GET", B + "/disputes?per_page=2", headers=auth)
        check("TLS request", st == 200 and len(body) == 2, st)
        check("TLS Link uses https", "https://localhost:%d" % tlsp in h.get("link", ""), h.get("link"))
        tc.close()
        bad_ctx = ssl.create_default_context(cafile=os.path.join(certs, "other-ca.crt"))
        try:
            Client(tlsp, bad_ctx, host="localhost").req("GET", "/__mock/health")
            ok = False
        except ssl.SSLCertVerificationError:
            ok = True
        check("TLS wrong CA refused", ok)
        try:
            Client(tlsx, ctx, host="localhost").req("GET", "/__mock/health")
            ok = False
        except ssl.SSLCertVerificationError as e:
            ok = "expired" in str(e)
        check("TLS expired cert refused", ok)
        st, h, body = c.json("GET", "/__mock/health")
        check("server alive after TLS failures", st == 200)

    # ---------------------------------------------------------------- phase 2: reports
    ctl.json("POST", "/__mock/config", {"report_delay_ms": 200, "csv_shape": "crlf"})
    after, before = t0 - 20 * 86400, t0 - 5 * 86400
    body = {"Tag": "selftest", "DownloadFormat": "CSV", "Sort": "CreationDate:ASC",
            "Filters": {"AfterDate": after, "BeforeDate": before, "Type": ["PAYOUT"],
                        "Nature": ["REGULAR"]},
            "Columns": ["Id", "Tag", "CreationDate", "CreationDate:ISO", "DebitedFundsAmount",
                        "Status", "Type"]}
    st, h, rep = c.json("POST", B + "/reports/transactions", body,
                        dict(auth, **{"Idempotency-Key": "selftest-key-000001"}))
    check("legacy report created", st == 200 and rep["Status"] == "PENDING"
          and rep["Filters"]["Status"] == [] and rep["Filters"]["WalletId"] is None, (st, rep))
    st2, h, body2 = c.json("POST", B + "/reports/transactions", body,
                           dict(auth, **{"Idempotency-Key": "selftest-key-000001"}))
    check("idempotency 409", st2 == 409 and body2["Type"] == "idempotent_creation_conflict", st2)
    st, h, resp = c.json("GET", B + "/responses/selftest-key-000001", headers=auth)
    check("responses/{key}", st == 200 and resp["Resource"]["Id"] == rep["Id"], resp)
    st, h, body3 = c.json("POST", B + "/reports/transactions", body,
                          dict(auth, **{"Idempotency-Key": "short"}))
    check("bad idempotency key 400", st == 400, st)
    deadline = time.time() + 5
    while time.time() < deadline:
        st, h, r = c.json("GET", B + "/reports/" + rep["Id"], headers=auth)
        if r["Status"] != "PENDING":
            break
        time.sleep(0.1)
    check("legacy report ready", r["Status"] == "READY_FOR_DOWNLOAD" and r["DownloadURL"]
          and r["ResultCode"] == "000000", r)
    u = urlsplit(r["DownloadURL"])
    dc = Client(u.port)
    st, h, data = dc.req("GET", u.path + "?" + u.query)
    check("download 200 text/csv", st == 200 and h.get("content-type", "").startswith("text/csv"), st)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    check("CSV header", rows and rows[0] == body["Columns"], rows[:1])
    check("CSV CRLF", data.count(b"\r\n") >= len(rows), None)
    tt = truth(ctl, "transactions", AfterDate=after - 1, BeforeDate=before + 1)
    want_ids = [t["Id"] for t in tt if t["Type"] == "PAYOUT" and t["Nature"] == "REGULAR"]
    check("CSV rows == truth", [x[0] for x in rows[1:]] == want_ids, (len(rows) - 1, len(want_ids)))
    st, h, part = dc.req("GET", u.path + "?" + u.query, headers={"Range": "bytes=100-"})
    check("Range 206", st == 206 and part == data[100:] and
          h.get("content-range") == "bytes 100-%d/%d" % (len(data) - 1, len(data)), st)
    st, h, x = dc.req("GET", u.path + "?" + u.query, headers=auth)
    check("download with Authorization -> 403", st == 403 and b"AccessDenied" in x, st)
    st, h, x = dc.req("GET", u.path + "?" + u.query.replace("Signature=", "Signature=x"))
    check("download bad signature -> 403", st == 403, st)
    st, h, body = c.json("POST", B + "/reports/transactions",
                         {"Filters": {"AfterDate": t0 - 250 * 86400, "BeforeDate": t0}}, auth)
    check("legacy >6 months -> 400", st == 400 and body["Type"] == "param_error", body)
    st, h, body = c.json("POST", B + "/reports/transactions",
                         {"Filters": {"AfterDate": t0 - 1200 * 86400,
                                      "BeforeDate": t0 - 1100 * 86400}}, auth)
    check("legacy 36 months -> 400", st == 400 and body["errors"].get("Filters.AfterDate") ==
          "This report type can only be done for the last 36 months.", body)
    st, h, body = c.json("POST", B + "/reporting/reports",
                         {"ReportType": "COLLECTED_FEES", "AfterDate": t0 - 400 * 86400,
                          "BeforeDate": t0}, auth)
    check("reporting 12 months -> 400", st == 400 and body["errors"] ==
          {"Report": "Max 12 months between AfterDate and BeforeDate."}, body)
    st, h, body = c.json("POST", B + "/reporting/reports",
                         {"ReportType": "COLLECTED_FEES", "AfterDate": t0 - 40 * 86400,
                          "BeforeDate": t0, "Columns": ["ClientId", "Nope"]}, auth)
    check("reporting unknown column", st == 400 and body["errors"]["Report"].startswith(
        "Unknown columns were found in the list: Nope, Report Columns: ClientId, "), body)
    # amount_needs_currency: a bound without its currency is refused, with it accepted
    ctl.json("POST", "/__mock/config", {"amount_needs_currency": True})
    st, h, body = c.json("POST", B + "/reports/transactions",
                         {"Filters": {"AfterDate": t0 - 20 * 86400, "BeforeDate": t0,
                                      "MinDebitedFundsAmount": 100}}, auth)
    check("amount without currency -> 400 (amount_needs_currency)", st == 400 and
          "Filters.MinDebitedFundsCurrency" in (body.get("errors") or {}), body)
    st, h, body = c.json("POST", B + "/reports/transactions",
                         {"Filters": {"AfterDate": t0 - 20 * 86400, "BeforeDate": t0,
                                      "MinDebitedFundsAmount": 100,
                                      "MinDebitedFundsCurrency": "EUR"}}, auth)
    check("amount with currency accepted (amount_needs_currency)", st == 200, body)
    ctl.json("POST", "/__mock/config", {"amount_needs_currency": False})
    # download_url_base: the links of reports that become ready point elsewhere
    ctl.json("POST", "/__mock/config", {"download_url_base": "ftp://127.0.0.1:1"})
    st, h, rb = c.json("POST", B + "/reports/transactions",
                       {"Filters": {"AfterDate": t0 - 20 * 86400, "BeforeDate": t0}}, auth)
    for _ in range(100):
        st, h, rb = c.json("GET", B + "/reports/" + rb["Id"], None, auth)
        if rb.get("DownloadURL"):
            break
        time.sleep(0.05)
    check("download_url_base in DownloadURL",
          (rb.get("DownloadURL") or "").startswith("ftp://127.0.0.1:1/"), rb.get("DownloadURL"))
    ctl.json("POST", "/__mock/config", {"download_url_base": None})
    ctl.json("POST", "/__mock/config", {"uwt_requires_key": True})
    st, h, body = c.json("POST", B + "/reporting/reports",
                         {"ReportType": "USER_WALLET_TRANSACTIONS", "AfterDate": t0 - 40 * 86400,
                          "BeforeDate": t0}, auth)
    check("UWT requires UserId/WalletId (uwt_requires_key)", st == 400, body)
    ctl.json("POST", "/__mock/config", {"uwt_requires_key": False})
    fault({"path": "/reporting/reports$", "kind": "report_failed", "result_code": "805001"})
    st, h, rr = c.json("POST", B + "/reporting/reports",
                       {"ReportType": "COLLECTED_FEES", "AfterDate": t0 - 40 * 86400,
                        "BeforeDate": t0, "Filters": {"Currency": "EUR"}}, auth)
    check("reporting created", st == 200 and rr["Sort"] == "CreationDate:DESC"
          and rr["Columns"][0] == {"Name": "ClientId", "IsDefault": True}, rr)
    time.sleep(0.35)
    st, h, rr2 = c.json("GET", B + "/reporting/reports/" + rr["Id"], headers=auth)
    check("report_failed fault", rr2["Status"] == "FAILED" and rr2["ResultCode"] == "805001", rr2)
    st, h, lst = c.json("GET", B + "/reporting/reports?per_page=100", headers=auth)
    check("reporting list reduced + DESC", lst and set(lst[0]) == {
        "Id", "ReportType", "Status", "LastUpdated", "CreationDate", "Tag", "ResultCode",
        "ResultMessage"} and lst[0]["Id"] == rr["Id"], lst and lst[0])
    st, h, x = c.json("GET", B + "/reports/" + rr["Id"], headers=auth)
    check("reporting id not readable via legacy", st == 404, st)
    # bench rows: streamed, Range consistent
    ctl.json("POST", "/__mock/config", {"bench_rows": 5000, "csv_bom": True})
    st, h, b = c.json("POST", B + "/reports/transactions",
                      {"Filters": {"AfterDate": t0 - 100 * 86400, "BeforeDate": t0 - 86400}}, auth)
    time.sleep(0.3)
    st, h, b = c.json("GET", B + "/reports/" + b["Id"], headers=auth)
    u = urlsplit(b["DownloadURL"])
    st, h, data = dc.req("GET", u.path + "?" + u.query)
    check("bench rows streamed", st == 200 and data.startswith(b"\xef\xbb\xbfId,Tag,")
          and len(list(csv.reader(io.StringIO(data[3:].decode("utf-8"), newline="")))) == 5001
          and int(h["content-length"]) == len(data), (st, len(data)))
    st, h, part = dc.req("GET", u.path + "?" + u.query, headers={"Range": "bytes=123457-"})
    check("bench Range", st == 206 and part == data[123457:], (st, len(part)))
    ctl.json("POST", "/__mock/config", {"bench_rows": 0, "csv_bom": False})
    # CSV shapes (§4c): each report takes the next of the cycle, or config csv_shape
    def shaped_file(min_amount):
        st, h, b = c.json("POST", B + "/reports/transactions", {"Filters": {
            "AfterDate": t0 - 20 * 86400, "BeforeDate": t0 - 5 * 86400,
            "MinDebitedFundsAmount": min_amount}, "Columns": ["Id", "CreationDate", "Tag"]}, auth)
        for _ in range(50):
            st, h, b = c.json("GET", B + "/reports/" + b["Id"], headers=auth)
            if b["Status"] != "PENDING":
                break
            time.sleep(0.05)
        u = urlsplit(b["DownloadURL"])
        st, h, data = dc.req("GET", u.path + "?" + u.query)
        return h.get("x-mock-csv-shape"), data, u.path + "?" + u.query

    ctl.json("POST", "/__mock/config", {"report_delay_ms": 0, "csv_shape": None})
    seen = {shaped_file(10 ** 12)[0] for _ in range(16)}
    check("the shape cycle serves all 16 shapes", seen == set(mr.CSV_SHAPES), seen)
    st, h, x = ctl.json("POST", "/__mock/config", {"csv_shape": "crlf,sideways"})
    check("unknown csv_shape -> 400", st == 400, (st, x))
    for name in ("lf,noeol,bom", "crlf,noeol", "lf"):
        ctl.json("POST", "/__mock/config", {"csv_shape": name})
        got, data, _ = shaped_file(0)
        eol = b"\n" if name.startswith("lf") else b"\r\n"
        body = data[3:] if "bom" in name else data
        first = body.split(eol)[0]
        check("shape %s" % name, got == name and data.startswith(BOMB) == ("bom" in name)
              and first == b"Id,CreationDate,Tag" and data.endswith(eol) == ("noeol" not in name)
              and len(list(csv.reader(io.StringIO(body.decode("utf-8"), newline="")))) > 2,
              (got, data[:40], data[-40:]))
    for name, want in (("crlf", b"Id,CreationDate,Tag\r\n"), ("lf,noeol", b"Id,CreationDate,Tag"),
                       ("lf,emptybody", b""), ("crlf,bom,emptybody", BOMB)):
        ctl.json("POST", "/__mock/config", {"csv_shape": name})
        got, data, _ = shaped_file(10 ** 12)
        check("no rows, shape %s" % name, got == name and data == want, (got, data))
    ctl.json("POST", "/__mock/config", {"csv_shape": "crlf,noeol"})
    got, data, path = shaped_file(0)
    last = data.rfind(b"\r\n") + 2
    for at, cut in (("last_record", last), ("last_byte", len(data) - 1)):
        fault({"path": r"\.csv$", "kind": "drop_mid_body", "at": at})
        try:
            st, h, part = dc.req("GET", path)
            partial = None
        except http.client.IncompleteRead as e:     # dropped: what came before
            dc = Client(dlp)
            partial = e.partial
        check("drop_mid_body at %s" % at, partial == data[:cut],
              (cut, partial if partial is None else len(partial)))
        st, h, rest = dc.req("GET", path, headers={"Range": "bytes=%d-" % cut})
        check("resume after %s" % at, st == 206 and rest == data[cut:], (st, rest[:20]))
    ctl.json("POST", "/__mock/config", {"csv_shape": "crlf"})
    # Reporting Service download of the fixed GENERATED report
    st, h, rg = c.json("GET", B + "/reporting/reports/report_01JQ0000000000000000000001",
                       headers=auth)
    u = urlsplit(rg["DownloadURL"])
    st, h, data = dc.req("GET", u.path + "?" + u.query)
    rows = list(csv.reader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    wid = rg["Filters"]["WalletId"]
    want = [t for t in truth(ctl, "transactions", AfterDate=rg["AfterDate"] - 1,
                             BeforeDate=rg["BeforeDate"] + 1)
            if t["Status"] == "SUCCEEDED" and wid in (t["DebitedWalletId"], t["CreditedWalletId"])]
    check("reporting CSV", st == 200 and rows[0][:2] == ["ClientId", "TransactionId"]
          and sorted(r[1] for r in rows[1:]) == sorted(t["Id"] for t in want), (st, len(rows)))
    # mutate
    st, h, m = ctl.json("POST", "/__mock/mutate", {"collection": "disputes", "id": "9000000002",
                                                   "set": {"Status": "CLOSED", "ResultCode": "WON"}})
    st, h, d2 = c.json("GET", B + "/disputes/9000000002", headers=auth)
    check("mutate set", d2["Status"] == "CLOSED" and d2["ResultCode"] == "WON", d2)
    st, h, m = ctl.json("POST", "/__mock/mutate", {"collection": "disputes", "add": {
        "Id": "9999999999", "CreationDate": t0 - 100, "Status": "CREATED"}})
    st, h, d3 = c.json("GET", B + "/disputes/9999999999", headers=auth)
    check("mutate add", st == 200 and d3["Tag"] is None and "DisputeReason" in d3, d3)
    # the ledger behind the reports: a status change and a new transaction
    some = truth(ctl, "transactions", AfterDate=t0 - 3 * 86400)[0]
    st, h, m = ctl.json("POST", "/__mock/mutate", {"collection": "transactions", "id": some["Id"],
                                                   "set": {"Status": "FAILED", "ResultCode": "001999"}})
    got = [t for t in truth(ctl, "transactions", AfterDate=t0 - 3 * 86400) if t["Id"] == some["Id"]]
    check("mutate ledger set", st == 200 and got and got[0]["Status"] == "FAILED"
          and got[0]["ResultCode"] == "001999", (st, m, got))
    st, h, m = ctl.json("POST", "/__mock/mutate", {"collection": "transactions", "add": {
        "Id": "tx_selftest", "CreationDate": t0 - 7200, "Status": "CREATED", "Type": "PAYOUT"}})
    got = [t for t in truth(ctl, "transactions", AfterDate=t0 - 7300, BeforeDate=t0 - 7100)
           if t["Id"] == "tx_selftest"]
    check("mutate ledger add", st == 200 and len(got) == 1 and got[0]["Type"] == "PAYOUT", (st, m, got))
    st, h, m = ctl.json("POST", "/__mock/mutate", {"collection": "transactions", "id": some["Id"],
                                                   "set": {"CreationDate": 1}})
    check("mutate ledger refuses CreationDate", st == 400, (st, m))
    # a change announced by its event: the by-id object follows the ledger
    po = [t for t in truth(ctl, "payouts", AfterDate=t0 - 60 * 86400, BeforeDate=t0 - 40 * 86400)
          if t["Status"] != "FAILED"][0]
    st, h, m = ctl.json("POST", "/__mock/mutate", {"collection": "transactions", "id": po["Id"],
                                                   "set": {"Status": "FAILED", "ResultCode": "121001"},
                                                   "event": "PAYOUT_NORMAL_FAILED"})
    st2, h, p2 = c.json("GET", B + "/payouts/bankwire/" + po["Id"], headers=auth)
    st3, h, evs = c.json("GET", B + "/events?EventType=PAYOUT_NORMAL_FAILED&per_page=100&Sort=Date:DESC",
                         headers=auth)
    check("mutate with event", st == 200 and p2["Status"] == "FAILED" and p2["ResultCode"] == "121001"
          and evs and evs[0]["ResourceId"] == po["Id"], (st, m, p2, evs[:1]))
    st, h, m = ctl.json("POST", "/__mock/mutate", {"collection": "disputes", "id": "9000000002",
                                                   "set": {}, "event": "NO_SUCH_EVENT"})
    check("mutate refuses an unknown event type", st == 400, (st, m))
    # concurrency: parallel keep-alive clients
    import threading
    errs = []

    def worker():
        wc = Client(api)
        try:
            for i in range(10):
                st, h, b = wc.json("GET", B + "/disputes?per_page=50&page=%d" % (i + 1), headers=auth)
                if st != 200 or len(b) != 50:
                    errs.append(st)
        except Exception as e:  # noqa: BLE001
            errs.append(repr(e))
        wc.close()
    ths = [threading.Thread(target=worker) for _ in range(16)]
    for t in ths:
        t.start()
    for t in ths:
        t.join()
    check("16 parallel clients", not errs, errs[:3])
    ctl.json("POST", "/__mock/reset", {"data": True})
    st, h, d2 = c.json("GET", B + "/disputes/9000000002", headers=auth)
    check("reset data", d2["Status"] == "PENDING_CLIENT_ACTION", d2)
    c.close()
    ctl.close()


if __name__ == "__main__":
    main()
