--
-- apirules: the API's documented rules (spec §2, §3, §4), each enforced by
-- the mock (400 where the real API refuses), and what the FDW sends so that
-- rows are exact whatever the reading of an undocumented detail
--
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"report_delay_ms": 200}') ->> 'ok' AS delay;
ALTER SERVER mangopay OPTIONS (ADD report_poll_ms '100');
-- report-creating POSTs and list requests, in the order the mock got them
CREATE VIEW t.ar_posts AS
  SELECT (r ->> 'seq')::int AS seq, r ->> 'path' AS path, r -> 'body' AS body,
         r -> 'headers' ->> 'idempotency-key' AS idem, (r ->> 'status')::int AS status
  FROM t.requests() r WHERE r ->> 'method' = 'POST' AND r ->> 'path' NOT LIKE '%oauth%';
CREATE VIEW t.ar_gets AS
  SELECT (r ->> 'seq')::int AS seq, r ->> 'path' AS path, r -> 'params' AS params, (r ->> 'status')::int AS status
  FROM t.requests() r WHERE r ->> 'method' = 'GET' AND r ->> 'path' NOT LIKE '%.csv';

-- the POSTs' keys and statuses ("cut": the answer was lost)
CREATE VIEW t.ar_post_keys AS
  SELECT count(*) AS posts, count(DISTINCT idem) AS keys,
         string_agg(coalesce(status::text, 'cut'), ',' ORDER BY seq) AS statuses
  FROM t.ar_posts;
-- collected_fees of the last 10 days against the ledger
CREATE FUNCTION t.ar_fees_10_days(OUT exact boolean) LANGUAGE sql AS $$
  SELECT count(*) = (SELECT count(*) FROM t.truth('transactions') j
                     WHERE j ->> 'Status' = 'SUCCEEDED' AND (j ->> 'FeesAmount')::bigint > 0
                       AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '10 days'))
  FROM mangopay.collected_fees WHERE creation_date >= now() - interval '10 days' $$;

-- 1. user_wallet_transactions without user_id / wallet_id: one report of
-- every user wallet (no UserId, no WalletId), exact rows
SELECT count(*) > 0 AS some,
       count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE j ->> 'Status' = 'SUCCEEDED'
                     AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '30 days')) AS exact
FROM mangopay.user_wallet_transactions WHERE creation_date >= now() - interval '30 days';
SELECT count(*) AS reports, bool_and(NOT (body -> 'Filters' ?| array['UserId', 'WalletId'])) AS no_key_filter
FROM t.ar_posts;

-- 2. the Reporting Service goes back 24 months: a lower bound 2 hours inside
-- them is asked for as such (3 windows under 12 months), no NOTICE, exact rows
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT extract(epoch FROM date_trunc('second', now() - interval '24 months' + interval '2 hours'))::bigint AS lo24 \gset
SELECT count(*) > 0 AS some,
       count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE j ->> 'Status' = 'SUCCEEDED' AND (j ->> 'FeesAmount')::bigint > 0
                     AND (j ->> 'CreationDate')::bigint >= :lo24) AS exact
FROM mangopay.collected_fees WHERE creation_date >= to_timestamp(:lo24);
SELECT count(*) AS reports, min((body ->> 'AfterDate')::bigint) = :lo24 - 1 AS from_the_bound,
       bool_and(status = 200) AS all_accepted FROM t.ar_posts;
-- report_max_age_s rounds a lower bound down to its granule, but never past
-- the API's history: a bound a few seconds inside it gives no NOTICE
ALTER SERVER mangopay OPTIONS (ADD report_max_age_s '3600');
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) >= 0 AS ran FROM mangopay.collected_fees
WHERE creation_date >= (now() AT TIME ZONE 'UTC' - interval '24 months' + interval '1 hour 5 seconds') AT TIME ZONE 'UTC';
SELECT count(*) AS reports, bool_and(status = 200) AS all_accepted FROM t.ar_posts;
ALTER SERVER mangopay OPTIONS (DROP report_max_age_s);

