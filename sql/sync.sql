--
-- sync: mangopay_fdw_sync() keeps local tables in step with foreign ones by
-- id, from a watermark less an overlap window; checked against the mock's
-- ground truth while the mock's data changes between runs.
--
SET client_min_messages = warning;   -- the per-window NOTICEs carry times
-- (the books schema, for the local copies: setup)
CREATE TABLE books.disputes (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, result_code text, disputed_funds_amount bigint, dispute_type text,
  synced_note text);                 -- not in the source: left alone
CREATE TABLE books.transactions (id text PRIMARY KEY, creation_date timestamptz NOT NULL,
  status text, type text, nature text, debited_funds_amount bigint, fees_amount bigint);
-- (t.truth_in and t.diff: setup; the cron suite uses them too)
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

-- ---------------------------------------------------------------- change capture
-- the event types of each table are data (the resource table)
SELECT table_name, count(*) AS event_types, bool_and(by_id) AS by_id, bool_and(by_date) AS by_date,
       max(events_days) AS days
  FROM mangopay_fdw_change_events() GROUP BY table_name ORDER BY table_name;
SELECT table_name, event_type FROM mangopay_fdw_change_events()
 WHERE table_name IN ('payouts', 'disputes') ORDER BY 1, 2;
-- a view of the state without times
CREATE VIEW t.cc_state AS
  SELECT target, runs, last_changed, last_full, events_to >= last_started - interval '1 second' AS events_read
    FROM mangopay_fdw_sync_state;
-- the API calls since the last reset, as the request log has them
CREATE VIEW t.cc_calls AS
  SELECT r->>'method' AS method, regexp_replace(r->>'path', '^/v2\.01/[^/]+', '') AS path
    FROM t.requests() r;

-- payouts (a report table, read by id through GET /payouts/bankwire/{Id}):
-- a payout 40-60 days old fails after the first sync; the nightly run
-- (default overlap) updates it with one read by id
CREATE TABLE books.payouts (id text PRIMARY KEY, creation_date timestamptz NOT NULL, status text,
  result_code text, debited_funds_amount bigint);
SELECT now() - interval '70 days' AS po_since \gset
CALL mangopay_fdw_sync('mangopay.payouts', 'books.payouts', since => :'po_since');
SELECT * FROM t.cc_state WHERE target = 'books.payouts';
SELECT j->>'Id' AS po_id FROM t.truth(format('payouts?AfterDate=%s&BeforeDate=%s',
    extract(epoch FROM now() - interval '60 days')::bigint, extract(epoch FROM now() - interval '40 days')::bigint)) j
 WHERE j->>'Status' = 'SUCCEEDED' ORDER BY j->>'Id' LIMIT 1 \gset
SELECT status AS status_before FROM books.payouts WHERE id = :'po_id';
SELECT t.mock('mutate', jsonb_build_object('collection', 'transactions', 'id', :'po_id',
  'set', jsonb_build_object('Status', 'FAILED', 'ResultCode', '121001', 'ResultMessage', 'Bank wire refused'),
  'event', 'PAYOUT_NORMAL_FAILED')) ->> 'ok' AS payout_failed;
SELECT t.mock('reset') ->> 'ok' AS log_cleared;
CALL mangopay_fdw_sync('mangopay.payouts', 'books.payouts');
SELECT * FROM t.cc_state WHERE target = 'books.payouts';
SELECT status, result_code FROM books.payouts WHERE id = :'po_id';
-- one read by id: that payout's, and the events once
SELECT path = '/payouts/bankwire/' || :'po_id' AS the_payout, count(*) FROM t.cc_calls
 WHERE path LIKE '/payouts/%' GROUP BY 1;
SELECT count(*) > 0 AS events_read FROM t.cc_calls WHERE path = '/events';
-- the calls the state counts are the calls the mock received
SELECT last_calls = (SELECT count(*) FROM t.requests()) AS calls_counted
  FROM mangopay_fdw_sync_state WHERE target = 'books.payouts';
SELECT watermark AS po_wm FROM mangopay_fdw_sync_state WHERE target = 'books.payouts' \gset
SELECT * FROM t.diff('books.payouts', :'po_since', :'po_wm', 'payouts');

