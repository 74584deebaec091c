#!/usr/bin/env bash
# test/citusbuild.sh PG_CONFIG — build Citus from ../shared/citus (checked
# against SHA256SUMS there) for the PostgreSQL of PG_CONFIG (16 to 18) and
# keep the installed files in a cache directory keyed by the tarball's and
# the PostgreSQL tree's identity, so a machine pays for a build once.  The
# files are installed with DESTDIR (the PostgreSQL tree is not touched);
# test/citus.sh copies them into its private copy of the tree.  Prints the
# cache directory on standard output.
#
#   MP_PGCACHE   where built trees are kept (default /var/cache/mangopay_fdw)
#   MP_CITUSSRC  the folder with the tarball (default ../shared/citus, or
#                ../../shared/citus from a worktree)
set -euo pipefail
# what the build needs from Debian (installed here when missing, or up front
# with --install-deps: test/citus.sh runs inside test/isolate.sh, which has no
# network)
deps="libzstd-dev liblz4-dev libkrb5-dev libselinux1-dev libxslt1-dev libpam0g-dev libreadline-dev zlib1g-dev make gcc"
install_deps() {
	dpkg -s $deps >/dev/null 2>&1 && return 0
	printf '== citusbuild: installing the build'"'"'s packages\n' >&2
	DEBIAN_FRONTEND=noninteractive apt-get update -q >/dev/null &&
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $deps >/dev/null </dev/null
}
if [ "${1:-}" = --install-deps ]; then install_deps; exit; fi
pgc=${1:?usage: test/citusbuild.sh PG_CONFIG | --install-deps}
root=$(cd "$(dirname "$0")/.." && pwd)
# beside the main checkout; a worktree under wt/ is one level deeper
src=${MP_CITUSSRC:-$root/../shared/citus}
[ -n "${MP_CITUSSRC:-}" ] || [ -d "$src" ] || src=$root/../../shared/citus
cache=${MP_PGCACHE:-/var/cache/mangopay_fdw}
say() { printf '== citusbuild: %s\n' "$*" >&2; }

tarball=$(ls "$src"/citus-*.tar.gz 2>/dev/null | head -1 || true)
[ -n "$tarball" ] || { say "no citus-*.tar.gz in $src (set MP_CITUSSRC)"; exit 1; }
(cd "$src" && sha256sum --quiet -c <(grep -F "$(basename "$tarball")" SHA256SUMS)) ||
	{ say "checksum mismatch in $src"; exit 1; }
pgver=$("$pgc" --version | sed 's/[^0-9]*\([0-9]*\).*/\1/')
key=$( (cat "$tarball"; "$pgc" --version; "$pgc" --pkglibdir) | sha256sum | cut -c1-16)
dest=$cache/citus-pg$pgver-$key
built() { [ -f "$dest/.complete" ]; }
if built; then echo "$dest"; exit 0; fi
mkdir -p "$cache"
exec 9>"$cache/.citus-pg$pgver.lock"
flock 9						# one build at a time; then it may be there
if built; then echo "$dest"; exit 0; fi
install_deps

say "building $(basename "$tarball") for PostgreSQL $pgver into $dest (a few minutes, once per machine)"
work=$(mktemp -d /var/tmp/mp_citusbuild.XXXXXX)
trap 'rm -rf "$work"' EXIT
tar -C "$work" -xzf "$tarball"
cd "$work"/citus-*/
rm -rf "$dest"
./configure PG_CONFIG="$pgc" --without-libcurl >"$work/configure.log" 2>&1 ||
	{ tail -30 "$work/configure.log" >&2; exit 1; }
make -j"$(nproc)" -s >"$work/make.log" 2>&1 || { tail -50 "$work/make.log" >&2; exit 1; }
make -s install DESTDIR="$dest" >"$work/install.log" 2>&1 || { tail -30 "$work/install.log" >&2; exit 1; }
chmod -R a+rX "$dest"
touch "$dest/.complete"
say "done"
echo "$dest"
