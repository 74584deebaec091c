#!/usr/bin/env bash
# test/citus.sh — mangopay_fdw on Citus (doc/operations.md, "Beyond one
# machine"), run inside test/isolate.sh:
#
#   bash test/citus.sh      (it runs itself inside test/isolate.sh)
#
# Builds Citus from ../shared/citus once per machine (test/citusbuild.sh)
# against the PostgreSQL 17 (or MP_PGVER=18) tree of test/pgbuild.sh, starts
# the mock, a coordinator and two workers on this machine, and checks the
# documented recipe:
#  1. the extension, servers and user mappings of two client ids created on
#     the coordinator (Citus propagates them);
#  2. imports of both client ids into a table distributed by client id with
#     INSERT ... SELECT, exact against the mock's ground truth;
#  3. mangopay_fdw_sync into that table keyed (client, id) — when
#     mangopay_fdw_sync has key_columns (else reported as pending);
#  4. a reference table of MangoPay lookups, on every node;
#  5. a foreign table added to Citus's metadata, read from a worker;
#  6. a worker restarted in the middle of an import: the import fails whole,
#     its retry is exact, nothing lost or doubled.
# Prints one "citus: ..." line per check (ok or FAIL) and the figures (rows,
# seconds, API calls per client id); exits 1 on a failure.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# its own network, ports and copy of the PostgreSQL tree's extension files
if [ "${MP_ISOLATE_INSIDE:-0}" != 1 ] && [ "${MP_CITUS_REEXEC:-0}" != 1 ]; then
	MP_CITUS_REEXEC=1 exec bash test/isolate.sh bash "$0" "$@"
fi
export MP_PGVER=${MP_PGVER:-17}
MP_PRELOAD=mangopay_fdw
. test/lib.sh
t_start=$(date +%s.%N)
export PGOPTIONS='-c client_min_messages=warning'	# not the sync's NOTICEs
fail=0
check() {	# check NAME CONDITION-OUTPUT EXPECTED
	if [ "$2" = "$3" ]; then echo "citus: $1: ok"; else echo "citus: $1: FAIL (got '$2', want '$3')"; fail=1; fi
}

mp_use_pg "$MP_PGVER" || exit 1
citus=$(bash test/citusbuild.sh "$MP_PG_CONFIG") || exit 1
# the Citus files into this run's private copy of the tree (test/isolate.sh;
# where unshare is not permitted, into the tree itself)
pkglib=$("$MP_PG_CONFIG" --pkglibdir); share=$("$MP_PG_CONFIG" --sharedir)
cp -a "$citus$pkglib/." "$pkglib/" && cp -a "$citus$share/extension/." "$share/extension/" || exit 1
mp_build || exit 1

# the mock, with two client ids
MP_TESTDIR=/tmp/mp_citus
export PGHOST=$MP_TESTDIR/sock
mp_stop_env; rm -rf "$MP_TESTDIR"; mkdir -p "$MP_TESTDIR/sock"; chmod 755 "$MP_TESTDIR"
chown postgres "$MP_TESTDIR" "$MP_TESTDIR/sock"
mock=http://127.0.0.1:$MP_MOCK_PORT
# (on a loaded machine the mock takes longer than mp_start_mock waits)
mp_start_mock 2>/dev/null || for _ in $(seq 1 600); do curl -sf "$mock/__mock/health" >/dev/null && break; sleep 0.1; done
curl -sf "$mock/__mock/health" >/dev/null || { echo "citus: the mock did not start"; cat "$MP_TESTDIR/mock.out"; exit 1; }
ctl() { curl -sf -X POST "$mock/__mock/$1" -H 'Content-Type: application/json' -d "${2:-{\}}" >/dev/null; }
ctl reset
ctl config '{"clients": {"acme": "key-acme", "globex": "key-globex"}}'

