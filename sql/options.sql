--
-- options: every option of the contract is validated where it is set
--
-- unknown option, with the valid ones in a HINT
CREATE SERVER bad1 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (enviroment 'sandbox');
-- bad values
CREATE SERVER bad2 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (environment 'staging');
CREATE SERVER bad3 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (page_size '101');
CREATE SERVER bad4 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (page_size '0');
CREATE SERVER bad5 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (max_concurrency 'four');
CREATE SERVER bad6 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (max_retries '-1');
CREATE SERVER bad7 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (use_remote_estimate 'maybe');
CREATE SERVER bad8 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (request_timeout_ms '');
-- api_url: https required except on loopback, no credentials in it
CREATE SERVER bad9 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://api.mangopay.com');
CREATE SERVER bad10 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'ftp://127.0.0.1/');
CREATE SERVER bad11 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'https://user:pw@proxy.example/');
CREATE SERVER bad12 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://10.0.0.1:8080');
CREATE SERVER ok1 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://localhost:1/');
CREATE SERVER ok2 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://[::1]:1', page_size '100', max_concurrency '8');
CREATE SERVER ok3 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (environment 'production', api_url 'https://proxy.example/mangopay');
-- secrets only in user mappings
CREATE SERVER bad13 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_key 'not-the-real-one');
CREATE SERVER bad14 FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (client_id 'acme');
ALTER SERVER ok1 OPTIONS (ADD api_key 'not-the-real-one');
CREATE FOREIGN TABLE bad_t (id text) SERVER ok1 OPTIONS (resource 'disputes', api_key 'x');
-- options in the wrong catalog
CREATE USER MAPPING FOR CURRENT_USER SERVER ok1 OPTIONS (client_id 'a', api_key 'b', page_size '5');
CREATE FOREIGN TABLE bad_t (id text) SERVER ok1 OPTIONS (resource 'disputes', page_size '5');
CREATE FOREIGN DATA WRAPPER other_fdw HANDLER mangopay_fdw_handler VALIDATOR mangopay_fdw_validator OPTIONS (page_size '5');
-- user mapping needs both client_id and api_key
CREATE USER MAPPING FOR CURRENT_USER SERVER ok1 OPTIONS (client_id 'a');
CREATE USER MAPPING FOR CURRENT_USER SERVER ok1 OPTIONS (api_key 'not-the-real-one');
CREATE USER MAPPING FOR CURRENT_USER SERVER ok1 OPTIONS (client_id 'a', api_key 'not-the-real-one');
ALTER USER MAPPING FOR CURRENT_USER SERVER ok1 OPTIONS (DROP api_key);
-- tables need a known resource; columns take only "field"
CREATE FOREIGN TABLE bad_t (id text) SERVER ok1;
CREATE FOREIGN TABLE bad_t (id text) SERVER ok1 OPTIONS (resource 'cards');
CREATE FOREIGN TABLE bad_t (id text OPTIONS (fieldname 'Id')) SERVER ok1 OPTIONS (resource 'disputes');
CREATE FOREIGN TABLE good_t (id text OPTIONS (field 'Id'), amount numeric OPTIONS (field 'DisputedFunds.Amount'))
  SERVER ok1 OPTIONS (resource 'disputes');
ALTER FOREIGN TABLE good_t OPTIONS (DROP resource);
-- api_url and ca_file are superuser-only
CREATE ROLE mp_user;
GRANT USAGE ON FOREIGN DATA WRAPPER mangopay_fdw TO mp_user;
SET ROLE mp_user;
CREATE SERVER user_srv FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://127.0.0.1:18089');
CREATE SERVER user_srv FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (ca_file '/etc/passwd');
CREATE SERVER user_srv FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (environment 'sandbox');
ALTER SERVER user_srv OPTIONS (ADD api_url 'http://127.0.0.1:18089');
DROP SERVER user_srv;
RESET ROLE;
-- other roles cannot read a user mapping's options
CREATE USER MAPPING FOR mp_user SERVER ok1 OPTIONS (client_id 'a', api_key 'not-the-real-one');
SET ROLE mp_user;
SELECT srvname, umoptions FROM pg_user_mappings WHERE srvname = 'ok1' ORDER BY usename;
RESET ROLE;
-- a table whose server has no user mapping for the current role
DROP USER MAPPING FOR mp_user SERVER ok1;
GRANT SELECT ON good_t TO mp_user;
SET ROLE mp_user;
-- (PostgreSQL's message; from 17 it also names the server: the SQLSTATE only)
\set VERBOSITY sqlstate
SELECT * FROM good_t;
\set VERBOSITY default
RESET ROLE;
DROP FOREIGN TABLE good_t;
DROP SERVER ok1 CASCADE;
DROP SERVER ok2, ok3;
REVOKE USAGE ON FOREIGN DATA WRAPPER mangopay_fdw FROM mp_user;
DROP ROLE mp_user;
