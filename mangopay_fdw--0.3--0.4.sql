/* mangopay_fdw--0.3--0.4.sql: see the sections below, one per change */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION mangopay_fdw UPDATE TO '0.4'" to load this file. \quit
