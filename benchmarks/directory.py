"""Speed of the directory search, the directory page and the structure card page.

    DATABASE_URL=sqlite:////tmp/bench_dir.sqlite3 .venv/bin/python benchmarks/directory.py \
        [--rows 1000000] [--requests 200] [--seed 1] [--keep]

Generates N published structures spread over the real communes of the loaded territories (weighted by
population), with realistic names, descriptions, NAF labels, themes and labels, indexes them for full-text
search, then times on the database in use:

- ``structure_search`` with text + 2 filters + a perimeter (a département), server time;
- the directory page ``/annuaire/`` (HTML, same kind of query, plus a distance search around a commune);
- the structure card page (HTML).

and prints the median and p95 of each. Migrations are applied first. Without ``--keep`` the generated data
is deleted at the end; with ``--keep`` it stays, and a later run with ``--keep`` reuses it (generation
skipped when the database already holds the benchmark's structures).
Needs the territories (``essaim territories_load``): without communes with a point it stops with a message.
"""

import argparse
import math
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402

# The development settings log every query (and quote every parameter for the log): not what a server does.
settings.DEBUG = False
settings.ALLOWED_HOSTS = ["testserver"]
# Without DEBUG the manifest storage would need ``collectstatic``: plain static URLs are enough here.
settings.STORAGES = {
    **settings.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

from django.contrib.auth.models import AnonymousUser  # noqa: E402
from django.core.cache import cache  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django_htmx.middleware import HtmxDetails  # noqa: E402

from essaim.actors.importers.base import BulkInserter  # noqa: E402
from essaim.actors.models import Label, Structure, Theme  # noqa: E402
from essaim.actors.search import (  # noqa: E402
    StructureFilters,
    structure_document,
    structure_search,
    structure_terms,
    structures_reindex,
)
from essaim.core.text import normalize  # noqa: E402
from essaim.territories.models import Commune, Departement, Perimeter  # noqa: E402
from essaim.territories.services import perimeter_save  # noqa: E402
from essaim.www.actors.views import structure_detail, structure_list  # noqa: E402

SLUG_PREFIX = "bench-dir-"
KINDS = [
    (
        "Recyclerie",
        "Réemploi et revente d'objets, ateliers de réparation.",
        "Commerce de détail de biens d'occasion",
    ),
    ("Ressourcerie", "Collecte, valorisation et vente solidaire.", "Récupération de déchets triés"),
    ("Café associatif", "Lieu de rencontre, concerts et repas partagés.", "Débits de boissons"),
    (
        "Jardin partagé",
        "Potager collectif et animations nature.",
        "Autres organisations fonctionnant par adhésion",
    ),
    ("Coopérative d'habitants", "Habitat participatif et solidaire.", "Location de logements"),
    ("Atelier vélo", "Réparation participative de vélos.", "Réparation d'articles personnels"),
    (
        "Épicerie solidaire",
        "Alimentation à petits prix et accompagnement.",
        "Commerce d'alimentation générale",
    ),
    ("Tiers-lieu", "Coworking, fablab et ateliers numériques.", "Activités des organisations associatives"),
    ("Régie de quartier", "Insertion par l'activité économique.", "Nettoyage courant des bâtiments"),
    ("AMAP", "Paniers de producteurs locaux.", "Autres organisations fonctionnant par adhésion"),
    ("Crèche parentale", "Accueil des jeunes enfants géré par les parents.", "Accueil de jeunes enfants"),
    ("Compagnie de théâtre", "Spectacles et ateliers d'expression.", "Arts du spectacle vivant"),
    ("Mutuelle santé", "Complémentaire santé solidaire.", "Autres assurances"),
    ("Fondation", "Soutien aux projets d'intérêt général.", "Activités des organisations associatives"),
    (
        "Chantier d'insertion",
        "Emploi et formation des personnes éloignées de l'emploi.",
        "Aménagement paysager",
    ),
]
FAMILIES = ["association"] * 12 + ["cooperative", "mutuelle", "fondation", "esus"]
BANDS = ["", "", "NN", "00", "01", "02", "03", "11", "12", "21"]
QUERIES = [
    "recyclerie",
    "jardin partagé",
    "café",
    "ateliers vélo",
    "épicerie",
    "insertion",
    "théâtre",
    "tiers lieu",
]
BATCH = 5000


def generate(rows: int, rng: random.Random, *, start: int = 0) -> None:
    """Add ``rows`` structures numbered from ``start``; each batch is indexed as it is written, so an
    interrupted generation leaves usable data (``--keep`` resumes it)."""
    communes = list(
        Commune.objects.exclude(latitude=None).values_list(
            "pk", "name", "latitude", "longitude", "population", "code", "departement_id", "epci_id"
        )
    )
    if not communes:
        sys.exit("Aucune commune avec un point : chargez les territoires (essaim territories_load).")
    themes = list(Theme.objects.values_list("pk", "label"))
    labels = list(Label.objects.values_list("pk", "label"))
    weights = [math.sqrt(population or 1) for *_, population, _code, _dep, _epci in communes]
    picks = rng.choices(communes, weights=weights, k=rows)
    # Raw multi-row inserts (COPY on PostgreSQL): model instances would make generation the slow part.
    inserter = BulkInserter(
        Structure,
        (
            "name",
            "slug",
            "search_name",
            "family",
            "cooperative_kind",
            "status",
            "commune_id",
            "description",
            "naf_label",
            "headcount_band",
            "latitude",
            "longitude",
            "search_document",
        ),
    )
    theme_inserter = BulkInserter(Structure.themes.through, ("structure_id", "theme_id"))
    label_inserter = BulkInserter(Structure.labels.through, ("structure_id", "label_id"))
    batch, taxonomies = [], []
    for index, (commune_id, commune_name, lat, lon, _population, code, departement, epci) in enumerate(
        picks, start=start
    ):
        kind, description, naf_label = rng.choice(KINDS)
        name = f"{kind} de {commune_name} {index}"
        family = rng.choice(FAMILIES)
        own_point = rng.random() < 1 / 3
        chosen_themes = rng.sample(themes, k=min(len(themes), rng.randint(0, 2)))
        chosen_labels = [rng.choice(labels)] if labels and rng.random() < 0.1 else []
        taxonomies.append((chosen_themes, chosen_labels))
        # The document written at once: an UPDATE pass over a million rows would double the generation time.
        document = structure_document(
            name=name,
            description=description,
            naf_label=naf_label,
            commune=commune_name,
            themes=[label for _pk, label in chosen_themes],
            labels=[label for _pk, label in chosen_labels],
            terms=structure_terms(
                commune_code=code,
                departement=departement,
                epci=epci,
                theme_ids=[pk for pk, _label in chosen_themes],
                label_ids=[pk for pk, _label in chosen_labels],
            ),
        )
        batch.append(
            (
                name,
                f"{SLUG_PREFIX}{index}",
                normalize(name),
                family,
                "autre" if family == "cooperative" else "",
                "published",
                commune_id,
                description,
                naf_label,
                rng.choice(BANDS),
                lat + rng.uniform(-0.02, 0.02) if own_point else None,
                lon + rng.uniform(-0.02, 0.02) if own_point else None,
                document,
            )
        )
        if len(batch) == BATCH or index == start + rows - 1:
            with transaction.atomic():
                before = Structure.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                inserter.insert(batch)
                ids = list(
                    Structure.objects.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True)
                )
                theme_inserter.insert(
                    [
                        (pk, theme)
                        for pk, (chosen, _l) in zip(ids, taxonomies, strict=True)
                        for theme, _t in chosen
                    ]
                )
                label_inserter.insert(
                    [
                        (pk, label)
                        for pk, (_t, chosen) in zip(ids, taxonomies, strict=True)
                        for label, _l in chosen
                    ]
                )
            batch, taxonomies = [], []
            if (index + 1) % 100_000 == 0:
                print(f"  {index + 1} structures…", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE actors_structure" if connection.vendor == "postgresql" else "ANALYZE")
        if connection.vendor == "sqlite":
            # One segment per term instead of one per batch: what a long-running index converges to.
            cursor.execute("INSERT INTO actors_structure_fts(actors_structure_fts) VALUES ('optimize')")


def percentile(values, share):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1)]


