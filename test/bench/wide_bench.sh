#!/usr/bin/env bash
# test/bench/wide_bench.sh — benchmark, not part of the test command:
#
#   bash test/isolate.sh bash test/bench/wide_bench.sh
#
# A full TRANSACTIONS report: all 37 columns, $ROWS rows (default 500,000),
# SELECT * the way a materialized view reads it.  The mock builds the file
# once and then serves it from memory (config bench_rows + bench_cache), so
# the report server streams at once and every run reads the same bytes; the
# WHERE clause has fixed dates so each run asks for the same report.
# Measured in one run, the three ways taking turns $REPEAT (5) times after
# one unmeasured warm-up each, medians compared:
#   copy    COPY FROM PROGRAM 'curl <DownloadURL>' (FORMAT csv, HEADER) into
#           an UNLOGGED table of 37 text columns (the baseline);
#   attrs   INSERT INTO an UNLOGGED table SELECT * (attrs included);
#   plain   the same without the attrs column (its 37 typed columns).
# Rates are rows/s (each way's own rows: the FDW drops the rows of the extra
# second it asks for on each side).  Backend CPU is user + system of the
# backend from /proc (for COPY, curl's CPU too: it is the backend's waited-for
# child), scaled to 1,000,000 rows.  Then, with $MEM_ROWS rows (1,000,000)
# generated on the fly: the backend's memory growth over a SELECT * read
# whole (VmHWM after it minus VmRSS before; nothing written), and count(*)
# of the same report.
# Targets: attrs >= 0.8 x COPY, plain >= 1.0 x COPY (rows/s); attrs backend
# CPU <= 1.5 x COPY's; memory growth < 32 MB.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh
ROWS=${ROWS:-500000}
MEM_ROWS=${MEM_ROWS:-1000000}
REPEAT=${REPEAT:-5}
# PERF=attrs|plain|copy: record the backend of that way's last run with perf (-g)
PERF=${PERF:-}

RES=$(mktemp -d /tmp/mp_wide.XXXXXX)
trap 'mp_stop_env; rm -rf "$RES"' EXIT
declare -A R
mock() { curl -sf -X POST -H 'Content-Type: application/json' --data-binary "$2" \
	"http://127.0.0.1:$MP_MOCK_PORT/__mock/$1" >/dev/null; }
psql_r() {	# run psql, keep its "R key value" lines in R[]
	local out="$RES/psql.out" k v
	mp_psql -d postgres -At "$@" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
	grep -v '^R ' "$out" || true
	while read -r _ k v; do R[$k]=$v; done < <(grep '^R ' "$out")
}
calc() { python3 -c "print($1)"; }
median() { python3 -c 'import sys,statistics; print(statistics.median(float(x) for x in sys.argv[1:]))' "$@"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

mp_install_deps
mp_build
mp_start_env
mp_setup_db >/dev/null
srv() { mp_psql -d postgres -c "ALTER SERVER mangopay OPTIONS (ADD $1 '$2')" >/dev/null; }
# the report is ready at once and polled after 20 ms: the runs measure the
# download and the rows, not the report's generation (test/bench/run.sh does)
srv report_poll_ms 20
# one CSV shape (the mock otherwise gives each new report the next of its 16
# shapes: a new file to build in Python, not the bytes of the cached one)
mock config "{\"bench_rows\": $ROWS, \"bench_cache\": true, \"report_delay_ms\": 0, \"csv_shape\": \"crlf\"}"
R[load0]=$(load)

# fixed dates: every run asks for the same report, which the mock has cached
A=$(date -u -d '3 days ago' '+%F %T'); B=$(date -u -d '1 hour ago' '+%F %T')
where="creation_date >= '$A+00' AND creation_date < '$B+00'"
nocols=$(mp_psql -d postgres -At -c "SELECT string_agg(quote_ident(attname), ', ' ORDER BY attnum)
  FROM pg_attribute WHERE attrelid = 'mangopay.transactions'::regclass AND attnum > 0
   AND NOT attisdropped AND attname <> 'attrs'")
ncols=$(mp_psql -d postgres -At -c "SELECT count(*) FROM pg_attribute
  WHERE attrelid = 'mangopay.transactions'::regclass AND attnum > 0 AND NOT attisdropped AND attname <> 'attrs'")
textcols=$(python3 -c "print(', '.join('c%d text' % i for i in range($ncols)))")
psql_r <<SQL
CREATE UNLOGGED TABLE w_attrs AS SELECT * FROM mangopay.transactions WHERE false;
CREATE UNLOGGED TABLE w_plain AS SELECT $nocols FROM mangopay.transactions WHERE false;
CREATE UNLOGGED TABLE w_copy ($textcols);
SQL

WARM="SET client_min_messages = warning;
SELECT count(*) FROM mangopay.client_wallets \\gset
SELECT pg_backend_pid() AS bpid \\gset"
CPU="\\set c \`python3 test/bench/reqlog.py cpu :bpid\`"
# children's CPU too (curl under COPY FROM PROGRAM)
CCPU="\\set c \`awk -v t=\$(getconf CLK_TCK) '{print (\$14 + \$15 + \$16 + \$17) / t}' /proc/:bpid/stat\`"

run_way() {	# way run-number
	local way=$1 r=$2 sql pre=""
	case $way in
	attrs) sql="INSERT INTO w_attrs SELECT * FROM mangopay.transactions WHERE $where" ;;
	plain) sql="INSERT INTO w_plain SELECT $nocols FROM mangopay.transactions WHERE $where" ;;
	copy)
		# the CSV of the FDW's report: same rows, same 37 columns
		sql=":copy_cmd"
		pre="SELECT format('COPY w_copy FROM PROGRAM %L WITH (FORMAT csv, HEADER true)',
		  'curl -sf ' || quote_literal(download_url)) AS copy_cmd
		  FROM mangopay.reports WHERE report_type = 'TRANSACTIONS' AND jsonb_array_length(columns) = $ncols
		  ORDER BY creation_date DESC LIMIT 1 \\gset" ;;
	esac
	local ticks=$CPU
	[ "$way" != copy ] || ticks=$CCPU
	if [ -n "$PERF" ] && [ "$PERF" = "$way" ] && [ "$r" = "$REPEAT" ]; then
		# perf attaches to the backend while psql waits on the query
		pre="$pre
