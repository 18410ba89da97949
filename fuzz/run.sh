#!/usr/bin/env bash
# Runs every fuzz target (or those named) one after another for a bounded number of
# inputs or time, and prints a Markdown table: inputs tried, execs/s, crashes, time.
# A crash stops that target, keeps the input in fuzz/artifacts/<target>/ and makes the
# script exit 1 once all targets have run. docs/fuzzing.md explains the targets.
#
#   fuzz/run.sh                       # every target, 10,000,000 inputs each
#   fuzz/run.sh petition_sheet        # named targets only
#   FUZZ_RUNS=100000 fuzz/run.sh      # fewer inputs
#   FUZZ_TIME=300 fuzz/run.sh         # at most 300 s per target (with FUZZ_RUNS, whichever first)
#
# Environment: FUZZ_RUNS (inputs per target, default 10000000; 0 = no limit),
# FUZZ_TIME (seconds per target, default 0 = no limit), FUZZ_TARGETS (space-separated,
# like the arguments), FUZZ_TIMEOUT (seconds one input may take before it counts as a
# crash, default 10), FUZZ_SANITIZER (default none: zhili forbids unsafe code, and
# without ASan the targets run several times faster), FUZZ_FEATURES=light (leave out
# the server's targets, which need sqlx, axum and the npm assets to build),
# FUZZ_RESULTS (directory for logs and the table, default fuzz/results/<UTC time>),
# FUZZ_BUILD=0 (run the binaries built before, without building).
set -euo pipefail
cd "$(dirname "$0")"

runs=${FUZZ_RUNS:-10000000}
secs=${FUZZ_TIME:-0}
timeout=${FUZZ_TIMEOUT:-10}
sanitizer=${FUZZ_SANITIZER:-none}
features=()
[ "${FUZZ_FEATURES:-}" = light ] && features=(--no-default-features --features link)
results=${FUZZ_RESULTS:-results/$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$results"

# -a: debug assertions and overflow checks on, so an overflow is a crash here even
# though a release build would wrap.
build=(cargo +nightly fuzz build --sanitizer "$sanitizer" --debug-assertions "${features[@]}")
if [ "${FUZZ_BUILD:-1}" != 0 ]; then
  echo "building: ${build[*]}" >&2
  "${build[@]}" >&2
fi

targets=("$@")
[ ${#targets[@]} -eq 0 ] && [ -n "${FUZZ_TARGETS:-}" ] && read -r -a targets <<<"$FUZZ_TARGETS"
named=${#targets[@]}
if [ "$named" -eq 0 ]; then
  mapfile -t targets < <(cargo +nightly fuzz list)
fi
bin_dir=target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release

# 12345678 → 12,345,678, whatever the locale.
group() { sed -E ':a;s/^([0-9]+)([0-9]{3})/\1,\2/;ta' <<<"$1"; }

[ "$runs" -eq 0 ] && runs=-1 # libFuzzer: -1 is no limit
table="$results/table.md"
{
  echo "| target | inputs tried | execs/s | crashes | time (s) | edges covered | corpus |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
} >"$table"
status=0
for t in "${targets[@]}"; do
  bin=$bin_dir/$t
  if [ ! -x "$bin" ]; then
    # Only a target asked for by name is missed; the light build leaves out the rest.
    echo "$t: not built (FUZZ_FEATURES=light leaves out the server's targets)" >&2
    [ "$named" -gt 0 ] && status=1
    continue
  fi
  mkdir -p "corpus/$t" "artifacts/$t"
  args=(-runs="$runs" -max_total_time="$secs" -timeout="$timeout" -print_final_stats=1
    -artifact_prefix="artifacts/$t/")
  [ -f "dict/$t.dict" ] && args+=(-dict="dict/$t.dict")
  log="$results/$t.log"
  before=$(find "artifacts/$t" -type f | wc -l)
  echo "fuzzing $t: ${args[*]}" >&2
  start=$(date +%s.%N)
  set +e
  "$bin" "${args[@]}" "corpus/$t" >"$log" 2>&1
  rc=$?
  set -e
  end=$(date +%s.%N)
  after=$(find "artifacts/$t" -type f | wc -l)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  secs_taken=$(echo "$end - $start" | bc)
  # libFuzzer's own rate is whole executions per whole second and reads 0 for a run
  # under a second; this one includes loading the corpus.
  rate=$(echo "${execs:-0} / ($secs_taken + 0.001)" | bc)
  corpus=$(find "corpus/$t" -type f | wc -l)
  cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -1 | cut -d' ' -f2)
  crashes=$((after - before))
  if [ "$rc" -ne 0 ]; then
    status=1
    # A crash that wrote no file (an out-of-memory kill, say) still counts.
    [ "$crashes" -eq 0 ] && crashes=1
    echo "$t: CRASH (exit $rc), input kept in fuzz/artifacts/$t/, log $results/$t.log:" >&2
    grep -m1 -E "panicked at|ERROR: libFuzzer|==ERROR" "$log" >&2 || tail -5 "$log" >&2
    grep -E "Test unit written to" "$log" >&2 || true
  fi
  printf '| %s | %s | %s | %d | %.0f | %s | %d |\n' "$t" "$(group "${execs:-0}")" "$(group "${rate:-0}")" \
    "$crashes" "$secs_taken" "$(group "${cov:-0}")" "$corpus" >>"$table"
done
cat "$table"
exit "$status"
