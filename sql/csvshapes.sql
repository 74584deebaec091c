--
-- csvshapes: every form a report's CSV file may take (spec §4c: the final
-- line break, LF or CRLF, a BOM, a report without rows as a header alone or
-- an empty body are all undocumented) gives the exact rows, for a legacy
-- report (transactions) and a Reporting Service one (collected_fees), with
-- SELECT *, with count(*), and through a download dropped and resumed at
-- three points: midway, right before the last record, at its last byte
-- (and once by a server that ignores Range: the parsed bytes are skipped).
-- The mock is told which shape to serve (config csv_shape) and its request
-- log says which shape each download got.
--
SELECT t.mock('reset') ->> 'ok' AS reset;
ALTER SERVER mangopay OPTIONS (ADD report_poll_ms '50');

-- one case: 'exact, N rows' or what went wrong
CREATE FUNCTION t.csv_case(shape text, kind text, mode text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  lo bigint := extract(epoch FROM now() - interval '7 days')::bigint;
  tbl text; fdw_cond text; truth_cond text; r record; n bigint; want bigint;
  shapes text; downloads int; ranged int; size bigint;
BEGIN
  PERFORM t.mock('reset');
  PERFORM t.mock('config', jsonb_build_object('report_delay_ms', 50, 'csv_shape', shape,
                                               'download_ignore_range', mode LIKE '%Range ignored'));
  IF mode LIKE 'dropped%' THEN
    PERFORM t.mock('faults', jsonb_build_object('faults', jsonb_build_array(
      jsonb_build_object('path', '\.csv$', 'kind', 'drop_mid_body')
      || CASE WHEN mode LIKE 'dropped before the last record%' THEN '{"at": "last_record"}'::jsonb
              WHEN mode = 'dropped at the last byte' THEN '{"at": "last_byte"}'::jsonb ELSE '{}'::jsonb END)));
  END IF;
  IF kind LIKE 'legacy%' THEN
    tbl := 'transactions';
    fdw_cond := format('creation_date >= to_timestamp(%s)', lo);
    truth_cond := format($c$(j ->> 'CreationDate')::bigint >= %s$c$, lo);
  ELSE
    tbl := 'collected_fees';
    fdw_cond := format($c$fees_currency = 'EUR' AND creation_date >= to_timestamp(%s)$c$, lo);
    truth_cond := format($c$j ->> 'Status' = 'SUCCEEDED' AND (j ->> 'FeesAmount')::bigint > 0
                            AND j ->> 'FeesCurrency' = 'EUR' AND (j ->> 'CreationDate')::bigint >= %s$c$, lo);
  END IF;
  IF kind LIKE '%no rows' THEN
    -- pushed down as a filter (an amount bound goes with one currency): the report itself has no rows
    fdw_cond := fdw_cond || CASE WHEN tbl = 'transactions' THEN ' AND debited_funds_amount >= 1000000000000 AND debited_funds_currency = ''EUR'''
                                 ELSE ' AND fees_amount >= 1000000000000' END;
    truth_cond := truth_cond || $c$ AND (j ->> 'DebitedFundsAmount')::bigint >= 1000000000000
                                    AND (j ->> 'FeesAmount')::bigint >= 1000000000000$c$;
  END IF;
  BEGIN
    IF mode = 'count(*)' THEN
      EXECUTE format('SELECT count(*) FROM mangopay.%I WHERE %s', tbl, fdw_cond) INTO n;
      EXECUTE format('SELECT count(*) FROM t.truth(%L) j WHERE %s', 'transactions?AfterDate=' || (lo - 1), truth_cond)
        INTO want;
      IF n <> want THEN
        RETURN format('count(*) %s, the API has %s', n, want);
      END IF;
    ELSE
      SELECT * INTO r FROM t.compare(tbl, 'transactions?AfterDate=' || (lo - 1), false, truth_cond, fdw_cond, true);
      IF r.fdw_rows <> r.api_rows OR r.missing <> 0 OR r.extra <> 0 THEN
        RETURN format('%s rows of %s, %s missing, %s extra', r.fdw_rows, r.api_rows, r.missing, r.extra);
      END IF;
      want := r.api_rows;
    END IF;
  EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
  END;
  -- what the mock served: the shape asked for, and a resumed download when dropped
  SELECT string_agg(DISTINCT x ->> 'csv_shape', ' '), count(*), count(x -> 'headers' ->> 'range'),
         max((x ->> 'csv_size')::bigint)
    INTO shapes, downloads, ranged, size
  FROM t.requests() x WHERE x ->> 'path' LIKE '%.csv';
  IF shapes IS DISTINCT FROM shape THEN
    RETURN format('served shape %s', shapes);
  END IF;
  -- (an empty body has no byte to drop the connection after)
  IF mode LIKE 'dropped%' AND NOT ((size = 0 AND downloads = 1 AND ranged = 0)
                                   OR (size > 0 AND downloads = 2 AND ranged = 1)) THEN
    RETURN format('%s downloads, %s with Range', downloads, ranged);
  END IF;
  IF (want = 0) <> (kind LIKE '%no rows') THEN
    RETURN format('%s rows in the API', want);
  END IF;
  RETURN CASE WHEN want = 0 THEN 'exact, no rows' ELSE 'exact, some rows' END;
END $$;

-- reports with rows: each shape, each kind, each way of reading
SELECT s AS shape, k AS report, m AS read, t.csv_case(s, k, m) AS result
FROM unnest(ARRAY['crlf', 'crlf,noeol', 'lf', 'lf,noeol', 'crlf,bom', 'crlf,noeol,bom', 'lf,bom', 'lf,noeol,bom'])
       WITH ORDINALITY AS s(s, i),
     unnest(ARRAY['legacy', 'Reporting Service']) WITH ORDINALITY AS k(k, j),
     unnest(ARRAY['SELECT *', 'count(*)', 'dropped midway', 'dropped before the last record',
                  'dropped at the last byte', 'dropped before the last record, Range ignored'])
       WITH ORDINALITY AS m(m, l)
ORDER BY i, j, l;

-- reports without rows: a header line alone (with or without its line
-- break, LF or CRLF, BOM or none) or an empty body (BOM or none): no rows,
-- also when the download breaks off midway (inside the header, the BOM)
SELECT s AS shape, k AS report, m AS read, t.csv_case(s, k, m) AS result
FROM unnest(ARRAY['crlf', 'crlf,noeol', 'lf', 'lf,noeol', 'crlf,bom', 'crlf,noeol,bom', 'lf,bom', 'lf,noeol,bom',
                  'crlf,emptybody', 'crlf,bom,emptybody'])
       WITH ORDINALITY AS s(s, i),
     unnest(ARRAY['legacy, no rows', 'Reporting Service, no rows']) WITH ORDINALITY AS k(k, j),
     unnest(ARRAY['SELECT *', 'count(*)', 'dropped midway']) WITH ORDINALITY AS m(m, l)
ORDER BY i, j, l;
-- ... the empty body really was empty, and the header alone had no line break
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"csv_shape": "lf,emptybody"}') ->> 'ok' AS shape;
SELECT count(*) FROM mangopay.transactions
WHERE creation_date >= now() - interval '20 days' AND debited_funds_amount >= 1000000000000 AND debited_funds_currency = 'EUR';
SELECT r ->> 'csv_shape' AS shape, r ->> 'csv_size' AS bytes FROM t.requests() r WHERE r ->> 'path' LIKE '%.csv';
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"csv_shape": "crlf,noeol"}') ->> 'ok' AS shape;
SELECT count(*) FROM mangopay.transactions
WHERE creation_date >= now() - interval '20 days' AND debited_funds_amount >= 1000000000000 AND debited_funds_currency = 'EUR';
SELECT r ->> 'csv_shape' AS shape,
       (r ->> 'csv_size')::int = (SELECT length(string_agg(c, ',')) FROM t.requests() p, jsonb_array_elements_text(p -> 'body' -> 'Columns') c
                                    WHERE p ->> 'path' LIKE '%/reports/transactions') AS header_alone
