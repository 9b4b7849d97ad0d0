"""Speed of the offers and needs: suggestions for one listing and the listing search.

    DATABASE_URL=sqlite:////tmp/bench_exchange.sqlite3 .venv/bin/python benchmarks/exchange.py \
        [--structures 1000000] [--listings 200000] [--requests 200] [--seed 1] [--generate-only]

Needs the territories (``essaim territories_load``). Structures come from the directory benchmark's
generator (``benchmarks/directory.py``, reused when the database already holds them: a copy of its database
saves the longest part); listings are generated here, spread over those structures, with realistic titles
and descriptions drawn from the seeds' offers and needs, themes, time windows and radii. Generated data is
kept (it takes minutes on a shared machine): a later run reuses it and only measures.

Then it times, on the database in use, and prints the median and p95 with the machine's load:

- ``listing_suggestions`` for a random listing (target p95 <= 50 ms);
- ``structure_suggestions`` for a random listing (structures whose card could answer);
- a listing search (text, first page, ranked), as the public list runs it (target p95 <= 30 ms);
- the same with direction and kind filters.
"""

import argparse
import datetime
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
from bench_env import use_production_settings  # noqa: E402

# Production settings (DEBUG off): the pages are measured as a visitor gets them.
use_production_settings()

import django  # noqa: E402

django.setup()

from benchmarks.directory import SLUG_PREFIX, percentile  # noqa: E402
from benchmarks.directory import generate as generate_structures  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.core.paginator import Paginator  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from essaim.actors.importers.base import BulkInserter  # noqa: E402
from essaim.actors.models import Structure, Theme  # noqa: E402
from essaim.core.text import normalize  # noqa: E402
from essaim.exchange.matching import listing_suggestions, structure_suggestions  # noqa: E402
from essaim.exchange.models import Listing  # noqa: E402
from essaim.exchange.search import listing_document, listing_filter_terms, listing_search, listing_terms  # noqa: E402
from essaim.territories.models import Perimeter  # noqa: E402
from essaim.territories.services import perimeter_save  # noqa: E402

BENCH_UNIT = "banc-echanges"  # marks the generated listings
BENCH_PERIMETER = "banc-echanges"
BATCH = 5000
# (kind, title, description) of offers and needs, from the seeds' meetings.
TEMPLATES = [
    ("premises", "Salle de réunion", "Salle de 30 places avec vidéoprojecteur, en semaine."),
    ("premises", "Bureau partagé", "Un poste de travail dans un espace de coworking associatif."),
    ("premises", "Local de stockage", "Local sec de 40 m² pour du matériel, accès facile."),
    ("premises", "Cuisine professionnelle", "Cuisine équipée pour traiteur ou atelier cuisine."),
    ("equipment", "Minibus 9 places", "Prêt d'un minibus pour sorties et déplacements de groupes."),
    ("equipment", "Camion frigorifique", "Camion pour livraisons de paniers et produits frais."),
    ("equipment", "Vidéoprojecteur et sono", "Matériel pour événements, conférences et concerts."),
    ("equipment", "Chapiteau", "Chapiteau de 200 m² pour fêtes de village et festivals."),
    ("equipment", "Outillage de jardin", "Motoculteur, bêches et brouettes pour jardin partagé."),
    ("skill", "Comptabilité associative", "Aide à la tenue des comptes et au bilan annuel."),
    ("skill", "Graphisme et affiches", "Création d'affiches, de logos et de plaquettes."),
    ("skill", "Accompagnement numérique", "Site internet, réseaux sociaux et outils collaboratifs."),
    ("service", "Livraison de paniers bio", "Tournée hebdomadaire de livraison en circuit court."),
    ("service", "Entretien d'espaces verts", "Chantier d'insertion pour tonte, taille et débroussaillage."),
    ("service", "Réparation de vélos", "Atelier vélo mobile pour entreprises et associations."),
    ("product", "Légumes de saison", "Légumes bio du maraîchage local, en caisses."),
    ("product", "Mobilier de réemploi", "Tables, chaises et étagères de la recyclerie."),
    ("shared_job", "Comptable à temps partagé", "Poste de comptable partagé entre structures, 0,3 ETP."),
    ("shared_job", "Animateur ou animatrice", "Emploi partagé d'animation jeunesse sur le territoire."),
    ("group_purchase", "Achat groupé de paniers", "Commande groupée de paniers bio auprès des producteurs."),
    ("group_purchase", "Fournitures de bureau", "Achat groupé de papier, encre et petites fournitures."),
    ("volunteering", "Bénévoles pour festival", "Accueil, buvette et montage pendant trois jours."),
    ("volunteering", "Aide aux devoirs", "Bénévoles pour l'accompagnement scolaire du soir."),
]
QUERIES = ["salle", "minibus", "comptable", "paniers bio", "local", "vélo", "chapiteau", "graphisme affiches"]


