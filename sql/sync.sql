--
-- sync: mangopay_fdw_sync() keeps local tables in step with foreign ones by
-- id, from a watermark less an overlap window; checked against the mock's
-- ground truth while the mock's data changes between runs.
--
SET client_min_messages = warning;   -- the per-window NOTICEs carry times
CREATE SCHEMA books;
CREATE TABLE books.disputes (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, result_code text, disputed_funds_amount bigint, dispute_type text,
  synced_note text);                 -- not in the source: left alone
CREATE TABLE books.transactions (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, type text, nature text, debited_funds_amount bigint, fees_amount bigint);
-- the mock's disputes and ledger rows created in [lo, hi), as the local
-- tables should hold them
CREATE FUNCTION t.truth_in(coll text, lo timestamptz, hi timestamptz) RETURNS TABLE (id text, status text)
LANGUAGE sql AS $$
  SELECT j->>'Id', j->>'Status'
    FROM t.truth(format('%s?AfterDate=%s&BeforeDate=%s', coll,
                        floor(extract(epoch FROM lo))::bigint - 1, ceil(extract(epoch FROM hi))::bigint + 1)) j
   WHERE t.ts(j->'CreationDate') >= lo AND t.ts(j->'CreationDate') < hi $$;
-- rows missing from / extra in / different in a local table, against the truth
CREATE FUNCTION t.diff(local regclass, lo text, hi text, coll text)
RETURNS TABLE (missing bigint, extra bigint, changed bigint) LANGUAGE plpgsql AS $$
BEGIN
  RETURN QUERY EXECUTE format(
    'WITH x AS MATERIALIZED (SELECT * FROM t.truth_in(%2$L, %3$L::timestamptz, %4$L::timestamptz))
     SELECT (SELECT count(*) FROM x WHERE NOT EXISTS (SELECT 1 FROM %1$s l WHERE l.id = x.id)),
            (SELECT count(*) FROM %1$s l WHERE NOT EXISTS (SELECT 1 FROM x WHERE l.id = x.id)),
            (SELECT count(*) FROM %1$s l JOIN x USING (id) WHERE l.status IS DISTINCT FROM x.status)',
    local, coll, lo, hi);
END $$;
-- (the rows of a run are checked against the mock's ground truth below; how
-- many there are depends on the time of day)
CREATE VIEW t.sync_state AS
  SELECT source, target, runs, last_rows = last_inserted AS all_rows_inserted, last_updated,
         last_to = watermark AS watermark_is_last_to
    FROM mangopay_fdw_sync_state;

-- ---------------------------------------------------------------- bad calls
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes')$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'mangopay.refunds', since => now())$$);
CREATE TABLE books.no_key (id text, creation_date timestamptz, status text);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.no_key', since => now())$$);
CREATE TABLE books.no_id (dispute_id text PRIMARY KEY, status text);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.no_id', since => now())$$);
CREATE TABLE books.deferred_key (id text PRIMARY KEY DEFERRABLE, creation_date timestamptz, status text);
CREATE TABLE books.disputes_json (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, attrs json);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.deferred_key', since => now())$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes', since => now(), time_column => 'closed')$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes', since => now(), overlap => '-1 day')$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes', since => now(), chunk => '0')$$);
-- a chunk that is positive as an interval but no step at all from
-- 2025-01-30 (+ 1 month = Feb 28, - 29 days = Jan 30): an ERROR, not a loop
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes_json', since => '2025-01-30 12:00:00+00',
                                     chunk => '1 month -29 days')$$);
SELECT count(*) AS state_rows_after_bad_calls FROM mangopay_fdw_sync_state;

