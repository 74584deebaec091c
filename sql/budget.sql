--
-- budget: one MangoPay rate budget per (api_url, client_id) for the whole
-- cluster (mangopay_fdw in shared_preload_libraries, test/lib.sh).  The
-- mock allows 60 calls per 3 s window; ten sessions at once, a backfill and
-- a short query, a session killed while it waits; and a cluster without
-- the preload (test/budget_nopreload.sh).
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT t.mock('reset') ->> 'ok' AS reset;
-- the windows of the API, shortened: 60 / 3 s, 120 / 6 s, 240 / 12 s
SELECT t.mock('config', '{"rate_limits":[60,120,240,100000],"rate_windows":[3,6,12,86400]}') -> 'config' -> 'rate_limits' AS limits;
-- "localhost": a budget of its own, apart from the other suites' server
CREATE SERVER mp_budget FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (api_url 'http://localhost:18089', report_poll_ms '200');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_budget
  OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE SCHEMA b;
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes, transactions) FROM SERVER mp_budget INTO b;
SELECT count(*) AS n, md5(string_agg(j->>'Id', ',' ORDER BY j->>'Id')) AS ids FROM t.truth('disputes') j \gset truth_
SELECT now() - interval '3 days' AS lo \gset
SELECT format('SELECT count(*) || '' '' || md5(string_agg(id, '','' ORDER BY id)) FROM b.transactions WHERE creation_date >= %L', :'lo') AS q_reports \gset
SELECT 'SELECT count(*) || '' '' || md5(string_agg(id, '','' ORDER BY id)) FROM b.disputes' AS q_disputes \gset
-- the report rows, read alone (the reports suite checks them against the API)
SELECT v AS reports_alone FROM dblink(format('dbname=%s port=%s host=%s', current_database(), current_setting('port'), current_setting('unix_socket_directories')), :'q_reports') AS r(v text) \gset

-- ten sessions
CREATE FUNCTION t.connect_all(n int) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    PERFORM dblink_connect('s' || i, format('dbname=%s port=%s host=%s', current_database(),
      current_setting('port'), current_setting('unix_socket_directories')));
  END LOOP;
END $$;
-- 8 sessions scan disputes, 2 a transactions report, all at once; each
-- session's answer, or its error
CREATE FUNCTION t.concurrent(budget_on boolean, qd text, qr text)
RETURNS TABLE (session int, answer text) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..10 LOOP
    PERFORM dblink_exec('s' || i, format('SET mangopay_fdw.rate_budget = %s', budget_on));
  END LOOP;
  FOR i IN 1..10 LOOP
    PERFORM dblink_send_query('s' || i, CASE WHEN i <= 8 THEN qd ELSE qr END);
  END LOOP;
  FOR i IN 1..10 LOOP
    session := i;
    BEGIN
      SELECT v INTO answer FROM dblink_get_result('s' || i) AS r(v text);
      PERFORM * FROM dblink_get_result('s' || i) AS r(v text);
    EXCEPTION WHEN OTHERS THEN
      answer := 'ERROR: ' || SQLERRM;
    END;
    RETURN NEXT;
  END LOOP;
END $$;
-- the most API calls (token calls too) the mock saw in any 3 s window
CREATE VIEW t.max_calls_per_window AS
  SELECT coalesce(max(c), 0) AS max_calls FROM (
    SELECT count(*) OVER (ORDER BY (r->>'time')::numeric RANGE BETWEEN CURRENT ROW AND 2.999 FOLLOWING) AS c
      FROM t.requests() r WHERE r->>'port' = '18089') x;
SELECT t.connect_all(10);

-- the shared budget: no 429, exact rows, at most 60 calls in any window
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"rate_limits":[60,120,240,100000],"rate_windows":[3,6,12,86400]}') ->> 'ok' AS small_budget;
CREATE TEMP TABLE run_on AS SELECT * FROM t.concurrent(true, :'q_disputes', :'q_reports');
SELECT count(*) FILTER (WHERE session <= 8 AND answer = :'truth_n' || ' ' || :'truth_ids') AS disputes_exact,
       count(*) FILTER (WHERE session > 8 AND answer = :'reports_alone') AS reports_exact
  FROM run_on;
SELECT * FROM run_on WHERE answer LIKE 'ERROR%';
SELECT count(*) FILTER (WHERE status = 429) AS answers_429, count(*) > 60 AS more_than_one_window
  FROM t.requests() r, LATERAL (SELECT (r->>'status')::int AS status) s;
SELECT max_calls <= 60 AS within_budget FROM t.max_calls_per_window;
SELECT client_id, call_limit, in_flight, backends_waiting, calls_total >= 60 AS counted,
       waits_total > 0 AS waited, remaining[1] <= 60 AS remaining_known,
       resets_at[1] > now() - interval '1 min' AS reset_known
  FROM mangopay_fdw_rate_limits() WHERE api_url = 'http://localhost:18089';
