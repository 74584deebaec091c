#!/usr/bin/env bash
# test/run.sh — the whole test suite (README's test command; .ci/run calls it).
#
# On a fresh Debian 12 machine, as root: installs the Debian packages it
# needs, builds and installs mangopay_fdw, runs the C unit tests and a short
# fuzz run, starts a throwaway PostgreSQL cluster and the mock MangoPay API,
# runs the pg_regress suites, then checks that no backend crashed and that
# no secret reached the server log, and last builds, installs and loads the
# Debian package (test/deb.sh).
# Ends with "N passed, N failed"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

passed=0; failed=0; failures=()
step() {			# step NAME COMMAND...: run, count, keep going
	local name=$1; shift
	mp_log "$name"
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
}

mp_install_deps || { echo "0 passed, 1 failed"; exit 1; }
mp_build || { echo "0 passed, 1 failed"; exit 1; }

if [ -f test/unit/Makefile ]; then
	step "unit tests (CSV parser, header parsers, date windows)" make -s -C test/unit check
fi
if [ -x test/fuzz/run.sh ] && command -v clang >/dev/null 2>&1 && [ "${MP_SKIP_FUZZ:-0}" != 1 ]; then
	step "short fuzz run" test/fuzz/run.sh "${MP_FUZZ_SECONDS:-5}"
fi

mp_start_env || { echo "$passed passed, $((failed + 1)) failed"; exit 1; }
trap mp_stop_env EXIT

step "mock API self-test" python3 test/mock/selftest.py --quiet

# pg_regress: each suite counts as one test
mp_log "pg_regress suites"
rm -f regression.diffs regression.out
make -s installcheck PG_CONFIG="$(mp_pgbin)/pg_config" >"$MP_TESTDIR/regress.out" 2>&1
rc=$?
cat "$MP_TESTDIR/regress.out"
ok=$(grep -cE '\.\.\. ok|^ok ' "$MP_TESTDIR/regress.out")
bad=$(grep -cE '\.\.\. FAILED|^not ok ' "$MP_TESTDIR/regress.out")
passed=$((passed + ok)); failed=$((failed + bad))
if [ $rc -ne 0 ]; then
	[ "$bad" -gt 0 ] || failed=$((failed + 1))
	failures+=("pg_regress")
	[ -f regression.diffs ] && head -300 regression.diffs
fi

# no backend died of a signal during the suites: a crash restarts every
# session of the cluster, and the suite after it may even pass on the
# restarted server, so the log is what tells
no_backend_crashed() {
	local log=$MP_TESTDIR/postgres.log
	local pat='terminated by signal|was terminated by exception|terminating any other active server processes|all server processes terminated; reinitializing'
	if grep -qE "$pat" "$log"; then
		echo "the server log shows a backend that crashed:"
		grep -E "$pat" "$log" | head -5
		return 1
	fi
	echo "no backend terminated by a signal in $(wc -l <"$log") log lines"
}
step "no backend terminated by a signal (server log)" no_backend_crashed

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
step "no api_key or token in the server log or any query output" secrets_absent

# last: dpkg -i replaces the files `make install` put in place (an equivalent build)
step "Debian package builds, installs and loads" bash test/deb.sh

echo
if [ $failed -gt 0 ]; then printf 'FAILED: %s\n' "${failures[@]}"; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