-- ---------------------------------------------------------------- disputes
SELECT now() - interval '60 days' AS since \gset
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes', since => :'since');
SELECT watermark AS wm1 FROM mangopay_fdw_sync_state WHERE target = 'books.disputes' \gset
-- (counts depend on the time of day: compared with the mock's, not printed)
SELECT * FROM t.sync_state;
SELECT last_inserted = (SELECT count(*) FROM t.truth_in('disputes', :'since', :'wm1')) AS all_inserted,
       last_inserted > 100 AS many FROM mangopay_fdw_sync_state;
SELECT * FROM t.diff('books.disputes', :'since', :'wm1', 'disputes');
-- a second run: the overlap window read again, nothing new or changed
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes');
SELECT runs, last_inserted, last_updated, last_from = :'wm1'::timestamptz - interval '3 days' AS from_overlap
  FROM mangopay_fdw_sync_state;
SELECT watermark AS wm2 FROM mangopay_fdw_sync_state \gset
-- the mock changes: a dispute of yesterday is closed, one of 30 days ago is
-- lost (outside the 3-day overlap: not read again), and a new one arrives
SELECT j->>'Id' AS recent_id, j->>'Status' AS recent_status FROM t.truth('disputes') j
 WHERE t.ts(j->'CreationDate') BETWEEN now() - interval '2 days' AND now() - interval '2 hours'
   AND j->>'Status' <> 'CLOSED' ORDER BY j->>'Id' LIMIT 1 \gset
SELECT j->>'Id' AS old_id FROM t.truth('disputes') j
 WHERE t.ts(j->'CreationDate') BETWEEN now() - interval '31 days' AND now() - interval '29 days'
   AND j->>'Status' <> 'CLOSED' ORDER BY j->>'Id' LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'recent_id',
  'set', jsonb_build_object('Status', 'CLOSED', 'ResultCode', '000000'))) ->> 'ok' AS closed_recent;
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'old_id',
  'set', jsonb_build_object('Status', 'CLOSED'))) ->> 'ok' AS closed_old;
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'add', jsonb_build_object(
  'Id', 'dispute_sync_new', 'CreationDate', extract(epoch FROM now() - interval '1 hour')::bigint,
  'Status', 'SUBMITTED', 'DisputeType', 'CONTESTABLE',
  'DisputedFunds', jsonb_build_object('Currency', 'EUR', 'Amount', 4200)))) ->> 'ok' AS added;
UPDATE books.disputes SET synced_note = 'checked by finance' WHERE id = :'recent_id';
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes');
SELECT runs, last_inserted, last_updated FROM mangopay_fdw_sync_state;
SELECT status, result_code, synced_note FROM books.disputes WHERE id = :'recent_id';
SELECT status, disputed_funds_amount FROM books.disputes WHERE id = 'dispute_sync_new';
SELECT status <> 'CLOSED' AS old_change_outside_overlap_not_seen FROM books.disputes WHERE id = :'old_id';
SELECT watermark AS wm3 FROM mangopay_fdw_sync_state \gset
SELECT * FROM t.diff('books.disputes', :'since', :'wm3', 'disputes');
-- a wider overlap for one run picks up the older change
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes', overlap => '45 days');
SELECT last_updated, (SELECT status FROM books.disputes WHERE id = :'old_id') FROM mangopay_fdw_sync_state;
SELECT watermark AS wm4 FROM mangopay_fdw_sync_state \gset
SELECT * FROM t.diff('books.disputes', :'since', :'wm4', 'disputes');

-- ---------------------------------------------------------------- transactions (a report)
-- a 100-day backfill in 30-day chunks, each committed with its watermark;
-- the third report creation fails: the first two chunks are kept
SELECT now() - interval '100 days' AS tsince \gset
SELECT t.mock('faults', '{"faults":[{"path":"/reports/transactions$","method":"POST","kind":"status","status":400,"skip":2}]}') ->> 'ok' AS armed;
\set VERBOSITY terse
CALL mangopay_fdw_sync('mangopay.transactions', 'books.transactions', since => :'tsince', chunk => '30 days');
\set VERBOSITY default
SELECT t.mock('reset') ->> 'ok' AS disarmed;
SELECT runs, watermark = :'tsince'::timestamptz + interval '60 days' AS two_chunks_kept,
       last_inserted = (SELECT count(*) FROM books.transactions) AS counts_add_up
  FROM mangopay_fdw_sync_state WHERE target = 'books.transactions';
SELECT * FROM t.diff('books.transactions', :'tsince', (:'tsince'::timestamptz + interval '60 days')::text, 'transactions');
-- the next run goes on from the watermark (less the overlap)
CALL mangopay_fdw_sync('mangopay.transactions', 'books.transactions', chunk => '30 days');
SELECT watermark AS twm FROM mangopay_fdw_sync_state WHERE target = 'books.transactions' \gset
SELECT runs, last_updated FROM mangopay_fdw_sync_state WHERE target = 'books.transactions';
SELECT * FROM t.diff('books.transactions', :'tsince', :'twm', 'transactions');
-- a payout of yesterday goes CREATED -> SUCCEEDED and a new transfer is made
SELECT j->>'Id' AS payout_id
  FROM t.truth('transactions?AfterDate=' || extract(epoch FROM now() - interval '3 days')::bigint) j
 WHERE t.ts(j->'CreationDate') BETWEEN now() - interval '2 days' AND now() - interval '2 hours'
   AND j->>'Status' <> 'SUCCEEDED' ORDER BY j->>'Id' LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'transactions', 'id', :'payout_id',
  'set', jsonb_build_object('Status', 'SUCCEEDED', 'ResultCode', '000000'))) ->> 'ok' AS succeeded;
