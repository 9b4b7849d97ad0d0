"""Full-text index of the structures (see ``essaim.actors.search``), one per database engine.

SQLite: an FTS5 table over ``actors_structure.search_document`` (external content, kept in sync by triggers:
index maintenance only, the document itself is written by the search module).
PostgreSQL: an ``essaim_french`` text search configuration (french stemming + unaccent), a generated
``search_vector`` column with a GIN index, and a trigram index on the normalised name for typo tolerance.
Creating the extensions needs a role allowed to (the database owner on PostgreSQL >= 13 for trusted ones).
"""

from django.db import migrations

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE actors_structure_fts USING fts5(
        search_document, content='actors_structure', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', detail='column', prefix='3')""",
    # The terms of the index, read to correct typos.
    "CREATE VIRTUAL TABLE actors_structure_fts_terms USING fts5vocab(actors_structure_fts, 'row')",
    """CREATE TRIGGER actors_structure_fts_insert AFTER INSERT ON actors_structure
        WHEN new.search_document != '' BEGIN
        INSERT INTO actors_structure_fts(rowid, search_document) VALUES (new.id, new.search_document);
    END""",
    """CREATE TRIGGER actors_structure_fts_delete AFTER DELETE ON actors_structure
        WHEN old.search_document != '' BEGIN
        INSERT INTO actors_structure_fts(actors_structure_fts, rowid, search_document)
            VALUES ('delete', old.id, old.search_document);
    END""",
    """CREATE TRIGGER actors_structure_fts_update AFTER UPDATE OF search_document ON actors_structure
        WHEN old.search_document IS NOT new.search_document BEGIN
        INSERT INTO actors_structure_fts(actors_structure_fts, rowid, search_document)
            SELECT 'delete', old.id, old.search_document WHERE old.search_document != '';
        INSERT INTO actors_structure_fts(rowid, search_document)
            SELECT new.id, new.search_document WHERE new.search_document != '';
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS actors_structure_fts_update",
    "DROP TRIGGER IF EXISTS actors_structure_fts_delete",
    "DROP TRIGGER IF EXISTS actors_structure_fts_insert",
    "DROP TABLE IF EXISTS actors_structure_fts_terms",
    "DROP TABLE IF EXISTS actors_structure_fts",
]

POSTGRESQL_FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS unaccent",
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    """DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'essaim_french') THEN
            CREATE TEXT SEARCH CONFIGURATION essaim_french (COPY = french);
            ALTER TEXT SEARCH CONFIGURATION essaim_french
                ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
        END IF;
    END $$""",
    """ALTER TABLE actors_structure ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('essaim_french'::regconfig, search_document)) STORED""",
    "CREATE INDEX actors_structure_search_vector ON actors_structure USING gin (search_vector)",
    "CREATE INDEX actors_structure_name_trgm ON actors_structure USING gin (search_name gin_trgm_ops)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS actors_structure_name_trgm",
    "DROP INDEX IF EXISTS actors_structure_search_vector",
    "ALTER TABLE actors_structure DROP COLUMN IF EXISTS search_vector",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(statement, params=None)

    return run


def fill_documents(apps, schema_editor):
    """Write the documents of the existing structures (the triggers / generated column index them)."""
    from essaim.actors.search import structures_reindex

    structures_reindex(using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [
        ("actors", "0008_search"),
    ]

    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
        migrations.RunPython(fill_documents, migrations.RunPython.noop),
    ]
