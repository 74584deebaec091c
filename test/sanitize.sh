#!/usr/bin/env bash
# test/sanitize.sh — the pg_regress suites (REGRESS in the Makefile) with the
# extension under a memory error detector:
#
#   bash test/sanitize.sh asan       built with clang -fsanitize=address,undefined;
#                                    the postmaster runs with the ASan runtime in
#                                    LD_PRELOAD
#   bash test/sanitize.sh valgrind   the usual build; the postmaster, and so every
#                                    backend, runs under valgrind memcheck
#
# As root on Debian 12.  Installs what is missing, builds a snapshot of the
# work tree (Makefile, sources, sql/, expected/, the test/*.sh the suites
# run; the work tree's own objects and results/ are not touched), starts the
# mock API and a throwaway cluster
# with test/lib.sh (same ports, same $MP_TESTDIR: the SQL suites name them),
# runs `make installcheck` in the snapshot, then reads the sanitizer or
# valgrind logs and ends with
#   "<mode>: N reports attributed to mangopay_fdw, M elsewhere"
# A report is attributed to mangopay_fdw when one of its stacks has a frame in
# mangopay_fdw.so or in one of our source files.  Exit status: non-zero when
# N > 0 or the suites could not run.  pg_regress failures alone are printed
# but do not change it (under valgrind, timing checks may fail);
# MP_SAN_STRICT=1 makes them count.
#
# Isolation.  test/run.sh, the demo, the benchmarks and CI use the same ports,
# the same $MP_TESTDIR and the same installed mangopay_fdw.so.  So, where
# `unshare` works (root), the run happens, through test/isolate.sh, in its own network namespace (its
# own loopback: the fixed ports are free) and mount namespace: a private
# tmpfs on /tmp (so $MP_TESTDIR is private) and private copies of
# PostgreSQL's lib/ and extension/ directories, into which the instrumented
# build is installed.  Nothing outside is touched: another run may go on at
# the same time, and there is nothing to restore afterwards.  A PID namespace
# as well: when the run ends, every process it started (the cluster, the
# mock) ends with it.
# MP_SAN_ISOLATE=0 (or no unshare) runs in the open instead: the script then
# waits until no other run is active (no mock, no cluster in $MP_TESTDIR, no
# pg_regress / test/run.sh, for MP_SAN_QUIET=60 s; polled every 30 s, up to
# MP_SAN_WAIT=3600 s), installs the instrumented build over the normal one,
# and at the end puts back a normal build: `make clean && make && make
# install` in the work tree with the default compiler (MP_SAN_RESTORE=1 does
# that in isolated mode too).
#
# Results are copied to $MP_SAN_OUT (default /tmp/mangopay_fdw_sanitize/<mode>):
# summary.txt, reports.txt (every report, grouped, with its full text), the
# raw logs (san/ or valgrind/), regress.out, regression.diffs, postgres.log.
#
# Variables: those of test/lib.sh, and MP_SAN_OUT, MP_SAN_ISOLATE,
# MP_SAN_RESTORE, MP_SAN_STRICT, MP_SAN_WAIT, MP_SAN_QUIET,
# MP_SAN_START_TIMEOUT (seconds for the postmaster to accept connections,
# default 600), MP_VALGRIND_ARGS (more valgrind options), MP_SAN_REGRESS (the
# suites to run, default all: "setup lists" for a quick look).
# The whole script is one { } block: bash reads it all before running it, so
# editing this file during a run does not change the run.
{
set -uo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

mode=${1:-}
case $mode in
asan|valgrind) ;;
*) echo "usage: bash test/sanitize.sh asan|valgrind" >&2; exit 2 ;;
esac

SAN_HOME=/tmp/mangopay_fdw_sanitize
MP_SAN_OUT=${MP_SAN_OUT:-$SAN_HOME/$mode}
MP_SAN_START_TIMEOUT=${MP_SAN_START_TIMEOUT:-600}
PG_CONFIG_BIN=$(mp_pgbin)/pg_config
BUILD=$SAN_HOME/build-$mode
export MP_SAN_OUT

