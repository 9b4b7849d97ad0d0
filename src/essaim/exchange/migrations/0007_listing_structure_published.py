"""Listings carry a copy of « their structure is published » (kept by ``exchange.search.listings_locate``),
so that the public lists and the search no longer join the structures for every text match. (The search
documents gain filter terms at the same time: migration 0010 rewrites them.)

On SQLite, adding a NOT NULL column rebuilds the table, which drops its triggers: those that keep the
full-text table in step (migration 0005) are created again before the documents are rewritten."""

import importlib

from django.db import migrations, models

# Frozen here rather than calling ``listings_locate``: later versions of it may write later columns.
FILL = """UPDATE exchange_listing SET structure_published = EXISTS (
    SELECT 1 FROM actors_structure s WHERE s.id = exchange_listing.structure_id AND s.status = 'published')"""


def restore_sqlite_triggers(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    search = importlib.import_module("essaim.exchange.migrations.0005_search_synonyms")
    for statement in search.SQLITE_FORWARD:
        if statement.lstrip().startswith("CREATE TRIGGER"):
            name = statement.split()[2]
            schema_editor.execute(f"DROP TRIGGER IF EXISTS {name}")
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("actors", "0012_search_speed"),
        ("exchange", "0006_listing_expiry_reminder"),
    ]

    operations = [
        migrations.AddField(
            model_name="listing",
            name="structure_published",
            field=models.BooleanField(default=False, editable=False, verbose_name="structure publiée"),
        ),
        migrations.RunPython(restore_sqlite_triggers, migrations.RunPython.noop),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
    ]
