--
-- objects: every object a reconciliation follows.  By id (payins,
-- transfers, conversions, users, user_wallets) and parent-scoped lists
-- whose parent id is a required key column (payin_refunds, ...,
-- dispute_transactions, user_disputes, user_wallets by user, user_emoney
-- per month).  Each is compared with the mock's ground truth column by
-- column; joins fetch each distinct parent once; IN lists fan out.
--
SELECT t.mock('reset') ->> 'ok' AS reset;

CREATE TEMP TABLE tr_disputes AS SELECT j FROM t.truth('disputes') j;
CREATE TEMP TABLE tr_payins AS SELECT j FROM t.truth('payins') j;
CREATE TEMP TABLE tr_refunds AS SELECT j FROM t.truth('refunds') j;

-- the mock's disputes name real pay-ins (made up to 90 days before them):
-- those of the last 9 months are all readable
SELECT count(*) AS disputes_without_payin
  FROM tr_disputes d
 WHERE t.ts(d.j->'CreationDate') > now() - interval '9 months'
   AND NOT EXISTS (SELECT FROM tr_payins p WHERE p.j->>'Id' = d.j->>'InitialTransactionId');

-- samples: pay-ins of disputes (some with refunds), their authors and wallets
CREATE TEMP TABLE s_payins AS
SELECT DISTINCT p.j->>'Id' AS id FROM tr_payins p
  JOIN tr_disputes d ON d.j->>'InitialTransactionId' = p.j->>'Id'
 WHERE p.j->>'Id' IN (SELECT j->>'InitialTransactionId' FROM tr_refunds)
UNION
SELECT id FROM (SELECT p.j->>'Id' AS id FROM tr_payins p ORDER BY p.j->>'Id' LIMIT 40) x;
CREATE TEMP TABLE s_users AS
SELECT DISTINCT p.j->>'AuthorId' AS id FROM tr_payins p JOIN s_payins s ON s.id = p.j->>'Id';
SELECT count(*) >= 40 AS enough_payins FROM s_payins;

-- 1. payins by id: exact rows, column by column
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('payins', 'payins', true,
  $$j->>'Id' IN (SELECT id FROM s_payins)$$, $$id = ANY(ARRAY(SELECT id FROM s_payins))$$);
SELECT count(*) = (SELECT count(*) FROM s_payins) AS one_get_per_id,
       bool_and(path ~ '/payins/[^/]+$') AS by_id
  FROM t.api_calls;
-- the new columns carry values somewhere in the sample
SELECT count(deposit_id) >= 0 AS deposit_col, count(DISTINCT payment_type) > 1 AS payment_types
  FROM mangopay.payins WHERE id = ANY(ARRAY(SELECT id FROM s_payins));
-- without ids: an ERROR with a HINT
SELECT t.err('SELECT * FROM mangopay.payins');

-- 2. a pay-in older than 13 months is a 404: no row (the disputes older
--    than 13 months name them)
CREATE TEMP TABLE s_old AS
SELECT j->>'InitialTransactionId' AS id FROM tr_disputes
 WHERE j->>'InitialTransactionId' NOT IN (SELECT j->>'Id' FROM tr_payins)
 ORDER BY 1 LIMIT 3;
SELECT count(*) AS old_payins FROM s_old;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS old_payin_rows FROM mangopay.payins WHERE id = ANY(ARRAY(SELECT id FROM s_old));
SELECT count(*) = (SELECT count(*) FROM s_old) AS one_get_each, bool_and(status = 404) AS all_404
  FROM t.api_calls;

-- 3. transfers and conversions by id
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('transfers', 'transfers', true,
  $$j->>'Id' IN (SELECT j->>'Id' FROM t.truth('transfers') j ORDER BY 1 LIMIT 25)$$,
  $$id = ANY(ARRAY(SELECT j->>'Id' FROM t.truth('transfers') j ORDER BY 1 LIMIT 25))$$);
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('conversions', 'conversions', true,
  $$j->>'Id' IN (SELECT j->>'Id' FROM t.truth('conversions') j ORDER BY 1 LIMIT 25)$$,
  $$id = ANY(ARRAY(SELECT j->>'Id' FROM t.truth('conversions') j ORDER BY 1 LIMIT 25))$$);

-- 4. users: natural and legal in one table
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('users', 'users', true,
  $$j->>'Id' IN (SELECT id FROM s_users)$$, $$id = ANY(ARRAY(SELECT id FROM s_users))$$);
SELECT person_type, count(*) > 0 AS seen, bool_and(attrs ? CASE person_type WHEN 'LEGAL' THEN 'Name' ELSE 'FirstName' END) AS rest_in_attrs
  FROM mangopay.users WHERE id = ANY(ARRAY(SELECT id FROM s_users)) GROUP BY 1 ORDER BY 1;

-- 5. user_wallets: by id, and by user (the balance now)
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('user_wallets', 'user_wallets', true,
  $$j->>'_Owners.0' IN (SELECT id FROM s_users)$$, $$user_id = ANY(ARRAY(SELECT id FROM s_users))$$);
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('user_wallets', 'user_wallets', true,
  $$j->>'Id' IN (SELECT j->>'CreditedWalletId' FROM tr_payins p JOIN s_payins s ON s.id = p.j->>'Id')$$,
  $$id = ANY(ARRAY(SELECT j->>'CreditedWalletId' FROM tr_payins p JOIN s_payins s ON s.id = p.j->>'Id'))$$);
SELECT count(*) FILTER (WHERE path ~ '/wallets/[^/]+$') > 0 AS by_id,
       count(*) FILTER (WHERE path ~ '/users/') AS by_user
  FROM t.api_calls;
SELECT t.err('SELECT * FROM mangopay.user_wallets');

-- 5b. SCA (spec §11): every wallet read sends ScaContext (sca_context,
--     default USER_NOT_PRESENT); OWNER users read without them need their
--     consent, PAYER users are not gated
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE s_owners AS
SELECT j->>'Id' AS id FROM t.truth('users') j
 WHERE j->>'UserCategory' = 'OWNER' AND j->>'Id' IN (SELECT id FROM s_users) ORDER BY 1 LIMIT 3;
SELECT count(*) > 0 AS owner_wallets_read FROM mangopay.user_wallets
 WHERE user_id = ANY(ARRAY(SELECT id FROM s_owners));
SELECT count(*) > 0 AS owner_wallet_by_id FROM mangopay.user_wallets
 WHERE id = (SELECT j->>'Id' FROM t.truth('user_wallets') j
              WHERE j->>'_Owners.0' IN (SELECT id FROM s_owners) ORDER BY 1 LIMIT 1);
SELECT count(*) AS calls, bool_and(query->>'ScaContext' = 'USER_NOT_PRESENT') AS sca_sent,
       bool_and(status = 200) AS all_ok
  FROM t.api_calls;
-- an OWNER who gave no consent (403): its own ERROR naming the user, the
-- token kept (no token request), nothing about credentials
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.err($$SELECT * FROM mangopay.user_wallets WHERE user_id = 'user_m_01SCA0WNERN0C0NSENT00000'$$, true);
SELECT t.err($$SELECT * FROM mangopay.user_wallets WHERE id = 'wlt_m_01SCA0WNERN0C0NSENT00000'$$);
SELECT count(*) FILTER (WHERE r->>'path' LIKE '%/oauth/token') AS token_requests,
       count(*) FILTER (WHERE r->>'path' NOT LIKE '%/oauth/token') AS api_requests
  FROM t.requests() r;
