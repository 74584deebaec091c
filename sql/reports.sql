--
-- reports: report-backed tables — create, poll, download, CSV streamed
-- into rows — against the mock's ledger; what was sent, read from the
-- mock's request log
--
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"report_delay_ms": 300}') ->> 'ok' AS delay;
ALTER SERVER mangopay OPTIONS (ADD report_poll_ms '100');
-- report requests: POST bodies and downloads from the log
CREATE VIEW t.posts AS
  SELECT r ->> 'path' AS path, r -> 'body' AS body, r -> 'headers' ->> 'idempotency-key' AS idem, (r ->> 'status')::int AS status
  FROM t.requests() r WHERE r ->> 'method' = 'POST' AND r ->> 'path' NOT LIKE '%oauth%';
CREATE VIEW t.downloads AS
  SELECT r ->> 'path' AS path, (r ->> 'has_authorization')::boolean AS auth, (r ->> 'status')::int AS status,
         r -> 'headers' ->> 'range' AS range
  FROM t.requests() r WHERE r ->> 'path' LIKE '%.csv';

-- transactions: 36 months, every row and every column (attrs apart); how
-- many rows that is depends on the date: the count is compared, not shown
SELECT 'transactions' AS t, fdw_rows = api_rows AS same_count, fdw_rows > 10000 AS many, missing, extra
FROM t.compare('transactions', 'transactions', false,
  $$(j ->> 'CreationDate')::bigint > extract(epoch FROM now() - interval '36 months') + 3600$$, 'true', true);
-- 36 months in windows of at most 6, each with its own Idempotency-Key
SELECT count(*) AS reports, count(DISTINCT idem) AS keys, bool_and(length(idem) BETWEEN 16 AND 36) AS key_ok,
       bool_and(body -> 'Filters' ? 'AfterDate' AND body -> 'Filters' ? 'BeforeDate') AS dated,
       max((body -> 'Filters' ->> 'BeforeDate')::bigint - (body -> 'Filters' ->> 'AfterDate')::bigint) <= 184 * 86400 AS six_months
FROM t.posts WHERE path LIKE '%/reports/transactions';
-- downloads never carry the bearer token
SELECT count(*) > 0 AS downloads, bool_or(auth) AS any_authorization FROM t.downloads;
-- sums per type and currency equal the ledger's
SELECT x.type, x.debited_funds_currency AS ccy,
       x.total = (SELECT sum((j ->> 'DebitedFundsAmount')::bigint) FROM t.truth('transactions') j
                  WHERE j ->> 'Type' = x.type AND j ->> 'DebitedFundsCurrency' = x.debited_funds_currency
                    AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '90 days')) AS sum_ok
FROM (SELECT type, debited_funds_currency, sum(debited_funds_amount) AS total FROM mangopay.transactions
      WHERE creation_date >= now() - interval '90 days' GROUP BY 1, 2) x ORDER BY 1, 2;
-- awkward text survives the CSV byte for byte
SELECT count(*) FILTER (WHERE m.tag = j ->> 'Tag') = count(*) AS awkward_tags_ok, count(*) > 100 AS many
FROM mangopay.transactions m JOIN t.truth('transactions') j ON j ->> 'Id' = m.id
WHERE j ->> 'Tag' ~ '[,"\n\r]' OR j ->> 'Tag' ~ '[^\x01-\x7f]';
SELECT count(*) > 0 AS has_awkward FROM t.truth('transactions') j WHERE j ->> 'Tag' ~ '[,"\n\r]';

-- filters, amount bounds and only the referenced Columns are sent
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE j ->> 'Type' = 'PAYOUT' AND j ->> 'Status' IN ('SUCCEEDED', 'FAILED')
                     AND (j ->> 'DebitedFundsAmount')::bigint >= 5000
                     AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '14 months')) AS exact
