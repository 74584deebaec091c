#!/usr/bin/env python3
"""MangoPay REST API v2.01 mock server for the mangopay_fdw tests.

Python 3 standard library only.  Faithful to /work/shared/spec/mangopay-api.md
(cited as §n); every quirk there is reproduced, and where the spec says a fact
is unknown the choice made here is marked "GUESS" and listed in README.md.

    python3 test/mock/mangopay_mock.py --host 127.0.0.1 --port 18089 \
        [--tls-port 18443 --tls-cert F --tls-key F] [--download-port 18090] \
        [--client-id acme-test] [--api-key sk-test-0123456789abcdef] [--seed 42] \
        [--log FILE] [--token-ttl 1200] [--disputes 3000] [--extra-client ID:KEY]...

Three kinds of listener share one state: the API (plain HTTP and optionally
TLS), and the report download server (CloudFront/S3 look-alike).  The control
API lives under /__mock/ on the API listeners (see README.md).
"""

import argparse
import base64
import bisect
import datetime as _dt
import hashlib
import hmac
import json
import math
import os
import re
import secrets
import select
import socket
import ssl
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

sys.dont_write_bytecode = True     # keep test/mock free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import mock_data as md  # noqa: E402
import mock_reports as mr  # noqa: E402

from mock_common import (ApiError, Resp, jdump, mp_error, param_error, not_found,  # noqa: E402
                         route_not_found, default_error_body, s3_error, JSON_CT, AUTH_MSG, RATE_MSG, WINDOWS, DEFAULT_LIMITS,
                         ISO_CURRENCIES, REPORTING_STATUSES)


# ---------------------------------------------------------------------------
# query helpers

class Query:
    """Query string with case-insensitive names (GUESS: ASP.NET binding), keeping
    repeated keys and the original order."""

    def __init__(self, raw):
        self.raw = raw or ""
        self.pairs = parse_qsl(self.raw, keep_blank_values=True)
        self.map = {}
        for k, v in self.pairs:
            self.map.setdefault(k.lower(), []).append(v)

    def first(self, name):
        v = self.map.get(name.lower())
        return v[0] if v else None

    def all(self, name):
        return self.map.get(name.lower(), [])

    def as_dict(self):
        out = {}
        for k, v in self.pairs:
            out.setdefault(k, []).append(v)
        return out


def parse_int_param(q, name, lo=None, hi=None, msg=None):
    v = q.first(name)
    if v is None or v == "":
        return None
    if not re.fullmatch(r"[+-]?\d+", v.strip()):
        raise param_error({name: "The value '%s' is not valid for %s." % (v, name)})
    n = int(v)
    if (lo is not None and n < lo) or (hi is not None and n > hi):
        raise param_error({name: msg or "The value '%s' is not valid for %s." % (v, name)})
    return n


def parse_enum_filter(q, name, allowed, single=False):
    """Comma-separated AND repeated keys, values case-insensitive (§2); an unknown
    value -> 400 naming the field.  Empty items are ignored.  single: the filter
    is documented as one string (EventType, reporting Status, document filters,
    §2): several values -> 400."""
    vals = []
    for raw in q.all(name):
        for part in raw.split(","):
            p = part.strip()
            if p:
                vals.append(p.upper())
    if not vals:
        return None
    if single and len(vals) > 1:
        raise param_error({name: "The value '%s' is not valid for %s: one value only."
                           % (",".join(q.all(name)), name)})
    if allowed is not None:
        for v in vals:
            if v not in allowed:
                raise param_error({name: "The value '%s' is not valid for %s. Allowed values: %s"
                                   % (v, name, ", ".join(allowed))})
    return set(vals)


def parse_sort(q, fields, default_dir):
    """Sort=<Field>:<ASC|DESC>; field and direction case-insensitive; several keys may
    be joined with '_' (PHP/Java SDKs, §2) - only the first is used."""
    v = q.first("Sort")
    if v is None or v.strip() == "":
        return fields[0], default_dir
    first = v.strip().split("_")[0]
    if ":" in first:
        f, d = first.split(":", 1)
    else:
        f, d = first, "ASC"
    match = [x for x in fields if x.lower() == f.strip().lower()]
    if not match or d.strip().upper() not in ("ASC", "DESC"):
        raise param_error({"Sort": "The sort value '%s' is not valid. Allowed: %s"
                           % (v, ", ".join("%s:ASC|DESC" % x for x in fields))})
    return match[0], d.strip().upper()


# ---------------------------------------------------------------------------
# shared state

class MockState:
    def __init__(self, args):
        self.args = args
        self.lock = threading.RLock()
        # filtered and sorted list results, per query, until the data changes
        # (mutate, reseed): a page of 20,000 disputes is a slice, not a sort
        self.data_version = 0
        self.list_cache = {}
        self.clients = {args.client_id: args.api_key}
        for ec in args.extra_client or []:
            cid, _, key = ec.partition(":")
            self.clients[cid] = key
        self.default_config = {
            "token_ttl": args.token_ttl,
            "rate_limits": list(DEFAULT_LIMITS),
            "rate_windows": list(WINDOWS),  # seconds of the four windows (shorter in tests)
            "latency_ms": 0,
            "report_delay_ms": 300,
            "csv_bom": False,               # true: every CSV starts with a BOM
            "csv_shape": None,              # null: a new shape per report (mock_reports.CSV_SHAPES)
            "download_ignore_range": False,  # a server that answers Range with the whole file
            "bench_rows": 0,
            "bench_cache": False,           # bench files built once, then served from memory
            "auth_lock_after": 0,           # 0 = never lock (§1 "repeated failures")
            "download_url_ttl": 86400,      # legacy link valid 24 h (§4a)
            "reporting_url_ttl": 31 * 86400,  # Reporting Service file valid 31 days (§4b)
            "events_max_age_days": 45,      # §2
            "list_default_dir": "DESC",     # order when no Sort is sent (undocumented, §2)
            "grow_disputes": 0,             # new disputes created at each GET /disputes
            "grow_events": 0,               # new events created at each GET /events
            "amount_bounds": "inclusive",   # reading of report Min/Max*Amount (§4a)
            "legacy_max_days": 0,           # TRANSACTIONS range also <= N days (0: months only)
            "uwt_requires_key": False,      # USER_WALLET_TRANSACTIONS needs UserId/WalletId
            "bankaccount_refunds": False,   # bank account lists also hold payout refunds
            "clients": {},                  # more client ids (id -> api key), until reset
            "sca": True,                    # §11: OWNER users' wallet reads are SCA-gated
            "bankaccount_recipient_ids": False,  # /bankaccounts/{rec_...}/transactions lists (§11: undocumented)
            "emoney_currency": "convert",   # e-money's Currency: "convert" amounts / "wallets" in it (§11)
            "amount_needs_currency": False,  # Min/Max*Amount without its *Currency: 400
            "download_url_base": None,      # "scheme://host:port" of DownloadURLs (null: the download server)
            "payout_bankwire_payment_ref": False,  # §11: PaymentRef also in /payouts/bankwire/{Id}
            "read_delay_ms": 0,             # the download port's threads look for a request that late
        }
        self.config = dict(self.default_config)
        self.tokens = {}                    # token -> {"client", "exp", "issued"}
        self.rl_calls = {}                  # client -> sorted list of call times
        self.auth_failures = {}
        self.faults = []
        self.reqlog = []
        self.seq = 0
        self.log_gen = 0             # bumped by reset: a request received before it is not logged
        # open connections: id(socket) -> {"sock", "waiting", "gen"}.  While a
        # connection waits for its next request, "gen" is the generation that
        # request belongs to: the one current when the wait began, or a reset's
        # new one when the reset found no byte of it arrived yet (see reset)
        self.conns = {}
        self.listeners = []                 # the servers' listening sockets
        self.idem = {}                      # (client, key) -> record
        self.log_file = open(args.log, "a", encoding="utf-8") if args.log else None
        self.log_lock = threading.Lock()
        self.signing_key = hashlib.sha256(b"mock-cloudfront-%d" % args.seed).digest()
        self.ports = {}
        self.started = time.time()
        self.shutting_down = False
        self.seed_data()

    def seed_data(self):
        t = time.time()
        self.data_version += 1
        self.list_cache = {}
        # T0 is fixed for the server's life: a reseed after midnight UTC
        # serves the same records as the first seed
        if getattr(self, "t0", None) is None:
            self.t0 = md.parse_anchor(getattr(self.args, "anchor", None))
        self.store = md.Store(seed=self.args.seed, t0=self.t0, n_disputes=self.args.disputes,
                              client_id=self.args.client_id)
        self.reports = mr.ReportEngine(self)
        self.seed_seconds = time.time() - t

    # -------------------------------------------------------------- rate limiting (§2)
    def rl_hit(self, key, count=True):
        """Record one call for `key`; return (allowed, headers)."""
        now = time.time()
        with self.lock:
            limits = self.config["rate_limits"]
            windows = self.config["rate_windows"]
            calls = self.rl_calls.setdefault(key, [])
            cut = bisect.bisect_right(calls, now - 86400)
            if cut > 1000:
                del calls[:cut]
            used = [len(calls) - bisect.bisect_right(calls, now - w) for w in windows]
            allowed = all(u < lim for u, lim in zip(used, limits))
            if allowed and count:
                calls.append(now)
                used = [u + 1 for u in used]
            resets = []
            for w in windows:
                i = bisect.bisect_right(calls, now - w)
                resets.append(int(math.ceil(calls[i] + w)) if i < len(calls) else int(now + w))
            rem = [max(0, lim - u) for u, lim in zip(used, limits)]
        return allowed, self.rl_headers(used, rem, resets)

    @staticmethod
    def rl_headers(used, rem, resets):
        j = lambda xs: ", ".join(str(int(x)) for x in xs)   # four values, ", " separated
        return [("X-RateLimit", j(used)), ("X-RateLimit-Remaining", j(rem)),
                ("X-RateLimit-Reset", j(resets))]

    # -------------------------------------------------------------- tokens (§1)
    def issue_token(self, client):
        tok = secrets.token_hex(16)        # opaque 32-hex (§1)
        now = time.time()
        with self.lock:
            ttl = int(self.config["token_ttl"])
            self.tokens[tok] = {"client": client, "exp": now + ttl, "issued": now}
        return tok, ttl

    def expire_all_tokens(self):
        with self.lock:
            for t in self.tokens.values():
                t["exp"] = 0

    def client_key(self, cid):
        """The API key of a known client id (--client-id, --extra-client, config clients)."""
        extra = self.config.get("clients") or {}
        return self.clients.get(cid) if cid in self.clients else extra.get(cid)

    def check_token(self, header, client):
        if not header:
            return False
        parts = header.strip().split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer":   # scheme case-insensitive (§1)
            return False
        with self.lock:
            t = self.tokens.get(parts[1].strip())
            return bool(t and t["client"] == client and t["exp"] > time.time())

    # -------------------------------------------------------------- faults
    def match_fault(self, method, path, port_role, report_create, gen=None):
        with self.lock:
            # received before the last reset (a page the previous statement
            # prefetched, answered late on a busy machine): it neither sees
            # nor uses up the faults armed since, which are the next test's
            if gen is not None and gen != self.log_gen:
                return None
            chosen = None
            for rule in self.faults:
                kind = rule.get("kind")
                if kind in mr.REPORT_FAULT_KINDS and not report_create:
                    continue
                if rule.get("method") and rule["method"].upper() != method:
                    continue
                if rule.get("port") and rule["port"] not in (port_role, self.ports.get(port_role)):
                    continue
                try:
                    if not re.search(rule.get("path", ""), path):
                        continue
                except re.error:
                    continue
                rule["_seen"] = rule.get("_seen", 0) + 1
                if chosen is not None:
                    continue
                if rule["_seen"] <= int(rule.get("skip", 0)):
                    continue
                times = int(rule.get("times", 1))
                if times != -1 and rule.get("_applied", 0) >= times:
                    continue
                rule["_applied"] = rule.get("_applied", 0) + 1
                chosen = rule
            return chosen

    # -------------------------------------------------------------- request log
    def log_request(self, entry):
        with self.lock:
            # received before a reset and answered after it: not in the new log
            if entry.pop("gen", self.log_gen) == self.log_gen:
                self.seq += 1
                entry["seq"] = self.seq
                self.reqlog.append(entry)
        if self.log_file:
            line = "%s %s %s %s %dms port=%s\n" % (
                _dt.datetime.fromtimestamp(entry["time"], _dt.timezone.utc).strftime(
                    "%Y-%m-%dT%H:%M:%S.%fZ"),
                entry["method"], entry["path"], entry["status"], entry["ms"], entry["port"])
            with self.log_lock:
                self.log_file.write(line)
                self.log_file.flush()

    # ------------------------------------------------------- connections
    def conn_open(self, sock):
        """A connection accepted (the server's thread, in accept order): its
        first request belongs to the generation current now, unless a reset
        finds it has not arrived yet."""
        with self.lock:
            self.conns[id(sock)] = {"sock": sock, "waiting": True, "gen": self.log_gen}

    def conn_close(self, sock):
        with self.lock:
            self.conns.pop(id(sock), None)

    def conn_request(self, sock):
        """The first bytes of the connection's next request are here: the
        generation it belongs to (None: the connection is not tracked)."""
        with self.lock:
            c = self.conns.get(id(sock))
            if c is None:
                return None
            c["waiting"] = False
            return c["gen"]

    def conn_idle(self, sock):
        with self.lock:
            c = self.conns.get(id(sock))
            if c is not None:
                c["waiting"], c["gen"] = True, self.log_gen

    def reset(self):
        # A connection still in a listener's accept queue was made before
        # this reset (another listener's thread may not have run yet): wait
        # until it is accepted and tracked, so the check below sees it.
        # Bounded: a listener that stopped accepting (shutdown) is left.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(listener_pending(ls) for ls in self.listeners):
            time.sleep(0.005)
        with self.lock:
            self.faults = []
            self.reqlog = []
            self.seq = 0
            self.log_gen += 1
            # A request whose bytes reached this machine before the reset
            # belongs to the old log, even if its handler thread reads it only
            # now (a busy machine: an aborted statement's last request, then
            # the next statement's reset on another connection).  Bytes are
            # only taken from a waiting connection after it has stopped waiting,
            # under self.lock (Handler.handle_one_request), so "no byte yet" here means it comes after.
            for c in self.conns.values():
                if c["waiting"] and not sock_has_bytes(c["sock"]):
                    c["gen"] = self.log_gen
            self.rl_calls = {}
            self.auth_failures = {}
            self.idem = {}
            self.config = dict(self.default_config)


