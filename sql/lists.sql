--
-- lists: every list-backed table returns exactly the API's objects, every
-- column equal to its field (text byte for byte, dates, amounts, NULLs)
--
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT 'disputes' AS t, * FROM t.compare('disputes', 'disputes');
-- (how many of these fall in the API's time limits depends on the date: counts
-- compared, not shown)
SELECT 'disputes_pending_settlement' AS t, fdw_rows = api_rows AS same_count, fdw_rows >= 500 AS hundreds, missing, extra
FROM t.compare('disputes_pending_settlement', 'disputes_pending_settlement');
SELECT 'dispute_documents' AS t, fdw_rows = api_rows AS same_count, fdw_rows >= 500 AS hundreds, missing, extra
FROM t.compare('dispute_documents', 'dispute_documents');
-- (reports created by other suites add to these two lists: counts not shown)
SELECT 'reports' AS t, fdw_rows = api_rows AS same_count, fdw_rows >= 30 AS seeded, missing, extra
FROM t.compare('reports', 'reports');
-- the list of Reporting Service reports carries reduced objects: no attrs check
SELECT 'reporting_reports' AS t, fdw_rows = api_rows AS same_count, fdw_rows >= 20 AS seeded, missing, extra
FROM t.compare('reporting_reports', 'reporting_reports', false);
SELECT 'client_wallets' AS t, * FROM t.compare('client_wallets', 'client_wallets');
SELECT 'client_wallet_transactions' AS t, fdw_rows = api_rows AS same_count, fdw_rows >= 500 AS hundreds, missing, extra
FROM t.compare('client_wallet_transactions', 'client_wallet_transactions');
SELECT 'events' AS t, fdw_rows = api_rows AS same_count, fdw_rows >= 500 AS hundreds, missing, extra
FROM t.compare('events', 'events');

-- realistic volume and every enum value
SELECT count(*) >= 3000 AS thousands, min(creation_date) < now() - interval '13 months' AS spans_a_year
FROM mangopay.disputes;
SELECT string_agg(DISTINCT status, ',' ORDER BY status) AS statuses,
       string_agg(DISTINCT dispute_type, ',' ORDER BY dispute_type) AS types,
       count(DISTINCT dispute_reason_type) AS reason_types,
       string_agg(DISTINCT result_code, ',' ORDER BY result_code) AS result_codes
