"""The expiry index leads with the date, and the list's order has an index within one kind (see
``Listing.Meta.indexes``)."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0008_listing_commune_newest"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="listing", name="exchange_listing_status"),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(fields=["expires_at", "status"], name="exchange_listing_expiry"),
        ),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(fields=["kind", "published_at", "id"], name="exchange_listing_kind_newest"),
        ),
    ]
