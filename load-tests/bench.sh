#!/usr/bin/env bash
# mediastore benchmark, one command:
#   load-tests/bench.sh            full run (seed 5000 users in 60/10/5 s, both databases)
#   load-tests/bench.sh --quick    smoke run (300 seed users, 5 s timed runs)
# Installs nginx, wrk and nats-server if missing, builds the service and the load tool (release),
# runs every scenario against a fresh service on SQLite and on PostgreSQL (the 5 s seed burst
# twice: once more with events to a webhook and NATS, measuring their delivery lag), measures
# nginx on the same file and the machine floor, and prints one markdown table. Traffic goes to
# 127.0.0.1 only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

usage() {
  cat <<'EOF'
usage: load-tests/bench.sh [options]
  --quick            smoke run: 300 seed users, timed runs of 5 s
  --users N          seed users per window (default 5000; --quick 300)
  --windows "A B"    seed arrival windows in seconds (default "60 10 5")
  --duration S       seconds of each timed run: upload, downloads, mixed, nginx (default 20; --quick 5)
  --sqlite-only      skip PostgreSQL
  --postgres-only    skip SQLite (nginx then serves the PostgreSQL run's files)
  --no-build         use the binaries already built
  --keep             keep the temporary directory (logs, uploads, results)
  -h, --help         this text
environment:
  CARGO_TARGET_DIR       service build directory (default $HOME/.cache/mediastore-target)
  LOAD_TARGET_DIR        load tool build directory (default $HOME/.cache/mediastore-load-target)
  MEDIASTORE_BIN         use this service binary instead of building one
  BENCH_POSTGRES_URL     PostgreSQL server (default postgres://postgres@127.0.0.1:5432)
  BENCH_TMPDIR           where the temporary directory goes (default /var/tmp; must be a real disk)
  BENCH_OUT              where the table is also written (default $HOME/.cache/mediastore-bench-latest.md)
EOF
}

QUICK=0 SEED_USERS="" WINDOWS="60 10 5" DURATION="" BUILD=1 KEEP=0 DBS="sqlite postgres"
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --users) SEED_USERS=$2; shift ;;
    --windows) WINDOWS=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --sqlite-only) DBS="sqlite" ;;
    --postgres-only) DBS="postgres" ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$QUICK" = 1 ]; then
  SEED_USERS=${SEED_USERS:-300} DURATION=${DURATION:-5}
fi
SEED_USERS=${SEED_USERS:-5000} DURATION=${DURATION:-20}
case "$SEED_USERS$DURATION" in *[!0-9]*) echo "--users and --duration take whole numbers" >&2; exit 2 ;; esac
[ "$SEED_USERS" -ge 1 ] && [ "$SEED_USERS" -le 20000 ] || { echo "--users must be 1..20000" >&2; exit 2; }
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 300 ] || { echo "--duration must be 1..300" >&2; exit 2; }
for w in $WINDOWS; do
  case "$w" in ''|*[!0-9]*) echo "--windows takes whole seconds" >&2; exit 2 ;; esac
  [ "$w" -ge 1 ] && [ "$w" -le 600 ] || { echo "a window must be 1..600 s" >&2; exit 2; }
done

PORT=18080
NGINX_PORT=18081
SINK_PORT=18082
NATS_PORT=18083
SIGNED_PORT=18084
CONNECTIONS=64
PG_URL=${BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432}
SERVICE_TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/mediastore-target}
LOAD_TARGET=${LOAD_TARGET_DIR:-$HOME/.cache/mediastore-load-target}
LOAD="$LOAD_TARGET/release/mediastore-load"
SERVICE=${MEDIASTORE_BIN:-$SERVICE_TARGET/release/mediastore}
BENCH_STARTED=$(date +%s)