-- figures for the record (not compared: they vary with timing)
\o | cat >> results/budget_figures.txt
SELECT 'on' AS budget, (SELECT count(*) FROM t.requests() r WHERE r->>'port' = '18089') AS api_calls,
       (SELECT max_calls FROM t.max_calls_per_window) AS max_calls_in_3s,
       (SELECT count(*) FROM t.requests() r WHERE (r->>'status')::int = 429) AS answers_429,
       waits_total, extract(epoch FROM (SELECT max(t) - min(t) FROM (SELECT to_timestamp((r->>'time')::numeric) t FROM t.requests() r) x)) AS seconds
  FROM mangopay_fdw_rate_limits() WHERE api_url = 'http://localhost:18089';
\o

-- the same without the budget (each session on its own, as before): 429s
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"rate_limits":[60,120,240,100000],"rate_windows":[3,6,12,86400]}') ->> 'ok' AS small_budget;
CREATE TEMP TABLE run_off AS SELECT * FROM t.concurrent(false, :'q_disputes', :'q_reports');
SELECT count(*) FILTER (WHERE (r->>'status')::int = 429) > 0 AS answers_429_without_budget FROM t.requests() r;
\o | cat >> results/budget_figures.txt
SELECT 'off' AS budget, (SELECT count(*) FROM t.requests() r WHERE r->>'port' = '18089') AS api_calls,
       (SELECT max_calls FROM t.max_calls_per_window) AS max_calls_in_3s,
       (SELECT count(*) FROM t.requests() r WHERE (r->>'status')::int = 429) AS answers_429,
       (SELECT count(*) FROM run_off WHERE answer LIKE 'ERROR%') AS errors,
       extract(epoch FROM (SELECT max(t) - min(t) FROM (SELECT to_timestamp((r->>'time')::numeric) t FROM t.requests() r) x)) AS seconds;
\o

-- a long backfill, then a short query: served in turn, the short query
-- gets a slot before the backfill has spent one more window (60 calls),
-- long before the backfill ends, and without a 429.  Counted in the mock's
-- request log (its sequence numbers), never in seconds: a busy machine
-- slows both alike.
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"rate_limits":[60,120,240,100000],"rate_windows":[3,6,12,86400]}') ->> 'ok' AS small_budget;
SELECT j->>'Id' AS one_id FROM t.truth('disputes') j LIMIT 1 \gset
SELECT count(*) AS budget_on_again FROM generate_series(1, 10) i, LATERAL dblink_exec('s' || i, 'RESET mangopay_fdw.rate_budget') x;
-- a backfill of all disputes in session sess; once it waits for the budget
-- (it has spent its share of the window), here, a query of one dispute by
-- id under EXPLAIN ANALYZE (its rows, and whether its request queued for
-- the budget).  Between: the backfill's calls the mock saw after the short
-- query began and before its GET.  until_clean: ask again, once the
-- backfill waits again, while the backfill made a call in between (a
-- window refilled meanwhile: the sample says nothing of the reserve).
CREATE FUNCTION t.backfill_then_short(sess text, truth_n text, one_id text, until_clean boolean,
  OUT short_rows bigint, OUT short_waits bigint, OUT backfill_calls_between bigint,
  OUT backfill_exact boolean, OUT backfill_ended_later boolean) LANGUAGE plpgsql AS $$
DECLARE seq0 bigint; short_seq bigint; v text; plan jsonb; scan jsonb;
BEGIN
  PERFORM dblink_send_query(sess, 'SELECT count(*) FROM b.disputes');
  LOOP
    PERFORM t.wait_until($c$(SELECT backends_waiting >= 1 FROM mangopay_fdw_rate_limits()
                             WHERE api_url = 'http://localhost:18089')$c$, 'the backfill to wait for the budget');
    SELECT coalesce(max((r->>'seq')::bigint), 0) INTO seq0 FROM t.requests() r;
    EXECUTE format('EXPLAIN (ANALYZE, FORMAT JSON, SUMMARY OFF) SELECT count(*) FROM b.disputes d WHERE d.id = %L', one_id)
      INTO plan;
    scan := plan -> 0 -> 'Plan' -> 'Plans' -> 0;
    short_rows := (scan ->> 'Actual Rows')::numeric;
    short_waits := (scan ->> 'MangoPay Rate Budget Waits')::bigint;
    SELECT max((r->>'seq')::bigint) INTO short_seq FROM t.requests() r
     WHERE (r->>'seq')::bigint > seq0 AND r->>'path' LIKE '%/disputes/' || one_id;
    SELECT count(*) INTO backfill_calls_between FROM t.requests() r
     WHERE (r->>'seq')::bigint > seq0 AND (r->>'seq')::bigint < short_seq AND r->>'path' LIKE '%/disputes';
    EXIT WHEN NOT until_clean OR backfill_calls_between = 0 OR dblink_is_busy(sess) = 0;
  END LOOP;
  SELECT r.v INTO v FROM dblink_get_result(sess) AS r(v text);
  PERFORM * FROM dblink_get_result(sess) AS r(v text);
  backfill_exact := v = truth_n;
  backfill_ended_later := (SELECT max((r->>'seq')::bigint) FROM t.requests() r WHERE r->>'path' LIKE '%/disputes') > short_seq;
