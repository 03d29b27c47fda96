"""The gunicorn worker class: threads, and a connection gets one only once it has sent something.

Browsers open spare connections that send nothing for a while (Chromium's
preconnect). A sync worker waits on such a socket until its timeout (30 s) while
other requests queue behind it. gunicorn's gthread worker hands each new
connection to a thread that waits up to 5 s for data: a few idle sockets still
take every thread for that long. Here a new connection waits in the worker's
poller, like a kept-alive one, and reaches a thread when it is readable; an idle
one is closed after the keep-alive timeout. An idle socket costs a file
descriptor, never a thread.
"""

from __future__ import annotations

import errno
import selectors
import time
from functools import partial

from gunicorn.workers import gthread


class ThreadWorker(gthread.ThreadWorker):
    def accept(self, listener):
        try:
            client, address = listener.accept()
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.ECONNABORTED, errno.EWOULDBLOCK):
                raise
            return
        self.nr_conns += 1
        conn = gthread.TConn(self.cfg, client, address, listener.getsockname())  # non-blocking
        # The same deadline as a deferred connection's: pending_conns stays sorted by it.
        conn.timeout = time.monotonic() + self.cfg.keepalive
        self.pending_conns.append(conn)
        self.poller.register(
            client, selectors.EVENT_READ, partial(self.on_pending_socket_readable, conn)
        )