-- 3. Idempotency-Key after a failure (spec §3: a key used on a failed call
-- is spent).  An answered 500: the retry goes under a new key.
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reporting/reports$","method":"POST","kind":"status","status":500}]}') ->> 'ok' AS armed;
SELECT * FROM t.ar_fees_10_days();
SELECT * FROM t.ar_post_keys;
-- a 500 whose answer is cut off (no usable answer): the same key again gets
-- 409, GET /responses/{key} shows StatusCode 500, so a new key creates it
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reporting/reports$","method":"POST","kind":"status","status":500,"cut_after":10}]}') ->> 'ok' AS armed;
SELECT * FROM t.ar_fees_10_days();
SELECT * FROM t.ar_post_keys;
SELECT count(*) AS responses_read, min(status) AS status FROM t.ar_gets WHERE path LIKE '%/responses/mpfdw-%';
-- a creation that went through but whose answer was lost: the same key, 409,
-- and the report is the one GET /responses/{key} holds (one report made)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reporting/reports$","method":"POST","kind":"drop_mid_body"}]}') ->> 'ok' AS armed;
SELECT * FROM t.ar_fees_10_days();
SELECT * FROM t.ar_post_keys;
-- every attempt fails: an ERROR after max_retries, not a loop
ALTER SERVER mangopay OPTIONS (ADD max_retries '2');
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reporting/reports$","method":"POST","kind":"status","status":503,"times":-1}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.collected_fees WHERE creation_date >= now() - interval ''10 days''');
SELECT count(*) AS posts, count(DISTINCT idem) AS keys FROM t.ar_posts;
ALTER SERVER mangopay OPTIONS (DROP max_retries);

-- 4. events: a range that ends before now - 45 days has no rows and costs no
-- request (the API refuses such a BeforeDate with a 400)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) FROM mangopay.events WHERE date < now() - interval '50 days';
SELECT count(*) FROM mangopay.events WHERE date BETWEEN now() - interval '80 days' AND now() - interval '46 days';
SELECT count(*) AS requests FROM t.ar_gets WHERE path LIKE '%/events';
-- a range across the limit: what the API holds
SELECT count(*) = (SELECT count(*) FROM t.truth('events') j
                   WHERE (j ->> 'Date')::bigint <= extract(epoch FROM now() - interval '20 days')) AS exact
FROM mangopay.events WHERE date >= now() - interval '60 days' AND date <= now() - interval '20 days';

-- 5. lists do not shift under a scan: the mock answers newest first when no
-- Sort is sent and creates 3 disputes at every GET /disputes; the scan sends
-- Sort=CreationDate:ASC and returns every dispute that existed, none twice
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE before_scan AS SELECT j ->> 'Id' AS id FROM t.truth('disputes') j;
SELECT t.mock('config', '{"grow_disputes": 3}') ->> 'ok' AS growing;
CREATE TEMP TABLE scanned AS SELECT id FROM mangopay.disputes;
SELECT t.mock('config', '{"grow_disputes": 0}') ->> 'ok' AS stopped;
SELECT (SELECT count(*) FROM before_scan b WHERE NOT EXISTS (SELECT 1 FROM scanned s WHERE s.id = b.id)) AS missing,
       (SELECT count(*) - count(DISTINCT id) FROM scanned) AS twice,
       (SELECT count(*) FROM t.ar_gets WHERE path LIKE '%/disputes') = (SELECT ceil((count(*) + 3) / 100.0) FROM before_scan) AS one_request_per_page,
       (SELECT bool_and(params ->> 'Sort' = 'CreationDate:ASC') FROM t.ar_gets WHERE path LIKE '%/disputes') AS sorted;
DROP TABLE before_scan, scanned;
-- ORDER BY creation_date DESC asks oldest first too (page 1 for the count, then
-- the last page back); events sort on Date
SELECT t.mock('reset', '{"data": true}') ->> 'ok' AS reseeded;
SELECT count(*) > 0 AS some FROM (SELECT id FROM mangopay.disputes ORDER BY creation_date DESC LIMIT 3) x;
SELECT count(*) > 0 AS some FROM (SELECT resource_id FROM mangopay.events LIMIT 3) x;
SELECT regexp_replace(path, '^/v2.01/[^/]+', '') AS path, params ->> 'Sort' AS sort FROM t.ar_gets ORDER BY seq;

