#!/usr/bin/env bash
# bench/real-glpi.sh — what a notification costs against REAL GLPIs, small and large.
#
# For development and the figures of bench/README.md ("Real GLPI"); not for CI (the GLPIs come
# from ../shared/tools/glpi-up.sh, which needs GLPI trees CI cannot fetch). It takes GLPIs that
# are already running, as glpi-up.sh leaves them (one env file per GLPI: GLPI_URL, APP_TOKEN,
# ADMIN_TOKEN, BOT_TOKEN, and the comment line "# GLPI 10.0.19, db glpi10, …; bot esia id 7;
# requester monitoring id 8"), an empty and a populated one (glpi-populate.sh) per GLPI version:
#
#   bench/real-glpi.sh --bin target/release/esia-glpi \
#     --g10 /work/realglpi/glpi-18080.env --g10-populated /work/realglpi/glpi-18082.env \
#     --g11 /work/realglpi/glpi-18081.env --g11-populated /work/realglpi/glpi-18083.env
#
# Beside each env file it reads, if present, glpi-PORT.log (php -S's log: one "Accepted" line per
# connection, i.e. per request, GLPI answering "Connection: close") and, for GLPI 11,
# glpi-PORT.oauth.env (OAUTH_CLIENT_ID, OAUTH_CLIENT_SECRET, BOT_USERNAME, BOT_PASSWORD: an OAuth
# client with the password grant and the scope api) for `api = "v2"`; without it the v2 rows
# are skipped. To make one (as ../shared/tools/README.md says), with the legacy API as the
# super-admin: POST OAuthClient {"input":{"name":"esia-glpi bench","grants":["password"],
# "scopes":["api"],"is_active":1,"is_confidential":1}}, GET OAuthClient/N for its "identifier",
# and its secret decrypted in the GLPI tree:
#   php -r 'define("GLPI_CONFIG_DIR", getcwd()."/config"); require "vendor/autoload.php";
#     echo (new GLPIKey())->decrypt($argv[1]);' "$(mysql -N -B DB -e 'SELECT secret FROM glpi_oauthclients WHERE id=N')"
# then write: export OAUTH_CLIENT_ID=<identifier> OAUTH_CLIENT_SECRET=<secret> BOT_USERNAME=esia
# BOT_PASSWORD=Esia-<APP_TOKEN>  (glpi-up.sh gives esia that password).
#
# What it does, in order (phases, --phases to pick some: history,reconcile,create,search,list,
# reconcile-run):
#   history    on each populated GLPI, adds (SQL, idempotent: only what is missing) --closed
#              (50000) CLOSED tickets written by the API user with esia-glpi markers in their
#              content — `[esia-glpi:<hex node>:<hex service>]`, 10,000 keys, 5 tickets each,
#              spread over ~5 years, a requester row each — and on GLPI 11 the `externalid`
#              `esia-glpi:<sha256 of the marker>`, as a GLPI the program has used for years holds.
#              Needs `mysql` with access to the databases (root over the local socket).
#   reconcile  makes sure --reconcile (300) OPEN tickets of the API user carry a marker, on all
#              four GLPIs (created with the binary's notify, keys reconcile-N:HTTP), so that the
#              listings below find the same number of rows on the small and the large GLPI.
#   create     a warm creation (requester cached, asset_types = [], GLPI version cached, the
#              state's inventory of GLPI's open tickets taken by the warm-up) on each GLPI: the
#              whole `notify` process timed with bash's EPOCHREALTIME, --runs (7) PAIRED rounds;
#              in each round every GLPI of a version (empty, populated: order alternating) runs
#              every method once (order rotating): the binary over the legacy API, the same
#              requests made with curl (initSession, POST Ticket, killSession; with --curl-search
#              also the per-creation search for the key's open ticket that releases before the
#              inventory made — to time such a binary), and on GLPI 11 the binary over
#              api = "v2" (token cached) and the same v2 requests with curl (POST
#              Assistance/Ticket, POST …/TeamMember; --curl-search: the search by external_id
#              first). Every timed run creates a ticket for a new key. Requests per creation:
#              the binary's -v line `requests=N`, and php -S's log.
#   search     the searches themselves, each a single curl request timed by curl
#              (time_total), --runs paired rounds (empty/populated alternating): today's
#              searches, the same with the writer criterion (search option 22 =
#              users_id_recipient, indexed), and the first page (50) of the listing of every
#              open ticket the API user wrote that carries a marker (legacy and v2).
#   list       the whole listing of those open marked tickets, paged (pages of 50 and of 1000),
#              legacy and v2: the time of all the pages, --runs rounds.
#   reconcile-run  `esia-glpi reconcile` with nothing to change, on each GLPI: a status.dat
#              (written here) holding the --reconcile keys CRITICAL — each has its open ticket —
#              and 5,000 other objects OK; a fresh state directory (no record: what GLPI's
#              listing says is all it knows); one warm-up run, then --runs timed runs (the whole
#              process, EPOCHREALTIME); requests: its --json `requests` and php -S's log.
# At the end the tickets the timed creations opened are solved again (an OK through the binary;
# --keep-open to leave them), and a table is printed.
#
# Options: --runs N (7), --closed N (50000), --reconcile N (300), --phases LIST (all),
#          --curl-search (the curl floor with the per-creation search of older releases),
#          --work DIR (a temporary directory, kept: configs, logs, raw times), --mysql CMD (mysql).
# Needs: bash 5, curl, jq, sha256sum, awk, mysql (phases history, counts). Prints the table on
# standard output, progress on standard error.
set -euo pipefail

BIN="" RUNS=7 CLOSED=50000 RECONCILE=300 PHASES="history,reconcile,create,search,list,reconcile-run" WORK=""
MYSQL=mysql KEEP_OPEN=0 CURL_SEARCH=0
declare -A ENVF=()
die() { echo "real-glpi.sh: $*" >&2; exit 2; }
say() { printf '## %s\n' "$*" >&2; }
while [ $# -gt 0 ]; do
  case "$1" in
    --bin) BIN=$2; shift ;;
    --runs) RUNS=$2; shift ;;
    --closed) CLOSED=$2; shift ;;
    --reconcile) RECONCILE=$2; shift ;;
    --phases) PHASES=$2; shift ;;
    --work) WORK=$2; shift ;;
    --mysql) MYSQL=$2; shift ;;
    --keep-open) KEEP_OPEN=1 ;;
    --curl-search) CURL_SEARCH=1 ;;
    --g10) ENVF[e10]=$2; shift ;;
    --g10-populated) ENVF[p10]=$2; shift ;;
    --g11) ENVF[e11]=$2; shift ;;
    --g11-populated) ENVF[p11]=$2; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument $1 (--help)" ;;
  esac
  shift