# ---------------------------------------------------------------------------
# HTTP plumbing

def poll_in(sock, ms=0):
    """Whether the socket is readable within ms (0: now), taking nothing:
    bytes, a connection to accept, the end of the stream or an error."""
    p = select.poll()
    p.register(sock, select.POLLIN)
    return bool(p.poll(ms))


def sock_has_bytes(sock):
    """Whether bytes (or the end of the stream) wait on the socket, taking
    none: TLS data already decrypted, or anything in the kernel's buffer
    (encrypted bytes count too)."""
    try:
        return (isinstance(sock, ssl.SSLSocket) and sock.pending() > 0) or poll_in(sock)
    except (OSError, ValueError):
        return True             # closed under us: let the reader find out


def listener_pending(sock):
    """Whether a connection waits in the listening socket's accept queue."""
    try:
        return poll_in(sock)
    except (OSError, ValueError):
        return False            # closed: nothing will be accepted


class MockServer(ThreadingHTTPServer):
    daemon_threads = True
    # server_close() must not join the handler threads: a keep-alive
    # connection or a hang fault keeps one alive for minutes
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, handler, state, role, scheme, ssl_ctx=None):
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.role = role
        self.scheme = scheme
        self.ssl_ctx = ssl_ctx
        ThreadingHTTPServer.__init__(self, addr, handler)
        state.listeners.append(self.socket)

    def get_request(self):
        sock, addr = self.socket.accept()
        if self.ssl_ctx is not None:
            # handshake happens in the handler thread (Handler.setup), never here
            sock = self.ssl_ctx.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        self.state.conn_open(sock)
        return sock, addr

    def shutdown_request(self, request):
        self.state.conn_close(request)
        ThreadingHTTPServer.shutdown_request(self, request)

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, TimeoutError)):
            return          # client went away, TLS handshake refused, ...
        traceback.print_exc()