-- disputes: one created 58 days ago is closed today
SELECT j->>'Id' AS dc_id FROM t.truth('disputes') j
 WHERE t.ts(j->'CreationDate') BETWEEN now() - interval '59 days' AND now() - interval '56 days'
   AND j->>'Status' <> 'CLOSED' ORDER BY j->>'Id' LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'dc_id',
  'set', jsonb_build_object('Status', 'CLOSED', 'ResultCode', 'LOST'), 'event', 'DISPUTE_CLOSED')) ->> 'ok' AS dispute_closed;
SELECT t.mock('reset') ->> 'ok' AS log_cleared;
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes');
SELECT * FROM t.cc_state WHERE target = 'books.disputes';
SELECT status, result_code FROM books.disputes WHERE id = :'dc_id';
SELECT path = '/disputes/' || :'dc_id' AS the_dispute, count(*) FROM t.cc_calls
 WHERE path LIKE '/disputes/%' GROUP BY 1;
SELECT watermark AS dc_wm FROM mangopay_fdw_sync_state WHERE target = 'books.disputes' \gset
SELECT * FROM t.diff('books.disputes', :'since', :'dc_wm', 'disputes');

-- refunds (read by id only: the events are all there is): a pay-in of
-- three weeks ago is refunded today
CREATE TABLE books.refunds (id text PRIMARY KEY, creation_date timestamptz NOT NULL, status text,
  initial_transaction_id text, initial_transaction_type text, debited_funds_amount bigint);
CALL mangopay_fdw_sync('mangopay.refunds', 'books.refunds', since => now() - interval '1 minute');
SELECT * FROM t.cc_state WHERE target = 'books.refunds';
SELECT j->>'Id' AS rf_payin, j->>'AuthorId' AS rf_author, j->>'CreditedWalletId' AS rf_wallet
  FROM t.truth(format('payins?AfterDate=%s&BeforeDate=%s',
    extract(epoch FROM now() - interval '22 days')::bigint, extract(epoch FROM now() - interval '20 days')::bigint)) j
 WHERE j->>'Status' = 'SUCCEEDED' AND j #>> '{DebitedFunds,Currency}' = 'EUR' ORDER BY j->>'Id' LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'transactions', 'add', jsonb_build_object(
  'Id', 'refund_sync_3w', 'CreationDate', extract(epoch FROM now() - interval '5 minutes')::bigint,
  'Status', 'SUCCEEDED', 'ResultCode', '000000', 'Type', 'PAYOUT', 'Nature', 'REFUND',
  'AuthorId', :'rf_author', 'DebitedWalletId', :'rf_wallet',
  'InitialTransactionId', :'rf_payin', 'InitialTransactionType', 'PAYIN', 'InitialTransactionNature', 'REGULAR',
  'DebitedFundsAmount', 500, 'DebitedFundsCurrency', 'EUR', 'CreditedFundsAmount', 500, 'CreditedFundsCurrency', 'EUR',
  'FeesAmount', 0, 'FeesCurrency', 'EUR'), 'event', 'PAYIN_REFUND_SUCCEEDED')) ->> 'ok' AS refunded;
SELECT t.mock('reset') ->> 'ok' AS log_cleared;
CALL mangopay_fdw_sync('mangopay.refunds', 'books.refunds');
SELECT * FROM t.cc_state WHERE target = 'books.refunds';
SELECT id, status, initial_transaction_id = :'rf_payin' AS of_the_payin, initial_transaction_type, debited_funds_amount
  FROM books.refunds;
SELECT path, count(*) FROM t.cc_calls WHERE path LIKE '/refunds/%' GROUP BY 1;

-- a sync skipped for 50 days: the events of the gap are gone; the run says
-- so and reads everything since the first run's start again
UPDATE mangopay_fdw_sync_state SET events_to = events_to - interval '50 days',
  watermark = watermark - interval '50 days', last_started = last_started - interval '50 days'
 WHERE target IN ('books.disputes', 'books.refunds');
SELECT j->>'Id' AS gap_id FROM t.truth('disputes') j
 WHERE t.ts(j->'CreationDate') BETWEEN now() - interval '59 days' AND now() - interval '56 days'
   AND j->>'Status' <> 'CLOSED' ORDER BY j->>'Id' LIMIT 1 \gset
