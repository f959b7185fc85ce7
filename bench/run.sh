#!/usr/bin/env bash
# `make bench` (bench/run.sh full) and `make bench-quick` (bench/run.sh quick):
# measure userhub on SQLite and on PostgreSQL against references taken in the
# same run, then write docs/benchmarks.md and docs/benchmarks/*.svg
# (bench/report.py). README, "Benchmarks", says what each scenario measures.
#
# Settings (environment):
#   BENCH_SMALL            users of the small list measurements (10000; quick 2000)
#   BENCH_LARGE            users of the large ones on PostgreSQL (1000000; quick 20000)
#   BENCH_LARGE_SQLITE     the same on SQLite (250000; quick 20000): SQLite
#                          imports at about half PostgreSQL's rate, and a
#                          million on both does not fit the 15-minute budget
#   BENCH_PG               PostgreSQL server, as a URL without database
#                          (postgres://postgres@127.0.0.1:5432); databases
#                          are created on it and dropped afterwards
#   BENCH_OUT              where the report goes (docs; quick: target/bench/report)
#   BENCH_BACKENDS         "sqlite postgres"
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
MODE=${1:-full}
case "$MODE" in
full)
    SMALL=${BENCH_SMALL:-10000}
    LARGE_PG=${BENCH_LARGE:-1000000}
    LARGE_SQLITE=${BENCH_LARGE_SQLITE:-250000}
    SECONDS_LOAD=10      # each throughput measurement
    LIST_SAMPLES=9       # each list query, one at a time ...
    LIST_SECONDS=4       # ... or as many as fit in this (at least 3)
    LIST_TIMEOUT=${BENCH_LIST_TIMEOUT:-30} # a call slower than this is reported as such
    SECONDS_STORM=3      # each of the ten storms
    STORMS=10
    OUT=${BENCH_OUT:-$ROOT/docs}
    ;;
quick)
    SMALL=${BENCH_SMALL:-2000}
    LARGE_PG=${BENCH_LARGE:-20000}
    LARGE_SQLITE=${BENCH_LARGE_SQLITE:-20000}
    SECONDS_LOAD=2
    LIST_SAMPLES=5
    LIST_SECONDS=1
    LIST_TIMEOUT=${BENCH_LIST_TIMEOUT:-30}
    SECONDS_STORM=1
    STORMS=3
    OUT=${BENCH_OUT:-$ROOT/target/bench/report}
    ;;
*)
    echo "usage: bench/run.sh [full|quick]" >&2
    exit 2
    ;;
