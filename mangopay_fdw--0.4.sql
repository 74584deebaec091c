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

-- sync: change capture (0.4): per table, the event types that say one of its
-- objects changed, whether it reads an object by id and a range of creation
-- dates, and the days of events MangoPay keeps
CREATE FUNCTION mangopay_fdw_change_events(
  OUT table_name text,
  OUT event_type text,
  OUT by_id boolean,
  OUT by_date boolean,
  OUT events_days integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT IMMUTABLE;

COMMENT ON FUNCTION mangopay_fdw_change_events() IS
  'change capture as data: per table, the MangoPay event types that say one of its objects changed (mangopay_fdw_sync reads them)';

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
  PRIMARY KEY (source, target),
  -- added in 0.4 (sync: multi-tenant targets, change capture)
  constants     jsonb NOT NULL DEFAULT '{}',  -- the constant columns the rows are written with
  events_to     timestamptz,            -- events up to here have been read (change capture)
  last_changed  bigint,                 -- objects the last run re-read because an event said they changed
  last_calls    bigint,                 -- MangoPay API calls the last run made
  last_full     boolean                 -- the last run re-read everything since "since" (events lost)
);
COMMENT ON TABLE mangopay_fdw_sync_state IS
  'mangopay_fdw_sync(): per (foreign table, local table), the watermark and what the last run did';
-- pg_dump keeps its rows (the watermarks) with the extension
SELECT pg_catalog.pg_extension_config_dump('mangopay_fdw_sync_state', '');

-- What mangopay_fdw_sync() and mangopay_fdw_verify() write with: the key
-- (key_columns, the constants of all of them but the id), the columns the
-- source and the target have in common, checked (the constants name columns
-- and are not null, the time column exists, a unique index on exactly the key
-- columns); the upsert of the source's rows (tokens @source@ and @where@;
-- parameters $1, $2 a range of time_column, $3 the constants, $4 ids), the
-- id column, the predicate on the target's rows (t) of these constants (c =
-- jsonb_populate_record(NULL::target, constants)), the common columns and
-- the amount columns (bigint or numeric, named *_amount).
CREATE FUNCTION mangopay_fdw_sync_sql(
  source      regclass,
  target      regclass,
  time_column name,
  key_columns name[],
  constants   jsonb,
  caller      text,
  OUT upsert  text,
  OUT id_column name,
  OUT scope   text,
  OUT columns text[],
  OUT amounts text[])
LANGUAGE plpgsql
AS $fn$
DECLARE
  src     text := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source);
  tgt     text := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target);
  keys    name[] := key_columns;
  consts  jsonb := constants;
  idcol   name;                 -- the one key column not given by constants: the object's id
  key_q   text;
  keys_q  text;                 -- the key columns, quoted, for ON CONFLICT
  cols    text[];               -- the common columns, quoted
  ccols   text[];               -- the constant columns, quoted
  upd     text[];               -- the written columns but the key, quoted
  as_text boolean[];            -- per upd column: its type has no = operator, compare ::text
  cmp_t   text;                 -- the upd columns as compared, of the target row
  cmp_x   text;                 -- and of the new row
  bad     text;
