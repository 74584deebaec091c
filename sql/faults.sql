--
-- faults: each ends in the exact rows or in the right ERROR
--
CREATE VIEW t.statuses AS
  SELECT string_agg(status::text, ',' ORDER BY seq) AS statuses
  FROM (SELECT (r ->> 'seq')::int AS seq, (r ->> 'status')::int AS status FROM t.requests() r
        WHERE r ->> 'path' NOT LIKE '%oauth%') x;
ALTER SERVER mangopay OPTIONS (ADD page_size '100');
-- a helper: number of disputes the API holds
CREATE TEMP TABLE n AS SELECT count(*) AS n FROM t.truth('disputes');

-- 503 twice, then success: retried with backoff, exact rows
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"status","status":503,"times":2}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT n FROM n) AS exact FROM mangopay.disputes;
SELECT split_part(statuses, ',', 1) AS first, split_part(statuses, ',', 2) AS second, split_part(statuses, ',', 3) AS third FROM t.statuses;
-- DEBUG1 logs one line per HTTP request, retries included: method, path,
-- status, time, attempt (the server log is at debug1; this backend's lines)
SELECT regexp_replace(regexp_replace(l, '^.*DEBUG:  ', ''), ' in \d+ ms', ' in N ms') AS debug1_line
  FROM t.run('grep -a -F ' || t.sh(format('[%s] DEBUG:  mangopay_fdw: GET /disputes?page=1&', pg_backend_pid()))
             || ' /tmp/mangopay_fdw_test/postgres.log') l;
-- 500, 502, 504 too
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"status","status":500,"times":1},{"path":"/disputes$","kind":"status","status":502,"times":1,"skip":1},{"path":"/disputes$","kind":"status","status":504,"times":1,"skip":3}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT n FROM n) AS exact, count(DISTINCT id) = (SELECT n FROM n) AS no_doubles FROM mangopay.disputes;
-- (the mock's fault 429s are no real budget: kept out of the shared one)
SET mangopay_fdw.rate_budget = off;
-- 429 without Retry-After: waits for the exhausted window's reset, then goes on
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"rate_limit","reset_in":1,"skip":2}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT n FROM n) AS exact, count(DISTINCT id) = (SELECT n FROM n) AS no_doubles FROM mangopay.disputes;
SELECT statuses LIKE '%429%' AS saw_429 FROM t.statuses;
SELECT value > 0 AS counted FROM mangopay_fdw_stats() WHERE counter = 'rate_limited';
-- 429 whose reset is beyond statement_timeout: an ERROR at once, with a HINT
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"rate_limit","reset_in":3600,"times":-1}]}') ->> 'ok' AS armed;
SET statement_timeout = '20s';
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t0;
SELECT t.err('SELECT count(*) FROM mangopay.disputes');
SELECT clock_timestamp() - t0 < interval '5 s' AS quick FROM t0;
DROP TABLE t0;
RESET statement_timeout;
RESET mangopay_fdw.rate_budget;
-- a connection dropped without an answer, or in the middle of the body: retried
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"drop","times":1},{"path":"/disputes$","kind":"drop_mid_body","times":1,"skip":4}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT n FROM n) AS exact, count(DISTINCT id) = (SELECT n FROM n) AS no_doubles FROM mangopay.disputes;
-- the token expires in the middle of a scan: one refresh, exact rows
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"expire_token","skip":3}]}') ->> 'ok' AS armed;
SELECT count(*) = (SELECT n FROM n) AS exact FROM mangopay.disputes;
SELECT count(*) AS token_requests FROM t.requests() r WHERE r ->> 'path' LIKE '%oauth/token';
SELECT statuses LIKE '%401%' AS saw_401 FROM t.statuses;
-- every API call carried the bearer token
SELECT bool_and(auth ILIKE 'bearer') AS bearer FROM t.api_calls;
-- a token lifetime shorter than the margin is still used, then refreshed
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"token_ttl": 2}') ->> 'ok' AS ttl;
ALTER SERVER mangopay OPTIONS (ADD connect_timeout_ms '10000');  -- drops the cached token
SELECT count(*) = (SELECT n FROM n) AS exact FROM mangopay.disputes;
SELECT pg_sleep(2.1);
SELECT count(*) = (SELECT n FROM n) AS exact FROM mangopay.disputes;
SELECT count(*) >= 2 AS refreshed FROM t.requests() r WHERE r ->> 'path' LIKE '%oauth/token';
SELECT t.mock('reset') ->> 'ok' AS reset;

