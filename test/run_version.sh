#!/usr/bin/env bash
# test/run_version.sh VERSION RESULTS — one PostgreSQL version of the suite
# (test/run.sh runs one per version, side by side, each in a copy of the
# tree and in its own namespaces through test/isolate.sh).
#
# Builds and installs mangopay_fdw for VERSION (waiting for test/pgbuild.sh
# when the server is still being built), starts a throwaway cluster and the
# mock, runs the mock self-test when MP_SELFTEST=1, every pg_regress suite
# of test/schedule, the secrets check and the no-crash check, and stops
# everything.  Appends to RESULTS, for test/run.sh:
#   pass NAME | fail NAME | suites OK BAD | time NAME SECONDS
set -uo pipefail
cd "$(dirname "$0")/.."
v=${1:?usage: test/run_version.sh VERSION RESULTS}
out=${2:?usage: test/run_version.sh VERSION RESULTS}
. test/lib.sh

record() { echo "$*" >>"$out"; }
step() {			# step NAME COMMAND...: run, record, keep going
	local name=$1 t0=$SECONDS; shift
	mp_log "$name"
	if "$@"; then record "pass $name"; else record "fail $name"; fi
	record "time $name $((SECONDS - t0))"
}

# no secret in the server log, nor in any query output of the suites
# (EXPLAIN, error texts, NOTICEs): the api_key, and no token the mock issued.
# The suites' own CREATE USER MAPPING statements, echoed in their output,
# are the only lines allowed to carry the api_key.
secrets_absent() {
	local log=$MP_TESTDIR/postgres.log
	local outs=(results/*.out)
	if grep -q -- "$MP_API_KEY" "$log"; then echo "api_key found in the server log"; return 1; fi
	if grep -h -- "$MP_API_KEY" "${outs[@]}" | grep -v -x -F -f <(grep -h -- "$MP_API_KEY" sql/*.sql) | grep -q .; then
		echo "api_key found in a query's output:"
		grep -n -- "$MP_API_KEY" "${outs[@]}" | grep -v -F -f <(grep -h -- "$MP_API_KEY" sql/*.sql) | head -5
		return 1
	fi
	local tokens
	tokens=$(curl -sf "http://127.0.0.1:$MP_MOCK_PORT/__mock/tokens" | python3 -c 'import sys,json; print("\n".join(json.load(sys.stdin).get("tokens", [])))' 2>/dev/null)
	if [ -z "$tokens" ]; then echo "could not read the issued tokens from the mock"; return 1; fi
	while read -r tok; do
		[ -n "$tok" ] || continue
		if grep -q -- "$tok" "$log"; then echo "an access token found in the server log"; return 1; fi
		if grep -q -- "$tok" "${outs[@]}"; then echo "an access token found in a query's output"; return 1; fi
	done <<<"$tokens"
	echo "$(echo "$tokens" | wc -l) tokens and the api_key checked against $(wc -l <"$log") log lines and $(cat "${outs[@]}" | wc -l) lines of query output"
}

# no backend died of a signal: a crash restarts every session of the
# cluster, and the suite after it may even pass on the restarted server, so
# the log is what tells
no_crash() {
	local pat='terminated by signal|was terminated by exception|terminating any other active server processes|all server processes terminated; reinitializing'
	if grep -E "$pat" "$MP_TESTDIR/postgres.log" | head -5 | grep .; then
		echo "a server process crashed (above, from the server log)"; return 1
	fi
}

trap mp_stop_env EXIT
t0=$SECONDS
if ! mp_use_pg "$v"; then record "fail PostgreSQL $v: could not build it"; exit 1; fi
record "time PostgreSQL $v: waiting for the server build $((SECONDS - t0))"
mp_log "PostgreSQL $v: $("$(mp_pgbin)/postgres" --version)"
t0=$SECONDS
if ! mp_build; then record "fail PostgreSQL $v: mangopay_fdw build"; exit 1; fi
if ! mp_start_env; then record "fail PostgreSQL $v: cluster or mock"; exit 1; fi
record "time PostgreSQL $v: extension build, cluster and mock $((SECONDS - t0))"
[ "${MP_SELFTEST:-0}" = 1 ] && step "mock API self-test" python3 test/mock/selftest.py --quiet

# pg_regress: each suite counts as one test
mp_log "PostgreSQL $v: pg_regress suites"
t0=$SECONDS
rm -rf regression.diffs regression.out results
# MP_REGRESS="setup matrix": those suites only, one after the other
make -s installcheck PG_CONFIG="$MP_PG_CONFIG" REGRESS="${MP_REGRESS:---schedule=test/schedule}" \
	>"$MP_TESTDIR/regress.out" 2>&1
rc=$?
cat "$MP_TESTDIR/regress.out"
ok=$(grep -cE '\.\.\. ok|^ok |^ +ok ' "$MP_TESTDIR/regress.out")
bad=$(grep -cE '\.\.\. FAILED|^not ok |^ +not ok ' "$MP_TESTDIR/regress.out")
record "suites $ok $bad"
record "time PostgreSQL $v: pg_regress $((SECONDS - t0))"
if [ $rc -ne 0 ]; then
	[ "$bad" -gt 0 ] || record "fail PostgreSQL $v: pg_regress"
	[ -f regression.diffs ] && head -300 regression.diffs
fi
step "PostgreSQL $v: no api_key or token in the server log or any query output" secrets_absent
step "PostgreSQL $v: no server process crashed" no_crash