FROM mangopay.transactions
WHERE type = 'PAYOUT' AND status IN ('SUCCEEDED', 'FAILED') AND debited_funds_amount >= 5000
  AND creation_date >= now() - interval '14 months';
SELECT count(*) AS windows, min(body -> 'Filters' ->> 'Type') AS type, min(body -> 'Filters' ->> 'Status') AS status,
       min(body -> 'Filters' ->> 'MinDebitedFundsAmount') AS min_amount, min(body ->> 'Columns') AS columns
FROM t.posts;
-- plain EXPLAIN shows the request (Filters, Columns, windows) without calling the API
SELECT t.mock('reset') ->> 'ok' AS reset;
EXPLAIN (COSTS OFF) SELECT id FROM mangopay.transactions
WHERE nature = 'REFUND' AND author_id = 'user_1' AND fees_amount < 100
  AND creation_date >= now() - interval '100 days' AND creation_date < now() - interval '10 days';
-- ORDER BY creation_date: the API's Sort, no local Sort node, newest window first
EXPLAIN (COSTS OFF) SELECT id FROM mangopay.transactions ORDER BY creation_date DESC LIMIT 3;
-- a parameter's value is known at execution only: the request is left to EXPLAIN ANALYZE
PREPARE since(timestamptz) AS SELECT id FROM mangopay.transactions WHERE creation_date >= $1;
SET plan_cache_mode = force_generic_plan;
EXPLAIN (COSTS OFF) EXECUTE since(now() - interval '7 days');
RESET plan_cache_mode;
DEALLOCATE since;
SELECT count(*) AS requests FROM t.requests();
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT array_agg(id ORDER BY n) = (SELECT array_agg(j ->> 'Id' ORDER BY (j ->> 'CreationDate')::bigint DESC, j ->> 'Id')
                                    FROM (SELECT j FROM t.truth('transactions') j
                                          ORDER BY (j ->> 'CreationDate')::bigint DESC, j ->> 'Id' LIMIT 3) x) AS newest_three
FROM (SELECT id, row_number() OVER () AS n FROM (SELECT id FROM mangopay.transactions ORDER BY creation_date DESC LIMIT 3) s) y;
-- LIMIT: only the newest window was created
SELECT count(*) AS reports, min(body ->> 'Sort') AS sort FROM t.posts;

-- payouts: Type=PAYOUT and Nature=REGULAR always; lookups only when referenced
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT 'payouts' AS t, fdw_rows = api_rows AS same_count, fdw_rows > 500 AS many, missing, extra
FROM t.compare('payouts', 'transactions', false,
  $$j ->> 'Type' = 'PAYOUT' AND j ->> 'Nature' = 'REGULAR' AND (j ->> 'CreationDate')::bigint > extract(epoch FROM now() - interval '36 months') + 3600$$,
  'true', true);
SELECT count(*) AS lookups FROM t.requests() r WHERE r ->> 'path' LIKE '%/payouts/bankwire/%';
SELECT DISTINCT body -> 'Filters' -> 'Type' AS type, body -> 'Filters' -> 'Nature' AS nature FROM t.posts;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS mismatches FROM (
  SELECT id, mode_requested, mode_applied, fallback_reason_code, fallback_reason_message, end_to_end_id
  FROM mangopay.payouts WHERE creation_date >= now() - interval '20 days'
  EXCEPT ALL
  SELECT p ->> 'Id', p ->> 'ModeRequested', p ->> 'ModeApplied', p #>> '{FallbackReason,Code}',
         p #>> '{FallbackReason,Message}', p ->> 'EndToEndId'
  FROM t.truth('payouts') p JOIN t.truth('transactions') j ON j ->> 'Id' = p ->> 'Id'
  WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '20 days')) x;
