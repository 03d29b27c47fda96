"""Demo data: each app contributes `<app>/demo.py` with `load(stdout)`."""

from __future__ import annotations

from django.contrib.auth import get_user_model

from config.discovery import app_modules

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


def load_all(stdout) -> None:
    for app, module in app_modules("demo"):
        if not hasattr(module, "load"):  # config.demo itself is this module
            continue
        stdout.write(f"Demo data: {app.label} ...")
        module.load(stdout)