log() { printf '[bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- tools
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v python3 >/dev/null || missing+=(python3)
command -v timeout >/dev/null || missing+=(coreutils)
command -v bc >/dev/null || missing+=(bc)
command -v nats-server >/dev/null || missing+=(nats-server)
case " $DBS " in *" postgres "*) command -v psql >/dev/null || missing+=(postgresql-client) ;; esac
if [ "$BUILD" = 1 ] && ! command -v cc >/dev/null; then missing+=(build-essential); fi
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------- memory warm-up
# On a fresh virtual machine the first write to each page of RAM costs a fault in the
# hypervisor: writing a new 3 GB file into the page cache ran at 0.4 GB/s on such a machine,
# and at 3.5 GB/s once its memory had been touched. Touch the free memory once, so that every
# run, and the floor, measures the service and the disk rather than the VM's first touch.
log "touching the free memory once (a fresh VM's first-touch faults)"
python3 - <<'PY'
import mmap
available = next(int(line.split()[1]) for line in open("/proc/meminfo") if line.startswith("MemAvailable:"))
size = max(0, available * 1024 - (2 << 30)) // 4096 * 4096
if size:
    memory = mmap.mmap(-1, size)
    for offset in range(0, size, 4096):
        memory[offset] = 1
PY

# ---------------------------------------------------------------- build
if [ "$BUILD" = 1 ]; then
  if [ -z "${MEDIASTORE_BIN:-}" ]; then
    log "building the service (release) in $SERVICE_TARGET"
    (cd "$ROOT" && CARGO_TARGET_DIR="$SERVICE_TARGET" cargo build --release --quiet)
  fi
  log "building the load tool (release) in $LOAD_TARGET"
  (cd "$HERE" && CARGO_TARGET_DIR="$LOAD_TARGET" cargo build --release --quiet)
fi
[ -x "$SERVICE" ] || { echo "no service binary at $SERVICE (build it, or set MEDIASTORE_BIN)" >&2; exit 1; }
[ -x "$LOAD" ] || { echo "no load tool at $LOAD (run without --no-build)" >&2; exit 1; }

# ---------------------------------------------------------------- temp dir and cleanup
BASE_TMP=${BENCH_TMPDIR:-/var/tmp}
TMP=$(mktemp -d "$BASE_TMP/mediastore-bench.XXXXXX")
RESULTS="$TMP/results"
mkdir -p "$RESULTS"
SERVICE_PID="" SIGNED_PID="" NGINX_PID="" NATS_PID="" SINK_PID="" PG_DBS=() RUN_N=10