SELECT count(*) = (SELECT count(*) FROM mangopay.payouts WHERE creation_date >= now() - interval '20 days') AS one_lookup_per_row
FROM t.requests() r WHERE r ->> 'path' LIKE '%/payouts/bankwire/%';
-- beyond max_lookups: an ERROR with a HINT
ALTER SERVER mangopay OPTIONS (ADD max_lookups '5');
SELECT count(mode_applied) FROM mangopay.payouts WHERE creation_date >= now() - interval '60 days';
-- conditions on other columns are checked before the lookups: one payout, one GET
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT id, mode_requested, mode_applied, fallback_reason_code, fallback_reason_message
FROM mangopay.payouts WHERE id = 'po_m_01JQ0000000000000000000001' AND creation_date >= now() - interval '35 months';
SELECT count(*) AS lookups FROM t.requests() r WHERE r ->> 'path' LIKE '%/payouts/bankwire/%';
ALTER SERVER mangopay OPTIONS (DROP max_lookups);

-- payouts' two views (spec §5, §11): the mode fields are in
-- GET /payouts/bankwire/{Id}, PaymentRef in GET /payouts/{Id}, EndToEndId in
-- both.  A row GETs each view its columns need, once, and no other; the
-- rows equal the ground truth for every payout MangoPay still serves
CREATE TEMP VIEW po_calls AS
  SELECT count(*) FILTER (WHERE path ~ '/payouts/bankwire/') AS bankwire,
         count(*) FILTER (WHERE path ~ '/payouts/po_') AS plain,
         count(DISTINCT path) = count(*) AS none_twice
  FROM t.api_calls WHERE path ~ '/payouts/';
CREATE TEMP TABLE po_tr AS
  SELECT p ->> 'Id' AS id, t.ts(p -> 'CreationDate') AS creation_date,
         p ->> 'ModeRequested' AS mode_requested, p ->> 'ModeApplied' AS mode_applied,
         p #>> '{FallbackReason,Code}' AS fallback_reason_code, p #>> '{FallbackReason,Message}' AS fallback_reason_message,
         p ->> 'EndToEndId' AS end_to_end_id,
         p #>> '{PaymentRef,ReasonType}' AS payment_ref_reason_type, p #>> '{PaymentRef,ReferenceId}' AS payment_ref_reference_id
  FROM t.truth('payouts') p;
SELECT now() - interval '12 months' AS d12, now() - interval '120 days' AS d120,
       now() - interval '30 days' AS d30 \gset
