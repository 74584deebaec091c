--
-- joins: tables read by id (refunds, repudiations, settlement_transfers,
-- and disputes, reports, payouts by their id) joined to the tables that
-- name them.  A join on id plans a parameterized scan (a nested loop that
-- GETs only the ids the outer side names); each id is fetched once; the
-- results are checked against the mock's ground truth.  Then the costs:
-- use_remote_estimate, report startup cost, ANALYZE.
--
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT now() - interval '120 days' AS lo \gset

-- the ground truth, once
CREATE TEMP TABLE tr_disputes AS SELECT j FROM t.truth('disputes') j;
CREATE TEMP TABLE tr_repud AS SELECT j FROM t.truth('repudiations') j;
CREATE TEMP TABLE tr_settle AS SELECT j FROM t.truth('settlements') j;
CREATE TEMP TABLE tr_refunds AS SELECT j FROM t.truth('refunds') j;
CREATE TEMP TABLE tr_payouts AS SELECT j FROM t.truth('payouts') j;
CREATE TEMP TABLE tr_docs AS SELECT j FROM t.truth('dispute_documents') j;

-- 1. disputes → repudiations: a nested loop over a parameterized scan
SELECT * FROM t.explain($$SELECT d.id, r.id FROM mangopay.disputes d
  JOIN mangopay.repudiations r ON r.id = d.repudiation_id
 WHERE d.creation_date >= now() - interval '120 days'$$);

SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE j1 AS
SELECT d.id AS dispute_id, r.id, r.creation_date, r.debited_funds_amount, r.debited_funds_currency,
       r.type, r.nature, r.debited_wallet_id, r.initial_transaction_id, r.initial_transaction_type
  FROM mangopay.disputes d JOIN mangopay.repudiations r ON r.id = d.repudiation_id
 WHERE d.creation_date >= :'lo';
