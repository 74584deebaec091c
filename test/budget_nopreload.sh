#!/usr/bin/env bash
# test/budget_nopreload.sh — run by sql/budget.sql (psql \!): a second,
# small cluster without mangopay_fdw in shared_preload_libraries.  Before
# PostgreSQL 17 a session goes on by itself as before and says so in a
# NOTICE, once; from 17 the DSM registry shares the budget.  Prints
# lines that are the same on every version.
set -u
bin=${MP_BINDIR:?}
dir=$(mktemp -d /tmp/mp_nopreload.XXXXXX)
port=$((${PGPORT:-54329} + 11))
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chmod 755 "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null 2>&1 || { echo "initdb failed"; exit 0; }
printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\n" "$port" "$dir" >>"$dir/data/postgresql.conf"
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null 2>&1 || { echo "start failed"; cat "$dir/log"; exit 0; }
psql() { as_pg "$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres "$@"; }
out=$(psql -At 2>&1 <<'SQL'
CREATE EXTENSION mangopay_fdw;
CREATE SERVER mp FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url 'http://127.0.0.1:18089');
CREATE USER MAPPING FOR CURRENT_USER SERVER mp OPTIONS (client_id 'acme-test', api_key 'sk-test-6f1e0c2a9b8d47e3a5c4');
CREATE FOREIGN TABLE disputes (id text) SERVER mp OPTIONS (resource 'disputes');
SELECT 'rows ' || count(*) FROM disputes;
SELECT 'rows again ' || count(*) FROM disputes;
SELECT 'budget rows ' || count(*) FROM mangopay_fdw_rate_limits();
SELECT 'version ' || (current_setting('server_version_num')::int >= 170000);
SQL
)
v17=$(echo "$out" | grep -c '^version true')
notices=$(echo "$out" | grep -c "NOTICE:  mangopay_fdw's rate budget is not shared")
truth=$(curl -sf http://127.0.0.1:18089/__mock/truth/disputes | grep -c .)
echo "no preload: rows exact: $([ "$(echo "$out" | grep -c "^rows $truth\$")" = 1 ] && [ "$(echo "$out" | grep -c "^rows again $truth\$")" = 1 ] && echo yes || echo "no: $out")"
if [ "$v17" = 1 ]; then
	# the DSM registry: shared, one budget row, no NOTICE
	echo "no preload: as expected: $([ "$notices" = 0 ] && echo "$out" | grep -q '^budget rows 1$' && echo yes || echo "no: $out")"
else
	# per session as before: one NOTICE, no shared rows
	echo "no preload: as expected: $([ "$notices" = 1 ] && echo "$out" | grep -q '^budget rows 0$' && echo yes || echo "no: $out")"
fi
as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
rm -rf "$dir"