cleanup() {
  set +e
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  [ -n "$SIGNED_PID" ] && kill "$SIGNED_PID" 2>/dev/null && wait "$SIGNED_PID" 2>/dev/null
  [ -n "$SINK_PID" ] && kill "$SINK_PID" 2>/dev/null && wait "$SINK_PID" 2>/dev/null
  [ -n "$NATS_PID" ] && kill "$NATS_PID" 2>/dev/null && wait "$NATS_PID" 2>/dev/null
  for db in "${PG_DBS[@]}"; do
    psql "$PG_URL/postgres" -qXc "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1
  done
  if [ "$KEEP" = 1 ]; then
    log "kept $TMP"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---------------------------------------------------------------- the service
SERVICE_DB_URL=""
# start_service DB DIR [VAR=value...]: a fresh service on a fresh database and upload directory.
start_service() {
  local db=$1 dir=$2
  shift 2
  mkdir -p "$dir/uploads"
  if [ "$db" = sqlite ]; then
    SERVICE_DB_URL="sqlite://$dir/db.sqlite"
  else
    local name="mediastore_bench_$$_${RUN_N}"
    psql "$PG_URL/postgres" -qXv ON_ERROR_STOP=1 -c "CREATE DATABASE $name" >/dev/null
    PG_DBS+=("$name")
    SERVICE_DB_URL="$PG_URL/$name"
  fi
  launch_service "$dir" "$@"
}

# launch_service DIR [VAR=value...]: the service on $SERVICE_DB_URL and DIR, with extra settings,
# on $LAUNCH_PORT (default $PORT).
launch_service() {
  local dir=$1 port=${LAUNCH_PORT:-$PORT}
  shift
  env BIND_ADDR=127.0.0.1:$port DATABASE_URL="$SERVICE_DB_URL" UPLOAD_DIR="$dir/uploads" MEDIA_API_KEY=bench \
    RUST_LOG=warn SHUTDOWN_TIMEOUT_SECS=5 SWEEP_INTERVAL_SECS=0 "$@" \
    "$SERVICE" serve >>"$dir/service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$port/readyz" 2>/dev/null; then return 0; fi
    if ! kill -0 "$SERVICE_PID" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "the service did not become ready; its log:" >&2
  tail -n 30 "$dir/service.log" >&2
  exit 1
}

# json_field NAME JSON: one string field of a flat JSON object.
json_field() { python3 -c 'import json, sys; print(json.loads(sys.argv[2])[sys.argv[1]])' "$1" "$2"; }

stop_service() {
  [ -n "$SERVICE_PID" ] || return 0
  kill "$SERVICE_PID" 2>/dev/null || true
  wait "$SERVICE_PID" 2>/dev/null || true
  SERVICE_PID=""
}

# Peak RSS per run: reset the high-water mark (clear_refs 5), read VmHWM afterwards.
reset_peak() { echo 5 >"/proc/$SERVICE_PID/clear_refs" 2>/dev/null || true; }
save_peak() {
  awk '/^VmHWM:/ {print $2}' "/proc/$SERVICE_PID/status" >"$RESULTS/$1.rss" 2>/dev/null || true
}

# run_goose DB DIR SCENARIO HARD_LIMIT_S [load tool options...]
run_goose() {
  local db=$1 dir=$2 scenario=$3 limit=$4
  shift 4
  local id="${RUN_N}-${db}-${scenario}"
  RUN_N=$((RUN_N + 1))
  log "$db: $scenario $*"
  reset_peak
  local rc=0
  MEDIA_API_KEY=bench timeout --kill-after=10 "$limit" "$LOAD" run "$scenario" \
    --host "http://127.0.0.1:$PORT" --db "$db" --summary "$RESULTS/$id.json" "$@" \
    -- --no-print-metrics --quiet >"$TMP/$id.log" 2>&1 || rc=$?
  if [ "$rc" != 0 ]; then
    log "$db: $scenario failed (exit $rc); last lines of its log:"
    tail -n 5 "$TMP/$id.log" >&2
    rm -f "$RESULTS/$id.json"
  fi
  save_peak "$id"
}

# run_wrk LABEL DB URL: 2 threads, 64 connections, $DURATION seconds.
run_wrk() {
  local label=$1 db=$2 url=$3
  local id="${RUN_N}-${db}-${label}-wrk"
  RUN_N=$((RUN_N + 1))
  log "$db: wrk $label ($CONNECTIONS connections, ${DURATION}s)"
  [ "$db" = "-" ] || reset_peak
  if ! WRK_SUMMARY="$RESULTS/$id.json" WRK_LABEL=$label WRK_DB=$db \
      timeout --kill-after=10 $((DURATION + 30)) \
      wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$HERE/wrk-report.lua" "$url" \
      >"$TMP/$id.log" 2>&1; then
    log "wrk $label failed; last lines of its log:"
    tail -n 5 "$TMP/$id.log" >&2
    rm -f "$RESULTS/$id.json"
  fi
  [ "$db" = "-" ] || save_peak "$id"
}

NGINX_SOURCE="" NGINX_NAME="" NGINX_VARIANT=""

# bench_big_upload DB: one 1 GiB PNG (a valid 8000 × 6000 header, then one big IDAT chunk)
# uploaded with MAX_FILE_BYTES=2 GiB; the service's peak RSS during it, less its RSS before.
bench_big_upload() {
  local db=$1 dir="$TMP/$db-big" file="$TMP/big.png"
  python3 - "$file" <<'PY'
import os, struct, sys, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
block, blocks = os.urandom(1 << 20), 1024
with open(sys.argv[1], "wb") as out:
    out.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 8000, 6000, 8, 2, 0, 0, 0)))
    crc = zlib.crc32(b"IDAT")
    out.write(struct.pack(">I", len(block) * blocks) + b"IDAT")
    for _ in range(blocks):
        out.write(block)
        crc = zlib.crc32(block, crc)
    out.write(struct.pack(">I", crc) + chunk(b"IEND", b""))
