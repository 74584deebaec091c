#!/usr/bin/env bash
# test/sync_kill9.sh start|stop|log — run by sql/sync.sql (psql \!): a
# second, small cluster whose backend the suite kills with SIGKILL in the
# middle of a mangopay_fdw_sync run.  A SIGKILL makes the postmaster end
# every session and restart; on the suite's own cluster that would end the
# suite (and its server log would fail the no-crash check), so the run and
# its kill happen here, and the suite drives and checks it through dblink
# (socket /tmp/mp_kill9, port PGPORT + 12).
#   start  initdb and start it (mangopay_fdw installed, no other set-up)
#   log    how many times its log says a backend was terminated by signal 9
#   stop   stop it and remove it
set -u
bin=${MP_BINDIR:?}
dir=/tmp/mp_kill9
port=$((${PGPORT:-54329} + 12))
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
case ${1:-} in
start)
	[ -f "$dir/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$dir"; mkdir -p "$dir"; chmod 755 "$dir"
	[ "$(id -u)" = 0 ] && chown postgres "$dir"
	as_pg "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null 2>&1 || { echo "kill9: initdb failed"; exit 0; }
	printf "port = %s\nlisten_addresses = ''\nunix_socket_directories = '%s'\nfsync = off\nrestart_after_crash = on\n" \
		"$port" "$dir" >>"$dir/data/postgresql.conf"
	if as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 120 start >/dev/null 2>&1; then
		echo "kill9: second cluster up"
	else
		echo "kill9: start failed"; cat "$dir/log"
	fi
	;;
log)
	grep -c 'was terminated by signal 9' "$dir/log" 2>/dev/null || echo 0
	;;
stop)
	as_pg "$bin/pg_ctl" -D "$dir/data" -m immediate stop >/dev/null 2>&1
	rm -rf "$dir"
	;;
*) echo "usage: test/sync_kill9.sh start|log|stop" >&2; exit 2 ;;
esac