def generate_listings(count: int, rng: random.Random) -> None:
    """Add ``count`` published listings over the benchmark's structures (document and point written at once;
    each batch in its own transaction, so an interrupted run leaves usable data)."""
    structures = list(
        Structure.objects.filter(slug__startswith=SLUG_PREFIX)
        .values_list(
            "pk",
            "latitude",
            "longitude",
            "commune__latitude",
            "commune__longitude",
            "commune_id",
            "commune__code",
            "commune__departement_id",
            "commune__epci_id",
        )
        .order_by("pk")[:1_000_000]
    )
    if not structures:
        sys.exit("Aucune structure du banc : générez d'abord les structures.")
    themes = list(Theme.objects.values_list("pk", "label"))
    now = timezone.now()
    inserter = BulkInserter(
        Listing,
        (
            "structure_id",
            "direction",
            "kind",
            "title",
            "search_title",
            "description",
            "unit",
            "available_from",
            "available_until",
            "terms",
            "radius_km",
            "status",
            "published_at",
            "expires_at",
            "search_document",
            "latitude",
            "longitude",
            "structure_published",
            "commune_id",
        ),
    )
    theme_inserter = BulkInserter(Listing.themes.through, ("listing_id", "theme_id"))
    batch, chosen_themes = [], []
    for index in range(count):
        pk, lat, lon, commune_lat, commune_lon, commune, code, departement, epci = rng.choice(structures)
        kind, title, description = rng.choice(TEMPLATES)
        direction = rng.choice(("offer", "need"))
        picked = rng.sample(themes, k=rng.randint(0, 2))
        start = None
        end = None
        if rng.random() < 0.4:
            start = now.date() + datetime.timedelta(days=rng.randint(-30, 120))
            end = start + datetime.timedelta(days=rng.randint(7, 180))
        batch.append(
            (
                pk,
                direction,
                kind,
                title,
                normalize(title),
                description,
                BENCH_UNIT,
                start,
                end,
                "free",
                rng.choice((10, 20, 30, 50, 100)),
                "published",
                now,
                now + datetime.timedelta(days=90),
                listing_document(
                    title=title,
                    description=description,
                    themes=[t for _p, t in picked],
                    filters=listing_terms(
                        direction=direction,
                        kind=kind,
                        theme_ids=[p for p, _t in picked],
                        commune_code=code,
                        departement=departement,
                        epci=epci,
                    ),
                ),
                lat if lat is not None else commune_lat,
                lon if lon is not None else commune_lon,
                True,  # the directory benchmark's structures are all published
                commune,
            )
        )
        chosen_themes.append(picked)
        if len(batch) == BATCH or index == count - 1:
            with transaction.atomic():
                before = Listing.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
                inserter.insert(batch)
                ids = list(Listing.objects.filter(pk__gt=before).order_by("pk").values_list("pk", flat=True))
                pairs = zip(ids, chosen_themes, strict=True)
                theme_inserter.insert([(pk, theme) for pk, picked in pairs for theme, _l in picked])
            batch, chosen_themes = [], []
            if (index + 1) % 50_000 == 0:
                print(f"  {index + 1} annonces…", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE exchange_listing" if connection.vendor == "postgresql" else "ANALYZE")


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def timed(label: str, function, requests: int) -> None:
    timings = []
    for index in range(requests):
        start = time.perf_counter()
        function(index)
        timings.append((time.perf_counter() - start) * 1000)
    print(
        f"  {label:<50} médiane {statistics.median(timings):6.1f} ms, "
        f"p95 {percentile(timings, 0.95):6.1f} ms, max {max(timings):6.1f} ms",
        flush=True,
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--structures", type=int, default=1_000_000)
    parser.add_argument("--listings", type=int, default=200_000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--generate-only", action="store_true", help="Générer sans mesurer.")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    call_command("migrate", verbosity=0)

    structures = Structure.objects.filter(slug__startswith=SLUG_PREFIX).count()
    if structures < args.structures:
        started = time.perf_counter()
        generated = Structure.objects.filter(slug__startswith=SLUG_PREFIX)
        last = generated.order_by("-pk").values_list("slug", flat=True).first()
        start = int(last.removeprefix(SLUG_PREFIX)) + 1 if last else 0
        generate_structures(args.structures - structures, rng, start=start)
        print(f"{args.structures - structures} structures générées en {time.perf_counter() - started:.1f} s")
    listings = Listing.objects.filter(unit=BENCH_UNIT)
    existing = listings.count()
    if existing < args.listings:
        started = time.perf_counter()
        generate_listings(args.listings - existing, rng)
        print(f"{args.listings - existing} annonces générées en {time.perf_counter() - started:.1f} s")
    print(
        f"{connection.vendor} : {Structure.objects.published().count()} structures publiées, "
        f"{Listing.objects.listed().count()} annonces publiées"
    )
    if args.generate_only:
        return

    sample = list(listings.order_by("?").values_list("pk", flat=True)[:500])
    print(f"{args.requests} requêtes par mesure ({connection.vendor}) ; charge : {load()}")

    def suggestions(index):
        listing = Listing.objects.select_related("structure__commune").get(pk=sample[index % len(sample)])
        listing_suggestions(listing=listing, limit=10)

    timed("suggestions d'annonces pour une annonce", suggestions, args.requests)

    def structures_for(index):
        listing = Listing.objects.select_related("structure__commune").get(pk=sample[index % len(sample)])
        structure_suggestions(listing=listing, limit=5)

    timed("structures suggérées pour une annonce", structures_for, args.requests)

    def search(index):
        result = listing_search(text=QUERIES[index % len(QUERIES)], related=("structure__commune",))
        page = Paginator(result, 20).get_page(1 + index % 3)
        list(page.object_list)

    timed("recherche d'annonces (texte, page classée)", search, args.requests)

    def search_filtered(index):
        # As the public list runs it: the filters on the selection and as terms of the text index.
        direction, kind = rng.choice(("offer", "need")), rng.choice(TEMPLATES)[0]
        queryset = Listing.objects.listed().filter(direction=direction, kind=kind)
        terms = listing_filter_terms(direction=direction, kind=kind)
        result = listing_search(text=QUERIES[index % len(QUERIES)], queryset=queryset, terms=terms)
        list(Paginator(result, 20).get_page(1).object_list)

    timed("recherche d'annonces (texte + sens + type)", search_filtered, args.requests)

    # The public list page as a visitor gets it (view, template), on a département-sized perimeter too.
    perimeter = Perimeter.objects.filter(slug=BENCH_PERIMETER).first() or perimeter_save(
        slug=BENCH_PERIMETER, name="Banc offres et besoins", kind="custom", departement_codes=["31"]
    )
    client = Client()  # "testserver": benchmarks.directory narrows ALLOWED_HOSTS to it
    pages = [
        ("page de la liste, sans texte, tous territoires", {"territoire": "tous"}),
        ("page de la liste, sans texte, un département", {"territoire": perimeter.slug}),
        ("page de la liste, texte, un département", {"territoire": perimeter.slug, "q": None}),
        ("page de la liste, texte + type, tous territoires", {"territoire": "tous", "q": None, "type": None}),
    ]
    for label, params in pages:

        def page(index, params=params):
            query = dict(params)
            if "q" in query:
                query["q"] = QUERIES[index % len(QUERIES)]
            if "type" in query:
                query["type"] = TEMPLATES[index % len(TEMPLATES)][0]
            response = client.get("/offres-besoins/", query)
            assert response.status_code == 200, response.status_code

        timed(label, page, args.requests)
    print(f"charge en fin de mesure : {load()}")


if __name__ == "__main__":
    main()
