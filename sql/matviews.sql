--
-- matviews: materialized views over foreign tables, refreshed plainly and
-- CONCURRENTLY while the mock's data changes between refreshes; a refresh
-- that fails keeps the previous contents.  Uses t.truth_in and t.diff from
-- the sync suite.
--
SELECT now() - interval '45 days' AS mv_since, now() - interval '10 minutes' AS mv_until \gset
CREATE MATERIALIZED VIEW books.recent_disputes AS
  SELECT id, creation_date, status, result_code, disputed_funds_amount, disputed_funds_currency
    FROM mangopay.disputes
   WHERE creation_date >= :'mv_since' AND creation_date < :'mv_until';
CREATE UNIQUE INDEX ON books.recent_disputes (id);
SELECT count(*) > 100 AS many FROM books.recent_disputes;
SELECT * FROM t.diff('books.recent_disputes', :'mv_since', :'mv_until', 'disputes');

-- the mock changes: a status moves on, a dispute arrives, one is deleted
SELECT id AS d1 FROM books.recent_disputes WHERE status <> 'CLOSED' ORDER BY id LIMIT 1 \gset
SELECT id AS d_del FROM books.recent_disputes WHERE id <> :'d1' ORDER BY id DESC LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'d1',
  'set', jsonb_build_object('Status', 'CLOSED', 'ResultCode', '000000'))) ->> 'ok' AS closed;
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'add', jsonb_build_object(
  'Id', 'dispute_mv_new', 'CreationDate', extract(epoch FROM now() - interval '1 hour')::bigint,
  'Status', 'SUBMITTED', 'DisputeType', 'CONTESTABLE',
  'DisputedFunds', jsonb_build_object('Currency', 'EUR', 'Amount', 990)))) ->> 'ok' AS added;
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', :'d_del', 'delete', true)) ->> 'ok' AS deleted;
-- before the refresh the view still shows the old state
SELECT status <> 'CLOSED' AS stale FROM books.recent_disputes WHERE id = :'d1';
SELECT * FROM t.diff('books.recent_disputes', :'mv_since', :'mv_until', 'disputes');

REFRESH MATERIALIZED VIEW CONCURRENTLY books.recent_disputes;
SELECT status, result_code FROM books.recent_disputes WHERE id = :'d1';
SELECT status, disputed_funds_amount FROM books.recent_disputes WHERE id = 'dispute_mv_new';
SELECT count(*) AS deleted_row FROM books.recent_disputes WHERE id = :'d_del';
SELECT * FROM t.diff('books.recent_disputes', :'mv_since', :'mv_until', 'disputes');

-- a refresh that fails (the API answers 500 every time) is an ERROR and
-- leaves the view as it was, for both kinds of refresh
SELECT count(*) AS rows_before FROM books.recent_disputes \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'disputes', 'id', 'dispute_mv_new',
  'set', jsonb_build_object('Status', 'PENDING_BANK_ACTION'))) ->> 'ok' AS moved_on;
ALTER SERVER mangopay OPTIONS (ADD max_retries '1');
SELECT t.mock('faults', '{"faults":[{"path":"/disputes$","kind":"status","status":500,"times":-1}]}') ->> 'ok' AS armed;
SELECT t.err('REFRESH MATERIALIZED VIEW CONCURRENTLY books.recent_disputes');
SELECT t.err('REFRESH MATERIALIZED VIEW books.recent_disputes');
SELECT t.mock('reset') ->> 'ok' AS disarmed;
ALTER SERVER mangopay OPTIONS (DROP max_retries);
SELECT count(*) = :rows_before AS unchanged,
       (SELECT status FROM books.recent_disputes WHERE id = 'dispute_mv_new') AS status_kept
  FROM books.recent_disputes;

-- a plain refresh after the fault
REFRESH MATERIALIZED VIEW books.recent_disputes;
SELECT status FROM books.recent_disputes WHERE id = 'dispute_mv_new';
SELECT * FROM t.diff('books.recent_disputes', :'mv_since', :'mv_until', 'disputes');

-- over a report: a payout of yesterday goes CREATED -> SUCCEEDED
SELECT now() - interval '7 days' AS tx_since \gset
CREATE MATERIALIZED VIEW books.week_transactions AS
  SELECT id, creation_date, status, type, debited_funds_amount
    FROM mangopay.transactions
   WHERE creation_date >= :'tx_since' AND creation_date < :'mv_until'
  WITH NO DATA;
CREATE UNIQUE INDEX ON books.week_transactions (id);
SELECT t.err('SELECT count(*) FROM books.week_transactions');
REFRESH MATERIALIZED VIEW books.week_transactions;
SELECT * FROM t.diff('books.week_transactions', :'tx_since', :'mv_until', 'transactions');
SELECT id AS tx1 FROM books.week_transactions
 WHERE status <> 'SUCCEEDED' AND creation_date < now() - interval '2 hours' ORDER BY id LIMIT 1 \gset
SELECT t.mock('mutate', jsonb_build_object('collection', 'transactions', 'id', :'tx1',
  'set', jsonb_build_object('Status', 'SUCCEEDED', 'ResultCode', '000000'))) ->> 'ok' AS succeeded;
REFRESH MATERIALIZED VIEW CONCURRENTLY books.week_transactions;
SELECT status FROM books.week_transactions WHERE id = :'tx1';
SELECT * FROM t.diff('books.week_transactions', :'tx_since', :'mv_until', 'transactions');

DROP MATERIALIZED VIEW books.recent_disputes, books.week_transactions;
SELECT t.mock('reset', '{"data": true}') ->> 'ok' AS reseeded;