PY
  start_service "$db" "$dir" MAX_FILE_BYTES=2147483648
  log "$db: one $(($(stat -c %s "$file") / 1048576)) MiB upload"
  sleep 1
  reset_peak
  local before status started
  before=$(awk '/^VmRSS:/ {print $2}' "/proc/$SERVICE_PID/status")
  started=$(date +%s.%N)
  status=$(curl -sS -o "$TMP/big-answer.json" -w '%{http_code}' -F "file=@$file;type=image/png" \
    --max-time 300 "http://127.0.0.1:$PORT/v1/media" || echo 000)
  local seconds peak
  seconds=$(echo "$(date +%s.%N) - $started" | bc)
  peak=$(awk '/^VmHWM:/ {print $2}' "/proc/$SERVICE_PID/status")
  echo "{\"db\":\"$db\",\"file_bytes\":$(stat -c %s "$file"),\"status\":$status,\"seconds\":$seconds,\"rss_before_kb\":$before,\"peak_kb\":$peak}" \
    >"$RESULTS/big-upload-$db.big"
  [ "$status" = 201 ] || log "$db: the 1 GiB upload answered $status: $(head -c 300 "$TMP/big-answer.json")"
  stop_service
  rm -rf "$dir" "$file"
}

bench_db() {
  local db=$1 dir
  # Seed: a fresh service per window, 5000 users (or --users) each uploading one image.
  for w in $WINDOWS; do
    dir="$TMP/$db-seed-$w"
    start_service "$db" "$dir"
    run_goose "$db" "$dir" seed $((w + 300)) --users "$SEED_USERS" --window "$w" --timeout 120
    stop_service
    rm -rf "$dir"
  done
  # The 5 s burst again, each upload's event going to a webhook and to NATS JetStream, both
  # received by the load tool's event sink, which measures commit-to-receipt lag.
  if [ -n "$NATS_PID" ]; then
    dir="$TMP/$db-seed-events"
    local prefix="bench${RUN_N}" stream="BENCH${RUN_N}"
    "$LOAD" event-sink --port "$SINK_PORT" --nats "nats://127.0.0.1:$NATS_PORT" \
      --prefix "$prefix" --stream "$stream" --idle-secs 5 --max-secs 400 --db "$db" \
      --summary "$RESULTS/${RUN_N}-$db.lag" >"$TMP/sink-$db.log" 2>&1 &
    SINK_PID=$!
    for _ in $(seq 1 100); do grep -q listening "$TMP/sink-$db.log" 2>/dev/null && break; sleep 0.1; done
    start_service "$db" "$dir" EVENTS_NATS_URL="nats://127.0.0.1:$NATS_PORT" \
      EVENTS_NATS_PREFIX="$prefix" EVENTS_NATS_STREAM="$stream" \
      WEBHOOK_URLS="http://127.0.0.1:$SINK_PORT/hook" WEBHOOK_SECRET=whsec_YmVuY2gtd2ViaG9vay1zZWNyZXQtMDEyMzQ1Njc4OWFi
    run_goose "$db" "$dir" seed 305 --users "$SEED_USERS" --window 5 --timeout 120 --label seed-5s-events
    log "$db: waiting for every event to arrive (the sink stops 5 s after the last)"
    wait "$SINK_PID" || log "$db: the event sink failed; its log: $(tail -n 3 "$TMP/sink-$db.log")"
    SINK_PID=""
    stop_service
    rm -rf "$dir"
  fi
  # Upload throughput: 64 clients, 1.3 MB files.
  dir="$TMP/$db-upload"
  start_service "$db" "$dir"
  run_goose "$db" "$dir" upload $((DURATION + 200)) --users "$CONNECTIONS" --run-time "$DURATION"
  stop_service
  rm -rf "$dir"
  # Downloads (goose, then wrk on the same ~100 KB file for the nginx comparison), then mixed.
  dir="$TMP/$db-serve"
  start_service "$db" "$dir"
  run_goose "$db" "$dir" download-by-id $((DURATION + 200)) --users "$CONNECTIONS" --run-time "$DURATION"
  run_goose "$db" "$dir" download-by-name $((DURATION + 200)) --users "$CONNECTIONS" --run-time "$DURATION"
  local id name
  local target
  target=$("$LOAD" upload-one --host "http://127.0.0.1:$PORT")
  read -r id name <<<"$target"
  run_wrk download-by-id "$db" "http://127.0.0.1:$PORT/v1/media/$id"
  run_wrk download-by-name "$db" "http://127.0.0.1:$PORT/v1/files/$name"
  # A cached variant of the same file: the first request makes and keeps it (unless the eager
  # job already has), wrk then measures it served, against nginx on the kept file below.
  curl -fsS -o /dev/null "http://127.0.0.1:$PORT/v1/files/$name/variants/card"
  run_wrk variant-card "$db" "http://127.0.0.1:$PORT/v1/files/$name/variants/card"
  # Signed against public downloads of the same file, interleaved: a second service with
  # DOWNLOAD_AUTH=signed on the same database and files, both up at once, three rounds of each
  # in turn, so that a slow moment of the machine hits both alike (the table takes medians).
  local public_pid=$SERVICE_PID signed
  LAUNCH_PORT=$SIGNED_PORT launch_service "$dir" DOWNLOAD_AUTH=signed \
    SIGNING_KEYS=bench-signing-key-0123456789abcdefghij
  SIGNED_PID=$SERVICE_PID SERVICE_PID=$public_pid
  signed=$(curl -fsS -X POST -H 'authorization: Bearer bench' -H 'content-type: application/json' \
    -d '{"expires_in": 3600}' "http://127.0.0.1:$SIGNED_PORT/v1/media/$id/signed-urls")
  for round in 1 2 3; do
    log "$db: public and signed, round $round"
    run_wrk ab-public-by-id "$db" "http://127.0.0.1:$PORT/v1/media/$id"
    run_wrk ab-signed-by-id "$db" "http://127.0.0.1:$SIGNED_PORT$(json_field url "$signed")"
    run_wrk ab-public-by-name "$db" "http://127.0.0.1:$PORT/v1/files/$name"
    run_wrk ab-signed-by-name "$db" "http://127.0.0.1:$SIGNED_PORT$(json_field file_url "$signed")"
  done
  kill "$SIGNED_PID" 2>/dev/null || true
  wait "$SIGNED_PID" 2>/dev/null || true
  SIGNED_PID=""
  stop_service
  launch_service "$dir"
  run_goose "$db" "$dir" mixed $((DURATION + 200)) --users 16 --run-time "$DURATION"
  stop_service
  if [ -z "$NGINX_SOURCE" ]; then
    NGINX_SOURCE="$dir/uploads" NGINX_NAME=$name
    # Kept variants are named by their geometry: `card` is 640x480, cover (VARIANTS default).
    NGINX_VARIANT=$(cd "$dir/uploads/variants" && find . -path "*/$name/cover-640x480.*" -type f | head -n 1)
    bench_big_upload "$db"
  fi
}

