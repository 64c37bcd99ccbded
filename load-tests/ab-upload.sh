#!/usr/bin/env bash
# Upload A/B of two service binaries, alternated in one session so that both see the same
# machine: the `upload` scenario (64 clients, 1.3 MB JPEGs) against a fresh SQLite service each
# run. Prints one line per run: the label and the ingest MB/s.
#   load-tests/ab-upload.sh BEFORE_BIN AFTER_BIN [ROUNDS] [SECONDS]
# The load tool comes from $LOAD_TARGET_DIR (default $HOME/.cache/mediastore-load-target), built
# by bench.sh or `cargo build --release` in load-tests/. Traffic goes to 127.0.0.1 only.
set -euo pipefail
before=$1 after=$2 rounds=${3:-3} seconds=${4:-15}
load="${LOAD_TARGET_DIR:-$HOME/.cache/mediastore-load-target}/release/mediastore-load"
port=18484
run() {
  local bin=$1 label=$2 dir pid
  dir=$(mktemp -d "${BENCH_TMPDIR:-/var/tmp}/ab.XXXX")
  BIND_ADDR=127.0.0.1:$port DATABASE_URL="sqlite://$dir/db.sqlite" UPLOAD_DIR="$dir/uploads" \
    RUST_LOG=error MAX_CONCURRENT_UPLOADS=64 "$bin" serve &
  pid=$!
  for _ in $(seq 100); do curl -fs -o /dev/null "http://127.0.0.1:$port/healthz" && break; sleep 0.1; done
  "$load" run upload --host "http://127.0.0.1:$port" --users 64 --run-time "$seconds" 2>/dev/null \
    | tail -n 1 \
    | python3 -c "import json,sys; r=json.loads(sys.stdin.read()); print('$label', round(r['ingest_mb_per_s'], 1), 'MB/s', 'failures:', r['failures'])"
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$dir"
}
for _ in $(seq "$rounds"); do
  run "$before" before
  run "$after" after
done
