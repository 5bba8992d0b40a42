#!/usr/bin/env bash
# Starts the Debian PostgreSQL cluster on 127.0.0.1:5432 (installing it if missing)
# and makes sure the test role exists. Prints the URL the tests use.
# Idempotent: safe to run when PostgreSQL is already up.
set -euo pipefail

if ! command -v pg_lsclusters >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq postgresql >/dev/null
fi

version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
if ! pg_lsclusters -h | awk '{print $1" "$2}' | grep -q "^$version main$"; then
  pg_createcluster "$version" main >/dev/null
fi
if ! pg_lsclusters -h | awk '$1=="'"$version"'" && $2=="main" {print $4}' | grep -q online; then
  pg_ctlcluster "$version" main start
fi

as_postgres() { runuser -u postgres -- "$@"; }
for _ in $(seq 1 30); do
  as_postgres pg_isready -q -h 127.0.0.1 -p 5432 && break
  sleep 1
done
as_postgres psql -q -h /var/run/postgresql -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'latchkey') THEN
    CREATE ROLE latchkey LOGIN CREATEDB PASSWORD 'latchkey';
  END IF; END \$\$;" >/dev/null
if ! as_postgres psql -tA -h /var/run/postgresql -c "SELECT 1 FROM pg_database WHERE datname='latchkey'" | grep -q 1; then
  as_postgres createdb -h /var/run/postgresql -O latchkey latchkey
fi
echo "postgres://latchkey:latchkey@127.0.0.1:5432/latchkey"
