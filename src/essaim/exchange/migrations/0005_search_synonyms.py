"""Full-text search of offers and needs, and synonym groups (see ``essaim.exchange.search``).

Like ``actors/0009_search_sql``: on SQLite an FTS5 table over ``exchange_listing.search_document`` kept in
sync by triggers; on PostgreSQL a generated ``search_vector`` column (``essaim_french`` configuration,
created by the actors migration) with a GIN index, and a trigram index on the normalised title for typo
tolerance. The synonym groups are seeded with a French default list the facilitators can edit.
"""

from django.db import migrations, models

SQLITE_FORWARD = [
    """CREATE VIRTUAL TABLE exchange_listing_fts USING fts5(
        search_document, content='exchange_listing', content_rowid='id',
        tokenize='unicode61 remove_diacritics 2', detail='column', prefix='3')""",
    "CREATE VIRTUAL TABLE exchange_listing_fts_terms USING fts5vocab(exchange_listing_fts, 'row')",
    """CREATE TRIGGER exchange_listing_fts_insert AFTER INSERT ON exchange_listing
        WHEN new.search_document != '' BEGIN
        INSERT INTO exchange_listing_fts(rowid, search_document) VALUES (new.id, new.search_document);
    END""",
    """CREATE TRIGGER exchange_listing_fts_delete AFTER DELETE ON exchange_listing
        WHEN old.search_document != '' BEGIN
        INSERT INTO exchange_listing_fts(exchange_listing_fts, rowid, search_document)
            VALUES ('delete', old.id, old.search_document);
    END""",
    """CREATE TRIGGER exchange_listing_fts_update AFTER UPDATE OF search_document ON exchange_listing
        WHEN old.search_document IS NOT new.search_document BEGIN
        INSERT INTO exchange_listing_fts(exchange_listing_fts, rowid, search_document)
            SELECT 'delete', old.id, old.search_document WHERE old.search_document != '';
        INSERT INTO exchange_listing_fts(rowid, search_document)
            SELECT new.id, new.search_document WHERE new.search_document != '';
    END""",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS exchange_listing_fts_update",
    "DROP TRIGGER IF EXISTS exchange_listing_fts_delete",
    "DROP TRIGGER IF EXISTS exchange_listing_fts_insert",
    "DROP TABLE IF EXISTS exchange_listing_fts_terms",
    "DROP TABLE IF EXISTS exchange_listing_fts",
]
POSTGRESQL_FORWARD = [
    """ALTER TABLE exchange_listing ADD COLUMN search_vector tsvector
        GENERATED ALWAYS AS (to_tsvector('essaim_french'::regconfig, search_document)) STORED""",
    "CREATE INDEX exchange_listing_search_vector ON exchange_listing USING gin (search_vector)",
    "CREATE INDEX exchange_listing_title_trgm ON exchange_listing USING gin (search_title gin_trgm_ops)",
]
POSTGRESQL_BACKWARD = [
    "DROP INDEX IF EXISTS exchange_listing_title_trgm",
    "DROP INDEX IF EXISTS exchange_listing_search_vector",
    "ALTER TABLE exchange_listing DROP COLUMN IF EXISTS search_vector",
]

# Words people use for the same thing in offers and needs (one group per line, editable afterwards).
DEFAULT_SYNONYMS = [
    "local, salle, bureau, espace, lieu",
    "camion, véhicule, utilitaire, fourgon, bus, minibus",
    "ordinateur, informatique, pc",
    "comptable, comptabilité, compta",
    "bénévole, bénévolat, volontaire",
    "vélo, bicyclette, cycle",
    "cuisine, restauration, traiteur",
    "jardin, potager, maraîchage",
    "panier, colis",
    "graphisme, graphiste, infographie",
    "imprimante, photocopieur, copieur",
    "vidéoprojecteur, projecteur",
    "sono, sonorisation, enceinte",
    "tente, chapiteau, barnum",
    "chaise, siège",
    "coworking, cotravail",
    "bio, biologique",
    "formation, formateur, apprentissage",
]


def _run(statements_by_vendor):
    def run(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, ()):
            schema_editor.execute(statement, params=None)

    return run


def seed_synonyms(apps, schema_editor):
    SynonymGroup = apps.get_model("exchange", "SynonymGroup")
    db = schema_editor.connection.alias
    for words in DEFAULT_SYNONYMS:
        SynonymGroup.objects.using(db).get_or_create(words=words)


FILL_POINTS = """UPDATE exchange_listing SET
    latitude = (SELECT COALESCE(s.latitude, c.latitude) FROM actors_structure s
        LEFT JOIN territories_commune c ON c.id = s.commune_id WHERE s.id = exchange_listing.structure_id),
    longitude = (SELECT COALESCE(s.longitude, c.longitude) FROM actors_structure s
        LEFT JOIN territories_commune c ON c.id = s.commune_id WHERE s.id = exchange_listing.structure_id)"""


def unseed_synonyms(apps, schema_editor):
    SynonymGroup = apps.get_model("exchange", "SynonymGroup")
    SynonymGroup.objects.using(schema_editor.connection.alias).filter(words__in=DEFAULT_SYNONYMS).delete()


def fill_documents(apps, schema_editor):
    # The points are copied with the SQL of this migration's time; the documents are written by migration
    # 0010 with everything they hold since (today's ``listings_reindex`` reads columns added later).
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(FILL_POINTS)


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0004_group_purchases_shared_jobs"),
        ("actors", "0009_search_sql"),
    ]

    operations = [
        migrations.CreateModel(
            name="SynonymGroup",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "words",
                    models.CharField(
                        help_text="Des mots séparés par des virgules, par exemple : local, salle, bureau.",
                        max_length=500,
                        verbose_name="mots",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="créé le")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="modifié le")),
            ],
            options={
                "verbose_name": "groupe de synonymes",
                "verbose_name_plural": "groupes de synonymes",
                "ordering": ["words", "pk"],
            },
        ),
        migrations.AddField(
            model_name="listing",
            name="latitude",
            field=models.FloatField(blank=True, editable=False, null=True, verbose_name="latitude"),
        ),
        migrations.AddField(
            model_name="listing",
            name="longitude",
            field=models.FloatField(blank=True, editable=False, null=True, verbose_name="longitude"),
        ),
        migrations.AddField(
            model_name="listing",
            name="search_document",
            field=models.TextField(
                blank=True, default="", editable=False, verbose_name="document de recherche"
            ),
        ),
        migrations.AddIndex(
            model_name="listing",
            index=models.Index(fields=["kind", "direction", "latitude"], name="exchange_listing_match"),
        ),
        migrations.RunPython(
            _run({"sqlite": SQLITE_FORWARD, "postgresql": POSTGRESQL_FORWARD}),
            _run({"sqlite": SQLITE_BACKWARD, "postgresql": POSTGRESQL_BACKWARD}),
        ),
        migrations.RunPython(seed_synonyms, unseed_synonyms),
        migrations.RunPython(fill_documents, migrations.RunPython.noop),
    ]
