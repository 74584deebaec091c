--
-- setup: the extension, a server pointed at the mock MangoPay API
-- (test/mock, started by test/run.sh on 127.0.0.1:18089) and helpers that
-- read the mock's ground truth and request log, so tests compare what the
-- FDW returns and sends with what the API holds and received.
--
CREATE EXTENSION mangopay_fdw;
SELECT mangopay_fdw_version() ~ '^\d+\.\d+\.\d+$' AS version_ok;

CREATE SERVER mangopay FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (environment 'sandbox', api_url 'http://127.0.0.1:18089');
CREATE USER MAPPING FOR CURRENT_USER SERVER mangopay
  OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE SCHEMA mangopay;
IMPORT FOREIGN SCHEMA mangopay FROM SERVER mangopay INTO mangopay;

CREATE SCHEMA t;
-- a shell word, quoted
CREATE FUNCTION t.sh(s text) RETURNS text LANGUAGE sql IMMUTABLE
  AS $$ SELECT '''' || replace(s, '''', '''\''''') || '''' $$;
-- run a command, return its stdout lines
CREATE FUNCTION t.run(cmd text) RETURNS SETOF text LANGUAGE plpgsql
  SET client_min_messages = warning AS $$
BEGIN
  CREATE TEMP TABLE IF NOT EXISTS _out(line text);
  TRUNCATE _out;
  EXECUTE format('COPY _out FROM PROGRAM %L WITH (FORMAT csv, QUOTE E''\x01'', DELIMITER E''\x02'')', cmd);
  RETURN QUERY SELECT line FROM _out;
