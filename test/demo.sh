#!/usr/bin/env bash
# test/demo.sh — the README's demo command.
#
# On a fresh Debian 12 machine, as root: installs the Debian packages it
# needs, builds and installs mangopay_fdw, starts a throwaway PostgreSQL
# cluster and the mock MangoPay API (test/mock) on loopback, creates the
# server, the user mapping and the foreign tables (IMPORT FOREIGN SCHEMA),
# then runs a few finance queries against the mock and prints their results.
# Everything is stopped and removed on exit.
#
# It shares test/lib.sh with test/run.sh: same directory ($MP_TESTDIR,
# default /tmp/mangopay_fdw_test) and ports, so do not run both at once.
set -euo pipefail
cd "$(dirname "$0")/.."
. test/lib.sh

mp_install_deps
mp_build
trap mp_stop_env EXIT
mp_start_env
mp_setup_db

mp_log "demo queries (the mock's data: about 3000 disputes over 14 months, 12 client wallets)"

# One psql session, so that mangopay_fdw_stats() at the end counts every
# request the queries made (the counters are per backend).
mp_psql -d postgres -P pager=off <<'SQL'
\echo
\echo '-- 1. Dispute exposure of the last 90 days: disputes per status, disputed amount per currency (minor units)'
SELECT coalesce(status, 'all statuses') AS status,
       count(*) AS disputes,
       sum(disputed_funds_amount) FILTER (WHERE disputed_funds_currency = 'EUR') AS "EUR",
       sum(disputed_funds_amount) FILTER (WHERE disputed_funds_currency = 'GBP') AS "GBP",
       sum(disputed_funds_amount) FILTER (WHERE disputed_funds_currency = 'USD') AS "USD",
       sum(disputed_funds_amount) FILTER (WHERE disputed_funds_currency = 'CHF') AS "CHF",
       sum(disputed_funds_amount) FILTER (WHERE disputed_funds_currency = 'PLN') AS "PLN",
       sum(disputed_funds_amount) FILTER (WHERE disputed_funds_currency = 'JPY') AS "JPY"
FROM mangopay.disputes
WHERE creation_date >= now() - interval '90 days'
GROUP BY ROLLUP (status)
ORDER BY status IS NULL, status;

\echo
\echo '-- 2. The 10 most recently closed lost disputes, with the repudiation that debited the funds'
\echo '--    (a join on id: a nested loop that GETs only the repudiations these disputes name)'
WITH lost AS MATERIALIZED (
  SELECT id, closed_date, disputed_funds_currency, disputed_funds_amount, repudiation_id
  FROM mangopay.disputes
  WHERE status = 'CLOSED' AND result_code = 'LOST'
    AND creation_date >= now() - interval '90 days'
  ORDER BY closed_date DESC, id
  LIMIT 10)
SELECT l.id AS dispute, l.closed_date::date AS closed, l.disputed_funds_currency AS currency,
       l.disputed_funds_amount AS disputed, r.id AS repudiation,
       r.debited_funds_amount AS repudiated, r.status AS repudiation_status
FROM lost l
LEFT JOIN mangopay.repudiations r ON r.id = l.repudiation_id
ORDER BY l.closed_date DESC, l.id;

\echo
\echo '-- 3. Client wallet balances: the FEES and CREDIT (repudiation) wallet of each currency (minor units)'
SELECT currency,
       sum(balance_amount) FILTER (WHERE funds_type = 'FEES')   AS fees_wallet,
       sum(balance_amount) FILTER (WHERE funds_type = 'CREDIT') AS credit_wallet
FROM mangopay.client_wallets
GROUP BY currency
ORDER BY currency;

\echo
\echo '-- 4. The last 10 transactions of the EUR fees wallet (ORDER BY creation_date and LIMIT are sent to the API)'
SELECT creation_date, type, nature, status, debited_funds_amount AS amount,
       debited_wallet_id AS debited, credited_wallet_id AS credited
FROM mangopay.client_wallet_transactions
WHERE funds_type = 'FEES' AND currency = 'EUR'
ORDER BY creation_date DESC
LIMIT 10;

\echo
\echo '-- 5. What query 4 asked the API for: EXPLAIN ANALYZE shows the path, Sort, per_page and the requests made'
EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF)
SELECT creation_date, type, nature, status, debited_funds_amount AS amount,
       debited_wallet_id AS debited, credited_wallet_id AS credited
FROM mangopay.client_wallet_transactions
WHERE funds_type = 'FEES' AND currency = 'EUR'
ORDER BY creation_date DESC
LIMIT 10;

\echo
\echo '-- 6. EXPLAIN of a filtered dispute scan: status and the date bound are sent, dispute_reason_type is checked locally'
EXPLAIN (COSTS OFF)
SELECT id, status, disputed_funds_amount
FROM mangopay.disputes
WHERE status IN ('SUBMITTED', 'PENDING_CLIENT_ACTION')
  AND creation_date >= now() - interval '30 days'
  AND dispute_reason_type = 'FRAUD';