-- 6. multi-value filters: A,B only where documented (dispute Status and
-- DisputeType, transaction Status/Type/Nature); EventType, the Reporting
-- Service list's Status and dispute-document filters take one value, so an
-- IN list of those is checked locally (the mock refuses A,B there)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('events') j WHERE j ->> 'EventType' IN ('DISPUTE_CREATED', 'PAYOUT_NORMAL_SUCCEEDED')) AS exact
FROM mangopay.events WHERE event_type IN ('DISPUTE_CREATED', 'PAYOUT_NORMAL_SUCCEEDED');
SELECT count(*) = (SELECT count(*) FROM t.truth('events') j WHERE j ->> 'EventType' = 'DISPUTE_CREATED') AS exact
FROM mangopay.events WHERE event_type = 'DISPUTE_CREATED';
SELECT count(*) = (SELECT count(*) FROM t.truth('dispute_documents') j WHERE j ->> 'Status' IN ('REFUSED', 'VALIDATED')) AS exact
FROM mangopay.dispute_documents WHERE status IN ('REFUSED', 'VALIDATED');
SELECT count(*) = (SELECT count(*) FROM t.truth('disputes') j WHERE j ->> 'Status' IN ('CLOSED', 'SUBMITTED')) AS exact
FROM mangopay.disputes WHERE status IN ('CLOSED', 'SUBMITTED');
SELECT count(*) = (SELECT count(*) FROM t.truth('reporting_reports') j WHERE j ->> 'Status' IN ('GENERATED', 'FAILED')) AS exact
FROM mangopay.reporting_reports WHERE status IN ('GENERATED', 'FAILED');
-- CARD_VALIDATION is no documented Type filter value: checked locally
SELECT count(*) = (SELECT count(*) FROM t.truth('client_wallet_transactions') j
                   WHERE j ->> '_FundsType' = 'CREDIT' AND j ->> '_Currency' = 'EUR' AND j ->> 'Type' IN ('PAYOUT', 'CARD_VALIDATION')) AS exact
FROM mangopay.client_wallet_transactions WHERE funds_type = 'CREDIT' AND currency = 'EUR' AND type IN ('PAYOUT', 'CARD_VALIDATION');
SELECT DISTINCT regexp_replace(path, '^/v2.01/[^/]+', '') AS path,
       (SELECT string_agg(k || '=' || v, '&' ORDER BY k) FROM jsonb_each_text(params - 'page' - 'per_page' - 'AfterDate' - 'Sort') AS x(k, v)) AS filters,
       status
FROM t.ar_gets ORDER BY 1, 2;

-- 7. amount bounds: sent so that an inclusive and an exclusive reading of
-- Min/Max both return every matching row, with the currency the query fixes
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE amts AS
  SELECT (j ->> 'DebitedFundsAmount')::bigint AS a FROM t.truth('transactions') j
  WHERE j ->> 'DebitedFundsCurrency' = 'EUR' AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '30 days');
SELECT (SELECT a FROM amts ORDER BY a OFFSET 20 LIMIT 1) AS lo, (SELECT a FROM amts ORDER BY a OFFSET 60 LIMIT 1) AS hi \gset
SELECT (j ->> 'FeesAmount')::bigint AS fee FROM t.truth('transactions') j
WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '30 days') AND (j ->> 'FeesAmount')::bigint > 0
GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 \gset
SET ar.lo = :'lo';
SET ar.hi = :'hi';
SET ar.fee = :'fee';
CREATE TEMP TABLE readings AS SELECT * FROM (VALUES ('inclusive'), ('exclusive')) v(reading);
CREATE TEMP TABLE amount_results (reading text, n bigint, fees_eq bigint);
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT reading FROM readings LOOP
    PERFORM t.mock('config', jsonb_build_object('amount_bounds', r.reading));
    INSERT INTO amount_results
      SELECT r.reading,
        (SELECT count(*) FROM mangopay.transactions
         WHERE debited_funds_currency = 'EUR' AND debited_funds_amount >= current_setting('ar.lo')::bigint
           AND debited_funds_amount <= current_setting('ar.hi')::bigint AND creation_date >= now() - interval '30 days'),
        (SELECT count(*) FROM mangopay.transactions
         WHERE fees_amount = current_setting('ar.fee')::bigint AND creation_date >= now() - interval '30 days');
  END LOOP;
