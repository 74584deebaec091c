--
-- upgrade: version 0.1 installed, used, then ALTER EXTENSION UPDATE; the
-- same query gives the same rows, and the extension's objects are exactly
-- those of a fresh install of the current version.  In two scratch
-- databases, through dblink.
--
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
DROP DATABASE IF EXISTS mangopay_fdw_upgrade;
DROP DATABASE IF EXISTS mangopay_fdw_fresh;
CREATE DATABASE mangopay_fdw_upgrade;
CREATE DATABASE mangopay_fdw_fresh;
SELECT dblink_connect('up', format('host=%s port=%s dbname=mangopay_fdw_upgrade user=%s',
  current_setting('unix_socket_directories'), current_setting('port'), current_user)) AS up;
SELECT dblink_connect('fresh', format('host=%s port=%s dbname=mangopay_fdw_fresh user=%s',
  current_setting('unix_socket_directories'), current_setting('port'), current_user)) AS fresh;
-- one value from a query in a scratch database
CREATE FUNCTION t.in_db(conn text, q text) RETURNS text LANGUAGE sql AS $$
  SELECT v FROM dblink(conn, q) AS r(v text) $$;
-- the extension's member objects, described, with a digest of each
-- function's and procedure's definition and each table's columns
CREATE VIEW t.ext_objects_q AS SELECT $q$
  SELECT string_agg(d, E'\n' ORDER BY d) FROM (
    SELECT pg_describe_object(dep.classid, dep.objid, dep.objsubid)
           || coalesce(' ' || (SELECT md5(pg_get_functiondef(p.oid)) FROM pg_proc p
                                WHERE dep.classid = 'pg_proc'::regclass AND p.oid = dep.objid), '')
           || coalesce(' ' || (SELECT md5(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
                                                     || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END
                                                     || coalesce(' default ' || pg_get_expr(ad.adbin, ad.adrelid), ''),
                                                     ', ' ORDER BY a.attnum))
                                 FROM pg_attribute a LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
                                WHERE dep.classid = 'pg_class'::regclass AND a.attrelid = dep.objid
                                  AND a.attnum > 0 AND NOT a.attisdropped), '')
           || coalesce(' constraints ' || (SELECT md5(string_agg(co.conname || ' ' || pg_get_constraintdef(co.oid), ', '
                                                            ORDER BY co.conname))
                                             FROM pg_constraint co
                                            WHERE dep.classid = 'pg_class'::regclass AND co.conrelid = dep.objid), '')
           || coalesce(' acl ' || (SELECT md5(c.relacl::text) FROM pg_class c
                                    WHERE dep.classid = 'pg_class'::regclass AND c.oid = dep.objid), '')
           || coalesce(' acl ' || (SELECT md5(p.proacl::text) FROM pg_proc p
                                    WHERE dep.classid = 'pg_proc'::regclass AND p.oid = dep.objid), '')
           || coalesce(' comment ' || md5(obj_description(dep.objid, (SELECT relname FROM pg_class
                                                                       WHERE oid = dep.classid))), '') AS d
      FROM pg_depend dep
     WHERE dep.refclassid = 'pg_extension'::regclass AND dep.deptype = 'e'
       AND dep.refobjid = (SELECT oid FROM pg_extension WHERE extname = 'mangopay_fdw')
       -- a table's row type and its array go with the table (members of their own from 17)
       AND NOT (dep.classid = 'pg_type'::regclass
                AND EXISTS (SELECT 1 FROM pg_type ty LEFT JOIN pg_type el ON el.oid = ty.typelem
                             WHERE ty.oid = dep.objid AND (ty.typrelid <> 0 OR el.typrelid <> 0)))
    UNION ALL    -- the tables whose rows pg_dump keeps (pg_extension_config_dump)
    SELECT 'config table ' || c::regclass::text || ' where ' || coalesce(w, '')
      FROM pg_extension e, unnest(e.extconfig, e.extcondition) AS u(c, w)
     WHERE e.extname = 'mangopay_fdw') x $q$ AS q;

-- 0.1, as a user had it
SELECT t.in_db('up', $$CREATE EXTENSION mangopay_fdw VERSION '0.1'; SELECT extversion FROM pg_extension WHERE extname = 'mangopay_fdw'$$);
SELECT t.in_db('up', $$SELECT count(*) FROM pg_proc WHERE proname = 'mangopay_fdw_sync'$$) AS sync_in_01;
SELECT t.in_db('up', $$
  CREATE SERVER mangopay FOREIGN DATA WRAPPER mangopay_fdw
    OPTIONS (environment 'sandbox', api_url 'http://127.0.0.1:18089', max_concurrency '2');
  CREATE USER MAPPING FOR CURRENT_USER SERVER mangopay
    OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
  CREATE SCHEMA mangopay;
  IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes, transactions) FROM SERVER mangopay INTO mangopay;
  CREATE MATERIALIZED VIEW disputes_30d AS SELECT id, status FROM mangopay.disputes
    WHERE creation_date >= now() - interval '30 days';
  SELECT 'ok'$$) AS used;
