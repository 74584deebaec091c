--
-- security: who may read or change what, and what the backend may fetch
-- (issue 24, items 9 to 12)
--
SELECT t.mock('reset') ->> 'ok' AS reset;
CREATE VIEW t.sec_downloads AS
  SELECT r ->> 'path' AS path, (r ->> 'status')::int AS status FROM t.requests() r
  WHERE r ->> 'path' LIKE '%.csv';

-- ------------------------------------------------------------------
-- 11. a report's DownloadURL: https only (http only on loopback when the
-- api_url is itself http on loopback), and what answered is described,
-- never quoted
-- ------------------------------------------------------------------
-- an API on https sends a plain-http link to a port of this machine: refused
CREATE SERVER mp_sec_tls FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (api_url 'https://127.0.0.1:18443', ca_file '/tmp/mangopay_fdw_test/certs/ca.crt', report_poll_ms '100');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_sec_tls
  OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE FOREIGN TABLE sec_tls_tx (id text, creation_date timestamptz)
  SERVER mp_sec_tls OPTIONS (resource 'transactions');
SELECT t.err('SELECT count(*) FROM sec_tls_tx WHERE creation_date >= now() - interval ''10 days''', true);
SELECT count(*) AS downloads_tried FROM t.sec_downloads;
DROP SERVER mp_sec_tls CASCADE;
-- links to another scheme or host, with an http api_url on loopback: refused
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"download_url_base":"ftp://127.0.0.1:18090"}') -> 'config' ->> 'download_url_base' AS base;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''');
SELECT t.mock('config', '{"download_url_base":"http://10.11.12.13:18090"}') -> 'config' ->> 'download_url_base' AS base;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''');
SELECT t.mock('config', '{"download_url_base":"file://"}') -> 'config' ->> 'download_url_base' AS base;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''');
SELECT count(*) AS downloads_tried FROM t.sec_downloads;
-- a link to another service of this machine (here the API port): what
-- answered is described (status, type, length), its body never quoted
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('config', '{"download_url_base":"http://127.0.0.1:18089/v2.01/acme-test/users"}') -> 'config' ->> 'download_url_base' AS base;
SELECT regexp_replace(regexp_replace(t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true),
                      '\d+ bytes', 'N bytes'), 'GET /[^ ,]*\.csv', 'GET <file>.csv') AS err;
-- the download host's own error page: not quoted either
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","port":"download","kind":"status","status":404,"body":"<Error>secret-marker-7c1f of the host</Error>","content_type":"application/xml"}]}') ->> 'ok' AS armed;
SELECT regexp_replace(t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true),
                      'GET /[^ ,]*\.csv', 'GET <file>.csv') AS err;
-- a page served with 200 instead of the CSV: described, not quoted
SELECT t.mock('reset') ->> 'ok' AS reset;
SELECT t.mock('faults', '{"faults":[{"path":"\\.csv$","port":"download","kind":"status","status":200,"body":"secret-marker-7c1f,b,c\n1,2,3\n","content_type":"text/plain"}]}') ->> 'ok' AS armed;
SELECT t.err('SELECT count(*) FROM mangopay.transactions WHERE creation_date >= now() - interval ''10 days''', true);
SELECT t.mock('reset') ->> 'ok' AS reset;