-- a PAYER without consent is not gated
SELECT id, balance_amount, balance_currency FROM mangopay.user_wallets
 WHERE user_id = 'user_m_01SCAPAYERN0C0NSENT00000';
-- sca_context 'USER_PRESENT': the users never authenticated, so MangoPay
-- answers 401 with WWW-Authenticate: PendingUserAction; the token is valid:
-- no refresh, no "check client_id and api_key"
ALTER SERVER mangopay OPTIONS (ADD sca_context 'USER_PRESENT');
SELECT count(*) AS payer_wallets FROM mangopay.user_wallets WHERE user_id = 'user_m_01SCAPAYERN0C0NSENT00000';
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.err(format('SELECT * FROM mangopay.user_wallets WHERE user_id = %L', (SELECT id FROM s_owners LIMIT 1)));
SELECT count(*) FILTER (WHERE r->>'path' LIKE '%/oauth/token') AS token_requests,
       count(*) FILTER (WHERE r->>'path' NOT LIKE '%/oauth/token') AS api_requests,
       bool_and(r->'params'->>'ScaContext' = 'USER_PRESENT') FILTER (WHERE r->>'path' NOT LIKE '%/oauth/token') AS user_present_sent
  FROM t.requests() r;
ALTER SERVER mangopay OPTIONS (DROP sca_context);
SELECT t.err($$ALTER SERVER mangopay OPTIONS (ADD sca_context 'user_not_present')$$);

-- 6. refunds of a pay-in, a transfer, a payout, a repudiation: the parent id
--    is a required key; an IN list is read concurrently, each parent once
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('payin_refunds', 'payin_refunds', true,
  $$j->>'_InitialTransactionId' IN (SELECT id FROM s_payins)$$,
  $$payin_id = ANY(ARRAY(SELECT id FROM s_payins))$$);
SELECT count(*) = (SELECT count(*) FROM s_payins) AS one_list_per_parent,
       count(DISTINCT path) = count(*) AS no_parent_twice
  FROM t.api_calls WHERE path ~ '/payins/[^/]+/refunds$';
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('transfer_refunds', 'transfer_refunds', true,
  $$j->>'_InitialTransactionId' IN (SELECT j->>'InitialTransactionId' FROM t.truth('transfer_refunds') j)$$,
  $$transfer_id = ANY(ARRAY(SELECT j->>'InitialTransactionId' FROM t.truth('transfer_refunds') j))$$);
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('payout_refunds', 'payout_refunds', true,
  $$j->>'_InitialTransactionId' IN (SELECT j->>'InitialTransactionId' FROM t.truth('payout_refunds') j)$$,
  $$payout_id = ANY(ARRAY(SELECT j->>'InitialTransactionId' FROM t.truth('payout_refunds') j))$$);
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('repudiation_refunds', 'repudiation_refunds', true,
  $$j->>'_InitialTransactionId' IN (SELECT j->>'InitialTransactionId' FROM t.truth('repudiation_refunds') j)$$,
  $$repudiation_id = ANY(ARRAY(SELECT j->>'InitialTransactionId' FROM t.truth('repudiation_refunds') j))$$);
SELECT count(*) > 0 AS some_repudiation_refunds FROM t.truth('repudiation_refunds');
SELECT t.err('SELECT * FROM mangopay.payin_refunds');
SELECT t.err('SELECT * FROM mangopay.payin_refunds WHERE initial_transaction_id = ''x''');
-- an unknown (or too old) parent is a 404: no rows
SELECT count(*) AS unknown_parent_rows FROM mangopay.payin_refunds WHERE payin_id = 'payin_m_nosuch';

-- 7. the transactions and documents of a dispute, the disputes of a user,
--    a wallet, a pay-in
CREATE TEMP TABLE s_lost AS
SELECT j->>'Id' AS id FROM tr_disputes WHERE j->>'ResultCode' = 'LOST'
   AND t.ts(j->'CreationDate') > now() - interval '11 months' ORDER BY 1 LIMIT 30;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('dispute_transactions', 'dispute_transactions', true,
  $$j->>'_DisputeId' IN (SELECT id FROM s_lost)$$, $$dispute_id = ANY(ARRAY(SELECT id FROM s_lost))$$);
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('dispute_documents_by_dispute', 'dispute_documents_by_dispute', true,
  $$j->>'_DisputeId' IN (SELECT id FROM s_lost UNION SELECT '9000000001')$$,
  $$dispute_id = ANY(ARRAY(SELECT id FROM s_lost UNION SELECT '9000000001'))$$);
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('user_disputes', 'user_disputes', true,
  $$j->>'_UserId' IN (SELECT id FROM s_users)$$, $$user_id = ANY(ARRAY(SELECT id FROM s_users))$$);
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('wallet_disputes', 'wallet_disputes', true,
  $$j->>'_WalletId' IN (SELECT j->>'CreditedWalletId' FROM tr_payins p JOIN s_payins s ON s.id = p.j->>'Id')$$,
  $$wallet_id = ANY(ARRAY(SELECT j->>'CreditedWalletId' FROM tr_payins p JOIN s_payins s ON s.id = p.j->>'Id'))$$);
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('payin_disputes', 'payin_disputes', true,
  $$j->>'_InitialTransactionId' IN (SELECT id FROM s_payins)$$,
  $$payin_id = ANY(ARRAY(SELECT id FROM s_payins))$$);
-- filters of the parent-scoped list go to the API
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 0 AS lost_closed FROM mangopay.user_disputes
 WHERE user_id = ANY(ARRAY(SELECT id FROM s_users)) AND status = 'CLOSED';
SELECT bool_and(query->>'Status' = 'CLOSED') AS status_sent FROM t.api_calls;

-- 8. user_emoney: one request per user and month; a closed date range on
--    month fans out to its months
CREATE TEMP TABLE s_emoney AS
SELECT u.id AS user_id, m::date AS month
  FROM (SELECT id FROM s_users ORDER BY id LIMIT 2) u,
       generate_series(date_trunc('month', now() - interval '3 months'),
                       date_trunc('month', now() - interval '1 month'), interval '1 month') m;