-- malformed JSON: an ERROR naming the resource, not a partial result
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"malformed","skip":1}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.disputes', true);
-- persistent 500: gives up after max_retries, says so
SELECT t.mock('reset') ->> 'ok' AS reset;
ALTER SERVER mangopay OPTIONS (ADD max_retries '2');
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"status","status":500,"times":-1}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.disputes', true);
SELECT statuses FROM t.statuses;
-- a 400 from the API: its Type, Message, Id and errors in DETAIL
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/dispute-documents$","kind":"status","status":400,"body":{"Message":"One or several required parameters are missing or incorrect. An incorrect resource ID also raises this kind of error.","Type":"param_error","Id":"0f3e2d1c-5b4a-4c3d-9e8f-7a6b5c4d3e2f#1735723000","Date":1735723001,"errors":{"Type":"Unknown value"}}}]}') ->> 'ok' AS armed;
SELECT count(*) FROM mangopay.dispute_documents;
-- a redirect is not followed: the bearer token never goes to another host
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/events$","kind":"redirect","status":302,"location":"http://127.0.0.2:18089/steal"}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.events', true);
SELECT count(*) AS calls_to_other_paths FROM t.requests() r WHERE r ->> 'path' LIKE '%steal%';
-- a response that never comes: request_timeout_ms, then the retries, then an ERROR
SELECT t.mock('reset') ->> 'ok' AS reset;
ALTER SERVER mangopay OPTIONS (ADD request_timeout_ms '300', SET max_retries '1');
SELECT t.mock('faults', '{"faults":[{"path":"/reports$","kind":"hang","times":-1}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.reports');
ALTER SERVER mangopay OPTIONS (DROP request_timeout_ms, DROP max_retries);
-- statement_timeout during a slow answer: canceled within a second
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reports$","kind":"latency","ms":10000}]}') ->> 'ok' AS armed;
SET statement_timeout = '1s';
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t0;
SELECT count(*) FROM mangopay.reports;
RESET statement_timeout;
SELECT clock_timestamp() - t0 < interval '2 s' AS within_a_second FROM t0;
DROP TABLE t0;
-- the backend is healthy afterwards
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) = (SELECT count(*) FROM t.truth('reports')) AS healthy FROM mangopay.reports;

-- bad credentials: one token request, an ERROR naming the user mapping
CREATE SERVER mp_badkey FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://127.0.0.1:18089');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_badkey OPTIONS (client_id 'acme-test', api_key 'wrong-key-0000');
CREATE FOREIGN TABLE bad_disputes (id text) SERVER mp_badkey OPTIONS (resource 'disputes');
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.err('SELECT count(*) FROM bad_disputes', true);
SELECT count(*) AS token_requests FROM t.requests() r WHERE r ->> 'path' LIKE '%oauth/token';
-- a wrong api_url: a 404 is an ERROR, not an empty table
ALTER SERVER mp_badkey OPTIONS (SET api_url 'http://127.0.0.1:18089/wrong/prefix');
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_badkey OPTIONS (SET api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
SELECT t.err('SELECT count(*) FROM bad_disputes', true);
-- nothing listening: retried, then an ERROR
ALTER SERVER mp_badkey OPTIONS (SET api_url 'http://127.0.0.1:1', ADD max_retries '1');
SELECT t.err('SELECT count(*) FROM bad_disputes');
DROP SERVER mp_badkey CASCADE;

-- pg_cancel_backend() during a slow answer; the wait shows in pg_stat_activity
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/reports$","kind":"latency","ms":20000}]}') ->> 'ok' AS armed;
SELECT dblink_connect('bg', format('host=%s port=%s dbname=%s user=%s', current_setting('unix_socket_directories'),
                      current_setting('port'), current_database(), current_user));
SELECT dblink_send_query('bg', 'SELECT count(*) FROM mangopay.reports');
-- the first snapshot that shows the backend waiting is the one read (a
-- later one may catch it between two waits, running)
CREATE TEMP TABLE seen_wait (wait_event_type text, wait_event text);
DO $$ DECLARE r record; BEGIN
  FOR i IN 1..600 LOOP		-- up to 30 s (valgrind is slow); a fresh snapshot each time
    PERFORM pg_stat_clear_snapshot();
    SELECT a.wait_event_type, a.wait_event INTO r FROM pg_stat_activity a
     WHERE query = 'SELECT count(*) FROM mangopay.reports' AND a.wait_event_type = 'Extension';
    IF FOUND THEN
      INSERT INTO seen_wait VALUES (r.wait_event_type, r.wait_event);
      EXIT;
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT wait_event_type, wait_event = t.wait_event() AS mangopay_wait_event FROM seen_wait;
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t0;
SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = 'SELECT count(*) FROM mangopay.reports';
SELECT * FROM dblink_get_result('bg', false) AS r(n bigint);
SELECT clock_timestamp() - t0 < interval '1 s' AS within_a_second FROM t0;
SELECT * FROM dblink_get_result('bg', false) AS r(n bigint);
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT * FROM dblink('bg', 'SELECT count(*) > 0 FROM mangopay.reports') AS r(healthy boolean);
SELECT * FROM dblink('bg', 'SELECT count(*) > 0 FROM mangopay.reports') AS r(healthy boolean);
SELECT dblink_disconnect('bg');
ALTER SERVER mangopay OPTIONS (DROP page_size, DROP connect_timeout_ms);