# a coordinator (port 55400) and two workers (55401, 55402)
bin=$(mp_pgbin)
start_node() {
	local port=$1 d=$MP_TESTDIR/node$1
	mp_as_postgres "$bin/initdb" -D "$d" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null || return 1
	cat >> "$d/postgresql.conf" <<CONF
port = $port
listen_addresses = 'localhost'
unix_socket_directories = '$MP_TESTDIR/sock'
fsync = off
shared_preload_libraries = 'citus,mangopay_fdw'
citus.node_conninfo = 'sslmode=disable'
max_prepared_transactions = 20
CONF
	mp_as_postgres "$bin/pg_ctl" -D "$d" -l "$MP_TESTDIR/node$port.log" -w start >/dev/null
}
q() { local port=$1; shift; "$bin/psql" -X -q -v ON_ERROR_STOP=1 -At -h "$MP_TESTDIR/sock" -p "$port" -U postgres -d postgres "$@"; }
for p in 55400 55401 55402; do start_node $p || { echo "citus: node $p did not start"; cat "$MP_TESTDIR/node$p.log"; exit 1; }; done
for p in 55400 55401 55402; do q $p -c 'CREATE EXTENSION citus' || exit 1; done
q 55400 >/dev/null <<'SQL' || exit 1
SELECT citus_set_coordinator_host('localhost', 55400);
SELECT citus_add_node('localhost', 55401);
SELECT citus_add_node('localhost', 55402);
SQL
check "two workers" "$(q 55400 -c 'SELECT count(*) FROM citus_get_active_worker_nodes()')" 2

# 1. the extension, one server and user mapping per client id, their tables
q 55400 <<SQL || exit 1
CREATE EXTENSION mangopay_fdw;
CREATE SERVER mp_acme FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url '$mock');
CREATE USER MAPPING FOR postgres SERVER mp_acme OPTIONS (client_id 'acme', api_key 'key-acme');
CREATE SERVER mp_globex FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url '$mock');
CREATE USER MAPPING FOR postgres SERVER mp_globex OPTIONS (client_id 'globex', api_key 'key-globex');
CREATE SCHEMA mp_acme;
CREATE SCHEMA mp_globex;
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes, events, client_wallets) FROM SERVER mp_acme INTO mp_acme;
IMPORT FOREIGN SCHEMA mangopay LIMIT TO (disputes, events) FROM SERVER mp_globex INTO mp_globex;
SQL
check "extension on the workers" "$(q 55401 -c "SELECT count(*) FROM pg_extension WHERE extname = 'mangopay_fdw'")" 1
echo "citus: figures: on a worker: $(q 55402 -c "SELECT count(*) FROM pg_foreign_server WHERE srvname LIKE 'mp\_%'") of 2 servers, $(q 55402 -c "SELECT count(*) FROM pg_user_mappings WHERE srvname LIKE 'mp\_%'") of 2 user mappings, $(q 55402 -c "SELECT count(*) FROM pg_foreign_table") of 5 foreign tables"

