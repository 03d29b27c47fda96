"""Who acts outside a request: a management command or a Celery task."""

from __future__ import annotations

import functools

from celery.signals import task_postrun, task_prerun
from django.core.management.base import BaseCommand

from config import audit

_tasks: dict[str, object] = {}


def connect() -> None:
    if not getattr(BaseCommand.execute, "audited", False):
        BaseCommand.execute = _command_execute(BaseCommand.execute)
    task_prerun.connect(_task_started, dispatch_uid="audit-task-started")
    task_postrun.connect(_task_finished, dispatch_uid="audit-task-finished")


def _command_execute(execute):
    # Every command, from manage.py or call_command, runs through BaseCommand.execute.
    @functools.wraps(execute)
    def run(self, *args, **options):
        name = type(self).__module__.rsplit(".", 1)[-1]
        with audit.acting(audit.Actor(f"command {name}"), replace=False):
            return execute(self, *args, **options)

    run.audited = True
    return run


def _task_started(task_id=None, task=None, **kwargs):
    if audit.current_actor() is None:  # an eager task inside a request keeps the request's
        _tasks[task_id] = audit.begin(audit.Actor(f"task {task.name}"))


def _task_finished(task_id=None, **kwargs):
    token = _tasks.pop(task_id, None)
    if token is not None:
        audit.end(token)
