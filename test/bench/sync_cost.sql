-- The API calls of a nightly mangopay_fdw_sync and a weekly
-- mangopay_fdw_verify against the mock (doc/operations.md's table):
--   bash test/isolate.sh bash -c '. test/lib.sh; mp_build && mp_start_env &&
--     make -s installcheck REGRESS=setup PG_CONFIG=$(mp_pgbin)/pg_config >/dev/null;
--     $(mp_pgbin)/psql -X -q -h /tmp/mangopay_fdw_test/sock -p 54329 -d contrib_regression
--       -f test/bench/sync_cost.sql; mp_stop_env'
-- A "night" is emulated by moving the state's watermark and events_to back
-- to yesterday 00:00 UTC: the run reads the last window and one full day of
-- the mock's events (they end at today 00:00 UTC).
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
DROP SCHEMA IF EXISTS cost CASCADE;
CREATE SCHEMA cost;
CREATE TABLE cost.payouts (id text PRIMARY KEY, creation_date timestamptz NOT NULL, status text,
  result_code text, debited_funds_amount bigint);
CREATE TABLE cost.disputes (id text PRIMARY KEY, creation_date timestamptz NOT NULL, status text,
  disputed_funds_amount bigint);
CREATE TABLE cost.figures (what text, tbl text, changed int, rows_read bigint, re_read bigint, calls bigint,
  ord serial);
CREATE FUNCTION cost.calls() RETURNS bigint LANGUAGE sql AS
  $$ SELECT value FROM mangopay_fdw_stats() WHERE counter = 'requests' $$;
CREATE FUNCTION cost.yesterday() RETURNS timestamptz LANGUAGE sql AS
  $$ SELECT (date_trunc('day', now() AT TIME ZONE 'UTC') - interval '1 day') AT TIME ZONE 'UTC' $$;
CREATE PROCEDURE cost.night(tbl text, k int) LANGUAGE plpgsql AS $$
DECLARE ids text[];
BEGIN
  UPDATE mangopay_fdw_sync_state SET watermark = cost.yesterday(), events_to = cost.yesterday()
   WHERE target = 'cost.' || tbl;
  IF tbl = 'payouts' THEN
    SELECT array_agg(j->>'Id') INTO ids FROM (SELECT j FROM t.truth(format('payouts?AfterDate=%s&BeforeDate=%s',
        extract(epoch FROM now() - interval '34 days')::bigint, extract(epoch FROM now() - interval '5 days')::bigint)) j
       WHERE j->>'Status' = 'SUCCEEDED' ORDER BY j->>'Id' LIMIT k) x;
    PERFORM t.mock('mutate', jsonb_build_object('collection', 'transactions', 'id', i,
      'set', jsonb_build_object('Status', 'FAILED', 'ResultCode', '121001'), 'event', 'PAYOUT_NORMAL_FAILED'))
      FROM unnest(ids) i;
  ELSE
    SELECT array_agg(j->>'Id') INTO ids FROM (SELECT j FROM t.truth('disputes') j
       WHERE t.ts(j->'CreationDate') BETWEEN now() - interval '34 days' AND now() - interval '5 days'
         AND j->>'Status' <> 'CLOSED' ORDER BY j->>'Id' LIMIT k) x;
    PERFORM t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', i,
      'set', jsonb_build_object('Status', 'CLOSED'), 'event', 'DISPUTE_CLOSED')) FROM unnest(ids) i;
  END IF;
END $$;

-- the mock's density
SELECT round(count(*) / 35.0) AS payouts_per_day FROM t.truth(format('payouts?AfterDate=%s',
  extract(epoch FROM now() - interval '35 days')::bigint));
SELECT round(count(*) / 35.0) AS disputes_per_day FROM t.truth(format('disputes?AfterDate=%s',
  extract(epoch FROM now() - interval '35 days')::bigint));
SELECT count(*) AS events_yesterday FROM t.truth('events') j WHERE t.ts(j->'Date') >= cost.yesterday();

CALL mangopay_fdw_sync('mangopay.payouts', 'cost.payouts', since => now() - interval '35 days');
INSERT INTO cost.figures (what, tbl, changed, rows_read, re_read, calls)
  SELECT 'first run, 35 days', 'payouts', 0, last_rows, last_changed, last_calls FROM mangopay_fdw_sync_state WHERE target = 'cost.payouts';
CALL mangopay_fdw_sync('mangopay.disputes', 'cost.disputes', since => now() - interval '35 days');
INSERT INTO cost.figures (what, tbl, changed, rows_read, re_read, calls)
  SELECT 'first run, 35 days', 'disputes', 0, last_rows, last_changed, last_calls FROM mangopay_fdw_sync_state WHERE target = 'cost.disputes';
DO $$ DECLARE k int; tb text; BEGIN
  FOREACH tb IN ARRAY ARRAY['payouts', 'disputes'] LOOP
    FOREACH k IN ARRAY ARRAY[0, 10, 100] LOOP
      CALL cost.night(tb, k);
      EXECUTE format('CALL mangopay_fdw_sync(%L, %L)', 'mangopay.' || tb, 'cost.' || tb);
      INSERT INTO cost.figures (what, tbl, changed, rows_read, re_read, calls)
        SELECT 'nightly run', tb, k, last_rows, last_changed, last_calls FROM mangopay_fdw_sync_state WHERE target = 'cost.' || tb;
    END LOOP;
  END LOOP;
END $$;
DO $$ DECLARE c0 bigint; n bigint; tb text; BEGIN
  FOREACH tb IN ARRAY ARRAY['payouts', 'disputes'] LOOP
    c0 := cost.calls();
    EXECUTE format('SELECT count(*) FROM mangopay_fdw_verify(%L, %L, now() - interval ''35 days'', now() - interval ''10 minutes'')',
                   'mangopay.' || tb, 'cost.' || tb) INTO n;
    INSERT INTO cost.figures (what, tbl, changed, rows_read, re_read, calls)
      VALUES ('weekly verify, 35 days (' || n || ' days differ)', tb, NULL, NULL, NULL, cost.calls() - c0);
  END LOOP;
END $$;
SELECT what, tbl AS "table", changed AS "changed objects", rows_read AS "rows upserted", re_read AS "re-read by id",
       calls AS "API calls" FROM cost.figures ORDER BY ord;
