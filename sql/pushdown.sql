--
-- pushdown: what a WHERE / ORDER BY / LIMIT becomes, read from the mock's
-- request log; results still exact (every pushed qual is rechecked)
--
CREATE VIEW t.calls AS
  SELECT path, (SELECT string_agg(k || '=' || v, '&' ORDER BY k)
                FROM jsonb_each_text(query) AS q(k, v) WHERE k NOT IN ('AfterDate', 'BeforeDate', 'page')) AS params,
         query ? 'AfterDate' AS after, query ? 'BeforeDate' AS before, status
  FROM t.api_calls;

-- enum filters: = and IN, comma-separated values
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('disputes') j
                   WHERE j ->> 'Status' = 'CLOSED' AND j ->> 'DisputeType' IN ('CONTESTABLE', 'RETRIEVAL')) AS exact
FROM mangopay.disputes WHERE status = 'CLOSED' AND dispute_type IN ('CONTESTABLE', 'RETRIEVAL');
SELECT path, params, count(*) AS calls FROM t.calls GROUP BY 1, 2 ORDER BY 1, 2;
-- = ANY with a parameter
SELECT t.mock('reset') ->> 'ok' AS reset;
PREPARE q1(text[]) AS SELECT count(*) = (SELECT count(*) FROM t.truth('disputes') j WHERE j ->> 'Status' = ANY($1)) AS exact
  FROM mangopay.disputes WHERE status = ANY($1);
EXECUTE q1(ARRAY['SUBMITTED', 'CREATED']);
SELECT path, params, count(*) AS calls FROM t.calls GROUP BY 1, 2 ORDER BY 1, 2;
-- a value the API does not document is not sent (it would get a 400): checked locally
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS lower_case FROM mangopay.disputes WHERE status = 'closed';
SELECT path, params, count(*) AS calls FROM t.calls GROUP BY 1, 2 ORDER BY 1, 2;
-- NULL or contradictory conditions: no API call at all
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) FROM mangopay.disputes WHERE status = NULL;
SELECT count(*) FROM mangopay.disputes WHERE status = 'CLOSED' AND status = 'CREATED';
SELECT count(*) FROM mangopay.disputes WHERE creation_date > '2026-02-01' AND creation_date < '2026-01-01';
SELECT count(*) AS calls FROM t.calls;

-- creation_date ranges → AfterDate / BeforeDate, widened by one second
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('disputes') j
                   WHERE t.ts(j -> 'CreationDate') >= now() - interval '30 days'
                     AND t.ts(j -> 'CreationDate') < now() - interval '10 days') AS exact
FROM mangopay.disputes
WHERE creation_date >= now() - interval '30 days' AND creation_date < now() - interval '10 days';
SELECT path, params, after, before, count(*) AS calls FROM t.calls GROUP BY 1, 2, 3, 4 ORDER BY 1, 2;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('disputes') j
                   WHERE t.ts(j -> 'CreationDate') BETWEEN '2026-03-01 00:00:00+00' AND '2026-03-31 23:59:59.5+00') AS exact
FROM mangopay.disputes
WHERE creation_date BETWEEN '2026-03-01 00:00:00+00' AND '2026-03-31 23:59:59.5+00';
SELECT DISTINCT query ->> 'AfterDate' AS after_date, query ->> 'BeforeDate' AS before_date FROM t.api_calls;
-- a date equal to a value sends both bounds
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('disputes') j WHERE t.ts(j -> 'CreationDate') = '2026-03-01 12:00:00+00') AS exact
FROM mangopay.disputes WHERE creation_date = '2026-03-01 12:00:00+00';
SELECT DISTINCT query ->> 'AfterDate' AS after_date, query ->> 'BeforeDate' AS before_date FROM t.api_calls;

-- ORDER BY creation_date → Sort, and no local Sort node
EXPLAIN (COSTS OFF) SELECT id FROM mangopay.disputes ORDER BY creation_date DESC LIMIT 10;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT array_agg(id ORDER BY n) = (SELECT array_agg(j ->> 'Id' ORDER BY (j ->> 'CreationDate')::bigint DESC, j ->> 'Id' DESC)
                                    FROM (SELECT j FROM t.truth('disputes') j ORDER BY (j ->> 'CreationDate')::bigint DESC, j ->> 'Id' DESC LIMIT 10) x) AS same_ten