esac
PG=${BENCH_PG:-postgres://postgres@127.0.0.1:5432}
BACKENDS=${BENCH_BACKENDS:-sqlite postgres}
# Clients of each scenario, as issue 13 sets them.
CLIENTS_CREATE_PASSWORD=32
CLIENTS_GET=16
CLIENTS_WRITE=16
CLIENTS_STORM=200
PAGE_SIZE=100

WORK=$ROOT/target/bench
RESULTS=$WORK/results.jsonl
BIN=$ROOT/target/release/userhub
ARGON2_RATE=$ROOT/target/release/argon2-rate
export BENCH_WRK=$ROOT/bench/wrk
mkdir -p "$WORK"
: >"$RESULTS"
STARTED=$(date +%s)

say() { printf '[bench %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { say "FAILED: $*"; exit 1; }

# --- tools ------------------------------------------------------------------
need_tools() {
    if ! command -v wrk >/dev/null; then
        say "installing wrk (Debian's package)"
        local sudo=""
        [ "$(id -u)" -eq 0 ] || sudo=sudo
        $sudo apt-get install -y wrk >/dev/null || die "wrk is missing and could not be installed"
    fi
    for tool in pgbench psql curl jq python3 awk; do
        command -v "$tool" >/dev/null || die "$tool is missing (Debian: postgresql-client, curl, jq, python3)"
    done
}

# --- bookkeeping ------------------------------------------------------------
# record BACKEND NAME JSON: one measurement for report.py.
record() {
    printf '{"backend":"%s","name":"%s","result":%s}\n' "$1" "$2" "$3" >>"$RESULTS"
}

SERVER_PID=""
DATABASES=()
cleanup() {
    if [ -n "$SERVER_PID" ]; then
        stop_server || true
    fi
    for db in "${DATABASES[@]}"; do
        drop_database "$db" || true
    done
}
trap cleanup EXIT

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

create_database() { psql -qX "$PG/postgres" -c "CREATE DATABASE $1" >/dev/null; DATABASES+=("$1"); }
drop_database() { psql -qX "$PG/postgres" -c "DROP DATABASE IF EXISTS $1 WITH (FORCE)" >/dev/null 2>&1; }

# The server's user + system CPU time, in clock ticks (1/100 s).
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$SERVER_PID/stat"; }

rss_kib() { awk '/^VmRSS:/ {print $2}' "/proc/$SERVER_PID/status"; }

now() { date +%s.%N; }

# wrk_run CLIENTS SECONDS SCRIPT: the JSON line of report.lua. Two threads:
# the machine's two cores (the server shares them).
wrk_run() {
    local clients=$1 seconds=$2 script=$3 threads=2
    [ "$clients" -ge 2 ] || threads=1
    wrk -t"$threads" -c"$clients" -d"${seconds}s" --timeout 30s -s "$BENCH_WRK/$script" "$BASE" |
        grep '^{"requests"' || die "wrk gave no result ($script)"
}

# --- one backend --------------------------------------------------------------
start_server() {
    local port
    port=$(free_port)
    BASE=http://127.0.0.1:$port
    # RUST_LOG=warn: no access line per request, so the bench measures the
    # request path rather than log output.
    DATABASE_URL=$URL RUST_LOG=warn "$BIN" serve --bind "127.0.0.1:$port" >"$WORK/server-$BACKEND.log" 2>&1 &
    SERVER_PID=$!
    local tries=0
    until curl -fs "$BASE/readyz" >/dev/null; do
        kill -0 "$SERVER_PID" 2>/dev/null || die "userhub did not start: see $WORK/server-$BACKEND.log"
        tries=$((tries + 1))
        [ "$tries" -lt 300 ] || die "userhub not ready after 60 s"
        sleep 0.2
    done
}

# SIGTERM, then SIGKILL if a graceful shutdown waits too long on a request
# still running (a slow list query).
stop_server() {
    kill "$SERVER_PID" 2>/dev/null || true
    local tries=0
    while kill -0 "$SERVER_PID" 2>/dev/null && [ "$tries" -lt 50 ]; do
        sleep 0.2
        tries=$((tries + 1))
    done
    kill -9 "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# import FIRST COUNT LABEL: users.py's users FIRST .. FIRST+COUNT-1 through
# the bulk import, timed (generating the file is not).
import_users() {
    local first=$1 count=$2 label=$3 file=$WORK/users.ndjson
    python3 "$ROOT/bench/users.py" "$first" "$count" >"$file"
    say "$BACKEND: importing $count users"
    local t0 t1 summary
    t0=$(now)
    summary=$(DATABASE_URL=$URL "$BIN" import --tenant bench "$file" 2>&1 | tail -n1) ||
        die "import failed: $summary"
    t1=$(now)
    rm -f "$file"
    # What autovacuum does after a bulk load (this machine's PostgreSQL runs
    # with autovacuum off, which the report says): fresh planner statistics.
    # Not counted in the import's time. SQLite gets nothing: userhub runs no
    # ANALYZE there, so its plans are what a server sees.
    if [ "$BACKEND" = postgres ]; then
        psql -qX "$URL" -c ANALYZE >/dev/null
    fi
    local imported
    imported=$(sed -nE 's/.*lines: ([0-9]+) imported.*/\1/p' <<<"$summary")
    [ "$imported" = "$count" ] || die "import of $count users imported ${imported:-none}: $summary"
    record "$BACKEND" "import_$label" "$(awk -v n="$count" -v a="$t0" -v b="$t1" \
        'BEGIN { printf "{\"users\":%d,\"seconds\":%.3f,\"per_s\":%.1f}", n, b - a, n / (b - a) }')"
}

# One fixed request, one at a time: its median latency over LIST_SAMPLES
# calls (fewer when they take longer than LIST_SECONDS, at least 3), timed
# by curl (wrk counts no request slower than its run, and a page at 90 %
# depth of a million users can take seconds). A first call checks it
# answers 200 (a failing query would be measured fast) and warms the
# caches.
list_query() {
    local label=$1 name=$2 method=$3 target=$4 body=${5:-} auth_name=${6:-Authorization} auth_value=${7:-"Bearer $KEY"}
    local status request=(-s -o "$WORK/last-answer.json" -X "$method" "$BASE$target" -H "$auth_name: $auth_value")
    [ -z "$body" ] || request+=(-H 'Content-Type: application/json' --data "$body")
    request+=(--max-time "$LIST_TIMEOUT")
    if ! status=$(curl -w '%{http_code}' "${request[@]}"); then
        say "$name: no answer within $LIST_TIMEOUT s"
        record "$BACKEND" "list_${name}_$label" "{\"samples\":0,\"timed_out_s\":$LIST_TIMEOUT}"
        return
    fi
    [ "$status" = 200 ] || die "$name answered $status: $(head -c 300 "$WORK/last-answer.json")"
    local times=() deadline=$(($(date +%s) + LIST_SECONDS)) answer
    while [ "${#times[@]}" -lt 3 ] || { [ "${#times[@]}" -lt "$LIST_SAMPLES" ] && [ "$(date +%s)" -lt "$deadline" ]; }; do
        answer=$(curl -w '%{http_code} %{time_total}' "${request[@]}") || break
        [ "${answer% *}" = 200 ] || die "$name answered ${answer% *}"
        times+=("${answer#* }")
    done
    if [ "${#times[@]}" -eq 0 ]; then
        record "$BACKEND" "list_${name}_$label" "{\"samples\":0,\"timed_out_s\":$LIST_TIMEOUT}"
        return
    fi
    record "$BACKEND" "list_${name}_$label" "$(printf '%s\n' "${times[@]}" | sort -g | awk '
        { t[NR] = $1 * 1000 }
        END { printf "{\"samples\":%d,\"p50_ms\":%.3f,\"min_ms\":%.3f,\"max_ms\":%.3f}", NR,
              (NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2), t[1], t[NR] }')"
}

iklim_page() {
    curl -fs -X POST "$BASE/v1/users/page" -H "Authorization: Bearer $KEY" \
        -H 'Content-Type: application/json' --data "$1"
}

# The list queries of issue 13, 100 users a page, at the tenant's current size.
list_queries() {
    local label=$1 total deep token
    total=$(iklim_page "{\"pageNumber\":0,\"pageSize\":1}" | jq -r .totalRecords)
    record "$BACKEND" "users_$label" "{\"users\":$total}"
    say "$BACKEND: list queries at $total users"
    list_query "$label" first_page POST /v1/users/page "{\"pageNumber\":0,\"pageSize\":$PAGE_SIZE}"
    list_query "$label" status POST /v1/users/page "{\"status\":[\"INACTIVE\"],\"pageNumber\":0,\"pageSize\":$PAGE_SIZE}"
    list_query "$label" role POST /v1/users/page "{\"roles\":[\"POWER_USER\"],\"pageNumber\":0,\"pageSize\":$PAGE_SIZE}"
    list_query "$label" organization POST /idp/v1/Iam/GetUsers \
        "{\"page\":1,\"pageSize\":$PAGE_SIZE,\"filter\":{\"organizationId\":\"org_7\"}}" x-blocks-key "$KEY"
    list_query "$label" name_prefix POST /idp/v1/Iam/GetUsers \
        "{\"page\":1,\"pageSize\":$PAGE_SIZE,\"filter\":{\"name\":\"jo\"}}" x-blocks-key "$KEY"
    deep=$((total * 9 / 10 / PAGE_SIZE))
    list_query "$label" deep_page POST /v1/users/page "{\"pageNumber\":$deep,\"pageSize\":$PAGE_SIZE}"
    token=$(curl -fs "$BASE/nevis/api/v1/users?limit=$PAGE_SIZE" -H "Authorization: Bearer $KEY" |
        jq -r ._pagination.continuationToken)
    [ -n "$token" ] || die "Nevis gave no continuation token"
    list_query "$label" keyset_next GET "/nevis/api/v1/users?limit=$PAGE_SIZE&continuationToken=$token"
    list_query "$label" scim_sw GET "/scim/v2/Users?filter=userName%20sw%20%22user12%22&count=$PAGE_SIZE"
}

# One storm: CLIENTS_STORM password requests at once (wrk keeps that many in
# flight for SECONDS_STORM), half creates with a password, half logins of
# unknown users, as crates/api/tests/api/memory.rs. 503s are expected.
storm() {
    RUN=storm$1-$BACKEND PASSWORD=yes STORM=yes KEY=$KEY wrk_run "$CLIENTS_STORM" "$SECONDS_STORM" create.lua
}

bench_backend() {
    BACKEND=$1
    local large
    case "$BACKEND" in
    sqlite)
        rm -f "$WORK/bench.db" "$WORK/bench.db-wal" "$WORK/bench.db-shm"
        URL=sqlite://$WORK/bench.db
        large=$LARGE_SQLITE
        ;;
    postgres)
        local db=userhub_bench_$$
        create_database "$db"
        URL=$PG/$db
        large=$LARGE_PG
        ;;
    esac
    if [ "$BACKEND" = postgres ]; then
        record postgres server "{\"autovacuum\":\"$(psql -qXAt "$URL" -c 'SHOW autovacuum')\",\"version\":\"$(psql -qXAt "$URL" -c 'SHOW server_version' | cut -d' ' -f1)\"}"
    fi
    say "$BACKEND: starting userhub"
    DATABASE_URL=$URL "$BIN" migrate >/dev/null
    DATABASE_URL=$URL "$BIN" tenant create bench >/dev/null
    KEY=$(DATABASE_URL=$URL "$BIN" api-key create --tenant bench --role ADMIN | tail -n1)
    start_server
    record "$BACKEND" rss_idle "{\"kib\":$(rss_kib)}"

    import_users 0 "$SMALL" small
    list_queries small

    say "$BACKEND: GET by id, $CLIENTS_GET clients, and its reference"
    case "$BACKEND" in
    sqlite) record "$BACKEND" reference_static "$(METHOD=GET TARGET=/healthz wrk_run "$CLIENTS_GET" "$SECONDS_LOAD" request.lua)" ;;
    postgres) pgbench_reference ;;
    esac
    record "$BACKEND" get_by_id "$(KEY=$KEY USERS=$SMALL wrk_run "$CLIENTS_GET" "$SECONDS_LOAD" get.lua)"

    say "$BACKEND: creates with a password, $CLIENTS_CREATE_PASSWORD clients, and raw argon2id just before"
    # The reference right next to the load it is the limit of, so that both
    # see the same machine (other work on it moves both alike).
    record "$BACKEND" argon2_raw "$("$ARGON2_RATE" --seconds "$SECONDS_LOAD")"
    local cpu_before cpu_after
    cpu_before=$(cpu_ticks)
    record "$BACKEND" create_password "$(RUN=pw-$BACKEND PASSWORD=yes KEY=$KEY wrk_run "$CLIENTS_CREATE_PASSWORD" "$SECONDS_LOAD" create.lua)"
    cpu_after=$(cpu_ticks)
    # The server's CPU time over the creates (requests still queued when
    # wrk stops cost nothing yet: they wait for a hashing slot).
    record "$BACKEND" create_password_cpu "{\"cpu_s\":$(awk -v a="$cpu_before" -v b="$cpu_after" 'BEGIN { print (b - a) / 100 }')}"

    say "$BACKEND: creates without a password, $CLIENTS_WRITE clients; GETs during such a storm"
    record "$BACKEND" create_no_password "$(RUN=np-$BACKEND KEY=$KEY wrk_run "$CLIENTS_WRITE" "$SECONDS_LOAD" create.lua)"
    RUN=np2-$BACKEND KEY=$KEY wrk_run "$CLIENTS_WRITE" "$((SECONDS_LOAD + 2))" create.lua >"$WORK/storm-creates.json" &
    local creates=$!
    sleep 1 # the create storm is under way before the GETs start
    record "$BACKEND" get_during_creates "$(KEY=$KEY USERS=$SMALL wrk_run "$CLIENTS_GET" "$SECONDS_LOAD" get.lua)"
    wait "$creates"
    record "$BACKEND" creates_during_gets "$(cat "$WORK/storm-creates.json")"

    say "$BACKEND: $STORMS storms of $CLIENTS_STORM password requests"
    # The baseline of the storms: idle again, after the scenarios before
    # (their page caches and blocking threads are part of it).
    record "$BACKEND" rss_before_storms "{\"kib\":$(rss_kib)}"
    local round
    for round in $(seq 1 "$STORMS"); do
        record "$BACKEND" "storm_$round" "$(storm "$round")"
        record "$BACKEND" "rss_after_storm_$round" "{\"kib\":$(rss_kib)}"
    done

    import_users "$SMALL" "$((large - SMALL))" large
    list_queries large

    stop_server
}

