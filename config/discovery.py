"""Find optional per-app modules (`<app>/schedule.py`, `<app>/demo.py`, ...)."""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

from django.apps import AppConfig, apps


def app_modules(submodule: str) -> Iterator[tuple[AppConfig, ModuleType]]:
    """Each installed app's `<app>.<submodule>`, for the apps that have one."""
    for app in apps.get_app_configs():
        name = f"{app.name}.{submodule}"
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:  # the module exists but an import inside it failed
                raise
            continue
        yield app, module