-- Report-backed tables: shown when this build has them.
SELECT to_regclass('mangopay.payouts') IS NOT NULL
       AND (SELECT count(*) FROM information_schema.columns
            WHERE table_schema = 'mangopay' AND table_name = 'payouts'
              AND column_name IN ('creation_date', 'status', 'debited_funds_currency',
                                  'debited_funds_amount', 'fees_amount')) = 5 AS has_payouts,
       to_regclass('mangopay.transactions') IS NOT NULL
       AND (SELECT count(*) FROM information_schema.columns
            WHERE table_schema = 'mangopay' AND table_name = 'transactions'
              AND column_name IN ('creation_date', 'status', 'type', 'debited_funds_currency',
                                  'debited_funds_amount', 'fees_amount')) = 6 AS has_transactions
\gset

\echo
\echo '-- 7. Payouts of the last 7 days per status and currency (a TRANSACTIONS report, streamed as CSV)'
\if :has_payouts
SELECT status, debited_funds_currency AS currency, count(*) AS payouts,
       sum(debited_funds_amount) AS debited, sum(fees_amount) AS fees
FROM mangopay.payouts
WHERE creation_date >= now() - interval '7 days'
GROUP BY 1, 2
ORDER BY 1, 2;
\else
\echo '   (skipped: this build has no mangopay.payouts table yet)'
\endif

\echo
\echo '-- 8. Succeeded transactions of the last month per type and currency (a TRANSACTIONS report)'
\if :has_transactions
SELECT type, debited_funds_currency AS currency, count(*) AS transactions,
       sum(debited_funds_amount) AS debited, sum(fees_amount) AS fees
FROM mangopay.transactions
WHERE creation_date >= now() - interval '1 month' AND status = 'SUCCEEDED'
GROUP BY 1, 2
ORDER BY 1, 2;
\else
\echo '   (skipped: this build has no mangopay.transactions table yet)'
\endif

\echo
\echo '-- 9. Incremental sync (what a pg_cron job runs nightly): 60 days of disputes upserted into a local'
\echo '--    table by id; the second run re-reads only the 3-day overlap window and changes nothing'
CREATE SCHEMA IF NOT EXISTS books;
CREATE TABLE IF NOT EXISTS books.disputes (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, result_code text, disputed_funds_amount bigint, disputed_funds_currency text);
SET client_min_messages = warning;
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes', since => now() - interval '60 days');
SELECT 'first run' AS run, last_from::date AS "from", watermark AS "to", last_rows AS rows_read,
       last_inserted AS inserted, last_updated AS updated FROM mangopay_fdw_sync_state;
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes');
SELECT 'second run' AS run, last_from::date AS "from", watermark AS "to", last_rows AS rows_read,
       last_inserted AS inserted, last_updated AS updated FROM mangopay_fdw_sync_state;
RESET client_min_messages;

\echo
\echo '-- 10. Reconciliation: the disputes lost last month -> their pay-ins -> the refunds and the repudiation'
\echo '--     -> the seller''s wallet (balance now) and the seller''s e-money that month (minor units).'
\echo '--     Every object is read by id or per parent (nested loops); each distinct id costs one GET.'
SELECT requests AS requests_before FROM (SELECT value AS requests FROM mangopay_fdw_stats() WHERE counter = 'requests') x \gset
WITH lost AS MATERIALIZED (
  SELECT id, closed_date, initial_transaction_id, repudiation_id,
         disputed_funds_currency, disputed_funds_amount
  FROM mangopay.disputes
  WHERE status = 'CLOSED' AND result_code = 'LOST'
    AND closed_date >= date_trunc('month', now() - interval '1 month')
    AND closed_date < date_trunc('month', now()))
SELECT l.id AS dispute, l.disputed_funds_currency AS ccy, l.disputed_funds_amount AS disputed,
       p.id AS payin, p.debited_funds_amount AS paid,
       (SELECT coalesce(sum(f.debited_funds_amount), 0) FROM mangopay.payin_refunds f
         WHERE f.payin_id = p.id AND f.status = 'SUCCEEDED') AS refunded,
       r.debited_funds_amount AS repudiated,
       w.id AS seller_wallet, w.balance_amount AS wallet_balance_now,
       e.credited_emoney_amount AS seller_emoney_in, e.debited_emoney_amount AS seller_emoney_out
FROM lost l
LEFT JOIN mangopay.payins p ON p.id = l.initial_transaction_id
LEFT JOIN mangopay.repudiations r ON r.id = l.repudiation_id
LEFT JOIN mangopay.user_wallets w ON w.id = p.credited_wallet_id
LEFT JOIN mangopay.user_emoney e ON e.user_id = p.credited_user_id
      AND e.month = date_trunc('month', now() - interval '1 month')::date
ORDER BY l.closed_date, l.id;
SELECT value - :requests_before AS requests_of_the_reconciliation
FROM mangopay_fdw_stats() WHERE counter = 'requests';

\echo
\echo '-- 11. What this session cost: mangopay_fdw_stats() (per backend; ratelimit_* are the API''s X-RateLimit-Remaining)'
SELECT * FROM mangopay_fdw_stats();
SQL