PG_OK=1
case " $DBS " in
  *" postgres "*)
    if ! psql "$PG_URL/postgres" -qXtAc 'select 1' >/dev/null 2>&1; then
      log "PostgreSQL is not reachable at $PG_URL: skipping it (start it, or set BENCH_POSTGRES_URL)"
      PG_OK=0
    fi ;;
esac

# NATS JetStream of the bench's own, for the events run.
mkdir -p "$TMP/nats"
nats-server -js -a 127.0.0.1 -p "$NATS_PORT" -sd "$TMP/nats" >"$TMP/nats/log" 2>&1 &
NATS_PID=$!
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null && break; sleep 0.1; done
if ! (exec 3<>/dev/tcp/127.0.0.1/$NATS_PORT) 2>/dev/null; then
  log "nats-server did not start: skipping the events run; its log: $(tail -n 3 "$TMP/nats/log")"
  NATS_PID=""
fi

log "seed users $SEED_USERS, windows ${WINDOWS// /,} s, timed runs ${DURATION} s; temp dir $TMP"
for db in $DBS; do
  if [ "$db" = postgres ] && [ "$PG_OK" = 0 ]; then continue; fi
  bench_db "$db"
done

# ---------------------------------------------------------------- nginx on the same file
if [ -n "$NGINX_SOURCE" ]; then
  mkdir -p "$TMP/nginx"
  user_line=""
  [ "$(id -u)" = 0 ] && user_line="user root;"
  cat >"$TMP/nginx/nginx.conf" <<EOF
