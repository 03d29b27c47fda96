"""The real gunicorn, started with the product's config: idle browser sockets hold no worker."""

from __future__ import annotations

import contextlib
import http.client
import socket

from tests.support import (
    background,
    free_port,
    gunicorn_command,
    subprocess_env,
    wait_for_http,
)

# "Answered at all": an idle socket held a sync worker for its whole 30 s timeout.
ANSWERED_WITHIN_S = 5
REQUEST = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def _get(port: int, path: str) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=ANSWERED_WITHIN_S)
    try:
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


def test_idle_connections_do_not_hold_the_web_server(tmp_path):
    port = free_port()
    env = subprocess_env(
        PORT=str(port),
        VAR_DIR=str(tmp_path),
        DATABASE_URL=None,
        REDIS_URL=None,
        ACCESS_LOG="",
        WEB_THREADS="2",  # fewer threads than idle sockets: none of them may take a thread
    )
    log = tmp_path / "web.log"
    with background(gunicorn_command(workers=1), env, log) as server:
        wait_for_http(f"http://127.0.0.1:{port}/healthz", process=server, log_path=log)
        with contextlib.ExitStack() as stack:
            idle = [
                stack.enter_context(socket.create_connection(("127.0.0.1", port))) for _ in range(6)
            ]
            statuses = [_get(port, "/healthz") for _ in range(10)]
            # A spare connection that is finally used is answered too.
            idle[0].settimeout(ANSWERED_WITHIN_S)
            idle[0].sendall(REQUEST)
            first_line = idle[0].recv(64).split(b"\r\n")[0]
    # 503 without migrations or a beat heartbeat: answering is what counts here.
    assert set(statuses) <= {200, 503} and len(statuses) == 10
    assert first_line.startswith(b"HTTP/1.1 ") and first_line.split()[1] in (b"200", b"503")
