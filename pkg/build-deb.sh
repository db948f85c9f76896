#!/usr/bin/env bash
# Builds the Debian package: target/debian/esia-glpi_<version>-1_<arch>.deb.
#
# 1. the release binary (cargo build --release --locked);
# 2. its man pages and shell completions, written by the binary itself from
#    its command-line model (`esia-glpi generate`, hidden), so they never drift
#    from the flags;
# 3. cargo deb --no-build, with the assets listed in Cargo.toml
#    [package.metadata.deb] (install cargo-deb with: cargo install cargo-deb --locked).
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

cargo build --release --locked
rm -rf target/generated
"$target/release/esia-glpi" generate target/generated
cargo deb --no-build "$@"
