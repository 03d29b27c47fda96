"""Rollup sketches: from JSON ({"bucket": count} at gamma 1.0202, "z" = zeros) to
lib.sketch's binary encoding (gamma 1.02, with its zero bucket).

Each old bucket's count moves whole to the new bucket of the old bucket's
representative value, so counts are kept exactly and every value stays within
about 2 % (the old bucket's 1 % and the new one's). The reverse does the same
the other way.
"""

import math

from django.db import migrations, models

from lib import sketch

# The JSON sketch as it was written (frozen here: its module is gone).
OLD_GAMMA = 1.01 / 0.99
OLD_LOG_GAMMA = math.log(OLD_GAMMA)
OLD_ZERO = "z"
OLD_MIN_VALUE = 1e-6
BATCH = 1000


def old_value(key: str) -> float:
    if key == OLD_ZERO:
        return 0.0
    return 2 * OLD_GAMMA ** int(key) / (OLD_GAMMA + 1)


def old_key(value: float) -> str:
    if value < OLD_MIN_VALUE:
        return OLD_ZERO
    return str(math.ceil(math.log(value) / OLD_LOG_GAMMA))


def from_json(histogram: dict) -> bytes:
    found: dict[int, int] = {}
    for key, count in (histogram or {}).items():
        index = sketch.bucket_index(old_value(key))
        found[index] = found.get(index, 0) + int(count)
    return sketch.encode(found)


def to_json(data) -> dict:
    found: dict[str, int] = {}
    for value, count in sketch.points(sketch.decode(data)):
        key = old_key(value)
        found[key] = found.get(key, 0) + count
    return found


def _convert(apps, read: str, write: str, change) -> None:
    """Every row's `write` column from its `read` column, a page of rows at a time."""
    Rollup = apps.get_model("rum", "Rollup")
    last = 0
    while True:
        page = list(Rollup.objects.filter(id__gt=last).only("id", read).order_by("id")[:BATCH])
        if not page:
            return
        for row in page:
            setattr(row, write, change(getattr(row, read)))
        Rollup.objects.bulk_update(page, [write])
        last = page[-1].id


def forward(apps, schema_editor):
    _convert(apps, "histogram", "sketch", from_json)


def backward(apps, schema_editor):
    _convert(apps, "sketch", "histogram", to_json)


class Migration(migrations.Migration):
    dependencies = [
        ("rum", "0005_event_partitioned_by_day"),
    ]

    operations = [
        migrations.AddField(
            model_name="rollup",
            name="sketch",
            field=models.BinaryField(blank=True, default=bytes),
        ),
        migrations.RunPython(forward, backward),
        migrations.RemoveField(model_name="rollup", name="histogram"),
        migrations.RenameField(model_name="rollup", old_name="sketch", new_name="histogram"),
    ]
