#!/usr/bin/env bash
# test/bench/run.sh — the benchmarks, in one run, on one mock and one data set.
# Not part of the test command.  Run it isolated, after installing the Node.js
# packages (the isolated network has no way out):
#
#   (cd test/bench/node && npm ci)
#   bash test/isolate.sh bash test/bench/run.sh [report] [backfill] [listing]
#
# With no argument all three run; the API-call comparison is made from the
# request log of whichever ran.  Measured, in this run:
#   report    a legacy TRANSACTIONS report of $ROWS rows (default 1,000,000),
#             streamed by the mock (config bench_rows), loaded into a local
#             UNLOGGED table three ways: mangopay_fdw INSERT ... SELECT; COPY
#             FROM PROGRAM 'curl <DownloadURL>' of the CSV the FDW's report
#             made; a Node.js script (node/report_copy.js) with MangoPay's
#             official SDK creating the report (same Filters and Columns),
#             polling it, and streaming the download into COPY through pg.
#             The three ways take turns, REPEAT (3) times; medians are compared.
#             Targets: FDW >= SDK script, FDW >= 0.8 x COPY (rows/s).
#   backfill  transactions over 36 months (6 report windows) with reports
#             taking 5 s to generate (report_delay_ms 5000): max_concurrency
#             1 vs 6, and a single 6-month window alone.  Target: 36 months at
#             6 within 1.5 x one window's time.
#   listing   200 pages of disputes (20,000 disputes, per_page 100) with 50 ms
#             latency on every API call: max_concurrency 1 vs 8.
#   calls     API requests per query, from the mock's request log, against
#             the least the API allows.  Target: equal.
# Every measured query runs in its own session after a warm-up query that
# fetched the OAuth token, so the token is not in the query's time or calls.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh
ROWS=${ROWS:-1000000}
REPEAT=${REPEAT:-3}		# the report benchmark's three ways, each this many times
LIST_DISPUTES=${LIST_DISPUTES:-20000}
BENCHES=${*:-report backfill listing}
export MP_MOCK_PORT MP_MOCK_DL_PORT
want() { case " $BENCHES " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
for b in $BENCHES; do
	case $b in report|backfill|listing) ;; *) echo "unknown benchmark: $b" >&2; exit 2 ;; esac
done

if want report && [ ! -d test/bench/node/node_modules/mangopay2-nodejs-sdk ]; then
	(cd test/bench/node && npm ci --no-audit --no-fund) || {
		echo "== install the Node.js packages first: (cd test/bench/node && npm ci)" >&2
		echo "   (outside test/isolate.sh, whose network has no way out)" >&2
		exit 1
	}
fi

RES=$(mktemp -d /tmp/mp_bench.XXXXXX)
trap 'mp_stop_env; rm -rf "$RES"' EXIT
declare -A R

mock() { curl -sf -X POST -H 'Content-Type: application/json' --data-binary "${2:-{\}}" \
	"http://127.0.0.1:$MP_MOCK_PORT/__mock/$1" >/dev/null; }