BEGIN
  IF pg_catalog.jsonb_typeof(consts) <> 'object' THEN
    RAISE EXCEPTION '%: constants must be a JSON object, not %', caller, consts
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Write constants => ''{"client": "acme"}''.';
  END IF;
  SELECT pg_catalog.string_agg(pg_catalog.quote_ident(k), ', ') INTO bad
    FROM pg_catalog.jsonb_each(consts) AS j(k, v)
   WHERE v = 'null'::jsonb OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = target
                                            AND a.attname = k AND a.attnum > 0 AND NOT a.attisdropped
                                            AND a.attgenerated = '');
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION '%: constants %: not a column of % or null', caller, bad, tgt
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Each key of constants is a column of the target, with a value that is not null.';
  END IF;
  IF pg_catalog.cardinality(keys) = 0 OR
     (SELECT pg_catalog.count(*) FROM pg_catalog.unnest(keys) k WHERE NOT consts ? k) <> 1 THEN
    RAISE EXCEPTION '%: key columns % need constants for all of them but one, the id', caller, keys
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'For a target keyed (client, id): key_columns => ''{client,id}'', constants => ''{"client": "acme"}''.';
  END IF;
  idcol := (SELECT k FROM pg_catalog.unnest(keys) k WHERE NOT consts ? k);
  key_q := pg_catalog.quote_ident(idcol::text);
  keys_q := (SELECT pg_catalog.string_agg(pg_catalog.quote_ident(k::text), ', ') FROM pg_catalog.unnest(keys) k);

  -- the columns both tables have (the target's generated columns and the
  -- constants excepted); a type without its own = operator is compared as text
  SELECT pg_catalog.array_agg(pg_catalog.quote_ident(a.attname::text) ORDER BY a.attnum)
           FILTER (WHERE NOT consts ? a.attname
                     AND EXISTS (SELECT 1 FROM pg_catalog.pg_attribute b WHERE b.attrelid = source
                                    AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped)),
         pg_catalog.array_agg(pg_catalog.quote_ident(a.attname::text) ORDER BY a.attnum)
           FILTER (WHERE consts ? a.attname),
         pg_catalog.array_agg(pg_catalog.quote_ident(a.attname::text) ORDER BY a.attnum)
           FILTER (WHERE a.attname <> ALL (keys)
                     AND (consts ? a.attname
                          OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute b WHERE b.attrelid = source
                                        AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped))),
         pg_catalog.array_agg(NOT EXISTS (SELECT 1 FROM pg_catalog.pg_operator o
                                           WHERE o.oprname = '=' AND o.oprleft = a.atttypid
                                             AND o.oprright = a.atttypid) ORDER BY a.attnum)
           FILTER (WHERE a.attname <> ALL (keys)
                     AND (consts ? a.attname
                          OR EXISTS (SELECT 1 FROM pg_catalog.pg_attribute b WHERE b.attrelid = source
                                        AND b.attname = a.attname AND b.attnum > 0 AND NOT b.attisdropped)))
    INTO cols, ccols, upd, as_text
    FROM pg_catalog.pg_attribute a
   WHERE a.attrelid = target AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '';
  IF cols IS NULL OR NOT (key_q = ANY (cols)) THEN
    RAISE EXCEPTION '%: % and % have no column "%" in common', caller, src, tgt, idcol
      USING ERRCODE = 'undefined_column',
            HINT = 'key_column names the id column both tables have.';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute WHERE attrelid = source AND attname = time_column
                    AND attnum > 0 AND NOT attisdropped) THEN
    RAISE EXCEPTION '%: % has no column "%"', caller, src, time_column
      USING ERRCODE = 'undefined_column',
            HINT = 'time_column names the creation-time column the windows are cut on.';
  END IF;
  -- ON CONFLICT needs a valid, immediate unique index on exactly the key columns
  IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_index i
                  WHERE i.indrelid = target AND i.indisunique AND i.indisvalid AND i.indimmediate
                    AND i.indpred IS NULL AND i.indexprs IS NULL
                    AND i.indnkeyatts = pg_catalog.cardinality(keys)
                    AND (SELECT pg_catalog.array_agg(i.indkey[x] ORDER BY i.indkey[x])
                           FROM pg_catalog.generate_series(0, i.indnkeyatts - 1) x)
                        = (SELECT pg_catalog.array_agg(a.attnum ORDER BY a.attnum) FROM pg_catalog.pg_attribute a
                            WHERE a.attrelid = target AND a.attname = ANY (keys) AND a.attnum > 0)) THEN
    RAISE EXCEPTION '%: % has no valid, non-deferrable unique index on exactly (%)', caller, tgt, keys_q
      USING ERRCODE = 'invalid_table_definition',
            HINT = pg_catalog.format('CREATE UNIQUE INDEX ON %s (%s), or make it the primary key.', tgt, keys_q);
  END IF;

  SELECT pg_catalog.string_agg('t.' || upd[i] || CASE WHEN as_text[i] THEN '::text' ELSE '' END, ', ' ORDER BY i),
         pg_catalog.string_agg('EXCLUDED.' || upd[i] || CASE WHEN as_text[i] THEN '::text' ELSE '' END, ', ' ORDER BY i)
    INTO cmp_t, cmp_x
    FROM pg_catalog.generate_subscripts(upd, 1) i
   WHERE upd[i] NOT IN ('_read_at', '_source');    -- provenance: written with a change, not one itself
  upsert := pg_catalog.format(
    'WITH src AS (SELECT DISTINCT ON (%2$s) %3$s FROM %1$s WHERE @where@ AND %2$s IS NOT NULL '
    '  ORDER BY %2$s, %4$I DESC), '
    'up AS (INSERT INTO %5$s AS t (%7$s) SELECT %8$s FROM src, pg_catalog.jsonb_populate_record(NULL::%5$s, $3) c '
    '  ON CONFLICT (%9$s) %6$s RETURNING (t.xmax = 0) AS ins) '
    'SELECT (SELECT pg_catalog.count(*) FROM src), pg_catalog.count(*) FILTER (WHERE ins), '
    '  pg_catalog.count(*) FILTER (WHERE NOT ins) FROM up',
    '@source@', key_q, pg_catalog.array_to_string(cols, ', '), time_column, tgt,
    CASE WHEN upd IS NULL OR cmp_t IS NULL THEN 'DO NOTHING'
         ELSE pg_catalog.format('DO UPDATE SET (%s) = ROW(%s) WHERE (%s) IS DISTINCT FROM (%s)',
                pg_catalog.array_to_string(upd, ', '),
                (SELECT pg_catalog.string_agg('EXCLUDED.' || upd[i], ', ' ORDER BY i)
                   FROM pg_catalog.generate_subscripts(upd, 1) i),
                cmp_t, cmp_x)
    END,
    pg_catalog.array_to_string(cols || COALESCE(ccols, '{}'), ', '),
    pg_catalog.array_to_string((SELECT pg_catalog.array_agg('src.' || x) FROM pg_catalog.unnest(cols) x)
                               || (SELECT pg_catalog.array_agg('c.' || x) FROM pg_catalog.unnest(ccols) x), ', '),
    keys_q);
  -- the target's rows of these constants
  scope := COALESCE((SELECT pg_catalog.string_agg(pg_catalog.format('t.%1$s = c.%1$s', x), ' AND ')
                       FROM pg_catalog.unnest(ccols) x), 'true');

  -- the target's rows of these constants
  scope := COALESCE((SELECT pg_catalog.string_agg(pg_catalog.format('t.%1$s = c.%1$s', x), ' AND ')
                       FROM pg_catalog.unnest(ccols) x), 'true');
  id_column := idcol;
  columns := cols;
  amounts := (SELECT pg_catalog.array_agg(pg_catalog.quote_ident(a.attname::text) ORDER BY a.attnum)
                FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = target AND pg_catalog.quote_ident(a.attname::text) = ANY (cols)
                 AND a.attname::text LIKE '%\_amount' AND a.atttypid IN ('bigint'::regtype, 'numeric'::regtype,
                                                                          'integer'::regtype));
