/* mangopay_fdw--0.1.sql */

-- complain if script is sourced in psql, rather than via CREATE EXTENSION
\echo Use "CREATE EXTENSION mangopay_fdw" to load this file. \quit

CREATE FUNCTION mangopay_fdw_handler()
RETURNS fdw_handler
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FUNCTION mangopay_fdw_validator(text[], oid)
RETURNS void
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT;

CREATE FOREIGN DATA WRAPPER mangopay_fdw
  HANDLER mangopay_fdw_handler
  VALIDATOR mangopay_fdw_validator;

CREATE FUNCTION mangopay_fdw_version()
RETURNS text
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

CREATE FUNCTION mangopay_fdw_stats(
  OUT counter text,
  OUT value bigint)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT VOLATILE;

COMMENT ON FUNCTION mangopay_fdw_stats() IS
  'this backend''s mangopay_fdw counters: requests, retries, rate-limited responses, bytes, tokens, reports, last X-RateLimit-Remaining per window';

CREATE FUNCTION mangopay_fdw_columns(
  OUT table_name text,
  OUT ordinal integer,
  OUT column_name text,
  OUT column_type text,
  OUT api_field text,
  OUT pushdown text,
  OUT endpoint text)
RETURNS SETOF record
AS 'MODULE_PATHNAME'
LANGUAGE C STRICT IMMUTABLE;

COMMENT ON FUNCTION mangopay_fdw_columns() IS
  'every table and column mangopay_fdw maps, the MangoPay field it reads and what of a WHERE clause on it is sent to the API';