# ground truth
truth_n=$(curl -sf "$mock/__mock/truth/disputes" | grep -c .)
truth_ids=$(curl -sf "$mock/__mock/truth/disputes" | python3 -c "
import json, sys, hashlib
ids = sorted(json.loads(l)['Id'] for l in sys.stdin if l.strip())
print(hashlib.md5(','.join(ids).encode()).hexdigest())")
wallets_n=$(curl -sf "$mock/__mock/truth/client_wallets" | grep -c .)
# API calls per client id, from the mock's log
calls() { curl -sf "$mock/__mock/requests" | python3 -c "
import json, sys
print(sum(1 for r in json.load(sys.stdin) if r.get('client') == sys.argv[1]))" "$1"; }

# 2. the distributed table, imported per client id
t0=$(date +%s.%N)
q 55400 >/dev/null <<'SQL' || exit 1
CREATE TABLE disputes_all (
  client text NOT NULL, id text NOT NULL, status text, dispute_type text,
  creation_date timestamptz, PRIMARY KEY (client, id));
SELECT create_distributed_table('disputes_all', 'client');
INSERT INTO disputes_all SELECT 'acme', id, status, dispute_type, creation_date FROM mp_acme.disputes;
INSERT INTO disputes_all SELECT 'globex', id, status, dispute_type, creation_date FROM mp_globex.disputes;
SQL
t1=$(date +%s.%N)
per_client=$(q 55400 -c "SELECT string_agg(client || ' ' || n || ' ' || ids, ', ' ORDER BY client) FROM (SELECT client, count(*) n, md5(string_agg(id, ',' ORDER BY id)) ids FROM disputes_all GROUP BY client) x")
check "INSERT ... SELECT per client id exact" "$per_client" "acme $truth_n $truth_ids, globex $truth_n $truth_ids"
check "shards on both workers" "$(q 55400 -c "SELECT count(DISTINCT nodeport) FROM citus_shards WHERE table_name = 'disputes_all'::regclass AND nodeport <> 55400")" 2
calls_acme=$(calls acme); calls_globex=$(calls globex)
echo "citus: figures: import of $((truth_n * 2)) rows (two client ids) in $(echo "$t1 - $t0" | bc) s; API calls: acme $calls_acme, globex $calls_globex"
check "each client id's calls in its own budget (coordinator)" \
	"$(q 55400 -c "SELECT string_agg(client_id || ' ' || calls_total, ', ' ORDER BY client_id) FROM mangopay_fdw_rate_limits() WHERE client_id IN ('acme', 'globex')")" \
	"acme $calls_acme, globex $calls_globex"

# 3. mangopay_fdw_sync keyed (client, id)
if [ "$(q 55400 -c "SELECT count(*) FROM pg_proc p WHERE proname = 'mangopay_fdw_sync' AND 'key_columns' = ANY (proargnames)")" = 1 ]; then
	q 55400 -c 'TRUNCATE disputes_all' || exit 1
	ctl reset; ctl config '{"clients": {"acme": "key-acme", "globex": "key-globex"}}'
	for c in acme globex; do
		q 55400 -c "CALL mangopay_fdw_sync('mp_$c.disputes', 'disputes_all', since => now() - interval '5 years', settle => '0', key_columns => '{client,id}', constants => '{\"client\":\"$c\"}')" >/dev/null || fail=1
	done
	per_client=$(q 55400 -c "SELECT string_agg(client || ' ' || n || ' ' || ids, ', ' ORDER BY client) FROM (SELECT client, count(*) n, md5(string_agg(id, ',' ORDER BY id)) ids FROM disputes_all GROUP BY client) x")
	check "mangopay_fdw_sync keyed (client, id) exact" "$per_client" "acme $truth_n $truth_ids, globex $truth_n $truth_ids"
	sync_ok=1
else
	echo "citus: mangopay_fdw_sync keyed (client, id): pending (this build's mangopay_fdw_sync has no key_columns)"
	sync_ok=0
fi

# 4. a reference table of lookups (the client wallets), a copy on every node
q 55400 >/dev/null <<'SQL' || exit 1
CREATE TABLE mp_client_wallets (client text, id text, funds_type text, currency text,
  PRIMARY KEY (client, id));
SELECT create_reference_table('mp_client_wallets');
INSERT INTO mp_client_wallets SELECT 'acme', id, funds_type, currency FROM mp_acme.client_wallets;
SQL
check "reference table exact on each worker" \
	"$(q 55401 -c "SELECT count(*) FROM mp_client_wallets") $(q 55402 -c "SELECT count(*) FROM mp_client_wallets")" "$wallets_n $wallets_n"

# 5. a foreign table in Citus's metadata, read from a worker (the scan
# runs on the coordinator, where its budget is)
q 55400 -c "SELECT citus_add_local_table_to_metadata('mp_acme.disputes')" >/dev/null || fail=1
before=$(q 55400 -c "SELECT calls_total FROM mangopay_fdw_rate_limits() WHERE client_id = 'acme'")
check "foreign table read from a worker" \
	"$(q 55401 -c "SELECT count(*) || ' ' || md5(string_agg(id, ',' ORDER BY id)) FROM mp_acme.disputes")" "$truth_n $truth_ids"
check "... its API calls made by the coordinator, in the coordinator's budget" \
	"$(q 55401 -c "SELECT count(*) FROM mangopay_fdw_rate_limits() WHERE client_id = 'acme'") $(q 55400 -c "SELECT calls_total > $before FROM mangopay_fdw_rate_limits() WHERE client_id = 'acme'")" "0 t"
check "a worker joins the distributed table and the foreign table" \
	"$(q 55402 -c "SELECT count(*) FROM disputes_all d JOIN mp_acme.disputes f ON f.id = d.id WHERE d.client = 'acme'")" "$truth_n"

# 6. a worker restarted in the middle of an import: the import fails
# whole; its retry (ON CONFLICT DO NOTHING) is exact
q 55400 -c 'TRUNCATE disputes_all' || exit 1
ctl config '{"latency_ms": 100}'
q 55400 -c "INSERT INTO disputes_all SELECT 'globex', id, status, dispute_type, creation_date FROM mp_globex.disputes" \
	>"$MP_TESTDIR/import.out" 2>&1 &
imp=$!
for _ in $(seq 1 300); do	# until the import is under way (the coordinator is calling the API)
	[ "$(q 55400 -c "SELECT coalesce(sum(in_flight), 0) FROM mangopay_fdw_rate_limits() WHERE client_id = 'globex'")" -gt 0 ] && break
	sleep 0.1
done
mp_as_postgres "$bin/pg_ctl" -D "$MP_TESTDIR/node55402" -m fast restart -l "$MP_TESTDIR/node55402.log" -w >/dev/null
wait $imp; imp_rc=$?
ctl config '{"latency_ms": 0}'
rows_after=$(q 55400 -c "SELECT count(*) FROM disputes_all")
if [ $imp_rc = 0 ]; then
	# the import finished before the restart reached it: then it is whole
	check "import across a worker restart" "$rows_after" "$truth_n"
else
	check "import interrupted by a worker restart left nothing" "$rows_after" 0
fi
q 55400 -c "INSERT INTO disputes_all SELECT 'globex', id, status, dispute_type, creation_date FROM mp_globex.disputes ON CONFLICT DO NOTHING" >/dev/null || fail=1
check "the retry after the restart exact" \
	"$(q 55400 -c "SELECT count(*) || ' ' || md5(string_agg(id, ',' ORDER BY id)) FROM disputes_all WHERE client = 'globex'")" "$truth_n $truth_ids"
if [ $sync_ok = 1 ]; then
	# the same with mangopay_fdw_sync in chunks: a restart mid-run keeps the
	# committed chunks, the next call completes it
	q 55400 -c 'TRUNCATE disputes_all; DELETE FROM mangopay_fdw_sync_state' >/dev/null || fail=1
	ctl config '{"latency_ms": 100}'
	q 55400 -c "CALL mangopay_fdw_sync('mp_acme.disputes', 'disputes_all', since => now() - interval '5 years', chunk => '6 months', settle => '0', key_columns => '{client,id}', constants => '{\"client\":\"acme\"}')" >"$MP_TESTDIR/sync.out" 2>&1 &
	s=$!
	for _ in $(seq 1 300); do
		[ "$(q 55400 -c "SELECT count(*) FROM disputes_all")" -gt 0 ] && break
		sleep 0.1
	done
	mp_as_postgres "$bin/pg_ctl" -D "$MP_TESTDIR/node55401" -m fast restart -l "$MP_TESTDIR/node55401.log" -w >/dev/null
	wait $s; s_rc=$?
	echo "citus: figures: the sync call across the restart: $([ $s_rc = 0 ] && echo completed || echo "failed: $(grep -m1 ERROR "$MP_TESTDIR/sync.out")"), $(q 55400 -c "SELECT count(*) FROM disputes_all") rows committed"
	ctl config '{"latency_ms": 0}'
	q 55400 -c "CALL mangopay_fdw_sync('mp_acme.disputes', 'disputes_all', since => now() - interval '5 years', chunk => '6 months', settle => '0', key_columns => '{client,id}', constants => '{\"client\":\"acme\"}')" >/dev/null || fail=1
	check "a sync across a worker restart, completed by the next call, exact" \
		"$(q 55400 -c "SELECT count(*) || ' ' || md5(string_agg(id, ',' ORDER BY id)) FROM disputes_all WHERE client = 'acme'")" "$truth_n $truth_ids"
fi

echo "citus: figures: whole run $(echo "$(date +%s.%N) - $t_start" | bc) s (Citus $(q 55400 -c "SELECT extversion FROM pg_extension WHERE extname = 'citus'"), PostgreSQL $MP_PGVER)"
for p in 55400 55401 55402; do mp_as_postgres "$bin/pg_ctl" -D "$MP_TESTDIR/node$p" -m immediate stop >/dev/null 2>&1; done
mp_stop_env
exit $fail