END
$fn$;

COMMENT ON FUNCTION mangopay_fdw_sync_sql(regclass, regclass, name, name[], jsonb, text) IS
  'internal to mangopay_fdw_sync and mangopay_fdw_verify: the checked key, columns and upsert of a source and target';

-- Copy new and changed rows of a foreign table into a local table, by id.
--
-- The first run reads [since, now() - settle); each later run reads
-- [greatest(watermark - overlap, since), now() - settle), so rows whose
-- status changed within the overlap window after they were created (a
-- payout CREATED -> SUCCEEDED, a dispute moving on) are read again.  Rows are
-- upserted on the key: new ids are inserted, rows whose values differ are
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
-- A target shared by several MangoPay client ids is keyed by (client, id):
-- key_columns => '{client,id}' names the target's unique key, constants =>
-- '{"client": "acme"}' the value of every key column but the object's id.
-- The constants are written into every row and scope everything the run
-- reads of the target to that client's rows.
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
  key_column  name DEFAULT 'id',
  key_columns name[] DEFAULT NULL,
  constants   jsonb DEFAULT NULL,
  changes     boolean DEFAULT true,
  events      regclass DEFAULT NULL)
LANGUAGE plpgsql
AS $proc$
DECLARE
  state   text;                 -- the state table, schema-qualified
  src     text := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source);
  tgt     text := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target);
  lockkey int := pg_catalog.hashtext(src || ' -> ' || tgt);
  keys    name[] := COALESCE(key_columns, ARRAY[key_column]);
  consts  jsonb := COALESCE(constants, '{}');
  up      record;               -- mangopay_fdw_sync_sql(): the upsert, the id column, the scope
  key_q   text;                 -- the id column, quoted
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
  extns   name;                 -- the extension's schema
  res     text;                 -- the source's resource (its foreign table option)
  ev_types text[];              -- event types that say an object of it changed
  ev_byid boolean;              -- it reads an object by id
  ev_bydate boolean;            -- it reads a range of creation dates
  ev_days int;                  -- days of events MangoPay keeps
  ev_tbl  text;                 -- the events foreign table
  ev_from timestamptz;          -- events read from here to t_start
  windowed boolean;
  full_reread boolean := false; -- the events since the previous run are gone
  counted boolean := false;     -- the state counts this run already
  changed text[];               -- ids to read again
  n_chg   bigint := 0;
  sql_ids text;
  scope   text;
  d       timestamptz;
  calls0  bigint;
  calls1  bigint;
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
  IF changes IS NULL THEN
    RAISE EXCEPTION 'mangopay_fdw_sync: changes must be true or false'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT pg_catalog.format('%I.mangopay_fdw_sync_state', n.nspname), n.nspname INTO state, extns
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'mangopay_fdw';

  -- the columns, the key, the constants: the upsert
  EXECUTE pg_catalog.format('SELECT * FROM %I.mangopay_fdw_sync_sql($1, $2, $3, $4, $5, $6)', extns)
    INTO up USING source, target, time_column, keys, consts, 'mangopay_fdw_sync';
  key_q := pg_catalog.quote_ident(up.id_column);

  -- change capture: the event types that say an object of the source's
  -- table changed (mangopay_fdw_change_events(), from the resource table),
  -- and the events table on the source's server
  SELECT o.option_value INTO res
    FROM pg_catalog.pg_foreign_table ft, pg_catalog.pg_options_to_table(ft.ftoptions) o
   WHERE ft.ftrelid = source AND o.option_name = 'resource';
  IF changes AND res IS NOT NULL THEN
    EXECUTE pg_catalog.format(
      'SELECT pg_catalog.array_agg(e.event_type), pg_catalog.bool_or(e.by_id), pg_catalog.bool_or(e.by_date), '
      '  pg_catalog.max(e.events_days) FROM %I.mangopay_fdw_change_events() e WHERE e.table_name = $1', extns)
      INTO ev_types, ev_byid, ev_bydate, ev_days USING res;
  END IF;
  IF ev_types IS NOT NULL THEN
    IF events IS NOT NULL THEN
      ev_tbl := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                   JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = events);
    ELSE
      SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) INTO ev_tbl
        FROM pg_catalog.pg_foreign_table ft
        JOIN pg_catalog.pg_class c ON c.oid = ft.ftrelid
        JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
             pg_catalog.pg_options_to_table(ft.ftoptions) o
       WHERE ft.ftserver = (SELECT f.ftserver FROM pg_catalog.pg_foreign_table f WHERE f.ftrelid = source)
         AND o.option_name = 'resource' AND o.option_value = 'events'
         AND pg_catalog.has_table_privilege(c.oid, 'SELECT')
       ORDER BY c.relnamespace = (SELECT r.relnamespace FROM pg_catalog.pg_class r WHERE r.oid = source) DESC, c.oid
       LIMIT 1;
    END IF;
    IF ev_tbl IS NULL THEN
      RAISE NOTICE 'mangopay_fdw_sync: % -> %: no events table on the server of %; changes older than the overlap are not seen',
        src, tgt, src
        USING HINT = 'IMPORT FOREIGN SCHEMA mangopay LIMIT TO (events) FROM SERVER ... INTO the schema of the source.';
      ev_types := NULL;
    END IF;
  END IF;
  windowed := ev_bydate IS DISTINCT FROM false;   -- a table read only by id has no range to read

  -- one sync per pair at a time; a second caller leaves at once
  IF NOT pg_catalog.pg_try_advisory_xact_lock(pg_catalog.hashtext('mangopay_fdw_sync'), lockkey) THEN
    RAISE NOTICE 'mangopay_fdw_sync: % -> % is already running in another session; nothing done', src, tgt;
    RETURN;
  END IF;
  EXECUTE pg_catalog.format('SELECT s.value FROM %I.mangopay_fdw_stats() s WHERE s.counter = ''requests''', extns)
    INTO calls0;

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
    -- the window reads everything since "since"; a table read only by id
    -- starts with the events MangoPay still has
    IF ev_types IS NOT NULL AND NOT windowed THEN
      ev_from := GREATEST(since, t_start - ev_days * interval '1 day' + interval '1 hour');
    END IF;
  ELSE
    first_since := st.since;
    t_from := GREATEST(st.watermark - overlap, st.since);
    IF ev_types IS NOT NULL THEN
      ev_from := COALESCE(st.events_to, st.last_started) - settle;
      IF ev_from < t_start - ev_days * interval '1 day' THEN
        -- the events of the gap are gone: any object may have changed
        full_reread := true;
        ev_from := NULL;
        t_from := st.since;
        RAISE NOTICE 'mangopay_fdw_sync: % -> %: the previous run is older than the % days of events MangoPay keeps; everything since the first run''s start is read again',
          src, tgt, ev_days
          USING DETAIL = pg_catalog.format('The previous run read events up to %s; the first run started at %s.',
                                           COALESCE(st.events_to, st.last_started), st.since);
      END IF;
    END IF;
  END IF;
  IF t_from >= t_to AND ev_types IS NULL THEN
    RAISE NOTICE 'mangopay_fdw_sync: % -> %: nothing to read before %', src, tgt, t_to;
    RETURN;
  END IF;

  -- rows of one window (or of a list of ids), the last version of each id,
  -- with the constants, upserted
  sql := pg_catalog.replace(up.upsert, '@source@', src);
  sql_ids := pg_catalog.replace(sql, '@where@', pg_catalog.format('%s = ANY ($4)', key_q));
  sql := pg_catalog.replace(sql, '@where@', pg_catalog.format('%1$I >= $1 AND %1$I < $2', time_column));
  scope := up.scope;

  w_from := t_from;
  WHILE windowed AND w_from < t_to LOOP
    w_to := CASE WHEN chunk IS NULL THEN t_to ELSE LEAST(w_from + chunk, t_to) END;
    IF w_to <= w_from THEN      -- '1 month -30 days' can be no step at all
      RAISE EXCEPTION 'mangopay_fdw_sync: chunk % does not advance from %', chunk, w_from
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    EXECUTE sql INTO n_rows, n_ins, n_upd USING w_from, w_to, consts, NULL::text[];
    tot_rows := tot_rows + n_rows;
    tot_ins := tot_ins + n_ins;
    tot_upd := tot_upd + n_upd;
    EXECUTE pg_catalog.format(
      'INSERT INTO %s AS s (source, target, time_column, since, watermark, runs, last_from, last_to, last_rows, '
      '  last_inserted, last_updated, last_started, last_finished, constants) '
      'VALUES ($1, $2, $3, $10, $5, 1, $4, $5, $6, $7, $8, $9, pg_catalog.clock_timestamp(), $12) '
      'ON CONFLICT (source, target) DO UPDATE SET time_column = EXCLUDED.time_column, '
      '  watermark = GREATEST(s.watermark, EXCLUDED.watermark), '
      '  runs = s.runs + $11, last_from = EXCLUDED.last_from, last_to = EXCLUDED.last_to, '
      '  last_rows = EXCLUDED.last_rows, last_inserted = EXCLUDED.last_inserted, '
      '  last_updated = EXCLUDED.last_updated, last_started = EXCLUDED.last_started, '
      '  last_finished = EXCLUDED.last_finished, constants = EXCLUDED.constants', state)
      USING src, tgt, time_column::text, t_from, w_to, tot_rows, tot_ins, tot_upd, t_start, first_since,
            CASE WHEN w_from = t_from THEN 1 ELSE 0 END,   -- a call counts one run, at its first window
            consts;
    counted := true;
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

  -- the objects events say changed since the previous run, which the window
  -- did not read (created before it): read again, by id, each once
  IF ev_types IS NOT NULL THEN
    IF full_reread AND NOT windowed THEN
      -- no range to read: every object the target holds
      EXECUTE pg_catalog.format('SELECT pg_catalog.array_agg(t.%s) FROM %s t, '
                                '  pg_catalog.jsonb_populate_record(NULL::%s, $1) c WHERE %s', key_q, tgt, tgt, scope)
        INTO changed USING consts;
    ELSIF ev_from IS NOT NULL THEN
      -- one paged read of the events (EventType takes one value a request:
      -- the types are filtered here)
      EXECUTE pg_catalog.format(
        'WITH e AS MATERIALIZED (SELECT resource_id, event_type FROM %s WHERE date >= $1 AND date < $2) '
        'SELECT pg_catalog.array_agg(DISTINCT e.resource_id) FROM e '
        ' WHERE e.event_type = ANY ($3) AND e.resource_id IS NOT NULL', ev_tbl)
        INTO changed USING ev_from, t_start, ev_types;
      IF windowed AND changed IS NOT NULL THEN
        -- the window read the objects created in it; an id the target does
        -- not hold was created before "since", or after the window (the
        -- next run reads it)
        EXECUTE pg_catalog.format(
          'SELECT pg_catalog.array_agg(t.%1$s) FROM %2$s t, pg_catalog.jsonb_populate_record(NULL::%2$s, $2) c '
          ' WHERE t.%1$s = ANY ($1) AND %3$s AND %4$s', key_q, tgt, scope,
          CASE WHEN EXISTS (SELECT 1 FROM pg_catalog.pg_attribute a WHERE a.attrelid = target
                              AND a.attname = time_column AND a.attnum > 0 AND NOT a.attisdropped)
               THEN pg_catalog.format('t.%I < $3', time_column) ELSE 'true' END)
          INTO changed USING changed, consts, t_from;
      END IF;
    END IF;
    n_chg := COALESCE(pg_catalog.cardinality(changed), 0);
    IF n_chg > 0 AND ev_byid THEN
      -- by id, at most 500 a statement (the server's max_lookups is 1000 by default)
      FOR i IN 0 .. (n_chg - 1) / 500 LOOP
        EXECUTE sql_ids INTO n_rows, n_ins, n_upd
          USING NULL::timestamptz, NULL::timestamptz, consts, changed[i * 500 + 1 : i * 500 + 500];
        tot_rows := tot_rows + n_rows;
        tot_ins := tot_ins + n_ins;
        tot_upd := tot_upd + n_upd;
      END LOOP;
    ELSIF n_chg > 0 THEN
      -- a table without a read by id (a report): the days those objects
      -- were created in, read again
      FOR d IN EXECUTE pg_catalog.format(
          'SELECT DISTINCT pg_catalog.date_trunc(''day'', t.%I) FROM %s t WHERE t.%s = ANY ($1) ORDER BY 1',
          time_column, tgt, key_q) USING changed LOOP
        EXECUTE sql INTO n_rows, n_ins, n_upd USING d, d + interval '1 day', consts, NULL::text[];
        tot_rows := tot_rows + n_rows;
        tot_ins := tot_ins + n_ins;
        tot_upd := tot_upd + n_upd;
      END LOOP;
    END IF;
    RAISE NOTICE 'mangopay_fdw_sync: % -> %: % changed objects read again', src, tgt, n_chg;
  END IF;

  EXECUTE pg_catalog.format('SELECT s.value FROM %I.mangopay_fdw_stats() s WHERE s.counter = ''requests''', extns)
    INTO calls1;
  EXECUTE pg_catalog.format(
    'INSERT INTO %s AS s (source, target, time_column, since, watermark, runs, last_from, last_to, last_rows, '
    '  last_inserted, last_updated, last_started, last_finished, constants, events_to, last_changed, last_calls, '
    '  last_full) '
    'VALUES ($1, $2, $3, $4, $5, 1, $6, $5, $7, $8, $9, $10, pg_catalog.clock_timestamp(), $11, $12, $13, $14, $15) '
    'ON CONFLICT (source, target) DO UPDATE SET watermark = GREATEST(s.watermark, EXCLUDED.watermark), '
    '  runs = s.runs + $16, last_from = EXCLUDED.last_from, last_to = EXCLUDED.last_to, '
    '  last_rows = EXCLUDED.last_rows, last_inserted = EXCLUDED.last_inserted, '
    '  last_updated = EXCLUDED.last_updated, last_started = EXCLUDED.last_started, '
    '  last_finished = EXCLUDED.last_finished, constants = EXCLUDED.constants, '
    '  events_to = COALESCE(EXCLUDED.events_to, s.events_to), last_changed = EXCLUDED.last_changed, '
    '  last_calls = EXCLUDED.last_calls, last_full = EXCLUDED.last_full', state)
    USING src, tgt, time_column::text, first_since, GREATEST(t_to, first_since),
          CASE WHEN windowed THEN t_from ELSE COALESCE(ev_from, t_from) END,
          tot_rows, tot_ins, tot_upd, t_start, consts,
          CASE WHEN ev_types IS NOT NULL THEN t_start END, n_chg, calls1 - calls0, full_reread,
          CASE WHEN counted THEN 0 ELSE 1 END;
END
$proc$;

COMMENT ON PROCEDURE mangopay_fdw_sync(regclass, regclass, timestamptz, interval, interval, interval, name, name, name[], jsonb, boolean, regclass) IS
  'upsert new and changed rows of a foreign table into a local table by id (or by (constants, id)), from a watermark less an overlap window, and the older objects its events say changed';

-- Compare a local table with its foreign source, day by day: the rows of
-- the source in [since, until) are read once; per day of time_column (in
-- the session's time zone), the number of rows and the sum of each amount
-- column (bigint, integer or numeric, named *_amount) of the two are
-- compared, and each day that differs is a row, with the ids missing from the
-- target, extra in it and different (any common column) when the two hold
-- at most detail_limit rows that day.  With repair, the rows of those days
-- are upserted from that same read, as mangopay_fdw_sync() writes them
-- (rows the source does not have are reported, never deleted).
CREATE FUNCTION mangopay_fdw_verify(
  source       regclass,
  target       regclass,
  since        timestamptz,
  until        timestamptz DEFAULT now(),
  repair       boolean DEFAULT false,
  time_column  name DEFAULT 'creation_date',
  key_column   name DEFAULT 'id',
  key_columns  name[] DEFAULT NULL,
  constants    jsonb DEFAULT NULL,
  detail_limit integer DEFAULT 100)
RETURNS TABLE (day date, source_rows bigint, target_rows bigint, source_sums jsonb, target_sums jsonb,
               missing text[], extra text[], differ text[], repaired boolean)
LANGUAGE plpgsql
AS $fn$
DECLARE
  extns   name;
  src     text := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = source);
  tgt     text := (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) FROM pg_catalog.pg_class c
                     JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = target);
  consts  jsonb := COALESCE(constants, '{}');
  up      record;               -- mangopay_fdw_sync_sql(): columns, key, scope, upsert
  key_q   text;
  cols    text;
  sums_x  text;                 -- the per-day sums, of the source's rows (x)
  sums_t  text;                 -- and of the target's (t)
  cmp     text;                 -- a common column differs, between x and t
  days    record;
  fix     text;                 -- the upsert of one day, from the read
  n_fix   bigint;
