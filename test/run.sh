#!/usr/bin/env bash
# test/run.sh — the whole test suite (README's test command; .ci/run calls it).
#
# On a fresh Debian 12 machine, as root: installs the Debian packages it
# needs, then at once, side by side:
#   - the server builds of the PostgreSQL versions Debian does not ship (17
#     and 18, from ../shared/pgsrc by test/pgbuild.sh, once per machine);
#   - each version of MP_PGVERSIONS (default "15 17 18") in a copy of the
#     tree and in its own namespaces (test/isolate.sh: loopback, /tmp, the
#     installed extension files), by test/run_version.sh: build and install
#     mangopay_fdw, a throwaway cluster and the mock MangoPay API, every
#     pg_regress suite (test/schedule), the secrets and no-crash checks; a
#     version starts its suites as soon as its server is built;
#   - the C unit tests, a short fuzz run and the Debian package for 15
#     (test/deb.sh).
# MP_LOAD=N runs N CPU-bound busy processes beside it all (a busy machine).
# MP_PGVERSIONS="15" runs one version, MP_REGRESS="setup matrix" some suites
# only, MP_SKIP_FUZZ=1 and MP_SKIP_DEB=1 skip those steps.
# Prints each step's time, and ends with "N passed, N failed"; exits
# non-zero on any failure.
# The whole script is one { } block: bash reads it all before it starts, so
# editing the file during a run does not change the run.
{
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

passed=0; failed=0; failures=(); times=()
start=$SECONDS
step() {			# step NAME COMMAND...: run, count, time, keep going
	local name=$1 t0=$SECONDS; shift
	mp_log "$name"
	if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); failures+=("$name"); fi
	times+=("$(printf '%6d s  %s' $((SECONDS - t0)) "$name")")
}

mp_install_deps || { echo "0 passed, 1 failed"; exit 1; }
# the Debian package step's packages too, now: the steps below may run
# where there is no network (test/isolate.sh)
[ "${MP_SKIP_DEB:-0}" = 1 ] || bash test/deb.sh --install-deps >/dev/null ||
	mp_log "could not install the Debian package step's packages (the step will fail)"
# and Citus's, when its source is beside the checkout (test/citus.sh)
citus_src=$(ls ../shared/citus/citus-*.tar.gz 2>/dev/null | head -1 || true)
[ -z "$citus_src" ] || bash test/citusbuild.sh --install-deps ||
	mp_log "could not install the Citus build's packages (the Citus step will fail)"