done
[ -n "$BIN" ] && [ -x "$BIN" ] || die "--bin PATH of an esia-glpi binary is required"
BIN=$(readlink -f "$BIN")
[ "${#ENVF[@]}" -gt 0 ] || die "give at least one GLPI (--g10, --g10-populated, --g11, --g11-populated)"
for t in curl jq sha256sum awk; do command -v "$t" >/dev/null || die "$t is missing (apt-get install -y curl jq coreutils gawk)"; done
phase() { [[ ",$PHASES," == *",$1,"* ]]; }
[ -n "$WORK" ] || WORK=$(mktemp -d /tmp/real-glpi-bench.XXXXXX)
mkdir -p "$WORK/t"
RUN_ID=$(date +%s)

# ------------------------------------------------------------------ the GLPIs
declare -A LOAD=()  # phase: the load averages (1 min) at the start of each of its GLPI versions
declare -A URL APP BOT BOTID REQID DB VER MAJOR LOG CID CSEC BUSER BPASS
envval() { sed -n "1s/.*[ ]$2=\([^ ]*\).*/\1/p" "$1"; }
GS=()
for g in e10 p10 e11 p11; do
  f=${ENVF[$g]:-}; [ -n "$f" ] || continue
  [ -r "$f" ] || die "cannot read $f"
  URL[$g]=$(envval "$f" GLPI_URL); APP[$g]=$(envval "$f" APP_TOKEN); BOT[$g]=$(envval "$f" BOT_TOKEN)
  c=$(sed -n '2p' "$f")
  VER[$g]=$(sed -n 's/^# GLPI \([0-9.]*\),.*/\1/p' <<<"$c"); MAJOR[$g]=${VER[$g]%%.*}
  DB[$g]=$(sed -n 's/.*, db \([^,]*\),.*/\1/p' <<<"$c")
  BOTID[$g]=$(sed -n 's/.*; bot [^ ]* id \([0-9]*\);.*/\1/p' <<<"$c")
  REQID[$g]=$(sed -n 's/.*; requester [^ ]* id \([0-9]*\).*/\1/p' <<<"$c")
  [ -n "${URL[$g]}" ] && [ -n "${BOTID[$g]}" ] && [ -n "${DB[$g]}" ] || die "$f is not an env file of glpi-up.sh"
  [ "${MAJOR[$g]}" = "${g:1}" ] || die "$f holds GLPI ${VER[$g]}, given as GLPI ${g:1}"
  LOG[$g]=${f%.env}.log; [ -r "${LOG[$g]}" ] || LOG[$g]=""
  o=${f%.env}.oauth.env
  if [ "${MAJOR[$g]}" -ge 11 ] && [ -r "$o" ]; then
    CID[$g]=$(envval "$o" OAUTH_CLIENT_ID); CSEC[$g]=$(envval "$o" OAUTH_CLIENT_SECRET)
    BUSER[$g]=$(envval "$o" BOT_USERNAME); BPASS[$g]=$(envval "$o" BOT_PASSWORD)
  fi
  curl -fsS -o /dev/null "${URL[$g]}/apirest.php/" || die "${URL[$g]} does not answer (is its php -S running?)"
  GS+=("$g")
done
has() { [ -n "${URL[$1]:-}" ]; }
hasv2() { [ -n "${CID[$1]:-}" ]; }
label() { case $1 in e*) echo "GLPI ${VER[$1]} empty" ;; p*) echo "GLPI ${VER[$1]} populated" ;; esac; }
sql() { $MYSQL -N -B "${DB[$1]}" -e "$2"; }

