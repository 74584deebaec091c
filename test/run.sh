#!/usr/bin/env bash
# test/run.sh — the whole test suite (README's test command; .ci/run calls it).
#
# On a fresh Debian 12 machine, as root: installs the Debian packages it
# needs, runs the C unit tests and a short fuzz run, then for each PostgreSQL
# version (MP_PGVERSIONS, default "15 17 18"; 17 and 18 are built once per
# machine from ../shared/pgsrc by test/pgbuild.sh) builds and installs
# mangopay_fdw, starts a throwaway cluster and the mock MangoPay API, runs
# every pg_regress suite, checks that no secret reached the server log or a
# query's output and that no backend crashed; last builds, installs and
# loads the Debian package for 15 (test/deb.sh).
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

if [ -f test/unit/Makefile ]; then
	step "unit tests (CSV parser, header parsers, date windows)" make -s -C test/unit check
fi
if [ -x test/fuzz/run.sh ] && command -v clang >/dev/null 2>&1 && [ "${MP_SKIP_FUZZ:-0}" != 1 ]; then
	step "short fuzz run" test/fuzz/run.sh "${MP_FUZZ_SECONDS:-5}"
fi

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

# no backend died of a signal (a crash restarts the cluster; later suites may pass)
no_crash() {
	# a crash restarts every session of the cluster, and the suite after it
	# may even pass on the restarted server, so the log is what tells
	local pat='terminated by signal|was terminated by exception|terminating any other active server processes|all server processes terminated; reinitializing'
	if grep -E "$pat" "$MP_TESTDIR/postgres.log" | head -5 | grep .; then
		echo "a server process crashed (above, from the server log)"; return 1
	fi
}

# one PostgreSQL version: build, cluster, mock, every suite in REGRESS
run_version() {
	local v=$1 rc ok bad
	mp_use_pg "$v" || { failed=$((failed + 1)); failures+=("PostgreSQL $v: could not build it"); return; }
	mp_log "PostgreSQL $v: $("$(mp_pgbin)/postgres" --version)"
	if ! mp_build; then failed=$((failed + 1)); failures+=("PostgreSQL $v: mangopay_fdw build"); return; fi
	if ! mp_start_env; then failed=$((failed + 1)); failures+=("PostgreSQL $v: cluster or mock"); mp_stop_env; return; fi
	[ "$v" = "$first" ] && step "mock API self-test" python3 test/mock/selftest.py --quiet

	# pg_regress: each suite counts as one test
	mp_log "PostgreSQL $v: pg_regress suites"
	rm -f regression.diffs regression.out
	make -s installcheck PG_CONFIG="$MP_PG_CONFIG" >"$MP_TESTDIR/regress.out" 2>&1
	rc=$?
	cat "$MP_TESTDIR/regress.out"
	ok=$(grep -cE '\.\.\. ok|^ok ' "$MP_TESTDIR/regress.out")
	bad=$(grep -cE '\.\.\. FAILED|^not ok ' "$MP_TESTDIR/regress.out")
	passed=$((passed + ok)); failed=$((failed + bad))
	suites[$v]="$ok passed, $bad failed"
	if [ $rc -ne 0 ]; then
		[ "$bad" -gt 0 ] || failed=$((failed + 1))
		failures+=("PostgreSQL $v: pg_regress")
		if [ -f regression.diffs ]; then
			head -300 regression.diffs
			cp regression.diffs "regression.pg$v.diffs"
		fi
	fi
	step "PostgreSQL $v: no api_key or token in the server log or any query output" secrets_absent
	step "PostgreSQL $v: no server process crashed" no_crash
	mp_stop_env
}

trap mp_stop_env EXIT
declare -A suites=() secs=()
versions=${MP_PGVERSIONS:-15 17 18}
first=${versions%% *}
rm -f regression.pg*.diffs
for v in $versions; do
	t0=$SECONDS
	run_version "$v"
	secs[$v]=$((SECONDS - t0))
	mp_log "PostgreSQL $v: ${suites[$v]:-no suite run}, ${secs[$v]} s"
done

# Citus (doc/operations.md, "Beyond one machine"): when its source is beside the checkout
if ls ../shared/citus/citus-*.tar.gz ../../shared/citus/citus-*.tar.gz >/dev/null 2>&1; then
	step "Citus: a coordinator and two workers (test/citus.sh)" bash test/citus.sh
fi

# last: dpkg -i replaces the files `make install` put in place (an equivalent build)
step "Debian package builds, installs and loads (PostgreSQL 15)" env MP_PGVER=15 bash test/deb.sh

echo
for v in $versions; do echo "PostgreSQL $v: pg_regress ${suites[$v]:-not run}, ${secs[$v]} s"; done
if [ $failed -gt 0 ]; then printf 'FAILED: %s\n' "${failures[@]}"; fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