\\! perf record -g -o $RES/perf.data -p \$(cat $RES/bpid) >/dev/null 2>&1 & echo \$! > $RES/perf.pid; sleep 1"
	fi
	psql_r <<SQL
$WARM
\\o $RES/bpid
SELECT :bpid;
\\o
TRUNCATE w_$way;
$pre
$ticks
\\set c0 :c
SELECT extract(epoch FROM clock_timestamp()) AS t0 \\gset
$sql;
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s \\gset
$ticks
SELECT count(*) AS n FROM w_$way \\gset
\\echo R ${way}_s$r :s
\\echo R ${way}_n$r :n
\\echo R ${way}_c0$r :c0
\\echo R ${way}_c1$r :c
SQL
	if [ -n "$PERF" ] && [ "$PERF" = "$way" ] && [ "$r" = "$REPEAT" ]; then
		kill -INT "$(cat "$RES/perf.pid")" || true
		sleep 2
		perf report -i "$RES/perf.data" --no-children --percent-limit 1 --stdio 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -25 > "$RES/perf.txt" || true
		perf report -i "$RES/perf.data" --children --percent-limit 3 --stdio -g none 2>/dev/null |
			grep -E '^ +[0-9.]+%' | head -25 > "$RES/perf_children.txt" || true
	fi
}

mp_log "wide report: $ROWS rows x $ncols columns; warm-up (the mock builds the file once)"
for w in attrs plain copy; do run_way "$w" 0; done
# same rows every time
psql_r <<SQL
SELECT (SELECT count(*) FROM w_attrs) AS na, (SELECT count(*) FROM w_plain) AS np,
       (SELECT count(*) FROM w_copy) AS nc \\gset
\\echo R rows_attrs :na
\\echo R rows_plain :np
\\echo R rows_copy :nc
SELECT count(*) = 0 AS same FROM (SELECT $nocols FROM w_attrs EXCEPT ALL SELECT * FROM w_plain) x \\gset
\\echo R same_typed :same
-- attrs holds every CSV cell of its row: the ids of the COPY table
SELECT count(*) AS bad FROM w_attrs a
 WHERE a.attrs ->> 'Id' IS DISTINCT FROM a.id OR (SELECT count(*) FROM jsonb_object_keys(a.attrs)) <> $ncols \\gset
\\echo R attrs_bad :bad
SQL
for r in $(seq 1 "$REPEAT"); do
	mp_log "run $r of $REPEAT"
	for w in copy attrs plain; do run_way "$w" "$r"; done
done
R[load1]=$(load)

# memory: $MEM_ROWS rows generated on the fly, read whole, nothing written
mock config "{\"bench_rows\": $MEM_ROWS, \"bench_cache\": false}"
psql_r <<SQL
$WARM
CREATE OR REPLACE FUNCTION pg_temp.kb(field text) RETURNS bigint LANGUAGE sql AS \$\$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), field || ':\\s+(\\d+)'))[1]::bigint \$\$;
SELECT pg_temp.kb('VmRSS') AS rss0 \gset
$CPU
\\set c0 :c
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS n, sum(length(t::text)) AS len FROM mangopay.transactions t WHERE $where \gset
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s \gset
$CPU
SELECT pg_temp.kb('VmHWM') AS hwm \gset
\\echo R mem_n :n
\\echo R mem_s :s
\\echo R mem_c0 :c0
\\echo R mem_c1 :c
SELECT round((:hwm - :rss0) / 1024.0, 1) AS mb \gset
\\echo R mem_mb :mb
$CPU
\\set c0 :c
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS n FROM mangopay.transactions t WHERE $where \gset
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s \gset
$CPU
\\echo R cnt_n :n
\\echo R cnt_s :s
\\echo R cnt_c0 :c0
\\echo R cnt_c1 :c
SQL

