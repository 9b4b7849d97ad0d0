"""Filter terms in the search documents (see ``essaim.actors.search.FILTER_TERM_PREFIX``): the territory,
themes and labels of each structure are written into its document, so that a search with text and filters is
one full-text lookup. Rewrites every document (the SQLite triggers and the PostgreSQL generated column follow).
"""

from django.db import migrations


def fill_documents(apps, schema_editor):
    from essaim.actors.search import STRUCTURE_INDEX, structures_reindex

    structures_reindex(using=schema_editor.connection.alias)
    if schema_editor.connection.vendor == "sqlite":
        # Every document was deleted and inserted again: merge the index's segments.
        fts = STRUCTURE_INDEX.fts_table
        schema_editor.execute(f"INSERT INTO {fts}({fts}) VALUES ('optimize')", params=None)  # noqa: S608


class Migration(migrations.Migration):
    dependencies = [("actors", "0011_map_sql")]

    operations = [migrations.RunPython(fill_documents, migrations.RunPython.noop)]
