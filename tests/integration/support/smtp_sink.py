"""aiosmtpd handler for the mail tests: every message received is decoded
with Python's email package and written as one JSON file (envelope, headers,
plain and HTML bodies) into the directory given on the command line.

    python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c smtp_sink.Sink OUT_DIR

The file is written before the server answers 250 to DATA, so a client that
got its 250 finds its message on disk.
"""

import email
import json
import os
from email import policy


def crlf(text):
    """SMTP carries CRLF line ends; the tests compare with LF."""
    return text.replace("\r\n", "\n")


class Sink:
    def __init__(self, out_dir):
        self.out_dir = out_dir
        self.count = 0

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("smtp_sink.Sink takes one argument: the output directory")
        return cls(args[0])

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.original_content or envelope.content,
                                       policy=policy.default)
        plain = msg.get_body(preferencelist=("plain",))
        html = msg.get_body(preferencelist=("html",))
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(msg["from"]),
            "to": str(msg["to"]),
            "subject": str(msg["subject"]),
            "content_type": msg.get_content_type(),
            "parts": [part.get_content_type() for part in msg.walk()],
            "plain": crlf(plain.get_content()) if plain is not None else None,
            "html": crlf(html.get_content()) if html is not None else None,
        }
        self.count += 1
        path = os.path.join(self.out_dir, "%04d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f, ensure_ascii=False)
        os.rename(path + ".tmp", path)
        return "250 OK"
