--
-- wide: SELECT * of a full TRANSACTIONS report — all 37 columns, attrs
-- included — against the CSV the report server sent, cell by cell: attrs
-- is built straight into jsonb and bigint and :ISO dates skip their input
-- functions (src/rowbuild.c), and must give what the input functions give
--
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"report_delay_ms": 0}') ->> 'ok' AS config;
ALTER SERVER mangopay OPTIONS (ADD report_poll_ms '20');

-- load the CSV downloaded last into t_csv, one text column per CSV
-- column, named as in its header (COPY: an empty cell is a NULL, a quoted
-- empty cell an empty string, as in the FDW; a UTF-8 BOM before the header,
-- which the mock serves in some of its CSV shapes, is not part of a name)
CREATE FUNCTION t.load_csv() RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE url text; hdr text; n bigint;
BEGIN
  SELECT download_url INTO STRICT url FROM mangopay.reports
   WHERE download_url LIKE '%' || (SELECT r ->> 'path' FROM t.requests() WITH ORDINALITY AS x(r, o)
                                    WHERE r ->> 'path' LIKE '%.csv' ORDER BY o DESC LIMIT 1) || '?%';
  SELECT l INTO hdr FROM t.run('curl -sf ' || t.sh(url) || ' | head -1') l;
  DROP TABLE IF EXISTS t_csv;
  EXECUTE format('CREATE TEMP TABLE t_csv (%s)',
    (SELECT string_agg(quote_ident(c) || ' text', ', ' ORDER BY o)
       FROM unnest(string_to_array(ltrim(rtrim(hdr, E'\r'), U&'\FEFF'), ',')) WITH ORDINALITY AS x(c, o)));
  EXECUTE format('COPY t_csv FROM PROGRAM %L WITH (FORMAT csv, HEADER true)', 'curl -sf ' || t.sh(url));
  SELECT count(*) INTO n FROM t_csv;
  RETURN n;
