#!/usr/bin/env bash
# The whole test suite, as CI runs it (after packaging/setup.sh): formatting, then every unit,
# integration, real-peer and UI test. Lints (clippy, rustdoc) are run by developers before
# they commit: `cargo clippy --all-targets -- -D warnings` and `cargo doc --no-deps`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

if ! command -v cargo >/dev/null && [[ -f "${CARGO_HOME:-$HOME/.cargo}/env" ]]; then
    . "${CARGO_HOME:-$HOME/.cargo}/env"
fi

cargo fmt --all -- --check
cargo test --locked
