#!/usr/bin/env python3
"""What many administrators write: one ticket creation with Python requests.

Makes the same HTTP requests as a warm `esia-glpi notify` creation
(initSession with App-Token and `Authorization: user_token ...`; POST Ticket
with the same JSON body shape; killSession), with the requester id known in
advance (the warm cache). Like the binary, it makes no search for the key's
open ticket: the binary's state knows there is none (its inventory of GLPI's
open tickets); here that knowledge is given. Used by bench/run.sh.

    bench/create_requests.py GLPI_URL NODE [SERVICE]

Tokens come from APP_TOKEN / USER_TOKEN (default: the simulator's), the
requester id from REQUESTER_ID (default 7, the simulator's "esia").
"""

import html
import os
import sys
import time

import requests


def main() -> int:
    glpi, node = sys.argv[1], sys.argv[2]
    service = sys.argv[3] if len(sys.argv) > 3 else "svc"
    api = glpi + "/apirest.php"
    app = os.environ.get("APP_TOKEN", "sim-app-token-0123456789")
    user = os.environ.get("USER_TOKEN", "sim-user-token-0123456789")
    requester = int(os.environ.get("REQUESTER_ID", "7"))
    output = "CRITICAL output"
    now = time.strftime("%Y-%m-%d %H:%M:%S")

    http = requests.Session()
    # Like the binary: JSON content type on every request.
    http.headers.update({"Content-Type": "application/json", "App-Token": app})
    reads = {"X-GLPI-Sanitized-Content": "false"}

    r = http.get(api + "/initSession",
                 headers={**reads, "Authorization": "user_token " + user}, timeout=10)
    r.raise_for_status()
    session = r.json()["session_token"]
    try:
        esc = html.escape
        marker = "[esia-glpi:%s:%s]" % (node.encode().hex(), service.encode().hex())
        content = (
            f"<p><b>Nœud</b> : {esc(node)}<br><b>Adresse</b> : <br><b>Groupe</b> : <br>"
            f"<b>Service</b> : {esc(service)}<br><b>État</b> : CRITICAL<br>"
            f"<b>État précédent</b> : OK<br><b>Priorité</b> : moyenne<br><b>Date</b> : {now}</p>"
            f"<p><b>Sortie</b> :<br>{esc(output)}</p><p><small>{marker}</small></p>"
        )
        ticket = {"input": {
            "name": f"(  ) {node}:{service}",
            "content": content,
            "type": 1, "urgency": 3, "impact": 3, "priority": 3,
            "_users_id_requester": requester,
        }}
        r = http.post(api + "/Ticket", json=ticket,
                      headers={"Session-Token": session}, timeout=10)
        r.raise_for_status()
        ticket_id = r.json()["id"]
    finally:
        http.get(api + "/killSession",
                 headers={**reads, "Session-Token": session}, timeout=10)
    print(f"created ticket {ticket_id} {glpi}/front/ticket.form.php?id={ticket_id}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
