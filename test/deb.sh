#!/usr/bin/env bash
# test/deb.sh — the Debian package: build it, check it, install it, load it.
#
# As root on Debian 12.  Installs what the build needs with apt-get (no
# packaged cluster is created), checks META.json (test/check_meta.py), copies
# the source tree to a temporary directory and runs `dpkg-buildpackage -us -uc
# -b` there (never in the work tree), checks the .deb's file list, installs it
# with dpkg -i, checks that dpkg owns the installed files and that they are
# the package's, then starts a throwaway PostgreSQL cluster of its own (port
# $MP_DEB_PGPORT, 54339 by default, a socket in the temporary directory) and
# checks CREATE EXTENSION, the version, the module loading, and the update
# from 0.1, 0.2 and 0.3 to the control file's default_version against a
# fresh install.
# Ends with one line, "deb: ok: ..." or "deb: FAILED: ..."; exits non-zero on
# any failure.  The cluster and the temporary directory go at exit.
#
# The package stays installed (replacing files a `make install` put there),
# except inside test/isolate.sh, where the installed files are private copies
# that vanish with the wrapper: there it is removed at exit, so that dpkg's
# database (shared with the machine) is left as it was.  MP_DEB_REMOVE=1 or 0
# overrides.  Run inside the wrapper when another run uses the machine,
# after installing the packages outside it (the wrapper has no network):
#
#   bash test/deb.sh --install-deps
#   bash test/isolate.sh bash test/deb.sh
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
pgver=${MP_PGVER:-15}
port=${MP_DEB_PGPORT:-54339}
bin=/usr/lib/postgresql/$pgver/bin
pkg=postgresql-$pgver-mangopay-fdw
libdir=/usr/lib/postgresql/$pgver/lib
extdir=/usr/share/postgresql/$pgver/extension
if [ "${MP_ISOLATE_INSIDE:-0}" = 1 ]; then remove=${MP_DEB_REMOVE:-1}; else remove=${MP_DEB_REMOVE:-0}; fi
t0=$(date +%s)

say() { printf '== deb: %s\n' "$*" >&2; }
fail() { echo "deb: FAILED: $*"; exit 1; }

[ "$(id -u)" = 0 ] || fail "run as root (apt-get, dpkg -i)"

default_version=$(sed -n "s/^[[:space:]]*default_version[[:space:]]*=[[:space:]]*'\([^']*\)'.*/\1/p" mangopay_fdw.control)
[ -n "$default_version" ] || fail "no default_version in mangopay_fdw.control"

# ------------------------------------------------------------ packages
need="build-essential debhelper dpkg-dev fakeroot postgresql-$pgver postgresql-server-dev-all
	libcurl4-openssl-dev libcjson-dev libssl-dev python3"
missing=""
for p in $need; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null </dev/null || fail "apt-get update"
	# no packaged cluster: the one below is throwaway
	mkdir -p /etc/postgresql-common
	[ -f /etc/postgresql-common/createcluster.conf ] ||
		echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
	# postgresql-server-dev-all requires postgresql-common of its own version:
	# take the installed postgresql-common's, when the archive has it, rather
	# than upgrade postgresql-common under clusters that may be running
	common=$(dpkg-query -W -f='${db:Status-Status} ${Version}' postgresql-common 2>/dev/null)
	case $common in
	"installed "*)
		v=${common#installed }
		if apt-cache show "postgresql-server-dev-all=$v" >/dev/null 2>&1; then
			missing=${missing/ postgresql-server-dev-all/ postgresql-server-dev-all=$v}
		fi ;;
	esac
	apt-get install -y -q $missing >/dev/null </dev/null || fail "apt-get install$missing"
fi

[ "${1:-}" = --install-deps ] && { echo "deb: packages installed"; exit 0; }

# ------------------------------------------------------------ META.json
meta=$(python3 test/check_meta.py "$root") || fail "$meta"
say "$meta"

# ------------------------------------------------------------ source copy
tmp=$(mktemp -d /tmp/mangopay_fdw_deb.XXXXXX) || fail "mktemp"
chmod 755 "$tmp"
cleanup() {
	if [ -f "$tmp/pg/data/postmaster.pid" ]; then
		runuser -u postgres -- "$bin/pg_ctl" -D "$tmp/pg/data" -m immediate stop >/dev/null 2>&1 || true
	fi
	if [ "$remove" = 1 ] && dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null | grep -q installed; then
		dpkg -r "$pkg" >/dev/null 2>&1 || say "could not remove $pkg"
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

src=$tmp/mangopay-fdw-src
mkdir -p "$src"
if git -C "$root" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
	# tracked files, and untracked ones that are not ignored (a new versioned
	# SQL script not yet committed is packaged as `make install` would install
	# it); deleted files are skipped
	git -C "$root" ls-files -z --cached --others --exclude-standard |
		while IFS= read -r -d '' f; do [ -f "$f" ] && printf '%s\0' "$f"; done |
		xargs -0 -r cp --parents -t "$src" || fail "copying the source tree"
else
	tar -C "$root" --exclude=.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=results --exclude=tmp_check --exclude=log -cf - . | tar -C "$src" -xf - ||
		fail "copying the source tree"
fi

# ------------------------------------------------------------ build
say "dpkg-buildpackage -us -uc -b in $src"
b0=$(date +%s)
if ! (cd "$src" && dpkg-buildpackage -us -uc -b) >"$tmp/build.log" 2>&1 </dev/null; then
	tail -40 "$tmp/build.log" >&2
	fail "dpkg-buildpackage (the log's end is above)"
fi
build_s=$(( $(date +%s) - b0 ))
deb=$(ls "$tmp"/"${pkg}"_*.deb 2>/dev/null | head -1)
[ -n "$deb" ] || fail "no ${pkg}_*.deb built (is $pgver in debian/pgversions and supported here?)"
deb_version=$(dpkg-deb -f "$deb" Version)
case $deb_version in
"$default_version".0-*) ;;
*) fail "the package's version $deb_version is not $default_version.0-N (mangopay_fdw.control)" ;;
esac