-- the rows of a table of these columns that the truth since a date lacks, and the reverse
CREATE FUNCTION pg_temp.po_diff(tbl text, since timestamptz, OUT extra bigint, OUT missing bigint)
LANGUAGE plpgsql AS $$
DECLARE tr text := format('SELECT id, mode_requested, mode_applied, fallback_reason_code, fallback_reason_message,
  end_to_end_id, payment_ref_reason_type, payment_ref_reference_id FROM po_tr WHERE creation_date >= %L', since);
BEGIN
  EXECUTE format('SELECT count(*) FROM (TABLE %I EXCEPT ALL %s) x', tbl, tr) INTO extra;
  EXECUTE format('SELECT count(*) FROM (%s EXCEPT ALL TABLE %I) x', tr, tbl) INTO missing;
END $$;
ALTER SERVER mangopay OPTIONS (ADD max_lookups '2000');
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE po_all AS
  SELECT id, mode_requested, mode_applied, fallback_reason_code, fallback_reason_message, end_to_end_id,
         payment_ref_reason_type, payment_ref_reference_id
  FROM mangopay.payouts WHERE creation_date >= :'d12';
SELECT (SELECT count(*) FROM po_all) > 500 AS many,
       (SELECT count(payment_ref_reason_type) FROM po_all) > 10 AS some_refs,
       (SELECT count(mode_applied) FROM po_all) > 500 AS modes, d.*
  FROM pg_temp.po_diff('po_all', :'d12') d;
SELECT bankwire = (SELECT count(*) FROM po_all) AS one_bankwire_per_row,
       plain = (SELECT count(*) FROM po_all) AS one_plain_per_row, none_twice FROM po_calls;
-- the projection decides the views: PaymentRef alone, the modes alone, none
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE po_q AS SELECT id, payment_ref_reason_type, payment_ref_reference_id
  FROM mangopay.payouts WHERE creation_date >= :'d120';
SELECT (SELECT count(*) FROM po_q) > 100 AS many, (SELECT count(payment_ref_reason_type) FROM po_q) > 5 AS some_refs,
       (SELECT count(*) FROM (TABLE po_q EXCEPT ALL SELECT id, payment_ref_reason_type, payment_ref_reference_id
          FROM po_tr WHERE creation_date >= :'d120') x) AS extra,
       plain = (SELECT count(*) FROM po_q) AS one_plain_per_row, bankwire, none_twice FROM po_calls;
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE po_m AS SELECT id, mode_requested, mode_applied, fallback_reason_code
  FROM mangopay.payouts WHERE creation_date >= :'d30';
SELECT (SELECT count(*) FROM po_m) > 50 AS many,
       (SELECT count(*) FROM (TABLE po_m EXCEPT ALL SELECT id, mode_requested, mode_applied, fallback_reason_code
          FROM po_tr WHERE creation_date >= :'d30') x) AS extra,
       bankwire = (SELECT count(*) FROM po_m) AS one_bankwire_per_row, plain, none_twice FROM po_calls;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 50 AS many FROM mangopay.payouts WHERE creation_date >= :'d30' AND status IS NOT NULL;
SELECT bankwire, plain FROM po_calls;
-- EndToEndId is in both views: read from the one the row GETs anyway
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE po_e AS SELECT id, end_to_end_id, payment_ref_reference_id
  FROM mangopay.payouts WHERE creation_date >= :'d30';
SELECT (SELECT count(end_to_end_id) FROM po_e) > 50 AS ids,
       (SELECT count(*) FROM (TABLE po_e EXCEPT ALL SELECT id, end_to_end_id, payment_ref_reference_id
          FROM po_tr WHERE creation_date >= :'d30') x) AS extra,
       plain = (SELECT count(*) FROM po_e) AS one_plain_per_row, bankwire FROM po_calls;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = count(end_to_end_id) AS ids,
       count(*) = (SELECT bankwire FROM po_calls) AS one_bankwire_per_row, (SELECT plain FROM po_calls) AS plain
FROM (SELECT end_to_end_id FROM mangopay.payouts WHERE creation_date >= :'d30') x
WHERE end_to_end_id IN (SELECT end_to_end_id FROM po_tr);
-- the other reading of §11: the bankwire view carries PaymentRef too (mock
-- config payout_bankwire_payment_ref); the same rows and the same requests
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"payout_bankwire_payment_ref": true}') ->> 'ok' AS bankwire_has_ref;
CREATE TEMP TABLE po_k AS
  SELECT id, mode_requested, mode_applied, fallback_reason_code, fallback_reason_message, end_to_end_id,
         payment_ref_reason_type, payment_ref_reference_id
  FROM mangopay.payouts WHERE creation_date >= :'d120';
SELECT (SELECT count(payment_ref_reason_type) FROM po_k) > 5 AS some_refs, d.*,
       bankwire = (SELECT count(*) FROM po_k) AS one_bankwire_per_row,
       plain = (SELECT count(*) FROM po_k) AS one_plain_per_row FROM po_calls, pg_temp.po_diff('po_k', :'d120') d;
-- by id (WHERE id = ANY, a join on id): the view the columns need, once per id
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE po_ids AS
  SELECT id FROM po_tr ORDER BY payment_ref_reason_type IS NULL, creation_date DESC, id LIMIT 20;
