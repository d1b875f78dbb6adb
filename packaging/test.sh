#!/usr/bin/env bash
# The whole test suite, as CI runs it (after packaging/setup.sh): the checks that hold the
# code's shape (formatting, lints, docs, the headless core), then every unit, integration,
# real-peer and UI test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null && [[ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]]; then
    . "${CARGO_HOME:-$HOME/.cargo}/env"
fi

step() { printf '\n== %s\n' "$*"; }

step "formatting"
cargo fmt --all -- --check

step "the core names no GUI crate"
if grep -rnwE 'egui|eframe|winit|x11rb' src/core; then
    echo "test.sh: src/core must not name egui, eframe, winit or x11rb (above)" >&2
    exit 1
fi

step "lints"
cargo clippy --locked --all-targets -- -D warnings
cargo clippy --locked --lib --no-default-features -- -D warnings

step "the headless core pulls in no GUI or server crate"
forbidden='^(egui|eframe|winit|x11rb|cpal|axum|hmac|sha2|jpeg-encoder) '
if cargo tree --locked --no-default-features --edges normal --prefix none \
    | grep -E "$forbidden" | sort -u | grep .; then
    echo "test.sh: cargo build --lib --no-default-features depends on the crates above" >&2
    exit 1
fi

step "docs"
RUSTDOCFLAGS="-D warnings" cargo doc --locked --no-deps

step "tests"
cargo test --locked

# The Debian package of the debug binary the tests built: contents, lintian, the desktop
# and AppStream validators, installed and run (then purged).
step "the Debian package"
bash packaging/check-deb.sh target/debug/lookout

# Every fuzz target from its committed seeds, briefly: a regression of a parser that the
# seeds reach fails here. LOOKOUT_FUZZ_SECS sets the time a target (README, "Fuzzing").
step "fuzzing: each target for ${LOOKOUT_FUZZ_SECS:-30} s"
bash packaging/fuzz.sh "${LOOKOUT_FUZZ_SECS:-30}"
