#!/usr/bin/env bash
# Install (Debian packages) and start PostgreSQL and Redis on loopback, plus Chromium for browser tests and nginx
# for the scale-out test (which runs its own nginx on a free port: the packaged service is never started).
# Prints the environment lines that point the test suite at them.
set -euo pipefail
need=()
command -v pg_ctlcluster >/dev/null 2>&1 || need+=(postgresql)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
[ -x /usr/bin/chromium ] || need+=(chromium)
[ -x /usr/sbin/nginx ] || need+=(nginx)
command -v pdftotext >/dev/null 2>&1 || need+=(poppler-utils)
dpkg -s fonts-noto-cjk >/dev/null 2>&1 || need+=(fonts-noto-cjk)
if [ ${#need[@]} -gt 0 ]; then
  echo "installing: ${need[*]}" >&2
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >&2
  if [[ " ${need[*]} " == *" nginx "* ]]; then
    # Where policy-rc.d allows it the package starts nginx on port 80: stop and disable that service.
    if [ -d /run/systemd/system ]; then systemctl disable --now nginx >&2 2>/dev/null || true
    else invoke-rc.d nginx stop >&2 2>/dev/null || true; fi
  fi
fi

# PostgreSQL: the packaged cluster, on loopback, with a password for the test role.
ver=$(ls /usr/lib/postgresql | sort -V | tail -1)
if ! pg_lsclusters -h | grep -q "^$ver main"; then pg_createcluster "$ver" main >&2; fi
pg_ctlcluster "$ver" main start >&2 2>/dev/null || true
for i in $(seq 1 30); do pg_isready -q -h 127.0.0.1 && break; sleep 1; done
runuser -u postgres -- psql -q -c "DO \$\$BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname='skillcert') THEN CREATE ROLE skillcert LOGIN CREATEDB PASSWORD 'skillcert'; END IF; END\$\$;" >&2
# DROP DATABASE ... WITH (FORCE) of a test database must be able to end an autovacuum worker visiting it
# (PostgreSQL < 17 lets only superusers and pg_signal_backend members do that; tests/pgscratch.py).
runuser -u postgres -- psql -q -c "GRANT pg_signal_backend TO skillcert" >&2
runuser -u postgres -- psql -q -tc "SELECT 1 FROM pg_database WHERE datname='skillcert'" | grep -q 1 \
  || runuser -u postgres -- createdb -O skillcert skillcert >&2

# Redis on loopback.
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  redis-server --bind 127.0.0.1 --port 6379 --daemonize yes --save "" --appendonly no >&2
  for i in $(seq 1 30); do redis-cli -h 127.0.0.1 ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

echo "export SKILLCERT_TEST_DATABASE_URL=postgresql+psycopg://skillcert:skillcert@127.0.0.1:5432/skillcert"
echo "export SKILLCERT_TEST_REDIS_URL=redis://127.0.0.1:6379/15"