SELECT t.mock('mutate', jsonb_build_object('collection', 'transactions', 'add', jsonb_build_object(
  'Id', 'tx_sync_new', 'CreationDate', extract(epoch FROM now() - interval '1 hour')::bigint,
  'Status', 'SUCCEEDED', 'Type', 'TRANSFER', 'Nature', 'REGULAR',
  'DebitedFundsAmount', 1234, 'DebitedFundsCurrency', 'EUR', 'FeesAmount', 0, 'FeesCurrency', 'EUR'))) ->> 'ok' AS added;
CALL mangopay_fdw_sync('mangopay.transactions', 'books.transactions');
SELECT runs, last_inserted, last_updated FROM mangopay_fdw_sync_state WHERE target = 'books.transactions';
SELECT status FROM books.transactions WHERE id = :'payout_id';
SELECT status, type, debited_funds_amount FROM books.transactions WHERE id = 'tx_sync_new';
SELECT watermark AS twm FROM mangopay_fdw_sync_state WHERE target = 'books.transactions' \gset
SELECT * FROM t.diff('books.transactions', :'tsince', :'twm', 'transactions');

-- ---------------------------------------------------------------- two at once
-- while one session runs a sync (the mock answers slowly), a second call for
-- the same pair does nothing and says so; the state counts one run
CREATE EXTENSION IF NOT EXISTS dblink;
SELECT dblink_connect('sync_bg', format('host=%s port=%s dbname=%s user=%s',
  current_setting('unix_socket_directories'), current_setting('port'), current_database(), current_user)) AS bg;
SELECT runs AS runs_before FROM mangopay_fdw_sync_state WHERE target = 'books.disputes' \gset
SELECT t.mock('config', '{"latency_ms": 400}') ->> 'ok' AS slow;
SELECT pid AS sync_bg_pid FROM dblink('sync_bg', 'SELECT pg_backend_pid()') AS r(pid int) \gset
SELECT set_config('t.sync_bg_pid', :'sync_bg_pid', false) IS NOT NULL AS noted;
SELECT dblink_send_query('sync_bg', $$CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes')$$) AS sent;
-- until the background call holds the pair's advisory lock (at most 30 s)
DO $$ BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted
                        AND pid = current_setting('t.sync_bg_pid')::int);
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT count(*) AS bg_holds_the_lock FROM pg_locks
 WHERE locktype = 'advisory' AND granted AND pid = :sync_bg_pid;
SET client_min_messages = notice;
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes');
SET client_min_messages = warning;
SELECT * FROM dblink_get_result('sync_bg') AS r(status text);
SELECT t.mock('config', '{"latency_ms": 0}') ->> 'ok' AS fast;
SELECT runs - :runs_before AS runs_added FROM mangopay_fdw_sync_state WHERE target = 'books.disputes';
SELECT watermark AS wm5 FROM mangopay_fdw_sync_state WHERE target = 'books.disputes' \gset
SELECT * FROM t.diff('books.disputes', :'since', :'wm5', 'disputes');
SELECT dblink_disconnect('sync_bg');

-- a json column (a type without =) is compared as text: a second run
-- updates nothing; columns only the source has are not copied
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes_json', since => now() - interval '10 days');
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes_json');
SELECT runs, last_rows > 0 AS rows_read, last_inserted, last_updated,
       (SELECT count(*) FROM books.disputes_json WHERE attrs->>'Id' = id) = (SELECT count(*) FROM books.disputes_json) AS attrs_copied
  FROM mangopay_fdw_sync_state WHERE target = 'books.disputes_json';

-- ---------------------------------------------------------------- one target, two client ids
-- a table keyed (client, id) that two servers sync into, told apart by the
-- constants (the mock has one client id: two servers on it stand for two)
CREATE SERVER mangopay_b FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (environment 'sandbox', api_url 'http://127.0.0.1:18089');
CREATE USER MAPPING FOR CURRENT_USER SERVER mangopay_b
  OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE SCHEMA tenant_b;
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes, events) FROM SERVER mangopay_b INTO tenant_b;
CREATE TABLE books.mt_disputes (client text NOT NULL, id text NOT NULL, creation_date timestamptz NOT NULL,
  status text, disputed_funds_amount bigint, PRIMARY KEY (client, id));
