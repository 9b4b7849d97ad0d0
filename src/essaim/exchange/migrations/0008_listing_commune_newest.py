"""Listings carry a copy of their structure's commune (kept by ``exchange.search.listings_locate``): the
territory filter of the public list no longer joins the structures, and their search documents gain the
commune's filter terms (commune, département, EPCI) for a text search within a territory. Plus an index for
the list's order."""

import django.db.models.deletion
from django.db import migrations, models

# Frozen here rather than calling ``listings_locate``: later versions of it may write later columns.
FILL = """UPDATE exchange_listing SET commune_id = (
    SELECT s.commune_id FROM actors_structure s WHERE s.id = exchange_listing.structure_id)"""


def rewrite_documents(apps, schema_editor):
    # Points, copies and documents with their filter terms (direction, kind, themes, territory), by the
    # code of this migration's time: a change of ``listings_reindex`` that reads a later column must
    # freeze this call as SQL here and rewrite the documents in its own migration.
    from essaim.exchange.search import listings_reindex

    listings_reindex(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0007_listing_structure_published"),
        ("territories", "0001_initial"),
    ]

    operations = [
        # Nullable: on SQLite a column added in place, which keeps the full-text triggers of the table.
        migrations.AddField(
            model_name="listing",
            name="commune",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="territories.commune",
                verbose_name="commune de la structure",
            ),
        ),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(fields=["published_at", "id"], name="exchange_listing_newest"),
        ),
        migrations.RunSQL(FILL, migrations.RunSQL.noop),
        migrations.RunPython(rewrite_documents, migrations.RunPython.noop),
    ]