# what else may hold the ports, $MP_TESTDIR or the installed mangopay_fdw.so
others_running() {
	pgrep -f 'mangopay_mock\.py' >/dev/null && { echo "the mock API"; return 0; }
	pgrep -f "postgres -D $MP_TESTDIR" >/dev/null && { echo "a cluster in $MP_TESTDIR"; return 0; }
	pgrep -f 'pg_regress|test/(run|demo)\.sh|test/bench/' >/dev/null &&
		{ echo "pg_regress, test/run.sh, demo or a benchmark"; return 0; }
	return 1
}
# nothing else for MP_SAN_QUIET seconds (scripts that build, then start the
# environment, leave short gaps), polled every 5 s; while something runs,
# every 30 s
wait_for_others() {
	local waited=0 quiet=0 what said=0
	while [ "$quiet" -lt "${MP_SAN_QUIET:-60}" ]; do
		if what=$(others_running); then
			quiet=0
			if [ "$waited" -ge "${MP_SAN_WAIT:-3600}" ]; then
				mp_log "still running after ${waited}s: $what; giving up"
				return 1
			fi
			[ "$said" = 1 ] || mp_log "waiting: $what is running (polling every 30 s)"
			said=1
			sleep 30; waited=$((waited + 30))
		else
			sleep 5; quiet=$((quiet + 5)); waited=$((waited + 5))
		fi
	done
}

