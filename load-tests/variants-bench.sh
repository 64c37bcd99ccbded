#!/usr/bin/env bash
# Variant benchmark, one command:
#   load-tests/variants-bench.sh
# Compares the service's variant generation (cache cold: every request transforms) with
# libvips' vipsthumbnail on the same generated photos, the service's cached variant downloads
# with nginx serving the same bytes, and reads the service's peak RSS. Installs libvips-tools,
# nginx, wrk and curl if missing, builds the service (release), prints one markdown table.
# Traffic goes to 127.0.0.1 only.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

usage() {
  cat <<'EOF'
usage: load-tests/variants-bench.sh [options]
  --files N        images per cold case, for both tools (default 40)
  --workers N      parallel vipsthumbnail workers = concurrent requests = MAX_CONCURRENT_TRANSFORMS
                   (default 2)
  --burst N        concurrent requests of the burst run (default 8; transforms stay at --workers)
  --duration S     seconds of each wrk run (default 10)
  --no-build       use the binary already built
  --keep           keep the temporary directory (images, uploads, outputs, logs)
  -h, --help       this text
environment:
  CARGO_TARGET_DIR   service build directory (default $HOME/.cache/mediastore-target)
  MEDIASTORE_BIN     use this service binary instead of building one
  BENCH_TMPDIR       where the temporary directory and the table go (default /var/tmp; a real disk)
  BENCH_OUT          the table's file (default $BENCH_TMPDIR/mediastore-variants-bench-latest.md)
EOF
}

FILES=40 WORKERS=2 BURST=8 DURATION=10 BUILD=1 KEEP=0
while [ $# -gt 0 ]; do
  case "$1" in
    --files) FILES=$2; shift ;;
    --workers) WORKERS=$2; shift ;;
    --burst) BURST=$2; shift ;;
    --duration) DURATION=$2; shift ;;
    --no-build) BUILD=0 ;;
    --keep) KEEP=1 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown option: $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
case "$FILES$WORKERS$BURST$DURATION" in *[!0-9]*) echo "options take whole numbers" >&2; exit 2 ;; esac
[ "$FILES" -ge 2 ] && [ "$FILES" -le 400 ] || { echo "--files must be 2..400" >&2; exit 2; }
[ "$WORKERS" -ge 1 ] && [ "$WORKERS" -le 64 ] || { echo "--workers must be 1..64" >&2; exit 2; }
[ "$BURST" -ge 1 ] && [ "$BURST" -le 256 ] || { echo "--burst must be 1..256" >&2; exit 2; }
[ "$DURATION" -ge 1 ] && [ "$DURATION" -le 120 ] || { echo "--duration must be 1..120" >&2; exit 2; }

PORT=18090
NGINX_PORT=18091
CONNECTIONS=64
SERVICE_TARGET=${CARGO_TARGET_DIR:-$HOME/.cache/mediastore-target}
SERVICE=${MEDIASTORE_BIN:-$SERVICE_TARGET/release/mediastore}
BASE_TMP=${BENCH_TMPDIR:-/var/tmp}
OUT=${BENCH_OUT:-$BASE_TMP/mediastore-variants-bench-latest.md}
STARTED=$(date +%s)
LOAD_AT_START=$(cut -d' ' -f1-3 /proc/loadavg)

