--
-- async: an Append over foreign tables of 20 servers (20 client ids, one
-- view with a constant column per client id) reads them concurrently
-- (PostgreSQL's asynchronous execution, the async_capable option).  The
-- mock waits 200 ms before each answer; the same query with and without
-- enable_async_append: the calls the mock answered at once in each (the
-- ratio of their durations is a figure, in results/async_figures.txt).
--
SET client_min_messages = warning;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', jsonb_build_object('clients',
  (SELECT jsonb_object_agg('async-' || i, 'key-' || i) FROM generate_series(1, 20) i))) ->> 'ok' AS clients;
CREATE SCHEMA a;
DO $$
BEGIN
  FOR i IN 1..20 LOOP
    EXECUTE format('CREATE SERVER mp_async_%s FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url %L, max_concurrency ''1'')',
                   i, 'http://127.0.0.1:18089');
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER mp_async_%s OPTIONS (client_id %L, api_key %L)',
                   i, 'async-' || i, 'key-' || i);
    EXECUTE format('CREATE FOREIGN TABLE a.d%s (id text, status text, creation_date timestamptz) SERVER mp_async_%s OPTIONS (resource ''disputes'')', i, i);
  END LOOP;
  EXECUTE 'CREATE VIEW a.all_disputes AS ' ||
    (SELECT string_agg(format('SELECT %L::text AS client, id, status, creation_date FROM a.d%s', 'async-' || i, i), ' UNION ALL ')
       FROM generate_series(1, 20) i);
END $$;

-- the options: on a server and a table, a boolean
CREATE SERVER mp_async_bad FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (async_capable 'maybe');
ALTER FOREIGN TABLE a.d1 OPTIONS (ADD async_capable 'sure');
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_async_1 OPTIONS (ADD async_capable 'true');

-- the plan: every list scan is asynchronous; a table or server with
-- async_capable 'false', a by-id read and a report table are not
SELECT count(*) FILTER (WHERE l ~ '^ *->  Async Foreign Scan') AS async_scans,
       count(*) FILTER (WHERE l ~ '^ *->  Foreign Scan') AS sync_scans
  FROM t.explain('SELECT * FROM a.all_disputes') l;
ALTER FOREIGN TABLE a.d2 OPTIONS (ADD async_capable 'false');
ALTER SERVER mp_async_3 OPTIONS (ADD async_capable 'false');
ALTER FOREIGN TABLE a.d4 OPTIONS (ADD async_capable 'true');
ALTER SERVER mp_async_4 OPTIONS (ADD async_capable 'false');
SELECT count(*) FILTER (WHERE l ~ '^ *->  Async Foreign Scan') AS async_scans,
       count(*) FILTER (WHERE l ~ '^ *->  Foreign Scan') AS sync_scans
  FROM t.explain('SELECT * FROM a.all_disputes') l;
SELECT count(*) FILTER (WHERE l ~ '^ *->  Async Foreign Scan') AS async_scans
  FROM t.explain('SELECT * FROM a.d5 WHERE id = ''x'' UNION ALL SELECT * FROM a.d6 WHERE id = ''y''') l;
CREATE FOREIGN TABLE a.tx (id text, creation_date timestamptz) SERVER mp_async_5 OPTIONS (resource 'transactions');
SELECT count(*) FILTER (WHERE l ~ '^ *->  Async Foreign Scan') AS async_scans,
       count(*) FILTER (WHERE l ~ '^ *->  Foreign Scan') AS sync_scans
  FROM t.explain('SELECT id FROM a.tx WHERE creation_date > now() - interval ''1 day'' UNION ALL SELECT id FROM a.d6') l;
ALTER FOREIGN TABLE a.d2 OPTIONS (DROP async_capable);
ALTER SERVER mp_async_3 OPTIONS (DROP async_capable);
ALTER FOREIGN TABLE a.d4 OPTIONS (DROP async_capable);
ALTER SERVER mp_async_4 OPTIONS (DROP async_capable);

-- the disputes of the last 40 days: a few pages (per_page 100) per client id
SELECT now() - interval '40 days' AS lo \gset
SELECT count(*) AS truth_n, md5(string_agg(j->>'Id', ',' ORDER BY j->>'Id')) AS truth_ids
  FROM t.truth('disputes') j WHERE t.ts(j->'CreationDate') >= :'lo' \gset
SELECT :truth_n > 100 AS more_than_a_page;
-- the rows per client id, and the time the query took
CREATE FUNCTION t.async_run(lo timestamptz, OUT per_client text, OUT seconds float8) LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  SELECT count(*) || ' x ' || string_agg(DISTINCT n || ' ' || ids, ',') INTO per_client FROM (
    SELECT client, count(*) AS n, md5(string_agg(id, ',' ORDER BY id)) AS ids
      FROM a.all_disputes WHERE creation_date >= lo GROUP BY client HAVING count(*) > 0) x;
  seconds := extract(epoch FROM clock_timestamp() - t0);
