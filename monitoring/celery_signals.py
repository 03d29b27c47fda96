"""Celery task metrics (duration, success or failure per task name) through signals.

Tasks are recorded like requests, with their database time, into the same
rollups (kind "task"). Worker processes flush from a background thread, and
once more on their way out.
"""

from __future__ import annotations

import sys
import time

from celery import signals
from django.conf import settings

from monitoring.recorder import TASK, Work, current_work, recorder

_running: dict[str, tuple[float, Work, object]] = {}


@signals.worker_init.connect
def _worker_starts(**kwargs):
    # Inherited by the pool's forked processes; each starts its own thread.
    recorder.enable_background_flush()


@signals.worker_process_shutdown.connect
@signals.worker_shutdown.connect
def _worker_stops(**kwargs):
    recorder.flush()


@signals.task_prerun.connect
def _task_starts(task_id=None, task=None, **kwargs):
    if not settings.MONITORING_ENABLED:
        return
    work = Work()
    _running[task_id] = (time.perf_counter(), work, current_work.set(work))


@signals.task_postrun.connect
def _task_ends(task_id=None, task=None, state=None, **kwargs):
    entry = _running.pop(task_id, None)
    if entry is None:
        return
    started, work, token = entry
    elapsed_ms = (time.perf_counter() - started) * 1000.0
    try:
        current_work.reset(token)
    except ValueError:  # ended in another context than it started
        current_work.set(None)
    # Run eagerly with exceptions propagating, a failure arrives as the exception
    # in flight rather than as the FAILURE state.
    failed = state == "FAILURE" or sys.exc_info()[0] is not None
    recorder.record(TASK, task.name, "", "", elapsed_ms, failed, work)
