#!/usr/bin/env bash
# The shell reference of bench/run.sh: one ticket creation as an administrator
# would script it with curl, making the same HTTP requests as a warm
# `esia-glpi notify` creation (initSession with App-Token and
# `Authorization: user_token …`; POST Ticket with the same JSON body shape;
# killSession), with the requester id known in advance (the warm cache). Like
# the binary, it makes no search for the key's open ticket: the binary's state
# knows there is none (its inventory of GLPI's open tickets, README "What it
# does"); here that knowledge is given. Real-GLPI runs that want the search of
# older releases use bench/real-glpi.sh --curl-search.
#
#   bench/create_curl.sh GLPI_URL NODE [SERVICE]
#
# By default the JSON is read and written with bash builtins only, so that the
# only processes are the three curl: the floor. With PARSER=jq it uses jq, as
# most scripts do (jq 1.6 alone costs ~25 ms a call on this kind of machine).
# Tokens come from APP_TOKEN / USER_TOKEN (default: the simulator's), the
# requester id from REQUESTER_ID (default 7, the simulator's "esia").
# The helpers below assign through `printf -v`, which shellcheck cannot follow.
# shellcheck disable=SC2154
set -euo pipefail
glpi="$1"
node="$2"
service="${3:-svc}"
api="$glpi/apirest.php"
app="${APP_TOKEN:-sim-app-token-0123456789}"
user="${USER_TOKEN:-sim-user-token-0123456789}"
requester="${REQUESTER_ID:-7}"
parser="${PARSER:-bash}"
output="CRITICAL output"
printf -v now '%(%Y-%m-%d %H:%M:%S)T' -1

# Like the binary: JSON content type on every request, entities decoded on reads.
common=(-fsS -H "Content-Type: application/json" -H "App-Token: $app")

# The helpers assign to a variable (no subshell: the floor forks only curl).
# field VAR NAME JSON: VAR = the top-level string or number field NAME.
field() {
  if [ "$parser" = jq ]; then
    printf -v "$1" '%s' "$(jq -er --arg f "$2" '.[$f]' <<<"$3")"
  elif [[ $3 =~ \"$2\":[[:space:]]*\"?([^\",}]+) ]]; then
    printf -v "$1" '%s' "${BASH_REMATCH[1]}"
  else
    echo "create_curl.sh: no $2 in the answer: $3" >&2
    return 1
  fi
}
# html VAR TEXT: VAR = TEXT with & < > escaped, as the binary escapes values.
html() { local s="${2//&/&amp;}"; s="${s//</&lt;}"; printf -v "$1" '%s' "${s//>/&gt;}"; }
# json VAR TEXT: VAR = TEXT as a JSON string.
json() { local s="${2//\\/\\\\}"; printf -v "$1" '"%s"' "${s//\"/\\\"}"; }
# hex VAR TEXT: VAR = the bytes of TEXT in hex (ASCII names: enough here).
hex() { local i; printf -v "$1" '%s' ""; for ((i = 0; i < ${#2}; i++)); do printf -v "$1" '%s%02x' "${!1}" "'${2:i:1}"; done; }

answer="$(curl "${common[@]}" -H "X-GLPI-Sanitized-Content: false" \
  -H "Authorization: user_token $user" "$api/initSession")"
field session session_token "$answer"

html h_node "$node"
html h_service "$service"
html h_output "$output"
hex x_node "$node"
hex x_service "$service"
marker="[esia-glpi:$x_node:$x_service]"

content="<p><b>Nœud</b> : $h_node<br><b>Adresse</b> : <br><b>Groupe</b> : <br>"
content+="<b>Service</b> : $h_service<br><b>État</b> : CRITICAL<br><b>État précédent</b> : OK<br>"
content+="<b>Priorité</b> : moyenne<br><b>Date</b> : $now</p><p><b>Sortie</b> :<br>$h_output</p>"
content+="<p><small>$marker</small></p>"
if [ "$parser" = jq ]; then
  body="$(jq -n --arg name "(  ) $node:$service" --arg content "$content" \
    --argjson requester "$requester" '{input: {name: $name, content: $content,
    type: 1, urgency: 3, impact: 3, priority: 3, _users_id_requester: $requester}}')"
else
  json j_name "(  ) $node:$service"
  json j_content "$content"
  body="{\"input\":{\"name\":$j_name,\"content\":$j_content,"
  body+="\"type\":1,\"urgency\":3,\"impact\":3,\"priority\":3,\"_users_id_requester\":$requester}}"
fi

answer="$(curl "${common[@]}" -H "Session-Token: $session" -X POST --data "$body" "$api/Ticket")"
field id id "$answer"

curl "${common[@]}" -H "X-GLPI-Sanitized-Content: false" -H "Session-Token: $session" \
  "$api/killSession" >/dev/null

echo "created ticket $id $glpi/front/ticket.form.php?id=$id"
