"""Write the listings' copies of their structure (point, commune, « published ») and their search documents
with the filter terms of migrations 0007 and 0008 (direction, kind, themes, commune, département, EPCI)."""

from django.db import migrations


def rewrite_documents(apps, schema_editor):
    # By the code of this migration's time: a change of ``listings_reindex`` that reads a later column must
    # freeze this call as SQL here and rewrite the documents in its own migration.
    from essaim.exchange.search import listings_reindex

    listings_reindex(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0009_listing_expiry_index"),
    ]

    operations = [
        migrations.RunPython(rewrite_documents, migrations.RunPython.noop),
    ]
