#!/usr/bin/env bash
# Builds every fuzz target (fuzz/) and runs each for SECONDS (default 60), one after the
# other, from the committed seeds; fails if any target finds a crash. Prints executions,
# speed and coverage per target.
#
#   bash packaging/fuzz.sh [SECONDS]
#
# Stable Rust: cargo fuzz with `--sanitizer none` (libFuzzer, coverage instrumentation
# through stable -C flags; no RUSTC_BOOTSTRAP). cargo-fuzz is installed from crates.io if
# missing. What each run adds to a corpus stays in fuzz/corpus/TARGET (not committed); a
# crash is kept in fuzz/artifacts/TARGET/ and its log printed. Reproduce one with
#   fuzz/target/x86_64-unknown-linux-gnu/release/TARGET fuzz/artifacts/TARGET/crash-…
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-60}"
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -gt 0 ]] || { echo "usage: $0 [SECONDS]" >&2; exit 2; }

if ! command -v cargo >/dev/null && [[ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]]; then
    . "${CARGO_HOME:-$HOME/.cargo}/env"
fi

cargo_fuzz_version="0.13.2"
if [[ "$(cargo fuzz --version 2>/dev/null)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
    echo "fuzz: installing cargo-fuzz $cargo_fuzz_version"
    cargo install --locked --version "$cargo_fuzz_version" cargo-fuzz
fi

# Each target and its dictionary (fuzz/dict/NAME.dict).
declare -A dict=(
    [rfb_handshake]=rfb
    [rfb_messages]=rfb
    [jpeg]=jpeg
    [preview_text]=json
    [preview_binary]=jpeg
    [tasklog_runner]=json
    [tasklog_sse]=json
    [hls_playlist]=m3u8
    [recording]=recording
)
targets=(rfb_handshake rfb_messages jpeg preview_text preview_binary tasklog_runner tasklog_sse hls_playlist recording)

echo "fuzz: building ${#targets[@]} targets"
build_start=$SECONDS
cargo fuzz build --sanitizer none
echo "fuzz: built in $((SECONDS - build_start)) s"

bin_dir=fuzz/target/x86_64-unknown-linux-gnu/release
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed=()
summary=()
for target in "${targets[@]}"; do
    corpus="fuzz/corpus/$target"
    artifacts="fuzz/artifacts/$target"
    mkdir -p "$corpus" "$artifacts"
    log="$logs/$target.log"
    echo "fuzz: $target for $seconds s"
    # The framebuffer's bound (16384² pixels, 1 GiB) is the design's, not a leak: allow the
    # picture, the slot's copy and a resize's new one before calling it out of memory.
    status=0
    "$bin_dir/$target" "$corpus" "fuzz/seeds/$target" \
        -dict="fuzz/dict/${dict[$target]}.dict" \
        -max_total_time="$seconds" \
        -timeout=30 \
        -rss_limit_mb=4096 \
        -artifact_prefix="$artifacts/" \
        -print_final_stats=1 >"$log" 2>&1 || status=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")"
    rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")"
    cov="$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -n1)"
    line="$(printf '%-15s %12s execs %8s/s  %s' "$target" "${execs:-?}" "${rate:-?}" "${cov:-}")"
    if ((status != 0)); then
        line+="  FAILED (exit $status)"
        failed+=("$target")
        echo "fuzz: $target failed; the end of its log:" >&2
        tail -n 60 "$log" >&2
    fi
    summary+=("$line")
    echo "fuzz: $line"
done

echo
echo "fuzz: $seconds s a target:"
printf '  %s\n' "${summary[@]}"
if ((${#failed[@]} > 0)); then
    echo "fuzz: crashes in: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
    exit 1
fi
echo "fuzz: no crash"