# ------------------------------------------------------------------ small tools
hexs() { local s=$1 out="" i; for ((i = 0; i < ${#s}; i++)); do printf -v out '%s%02x' "$out" "'${s:i:1}"; done; printf '%s' "$out"; }
marker() { printf '[esia-glpi:%s:%s]' "$(hexs "$1")" "$(hexs "$2")"; }
extid() { local m; m=$(marker "$1" "$2"); printf 'esia-glpi:%s' "$(printf '%s' "$m" | sha256sum | cut -d' ' -f1)"; }
now_us() { local t=$EPOCHREALTIME; printf '%s' "${t/./}"; }
# median FILE: the median of the numbers in FILE (one a line)
median() { sort -n "$1" | awk '{a[NR]=$1} END {if (NR == 0) print "-"; else if (NR % 2) printf "%.1f\n", a[(NR+1)/2]; else printf "%.1f\n", (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "-" || b == "-" || b == 0) print "-"; else printf "%.2f\n", a/b}'; }
accepted() { if [ -n "${LOG[$1]}" ]; then grep -c ' Accepted$' "${LOG[$1]}" || true; else echo 0; fi; }

# The configurations of the binary: legacy (and v2 on GLPI 11), one state directory each.
conf() {  # g api
  local g=$1 api=$2 c="$WORK/$1-$2.toml"
  if [ ! -f "$c" ]; then
    mkdir -p "$WORK/state-$g-$api"
    [ "$api" = legacy ] || (umask 077; printf '%s\n' "${BPASS[$g]}" >"$WORK/$g.password")
    {
      echo "host = \"${URL[$g]}\""
      if [ "$api" = v2 ]; then
        echo 'api = "v2"'; echo "client_id = \"${CID[$g]}\""; echo "client_secret = \"${CSEC[$g]}\""
        echo "username = \"${BUSER[$g]}\""; echo "password_file = \"$WORK/$g.password\""
      else
        echo "app_token = \"${APP[$g]}\""; echo "user_token = \"${BOT[$g]}\""
      fi
      echo 'user_name = "monitoring"'
      echo 'tpl_title = "( %node.group.name ) %node.name:%service.name"'
      echo 'asset_types = []'
      echo 'lang = "en"'
    } >"$c"
    chmod 600 "$c"
  fi
  printf '%s' "$c"
}
# notify g api node [state]: one run of the binary; sets N_US (wall time, µs) and N_REQ (its -v
# line requests=N); its -v log is kept in $WORK/log.
CREATED=()
notify() {
  local g=$1 api=$2 node=$3 state=${4:-CRITICAL} c t0 t1 rc=0 log="$WORK/log/$1-$2-$3-${4:-CRITICAL}.log"
  mkdir -p "$WORK/log"
  c=$(conf "$g" "$api")
  t0=$(now_us)
  "$BIN" --config "$c" --state-dir "$WORK/state-$g-$api" -v notify --node "$node" --service HTTP \
    --state "$state" --output "HTTP CRITICAL: connection refused (bench $RUN_ID)" >"$log.out" 2>"$log" || rc=$?
  t1=$(now_us)
  [ "$rc" = 0 ] || { echo "real-glpi.sh: notify $g $api $node $state exited $rc, see $log" >&2; cat "$log" >&2; exit 1; }
  [ "$state" = OK ] || CREATED+=("$g $api $node")
  N_US=$((t1 - t0)); N_REQ=$(sed -n 's/.* requests=\([0-9]*\) .*/\1/p' "$log" | tail -n1)
}

# The same requests with curl (JSON read with bash builtins, as bench/create_curl.sh: the floor).
H_JSON=(-fsS -H "Content-Type: application/json")
field() {  # VAR NAME JSON
  if [[ $3 =~ \"$2\":[[:space:]]*\"?([^\",}]+) ]]; then printf -v "$1" '%s' "${BASH_REMATCH[1]}"
  else echo "real-glpi.sh: no $2 in: ${3:0:300}" >&2; return 1; fi
}
content_of() {  # node: the content a creation sends (the binary's English layout, roughly)
  local m; m=$(marker "$1" HTTP)
  printf '%s' "<p><b>Node</b>: $1<br><b>Address</b>: <br><b>Group</b>: <br><b>Service</b>: HTTP<br><b>State</b>: CRITICAL<br><b>Previous state</b>: OK<br><b>Priority</b>: medium<br><b>Date</b>: $(printf '%(%Y-%m-%d %H:%M:%S)T' -1)</p><p><b>Output</b>:<br>HTTP CRITICAL: connection refused (bench $RUN_ID)</p><p><small>$m</small></p>"
}
# legacy_search_args g kind value...: the query of a legacy search (curl -G --data-urlencode …)
crit() {  # i field searchtype value (as src/glpi/search.rs: no link on the first)
  [ "$1" = 0 ] || printf '%s\0' "criteria[$1][link]=AND"
  printf '%s\0' "criteria[$1][field]=$2" "criteria[$1][searchtype]=$3" "criteria[$1][value]=$4"
}
curl_legacy_create() {  # g node
  local g=$1 node=$2 api="${URL[$1]}/apirest.php" a session total id m x body j_content
  local common=("${H_JSON[@]}" -H "App-Token: ${APP[$g]}")
  a=$(curl "${common[@]}" -H "X-GLPI-Sanitized-Content: false" -H "Authorization: user_token ${BOT[$g]}" "$api/initSession")
  field session session_token "$a"
  local q=()
  if [ "${MAJOR[$g]}" -ge 11 ]; then
    x=$(extid "$node" HTTP)
    q=(--data-urlencode "criteria[0][field]=87" --data-urlencode "criteria[0][searchtype]=contains"
       --data-urlencode "criteria[0][value]=^$x\$" --data-urlencode "criteria[1][link]=AND"
       --data-urlencode "criteria[1][field]=12" --data-urlencode "criteria[1][searchtype]=equals"
       --data-urlencode "criteria[1][value]=notold" --data-urlencode "forcedisplay[0]=2"
       --data-urlencode "forcedisplay[1]=3" --data-urlencode "forcedisplay[2]=21" --data-urlencode "forcedisplay[3]=87")
  else
    m=$(marker "$node" HTTP)
    q=(--data-urlencode "criteria[0][field]=21" --data-urlencode "criteria[0][searchtype]=contains"
       --data-urlencode "criteria[0][value]=$m" --data-urlencode "criteria[1][link]=AND"
       --data-urlencode "criteria[1][field]=12" --data-urlencode "criteria[1][searchtype]=equals"
       --data-urlencode "criteria[1][value]=notold" --data-urlencode "forcedisplay[0]=2"
       --data-urlencode "forcedisplay[1]=3" --data-urlencode "forcedisplay[2]=21")
  fi
  if [ "$CURL_SEARCH" = 1 ]; then
    a=$(curl "${common[@]}" -H "X-GLPI-Sanitized-Content: false" -H "Session-Token: $session" -g -G \
      "${q[@]}" --data-urlencode "range=0-49" "$api/search/Ticket")
    field total totalcount "$a"
    [ "$total" = 0 ] || { echo "real-glpi.sh: curl: $node already has an open ticket" >&2; return 1; }
  fi
  j_content=$(content_of "$node"); j_content=${j_content//\"/\\\"}
  body="{\"input\":{\"name\":\"(  ) $node:HTTP\",\"content\":\"$j_content\",\"type\":1,\"urgency\":3,\"impact\":3,\"priority\":3,\"_users_id_requester\":${REQID[$g]}"
  [ "${MAJOR[$g]}" -lt 11 ] || body+=",\"externalid\":\"$x\""
  body+="}}"
  a=$(curl "${common[@]}" -H "Session-Token: $session" -X POST --data "$body" "$api/Ticket")
  field id id "$a"
  curl "${common[@]}" -H "X-GLPI-Sanitized-Content: false" -H "Session-Token: $session" "$api/killSession" >/dev/null
  CURL_CREATED+=("$g $id")
}
CURL_CREATED=()
declare -A TOKEN
v2_token() {  # g: a bearer token, asked once (the binary caches its token too)
  if [ -z "${TOKEN[$1]:-}" ]; then
    local a
    a=$(curl -fsS -X POST "${URL[$1]}/api.php/token" -d grant_type=password -d scope=api \
      --data-urlencode "client_id=${CID[$1]}" --data-urlencode "client_secret=${CSEC[$1]}" \
      --data-urlencode "username=${BUSER[$1]}" --data-urlencode "password=${BPASS[$1]}")
    TOKEN[$1]=$(jq -r .access_token <<<"$a")
  fi
}
OPEN_RSQL='status.id=out=(5,6);is_deleted==false'
curl_v2_create() {  # g node
  local g=$1 node=$2 v2="${URL[$1]}/api.php/v2" a x id body j_content
  local auth=(-fsS -H "Authorization: Bearer ${TOKEN[$g]}")
  x=$(extid "$node" HTTP)
  if [ "$CURL_SEARCH" = 1 ]; then
    a=$(curl "${auth[@]}" -G --data-urlencode "filter=external_id==\"$x\";$OPEN_RSQL" --data-urlencode "limit=50" "$v2/Assistance/Ticket")
    [ "$a" = "[]" ] || { echo "real-glpi.sh: curl v2: $node already has an open ticket: $a" >&2; return 1; }
  fi
  j_content=$(content_of "$node"); j_content=${j_content//\"/\\\"}
  body="{\"name\":\"(  ) $node:HTTP\",\"content\":\"$j_content\",\"type\":1,\"urgency\":3,\"impact\":3,\"priority\":3,\"external_id\":\"$x\"}"
  a=$(curl "${auth[@]}" -H "Content-Type: application/json" -X POST --data "$body" "$v2/Assistance/Ticket")
  field id id "$a"
  curl "${auth[@]}" -H "Content-Type: application/json" -X POST \
    --data "{\"type\":\"User\",\"id\":${REQID[$g]},\"role\":\"requester\"}" "$v2/Assistance/Ticket/$id/TeamMember" >/dev/null
  CURL_CREATED+=("$g $id")
}
timed() {  # prints the µs of "$@"
  local t0 t1; t0=$(now_us); "$@"; t1=$(now_us); printf '%s\n' "$((t1 - t0))"
}

# ------------------------------------------------------------------ counts
counts() {  # g: "tickets, open, esia-glpi tickets of the API user solved or closed, open"
  sql "$1" "SELECT COUNT(*), COALESCE(SUM(status < 5 AND is_deleted = 0), 0),
     COALESCE(SUM(users_id_recipient = ${BOTID[$1]} AND status >= 5 AND content LIKE '%[esia-glpi:%'), 0),
     COALESCE(SUM(users_id_recipient = ${BOTID[$1]} AND status < 5 AND is_deleted = 0 AND content LIKE '%[esia-glpi:%'), 0)
     FROM glpi_tickets" | awk '{printf "%d tickets, %d open; marked tickets of the API user: %d solved or closed, %d open\n", $1, $2, $3, $4}'
}
say "work directory $WORK; binary $BIN ($("$BIN" --version 2>/dev/null | head -n1)); load average $(cut -d' ' -f1-3 /proc/loadavg)"
declare -A COUNT_BEFORE
for g in "${GS[@]}"; do COUNT_BEFORE[$g]=$(counts "$g"); say "$(label "$g") ${URL[$g]} db ${DB[$g]}: ${COUNT_BEFORE[$g]}"; done

# ------------------------------------------------------------------ phase history
if phase history; then
  for g in p10 p11; do
    has "$g" || continue
    n=$(sql "$g" "SELECT COUNT(*) FROM glpi_tickets WHERE users_id_recipient = ${BOTID[$g]} AND status = 6 AND name LIKE '( ) hist-node-%'")
    if [ "$n" -ge "$CLOSED" ]; then say "$(label "$g"): $n closed marked tickets of the API user already"; continue; fi
    say "$(label "$g"): adding $((CLOSED - n)) closed marked tickets of the API user (SQL)"
    if [ "${MAJOR[$g]}" -ge 11 ]; then lt='<' gt='>' amp='&'; else lt='&#60;' gt='&#62;' amp='&#38;'; fi
    : "$amp"
    # key k = (seq - 1) % 10000: node hist-node-(k % 2500), service svc-(k div 2500): 10,000 keys, 5 tickets each
    sql "$g" "
      INSERT INTO glpi_tickets (entities_id, name, date, date_mod, date_creation, closedate, solvedate, status,
        users_id_recipient, users_id_lastupdater, requesttypes_id, content, urgency, impact, priority, type, is_deleted
        $([ "${MAJOR[$g]}" -ge 11 ] && echo ', externalid'))
      SELECT 0, CONCAT('( ) ', node, ':', svc), opened, opened + INTERVAL 2 HOUR, opened, opened + INTERVAL 2 HOUR,
        opened + INTERVAL 1 HOUR, 6, ${BOTID[$g]}, ${BOTID[$g]}, 1,
        CONCAT('${lt}p${gt}${lt}b${gt}Node${lt}/b${gt}: ', node, '${lt}br${gt}${lt}b${gt}Address${lt}/b${gt}: 10.1.', k % 250, '.', k % 200,
          '${lt}br${gt}${lt}b${gt}Service${lt}/b${gt}: ', svc, '${lt}br${gt}${lt}b${gt}State${lt}/b${gt}: CRITICAL${lt}br${gt}${lt}b${gt}Date${lt}/b${gt}: ', opened,
          '${lt}/p${gt}${lt}p${gt}${lt}b${gt}Output${lt}/b${gt}:${lt}br${gt}CRITICAL - ', svc, ' on ', node, ' did not answer within 10 s${lt}/p${gt}',
          '${lt}p${gt}${lt}small${gt}', mk, '${lt}/small${gt}${lt}/p${gt}'),
        3, 3, 3, 1, 0
        $([ "${MAJOR[$g]}" -ge 11 ] && echo ", CONCAT('esia-glpi:', SHA2(mk, 256))")
      FROM (SELECT seq, k, node, svc, CONCAT('[esia-glpi:', LOWER(HEX(node)), ':', LOWER(HEX(svc)), ']') AS mk,
                   NOW() - INTERVAL 5 YEAR + INTERVAL seq * 3150 SECOND AS opened
            FROM (SELECT seq, (seq - 1) % 10000 AS k, CONCAT('hist-node-', ((seq - 1) % 10000) % 2500) AS node,
                         CONCAT('svc-', ((seq - 1) % 10000) DIV 2500) AS svc
                  FROM seq_$((n + 1))_to_${CLOSED}) s0) s;
      INSERT INTO glpi_tickets_users (tickets_id, users_id, type, use_notification, alternative_email)
      SELECT t.id, ${REQID[$g]}, 1, 0, '' FROM glpi_tickets t
      WHERE t.users_id_recipient = ${BOTID[$g]} AND t.name LIKE '( ) hist-node-%'
        AND NOT EXISTS (SELECT 1 FROM glpi_tickets_users u WHERE u.tickets_id = t.id AND u.type = 1);
      ANALYZE TABLE glpi_tickets;" >/dev/null
  done
fi

# ------------------------------------------------------------------ phase reconcile (set-up)
if phase reconcile; then
  for g in "${GS[@]}"; do
    mapfile -t have < <(sql "$g" "SELECT name FROM glpi_tickets WHERE users_id_recipient = ${BOTID[$g]} AND status < 5
      AND is_deleted = 0 AND name LIKE '%reconcile-%:HTTP'")
    declare -A open_names=(); for nm in "${have[@]}"; do open_names[${nm##* }]=1; done
    missing=0; for ((i = 1; i <= RECONCILE; i++)); do [ -n "${open_names[reconcile-$i:HTTP]:-}" ] || missing=$((missing + 1)); done
    say "$(label "$g"): $((RECONCILE - missing)) of $RECONCILE open reconcile tickets exist; creating $missing with notify"
    t0=$(now_us)
    for ((i = 1; i <= RECONCILE; i++)); do
      [ -n "${open_names[reconcile-$i:HTTP]:-}" ] && continue
      notify "$g" legacy "reconcile-$i"
    done
    unset open_names
    [ "$missing" = 0 ] || say "  ($(( ($(now_us) - t0) / 1000 )) ms)"
  done
  CREATED=()  # these stay open
fi

# Fresh table statistics before timing: right after a bulk load (glpi-populate.sh) InnoDB's may be
# stale, and the optimizer then scans the whole table where the status index serves.
if phase create || phase search || phase list; then
  for g in "${GS[@]}"; do sql "$g" "ANALYZE TABLE glpi_tickets, glpi_tickets_users" >/dev/null; done
fi

# ------------------------------------------------------------------ phase create
if phase create; then
  for major in 10 11; do
    pair=(); for g in "e$major" "p$major"; do has "$g" && pair+=("$g"); done
    [ "${#pair[@]}" -gt 0 ] || continue
    methods=(notify curl)
    for g in "${pair[@]}"; do hasv2 "$g" && { methods=(notify curl v2notify v2curl); break; }; done
    LOAD[create]+="$(cut -d' ' -f1 /proc/loadavg) "
    say "$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg): GLPI $major: warm creations, ${methods[*]}, $RUNS paired rounds on ${pair[*]}"
    for g in "${pair[@]}"; do  # warm-up: version, requester (and token) cached; PHP and MariaDB warm
      notify "$g" legacy "warm-$RUN_ID-$g-0"; notify "$g" legacy "warm-$RUN_ID-$g-1"
      curl_legacy_create "$g" "warm-$RUN_ID-$g-c"
      if hasv2 "$g"; then
        notify "$g" v2 "warm-$RUN_ID-$g-v0"; notify "$g" v2 "warm-$RUN_ID-$g-v1"
        v2_token "$g"; curl_v2_create "$g" "warm-$RUN_ID-$g-vc"
      fi
    done
    for ((r = 1; r <= RUNS; r++)); do
      order=("${pair[@]}"); [ $((r % 2)) = 1 ] || order=($(printf '%s\n' "${pair[@]}" | tac))
      for g in "${order[@]}"; do
        nm=${#methods[@]}
        for ((k = 0; k < nm; k++)); do
          m=${methods[$(((k + r) % nm))]}
          node="rg-$RUN_ID-$g-$m-$r"
          case $m in
            notify|v2notify)
              api=legacy; [ "$m" = notify ] || api=v2
              hasv2 "$g" || [ "$api" = legacy ] || continue
              a0=$(accepted "$g")
              notify "$g" "$api" "$node"
              a1=$(accepted "$g")
              echo "$N_US" >>"$WORK/t/create-$g-$m"; echo "$N_REQ" >>"$WORK/t/requests-$g-$m"
              echo "$((a1 - a0))" >>"$WORK/t/accepted-$g-$m" ;;
            curl) timed curl_legacy_create "$g" "$node" >>"$WORK/t/create-$g-$m" ;;
            v2curl) hasv2 "$g" || continue; timed curl_v2_create "$g" "$node" >>"$WORK/t/create-$g-$m" ;;
          esac
        done
      done
      say "  round $r/$RUNS done"
    done
  done
fi

# ------------------------------------------------------------------ clean-up: solve what the timed creations opened
# (before the searches, so that the listings find the same open tickets on every GLPI)
if [ "$KEEP_OPEN" = 0 ] && { [ "${#CREATED[@]}" -gt 0 ] || [ "${#CURL_CREATED[@]}" -gt 0 ]; }; then
  say "solving the $(( ${#CREATED[@]} + ${#CURL_CREATED[@]} )) tickets the timed creations opened"
  for e in "${CREATED[@]}"; do read -r g api node <<<"$e"; notify "$g" "$api" "$node" OK; done
  CREATED=()
  declare -A byg=(); for e in "${CURL_CREATED[@]}"; do read -r g id <<<"$e"; byg[$g]+="$id,"; done
  for g in "${!byg[@]}"; do  # curl's tickets: closed in the database (no local record to solve them with)
    sql "$g" "UPDATE glpi_tickets SET status = 6, closedate = NOW(), solvedate = NOW() WHERE id IN (${byg[$g]%,})"
  done
  CURL_CREATED=()
fi


# ------------------------------------------------------------------ searches
# legacy_search g name: the criteria of the named search (NUL-separated curl arguments)
SEARCH_KEY_NODE="absent-$RUN_ID"   # a key no ticket has: what a creation searches for
legacy_query() {  # g name
  local g=$1 w=${BOTID[$1]} m x
  m=$(marker "$SEARCH_KEY_NODE" HTTP); x=$(extid "$SEARCH_KEY_NODE" HTTP)
  case $2 in
    marker)            crit 0 21 contains "$m"; crit 1 12 equals notold; disp 2 3 21 ;;
    marker+writer)     crit 0 21 contains "$m"; crit 1 12 equals notold; crit 2 22 equals "$w"; disp 2 3 21 ;;
    extid)             crit 0 87 contains "^$x\$"; crit 1 12 equals notold; disp 2 3 21 87 ;;
    extid+writer)      crit 0 87 contains "^$x\$"; crit 1 12 equals notold; crit 2 22 equals "$w"; disp 2 3 21 87 ;;
    list-marker)       crit 0 21 contains "[esia-glpi:"; crit 1 22 equals "$w"; crit 2 12 equals notold; disp 2 3 21 ;;
    list-extid)        crit 0 87 contains "esia-glpi:"; crit 1 22 equals "$w"; crit 2 12 equals notold; disp 2 3 21 87 ;;
    list-extid-anchored) crit 0 87 contains "^esia-glpi:"; crit 1 22 equals "$w"; crit 2 12 equals notold; disp 2 3 21 87 ;;
  esac
}
disp() { local i=0 f; for f in "$@"; do printf '%s\0' "forcedisplay[$i]=$f"; i=$((i + 1)); done; }
v2_filter() {  # g name
  local g=$1 w=${BOTID[$1]} x; x=$(extid "$SEARCH_KEY_NODE" HTTP)
  case $2 in
    v2-extid)          printf '%s' "external_id==\"$x\";$OPEN_RSQL" ;;
    v2-extid+writer)   printf '%s' "external_id==\"$x\";user_recipient.id==$w;$OPEN_RSQL" ;;
    v2-list-marker)    printf '%s' "content=like=\"*[esia-glpi:*\";user_recipient.id==$w;$OPEN_RSQL" ;;
    v2-list-extid)     printf '%s' "external_id=like=\"esia-glpi:*\";user_recipient.id==$w;$OPEN_RSQL" ;;
  esac
}
declare -A SESSION
legacy_session() {
  if [ -z "${SESSION[$1]:-}" ]; then
    local a; a=$(curl "${H_JSON[@]}" -H "App-Token: ${APP[$1]}" -H "Authorization: user_token ${BOT[$1]}" "${URL[$1]}/apirest.php/initSession")
    field "SESSION[$1]" session_token "$a"
  fi
}
# search_once g name range|start,limit: one search request; sets S_US (curl's time_total, µs),
# S_TOTAL (totalcount, or Content-Range's total over v2), S_ROWS (rows in the answer), S_CODE (HTTP)
search_once() {
  local g=$1 name=$2 page=$3 out
  if [[ $name == v2-* ]]; then
    v2_token "$g"
    out=$(curl -sS -o "$WORK/last.json" -D "$WORK/last.headers" -w '%{time_total} %{http_code}' \
      -H "Authorization: Bearer ${TOKEN[$g]}" -G --data-urlencode "filter=$(v2_filter "$g" "$name")" \
      --data-urlencode "start=${page%,*}" --data-urlencode "limit=${page#*,}" "${URL[$g]}/api.php/v2/Assistance/Ticket")
    S_TOTAL=$(tr -d '\r' <"$WORK/last.headers" | sed -n 's/^[Cc]ontent-[Rr]ange: [^/]*\/\([0-9]*\).*/\1/p')
    S_TOTAL=${S_TOTAL:-0}
    S_ROWS=$(jq 'if type == "array" then length else -1 end' "$WORK/last.json" 2>/dev/null || echo -1)
  else
    legacy_session "$g"
    local q=() args=() a
    mapfile -d '' -t q < <(legacy_query "$g" "$name")
    for a in "${q[@]}"; do args+=(--data-urlencode "$a"); done
    out=$(curl -sS -o "$WORK/last.json" -w '%{time_total} %{http_code}' -H "Content-Type: application/json" \
      -H "App-Token: ${APP[$g]}" -H "Session-Token: ${SESSION[$g]}" -H "X-GLPI-Sanitized-Content: false" -g -G \
      "${args[@]}" --data-urlencode "range=$page" "${URL[$g]}/apirest.php/search/Ticket")
    S_TOTAL=$(jq '.totalcount // -1' "$WORK/last.json" 2>/dev/null || echo -1)
    S_ROWS=$(jq '(.data // []) | length' "$WORK/last.json" 2>/dev/null || echo -1)
  fi
  S_US=$(awk -v s="${out% *}" 'BEGIN {printf "%d", s * 1000000}'); S_CODE=${out#* }
}
searches_for() {  # major
  if [ "$1" -ge 11 ]; then
    echo marker marker+writer extid extid+writer list-marker list-extid list-extid-anchored
    echo v2-extid v2-extid+writer v2-list-marker v2-list-extid
  else
    echo marker marker+writer list-marker
  fi
}
if phase search; then
  for major in 10 11; do
    pair=(); for g in "e$major" "p$major"; do has "$g" && pair+=("$g"); done
    [ "${#pair[@]}" -gt 0 ] || continue
    read -r -a names <<<"$(searches_for "$major" | tr '\n' ' ')"
    LOAD[search]+="$(cut -d' ' -f1 /proc/loadavg) "
    say "$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg): GLPI $major: searches (${names[*]}), $RUNS paired rounds"
    for g in "${pair[@]}"; do for n in "${names[@]}"; do  # warm-up, and a check that each search is accepted
      [[ $n == v2-* ]] && ! hasv2 "$g" && continue
      [[ $n == v2-* ]] && p=0,50 || p=0-49
      search_once "$g" "$n" "$p"
      case $S_CODE in 200|206) ;; *) say "  $(label "$g") $n: HTTP $S_CODE: $(head -c 300 "$WORK/last.json")" ;; esac
      echo "$S_TOTAL" >"$WORK/t/total-$g-$n"; echo "$S_CODE" >"$WORK/t/code-$g-$n"
    done; done
    for ((r = 1; r <= RUNS; r++)); do
      order=("${pair[@]}"); [ $((r % 2)) = 1 ] || order=($(printf '%s\n' "${pair[@]}" | tac))
      for n in "${names[@]}"; do
        for g in "${order[@]}"; do
          [[ $n == v2-* ]] && ! hasv2 "$g" && continue
          [[ $n == v2-* ]] && p=0,50 || p=0-49
          search_once "$g" "$n" "$p"
          echo "$S_US" >>"$WORK/t/search-$g-$n"
        done
      done
      say "  round $r/$RUNS done"
    done
  done
