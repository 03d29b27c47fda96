"""Demo data: each app contributes `<app>/demo.py` with `load(stdout)`.

An app may also give `tick(stdout)`: a running demo calls it every minute
(the "Demo traffic" job, created by demo loading only) so that its data keeps
arriving live and the alerts on it fire and resolve while someone watches.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model

from config.discovery import app_modules
from config.schedule import Job, seed

DEMO_TRAFFIC = Job(
    name="Demo traffic",
    task="core.demo_tick",
    every_seconds=60,
    expires_seconds=60,
    description="Keeps the demo data arriving live. Created by demo loading; delete it in "
    "production if demo data was ever loaded there.",
)

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


def prepare_demo(stdout) -> None:
    """The demo user, every app's demo data, and the job that keeps it live."""
    ensure_demo_user()
    load_all(stdout)
    seed([DEMO_TRAFFIC])


def tick_all(stdout) -> None:
    for _app, module in app_modules("demo"):
        if hasattr(module, "tick"):
            module.tick(stdout)