END $$;
-- call the mock's control API
CREATE FUNCTION t.mock(path text, body jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT string_agg(l, E'\n')::jsonb FROM t.run(
    'curl -sf -X POST -H ''Content-Type: application/json'' --data-binary ' || t.sh(body::text)
    || ' http://127.0.0.1:18089/__mock/' || path) l $$;
-- ground truth of a collection, one API object per row
CREATE FUNCTION t.truth(coll text) RETURNS SETOF jsonb LANGUAGE sql AS $$
  SELECT l::jsonb FROM t.run('curl -sf ' || t.sh('http://127.0.0.1:18089/__mock/truth/' || coll)) l
  WHERE l <> '' $$;
-- the API requests the mock received since the last t.mock('reset')
CREATE FUNCTION t.requests() RETURNS SETOF jsonb LANGUAGE sql AS $$
  SELECT jsonb_array_elements(string_agg(l, E'\n')::jsonb)
  FROM t.run('curl -sf http://127.0.0.1:18089/__mock/requests') l $$;
-- API requests only (no token calls), with their query strings
CREATE VIEW t.api_calls AS
  SELECT r->>'method' AS method, r->>'path' AS path, r->'params' AS query,
         (r->>'status')::int AS status, r->>'auth_scheme' AS auth
  FROM t.requests() r WHERE r->>'path' NOT LIKE '%/oauth/token%';
-- Unix seconds of a JSON date
CREATE FUNCTION t.ts(j jsonb) RETURNS timestamptz LANGUAGE sql IMMUTABLE
  AS $$ SELECT CASE WHEN j IS NULL OR j = 'null' THEN NULL ELSE to_timestamp((j#>>'{}')::numeric) END $$;

SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT count(*) > 0 AS mock_has_disputes FROM t.truth('disputes');

-- run a statement, return "SQLSTATE: message" (or "ok"), for errors whose
-- DETAIL carries timings or ports
-- (with_detail: DETAIL too, with the API's error ids, Unix times and page
-- numbers masked)
CREATE FUNCTION t.err(q text, with_detail boolean DEFAULT false) RETURNS text LANGUAGE plpgsql AS $$
DECLARE st text; msg text; hint text; det text;
BEGIN
  EXECUTE q;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hint = PG_EXCEPTION_HINT,
                          det = PG_EXCEPTION_DETAIL;
  det := regexp_replace(det, '[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}(#[0-9]+)?', '<id>', 'g');
  det := regexp_replace(det, '[0-9]{9,}', '<time>', 'g');
  det := regexp_replace(det, 'page=[0-9]+', 'page=<n>', 'g');
  msg := regexp_replace(msg, 'report(_m)?_[0-9A-Z]{26}', '<report id>', 'g');
  RETURN st || ': ' || msg
    || CASE WHEN with_detail AND det <> '' THEN E'\nDETAIL: ' || det ELSE '' END
    || CASE WHEN hint <> '' THEN E'\nHINT: ' || hint ELSE '' END;
END $$;
-- EXPLAIN (opts) q, printed alike on every PostgreSQL version: actual rows
-- as integers (18 prints two decimals) and a parameterized scan's filter
-- "outer.col = col" as "col = outer.col" (the orientation from 16)
CREATE FUNCTION t.explain(q text, opts text DEFAULT 'COSTS OFF') RETURNS SETOF text LANGUAGE plpgsql AS $$
DECLARE l text;
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (' || opts || ') ' || q LOOP
    l := regexp_replace(l, '(rows=[0-9]+)\.00 ', '\1 ', 'g');
    RETURN NEXT regexp_replace(l, '^(\s*Filter: \()(\w+\.\w+) = (\w+)\)$', '\1\3 = \2)');
  END LOOP;
END $$;
-- the wait event of mangopay_fdw's network waits in pg_stat_activity: its own
-- name from PostgreSQL 17, the generic one before
CREATE FUNCTION t.wait_event() RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN current_setting('server_version_num')::int >= 170000 THEN 'MangoPayHTTP' ELSE 'Extension' END $$;

-- compare a foreign table with the mock's ground truth, row by row and
-- column by column, using the field of every column from
-- mangopay_fdw_columns(): "missing" rows are in the API but not returned,
-- "extra" rows were returned but are not in the API (EXCEPT ALL, so a
-- duplicated row counts too)
CREATE FUNCTION t.compare(tbl text, coll text, with_attrs boolean DEFAULT true,
  cond text DEFAULT 'true', fdw_cond text DEFAULT 'true', csv boolean DEFAULT false,
  OUT fdw_rows bigint, OUT api_rows bigint, OUT missing bigint, OUT extra bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r record; cols text := ''; exprs text := ''; p text; e text;
BEGIN
  DROP TABLE IF EXISTS _tr;
  EXECUTE format('CREATE TEMP TABLE _tr AS SELECT j FROM t.truth(%L) j WHERE %s', coll, cond);
  FOR r IN SELECT * FROM mangopay_fdw_columns() c WHERE c.table_name = tbl ORDER BY ordinal LOOP
    CONTINUE WHEN r.api_field = '(whole object)' AND NOT with_attrs;
    -- lookup and key columns of report tables are checked on their own
    CONTINUE WHEN r.pushdown LIKE 'lookup:%' OR r.pushdown LIKE '%(key column: one report per value%';
    -- the report's own field (wallets.balances_at) is checked on its own
    CONTINUE WHEN r.api_field LIKE '(report) %';
    IF r.api_field = '(whole object)' THEN
      e := $x$(SELECT jsonb_object_agg(k, v) FROM jsonb_each(j) AS x(k, v) WHERE k NOT LIKE '\_%')$x$;
    ELSIF r.api_field ~ '[|*]' THEN
      -- alternatives "A.*.B|C.D" (text): the first present; "*" is any member
      SELECT 'COALESCE(' || string_agg(format($f$NULLIF(jsonb_path_query_first(j, %L), 'null') #>> '{}'$f$,
               '$' || (SELECT string_agg(CASE WHEN seg = '*' THEN '.*' ELSE '."' || seg || '"' END, '' ORDER BY o)
                         FROM unnest(string_to_array(alt, '.')) WITH ORDINALITY x(seg, o))), ', ' ORDER BY ao) || ')'
        INTO e FROM unnest(string_to_array(r.api_field, '|')) WITH ORDINALITY a(alt, ao);
    ELSE
      IF r.api_field LIKE '(key) %' THEN
        p := quote_literal('{_' || substr(r.api_field, 7) || '}');
      ELSE
        p := quote_literal('{' || replace(r.api_field, '.', ',') || '}');
      END IF;
      e := CASE
        WHEN r.api_field LIKE '%:ISO' THEN
          format($f$(regexp_replace(j #>> %s, '^(\d\d)/(\d\d)/(\d{4}) ', '\3-\2-\1 ') || '+00')::timestamptz$f$, p)
        ELSE CASE r.column_type
        WHEN 'timestamptz' THEN format('t.ts(j #> %s)', p)
        WHEN 'bigint' THEN format('(j #>> %s)::bigint', p)
        WHEN 'numeric' THEN format('(j #>> %s)::numeric', p)
        WHEN 'boolean' THEN format('(j #>> %s)::boolean', p)
        WHEN 'jsonb' THEN format('NULLIF(j #> %s, ''null'')', p)
        -- a CSV cannot tell an empty string from a null: both are an empty cell
        ELSE CASE WHEN csv THEN format('NULLIF(j #>> %s, '''')', p) ELSE format('(j #>> %s)', p) END END END;
    END IF;
    cols := cols || CASE WHEN cols = '' THEN '' ELSE ', ' END || quote_ident(r.column_name);
    exprs := exprs || CASE WHEN exprs = '' THEN '' ELSE ', ' END || e;
  END LOOP;
  DROP TABLE IF EXISTS _fdw;
  EXECUTE format('CREATE TEMP TABLE _fdw AS SELECT %s FROM mangopay.%I WHERE %s', cols, tbl, fdw_cond);
  SELECT count(*) INTO fdw_rows FROM _fdw;
  SELECT count(*) INTO api_rows FROM _tr;
  EXECUTE format('SELECT count(*) FROM (SELECT %s FROM _tr EXCEPT ALL SELECT * FROM _fdw) x', exprs) INTO missing;
  EXECUTE format('SELECT count(*) FROM (SELECT * FROM _fdw EXCEPT ALL SELECT %s FROM _tr) x', exprs) INTO extra;
END $$;

-- wait until cond (a boolean SQL expression) holds, polled every 50 ms with
-- a fresh pg_stat_activity snapshot; after bound seconds, an ERROR naming
-- what never happened (a test never sleeps a fixed time and looks once)
CREATE FUNCTION t.wait_until(cond text, what text, bound float8 DEFAULT 60) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE ok boolean; deadline timestamptz := clock_timestamp() + make_interval(secs => bound);
BEGIN
  LOOP
    PERFORM pg_stat_clear_snapshot();
    EXECUTE 'SELECT (' || cond || ')' INTO ok;
    IF ok THEN RETURN true; END IF;
    IF clock_timestamp() > deadline THEN
      RAISE EXCEPTION 'waited % s for %, in vain', bound, what;
    END IF;
    PERFORM pg_sleep(0.05);
  END LOOP;
END $$;

-- the local copies of the sync and cron suites
CREATE SCHEMA books;
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