SELECT now() - interval '20 days' AS lo, now() - interval '10 days' AS hi \gset
SELECT format($$SELECT md5(string_agg(id || status || coalesce(disputed_funds_amount::text, ''), ',' ORDER BY id))
                 || ' ' || count(*) FROM mangopay.disputes WHERE creation_date >= %L AND creation_date < %L$$,
              :'lo', :'hi') AS q_disputes,
       format($$SELECT md5(string_agg(id || status || debited_funds_amount, ',' ORDER BY id))
                 || ' ' || count(*) FROM mangopay.transactions WHERE creation_date >= %L AND creation_date < %L$$,
              :'lo', :'hi') AS q_transactions \gset
SELECT t.in_db('up', :'q_disputes') AS disputes_01 \gset
SELECT t.in_db('up', :'q_transactions') AS transactions_01 \gset
SELECT t.in_db('up', 'SELECT count(*) FROM disputes_30d') AS mv_rows_01 \gset

-- the update
SELECT t.in_db('up', $$ALTER EXTENSION mangopay_fdw UPDATE; SELECT extversion FROM pg_extension WHERE extname = 'mangopay_fdw'$$)
  = (SELECT default_version FROM pg_available_extensions WHERE name = 'mangopay_fdw') AS updated_to_default;
SELECT t.in_db('up', :'q_disputes') = :'disputes_01' AS same_disputes,
       t.in_db('up', :'q_transactions') = :'transactions_01' AS same_transactions,
       split_part(:'disputes_01', ' ', 2)::int > 0 AS some_disputes,
       split_part(:'transactions_01', ' ', 2)::int > 0 AS some_transactions;
SELECT t.in_db('up', 'REFRESH MATERIALIZED VIEW disputes_30d; SELECT count(*) FROM disputes_30d') = :'mv_rows_01' AS mv_refreshes;
-- the objects match a fresh install of the current version, one by one
SELECT t.in_db('fresh', 'CREATE EXTENSION mangopay_fdw; SELECT extversion FROM pg_extension WHERE extname = ''mangopay_fdw''')
  = (SELECT default_version FROM pg_available_extensions WHERE name = 'mangopay_fdw') AS fresh_default;
SELECT t.in_db('up', q) = t.in_db('fresh', q) AS same_objects,
       array_length(string_to_array(t.in_db('fresh', q), E'\n'), 1) AS objects
  FROM t.ext_objects_q;
SELECT x AS only_in_one FROM (
  (SELECT unnest(string_to_array(t.in_db('up', q), E'\n')) FROM t.ext_objects_q
   EXCEPT SELECT unnest(string_to_array(t.in_db('fresh', q), E'\n')) FROM t.ext_objects_q)
  UNION ALL
  (SELECT unnest(string_to_array(t.in_db('fresh', q), E'\n')) FROM t.ext_objects_q
   EXCEPT SELECT unnest(string_to_array(t.in_db('up', q), E'\n')) FROM t.ext_objects_q)) d(x);
-- and what 0.2 added works in the updated database
SELECT t.in_db('up', $$
  CREATE TABLE books_disputes (id text PRIMARY KEY, creation_date timestamptz, status text);
  CALL mangopay_fdw_sync('mangopay.disputes', 'books_disputes', since => now() - interval '20 days');
  SELECT last_inserted = (SELECT count(*) FROM books_disputes) AND last_inserted > 0 FROM mangopay_fdw_sync_state$$) AS sync_works;
-- and what 0.3 added: the shared rate budget, with the calls made above
SELECT t.in_db('up', $$SELECT count(*) FROM mangopay_fdw_rate_limits()
  WHERE api_url = 'http://127.0.0.1:18089' AND client_id = 'acme-test' AND calls_total > 0$$) AS rate_limits_works;
-- and the extension goes back down to nothing cleanly
SELECT t.in_db('up', 'DROP EXTENSION mangopay_fdw CASCADE; SELECT count(*) FROM pg_class WHERE relname = ''mangopay_fdw_sync_state''') AS state_table_after_drop;
-- 0.2, updated: the same objects as a fresh install too
SELECT t.in_db('up', $$CREATE EXTENSION mangopay_fdw VERSION '0.2'; ALTER EXTENSION mangopay_fdw UPDATE;
  SELECT extversion FROM pg_extension WHERE extname = 'mangopay_fdw'$$)
  = (SELECT default_version FROM pg_available_extensions WHERE name = 'mangopay_fdw') AS updated_from_02;
SELECT t.in_db('up', q) = t.in_db('fresh', q) AS same_objects_from_02 FROM t.ext_objects_q;

-- 0.3, updated: the same objects as a fresh install too
SELECT t.in_db('up', $$DROP EXTENSION mangopay_fdw CASCADE; CREATE EXTENSION mangopay_fdw VERSION '0.3'; ALTER EXTENSION mangopay_fdw UPDATE;
  SELECT extversion FROM pg_extension WHERE extname = 'mangopay_fdw'$$)
  = (SELECT default_version FROM pg_available_extensions WHERE name = 'mangopay_fdw') AS updated_from_03;
SELECT t.in_db('up', q) = t.in_db('fresh', q) AS same_objects_from_03 FROM t.ext_objects_q;

SELECT dblink_disconnect('up'), dblink_disconnect('fresh');
DROP DATABASE mangopay_fdw_upgrade;
DROP DATABASE mangopay_fdw_fresh;
RESET client_min_messages;
