#!/usr/bin/env bash
# test/bench/report_bench.sh — benchmark, not part of the test command.
#
# One TRANSACTIONS report of $ROWS rows (default 1,000,000), streamed by the
# mock (config bench_rows), read in one run three ways:
#   1. SELECT count(*) through mangopay_fdw (create, poll, download, parse);
#   2. INSERT INTO a local table SELECT the report's default columns through
#      mangopay_fdw;
#   3. COPY the same CSV into a local table FROM PROGRAM 'curl <DownloadURL>',
#      the way a script would load it (dates kept as Unix seconds there).
# It prints rows/s of each, the ratio of 2 to 3, and the backend's peak memory
# growth while reading (VmHWM after a count(*) and an every-column scan minus
# VmRSS before them; the INSERT is left out of it, as RSS would count the
# shared buffers it writes).  The CSV holds a few rows more than the FDW
# returns: the report is asked one second wider than the WHERE clause and
# the FDW drops the rows of that second; the check is that every CSV row
# after it is returned, and no other row.  Figures are
# measured in this run; the mock generates rows on the fly, so it is part of
# what every variant measures.
set -euo pipefail
cd "$(dirname "$0")/../.."
. test/lib.sh
ROWS=${ROWS:-1000000}

mp_install_deps
mp_build
mp_start_env
trap mp_stop_env EXIT
mp_setup_db >/dev/null
# poll every 100 ms: the report is ready after report_delay_ms, the default
# first poll (1 s) would be most of what a 100k-row run measures
mp_psql -d postgres -c "ALTER SERVER mangopay OPTIONS (ADD report_poll_ms '100')"
curl -sf -X POST -H 'Content-Type: application/json' \
	--data-binary "{\"bench_rows\": $ROWS, \"report_delay_ms\": 100}" \
	"http://127.0.0.1:$MP_MOCK_PORT/__mock/config" >/dev/null

cols="id, tag, creation_date, execution_date, author_id, credited_user_id, debited_funds_amount,
  debited_funds_currency, credited_funds_amount, credited_funds_currency, fees_amount, fees_currency,
  status, result_code, result_message, type, nature, credited_wallet_id, debited_wallet_id, payment_type"
where="creation_date >= now() - interval '3 days'"

mp_psql -d postgres <<SQL
\pset footer off
SET client_min_messages = warning;
CREATE OR REPLACE FUNCTION pg_temp.kb(field text) RETURNS bigint LANGUAGE sql AS \$\$
  SELECT (regexp_match(pg_read_file('/proc/' || pg_backend_pid() || '/status'), field || ':\\s+(\\d+)'))[1]::bigint \$\$;
-- warm up: load the extension, fetch a token
SELECT count(*) FROM mangopay.client_wallets \gset
SELECT pg_temp.kb('VmRSS') AS rss0 \gset

SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
SELECT count(*) AS n_count FROM mangopay.transactions WHERE $where \gset
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s_count \gset
-- every column converted, nothing written: the scan's own memory
SELECT count(*), sum(debited_funds_amount), max(tag), max(creation_date), max(result_message),
       max(author_id), max(debited_wallet_id), max(payment_type), max(execution_date)
  FROM mangopay.transactions WHERE $where \gset
SELECT pg_temp.kb('VmHWM') AS hwm \gset

CREATE UNLOGGED TABLE bench_fdw AS SELECT $cols FROM mangopay.transactions WHERE false;
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
INSERT INTO bench_fdw SELECT $cols FROM mangopay.transactions WHERE $where;
SELECT count(*) AS n_fdw FROM bench_fdw \gset
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s_fdw \gset

-- the CSV of the report the INSERT used: same columns, same rows
SELECT download_url AS url, (filters ->> 'AfterDate')::bigint AS after
  FROM mangopay.reports WHERE report_type = 'TRANSACTIONS'
  ORDER BY jsonb_array_length(columns) DESC, creation_date DESC LIMIT 1 \gset
CREATE UNLOGGED TABLE bench_copy (id text, tag text, creation_date bigint, execution_date bigint,
  author_id text, credited_user_id text, debited_funds_amount bigint, debited_funds_currency text,
  credited_funds_amount bigint, credited_funds_currency text, fees_amount bigint, fees_currency text,
  status text, result_code text, result_message text, type text, nature text,
  credited_wallet_id text, debited_wallet_id text, payment_type text);
SELECT format('COPY bench_copy FROM PROGRAM %L WITH (FORMAT csv, HEADER true)',
              'curl -sf ' || quote_literal(:'url')) AS copy_cmd \gset
SELECT extract(epoch FROM clock_timestamp()) AS t0 \gset
:copy_cmd;
SELECT count(*) AS n_copy FROM bench_copy \gset
SELECT extract(epoch FROM clock_timestamp()) - :t0 AS s_copy \gset

-- the FDW returns every CSV row of the queried range, and nothing else
SELECT (SELECT count(*) FROM (SELECT id FROM bench_fdw EXCEPT ALL SELECT id FROM bench_copy) x) AS diff,
       (SELECT count(*) FROM bench_copy c WHERE NOT EXISTS (SELECT 1 FROM bench_fdw f WHERE f.id = c.id)
          AND c.creation_date > :after + 1) AS lost \gset
\echo
\echo 'report rows                   ' :n_count
\echo 'mangopay_fdw SELECT count(*)  ' :s_count 's'
\echo 'mangopay_fdw INSERT ... SELECT' :s_fdw 's'
\echo 'COPY FROM PROGRAM curl        ' :s_copy 's'
SELECT round(:n_count / :s_count) AS "count(*) rows/s",
       round(:n_fdw / :s_fdw) AS "FDW insert rows/s",
       round(:n_copy / :s_copy) AS "COPY rows/s",
       round((:n_fdw / :s_fdw) / (:n_copy / :s_copy), 2) AS "FDW/COPY",
       round((:hwm - :rss0) / 1024.0, 1) AS "peak memory growth MB",
       :n_copy - :n_fdw AS "CSV rows before the range",
       :diff = 0 AND :lost = 0 AS "FDW rows = CSV rows in range";
DROP TABLE bench_fdw, bench_copy;
SQL
