/* mangopay_fdw--0.2--0.3.sql: the shared rate budget (mangopay_fdw_rate_limits) */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mangopay_fdw UPDATE TO '0.3'" to load this file. \quit

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