-- (changed without an event: the gap lost it)
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'gap_id',
  'set', jsonb_build_object('Status', 'CLOSED', 'ResultCode', 'WON'))) ->> 'ok' AS changed_in_the_gap;
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes');
SELECT *, (SELECT last_from = since FROM mangopay_fdw_sync_state WHERE target = 'books.disputes') AS from_since
  FROM t.cc_state WHERE target = 'books.disputes';
SELECT status FROM books.disputes WHERE id = :'gap_id';
SELECT watermark AS gap_wm FROM mangopay_fdw_sync_state WHERE target = 'books.disputes' \gset
SELECT * FROM t.diff('books.disputes', :'since', :'gap_wm', 'disputes');
-- a table read by id only: every object it holds is read again
SET client_min_messages = notice;
\set VERBOSITY terse
CALL mangopay_fdw_sync('mangopay.refunds', 'books.refunds');
\set VERBOSITY default
SET client_min_messages = warning;
SELECT * FROM t.cc_state WHERE target = 'books.refunds';

-- the backend of a run killed in the middle (SIGTERM: a SIGKILL would
-- make the postmaster restart every session, this one too): the next run
-- completes, nothing lost or doubled
SELECT j->>'Id' AS kill_id FROM t.truth('disputes') j
 WHERE t.ts(j->'CreationDate') BETWEEN now() - interval '50 days' AND now() - interval '45 days'
   AND j->>'Status' <> 'CLOSED' ORDER BY j->>'Id' LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'kill_id',
  'set', jsonb_build_object('Status', 'CLOSED', 'ResultCode', 'VOID'), 'event', 'DISPUTE_CLOSED')) ->> 'ok' AS closed;
SELECT runs AS runs_before FROM mangopay_fdw_sync_state WHERE target = 'books.disputes' \gset
SELECT dblink_connect('sync_kill', format('host=%s port=%s dbname=%s user=%s',
  current_setting('unix_socket_directories'), current_setting('port'), current_database(), current_user)) AS bg;
SELECT pid AS kill_pid FROM dblink('sync_kill', 'SELECT pg_backend_pid()') AS r(pid int) \gset
SELECT set_config('t.kill_pid', :'kill_pid', false) IS NOT NULL AS noted;
-- the second window's page answers after 60 s: the run holds its first
-- chunk committed and waits
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","method":"GET","kind":"latency","ms":60000,"skip":1}]}') ->> 'ok' AS armed;
SELECT dblink_send_query('sync_kill', $$CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes', chunk => '1 day')$$) AS sent;
DO $$ BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = current_setting('t.kill_pid')::int
                        AND wait_event = t.wait_event())
          AND (SELECT count(*) FROM t.requests() r WHERE r->>'path' LIKE '%/disputes') >= 1;
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT pg_terminate_backend(:kill_pid) AS terminated;
DO $$ BEGIN
  FOR i IN 1..600 LOOP
    EXIT WHEN NOT EXISTS (SELECT 1 FROM pg_stat_activity WHERE pid = current_setting('t.kill_pid')::int);
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;
SELECT count(*) AS backend_gone FROM pg_stat_activity WHERE pid = :kill_pid;
SELECT dblink_disconnect('sync_kill');
SELECT t.mock('reset') ->> 'ok' AS disarmed;
-- (the killed run counts once if its first chunk was committed)
SELECT runs - :runs_before AS runs_killed FROM mangopay_fdw_sync_state WHERE target = 'books.disputes' \gset
SELECT :runs_killed <= 1 AS at_most_one_chunk_kept;
CALL mangopay_fdw_sync('mangopay.disputes', 'books.disputes');
SELECT runs - :runs_before - :runs_killed AS runs_added, last_changed >= 1 AS changed_read
  FROM mangopay_fdw_sync_state WHERE target = 'books.disputes';
SELECT status, result_code FROM books.disputes WHERE id = :'kill_id';
SELECT watermark AS kill_wm FROM mangopay_fdw_sync_state WHERE target = 'books.disputes' \gset
SELECT * FROM t.diff('books.disputes', :'since', :'kill_wm', 'disputes');