# ================================================================ outside
if [ "${MP_SAN_INSIDE:-0}" != 1 ]; then
	t0=$(date +%s)
	mkdir -p "$SAN_HOME"
	# one run per mode at a time (the snapshot and the output are per mode);
	# held here only, not by the cluster or the mock (9>&- below)
	exec 9>"$SAN_HOME/$mode.lock"
	flock -n 9 || { mp_log "another test/sanitize.sh $mode runs; waiting for it"; flock 9; }

	# packages: before the network namespace, which has no way out
	mp_install_deps || exit 1
	need=""
	if [ "$mode" = asan ]; then
		for p in clang libclang-rt-14-dev llvm-14; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
	else
		dpkg -s valgrind >/dev/null 2>&1 || need="$need valgrind"
	fi
	if [ -n "$need" ]; then
		mp_log "installing:$need"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		apt-get install -y -q $need >/dev/null </dev/null || exit 1
	fi
	# the snapshot the whole run uses
	rm -rf "$BUILD"; mkdir -p "$BUILD/src"
	cp -p "$MP_ROOT"/Makefile "$MP_ROOT"/mangopay_fdw.c "$MP_ROOT"/mangopay_fdw.control \
		"$MP_ROOT"/mangopay_fdw--*.sql "$BUILD"/
	cp -p "$MP_ROOT"/src/*.[ch] "$BUILD/src/"
	cp -rp "$MP_ROOT/sql" "$MP_ROOT/expected" "$BUILD/"
	# the helper scripts the suites run (psql's \! bash test/....sh, from the
	# snapshot's folder): the second clusters of budget and sync
	mkdir -p "$BUILD/test"
	for f in $(cd "$MP_ROOT" && grep -ho 'bash test/[A-Za-z0-9_]*\.sh' sql/*.sql | sed 's/^bash //' | sort -u); do
		cp -p "$MP_ROOT/$f" "$BUILD/test/" || exit 1
	done
	chmod -R a+rX "$SAN_HOME"

	isolate=${MP_SAN_ISOLATE:-1}
	if [ "$isolate" = 1 ] && ! unshare --net --mount --pid --fork --mount-proc true 2>/dev/null; then
		mp_log "unshare --net --mount --pid is not permitted here: running in the open"
		isolate=0
	fi
	if [ "$isolate" = 1 ]; then
		# a PID namespace too: when the run ends, whatever it started is gone
		mp_log "running in private network, mount and PID namespaces"
		MP_SAN_INSIDE=1 MP_SAN_ISOLATED=1 MP_ISOLATE_KEEP="$SAN_HOME" \
			bash "$MP_ROOT/test/isolate.sh" bash "$0" "$mode" 9>&-
		rc=$?
		if [ "${MP_SAN_RESTORE:-0}" = 1 ]; then
			mp_log "restoring the normal build (make clean && make && make install, default CC)"
			mp_build || rc=1
		else
			mp_log "the installed mangopay_fdw was not touched (the $mode build went to private copies): nothing to restore"
		fi
	else
		wait_for_others || exit 1
		MP_SAN_INSIDE=1 MP_SAN_ISOLATED=0 bash "$0" "$mode" 9>&-
		rc=$?
		mp_log "restoring the normal build (make clean && make && make install, default CC)"
		mp_build || { mp_log "WARNING: the normal build failed; the installed mangopay_fdw.so may be the $mode one"; rc=1; }
	fi
	echo "wall time: $(( $(date +%s) - t0 )) s in all"
	exit $rc
fi

# ================================================================ inside
t_start=$(date +%s)
cleanup() {
	if [ -n "${vg_pid:-}" ] && kill -0 "$vg_pid" 2>/dev/null; then
		mp_as_postgres "$(mp_pgbin)/pg_ctl" -D "$MP_TESTDIR/pgdata" -m fast -t 300 -w stop >/dev/null 2>&1 || true
	fi
	mp_stop_env
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# in test/isolate.sh's namespaces when MP_SAN_ISOLATED=1: its own loopback,
# /tmp (with $SAN_HOME and the work tree kept) and PostgreSQL directories
cd "$MP_ROOT" || exit 1

# ---------------------------------------------------------------- build
if [ "$mode" = asan ]; then
	ASAN_RT=$(clang -print-file-name=libclang_rt.asan-x86_64.so)
	case $ASAN_RT in /*) ;; *) ASAN_RT=$(ls /usr/lib/llvm-14/lib/clang/*/lib/linux/libclang_rt.asan-x86_64.so 2>/dev/null | head -1) ;; esac
	[ -f "$ASAN_RT" ] || { mp_log "libclang_rt.asan-x86_64.so not found"; exit 1; }
	SYMBOLIZER=$(command -v llvm-symbolizer-14 || command -v llvm-symbolizer || echo /usr/lib/llvm-14/bin/llvm-symbolizer)
	# PostgreSQL's code-generation flags (-fno-strict-aliasing -fwrapv), its
	# warnings less those clang reads differently, the sanitizers; -O1 -g for
	# exact stacks.  UBSan recovers: it reports and goes on, so one run finds
	# every report.  ASan stops the process at its first report
	# (abort_on_error below).  -shared-libasan: the .so needs the runtime the
	# postmaster preloads.  Debug info names the work tree's files.
	SAN_FLAGS="-fsanitize=address,undefined -fno-omit-frame-pointer -shared-libasan"
	CFLAGS_ASAN="-O1 -g -fno-strict-aliasing -fwrapv -Wall -Wmissing-prototypes -Wpointer-arith \
		-Wdeclaration-after-statement -Werror=vla -Wendif-labels -Wformat-security \
		-Wno-unused-command-line-argument -Wno-compound-token-split-by-macro -Wno-ignored-attributes \
		-fdebug-prefix-map=$BUILD=$MP_ROOT $SAN_FLAGS"
	make_args=(CC=clang "CFLAGS=$CFLAGS_ASAN" "COPT=$SAN_FLAGS")
	# Preloaded, the ASan runtime initializes at the first malloc(), and the
	# first one of postgres (and of curl) comes from libgpg-error's constructor
	# inside bindtextdomain(), which holds glibc's _nl_state_lock; the runtime's
	# initialization calls dlerror(), which takes that lock again and leaves it
	# broken: the process hangs in its next bindtextdomain()
	# (llvm/llvm-project#49223, google/sanitizers#1270).  This shim, preloaded
	# after the runtime, allocates once before any of glibc's locale/gettext
	# entry points runs, so the runtime is initialized outside those locks.
	cat >"$BUILD/asan_init_first.c" <<'C'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <locale.h>
#include <stdlib.h>