fi

# ------------------------------------------------------------------ phase list: the whole listing, paged
list_all() {  # g name pagesize: sets L_US (the pages' curl time_total, summed, µs), L_PAGES, L_ROWS
  local g=$1 name=$2 size=$3 start=0      # (L_PAGES=0: refused)
  L_PAGES=0 L_ROWS=0 L_US=0
  while :; do
    if [[ $name == v2-* ]]; then search_once "$g" "$name" "$start,$size"
    else search_once "$g" "$name" "$start-$((start + size - 1))"; fi
    case $S_CODE in 200|206) ;; *) L_PAGES=0; return ;; esac
    L_PAGES=$((L_PAGES + 1)); L_ROWS=$((L_ROWS + S_ROWS)); L_US=$((L_US + S_US))
    [ "$S_ROWS" -ge "$size" ] && [ "$L_ROWS" -lt "$S_TOTAL" ] || break  # the total is in every answer
    start=$((start + size))
  done
}
if phase list; then
  for major in 10 11; do
    pair=(); for g in "e$major" "p$major"; do has "$g" && pair+=("$g"); done
    [ "${#pair[@]}" -gt 0 ] || continue
    names=(list-marker); [ "$major" -lt 11 ] || names=(list-marker list-extid v2-list-marker v2-list-extid)
    LOAD[list]+="$(cut -d' ' -f1 /proc/loadavg) "
    say "$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg): GLPI $major: whole listings (${names[*]}, pages of 50 and 1000), $RUNS paired rounds"
    for ((r = 0; r <= RUNS; r++)); do  # round 0 warms up
      order=("${pair[@]}"); [ $((r % 2)) = 1 ] || order=($(printf '%s\n' "${pair[@]}" | tac))
      for n in "${names[@]}"; do for size in 50 1000; do for g in "${order[@]}"; do
        [[ $n == v2-* ]] && ! hasv2 "$g" && continue
        list_all "$g" "$n" "$size"
        [ "$r" = 0 ] && { echo "$L_PAGES $L_ROWS" >"$WORK/t/listpages-$g-$n-$size"; continue; }
        [ "$L_PAGES" = 0 ] || echo "$L_US" >>"$WORK/t/list-$g-$n-$size"
      done; done; done
    done
  done