END $$;
ALTER SERVER mp_budget OPTIONS (ADD page_size '20');
CREATE TEMP TABLE fair AS SELECT * FROM t.backfill_then_short('s1', :'truth_n', :'one_id', false);
SELECT short_rows, backfill_calls_between <= 60 AS served_within_one_window,
       backfill_exact, backfill_ended_later FROM fair;
SELECT count(*) FILTER (WHERE (r->>'status')::int = 429) AS answers_429 FROM t.requests() r;
\o | cat >> results/budget_figures.txt
SELECT 'fairness' AS test, backfill_calls_between, short_waits,
       (SELECT count(*) FROM t.requests() r WHERE r->>'port' = '18089') AS api_calls FROM fair;
\o
ALTER SERVER mp_budget OPTIONS (DROP page_size);

-- the reserve: a batch session (a pg_cron job, or mangopay_fdw.workload =
-- batch) leaves rate_reserve_pct of each window to interactive sessions; an
-- analyst's query during its backfill does not queue for the budget
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"rate_limits":[60,120,240,100000],"rate_windows":[3,6,12,86400]}') ->> 'ok' AS small_budget;
ALTER SERVER mp_budget OPTIONS (ADD rate_reserve_pct '50', ADD page_size '40');
SELECT dblink_exec('s2', 'SET mangopay_fdw.workload = batch') AS batch;
CREATE TEMP TABLE reserve AS SELECT * FROM t.backfill_then_short('s2', :'truth_n', :'one_id', true);
SELECT short_rows, backfill_calls_between = 0 AS clean_sample, short_waits AS short_queued,
       backfill_exact, backfill_ended_later FROM reserve;
-- the batch session alone: about half of each window (a probe for fresh
-- headers may go beyond, one at a time)
SELECT max_calls <= 36 AS batch_kept_the_reserve, count(*) FILTER (WHERE (r->>'status')::int = 429) AS answers_429
  FROM t.max_calls_per_window, t.requests() r GROUP BY max_calls;
\o | cat >> results/budget_figures.txt
SELECT 'reserve' AS test, short_waits, max_calls AS batch_max_calls_in_3s FROM reserve, t.max_calls_per_window;
\o
SELECT dblink_exec('s2', 'RESET mangopay_fdw.workload') AS interactive_again;
ALTER SERVER mp_budget OPTIONS (DROP rate_reserve_pct, DROP page_size);

-- sessions killed while they wait for a slot or hold one: the others go on
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"rate_limits":[60,120,240,100000],"rate_windows":[3,6,12,86400]}') ->> 'ok' AS small_budget;
CREATE TEMP TABLE pids AS SELECT i, (SELECT p FROM dblink('s' || i, 'SELECT pg_backend_pid()') AS r(p int)) AS pid
  FROM generate_series(1, 10) i;
SELECT count(*) AS sent FROM generate_series(1, 10) i, LATERAL dblink_send_query('s' || i, :'q_disputes') x;
-- once the budget is spent and sessions queue for it
SELECT t.wait_until($c$(SELECT backends_waiting >= 1 FROM mangopay_fdw_rate_limits()
                        WHERE api_url = 'http://localhost:18089')$c$, 'a session to wait for the budget') AS budget_spent;
SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) AS killed FROM pids WHERE i IN (3, 7);
CREATE FUNCTION t.collect(skip int[]) RETURNS TABLE (session int, answer text) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..10 LOOP
    CONTINUE WHEN i = ANY (skip);
    session := i;
    SELECT v INTO answer FROM dblink_get_result('s' || i) AS r(v text);
    PERFORM * FROM dblink_get_result('s' || i) AS r(v text);
    RETURN NEXT;
  END LOOP;
END $$;
SELECT count(*) FILTER (WHERE answer = :'truth_n' || ' ' || :'truth_ids') AS survivors_exact FROM t.collect('{3,7}');
SELECT count(*) FILTER (WHERE (r->>'status')::int = 429) AS answers_429 FROM t.requests() r;
-- nothing leaked: no call in flight, nobody waiting
SELECT in_flight, backends_waiting FROM mangopay_fdw_rate_limits() WHERE api_url = 'http://localhost:18089';
SELECT dblink_disconnect('s' || i) FROM generate_series(1, 10) i WHERE i NOT IN (3, 7);

-- without shared_preload_libraries (a second cluster): before PostgreSQL 17
-- each session goes on alone, as before, with a NOTICE once; from 17 the
-- DSM registry shares the budget all the same
SELECT setting AS bindir FROM pg_config WHERE name = 'BINDIR' \gset
\setenv MP_BINDIR :bindir
SELECT t.mock('reset') ->> 'ok' AS reset;
\! bash test/budget_nopreload.sh

-- room for two client ids (mangopay_fdw.max_budgets = 2, a third cluster):
-- the idle budget used longest ago is reused; with both busy, a third
-- client id's calls go on without one, counted and said once
SELECT t.mock('reset') ->> 'ok' AS reset;
\! bash test/budget_many.sh

DROP SCHEMA b CASCADE;
DROP USER MAPPING FOR CURRENT_USER SERVER mp_budget;
DROP SERVER mp_budget;
