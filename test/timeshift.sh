#!/usr/bin/env bash
# test/timeshift.sh — the pg_regress suites with the clock moved (issue 11).
#
#   bash test/isolate.sh bash test/timeshift.sh                  # the four instants below
#   bash test/isolate.sh bash test/timeshift.sh '2027-02-28 23:59:30' '2027-12-31 12:00:00'
#   MP_TIMESHIFT_SUITES="setup sync" bash test/isolate.sh bash test/timeshift.sh
#
# For each INSTANT (UTC, "YYYY-MM-DD HH:MM:SS"), starts a fresh cluster with
# test/clockshift.c preloaded (it moves the wall clock only: timers, waits and
# timeouts stay real) and a fresh mock with --clock-offset, one offset for both, so
# PostgreSQL's now() and the mock's clock (token expiry, retention limits,
# report dates) agree; the mock's data anchor T0 is the midnight UTC before
# INSTANT (--anchor). The first suite starts when that clock reads INSTANT,
# and the clock then runs on at the normal rate (a run that starts at
# 23:59:30 crosses midnight, and the data stay anchored at the midnight
# before). Suites are MP_TIMESHIFT_SUITES (default: the Makefile's REGRESS).
# Results and diffs are kept in $MP_TIMESHIFT_OUT/<instant>/.
# Ends with one line per instant and exits non-zero if any failed.
#
# The default instants: tomorrow 00:00:30 (a window that starts 30 s after the
# data's midnight), 12:00:00 and 23:59:30, and the next March 31 at 23:59:30:
# the last day of a month after a short one ("- 1 month" is Feb 28), a run
# that crosses into April, three weeks after the US DST change (pg_regress's
# TimeZone is PST8PDT). Instants before now fail the TLS suite: the mock's
# certificates are made with the real clock.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

instants=("$@")
if [ ${#instants[@]} -eq 0 ]; then
	# ahead of the real clock: the mock's certificates are valid from now on
	day=$(date -u -d tomorrow +%F)
	year=$(date -u +%Y); [[ $(date -u +%m%d) < 0330 ]] || year=$((year + 1))
	instants=("$day 00:00:30" "$day 12:00:00" "$day 23:59:30" "$year-03-31 23:59:30")
fi
out=${MP_TIMESHIFT_OUT:-$MP_ROOT/timeshift.out}
lead=${MP_TIMESHIFT_LEAD:-45}	# seconds the cluster and mock take to start
shim_dir=$(mktemp -d); chmod 755 "$shim_dir"
shim=$shim_dir/clockshift.so
gcc -shared -fPIC -O2 -Wall -Wextra -o "$shim" "$MP_ROOT/test/clockshift.c" -ldl || exit 1

mp_build || exit 1
suites=${MP_TIMESHIFT_SUITES:-$(sed -n '/^REGRESS *=/,/[^\\]$/p' "$MP_ROOT/Makefile" |
	sed 's/^REGRESS *=//; s/\\//' | tr -s ' \t\n' ' ')}

clock_off() { unset LD_PRELOAD MP_CLOCK_OFFSET; }
trap 'mp_stop_env; clock_off' EXIT
# mp_start_mock waits 10 s; a loaded machine may need longer
mock_up() {
	local i
	for i in $(seq $(($1 * 10))); do
		curl -sf "http://127.0.0.1:$MP_MOCK_PORT/__mock/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	return 1
}

fails=0; summary=()
for at in "${instants[@]}"; do
	target=$(date -u -d "$at" +%s) || { summary+=("$at: not a date"); fails=$((fails + 1)); continue; }
	dir=$out/$(date -u -d "@$target" +%Y%m%dT%H%M%S)
	rm -rf "$dir"; mkdir -p "$dir"
	cp -r "$MP_ROOT/expected" "$dir/"	# PostgreSQL 15's pg_regress reads them from --outputdir
	# one offset for all: the cluster (and psql, curl) through the preloaded
	# library, the mock through its --clock-offset
	offset=$((target - $(date +%s) - lead))
	mp_log "clock at $at UTC (offset ${offset} s)"
	mp_stop_env
	rm -rf "$MP_TESTDIR"; mkdir -p "$MP_TESTDIR"; chmod 755 "$MP_TESTDIR"
	# T0, the data's midnight, is the one before INSTANT (the mock may start
	# a few seconds before it)
	MP_MOCK_ARGS="${MP_MOCK_ARGS:-} --clock-offset $offset --anchor $((target - target % 86400))" \
		mp_start_mock || mock_up 60 &&
	export LD_PRELOAD=$shim MP_CLOCK_OFFSET=$offset &&
	mp_start_cluster
	if [ $? -ne 0 ]; then
		mp_stop_env; clock_off
		summary+=("$at: the cluster or the mock did not start"); fails=$((fails + 1)); continue
	fi
	# start the first suite when the faked clock reads the instant
	now=$(date +%s); [ "$now" -lt "$target" ] && sleep $((target - now))
	started=$(date -u '+%F %T')
	psql -X -At -d postgres -c "SELECT 'server now() ' || now() AT TIME ZONE 'UTC'" |
		tee "$dir/clock"
	curl -sf "http://127.0.0.1:$MP_MOCK_PORT/__mock/health" |
		LD_PRELOAD= python3 -c 'import sys,json,time; h=json.load(sys.stdin)
print("mock now", time.strftime("%F %T", time.gmtime(h["now"])), "T0", time.strftime("%F %T", time.gmtime(h["t0"])))' |
		tee -a "$dir/clock"
	make -s -C "$MP_ROOT" installcheck PG_CONFIG="$(mp_pgbin)/pg_config" REGRESS="$suites" \
		EXTRA_REGRESS_OPTS="--outputdir=$dir" >"$dir/regress.out" 2>&1
	rc=$?
	ended=$(date -u '+%F %T')
	cat "$dir/regress.out"
	mp_stop_env
	clock_off
	if [ $rc -eq 0 ]; then
		summary+=("$at: passed (suites ran from $started to $ended faked UTC)")
	else
		fails=$((fails + 1))
		summary+=("$at: FAILED (from $started to $ended faked UTC; see $dir/regression.diffs)")
		[ -f "$dir/regression.diffs" ] && head -200 "$dir/regression.diffs"
	fi
done
echo
printf '%s\n' "${summary[@]}"
[ $fails -eq 0 ]