fi

# ------------------------------------------------------------------ phase reconcile-run
# status_dat FILE: the --reconcile keys CRITICAL (hard, for an hour), 1,000 other hosts UP with
# 4 services OK each; `created` now.
status_dat() {
  local now; now=$(date +%s)
  awk -v now="$now" -v n="$RECONCILE" 'function blk(kind, host, svc, state) {
      printf "%s {\n\thost_name=%s\n", kind, host
      if (svc != "") printf "\tservice_description=%s\n", svc
      printf "\thas_been_checked=1\n\tcurrent_state=%d\n\tstate_type=1\n\tlast_hard_state_change=%d\n", state, now - 3600
      printf "\tplugin_output=bench\n\tscheduled_downtime_depth=0\n\tproblem_has_been_acknowledged=0\n\tis_flapping=0\n\t}\n"
    }
    BEGIN {
      printf "info {\n\tcreated=%d\n\tversion=4.4.6\n\t}\nprogramstatus {\n\tprogram_start=%d\n\t}\n", now, now - 86400
      for (i = 1; i <= n; i++) { blk("hoststatus", "reconcile-" i, "", 0); blk("servicestatus", "reconcile-" i, "HTTP", 2) }
      for (i = 1; i <= 1000; i++) { blk("hoststatus", "other-" i, "", 0); split("PING DISK LOAD HTTP", s, " "); for (j = 1; j <= 4; j++) blk("servicestatus", "other-" i, s[j], 0) }
    }' >"$1"
}
if phase reconcile-run; then
  LOAD[reconcile-run]+="$(cut -d' ' -f1 /proc/loadavg) "
  for g in "${GS[@]}"; do
    c=$(conf "$g" legacy); rc="$WORK/$g-reconcile.toml"
    { cat "$c"; echo "[reconcile]"; echo "status_file = \"$WORK/status.dat\""; } >"$rc"; chmod 600 "$rc"
    rm -rf "$WORK/state-$g-reconcile"; mkdir -p "$WORK/state-$g-reconcile"
    say "$(date -u +%H:%M:%S) load $(cut -d' ' -f1 /proc/loadavg): $(label "$g"): reconcile with nothing to change, $RUNS runs"
    for ((r = 0; r <= RUNS; r++)); do  # run 0 warms up (learns the GLPI, the API user's id)
      status_dat "$WORK/status.dat"
      a0=$(accepted "$g"); t0=$(now_us)
      "$BIN" --config "$rc" --state-dir "$WORK/state-$g-reconcile" --json reconcile >"$WORK/reconcile-$g.json" 2>"$WORK/reconcile-$g.err" \
        || die "reconcile on $(label "$g") exited $?: $(cat "$WORK/reconcile-$g.err")"
      t1=$(now_us); a1=$(accepted "$g")
      j=$(cat "$WORK/reconcile-$g.json")
      [[ $j == *'"solved":0'* && $j == *'"opened":0'* && $j == *"\"open_tickets\":$RECONCILE"* ]] \
        || die "reconcile on $(label "$g") did not find $RECONCILE open tickets and nothing to change: $j"
      [ "$r" = 0 ] && continue
      echo $((t1 - t0)) >>"$WORK/t/reconcile-$g"
      sed -n 's/.*"requests":\([0-9]*\).*/\1/p' <<<"$j" >>"$WORK/t/reconcile-requests-$g"
      echo $((a1 - a0)) >>"$WORK/t/reconcile-accepted-$g"
    done
  done
