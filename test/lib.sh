# test/lib.sh — shared by test/run.sh (the suite), test/demo.sh and the benchmarks.
#
# Installs what is missing (Debian 12 packages), builds and installs the
# extension, and starts a throwaway PostgreSQL cluster and the mock MangoPay
# API on loopback.  Everything lives under $MP_TESTDIR and is removed by
# mp_stop_env.  Sourced, not run.

MP_TESTDIR=${MP_TESTDIR:-/tmp/mangopay_fdw_test}
MP_PGPORT=${MP_PGPORT:-54329}
MP_MOCK_PORT=${MP_MOCK_PORT:-18089}
MP_MOCK_TLS_PORT=${MP_MOCK_TLS_PORT:-18443}
MP_MOCK_DL_PORT=${MP_MOCK_DL_PORT:-18090}
MP_CLIENT_ID=${MP_CLIENT_ID:-acme-test}
# the mock's credential; the suite checks it never reaches the server log
MP_API_KEY=${MP_API_KEY:-sk-test-6f1e0c2a9b8d47e3a5c4}
# the PostgreSQL version under test: Debian's packaged server (15 on Debian
# 12) or one built from ../shared/pgsrc by test/pgbuild.sh (mp_use_pg);
# MP_PG_CONFIG names its pg_config directly
MP_PGVER=${MP_PGVER:-15}
MP_PGCACHE=${MP_PGCACHE:-/var/cache/mangopay_fdw}
# pg_cron runs the scheduled-import suite's jobs (set MP_PRELOAD= for none)
MP_PRELOAD=${MP_PRELOAD-pg_cron,mangopay_fdw}
MP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

export PGHOST=$MP_TESTDIR/sock PGPORT=$MP_PGPORT PGUSER=postgres

mp_log() { printf '== %s\n' "$*" >&2; }

# mp_use_pg VERSION: test against PostgreSQL VERSION from now on.  Debian's
# package when installed, else the tree test/pgbuild.sh builds (once per
# machine) from ../shared/pgsrc; inside test/isolate.sh, the tree's lib/ and
# extension/ directories are made private like Debian's.
mp_use_pg() {
	local prefix
	MP_PGVER=$1
	if [ -x "/usr/lib/postgresql/$1/bin/pg_config" ]; then
		MP_PG_CONFIG=/usr/lib/postgresql/$1/bin/pg_config
	else
		prefix=$(bash "$MP_ROOT/test/pgbuild.sh" "$1") || return 1
		MP_PG_CONFIG=$prefix/bin/pg_config
		if [ "${MP_ISOLATE_INSIDE:-0}" = 1 ]; then
			bash "$MP_ROOT/test/isolate.sh" --private "$MP_PG_CONFIG" || return 1
		fi
	fi
	export MP_PGVER MP_PG_CONFIG
}
# without mp_use_pg: Debian's server, or an already built tree of MP_PGVER
if [ -z "${MP_PG_CONFIG:-}" ]; then
	MP_PG_CONFIG=/usr/lib/postgresql/$MP_PGVER/bin/pg_config
	for _c in "$MP_PGCACHE"/pg"$MP_PGVER"-*/bin/pg_config; do
		[ -x "$MP_PG_CONFIG" ] || { [ -f "${_c%/bin/pg_config}/.complete" ] && MP_PG_CONFIG=$_c; }
	done
	unset _c
fi

# Debian packages the build, the cluster and the tests need
mp_install_deps() {
	# Debian 12's server (15) and, to build 17 and 18 (test/pgbuild.sh), bison and flex
	local pkgs="make gcc libc6-dev postgresql-15 postgresql-server-dev-15
		libcurl4-openssl-dev libcjson-dev libssl-dev openssl python3 curl ca-certificates procps
		clang libclang-rt-14-dev postgresql-15-cron bison flex pkg-config"
	local missing=""
	for p in $pkgs; do
		dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
	done
	if [ -n "$missing" ]; then
		mp_log "installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -q >/dev/null
		# the packaged cluster is not wanted: ours is throwaway
		mkdir -p /etc/postgresql-common
		[ -f /etc/postgresql-common/createcluster.conf ] ||
			echo "create_main_cluster = false" > /etc/postgresql-common/createcluster.conf
		apt-get install -y -q $missing >/dev/null </dev/null
	fi
}

mp_build() {
	mp_log "building and installing mangopay_fdw for PostgreSQL $MP_PGVER"
	make -C "$MP_ROOT" -s clean >/dev/null 2>&1 || true
	make -C "$MP_ROOT" -s PG_CONFIG="$MP_PG_CONFIG" 2>&1 | grep -v '^$' || true
	test -f "$MP_ROOT/mangopay_fdw.so"
	make -C "$MP_ROOT" -s install PG_CONFIG="$MP_PG_CONFIG" >/dev/null
}

mp_pgbin() { echo "${MP_PG_CONFIG%/pg_config}"; }

mp_as_postgres() { runuser -u postgres -- "$@"; }

