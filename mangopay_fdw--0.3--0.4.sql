/* mangopay_fdw--0.3--0.4.sql: see the sections below, one per change */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mangopay_fdw UPDATE TO '0.4'" to load this file. \quit

-- issue 24 (who may read what): mangopay_fdw_rate_limits() shows pg_monitor
-- every budget, another role only the budgets it can call through
COMMENT ON FUNCTION mangopay_fdw_rate_limits() IS
  'the shared MangoPay rate budget per client id: limit, known remaining calls and reset per window (15 min, 30 min, 1 h, 24 h), calls this cluster made in each window, calls in flight, backends waiting; members of pg_monitor see every (api_url, client_id), another role those of the user mappings it would use on the mangopay_fdw servers it has USAGE on';