-- ------------------------------------------------------------------
-- 12. the key in a file (api_key_file), not in the catalog
-- ------------------------------------------------------------------
-- the key file, written from the existing mapping (the key is never in this file)
CREATE FUNCTION t.write_file(path text, content text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('COPY (SELECT %L) TO %L', content, path);
END $$;
SELECT t.write_file('/tmp/mangopay_fdw_test/sec.key', option_value)
FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver,
     pg_options_to_table(um.umoptions)
WHERE s.srvname = 'mangopay' AND um.umuser = 'postgres'::regrole AND option_name = 'api_key';
CREATE SERVER mp_sec_file FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://127.0.0.1:18089');
-- exactly one of api_key and api_key_file; an absolute path
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_sec_file
  OPTIONS (client_id 'acme-test', api_key 'k', api_key_file '/tmp/mangopay_fdw_test/sec.key');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_sec_file
  OPTIONS (client_id 'acme-test', api_key_file 'sec.key');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (client_id 'acme-test');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_sec_file
  OPTIONS (client_id 'acme-test', api_key_file '/tmp/mangopay_fdw_test/sec.key');
-- the catalog holds the path, not the key
SELECT umoptions FROM pg_user_mappings WHERE srvname = 'mp_sec_file';
CREATE FOREIGN TABLE sec_file_disputes (id text) SERVER mp_sec_file OPTIONS (resource 'disputes');
SELECT count(*) = (SELECT count(*) FROM t.truth('disputes')) AS exact FROM sec_file_disputes;
-- a new key in the file is read without DDL (here a wrong one: the token
-- fetched with the old key is dropped, the API refuses the new key)
SELECT t.write_file('/tmp/mangopay_fdw_test/sec.key', 'sk-wrong-key-of-another-length');
SELECT t.err('SELECT count(*) FROM sec_file_disputes');
SELECT t.err('SELECT count(*) FROM sec_file_disputes') LIKE '%sk-wrong%' AS key_in_message;
-- and the right one again
SELECT t.write_file('/tmp/mangopay_fdw_test/sec.key', option_value)
FROM pg_user_mapping um JOIN pg_foreign_server s ON s.oid = um.umserver,
     pg_options_to_table(um.umoptions)
WHERE s.srvname = 'mangopay' AND um.umuser = 'postgres'::regrole AND option_name = 'api_key';
SELECT count(*) = (SELECT count(*) FROM t.truth('disputes')) AS exact_again FROM sec_file_disputes;
-- files that hold no key: an ERROR that never quotes the file
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (SET api_key_file '/tmp/mangopay_fdw_test/no-such.key');
SELECT t.err('SELECT count(*) FROM sec_file_disputes');
SELECT t.write_file('/tmp/mangopay_fdw_test/empty.key', '');
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (SET api_key_file '/tmp/mangopay_fdw_test/empty.key');
SELECT t.err('SELECT count(*) FROM sec_file_disputes', true);
SELECT t.write_file('/tmp/mangopay_fdw_test/big.key', 'secret-marker-' || repeat('x', 5000));
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (SET api_key_file '/tmp/mangopay_fdw_test/big.key');
SELECT t.err('SELECT count(*) FROM sec_file_disputes', true);
SELECT t.write_file('/tmp/mangopay_fdw_test/two.key', 'secret-marker-1 secret-marker-2');
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (SET api_key_file '/tmp/mangopay_fdw_test/two.key');
SELECT t.err('SELECT count(*) FROM sec_file_disputes', true);
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (SET api_key_file '/tmp/mangopay_fdw_test');
SELECT t.err('SELECT count(*) FROM sec_file_disputes', true);
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (SET api_key_file '/tmp/mangopay_fdw_test/sec.key');

-- ------------------------------------------------------------------
-- 10. superuser-only options (api_url, ca_file, api_key_file): a role
-- that is not superuser may not set, change or drop them, and keeps the
-- other options of what it owns
-- ------------------------------------------------------------------
CREATE ROLE mp_sec_owner;
GRANT USAGE ON FOREIGN DATA WRAPPER mangopay_fdw TO mp_sec_owner;
ALTER SERVER mp_sec_file OWNER TO mp_sec_owner;
CREATE USER MAPPING FOR mp_sec_owner SERVER mp_sec_file
  OPTIONS (client_id 'acme-test', api_key_file '/tmp/mangopay_fdw_test/sec.key');
GRANT SELECT ON sec_file_disputes TO mp_sec_owner;
SELECT count(*) AS n_disputes FROM t.truth('disputes') \gset
SET ROLE mp_sec_owner;
-- the owner's options stay its own
ALTER SERVER mp_sec_file OPTIONS (ADD page_size '50');
ALTER SERVER mp_sec_file OPTIONS (SET page_size '100', ADD max_retries '2');
-- the key file the superuser set is read for this role too
SELECT count(*) = :n_disputes AS exact_as_owner FROM sec_file_disputes;
-- api_url: not dropped, not changed, not added back under another value
ALTER SERVER mp_sec_file OPTIONS (DROP api_url);
ALTER SERVER mp_sec_file OPTIONS (SET api_url 'http://127.0.0.1:18090');
ALTER SERVER mp_sec_file OPTIONS (DROP api_url, ADD environment 'production');
ALTER SERVER mp_sec_file OPTIONS (ADD ca_file '/etc/passwd');
BEGIN;
ALTER SERVER mp_sec_file OPTIONS (DROP api_url);
COMMIT;
-- its own mapping: client_id may change, api_key_file may not (nor be swapped for api_key)
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (SET client_id 'acme-test');
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (SET api_key_file '/etc/ssl/private/ssl-cert-snakeoil.key');
ALTER USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (DROP api_key_file, ADD api_key 'k');
DROP USER MAPPING FOR CURRENT_USER SERVER mp_sec_file;
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_sec_file
  OPTIONS (client_id 'acme-test', api_key_file '/tmp/mangopay_fdw_test/sec.key');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_sec_file OPTIONS (client_id 'acme-test', api_key 'k');
ALTER SERVER mp_sec_file RENAME TO mp_sec_file2;
ALTER SERVER mp_sec_file2 RENAME TO mp_sec_file;
-- the validator called from a query: it checks the options given, writes
-- nothing, and the transaction commits (a DDL's call is still checked)
BEGIN;
SELECT count(*) AS validated FROM (SELECT mangopay_fdw_validator('{api_url=http://127.0.0.1:18090,page_size=50}', 'pg_foreign_server'::regclass)) x;
COMMIT;
SELECT mangopay_fdw_validator('{page_size=zero}', 'pg_foreign_server'::regclass);
RESET ROLE;
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'mp_sec_file';
-- a superuser may
ALTER SERVER mp_sec_file OPTIONS (SET api_url 'http://localhost:18089');
SELECT srvoptions FROM pg_foreign_server WHERE srvname = 'mp_sec_file';

-- ------------------------------------------------------------------
-- 9. mangopay_fdw_rate_limits(): pg_monitor sees every budget, another
-- role the budgets of the (api_url, client_id) it can call through
-- ------------------------------------------------------------------
SELECT count(*) AS all_budgets FROM mangopay_fdw_rate_limits() \gset
SELECT :all_budgets >= 2 AS several_budgets;
CREATE ROLE mp_sec_mon IN ROLE pg_monitor;
CREATE ROLE mp_sec_user;
CREATE ROLE mp_sec_none;
GRANT USAGE ON FOREIGN SERVER mangopay TO mp_sec_user;
CREATE USER MAPPING FOR mp_sec_user SERVER mangopay OPTIONS (client_id 'acme-test', api_key 'k');
SET ROLE mp_sec_mon;
SELECT count(*) = :all_budgets AS monitor_sees_all FROM mangopay_fdw_rate_limits();
SET ROLE mp_sec_user;
SELECT api_url, client_id, calls_total > 0 AS called FROM mangopay_fdw_rate_limits();
SET ROLE mp_sec_none;
SELECT count(*) AS budgets_seen FROM mangopay_fdw_rate_limits();
RESET ROLE;
-- USAGE without a user mapping shows nothing either
DROP USER MAPPING FOR mp_sec_user SERVER mangopay;
SET ROLE mp_sec_user;
SELECT count(*) AS budgets_seen FROM mangopay_fdw_rate_limits();
RESET ROLE;
REVOKE USAGE ON FOREIGN SERVER mangopay FROM mp_sec_user;
DROP ROLE mp_sec_mon, mp_sec_user, mp_sec_none;

DROP SERVER mp_sec_file CASCADE;
REVOKE USAGE ON FOREIGN DATA WRAPPER mangopay_fdw FROM mp_sec_owner;
DROP ROLE mp_sec_owner;