END $$;
SELECT per_client = '20 x ' || :'truth_n' || ' ' || :'truth_ids' AS exact_without_latency FROM t.async_run(:'lo');
-- each run starts without tokens (an ALTER SERVER drops the session's
-- tokens): the asynchronous one asks for the 20 tokens together
CREATE FUNCTION t.drop_tokens() RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  ALTER SERVER mp_async_1 OPTIONS (ADD connect_timeout_ms '10000');
  ALTER SERVER mp_async_1 OPTIONS (DROP connect_timeout_ms);
END $$;
SELECT t.mock('config', '{"latency_ms": 200}') ->> 'ok' AS latency;
SELECT coalesce(max((r->>'seq')::bigint), 0) AS seq_sync_start FROM t.requests() r \gset
SET enable_async_append = off;
SELECT t.drop_tokens();
SELECT per_client = '20 x ' || :'truth_n' || ' ' || :'truth_ids' AS sync_exact, seconds AS sync_seconds
  FROM t.async_run(:'lo') \gset
RESET enable_async_append;
SELECT coalesce(max((r->>'seq')::bigint), 0) AS seq_sync_end FROM t.requests() r \gset
SELECT t.drop_tokens();
SELECT per_client = '20 x ' || :'truth_n' || ' ' || :'truth_ids' AS async_exact, seconds AS async_seconds
  FROM t.async_run(:'lo') \gset
-- the most requests the mock was answering at once, in each run (from its
-- log: when each began, when its answer started), never a duration: a busy
-- machine slows both runs alike, but cannot make the synchronous one
-- overlap its calls nor the asynchronous one send its 20 first calls one
-- after another
CREATE FUNCTION t.max_in_flight(lo bigint, hi bigint) RETURNS bigint LANGUAGE sql AS $$
  WITH r AS (SELECT (r->>'time')::numeric AS t0,
                    (r->>'time')::numeric + coalesce(r->>'answer_ms', r->>'ms')::numeric / 1000 AS t1
               FROM t.requests() r WHERE (r->>'seq')::bigint > lo AND (r->>'seq')::bigint <= hi)
  SELECT max((SELECT count(*) FROM r b WHERE b.t0 <= a.t0 AND a.t0 < b.t1)) FROM r a $$;
SELECT t.max_in_flight(:seq_sync_start, :seq_sync_end) AS sync_in_flight,
       t.max_in_flight(:seq_sync_end, (SELECT max((r->>'seq')::bigint) FROM t.requests() r)) AS async_in_flight \gset
SELECT :'sync_exact' AS sync_exact, :'async_exact' AS async_exact,
       :sync_in_flight AS sync_calls_at_once, :async_in_flight >= 10 AS async_ten_calls_at_once;
\o | cat >> results/async_figures.txt
SELECT 'async' AS test, :sync_seconds AS sync_seconds, :async_seconds AS async_seconds,
       round((:async_seconds / :sync_seconds)::numeric, 3) AS ratio,
       :sync_in_flight AS sync_in_flight, :async_in_flight AS async_in_flight;
\o
-- each client id in its own budget: every call counted in its row, no 429;
-- three tokens per client id (one per run)
SELECT count(*) FILTER (WHERE r->>'path' LIKE '%/oauth/token') AS token_calls FROM t.requests() r;
SELECT count(*) AS budgets,
       count(*) FILTER (WHERE calls_total = (SELECT count(*) FROM t.requests() r WHERE r->>'client' = b.client_id)) AS calls_counted_per_client
  FROM mangopay_fdw_rate_limits() b WHERE client_id LIKE 'async-%';
SELECT count(*) FILTER (WHERE (r->>'status')::int = 429) AS answers_429,
       count(DISTINCT r->>'client') AS client_ids_called
  FROM t.requests() r;
-- nothing left in flight
SELECT sum(in_flight) AS in_flight FROM mangopay_fdw_rate_limits() WHERE client_id LIKE 'async-%';

-- an error in one partition (client id async-20 unknown: 401) ends the query
-- with that ERROR; the other scans' requests are released
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', jsonb_build_object('clients',
  (SELECT jsonb_object_agg('async-' || i, 'key-' || i) FROM generate_series(1, 19) i))) ->> 'ok' AS clients_but_one;
SELECT t.err('SELECT count(*) FROM a.all_disputes WHERE creation_date >= now() - interval ''40 days''');
SELECT value AS requests_live FROM mangopay_fdw_stats() WHERE counter = 'requests_live';

DO $$ BEGIN FOR i IN 1..20 LOOP
  EXECUTE format('DROP SERVER mp_async_%s CASCADE', i);
END LOOP; END $$;
DROP SCHEMA a CASCADE;
SELECT t.mock('reset') ->> 'ok' AS reset;