END $$;
RESET ar.lo;
RESET ar.hi;
RESET ar.fee;
SELECT reading,
       n = (SELECT count(*) FROM t.truth('transactions') j
            WHERE j ->> 'DebitedFundsCurrency' = 'EUR' AND (j ->> 'DebitedFundsAmount')::bigint BETWEEN :lo AND :hi
              AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '30 days')) AS exact,
       fees_eq = (SELECT count(*) FROM t.truth('transactions') j
            WHERE (j ->> 'FeesAmount')::bigint = :fee
              AND (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '30 days')) AS exact_eq
FROM amount_results ORDER BY reading;
SELECT (body -> 'Filters' ->> 'MinDebitedFundsAmount')::bigint - :lo AS min_minus_lo,
       (body -> 'Filters' ->> 'MaxDebitedFundsAmount')::bigint - :hi AS max_minus_hi,
       body -> 'Filters' ->> 'MinDebitedFundsCurrency' AS min_ccy, body -> 'Filters' ->> 'MaxDebitedFundsCurrency' AS max_ccy,
       (body -> 'Filters' ->> 'MinFeesAmount')::bigint - :fee AS min_fees_minus_fee,
       (body -> 'Filters' ->> 'MaxFeesAmount')::bigint - :fee AS max_fees_minus_fee
FROM t.ar_posts ORDER BY seq;
DROP TABLE amts, readings, amount_results;

-- 7b. an amount bound goes only with one currency (issue 24): every published
-- example sends Min/Max*Currency with it, and an API that requires it answers
-- 400 (mock: amount_needs_currency).  Without exactly one currency the bound
-- is checked locally; the rows are exact under both readings of the API.
SELECT t.mock('reset') ->> 'ok' AS reset;
SET ar.fee = :'fee';
CREATE TEMP TABLE amount_ccy (strict boolean, q text, n bigint);
DO $$
DECLARE st boolean;
BEGIN
  FOREACH st IN ARRAY ARRAY[true, false] LOOP
    PERFORM t.mock('config', jsonb_build_object('amount_needs_currency', st));
    INSERT INTO amount_ccy SELECT st, 'amount', count(*) FROM mangopay.transactions
      WHERE debited_funds_amount > 10000 AND creation_date >= now() - interval '30 days';
    INSERT INTO amount_ccy SELECT st, 'amount, 2 currencies', count(*) FROM mangopay.transactions
      WHERE debited_funds_amount > 10000 AND debited_funds_currency IN ('EUR', 'GBP')
        AND creation_date >= now() - interval '30 days';
    INSERT INTO amount_ccy SELECT st, 'fees below 100', count(*) FROM mangopay.transactions
      WHERE fees_amount < 100 AND creation_date >= now() - interval '30 days';
    INSERT INTO amount_ccy SELECT st, 'fee, EUR', count(*) FROM mangopay.transactions
      WHERE fees_amount = current_setting('ar.fee')::bigint AND fees_currency = 'EUR'
        AND creation_date >= now() - interval '30 days';
    INSERT INTO amount_ccy SELECT st, 'balance', count(*) FROM mangopay.wallets
      WHERE balance_amount > 1000 AND creation_date >= now() - interval '6 months';
    INSERT INTO amount_ccy SELECT st, 'balance, EUR', count(*) FROM mangopay.wallets
      WHERE balance_amount > 1000 AND currency = 'EUR' AND creation_date >= now() - interval '6 months';
  END LOOP;
END $$;
RESET ar.fee;
CREATE TEMP TABLE tx30 AS SELECT j FROM t.truth('transactions') j
  WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '30 days');
CREATE TEMP TABLE w6 AS SELECT j FROM t.truth('wallets') j
  WHERE t.ts(j -> 'CreationDate') >= now() - interval '6 months';