# ------------------------------------------------------------ contents
dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|' >"$tmp/contents" || fail "dpkg-deb -c"
want="$libdir/mangopay_fdw.so $extdir/mangopay_fdw.control"
scripts=""
for f in "$src"/mangopay_fdw--*.sql; do
	[ -f "$f" ] || continue
	scripts="$scripts ${f##*/}"
	want="$want $extdir/${f##*/}"
done
[ -n "$scripts" ] || fail "no mangopay_fdw--*.sql in the source tree"
for f in $want; do
	grep -qxF "$f" "$tmp/contents" || fail "$f is not in $(basename "$deb")"
done
grep -qxF "$extdir/mangopay_fdw--$default_version.sql" "$tmp/contents" ||
	fail "mangopay_fdw--$default_version.sql (the default_version's script) is not in the package"
nfiles=$(dpkg-deb -c "$deb" | grep -c '^-')
say "$(basename "$deb"): $(stat -c %s "$deb") bytes, $nfiles files, scripts:$scripts"

# ------------------------------------------------------------ install
dpkg -i "$deb" >"$tmp/dpkg.log" 2>&1 || { cat "$tmp/dpkg.log" >&2; fail "dpkg -i $(basename "$deb")"; }
owner=$(dpkg -S "$libdir/mangopay_fdw.so" 2>/dev/null)
[ "$owner" = "$pkg: $libdir/mangopay_fdw.so" ] || fail "dpkg -S $libdir/mangopay_fdw.so says '$owner'"
[ "$(dpkg-query -W -f='${Version}' "$pkg")" = "$deb_version" ] || fail "$pkg $deb_version is not the installed version"
# the files in place are the package's, not those of an earlier make install
mkdir -p "$tmp/x" && dpkg-deb -x "$deb" "$tmp/x" || fail "dpkg-deb -x"
for f in $want; do
	cmp -s "$tmp/x$f" "$f" || fail "$f differs from the package's"
done

# ------------------------------------------------------------ cluster
# $tmp/pg, the postgres user's: the data directory, the socket, the log
mkdir -p "$tmp/pg" && chown postgres "$tmp/pg" || fail "mkdir $tmp/pg"
runuser -u postgres -- "$bin/initdb" -D "$tmp/pg/data" -A trust -U postgres -E UTF8 --locale=C.UTF-8 \
	>"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log" >&2; fail "initdb"; }
cat >>"$tmp/pg/data/postgresql.conf" <<CONF
port = $port
listen_addresses = ''
unix_socket_directories = '$tmp/pg'
fsync = off
CONF
runuser -u postgres -- "$bin/pg_ctl" -D "$tmp/pg/data" -l "$tmp/pg/postgres.log" -w start >/dev/null 2>&1 ||
	{ tail -20 "$tmp/pg/postgres.log" >&2; fail "the cluster did not start (port $port)"; }