BEGIN
  IF source IS NULL OR target IS NULL OR since IS NULL OR until IS NULL OR repair IS NULL
     OR detail_limit IS NULL THEN
    RAISE EXCEPTION 'mangopay_fdw_verify: source, target, since, until, repair and detail_limit must not be NULL'
      USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF since >= until THEN
    RAISE EXCEPTION 'mangopay_fdw_verify: since must be before until'
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = pg_catalog.format('since is %s, until is %s.', since, until);
  END IF;
  SELECT n.nspname INTO extns
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'mangopay_fdw';
  EXECUTE pg_catalog.format('SELECT * FROM %I.mangopay_fdw_sync_sql($1, $2, $3, $4, $5, $6)', extns)
    INTO up USING source, target, time_column, COALESCE(key_columns, ARRAY[key_column]), consts,
                  'mangopay_fdw_verify';
  IF NOT pg_catalog.quote_ident(time_column::text) = ANY (up.columns) THEN
    RAISE EXCEPTION 'mangopay_fdw_verify: % has no column "%"', tgt, time_column
      USING ERRCODE = 'undefined_column',
            HINT = 'The days are those of time_column, in both tables.';
  END IF;
  key_q := pg_catalog.quote_ident(up.id_column);
  cols := pg_catalog.array_to_string(up.columns, ', ');
  SELECT COALESCE('pg_catalog.jsonb_build_object(' || pg_catalog.string_agg(
                    pg_catalog.format('%L, pg_catalog.sum(x.%s)', a, a), ', ') || ')', '''{}''::jsonb'),
         COALESCE('pg_catalog.jsonb_build_object(' || pg_catalog.string_agg(
                    pg_catalog.format('%L, pg_catalog.sum(t.%s)', a, a), ', ') || ')', '''{}''::jsonb')
    INTO sums_x, sums_t FROM pg_catalog.unnest(up.amounts) a;
  cmp := (SELECT pg_catalog.string_agg(pg_catalog.format('x.%1$s::text IS DISTINCT FROM t.%1$s::text', c), ' OR ')
            FROM pg_catalog.unnest(up.columns) c WHERE c NOT IN ('_read_at', '_source'));
  cmp := COALESCE(cmp, 'false');

  -- the one read of the source: the last version of each id
  DROP TABLE IF EXISTS pg_temp.mangopay_fdw_verify_src;
  EXECUTE pg_catalog.format(
    'CREATE TEMP TABLE mangopay_fdw_verify_src AS SELECT DISTINCT ON (%2$s) %3$s FROM %1$s '
    ' WHERE %4$I >= %5$L AND %4$I < %6$L AND %2$s IS NOT NULL ORDER BY %2$s, %4$I DESC',
    src, key_q, cols, time_column, since, until);
  fix := pg_catalog.replace(pg_catalog.replace(up.upsert, '@source@', 'pg_temp.mangopay_fdw_verify_src'),
                            '@where@', pg_catalog.format('%1$I >= $1 AND %1$I < $2', time_column));

  FOR days IN EXECUTE pg_catalog.format(
      'WITH s AS (SELECT (x.%1$I)::date AS day, pg_catalog.count(*) AS n, %2$s AS sums '
      '             FROM pg_temp.mangopay_fdw_verify_src x GROUP BY 1), '
      '     d AS (SELECT (t.%1$I)::date AS day, pg_catalog.count(*) AS n, %3$s AS sums '
      '             FROM %4$s t, pg_catalog.jsonb_populate_record(NULL::%4$s, $3) c '
      '            WHERE %5$s AND t.%1$I >= $1 AND t.%1$I < $2 GROUP BY 1) '
      'SELECT COALESCE(s.day, d.day) AS day, COALESCE(s.n, 0) AS sn, COALESCE(d.n, 0) AS tn, '
      '       s.sums AS ss, d.sums AS ts FROM s FULL JOIN d ON d.day = s.day '
      ' WHERE COALESCE(s.n, 0) <> COALESCE(d.n, 0) OR s.sums IS DISTINCT FROM d.sums ORDER BY 1',
      time_column, sums_x, sums_t, tgt, up.scope)
    USING since, until, consts LOOP
    day := days.day;
    source_rows := days.sn;
    target_rows := days.tn;
    source_sums := days.ss;
    target_sums := days.ts;
    missing := NULL;
    extra := NULL;
    differ := NULL;
    IF days.sn + days.tn <= detail_limit THEN
      EXECUTE pg_catalog.format(
        'WITH x AS (SELECT * FROM pg_temp.mangopay_fdw_verify_src x WHERE (x.%1$I)::date = $1), '
        '     t AS (SELECT t.* FROM %2$s t, pg_catalog.jsonb_populate_record(NULL::%2$s, $2) c '
        '            WHERE %3$s AND (t.%1$I)::date = $1 AND t.%1$I >= $3 AND t.%1$I < $4) '
        'SELECT pg_catalog.array_agg(x.%4$s ORDER BY x.%4$s) FILTER (WHERE t.%4$s IS NULL), '
        '       pg_catalog.array_agg(t.%4$s ORDER BY t.%4$s) FILTER (WHERE x.%4$s IS NULL), '
        '       pg_catalog.array_agg(x.%4$s ORDER BY x.%4$s) FILTER (WHERE x.%4$s IS NOT NULL '
        '         AND t.%4$s IS NOT NULL AND (%5$s)) '
        '  FROM x FULL JOIN t ON t.%4$s = x.%4$s',
        time_column, tgt, up.scope, key_q, cmp)
        INTO missing, extra, differ USING days.day, consts, since, until;
    END IF;
    repaired := false;
    IF repair THEN
      EXECUTE fix INTO n_fix USING GREATEST(days.day::timestamptz, since), LEAST((days.day + 1)::timestamptz, until),
                               consts, NULL::text[];
      repaired := true;
    END IF;
    RETURN NEXT;
  END LOOP;
  DROP TABLE pg_temp.mangopay_fdw_verify_src;
END
$fn$;

COMMENT ON FUNCTION mangopay_fdw_verify(regclass, regclass, timestamptz, timestamptz, boolean, name, name, name[], jsonb, integer) IS
  'compare a local table with its foreign source per day (rows, sums of the amount columns) from one read; the days that differ, with the ids; repair upserts those days';

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