class DropConnection(Exception):
    pass


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mangopay-mock/1.0"
    sys_version = ""
    timeout = 300               # idle keep-alive connections

    def setup(self):
        # headers and body go out in separate writes: without TCP_NODELAY,
        # Nagle + delayed ACK add ~40 ms to every keep-alive request
        try:
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if isinstance(self.request, ssl.SSLSocket):
            self.request.settimeout(10)
            self.request.do_handshake()
        BaseHTTPRequestHandler.setup(self)

    def handle_one_request(self):
        # wait for the next request's first bytes without taking them, then
        # learn which generation of the log it belongs to (MockState.reset)
        st, sock = self.server.state, self.connection
        if self.server.role == "download" and st.config.get("read_delay_ms"):
            # a thread that runs late (the self-test's busy machine)
            time.sleep(st.config["read_delay_ms"] / 1000.0)
        deadline = time.monotonic() + self.timeout
        while not sock_has_bytes(sock):
            left = deadline - time.monotonic()
            if left <= 0:
                self.close_connection = True
                return
            try:
                poll_in(sock, int(min(left, 1.0) * 1000))
            except (OSError, ValueError):
                break           # closed under us: the read below finds out
        self.req_gen = st.conn_request(sock)
        try:
            BaseHTTPRequestHandler.handle_one_request(self)
        finally:
            st.conn_idle(sock)

    def log_message(self, fmt, *args):     # silence stderr access log
        pass

    def version_string(self):
        return self.server_version

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_OPTIONS(self):
        self.dispatch("OPTIONS")

    # -------------------------------------------------------------- request body
    def read_body(self):
        te = (self.headers.get("Transfer-Encoding") or "").lower()
        if "chunked" in te:
            chunks = []
            total = 0
            while True:
                line = self.rfile.readline(65537)
                if not line:
                    raise DropConnection()
                size = int(line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while True:
                        trailer = self.rfile.readline(65537)
                        if trailer in (b"\r\n", b"\n", b""):
                            break
                    break
                total += size
                if total > 20 * 1024 * 1024:
                    raise DropConnection()
                chunks.append(self.rfile.read(size))
                self.rfile.readline(3)
            return b"".join(chunks)
        n = self.headers.get("Content-Length")
        if n:
            try:
                n = int(n)
            except ValueError:
                raise DropConnection()
            if n > 20 * 1024 * 1024:
                raise DropConnection()
            return self.rfile.read(n)
        return b""

    # -------------------------------------------------------------- sending
    def send_resp(self, resp, extra_headers, head_only=False, cut_after=None):
        """Send a Resp. cut_after: send only that many body bytes then drop."""
        if resp.stream is not None:
            length = resp.length
        else:
            body = resp.body_bytes()
            length = len(body)
        self.log_now(None if cut_after is not None else resp.status)
        self.send_response(resp.status)
        if resp.content_type:
            self.send_header("Content-Type", resp.content_type)
        self.send_header("Content-Length", str(length))
        for k, v in list(extra_headers) + list(resp.headers):
            self.send_header(k, v)
        if cut_after is not None or self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if head_only:
            return 0
        sent = 0
        if resp.stream is None:
            if cut_after is not None:
                self.wfile.write(body[:cut_after])
                self.wfile.flush()
                raise DropConnection()
            self.wfile.write(body)
            return length
        for chunk in resp.stream():
            if cut_after is not None and sent + len(chunk) >= cut_after:
                self.wfile.write(chunk[:cut_after - sent])
                self.wfile.flush()
                raise DropConnection()
            self.wfile.write(chunk)
            sent += len(chunk)
        return sent

    def log_now(self, status):
        """Put this request in the log before the client can see an answer
        (its bytes or the connection closing): a test that reads the log
        right after its query ends finds every request of it, however late
        this thread runs.  dispatch() then only updates the time taken."""
        entry = getattr(self, "_entry", None)
        if entry is None or self._logged:
            return
        entry["status"] = status
        entry["ms"] = int((time.monotonic() - self._t_start) * 1000)
        # until the answer started: the client cannot have it (nor send its
        # next request) before, while ms may be updated late on a busy machine
        entry["answer_ms"] = entry["ms"]
        self._logged = True
        self.server.state.log_request(entry)

    def drop(self):
        self.log_now(None)
        self.close_connection = True
        try:
            self.wfile.flush()
        except OSError:
            pass
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def hang(self, max_s=120):
        """Hold the request without answering until the client goes away (or 120 s)."""
        end = time.time() + max_s
        sock = self.connection
        while time.time() < end and not self.server.state.shutting_down:
            try:
                r, _, _ = select.select([sock], [], [], 0.5)
                if r:
                    data = sock.recv(1, socket.MSG_PEEK)
                    if not data:
                        break
                    time.sleep(0.5)
            except (OSError, ValueError):
                break
        self.drop()

    # -------------------------------------------------------------- main entry
    def dispatch(self, method):
        t_start = time.monotonic()
        st = self.server.state
        self._entry, self._logged, self._t_start = None, False, t_start
        try:
            body = self.read_body()
        except DropConnection:
            self.drop()
            return
        split = urlsplit(self.path)
        path = split.path
        raw_query = split.query
        if self.server.role == "api" and path.startswith("/__mock/"):
            return self.control(method, path, raw_query, body)
        entry = self.make_log_entry(method, path, raw_query, body)
        self._entry = entry
        status = None
        try:
            if self.server.role == "download":
                status = self.handle_download(method, path, raw_query, entry)
            else:
                status = self.handle_api(method, path, raw_query, body, entry)
        except DropConnection:
            self.drop()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        except Exception:
            traceback.print_exc()
            self.close_connection = True
        finally:
            if self._logged:
                with st.lock:
                    entry["ms"] = int((time.monotonic() - t_start) * 1000)
            else:
                entry["status"] = status
                entry["ms"] = int((time.monotonic() - t_start) * 1000)
                st.log_request(entry)
            self._entry = None

    def make_log_entry(self, method, path, raw_query, body):
        headers = {}
        auth = None
        for k, v in self.headers.items():
            lk = k.lower()
            if lk == "authorization":
                auth = v
                scheme = v.strip().split(None, 1)[0] if v.strip() else ""
                v = "%s <redacted>" % scheme
            headers[lk] = v if lk not in headers else headers[lk] + ", " + v
        q = Query(raw_query)
        qd = q.as_dict()
        gen = getattr(self, "req_gen", None)    # handle_one_request
        if gen is None:
            gen = self.server.state.log_gen
        entry = {"seq": None, "gen": gen, "time": time.time(), "method": method, "path": path,
                 "query": qd, "params": {k: ",".join(v) for k, v in qd.items()},
                 "raw_query": raw_query, "headers": headers,
                 "has_authorization": auth is not None,
                 "auth_scheme": (auth.strip().split(None, 1)[0] if auth and auth.strip() else None),
                 "status": None, "port": self.server.server_address[1], "fault": None}
        if body:
            if path.rstrip("/").endswith("/oauth/token"):
                form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
                entry["body"] = {k: (v if k in ("grant_type", "scope") else "<redacted>")
                                 for k, v in form.items()}
            else:
                try:
                    entry["body"] = json.loads(body.decode("utf-8"))
                except (ValueError, UnicodeDecodeError):
                    entry["body"] = body[:65536].decode("utf-8", "replace")
        return entry

    # -------------------------------------------------------------- API
    def handle_api(self, method, path, raw_query, body, entry):
        st = self.server.state
        head_only = method == "HEAD"
        norm = path.rstrip("/") or "/"              # "/x" and "/x/" alike (§1)
        is_token = norm == "/v2.01/oauth/token"
        # who is calling (rate-limit bucket)
        if is_token:
            client_key = self.basic_client()[0] or "-"
        else:
            m = re.match(r"^/(?:v2\.01|[vV]3\.0)/([^/]+)", norm)
            client_key = m.group(1) if m else "-"
        entry["client"] = client_key
        report_create = method == "POST" and bool(re.search(
            r"/(reports/transactions|reports/wallets|reporting/reports)$", norm))
        rule = st.match_fault(method, path, "api", report_create, entry.get("gen"))
        if rule:
            entry["fault"] = rule.get("kind")

        lat = st.config.get("latency_ms") or 0
        if lat:
            time.sleep(lat / 1000.0)
        allowed, rl = st.rl_hit(client_key)

        kind = rule.get("kind") if rule else None
        if kind == "latency":
            time.sleep(float(rule.get("ms", 1000)) / 1000.0)
        elif kind == "expire_token":
            st.expire_all_tokens()
        elif kind == "drop":
            self.drop()
            return None
        elif kind == "hang":
            self.hang(float(rule.get("max_s", 120)))
            return None
        elif kind == "rate_limit":
            reset_in = int(rule.get("reset_in", 2))
            used = rl[0][1].split(", ")
            rem = rl[1][1].split(", ")
            rs = rl[2][1].split(", ")
            rem[0] = "0"
            used[0] = str(st.config["rate_limits"][0])
            rs[0] = str(int(time.time()) + reset_in)
            rl = [("X-RateLimit", ", ".join(used)), ("X-RateLimit-Remaining", ", ".join(rem)),
                  ("X-RateLimit-Reset", ", ".join(rs))]
            resp = Resp(429, mp_error("rate_limit", RATE_MSG, None))   # no Retry-After (§2)
            self.send_resp(resp, rl, head_only)
            return 429
        elif kind == "status":
            status = int(rule.get("status", 500))
            b = rule.get("body")
            if fault_raw_body(rule) is not None:
                raw, ct = fault_raw_body(rule), rule.get("content_type", JSON_CT)
            elif b is None:
                raw, ct = default_error_body(status)
            elif isinstance(b, str):
                raw, ct = b.encode("utf-8"), rule.get("content_type", JSON_CT)
            else:
                raw, ct = jdump(b), JSON_CT
            hdrs = [(k, str(v)) for k, v in (rule.get("headers") or {}).items()]
            if report_create and self.headers.get("Idempotency-Key"):
                # §3: a key used on a failed call is spent, whatever the status
                st.reports.record_failed(client_key, self.headers.get("Idempotency-Key"),
                                         status, raw, ct)
            # "cut_after": N body bytes, then the connection drops (no usable answer)
            cut = rule.get("cut_after")
            self.send_resp(Resp(status, raw=raw, content_type=ct, headers=hdrs), rl, head_only,
                           cut_after=int(cut) if cut is not None else None)
            return status
        elif kind == "redirect":
            status = int(rule.get("status", 302))
            loc = rule.get("location", "http://127.0.0.1:1/")
            self.send_resp(Resp(status, raw=b"", content_type=None, headers=[("Location", loc)]),
                           rl, head_only)
            return status
        elif kind == "no_route":
            # a 404 that is not MangoPay's: ASP.NET's missing route (a proxy,
            # another API version), no Type
            msg = "No HTTP resource was found that matches the request URI '%s://%s%s'." % (
                self.server.scheme, self.headers.get("Host") or "", self.path)
            self.send_resp(Resp(404, obj={"Message": msg}), rl, head_only)
            return 404
        elif kind == "malformed":
            raw = b'[{"Id":"1","Tag":null,"CreationDate":1700000000,"Status":"CLOS'
            self.send_resp(Resp(200, raw=raw), rl, head_only)
            return 200
        elif kind == "huge":
            self.send_resp(huge_json(float(rule.get("mb", 80))), rl, head_only)
            return 200
        elif kind == "deep":
            n = int(rule.get("depth", 100000))
            self.send_resp(Resp(200, raw=b"[" * n + b"]" * n), rl, head_only)
            return 200
        elif kind == "token_echo":
            # an OAuth error body that echoes the credentials it was sent: the
            # Basic value and the api_key, with control bytes, past any cap
            status = int(rule.get("status", 401))
            auth = self.headers.get("Authorization") or ""
            key = self.basic_client()[1] or ""
            pad = "x" * int(rule.get("pad", 4000))
            desc = ("rejected %s for api_key %s\x01\x1b[2J\r\n%s api_key %s" % (auth, key, pad, key))
            self.send_resp(Resp(status, obj={"error": "invalid_client\x07 " + key,
                                             "error_description": desc}), rl, head_only)
            return status

        if not allowed:
            # §2: 429 rate_limit, errors null, no Retry-After
            self.send_resp(Resp(429, mp_error("rate_limit", RATE_MSG, None)), rl, head_only)
            return 429
        try:
            if is_token:
                resp = self.api_token(method, body)
            else:
                resp = self.api_route(method, norm, Query(raw_query), body, rule)
        except ApiError as e:
            body_b = e.body if isinstance(e.body, (bytes, bytearray)) else jdump(e.body)
            resp = Resp(e.status, raw=body_b, content_type=e.content_type, headers=e.headers)
        if kind == "wrong_types" and resp.status == 200 and resp.obj is not None:
            resp = Resp(200, obj=wrong_types(resp.obj), headers=resp.headers)
        if kind == "empty_page" and resp.status == 200 and isinstance(resp.obj, list):
            # a page inside X-Number-Of-Pages answered [] (headers kept)
            resp = Resp(200, obj=[], headers=resp.headers)
        if kind in ("repeat_page", "short_page", "page_headers") and resp.status == 200 \
                and isinstance(resp.obj, list):
            resp = page_fault(self, kind, rule, resp, method, norm, raw_query, body)
        if kind == "lenient_json" and resp.status == 200 and resp.obj is not None:
            resp = Resp(200, raw=lenient_json(resp.obj, rule), headers=resp.headers)
        cut = None
        if kind == "drop_mid_body":
            blen = resp.length if resp.stream is not None else len(resp.body_bytes())
            cut = int(rule.get("bytes", blen // 2))
        self.send_resp(resp, rl, head_only, cut_after=cut)
        return resp.status

    def basic_client(self):
        h = self.headers.get("Authorization") or ""
        parts = h.strip().split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "basic":
            return None, None
        try:
            dec = base64.b64decode(parts[1].strip(), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            return None, None
        cid, sep, key = dec.partition(":")
        if not sep:
            return None, None
        return cid, key

    def api_token(self, method, body):
        """POST /v2.01/oauth/token (§1)."""
        st = self.server.state
        if method != "POST":
            raise route_not_found()
        cid, key = self.basic_client()
        lock_after = int(st.config.get("auth_lock_after") or 0)
        if cid is not None and lock_after and st.auth_failures.get(cid, 0) >= lock_after:
            # §1: repeated failures -> 400 unauthorized_client (account locked)
            raise ApiError(400, {"error": "unauthorized_client",
                                 "error_description": "This account has been temporarily locked "
                                                      "for security reasons. Please try again later."})
        if cid is None or st.client_key(cid) is None or not hmac.compare_digest(
                str(st.client_key(cid)).encode(), (key or "").encode()):
            if cid is not None:
                with st.lock:
                    st.auth_failures[cid] = st.auth_failures.get(cid, 0) + 1
            # GUESS (§10.3): HTTP 401 for invalid_client
            raise ApiError(401, {"error": "invalid_client",
                                 "error_description": "Client authentication failed: invalid "
                                                      "client id or API key"})
        form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        gt = form.get("grant_type")
        if gt != "client_credentials":
            raise ApiError(400, {"error": "unsupported_grant_type" if gt else "invalid_request",
                                 "error_description": "grant_type must be client_credentials"})
        st.auth_failures.pop(cid, None)
        tok, ttl = st.issue_token(cid)
        return Resp(200, obj={"access_token": tok, "token_type": "bearer", "expires_in": ttl},
                    headers=[("Cache-Control", "no-store"), ("Pragma", "no-cache")])

    def api_route(self, method, norm, q, body, rule):
        st = self.server.state
        m = re.match(r"^/(v2\.01|[vV]3\.0)/([^/]+)(?:/(.*))?$", norm)
        if not m:
            raise route_not_found()
        version, client, rest = m.group(1), m.group(2), m.group(3) or ""
        # GUESS: unknown ClientId in the path, a token of another client, a Basic
        # header (old docs) or no token -> 401 invalid_credentials (no Id/errors, §1)
        if st.client_key(client) is None or not st.check_token(self.headers.get("Authorization"),
                                                          client):
            raise ApiError(401, mp_error("invalid_credentials", AUTH_MSG, with_id=False))
        seg = [s for s in rest.split("/")] if rest else []
        if version.lower() == "v3.0":
            raise route_not_found()        # Echo (v3.0) reserved
        if method in ("GET", "HEAD"):
            return self.api_get(client, seg, q)
        if method == "POST":
            return self.api_post(client, seg, q, body, rule)
        raise route_not_found()

    # ---------------------------------------------------------------- GET routes
    def api_get(self, client, seg, q):
        st = self.server.state
        s = st.store
        n = len(seg)
        with st.lock:
            if seg[:1] == ["disputes"]:
                if n == 1:
                    grow = int(st.config.get("grow_disputes") or 0)
                    if grow > 0:
                        grow_disputes(st, grow)
                    return self.list_resp(s.disputes, q, DISPUTE_SPEC, cache=True)
                if n == 2 and seg[1] == "pendingsettlement":
                    return self.list_resp(pending_settlement(s), q, DISPUTE_SPEC)
                d = find_by_id(s.disputes, seg[1])
                if d is None:
                    raise not_found("Dispute", seg[1])
                if n == 2:
                    return Resp(200, obj=d)
                if n == 3 and seg[2] == "transactions":
                    return self.list_resp(dispute_transactions(s, d), q, TX_SPEC)
                if n == 3 and seg[2] == "documents":
                    docs = [x for x in s.dispute_documents if x["DisputeId"] == d["Id"]]
                    return self.list_resp(docs, q, DOC_SPEC)
            elif seg[:1] == ["dispute-documents"]:
                if n == 1:
                    return self.list_resp(s.dispute_documents, q, DOC_SPEC, cache=True)
                if n == 2:
                    doc = find_by_id(s.dispute_documents, seg[1])
                    if doc is None:
                        raise not_found("DisputeDocument", seg[1])
                    return Resp(200, obj=doc)
            elif seg[:1] == ["reports"]:
                if n == 1:
                    return self.list_resp(st.reports.legacy_objects(), q, REPORT_SPEC)
                if n == 2:
                    o = st.reports.legacy_get(seg[1])
                    if o is None:
                        raise not_found("Report", seg[1])
                    return Resp(200, obj=o)
            elif seg[:2] == ["reporting", "reports"]:
                if n == 2:
                    return self.list_resp(st.reports.reporting_objects(reduced=True), q,
                                          REPORTING_SPEC)
                if n == 3:
                    o = st.reports.reporting_get(seg[2])
                    if o is None:
                        raise not_found("Report", seg[2])
                    return Resp(200, obj=o)
            elif seg[:1] == ["responses"] and n == 2:
                return st.reports.idempotency_response(client, seg[1])
            elif seg[:2] == ["clients", "wallets"]:
                if n == 2:
                    return self.list_resp(s.client_wallets, q, WALLET_SPEC)
                ft = seg[2].upper()
                if ft not in md.FUNDS_TYPES:
                    raise param_error({"FundsType": "The value '%s' is not valid for FundsType. "
                                                    "Allowed values: FEES, CREDIT" % seg[2]})
                if n == 3:
                    return self.list_resp([w for w in s.client_wallets if w["FundsType"] == ft],
                                          q, WALLET_SPEC)
                ccy = seg[3].upper()
                if ccy not in ISO_CURRENCIES:
                    raise param_error({"Currency": "The value '%s' is not a valid currency"
                                                   % seg[3]})
                w = find_by_id(s.client_wallets, "%s_%s" % (ft, ccy))
                if w is None:
                    raise not_found("Wallet", "%s_%s" % (ft, ccy))
                if n == 4:
                    return Resp(200, obj=w)
                if n == 5 and seg[4] == "transactions":
                    txs = [t for t in s.wallet_txs.get((ft, ccy), []) if s.retained(t)]
                    return self.list_resp(txs, q, TX_SPEC)
            elif seg[:1] == ["events"] and n == 1:
                return self.list_events(q)
            elif n == 3 and seg[2] == "refunds" and seg[0] in ("payins", "transfers", "payouts",
                                                               "repudiations"):
                # parent-scoped refunds (§5): the parent must exist and be retained
                coll, kind = {"payins": (s.payins, "PayIn"), "transfers": (s.transfers, "Transfer"),
                              "payouts": (s.payouts, "PayOut"),
                              "repudiations": (s.repudiations, "Repudiation")}[seg[0]]
                o = coll.get(seg[1])
                if o is None or not s.retained(o):
                    raise not_found(kind, seg[1])
                kids = [r for r in s.refunds_by_parent.get(seg[1], []) if s.retained(r)]
                return self.list_resp(kids, q, REPUD_REFUND_SPEC if seg[0] == "repudiations"
                                      else REFUND_SPEC)
            elif seg[:1] == ["bankaccounts"] and n == 3 and seg[2] == "transactions":
                txs = bank_account_transactions(st, seg[1])
                if txs is None:
                    raise not_found("BankAccount", seg[1])
                return self.list_resp(txs, q, TX_SPEC)
            elif n == 3 and seg[2] == "disputes" and seg[0] in ("payins", "users", "wallets"):
                coll, idx, kind = {"payins": (s.payins, s.disputes_by_payin, "PayIn"),
                                   "users": (s.user_objs, s.disputes_by_user, "User"),
                                   "wallets": (s.wallet_objs, s.disputes_by_wallet, "Wallet")}[seg[0]]
                o = coll.get(seg[1])
                if o is None or (seg[0] == "payins" and not s.retained(o)):
                    raise not_found(kind, seg[1])
                return self.list_resp(idx.get(seg[1], []), q, DISPUTE_SPEC)
            elif seg[:1] == ["recipients"] and n == 2:
                o = s.recipients.get(seg[1])
                if o is None:
                    raise not_found("Recipient", seg[1])
                return Resp(200, obj=o)
            elif seg[:1] == ["users"] and n == 3 and seg[2] == "recipients":
                if s.user_objs.get(seg[1]) is None:
                    raise not_found("User", seg[1])
                return self.list_resp(s.recipients_by_user.get(seg[1], []), q, RECIPIENT_SPEC)
            elif seg[:1] == ["users"] and n == 1:
                return self.list_resp(list(s.user_objs.values()), q, USER_SPEC)
            elif seg[:1] == ["users"] and n == 3 and seg[2] == "regulatory":
                if s.user_objs.get(seg[1]) is None:
                    raise not_found("User", seg[1])
                return Resp(200, obj=s.regulatory[seg[1]])
            elif seg[:1] == ["users"] and n >= 2:
                u = s.user_objs.get(seg[1])
                if u is None:
                    raise not_found("User", seg[1])
                if n == 2:
                    return Resp(200, obj=u)
                if n == 3 and seg[2] == "wallets":
                    sca_gate(st, q, u)
                    return self.list_resp(s.wallets_by_user.get(seg[1], []), q, WALLET_SPEC)
                if n == 5 and seg[2] == "emoney":
                    if not re.match(r"^[0-9]{4}$", seg[3]):
                        raise param_error({"Year": "The value '%s' is not valid for Year" % seg[3]})
                    if not re.match(r"^[0-9]{1,2}$", seg[4]) or not 1 <= int(seg[4]) <= 12:
                        raise param_error({"Month": "The value '%s' is not valid for Month"
                                                    % seg[4]})
                    ccy = (q.first("Currency") or "EUR").upper()
                    if ccy not in md.CCY_RATE:
                        raise param_error({"Currency": "The value '%s' is not a valid currency"
                                                       % ccy})
                    return Resp(200, obj=s.emoney_object(seg[1], int(seg[3]), int(seg[4]), ccy,
                                                         emoney_wallets_in(st, q)))
            elif seg[:1] == ["wallets"] and n == 2:
                w = s.wallet_objs.get(seg[1])
                if w is None:
                    raise not_found("Wallet", seg[1])
                sca_gate(st, q, s.user_objs.get(w["Owners"][0]))
                return Resp(200, obj=w)
            elif seg[:2] == ["conversions", "rate"] and n == 4:
                # §11: the indicative rate of a pair of supported currencies
                for name, c in (("DebitedCurrency", seg[2]), ("CreditedCurrency", seg[3])):
                    if c not in ISO_CURRENCIES:
                        raise param_error({name: "The value '%s' is not a valid currency" % c})
                if seg[2] == seg[3]:
                    raise param_error({"CreditedCurrency": "The currencies must differ"})
                return Resp(200, obj=s.conversion_rate(seg[2], seg[3]))
            elif n == 2 and seg[0] in ("payins", "transfers", "conversions"):
                coll, kind = {"payins": (s.payins, "PayIn"), "transfers": (s.transfers, "Transfer"),
                              "conversions": (s.conversions, "Conversion")}[seg[0]]
                o = coll.get(seg[1])
                # §5/§8: transaction objects older than 13 months -> 404
                if o is None or not s.retained(o):
                    raise not_found(kind, seg[1])
                return Resp(200, obj=o)
            elif n == 2 and seg[0] in ("repudiations", "settlements", "refunds", "payouts"):
                coll, kind = {"repudiations": (s.repudiations, "Repudiation"),
                              "settlements": (s.settlements, "Settlement"),
                              "refunds": (s.refunds, "Refund"),
                              "payouts": (s.payouts, "PayOut")}[seg[0]]
                o = coll.get(seg[1])
                # §5/§8: transaction objects older than 13 months -> 404
                if o is None or not s.retained(o):
                    raise not_found(kind, seg[1])
                if seg[0] == "payouts":
                    o = {k: v for k, v in o.items()
                         if k not in ("ModeRequested", "ModeApplied", "FallbackReason")}
                return Resp(200, obj=o)
            elif seg[:2] == ["payouts", "bankwire"] and n == 3:
                o = s.payouts.get(seg[2])
                if o is None or not s.retained(o):
                    raise not_found("PayOut", seg[2])
                # §11: PaymentRef is in the examples of GET /payouts/{Id} only;
                # config payout_bankwire_payment_ref: the bankwire view too
                if not st.config.get("payout_bankwire_payment_ref"):
                    o = {k: v for k, v in o.items() if k != "PaymentRef"}
                return Resp(200, obj=o)
        raise route_not_found()

    def api_post(self, client, seg, q, body, rule):
        st = self.server.state
        if seg in (["reports", "transactions"], ["reports", "wallets"], ["reporting", "reports"]):
            return st.reports.create(client, seg, body, self.headers.get("Idempotency-Key"), rule)
        raise route_not_found()

    # ---------------------------------------------------------------- lists
    def list_events(self, q):
        st = self.server.state
        grow = int(st.config.get("grow_events") or 0)
        if grow > 0:
            grow_events(st, grow)
        now = time.time()
        max_age = int(st.config.get("events_max_age_days", 45)) * 86400
        after = parse_int_param(q, "AfterDate")
        before = parse_int_param(q, "BeforeDate")
        # §2: an AfterDate or a BeforeDate older than 45 days -> 400 param_error
        errs = {k: "Events older than %d days can not be searched" % (max_age // 86400)
                for k, v in (("AfterDate", after), ("BeforeDate", before))
                if v is not None and v < now - max_age}
        if errs:
            raise param_error(errs)
        evs = [e for e in st.store.events if e["Date"] >= now - max_age]
        return self.list_resp(evs, q, EVENT_SPEC)

    def list_resp(self, items, q, spec, cache=False):
        page = parse_int_param(q, "page", lo=1, msg="page must be an integer greater than 0")
        per_page = parse_int_param(q, "per_page", lo=1, hi=100,
                                   msg="per_page must be an integer between 1 and 100")  # §2
        page = page or 1
        per_page = per_page or 10
        for pname in spec.get("undocumented", ()):
            if q.first(pname) is not None:
                raise param_error({pname: "%s is not a filter of this list" % pname})
        datef = spec["date"]
        after = parse_int_param(q, "AfterDate")
        before = parse_int_param(q, "BeforeDate")
        filters = []
        for pname, (getter, allowed) in spec.get("enums", {}).items():
            vals = parse_enum_filter(q, pname, allowed, pname in spec.get("single", ()))
            if vals is not None:
                filters.append((pname, getter, vals))
        st = self.server.state
        # no Sort: newest first by default (config list_default_dir; §2: undocumented)
        sort_field, sort_dir = parse_sort(q, spec["sort"], spec.get(
            "default_dir", str(st.config.get("list_default_dir") or "DESC").upper()))
        # for the store's own lists (cache=True), the selection is kept per
        # query until the data changes (mutate, reseed): each page of a long
        # listing is then a slice, not a filter and a sort of every object
        key = (id(items), len(items), st.data_version, datef, after, before, sort_field, sort_dir,
               tuple((pname, tuple(sorted(vals))) for pname, _, vals in filters))
        out = st.list_cache.get(key) if cache else None
        if out is None:
            out = []
            for o in items:
                d = o.get(datef)
                # BeforeDate/AfterDate compared strictly (GUESS; README)
                if after is not None and not (d is not None and d > after):
                    continue
                if before is not None and not (d is not None and d < before):
                    continue
                ok = True
                for _, getter, vals in filters:
                    v = getter(o)
                    if v is None or str(v).upper() not in vals:
                        ok = False
                        break
                if ok:
                    out.append(o)
            sk = sort_field
            out.sort(key=lambda o: (o.get(sk) or 0, str(o.get("Id", o.get("ResourceId", ""))),
                                    o.get("EventType", "")),
                     reverse=(sort_dir == "DESC"))
            if cache:
                if len(st.list_cache) >= 64:
                    st.list_cache = {}
                st.list_cache[key] = out
        total = len(out)
        pages = (total + per_page - 1) // per_page
        chunk = out[(page - 1) * per_page: page * per_page]
        if spec.get("render"):
            chunk = [spec["render"](o) for o in chunk]
        headers = [("X-Number-Of-Pages", str(pages)), ("X-Number-Of-Items", str(total)),
                   ("Link", self.link_header(q, page, per_page, pages))]
        return Resp(200, obj=chunk, headers=headers)

    def link_header(self, q, page, per_page, pages):
        host = self.headers.get("Host") or "%s:%d" % self.server.server_address[:2]
        base = "%s://%s%s" % (self.server.scheme, host, urlsplit(self.path).path)

        def url(p):
            pairs = []
            seen_p = seen_pp = False
            for k, v in q.pairs:
                if k.lower() == "page":
                    if seen_p:
                        continue
                    seen_p = True
                    v = str(p)
                elif k.lower() == "per_page":
                    if seen_pp:
                        continue
                    seen_pp = True
                    v = str(per_page)
                pairs.append((k, v))
            if not seen_p:
                pairs.append(("page", str(p)))
            if not seen_pp:
                pairs.append(("per_page", str(per_page)))
            return base + "?" + urlencode(pairs, quote_via=quote, safe=":,")

        last = max(pages, 1)
        links = ['<%s>; rel="first"' % url(1)]
        if page > 1:
            links.append('<%s>; rel="prev"' % url(min(page - 1, last)))
        if page < pages:
            links.append('<%s>; rel="next"' % url(page + 1))
        links.append('<%s>; rel="last"' % url(last))
        return ", ".join(links)

    # -------------------------------------------------------------- download server (§4a)
    def handle_download(self, method, path, raw_query, entry):
        st = self.server.state
        rule = st.match_fault(method, path, "download", False, entry.get("gen"))
        if rule:
            entry["fault"] = rule.get("kind")
        kind = rule.get("kind") if rule else None
        head_only = method == "HEAD"
        if kind == "latency":
            time.sleep(float(rule.get("ms", 1000)) / 1000.0)
        elif kind == "drop":
            self.drop()
            return None
        elif kind == "hang":
            self.hang(float(rule.get("max_s", 120)))
            return None
        elif kind == "status":
            status = int(rule.get("status", 500))
            b = rule.get("body")
            raw = (b.encode() if isinstance(b, str) else jdump(b)) if b is not None else \
                s3_error("InternalError", "We encountered an internal error. Please try again.")
            if fault_raw_body(rule) is not None:
                raw = fault_raw_body(rule)
            self.send_resp(Resp(status, raw=raw, content_type=rule.get("content_type", "application/xml")),
                           [], head_only)
            return status
        resp = st.reports.download(method, path, Query(raw_query), self.headers)
        if getattr(resp, "csv", None) is not None:
            entry["csv_shape"] = dict(resp.headers).get("X-Mock-Csv-Shape")
            entry["csv_size"] = resp.csv.size
        if kind == "csv_header" and resp.status in (200, 206):
            resp = csv_header_fault(resp, rule)
        cut = None
        if kind == "drop_mid_body":
            blen = resp.length if resp.stream is not None else len(resp.body_bytes())
            cut = int(rule.get("bytes", blen // 2))
            at = rule.get("at")
            csv = getattr(resp, "csv", None)
            if at in ("last_record", "last_byte") and csv is not None:
                # a point of the file: the start of its last line, or its last byte
                mark = csv.last_record_at if at == "last_record" else csv.size - 1
                cut = max(0, mark - resp.file_offset)
        self.send_resp(resp, [], head_only, cut_after=cut)
        return resp.status

    # -------------------------------------------------------------- control API
    def control(self, method, path, raw_query, body):
        st = self.server.state
        q = Query(raw_query)
        try:
            data = json.loads(body.decode("utf-8")) if body.strip() else {}
        except (ValueError, UnicodeDecodeError):
            return self.send_resp(Resp(400, obj={"ok": False, "error": "body is not JSON"}), [])
        p = path.rstrip("/")
        try:
            if p == "/__mock/health":
                r = Resp(200, obj={"ok": True, "pid": os.getpid(), "ports": st.ports, "t0": st.store.t0,
                                   "now": time.time(),
                                   "seed": st.args.seed, "client_id": st.args.client_id,
                                   "seed_seconds": round(st.seed_seconds, 3)})
            elif p == "/__mock/reset" and method == "POST":
                st.reset()
                if data.get("data"):
                    with st.lock:
                        st.seed_data()
                r = Resp(200, obj={"ok": True})
            elif p == "/__mock/config":
                if method == "POST":
                    ignored = []
                    with st.lock:
                        for k, v in data.items():
                            if k not in st.default_config:
                                ignored.append(k)
                            elif k == "csv_shape" and v is not None:
                                st.config[k] = mr.shape_name(mr.parse_shape(v))
                            elif k in ("rate_limits", "rate_windows"):
                                lims = list(st.config[k])
                                for i, x in enumerate(v[:4]):
                                    if x is not None:
                                        lims[i] = int(x) if k == "rate_limits" else float(x)
                                st.config[k] = lims
                            else:
                                st.config[k] = v
                    r = Resp(200, obj={"ok": True, "config": st.config, "ignored": ignored})
                else:
                    r = Resp(200, obj=st.config)
            elif p == "/__mock/faults":
                if method == "POST":
                    rules = data.get("faults", [])
                    for rl in rules:
                        if "kind" not in rl:
                            raise ValueError("fault rule without kind")
                        re.compile(rl.get("path", ""))
                    with st.lock:
                        st.faults.extend(dict(x) for x in rules)
                    r = Resp(200, obj={"ok": True, "count": len(st.faults)})
                elif method == "DELETE":
                    with st.lock:
                        st.faults = []
                    r = Resp(200, obj={"ok": True})
                else:
                    r = Resp(200, obj=st.faults)
            elif p == "/__mock/requests":
                since = int(q.first("since") or 0)
                pat = q.first("path")
                with st.lock:
                    out = [e for e in st.reqlog if e["seq"] > since]
                if pat:
                    out = [e for e in out if re.search(pat, e["path"])]
                r = Resp(200, obj=out)
            elif p == "/__mock/tokens":
                now = time.time()
                with st.lock:
                    # the token values are for the test harness (it greps logs for
                    # them); they never reach the request log or --log file
                    r = Resp(200, obj={"issued": len(st.tokens),
                                       "valid": sum(1 for t in st.tokens.values()
                                                    if t["exp"] > now),
                                       "tokens": list(st.tokens)})
            elif p == "/__mock/mutate" and method == "POST":
                with st.lock:
                    r = Resp(200, obj=mutate(st, data))
            elif p.startswith("/__mock/truth/"):
                return self.send_resp(truth(st, p[len("/__mock/truth/"):], q), [])
            else:
                r = Resp(404, obj={"ok": False, "error": "unknown control endpoint"})
        except (ValueError, KeyError, TypeError, re.error) as e:
            r = Resp(400, obj={"ok": False, "error": "%s: %s" % (type(e).__name__, e)})
        except ApiError as e:
            r = Resp(e.status, obj=e.body)
        self.send_resp(r, [], method == "HEAD")


# ---------------------------------------------------------------------------
# resource helpers

def find_by_id(items, rid):
    for o in items:
        if o.get("Id") == rid:
            return o
    return None


def pending_settlement(s):
    """GET /disputes/pendingsettlement (§6): GUESS - CLOSED + LOST disputes that have a
    repudiation and no settlement transfer for it yet."""
    settled = {o["RepudiationId"] for o in s.settlements.values()}
    return [d for d in s.disputes if d["Status"] == "CLOSED" and d["ResultCode"] == "LOST"
            and d["RepudiationId"] and d["RepudiationId"] not in settled]


def dispute_transactions(s, d):
    """GET /disputes/{Id}/transactions: the repudiation + settlement transfer(s), as
    transaction-list objects, subject to the 13-month retention (§6, §8)."""
    out = []
    rid = d.get("RepudiationId")
    if not rid:
        return out
    for txid in [rid] + [k for k, o in s.settlements.items() if o["RepudiationId"] == rid]:
        i = s.ledger_by_id.get(txid)
        if i is not None:
            o = s.tx_object(s.ledger[i], "transaction")
            if s.retained(o):
                out.append(o)
    return out


TX_FIELDS = ("Id", "Tag", "CreationDate", "AuthorId", "CreditedUserId", "DebitedFunds",
             "CreditedFunds", "Fees", "Status", "ResultCode", "ResultMessage", "ExecutionDate",
             "Type", "Nature", "CreditedWalletId", "DebitedWalletId", "DepositId")


def bank_account_transactions(st, acct):
    """GET /bankaccounts/{Id}/transactions (§5, §7): the payouts to the account as
    transaction-list objects, subject to the 13-month retention; None for an
    account no payout names (404).  GUESS: which transactions the list holds is
    not documented beyond payouts; config bankaccount_refunds adds the refunds
    (bank returns) of those payouts."""
    s = st.store
    refunds = st.config.get("bankaccount_refunds")
    # §11: a Recipient id is not a bank account (GUESS: 404; config
    # bankaccount_recipient_ids lists it as an account)
    if acct.startswith("rec_") and not st.config.get("bankaccount_recipient_ids"):
        return None
    out, known = [], False
    for po in s.payouts.values():
        if po.get("BankAccountId") != acct:
            continue
        known = True
        if s.retained(po):
            out.append({k: po.get(k) for k in TX_FIELDS})
        if refunds:
            out.extend({k: r.get(k) for k in TX_FIELDS}
                       for r in s.refunds_by_parent.get(po["Id"], []) if s.retained(r))
    return out if known else None


SCA_CONTEXTS = ("USER_PRESENT", "USER_NOT_PRESENT")


def sca_gate(st, q, user):
    """§11: GET /wallets/{Id} and GET /users/{Id}/wallets of an OWNER user. No
    ScaContext means USER_PRESENT; the mock's users never authenticated within 180
    days, so USER_PRESENT is a 401 with WWW-Authenticate: PendingUserAction (the
    token stays valid); USER_NOT_PRESENT gives the data when the user consented, a
    403 when not.  PAYER users are not gated.  Config sca=false turns the gate off."""
    ctx = q.first("ScaContext")
    if ctx is not None and ctx.upper() not in SCA_CONTEXTS:
        raise param_error({"ScaContext": "The value '%s' is not valid for ScaContext. "
                                         "Allowed values: USER_PRESENT, USER_NOT_PRESENT" % ctx})
    if not st.config.get("sca") or user is None or user.get("UserCategory") != "OWNER":
        return
    ctx = (ctx or "USER_PRESENT").upper()
    if ctx == "USER_PRESENT":
        raise ApiError(401, mp_error("unauthorized", "Strong customer authentication required",
                                     None),
                       headers=[("WWW-Authenticate",
                                 "PendingUserAction RedirectUrl=https://sca.sandbox.mangopay.com/"
                                 "?token=%s" % hashlib.sha256(user["Id"].encode()).hexdigest()[:24])])
    if not st.store.sca_consent.get(user["Id"], False):
        raise ApiError(403, mp_error("forbidden_ressource",
                                     "The user has not consented to access without the user "
                                     "present", None))


def _get(k):
    return lambda o: o.get(k)


DISPUTE_SPEC = {"date": "CreationDate", "sort": ["CreationDate"],
                "enums": {"Status": (_get("Status"), md.DISPUTE_STATUSES),
                          "DisputeType": (_get("DisputeType"), md.DISPUTE_TYPES)}}
DOC_SPEC = {"date": "CreationDate", "sort": ["CreationDate"], "single": ("Status", "Type"),
            "enums": {"Status": (_get("Status"), md.DOC_STATUSES),
                      "Type": (_get("Type"), md.DOC_TYPES)}}
TX_SPEC = {"date": "CreationDate", "sort": ["CreationDate"],
           "enums": {"Status": (_get("Status"), md.TX_STATUSES),
                     "Type": (_get("Type"), md.TX_TYPES),
                     "Nature": (_get("Nature"), md.TX_NATURES),
                     "ResultCode": (_get("ResultCode"), None)}}
# §11: refund lists document Status and ResultCode (comma lists, like the
# transaction lists), and the dates except /repudiations/{Id}/refunds; another
# filter is refused (GUESS: the API may ignore it; a 400 shows it was sent)
REFUND_SPEC = {"date": "CreationDate", "sort": ["CreationDate"],
               "enums": {"Status": (_get("Status"), md.TX_STATUSES),
                         "ResultCode": (_get("ResultCode"), None)},
               "undocumented": ("Type", "Nature")}
REPUD_REFUND_SPEC = dict(REFUND_SPEC, undocumented=("Type", "Nature", "AfterDate", "BeforeDate"))
REPORT_SPEC = {"date": "CreationDate", "sort": ["CreationDate"]}
USER_SPEC = {"date": "CreationDate", "sort": ["CreationDate"]}
RECIPIENT_SPEC = {"date": "CreationDate", "sort": ["CreationDate"], "single": ("RecipientScope",),
                  "enums": {"RecipientScope": (_get("RecipientScope"), ["PAYIN", "PAYOUT"])}}
# §4b: Reporting Service list defaults to CreationDate:DESC
REPORTING_SPEC = {"date": "CreationDate", "sort": ["CreationDate"], "default_dir": "DESC",
                  "single": ("Status",), "enums": {"Status": (_get("Status"), REPORTING_STATUSES)}}
WALLET_SPEC = {"date": "CreationDate", "sort": ["CreationDate"]}
EVENT_SPEC = {"date": "Date", "sort": ["Date"], "single": ("EventType",),
              "enums": {"EventType": (_get("EventType"), md.EVENT_TYPES)}}


def fault_raw_body(rule):
    """A "status" fault's body given as bytes: "body_b64" (any bytes: invalid
    UTF-8, NUL), or "body" with "{FILL}" replaced by fill_count times
    fill_char (a 10 MB field without a 10 MB control request).  "{NOW}" in
    either becomes the Unix time of a minute ago."""
    now = str(int(time.time()) - 60).encode()
    if rule.get("body_b64") is not None:
        return base64.b64decode(rule["body_b64"]).replace(b"{NOW}", now)
    if rule.get("fill_count") is not None and isinstance(rule.get("body"), str):
        fill = str(rule.get("fill_char", "x")) * int(rule["fill_count"])
        return rule["body"].replace("{FILL}", fill).encode("utf-8").replace(b"{NOW}", now)
    return None


def lenient_json(obj, rule):
    """Fault "lenient_json": JSON a strict reader must refuse (mode):
    trailing (the value then ` trailing garbage`), two_arrays (`[..][..]`),
    nul (`field` of every object = "a\\u0000b"), date_words (`field` of
    every object = `word`, default "yesterday")."""
    mode = rule.get("mode", "trailing")
    field = rule.get("field", "Tag" if mode == "nul" else "CreationDate")
    if mode in ("nul", "date_words"):
        val = "a\x00b" if mode == "nul" else rule.get("word", "yesterday")
        obj = json.loads(jdump(obj))        # a copy: the store stays as it is
        items = obj if isinstance(obj, list) else [obj]
        for o in items:
            if isinstance(o, dict):
                o[field] = val
        return jdump(obj)
    raw = jdump(obj)
    if mode == "two_arrays":
        return raw + raw
    return raw + b" trailing garbage"


def csv_header_fault(resp, rule):
    """Fault "csv_header" on a download: a file that is not the CSV asked
    for (mode): html (a 502 page, status 200), text (a plain message),
    spaces (", " between header names), drop (the header without `column`,
    and that field of every row)."""
    mode = rule.get("mode", "html")
    if mode == "html":
        body = (b"<html><head><title>502 Bad Gateway</title></head>\r\n<body><h1>502 Bad "
                b"Gateway</h1><p>The proxy could not reach the origin.</p></body></html>\r\n")
        return Resp(200, raw=body, content_type="text/html")
    if mode == "text":
        return Resp(200, raw=b"Service temporarily unavailable, try again later\n",
                    content_type="text/plain")
    data = resp.body_bytes() if resp.stream is None else b"".join(resp.stream())
    head, sep, rest = data.partition(b"\r\n")
    if not sep:
        head, sep, rest = data.partition(b"\n")
    names = head.split(b",")
    if mode == "spaces":
        return Resp(200, raw=b", ".join(names) + sep + rest, content_type="text/csv")
    col = rule.get("column", "CreationDate").encode()
    bom = b"\xef\xbb\xbf"
    plain = [n[3:] if n.startswith(bom) else n for n in names]
    if col not in plain:
        return resp
    i = plain.index(col)
    out = []
    for line in (head + sep + rest).split(sep):
        if not line:
            out.append(line)
            continue
        f = line.split(b",")     # the drop mode is for files without quoted commas
        if len(f) > i:
            del f[i]
        out.append(b",".join(f))
    return Resp(200, raw=sep.join(out), content_type="text/csv")


def wrong_types(o, key=None):
    """Fault "wrong_types": same shape, wrong JSON types."""
    if isinstance(o, list):
        return [wrong_types(x) for x in o]
    if isinstance(o, dict):
        out = {}
        for k, v in o.items():
            if k in ("CreationDate", "Date", "ExecutionDate", "ClosedDate") and isinstance(v, int):
                out[k] = _dt.datetime.fromtimestamp(v, _dt.timezone.utc).isoformat()
            elif k == "Amount" and isinstance(v, int):
                out[k] = v + 0.5
            elif k in ("Status", "Type", "Tag") and isinstance(v, str):
                out[k] = {"Value": v}
            elif isinstance(v, bool):
                out[k] = "true" if v else "false"
            elif isinstance(v, int):
                out[k] = str(v)
            elif isinstance(v, (dict, list)):
                out[k] = wrong_types(v, k)
            elif isinstance(v, str) and v.isdigit():
                out[k] = int(v)
            else:
                out[k] = v
        return out
    return o


def huge_json(mb):
    """A syntactically valid JSON array of ~mb MB, streamed (never built whole)."""
    elem = jdump({"Id": "1234567890", "Tag": "x" * 200, "CreationDate": 1700000000,
                  "DisputeType": "CONTESTABLE", "Status": "CLOSED",
                  "DisputedFunds": {"Currency": "EUR", "Amount": 100}})
    n = max(1, int(mb * 1024 * 1024 / (len(elem) + 1)))
    length = 2 + n * len(elem) + (n - 1)

    def stream():
        yield b"["
        block = 2000
        done = 0
        while done < n:
            k = min(block, n - done)
            s = b",".join([elem] * k)
            if done:
                s = b"," + s
            yield s
            done += k
        yield b"]"
    return Resp(200, stream=stream, length=length)


MUTABLE = {"disputes": "disputes", "dispute_documents": "dispute_documents",
           "events": "events", "client_wallets": "client_wallets",
           "repudiations": "repudiations", "settlements": "settlements",
           "refunds": "refunds", "payouts": "payouts"}


def grow_disputes(st, n):
    """config grow_disputes: n new disputes, newer than any other, created as a
    list request arrives (objects created while a scan pages)."""
    s = st.store
    with st.lock:
        st.data_version += 1
        st.list_cache = {}
        now = int(time.time())
        base = max([now] + [d.get("CreationDate") or 0 for d in s.disputes[-1:]])
        for k in range(n):
            st.grown = getattr(st, "grown", 0) + 1
            d = dict(s.disputes[0])
            d.update({"Id": str(8000000000 + st.grown), "CreationDate": base + 1 + k,
                      "Tag": "grown", "RepudiationId": None})
            s.disputes.append(d)


def grow_events(st, n):
    """config grow_events: n new events, newer than any other, created as a
    GET /events arrives (events arrive while a scan pages)."""
    s = st.store
    with st.lock:
        st.data_version += 1
        st.list_cache = {}
        now = int(time.time())
        base = max([now] + [e.get("Date") or 0 for e in s.events[-1:]])
        for k in range(n):
            st.grown_events = getattr(st, "grown_events", 0) + 1
            s.events.append({"ResourceId": "grown_%08d" % st.grown_events,
                             "EventType": "DISPUTE_CREATED", "Date": base + 1 + k})


def page_fault(handler, kind, rule, resp, method, norm, raw_query, body):
    """Faults on one list page (its headers kept unless said): repeat_page
    (the rows of page `from`, default 1), short_page (only the first `keep`
    rows, default half), page_headers (X-Number-Of-Pages = `pages`,
    X-Number-Of-Items = `items`, either or both)."""
    if kind == "repeat_page":
        frm = int(rule.get("from", 1))
        q2 = re.sub(r"(?i)(^|&)page=\d+", lambda m: "%spage=%d" % (m.group(1), frm), raw_query or "")
        if not re.search(r"(?i)(^|&)page=", q2):
            q2 = (q2 + "&" if q2 else "") + "page=%d" % frm
        other = handler.api_route(method, norm, Query(q2), body, None)
        return Resp(200, obj=other.obj, headers=resp.headers)
    if kind == "short_page":
        keep = rule.get("keep")
        keep = len(resp.obj) // 2 if keep is None else int(keep)
        return Resp(200, obj=resp.obj[:keep], headers=resp.headers)
    hdrs = []
    for k, v in resp.headers:
        if k == "X-Number-Of-Pages" and rule.get("pages") is not None:
            v = str(rule["pages"])
        if k == "X-Number-Of-Items" and rule.get("items") is not None:
            v = str(rule["items"])
        hdrs.append((k, v))
    return Resp(200, obj=resp.obj, headers=hdrs)


def mutate(st, data):
    """POST /__mock/mutate {"collection", "id", "set"} | {"collection", "add"} |
    {"collection", "id", "delete": true}.  Edits the API view only (report CSVs
    are built from the ledger and do not change)."""
    s = st.store
    st.data_version += 1
    st.list_cache = {}
    cname = data.get("collection")
    ev = data.get("event")
    if ev is not None and ev not in md.EVENT_TYPES:
        raise ValueError("unknown event type %r" % ev)
    if cname == "transactions":
        return with_event(s, mutate_ledger(s, data), ev)
    if cname not in MUTABLE:
        raise ValueError("unknown collection %r (mutable: %s)" % (cname, ", ".join(MUTABLE)))
    coll = getattr(s, MUTABLE[cname])
    idk = "ResourceId" if cname == "events" else "Id"
    if "add" in data:
        obj = dict(data["add"])
        if isinstance(coll, dict):
            template = next(iter(coll.values()))
            full = {k: None for k in template}
            full.update(obj)
            coll[full["Id"]] = full
        else:
            template = coll[0] if coll else {}
            full = {k: None for k in template}
            full.update(obj)
            coll.append(full)
            coll.sort(key=lambda o: (o.get("CreationDate", o.get("Date", 0)) or 0, o[idk]))
        return with_event(s, {"ok": True, "object": full}, ev)
    rid = data.get("id")
    if isinstance(coll, dict):
        obj = coll.get(rid)
    else:
        obj = next((o for o in coll if o.get(idk) == rid), None)
    if obj is None:
        raise KeyError("no %s with id %r" % (cname, rid))
    if data.get("delete"):
        if isinstance(coll, dict):
            del coll[rid]
        else:
            coll.remove(obj)
        return {"ok": True}
    obj.update(data.get("set", {}))
    if not isinstance(coll, dict):
        coll.sort(key=lambda o: (o.get("CreationDate", o.get("Date", 0)) or 0, o[idk]))
    return with_event(s, {"ok": True, "object": obj}, ev)


def with_event(s, answer, ev):
    """mutate's "event": the change is announced by an event of that type,
    dated now, whose ResourceId is the object's id, as
    MangoPay sends one for every change of status."""
    if ev is not None:
        obj = answer["object"]
        e = {"ResourceId": obj["Id"], "EventType": ev, "Date": int(time.time())}
        s.events.append(e)
        s.events.sort(key=lambda x: (x["Date"], x["ResourceId"], x["EventType"]))
        answer["event"] = e
    return answer


def mutate_ledger(s, data):
    """The ledger behind the TRANSACTIONS/payout reports: {"collection":
    "transactions", "id", "set": {report column: value}} changes a row (a
    payout going CREATED -> SUCCEEDED), {"collection": "transactions", "add":
    {report columns}} adds one (CreationDate in Unix seconds).  Reports created
    afterwards see the change."""
    LF = md.LF
    if "add" in data:
        row = [None] * len(md.LEDGER_FIELDS)
        for k, v in data["add"].items():
            if k not in LF:
                raise ValueError("unknown ledger field %r" % k)
            row[LF[k]] = v
        if not row[LF["Id"]] or not isinstance(row[LF["CreationDate"]], int):
            raise ValueError("add needs Id and an integer CreationDate")
        if row[LF["Id"]] in s.ledger_by_id:
            raise ValueError("transaction %r exists" % row[LF["Id"]])
        rows = list(s.ledger) + [tuple(row)]
    else:
        i = s.ledger_by_id.get(data.get("id"))
        if i is None:
            raise KeyError("no transaction with id %r" % data.get("id"))
        row = list(s.ledger[i])
        for k, v in data.get("set", {}).items():
            if k not in LF or k in ("Id", "CreationDate"):
                raise ValueError("cannot set ledger field %r" % k)
            row[LF[k]] = v
        rows = list(s.ledger)
        rows[i] = tuple(row)
    rows.sort(key=lambda r: (r[LF["CreationDate"]], r[LF["Id"]]))
    s.ledger = rows
    s.ledger_times = [r[LF["CreationDate"]] for r in rows]
    s.ledger_by_id = {r[LF["Id"]]: i for i, r in enumerate(rows)}
    s.refresh_tx(tuple(row))
    return {"ok": True, "object": dict(zip(md.LEDGER_FIELDS, row))}


def emoney_wallets_in(st, q):
    """§11: e-money's Currency read as the currency of the wallets counted
    (config emoney_currency "wallets"), not the one amounts are converted
    into ("convert", the default); without Currency: every wallet, in EUR"""
    return bool(q.first("Currency")) and st.config.get("emoney_currency") == "wallets"


def truth(st, name, q):
    """GET /__mock/truth/{collection}: ndjson, objects exactly as the API renders them."""
    s = st.store
    after = q.first("AfterDate")
    before = q.first("BeforeDate")
    after = int(after) if after not in (None, "") else None
    before = int(before) if before not in (None, "") else None
    datef = "CreationDate"
    with st.lock:
        if name == "disputes":
            objs = list(s.disputes)
        elif name == "disputes_pending_settlement":
            objs = pending_settlement(s)
        elif name == "dispute_documents":
            objs = list(s.dispute_documents)
        elif name == "reports":
            objs = st.reports.legacy_objects()
        elif name == "reporting_reports":
            objs = st.reports.reporting_objects(reduced=False)
        elif name == "client_wallets":
            objs = list(s.client_wallets)
        elif name == "client_wallet_transactions":
            objs = []
            for (ft, c), txs in s.wallet_txs.items():
                for t in txs:
                    if s.retained(t):
                        o = dict(t)
                        o["_FundsType"] = ft
                        o["_Currency"] = c
                        objs.append(o)
        elif name == "events":
            datef = "Date"
            lim = time.time() - int(st.config.get("events_max_age_days", 45)) * 86400
            objs = [e for e in s.events if e["Date"] >= lim]
        elif name in ("repudiations", "settlements", "refunds", "payouts", "payins", "transfers",
                      "conversions"):
            objs = [o for o in getattr(s, name).values() if s.retained(o)]
        elif name == "users":
            objs = list(s.user_objs.values())
        elif name == "user_wallets":
            objs = [dict(w, **{"_Owners.0": w["Owners"][0]}) for w in s.wallet_objs.values()]
        elif name == "dispute_transactions":
            objs = []
            for d in s.disputes:
                for t in dispute_transactions(s, d):
                    o = dict(t)
                    o["_DisputeId"] = d["Id"]
                    objs.append(o)
        elif name == "bank_account_transactions":
            objs = []
            for acct in sorted({po["BankAccountId"] for po in s.payouts.values()
                                if po.get("BankAccountId")}):
                for t in bank_account_transactions(st, acct) or []:
                    objs.append(dict(t, _BankAccountId=acct))
        elif name == "user_regulatory":
            objs = [dict(o, _UserId=uid) for uid, o in s.regulatory.items()]
        elif name == "recipients":
            objs = list(s.recipients.values())
        elif name == "user_recipients":
            objs = [dict(o, _UserId=uid) for uid, lst in s.recipients_by_user.items()
                    if uid in s.user_objs for o in lst]
        elif name in ("payin_refunds", "transfer_refunds", "payout_refunds",
                      "repudiation_refunds"):
            # the refunds each parent-scoped list returns, with the parent as "_InitialTransactionId"
            parents = {"payin_refunds": s.payins, "transfer_refunds": s.transfers,
                       "payout_refunds": s.payouts, "repudiation_refunds": s.repudiations}[name]
            objs = []
            for pid, kids in s.refunds_by_parent.items():
                po = parents.get(pid)
                if po is None or not s.retained(po):
                    continue
                for k in kids:
                    if s.retained(k):
                        o = dict(k)
                        o["_InitialTransactionId"] = pid
                        objs.append(o)
        elif name in ("user_disputes", "wallet_disputes", "payin_disputes"):
            key, idx = {"user_disputes": ("_UserId", s.disputes_by_user),
                        "wallet_disputes": ("_WalletId", s.disputes_by_wallet),
                        "payin_disputes": ("_InitialTransactionId", s.disputes_by_payin)}[name]
            objs = []
            for pid, ds in idx.items():
                if name == "payin_disputes" and not (pid in s.payins and s.retained(s.payins[pid])):
                    continue
                for d in ds:
                    o = dict(d)
                    o[key] = pid
                    objs.append(o)
        elif name == "dispute_documents_by_dispute":
            objs = []
            for d in s.dispute_documents:
                o = dict(d)
                o["_DisputeId"] = d["DisputeId"]
                objs.append(o)
        elif name == "conversion_rates":
            objs = []
            for c1 in sorted(ISO_CURRENCIES):
                for c2 in sorted(ISO_CURRENCIES - {c1}):
                    o = s.conversion_rate(c1, c2)
                    o.update(_DebitedCurrency=c1, _CreditedCurrency=c2)
                    objs.append(o)
            datef = None
        elif name == "user_emoney":
            # ?UserId=&Year=&Month=[&Currency=]: one object, as the API renders it
            o = s.emoney_object(q.first("UserId"), int(q.first("Year")), int(q.first("Month")),
                                (q.first("Currency") or "EUR").upper(), emoney_wallets_in(st, q))
            o["_UserId"] = o["UserId"]
            o["_Month"] = "%04d-%02d-01" % (int(q.first("Year")), int(q.first("Month")))
            return Resp(200, raw=jdump(o) + b"\n", content_type="application/x-ndjson; charset=utf-8")
        elif name == "transactions":
            objs = None
        elif name == "wallets":
            objs = None
        else:
            return Resp(404, obj={"ok": False, "error": "unknown truth collection %r" % name})
    if name in ("transactions", "wallets"):
        lines = st.reports.truth_lines(name, after, before)
    else:
        sel = []
        for o in objs:
            d = o.get(datef)
            if after is not None and not (d is not None and d > after):
                continue
            if before is not None and not (d is not None and d < before):
                continue
            sel.append(o)
        sel.sort(key=lambda o: (o.get(datef) or 0, str(o.get("Id", o.get("ResourceId"))),
                                o.get("EventType", ""), o.get("_FundsType", ""),
                                o.get("_Currency", "")))
        lines = [jdump(o) for o in sel]
    raw = b"\n".join(lines) + (b"\n" if lines else b"")
    return Resp(200, raw=raw, content_type="application/x-ndjson; charset=utf-8")


# ---------------------------------------------------------------------------
# main

def build_parser():
    ap = argparse.ArgumentParser(description="MangoPay v2.01 mock API (stdlib only)")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=18089)
    ap.add_argument("--tls-port", type=int, default=None)
    ap.add_argument("--tls-cert", default=None)
    ap.add_argument("--tls-key", default=None)
    ap.add_argument("--tls-extra", action="append", default=[],
                    help="PORT:CERT:KEY - an extra TLS API listener with another certificate")
    ap.add_argument("--download-port", type=int, default=0,
                    help="report download server port (0 = pick a free one)")
    ap.add_argument("--client-id", default="acme-test")
    ap.add_argument("--api-key", default="sk-test-0123456789abcdef")
    ap.add_argument("--extra-client", action="append", default=[], help="ID:KEY (repeatable)")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--clock-offset", type=float, default=0,
                    help="seconds added to the mock's clock (time.time()): token expiry, rate"
                         " limits, retention limits, report dates and the default T0 all move")
    ap.add_argument("--anchor", default=None,
                    help="T0 of the seeded data: Unix seconds or ISO 8601 UTC (YYYY-MM-DD[THH:MM[:SS]][Z]),"
                         " or 'now'; default today 00:00 UTC")
    ap.add_argument("--log", default=None)
    ap.add_argument("--token-ttl", type=int, default=1200)   # sandbox default (§1)
    ap.add_argument("--disputes", type=int, default=3000)
    ap.add_argument("--blackhole-port", type=int, default=None,
                    help="a port whose listen queue is kept full: connecting times out")
    ap.add_argument("--pid-file", default=None,
                    help="write this process id here (python3 may be a wrapper script)")
    ap.add_argument("--ready-file", default=None,
                    help="write the bound ports as JSON to this file once listening")
    return ap


def start_servers(args):
    """Start every listener in daemon threads; return (state, servers)."""
    st = MockState(args)
    servers = []

    def serve(srv):
        t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2},
                             daemon=True)
        t.start()
        servers.append(srv)

    api = MockServer((args.host, args.port), Handler, st, "api", "http")
    st.ports["api"] = api.server_address[1]
    serve(api)
    if args.tls_port is not None:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls_cert, args.tls_key)
        tls = MockServer((args.host, args.tls_port), Handler, st, "api", "https", ctx)
        st.ports["tls"] = tls.server_address[1]
        serve(tls)
    for i, spec in enumerate(args.tls_extra):
        port, cert, key = spec.split(":", 2)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert, key)
        srv = MockServer((args.host, int(port)), Handler, st, "api", "https", ctx)
        st.ports["tls_extra_%d" % i] = srv.server_address[1]
        serve(srv)
    dl = MockServer((args.host, args.download_port), Handler, st, "download", "http")
    st.ports["download"] = dl.server_address[1]
    serve(dl)
    if args.blackhole_port is not None:
        st.ports["blackhole"] = start_blackhole(args.host, args.blackhole_port)
    return st, servers


_blackhole_socks = []


def start_blackhole(host, port):
    """A listener with a backlog of 0 that never accepts, its queue filled by
    a few connections of our own: a client's SYN then goes unanswered, so
    connecting times out (a "connect timeout" fault, without a network)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(0)
    _blackhole_socks.append(s)
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex((host, s.getsockname()[1]))
        _blackhole_socks.append(c)
        time.sleep(0.05)
    return s.getsockname()[1]


def shift_clock(offset):
    """--clock-offset: every time.time() of this process (the mock's modules,
    http.server's and email.utils' dates) reads `offset` seconds later;
    time.monotonic() and sleeps are untouched."""
    if offset:
        real = time.time
        time.time = lambda: real() + offset


def main(argv=None):
    args = build_parser().parse_args(argv)
    shift_clock(args.clock_offset)
    try:
        md.parse_anchor(args.anchor)
    except ValueError as e:
        sys.exit("mangopay_mock: %s" % e)
    st, servers = start_servers(args)
    if args.pid_file:
        with open(args.pid_file, "w") as f:
            f.write("%d\n" % os.getpid())
    if args.ready_file:
        with open(args.ready_file + ".tmp", "w") as f:
            json.dump(st.ports, f)
        os.replace(args.ready_file + ".tmp", args.ready_file)
    sys.stderr.write("mangopay mock listening: %s (seeded in %.2fs)\n"
                     % (json.dumps(st.ports), st.seed_seconds))
    sys.stderr.flush()
    stop = threading.Event()
    try:
        import signal
        signal.signal(signal.SIGTERM, lambda *a: stop.set())
    except (ValueError, OSError):
        pass
    try:
        while not stop.wait(0.2):
            pass
    except KeyboardInterrupt:
        pass
    # out within a second of SIGTERM whatever the connections are doing: no
    # listener shut down one after the other (each waits for its poll), no
    # handler thread joined (a keep-alive connection or a hang fault keeps
    # one alive for minutes); the kernel closes the sockets.  The log is
    # flushed after each line.
    st.shutting_down = True
    if st.log_file is not None:
        st.log_file.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
