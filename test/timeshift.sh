#!/usr/bin/env bash
# test/timeshift.sh — the pg_regress suites with the clock moved (issue 11).
#
#   bash test/isolate.sh bash test/timeshift.sh                  # the four instants below
#   bash test/isolate.sh bash test/timeshift.sh '2027-02-28 23:59:30'
#   MP_TIMESHIFT_SUITES="setup sync" bash test/isolate.sh bash test/timeshift.sh
#
# For each INSTANT (UTC, "YYYY-MM-DD HH:MM:SS"), starts a fresh cluster under
# libfaketime and a fresh mock with --clock-offset, one offset for both, so
# PostgreSQL's now() and the mock's clock (token expiry, retention limits,
# report dates) agree; the mock's data anchor T0 is the midnight UTC before
# INSTANT (--anchor). The first suite starts when that clock reads INSTANT,
# and the clock then runs on at the normal rate (a run that starts at
# 23:59:30 crosses midnight, and the data stay anchored at the midnight
# before). Suites are MP_TIMESHIFT_SUITES (default: the Makefile's REGRESS).
# Results and diffs are kept in $MP_TIMESHIFT_OUT/<instant>/.
# Ends with one line per instant and exits non-zero if any failed.
#
# The default instants: a window that starts 30 s after the data's midnight,
# one at noon, one 30 s before midnight, and the last day of a month after a
# short one (2027-03-31: "- 1 month" is Feb 28) that crosses into April.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

instants=("$@")
[ ${#instants[@]} -gt 0 ] || instants=("2026-12-10 00:00:30" "2026-12-16 12:00:00"
	"2026-12-22 23:59:30" "2027-03-31 23:59:30")
out=${MP_TIMESHIFT_OUT:-$MP_ROOT/timeshift.out}
lead=${MP_TIMESHIFT_LEAD:-45}	# seconds the cluster and mock take to start
lib=$(find /usr/lib -name libfaketime.so.1 -path '*faketime*' 2>/dev/null | grep -v MT | head -1)
if [ -z "$lib" ]; then
	mp_log "libfaketime is missing (apt-get install libfaketime, or run mp_install_deps)"
	exit 1
fi

mp_build || exit 1
suites=${MP_TIMESHIFT_SUITES:-$(sed -n '/^REGRESS *=/,/[^\\]$/p' "$MP_ROOT/Makefile" |
	sed 's/^REGRESS *=//; s/\\//' | tr -s ' \t\n' ' ')}

# libfaketime shares its state through a semaphore and a shared memory object
# that the first faked process creates and that any of its forks removes at
# exit (the first backend that ends, say); a process that inherits their names
# after that (a curl that another backend starts) cannot open them and exits 1.
# So one long-lived process, as postgres (the server's processes must open
# them; root can anyway), creates them and holds them for the whole run, and
# every faked process gets their names. Faked processes that end without
# exit() leave theirs in /dev/shm: what a run adds there is removed after it.
holder=; shm_before=
shm_list() { ls /dev/shm 2>/dev/null | grep -E '^(sem\.)?faketime_(sem|shm)_[0-9]+$' | sort; }
shm_hold() {
	shm_before=$(shm_list)
	rm -f "$MP_TESTDIR/faketime.pid"
	LD_PRELOAD= sh -c 'echo $$ > "$1"; exec setpriv --reuid=postgres --regid=postgres --init-groups \
		env LD_PRELOAD="$2" sleep 86400' sh "$MP_TESTDIR/faketime.pid" "$lib" &
	local i
	for i in $(seq 50); do
		[ -s "$MP_TESTDIR/faketime.pid" ] && holder=$(cat "$MP_TESTDIR/faketime.pid") &&
			[ -e "/dev/shm/faketime_shm_$holder" ] && break
		sleep 0.1
	done
	[ -e "/dev/shm/faketime_shm_$holder" ] || { mp_log "libfaketime's shared memory was not created"; return 1; }
	export FAKETIME_SHARED="/faketime_sem_$holder /faketime_shm_$holder"
}
shm_release() {
	unset LD_PRELOAD FAKETIME FAKETIME_DONT_FAKE_MONOTONIC FAKETIME_SHARED
	if [ -n "$holder" ]; then kill "$holder" 2>/dev/null; holder=; fi
	wait 2>/dev/null
	comm -13 <(echo "$shm_before") <(shm_list) | sed 's|^|/dev/shm/|' | xargs -r rm -f
}
trap 'mp_stop_env; shm_release' EXIT

fails=0; summary=()
for at in "${instants[@]}"; do
	target=$(date -u -d "$at" +%s) || { summary+=("$at: not a date"); fails=$((fails + 1)); continue; }
	dir=$out/$(date -u -d "@$target" +%Y%m%dT%H%M%S)
	rm -rf "$dir"; mkdir -p "$dir"
	cp -r "$MP_ROOT/expected" "$dir/"	# PostgreSQL 15's pg_regress reads them from --outputdir
	# one offset for all: the cluster (and psql, curl) through libfaketime,
	# the mock through its --clock-offset (Python's sleeps and timed waits
	# do not work under libfaketime)
	offset=$((target - $(date +%s) - lead))
	mp_log "clock at $at UTC (offset ${offset} s)"
	mp_stop_env
	rm -rf "$MP_TESTDIR"; mkdir -p "$MP_TESTDIR"; chmod 755 "$MP_TESTDIR"
	# T0, the data's midnight, is the one before INSTANT (the mock may start
	# a few seconds before it)
	MP_MOCK_ARGS="${MP_MOCK_ARGS:-} --clock-offset $offset --anchor $((target - target % 86400))" \
		mp_start_mock &&
	export LD_PRELOAD=$lib FAKETIME="+$offset" FAKETIME_DONT_FAKE_MONOTONIC=1 &&
	shm_hold &&
	mp_start_cluster
	if [ $? -ne 0 ]; then
		mp_stop_env; shm_release
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
	shm_release
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
