/* mangopay_fdw--0.4.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION mangopay_fdw" to load this file. \quit

CREATE FUNCTION mangopay_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION mangopay_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER mangopay_fdw
  HANDLER mangopay_fdw_handler
  VALIDATOR mangopay_fdw_validator;

CREATE FUNCTION mangopay_fdw_version()
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION mangopay_fdw_stats(
  OUT counter text,
  OUT value bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION mangopay_fdw_stats() IS
  'this backend''s mangopay_fdw counters: requests, retries, rate-limited responses, bytes, tokens, reports, last X-RateLimit-Remaining per window';

CREATE FUNCTION mangopay_fdw_columns(
  OUT table_name text,
  OUT ordinal integer,
  OUT column_name text,
  OUT column_type text,
  OUT api_field text,
  OUT pushdown text,
  OUT endpoint text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT IMMUTABLE;

COMMENT ON FUNCTION mangopay_fdw_columns() IS
  'every table and column mangopay_fdw maps, the MangoPay field it reads and what of a WHERE clause on it is sent to the API';

-- incremental sync (added in 0.2)

-- One row per (source foreign table, local target table) that
-- mangopay_fdw_sync() keeps in step: how far it got and what its last run did.
CREATE TABLE mangopay_fdw_sync_state (
  source        text NOT NULL,          -- schema-qualified name of the foreign table
  target        text NOT NULL,          -- schema-qualified name of the local table
  time_column   text NOT NULL,          -- the column the windows are cut on
  since         timestamptz NOT NULL,   -- the start of the first run: no run reads before it
  watermark     timestamptz NOT NULL,   -- upper bound of the windows synced; never moves back by itself
  runs          bigint NOT NULL DEFAULT 0,
  last_from     timestamptz,            -- the last run's range: [last_from, last_to)
  last_to       timestamptz,
  last_rows     bigint,                 -- distinct ids the source returned in it
  last_inserted bigint,                 -- rows new in the target
  last_updated  bigint,                 -- rows already there that had changed
  last_started  timestamptz,
  last_finished timestamptz,
  PRIMARY KEY (source, target)
);
COMMENT ON TABLE mangopay_fdw_sync_state IS
  'mangopay_fdw_sync(): per (foreign table, local table), the watermark and what the last run did';
-- pg_dump keeps its rows (the watermarks) with the extension
SELECT pg_catalog.pg_extension_config_dump('mangopay_fdw_sync_state', '');

-- Copy new and changed rows of a foreign table into a local table, by id.
--
-- The first run reads [since, now() - settle); each later run reads
-- [greatest(watermark - overlap, since), now() - settle), so rows whose
-- status changed within the overlap window after they were created (a
-- payout CREATED -> SUCCEEDED, a dispute moving on) are read again.  Rows are
-- upserted on key_column: new ids are inserted, rows whose values differ are
-- updated, identical rows are left alone, rows without an id are skipped.
-- settle keeps the newest rows for the next run: the legacy reports
-- silently hold no row of their last 5 minutes, so a window ending at now()
-- would never see them.  The columns copied are those the two tables have in
-- common, by name; a column whose type has no = operator (json, xml) is
-- compared as text.  With chunk, the range is cut into windows of that
-- length and each is committed with its watermark as it completes (a
-- backfill that fails at month 20 keeps months 1-19); chunk needs the CALL
-- to be a command of its own, outside any transaction block.  A second call
-- for the same pair while one runs does nothing but say so
-- (transaction-scoped advisory lock).
--
-- The procedure has no SET search_path clause (a procedure that has one
-- cannot COMMIT) and does not change the caller's search_path (the target's
-- triggers run with it): every function it calls, here and in the SQL it
-- builds, is written with its schema.
CREATE PROCEDURE mangopay_fdw_sync(
  source      regclass,
  target      regclass,
  since       timestamptz DEFAULT NULL,
  overlap     interval DEFAULT '3 days',
  chunk       interval DEFAULT NULL,
  settle      interval DEFAULT '10 minutes',
  time_column name DEFAULT 'creation_date',
  key_column  name DEFAULT 'id')
LANGUAGE plpgsql
AS $proc$
DECLARE
  state   text;                 -- the state table, schema-qualified
  src     text := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source);
  tgt     text := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target);
  lockkey int := pg_catalog.hashtext(src || ' -> ' || tgt);
  key_q   text := pg_catalog.quote_ident(key_column::text);
  cols    text[];               -- the common columns, quoted
  upd     text[];               -- the common columns but the key, quoted
  as_text boolean[];            -- per upd column: its type has no = operator, compare ::text
  cmp_t   text;                 -- the upd columns as compared, of the target row
  cmp_x   text;                 -- and of the new row
  st      record;
  first_since timestamptz;
  t_start timestamptz := pg_catalog.clock_timestamp();
  t_to    timestamptz := t_start - settle;
  t_from  timestamptz;
  w_from  timestamptz;
  w_to    timestamptz;
  sql     text;
  n_rows  bigint;               -- of one window
  n_ins   bigint;
  n_upd   bigint;
  tot_rows bigint := 0;         -- of this call so far (the state's last_*)
  tot_ins bigint := 0;
  tot_upd bigint := 0;
BEGIN
  IF source IS NULL OR target IS NULL THEN
    RAISE EXCEPTION 'mangopay_fdw_sync: source and target must not be NULL'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF overlap IS NULL OR overlap < interval '0' THEN
    RAISE EXCEPTION 'mangopay_fdw_sync: overlap must be an interval >= 0'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF settle IS NULL OR settle < interval '0' THEN
    RAISE EXCEPTION 'mangopay_fdw_sync: settle must be an interval >= 0'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF chunk IS NOT NULL AND chunk <= interval '0' THEN
    RAISE EXCEPTION 'mangopay_fdw_sync: chunk must be a positive interval'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  SELECT pg_catalog.format('%I.mangopay_fdw_sync_state', n.nspname) INTO state
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'mangopay_fdw';

  -- the columns both tables have (the target's generated columns excepted);
  -- a type without its own = operator is compared as text
  SELECT pg_catalog.array_agg(pg_catalog.quote_ident(a.attname::text) ORDER BY a.attnum),
         pg_catalog.array_agg(pg_catalog.quote_ident(a.attname::text) ORDER BY a.attnum)
           FILTER (WHERE a.attname <> key_column),
         pg_catalog.array_agg(NOT EXISTS (SELECT 1 FROM pg_catalog.pg_operator o
                                           WHERE o.oprname = '=' AND o.oprleft = a.atttypid
                                             AND o.oprright = a.atttypid) ORDER BY a.attnum)
           FILTER (WHERE a.attname <> key_column)
    INTO cols, upd, as_text
    FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
     AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute b WHERE b.attrelid = source AND b.attname = a.attname
                    AND b.attnum > 0 AND NOT b.attisdropped);
  IF cols IS NULL OR NOT (key_q = ANY (cols)) THEN
    RAISE EXCEPTION 'mangopay_fdw_sync: % and % have no column "%" in common', src, tgt, key_column
      USING ERRCODE = 'undefined_column',
            HINT = 'key_column names the id column both tables have.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = source AND attname = time_column
                    AND attnum > 0 AND NOT attisdropped) THEN
    RAISE EXCEPTION 'mangopay_fdw_sync: % has no column "%"', src, time_column
      USING ERRCODE = 'undefined_column',
            HINT = 'time_column names the creation-time column the windows are cut on.';
  END IF;
  -- ON CONFLICT needs a valid, immediate unique index on the key alone
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                  WHERE i.indrelid = target AND i.indisunique AND i.indisvalid AND i.indimmediate
                    AND i.indpred IS NULL AND i.indexprs IS NULL AND i.indnkeyatts = 1
                    AND i.indkey[0] = (SELECT attnum FROM pg_catalog.pg_attribute
                                        WHERE attrelid = target AND attname = key_column)) THEN
    RAISE EXCEPTION 'mangopay_fdw_sync: % has no valid, non-deferrable unique index on "%" alone', tgt, key_column
      USING ERRCODE = 'invalid_table_definition',
            HINT = pg_catalog.format('CREATE UNIQUE INDEX ON %s (%I), or make it the primary key.', tgt, key_column);
  END IF;

  -- one sync per pair at a time; a second caller leaves at once
  IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('mangopay_fdw_sync'), lockkey) THEN
    RAISE NOTICE 'mangopay_fdw_sync: % -> % is already running in another session; nothing done', src, tgt;
    RETURN;
  END IF;

  EXECUTE pg_catalog.format('SELECT * FROM %s WHERE source = $1 AND target = $2', state)
    INTO st USING src, tgt;
  IF st IS NULL THEN
    IF since IS NULL THEN
      RAISE EXCEPTION 'mangopay_fdw_sync: no watermark yet for % -> %', src, tgt
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'The first run needs since => the start of the history to import.';
    END IF;
    first_since := since;
    t_from := since;
  ELSE
    first_since := st.since;
    t_from := GREATEST(st.watermark - overlap, st.since);
  END IF;
  IF t_from >= t_to THEN
    RAISE NOTICE 'mangopay_fdw_sync: % -> %: nothing to read before %', src, tgt, t_to;
    RETURN;
  END IF;

  -- rows of one window, the last version of each id, upserted
  SELECT pg_catalog.string_agg('t.' || upd[i] || CASE WHEN as_text[i] THEN '::text' ELSE '' END, ', ' ORDER BY i),
         pg_catalog.string_agg('EXCLUDED.' || upd[i] || CASE WHEN as_text[i] THEN '::text' ELSE '' END, ', ' ORDER BY i)
    INTO cmp_t, cmp_x
    FROM pg_catalog.generate_subscripts(upd, 1) i;
  sql := pg_catalog.format(
    'WITH src AS (SELECT DISTINCT ON (%2$s) %3$s FROM %1$s WHERE %4$I >= $1 AND %4$I < $2 AND %2$s IS NOT NULL '
    '  ORDER BY %2$s, %4$I DESC), '
    'up AS (INSERT INTO %5$s AS t (%3$s) SELECT %3$s FROM src ON CONFLICT (%2$s) %6$s RETURNING (t.xmax = 0) AS ins) '
    'SELECT (SELECT pg_catalog.count(*) FROM src), pg_catalog.count(*) FILTER (WHERE ins), '
    '  pg_catalog.count(*) FILTER (WHERE NOT ins) FROM up',
    src, key_q, pg_catalog.array_to_string(cols, ', '), time_column, tgt,
    CASE WHEN upd IS NULL THEN 'DO NOTHING'
         ELSE pg_catalog.format('DO UPDATE SET (%s) = ROW(%s) WHERE (%s) IS DISTINCT FROM (%s)',
                pg_catalog.array_to_string(upd, ', '),
                (SELECT pg_catalog.string_agg('EXCLUDED.' || upd[i], ', ' ORDER BY i)
                   FROM pg_catalog.generate_subscripts(upd, 1) i),
                cmp_t, cmp_x)
    END);

  w_from := t_from;
  LOOP
    w_to := CASE WHEN chunk IS NULL THEN t_to ELSE LEAST(w_from + chunk, t_to) END;
    IF w_to <= w_from THEN      -- '1 month -30 days' can be no step at all
      RAISE EXCEPTION 'mangopay_fdw_sync: chunk % does not advance from %', chunk, w_from
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE sql INTO n_rows, n_ins, n_upd USING w_from, w_to;
    tot_rows := tot_rows + n_rows;
    tot_ins := tot_ins + n_ins;
    tot_upd := tot_upd + n_upd;
    EXECUTE pg_catalog.format(
      'INSERT INTO %s AS s (source, target, time_column, since, watermark, runs, last_from, last_to, last_rows, '
      '  last_inserted, last_updated, last_started, last_finished) '
      'VALUES ($1, $2, $3, $10, $5, 1, $4, $5, $6, $7, $8, $9, pg_catalog.clock_timestamp()) '
      'ON CONFLICT (source, target) DO UPDATE SET time_column = EXCLUDED.time_column, '
      '  watermark = GREATEST(s.watermark, EXCLUDED.watermark), '
      '  runs = s.runs + $11, last_from = EXCLUDED.last_from, last_to = EXCLUDED.last_to, '
      '  last_rows = EXCLUDED.last_rows, last_inserted = EXCLUDED.last_inserted, '
      '  last_updated = EXCLUDED.last_updated, last_started = EXCLUDED.last_started, '
      '  last_finished = EXCLUDED.last_finished', state)
      USING src, tgt, time_column::text, t_from, w_to, tot_rows, tot_ins, tot_upd, t_start, first_since,
            CASE WHEN w_from = t_from THEN 1 ELSE 0 END;   -- a call counts one run, at its first window
    RAISE NOTICE 'mangopay_fdw_sync: % -> %: [%, %): % rows read, % inserted, % updated',
      src, tgt, w_from, w_to, n_rows, n_ins, n_upd;
    EXIT WHEN w_to >= t_to;
    w_from := w_to;
    -- a chunk: keep it, then take the lock again for the next one
    COMMIT;
    IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('mangopay_fdw_sync'), lockkey) THEN
      RAISE NOTICE 'mangopay_fdw_sync: % -> %: another session took over at %', src, tgt, w_from;
      RETURN;
    END IF;
  END LOOP;
END
$proc$;

COMMENT ON PROCEDURE mangopay_fdw_sync(regclass, regclass, timestamptz, interval, interval, interval, name, name) IS
  'upsert new and changed rows of a foreign table into a local table by id, from a watermark less an overlap window';

-- The cluster's shared MangoPay rate budget, one row per (api_url,
-- client_id) called since the server started; arrays are the API's four
-- windows: 15 min, 30 min, 1 h, 24 h.
CREATE FUNCTION mangopay_fdw_rate_limits(
  OUT api_url text,
  OUT client_id text,
  OUT call_limit bigint[],
  OUT remaining bigint[],
  OUT resets_at timestamptz[],
  OUT calls_made bigint[],
  OUT in_flight integer,
  OUT backends_waiting integer,
  OUT calls_total bigint,
  OUT waits_total bigint,
  OUT waits_refused bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION mangopay_fdw_rate_limits() IS
  'the shared MangoPay rate budget per client id: limit, known remaining calls and reset per window (15 min, 30 min, 1 h, 24 h), calls this cluster made in each window, calls in flight, backends waiting';

-- issue 24 (who may read what): mangopay_fdw_rate_limits() shows pg_monitor
-- every budget, another role only the budgets it can call through
COMMENT ON FUNCTION mangopay_fdw_rate_limits() IS
  'the shared MangoPay rate budget per client id: limit, known remaining calls and reset per window (15 min, 30 min, 1 h, 24 h), calls this cluster made in each window, calls in flight, backends waiting; members of pg_monitor see every (api_url, client_id), another role those of the user mappings it would use on the mangopay_fdw servers it has USAGE on';
