#!/bin/sh
# Runs the cargo-fuzz targets one after another, SECS seconds each (default
# 600), on one core: libFuzzer's default is one process, one job.
#
#   fuzz/run.sh [SECS] [TARGET...]      e.g. fuzz/run.sh 60 template
#
# New inputs go to corpus/TARGET (not committed); seeds/TARGET is read only.
# A crash stops that target, leaves its input in artifacts/TARGET/ and makes
# the script exit non-zero once every target has run. Logs: logs/TARGET.log.
set -u
cd "$(dirname "$0")"
secs=${1:-600}
[ $# -gt 0 ] && shift
targets=${*:-config template glpi_answer engine_state}
# cargo-fuzz passes -Z flags (sanitizer, coverage instrumentation) that only
# a nightly rustc accepts; RUSTC_BOOTSTRAP=1 lets the stable 1.95 toolchain
# accept them. Nothing else changes.
export RUSTC_BOOTSTRAP=1
mkdir -p logs
status=0
for t in $targets; do
    mkdir -p "corpus/$t"
    echo "== $t: $secs s"
    cargo fuzz run "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$secs" -timeout=30 -dict="dicts/$t.dict" \
        -print_final_stats=1 >"logs/$t.log" 2>&1
    rc=$?
    grep -E '^#[0-9]+.*(DONE|INITED)|^stat::|panicked|^==[0-9]+== ERROR|^SUMMARY' "logs/$t.log" | tail -8
    echo "   corpus: $(find "corpus/$t" -type f | wc -l) inputs; exit $rc"
    [ $rc -eq 0 ] || status=1
done
exit $status