SELECT count(*) AS rows, count(p.payment_ref_reason_type) > 5 AS some_refs,
       count(*) FILTER (WHERE (p.payment_ref_reason_type, p.payment_ref_reference_id, p.end_to_end_id)
         IS NOT DISTINCT FROM (tr.payment_ref_reason_type, tr.payment_ref_reference_id, tr.end_to_end_id)) AS same,
       (SELECT plain FROM po_calls) AS plain, (SELECT bankwire FROM po_calls) AS bankwire
  FROM mangopay.payouts p JOIN po_tr tr USING (id) WHERE p.id = ANY(ARRAY(SELECT id FROM po_ids));
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS rows,
       count(*) FILTER (WHERE (p.payment_ref_reason_type, p.payment_ref_reference_id, p.mode_requested, p.mode_applied,
                               p.fallback_reason_code, p.end_to_end_id, p.status, p.debited_funds_amount)
         IS NOT DISTINCT FROM (tr.payment_ref_reason_type, tr.payment_ref_reference_id, tr.mode_requested, tr.mode_applied,
                               tr.fallback_reason_code, tr.end_to_end_id, tr2.j ->> 'Status', (tr2.j #>> '{DebitedFunds,Amount}')::bigint)) AS same,
       (SELECT plain FROM po_calls) AS plain, (SELECT bankwire FROM po_calls) AS bankwire,
       (SELECT none_twice FROM po_calls) AS none_twice
  FROM mangopay.payouts p JOIN po_tr tr USING (id) JOIN t.truth('payouts') tr2(j) ON tr2.j ->> 'Id' = p.id
 WHERE p.id = ANY(ARRAY(SELECT id FROM po_ids));
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS rows FROM mangopay.payouts p WHERE p.id = ANY(ARRAY(SELECT id FROM po_ids)) AND status IS NOT NULL;
SELECT plain, bankwire FROM po_calls;
-- a 404 on one view: its columns are NULL (a NOTICE says so), the other
-- view's are read; in a range and by id
SELECT id AS ref_id FROM po_ids LIMIT 1 \gset
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', jsonb_build_object('faults', jsonb_build_array(jsonb_build_object(
  'path', '/payouts/' || :'ref_id' || '$', 'kind', 'status', 'status', 404, 'times', -1,
  'body', jsonb_build_object('Message', 'The ressource does not exist', 'Type', 'ressource_not_found',
    'Id', 'x', 'Date', 1, 'errors', jsonb_build_object('RessourceNotFound',
    'Cannot found the ressource PayOut with the id=' || :'ref_id')))))) ->> 'ok' AS armed;
CREATE TEMP TABLE po_f AS SELECT id, payment_ref_reason_type, payment_ref_reference_id, mode_applied
  FROM mangopay.payouts WHERE creation_date >= :'d120';
SELECT count(*) > 100 AS many,
       count(*) FILTER (WHERE f.id = :'ref_id' AND f.payment_ref_reason_type IS NULL
                          AND f.mode_applied IS NOT DISTINCT FROM tr.mode_applied) AS gone_row_modes_only,
       count(*) FILTER (WHERE f.id <> :'ref_id' AND (f.payment_ref_reason_type, f.payment_ref_reference_id, f.mode_applied)
                          IS NOT DISTINCT FROM (tr.payment_ref_reason_type, tr.payment_ref_reference_id, tr.mode_applied))
         = count(*) - 1 AS others_exact
  FROM po_f f JOIN po_tr tr USING (id);
SELECT id = :'ref_id' AS the_payout, payment_ref_reason_type, mode_applied IS NOT DISTINCT FROM
       (SELECT mode_applied FROM po_tr WHERE id = :'ref_id') AS mode_exact
  FROM mangopay.payouts WHERE id = :'ref_id';
-- EXPLAIN names the views a row reads; ANALYZE counts the GETs
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT l FROM t.explain($$SELECT payment_ref_reason_type FROM mangopay.payouts WHERE creation_date >= now() - interval '30 days'$$) l
 WHERE l ~ 'Lookups';