static void asan_init_now(void)
{
	static int done;
	if (!done) { void *volatile p; done = 1; p = malloc(1); free(p); }
}
#define FORWARD(ret, name, params, args) \
	ret name params \
	{ \
		static ret (*real) params; \
		asan_init_now(); \
		if (!real) real = (ret (*) params) dlsym(RTLD_NEXT, #name); \
		return real args; \
	}
FORWARD(char *, bindtextdomain, (const char *d, const char *dir), (d, dir))
FORWARD(char *, bind_textdomain_codeset, (const char *d, const char *c), (d, c))
FORWARD(char *, textdomain, (const char *d), (d))
FORWARD(char *, setlocale, (int c, const char *l), (c, l))
FORWARD(locale_t, newlocale, (int m, const char *l, locale_t b), (m, l, b))
C
	cc -shared -fPIC -O1 -Wall -o "$BUILD/asan_init_first.so" "$BUILD/asan_init_first.c" || exit 1
	chmod a+rx "$BUILD/asan_init_first.so"
	PRELOAD="$ASAN_RT:$BUILD/asan_init_first.so"
	timeout 30 env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS=detect_leaks=0 "$(mp_pgbin)/postgres" --version >/dev/null ||
		{ mp_log "postgres does not start with $PRELOAD preloaded"; exit 1; }
else
	# the usual flags (PostgreSQL's, -O2 -g): the build that ships
	make_args=("COPT=-fdebug-prefix-map=$BUILD=$MP_ROOT")
fi
mp_log "building mangopay_fdw for $mode in $BUILD"
make -C "$BUILD" -s clean >/dev/null 2>&1
if ! make -C "$BUILD" -s PG_CONFIG="$PG_CONFIG_BIN" "${make_args[@]}" >"$BUILD/build.log" 2>&1 ||
   ! make -C "$BUILD" -s PG_CONFIG="$PG_CONFIG_BIN" "${make_args[@]}" install >>"$BUILD/build.log" 2>&1; then
	cat "$BUILD/build.log" >&2
	mp_log "the $mode build failed"; exit 1
fi
# our own warnings (the headers' are PostgreSQL's business)
grep -E '^(mangopay_fdw\.c|src/)[^ ]*: (warning|error)' "$BUILD/build.log" | head -20 >&2
SO=$("$PG_CONFIG_BIN" --pkglibdir)/mangopay_fdw.so
if [ "$mode" = asan ] && [ "$(nm -D "$SO" | grep -c __asan_report)" -eq 0 ]; then
	mp_log "$SO is not instrumented"; exit 1
fi

# ---------------------------------------------------------------- cluster
# The instrumented mangopay_fdw.so needs the ASan runtime, which only the
# restart below preloads: a postmaster started without it cannot load the
# library from shared_preload_libraries.  So the first start (test/lib.sh's)
# leaves mangopay_fdw out of the list, and the restart puts it back.
SAN_PRELOAD=$MP_PRELOAD
if [ "$mode" = asan ]; then
	MP_PRELOAD=$(echo ",$MP_PRELOAD," | sed -e 's/,mangopay_fdw,/,/g' -e 's/^,*//' -e 's/,*$//')
fi
mp_start_env || exit 1
curl -sf "http://127.0.0.1:$MP_MOCK_PORT/__mock/health" >/dev/null ||
	{ mp_log "the mock API is not answering"; cat "$MP_TESTDIR/mock.out" >&2; exit 1; }
bin=$(mp_pgbin)
DATA=$MP_TESTDIR/pgdata
if [ "$mode" = asan ]; then
	LOGDIR=$MP_TESTDIR/san
	mkdir -p "$LOGDIR"; chown postgres "$LOGDIR"
	# detect_leaks=0: memory contexts are freed wholesale, leak reports would
	# be noise.  abort_on_error=1: a report ends the process with SIGABRT,
	# which the postmaster logs as a crash (an exit code of 1 would pass
	# unnoticed).  The shell and curl that COPY FROM PROGRAM runs (the suites'
	# helpers) inherit the variables and run with the runtime preloaded; their
	# reports, if any, count as "elsewhere".
	ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:halt_on_error=1:disable_coredump=1:log_path=$LOGDIR/asan:external_symbolizer_path=$SYMBOLIZER:symbolize=1:print_summary=1"
	UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:report_error_type=1:log_path=$LOGDIR/ubsan:external_symbolizer_path=$SYMBOLIZER"
	# the last setting in the file wins
	echo "shared_preload_libraries = '$SAN_PRELOAD'" >>"$DATA/postgresql.conf"
	mp_log "restarting the postmaster with $PRELOAD preloaded (shared_preload_libraries '$SAN_PRELOAD')"
	if ! mp_as_postgres env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS" \
		"$bin/pg_ctl" -D "$DATA" -l "$MP_TESTDIR/postgres.log" -t "$MP_SAN_START_TIMEOUT" -w restart >/dev/null; then
		tail -20 "$MP_TESTDIR/postgres.log" >&2; exit 1
	fi
	# the runtime is in the postmaster, and a program run by COPY FROM PROGRAM works
	pm=$(head -1 "$DATA/postmaster.pid")
	grep -q libclang_rt.asan "/proc/$pm/maps" || { mp_log "the ASan runtime is not in the postmaster"; exit 1; }
	got=$(mp_psql -At -c "SHOW shared_preload_libraries" 2>&1)
	[ "$got" = "$SAN_PRELOAD" ] ||
		{ mp_log "shared_preload_libraries is '$got' after the restart, not '$SAN_PRELOAD'"; exit 1; }
	out=$(mp_psql -At -c "CREATE TEMP TABLE _p(l text); COPY _p FROM PROGRAM 'echo \$LD_PRELOAD; curl -sf http://127.0.0.1:$MP_MOCK_PORT/__mock/health >/dev/null && echo curl-ok'; SELECT string_agg(l, ' ') FROM _p" 2>&1)
	case $out in
	*libclang_rt.asan*curl-ok*) mp_log "COPY FROM PROGRAM with the runtime preloaded: ok" ;;
	*) mp_log "COPY FROM PROGRAM with the runtime preloaded failed: $out"; exit 1 ;;
	esac