-- the same with SIGKILL (kill -9), on a second cluster (test/sync_kill9.sh):
-- the postmaster ends every session and restarts; the first chunk the run
-- committed stays, the next run completes, nothing lost or doubled
SELECT setting AS bindir FROM pg_config WHERE name = 'BINDIR' \gset
\setenv MP_BINDIR :bindir
\! bash test/sync_kill9.sh start
SELECT current_setting('port')::int + 12 AS k9_port \gset
SELECT format('host=/tmp/mp_kill9 port=%s dbname=postgres user=postgres', :k9_port) AS k9 \gset
SELECT dblink_connect('k9', :'k9') AS k9_connected;
SELECT dblink_exec('k9', $$
  CREATE EXTENSION mangopay_fdw;
  CREATE SERVER mp FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://127.0.0.1:18089');
  CREATE USER MAPPING FOR CURRENT_USER SERVER mp
    OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
  CREATE SCHEMA mangopay;
  IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes, events) FROM SERVER mp INTO mangopay;
  CREATE TABLE books (id text PRIMARY KEY, creation_date timestamptz NOT NULL, status text);
  CREATE TABLE k9_pid (pid int)$$) AS k9_ready;
SELECT now() - interval '12 days' AS k9_since \gset
SELECT t.mock('reset') ->> 'ok' AS reset;
-- the second chunk's page answers after 60 s: the run holds its first
-- chunk committed and waits; its backend is killed there
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","method":"GET","kind":"latency","ms":60000,"skip":1}]}') ->> 'ok' AS armed;
SELECT dblink_connect('k9run', :'k9') AS k9run_connected;
SELECT dblink_exec('k9', format('INSERT INTO k9_pid SELECT %s', pid)) AS noted
  FROM dblink('k9run', 'SELECT pg_backend_pid()') AS r(pid int);
SELECT dblink_send_query('k9run', format($$CALL mangopay_fdw_sync('mangopay.disputes', 'books', since => %L, chunk => '1 day')$$,
  :'k9_since')) AS sent;
SELECT t.wait_until(format($$EXISTS (SELECT 1 FROM dblink(%L,
  'SELECT 1 FROM pg_stat_activity a JOIN k9_pid USING (pid) WHERE a.wait_event_type = ''Extension''') AS r(x int))
  AND EXISTS (SELECT 1 FROM jsonb_array_elements((SELECT string_agg(l, E'\n')
                FROM t.run('curl -sf http://127.0.0.1:18089/__mock/faults') l)::jsonb) f
              WHERE coalesce((f->>'_applied')::int, 0) >= 1)$$, 'k9'),
  'the run on the second cluster to wait on its second chunk') AS waiting;
SELECT count(*) AS killed FROM dblink('k9', 'SELECT pid FROM k9_pid') AS r(pid int),
  LATERAL (SELECT count(*) FROM t.run('kill -9 ' || r.pid)) k;
-- the postmaster ends every session (this connection too) and restarts
SELECT dblink_disconnect('k9run');
SELECT dblink_disconnect('k9');
SELECT t.wait_until(format($$(SELECT count(*) FROM t.run(%L)) = 0$$,
  'psql -X -q -h /tmp/mp_kill9 -p ' || :k9_port || ' -U postgres -d postgres -c "SELECT 1" >/dev/null 2>&1 || echo down'),
  'the second cluster to be back after the crash', 120) AS back;
\! bash test/sync_kill9.sh log
SELECT t.mock('reset') ->> 'ok' AS disarmed;
SELECT dblink_connect('k9', :'k9') AS k9_reconnected;
SELECT n AS k9_chunks_kept FROM dblink('k9', 'SELECT count(*) FROM mangopay_fdw_sync_state') AS r(n bigint) \gset
SELECT :k9_chunks_kept <= 1 AS at_most_one_state_row;
SELECT dblink_exec('k9', $$CALL mangopay_fdw_sync('mangopay.disputes', 'books')$$) AS next_run;
SELECT wm AS k9_wm FROM dblink('k9', 'SELECT watermark FROM mangopay_fdw_sync_state') AS r(wm timestamptz) \gset
CREATE TEMP TABLE k9_books AS
  SELECT * FROM dblink('k9', 'SELECT id, creation_date, status FROM books') AS r(id text, creation_date timestamptz, status text);
SELECT count(*) = count(DISTINCT id) AS no_id_twice, count(*) > 0 AS rows FROM k9_books;
SELECT * FROM t.diff('k9_books', :'k9_since', :'k9_wm', 'disputes');
SELECT dblink_disconnect('k9');
\! bash test/sync_kill9.sh stop