SELECT l FROM t.explain($$SELECT mode_applied, end_to_end_id FROM mangopay.payouts WHERE creation_date >= now() - interval '30 days'$$) l
 WHERE l ~ 'Lookups';
SELECT l FROM t.explain($$SELECT mode_applied, payment_ref_reference_id FROM mangopay.payouts WHERE creation_date >= now() - interval '30 days' AND status = 'SUCCEEDED'$$) l
 WHERE l ~ 'Lookups';
SELECT count(*) AS lookup_lines FROM t.explain($$SELECT status FROM mangopay.payouts WHERE creation_date >= now() - interval '30 days'$$) l
 WHERE l ~ 'Lookups';
SELECT l FROM t.explain($$SELECT mode_applied, payment_ref_reference_id FROM mangopay.payouts
  WHERE (id || '') IN ('po_m_01JQ0000000000000000000001', 'po_m_01JQ0000000000000000000002', 'po_m_01JQ0000000000000000000003')
    AND creation_date >= now() - interval '10 days'$$, 'ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF') l
 WHERE l ~ '^\s*MangoPay Lookups';
SELECT l FROM t.explain($$SELECT payment_ref_reference_id FROM mangopay.payouts
  WHERE (id || '') IN ('po_m_01JQ0000000000000000000001', 'po_m_01JQ0000000000000000000002', 'po_m_01JQ0000000000000000000003')
    AND creation_date >= now() - interval '10 days'$$, 'ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF') l
 WHERE l ~ '^\s*MangoPay Lookups';
SELECT l FROM t.explain($$SELECT payment_ref_reference_id FROM mangopay.payouts WHERE id = 'po_m_01JQ0000000000000000000001'$$) l
 WHERE l ~ 'Endpoint';
SELECT l FROM t.explain($$SELECT mode_applied, payment_ref_reference_id FROM mangopay.payouts WHERE id = 'po_m_01JQ0000000000000000000001'$$) l
 WHERE l ~ 'Endpoint';
SELECT l FROM t.explain($$SELECT status FROM mangopay.payouts WHERE id = 'po_m_01JQ0000000000000000000001'$$) l
 WHERE l ~ 'Endpoint';
-- max_lookups counts each view's GET
ALTER SERVER mangopay OPTIONS (SET max_lookups '5');
SELECT t.err($$SELECT count(mode_applied), count(payment_ref_reason_type) FROM mangopay.payouts WHERE creation_date >= now() - interval '60 days'$$, true);
SELECT t.err($$SELECT count(payment_ref_reason_type) FROM mangopay.payouts WHERE id = ANY(ARRAY(SELECT id FROM po_ids))$$, true);
SELECT t.err($$SELECT count(mode_applied), count(payment_ref_reason_type) FROM mangopay.payouts WHERE id = ANY(ARRAY(SELECT id FROM po_ids LIMIT 3))$$, true);
ALTER SERVER mangopay OPTIONS (DROP max_lookups);

-- wallets: all of them (windows of 24 months back to 2013)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT 'wallets' AS t, * FROM t.compare('wallets', 'wallets', false, 'true', 'true', true);
SELECT count(*) AS reports, max((body -> 'Filters' ->> 'BeforeDate')::bigint - (body -> 'Filters' ->> 'AfterDate')::bigint) <= 732 * 86400 AS within_24_months
FROM t.posts WHERE path LIKE '%/reports/wallets';
-- the balances are those when the report was generated (spec §11), not at a
-- date: balances_at is the report's ReportDate; one report here, no NOTICE
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 0 AS some, bool_and(balances_at IS NOT NULL) AS dated,
       count(DISTINCT balances_at) AS report_times,
       bool_and(balances_at IN (SELECT report_date FROM mangopay.reports WHERE report_type = 'WALLETS')) AS the_reports_date
