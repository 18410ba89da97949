#!/usr/bin/env bash
# Event intake benchmark: 12345 work orders (POST /api/v1/channels/12345/orders, the
# whole pipeline: GCJ-02 → WGS-84, grid lookup, group commit) or the generic
# POST /api/v1/events, on SQLite and PostgreSQL, at several client counts.
#
# Builds the release binary, and for every (backend, clients) pair runs RUNS times:
# a fresh database, `zhili serve --demo` on a free loopback port (the demo creates the
# accounts), `zhili loadgen`, server stopped. Prints a Markdown table of the medians.
#
# Usage (from anywhere in the repository):
#   crates/cli/bench/intake.sh
# Environment:
#   REQUESTS=2000     requests per run
#   RUNS=3            runs per figure (the table shows the median)
#   CLIENTS="1 16"    client counts
#   CHANNEL=12345     12345 (work orders, as the call centre's account) or events
#   RATE=             requests per second in total (open loop); unset: closed loop
#                     (with BATCH: orders per second)
#   BATCH=            12345 only: N orders per request (POST …/orders/batch); unset: one
#   BACKENDS="sqlite postgres"
#   INSTANCES=1       instance counts, e.g. "1 2" (issue #7, item 7): on PostgreSQL, N
#                     `zhili serve` on one database and data directory, the loadgen's
#                     requests spread over them in turn (--url A,B); SQLite runs 1 only
#   PG_ADMIN="-h 127.0.0.1 -U postgres"       psql arguments to create/drop databases
#   PG_BASE=postgres://postgres@127.0.0.1:5432 base URL of the PostgreSQL server
#   KEEP=1            keep the databases and logs afterwards
#   BINS="/tmp/a /tmp/b"  A/B: skip the build and run each of these binaries in turn
#                     within every run (so both see the same machine); the table
#                     gets one row per binary
set -euo pipefail

REQUESTS=${REQUESTS:-2000}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-"1 16"}
CHANNEL=${CHANNEL:-12345}
RATE=${RATE:-}
if [ "$CHANNEL" = 12345 ]; then USERNAME=hotline12345; else USERNAME=fengshan; fi
BATCH=${BATCH:-}
RATE_ARGS=()
if [ -n "$RATE" ]; then RATE_ARGS=(--rate "$RATE"); fi
if [ -n "$BATCH" ]; then RATE_ARGS+=(--batch "$BATCH"); fi
BACKENDS=${BACKENDS:-"sqlite postgres"}
INSTANCES=${INSTANCES:-1}
PG_ADMIN=${PG_ADMIN:-"-h 127.0.0.1 -U postgres"}
PG_BASE=${PG_BASE:-"postgres://postgres@127.0.0.1:5432"}

ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
cd "$ROOT"
if [ -n "${BINS:-}" ]; then
    read -r -a BIN_LIST <<<"$BINS"
else
    cargo build --release -p zhili >&2
    TARGET_DIR=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
    BIN_LIST=("$TARGET_DIR/release/zhili")
fi

WORK=$(mktemp -d -t zhili-bench-XXXXXX)
RESULTS="$WORK/results.tsv"
: > "$RESULTS"
SERVER_PIDS=()
DATABASES=()

cleanup() {
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    if [[ "${KEEP:-}" != 1 ]]; then
        for db in "${DATABASES[@]}"; do
            # shellcheck disable=SC2086
            psql $PG_ADMIN -q -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1 || true
        done
        rm -rf "$WORK"
    else
        echo "kept: $WORK ${DATABASES[*]}" >&2
    fi
}
trap cleanup EXIT

# start_server NAME ARGS... : starts zhili serve, waits for its address, sets ADDR;
# another call starts one more instance (the demo is loaded by the first only).
start_server() {
    local name=$1
    shift
    local out="$WORK/$name.out"
    RUST_LOG=warn "$BIN" serve --demo --bind 127.0.0.1:0 "$@" >"$out" 2>"$WORK/$name.err" &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    for _ in $(seq 1 600); do
        ADDR=$(sed -n 's/^listening on http:\/\///p' "$out")
        if [[ -n "$ADDR" ]]; then
            LOAD_SECS=$(sed -n 's/^演示数据加载完成.*用时 \([0-9.]*\) 秒.*/\1/p' "$out" | head -1)
            return 0
        fi
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            cat "$WORK/$name.err" >&2
            echo "server $name exited before listening" >&2
            exit 1
        fi
        sleep 0.5
    done
    echo "server $name did not start within 300 s" >&2
    exit 1
}