-- no events table on the source's server (or changes => false): no
-- change capture, the state says so by events_to staying NULL
CREATE SERVER mangopay_c FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (environment 'sandbox', api_url 'http://127.0.0.1:18089');
CREATE USER MAPPING FOR CURRENT_USER SERVER mangopay_c
  OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE SCHEMA tenant_c;
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes) FROM SERVER mangopay_c INTO tenant_c;
CREATE TABLE books.no_events (id text PRIMARY KEY, creation_date timestamptz NOT NULL, status text);
CREATE TABLE books.no_changes (id text PRIMARY KEY, creation_date timestamptz NOT NULL, status text);
CALL mangopay_fdw_sync('tenant_c.disputes', 'books.no_events', since => now() - interval '3 days');
CALL mangopay_fdw_sync('tenant_c.disputes', 'books.no_events');
CALL mangopay_fdw_sync('mangopay.disputes', 'books.no_changes', since => now() - interval '3 days', changes => false);
CALL mangopay_fdw_sync('mangopay.disputes', 'books.no_changes', changes => false);
SELECT target, runs, events_to IS NULL AS no_events_read, last_changed FROM mangopay_fdw_sync_state
 WHERE target IN ('books.no_events', 'books.no_changes') ORDER BY target;
SELECT t.err($$CALL mangopay_fdw_sync('mangopay.disputes', 'books.no_changes', changes => NULL)$$);

-- ---------------------------------------------------------------- verification
-- the target equals the mock (above); a row of 20 days ago is deleted from
-- it and the amount of one of 10 days ago changed: exactly those two days
-- differ, with those ids, from one paged read of the range
SELECT id AS v_deleted, creation_date::date AS v_day1, disputed_funds_amount AS v_amount FROM books.disputes
 WHERE creation_date BETWEEN now() - interval '21 days' AND now() - interval '19 days'
   AND disputed_funds_amount IS NOT NULL ORDER BY id LIMIT 1 \gset
SELECT id AS v_changed, creation_date::date AS v_day2 FROM books.disputes
 WHERE creation_date BETWEEN now() - interval '11 days' AND now() - interval '9 days'
   AND disputed_funds_amount IS NOT NULL ORDER BY id LIMIT 1 \gset
DELETE FROM books.disputes WHERE id = :'v_deleted';
UPDATE books.disputes SET disputed_funds_amount = disputed_funds_amount + 1 WHERE id = :'v_changed';
SELECT t.mock('reset') ->> 'ok' AS log_cleared;
SELECT day = :'v_day1'::date AS day1, day = :'v_day2'::date AS day2, source_rows - target_rows AS rows_missing,
       (source_sums->>'disputed_funds_amount')::bigint - (target_sums->>'disputed_funds_amount')::bigint
         IN (:v_amount, -1) AS amount_diff_as_made,
       missing = ARRAY[:'v_deleted'] AS missing_named, extra, differ = ARRAY[:'v_changed'] AS differ_named, repaired
  FROM mangopay_fdw_verify('mangopay.disputes', 'books.disputes', :'since', :'kill_wm') ORDER BY day;
-- one read: the list of the range, page by page, nothing by id
SELECT path, count(*) = max((query->>'page')::int) AS each_page_once FROM t.api_calls GROUP BY path;
SELECT t.mock('reset') ->> 'ok' AS log_cleared;
SELECT count(*) AS days_repaired FROM mangopay_fdw_verify('mangopay.disputes', 'books.disputes', :'since', :'kill_wm',
                                                          repair => true) WHERE repaired;