FROM mangopay.wallets WHERE creation_date >= now() - interval '6 months';
-- a reused report says so (its rows are as of an earlier time)
ALTER SERVER mangopay OPTIONS (ADD report_max_age_s '3600');
\set VERBOSITY terse
SELECT count(*) > 0 AS first FROM mangopay.wallets WHERE creation_date >= now() - interval '6 months';
SELECT count(*) > 0 AS again FROM mangopay.wallets WHERE creation_date >= now() - interval '6 months';
\set VERBOSITY default
ALTER SERVER mangopay OPTIONS (DROP report_max_age_s);

-- Reporting Service: user_wallet_transactions of one user (without a key: apirules)
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE u AS SELECT j ->> 'AuthorId' AS uid FROM t.truth('transactions') j
  WHERE j ->> 'Status' = 'SUCCEEDED' AND (j ->> 'CreationDate')::bigint > extract(epoch FROM now() - interval '6 months')
  GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1;
SELECT count(*) > 0 AS some, bool_and(user_id = (SELECT uid FROM u)) AS key_carried,
       count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE j ->> 'Status' = 'SUCCEEDED' AND (j ->> 'AuthorId' = (SELECT uid FROM u) OR j ->> 'CreditedUserId' = (SELECT uid FROM u))
                     AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '90 days')) AS exact
FROM mangopay.user_wallet_transactions
WHERE user_id = (SELECT uid FROM u) AND creation_date >= now() - interval '90 days';
SELECT body ->> 'ReportType' AS type, body -> 'Filters' ? 'UserId' AS user_filter, body ? 'AfterDate' AS top_level_dates,
       body ->> 'Sort' AS sort FROM t.posts;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 0 AS some,
       count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE j ->> 'Status' = 'SUCCEEDED' AND (j ->> 'FeesAmount')::bigint > 0 AND j ->> 'FeesCurrency' = 'EUR'
                     AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '13 months')) AS exact,
       sum(fees_amount) = (SELECT sum((j ->> 'FeesAmount')::bigint) FROM t.truth('transactions') j
                   WHERE j ->> 'Status' = 'SUCCEEDED' AND (j ->> 'FeesAmount')::bigint > 0 AND j ->> 'FeesCurrency' = 'EUR'
                     AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '13 months')) AS same_sum
FROM mangopay.collected_fees WHERE fees_currency = 'EUR' AND creation_date >= now() - interval '13 months';
SELECT count(*) AS windows, min(body -> 'Filters' ->> 'Currency') AS currency,
       max((body ->> 'BeforeDate')::bigint - (body ->> 'AfterDate')::bigint) < 365 * 86400 AS under_12_months FROM t.posts;
SELECT count(*) > 0 AS intents, count(DISTINCT status) > 1 AS statuses FROM mangopay.echo_intents;
SELECT count(*) > 0 AS settlements, count(*) = count(id) AS ids FROM mangopay.echo_settlements;
SELECT count(*) > 0 AS splits FROM mangopay.echo_splits;
SELECT count(*) > 0 AS actions FROM mangopay.echo_intent_actions;

-- report_max_age_s: the same definition is reused, not created again
ALTER SERVER mangopay OPTIONS (ADD report_max_age_s '3600');
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 0 AS first FROM mangopay.transactions WHERE creation_date >= now() - interval '20 days';
SELECT count(*) AS n1 FROM t.posts \gset
SELECT value AS reused1 FROM mangopay_fdw_stats() WHERE counter = 'reports_reused' \gset
SELECT count(*) > 0 AS again FROM mangopay.transactions WHERE creation_date >= now() - interval '20 days';
SELECT count(*) - :n1 AS created_by_second_query FROM t.posts;
SELECT value - :reused1 AS reused_by_second_query FROM mangopay_fdw_stats() WHERE counter = 'reports_reused';
ALTER SERVER mangopay OPTIONS (DROP report_max_age_s);

