#!/usr/bin/env bash
# Start Debian's PostgreSQL cluster and make sure the test role and database exist; print the DATABASE_URL.
set -euo pipefail
ver=$(pg_lsclusters -h | awk 'NR==1{print $1}')
[ -n "$ver" ] || { echo "没有 PostgreSQL 集群（apt-get install postgresql）" >&2; exit 1; }
as_pg() { if [ "$(id -u)" -eq 0 ]; then su postgres -c "$1"; else sudo -u postgres sh -c "$1"; fi; }
# Everything but the URL goes to stderr: the caller captures stdout (pg_ctlcluster may say "Removed stale pid file.").
pg_lsclusters -h | awk '{print $4}' | grep -q online || {
  if [ "$(id -u)" -eq 0 ]; then pg_ctlcluster "$ver" main start; else sudo pg_ctlcluster "$ver" main start; fi; } >&2
as_pg "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='jth'\"" | grep -q 1 ||
  as_pg "psql -qc \"CREATE ROLE jth LOGIN PASSWORD 'jth'\"" >&2
as_pg "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='jth_test'\"" | grep -q 1 ||
  as_pg "createdb -O jth jth_test" >&2
echo "postgresql+psycopg://jth:jth@127.0.0.1:5432/jth_test"
