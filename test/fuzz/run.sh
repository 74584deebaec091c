#!/usr/bin/env bash
#
# test/fuzz/run.sh -- build and run the libFuzzer targets of mangopay_fdw
#
# Usage: test/fuzz/run.sh [seconds-per-target] [target...]
#
# Builds each target (fuzz_csv, fuzz_headers, fuzz_windows, fuzz_json) with
# clang -fsanitize=fuzzer,address,undefined, runs it for the given number of
# seconds (default 10) starting from the seed corpus in corpus/<target>/, and
# prints the executions and crashes of each target, taken from libFuzzer's
# final statistics.  Exits non-zero if any target crashed.
#
# Needs clang with libFuzzer.  On Debian 12 clang 14's libFuzzer runtime
# (libclang_rt.fuzzer-x86_64.a) comes with the package libclang-rt-14-dev,
# which "apt-get install clang" pulls in; if linking with -fsanitize=fuzzer
# fails, "apt-get install -y libclang-rt-14-dev".  fuzz_json links the system
# cJSON (libcjson-dev).
#
# Environment: CLANG (default clang), FUZZ_BUILD_DIR (default
# test/fuzz/build), FUZZ_JOBS (parallel targets, default 1).  New corpus
# entries and crash artifacts go to the build directory, never to the seed
# corpus.

set -u

secs=${1:-10}
shift || true
here=$(cd "$(dirname "$0")" && pwd)
src=$(cd "$here/../../src" && pwd)
build=${FUZZ_BUILD_DIR:-$here/build}
clang=${CLANG:-clang}
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
	targets=(fuzz_csv fuzz_headers fuzz_windows fuzz_json)
fi

case "$secs" in
	''|*[!0-9]*) echo "run.sh: seconds must be a number" >&2; exit 2 ;;
esac

mkdir -p "$build"

# Can we link a libFuzzer binary at all?
probe_src="$build/probe.c"
printf '%s\n' '#include <stddef.h>' '#include <stdint.h>' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);' \
	'int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void) d; (void) n; return 0; }' \
	> "$probe_src"
if ! "$clang" -fsanitize=fuzzer "$probe_src" -o "$build/probe" 2> "$build/probe.log"; then
	echo "run.sh: $clang cannot link with -fsanitize=fuzzer:" >&2
	cat "$build/probe.log" >&2
	echo "run.sh: try: apt-get install -y libclang-rt-14-dev" >&2
	exit 2
fi

cflags=(-std=c11 -g -O1 -Wall -Wextra -Werror
		-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
		-fno-omit-frame-pointer -I"$src")

status=0
printf '%-14s %12s %8s  %s\n' target executions crashes notes
for t in "${targets[@]}"; do
	bin="$build/$t"
	corpus="$build/corpus/$t"
	artifacts="$build/artifacts/$t"
	log="$build/$t.log"
	mkdir -p "$corpus" "$artifacts"
	rm -f "$artifacts"/crash-* "$artifacts"/leak-* "$artifacts"/timeout-* \
		"$artifacts"/oom-* "$artifacts"/slow-unit-*

	if ! "$clang" "${cflags[@]}" -o "$bin" "$here/$t.c" \
		"$src/csv.c" "$src/csv_parser.c" "$src/apiparse.c" "$src/windows.c" "$src/jsonrow.c" \
		-lcjson -lm 2> "$build/$t.build.log"; then
		cat "$build/$t.build.log" >&2
		printf '%-14s %12s %8s  %s\n' "$t" - - "BUILD FAILED"
		status=1
		continue
	fi

	ASAN_OPTIONS=detect_leaks=1 \
	UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	"$bin" -max_total_time="$secs" -print_final_stats=1 -max_len=4096 \
		-timeout=10 -rss_limit_mb=2048 -artifact_prefix="$artifacts/" \
		"$corpus" "$here/corpus/$t" > "$log" 2>&1
	rc=$?

	execs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
	if [ -z "$execs" ]; then
		execs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
	fi
	crashes=$(find "$artifacts" -type f \( -name 'crash-*' -o -name 'leak-*' \
		-o -name 'timeout-*' -o -name 'oom-*' \) | wc -l)
	note=""
	if [ "$rc" -ne 0 ] || [ "$crashes" -ne 0 ]; then
		status=1
		[ "$crashes" -eq 0 ] && crashes=1
		note="exit $rc; see $log and $artifacts/"
	fi
	printf '%-14s %12s %8s  %s\n' "$t" "${execs:-?}" "$crashes" "$note"
done
exit $status
