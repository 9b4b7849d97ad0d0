"""Throughput of the SIRENE import on the development database.

    .venv/bin/python benchmarks/sirene_import.py [--rows 1000000] [--etablissements] [--keep]

Generates an N-row ``StockUniteLegale`` file in the official format (valid SIRENs, real INSEE legal category
codes, a realistic mix of associations, cooperatives, companies flagged ESS or not, individual entrepreneurs
and non-diffusible units) into ``benchmarks/out/``, then times ``sirene_import`` end to end (reading,
validation, qualification, writes) and prints rows/s. With ``--etablissements`` a head-office
``StockEtablissement`` file is generated too, on real commune codes when the territories are loaded.

The import runs inside a transaction rolled back at the end (unless ``--keep``): the database is left as it
was. Migrations are applied first. Legal categories come from ``../shared/data`` when present, else from the
codes the generator uses (inside the same rolled-back transaction).
"""

import argparse
import csv
import os
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "essaim.settings.dev")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from stdnum import luhn  # noqa: E402
from tests.actors.sirene_rows import ESTABLISHMENT_HEADER, UNIT_HEADER  # noqa: E402

from essaim.actors.importers.sirene import sirene_import  # noqa: E402
from essaim.actors.legal_categories import legal_categories_load  # noqa: E402
from essaim.actors.models import LegalCategory  # noqa: E402
from essaim.territories.models import Commune  # noqa: E402

OUT = ROOT / "benchmarks" / "out"
CATEGORIES_FILE = ROOT.parent / "shared" / "data" / "categories_juridiques_niveau3.csv"

# (legal category, label, weight, share flagged ESS by SIRENE)
CATEGORY_MIX = [
    ("9220", "Association déclarée", 30, 0.9),
    ("9230", "Association déclarée, reconnue d'utilité publique", 1, 0.9),
    ("9221", "Association déclarée d'insertion par l'économique", 1, 0.9),
    ("5710", "SAS, société par actions simplifiée", 20, 0.05),
    ("5499", "Société à responsabilité limitée (sans autre indication)", 15, 0.03),
    ("5599", "SA à conseil d'administration (s.a.i.)", 2, 0.02),
    ("6540", "Société civile immobilière", 6, 0.0),
    ("5458", "SARL coopérative de production (SCOP)", 1, 1.0),
    ("5560", "Autre SA coopérative à conseil d'administration", 1, 1.0),
    ("6317", "Société coopérative agricole", 1, 1.0),
    ("8210", "Mutuelle", 1, 1.0),
    ("9300", "Fondation", 1, 1.0),
    ("7210", "Commune et commune nouvelle", 1, 0.0),
    ("1000", "Entrepreneur individuel", 19, 0.0),
]
WORDS_BEFORE = [
    "Association",
    "Les Amis de",
    "Collectif",
    "Atelier",
    "Coopérative",
    "Maison de",
    "Jardins de",
]
WORDS_AFTER = ["la Recyclerie", "l'Entraide", "la Solidarité", "du Vélo", "des Savoirs", "du Partage", "Bio"]
BANDS = ["NN", "00", "01", "02", "03", "11", "12", "21", "22", "31", "", ""]
NAF = ["94.99Z", "88.99B", "56.10A", "85.59A", "43.12B", "47.11B", "90.01Z", "38.32Z"]


