"""Migration rum 0006: rollup sketches stored as JSON (gamma 1.0202, "z" for zeros)
become lib.sketch's binary encoding, counts kept exactly and values within the bound."""

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from lib import sketch
from rum import queries

BEFORE = [("rum", "0005_event_partitioned_by_day")]
AFTER = [("rum", "0006_rollup_sketch")]
T0 = datetime(2026, 5, 1, tzinfo=UTC)
# A value is within 1 % of its old bucket's representative, which is within lib.sketch's
# bound of the new bucket's.
OLD_GAMMA = 1.01 / 0.99
MIGRATED_ERROR = (1 + (OLD_GAMMA - 1) / (OLD_GAMMA + 1)) * (1 + sketch.RELATIVE_ERROR) - 1


def old_sketch(values) -> dict[str, int]:
    """A sketch as RUM wrote it before 0006."""
    found: dict[str, int] = {}
    for value in values:
        key = "z" if value < 1e-6 else str(math.ceil(math.log(value) / math.log(OLD_GAMMA)))
        found[key] = found.get(key, 0) + 1
    return found


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(target)
    return executor.loader.project_state(target).apps


@pytest.fixture
def before_sketch(transactional_db):
    apps = migrate(BEFORE)
    yield apps
    migrate(MigrationExecutor(connection).loader.graph.leaf_nodes())


def within(estimate, exact, error=MIGRATED_ERROR):
    return abs(estimate - exact) <= error * abs(exact) * (1 + 1e-9) + 2 * sketch.MIN_VALUE


def test_stored_json_sketches_become_binary_and_back(before_sketch):
    rng = np.random.default_rng(7)
    Site, Rollup = before_sketch.get_model("rum", "Site"), before_sketch.get_model("rum", "Rollup")
    site = Site.objects.create(name="shop", public_key="k1")
    raw: dict[tuple, np.ndarray] = {}
    for h in range(4):
        for device in ("desktop", "mobile"):
            lcp = rng.lognormal(math.log(2500), 0.6, 300)
            cls = np.where(rng.random(200) < 0.4, 0.0, rng.lognormal(math.log(0.05), 1.5, 200))
            for metric, values in (("LCP", lcp), ("CLS", cls)):
                raw[h, device, metric] = values
                Rollup.objects.create(site=site, hour=T0 + timedelta(hours=h), page="/",
                                      metric=metric, device=device, count=len(values),
                                      histogram=old_sketch(values.tolist()))  # fmt: skip
            Rollup.objects.create(site=site, hour=T0 + timedelta(hours=h), page="/",
                                  metric="PV", device=device, count=300)  # fmt: skip
    old = {(r.hour, r.device, r.metric): r.histogram for r in Rollup.objects.all()}

    apps = migrate(AFTER)
    Rollup = apps.get_model("rum", "Rollup")
    assert Rollup.objects.count() == len(old)
    for row in Rollup.objects.all():
        found = sketch.decode(row.histogram)
        before = old[row.hour, row.device, row.metric]
        assert sum(found.values()) == sum(before.values())
        if row.metric == "CLS":
            assert found.get(sketch.ZERO_INDEX, 0) == before.get("z", 0)
        if row.metric == "PV":
            assert bytes(row.histogram) == b""
            continue
        values = raw[int((row.hour - T0) / timedelta(hours=1)), row.device, row.metric]
        for q in (0.5, 0.75, 0.95):
            assert within(sketch.percentile(found, q), float(np.quantile(values, q)))

    # Read back as the dashboards do: every hour and device merged.
    rows = queries.rollup_rows(queries.Filters(T0, T0 + timedelta(hours=4)))
    for metric in ("LCP", "CLS"):
        summary = queries.summarise_vital(metric, rows)
        union = np.concatenate([v for (_, _, m), v in raw.items() if m == metric])
        assert summary["count"] == len(union)
        assert within(summary["p75"], float(np.quantile(union, 0.75)))

    apps = migrate(BEFORE)
    Rollup = apps.get_model("rum", "Rollup")
    for row in Rollup.objects.all():
        before = old[row.hour, row.device, row.metric]
        assert sum(row.histogram.values()) == sum(before.values())
        assert row.histogram.get("z", 0) == before.get("z", 0)