# everything started here ends with the run: the jobs still running (never
# a pid that has ended: it may be another process's by now)
cleanup() {
	local p f
	# a version's namespace: unshare ignores SIGTERM; SIGKILL ends it and,
	# through --kill-child, everything inside (cluster, mock)
	for f in "${rundir:-/nonexistent}"/pg*.pid; do
		[ -f "$f" ] && kill -9 "$(cat "$f")" 2>/dev/null
	done
	for p in $(jobs -p); do kill "$p" 2>/dev/null; done
	for p in $(jobs -p); do mp_wait_gone "$p" "a background step" 2>/dev/null; done
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# MP_LOAD=N: N busy processes at normal priority, the whole run long
load=${MP_LOAD:-0}
if [ "$load" -gt 0 ] 2>/dev/null; then
	mp_log "load: $load CPU-bound processes beside the suites"
	for _ in $(seq 1 "$load"); do
		sh -c 'while :; do :; done' &
	done
fi

versions=${MP_PGVERSIONS:-15 17 18}
# the PostgreSQL sources, for the copies of the tree too (pgbuild.sh looks
# beside the tree): a version's run then waits for the build under way
# rather than finding no sources
MP_PGSRC=${MP_PGSRC:-$(cd "$MP_ROOT/.." && pwd)/shared/pgsrc}
export MP_PGSRC
first=${versions%% *}
rundir=$(mktemp -d /var/tmp/mangopay_fdw_run.XXXXXX)
chmod 755 "$rundir"		# the cluster's user reads the copies
rm -f regression.pg*.diffs

bpids=()
# the server builds, at once (pgbuild.sh takes a lock per version: a
# version's run waits for its build)
for v in $versions; do
	[ -x "/usr/lib/postgresql/$v/bin/pg_config" ] && continue
	(t0=$SECONDS
	 if prefix=$(bash test/pgbuild.sh "$v" 2>"$rundir/pgbuild$v.log"); then r=pass; else r=fail; fi
	 echo "$r PostgreSQL $v: server build" >"$rundir/pgbuild$v.result"
	 echo "time PostgreSQL $v: server build $((SECONDS - t0))" >>"$rundir/pgbuild$v.result"
	 # Citus's build for 17 right after it (the Citus step at the end finds it built)
	 if [ "$r" = pass ] && [ "$v" = 17 ] && [ -n "$citus_src" ]; then
		bash test/citusbuild.sh "$prefix/bin/pg_config" >/dev/null 2>>"$rundir/pgbuild$v.log" || true
	 fi) &
	bpids+=($!)
done

# each version in a copy of the tree (its own objects, results/ and
# regression.diffs) and in its own namespaces; where unshare is not
# permitted, one after the other in the open
isolated=0
unshare --net --mount --pid --fork --mount-proc true 2>/dev/null && isolated=1
run_one() {			# run_one VERSION: the version's run, its output in $rundir/pgV.log
	local v=$1 dir=$rundir/pg$1 sel=0
	mkdir -p "$dir"
	tar -C "$MP_ROOT" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
		--exclude=./results --exclude=./test/fuzz/build --exclude=./test/bench/node/node_modules \
		--exclude='./regression.*' -cf - . | tar -C "$dir" -xf -
	chmod 755 "$dir"		# a clone in a mktemp -d folder is 0700: the cluster's user reads the copy
	[ "$v" = "$first" ] && sel=1
	if [ $isolated = 1 ]; then
		MP_SELFTEST=$sel MP_ISOLATE_NEST=1 bash "$dir/test/isolate.sh" \
			bash "$dir/test/run_version.sh" "$v" "$rundir/pg$v.result" >"$rundir/pg$v.log" 2>&1 &
		echo $! >"$rundir/pg$v.pid"	# killed at exit with its namespace (cleanup)
		wait $!
		rm -f "$rundir/pg$v.pid"
	else
		MP_SELFTEST=$sel bash "$dir/test/run_version.sh" "$v" "$rundir/pg$v.result" >"$rundir/pg$v.log" 2>&1
	fi
	[ -f "$dir/regression.diffs" ] && cp "$dir/regression.diffs" "regression.pg$v.diffs"
	return 0
}
vpids=()
for v in $versions; do
	if [ $isolated = 1 ]; then
		run_one "$v" &
		vpids+=($!)
	fi
done

# meanwhile, here
# the schedule runs the Makefile's suites, each once
schedule_complete() {
	diff <(sed -n '/^REGRESS *=/,/[^\\]$/p' Makefile | sed 's/^REGRESS *=//; s/\\$//' | tr -s ' \t' '\n' | grep . | sort) \
		<(sed -n 's/^test: *//p' test/schedule | tr -s ' \t' '\n' | grep . | sort)
}
step "test/schedule runs the suites of the Makefile's REGRESS" schedule_complete
if [ -f test/unit/Makefile ]; then
	step "unit tests (CSV parser, header parsers, date windows)" make -s -C test/unit check
fi
# doc/architecture.md's layer table against the code: no call up, no circle
step "layers: no C file calls a layer above it or back into a circle" python3 test/layers.py
if [ -x test/fuzz/run.sh ] && command -v clang >/dev/null 2>&1 && [ "${MP_SKIP_FUZZ:-0}" != 1 ]; then
	step "short fuzz run" test/fuzz/run.sh "${MP_FUZZ_SECONDS:-5}"
fi
# dpkg -i replaces the installed files of 15; each version's run has
# private copies of them (in the open: after the versions, as before)
[ $isolated = 1 ] && [ "${MP_SKIP_DEB:-0}" != 1 ] &&
	step "Debian package builds, installs and loads (PostgreSQL 15)" env MP_PGVER=15 bash test/deb.sh

if [ $isolated = 1 ]; then
	wait "${vpids[@]}"
else
	for v in $versions; do run_one "$v"; done
	[ "${MP_SKIP_DEB:-0}" = 1 ] || step "Debian package builds, installs and loads (PostgreSQL 15)" env MP_PGVER=15 bash test/deb.sh
fi
[ ${#bpids[@]} -eq 0 ] || wait "${bpids[@]}"

# Citus (doc/operations.md, "Beyond one machine"): when its source is beside
# the checkout; after the versions (it needs 17's server, and the CPU)
if [ -n "$citus_src" ]; then
	step "Citus: a coordinator and two workers (test/citus.sh)" bash test/citus.sh
fi

# each version's output, then its results
declare -A suites=()
for v in $versions; do
	echo
	mp_log "PostgreSQL $v (output of test/run_version.sh)"
	cat "$rundir/pg$v.log" 2>/dev/null
done
for f in "$rundir"/pgbuild*.result "$rundir"/pg[0-9]*.result; do
	[ -f "$f" ] || continue
	v=${f##*/pg}; v=${v%.result}; v=${v#build}
	while read -r kind rest; do
		case $kind in
		pass) passed=$((passed + 1)) ;;
		fail) failed=$((failed + 1)); failures+=("$rest") ;;
		suites)
			set -- $rest
			passed=$((passed + $1)); failed=$((failed + $2))
			suites[$v]="$1 passed, $2 failed"
			[ "$2" -gt 0 ] && failures+=("PostgreSQL $v: pg_regress, $2 suites (regression.pg$v.diffs)") ;;
		time) times+=("$(printf '%6d s  %s' "${rest##* }" "${rest% *}")") ;;
		esac
	done <"$f"
done
for v in $versions; do
	if [ -z "${suites[$v]:-}" ]; then
		failed=$((failed + 1)); failures+=("PostgreSQL $v: no suite ran (see its output above)")
	fi
done

echo
echo "Time per step (started at once where they could; wall clock):"
printf '%s\n' "${times[@]}"
printf '%6d s  %s\n' $((SECONDS - start)) "the whole run${MP_LOAD:+, MP_LOAD=$MP_LOAD}"
for v in $versions; do echo "PostgreSQL $v: pg_regress ${suites[$v]:-not run}"; done
if [ $failed -gt 0 ]; then
	printf 'FAILED: %s\n' "${failures[@]}"
	echo "each version's tree, results/ and logs: $rundir"
else
	rm -rf "$rundir"
fi
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
exit
}
