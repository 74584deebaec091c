--
-- cron: pg_cron (preloaded by test/lib.sh, its metadata in the postgres
-- database) runs two jobs in this database on its every-minute schedule:
-- an import of the last day's transactions and disputes into local tables,
-- and mangopay_fdw_sync() of disputes (in 10-day chunks: it COMMITs inside
-- pg_cron's session).  The suite waits for the runs,
-- checks cron.job_run_details and the rows against the mock's ground truth,
-- changes the mock's data between two runs and checks the second sync run
-- picked the changes up without duplicating rows, while the second import
-- run, whose reports the API refuses, failed as a whole.  Takes one to two minutes.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('cron', format('host=%s port=%s dbname=postgres user=%s',
  current_setting('unix_socket_directories'), current_setting('port'), current_user)) AS cron_db;
-- run a query in the postgres database (pg_cron's home), return one value
CREATE FUNCTION t.cron(q text) RETURNS text LANGUAGE sql AS $$
  SELECT v FROM dblink('cron', q) AS r(v text) $$;
-- wait until each job has at least n finished runs (at most timeout_s);
-- returns the jobs' finished-run counts
CREATE FUNCTION t.cron_wait(jobs text[], n int, timeout_s int DEFAULT 150) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE deadline timestamptz := clock_timestamp() + make_interval(secs => timeout_s); got text; done boolean;
BEGIN
  LOOP
    SELECT string_agg(format('%s: %s', jobname, runs), ', ' ORDER BY jobname), bool_and(runs >= n)
      INTO got, done
      FROM dblink('cron', format(
        'SELECT j.jobname, count(d.runid) FILTER (WHERE d.status IN (''succeeded'', ''failed''))
           FROM cron.job j LEFT JOIN cron.job_run_details d USING (jobid)
          WHERE j.jobname = ANY (%L::text[]) GROUP BY j.jobname', jobs)) AS r(jobname text, runs bigint);
    IF done OR clock_timestamp() > deadline THEN
      RETURN got;
    END IF;
    PERFORM pg_sleep(0.5);
  END LOOP;
END $$;
-- the runs of a job: status, message, start time
CREATE FUNCTION t.cron_runs(job text) RETURNS TABLE (run int, status text, return_message text,
  start_time timestamptz, end_time timestamptz) LANGUAGE sql AS $$
  SELECT row_number() OVER (ORDER BY start_time)::int, * FROM dblink('cron', format(
    'SELECT d.status, d.return_message, d.start_time, d.end_time FROM cron.job j JOIN cron.job_run_details d USING (jobid)
      WHERE j.jobname = %L AND d.status IN (''succeeded'', ''failed'') ORDER BY d.start_time', job))
    AS r(status text, return_message text, start_time timestamptz, end_time timestamptz) $$;

-- leftovers of an interrupted run
SELECT count(*) >= 0 AS cleaned FROM dblink('cron',
  $$SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE 'mangopay_fdw_test_%'$$) AS r(ok boolean);

CREATE TABLE books.imported_transactions (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, type text, debited_funds_amount bigint, debited_funds_currency text,
  imported_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE books.imported_disputes (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, disputed_funds_amount bigint, imported_at timestamptz NOT NULL DEFAULT now());
CREATE TABLE books.synced_disputes (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, result_code text, disputed_funds_amount bigint);

-- the mock's seeded data end at its midnight (T0), more than a day ago when
-- the run crosses midnight: a transaction of an hour ago is always in the
-- import job's day
SELECT t.mock('mutate', jsonb_build_object('collection', 'transactions', 'add', jsonb_build_object(
  'Id', 'tx_cron_recent', 'CreationDate', extract(epoch FROM now() - interval '1 hour')::bigint,
  'Status', 'SUCCEEDED', 'Type', 'TRANSFER', 'Nature', 'REGULAR',
  'DebitedFundsAmount', 990, 'DebitedFundsCurrency', 'EUR', 'FeesAmount', 0, 'FeesCurrency', 'EUR'))) ->> 'ok' AS added;

-- the jobs, as doc/operations.md's recipe writes them
SELECT t.cron(format($$SELECT cron.schedule_in_database('mangopay_fdw_test_import', '* * * * *', %L, %L)$$,
  $job$
  INSERT INTO books.imported_transactions (id, creation_date, status, type, debited_funds_amount, debited_funds_currency)
    SELECT id, creation_date, status, type, debited_funds_amount, debited_funds_currency
      FROM mangopay.transactions WHERE creation_date >= now() - interval '1 day'
    ON CONFLICT (id) DO NOTHING;
  INSERT INTO books.imported_disputes (id, creation_date, status, disputed_funds_amount)
    SELECT id, creation_date, status, disputed_funds_amount
      FROM mangopay.disputes WHERE creation_date >= now() - interval '1 day'
    ON CONFLICT (id) DO NOTHING
  $job$, current_database())) IS NOT NULL AS import_scheduled;
SELECT t.cron(format($$SELECT cron.schedule_in_database('mangopay_fdw_test_sync', '* * * * *', %L, %L)$$,
  $job$CALL mangopay_fdw_sync('mangopay.disputes', 'books.synced_disputes', since => now() - interval '20 days',
                            chunk => '10 days')$job$,
  current_database())) IS NOT NULL AS sync_scheduled;

-- the first runs (at the start of the next minute)
SELECT t.cron_wait('{mangopay_fdw_test_import,mangopay_fdw_test_sync}', 1) AS finished_runs;
SELECT run, status, return_message ~ '^INSERT 0 \d+$' AS inserted FROM t.cron_runs('mangopay_fdw_test_import');
SELECT run, status, return_message FROM t.cron_runs('mangopay_fdw_test_sync');
SELECT start_time AS import1 FROM t.cron_runs('mangopay_fdw_test_import') WHERE run = 1 \gset
-- imported: every row of the truth well inside the job's day (the job's
-- now() is a moment after start_time; the report holds no row of its last
-- 5 minutes), nothing outside it, statuses as in the mock
SELECT count(*) > 0 AS some_transactions,
       count(*) FILTER (WHERE creation_date < :'import1'::timestamptz - interval '1 day' - interval '5 seconds'
                           OR creation_date > :'import1'::timestamptz) AS outside_the_day
  FROM books.imported_transactions;
SELECT * FROM t.diff('books.imported_transactions', (:'import1'::timestamptz - interval '1 day' + interval '5 seconds')::text,
                     (:'import1'::timestamptz - interval '6 minutes')::text, 'transactions');
SELECT count(*) FILTER (WHERE creation_date < :'import1'::timestamptz - interval '1 day' - interval '5 seconds') AS outside_the_day
  FROM books.imported_disputes;
SELECT * FROM t.diff('books.imported_disputes', (:'import1'::timestamptz - interval '1 day' + interval '5 seconds')::text,
                     :'import1', 'disputes');
-- synced: 20 days of disputes up to the watermark
SELECT runs, last_inserted > 0 AS inserted, last_inserted = last_rows AS all_new
  FROM mangopay_fdw_sync_state WHERE target = 'books.synced_disputes';
SELECT watermark AS wm1 FROM mangopay_fdw_sync_state WHERE target = 'books.synced_disputes' \gset
SELECT last_from AS since1 FROM mangopay_fdw_sync_state WHERE target = 'books.synced_disputes' \gset
SELECT * FROM t.diff('books.synced_disputes', :'since1', :'wm1', 'disputes');

-- between the runs: a dispute of yesterday is closed, a new one arrives
SELECT id AS moved FROM books.synced_disputes
 WHERE creation_date BETWEEN now() - interval '2 days' AND now() - interval '2 hours' AND status <> 'CLOSED'
 ORDER BY id LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'moved',
  'set', jsonb_build_object('Status', 'CLOSED', 'ResultCode', '000000'))) ->> 'ok' AS closed;
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'add', jsonb_build_object(
  'Id', 'dispute_cron_new', 'CreationDate', extract(epoch FROM now() - interval '1 hour')::bigint,
  'Status', 'SUBMITTED', 'DisputeType', 'CONTESTABLE',
  'DisputedFunds', jsonb_build_object('Currency', 'EUR', 'Amount', 7700)))) ->> 'ok' AS added;
SELECT count(*) AS imported_before FROM books.imported_disputes \gset
-- and the API refuses every TRANSACTIONS report: the import job's second
-- run fails as a whole (its disputes are not kept either), the sync job's
-- does not need a report
SELECT t.mock('faults', '{"faults":[{"path":"/reports/transactions$","method":"POST","kind":"status","status":400,"times":-1}]}') ->> 'ok' AS armed;

-- the second runs
SELECT t.cron_wait('{mangopay_fdw_test_import,mangopay_fdw_test_sync}', 2) AS finished_runs;
SELECT run, status, return_message FROM t.cron_runs('mangopay_fdw_test_sync');
SELECT runs, last_inserted, last_updated FROM mangopay_fdw_sync_state WHERE target = 'books.synced_disputes';
SELECT status, result_code FROM books.synced_disputes WHERE id = :'moved';
SELECT status, disputed_funds_amount FROM books.synced_disputes WHERE id = 'dispute_cron_new';
SELECT watermark AS wm2 FROM mangopay_fdw_sync_state WHERE target = 'books.synced_disputes' \gset
SELECT * FROM t.diff('books.synced_disputes', :'since1', :'wm2', 'disputes');
-- the import job's failed run: its ERROR in job_run_details, nothing kept
SELECT run, status, CASE WHEN status = 'failed' THEN split_part(return_message, E'\n', 1) END AS error
  FROM t.cron_runs('mangopay_fdw_test_import');
SELECT count(*) - :imported_before AS imported_added,
       (SELECT count(*) FROM books.imported_disputes WHERE id = 'dispute_cron_new') AS new_one
  FROM books.imported_disputes;
SELECT t.mock('reset') ->> 'ok' AS disarmed;

SELECT count(*) AS unscheduled FROM dblink('cron',
  $$SELECT cron.unschedule(jobid) FROM cron.job WHERE jobname LIKE 'mangopay_fdw_test_%'$$) AS r(ok boolean);
SELECT dblink_disconnect('cron');
-- nothing left for the next suites: the local copies and the sync's state
DROP TABLE books.imported_transactions, books.imported_disputes, books.synced_disputes;
DELETE FROM mangopay_fdw_sync_state WHERE target = 'books.synced_disputes';
SELECT t.mock('reset', '{"data": true}') ->> 'ok' AS reseeded;
RESET client_min_messages;