FROM (SELECT id, row_number() OVER () AS n FROM (SELECT id FROM mangopay.disputes ORDER BY creation_date DESC LIMIT 10) s) y;
SELECT path, params FROM t.calls;
EXPLAIN (COSTS OFF) SELECT id FROM mangopay.disputes ORDER BY creation_date;
EXPLAIN (COSTS OFF) SELECT id FROM mangopay.disputes ORDER BY creation_date NULLS FIRST;
EXPLAIN (COSTS OFF) SELECT id FROM mangopay.disputes ORDER BY status;

-- LIMIT: a LIMIT 5 costs one request of 5 rows
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) FROM (SELECT * FROM mangopay.disputes LIMIT 5) s;
SELECT path, params FROM t.calls;
-- ... but not when a local-only condition sits between (lazy paging still stops early)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) FROM (SELECT * FROM mangopay.disputes WHERE tag IS NOT NULL LIMIT 5) s;
SELECT count(*) BETWEEN 1 AND 5 AS few_pages FROM t.calls;

-- id = → the single-object GET
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT id, status, disputed_funds_currency FROM mangopay.disputes WHERE id = '9000000001';
SELECT path, params FROM t.calls;
EXPLAIN (COSTS OFF) SELECT * FROM mangopay.disputes WHERE id = '9000000001';
SELECT count(*) FROM mangopay.disputes WHERE id IN ('9000000001', 'no-such-dispute', '9000000001');

-- pagination: every page once, no row lost or doubled
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_ids FROM mangopay.disputes;
SELECT count(*) AS calls, count(DISTINCT query ->> 'page') AS distinct_pages,
       max((query ->> 'page')::int) = ceil((SELECT count(*) FROM t.truth('disputes')) / 100.0) AS last_page_ok,
       bool_and(query ->> 'per_page' = '100') AS per_page_100
FROM t.api_calls;
-- page_size is the per_page sent
ALTER SERVER mangopay OPTIONS (ADD page_size '37');
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('dispute_documents')) AS exact FROM mangopay.dispute_documents;
SELECT count(*) = ceil((SELECT count(*) FROM t.truth('dispute_documents')) / 37.0) AS pages_ok,
       bool_and(query ->> 'per_page' = '37') AS per_page_37 FROM t.api_calls;
ALTER SERVER mangopay OPTIONS (DROP page_size);

-- events: AfterDate is always inside the API's 45 days
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 0 AS some FROM mangopay.events WHERE date > now() - interval '90 days' AND event_type IN ('PAYIN_NORMAL_SUCCEEDED', 'DISPUTE_CREATED');
-- (EventType takes one value: an IN list is checked locally)
SELECT count(*) > 0 AS calls, bool_and(NOT query ? 'EventType') AS types_local,
       -- (45 times 24 hours: "now() - interval '45 days'" is an hour less across a DST change)
       bool_and((query ->> 'AfterDate')::bigint > extract(epoch FROM now()) - 45 * 86400) AS within_45_days
FROM t.api_calls;

-- key columns: the wallet path, or every wallet listed first
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 0 AS some FROM mangopay.client_wallet_transactions
WHERE funds_type = 'FEES' AND currency = 'EUR' AND status = 'SUCCEEDED' AND type IN ('PAYOUT', 'TRANSFER');
SELECT path, params, count(*) AS calls FROM t.calls GROUP BY 1, 2 ORDER BY 1, 2;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(DISTINCT currency) > 1 AS many, bool_and(funds_type = 'CREDIT') AS credit_only
FROM mangopay.client_wallet_transactions WHERE funds_type = 'CREDIT';
SELECT count(*) FILTER (WHERE path LIKE '%/clients/wallets') AS wallet_lists,
       bool_and(path LIKE '%/clients/wallets' OR path LIKE '%/clients/wallets/CREDIT/%') AS credit_paths
