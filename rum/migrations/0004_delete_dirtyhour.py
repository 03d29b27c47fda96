"""Hours are no longer marked for a rebuild: the rollup reads the inbox instead."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("rum", "0003_incremental_rollups"),
    ]

    operations = [
        migrations.DeleteModel(name="DirtyHour"),
    ]
