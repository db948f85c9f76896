#!/usr/bin/env bash
# Writes the upgrade fixtures of the release checked out here:
# tests/data/upgrade/<version>-<commit>/, where <commit> is the last commit
# that changed the program (src/, Cargo.toml, Cargo.lock). The state is
# written by this release's own binary, run against the GLPI simulator and
# a private PostgreSQL server (the integration tests' support): the ignored
# test `upgrade::make_fixtures` in tests/integration/upgrade.rs. See
# README.md beside this script.
#
#   bash tests/data/upgrade/make.sh [--force] [NAME]
#
# --force replaces an existing directory of that name. Needs what the
# integration tests need (PostgreSQL's server binaries: tests/run.sh
# installs them).
set -euo pipefail

force=0
if [[ "${1:-}" == "--force" ]]; then
    force=1
    shift
fi

root=$(git rev-parse --show-toplevel)
cd "$root"

if ! git diff --quiet HEAD -- src Cargo.toml Cargo.lock tests/integration; then
    echo "make.sh: src/, Cargo.toml, Cargo.lock or tests/integration/ differ from HEAD:" \
        "commit first, so that the fixtures name the code that wrote them" >&2
    exit 1
fi

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -n 1)
code=$(git log -1 --format=%H -- src Cargo.toml Cargo.lock)
name=${1:-$version-${code:0:7}}
out=tests/data/upgrade/$name

if [[ -e "$out" ]]; then
    if [[ $force -eq 0 ]]; then
        echo "make.sh: $out exists (--force replaces it)" >&2
        exit 1
    fi
    rm -rf "$out"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The test's processes (the PostgreSQL server runs as `postgres` when we are
# root) only need to write here, as the test's own user.
ESIA_UPGRADE_FIXTURES_OUT="$tmp/out" \
    cargo test --locked --test integration -- --ignored --exact upgrade::make_fixtures

schema=$(awk '/^COPY public.esia_glpi_schema /{getline; print $1; exit}' "$tmp/out/postgres/esia.sql")
pg_bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
mkdir -p "$(dirname "$out")"
mv "$tmp/out" "$out"
cat > "$out/SOURCE" <<SOURCE
release: $version
code: $code (the last commit that changed src/, Cargo.toml or Cargo.lock)
src tree: $(git rev-parse "$code:src")
made at: $(git rev-parse HEAD), $(date -u +%Y-%m-%dT%H:%M:%SZ)
made by: bash tests/data/upgrade/make.sh (the ignored test upgrade::make_fixtures)
state database schema: version $schema
rustc: $(rustc --version)
postgresql: $("${pg_bin:-/usr/bin}/postgres" --version 2>/dev/null || echo unknown); $(pg_dump --version)
SOURCE
echo "make.sh: wrote $out"