FROM t.api_calls;
-- a wallet that does not exist (MangoPay's 404 ressource_not_found) has no transactions
SELECT count(*) AS unknown_wallet FROM mangopay.client_wallet_transactions WHERE funds_type = 'FEES' AND currency = 'SEK';

-- EXPLAIN shows the resource, the endpoint and what is pushed
EXPLAIN (COSTS OFF) SELECT * FROM mangopay.disputes
WHERE status IN ('CLOSED', 'SUBMITTED') AND creation_date >= now() - interval '7 days' AND tag LIKE 'x%';
EXPLAIN (COSTS OFF) SELECT * FROM mangopay.refunds WHERE id = ANY ('{a,b}');
EXPLAIN (COSTS OFF) SELECT * FROM mangopay.client_wallet_transactions WHERE funds_type = 'FEES' AND currency = 'EUR';
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT * FROM t.explain($$SELECT * FROM mangopay.dispute_documents WHERE type = 'INVOICE' LIMIT 3$$,
                        'ANALYZE, COSTS OFF, TIMING OFF, SUMMARY OFF, BUFFERS OFF');

-- mangopay_fdw_columns() says what the planner does, column by column: for
-- every column, "=", "IN" and ">=" with a constant are pushed (EXPLAIN's
-- "MangoPay Pushed") exactly when its description lists them, the API name
-- EXPLAIN gives is in the description, and ORDER BY leaves no Sort node
-- exactly when it says "ORDER BY: Sort", and a join on the column is read
-- per outer row exactly when it says "join" (an IN the description does not
-- list may be pushed only where "=" is, and is sent as one value or checked
-- locally). A row below is a disagreement.
CREATE TEMP TABLE push_checks (tbl text, col text, kind text, described text, want boolean,
                               got boolean, target_ok boolean, plan text);
CREATE FUNCTION pg_temp.push_lits(typ text) RETURNS text[] LANGUAGE sql AS $$
  SELECT CASE typ
    WHEN 'date' THEN ARRAY['''2026-01-01''::date', '''2026-02-01''::date']
    WHEN 'timestamptz' THEN ARRAY['''2026-01-01 00:00:00+00''::timestamptz', '''2026-02-01 00:00:00+00''::timestamptz']
    WHEN 'bigint' THEN ARRAY['1', '2']
    WHEN 'numeric' THEN ARRAY['1.5', '2.5']
    WHEN 'integer' THEN ARRAY['1', '2']
    WHEN 'boolean' THEN ARRAY['true', 'false']
    WHEN 'jsonb' THEN ARRAY['''{}''::jsonb', '''[]''::jsonb']
    ELSE ARRAY['''x''', '''y'''] END $$;
DO $$
DECLARE
  r record; ops text; lits text[]; keys text; c record; pushed text; plan text; got boolean;
BEGIN
  -- a join is a nested loop: a parameterized scan pushes "col = (...)[g.g]"
  PERFORM set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true);
  FOR r IN SELECT * FROM mangopay_fdw_columns() WHERE api_field <> '(whole object)' LOOP
    -- the operators the description lists: what comes before its first ':'
    ops := CASE WHEN coalesce(r.pushdown, '(') LIKE '(%' THEN '' ELSE split_part(r.pushdown, ':', 1) END;
    lits := pg_temp.push_lits(r.column_type);
    FOR c IN SELECT * FROM (VALUES
        ('=', format('%I = %s', r.column_name, lits[1]), ops ~ '(^|[ /])=( |$)'),
        ('IN', format('%I IN (%s, %s)', r.column_name, lits[1], lits[2]), ops ~ '\mIN\M'),
        ('>=', format('%I >= %s', r.column_name, lits[1]), ops ~ '>=')) AS v(kind, cond, want) LOOP
      plan := string_agg(l, E'\n') FROM t.explain(format('SELECT * FROM mangopay.%I WHERE %s', r.table_name, c.cond),
                                                  'VERBOSE, COSTS OFF') AS l;
      pushed := substring(plan FROM 'MangoPay Pushed: ([^\n]*)');
      got := pushed IS NOT NULL;
      INSERT INTO push_checks VALUES (r.table_name, r.column_name, c.kind, r.pushdown, c.want, got,
        -- every name of the API parameter EXPLAIN shows is in the description
        NOT got OR NOT EXISTS (SELECT 1 FROM regexp_matches(pushed, '→ ([^,]*)', 'g') AS m,
                                 regexp_split_to_table(split_part(m[1], ' (', 1), '[+/]') AS w WHERE strpos(r.pushdown, w) = 0), plan);
    END LOOP;
    plan := string_agg(l, E'\n') FROM t.explain(format('SELECT * FROM mangopay.%I ORDER BY %I', r.table_name, r.column_name)) AS l;
    INSERT INTO push_checks VALUES (r.table_name, r.column_name, 'ORDER BY', r.pushdown,
      coalesce(r.pushdown LIKE '%ORDER BY: Sort%', false), plan !~ '(^|\n)\s*(Incremental )?Sort', true, plan);
    -- (a join on a key column: the table's other required keys are given as constants)
    keys := coalesce(string_agg(format(' AND t.%I = %s', k.column_name, (pg_temp.push_lits(k.column_type))[1]), ''), '')
      FROM mangopay_fdw_columns() k
      WHERE k.table_name = r.table_name AND k.column_name <> r.column_name AND r.api_field LIKE '(key) %'
        AND k.pushdown LIKE '%(key column: required)';
    plan := string_agg(l, E'\n') FROM t.explain(format(
      'SELECT * FROM (SELECT (ARRAY[%s, %s])[g] AS v FROM generate_series(1, 2) g OFFSET 0) s JOIN mangopay.%I t ON t.%I = s.v%s',
      lits[1], lits[2], r.table_name, r.column_name, keys), 'VERBOSE, COSTS OFF') AS l;
    INSERT INTO push_checks VALUES (r.table_name, r.column_name, 'join', r.pushdown, ops ~ '\mjoin\M',
      plan ~ 'MangoPay Pushed: [^\n]*\mg\.g\M', true, plan);
  END LOOP;
END $$;
SELECT p.tbl, p.col, p.kind, p.described, p.want, p.got, p.target_ok
FROM push_checks p JOIN push_checks e ON e.tbl = p.tbl AND e.col = p.col AND e.kind = '='
WHERE NOT p.target_ok OR (p.want AND NOT p.got)
   OR (NOT p.want AND p.got AND NOT (p.kind = 'IN' AND e.want))
ORDER BY 1, 2, 3;
-- each check was met both ways (pushed for some columns, not for others)
SELECT kind, bool_or(want AND got) AS pushed_somewhere, bool_or(NOT want AND NOT got) AS local_somewhere
FROM push_checks GROUP BY kind ORDER BY kind;
-- an id on a table without a GET by id (disputes_pending_settlement) is
-- checked locally: the list is read, no GET /disputes/{id}
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) AS rows, count(*) = (SELECT count(*) FROM t.truth('disputes_pending_settlement') j WHERE j ->> 'Id' = '9000000001') AS exact
FROM mangopay.disputes_pending_settlement WHERE id = '9000000001';
SELECT DISTINCT path, params FROM t.calls ORDER BY 1, 2;

-- the list filters MangoPay documents per list (spec §11), from the request
-- log, rows exact: ResultCode as a comma list on a transaction list; Status
-- and DisputeType as comma lists on the per-user, per-wallet and per-pay-in
-- dispute lists; Status, ResultCode (comma lists) and the dates on the refund
-- lists of a pay-in, transfer or payout; Status and ResultCode only on a
-- repudiation's refunds (the mock refuses a filter a list does not document)
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE f_acct AS
SELECT j->>'_BankAccountId' AS id FROM t.truth('bank_account_transactions') j
 GROUP BY 1 ORDER BY count(DISTINCT j->>'ResultCode') DESC, count(*) DESC, 1 LIMIT 1;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('bank_account_transactions', 'bank_account_transactions', true,
  $$j->>'_BankAccountId' = (SELECT id FROM f_acct) AND j->>'ResultCode' IN ('000000', '121001', '121003')$$,
  $$bank_account_id = (SELECT id FROM f_acct) AND result_code IN ('000000', '121001', '121003')$$);
SELECT DISTINCT regexp_replace(path, '/bankaccounts/[^/]+/', '/bankaccounts/{Id}/') AS path, params FROM t.calls;
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE f_users AS
SELECT j->>'_UserId' AS id FROM t.truth('user_disputes') j
 GROUP BY 1 ORDER BY count(DISTINCT j->>'Status') DESC, 1 LIMIT 3;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('user_disputes', 'user_disputes', true,
  $$j->>'_UserId' IN (SELECT id FROM f_users) AND j->>'Status' IN ('CLOSED', 'SUBMITTED', 'CREATED')
    AND j->>'DisputeType' IN ('CONTESTABLE', 'NOT_CONTESTABLE')$$,
  $$user_id IN (SELECT id FROM f_users) AND status IN ('CLOSED', 'SUBMITTED', 'CREATED')
    AND dispute_type IN ('CONTESTABLE', 'NOT_CONTESTABLE')$$);
SELECT count(*) AS calls, min(params) = max(params) AS same_params, min(params) AS params FROM t.calls;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) >= 0 AS read FROM mangopay.wallet_disputes WHERE wallet_id = 'wlt_m_nosuch' AND status IN ('CLOSED', 'CREATED');
SELECT count(*) >= 0 AS read FROM mangopay.payin_disputes WHERE payin_id = 'payin_m_nosuch' AND dispute_type IN ('CONTESTABLE', 'RETRIEVAL');
SELECT regexp_replace(path, '/(wallets|payins)/[^/]+/', '/\1/{Id}/') AS path, params FROM t.calls ORDER BY 1;
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE TEMP TABLE f_payins AS
SELECT j->>'_InitialTransactionId' AS id FROM t.truth('payin_refunds') j
 GROUP BY 1 ORDER BY count(*) DESC, 1 LIMIT 20;
SELECT fdw_rows = api_rows AND api_rows > 0 AS same_rows, missing, extra FROM t.compare('payin_refunds', 'payin_refunds', true,
  $$j->>'_InitialTransactionId' IN (SELECT id FROM f_payins) AND j->>'Status' IN ('SUCCEEDED', 'FAILED')
    AND j->>'ResultCode' IN ('000000', '001999') AND t.ts(j->'CreationDate') >= now() - interval '300 days'$$,
  $$payin_id IN (SELECT id FROM f_payins) AND status IN ('SUCCEEDED', 'FAILED')
    AND result_code IN ('000000', '001999') AND creation_date >= now() - interval '300 days'$$);
SELECT count(*) AS calls, bool_and(after) AS after_date, min(params) = max(params) AS same_params, min(params) AS params FROM t.calls;
-- (type and nature are not filters of a refund list: checked locally)
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('payin_refunds') j WHERE j->>'_InitialTransactionId' IN (SELECT id FROM f_payins)
                     AND j->>'Type' = 'PAYOUT' AND j->>'Status' = 'SUCCEEDED') AS exact
  FROM mangopay.payin_refunds WHERE payin_id IN (SELECT id FROM f_payins) AND type = 'PAYOUT' AND status = 'SUCCEEDED';
SELECT DISTINCT params, bool_or(status <> 200) AS refused FROM t.calls GROUP BY 1;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT fdw_rows = api_rows AS same_rows, missing, extra FROM t.compare('repudiation_refunds', 'repudiation_refunds', true,
  $$j->>'_InitialTransactionId' IN (SELECT j->>'InitialTransactionId' FROM t.truth('repudiation_refunds') j)
    AND j->>'Status' IN ('SUCCEEDED', 'CREATED') AND t.ts(j->'CreationDate') >= now() - interval '300 days'$$,
  $$repudiation_id IN (SELECT j->>'InitialTransactionId' FROM t.truth('repudiation_refunds') j)
    AND status IN ('SUCCEEDED', 'CREATED') AND creation_date >= now() - interval '300 days'$$);
SELECT DISTINCT params, after, bool_or(status <> 200) AS refused FROM t.calls GROUP BY 1, 2;
