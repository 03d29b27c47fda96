"""Demo data: each app contributes `<app>/demo.py` with `load(stdout)`."""

from __future__ import annotations

import importlib

from django.apps import apps
from django.contrib.auth import get_user_model

DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"  # noqa: S105  (printed by `make demo`; a local demo only)


def ensure_demo_user():
    """A superuser with the printed password, whatever state it was left in."""
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        username=DEMO_USERNAME, defaults={"email": "demo@example.com"}
    )
    user.is_staff = user.is_superuser = user.is_active = True
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def demo_modules():
    for app in apps.get_app_configs():
        try:
            module = importlib.import_module(f"{app.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{app.name}.demo":
                raise
            continue
        if hasattr(module, "load"):
            yield app.label, module


def load_all(stdout) -> None:
    for label, module in demo_modules():
        stdout.write(f"Demo data: {label} ...")
        module.load(stdout)
