#!/usr/bin/env bash
# test/isolate.sh — run a command in private network, mount and PID namespaces.
#
#   bash test/isolate.sh bash test/run.sh
#   bash test/isolate.sh bash test/bench/run.sh
#
# test/run.sh, the demo, the benchmarks and CI use fixed ports, the same
# $MP_TESTDIR (/tmp/mangopay_fdw_test) and the installed mangopay_fdw files.
# Inside this wrapper the command has its own loopback (the fixed ports are
# free), a private tmpfs on /tmp, and private copies of PostgreSQL's lib/ and
# share/extension/ directories, so `make install` there touches nothing
# outside.  When the command ends, every process it started ends with it.
# So two runs (a developer's and a helper's, say) can go on at once.
#
# Install packages (apt-get, npm) before: the private network has no way out.
# The work tree, and the paths in MP_ISOLATE_KEEP (space-separated), stay
# visible and writable even when they are under /tmp.  As root; where
# `unshare` is not permitted, the command runs in the open (a warning says so).
#
# Every PostgreSQL found (Debian's /usr/lib/postgresql/*, the trees
# test/pgbuild.sh built) gets private directories.  A tree built while the
# command runs gets them from `test/isolate.sh --private PG_CONFIG` (what
# test/lib.sh's mp_use_pg calls inside the wrapper).
set -uo pipefail
[ $# -gt 0 ] || { echo "usage: test/isolate.sh COMMAND [ARG...]" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)

# private copies of the directories `make install` and `dpkg -i` write to
private() {			# private PG_CONFIG
	local d priv
	for d in "$("$1" --pkglibdir)" "$("$1" --sharedir)/extension"; do
		priv=/tmp/mp_isolate_private$d
		[ -d "$priv" ] && continue
		mkdir -p "$priv"; cp -a "$d/." "$priv/" || return 1
		mount --bind "$priv" "$d" || return 1
	done
}
if [ "$1" = --private ]; then
	[ "${MP_ISOLATE_INSIDE:-0}" = 1 ] || exit 0
	private "$2"; exit
fi

# MP_ISOLATE_NEST=1: new namespaces even inside the wrapper (test/run.sh
# runs each PostgreSQL version in its own, side by side)
if [ "${MP_ISOLATE_INSIDE:-0}" != 1 ] || [ "${MP_ISOLATE_NEST:-0}" = 1 ]; then
	if ! unshare --net --mount --pid --fork --mount-proc true 2>/dev/null; then
		echo "== test/isolate.sh: unshare is not permitted here; running in the open" >&2
		exec "$@"
	fi
	# --kill-child: when the wrapper is killed, so is everything inside
	MP_ISOLATE_INSIDE=1 MP_ISOLATE_NEST=0 exec unshare --net --mount --pid --fork --kill-child --mount-proc \
		bash "$0" "$@"
fi

# ---------------------------------------------------------------- inside
ip link set lo up || exit 1
mount --make-rprivate / || exit 1
# a private /tmp; what must stay shared is bound back through /mnt
mount --rbind /tmp /mnt || exit 1
mount -t tmpfs -o mode=1777 mp_isolate_tmp /tmp || exit 1
for d in "$root" ${MP_ISOLATE_KEEP:-}; do
	case $d in
	/tmp/*) mkdir -p "$d"; mount --bind "/mnt/${d#/tmp/}" "$d" || exit 1 ;;
	esac
done
umount -l /mnt
for c in /usr/lib/postgresql/*/bin/pg_config "${MP_PGCACHE:-/var/cache/mangopay_fdw}"/*/bin/pg_config; do
	[ -x "$c" ] || continue
	case $c in /usr/lib/*) ;; *) [ -f "${c%/bin/pg_config}/.complete" ] || continue ;; esac
	private "$c" || exit 1
done
"$@"