else
	LOGDIR=$MP_TESTDIR/valgrind
	mkdir -p "$LOGDIR"; chown postgres "$LOGDIR"
	cp test/valgrind.supp "$MP_TESTDIR/valgrind.supp"; chmod a+r "$MP_TESTDIR/valgrind.supp"
	mp_as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null
	# Backends are forked, not exec'd: they stay under valgrind whatever
	# --trace-children says.  --trace-children=yes follows exec'd programs
	# too, but not the shell and curl of COPY FROM PROGRAM (not our code, and
	# slow under valgrind).  No --error-exitcode: a backend exiting with it
	# would make the postmaster reinitialize as after a crash; errors are
	# counted from the logs.  No leak check (memory contexts).
	mp_log "starting the postmaster under valgrind (logs: $LOGDIR/valgrind.<pid>.log)"
	mp_as_postgres valgrind --tool=memcheck --trace-children=yes \
		--trace-children-skip='/bin/sh,/usr/bin/sh,/bin/bash,/usr/bin/bash,/usr/bin/curl' \
		--leak-check=no --track-origins=yes --num-callers=40 --read-var-info=no \
		--suppressions="$MP_TESTDIR/valgrind.supp" --gen-suppressions=all \
		--error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END --fullpath-after= \
		--log-file="$LOGDIR/valgrind.%p.log" ${MP_VALGRIND_ARGS:-} \
		"$bin/postgres" -D "$DATA" >>"$MP_TESTDIR/postgres.log" 2>&1 </dev/null &
	vg_pid=$!
	ok=0
	for _ in $(seq 1 "$MP_SAN_START_TIMEOUT"); do
		"$bin/pg_isready" -q && { ok=1; break; }
		kill -0 "$vg_pid" 2>/dev/null || break
		sleep 1
	done
	if [ $ok != 1 ]; then
		mp_log "the postmaster did not start under valgrind"; tail -20 "$MP_TESTDIR/postgres.log" >&2; exit 1
	fi
fi
pm=$(head -1 "$DATA/postmaster.pid")
mock_pid=$(cat "$MP_TESTDIR/mock.pid" 2>/dev/null)

