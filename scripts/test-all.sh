#!/usr/bin/env bash
# Every test of zhili: formatting, lints, and the whole test suite. The storage and
# HTTP suites run on SQLite always and on PostgreSQL too when one answers on
# 127.0.0.1:5432 (or wherever ZHILI_TEST_PG points); each test makes its own database.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -z "${ZHILI_TEST_PG:-}" ] && command -v pg_isready >/dev/null && pg_isready -q -h 127.0.0.1 -p 5432; then
  export ZHILI_TEST_PG="postgres://postgres@127.0.0.1:5432/postgres"
fi
if [ -n "${ZHILI_TEST_PG:-}" ]; then
  echo "PostgreSQL tests: on (${ZHILI_TEST_PG%%@*}@…)"
  # Test databases of earlier runs are of no further use.
  for db in $(psql "$ZHILI_TEST_PG" -Atc "SELECT datname FROM pg_database WHERE datname LIKE 'zhili_t_%'" 2>/dev/null); do
    psql "$ZHILI_TEST_PG" -qc "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
  done
else
  echo "PostgreSQL tests: off (no server on 127.0.0.1:5432 and ZHILI_TEST_PG unset)"
fi

cargo fmt --all --check
cargo clippy --workspace --all-targets -- -D warnings
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
# One closing line for the whole run, summed over every test binary.
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "total: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
