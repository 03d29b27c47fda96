"""Rollups kept up to date event by event: page views, hours' pages and the inbox.

The hours from the one before the current (or the first hour still marked for a
rebuild, if earlier) are counted again: their rollups are deleted and their
pageview and vital events queued for the rollup. A page view that began before
that hour and reported after it is counted in both, at most once per page view
open at that moment.
"""

import django.db.models.deletion
import orjson
from django.db import migrations, models


def count_recent_hours_again(apps, schema_editor):
    from datetime import timedelta

    from django.utils import timezone

    DirtyHour = apps.get_model("rum", "DirtyHour")
    Event = apps.get_model("rum", "Event")
    Rollup = apps.get_model("rum", "Rollup")
    RollupInbox = apps.get_model("rum", "RollupInbox")
    now = timezone.now()
    cutoff = (now - timedelta(hours=1)).replace(minute=0, second=0, microsecond=0)
    dirty = DirtyHour.objects.order_by("hour").values_list("hour", flat=True).first()
    if dirty is not None:
        cutoff = min(cutoff, dirty)
    Rollup.objects.filter(hour__gte=cutoff).delete()
    events = (
        Event.objects.filter(received_at__gte=cutoff, kind__in=["pageview", "vital"])
        .order_by("site_id", "id")
        .values_list("site_id", "page_view_id", "kind", "name", "value", "page", "device",
                     "received_at")
    )  # fmt: skip
    batch, site = [], None

    def flush():
        if batch:
            RollupInbox.objects.create(
                site_id=site, created=now, events=orjson.dumps(batch).decode()
            )
            batch.clear()

    for site_id, *item in events.iterator(chunk_size=5000):
        if site_id != site or len(batch) >= 5000:
            flush()
            site = site_id
        batch.append(item)
    flush()


class Migration(migrations.Migration):
    dependencies = [
        ("rum", "0002_event_site_without_constraint"),
    ]

    operations = [
        migrations.CreateModel(
            name="HourPage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("hour", models.DateTimeField()),
                ("page", models.CharField(max_length=500)),
                ("first_at", models.DateTimeField()),
                ("kept", models.BooleanField(default=False)),
                (
                    "site",
                    models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, to="rum.site"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="PageView",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("page_view_id", models.CharField(max_length=80)),
                ("hour", models.DateTimeField()),
                ("first_at", models.DateTimeField()),
                ("last_at", models.DateTimeField()),
                ("page", models.CharField(max_length=500)),
                ("device", models.CharField(max_length=10)),
                ("from_pageview", models.BooleanField()),
                ("source_at", models.DateTimeField()),
                ("values", models.JSONField(default=dict)),
                (
                    "site",
                    models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, to="rum.site"
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="RollupInbox",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created", models.DateTimeField()),
                ("events", models.TextField()),
                (
                    "site",
                    models.ForeignKey(
                        db_index=False, on_delete=django.db.models.deletion.CASCADE, to="rum.site"
                    ),
                ),
            ],
        ),
        migrations.AddIndex(
            model_name="hourpage",
            index=models.Index(
                fields=["site", "hour", "first_at", "page"], name="rum_hourpage_rank"
            ),
        ),
        migrations.AddConstraint(
            model_name="hourpage",
            constraint=models.UniqueConstraint(
                fields=("site", "hour", "page"), name="rum_hourpage_unique"
            ),
        ),
        migrations.AddIndex(
            model_name="pageview",
            index=models.Index(
                fields=["site", "hour", "page", "first_at"], name="rum_pageview_hour"
            ),
        ),
        migrations.AddConstraint(
            model_name="pageview",
            constraint=models.UniqueConstraint(
                fields=("site", "page_view_id"), name="rum_pageview_unique"
            ),
        ),
        migrations.RunPython(count_recent_hours_again, migrations.RunPython.noop),
    ]
