#!/usr/bin/env bash
# Storm benchmark: builds the release binary and runs examples/storm.rs.
# Extra arguments go to the benchmark (--events, --keys, --parallel, --latency-ms).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --locked --release --bin esia-glpi --example storm
"$target/release/examples/storm" --bin "$target/release/esia-glpi" "$@"