FROM t.requests() r WHERE r ->> 'path' LIKE '%.csv';

-- payouts' lookups (the rows go through GETs in flight) with a last record
-- that has no line break
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"csv_shape": "lf,noeol,bom"}') ->> 'ok' AS shape;
SELECT count(*) AS mismatches FROM (
  (SELECT id, mode_applied FROM mangopay.payouts WHERE creation_date >= now() - interval '20 days'
   EXCEPT ALL
   SELECT p ->> 'Id', p ->> 'ModeApplied'
   FROM t.truth('payouts') p JOIN t.truth('transactions') j ON j ->> 'Id' = p ->> 'Id'
   WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '20 days'))
  UNION ALL
  (SELECT p ->> 'Id', p ->> 'ModeApplied'
   FROM t.truth('payouts') p JOIN t.truth('transactions') j ON j ->> 'Id' = p ->> 'Id'
   WHERE (j ->> 'CreationDate')::bigint >= extract(epoch FROM now() - interval '20 days')
   EXCEPT ALL
   SELECT id, mode_applied FROM mangopay.payouts WHERE creation_date >= now() - interval '20 days')) x;
SELECT count(*) > 0 AS some_payouts FROM t.requests() r WHERE r ->> 'path' LIKE '%/payouts/bankwire/%';

-- line breaks inside quoted cells: CRLF, LF and a bare CR, in files whose
-- records end with CRLF, LF or a bare CR, the last one without a line break
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE FUNCTION t.cells(eol text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE d bigint := extract(epoch FROM now() - interval '1 day')::bigint; res text;
BEGIN
  PERFORM t.mock('reset');
  PERFORM t.mock('faults', jsonb_build_object('faults', jsonb_build_array(jsonb_build_object(
    'path', '\.csv$', 'kind', 'status', 'status', 200, 'content_type', 'text/csv', 'body',
    'Id,CreationDate,Tag' || eol
    || 'q1,' || d || ',"crlf' || E'\r\n' || 'in a cell"' || eol
    || 'q2,' || d || ',"lf' || E'\n' || 'in a cell"' || eol
    || 'q3,' || d || ',"bare cr' || E'\r' || 'in a cell"' || eol
    || 'q4,' || d || ',"last, ' || E'\r' || 'no line break"'))));
  SELECT string_agg(id || '=' || replace(replace(tag, E'\r', '<CR>'), E'\n', '<LF>'), ' ' ORDER BY id) INTO res
  FROM mangopay.transactions WHERE creation_date >= now() - interval '10 days';
  RETURN res;
END $$;
SELECT replace(replace(e, E'\r', '<CR>'), E'\n', '<LF>') AS record_end, t.cells(e) AS rows
FROM unnest(ARRAY[E'\r\n', E'\n', E'\r']) WITH ORDINALITY AS x(e, i) ORDER BY i;
SELECT t.mock('reset') ->> 'ok' AS reset;
-- a quoted field left open at the end of the file stays an ERROR
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","kind":"status","status":200,"content_type":"text/csv","body":"Id,CreationDate\n\"open, 1"}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);

SELECT t.mock('reset') ->> 'ok' AS reset;
ALTER SERVER mangopay OPTIONS (DROP report_poll_ms);
