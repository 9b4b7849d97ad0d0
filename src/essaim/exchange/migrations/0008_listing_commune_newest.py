"""Listings carry a copy of their structure's commune (kept by ``exchange.search.listings_locate``): the
territory filter of the public list no longer joins the structures. Plus an index for the list's order. The
copies and documents are written by migration 0010: on PostgreSQL, rows updated in this migration would
block the creation of the foreign key's index, which Django runs at its end."""

import django.db.models.deletion
from django.db import migrations, models


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
    ]