fi

for g in "${!SESSION[@]}"; do curl "${H_JSON[@]}" -H "App-Token: ${APP[$g]}" -H "Session-Token: ${SESSION[$g]}" "${URL[$g]}/apirest.php/killSession" >/dev/null || true; done

# ------------------------------------------------------------------ the table
med() { [ -s "$WORK/t/$1" ] && median "$WORK/t/$1" || echo -; }
ms() { local m; m=$(med "$1"); [ "$m" = - ] && echo - || awk -v m="$m" 'BEGIN {printf "%.1f", m / 1000}'; }
uniqv() { [ -s "$WORK/t/$1" ] && sort -n "$WORK/t/$1" | uniq -c | awk '{printf "%s%s%s", (NR > 1 ? "," : ""), $2, ($1 > 1 ? "×" $1 : "")}' || echo -; }
echo
echo "esia-glpi on real GLPIs — $(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg) at the end"
echo "binary $BIN ($("$BIN" --version 2>/dev/null | head -n1)); medians of $RUNS paired rounds; raw times in $WORK/t"
for g in "${GS[@]}"; do echo "  $(label "$g"): ${URL[$g]}, db ${DB[$g]}; $(counts "$g")"; done
if phase create; then
  echo
  echo "== warm creation, whole process (ms); requests per creation: binary's -v / php -S log (load ${LOAD[create]% })"
  printf '%-26s %10s %10s %8s   %10s %10s %8s\n' "" "10 empty" "10 pop." "pop÷emp" "11 empty" "11 pop." "pop÷emp"
  for m in notify curl v2notify v2curl; do
    row=(); for major in 10 11; do a=$(ms "create-e$major-$m"); b=$(ms "create-p$major-$m"); row+=("$a" "$b" "$(ratio "$b" "$a")"); done
    case $m in notify) t="notify (legacy)" ;; curl) t="curl, same requests" ;; v2notify) t="notify (api = v2)" ;; v2curl) t="curl, same v2 requests" ;; esac
    printf '%-26s %10s %10s %8s   %10s %10s %8s\n' "$t" "${row[@]}"
  done
  row=(); for major in 10 11; do for e in e p; do row+=("$(ratio "$(med "create-$e$major-notify")" "$(med "create-$e$major-curl")")"); done; row+=(""); done
  printf '%-26s %10s %10s %8s   %10s %10s %8s\n' "notify ÷ curl (legacy)" "${row[@]}"
  row=(); for major in 10 11; do for e in e p; do row+=("$(ratio "$(med "create-$e$major-v2notify")" "$(med "create-$e$major-v2curl")")"); done; row+=(""); done
  printf '%-26s %10s %10s %8s   %10s %10s %8s\n' "notify ÷ curl (v2)" "${row[@]}"
  row=(); for major in 10 11; do for e in e p; do row+=("$(ratio "$(med "create-$e$major-v2notify")" "$(med "create-$e$major-notify")")"); done; row+=(""); done
  printf '%-26s %10s %10s %8s   %10s %10s %8s\n' "v2 notify ÷ legacy notify" "${row[@]}"
  for m in notify v2notify; do
    row=(); for major in 10 11; do for e in e p; do row+=("$(uniqv "requests-$e$major-$m")/$(uniqv "accepted-$e$major-$m")"); done; row+=(""); done
    printf '%-26s %10s %10s %8s   %10s %10s %8s\n' "requests ($m)" "${row[@]}"
  done
