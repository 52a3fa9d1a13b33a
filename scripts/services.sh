#!/usr/bin/env bash
# Start PostgreSQL and Redis on loopback for the scaled-mode tests and benchmarks,
# installing them with apt-get when missing. Idempotent.
set -euo pipefail

need_apt=()
command -v pg_ctlcluster >/dev/null 2>&1 || need_apt+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "installing ${need_apt[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

# PostgreSQL: the distribution's cluster, on 127.0.0.1:5432, with a superuser "szpak".
version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | grep -q "^$version main"; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | grep "^$version main" | grep -q online; then
  pg_ctlcluster "$version" main start
fi
for _ in $(seq 1 30); do
  pg_isready -h 127.0.0.1 -p 5432 -q && break
  sleep 0.5
done
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_roles WHERE rolname='szpak'\"" | grep -q 1 ||
  su postgres -c "psql -q -c \"CREATE ROLE szpak LOGIN SUPERUSER PASSWORD 'szpak'\""
su postgres -c "psql -q -tAc \"SELECT 1 FROM pg_database WHERE datname='szpak'\"" | grep -q 1 ||
  su postgres -c "psql -q -c \"CREATE DATABASE szpak OWNER szpak\""

# Redis on 127.0.0.1:6379, no persistence needed for tests.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >/dev/null
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break
    sleep 0.2
  done
fi
echo "services: postgresql $version on 127.0.0.1:5432, redis on 127.0.0.1:6379" >&2