# ---------------------------------------------------------------- suites
mp_log "pg_regress suites ($mode)"
t_suites=$(date +%s)
# Under asan, pg_regress and psql run with the runtime preloaded too: the
# helper scripts they start (psql's \!) start second clusters (budget's
# without preload, sync's kill -9 one), whose postmasters then load the
# instrumented library and report into the same logs.
run_env=(env)
[ "$mode" = asan ] && run_env=(env LD_PRELOAD="$PRELOAD" ASAN_OPTIONS="$ASAN_OPTIONS" UBSAN_OPTIONS="$UBSAN_OPTIONS")
"${run_env[@]}" make -C "$BUILD" -s installcheck PG_CONFIG="$PG_CONFIG_BIN" ${MP_SAN_REGRESS:+REGRESS="$MP_SAN_REGRESS"} \
	>"$MP_TESTDIR/regress.out" 2>&1
rc=$?
t_suites=$(( $(date +%s) - t_suites ))
cat "$MP_TESTDIR/regress.out"
ok=$(grep -cE '\.\.\. ok|^ok ' "$MP_TESTDIR/regress.out")
bad=$(grep -cE '\.\.\. FAILED|^not ok ' "$MP_TESTDIR/regress.out")
failed_suites=$(grep -E '\.\.\. FAILED|^not ok ' "$MP_TESTDIR/regress.out" |
	sed -E 's/^(test|not ok [0-9]+ -) *//; s/ .*//' | tr '\n' ' ' | sed 's/ $//')
# in the open, another run may have replaced the cluster or the mock meanwhile
clobbered=0
if [ "$(head -1 "$DATA/postmaster.pid" 2>/dev/null)" != "$pm" ] ||
   [ "$(cat "$MP_TESTDIR/mock.pid" 2>/dev/null)" != "$mock_pid" ]; then
	clobbered=1
fi

# stop (valgrind writes its last lines at exit), keep the logs
if [ "$mode" = valgrind ]; then
	mp_as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -t 300 -w stop >/dev/null 2>&1 || true
	for _ in $(seq 1 120); do kill -0 "$vg_pid" 2>/dev/null || break; sleep 1; done
else
	mp_as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
fi
mp_stop_env
rm -rf "$MP_SAN_OUT"; mkdir -p "$MP_SAN_OUT"
cp -r "$LOGDIR" "$MP_TESTDIR/regress.out" "$MP_TESTDIR/postgres.log" "$MP_SAN_OUT/"
[ -f "$BUILD/regression.diffs" ] && cp "$BUILD/regression.diffs" "$MP_SAN_OUT/"
[ "$rc" -ne 0 ] && [ -f "$BUILD/regression.diffs" ] && head -150 "$BUILD/regression.diffs"

# ---------------------------------------------------------------- reports
python3 - "$mode" "$MP_SAN_OUT" "$MP_ROOT" "$BUILD" >"$MP_SAN_OUT/summary.txt" <<'PY'
import os, re, sys, glob, collections
mode, out, root, build = sys.argv[1:5]
# a frame of ours: in mangopay_fdw.so, or in one of our source files
ours_re = re.compile(r'mangopay_fdw\.so|(%s|%s)/(mangopay_fdw\.c|src/[A-Za-z0-9_]+\.[ch])'
                     % (re.escape(root), re.escape(build)))
reports = []   # (file, text)

def split_san(path):
    # a report starts at an ASan/LSan ERROR or a UBSan "runtime error:" line
    # and runs to the next one
    cur = None
    for line in open(path, errors='replace').read().splitlines():
        if re.search(r'ERROR: (Address|Leak)Sanitizer|WARNING: AddressSanitizer|runtime error:', line):
            if cur: reports.append((path, '\n'.join(cur)))
            cur = [line]
        elif cur is not None:
            if re.match(r'\d{4}-\d\d-\d\d \d\d:\d\d:\d\d', line):   # back to the server log
                reports.append((path, '\n'.join(cur))); cur = None
            else:
                cur.append(line)
    if cur: reports.append((path, '\n'.join(cur)))

