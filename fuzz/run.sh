#!/usr/bin/env bash
# Runs every fuzz target (or those named) for a bounded time and prints one line per target:
# executions, coverage (libFuzzer's `cov:` edges and `ft:` features), corpus size, crashes.
#
#   fuzz/run.sh [seconds-per-target] [target...]       (default: 60 s, every target)
#
# Needs only the stable toolchain: cargo-fuzz's nightly flags are let through by
# RUSTC_BOOTSTRAP=1. Builds with optimisations, debug assertions and overflow checks, without
# a sanitizer by default (the fuzzed code is safe Rust; FUZZ_SANITIZER=address to change
# that), into CARGO_TARGET_DIR (default ~/.cache/mediastore-fuzz-target, away from the main
# build). The working corpus grows in fuzz/corpus/<target> (seeded from the committed
# fuzz/corpus-seeds/<target>); crashes land in fuzz/artifacts/<target>, logs in fuzz/logs.
# Exits non-zero if any target crashed (or failed to run).
set -uo pipefail

cd "$(dirname "$0")"
seconds=${1:-60}
shift || true

export RUSTC_BOOTSTRAP=1
target_dir=${CARGO_TARGET_DIR:-$HOME/.cache/mediastore-fuzz-target}
sanitizer=${FUZZ_SANITIZER:-none}
triple=$(rustc -vV | sed -n 's/^host: //p')
build_flags=(-O --debug-assertions --sanitizer "$sanitizer" --codegen-units 16 --target-dir "$target_dir")

if ! command -v cargo-fuzz >/dev/null; then
    # 0.13.2 is the last checked with this toolchain (rustc 1.95).
    cargo install --locked cargo-fuzz --version 0.13.2 || exit 1
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    mapfile -t targets < <(cargo fuzz list)
fi

echo "building ${targets[*]} (sanitizer: $sanitizer)" >&2
if [ $# -gt 0 ]; then
    for t in "${targets[@]}"; do
        cargo fuzz build "${build_flags[@]}" "$t" || exit 1
    done
else
    cargo fuzz build "${build_flags[@]}" || exit 1
fi

mkdir -p logs
summary=()
failed=0
for t in "${targets[@]}"; do
    bin="$target_dir/$triple/release/$t"
    corpus="corpus/$t"
    artifacts="artifacts/$t"
    mkdir -p "$corpus" "$artifacts"
    before=$(find "$artifacts" -type f | wc -l)
    args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=4096
        -max_len=300000 -artifact_prefix="$artifacts/")
    [ -f "dicts/$t.dict" ] && args+=(-dict="dicts/$t.dict")
    seeds=()
    [ -d "corpus-seeds/$t" ] && seeds=("corpus-seeds/$t")
    echo "running $t for ${seconds}s" >&2
    "$bin" "${args[@]}" "$corpus" "${seeds[@]}" >"logs/$t.log" 2>&1
    rc=$?
    rm -rf /dev/shm/mediastore-fuzz-"$t"-* "${TMPDIR:-/tmp}"/mediastore-fuzz-"$t"-* 2>/dev/null

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "logs/$t.log" | tail -1)
    last=$(grep -E '^#[0-9]+' "logs/$t.log" | grep -E 'cov: ' | tail -1)
    cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
    corp=$(sed -n 's/.* corp: \([0-9]*\)\/.*/\1/p' <<<"$last")
    crashes=$(($(find "$artifacts" -type f | wc -l) - before))
    if [ "$rc" -ne 0 ] && [ "$crashes" -eq 0 ]; then
        crashes="failed(rc=$rc)"
    fi
    if [ "$rc" -ne 0 ] || [ "$crashes" != 0 ]; then
        failed=1
    fi
    summary+=("$(printf '%-16s %5ss %12s execs  cov %6s  ft %7s  corpus %6s  crashes %s' \
        "$t" "$seconds" "${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "$crashes")")
    echo "${summary[-1]}" >&2
done

echo
echo "fuzz run $(date -u +%Y-%m-%dT%H:%M:%SZ), ${seconds}s per target, sanitizer $sanitizer"
printf '%s\n' "${summary[@]}"
exit "$failed"
