#!/usr/bin/env bash
# Quick start: one whole alert lifecycle (CRITICAL → WARNING → ACK → OK)
# against the built-in GLPI simulator, as the monitoring engine would run it
# through the SEND_TICKET_GLPI alert program. Needs only cargo.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-target}"

echo "building esia-glpi and the GLPI simulator…"
cargo build --quiet --locked --bin esia-glpi --example glpi_sim

work="$(mktemp -d)"
sim_pid=""
cleanup() { [ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$target/debug/examples/glpi_sim" --port 0 --port-file "$work/port" >"$work/sim.log" 2>&1 &
sim_pid=$!
for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
[ -s "$work/port" ] || { echo "the simulator did not start:"; cat "$work/sim.log"; exit 1; }
glpi="http://127.0.0.1:$(cat "$work/port")"

umask 077
cat >"$work/glpi.conf" <<CONF
host="$glpi"
app_token="sim-app-token-0123456789"
user_token="sim-user-token-0123456789"
user_name="esia"
tpl_title="( %node.group.name ) %node.name:%service.name"
state_dir="$work/state"
lang="en"
CONF
ln -s "$(pwd)/$target/debug/esia-glpi" "$work/SEND_TICKET_GLPI"

alert() {
  echo
  echo "\$ SEND_TICKET_GLPI $*"
  "$work/SEND_TICKET_GLPI" --config "$work/glpi.conf" --node srv-web-01 --group Paris --service HTTP "$@"
}

echo "GLPI simulator at $glpi"
alert -L 5 --state CRITICAL --output "CRITICAL - connection refused"
alert -L 3 --state WARNING --output "WARNING - response time 4.2 s"
alert --state ACK --ack-author "Jeanne (N2)" --ack-comment "Apache restarted, watching"
alert --state OK --output "OK - HTTP 200 in 0.08 s"

echo
echo "--- the ticket trail, as GLPI holds it"
"$target/debug/examples/glpi_sim" trail "$glpi"