stop_servers() {
    for pid in "${SERVER_PIDS[@]}"; do
        kill -TERM "$pid"
        wait "$pid" || true
    done
    SERVER_PIDS=()
}

# run_one NAME BACKEND CLIENTS INSTANCES: a fresh database, the servers, the load.
run_one() {
    local name=$1 backend=$2 clients=$3 instances=$4 db=""
    case $backend in
        sqlite)
            start_server "$name" --data-dir "$WORK/$name"
            ;;
        postgres)
            db="zhili_bench_${name//-/_}_$$"
            # shellcheck disable=SC2086
            psql $PG_ADMIN -q -c "CREATE DATABASE $db" >/dev/null
            DATABASES+=("$db")
            start_server "$name" --data-dir "$WORK/$name" --database-url "$PG_BASE/$db"
            ;;
        *)
            echo "unknown backend $backend" >&2
            exit 1
            ;;
    esac
    echo "== $name ($BIN): demo loaded in ${LOAD_SECS:-?} s, serving on $ADDR" >&2
    local urls="http://$ADDR" load=$LOAD_SECS i
    for i in $(seq 2 "$instances"); do
        # The same database and data directory (the demo's model is trained once).
        start_server "$name-$i" --data-dir "$WORK/$name" --database-url "$PG_BASE/$db"
        urls="$urls,http://$ADDR"
        echo "== $name: instance $i serving on $ADDR" >&2
    done
    "$BIN" loadgen --url "$urls" --username "$USERNAME" --password zhili-demo \
        --channel "$CHANNEL" "${RATE_ARGS[@]}" \
        --clients "$clients" --requests "$REQUESTS" --json >"$WORK/$name.loadgen"
    sed '$d' "$WORK/$name.loadgen" >&2
    local json label=$backend
    json=$(tail -n 1 "$WORK/$name.loadgen")
    if [ "${#BIN_LIST[@]}" -gt 1 ]; then label="$backend $(basename "$BIN")"; fi
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$clients" "$instances" "$run" "${load:-}" "$json" >>"$RESULTS"
    stop_servers
}

for backend in $BACKENDS; do
    for clients in $CLIENTS; do
        for run in $(seq 1 "$RUNS"); do
            # Instance counts and binaries alternate within a run: all see one machine.
            for instances in $INSTANCES; do
                if [ "$backend" = sqlite ] && [ "$instances" != 1 ]; then
                    echo "skipped: SQLite runs one instance, not $instances" >&2
                    continue
                fi
                for b in "${!BIN_LIST[@]}"; do
                    BIN=${BIN_LIST[$b]}
                    run_one "${backend}-c${clients}-i${instances}-r${run}-b${b}" \
                        "$backend" "$clients" "$instances"
                done
            done
        done
    done
done

python3 - "$RESULTS" "$REQUESTS" <<'PY'
import json, statistics, sys
rows = {}
loads = {}
for line in open(sys.argv[1], encoding="utf-8"):
    backend, clients, instances, run, load, js = line.rstrip("\n").split("\t", 5)
    rows.setdefault((backend, int(clients), int(instances)), []).append(json.loads(js))
    if load:
        loads.setdefault(backend, []).append(float(load))
names = {"sqlite": "SQLite", "postgres": "PostgreSQL"}
def name_of(label):
    backend, _, binary = label.partition(" ")
    return names.get(backend, backend) + (f" ({binary})" if binary else "")
print(f"| Database | Instances | Clients | events/s | p50 (ms) | p99 (ms) | errors | runs | events/s per run | p99 per run |")
print(f"|---|---:|---:|---:|---:|---:|---:|---:|---|---|")
for (backend, clients, instances), rs in rows.items():
    med = lambda k: statistics.median(r[k] for r in rs)
    errors = sum(r["errors"] for r in rs)
    rates = " / ".join(f"{r['events_per_s']:.0f}" for r in rs)
    p99s = " / ".join(f"{r['p99_ms']:.1f}" for r in rs)
    print(f"| {name_of(backend)} | {instances} | {clients} | {med('events_per_s'):.0f} | "
          f"{med('p50_ms'):.1f} | {med('p99_ms'):.1f} | {errors} | {len(rs)} × {sys.argv[2]} | {rates} | {p99s} |")
print()
for backend, ls in loads.items():
    print(f"Demo load ({name_of(backend)}): median {statistics.median(ls):.1f} s "
          f"(min {min(ls):.1f}, max {max(ls):.1f}) over {len(ls)} loads")
PY