END $$;
-- every column of a foreign table of transactions (attrs apart) against
-- t_csv through the input functions: rows of t_fdw with a cell that differs
CREATE FUNCTION t.typed_mismatches(tbl text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE r record; fdw text := ''; csv text := ''; e text; n bigint;
BEGIN
  FOR r IN SELECT * FROM mangopay_fdw_columns() c WHERE c.table_name = tbl
            AND c.api_field <> '(whole object)' ORDER BY ordinal LOOP
    e := format('c.%I', r.api_field);
    e := CASE
      WHEN r.api_field LIKE '%:ISO' THEN
        format($f$(regexp_replace(%s, '^(\d\d)/(\d\d)/(\d{4}) ', '\3-\2-\1 ') || '+00')::timestamptz$f$, e)
      WHEN r.column_type = 'timestamptz' THEN format('to_timestamp(%s::bigint)', e)
      ELSE format('%s::%s', e, r.column_type) END;
    fdw := fdw || CASE WHEN fdw = '' THEN '' ELSE ', ' END || format('f.%I', r.column_name);
    csv := csv || CASE WHEN csv = '' THEN '' ELSE ', ' END || e;
  END LOOP;
  EXECUTE format('SELECT count(*) FROM t_fdw f LEFT JOIN t_csv c ON c."Id" = f.id
                  WHERE ROW(%s) IS DISTINCT FROM ROW(%s)', fdw, csv) INTO n;
  RETURN n;
END $$;

-- the mock's ledger, one window of SELECT *: 37 columns requested
CREATE TEMP TABLE t_fdw AS SELECT * FROM mangopay.transactions
 WHERE creation_date >= now() - interval '5 months';
SELECT jsonb_array_length(r -> 'body' -> 'Columns') AS columns FROM t.requests() r
 WHERE r ->> 'method' = 'POST' AND r ->> 'path' LIKE '%/reports/transactions';
SELECT t.load_csv() >= (SELECT count(*) FROM t_fdw) AS csv_rows_ok, (SELECT count(*) FROM t_fdw) > 100 AS many;
-- attrs: every CSV cell of the row under its header name, text or null
SELECT count(*) = count(c."Id") AS all_matched,
       count(*) FILTER (WHERE f.attrs = to_jsonb(c) AND f.attrs::text = to_jsonb(c)::text) = count(*) AS attrs_equal,
       count(*) FILTER (WHERE jsonb_typeof(f.attrs -> 'ExecutionDate') = 'null') > 0 AS has_null_cells,
       count(*) FILTER (WHERE f.attrs ->> 'Tag' ~ '[,"\n\r]' OR f.attrs ->> 'Tag' ~ '[^\x01-\x7f]') > 0 AS has_awkward_tags,
       min(jsonb_array_length(jsonb_path_query_array(f.attrs, '$.keyvalue()'))) AS keys
FROM t_fdw f LEFT JOIN t_csv c ON c."Id" = f.id;
SELECT t.typed_mismatches('transactions') AS typed_mismatches;
-- every CSV row of the range was returned (the FDW drops the extra second it asks for)
SELECT count(*) AS lost FROM t_csv c WHERE to_timestamp(c."CreationDate"::bigint) >= now() - interval '5 months' + interval '1 minute'
   AND NOT EXISTS (SELECT 1 FROM t_fdw f WHERE f.id = c."Id");

-- the bench rows: 3,000, with commas, quotes, line breaks, UTF-8 and empty cells
DROP TABLE t_fdw;
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"bench_rows": 3000, "report_delay_ms": 0}') ->> 'ok' AS bench;
CREATE TEMP TABLE t_fdw AS SELECT * FROM mangopay.transactions
 WHERE creation_date >= now() - interval '2 days';
SELECT t.load_csv() AS csv_rows;
SELECT count(*) AS rows, count(c."Id") AS matched,
       count(*) FILTER (WHERE f.attrs = to_jsonb(c) AND f.attrs::text = to_jsonb(c)::text) AS attrs_equal,
       count(*) FILTER (WHERE f.attrs ->> 'Tag' ~ '\n') AS line_breaks,
       count(*) FILTER (WHERE f.attrs ->> 'Tag' ~ '[^\x01-\x7f]') AS utf8,
       count(*) FILTER (WHERE jsonb_typeof(f.attrs -> 'BankAccountId') = 'null') AS null_cells
FROM t_fdw f LEFT JOIN t_csv c ON c."Id" = f.id;
SELECT t.typed_mismatches('transactions') AS typed_mismatches;
-- a narrow projection and count(*) of the same report
SELECT count(*) AS n, sum(debited_funds_amount) = (SELECT sum("DebitedFundsAmount"::bigint) FROM t_csv c
         WHERE c."Id" IN (SELECT id FROM t_fdw)) AS sum_ok
FROM mangopay.transactions WHERE creation_date >= now() - interval '2 days';

-- attrs declared json: the JSON text, as before
CREATE FOREIGN TABLE t.tx_json (id text, tag text, creation_date timestamptz, attrs json)
  SERVER mangopay OPTIONS (resource 'transactions');
DROP TABLE t_fdw;
CREATE TEMP TABLE t_fdw AS SELECT * FROM t.tx_json WHERE creation_date >= now() - interval '2 days';
SELECT t.load_csv() AS csv_rows;
SELECT count(*) AS rows, count(*) FILTER (WHERE f.attrs::jsonb = to_jsonb(c)) AS attrs_equal,
       count(*) FILTER (WHERE f.attrs::text ~ '^\{"[A-Za-z:]+":') AS json_text
FROM t_fdw f LEFT JOIN t_csv c ON c."Id" = f.id;

SELECT t.mock('reset') ->> 'ok' AS reset;
DROP FOREIGN TABLE t.tx_json;
DROP FUNCTION t.load_csv(), t.typed_mismatches(text);
ALTER SERVER mangopay OPTIONS (DROP report_poll_ms);