def timed(label: str, function, requests: int) -> None:
    """Print the median, p95 and max wall time of ``requests`` calls, the median and p95 CPU time of this
    process (the server's own work: SQLite runs in it, PostgreSQL does not) and the load average: on a
    shared machine the wall time mostly measures the wait for a core."""
    timings, cpu = [], []
    for index in range(requests):
        start, start_cpu = time.perf_counter(), time.process_time()
        function(index)
        timings.append((time.perf_counter() - start) * 1000)
        cpu.append((time.process_time() - start_cpu) * 1000)
    print(
        f"  {label:<48} médiane {statistics.median(timings):6.1f} ms, "
        f"p95 {percentile(timings, 0.95):6.1f} ms, "
        f"max {max(timings):6.1f} ms (CPU médiane {statistics.median(cpu):5.1f} ms, "
        f"p95 {percentile(cpu, 0.95):5.1f} ms ; charge {os.getloadavg()[0]:.1f})",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="Garder les données (et les réutiliser).")
    parser.add_argument("--generate-only", action="store_true", help="Générer (avec --keep) sans mesurer.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    call_command("migrate", verbosity=0)

    generated = Structure.objects.filter(slug__startswith=SLUG_PREFIX)
    existing = generated.count()
    if existing and not args.keep:
        generated.delete()
        existing = 0
    if existing:
        # Batches written before the documents were indexed batch by batch.
        stale = list(generated.filter(search_document="").values_list("pk", flat=True))
        started = time.perf_counter()
        for offset in range(0, len(stale), BATCH):
            structures_reindex(ids=stale[offset : offset + BATCH])
        if stale:
            with connection.cursor() as cursor:
                cursor.execute(
                    "VACUUM ANALYZE actors_structure" if connection.vendor == "postgresql" else "ANALYZE"
                )
            print(f"  {len(stale)} documents indexés en {time.perf_counter() - started:.1f} s", flush=True)
    if existing >= args.rows:
        print(f"{connection.vendor}: {existing} structures du banc déjà présentes, génération sautée")
    else:
        started = time.perf_counter()
        last = generated.order_by("-pk").values_list("slug", flat=True).first()
        start = int(last.removeprefix(SLUG_PREFIX)) + 1 if last else 0
        generate(args.rows - existing, rng, start=start)
        print(
            f"{connection.vendor}: {args.rows - existing} structures générées en "
            f"{time.perf_counter() - started:.1f} s"
        )
    total = Structure.objects.published().count()
    print(f"{total} structures publiées en tout")
    if args.generate_only:
        return

    # A département-sized perimeter, as a territory's instance would have.
    departements = list(Departement.objects.values_list("code", flat=True))
    perimeter = Perimeter.objects.filter(slug="bench-dir").first() or perimeter_save(
        slug="bench-dir", name="Banc annuaire", kind="custom", departement_codes=["31"], is_home=False
    )
    themes = list(Theme.objects.values_list("slug", flat=True))
    communes = list(
        Commune.objects.filter(population__gte=5000)
        .exclude(latitude=None)
        .values_list("code", "latitude", "longitude")
    )
    slugs = list(
        Structure.objects.filter(slug__startswith=SLUG_PREFIX)
        .order_by("?")
        .values_list("slug", flat=True)[:500]
        if connection.vendor == "postgresql"
        else Structure.objects.filter(slug__startswith=SLUG_PREFIX)
        .filter(pk__in=[rng.randint(1, max(1, total)) for _ in range(2000)])
        .values_list("slug", flat=True)[:500]
    )
    factory = RequestFactory()
    cache.clear()
    print(f"{args.requests} requêtes par mesure ({connection.vendor}) :")

    def search(index):
        structure_search(
            text=QUERIES[index % len(QUERIES)],
            filters=StructureFilters(
                perimeter=perimeter,
                families=("association",),
                themes=(rng.choice(themes),),
            ),
            page=1 + index % 3,
        )

    timed("recherche (texte + 2 filtres + périmètre)", search, args.requests)

    def search_national(index):
        structure_search(
            text=QUERIES[index % len(QUERIES)],
            filters=StructureFilters(
                departements=(rng.choice(departements),),
                families=("association",),
                themes=(rng.choice(themes),),
            ),
        )

    timed("recherche (texte + 3 filtres, département au hasard)", search_national, args.requests)

    def page(index):
        request = factory.get(
            "/annuaire/",
            {
                "q": QUERIES[index % len(QUERIES)],
                "territoire": perimeter.slug,
                "famille": "association",
                "thematique": rng.choice(themes),
            },
        )
        request.user, request.htmx = AnonymousUser(), HtmxDetails(request)
        response = structure_list(request)
        assert response.status_code == 200

    timed("page annuaire HTML (texte + filtres + périmètre)", page, args.requests)

    def landing(index):
        request = factory.get("/annuaire/", {"territoire": "tous", "page": 1 + index % 5})
        request.user, request.htmx = AnonymousUser(), HtmxDetails(request)
        response = structure_list(request)
        assert response.status_code == 200

    timed("page annuaire HTML (sans filtre, France entière)", landing, args.requests)

    def page_near(index):
        code, _lat, _lon = rng.choice(communes)
        request = factory.get("/annuaire/", {"territoire": "tous", "commune": code, "rayon": "10"})
        request.user, request.htmx = AnonymousUser(), HtmxDetails(request)
        response = structure_list(request)
        assert response.status_code == 200

    timed("page annuaire HTML (10 km autour d'une commune)", page_near, args.requests)

    def card(index):
        request = factory.get("/")
        request.user = AnonymousUser()
        response = structure_detail(request, slug=slugs[index % len(slugs)])
        assert response.status_code == 200

    timed("page fiche structure HTML", card, args.requests)

    if not args.keep:
        Structure.objects.filter(slug__startswith=SLUG_PREFIX).delete()
        perimeter.delete()


if __name__ == "__main__":
    main()