CREATE VIEW books.mt_acme AS SELECT * FROM books.mt_disputes WHERE client = 'acme';
CREATE VIEW books.mt_beta AS SELECT * FROM books.mt_disputes WHERE client = 'beta';
-- bad calls: each key column but the id needs a constant, a constant names
-- a column and is not null, the unique index is on exactly the key columns
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.mt_disputes', since => now())$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.mt_disputes', since => now(),
                                     key_columns => '{client,id}')$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.mt_disputes', since => now(),
                                     key_columns => '{client,id}', constants => '{"client": "acme", "tenant": 1}')$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.mt_disputes', since => now(),
                                     key_columns => '{client,id}', constants => '{"client": null}')$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.mt_disputes', since => now(),
                                     key_columns => '{client,id}', constants => '["acme"]')$$);
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes', since => now(),
                                     key_columns => '{status,id}', constants => '{"status": "x"}')$$);
SELECT count(*) AS state_rows_after_bad_calls FROM mangopay_fdw_sync_state WHERE target = 'books.mt_disputes';
SELECT now() - interval '20 days' AS mt_since \gset
CALL mangopay_fdw_sync('mangopay.disputes', 'books.mt_disputes', since => :'mt_since',
                       key_columns => '{client,id}', constants => '{"client": "acme"}');
CALL mangopay_fdw_sync('tenant_b.disputes', 'books.mt_disputes', since => :'mt_since',
                       key_columns => '{client,id}', constants => '{"client": "beta"}');
-- two state rows, one per server; each client's rows are the mock's
SELECT source, constants, runs, last_rows = last_inserted AS all_inserted, last_updated
  FROM mangopay_fdw_sync_state WHERE target = 'books.mt_disputes' ORDER BY source;
SELECT client, count(*) = (SELECT count(*) FROM t.truth_in('disputes', :'mt_since',
                             (SELECT watermark FROM mangopay_fdw_sync_state
                               WHERE target = 'books.mt_disputes' AND constants->>'client' = client))) AS as_the_mock
  FROM books.mt_disputes GROUP BY client ORDER BY client;
SELECT watermark AS mt_wm FROM mangopay_fdw_sync_state WHERE source = 'mangopay.disputes' AND target = 'books.mt_disputes' \gset
SELECT * FROM t.diff('books.mt_acme', :'mt_since', :'mt_wm', 'disputes');
-- a dispute of yesterday changes; a local edit of beta's copy of another:
-- each client's next run updates its own rows only
SELECT j->>'Id' AS mt_id FROM t.truth('disputes') j
 WHERE t.ts(j->'CreationDate') BETWEEN now() - interval '2 days' AND now() - interval '2 hours'
   AND j->>'Status' <> 'SUBMITTED' ORDER BY j->>'Id' LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'mt_id',
  'set', jsonb_build_object('Status', 'SUBMITTED'))) ->> 'ok' AS submitted;
UPDATE books.mt_disputes SET disputed_funds_amount = -1
 WHERE client = 'beta' AND id = (SELECT min(id) FROM books.mt_beta WHERE creation_date > now() - interval '2 days' AND id <> :'mt_id');
CALL mangopay_fdw_sync('mangopay.disputes', 'books.mt_disputes', key_columns => '{client,id}', constants => '{"client": "acme"}');
SELECT last_inserted, last_updated FROM mangopay_fdw_sync_state WHERE source = 'mangopay.disputes' AND target = 'books.mt_disputes';
SELECT count(*) AS beta_edit_kept FROM books.mt_beta WHERE disputed_funds_amount = -1;
CALL mangopay_fdw_sync('tenant_b.disputes', 'books.mt_disputes', key_columns => '{client,id}', constants => '{"client": "beta"}');
SELECT last_inserted, last_updated FROM mangopay_fdw_sync_state WHERE source = 'tenant_b.disputes';
SELECT client, status FROM books.mt_disputes WHERE id = :'mt_id' ORDER BY client;
SELECT watermark AS mt_wm FROM mangopay_fdw_sync_state WHERE source = 'tenant_b.disputes' \gset
SELECT * FROM t.diff('books.mt_beta', :'mt_since', :'mt_wm', 'disputes');
SELECT (SELECT count(*) FROM books.mt_acme) = (SELECT count(*) FROM books.mt_beta) AS same_rows_both_clients;

-- the state table is dumped with the extension (its watermarks survive a restore)
SELECT extcondition IS NOT NULL AND 'mangopay_fdw_sync_state'::regclass = ANY (extconfig) AS dumped
  FROM pg_extension WHERE extname = 'mangopay_fdw';
RESET client_min_messages;
-- the suites after this one see the mock's data unchanged
SELECT t.mock('reset', '{"data": true}') ->> 'ok' AS reseeded;
