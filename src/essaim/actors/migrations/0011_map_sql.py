"""Put the structures that already exist on the map: snapshots and precomputed cells (``map_reindex``)."""

from django.db import migrations


def reindex(apps, schema_editor):
    # The application's own rebuild: it reads and writes explicit columns only (raw SQL for the cells), so it
    # does not depend on fields added by later migrations.
    from essaim.actors.geo import map_reindex

    if schema_editor.connection.alias == "default":
        map_reindex()


class Migration(migrations.Migration):
    dependencies = [
        ("actors", "0010_map"),
    ]

    operations = [
        migrations.RunPython(reindex, migrations.RunPython.noop),
    ]
