#!/usr/bin/env bash
# test/budget_many.sh — run by sql/budget.sql (psql \!): a second cluster
# with mangopay_fdw preloaded and room for only two shared budgets
# (mangopay_fdw.max_budgets = 2), and three client ids (the mock's config
# "clients").  Prints lines that are the same on every run:
#  - three client ids one after another: the idle budget used longest ago is
#    given to the third, without a WARNING;
#  - two client ids busy (scans with 200 ms per call) and a third one: its
#    calls go on without a shared budget (WARNING once, rows exact, counted
#    in the row without api_url), the busy ones keep theirs (their call
#    counts equal the calls the mock saw from them).
# With --bench: instead, 1,000 client ids in a cluster with the default
# max_budgets, and the time of mangopay_fdw_rate_limits() over them.
set -u
bin=${MP_BINDIR:?}
mock=http://127.0.0.1:18089
dir=$(mktemp -d /tmp/mp_many.XXXXXX)
port=$((${PGPORT:-54329} + 12))
bench=0; [ "${1:-}" = --bench ] && bench=1
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
chmod 755 "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null 2>&1 || { echo "initdb failed"; exit 0; }
printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\nshared_preload_libraries = 'mangopay_fdw'\n" \
	"$port" "$dir" >>"$dir/data/postgresql.conf"