CREATE TEMP TABLE e1 AS
SELECT d.j->>'Id' AS dispute_id, r.j->>'Id' AS id, t.ts(r.j->'CreationDate') AS creation_date,
       (r.j#>>'{DebitedFunds,Amount}')::bigint AS debited_funds_amount,
       r.j#>>'{DebitedFunds,Currency}' AS debited_funds_currency,
       r.j->>'Type' AS type, r.j->>'Nature' AS nature, r.j->>'DebitedWalletId' AS debited_wallet_id,
       r.j->>'InitialTransactionId' AS initial_transaction_id,
       r.j->>'InitialTransactionType' AS initial_transaction_type
  FROM tr_disputes d JOIN tr_repud r ON r.j->>'Id' = d.j->>'RepudiationId'
 WHERE t.ts(d.j->'CreationDate') >= :'lo';
SELECT (SELECT count(*) FROM j1) > 20 AS enough_rows,
       (SELECT count(*) FROM j1) = (SELECT count(*) FROM e1) AS same_count,
       (SELECT count(*) FROM (TABLE j1 EXCEPT ALL TABLE e1) x) AS extra,
       (SELECT count(*) FROM (TABLE e1 EXCEPT ALL TABLE j1) x) AS missing;
-- every repudiation the disputes name was fetched exactly once, no other
SELECT count(*) = (SELECT count(DISTINCT id) FROM j1) AS one_get_per_id,
       count(DISTINCT path) = count(*) AS no_id_twice,
       bool_and(status = 200) AS all_found
  FROM t.api_calls WHERE path LIKE '%/repudiations/%';
SELECT count(*) AS list_calls_other_than_disputes
  FROM t.api_calls WHERE path NOT LIKE '%/repudiations/%' AND path NOT LIKE '%/disputes';

-- 2. an id named by many outer rows costs one GET: documents → their dispute
SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_memoize = off;
SELECT * FROM t.explain($$SELECT dd.id, d.status FROM mangopay.dispute_documents dd
  JOIN mangopay.disputes d ON d.id = dd.dispute_id WHERE dd.status = 'REFUSED'$$);
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE j2 AS
SELECT dd.id, dd.dispute_id, d.status, d.dispute_type, d.disputed_funds_amount
  FROM mangopay.dispute_documents dd JOIN mangopay.disputes d ON d.id = dd.dispute_id
 WHERE dd.status = 'REFUSED';
CREATE TEMP TABLE e2 AS
SELECT dd.j->>'Id' AS id, dd.j->>'DisputeId' AS dispute_id, d.j->>'Status' AS status,
       d.j->>'DisputeType' AS dispute_type, (d.j#>>'{DisputedFunds,Amount}')::bigint AS disputed_funds_amount
  FROM tr_docs dd JOIN tr_disputes d ON d.j->>'Id' = dd.j->>'DisputeId'
 WHERE dd.j->>'Status' = 'REFUSED';
SELECT (SELECT count(*) FROM j2) > (SELECT count(DISTINCT dispute_id) FROM j2) AS some_dispute_named_twice,
       (SELECT count(*) FROM (TABLE j2 EXCEPT ALL TABLE e2) x) AS extra,
       (SELECT count(*) FROM (TABLE e2 EXCEPT ALL TABLE j2) x) AS missing;
SELECT count(*) = (SELECT count(DISTINCT dispute_id) FROM j2) AS one_get_per_dispute,
       count(DISTINCT path) = count(*) AS no_id_twice
  FROM t.api_calls WHERE path ~ '/disputes/[^/]+$';
RESET enable_hashjoin; RESET enable_mergejoin; RESET enable_memoize;

-- 3. settlement transfers (named by the CREDIT wallet's transactions) →
-- their repudiation → the dispute it settled: a three-table chain
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT * FROM t.explain($$SELECT s.id, r.initial_transaction_id, d.id
  FROM mangopay.client_wallet_transactions c
  JOIN mangopay.settlement_transfers s ON s.id = c.id
  JOIN mangopay.repudiations r ON r.id = s.repudiation_id
  JOIN mangopay.disputes d ON d.repudiation_id = r.id
 WHERE c.funds_type = 'CREDIT' AND c.currency = 'EUR' AND c.nature = 'SETTLEMENT'$$);
CREATE TEMP TABLE j3 AS
SELECT s.id, s.type, s.nature, s.credited_wallet_id, s.debited_funds_amount, s.repudiation_id,
       r.initial_transaction_id, d.id AS dispute_id, d.status AS dispute_status
  FROM mangopay.client_wallet_transactions c
  JOIN mangopay.settlement_transfers s ON s.id = c.id
  JOIN mangopay.repudiations r ON r.id = s.repudiation_id
  JOIN mangopay.disputes d ON d.repudiation_id = r.id
 WHERE c.funds_type = 'CREDIT' AND c.currency = 'EUR' AND c.nature = 'SETTLEMENT';
CREATE TEMP TABLE e3 AS
SELECT s.j->>'Id' AS id, s.j->>'Type' AS type, s.j->>'Nature' AS nature,
       s.j->>'CreditedWalletId' AS credited_wallet_id,
       (s.j#>>'{DebitedFunds,Amount}')::bigint AS debited_funds_amount,
       s.j->>'RepudiationId' AS repudiation_id, r.j->>'InitialTransactionId' AS initial_transaction_id,
       d.j->>'Id' AS dispute_id, d.j->>'Status' AS dispute_status
  FROM tr_settle s
  JOIN tr_repud r ON r.j->>'Id' = s.j->>'RepudiationId'
  JOIN tr_disputes d ON d.j->>'RepudiationId' = r.j->>'Id'
 WHERE s.j->>'CreditedWalletId' = 'CREDIT_EUR';
SELECT (SELECT count(*) FROM j3) > 20 AS enough_rows,
       (SELECT count(*) FROM (TABLE j3 EXCEPT ALL TABLE e3) x) AS extra,
       (SELECT count(*) FROM (TABLE e3 EXCEPT ALL TABLE j3) x) AS missing;
-- one GET per settlement of the wallet, one per repudiation they name
SELECT count(*) FILTER (WHERE path LIKE '%/settlements/%')
         = (SELECT count(*) FROM tr_settle WHERE j->>'CreditedWalletId' = 'CREDIT_EUR') AS one_get_per_settlement,
       count(*) FILTER (WHERE path LIKE '%/repudiations/%')
         = (SELECT count(DISTINCT j->>'RepudiationId') FROM tr_settle
             WHERE j->>'CreditedWalletId' = 'CREDIT_EUR') AS one_get_per_repudiation,
       count(DISTINCT path) FILTER (WHERE path ~ '/(settlements|repudiations)/')
         = count(*) FILTER (WHERE path ~ '/(settlements|repudiations)/') AS no_id_twice
  FROM t.api_calls;

-- 4. refunds named by the TRANSACTIONS report, and the payout a bank
-- return refunds, read by id through GET /payouts/bankwire/{Id}
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT * FROM t.explain($$SELECT x.id, r.refund_reason_type, p.mode_applied
  FROM mangopay.transactions x
  JOIN mangopay.refunds r ON r.id = x.id
  JOIN mangopay.payouts p ON p.id = r.initial_transaction_id
 WHERE x.nature = 'REFUND' AND x.type = 'PAYIN' AND x.creation_date >= now() - interval '120 days'$$);
CREATE TEMP TABLE j4 AS
SELECT r.id, r.initial_transaction_id, r.initial_transaction_type, r.refund_reason_type,
       r.debited_funds_amount, p.id AS payout_id, p.status AS payout_status,
       p.debited_funds_amount AS payout_amount, p.mode_applied, p.end_to_end_id
  FROM mangopay.transactions x
  JOIN mangopay.refunds r ON r.id = x.id
  JOIN mangopay.payouts p ON p.id = r.initial_transaction_id
 WHERE x.nature = 'REFUND' AND x.type = 'PAYIN' AND x.creation_date >= :'lo';
CREATE TEMP TABLE e4 AS
SELECT r.j->>'Id' AS id, r.j->>'InitialTransactionId' AS initial_transaction_id,
       r.j->>'InitialTransactionType' AS initial_transaction_type,
       r.j#>>'{RefundReason,RefundReasonType}' AS refund_reason_type,
       (r.j#>>'{DebitedFunds,Amount}')::bigint AS debited_funds_amount,
       p.j->>'Id' AS payout_id, p.j->>'Status' AS payout_status,
       (p.j#>>'{DebitedFunds,Amount}')::bigint AS payout_amount,
       p.j->>'ModeApplied' AS mode_applied, p.j->>'EndToEndId' AS end_to_end_id
  FROM tr_refunds r JOIN tr_payouts p ON p.j->>'Id' = r.j->>'InitialTransactionId'
 WHERE r.j->>'Type' = 'PAYIN' AND t.ts(r.j->'CreationDate') >= :'lo';
SELECT (SELECT count(*) FROM j4) > 0 AS some_rows,
       (SELECT count(*) FROM (TABLE j4 EXCEPT ALL TABLE e4) x) AS extra,
       (SELECT count(*) FROM (TABLE e4 EXCEPT ALL TABLE j4) x) AS missing;
-- a payout two refunds name is read once; one the API does not know (404) is no row
SELECT (SELECT count(*) > count(DISTINCT payout_id) FROM j4) AS some_payout_named_twice,
       count(*) FILTER (WHERE path LIKE '%/payouts/bankwire/%')
         = count(DISTINCT path) FILTER (WHERE path LIKE '%/payouts/bankwire/%') AS no_id_twice,
       count(*) FILTER (WHERE path LIKE '%/payouts/bankwire/%' AND status = 200)
         = (SELECT count(DISTINCT payout_id) FROM j4) AS one_get_per_payout,
       count(*) FILTER (WHERE path LIKE '%/refunds/%')
         = (SELECT count(*) FROM tr_refunds WHERE j->>'Type' = 'PAYIN' AND t.ts(j->'CreationDate') >= :'lo') AS one_get_per_refund,
       count(*) FILTER (WHERE method = 'POST') AS reports_created
  FROM t.api_calls;

-- 5. payouts: "id = ..." is one GET, no report; the row is the payout
-- the report would give (fixed filters Type=PAYOUT, Nature=REGULAR hold)
-- (the mock's fixed payout, documented in test/mock/README.md)
SELECT j->>'Id' AS payout_id FROM tr_payouts WHERE j->>'Id' = 'po_m_01JQ0000000000000000000001' \gset
EXPLAIN (COSTS OFF) SELECT * FROM mangopay.payouts WHERE id = :'payout_id';
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT p.id = :'payout_id' AS same_id, p.type, p.nature,
       p.debited_funds_amount = (j#>>'{DebitedFunds,Amount}')::bigint AS amount_ok,
       p.fees_amount = (j#>>'{Fees,Amount}')::bigint AS fees_ok,
       p.creation_date = t.ts(j->'CreationDate') AS date_ok,
       p.creation_date_iso = p.creation_date AS iso_ok,
       p.bank_account_id = j->>'BankAccountId' AS bank_account_ok,
       p.mode_requested IS NOT DISTINCT FROM j->>'ModeRequested' AS mode_ok,
       p.attrs->>'Id' = :'payout_id' AS attrs_ok
  FROM mangopay.payouts p, tr_payouts WHERE p.id = :'payout_id' AND j->>'Id' = :'payout_id';
SELECT method, regexp_replace(path, 'po_m_[0-9A-Z]+', '<id>') AS path FROM t.api_calls;
-- an id that is not a regular payout (a repudiation) is no row
SELECT j->>'Id' AS repud_id FROM tr_repud ORDER BY j->>'Id' LIMIT 1 \gset
SELECT count(*) AS repudiation_as_payout FROM mangopay.payouts WHERE id = :'repud_id';
SELECT count(*) AS unknown_payout FROM mangopay.payouts WHERE id IN ('po_m_nope', :'payout_id');

-- 6. a NULL id (a dispute without a repudiation) is no row, not an error;
-- a scan with no id at all is
SELECT count(*) > 0 AS left_join_keeps_disputes, count(r.id) < count(*) AS some_without_repudiation
  FROM mangopay.disputes d LEFT JOIN mangopay.repudiations r ON r.id = d.repudiation_id
 WHERE d.creation_date >= now() - interval '20 days';
SELECT t.err('SELECT * FROM mangopay.repudiations');

-- 7. max_lookups bounds the GETs of a scan, its rescans included
ALTER SERVER mangopay OPTIONS (ADD max_lookups '5');
SELECT t.err($$SELECT count(r.id) FROM mangopay.disputes d
  JOIN mangopay.repudiations r ON r.id = d.repudiation_id WHERE d.creation_date >= now() - interval '120 days'$$, true);
ALTER SERVER mangopay OPTIONS (DROP max_lookups);

-- 8. use_remote_estimate: the row count comes from X-Number-Of-Items of
-- one per_page=1 request, and the plan follows it
SET enable_memoize = off;
SELECT * FROM t.explain($$SELECT dd.id, d.status FROM mangopay.dispute_documents dd
  JOIN mangopay.disputes d ON d.id = dd.dispute_id WHERE dd.status = 'REFUSED'$$);
ALTER SERVER mangopay OPTIONS (ADD use_remote_estimate 'true');
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT * FROM t.explain($$SELECT dd.id, d.status FROM mangopay.dispute_documents dd
  JOIN mangopay.disputes d ON d.id = dd.dispute_id WHERE dd.status = 'REFUSED'$$);
SELECT path, query->>'per_page' AS per_page, query->>'Status' AS status FROM t.api_calls ORDER BY 1;
CREATE FUNCTION t.plan_rows(q text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE p json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO p;
  RETURN (p->0->'Plan'->>'Plan Rows')::bigint;
END $$;
SELECT t.plan_rows($$SELECT * FROM mangopay.dispute_documents WHERE status = 'REFUSED'$$)
       = (SELECT count(*) FROM tr_docs WHERE j->>'Status' = 'REFUSED') AS estimate_is_api_count,
       t.plan_rows('SELECT * FROM mangopay.disputes') = (SELECT count(*) FROM tr_disputes) AS disputes_estimate;
ALTER SERVER mangopay OPTIONS (DROP use_remote_estimate);
RESET enable_memoize;

-- 9. report startup cost: a report per window, max_concurrency at once
CREATE FUNCTION t.startup(q text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE p json;
BEGIN
  EXECUTE 'EXPLAIN (FORMAT JSON) ' || q INTO p;
  RETURN (p->0->'Plan'->>'Startup Cost')::numeric;
END $$;
SELECT t.startup($$SELECT * FROM mangopay.transactions WHERE creation_date >= now() - interval '1 month'$$) AS one_window,
       t.startup($$SELECT * FROM mangopay.transactions WHERE creation_date >= now() - interval '35 months'$$) AS six_windows,
       t.startup($$SELECT * FROM mangopay.payouts WHERE id = 'po_x'$$) AS payout_by_id,
       t.startup($$SELECT * FROM mangopay.disputes$$) AS list;

-- 10. ANALYZE: list tables are sampled (a few pages, the API's count),
-- report and by-id tables refused with the reason
SELECT t.mock('reset') ->> 'ok' AS reset;
ANALYZE mangopay.disputes;
SELECT reltuples = (SELECT count(*) FROM tr_disputes) AS reltuples_is_api_count
  FROM pg_class WHERE oid = 'mangopay.disputes'::regclass;
SELECT attname, n_distinct > 0 AS has_stats FROM pg_stats
 WHERE schemaname = 'mangopay' AND tablename = 'disputes' AND attname IN ('status', 'dispute_type') ORDER BY 1;
SELECT count(*) <= 10 AS few_pages, count(*) FILTER (WHERE method <> 'GET') AS non_get FROM t.api_calls;
ANALYZE mangopay.transactions;
ANALYZE mangopay.refunds;