def generate(rows: int, with_establishments: bool) -> tuple[Path, Path | None]:
    OUT.mkdir(parents=True, exist_ok=True)
    units_path = OUT / f"StockUniteLegale_{rows}.csv"
    establishments_path = OUT / f"StockEtablissement_{rows}.csv" if with_establishments else None
    communes = list(Commune.objects.values_list("code", "name")) or [("31113", "Castanet-Tolosan")]
    rng = random.Random(42)
    weights = [weight for _c, _l, weight, _e in CATEGORY_MIX]
    started = time.perf_counter()
    with units_path.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(UNIT_HEADER)
        est_handle = (
            establishments_path.open("w", encoding="utf-8", newline="") if establishments_path else None
        )
        est_writer = csv.writer(est_handle, lineterminator="\n") if est_handle else None
        if est_writer:
            est_writer.writerow([*ESTABLISHMENT_HEADER, "latitude", "longitude"])
        position = {name: index for index, name in enumerate(UNIT_HEADER)}
        est_position = {name: index for index, name in enumerate(ESTABLISHMENT_HEADER)}
        for index in range(rows):
            base = f"{100_000_00 + index:08d}"
            siren = base + luhn.calc_check_digit(base)
            code, _label, _w, ess_share = rng.choices(CATEGORY_MIX, weights)[0]
            commune_code, commune_name = rng.choice(communes)
            row = [""] * len(UNIT_HEADER)
            row[position["siren"]] = siren
            row[position["statutDiffusionUniteLegale"]] = "P" if rng.random() < 0.02 else "O"
            row[position["dateCreationUniteLegale"]] = (
                f"{rng.randint(1950, 2025)}-{rng.randint(1, 12):02d}-01"
            )
            row[position["trancheEffectifsUniteLegale"]] = rng.choice(BANDS)
            row[position["etatAdministratifUniteLegale"]] = "C" if rng.random() < 0.2 else "A"
            row[position["categorieJuridiqueUniteLegale"]] = code
            row[position["activitePrincipaleUniteLegale"]] = rng.choice(NAF)
            row[position["nomenclatureActivitePrincipaleUniteLegale"]] = "NAFRev2"
            row[position["nicSiegeUniteLegale"]] = "00017"
            row[position["economieSocialeSolidaireUniteLegale"]] = "O" if rng.random() < ess_share else "N"
            if code == "1000":
                row[position["nomUniteLegale"]] = "DUPONT"
                row[position["prenom1UniteLegale"]] = "CAMILLE"
            else:
                name = f"{rng.choice(WORDS_BEFORE)} {rng.choice(WORDS_AFTER)} {commune_name}".upper()
                row[position["denominationUniteLegale"]] = name
                if code.startswith("92") and rng.random() < 0.7:
                    row[position["identifiantAssociationUniteLegale"]] = f"W{rng.randint(10**8, 10**9 - 1)}"
                if rng.random() < 0.2:
                    row[position["sigleUniteLegale"]] = "".join(word[0] for word in name.split()[:3])
            writer.writerow(row)
            if est_writer:
                siret_base = siren + "0001"
                siret = siret_base + luhn.calc_check_digit(siret_base)
                est = [""] * len(ESTABLISHMENT_HEADER) + ["", ""]
                est[est_position["siren"]] = siren
                est[est_position["nic"]] = siret[9:]
                est[est_position["siret"]] = siret
                est[est_position["statutDiffusionEtablissement"]] = "O"
                est[est_position["etablissementSiege"]] = "true"
                est[est_position["numeroVoieEtablissement"]] = str(rng.randint(1, 120))
                est[est_position["typeVoieEtablissement"]] = "RUE"
                est[est_position["libelleVoieEtablissement"]] = "DE LA REPUBLIQUE"
                est[est_position["libelleCommuneEtablissement"]] = commune_name.upper()
                est[est_position["codeCommuneEtablissement"]] = commune_code
                est[est_position["etatAdministratifEtablissement"]] = "A"
                est[-2] = f"{rng.uniform(42.5, 50.5):.6f}"
                est[-1] = f"{rng.uniform(-4.5, 7.5):.6f}"
                est_writer.writerow(est)
        if est_handle:
            est_handle.close()
    print(f"Fichier généré : {units_path} ({rows} lignes) en {time.perf_counter() - started:.1f} s")
    return units_path, establishments_path


def ensure_categories() -> None:
    if LegalCategory.objects.exists():
        return
    if CATEGORIES_FILE.is_file():
        legal_categories_load(path=CATEGORIES_FILE)
    else:
        LegalCategory.objects.bulk_create(
            [LegalCategory(code=code, label=label) for code, label, _w, _e in CATEGORY_MIX]
        )


class Rollback(Exception):
    pass


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--etablissements", action="store_true", help="Générer et importer aussi les sièges.")
    parser.add_argument("--keep", action="store_true", help="Garder les données importées.")
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    units_path, establishments_path = generate(args.rows, args.etablissements)
    print(f"Base : {connection.vendor} ({connection.settings_dict['NAME']})")
    last = [0.0]

    def progress(rows: int, seconds: float) -> None:
        if seconds - last[0] >= 5:
            last[0] = seconds
            print(f"  {rows} lignes — {rows / seconds:,.0f} lignes/s".replace(",", " "), flush=True)

    try:
        with transaction.atomic():
            ensure_categories()
            started, cpu_started = time.perf_counter(), time.process_time()
            run = sirene_import(path=units_path, establishments_path=establishments_path, progress=progress)
            seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
            if not args.keep:
                raise Rollback
    except Rollback:
        pass
    print(
        f"Import de {run.rows_read} unités légales : {run.created} créées, {run.skipped} écartées "
        f"(entrepreneurs individuels, non diffusibles), {run.rejected} rejetées"
        + (f", {run.establishments_created} établissements" if establishments_path else "")
    )
    print(f"Durée {seconds:.1f} s — débit {run.rows_read / seconds:,.0f} lignes/s".replace(",", " "))
    # On a shared machine the wall clock includes waiting for the CPU: the process time shows the work.
    print(
        f"Temps processeur {cpu_seconds:.1f} s — {run.rows_read / cpu_seconds:,.0f} lignes par seconde "
        "de processeur".replace(",", " ")
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
