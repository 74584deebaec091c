#!/usr/bin/env python3
"""test/check_meta.py -- META.json against the PGXN Meta Spec 1.0.0, and the
versions of META.json, mangopay_fdw.control and debian/changelog against each
other.

    python3 test/check_meta.py [SOURCE_DIR]

Standard library only.  Prints one line per problem and a closing
"META.json ok ..." line; exits 1 on any problem.
"""
import json
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
problems = []


def bad(msg):
    problems.append(msg)


# SemVer as the 1.0.0 spec uses it: MAJOR.MINOR.PATCH, optional -prerelease, +build
SEMVER = r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)" \
         r"(-[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?(\+[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*)?"
RANGE_ONE = r"((==|!=|<=|>=|<|>)\s*)?(" + SEMVER + ")"
RANGE = re.compile(r"^(0|" + RANGE_ONE + r"(\s*,\s*" + RANGE_ONE + r")*)$")
LICENSES = {"agpl_3", "apache_1_1", "apache_2_0", "artistic_1", "artistic_2", "bsd", "freebsd",
            "gfdl_1_2", "gfdl_1_3", "gpl_1", "gpl_2", "gpl_3", "lgpl_2_1", "lgpl_3_0", "mit",
            "mozilla_1_0", "mozilla_1_1", "openssl", "perl_5", "postgresql", "qpl_1_0", "ssleay",
            "sun", "zlib", "open_source", "restricted", "unrestricted", "unknown"}
TOP_REQUIRED = ["name", "version", "abstract", "maintainer", "license", "provides", "meta-spec"]
TOP_OPTIONAL = ["description", "generated_by", "tags", "no_index", "prereqs", "release_status", "resources"]


def custom(key):
    return re.match(r"^[xX]_.", key) is not None


def is_term(s):
    return isinstance(s, str) and re.fullmatch(r"[^/\\\s\x00-\x1f\x7f]{2,}", s) is not None


def is_semver(s):
    return isinstance(s, str) and re.fullmatch(SEMVER, s) is not None


def nonempty_str(s):
    return isinstance(s, str) and len(s) > 0


def is_relpath(s):
    return nonempty_str(s) and not s.startswith("/") and "\\" not in s and ".." not in s.split("/")


def check_keys(obj, where, allowed):
    for k in obj:
        if k not in allowed and not custom(k):
            bad(f"{where}: unknown key {k!r}")


def validate(m):
    if not isinstance(m, dict):
        bad("the top level is not an object")
        return
    for k in TOP_REQUIRED:
        if k not in m:
            bad(f"missing mandatory field {k!r}")
    check_keys(m, "top level", TOP_REQUIRED + TOP_OPTIONAL)

    if "name" in m and not is_term(m["name"]):
        bad("name: not a term (2+ characters, no slash, backslash, space or control character)")
    if "version" in m and not is_semver(m["version"]):
        bad(f"version: {m['version']!r} is not a semantic version")
    for k in ("abstract", "description", "generated_by"):
        if k in m and not nonempty_str(m[k]):
            bad(f"{k}: must be a non-empty string")

    mt = m.get("maintainer")
    if mt is not None and not (nonempty_str(mt) or
                               (isinstance(mt, list) and mt and all(nonempty_str(x) for x in mt))):
        bad("maintainer: must be a string or a non-empty list of strings")

    lic = m.get("license")
    if lic is not None:
        if isinstance(lic, str):
            ok = lic in LICENSES
        elif isinstance(lic, list):
            ok = bool(lic) and all(x in LICENSES for x in lic)
        elif isinstance(lic, dict):
            ok = bool(lic) and all(nonempty_str(v) and re.match(r"^[a-z][a-z0-9+.-]*:", v) for v in lic.values())
        else:
            ok = False
        if not ok:
            bad(f"license: {lic!r} is not a known license name, a list of them or an object of URIs")

    ms = m.get("meta-spec")
    if ms is not None:
        if not isinstance(ms, dict) or not re.fullmatch(r"1\.0\.\d+", str(ms.get("version", ""))):
            bad("meta-spec: must be an object whose version is 1.0.x")
        else:
            check_keys(ms, "meta-spec", ["version", "url"])
            if "url" in ms and ms["url"] not in ("https://pgxn.org/meta/spec.txt", "http://pgxn.org/meta/spec.txt"):
                bad(f"meta-spec.url: {ms['url']!r} is not the spec's URL")

    pv = m.get("provides")
    if pv is not None:
        if not isinstance(pv, dict) or not pv:
            bad("provides: must be a non-empty object")
        else:
            for ext, e in pv.items():
                where = f"provides.{ext}"
                if not is_term(ext):
                    bad(f"{where}: the extension name is not a term")
                if not isinstance(e, dict):
                    bad(f"{where}: must be an object")
                    continue
                check_keys(e, where, ["file", "version", "abstract", "docfile"])
                for k in ("file", "version"):
                    if k not in e:
                        bad(f"{where}: missing mandatory field {k!r}")
                if "version" in e and not is_semver(e["version"]):
                    bad(f"{where}.version: {e['version']!r} is not a semantic version")
                for k in ("file", "docfile"):
                    if k in e and not is_relpath(e[k]):
                        bad(f"{where}.{k}: must be a relative path with / separators")
                if "abstract" in e and not nonempty_str(e["abstract"]):
                    bad(f"{where}.abstract: must be a non-empty string")

    pr = m.get("prereqs")
    if pr is not None:
        if not isinstance(pr, dict):
            bad("prereqs: must be an object")
        else:
            check_keys(pr, "prereqs", ["configure", "build", "test", "runtime", "develop"])
            for phase, rels in pr.items():
                if custom(phase):
                    continue
                if not isinstance(rels, dict) or not rels:
                    bad(f"prereqs.{phase}: must be a non-empty object")
                    continue
                check_keys(rels, f"prereqs.{phase}", ["requires", "recommends", "suggests", "conflicts"])
                for rel, deps in rels.items():
                    if custom(rel):
                        continue
                    if not isinstance(deps, dict):
                        bad(f"prereqs.{phase}.{rel}: must be an object")
                        continue
                    for dep, rng in deps.items():
                        if not is_term(dep):
                            bad(f"prereqs.{phase}.{rel}: {dep!r} is not a term")
                        if not (rng == 0 or (isinstance(rng, str) and RANGE.match(rng))):
                            bad(f"prereqs.{phase}.{rel}.{dep}: {rng!r} is not a version range")

    if "release_status" in m and m["release_status"] not in ("stable", "testing", "unstable"):
        bad(f"release_status: {m['release_status']!r} is not stable, testing or unstable")

    tags = m.get("tags")
    if tags is not None:
        if not isinstance(tags, list) or not tags:
            bad("tags: must be a non-empty list")
        else:
            for t in tags:
                if not (isinstance(t, str) and 2 <= len(t) <= 255 and
                        re.fullmatch(r"[^/\\\x00-\x1f\x7f]+", t)):
                    bad(f"tags: {t!r} is not a tag (2 to 255 characters, no slash, backslash or control character)")

    rs = m.get("resources")
    if rs is not None:
        if not isinstance(rs, dict) or not rs:
            bad("resources: must be a non-empty object")
        else:
            check_keys(rs, "resources", ["homepage", "bugtracker", "repository"])
            if "bugtracker" in rs:
                if not isinstance(rs["bugtracker"], dict):
                    bad("resources.bugtracker: must be an object")
                else:
                    check_keys(rs["bugtracker"], "resources.bugtracker", ["web", "mailto"])
            if "repository" in rs:
                if not isinstance(rs["repository"], dict):
                    bad("resources.repository: must be an object")
                else:
                    check_keys(rs["repository"], "resources.repository", ["url", "web", "type"])

    ni = m.get("no_index")
    if ni is not None:
        if not isinstance(ni, dict):
            bad("no_index: must be an object")
        else:
            check_keys(ni, "no_index", ["file", "directory"])


def control_default_version(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            mm = re.match(r"^\s*default_version\s*=\s*'([^']*)'", line)
            if mm:
                return mm.group(1)
    return None


def changelog_version(path):
    with open(path, encoding="utf-8") as f:
        mm = re.match(r"^\S+ \(([^)]+)\)", f.readline())
    return mm.group(1) if mm else None


try:
    with open(os.path.join(root, "META.json"), encoding="utf-8") as f:
        meta = json.load(f)
except (OSError, ValueError) as e:
    print(f"META.json: {e}")
    sys.exit(1)

validate(meta)

default_version = control_default_version(os.path.join(root, "mangopay_fdw.control"))
if default_version is None:
    bad("mangopay_fdw.control has no default_version")
else:
    want = default_version + ".0"
    if isinstance(meta, dict):
        if meta.get("version") != want:
            bad(f"META.json version {meta.get('version')!r} is not the control file's default_version "
                f"{default_version!r} + '.0'")
        ext = (meta.get("provides") or {}).get("mangopay_fdw")
        if not isinstance(ext, dict):
            bad("META.json provides no mangopay_fdw extension")
        else:
            if ext.get("version") != want:
                bad(f"provides.mangopay_fdw.version {ext.get('version')!r} is not {want!r}")
            script = f"mangopay_fdw--{default_version}.sql"
            if ext.get("file") != script:
                bad(f"provides.mangopay_fdw.file {ext.get('file')!r} is not {script!r}")
            for k in ("file", "docfile"):
                if k in ext and isinstance(ext[k], str) and not os.path.isfile(os.path.join(root, ext[k])):
                    bad(f"provides.mangopay_fdw.{k} {ext[k]!r} does not exist")
    chl = os.path.join(root, "debian", "changelog")
    if os.path.isfile(chl):
        v = changelog_version(chl)
        if v is None or v.rsplit("-", 1)[0] != want:
            bad(f"debian/changelog's version {v!r} is not {want!r} plus a Debian revision")
if not os.path.isfile(os.path.join(root, "LICENSE")):
    bad("LICENSE is missing")

for p in problems:
    print(f"META.json: {p}")
if problems:
    sys.exit(1)
print(f"META.json ok: PGXN Meta Spec {meta['meta-spec']['version']}, version {meta['version']} "
      f"= mangopay_fdw.control {default_version} + .0 = debian/changelog")
