"""Real receivers on 127.0.0.1 for notification tests: an HTTP server and an SMTP server."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from tests.support import free_port


@dataclass
class Received:
    path: str
    headers: dict
    body: bytes
    status: int
    # time.monotonic() on arrival.
    at: float = field(default_factory=time.monotonic)

    def json(self):
        return json.loads(self.body)


@dataclass
class HttpReceiver:
    """Answers each POST with the next scripted status (then `default`), and records it."""

    default: int = 200
    script: list[int] = field(default_factory=list)
    requests: list[Received] = field(default_factory=list)
    # Extra headers per status (e.g. a Location for redirects).
    headers: dict[int, dict] = field(default_factory=dict)
    # What every answer's body says (by default "ok" or "no").
    reply: bytes | None = None

    def fail(self, times: int, status: int = 500) -> HttpReceiver:
        self.script = [status] * times
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    @property
    def delivered(self) -> list[Received]:
        """Requests answered with a 2xx: what the receiver actually accepted."""
        return [r for r in self.requests if 200 <= r.status < 300]

    def start(self) -> HttpReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                status = receiver.script.pop(0) if receiver.script else receiver.default
                receiver.requests.append(Received(self.path, dict(self.headers), body, status))
                self.send_response(status)
                for name, value in receiver.headers.get(status, {}).items():
                    self.send_header(name, value)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(receiver.reply or (b"ok" if status < 300 else b"no"))

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _SmtpHandler:
    def __init__(self, receiver):
        self.receiver = receiver

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.receiver.refuse:
            return "550 5.1.1 no such user here"
        if address in self.receiver.busy:
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.receiver.messages.append(message_from_bytes(envelope.content))
        self.receiver.recipients.append(list(envelope.rcpt_tos))
        return "250 Message accepted"


class SmtpReceiver:
    def __init__(self):
        self.messages: list[Message] = []
        self.recipients: list[list[str]] = []
        self.refuse: set[str] = set()
        self.busy: set[str] = set()
        self.port = free_port()
        self.controller = Controller(_SmtpHandler(self), hostname="127.0.0.1", port=self.port)

    def start(self) -> SmtpReceiver:
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def subjects(self) -> list[str]:
        return [str(m["Subject"]) for m in self.messages]


def parts(message: Message) -> dict[str, str]:
    """The text and HTML bodies of a received email."""
    found = {}
    for part in message.walk():
        if part.get_content_type() in ("text/plain", "text/html"):
            found[part.get_content_type()] = part.get_payload(decode=True).decode()
    return found
