--
-- matrix: the fault matrix cases the faults, tls and reports suites do
-- not already cover (doc/operations.md "What you see when" lists them all), then a
-- cancel in every wait state, each ending within a second and leaving the
-- backend healthy: no live request, no memory context, no file descriptor
-- left behind.
--
SELECT t.mock('reset') ->> 'ok' AS reset;

-- DNS failure: the host does not resolve (no retry storm: max_retries 1)
CREATE SERVER mp_dns FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (api_url 'https://no-such-host.invalid', max_retries '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_dns OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE FOREIGN TABLE dns_disputes (id text) SERVER mp_dns OPTIONS (resource 'disputes');
SELECT t.err('SELECT count(*) FROM dns_disputes');
DROP SERVER mp_dns CASCADE;

-- connect timeout: a port whose listen queue is full (the mock's
-- blackhole): connect_timeout_ms per attempt, then an ERROR
CREATE SERVER mp_bh FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (api_url 'http://127.0.0.1:18446', connect_timeout_ms '300', max_retries '1');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_bh OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE FOREIGN TABLE bh_disputes (id text) SERVER mp_bh OPTIONS (resource 'disputes');
CREATE TEMP TABLE t0 AS SELECT clock_timestamp() AS t0;
SELECT t.err('SELECT count(*) FROM bh_disputes');
SELECT clock_timestamp() - t0 < interval '3 s' AS bounded_by_connect_timeout FROM t0;
DROP TABLE t0;

-- a list page of 40 MB: refused at the 16 MB cap, not allocated
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"huge","mb":40}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.disputes', true);
-- JSON nested 100,000 deep
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"deep","depth":100000}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.disputes', true);
-- wrong JSON types: dates as ISO strings are read, an amount with a
-- fraction or an object where text belongs is an ERROR naming the column
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"wrong_types","times":-1}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(creation_date) FROM mangopay.disputes WHERE creation_date > now() - interval ''30 days''');
-- (the amount in the message depends on the date: its digits masked)
SELECT regexp_replace(t.err('SELECT sum(disputed_funds_amount) FROM mangopay.disputes'), '"\d+\.', '"N.') AS err;
SELECT t.err('SELECT count(status) FROM mangopay.disputes');
SELECT count(*) = (SELECT count(*) FROM t.truth('disputes')) AS ids_still_read FROM mangopay.disputes;

-- report CSV: invalid UTF-8, a NUL byte, a 10 MB field, a wrong field count
SELECT t.mock('reset') ->> 'ok' AS reset;
-- "Id,CreationDate\r\nab\xff\xfe,{NOW}\r\n"
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"status","status":200,"content_type":"text/csv","body_b64":"SWQsQ3JlYXRpb25EYXRlDQphYv/+LHtOT1d9DQo="}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT id FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
SELECT t.mock('reset') ->> 'ok' AS reset;
-- "Id,CreationDate\r\na\0b,{NOW}\r\n"
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"status","status":200,"content_type":"text/csv","body_b64":"SWQsQ3JlYXRpb25EYXRlDQphAGIse05PV30NCg=="}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT id FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
SELECT t.mock('reset') ->> 'ok' AS reset;
-- a 10 MB field is read whole; one over the 16 MB field cap is an ERROR
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"status","status":200,"content_type":"text/csv","body":"Id,CreationDate\r\n{FILL},{NOW}\r\n","fill_count":10485760}]}') ->> 'ok' AS armed;
SELECT length(id) AS ten_mb_id, id = repeat('x', 10485760) AS exact
  FROM mangopay.transactions WHERE creation_date >= now() - interval '10 days';
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"status","status":200,"content_type":"text/csv","body":"Id,CreationDate\r\n{FILL},{NOW}\r\n","fill_count":17825792}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT id FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"status","status":200,"content_type":"text/csv","body":"Id,CreationDate,Status\r\nx,{NOW}\r\n","fill_count":0}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT id FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);

-- ------------------------------------------------------------------
-- cancel in every wait state: pg_cancel_backend() from this session ends
-- the query in a dblink session within a second, the backend showed the
-- extension's wait event, and afterwards nothing is left behind
-- ------------------------------------------------------------------
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
RESET client_min_messages;
SELECT dblink_connect('bg', format('host=%s port=%s dbname=%s user=%s', current_setting('unix_socket_directories'),
                      current_setting('port'), current_database(), current_user));
SELECT pid AS bg_pid FROM dblink('bg', 'SELECT pg_backend_pid()') AS r(pid int) \gset
-- (the rate-limit wait state's 429 is a mock fault: kept out of the shared budget)
SELECT dblink_exec('bg', 'SET mangopay_fdw.rate_budget = off') AS budget_off;
-- file descriptors of the dblink backend
CREATE FUNCTION t.fds(pid int) RETURNS int LANGUAGE sql AS $$
  SELECT count(*)::int FROM t.run('ls /proc/' || pid || '/fd') $$;
-- what is live in the dblink backend: requests, memory contexts of a
-- scan (the token cache lives as long as the backend)
CREATE FUNCTION t.bg_leftovers() RETURNS text LANGUAGE sql AS $$
  SELECT format('live requests %s, contexts %s', l, c) FROM dblink('bg',
    $q$SELECT (SELECT value FROM mangopay_fdw_stats() WHERE counter = 'requests_live'),
              (SELECT count(*) FROM pg_backend_memory_contexts
                WHERE name LIKE 'mangopay_fdw%' AND name <> 'mangopay_fdw tokens')$q$)
    AS r(l bigint, c bigint) $$;
-- the mock's fault rules with their counters (_applied: how many requests
-- each has caught)
CREATE FUNCTION t.faults() RETURNS SETOF jsonb LANGUAGE sql AS $$
  SELECT jsonb_array_elements(string_agg(l, E'\n')::jsonb)
  FROM t.run('curl -sf http://127.0.0.1:18089/__mock/faults') l $$;
-- send q in the background session, wait until it waits on the network in
-- the state armed (every fault rule has caught its request, and the backend
-- shows mangopay_fdw's wait event; at most 30 s), cancel it; the outcome,
-- the wait event seen and whether it ended within a second of the cancel
CREATE FUNCTION t.cancel(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz; el interval; res text; ev text;
  deadline timestamptz := clock_timestamp() + interval '30 s';
BEGIN
  PERFORM dblink_send_query('bg', q);
  LOOP
    PERFORM pg_stat_clear_snapshot();	-- a fresh pg_stat_activity in this transaction
    -- (from 17 each wait has its own name: MangoPayHTTP, MangoPayRateLimit, MangoPayRateBudget)
    SELECT coalesce(wait_event_type || ':' ||
                    CASE WHEN wait_event = t.wait_event() OR wait_event LIKE 'MangoPay%' THEN 'mangopay_fdw' ELSE wait_event END, 'running') INTO ev
      FROM pg_stat_activity WHERE query = q AND pid <> pg_backend_pid();
    EXIT WHEN ev = 'Extension:mangopay_fdw'
              AND NOT EXISTS (SELECT FROM t.faults() f WHERE coalesce((f ->> '_applied')::int, 0) = 0);
    EXIT WHEN clock_timestamp() > deadline;
    PERFORM pg_sleep(0.02);
  END LOOP;
  t0 := clock_timestamp();
  PERFORM pg_cancel_backend(pid) FROM pg_stat_activity WHERE query = q AND pid <> pg_backend_pid();
  WHILE dblink_is_busy('bg') = 1 AND clock_timestamp() - t0 < interval '30 s' LOOP
    PERFORM pg_sleep(0.01);
  END LOOP;
  el := clock_timestamp() - t0;
  BEGIN
    PERFORM * FROM dblink_get_result('bg') AS r(x text);
    res := 'no error';
  EXCEPTION WHEN OTHERS OR query_canceled THEN res := SQLSTATE || ': ' || SQLERRM;
  END;
  PERFORM * FROM dblink_get_result('bg', false) AS r(x text);
  RETURN res || ' | waiting on ' || ev || ' | ' ||
    CASE WHEN el < interval '1 s' THEN 'ended within 1 s' ELSE 'took ' || el END;
END $$;

-- every wait state, canceled: run twice, so that anything a cancel leaves
-- behind (a socket, a handle) shows as growth between the rounds
CREATE TABLE t.wait_states (n int, state text, fault text, q text, timeout text);
INSERT INTO t.wait_states VALUES
    (1, 'connecting', NULL, 'SELECT count(*)::text FROM bh_disputes', '1s'),
    (2, 'slow response', '{"faults":[{"path":"/disputes$","kind":"latency","ms":20000}]}',
     'SELECT count(*)::text FROM mangopay.disputes', '1s'),
    (3, 'accepted, never answers', '{"faults":[{"path":"/disputes$","kind":"hang"}]}',
     'SELECT count(*)::text FROM mangopay.disputes', '1s'),
    (4, 'report poll', '{"faults":[{"kind":"report_stays_pending"}]}',
     $q$SELECT count(*)::text FROM mangopay.transactions WHERE creation_date >= now() - interval '5 days'$q$, '1s'),
    (5, 'download stalled', '{"faults":[{"path":"\\.csv$","kind":"hang"}]}',
     $q$SELECT count(*)::text FROM mangopay.transactions WHERE creation_date >= now() - interval '5 days'$q$, '2500ms'),
    (6, 'rate-limit wait', '{"faults":[{"path":"/disputes$","kind":"rate_limit","reset_in":20}]}',
     'SELECT count(*)::text FROM mangopay.disputes', '1s');
CREATE FUNCTION t.cancel_round() RETURNS TABLE (wait_state text, outcome text, leftovers text)
LANGUAGE plpgsql AS $$
DECLARE c record;
BEGIN
  FOR c IN SELECT * FROM t.wait_states ORDER BY n LOOP
    PERFORM t.mock('reset');
    IF c.fault IS NOT NULL THEN PERFORM t.mock('faults', c.fault::jsonb); END IF;
    wait_state := c.state;
    outcome := t.cancel(c.q);
    leftovers := t.bg_leftovers();
    RETURN NEXT;
  END LOOP;
  PERFORM t.mock('reset');
END $$;
ALTER SERVER mp_bh OPTIONS (SET connect_timeout_ms '20000');
SELECT * FROM t.cancel_round();
SELECT t.fds(:bg_pid) AS fds_after_one_round \gset
SELECT count(*) FILTER (WHERE outcome LIKE '57014:%ended within 1 s'
                        AND leftovers = 'live requests 0, contexts 0') AS clean_cancels_again
  FROM t.cancel_round();
-- a cancelled request's socket or resolver thread may close a moment after
-- the cancel returns: wait for the count to come back (a leak never does)
SELECT t.wait_until(format('t.fds(%s) <= %s', :bg_pid, :fds_after_one_round),
                    'the file descriptors of the second round to close', 30) AS no_fd_growth;

-- statement_timeout in every wait state: the query in the dblink session
-- ends at the timeout, within a second, and leaves nothing behind (the
-- download stalls after the report's first poll: a 2.5 s timeout there).
-- A rate-limit reset beyond the timeout is not waited for: 53400 at once
CREATE FUNCTION t.timeout_round() RETURNS TABLE (wait_state text, outcome text, leftovers text)
LANGUAGE plpgsql AS $$
DECLARE c record; t0 timestamptz;
BEGIN
  FOR c IN SELECT * FROM t.wait_states ORDER BY n LOOP
    PERFORM dblink_exec('bg', format('SET statement_timeout = %L', c.timeout));
    PERFORM t.mock('reset');
    IF c.fault IS NOT NULL THEN PERFORM t.mock('faults', c.fault::jsonb); END IF;
    wait_state := c.state;
    t0 := clock_timestamp();
    BEGIN
      PERFORM * FROM dblink('bg', c.q) AS r(v text);
      outcome := 'not canceled';
    EXCEPTION WHEN OTHERS OR query_canceled THEN
      outcome := SQLSTATE || ': ' || CASE
        WHEN clock_timestamp() - t0 < c.timeout::interval THEN 'ended before the timeout'
        WHEN clock_timestamp() - t0 < c.timeout::interval + interval '1 s' THEN 'ended within 1 s of the timeout'
        ELSE 'ended after ' || (clock_timestamp() - t0) END;
    END;
    leftovers := t.bg_leftovers();
    RETURN NEXT;
  END LOOP;
  PERFORM dblink_exec('bg', 'RESET statement_timeout');
  PERFORM t.mock('reset');
END $$;
SELECT * FROM t.timeout_round();

-- afterwards: the backend answers
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT n = (SELECT count(*) FROM t.truth('disputes')) AS healthy
  FROM dblink('bg', $$SELECT count(*) FROM mangopay.disputes$$) AS r(n bigint);
SELECT t.bg_leftovers();
SELECT dblink_disconnect('bg');
DROP SERVER mp_bh CASCADE;

-- ------------------------------------------------------------------
-- security: a role without superuser uses a server granted to it, and
-- cannot point a server anywhere nor read another role's credentials
-- ------------------------------------------------------------------
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE FUNCTION t.explain_lines(q text) RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (ANALYZE, VERBOSE) ' || q LOOP RETURN NEXT l; END LOOP;
END $$;
CREATE ROLE mp_reader;
GRANT USAGE ON FOREIGN DATA WRAPPER mangopay_fdw TO mp_reader;
GRANT USAGE ON FOREIGN SERVER mangopay TO mp_reader;
CREATE USER MAPPING FOR mp_reader SERVER mangopay OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE SCHEMA reader AUTHORIZATION mp_reader;
GRANT USAGE ON SCHEMA t TO mp_reader;
SET ROLE mp_reader;
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes) FROM SERVER mangopay INTO reader;
SELECT count(*) > 3000 AS reads_through_granted_server FROM reader.disputes;
-- not the superuser's server, not a server of its own with a URL of its choice
SELECT t.err($$ALTER SERVER mangopay OPTIONS (SET api_url 'http://127.0.0.1:18090')$$);
SELECT t.err($$CREATE SERVER mine FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://127.0.0.1:18090')$$);
SELECT t.err($$CREATE SERVER mine FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (ca_file '/etc/shadow')$$);
-- a column's field and a table's options are names, never URLs
SELECT t.err($$CREATE FOREIGN TABLE reader.x (id text) SERVER mangopay OPTIONS (resource 'disputes', api_url 'http://127.0.0.1:1')$$);
-- the superuser's mapping: options hidden (a role sees only its own)
SELECT usename, umoptions FROM pg_user_mappings WHERE srvname = 'mangopay' AND usename <> 'mp_reader';
-- EXPLAIN and errors carry no credential
SELECT count(*) AS explain_lines_with_secret FROM t.explain_lines('SELECT * FROM reader.disputes WHERE id = ''x''') l
 WHERE l ~ 'sk-test|Bearer|api_key';
RESET ROLE;
DROP SCHEMA reader CASCADE;
DROP USER MAPPING FOR mp_reader SERVER mangopay;
REVOKE USAGE ON SCHEMA t FROM mp_reader;
REVOKE USAGE ON FOREIGN SERVER mangopay FROM mp_reader;
REVOKE USAGE ON FOREIGN DATA WRAPPER mangopay_fdw FROM mp_reader;
DROP ROLE mp_reader;
