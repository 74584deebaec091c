#!/usr/bin/env bash
# test/pgbuild.sh VERSION — build PostgreSQL VERSION (17 or 18), its dblink and
# pg_cron from the release sources in ../shared/pgsrc (checked against
# SHA256SUMS there) and install them under a cache directory keyed by the
# tarball's sha256, so a machine pays for a build once.  Prints the install
# prefix (whose bin/pg_config the suite uses) on standard output.
#
#   MP_PGCACHE  where built trees are kept (default /var/cache/mangopay_fdw)
#   MP_PGSRC    the folder with the tarballs (default ../shared/pgsrc)
set -euo pipefail
ver=${1:?usage: test/pgbuild.sh 17|18}
root=$(cd "$(dirname "$0")/.." && pwd)
src=${MP_PGSRC:-$root/../shared/pgsrc}
cache=${MP_PGCACHE:-/var/cache/mangopay_fdw}
say() { printf '== pgbuild %s: %s\n' "$ver" "$*" >&2; }

tarball=$(ls "$src"/postgresql-"$ver"_*.orig.tar.bz2 2>/dev/null | head -1 || true)
if [ -z "$tarball" ]; then
	# a clone without ../shared/pgsrc beside it: a tree built before will do
	for c in "$cache"/pg"$ver"-*/.complete; do
		[ -f "$c" ] && { say "no sources in $src: using ${c%/.complete}"; echo "${c%/.complete}"; exit 0; }
	done
	say "no postgresql-${ver}_*.orig.tar.bz2 in $src (set MP_PGSRC)"; exit 1
fi
crontar=$(ls "$src"/pg_cron-*.tar.gz 2>/dev/null | head -1 || true)
[ -n "$crontar" ] || { say "no pg_cron-*.tar.gz in $src"; exit 1; }
(cd "$src" && sha256sum --quiet -c <(grep -F -e "$(basename "$tarball")" -e "$(basename "$crontar")" SHA256SUMS)) ||
	{ say "checksum mismatch in $src"; exit 1; }
key=$(cat "$tarball" "$crontar" | sha256sum | cut -c1-16)
prefix=$cache/pg$ver-$key
built() { [ -x "$prefix/bin/pg_config" ] && [ -f "$prefix/.complete" ]; }
if built; then echo "$prefix"; exit 0; fi
# one build of a version at a time (two runs of the suite may start at once)
mkdir -p "$cache"
exec 9>"$cache/.pg$ver.lock"
if ! flock -n 9; then
	say "waiting for another build of PostgreSQL $ver"
	flock 9
fi
if built; then echo "$prefix"; exit 0; fi

deps="bison flex libssl-dev make gcc libc6-dev pkg-config"
missing=""
for p in $deps; do dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"; done
if [ -n "$missing" ]; then
	say "installing:$missing"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >/dev/null && apt-get install -y -q $missing >/dev/null </dev/null
fi

say "building into $prefix (a few minutes, once per machine)"
work=$(mktemp -d /var/tmp/mp_pgbuild.XXXXXX)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xjf "$tarball"
cd "$work"/postgresql-*/
rm -rf "$prefix"
./configure -q --prefix="$prefix" --without-icu --without-readline --without-zlib \
	--with-openssl >"$work/configure.log" 2>&1 || { tail -30 "$work/configure.log" >&2; exit 1; }
make -j"$(nproc)" -s >"$work/make.log" 2>&1 || { tail -50 "$work/make.log" >&2; exit 1; }
make -s install >"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; exit 1; }
make -s -C contrib/dblink install >>"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; exit 1; }
mkdir "$work/cron" && tar -C "$work/cron" -xzf "$crontar"
cd "$work"/cron/*/
make -s PG_CONFIG="$prefix/bin/pg_config" >"$work/cron.log" 2>&1 &&
	make -s install PG_CONFIG="$prefix/bin/pg_config" >>"$work/cron.log" 2>&1 ||
	{ tail -30 "$work/cron.log" >&2; exit 1; }
chmod -R a+rX "$prefix"
touch "$prefix/.complete"
say "done"
echo "$prefix"
