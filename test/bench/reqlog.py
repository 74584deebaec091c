#!/usr/bin/env python3
"""test/bench/reqlog.py — read the mock's request log for the benchmarks.

    reqlog.py last                  the seq of the last logged request (0 if none)
    reqlog.py count SINCE [KIND]    requests logged after SINCE, by kind:
                                    "token=1 list=200 create=0 status=0 download=0 other=0 total=201";
                                    with KIND, only that number
    reqlog.py show SINCE            one line per request after SINCE: method, path, auth scheme, status
    reqlog.py phases SINCE          for a report read after SINCE: "ready=S download=S" — seconds from the
                                    first request to the download request, and the download's own
                                    time as the mock logged it (until its last byte was written)
    reqlog.py cpu PID               CPU seconds (user + system) process PID has used so far
    reqlog.py body SINCE PATHRE     the JSON body of the first POST after SINCE whose path
                                    matches PATHRE

Kinds: token (POST /v2.01/oauth/token), create (POST .../reports/transactions|wallets,
.../reporting/reports), status (GET .../reports/{Id}, .../reporting/reports/{Id}, /responses/{key}),
download (any request on the download port), list (any other GET), other (the rest).
The mock's API port comes from MP_MOCK_PORT (18089), the download port from MP_MOCK_DL_PORT (18090).
"""
import json
import os
import re
import sys
import urllib.request

API = "http://127.0.0.1:%s" % os.environ.get("MP_MOCK_PORT", "18089")
DL_PORT = int(os.environ.get("MP_MOCK_DL_PORT", "18090"))


def entries(since=0):
    with urllib.request.urlopen("%s/__mock/requests?since=%d" % (API, since)) as r:
        return json.load(r)


def kind(e):
    p = e["path"].rstrip("/")
    if e.get("port") == DL_PORT:
        return "download"
    if e["method"] == "POST" and p == "/v2.01/oauth/token":
        return "token"
    if e["method"] == "POST" and re.search(r"/(reports/transactions|reports/wallets|reporting/reports)$", p):
        return "create"
    if e["method"] == "GET" and re.search(r"/(reports|reporting/reports)/[^/]+$|/responses/[^/]+$", p):
        return "status"
    if e["method"] == "GET":
        return "list"
    return "other"


def main(argv):
    if len(argv) >= 1 and argv[0] == "last":
        log = entries()
        print(log[-1]["seq"] if log else 0)
        return 0
    if len(argv) >= 2 and argv[0] == "count":
        counts = dict.fromkeys(["token", "list", "create", "status", "download", "other"], 0)
        for e in entries(int(argv[1])):
            counts[kind(e)] += 1
        counts["total"] = sum(counts.values())
        if len(argv) >= 3:
            print(counts[argv[2]])
        else:
            print(" ".join("%s=%d" % kv for kv in counts.items()))
        return 0
    if len(argv) >= 2 and argv[0] == "phases":
        log = [e for e in entries(int(argv[1])) if kind(e) != "token"]
        dl = [e for e in log if kind(e) == "download"]
        if not log or not dl:
            print("ready=- download=-")
            return 0
        print("ready=%.2f download=%.2f" % (dl[0]["time"] - log[0]["time"], dl[0]["ms"] / 1000.0))
        return 0
    if len(argv) >= 2 and argv[0] == "cpu":
        with open("/proc/%d/stat" % int(argv[1])) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        print("%.2f" % ((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")))
        return 0
    if len(argv) >= 2 and argv[0] == "show":
        for e in entries(int(argv[1])):
            print("%s %s%s auth=%s -> %s" % (e["method"], e["path"],
                  " (download port)" if e.get("port") == DL_PORT else "", e.get("auth_scheme"),
                  e["status"]))
        return 0
    if len(argv) >= 3 and argv[0] == "body":
        for e in entries(int(argv[1])):
            if e["method"] == "POST" and re.search(argv[2], e["path"]):
                print(json.dumps(e["body"]))
                return 0
        return 1
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