SELECT q, strict, n > 0 AS some_rows, n = CASE q
  WHEN 'amount' THEN (SELECT count(*) FROM tx30 WHERE (j ->> 'DebitedFundsAmount')::bigint > 10000)
  WHEN 'amount, 2 currencies' THEN (SELECT count(*) FROM tx30 WHERE (j ->> 'DebitedFundsAmount')::bigint > 10000
                                      AND j ->> 'DebitedFundsCurrency' IN ('EUR', 'GBP'))
  WHEN 'fees below 100' THEN (SELECT count(*) FROM tx30 WHERE (j ->> 'FeesAmount')::bigint < 100)
  WHEN 'fee, EUR' THEN (SELECT count(*) FROM tx30 WHERE (j ->> 'FeesAmount')::bigint = :fee AND j ->> 'FeesCurrency' = 'EUR')
  WHEN 'balance' THEN (SELECT count(*) FROM w6 WHERE (j ->> 'BalanceAmount')::bigint > 1000)
  WHEN 'balance, EUR' THEN (SELECT count(*) FROM w6 WHERE (j ->> 'BalanceAmount')::bigint > 1000 AND j ->> 'Currency' = 'EUR')
  END AS exact
FROM amount_ccy ORDER BY q, strict;
-- what was sent: a bound only with its currency
SELECT DISTINCT path ~ 'wallets$' AS wallets,
       (SELECT string_agg(k || '=' || CASE WHEN k LIKE '%Amount' THEN 'n' ELSE v #>> '{}' END, ', ' ORDER BY k)
        FROM jsonb_each(body -> 'Filters') AS f(k, v)
        WHERE (k LIKE 'M__%Amount' OR k LIKE 'M__%Currency') AND v <> 'null') AS amount_filters
FROM t.ar_posts ORDER BY 1, 2;
-- EXPLAIN VERBOSE says which bound is not sent
SELECT l FROM t.explain($$SELECT id FROM mangopay.transactions WHERE debited_funds_amount > 10000 AND creation_date >= now() - interval '30 days'$$,
                        'VERBOSE, COSTS OFF') AS l WHERE l ~ 'Pushed|Filters';
SELECT l FROM t.explain($$SELECT id FROM mangopay.transactions WHERE debited_funds_amount > 10000 AND debited_funds_currency = 'EUR' AND creation_date >= now() - interval '30 days'$$,
                        'VERBOSE, COSTS OFF') AS l WHERE l ~ 'Pushed|Filters';
DROP TABLE amount_ccy, tx30, w6;

-- 8. date windows strictly inside any reading of the limits: the mock also
-- reads TRANSACTIONS' "6 months" as 181 days; 13 months are 3 windows
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"legacy_max_days": 181}') ->> 'ok' AS days_reading;
SELECT count(*) = (SELECT count(*) FROM t.truth('transactions') j
                   WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '13 months')) AS exact
FROM mangopay.transactions WHERE creation_date >= now() - interval '13 months';
SELECT count(*) AS reports, bool_and(status = 200) AS all_accepted,
       max((body -> 'Filters' ->> 'BeforeDate')::bigint - (body -> 'Filters' ->> 'AfterDate')::bigint) <= 181 * 86400 AS within_181_days
FROM t.ar_posts;

-- 9. WALLETS: owners = ... is the documented OwnerId filter
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT j ->> 'Owners' AS owner FROM t.truth('wallets') j WHERE j ->> 'Owners' LIKE 'user_%'
GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 1 \gset
SELECT count(*) > 0 AS some,
       count(*) = (SELECT count(*) FROM t.truth('wallets') j WHERE j ->> 'Owners' = :'owner') AS exact
FROM mangopay.wallets WHERE owners = :'owner';
SELECT count(*) AS reports, bool_and(body -> 'Filters' ->> 'OwnerId' = :'owner') AS owner_sent FROM t.ar_posts;

SELECT t.mock('reset') ->> 'ok' AS reset;
ALTER SERVER mangopay OPTIONS (DROP report_poll_ms);
