#!/usr/bin/env bash
# Start Debian's PostgreSQL cluster and make sure the test role and database exist; print the DATABASE_URL (the
# only line on stdout: pg_ctlcluster may say "Removed stale pid file." and that goes to stderr).
# If another server already holds the cluster's port (another PostgreSQL on this machine, or in a chroot beside
# it), the cluster moves to the next free port instead of failing to start.
set -euo pipefail
ver=$(pg_lsclusters -h | awk 'NR==1{print $1}')
[ -n "$ver" ] || { echo "没有 PostgreSQL 集群（apt-get install postgresql）" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
busy() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
if ! pg_lsclusters -h | awk '{print $4}' | grep -q online; then
  port=$(pg_lsclusters -h | awk 'NR==1{print $3}')
  if busy "$port"; then
    for ((p = port + 1; p < port + 50; p++)); do busy "$p" || break; done
    echo "端口 $port 已被占用，PostgreSQL 集群改用 $p" >&2
    as_root pg_conftool "$ver" main set port "$p" >&2
  fi
  as_root pg_ctlcluster "$ver" main start >&2
fi
port=$(pg_lsclusters -h | awk 'NR==1{print $3}')
as_pg "psql -p $port -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='jth'\"" | grep -q 1 ||
  as_pg "psql -p $port -qc \"CREATE ROLE jth LOGIN PASSWORD 'jth'\"" >&2
as_pg "psql -p $port -qtAc \"SELECT 1 FROM pg_database WHERE datname='jth_test'\"" | grep -q 1 ||
  as_pg "createdb -p $port -O jth jth_test" >&2
echo "postgresql+psycopg://jth:jth@127.0.0.1:$port/jth_test"
