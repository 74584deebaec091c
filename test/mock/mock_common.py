"""Shared helpers of the MangoPay mock: error bodies (§3), the Resp type, JSON."""

import json
import re
import time
import uuid

PARAM_MSG = ("One or several required parameters are missing or incorrect. "
             "An incorrect resource ID also raises this kind of error.")
NOT_FOUND_MSG = "The ressource does not exist"                 # §3 (French spelling)
AUTH_MSG = "The authorization credentials are not valid"       # §1
RATE_MSG = "Rate limit exceeded. Please contact support for more assistance"  # §2
WINDOWS = (900, 1800, 3600, 86400)                             # §2: 15 min, 30 min, 1 h, 24 h
DEFAULT_LIMITS = [2300, 4500, 8800, 105600]                    # §2
ISO_CURRENCIES = {"AED", "AUD", "CAD", "CHF", "CZK", "DKK", "EUR", "GBP", "HKD", "JPY", "NOK",
                  "PLN", "SEK", "USD", "ZAR"}                  # §7
REPORTING_STATUSES = ["PENDING", "GENERATING", "GENERATED", "FAILED", "EXPIRED"]
JSON_CT = "application/json; charset=utf-8"


class RawNumber:
    """A JSON number written exactly as its text ("0.8468000", "8.468E-1"), not
    through a float: the API's decimals (rates, §11)."""

    def __init__(self, text):
        assert re.fullmatch(r"-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?", text), text
        self.text = text

    def __repr__(self):
        return self.text


_RAW_MARK = "\u0000num:"
_RAW_RE = re.compile(rb'"\\u0000num:([-+.eE0-9]+)"')


def _raw_default(o):
    if isinstance(o, RawNumber):
        return _RAW_MARK + o.text
    raise TypeError("not JSON serializable: %r" % (o,))


def jdump(obj):
    out = json.dumps(obj, ensure_ascii=False, separators=(",", ":"),
                     default=_raw_default).encode("utf-8")
    if b"\\u0000num:" in out:
        out = _RAW_RE.sub(rb"\1", out)
    return out


def err_id():
    # §3: Id is a UUID, often suffixed "#<unix>"
    return "%s#%d" % (uuid.uuid4(), int(time.time()))


def mp_error(typ, message, errors=None, date_float=False, with_id=True):
    """MangoPay error body {Message, Type, Id, Date, errors} (§3)."""
    now = int(time.time())
    body = {"Message": message, "Type": typ}
    if with_id:
        body["Id"] = err_id()
    body["Date"] = float(now) if date_float else now    # §3: Date sometimes a float
    if with_id:
        body["errors"] = errors
    return body


class ApiError(Exception):
    def __init__(self, status, body, headers=None, content_type=JSON_CT):
        Exception.__init__(self, status)
        self.status = status
        self.body = body
        self.headers = headers or []
        self.content_type = content_type


def param_error(errors):
    return ApiError(400, mp_error("param_error", PARAM_MSG, errors))


def not_found(kind, rid):
    # §3: 404 ressource_not_found, errors.RessourceNotFound; Date as a float here
    return ApiError(404, mp_error("ressource_not_found", NOT_FOUND_MSG,
                                  {"RessourceNotFound": "Cannot found the ressource %s with the id=%s"
                                   % (kind, rid)}, date_float=True))


def route_not_found():
    return ApiError(404, mp_error("ressource_not_found", NOT_FOUND_MSG, None, date_float=True))


def default_error_body(status):
    """Body for a "status" fault without an explicit body.  GUESS: 5xx from the
    gateway (502/503/504) are HTML like an AWS load balancer page; others are
    MangoPay-style JSON."""
    if status in (502, 503, 504):
        names = {502: "Bad Gateway", 503: "Service Temporarily Unavailable", 504: "Gateway Time-out"}
        html = ("<html>\r\n<head><title>%d %s</title></head>\r\n<body>\r\n<center><h1>%d %s</h1>"
                "</center>\r\n</body>\r\n</html>\r\n" % (status, names[status], status, names[status]))
        return html.encode(), "text/html"
    table = {400: ("param_error", PARAM_MSG), 401: ("invalid_credentials", AUTH_MSG),
             403: ("forbidden_ressource", "This endpoint is not available for your account"),
             404: ("ressource_not_found", NOT_FOUND_MSG),
             405: ("method_not_allowed", "The requested method is not allowed"),
             409: ("idempotent_creation_conflict", "Idempotency key already used"),
             429: ("rate_limit", RATE_MSG),
             500: ("internal_server_error", "An internal error has occurred. Please retry later.")}
    typ, msg = table.get(status, ("internal_server_error", "Unexpected error"))
    return jdump(mp_error(typ, msg, None)), JSON_CT


class Resp:
    """A response: either a JSON-able obj, raw bytes, or a stream (length + iterator)."""

    def __init__(self, status=200, obj=None, raw=None, content_type=JSON_CT, headers=None,
                 stream=None, length=None):
        self.status = status
        self.obj = obj
        self.raw = raw
        self.content_type = content_type
        self.headers = headers or []
        self.stream = stream          # callable(offset) -> iterator of bytes
        self.length = length

    def body_bytes(self):
        if self.raw is not None:
            return self.raw
        if self.obj is not None or self.content_type == JSON_CT:
            return jdump(self.obj)
        return b""



def s3_error(code, message):
    return ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>%s</Code><Message>%s</Message>'
            '<RequestId>%s</RequestId></Error>' % (code, message, uuid.uuid4().hex[:16].upper())
            ).encode()