SELECT path, count(*) = max((query->>'page')::int) AS each_page_once FROM t.api_calls GROUP BY path;
SELECT * FROM t.diff('books.disputes', :'since', :'kill_wm', 'disputes');
SELECT d.disputed_funds_amount = (j #>> '{DisputedFunds,Amount}')::bigint AS amount_as_the_mock
  FROM books.disputes d JOIN t.truth('disputes') j ON j->>'Id' = d.id WHERE d.id IN (:'v_changed', :'v_deleted');
SELECT count(*) AS days_differing FROM mangopay_fdw_verify('mangopay.disputes', 'books.disputes', :'since', :'kill_wm');
-- with constants: one client's rows of a shared target
DELETE FROM books.mt_disputes WHERE client = 'beta'
   AND id = (SELECT min(id) FROM books.mt_beta WHERE creation_date < now() - interval '5 days');
SELECT source_rows - target_rows AS beta_missing, pg_catalog.cardinality(missing) AS named
  FROM mangopay_fdw_verify('tenant_b.disputes', 'books.mt_disputes', :'mt_since', :'mt_wm',
                           key_columns => '{client,id}', constants => '{"client": "beta"}');
SELECT count(*) AS acme_days_differing
  FROM mangopay_fdw_verify('mangopay.disputes', 'books.mt_disputes', :'mt_since', :'mt_wm',
                           key_columns => '{client,id}', constants => '{"client": "acme"}');
SELECT t.err($$SELECT * FROM mangopay_fdw_verify('mangopay.disputes', 'books.disputes', now(), now() - interval '1 day')$$);
SELECT t.err($$SELECT * FROM mangopay_fdw_verify('mangopay.disputes', 'books.mt_disputes', now() - interval '1 day')$$);

-- ---------------------------------------------------------------- provenance
-- IMPORT ... OPTIONS (provenance 'true'): _read_at (the statement's start)
-- and _source (the report id, or the request: endpoint and page)
CREATE SCHEMA prov;
SELECT t.err($$IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes) FROM SERVER mangopay INTO prov OPTIONS (provenanz 'true')$$);
SELECT t.err($$IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes) FROM SERVER mangopay INTO prov OPTIONS (provenance 'maybe')$$);
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes, payouts) FROM SERVER mangopay INTO prov OPTIONS (provenance 'true');
SELECT attrelid::regclass, attname, format_type(atttypid, atttypmod) FROM pg_attribute
 WHERE attrelid IN ('prov.disputes'::regclass, 'prov.payouts'::regclass) AND attname LIKE '\_%' ORDER BY 1, attnum;
-- a report table: the id of the report the rows came from, which exists
SELECT min(_source) AS p_source, count(DISTINCT _source) AS p_sources,
       bool_and(_read_at = statement_timestamp()) AS p_in_statement, count(*) > 0 AS p_rows
  FROM prov.payouts WHERE creation_date >= now() - interval '10 days' \gset
SELECT :p_sources AS sources, :'p_in_statement' AS read_in_the_statement, :'p_rows' AS some_rows,
       (SELECT count(*) FROM t.truth('reports') j WHERE 'report ' || (j->>'Id') = :'p_source') AS report_exists;
-- a list: the endpoint and page; by id: the object's endpoint
SELECT _source, count(*) > 0 AS some_rows, bool_and(_read_at = statement_timestamp()) AS read_in_the_statement
  FROM prov.disputes WHERE creation_date >= now() - interval '5 days' GROUP BY 1;
SELECT _source, _read_at = statement_timestamp() AS read_in_the_statement FROM prov.disputes WHERE id = '9000000002';
-- a hand-defined table may declare them
CREATE FOREIGN TABLE prov.my_disputes (id text, status text, _source text, _read_at timestamptz)
  SERVER mangopay OPTIONS (resource 'disputes');
SELECT _source, status FROM prov.my_disputes WHERE id = '9000000002';
-- mangopay_fdw_sync carries them into a target that has them; a later
-- run's new provenance alone is no change
CREATE TABLE books.prov_disputes (id text PRIMARY KEY, creation_date timestamptz NOT NULL, status text,
  _read_at timestamptz, _source text);
CALL mangopay_fdw_sync('prov.disputes', 'books.prov_disputes', since => now() - interval '5 days');
SELECT count(*) = count(_read_at) AS all_read_at, bool_and(_source LIKE 'GET /disputes?page=%') AS all_sourced
  FROM books.prov_disputes;
CALL mangopay_fdw_sync('prov.disputes', 'books.prov_disputes');
SELECT last_rows > 0 AS rows_read, last_inserted, last_updated FROM mangopay_fdw_sync_state
 WHERE target = 'books.prov_disputes';

-- the state table is dumped with the extension (its watermarks survive a restore)
SELECT extcondition IS NOT NULL AND 'mangopay_fdw_sync_state'::regclass = ANY (extconfig) AS dumped
  FROM pg_extension WHERE extname = 'mangopay_fdw';
RESET client_min_messages;
-- the suites after this one see the mock's data unchanged
SELECT t.mock('reset', '{"data": true}') ->> 'ok' AS reseeded;