-- faults: FAILED, EXPIRED, a download dropped mid-CSV, never ready, malformed CSV
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"kind":"report_failed","result_code":"809001","result_message":"Execution error"}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"kind":"report_expired"}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '10 days')) AS exact_after_expiry
FROM mangopay.transactions WHERE creation_date >= now() - interval '10 days';
SELECT count(*) AS reports_created FROM t.posts;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"drop_mid_body","bytes":20000,"times":2}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '60 days')) AS exact,
       count(DISTINCT id) = count(*) AS no_doubles
FROM mangopay.transactions WHERE creation_date >= now() - interval '60 days';
SELECT count(*) AS downloads, count(range) AS resumed_with_range FROM t.downloads;
-- ... and when the server ignores Range (200 with the whole file), the parsed bytes are skipped
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"download_ignore_range": true}') ->> 'ok' AS ignore_range;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"drop_mid_body","bytes":20000,"times":2}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '60 days')) AS exact,
       count(DISTINCT id) = count(*) AS no_doubles
FROM mangopay.transactions WHERE creation_date >= now() - interval '60 days';
SELECT count(*) AS downloads, count(range) AS asked_for_range, bool_and(status = 200) AS all_whole_files FROM t.downloads;
SELECT t.mock('reset') ->> 'ok' AS reset;
ALTER SERVER mangopay OPTIONS (ADD report_timeout_s '2');
SELECT t.mock('faults', '{"faults":[{"kind":"report_stays_pending"}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''');
ALTER SERVER mangopay OPTIONS (DROP report_timeout_s);
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"status","status":200,"content_type":"text/csv","body":"Id,CreationDate\r\n\"unterminated,1\r\n"}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"status","status":200,"content_type":"text/csv","body":"Id,CreationDate\r\nx,1,extra\r\n"}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT id FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
-- a POST whose answer is lost mid-body: the retry with the same Idempotency-Key
-- gets 409, and the report is read from GET /responses/{key}: one report, exact rows
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reports/transactions$","method":"POST","kind":"drop_mid_body","times":1}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '10 days')) AS exact
FROM mangopay.transactions WHERE creation_date >= now() - interval '10 days';
SELECT count(*) AS posts, count(DISTINCT idem) AS keys, string_agg(status::text, ',') AS statuses FROM t.posts;
SELECT count(*) AS responses_read FROM t.requests() r WHERE r ->> 'path' LIKE '%/responses/mpfdw-%';
-- statement_timeout while the download hangs: canceled within a second
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"hang"}]}') ->> 'ok' AS armed;
SET statement_timeout = '2s';
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t0;
SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval '10 days';
RESET statement_timeout;
SELECT clock_timestamp() - t0 < interval '3 s' AS within_a_second_of_the_timeout FROM t0;
DROP TABLE t0;
SELECT count(*) AS downloads_started FROM t.downloads;
-- a DownloadURL that is plain http on another host, or file://, is never fetched
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reports/report_","method":"GET","kind":"status","status":200,"body":{"Id":"report_m_01JQ0000000000000000000009","Status":"READY_FOR_DOWNLOAD","DownloadURL":"http://downloads.example.com/x.csv"}}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reports/report_","method":"GET","kind":"status","status":200,"body":{"Id":"report_m_01JQ0000000000000000000009","Status":"READY_FOR_DOWNLOAD","DownloadURL":"file:///etc/passwd"}}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
SELECT count(*) AS downloads FROM t.downloads;
-- statement_timeout while a report generates: canceled within a second
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"kind":"report_slow","ms":10000}]}') ->> 'ok' AS armed;
SET statement_timeout = '1s';
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t0;
SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval '10 days';
RESET statement_timeout;
SELECT clock_timestamp() - t0 < interval '2 s' AS within_a_second FROM t0;
DROP TABLE t0;
SELECT t.mock('reset') ->> 'ok' AS reset;
ALTER SERVER mangopay OPTIONS (DROP report_poll_ms);