[ $bench = 0 ] && echo "mangopay_fdw.max_budgets = 2" >>"$dir/data/postgresql.conf"
as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w start >/dev/null 2>&1 || { echo "start failed"; cat "$dir/log"; exit 0; }
psql() { as_pg "$bin/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres "$@"; }
ctl() { curl -sf -X POST "$mock/__mock/$1" -H 'Content-Type: application/json' -d "${2:-{\}}" >/dev/null; }
# calls the mock saw from one client id (its token calls too)
mock_calls() {
	curl -sf "$mock/__mock/requests" | python3 -c "import json,sys; print(sum(1 for r in json.load(sys.stdin) if r.get('client') == sys.argv[1]))" "$1"
}
finish() { as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1; rm -rf "$dir"; }

if [ $bench = 1 ]; then
	n=${MP_BENCH_CLIENTS:-1000}
	ctl reset
	ctl config "$(python3 -c "import json; print(json.dumps({'clients': {'c%04d' % i: 'k%04d' % i for i in range(1, $n + 1)}}))")"
	psql -At <<SQL >/dev/null
CREATE EXTENSION mangopay_fdw;
DO \$\$ BEGIN
  FOR i IN 1..$n LOOP
    EXECUTE format('CREATE SERVER m%1\$s FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url %2\$L, page_size ''1'')', i, '$mock');
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER m%1\$s OPTIONS (client_id %2\$L, api_key %3\$L)', i, 'c' || lpad(i::text, 4, '0'), 'k' || lpad(i::text, 4, '0'));
    EXECUTE format('CREATE FOREIGN TABLE d%1\$s (id text) SERVER m%1\$s OPTIONS (resource ''disputes'')', i);
  END LOOP;
END \$\$;
SQL
	t0=$(date +%s.%N)
	for i in $(seq 1 "$n"); do echo "SELECT count(*) FROM (SELECT id FROM d$i LIMIT 1) x;"; done | psql -At >/dev/null
	t1=$(date +%s.%N)
	echo "budgets filled: $(psql -At -c 'SELECT count(*) FROM mangopay_fdw_rate_limits()') in $(echo "$t1 - $t0" | bc) s"
	psql -At <<'SQL'
SELECT count(*) FROM mangopay_fdw_rate_limits();
\timing on
SELECT count(*) FROM mangopay_fdw_rate_limits();
SELECT count(*) FROM mangopay_fdw_rate_limits();
SELECT count(*) FROM mangopay_fdw_rate_limits();
SQL
	ctl reset
	finish
	exit 0
fi

ctl reset
ctl config '{"clients": {"many-1": "k1", "many-2": "k2", "many-3": "k3"}}'
psql -At >/dev/null <<SQL
CREATE EXTENSION mangopay_fdw;
DO \$\$ BEGIN
  FOR i IN 1..3 LOOP
    EXECUTE format('CREATE SERVER m%1\$s FOREIGN DATA WRAPPER mangopay_fdw OPTIONS (api_url %2\$L, max_concurrency ''1'')', i, '$mock');
    EXECUTE format('CREATE USER MAPPING FOR CURRENT_USER SERVER m%1\$s OPTIONS (client_id %2\$L, api_key %3\$L)', i, 'many-' || i, 'k' || i);
    EXECUTE format('CREATE FOREIGN TABLE d%1\$s (id text) SERVER m%1\$s OPTIONS (resource ''disputes'')', i);
  END LOOP;
END \$\$;
SQL
truth=$(curl -sf "$mock/__mock/truth/disputes" | grep -c .)
one_id=$(curl -sf "$mock/__mock/truth/disputes" | head -1 | python3 -c "import json,sys; print(json.loads(sys.stdin.read())['Id'])")

# 1. one after another: the third gets the entry of the first (idle longest);
# an entry is idle 2 s after its last call
out=$(psql -At 2>&1 <<'SQL'
SELECT 'rows ' || count(*) FROM d1;
SELECT 'rows ' || count(*) FROM d2;
SELECT pg_sleep(2.1);
SELECT 'rows ' || count(*) FROM d3;
SELECT 'budgets ' || string_agg(client_id, ',' ORDER BY client_id) FROM mangopay_fdw_rate_limits();
SQL
)
echo "max_budgets 2, one after another: rows exact: $([ "$(echo "$out" | grep -c "^rows $truth\$")" = 3 ] && echo yes || echo "no: $out")"
echo "max_budgets 2, one after another: $(echo "$out" | grep '^budgets ')"
echo "max_budgets 2, one after another: warnings: $(echo "$out" | grep -c WARNING)"

# 2. two client ids busy, then a third: it goes on without a shared budget
sleep 2.1
ctl reset
ctl config '{"clients": {"many-1": "k1", "many-2": "k2", "many-3": "k3"}, "latency_ms": 200}'
# what each pair's row counted before: a pair that keeps its entry goes on
# from there, one given a reused entry starts from zero; which of the two
# scans starts first decides which, so both are exact
base=$(psql -At -F ' ' -c "SELECT client_id, calls_total FROM mangopay_fdw_rate_limits() WHERE client_id IS NOT NULL")
base1=$(echo "$base" | grep '^many-1 ' | cut -d' ' -f2); base1=${base1:-0}
base2=$(echo "$base" | grep '^many-2 ' | cut -d' ' -f2); base2=${base2:-0}
psql -At -c "SELECT 'rows ' || count(*) FROM d1" >"$dir/bg1" 2>&1 &
bg1=$!
psql -At -c "SELECT 'rows ' || count(*) FROM d2" >"$dir/bg2" 2>&1 &
bg2=$!
busy=no
for _ in $(seq 1 300); do
	if [ "$(psql -At -c "SELECT count(*) FROM mangopay_fdw_rate_limits() WHERE client_id IN ('many-1', 'many-2') AND calls_total >= 2")" = 2 ]; then
		busy=yes; break
	fi
	sleep 0.1
done
echo "max_budgets 2, busy: both scans under way: $busy"
out=$(psql -At 2>&1 <<SQL
SELECT 'rows ' || count(*) FROM d3 WHERE id = '$one_id';
SELECT 'rows ' || count(*) FROM d3 WHERE id = '$one_id';
SQL
)
wait $bg1 $bg2
echo "max_budgets 2, busy: third client id's rows exact: $([ "$(echo "$out" | grep -c '^rows 1$')" = 2 ] && echo yes || echo "no: $out")"
echo "max_budgets 2, busy: warnings (once per session): $(echo "$out" | grep -c "WARNING:  mangopay_fdw's shared rate budgets are all in use: calls for client id \"many-3\" go on without one")"
echo "max_budgets 2, busy: busy scans' rows exact: $(cat "$dir/bg1" "$dir/bg2" | grep -c "^rows $truth\$")"
c1=$(mock_calls many-1); c2=$(mock_calls many-2); c3=$(mock_calls many-3)
res=$(psql -At -F ' ' -c "SELECT coalesce(client_id, '(none)'), calls_total, in_flight FROM mangopay_fdw_rate_limits() ORDER BY 1")
echo "max_budgets 2, busy: budgets: $(echo "$res" | cut -d' ' -f1 | paste -sd,)"
kept() {	# kept COUNTED MADE BASE: the row counted every call made, from zero or from its base
	[ "$1" = "$2" ] || [ "$1" = "$(($3 + $2))" ]
}
n1=$(echo "$res" | grep '^many-1 ' | cut -d' ' -f2); n2=$(echo "$res" | grep '^many-2 ' | cut -d' ' -f2)
echo "max_budgets 2, busy: many-1 kept its budget (calls counted = calls made): $(kept "$n1" "$c1" "$base1" && echo yes || echo "no: $res / $c1 (before: $base1)")"
echo "max_budgets 2, busy: many-2 kept its budget (calls counted = calls made): $(kept "$n2" "$c2" "$base2" && echo yes || echo "no: $res / $c2 (before: $base2)")"
echo "max_budgets 2, busy: many-3's calls counted without a budget: $([ "$(echo "$res" | grep '^(none) ' | cut -d' ' -f2)" = "$c3" ] && [ "$c3" -gt 0 ] && echo yes || echo "no: $res / $c3")"
echo "max_budgets 2, busy: nothing left in flight: $(echo "$res" | awk '$3 != "" && $3 != 0' | grep -c .)"
ctl reset
finish