# ------------------------------------------------------------------ report
list() { local r out=""; for r in $(seq 1 "$REPEAT"); do out="$out${out:+ }$(printf %.2f "${R[$1_s$r]}")"; done; echo "$out"; }
med() { local r a=(); for r in $(seq 1 "$REPEAT"); do a+=("${R[$1_s$r]}"); done; median "${a[@]}"; }
cpu_m() { local r a=(); for r in $(seq 1 "$REPEAT"); do a+=("$(calc "(${R[$1_c1$r]} - ${R[$1_c0$r]}) / ${R[$1_n$r]} * 1e6")"); done; median "${a[@]}"; }
pass() { python3 -c "print('yes' if ($1) else 'NO')"; }
copy_s=$(med copy); attrs_s=$(med attrs); plain_s=$(med plain)
copy_rate=$(calc "${R[copy_n1]} / $copy_s"); attrs_rate=$(calc "${R[attrs_n1]} / $attrs_s")
plain_rate=$(calc "${R[plain_n1]} / $plain_s")
ra=$(calc "round($attrs_rate / $copy_rate, 2)"); rp=$(calc "round($plain_rate / $copy_rate, 2)")
cc=$(cpu_m copy); ca=$(cpu_m attrs); cp=$(cpu_m plain)
echo
echo "Wide TRANSACTIONS report: $ROWS rows x $ncols columns (the mock serving the file from memory);"
echo "medians of $REPEAT interleaved runs; command: bash test/isolate.sh bash test/bench/wide_bench.sh"
echo
echo "| way | times (s) | median | rows/s | / COPY | target |"
echo "| --- | --- | --- | --- | --- | --- |"
echo "| COPY FROM PROGRAM curl, $ncols text columns | $(list copy) | $(printf %.2f "$copy_s") | $(printf %.0f "$copy_rate") | 1 | |"
echo "| INSERT ... SELECT * (attrs included) | $(list attrs) | $(printf %.2f "$attrs_s") | $(printf %.0f "$attrs_rate") | $ra | >= 0.8: $(pass "$ra >= 0.8") |"
echo "| INSERT ... SELECT all but attrs | $(list plain) | $(printf %.2f "$plain_s") | $(printf %.0f "$plain_rate") | $rp | >= 1.0: $(pass "$rp >= 1.0") |"
echo
echo "| backend CPU per 1,000,000 rows (median) | s | / COPY | target |"
echo "| --- | --- | --- | --- |"
echo "| COPY (backend + curl) | $(printf %.2f "$cc") | 1 | |"
echo "| SELECT * (attrs included) | $(printf %.2f "$ca") | $(calc "round($ca / $cc, 2)") | <= 1.5: $(pass "$ca / $cc <= 1.5") |"
echo "| all but attrs | $(printf %.2f "$cp") | $(calc "round($cp / $cc, 2)") | |"
echo
mcpu=$(calc "round(${R[mem_c1]} - ${R[mem_c0]}, 2)")
echo "SELECT count(*), sum(length(t::text)) FROM transactions t (SELECT *, read whole, nothing written), ${R[mem_n]} rows generated on the fly:"
echo "  $(printf %.2f "${R[mem_s]}") s, backend CPU $mcpu s, backend memory growth ${R[mem_mb]} MB (target < 32: $(pass "${R[mem_mb]} < 32"))"
echo "SELECT count(*) of the same report: $(printf %.2f "${R[cnt_s]}") s, backend CPU $(calc "round(${R[cnt_c1]} - ${R[cnt_c0]}, 2)") s"
echo "rows: COPY ${R[rows_copy]} (CSV), attrs ${R[rows_attrs]}, plain ${R[rows_plain]} (the FDW drops the extra second);"
echo "  typed columns of the attrs and plain runs equal: ${R[same_typed]}; rows whose attrs miss a cell or the Id: ${R[attrs_bad]}"
echo "load average (1, 5, 15 min): before ${R[load0]}, after the timed runs ${R[load1]}; $(nproc) CPUs"
if [ -s "$RES/perf.txt" ]; then
	echo; echo "perf, backend of the last '$PERF' run (self):"; cat "$RES/perf.txt"
	echo; echo "perf (children):"; cat "$RES/perf_children.txt"
fi