# pgbench -S on a scratch database of the same server, same client count:
# what PostgreSQL itself serves of primary-key reads.
pgbench_reference() {
    local db=pgbench_bench_$$
    create_database "$db"
    pgbench -q -i -s 10 "$PG/$db" >/dev/null 2>&1 || die "pgbench -i failed"
    local out tps
    out=$(pgbench -S -c "$CLIENTS_GET" -j 2 -T "$SECONDS_LOAD" "$PG/$db" 2>&1) || die "pgbench -S failed: $out"
    tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' <<<"$out" | head -n1)
    [ -n "$tps" ] || die "no tps in pgbench's output: $out"
    record postgres reference_pgbench "{\"per_s\":$tps}"
    drop_database "$db"
}

# What code was measured: the last commit that changed the server (a branch
# that only changes the bench measures the same code as its base).
measured_commit() {
    local server="crates/domain crates/storage crates/api migrations"
    # shellcheck disable=SC2086
    printf '%s' "$(git -C "$ROOT" log -1 --format="%h, %cs" -- $server)"
    # shellcheck disable=SC2086
    git -C "$ROOT" diff --quiet HEAD -- $server || printf ' with uncommitted changes'
}

# --- the run --------------------------------------------------------------------
need_tools
say "building release"
(cd "$ROOT" && cargo build --release --quiet -p userhub-api --bin userhub -p userhub-bench --bin argon2-rate)
BUILT=$(date +%s)

for backend in $BACKENDS; do
    bench_backend "$backend"
done

FINISHED=$(date +%s)
python3 "$ROOT/bench/report.py" "$RESULTS" "$OUT" \
    --mode "$MODE" --commit "$(measured_commit)" \
    --build-seconds "$((BUILT - STARTED))" --run-seconds "$((FINISHED - BUILT))" \
    --cores "$(nproc)" --date "$(date -u +%Y-%m-%dT%H:%MZ)"
say "done in $((FINISHED - STARTED)) s: $OUT/benchmarks.md"