q() {	# q DB SQL: one statement's result, unaligned, tuples only
	"$bin/psql" -X -q -At -v ON_ERROR_STOP=1 -h "$tmp/pg" -p "$port" -U postgres -d "$1" -c "$2" 2>&1
}
# the extension's member objects, sorted: a fresh install and an updated one must agree
objects_sql="SELECT string_agg(o, E'\\n' ORDER BY o) FROM (SELECT pg_describe_object(classid, objid, objsubid) AS o
	FROM pg_depend WHERE deptype = 'e' AND refclassid = 'pg_extension'::regclass
	AND refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mangopay_fdw')) AS m"

out=$(q postgres "CREATE EXTENSION mangopay_fdw") || fail "CREATE EXTENSION mangopay_fdw: $out"
v=$(q postgres "SELECT extversion FROM pg_extension WHERE extname = 'mangopay_fdw'") || fail "$v"
[ "$v" = "$default_version" ] || fail "extversion is '$v', mangopay_fdw.control's default_version '$default_version'"
fresh=$(q postgres "$objects_sql") || fail "$fresh"
[ -n "$fresh" ] || fail "the extension has no member objects"
# the module: the version function, and the file the backend mapped
out=$(q postgres "SELECT mangopay_fdw_version() || ' ' || (SELECT count(*) FROM
	regexp_split_to_table(pg_read_file('/proc/self/maps'), E'\n') AS l
	WHERE l LIKE '% $libdir/mangopay_fdw.so')") || fail "SELECT mangopay_fdw_version(): $out"
modversion=${out% *}
[ -n "$modversion" ] || fail "mangopay_fdw_version() returned nothing"
[ "${out##* }" -gt 0 ] || fail "the backend did not map $libdir/mangopay_fdw.so"
[ "$modversion" = "$default_version.0" ] ||
	say "note: mangopay_fdw_version() says $modversion, mangopay_fdw.control $default_version (src/mpfdw.h's MPFDW_VERSION)"
# a foreign server and a user mapping go through the validator in the module
out=$(q postgres "CREATE SERVER deb_check FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (environment 'sandbox');
	DROP SERVER deb_check") || fail "CREATE SERVER ... mangopay_fdw: $out"

update=""
for from in 0.1 0.2 0.3; do
	[ "$from" != "$default_version" ] || break
	if ! grep -qxF "$extdir/mangopay_fdw--$from.sql" "$tmp/contents"; then
		say "update from $from skipped: mangopay_fdw--$from.sql is not in the package"
		update="$update${update:+; }update from $from skipped"
		continue
	fi
	db=deb_update_${from/./_}
	out=$(q postgres "CREATE DATABASE $db") || fail "CREATE DATABASE: $out"
	out=$(q $db "CREATE EXTENSION mangopay_fdw VERSION '$from'") || fail "CREATE EXTENSION mangopay_fdw VERSION '$from': $out"
	v=$(q $db "SELECT extversion FROM pg_extension WHERE extname = 'mangopay_fdw'")
	[ "$v" = "$from" ] || fail "extversion after CREATE EXTENSION ... VERSION '$from' is '$v'"
	out=$(q $db "ALTER EXTENSION mangopay_fdw UPDATE") || fail "ALTER EXTENSION mangopay_fdw UPDATE: $out"
	v=$(q $db "SELECT extversion FROM pg_extension WHERE extname = 'mangopay_fdw'")
	[ "$v" = "$default_version" ] || fail "extversion after ALTER EXTENSION UPDATE is '$v', not '$default_version'"
	updated=$(q $db "$objects_sql") || fail "$updated"
	if [ "$updated" != "$fresh" ]; then
		lack=$(LC_ALL=C comm -23 <(LC_ALL=C sort <<<"$fresh") <(LC_ALL=C sort <<<"$updated") | paste -sd ';')
		extra=$(LC_ALL=C comm -13 <(LC_ALL=C sort <<<"$fresh") <(LC_ALL=C sort <<<"$updated") | paste -sd ';')
		fail "$from updated to $default_version differs from a fresh $default_version: lacks [${lack}], has besides [${extra}]"
	fi
	out=$(q $db "SELECT mangopay_fdw_version()") || fail "mangopay_fdw_version() after the update: $out"
	update="$update${update:+; }$from -> $default_version update ok (the same objects as a fresh install)"
done
[ -n "$update" ] || update="no update to test (default_version is $default_version)"

echo "deb: ok: $pkg $deb_version built in ${build_s} s ($(stat -c %s "$deb") bytes, $nfiles files), installed, CREATE EXTENSION $default_version, module $modversion loaded, $update; $(( $(date +%s) - t0 )) s in all"