reqlog() { python3 test/bench/reqlog.py "$@"; }
# set a server option, or drop it (back to the default) with an empty value
srv_opt() {
	mp_psql -d postgres -c "ALTER SERVER mangopay OPTIONS (DROP $1)" >/dev/null 2>&1 || true
	[ -z "$2" ] || mp_psql -d postgres -c "ALTER SERVER mangopay OPTIONS (ADD $1 '$2')" >/dev/null
}
# run psql, keep its "R key value" lines in R[], show the rest
psql_r() {
	local out="$RES/psql.out" k v
	mp_psql -d postgres -At -v ON_ERROR_STOP=1 "$@" >"$out" 2>&1 || { cat "$out" >&2; return 1; }
	grep -v '^R ' "$out" || true
	while read -r _ k v; do R[$k]=$v; done < <(grep '^R ' "$out")
}
now() { date +%s.%N; }
calc() { python3 -c "print($1)"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

mp_install_deps
mp_build
MP_MOCK_ARGS="--disputes $((LIST_DISPUTES - 5)) ${MP_MOCK_ARGS:-}"	# + 5 fixed disputes
mp_start_env
mp_setup_db >/dev/null
R[load_start]=$(load)
MOCKPID=$(cat "$MP_TESTDIR/mock.pid")

# warm-up, then the query's seq mark: prepended to each measured session
WARM="SET client_min_messages = warning;
SET timezone = 'UTC';
SELECT count(*) FROM mangopay.client_wallets \\gset
\\set seq0 \`python3 test/bench/reqlog.py last\`
SELECT pg_backend_pid() AS bpid \\gset"
# CPU seconds the backend and the mock used in a measured query
CPU0="\\set bc0 \`python3 test/bench/reqlog.py cpu :bpid\`
\\set mc0 \`python3 test/bench/reqlog.py cpu $MOCKPID\`"
cpu1() { cat <<C
\\set bc1 \`python3 test/bench/reqlog.py cpu :bpid\`
\\set mc1 \`python3 test/bench/reqlog.py cpu $MOCKPID\`
\\echo R ${1}_bcpu :bc0 :bc1
\\echo R ${1}_mcpu :mc0 :mc1
C
}

# ---------------------------------------------------------------- report
if want report; then
	mp_log "report: $ROWS rows, $REPEAT times — FDW INSERT ... SELECT, COPY FROM PROGRAM curl, Node.js SDK + pg COPY"
	mock reset
	mock config "{\"bench_rows\": $ROWS, \"report_delay_ms\": 100}"
	# the first status read 100 ms after the create, as the SDK script polls
	srv_opt report_poll_ms 100
	srv_opt max_concurrency ''
	cols="id, tag, creation_date, execution_date, author_id, credited_user_id, debited_funds_amount,
	  debited_funds_currency, credited_funds_amount, credited_funds_currency, fees_amount, fees_currency,
	  status, result_code, result_message, type, nature, credited_wallet_id, debited_wallet_id, payment_type"
	csvtable="(id text, tag text, creation_date bigint, execution_date bigint,
	  author_id text, credited_user_id text, debited_funds_amount bigint, debited_funds_currency text,
	  credited_funds_amount bigint, credited_funds_currency text, fees_amount bigint, fees_currency text,
	  status text, result_code text, result_message text, type text, nature text,
	  credited_wallet_id text, debited_wallet_id text, payment_type text)"
	psql_r <<SQL
CREATE UNLOGGED TABLE bench_fdw AS SELECT $cols FROM mangopay.transactions WHERE false;
CREATE UNLOGGED TABLE bench_copy $csvtable;
CREATE UNLOGGED TABLE bench_node $csvtable;
SQL
	# the three ways in turn, $REPEAT times: the machine's load varies over a run
	for r in $(seq 1 "$REPEAT"); do
		psql_r <<SQL
$WARM
TRUNCATE bench_fdw;
$CPU0
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
INSERT INTO bench_fdw SELECT $cols FROM mangopay.transactions WHERE creation_date >= now() - interval '3 days';
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s \gset
$(cpu1 rep_fdw$r)
\set calls \`python3 test/bench/reqlog.py count :seq0\`
\set phases \`python3 test/bench/reqlog.py phases :seq0\`
\echo R rep_fdw_phases$r :phases
SELECT count(*) AS n FROM bench_fdw \gset
\echo R rep_fdw_s$r :s
\echo R rep_fdw_n :n
\echo R rep_fdw_calls$r :calls
\echo R rep_seq0 :seq0
SQL
		# COPY of the CSV of the FDW's report: same columns, same rows
		psql_r <<SQL
TRUNCATE bench_copy;
SELECT download_url AS url, (filters ->> 'AfterDate')::bigint AS after
  FROM mangopay.reports WHERE report_type = 'TRANSACTIONS'
  ORDER BY jsonb_array_length(columns) DESC, creation_date DESC LIMIT 1 \gset
SELECT format('COPY bench_copy FROM PROGRAM %L WITH (FORMAT csv, HEADER true)',
              'curl -sf ' || quote_literal(:'url')) AS copy_cmd \gset
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
:copy_cmd;
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s \gset
SELECT count(*) AS n FROM bench_copy \gset
-- the FDW returned every CSV row of the queried range and nothing else (the report
-- is asked one second wider than the WHERE clause; the FDW drops that second)
SELECT (SELECT count(*) FROM (SELECT id FROM bench_fdw EXCEPT ALL SELECT id FROM bench_copy) x) = 0
   AND (SELECT count(*) FROM bench_copy c WHERE NOT EXISTS (SELECT 1 FROM bench_fdw f WHERE f.id = c.id)
          AND c.creation_date > :after + 1) = 0 AS same \gset
\echo R rep_copy_s$r :s
\echo R rep_copy_n :n
\echo R rep_fdw_same$r :same
\echo R rep_url :url
SQL
		# the SDK script: the same Filters and Columns as the FDW's POST
		mp_psql -d postgres -c "TRUNCATE bench_node"
		body=$(reqlog body "${R[rep_seq0]}" '/reports/transactions/?$')
		seq0=$(reqlog last)
		t0=$(now)
		REPORT_FILTERS=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["Filters"]))' "$body") \
		REPORT_COLUMNS=$(python3 -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1])["Columns"]))' "$body") \
		MP_BASE_URL="http://127.0.0.1:$MP_MOCK_PORT" MP_CLIENT_ID=$MP_CLIENT_ID MP_API_KEY=$MP_API_KEY \
		TARGET_TABLE=bench_node POLL_MS=100 PGDATABASE=postgres \
			node test/bench/node/report_copy.js >"$RES/node.json"
		t1=$(now)
		R[rep_node_wall$r]=$(calc "$t1 - $t0")
		R[rep_node_json$r]=$(cat "$RES/node.json")
		# the script's own clock (from after its modules loaded: token, pg connect, report,
		# COPY): the stricter comparison for the FDW, whose time leaves out connecting and its token
		R[rep_node_s$r]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["s_total"])' "${R[rep_node_json$r]}")
		R[rep_node_polls$r]=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["polls"])' "${R[rep_node_json$r]}")
		R[rep_node_calls$r]=$(reqlog count "$seq0")
		R[rep_node_phases$r]=$(reqlog phases "$seq0")
		R[rep_node_reqs]=$(reqlog show "$seq0")
		psql_r <<SQL
SELECT count(*) AS n FROM bench_node \gset
SELECT (SELECT count(*) FROM bench_node) = (SELECT count(*) FROM bench_copy) AS same \gset
\echo R rep_node_n :n
\echo R rep_node_same$r :same
SQL
	done
	# for reading the figures: the mock serving the CSV alone (curl to a file),
	# and COPY of that file (no network, no mock)
	t0=$(now); curl -sf "${R[rep_url]}" -o "$MP_TESTDIR/report.csv"; t1=$(now)
	R[rep_curl_s]=$(calc "$t1 - $t0")
	chmod a+r "$MP_TESTDIR/report.csv"
	psql_r -v file="$MP_TESTDIR/report.csv" <<'SQL'
TRUNCATE bench_copy;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
COPY bench_copy FROM :'file' WITH (FORMAT csv, HEADER true);
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s \gset
\echo R rep_file_s :s
DROP TABLE bench_fdw, bench_copy, bench_node;
SQL
	rm -f "$MP_TESTDIR/report.csv"
	unset 'R[rep_url]'	# signed; not printed
	R[rep_load]=$(load)
fi

# ---------------------------------------------------------------- backfill
# T0 (today 00:00 UTC): every seeded ledger row is older, so the rows are the
# same in every run of the day; 36 months back plus a day keeps inside retention
if want backfill; then
	mp_log "backfill: 36 months of transactions, reports ready after 5 s, max_concurrency 1 vs 6"
	mock reset
	mock config '{"report_delay_ms": 5000}'
	srv_opt report_poll_ms ''		# the default schedule: 1 s, then x1.5
	lo36="date_trunc('day', now()) - interval '36 months' + interval '1 day'"
	lo6="date_trunc('day', now()) - interval '6 months' + interval '1 day'"
	hi="date_trunc('day', now())"
	run_backfill() {	# name concurrency lower-bound
		srv_opt max_concurrency "$2"
		psql_r <<SQL
$WARM
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS n, md5(string_agg(id, ',' ORDER BY id)) AS h
  FROM mangopay.transactions WHERE creation_date >= $3 AND creation_date < $hi \gset
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s \gset
\set calls \`python3 test/bench/reqlog.py count :seq0\`
\echo R $1_s :s
\echo R $1_n :n
\echo R $1_h :h
\echo R $1_calls :calls
SQL
	}
	run_backfill bf1 1 "$lo36"
	run_backfill bf6 6 "$lo36"
	run_backfill bfw 6 "$lo6"
	# the ledger's rows in the same range, from the mock's ground truth
	lo=$(mp_psql -d postgres -At -c "SET timezone = 'UTC'; SELECT extract(epoch FROM $lo36)::bigint")
	hi_s=$(mp_psql -d postgres -At -c "SET timezone = 'UTC'; SELECT extract(epoch FROM $hi)::bigint")
	R[bf_truth]=$(curl -sf "http://127.0.0.1:$MP_MOCK_PORT/__mock/truth/transactions?AfterDate=$((lo - 1))&BeforeDate=$hi_s" | wc -l)
	R[bf_load]=$(load)
fi

# ---------------------------------------------------------------- listing
if want listing; then
	mp_log "listing: disputes, 50 ms per API call, max_concurrency 1 vs 8"
	mock reset
	mock config '{"latency_ms": 50}'
	run_listing() {	# name concurrency
		srv_opt max_concurrency "$2"
		psql_r <<SQL
$WARM
$CPU0
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS n, md5(string_agg(id, ',' ORDER BY id)) AS h FROM mangopay.disputes \gset
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s \gset
$(cpu1 "$1")
\set calls \`python3 test/bench/reqlog.py count :seq0\`
\echo R $1_s :s
\echo R $1_n :n
\echo R $1_h :h
\echo R $1_calls :calls
SQL
	}
	run_listing ls1 1
	run_listing ls8 8
	# the same at 8 without the latency: what serving 200 pages costs the mock
	mock config '{"latency_ms": 0}'
	run_listing ls0 8
	R[ls_truth]=$(curl -sf "http://127.0.0.1:$MP_MOCK_PORT/__mock/truth/disputes" | wc -l)
	R[ls_load]=$(load)
fi

# ---------------------------------------------------------------- results
# kind=N out of reqlog's "token=.. list=.. create=.. status=.. download=.. other=.. total=.."
kindof() { sed -n "s/.*\\b$2=\\([0-9]*\\).*/\\1/p" <<<"$1"; }
pass() { if python3 -c "import sys; sys.exit(0 if ($1) else 1)"; then echo pass; else echo FAIL; fi; }
rows() { python3 -c "print(f'{int($1):,}')"; }
# CPU seconds used between the two marks: "cpu NAME" for NAME_bcpu (backend), NAME_mcpu (mock)
cpu() { local a b c d; read -r a b <<<"${R[${1}_bcpu]}"; read -r c d <<<"${R[${1}_mcpu]}"
	echo "CPU: backend $(calc "round($b - $a, 2)") s, mock $(calc "round($d - $c, 2)") s"; }
row() { printf '| %s | %s | %s | %s | %s |\n' "$@"; }

echo
echo "## mangopay_fdw benchmarks ($(date -u +%Y-%m-%dT%H:%MZ))"
echo
echo "Machine: $(nproc) cores ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')), $(free -g | awk '/^Mem:/ {print $2}') GB RAM, Debian $(cat /etc/debian_version), $("$(mp_pgbin)/postgres" --version | sed 's/postgres (PostgreSQL) /PostgreSQL /'), node $(node --version 2>/dev/null || echo -), mangopay2-nodejs-sdk $(python3 -c 'import json; print(json.load(open("test/bench/node/node_modules/mangopay2-nodejs-sdk/package.json"))["version"])' 2>/dev/null || echo -), pg $(python3 -c 'import json; print(json.load(open("test/bench/node/node_modules/pg/package.json"))["version"])' 2>/dev/null || echo -); load average (1, 5, 15 min) at start ${R[load_start]}"
echo
row benchmark measured ratio target result
row --- --- --- --- ---
if want report; then
	n=${R[rep_fdw_n]}
	# each way's times in run order, and their median
	tlist() { local k out=""; for r in $(seq 1 "$REPEAT"); do out="$out${out:+ / }$(printf %.2f "${R[$1$r]}")"; done; echo "$out"; }
	med() { local k xs=""; for r in $(seq 1 "$REPEAT"); do xs="$xs${xs:+,}${R[$1$r]}"; done
		python3 -c "import statistics; print(statistics.median([$xs]))"; }
	allt() { local r; for r in $(seq 1 "$REPEAT"); do [ "${R[$1$r]}" = t ] || { echo NO; return; }; done; echo yes; }
	f=$(med rep_fdw_s); c=$(med rep_copy_s); s=$(med rep_node_s); w=$(med rep_node_wall)
	fdw=$(calc "${R[rep_fdw_n]} / $f"); cpy=$(calc "${R[rep_copy_n]} / $c"); nod=$(calc "${R[rep_node_n]} / $s")
	row "report, $(rows "$n") rows ($REPEAT runs, in turn): FDW INSERT ... SELECT vs COPY FROM PROGRAM curl" \
		"FDW $(tlist rep_fdw_s) s, median $(printf %.2f "$f") s ($(printf %.0f "$fdw") rows/s); COPY $(tlist rep_copy_s) s, median $(printf %.2f "$c") s ($(printf %.0f "$cpy") rows/s)" \
		"$(calc "round($fdw / $cpy, 2)")" ">= 0.8" "$(pass "$fdw / $cpy >= 0.8")"
	row "report, $(rows "$n") rows: FDW vs Node.js SDK + pg COPY" \
		"SDK script (its own clock) $(tlist rep_node_s) s, median $(printf %.2f "$s") s ($(printf %.0f "$nod") rows/s); with node's start-up, median $(printf %.2f "$w") s" \
		"$(calc "round($fdw / $nod, 2)")" ">= 1" "$(pass "$fdw >= $nod")"
	row "report: the mock serving the CSV alone (curl to a file); COPY of that local file" \
		"$(printf %.2f "${R[rep_curl_s]}") s; $(printf %.2f "${R[rep_file_s]}") s" "-" "-" "-"
	row "report: CPU of the FDW's INSERT (run 1)" "$(cpu rep_fdw1)" "-" "-" "-"
	ph() { local r out=""; for r in $(seq 1 "$REPEAT"); do out="$out${out:+; }${R[$1$r]}"; done; echo "$out"; }
	row "report: phases from the mock's log (ready = first request to download request; download = until its last byte)" \
		"FDW $(ph rep_fdw_phases); SDK script $(ph rep_node_phases)" "-" "-" "-"
	row "report: rows loaded FDW / COPY / SDK script; FDW rows = CSV rows in range (every run)" \
		"${R[rep_fdw_n]} / ${R[rep_copy_n]} / ${R[rep_node_n]}; $(allt rep_fdw_same); SDK rows = COPY rows: $(allt rep_node_same)" "-" "-" "-"
fi
if want backfill; then
	row "backfill 36 months (report generation 5 s), max_concurrency 1 vs 6" \
		"$(printf %.1f "${R[bf1_s]}") s vs $(printf %.1f "${R[bf6_s]}") s; $(rows "${R[bf6_n]}") rows, same rows: $([ "${R[bf1_h]}" = "${R[bf6_h]}" ] && [ "${R[bf1_n]}" = "${R[bf6_n]}" ] && [ "${R[bf6_n]}" = "${R[bf_truth]}" ] && echo yes || echo NO)" \
		"$(calc "round(${R[bf1_s]} / ${R[bf6_s]}, 2)")x faster" "-" "-"
	row "backfill 36 months at 6 vs one 6-month window" \
		"$(printf %.1f "${R[bf6_s]}") s vs $(printf %.1f "${R[bfw_s]}") s" \
		"$(calc "round(${R[bf6_s]} / ${R[bfw_s]}, 2)")" "<= 1.5" "$(pass "${R[bf6_s]} / ${R[bfw_s]} <= 1.5")"
fi
if want listing; then
	row "disputes listing, $(rows "${R[ls8_n]}") rows (50 ms per call), max_concurrency 1 vs 8" \
		"$(printf %.2f "${R[ls1_s]}") s vs $(printf %.2f "${R[ls8_s]}") s (at 8, $(cpu ls8)); same rows: $([ "${R[ls1_h]}" = "${R[ls8_h]}" ] && [ "${R[ls1_n]}" = "${R[ls8_n]}" ] && [ "${R[ls8_n]}" = "${R[ls_truth]}" ] && echo yes || echo NO)" \
		"$(calc "round(${R[ls1_s]} / ${R[ls8_s]}, 2)")x faster" "-" "-"
	row "disputes listing at 8 without latency (the mock's own serving time)" \
		"$(printf %.2f "${R[ls0_s]}") s ($(cpu ls0))" "-" "-" "-"
fi

echo
echo "API calls per query (request log; each query in a session whose token was already fetched):"
echo
row query "calls made" "least the API allows" "status reads (polls)" result
row --- --- --- --- ---
calls_row() {	# label reqlog-counts windows-or-pages kind(list|report)
	local c=$1 tok lst cre sta dl oth tot minimum ok
	tok=$(kindof "$2" token); lst=$(kindof "$2" list); cre=$(kindof "$2" create)
	sta=$(kindof "$2" status); dl=$(kindof "$2" download); oth=$(kindof "$2" other)
	if [ "$4" = list ]; then
		minimum="$3 pages"
		ok=$(pass "$lst == $3 and $tok + $cre + $sta + $dl + $oth == 0")
		row "$1" "$lst pages, $tok token, $((cre + sta + dl + oth)) other" "$minimum" "-" "$ok"
	else
		minimum="$3 create + $3 download (+ >= $3 status reads)"
		ok=$(pass "$cre == $3 and $dl == $3 and $sta >= $3 and $tok + $lst + $oth == 0")
		row "$1" "$cre create, $dl download, $tok token, $((lst + oth)) other" "$minimum" "$sta (least: $3)" "$ok"
	fi
}
if want listing; then
	pages=$(( (${R[ls_truth]} + 99) / 100 ))
	calls_row "disputes, max_concurrency 1" "${R[ls1_calls]}" "$pages" list
	calls_row "disputes, max_concurrency 8" "${R[ls8_calls]}" "$pages" list
fi
if want report; then
	for r in $(seq 1 "$REPEAT"); do
		calls_row "transactions, $(rows "${R[rep_fdw_n]}") rows (1 window), run $r" "${R[rep_fdw_calls$r]}" 1 report
		echo "| (the SDK script, run $r, for comparison) | $(sed 's/ total=.*//' <<<"${R[rep_node_calls$r]}") | | ${R[rep_node_polls$r]} | |"
	done
fi
if want backfill; then
	calls_row "transactions, 36 months, max_concurrency 1" "${R[bf1_calls]}" 6 report
	calls_row "transactions, 36 months, max_concurrency 6" "${R[bf6_calls]}" 6 report
	calls_row "transactions, one window" "${R[bfw_calls]}" 1 report
fi
echo
echo "load average (1, 5, 15 min) after: report ${R[rep_load]:--}; backfill ${R[bf_load]:--}; listing ${R[ls_load]:--}"
for r in $(seq 1 "$REPEAT"); do [ -z "${R[rep_node_json$r]:-}" ] || echo "SDK script, run $r: ${R[rep_node_json$r]}"; done
[ -z "${R[rep_node_reqs]:-}" ] || { echo "SDK script's requests:"; sed 's/^/  /' <<<"${R[rep_node_reqs]}"; }
