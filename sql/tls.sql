--
-- tls: the mock's HTTPS port with the test CA (test/mock/gen_certs.sh);
-- verification can't be turned off, a wrong CA or host name fails
--
CREATE SERVER mp_tls FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (api_url 'https://127.0.0.1:18443', ca_file '/tmp/mangopay_fdw_test/certs/ca.crt', max_retries '0');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp_tls
  OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE FOREIGN TABLE tls_wallets (id text, balance_amount bigint) SERVER mp_tls OPTIONS (resource 'client_wallets');
SELECT count(*) = (SELECT count(*) FROM t.truth('client_wallets')) AS over_tls FROM tls_wallets;
-- by host name (the certificate names localhost too)
ALTER SERVER mp_tls OPTIONS (SET api_url 'https://localhost:18443');
SELECT count(*) > 0 AS by_name FROM tls_wallets;
-- a CA that did not sign the certificate
ALTER SERVER mp_tls OPTIONS (SET ca_file '/tmp/mangopay_fdw_test/certs/other-ca.crt');
SELECT count(*) FROM tls_wallets;
-- the system store does not know the test CA either
ALTER SERVER mp_tls OPTIONS (DROP ca_file);
SELECT count(*) FROM tls_wallets;
-- a certificate that expired (port 18444), or names another host (18445)
ALTER SERVER mp_tls OPTIONS (SET api_url 'https://127.0.0.1:18444', ADD ca_file '/tmp/mangopay_fdw_test/certs/ca.crt');
SELECT t.err('SELECT count(*) FROM tls_wallets') LIKE 'HV00N: could not connect securely%' AS expired_refused;
ALTER SERVER mp_tls OPTIONS (SET api_url 'https://127.0.0.1:18445');
SELECT t.err('SELECT count(*) FROM tls_wallets') LIKE 'HV00N: could not connect securely%' AS wrong_host_refused;
ALTER SERVER mp_tls OPTIONS (DROP ca_file);
-- a CA file that does not exist
ALTER SERVER mp_tls OPTIONS (ADD ca_file '/nonexistent/ca.crt');
SELECT t.err('SELECT count(*) FROM tls_wallets') LIKE 'HV00N: %' AS refused;
DROP SERVER mp_tls CASCADE;
