#!/usr/bin/env bash
# Storm and bursts alone: builds the release binary and runs examples/storm.rs
# (bench/run.sh runs it too, with everything else). Extra arguments go to the
# harness: --events, --keys, --parallel, --latency-ms for the storm (--events 0
# skips it); --bursts, --burst-pool, --burst-gap-ms, --burst-latency-ms,
# --burst-states, --burst-ids, --seed for the bursts (--bursts 0 skips them);
# --api v2 (GLPI 11 simulator), --state postgres (a private cluster) or
# --state pgbouncer (the same behind PgBouncer, session mode); or `counts`
# first for the requests per action.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"
cargo build --quiet --locked --release --bin esia-glpi --example storm
"$target/release/examples/storm" "$@" --bin "$target/release/esia-glpi"