log() { printf '[variants-bench %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# ---------------------------------------------------------------- tools
export PATH="$PATH:/usr/sbin:/sbin"
missing=()
{ command -v vips && command -v vipsthumbnail && command -v vipsheader; } >/dev/null || missing+=(libvips-tools)
command -v nginx >/dev/null || missing+=(nginx)
command -v wrk >/dev/null || missing+=(wrk)
command -v curl >/dev/null || missing+=(curl)
command -v timeout >/dev/null || missing+=(coreutils)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---------------------------------------------------------------- build
if [ "$BUILD" = 1 ] && [ -z "${MEDIASTORE_BIN:-}" ]; then
  log "building the service (release) in $SERVICE_TARGET"
  (cd "$ROOT" && CARGO_TARGET_DIR="$SERVICE_TARGET" nice -n 10 cargo build --release --quiet)
fi
[ -x "$SERVICE" ] || { echo "no service binary at $SERVICE (build it, or set MEDIASTORE_BIN)" >&2; exit 1; }

# ---------------------------------------------------------------- temp dir and cleanup
TMP=$(mktemp -d "$BASE_TMP/mediastore-variants-bench.XXXXXX")
SERVICE_PID="" NGINX_PID=""
cleanup() {
  set +e
  [ -n "$SERVICE_PID" ] && kill "$SERVICE_PID" 2>/dev/null && wait "$SERVICE_PID" 2>/dev/null
  [ -n "$NGINX_PID" ] && kill "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null
  if [ "$KEEP" = 1 ]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

now() { date +%s.%N; }
# per_s COUNT T0 T1 -> COUNT / (T1 - T0), one decimal
per_s() { awk -v n="$1" -v a="$2" -v b="$3" 'BEGIN { printf "%.1f", n / (b - a) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f×", a / b; else print "–" }'; }
# avg_kb FILE... -> mean size in KB
avg_kb() { du -b "$@" | awk '{ s += $1; n++ } END { if (n) printf "%.1f", s / n / 1000; else print "–" }'; }

# ---------------------------------------------------------------- test images
# gen OUT W H Q SEED: a deterministic photo-like JPEG. One luminance field (perlin octaves from
# a fifth of the width down to 12 px, worley cell edges, brighter towards the top, gaussian
# grain) shared by the three bands, plus slow chroma: correlated RGB like a photo, with enough
# detail that JPEG q90 gives about 2.3 bits a pixel.
gen() {
  local out=$1 w=$2 h=$3 q=$4 s=$5 d n=0
  d=$(mktemp -d "$TMP/gen.XXXX")
  term() { # term CELL WEIGHT: adds a perlin octave to $d/L.v
    n=$((n + 1))
    vips perlin "$d/p.v" "$w" "$h" --cell-size "$1" --seed $((s * 1000 + n))
    vips linear -- "$d/p.v" "$d/t.v" "$2" 0
    if [ -f "$d/L.v" ]; then vips add "$d/L.v" "$d/t.v" "$d/a.v"; mv "$d/a.v" "$d/L.v"; else mv "$d/t.v" "$d/L.v"; fi
  }
  add_to_l() { vips add "$d/L.v" "$1" "$d/a.v"; mv "$d/a.v" "$d/L.v"; }
  term $((w / 5)) 1.2; term $((w / 20)) 0.6; term $((w / 80)) 0.3; term 12 0.15
  vips worley "$d/wy.v" "$w" "$h" --cell-size $((w / 40)) --seed $((s * 1000 + 99))
  vips linear -- "$d/wy.v" "$d/t.v" "$(awk -v c=$((w / 40)) 'BEGIN { print 0.5 / c }')" -0.2
  add_to_l "$d/t.v"
  vips xyz "$d/xy.v" "$w" "$h"
  vips extract_band "$d/xy.v" "$d/y.v" 1
  vips linear -- "$d/y.v" "$d/t.v" "$(awk -v h="$h" 'BEGIN { print -0.5 / h }')" 0.25
  add_to_l "$d/t.v"
  vips gaussnoise "$d/g.v" "$w" "$h" --sigma 0.05 --mean 0 --seed $((s * 1000 + 77))
  add_to_l "$d/g.v"
  vips perlin "$d/c1.v" "$w" "$h" --cell-size $((w / 3)) --seed $((s * 1000 + 501))
  vips perlin "$d/c2.v" "$w" "$h" --cell-size $((w / 3)) --seed $((s * 1000 + 502))
  vips linear -- "$d/c1.v" "$d/c1s.v" 0.35 0.1
  vips linear -- "$d/c2.v" "$d/c2s.v" 0.35 -0.05
  vips add "$d/L.v" "$d/c1s.v" "$d/r.v"
  vips linear -- "$d/c1s.v" "$d/t.v" -0.4 0
  vips add "$d/L.v" "$d/t.v" "$d/gg.v"
  vips subtract "$d/L.v" "$d/c2s.v" "$d/b.v"
  for c in r gg b; do vips linear "$d/$c.v" "$d/$c.u.v" 110 120 --uchar; done
  vips bandjoin "$d/r.u.v $d/gg.u.v $d/b.u.v" "$d/rgb.v"
  vips copy "$d/rgb.v" "$d/srgb.v" --interpretation srgb
  vips jpegsave "$d/srgb.v" "$out" --Q "$q" --strip
  rm -rf "$d"
}

log "temp dir $TMP; load average at start $LOAD_AT_START"
log "generating the test photos (4000×3000 and 2400×1800, JPEG q90)"
gen "$TMP/big.jpg" 4000 3000 90 1
gen "$TMP/mid.jpg" 2400 1800 90 2
BIG_KB=$(avg_kb "$TMP/big.jpg") MID_KB=$(avg_kb "$TMP/mid.jpg")
log "big.jpg ${BIG_KB} KB, mid.jpg ${MID_KB} KB"

# ---------------------------------------------------------------- libvips
# Each case gets its own FILES copies (so no cache of any kind sees the same file twice), and
# WORKERS vipsthumbnail processes (xargs -P) with one libvips thread each, the same CPU budget
# as WORKERS transform slots. "batched": each worker is one process for FILES/WORKERS images
# (process start-up amortised, as in a server using libvips); "per image": one process each.
mkdir -p "$TMP/in"
for i in $(seq -w 1 "$FILES"); do
  cp "$TMP/big.jpg" "$TMP/in/big$i.jpg"
  cp "$TMP/mid.jpg" "$TMP/in/mid$i.jpg"
done
declare -A VIPS_RATE VIPS_RATE1 VIPS_KB VIPS_DIMS
# vips_case KEY SOURCE EXT ARGS...
vips_case() {
  local key=$1 src=$2 ext=$3 mode n t0 t1 out
  shift 3
  for mode in batched single; do
    out="$TMP/vips-$key-$mode"
    mkdir -p "$out"
    if [ "$mode" = batched ]; then n=$(((FILES + WORKERS - 1) / WORKERS)); else n=1; fi
    t0=$(now)
    printf '%s\n' "$TMP/in/$src"*.jpg \
      | VIPS_CONCURRENCY=1 timeout 300 xargs -P "$WORKERS" -n "$n" \
        vipsthumbnail "$@" -o "$out/%s.$ext[Q=80,strip]" || log "vipsthumbnail $key ($mode) failed"
    t1=$(now)
    local made
    made=$(find "$out" -name "*.$ext" | wc -l)
    [ "$made" = "$FILES" ] || log "vipsthumbnail $key ($mode) made $made of $FILES"
    if [ "$mode" = batched ]; then VIPS_RATE[$key]=$(per_s "$made" "$t0" "$t1"); else VIPS_RATE1[$key]=$(per_s "$made" "$t0" "$t1"); fi
  done
  VIPS_KB[$key]=$(avg_kb "$TMP/vips-$key-batched"/*."$ext")
  local first
  first=$(find "$TMP/vips-$key-batched" -name "*.$ext" | head -n 1)
  VIPS_DIMS[$key]=$(vipsheader -f width "$first")x$(vipsheader -f height "$first")
  log "vipsthumbnail $key: ${VIPS_RATE[$key]} images/s batched, ${VIPS_RATE1[$key]} per image; ${VIPS_DIMS[$key]}, ${VIPS_KB[$key]} KB"
}

# ---------------------------------------------------------------- the service
UP="$TMP/service/uploads"
start_service() {
  mkdir -p "$UP"
  BIND_ADDR=127.0.0.1:$PORT DATABASE_URL="sqlite://$TMP/service/db.sqlite" UPLOAD_DIR="$UP" \
    MEDIA_API_KEY=bench RUST_LOG=error SHUTDOWN_TIMEOUT_SECS=5 SWEEP_INTERVAL_SECS=0 \
    MAX_CONCURRENT_TRANSFORMS=$WORKERS \
    "$SERVICE" serve >>"$TMP/service/service.log" 2>&1 &
  SERVICE_PID=$!
  for _ in $(seq 1 300); do
    if curl -fsS -o /dev/null "http://127.0.0.1:$PORT/healthz" 2>/dev/null; then return 0; fi
    kill -0 "$SERVICE_PID" 2>/dev/null || break
    sleep 0.1
  done
  echo "the service did not become ready; its log:" >&2
  tail -n 30 "$TMP/service/service.log" >&2
  exit 1
}
stop_service() {
  [ -n "$SERVICE_PID" ] || return 0
  kill "$SERVICE_PID" 2>/dev/null || true
  wait "$SERVICE_PID" 2>/dev/null || true
  SERVICE_PID=""
}
# A fresh process on the same uploads and database before each run, so that each run's peak RSS
# is its own (memory freed by one run stays in the process and would raise the next one's floor).
restart_service() { stop_service; start_service; }
reset_peak() { echo 5 >"/proc/$SERVICE_PID/clear_refs" 2>/dev/null || true; }
peak_mb() { awk '/^VmHWM:/ { printf "%.0f", $2 / 1024 }' "/proc/$SERVICE_PID/status"; }

# upload FILE COUNT LIST: uploads FILE COUNT times, one after another (each gets its own
# timestamped name), and writes the stored names to LIST.
upload() {
  local file=$1 count=$2 list=$3 body name
  : >"$list"
  for _ in $(seq 1 "$count"); do
    body=$(curl -sS --max-time 60 -F "file=@$file;type=image/jpeg" "http://127.0.0.1:$PORT/v1/media")
    name=$(grep -oE '[0-9a-f]{40}-[0-9]{13}\.jpg' <<<"$body" | head -n 1 || true)
    [ -n "$name" ] || { echo "upload failed: $body" >&2; exit 1; }
    echo "$name" >>"$list"
  done
  [ "$(sort -u "$list" | wc -l)" = "$count" ] || { echo "uploads of $file share a name" >&2; exit 1; }
}

declare -A OUR_RATE OUR_BAD OUR_RSS OUR_KB OUR_DIMS
# cold_case KEY LIST VARIANT_PATH VARIANT_FILE CONCURRENCY: one GET per stored name, none made
# before, CONCURRENCY at a time (xargs -P curl); images/s over the wall time, statuses, peak RSS.
cold_case() {
  local key=$1 list=$2 path=$3 file=$4 conc=$5 t0 t1 ok
  sed "s|^|http://127.0.0.1:$PORT/v1/files/|; s|\$|/variants/$path|" "$list" >"$TMP/$key.urls"
  restart_service
  reset_peak
  t0=$(now)
  timeout 600 xargs -P "$conc" -n 1 curl -sS -o /dev/null --max-time 120 -w '%{http_code}\n' \
    <"$TMP/$key.urls" >"$TMP/$key.codes" 2>>"$TMP/$key.err" || true
  t1=$(now)
  OUR_RSS[$key]=$(peak_mb)
  ok=$(grep -cx 200 "$TMP/$key.codes" || true)
  OUR_RATE[$key]=$(per_s "$ok" "$t0" "$t1")
  OUR_BAD[$key]=$(grep -vx 200 "$TMP/$key.codes" | sort | uniq -c | awk '{ printf "%s%s: %s", (NR > 1 ? ", " : ""), $2, $1 }' || true)
  local missing_lines=$(($(wc -l <"$list") - $(wc -l <"$TMP/$key.codes")))
  [ "$missing_lines" -le 0 ] || OUR_BAD[$key]="${OUR_BAD[$key]:+${OUR_BAD[$key]}, }no answer: $missing_lines"
  local made=() name
  while read -r name; do
    [ -f "$UP/variants/${name:0:2}/$name/$file" ] && made+=("$UP/variants/${name:0:2}/$name/$file")
  done <"$list"
  [ ${#made[@]} = "$(wc -l <"$list")" ] || log "$key: ${#made[@]} stored $file of $(wc -l <"$list")"
  if [ ${#made[@]} -gt 0 ]; then
    OUR_KB[$key]=$(avg_kb "${made[@]}")
    OUR_DIMS[$key]=$(vipsheader -f width "${made[0]}")x$(vipsheader -f height "${made[0]}")
  fi
  log "service $key: ${OUR_RATE[$key]} images/s, $ok of $(wc -l <"$list") 200${OUR_BAD[$key]:+ (${OUR_BAD[$key]})}, peak RSS ${OUR_RSS[$key]} MB, ${OUR_DIMS[$key]:-?}, ${OUR_KB[$key]:-?} KB"
}

declare -A WRK_RPS WRK_FAIL
# wrk_case KEY URL: wrk -t2 -c64 for DURATION s, with the JSON summary of wrk-report.lua.
wrk_case() {
  local key=$1 url=$2 json
  if ! WRK_SUMMARY="$TMP/$key.json" WRK_LABEL=$key timeout $((DURATION + 30)) \
      wrk -t2 -c"$CONNECTIONS" -d"${DURATION}s" --timeout 10s -s "$HERE/wrk-report.lua" "$url" \
      >"$TMP/$key.wrk.log" 2>&1; then
    log "wrk $key failed:"; tail -n 5 "$TMP/$key.wrk.log" >&2
    WRK_RPS[$key]="–" WRK_FAIL[$key]="wrk failed"
    return 0
  fi
  json=$(cat "$TMP/$key.json")
  WRK_RPS[$key]=$(sed -E 's/.*"rps":([0-9.]+).*/\1/' <<<"$json" | awk '{ printf "%.0f", $1 }')
  WRK_FAIL[$key]=$(sed -E 's/.*"failures":\{([^}]*)\}.*/\1/; s/"//g; s/:/: /g; s/,/, /g' <<<"$json")
  log "wrk $key: ${WRK_RPS[$key]} req/s${WRK_FAIL[$key]:+ (${WRK_FAIL[$key]})}"
}

# ---------------------------------------------------------------- the runs
start_service
IDLE_RSS=$(peak_mb)
log "service $("$SERVICE" --version 2>/dev/null || echo mediastore) at 127.0.0.1:$PORT, MAX_CONCURRENT_TRANSFORMS=$WORKERS"
log "uploading: big.jpg ×$((FILES * 2)), mid.jpg ×$FILES"
upload "$TMP/big.jpg" "$FILES" "$TMP/big.names"
upload "$TMP/mid.jpg" "$FILES" "$TMP/mid.names"
upload "$TMP/big.jpg" "$FILES" "$TMP/burst.names"

# The two tools one after the other per case, so that both see the same machine.
vips_case card big jpg -s 640x480 -m centre
cold_case card "$TMP/big.names" card cover-640x480.jpg "$WORKERS"
vips_case w320 big jpg -s 320x
cold_case w320 "$TMP/big.names" w320 w320.jpg "$WORKERS"
vips_case large mid webp -s 1600x1600
cold_case large "$TMP/mid.names" 'large?format=webp' inside-1600x1600.webp "$WORKERS"
cold_case burst "$TMP/burst.names" card cover-640x480.jpg "$BURST"

# Cached downloads: a card made above, by the service and by nginx from the same file.
CACHED_NAME=$(head -n 1 "$TMP/big.names")
CACHED_FILE="$UP/variants/${CACHED_NAME:0:2}/$CACHED_NAME/cover-640x480.jpg"
CACHED_KB=$(avg_kb "$CACHED_FILE")
SERVICE_URL="http://127.0.0.1:$PORT/v1/files/$CACHED_NAME/variants/card"
restart_service
curl -fsS "$SERVICE_URL" | cmp -s - "$CACHED_FILE" || log "the service's cached card differs from its file"
reset_peak
wrk_case service-cached "$SERVICE_URL"
CACHED_RSS=$(peak_mb)

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
  default_type image/jpeg;
  server {
    listen 127.0.0.1:$NGINX_PORT;
    location ~ "^/v1/files/(([0-9a-f]{2})[0-9a-f]{38}-[0-9]{13}\.jpg)/variants/card$" {
      alias $UP/variants/\$2/\$1/cover-640x480.jpg;
    }
  }
}
EOF
nginx -e "$TMP/nginx/error.log" -p "$TMP/nginx" -c "$TMP/nginx/nginx.conf" -g 'daemon off;' &
NGINX_PID=$!
NGINX_URL="http://127.0.0.1:$NGINX_PORT/v1/files/$CACHED_NAME/variants/card"
for _ in $(seq 1 50); do curl -fsS -o /dev/null "$NGINX_URL" 2>/dev/null && break; sleep 0.1; done
if curl -fsS "$NGINX_URL" | cmp -s - "$CACHED_FILE"; then
  wrk_case nginx-cached "$NGINX_URL"
else
  log "nginx does not serve $NGINX_URL; its log:"; cat "$TMP/nginx/error.log" >&2 || true
  WRK_RPS[nginx-cached]="–" WRK_FAIL[nginx-cached]="not served"
fi
kill "$NGINX_PID" 2>/dev/null || true
wait "$NGINX_PID" 2>/dev/null || true
NGINX_PID=""

# ---------------------------------------------------------------- the table
row_cold() { # row_cold KEY CASE
  local key=$1 what=$2
  printf '| %s | %s | %s | %s | %s | %s / %s | %s | %s |\n' "$what" \
    "${OUR_RATE[$key]}" "${VIPS_RATE[$key]}" "${VIPS_RATE1[$key]}" \
    "$(ratio "${OUR_RATE[$key]}" "${VIPS_RATE[$key]}")" \
    "${OUR_KB[$key]:-–}" "${VIPS_KB[$key]}" "${OUR_BAD[$key]:-none}" "${OUR_RSS[$key]} MB"
}
{
  echo "mediastore variants bench, $(date -u +%Y-%m-%dT%H:%MZ), commit $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$ROOT" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes'): $(nproc) vCPU $(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo), $(uname -sr), $(vips --version)"
  echo "$FILES images per case; $WORKERS vipsthumbnail workers (VIPS_CONCURRENCY=1) vs $WORKERS concurrent requests (MAX_CONCURRENT_TRANSFORMS=$WORKERS); sources: 4000×3000 JPEG q90 ($BIG_KB KB), 2400×1800 JPEG q90 ($MID_KB KB); load average at start $LOAD_AT_START; total $(( $(date +%s) - STARTED )) s"
  echo
  echo "| cold variant (every request transforms) | mediastore images/s | vipsthumbnail images/s (batched) | vipsthumbnail images/s (process per image) | ours ÷ libvips (batched) | output KB ours / libvips | non-200 | service peak RSS |"
  echo "|---|---|---|---|---|---|---|---|"
  row_cold card "4000×3000 → \`card\` (${OUR_DIMS[card]:-?} cover, JPEG q80)"
  row_cold w320 "4000×3000 → \`w320\` (${OUR_DIMS[w320]:-?}, JPEG q80)"
  row_cold large "2400×1800 → \`large\` ?format=webp (${OUR_DIMS[large]:-?}, WebP q80)"
  printf '| 4000×3000 → `card`, %s concurrent requests, %s transform slots | %s | – | – | – | %s | %s | %s MB |\n' \
    "$BURST" "$WORKERS" "${OUR_RATE[burst]}" "${OUR_KB[burst]:-–}" "${OUR_BAD[burst]:-none}" "${OUR_RSS[burst]}"
  echo
  echo "| cached \`card\` download ($CACHED_KB KB), wrk -t2 -c$CONNECTIONS -d${DURATION}s | requests/s | failures | peak RSS |"
  echo "|---|---|---|---|"
  echo "| mediastore \`GET /v1/files/{name}/variants/card\` | ${WRK_RPS[service-cached]} | ${WRK_FAIL[service-cached]:-none} | $CACHED_RSS MB |"
  echo "| nginx, same file (sendfile) | ${WRK_RPS[nginx-cached]} | ${WRK_FAIL[nginx-cached]:-none} | – |"
  echo "| mediastore ÷ nginx | $(ratio "${WRK_RPS[service-cached]}" "${WRK_RPS[nginx-cached]}") | | |"
  echo
  echo "Target: mediastore ≥ 0.5× vipsthumbnail (batched) on the JPEG cases (\`card\`, \`w320\`): $(awk -v a="${OUR_RATE[card]}" -v b="${VIPS_RATE[card]}" -v c="${OUR_RATE[w320]}" -v d="${VIPS_RATE[w320]}" 'BEGIN { print (a >= 0.5 * b && c >= 0.5 * d) ? "met" : "not met" }'). Peak RSS is the service's VmHWM, a fresh process per run (idle: $IDLE_RSS MB)."
} | tee "$OUT"
log "table also written to $OUT"