mp_start_cluster() {
	local bin; bin=$(mp_pgbin)
	mkdir -p "$MP_TESTDIR/sock"
	chown postgres "$MP_TESTDIR" "$MP_TESTDIR/sock"
	mp_as_postgres "$bin/initdb" -D "$MP_TESTDIR/pgdata" -A trust -U postgres -E UTF8 --locale=C.UTF-8 >/dev/null
	cat >> "$MP_TESTDIR/pgdata/postgresql.conf" <<CONF
port = $MP_PGPORT
listen_addresses = ''
unix_socket_directories = '$MP_TESTDIR/sock'
fsync = off
log_min_messages = ${MP_LOG_LEVEL:-debug1}
log_line_prefix = '%m [%p] '
shared_preload_libraries = '${MP_PRELOAD:-}'
CONF
	case ",$MP_PRELOAD," in
	*,pg_cron,*)
		# pg_cron's metadata in the postgres database; its jobs connect
		# through the socket (the cluster listens on no TCP address)
		cat >> "$MP_TESTDIR/pgdata/postgresql.conf" <<CONF
cron.database_name = 'postgres'
cron.host = '$MP_TESTDIR/sock'
CONF
		;;
	esac
	mp_as_postgres "$bin/pg_ctl" -D "$MP_TESTDIR/pgdata" -l "$MP_TESTDIR/postgres.log" -w start >/dev/null
	case ",$MP_PRELOAD," in
	*,pg_cron,*) "$bin/psql" -X -q -d postgres -c 'CREATE EXTENSION IF NOT EXISTS pg_cron' >/dev/null ;;
	esac
}

mp_start_mock() {
	mkdir -p "$MP_TESTDIR/certs"
	sh "$MP_ROOT/test/mock/gen_certs.sh" "$MP_TESTDIR/certs" >/dev/null
	chmod -R a+rX "$MP_TESTDIR/certs"
	python3 "$MP_ROOT/test/mock/mangopay_mock.py" --host 127.0.0.1 --port "$MP_MOCK_PORT" \
		--tls-port "$MP_MOCK_TLS_PORT" --tls-cert "$MP_TESTDIR/certs/server.crt" \
		--tls-key "$MP_TESTDIR/certs/server.key" --download-port "$MP_MOCK_DL_PORT" \
		--tls-extra "18444:$MP_TESTDIR/certs/expired.crt:$MP_TESTDIR/certs/expired.key" \
		--tls-extra "18445:$MP_TESTDIR/certs/wronghost.crt:$MP_TESTDIR/certs/wronghost.key" \
		--blackhole-port 18446 \
		--client-id "$MP_CLIENT_ID" --api-key "$MP_API_KEY" --seed 42 \
		--log "$MP_TESTDIR/mock.log" --pid-file "$MP_TESTDIR/mock.pid" ${MP_MOCK_ARGS:-} \
		>"$MP_TESTDIR/mock.out" 2>&1 &
	# (building the data takes seconds of CPU: on a loaded machine, tens of seconds)
	for _ in $(seq 1 900); do
		curl -sf "http://127.0.0.1:$MP_MOCK_PORT/__mock/health" >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	mp_log "the mock API did not start:"; cat "$MP_TESTDIR/mock.out" >&2
	return 1
}

mp_start_env() {
	mp_stop_env
	rm -rf "$MP_TESTDIR"; mkdir -p "$MP_TESTDIR"; chmod 755 "$MP_TESTDIR"
	mp_start_mock
	mp_start_cluster
}

mp_stop_env() {
	if [ -f "$MP_TESTDIR/pgdata/postmaster.pid" ]; then
		mp_as_postgres "$(mp_pgbin)/pg_ctl" -D "$MP_TESTDIR/pgdata" -m immediate stop >/dev/null 2>&1 || true
	fi
	if [ -f "$MP_TESTDIR/mock.pid" ]; then
		kill "$(cat "$MP_TESTDIR/mock.pid")" 2>/dev/null || true
		rm -f "$MP_TESTDIR/mock.pid"
	fi
}

mp_psql() { "$(mp_pgbin)/psql" -X -q -v ON_ERROR_STOP=1 "$@"; }

# set up the extension, a server pointed at the mock and the foreign tables
mp_setup_db() {
	local db=${1:-postgres}
	mp_psql -d "$db" <<SQL
CREATE EXTENSION IF NOT EXISTS mangopay_fdw;
CREATE SERVER mangopay FOREIGN DATA WRAPPER mangopay_fdw
  OPTIONS (environment 'sandbox', api_url 'http://127.0.0.1:$MP_MOCK_PORT');
CREATE USER MAPPING FOR CURRENT_USER SERVER mangopay
  OPTIONS (client_id '$MP_CLIENT_ID', api_key '$MP_API_KEY');
CREATE SCHEMA mangopay;
IMPORT FOREIGN SCHEMA mangopay FROM SERVER mangopay INTO mangopay;
SQL
}