CREATE TEMP TABLE e_emoney AS
SELECT s.user_id, s.month, (j->>'UserId') AS uid, (j#>>'{CreditedEMoney,Currency}') AS currency,
       (j#>>'{CreditedEMoney,Amount}')::bigint AS credited, (j#>>'{DebitedEMoney,Amount}')::bigint AS debited
  FROM s_emoney s, t.truth(format('user_emoney?UserId=%s&Year=%s&Month=%s', s.user_id,
                                  extract(year FROM s.month), extract(month FROM s.month))) j;
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE f_emoney AS
SELECT user_id, month, attrs->>'UserId' AS uid, currency, credited_emoney_amount, debited_emoney_amount
  FROM mangopay.user_emoney
 WHERE user_id IN (SELECT id FROM s_users ORDER BY id LIMIT 2)
   AND month BETWEEN (date_trunc('month', now() - interval '3 months'))::date
                 AND (now() - interval '1 month')::date;
SELECT (SELECT count(*) FROM f_emoney) AS rows,
       (SELECT count(*) FROM (TABLE e_emoney EXCEPT ALL TABLE f_emoney) x) AS missing,
       (SELECT count(*) FROM (TABLE f_emoney EXCEPT ALL TABLE e_emoney) x) AS extra;
SELECT count(*) AS requests, count(DISTINCT path) AS distinct_paths,
       bool_and(path ~ '/users/[^/]+/emoney/[0-9]{4}/[0-9]{2}$') AS year_month_paths
  FROM t.api_calls WHERE path LIKE '%/emoney/%';
-- Currency goes to the API
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS usd_rows FROM mangopay.user_emoney
 WHERE user_id = (SELECT id FROM s_users ORDER BY id LIMIT 1)
   AND month = date_trunc('month', now() - interval '1 month')::date AND currency = 'USD';
SELECT count(*) AS requests, bool_and(query->>'Currency' = 'USD') AS currency_sent FROM t.api_calls;
SELECT t.err('SELECT * FROM mangopay.user_emoney WHERE user_id = ''x''');
SELECT t.err('SELECT * FROM mangopay.user_emoney WHERE user_id = ''x'' AND month >= date ''2025-01-01''');
SELECT t.err('SELECT * FROM mangopay.user_emoney WHERE user_id = ''x'' AND month BETWEEN date ''1900-01-01'' AND date ''2025-01-01''');

-- 9. joins: a parameterized scan per parent; a parent named twice is read once
SET enable_hashjoin = off; SET enable_mergejoin = off; SET enable_memoize = off;
SELECT * FROM t.explain($$SELECT d.id, f.id FROM mangopay.disputes d
  JOIN mangopay.payin_refunds f ON f.payin_id = d.initial_transaction_id
 WHERE d.status = 'CLOSED'$$);
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE j9 AS
SELECT p.id AS payin_id, f.id FROM (SELECT id FROM s_payins UNION ALL SELECT id FROM s_payins) p
  JOIN mangopay.payin_refunds f ON f.payin_id = p.id;
SELECT (SELECT count(*) FROM j9) = 2 * (SELECT count(*) FROM tr_refunds
         WHERE j->>'InitialTransactionId' IN (SELECT id FROM s_payins)) AS rows_ok,
       (SELECT count(*) FROM t.api_calls WHERE path LIKE '%/refunds') = (SELECT count(*) FROM s_payins) AS each_parent_once;
RESET enable_hashjoin; RESET enable_mergejoin; RESET enable_memoize;

-- 10. the demo's reconciliation: the disputes lost last month -> their
--     pay-ins -> refunds and repudiation -> the seller's wallet and e-money
--     that month.  Exact rows, and one request per distinct object.
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE recon AS
WITH lost AS MATERIALIZED (
  SELECT id, closed_date, initial_transaction_id, repudiation_id, disputed_funds_amount
  FROM mangopay.disputes
  WHERE status = 'CLOSED' AND result_code = 'LOST'
    AND closed_date >= date_trunc('month', now() - interval '1 month')
    AND closed_date < date_trunc('month', now()))
SELECT l.id AS dispute, p.id AS payin, p.debited_funds_amount AS paid,
       (SELECT coalesce(sum(f.debited_funds_amount), 0) FROM mangopay.payin_refunds f
         WHERE f.payin_id = p.id AND f.status = 'SUCCEEDED') AS refunded,
       r.debited_funds_amount AS repudiated,
       w.id AS wallet, w.balance_amount AS balance,
       p.credited_user_id AS seller, e.credited_emoney_amount AS emoney_in, e.debited_emoney_amount AS emoney_out
FROM lost l
LEFT JOIN mangopay.payins p ON p.id = l.initial_transaction_id
LEFT JOIN mangopay.repudiations r ON r.id = l.repudiation_id
LEFT JOIN mangopay.user_wallets w ON w.id = p.credited_wallet_id
LEFT JOIN mangopay.user_emoney e ON e.user_id = p.credited_user_id
      AND e.month = date_trunc('month', now() - interval '1 month')::date;
CREATE TEMP TABLE calls AS SELECT * FROM t.api_calls;
CREATE TEMP TABLE recon_truth AS
WITH lost AS (
  SELECT j FROM tr_disputes WHERE j->>'Status' = 'CLOSED' AND j->>'ResultCode' = 'LOST'
     AND t.ts(j->'ClosedDate') >= date_trunc('month', now() - interval '1 month')
     AND t.ts(j->'ClosedDate') < date_trunc('month', now())),
w AS (SELECT j FROM t.truth('user_wallets') j),
r AS (SELECT j FROM t.truth('repudiations') j)
SELECT l.j->>'Id' AS dispute, p.j->>'Id' AS payin, (p.j#>>'{DebitedFunds,Amount}')::bigint AS paid,
       CASE WHEN p.j IS NULL THEN NULL ELSE
       (SELECT coalesce(sum((f.j#>>'{DebitedFunds,Amount}')::bigint), 0) FROM tr_refunds f
         WHERE f.j->>'InitialTransactionId' = p.j->>'Id' AND f.j->>'Status' = 'SUCCEEDED') END AS refunded,
       (r.j#>>'{DebitedFunds,Amount}')::bigint AS repudiated,
       w.j->>'Id' AS wallet, (w.j#>>'{Balance,Amount}')::bigint AS balance,
       p.j->>'CreditedUserId' AS seller,
       (e.j#>>'{CreditedEMoney,Amount}')::bigint AS emoney_in, (e.j#>>'{DebitedEMoney,Amount}')::bigint AS emoney_out
  FROM lost l
  LEFT JOIN tr_payins p ON p.j->>'Id' = l.j->>'InitialTransactionId'
  LEFT JOIN r ON r.j->>'Id' = l.j->>'RepudiationId'
  LEFT JOIN w ON w.j->>'Id' = p.j->>'CreditedWalletId'
  LEFT JOIN LATERAL (SELECT j FROM t.truth(format('user_emoney?UserId=%s&Year=%s&Month=%s', p.j->>'CreditedUserId',
      extract(year FROM now() - interval '1 month'), extract(month FROM now() - interval '1 month'))) j
      WHERE p.j IS NOT NULL) e ON true;
SELECT (SELECT count(*) FROM recon) > 5 AS enough_disputes,
       (SELECT count(*) FROM recon WHERE refunded > 0) > 0 AS some_refunded,
       (SELECT count(*) FROM (TABLE recon EXCEPT ALL TABLE recon_truth) x) AS extra,
       (SELECT count(*) FROM (TABLE recon_truth EXCEPT ALL TABLE recon) x) AS missing;
-- each distinct object once: pay-ins, repudiations, wallets, refund lists, e-money months
SELECT (SELECT count(*) FROM recon WHERE payin IS NULL) AS payins_not_found,
       (SELECT count(*) FROM calls WHERE path ~ '/payins/[^/]+$') = (SELECT count(DISTINCT payin) FROM recon) AS payins_once,
       (SELECT count(*) FROM calls WHERE path ~ '/repudiations/') = (SELECT count(*) FROM recon) AS repudiations_once,
       (SELECT count(*) FROM calls WHERE path ~ '/wallets/') = (SELECT count(DISTINCT wallet) FROM recon) AS wallets_once,
       (SELECT count(*) FROM calls WHERE path ~ '/refunds$') = (SELECT count(DISTINCT payin) FROM recon) AS refund_lists_once,
       (SELECT count(*) FROM calls WHERE path ~ '/emoney/') = (SELECT count(DISTINCT seller) FROM recon) AS emoney_once,
       (SELECT count(*) FROM calls WHERE path !~ '/disputes$') = (SELECT count(DISTINCT path) FROM calls WHERE path !~ '/disputes$') AS no_path_twice;

-- 11. columns the API has: a payout's PaymentRef (read by id), the
--     Reporting Service's dates, filters, columns and DownloadURL (the list's
--     items are reduced: read by id per row, only when referenced)
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE s_po AS
SELECT j->>'Id' AS id FROM t.truth('payouts') j ORDER BY (j->'PaymentRef' = 'null'), 1 LIMIT 30;
SELECT count(*) AS rows, count(payment_ref_reason_type) > 0 AS some_refs,
       count(*) FILTER (WHERE (p.payment_ref_reason_type, p.payment_ref_reference_id)
         IS NOT DISTINCT FROM (tr.j#>>'{PaymentRef,ReasonType}', tr.j#>>'{PaymentRef,ReferenceId}')) AS same_ref
  FROM mangopay.payouts p JOIN t.truth('payouts') tr(j) ON tr.j->>'Id' = p.id
 WHERE p.id = ANY(ARRAY(SELECT id FROM s_po));
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE rr AS
SELECT id, download_url_present, after_date, before_date, filters, columns FROM mangopay.reporting_reports;
CREATE TEMP TABLE rr_truth AS
SELECT j->>'Id' AS id, CASE WHEN j ? 'DownloadURL' THEN j->'DownloadURL' <> 'null' END AS download_url_present,
       t.ts(j->'AfterDate') AS after_date, t.ts(j->'BeforeDate') AS before_date,
       NULLIF(j->'Filters', 'null') AS filters, NULLIF(j->'Columns', 'null') AS columns
  FROM t.truth('reporting_reports') j;
SELECT (SELECT count(*) FROM rr) > 10 AS listed,
       (SELECT count(*) FROM rr WHERE download_url_present) > 0 AS some_downloadable,
       (SELECT count(*) FROM (TABLE rr EXCEPT ALL TABLE rr_truth) x) AS extra,
       (SELECT count(*) FROM (TABLE rr_truth EXCEPT ALL TABLE rr) x) AS missing;
SELECT count(*) FILTER (WHERE path ~ '/reporting/reports$') AS list_pages,
       count(*) FILTER (WHERE path ~ '/reporting/reports/') = (SELECT count(*) FROM rr) AS one_get_per_row
  FROM t.api_calls;
-- not referenced: no GET per row
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 10 AS listed FROM mangopay.reporting_reports WHERE status IS NOT NULL;
SELECT count(*) FILTER (WHERE path ~ '/reporting/reports/') AS gets_by_id FROM t.api_calls;
-- currency is a parameter of the answer: one value per query
SELECT t.err('SELECT * FROM mangopay.user_emoney WHERE user_id = ''x'' AND month = date ''2025-01-01'' AND currency IN (''USD'', ''GBP'')');

-- 12. an IN list of parents is read concurrently: with 400 ms per request,
--     the mock's request log shows the requests overlapping, never more
--     than max_concurrency (4) at once (from the log, not from a clock)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"latency_ms": 400}') ->> 'ok' AS slow;
SELECT count(*) >= 0 AS read FROM mangopay.dispute_transactions
 WHERE dispute_id = ANY(ARRAY(SELECT id FROM s_lost ORDER BY id LIMIT 8));
WITH r AS (SELECT (x ->> 'time')::float8 AS t0, (x ->> 'ms')::float8 / 1000 AS d
             FROM t.requests() x WHERE x ->> 'path' ~ '/disputes/[^/]+/transactions$')
SELECT count(*) = (SELECT count(*) FROM (SELECT id FROM s_lost ORDER BY id LIMIT 8) q) AS one_per_parent,
       max(n) >= 2 AS concurrent, max(n) <= 4 AS within_max_concurrency
  FROM (SELECT (SELECT count(*) FROM r b WHERE b.t0 <= a.t0 AND b.t0 + b.d > a.t0) AS n FROM r a) s;
SELECT t.mock('config', '{"latency_ms": 0}') ->> 'ok' AS fast;
EXPLAIN (COSTS OFF)
SELECT * FROM mangopay.user_emoney
 WHERE user_id IN ('a', 'b') AND month BETWEEN date '2025-01-01' AND date '2025-03-31';

-- 13. a join that gives both keys of user_emoney (user and month from the outer side)
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE j13 AS
SELECT s.user_id, s.month, e.credited_emoney_amount, e.debited_emoney_amount
  FROM s_emoney s JOIN mangopay.user_emoney e ON e.user_id = s.user_id AND e.month = s.month;
SELECT (SELECT count(*) FROM (SELECT user_id, month, credited_emoney_amount, debited_emoney_amount FROM f_emoney
         EXCEPT ALL TABLE j13) x) AS missing,
       (SELECT count(*) FROM (TABLE j13 EXCEPT ALL
         SELECT user_id, month, credited_emoney_amount, debited_emoney_amount FROM f_emoney) x) AS extra,
       (SELECT count(*) FROM t.api_calls) AS requests;

-- 14. the transactions of a bank account (GET /bankaccounts/{Id}/transactions,
--     the payouts to it): the account id is a required key; each account is
--     one paged list (Sort=CreationDate:ASC); Status/Type/Nature and the
--     CreationDate range go to the API; a join from payouts reads each
--     account once.  Recipient ids (rec_...) are listed as accounts here
--     (mock knob bankaccount_recipient_ids, the other reading of §11)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"bankaccount_recipient_ids": true}') ->> 'ok' AS recipient_ids_as_accounts;
CREATE TEMP TABLE tr_bat AS SELECT j FROM t.truth('bank_account_transactions') j;
CREATE TEMP TABLE s_accts AS
SELECT j->>'_BankAccountId' AS id, count(*) AS n FROM tr_bat GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 6;
SELECT max(n) > 100 AS one_over_a_page, min(n) > 1 AS several_each,
       (SELECT count(*) FROM tr_bat WHERE j->>'Type' <> 'PAYOUT') AS not_payouts FROM s_accts;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('bank_account_transactions', 'bank_account_transactions', true,
  $$j->>'_BankAccountId' IN (SELECT id FROM s_accts)$$, $$bank_account_id = ANY(ARRAY(SELECT id FROM s_accts))$$);
SELECT count(*) = (SELECT sum((n + 99) / 100) FROM s_accts) AS pages_of_100,
       count(DISTINCT path) = (SELECT count(*) FROM s_accts) AS each_account,
       bool_and(path ~ '/bankaccounts/[^/]+/transactions$') AS list_path,
       bool_and(query->>'Sort' = 'CreationDate:ASC' AND query->>'per_page' = '100') AS sorted_paged
  FROM t.api_calls;
-- what else the list holds is not documented: with the payouts' refunds in
-- it (mock knob bankaccount_refunds), exact rows too
SELECT t.mock('config', '{"bankaccount_refunds": true}') ->> 'ok' AS with_refunds;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra,
       (SELECT count(*) FROM t.truth('bank_account_transactions') j
         WHERE j->>'_BankAccountId' IN (SELECT id FROM s_accts) AND j->>'Nature' = 'REFUND') > 0 AS some_refunds
  FROM t.compare('bank_account_transactions', 'bank_account_transactions', true,
  $$j->>'_BankAccountId' IN (SELECT id FROM s_accts)$$, $$bank_account_id = ANY(ARRAY(SELECT id FROM s_accts))$$);
SELECT t.mock('config', '{"bankaccount_refunds": false}') ->> 'ok' AS without_refunds;
-- filters and the date range go to the API: exact rows
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"bankaccount_recipient_ids": true}') ->> 'ok' AS recipient_ids_as_accounts;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('bank_account_transactions', 'bank_account_transactions', true,
  $$j->>'_BankAccountId' = (SELECT id FROM s_accts ORDER BY n DESC LIMIT 1) AND j->>'Status' IN ('SUCCEEDED', 'FAILED')
    AND j->>'Nature' = 'REGULAR' AND t.ts(j->'CreationDate') >= now() - interval '6 months'$$,
  $$bank_account_id = (SELECT id FROM s_accts ORDER BY n DESC LIMIT 1) AND status IN ('SUCCEEDED', 'FAILED')
    AND nature = 'REGULAR' AND creation_date >= now() - interval '6 months'$$);
SELECT count(*) AS requests,
       bool_and(string_to_array(query->>'Status', ',') @> '{SUCCEEDED,FAILED}' AND query->>'Nature' = 'REGULAR') AS filters_sent,
       bool_and((query->>'AfterDate')::bigint BETWEEN extract(epoch FROM now() - interval '6 months 1 minute')
                                                 AND extract(epoch FROM now() - interval '6 months')) AS after_date_sent
  FROM t.api_calls;
-- without the account: an ERROR with a HINT
SELECT t.err('SELECT * FROM mangopay.bank_account_transactions');
SELECT t.err('SELECT * FROM mangopay.bank_account_transactions WHERE status = ''SUCCEEDED''');
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"bankaccount_recipient_ids": true}') ->> 'ok' AS recipient_ids_as_accounts;
SELECT id, status, type, nature, debited_funds_amount, bank_account_id
  FROM mangopay.bank_account_transactions
 WHERE bank_account_id = 'rec_01JQ0000000000000000000001' ORDER BY id;
SELECT path, status FROM t.api_calls ORDER BY path;
-- as the mock reads the spec by default, MangoPay answers 404 for a
-- Recipient id under /bankaccounts (§11: undocumented): an ERROR pointing to
-- recipients, never "no rows"
SELECT t.mock('config', '{"bankaccount_recipient_ids": false}') ->> 'ok' AS recipient_ids_404;
SELECT t.err($$SELECT * FROM mangopay.bank_account_transactions WHERE bank_account_id = 'rec_01JQ0000000000000000000001'$$, true);
SELECT t.err($$SELECT * FROM mangopay.bank_account_transactions WHERE bank_account_id IN ('160000000', 'rec_m_nosuch')$$);
-- a join from payouts (their bank_account_id): the payouts of the last two
-- months each found in their account's list; an account whose list fits one
-- page is listed once however many payouts name it (a longer list, the
-- client's fee account, is not kept across rescans: read again per payout)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"bankaccount_recipient_ids": true}') ->> 'ok' AS recipient_ids_as_accounts;
CREATE TEMP TABLE j14 AS
SELECT p.id, p.bank_account_id, b.status
  FROM mangopay.payouts p
  JOIN mangopay.bank_account_transactions b ON b.bank_account_id = p.bank_account_id AND b.id = p.id
 WHERE p.creation_date >= now() - interval '2 months';
CREATE TEMP TABLE j14_truth AS
SELECT j->>'Id' AS id, j->>'BankAccountId' AS bank_account_id, j->>'Status' AS status
  FROM t.truth('payouts') j WHERE t.ts(j->'CreationDate') >= now() - interval '2 months';
SELECT (SELECT count(*) FROM j14) > 10 AS enough,
       (SELECT count(*) FROM (TABLE j14 EXCEPT ALL TABLE j14_truth) x) AS extra,
       (SELECT count(*) FROM (TABLE j14_truth EXCEPT ALL TABLE j14) x) AS missing;
WITH c AS (SELECT split_part(path, '/', 5) AS account, count(*) FILTER (WHERE query->>'page' = '1') AS reads,
                  max((query->>'page')::int) AS pages
             FROM t.api_calls WHERE path ~ '/bankaccounts/' GROUP BY 1)
SELECT count(*) = (SELECT count(DISTINCT bank_account_id) FROM j14) AS each_account,
       count(*) FILTER (WHERE pages = 1 AND (SELECT count(*) FROM j14 WHERE bank_account_id = account) > 1) > 0 AS some_named_twice,
       bool_and(reads = 1) FILTER (WHERE pages = 1) AS one_page_lists_once,
       count(*) FILTER (WHERE pages > 1) AS longer_lists
  FROM c;

-- 15. recipients (spec §11): the payees of payouts, by id (GET
--     /recipients/{Id} reads Recipient ids and legacy bank account ids
--     alike) and per user; the account columns whatever the payout method
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE s_rcp AS
(SELECT j->>'Id' AS id FROM t.truth('recipients') j WHERE j->>'Id' NOT LIKE 'rec\_%' ORDER BY 1 LIMIT 20)
UNION ALL
(SELECT j->>'Id' FROM t.truth('recipients') j WHERE j->>'Id' LIKE 'rec\_%' ORDER BY 1 LIMIT 60);
SELECT fdw_rows = api_rows AND api_rows = 80 AS same_rows, missing, extra FROM t.compare('recipients', 'recipients', true,
  $$j->>'Id' IN (SELECT id FROM s_rcp)$$, $$id = ANY(ARRAY(SELECT id FROM s_rcp))$$);
SELECT count(*) AS requests, bool_and(path ~ '/recipients/[^/]+$') AS by_id, bool_and(status = 200) AS all_found
  FROM t.api_calls;
SELECT payout_method_type, count(*) > 0 AS seen,
       bool_and(coalesce(iban, account_number) IS NOT NULL) AS account_known,
       bool_and(owner_name IS NOT NULL) AS owner_known
  FROM mangopay.recipients WHERE id = ANY(ARRAY(SELECT id FROM s_rcp)) GROUP BY 1 ORDER BY 1;
SELECT count(*) FILTER (WHERE verification_of_payee_check IS NOT NULL) > 0 AS vop_seen,
       bool_and(verification_of_payee_check IS NOT NULL) FILTER (WHERE currency = 'EUR') AS vop_for_eur
  FROM mangopay.recipients WHERE id = ANY(ARRAY(SELECT id FROM s_rcp));
SELECT t.err('SELECT * FROM mangopay.recipients');
SELECT count(*) AS unknown_recipient_rows FROM mangopay.recipients WHERE id = 'rec_m_nosuch';
-- per user (one list per user), with RecipientScope sent
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE s_rusers AS
SELECT DISTINCT j->>'UserId' AS id FROM t.truth('recipients') j WHERE j->>'RecipientScope' = 'PAYIN' ORDER BY 1 LIMIT 10;
SELECT fdw_rows = api_rows AND api_rows > 10 AS same_rows, missing, extra FROM t.compare('user_recipients', 'user_recipients', true,
  $$j->>'_UserId' IN (SELECT id FROM s_rusers)$$, $$user_id = ANY(ARRAY(SELECT id FROM s_rusers))$$);
SELECT count(*) = (SELECT count(*) FROM s_rusers) AS one_list_per_user FROM t.api_calls;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT fdw_rows = api_rows AND api_rows = 10 AS same_rows, missing, extra FROM t.compare('user_recipients', 'user_recipients', true,
  $$j->>'_UserId' IN (SELECT id FROM s_rusers) AND j->>'RecipientScope' = 'PAYIN'$$,
  $$user_id = ANY(ARRAY(SELECT id FROM s_rusers)) AND recipient_scope = 'PAYIN'$$);
SELECT bool_and(query->>'RecipientScope' = 'PAYIN') AS scope_sent FROM t.api_calls;
SELECT t.err('SELECT * FROM mangopay.user_recipients');
-- a join from payouts: each payee read once, whatever the kind of its id
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE j15 AS
SELECT p.id, p.bank_account_id, r.id AS recipient_id, r.iban, r.account_number, r.status
  FROM mangopay.payouts p
  LEFT JOIN mangopay.recipients r ON r.id = p.bank_account_id
 WHERE p.creation_date >= now() - interval '2 months';
CREATE TEMP TABLE j15_truth AS
SELECT p.j->>'Id' AS id, p.j->>'BankAccountId' AS bank_account_id, r.j->>'Id' AS recipient_id,
       COALESCE(r.j#>>'{LocalBankTransfer,EUR,IBAN}', r.j#>>'{InternationalBankTransfer,IBAN}') AS iban,
       COALESCE(r.j#>>'{LocalBankTransfer,GBP,AccountNumber}', r.j#>>'{InternationalBankTransfer,AccountNumber}') AS account_number,
       r.j->>'Status' AS status
  FROM t.truth('payouts') AS p(j) LEFT JOIN t.truth('recipients') AS r(j) ON r.j->>'Id' = p.j->>'BankAccountId'
 WHERE t.ts(p.j->'CreationDate') >= now() - interval '2 months';
SELECT (SELECT count(*) FROM j15) > 10 AS enough,
       (SELECT count(*) FROM j15 WHERE recipient_id IS NULL) AS payee_missing,
       (SELECT count(*) FROM (TABLE j15 EXCEPT ALL TABLE j15_truth) x) AS extra,
       (SELECT count(*) FROM (TABLE j15_truth EXCEPT ALL TABLE j15) x) AS missing;
SELECT count(*) = (SELECT count(DISTINCT bank_account_id) FROM j15) AS one_get_per_payee,
       count(DISTINCT path) = count(*) AS none_twice
  FROM t.api_calls WHERE path ~ '/recipients/';

-- 16. a user's regulatory status (GET /users/{Id}/regulatory): one object
--     per user, read once per user
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('user_regulatory', 'user_regulatory', true,
  $$j->>'_UserId' IN (SELECT id FROM s_users)$$, $$user_id = ANY(ARRAY(SELECT id FROM s_users))$$);
SELECT count(*) = (SELECT count(*) FROM s_users) AS one_get_per_user, bool_and(path ~ '/users/[^/]+/regulatory$') AS path_ok
  FROM t.api_calls;
-- joined to users: each user's row
SELECT count(*) = (SELECT count(*) FROM s_users) AS every_user,
       bool_and(r.outflows_blocked = (u.user_status <> 'ACTIVE')) AS blocked_when_not_active
  FROM mangopay.users u JOIN mangopay.user_regulatory r ON r.user_id = u.id
 WHERE u.id = ANY(ARRAY(SELECT id FROM s_users));
SELECT t.err('SELECT * FROM mangopay.user_regulatory');

-- 17. what a reconciliation matches on, per kind of pay-in (spec §11): a
--     declared bank wire (its declared funds and fees, wire reference and
--     camt TransactionDetails once received; placeholder DebitedFunds XXX 0
--     before), a wire to a virtual IBAN (the payer's account when MangoPay
--     has it, the banking alias), card pre-authorization and deposit
--     captures, direct debits (mandate, charge date), pay by bank
--     (ProcessingStatus, Scheme), cards (CardInfo; none on web cards),
--     PayPal.  A sample with every shape the mock serves (a key absent,
--     null, an empty array, an object of nulls), compared with the ground
--     truth column by column
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE s_kinds AS
SELECT id FROM (
  SELECT j->>'Id' AS id, row_number() OVER (PARTITION BY sig ORDER BY j->>'Id') AS n
    FROM (SELECT j, concat_ws('/', j->>'PaymentType', j->>'ExecutionType', j->>'Status',
            (SELECT string_agg(k || ':' || coalesce(jsonb_typeof(j->k), 'absent')
                               || coalesce(':' || jsonb_typeof(j->k->'IBAN'), ''), ',' ORDER BY k)
               FROM unnest(ARRAY['TransactionDetails', 'DebitedBankAccount', 'CardInfo', 'CardId',
                                 'ProcessingStatus', 'ChargeDate', 'PaypalOrderID', 'Reference',
                                 'WireReference']) k)) AS sig
            FROM tr_payins) x) y
 WHERE n <= 2;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('payins', 'payins', true,
  $$j->>'Id' IN (SELECT id FROM s_kinds)$$, $$id = ANY(ARRAY(SELECT id FROM s_kinds))$$);
SELECT count(*) = (SELECT count(*) FROM s_kinds) AS one_get_per_id FROM t.api_calls;
-- each kind shows its fields (and only its own)
SELECT payment_type, execution_type,
       bool_or(wire_reference IS NOT NULL) AS wire_ref,
       bool_or(declared_debited_funds_amount IS NOT NULL AND declared_fees_currency IS NOT NULL) AS declared,
       bool_or(debited_funds_currency = 'XXX') AS placeholder,
       bool_or(jsonb_typeof(transaction_details) = 'array' AND transaction_details <> '[]') AS camt,
       bool_or(debited_bank_account_iban IS NOT NULL) AS payer_iban,
       bool_or(debited_bank_account_owner_name IS NOT NULL) AS payer_name,
       bool_or(banking_alias_id IS NOT NULL) AS alias,
       bool_or(preauthorization_id IS NOT NULL OR deposit_id IS NOT NULL) AS captured,
       bool_or(mandate_id IS NOT NULL AND charge_date IS NOT NULL) AS mandate,
       bool_or(processing_status = 'PENDING_SUCCEEDED') AS pending_succeeded,
       bool_or(scheme IS NOT NULL) AS scheme,
       bool_or(card_id IS NOT NULL) AS card_id,
       bool_or(card_info_bin IS NOT NULL AND card_info_brand IS NOT NULL AND card_info_type IS NOT NULL
               AND card_info_issuer_country_code IS NOT NULL) AS card_info,
       bool_or(paypal_order_id IS NOT NULL AND reference IS NOT NULL) AS paypal
  FROM mangopay.payins WHERE id = ANY(ARRAY(SELECT id FROM s_kinds))
 GROUP BY 1, 2 ORDER BY 1, 2;
-- the payer of a wire to a virtual IBAN and the camt debtor of a declared
-- wire, as a bank statement match reads them
SELECT count(*) FILTER (WHERE execution_type = 'EXTERNAL_INSTRUCTION') > 0 AS virtual_iban,
       count(*) FILTER (WHERE transaction_details->0->>'DebtorName' IS NOT NULL) > 0 AS debtor_names,
       count(*) FILTER (WHERE transaction_details->0->'References'->0->>'Type' = 'EndToEndId') > 0 AS end_to_end_ids
  FROM mangopay.payins WHERE id = ANY(ARRAY(SELECT id FROM s_kinds));

-- 18. conversions: quoted (a QuoteId, no Fees) and instant (QuoteId null,
--     Fees); ClientRate and MarketRate exact, as the decimals MangoPay sent
--     (trailing zeros kept, never rounded through a double)
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE s_conv AS SELECT j->>'Id' AS id FROM t.truth('conversions') j ORDER BY md5(j->>'Id') LIMIT 60;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('conversions', 'conversions', true,
  $$j->>'Id' IN (SELECT id FROM s_conv)$$, $$id = ANY(ARRAY(SELECT id FROM s_conv))$$);
SELECT count(*) FILTER (WHERE c.quote_id IS NOT NULL) > 0 AS quoted,
       count(*) FILTER (WHERE c.quote_id IS NULL) > 0 AS instant,
       bool_and(c.fees_amount IS NULL) FILTER (WHERE c.quote_id IS NOT NULL) AS quoted_no_fees,
       count(*) FILTER (WHERE c.client_rate::text IS DISTINCT FROM tr.j#>>'{ConversionRateResponse,ClientRate}'
                           OR c.market_rate::text IS DISTINCT FROM tr.j#>>'{ConversionRateResponse,MarketRate}') AS rates_not_as_sent,
       count(*) FILTER (WHERE c.client_rate::text ~ '\.\d*0$') > 0 AS trailing_zeros_kept,
       count(*) FILTER (WHERE c.client_rate < c.market_rate) > 0 AS markup
  FROM mangopay.conversions c JOIN t.truth('conversions') tr(j) ON tr.j->>'Id' = c.id
 WHERE c.id = ANY(ARRAY(SELECT id FROM s_conv));
-- the FX markup of each conversion, exact: (market - client) / market
SELECT count(*) AS with_rates,
       bool_and((c.market_rate - c.client_rate) / c.market_rate
                = ((tr.j#>>'{ConversionRateResponse,MarketRate}')::numeric - (tr.j#>>'{ConversionRateResponse,ClientRate}')::numeric)
                  / (tr.j#>>'{ConversionRateResponse,MarketRate}')::numeric) AS markup_exact
  FROM mangopay.conversions c JOIN t.truth('conversions') tr(j) ON tr.j->>'Id' = c.id
 WHERE c.id = ANY(ARRAY(SELECT id FROM s_conv)) AND c.market_rate IS NOT NULL;

-- 19. conversion_rates: GET /conversions/rate/{Debited}/{Credited}, one
--     request per pair the WHERE clause or a join names; a pair of one
--     currency names nothing (no request, no row); both keys are required
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('conversion_rates', 'conversion_rates', true,
  $$j->>'_DebitedCurrency' IN ('EUR', 'GBP', 'JPY') AND j->>'_CreditedCurrency' IN ('EUR', 'USD', 'CHF')$$,
  $$debited_currency IN ('EUR', 'GBP', 'JPY') AND credited_currency IN ('EUR', 'USD', 'CHF')$$);
SELECT count(*) AS requests, count(DISTINCT path) AS pairs,
       bool_and(path ~ '/conversions/rate/[A-Z]{3}/[A-Z]{3}$') AS rate_paths,
       count(*) FILTER (WHERE path LIKE '%/EUR/EUR') AS same_currency
  FROM t.api_calls;
SELECT t.err('SELECT * FROM mangopay.conversion_rates WHERE debited_currency = ''EUR''');
-- not a currency code (lower case): no request, no row; an unknown code: the API's 400
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS lower_case FROM mangopay.conversion_rates WHERE debited_currency = 'eur' AND credited_currency = 'USD';
SELECT count(*) AS one_currency FROM mangopay.conversion_rates WHERE debited_currency = 'EUR' AND credited_currency = 'EUR';
SELECT count(*) AS requests FROM t.api_calls;
SELECT t.err('SELECT * FROM mangopay.conversion_rates WHERE debited_currency = ''EUR'' AND credited_currency = ''XTS''');
-- last month's conversions joined to today's indicative rate of their pair:
-- each pair read once
SELECT t.mock('reset') ->> 'ok' AS reset;
SET enable_hashjoin = off; SET enable_mergejoin = off;
CREATE TEMP TABLE j17 AS
SELECT c.id, c.client_rate, r.client_rate AS rate_now
  FROM mangopay.conversions c
  JOIN mangopay.conversion_rates r
    ON r.debited_currency = c.debited_funds_currency AND r.credited_currency = c.credited_funds_currency
 WHERE c.id = ANY(ARRAY(SELECT id FROM s_conv));
RESET enable_hashjoin; RESET enable_mergejoin;
CREATE TEMP TABLE j17_truth AS
SELECT c.j->>'Id' AS id, (c.j#>>'{ConversionRateResponse,ClientRate}')::numeric AS client_rate,
       (r.j->>'ClientRate')::numeric AS rate_now
  FROM t.truth('conversions') c(j)
  JOIN t.truth('conversion_rates') r(j) ON r.j->>'DebitedCurrency' = c.j#>>'{DebitedFunds,Currency}'
   AND r.j->>'CreditedCurrency' = c.j#>>'{CreditedFunds,Currency}'
 WHERE c.j->>'Id' IN (SELECT id FROM s_conv);
SELECT (SELECT count(*) FROM j17) > 20 AS enough,
       (SELECT count(*) FROM (TABLE j17 EXCEPT ALL TABLE j17_truth) x) AS extra,
       (SELECT count(*) FROM (TABLE j17_truth EXCEPT ALL TABLE j17) x) AS missing,
       (SELECT count(*) FROM t.api_calls WHERE path ~ '/conversions/rate/')
         = (SELECT count(DISTINCT (j#>>'{DebitedFunds,Currency}', j#>>'{CreditedFunds,Currency}'))
              FROM t.truth('conversions') j WHERE j->>'Id' IN (SELECT id FROM s_conv)
               AND j#>>'{DebitedFunds,Currency}' <> j#>>'{CreditedFunds,Currency}') AS each_pair_once,
       (SELECT count(*) FROM t.api_calls WHERE path ~ '/conversions/rate/(...)/\1$') AS same_currency_requests;

-- last month's pay-ins (some bank wires not received yet: debited funds
-- XXX 0, "no currency") with today's rate of their currency into EUR: one
-- request per currency; EUR to EUR and XXX name nothing (no request, NULL)
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE s_lm AS
SELECT id FROM (SELECT j->>'Id' AS id FROM tr_payins
                 WHERE t.ts(j->'CreationDate') >= date_trunc('month', now()) - interval '1 month'
                   AND t.ts(j->'CreationDate') < date_trunc('month', now())
                 ORDER BY md5(j->>'Id') LIMIT 100) x
UNION SELECT j->>'Id' FROM tr_payins WHERE j#>>'{DebitedFunds,Currency}' = 'XXX'
   AND t.ts(j->'CreationDate') >= date_trunc('month', now()) - interval '1 month';
SET enable_hashjoin = off; SET enable_mergejoin = off;
CREATE TEMP TABLE j17b AS
SELECT p.id, p.debited_funds_currency, r.client_rate, r.market_rate
  FROM mangopay.payins p
  LEFT JOIN mangopay.conversion_rates r ON r.debited_currency = p.debited_funds_currency AND r.credited_currency = 'EUR'
 WHERE p.id = ANY(ARRAY(SELECT id FROM s_lm));
RESET enable_hashjoin; RESET enable_mergejoin;
CREATE TEMP TABLE j17b_truth AS
SELECT p.j->>'Id' AS id, p.j#>>'{DebitedFunds,Currency}' AS debited_funds_currency,
       (r.j->>'ClientRate')::numeric AS client_rate, (r.j->>'MarketRate')::numeric AS market_rate
  FROM tr_payins p
  LEFT JOIN t.truth('conversion_rates') r(j) ON r.j->>'DebitedCurrency' = p.j#>>'{DebitedFunds,Currency}'
   AND r.j->>'CreditedCurrency' = 'EUR'
 WHERE p.j->>'Id' IN (SELECT id FROM s_lm);
SELECT (SELECT count(*) FROM j17b WHERE debited_funds_currency = 'XXX') > 0 AS some_not_received,
       (SELECT count(*) FROM (TABLE j17b EXCEPT ALL TABLE j17b_truth) x) AS extra,
       (SELECT count(*) FROM (TABLE j17b_truth EXCEPT ALL TABLE j17b) x) AS missing,
       (SELECT count(*) FROM t.api_calls WHERE path ~ '/conversions/rate/')
         = (SELECT count(DISTINCT debited_funds_currency) FROM j17b WHERE debited_funds_currency NOT IN ('EUR', 'XXX')) AS each_currency_once,
       (SELECT count(*) FROM t.api_calls WHERE path ~ '/conversions/rate/(EUR|XXX)/') AS eur_or_xxx_requests;

-- 20. user_emoney's month bounded by timestamps, as people write them: the
--     months whose first day is in the range, each read once, exact rows
SELECT t.mock('reset') ->> 'ok' AS reset;
EXPLAIN (COSTS OFF)
SELECT * FROM mangopay.user_emoney
 WHERE user_id = 'x' AND month >= date_trunc('month', now()) - interval '3 months'
   AND month < date_trunc('month', now()) - interval '1 month';
CREATE TEMP TABLE f18 AS
SELECT user_id, month, attrs->>'UserId' AS uid, currency, credited_emoney_amount, debited_emoney_amount
  FROM mangopay.user_emoney
 WHERE user_id IN (SELECT id FROM s_users ORDER BY id LIMIT 2)
   AND month >= date_trunc('month', now()) - interval '3 months'
   AND month < date_trunc('month', now()) - interval '1 month';
CREATE TEMP TABLE e18 AS
SELECT * FROM e_emoney WHERE month >= (date_trunc('month', now()) - interval '3 months')::date
                         AND month < (date_trunc('month', now()) - interval '1 month')::date;
SELECT (SELECT count(*) FROM f18) AS rows,
       (SELECT count(*) FROM (TABLE e18 EXCEPT ALL TABLE f18) x) AS missing,
       (SELECT count(*) FROM (TABLE f18 EXCEPT ALL TABLE e18) x) AS extra,
       (SELECT count(*) FROM t.api_calls) AS requests;
-- a bound inside a month starts at the next month's first day; a strict
-- date bound is the next or previous day
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS rows FROM mangopay.user_emoney
 WHERE user_id = (SELECT id FROM s_users ORDER BY id LIMIT 1)
   AND month > date_trunc('month', now()) - interval '3 months' - interval '1 day'
   AND month <= date_trunc('month', now()) - interval '1 month' + interval '12 hours';
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS rows FROM mangopay.user_emoney
 WHERE user_id = (SELECT id FROM s_users ORDER BY id LIMIT 1)
   AND month > (date_trunc('month', now()) - interval '3 months')::date
   AND month < (date_trunc('month', now()) - interval '1 month')::date;
SELECT count(*) AS requests FROM t.api_calls;

-- 21. e-money's Currency read both ways (spec §11): the currency of the
--     wallets counted (the docs) or the one the amounts are converted into
--     (the Java SDK, the mock's default): exact rows under each
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"emoney_currency": "wallets"}') ->> 'ok' AS wallets_reading;
CREATE TEMP TABLE e19 AS
SELECT s.user_id, s.month, (j#>>'{CreditedEMoney,Amount}')::bigint AS credited, (j#>>'{DebitedEMoney,Amount}')::bigint AS debited
  FROM s_emoney s, t.truth(format('user_emoney?UserId=%s&Year=%s&Month=%s&Currency=USD', s.user_id,
                                  extract(year FROM s.month), extract(month FROM s.month))) j;
CREATE TEMP TABLE f19 AS
SELECT e.user_id, e.month, e.credited_emoney_amount, e.debited_emoney_amount
  FROM s_emoney s JOIN mangopay.user_emoney e ON e.user_id = s.user_id AND e.month = s.month AND e.currency = 'USD';
SELECT (SELECT count(*) FROM (TABLE e19 EXCEPT ALL TABLE f19) x) AS missing,
       (SELECT count(*) FROM (TABLE f19 EXCEPT ALL TABLE e19) x) AS extra,
       (SELECT count(*) FROM t.api_calls WHERE query->>'Currency' = 'USD') = (SELECT count(*) FROM s_emoney) AS usd_sent;
SELECT t.mock('config', '{"emoney_currency": "convert"}') ->> 'ok' AS convert_reading;
SELECT count(*) FILTER (WHERE (f.credited_emoney_amount, f.debited_emoney_amount)
                              IS DISTINCT FROM ((j#>>'{CreditedEMoney,Amount}')::bigint, (j#>>'{DebitedEMoney,Amount}')::bigint)) > 0 AS readings_differ
  FROM f19 f, t.truth(format('user_emoney?UserId=%s&Year=%s&Month=%s&Currency=USD', f.user_id,
                             extract(year FROM f.month), extract(month FROM f.month))) j;