FROM mangopay.disputes;
-- sums per currency equal the API's
SELECT d.disputed_funds_currency AS currency,
       sum(d.disputed_funds_amount) = (SELECT sum((j #>> '{DisputedFunds,Amount}')::bigint)
           FROM t.truth('disputes') j WHERE j #>> '{DisputedFunds,Currency}' = d.disputed_funds_currency) AS sum_ok
FROM mangopay.disputes d GROUP BY 1 ORDER BY 1;
-- NULLs stay NULL, empty strings stay empty
SELECT count(*) FILTER (WHERE tag IS NULL) = (SELECT count(*) FROM t.truth('disputes') j WHERE j -> 'Tag' = 'null') AS null_tags_ok,
       count(*) FILTER (WHERE result_code = '') = (SELECT count(*) FROM t.truth('disputes') j WHERE j ->> 'ResultCode' = '') AS empty_ok,
       count(*) FILTER (WHERE closed_date IS NULL) > 0 AS has_null_dates
FROM mangopay.disputes;
-- awkward text, byte for byte
SELECT d.tag = (SELECT j ->> 'Tag' FROM t.truth('disputes') j WHERE j ->> 'Id' = d.id) AS same,
       octet_length(d.tag) AS bytes, to_json(d.tag) AS tag_as_json
FROM mangopay.disputes d WHERE d.id = '9000000001';
-- attrs is the whole object: fields without a column stay reachable
SELECT count(*) = count(attrs ->> 'Id') AS attrs_everywhere FROM mangopay.disputes;
-- a user's own table: other types, fields re-pointed
CREATE FOREIGN TABLE public.my_disputes (
  id varchar(20), amount numeric OPTIONS (field 'DisputedFunds.Amount'),
  reason text OPTIONS (field 'DisputeReason.DisputeReasonType'), created date OPTIONS (field 'CreationDate'),
  "InitialTransactionId" text, extra text OPTIONS (field 'NoSuchField')
) SERVER mangopay OPTIONS (resource 'disputes');
SELECT count(*) = (SELECT count(*) FROM mangopay.disputes) AS same_rows,
       sum(amount) = (SELECT sum(disputed_funds_amount) FROM mangopay.disputes) AS same_sum,
       count(extra) AS unknown_field_is_null,
       count("InitialTransactionId") = (SELECT count(initial_transaction_id) FROM mangopay.disputes) AS pascal_default
FROM public.my_disputes;
DROP FOREIGN TABLE public.my_disputes;

-- by-id tables: the ids from another table, fetched one GET each
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT 'repudiations' AS t, count(*) > 50 AS enough_rows,
  count(*) = (SELECT count(DISTINCT repudiation_id) FROM mangopay.disputes
              WHERE repudiation_id IS NOT NULL AND creation_date > now() - interval '2 months') AS all_found
FROM mangopay.repudiations
WHERE id = ANY (ARRAY(SELECT repudiation_id FROM mangopay.disputes WHERE repudiation_id IS NOT NULL AND creation_date > now() - interval '2 months'));
SELECT count(*) AS mismatches FROM (
  SELECT id, type, nature, debited_funds_amount, debited_wallet_id, attrs FROM mangopay.repudiations
  WHERE id = ANY (ARRAY(SELECT j ->> 'Id' FROM t.truth('repudiations') j ORDER BY j ->> 'Id' LIMIT 300))
  EXCEPT ALL
  SELECT j ->> 'Id', j ->> 'Type', j ->> 'Nature', (j #>> '{DebitedFunds,Amount}')::bigint, j ->> 'DebitedWalletId', j
  FROM (SELECT j FROM t.truth('repudiations') j ORDER BY j ->> 'Id' LIMIT 300) x) y;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS mismatches FROM (
  SELECT id, repudiation_id, credited_wallet_id, attrs FROM mangopay.settlement_transfers
  WHERE id = ANY (ARRAY(SELECT j ->> 'Id' FROM t.truth('settlements') j))
  EXCEPT ALL
  SELECT j ->> 'Id', j ->> 'RepudiationId', j ->> 'CreditedWalletId', j FROM t.truth('settlements') j) x;
SELECT count(*) AS mismatches FROM (
  SELECT id, initial_transaction_type, refund_reason_type, attrs FROM mangopay.refunds
  WHERE id = ANY (ARRAY(SELECT j ->> 'Id' FROM t.truth('refunds') j))
  EXCEPT ALL
  SELECT j ->> 'Id', j ->> 'InitialTransactionType', j #>> '{RefundReason,RefundReasonType}', j FROM t.truth('refunds') j) x;
-- an unknown id is no row, not an error
SELECT count(*) AS unknown FROM mangopay.refunds WHERE id = 'refund_m_does_not_exist';
-- no id: an ERROR with a HINT, never a silent empty result
SELECT count(*) FROM mangopay.repudiations;
SELECT count(*) FROM mangopay.settlement_transfers WHERE status = 'SUCCEEDED';
-- max_lookups bounds the GETs of one scan
ALTER SERVER mangopay OPTIONS (ADD max_lookups '3');
SELECT count(*) FROM mangopay.refunds WHERE id IN ('a', 'b', 'c', 'd');
ALTER SERVER mangopay OPTIONS (DROP max_lookups);

-- the stats of this backend count what happened
SELECT counter, value > 0 AS positive FROM mangopay_fdw_stats()
WHERE counter IN ('requests', 'tokens_fetched', 'bytes_received', 'rows_returned') ORDER BY 1;
SELECT count(*) = 4 AS four_windows FROM mangopay_fdw_stats()
WHERE counter LIKE 'ratelimit_remaining_%' AND value IS NOT NULL;

-- users (spec §11): GET /users is a list now: every user, every column
-- (UserCategory, UserStatus, names, country, terms) equal to the API's
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT 'users' AS t, fdw_rows = api_rows AS same_count, fdw_rows > 500 AS hundreds, missing, extra
FROM t.compare('users', 'users');
SELECT count(*) AS pages, bool_and(query->>'Sort' = 'CreationDate:ASC') AS sorted,
       bool_and(path ~ '/users$') AS list_path
  FROM t.api_calls;
SELECT user_category, person_type, count(*) > 0 AS seen FROM mangopay.users GROUP BY 1, 2 ORDER BY 1, 2;
-- a creation_date range goes to the API (AfterDate/BeforeDate), id = stays a GET by id
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('users', 'users', true,
  $$t.ts(j->'CreationDate') >= now() - interval '90 days'$$, $$creation_date >= now() - interval '90 days'$$);
SELECT bool_and(query ? 'AfterDate') AS after_date_sent, bool_and(NOT query ? 'BeforeDate') AS no_before FROM t.api_calls;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT id, user_category, user_status IS NOT NULL AS has_status, first_name, last_name, nationality
  FROM mangopay.users WHERE id = 'user_m_01SCA0WNERN0C0NSENT00000';
SELECT path FROM t.api_calls;
