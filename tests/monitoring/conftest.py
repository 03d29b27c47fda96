import time

import pytest

from monitoring import fold
from monitoring.recorder import recorder as the_recorder


@pytest.fixture(autouse=True)
def recorder():
    """An empty recorder, and nothing left behind for the next test."""
    the_recorder.reset()
    yield the_recorder
    the_recorder.reset()


def flush_and_fold(now: float | None = None) -> int:
    """Store what this process recorded, then fold everything up to `now` (default: all)."""
    assert the_recorder.flush()
    return fold.fold(now=(time.time() + 180) if now is None else now)


@pytest.fixture(params=["database", pytest.param("redis", marks=pytest.mark.redis)])
def backend(request, settings):
    """Run the test on the embedded default (database) and on Redis."""
    if request.param == "database":
        settings.REDIS_URL = ""
    return request.param


def database_url_for_subprocess() -> str | None:
    """DATABASE_URL of the test database, so a subprocess sees what the test committed."""
    from django.db import connection

    db = connection.settings_dict
    if connection.vendor != "postgresql":
        return None
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"
