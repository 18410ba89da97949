#!/usr/bin/env bash
# Every test of zhili: formatting, lints, the whole test suite, then the browser tests
# when node and Chromium are installed. The storage and HTTP suites run on SQLite
# always and on PostgreSQL too when one answers on 127.0.0.1:5432 (or wherever
# ZHILI_TEST_PG points); each test makes its own database.
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
# Dependencies: permissive licences, crates.io only, no wildcards (deny.toml). The
# advisories check needs GitHub, which this network cannot reach (SECURITY.md IP-06).
if command -v cargo-deny >/dev/null; then
  cargo deny --log-level error check licenses bans sources
else
  echo "cargo deny: off (not installed; .ci/run installs it)"
fi
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
cargo test --workspace 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# The pages in a real headless browser (browser-tests/, README "Browser tests"):
# Debian's Chromium driven by playwright-core against the debug `zhili` binary.
if command -v node >/dev/null && command -v npm >/dev/null && [ -x /usr/bin/chromium ]; then
  echo "Browser tests: on (node $(node --version), $(/usr/bin/chromium --version 2>/dev/null | head -1))"
  cargo build -p zhili --bin zhili || status=1
  (cd browser-tests && npm ci --no-audit --no-fund && node --test) 2>&1 | tee -a "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
else
  echo "Browser tests: off (needs node, npm and /usr/bin/chromium; .ci/run installs them)"
fi
set -e
# One closing line for the whole run, summed over every test binary and the browser
# tests (node's runner ends with "# pass N", "# fail N", "# skipped N", "# cancelled N").
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     /^# pass [0-9]+$/ { p += $3 } /^# (fail|cancelled) [0-9]+$/ { f += $3 } /^# (skipped|todo) [0-9]+$/ { s += $3 }
     END { printf "total: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
