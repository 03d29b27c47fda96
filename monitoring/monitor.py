"""Timing your own code paths into the same rollups as requests.

    from monitoring import monitor

    with monitor.timer("score.job_security"):
        ...

    @monitor.timer("reports.build")
    def build_report(...):
        ...

A block that raises is counted as an error (and the exception goes on).
Names are labels: keep them few and fixed, never per user or per object.
"""

from __future__ import annotations

import time
from contextlib import ContextDecorator

from django.conf import settings

from monitoring.recorder import TIMER, recorder

MAX_NAME_LENGTH = 255


class timer(ContextDecorator):  # lower case: used like a function, monitor.timer("x")
    def __init__(self, name: str):
        if not name or len(name) > MAX_NAME_LENGTH:
            raise ValueError(f"a timer needs a name of 1 to {MAX_NAME_LENGTH} characters")
        self.name = name
        self.started = 0.0

    def _recreate_cm(self):
        # As a decorator, each call (in any thread) gets its own start time.
        return timer(self.name)

    def __enter__(self):
        self.started = time.perf_counter()
        return self

    def __exit__(self, exc_type, exc, traceback):
        elapsed_ms = (time.perf_counter() - self.started) * 1000.0
        if not settings.MONITORING_ENABLED:
            return False
        recorder.record(TIMER, self.name, "", "", elapsed_ms, exc_type is not None)
        return False