fi
if phase search; then
  echo
  echo "== one search request, curl time_total (ms); rows found (totalcount) in brackets (load ${LOAD[search]% })"
  printf '%-22s %16s %16s %8s   %16s %16s %8s\n' "" "10 empty" "10 pop." "pop÷emp" "11 empty" "11 pop." "pop÷emp"
  for n in marker marker+writer extid extid+writer list-marker list-extid list-extid-anchored v2-extid v2-extid+writer v2-list-marker v2-list-extid; do
    row=(); for major in 10 11; do
      a=$(ms "search-e$major-$n"); b=$(ms "search-p$major-$n")
      ta=$(cat "$WORK/t/total-e$major-$n" 2>/dev/null || echo -); tb=$(cat "$WORK/t/total-p$major-$n" 2>/dev/null || echo -)
      ca=$(cat "$WORK/t/code-e$major-$n" 2>/dev/null || echo); cb=$(cat "$WORK/t/code-p$major-$n" 2>/dev/null || echo)
      [[ $ca == 20[06] || -z $ca ]] || a="HTTP $ca"; [[ $cb == 20[06] || -z $cb ]] || b="HTTP $cb"
      row+=("$a [$ta]" "$b [$tb]" "$(ratio "$b" "$a")")
    done
    printf '%-22s %16s %16s %8s   %16s %16s %8s\n' "$n" "${row[@]}"
  done
