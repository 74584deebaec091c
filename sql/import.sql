--
-- import: IMPORT FOREIGN SCHEMA creates every table with the columns
-- doc/reference.md lists; LIMIT TO / EXCEPT are honoured; mistakes are ERRORs
--
SELECT foreign_table_name, count(*) AS columns,
       bool_or(column_name = 'attrs' AND data_type = 'jsonb') AS has_attrs
FROM information_schema.columns c
JOIN information_schema.foreign_tables f
  ON f.foreign_table_schema = c.table_schema AND f.foreign_table_name = c.table_name
WHERE f.foreign_table_schema = 'mangopay'
GROUP BY 1 ORDER BY 1;
-- the options IMPORT sets
SELECT c.relname, ft.ftoptions FROM pg_foreign_table ft JOIN pg_class c ON c.oid = ft.ftrelid
WHERE c.relnamespace = 'mangopay'::regnamespace ORDER BY 1;
\d mangopay.disputes
CREATE SCHEMA imp1;
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes, events) FROM SERVER mangopay INTO imp1;
SELECT relname FROM pg_class WHERE relnamespace = 'imp1'::regnamespace ORDER BY 1;
CREATE SCHEMA imp2;
IMPORT FOREIGN SCHEMA mangopay EXCEPT (disputes, events, refunds) FROM SERVER mangopay INTO imp2;
SELECT count(*) AS tables, bool_or(relname IN ('disputes', 'events', 'refunds')) AS has_excluded
FROM pg_class WHERE relnamespace = 'imp2'::regnamespace;
-- errors
IMPORT FOREIGN SCHEMA stripe FROM SERVER mangopay INTO imp1;
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (dispute) FROM SERVER mangopay INTO imp1;
DROP SCHEMA imp1, imp2 CASCADE;