def split_vg(path):
    cur = None
    for line in open(path, errors='replace'):
        body = re.sub(r'^==\d+== ?', '', line.rstrip('\n'))
        if body == 'VALGRINDERROR-BEGIN': cur = []
        elif body == 'VALGRINDERROR-END':
            if cur is not None: reports.append((path, '\n'.join(cur)))
            cur = None
        elif cur is not None: cur.append(body)

if mode == 'asan':
    files = sorted(glob.glob(os.path.join(out, 'san', '*')))
    for f in files: split_san(f)
    # anything that went to stderr rather than to a log_path file
    split_san(os.path.join(out, 'postgres.log'))
else:
    files = sorted(glob.glob(os.path.join(out, 'valgrind', 'valgrind.*.log')))
    for f in files: split_vg(f)

def frames(text):
    return [l.strip() for l in text.splitlines() if re.match(r'\s*(#\d+ |at 0x|by 0x)', l)]

def signature(text):
    head = text.splitlines()[0].strip()
    if 'runtime error:' in head:
        head = re.sub(r'^.*?(\S+:\d+:\d+: runtime error: .*)$', r'\1', head)
        return re.sub(r'0x[0-9a-f]+', '0x…', head)
    head = re.sub(r'^==\d+==', '', head)
    head = re.sub(r' on (unknown )?address 0x[0-9a-f]+.*$', '', head)
    head = re.sub(r'0x[0-9a-f]+', '0x…', head).strip()
    fr = frames(text)
    ours = [f for f in fr if ours_re.search(f)]
    where = ours[0] if ours else (fr[0] if fr else '')
    where = re.sub(r'^#\d+ 0x[0-9a-f]+ in |^(at|by) 0x[0-9A-F]+: ', '', where)
    return head + '  @ ' + where

groups = collections.OrderedDict()
n_ours = n_else = 0
for f, t in reports:
    ours = bool(ours_re.search(t))
    if ours: n_ours += 1
    else: n_else += 1
    g = groups.setdefault((ours, signature(t)), {'n': 0, 'files': [], 'text': t})
    g['n'] += 1
    g['files'].append(os.path.basename(f))

with open(os.path.join(out, 'reports.txt'), 'w') as r:
    for (ours, sig), g in groups.items():
        r.write('=' * 78 + '\n%s x%d  [%s]\nfiles: %s\n\n%s\n\n' % (
            'MANGOPAY_FDW' if ours else 'elsewhere', g['n'], sig,
            ' '.join(g['files'][:20]) + (' ...' if len(g['files']) > 20 else ''), g['text']))
print('log files read: %d' % len(files))
for (ours, sig), g in groups.items():
    print('  %-12s x%-4d %s' % ('mangopay_fdw' if ours else 'elsewhere', g['n'], sig[:300]))
print('%s: %d reports attributed to mangopay_fdw, %d elsewhere' % (mode, n_ours, n_else))
PY
summary=$(tail -1 "$MP_SAN_OUT/summary.txt")
attributed=$(echo "$summary" | sed -nE 's/^[a-z]+: ([0-9]+) reports attributed.*/\1/p')
{
	echo
	echo "pg_regress: $ok suites ok, $bad failed${failed_suites:+ ($failed_suites)}; the suites took ${t_suites} s, build + suites $(( $(date +%s) - t_start )) s"
	[ "$clobbered" = 1 ] && echo "WARNING: another run replaced the cluster or the mock during this one: the results are not valid"
	echo "details: $MP_SAN_OUT/reports.txt"
} >>"$MP_SAN_OUT/summary.txt"
cat "$MP_SAN_OUT/summary.txt"
echo "$summary"
status=0
[ -n "$attributed" ] || { echo "could not read the logs"; status=1; }
[ "${attributed:-1}" -eq 0 ] || status=1
[ "$ok" -gt 0 ] || status=1
[ "$clobbered" = 0 ] || status=3
[ "${MP_SAN_STRICT:-0}" = 1 ] && [ "$rc" -ne 0 ] && status=1
exit $status
}