$user_line
worker_processes auto;
pid $TMP/nginx/nginx.pid;
error_log $TMP/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  client_body_temp_path $TMP/nginx/body;
  proxy_temp_path $TMP/nginx/proxy;
  fastcgi_temp_path $TMP/nginx/fastcgi;
  uwsgi_temp_path $TMP/nginx/uwsgi;
  scgi_temp_path $TMP/nginx/scgi;
  types { image/jpeg jpg; image/png png; image/gif gif; image/webp webp; image/avif avif; }
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location /variants/ {
      alias $NGINX_SOURCE/variants/;
    }
    location ~ "^/v1/files/(([0-9a-f]{2})[0-9a-f]{38}-[0-9]{13}\.(jpg|png|gif|webp))$" {
      alias $NGINX_SOURCE/\$2/\$1;
    }
  }
}
EOF
  nginx -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
  NGINX_PID=$!
  url="http://127.0.0.1:$NGINX_PORT/v1/files/$NGINX_NAME"
  for _ in $(seq 1 50); do curl -fsS -o /dev/null "$url" 2>/dev/null && break; sleep 0.1; done
  if curl -fsS -o /dev/null "$url"; then
    run_wrk nginx - "$url"
    if [ -n "$NGINX_VARIANT" ]; then
      run_wrk nginx-variant - "http://127.0.0.1:$NGINX_PORT/variants/${NGINX_VARIANT#./}"
    else
      log "no kept card variant found for nginx"
    fi
  else
    log "nginx does not serve $url; its log:"
    cat "$TMP/nginx/error.log" >&2 || true
  fi
  kill "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
fi

# ---------------------------------------------------------------- machine floor
log "machine floor: write + fsync + SHA-1, 4 writers"
"$LOAD" floor --dir "$TMP/floor" --writers 4 --seconds 6 --summary "$RESULTS/floor.json" >/dev/null

# ---------------------------------------------------------------- the table
OUT=${BENCH_OUT:-$HOME/.cache/mediastore-bench-latest.md}
mkdir -p "$(dirname "$OUT")"
{
  echo "mediastore bench, $(date -u +%Y-%m-%dT%H:%MZ): $(nproc) vCPU $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr)"
  echo "seed users $SEED_USERS per window; timed runs ${DURATION} s; $CONNECTIONS connections (wrk -t2) for the download comparison; total $(( $(date +%s) - BENCH_STARTED )) s"
  echo
  "$LOAD" table "$RESULTS"
} | tee "$OUT"
log "table also written to $OUT"