fi
if phase list; then
  echo
  echo "== the whole listing of the API user's open marked tickets, paged: curl time_total of all the pages (ms; pages×, rows) (load ${LOAD[list]% })"
  printf '%-22s %22s %22s %8s   %22s %22s %8s\n' "" "10 empty" "10 pop." "pop÷emp" "11 empty" "11 pop." "pop÷emp"
  for n in list-marker list-extid v2-list-marker v2-list-extid; do for size in 50 1000; do
    row=(); for major in 10 11; do
      a=$(ms "list-e$major-$n-$size"); b=$(ms "list-p$major-$n-$size")
      pa=$(awk '{print $1 "×, " $2}' "$WORK/t/listpages-e$major-$n-$size" 2>/dev/null || true)
      pb=$(awk '{print $1 "×, " $2}' "$WORK/t/listpages-p$major-$n-$size" 2>/dev/null || true)
      row+=("$a (${pa:--})" "$b (${pb:--})" "$(ratio "$b" "$a")")
    done
    printf '%-22s %22s %22s %8s   %22s %22s %8s\n' "$n /$size" "${row[@]}"
  done; done
fi
if phase reconcile-run; then
  echo
  echo "== reconcile with nothing to change ($RECONCILE open tickets, $((RECONCILE * 2 + 5000)) objects in status.dat), whole process (ms); requests: --json / php -S log (load ${LOAD[reconcile-run]% })"
  for g in "${GS[@]}"; do
    printf '%-26s %10s   requests %s/%s\n' "$(label "$g")" "$(ms "reconcile-$g")" "$(uniqv "reconcile-requests-$g")" "$(uniqv "reconcile-accepted-$g")"
  done
fi
