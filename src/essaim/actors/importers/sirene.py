"""Import of the official SIRENE stock files (``StockUniteLegale`` and ``StockEtablissement``).

Streams the CSV (plain or zipped) row by row and writes by batches: memory stays flat whatever the file
size. Keyed by SIREN (structures) and SIRET (establishments): re-running updates changed fields and never
duplicates. A field whose provenance was verified by a person is never overwritten: the proposed value is
stored as a ``PendingChange``. Each run leaves an ``ImportRun`` report; a bad row is rejected with its line
number and a French reason, never aborting the rest.

Personal data: individual entrepreneurs (legal category 1000) and non-diffusible units
(``statutDiffusionUniteLegale`` = P) are skipped and never stored.
"""

import datetime
import math
import re
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from essaim.actors.geo import map_sync
from essaim.actors.history import versions_record_bulk
from essaim.actors.identifiers import rna_error, siren_error, siret_error
from essaim.actors.importers.base import BulkInserter, ImportError_, column_index, open_csv
from essaim.actors.models import (
    Establishment,
    FieldProvenance,
    HeadcountBand,
    ImportRun,
    LegalCategory,
    PendingChange,
    Source,
    Status,
    Structure,
)
from essaim.actors.qualification import qualify
from essaim.actors.quality import quality_refresh_later
from essaim.actors.search import structures_reindex
from essaim.core.audit import log_action
from essaim.core.text import normalize
from essaim.territories.models import Commune, Perimeter

BATCH_SIZE = 2000
PROGRESS_EVERY = 50_000

UNIT_COLUMNS = (
    "siren",
    "statutDiffusionUniteLegale",
    "dateCreationUniteLegale",
    "sigleUniteLegale",
    "identifiantAssociationUniteLegale",
    "trancheEffectifsUniteLegale",
    "etatAdministratifUniteLegale",
    "nomUniteLegale",
    "denominationUniteLegale",
    "denominationUsuelle1UniteLegale",
    "categorieJuridiqueUniteLegale",
    "activitePrincipaleUniteLegale",
    "economieSocialeSolidaireUniteLegale",
    "societeMissionUniteLegale",
)
ESTABLISHMENT_COLUMNS = (
    "siren",
    "siret",
    "statutDiffusionEtablissement",
    "etablissementSiege",
    "numeroVoieEtablissement",
    "indiceRepetitionEtablissement",
    "typeVoieEtablissement",
    "libelleVoieEtablissement",
    "codePostalEtablissement",
    "libelleCommuneEtablissement",
    "codeCommuneEtablissement",
    "etatAdministratifEtablissement",
    "enseigne1Etablissement",
    "denominationUsuelleEtablissement",
)
OPTIONAL_POINT_COLUMNS = (
    "latitude",
    "longitude",
    "coordonneeLambertAbscisseEtablissement",
    "coordonneeLambertOrdonneeEtablissement",
)

# Structure fields written from a legal unit, in the order of the tuples built by ``_unit_values``.
UNIT_FIELDS = (
    "name",
    "acronym",
    "legal_category_id",
    "family",
    "cooperative_kind",
    "naf_code",
    "headcount_band",
    "creation_date",
    "rna",
    "sirene_ess_flag",
    "is_societe_mission",
)
# Structure fields written from the head office establishment.
# Columns the map snapshot depends on (see ``actors.geo.map_sync``).
MAP_COLUMNS = frozenset({"family", "commune_id", "latitude", "longitude"})
HEAD_OFFICE_FIELDS = ("commune_id", "address", "latitude", "longitude")
# Provenance is recorded under the model field name (``legal_category``, not its column).
PROVENANCE_NAME = {"legal_category_id": "legal_category", "commune_id": "commune"}

INDIVIDUAL_ENTREPRENEUR = "1000"
HEADCOUNT_BANDS = frozenset(HeadcountBand.values)

# Projections of the establishments' coordinates by department (INSEE publishes Lambert-93 for mainland
# France and Corsica, and the local UTM projections overseas).
PROJECTION_BY_DEPARTMENT = {
    "971": "EPSG:5490",
    "972": "EPSG:5490",
    "977": "EPSG:5490",
    "978": "EPSG:5490",
    "973": "EPSG:2972",
    "974": "EPSG:2975",
    "975": "EPSG:4467",
    "976": "EPSG:4471",
}
LAMBERT_93 = "EPSG:2154"


_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def _normalize(value: str) -> str:
    """``core.text.normalize`` with a fast path for ASCII text (most SIRENE names, upper-case ASCII),
    for which both give the same result."""
    if value.isascii():
        return _NON_ALNUM.sub(" ", value.lower()).strip()
    return normalize(value)


# SQLite trigger of the search index that indexes a new card's document on INSERT (``actors.search``).
SEARCH_INSERT_TRIGGER = "actors_structure_fts_insert"


@contextmanager
def _search_insert_trigger_suspended():
    """SQLite: drop the search index's INSERT trigger for the bulk inserts, re-create it (same SQL) after.

    The trigger only indexes a non-empty document and imported cards are inserted with an empty one (the
    run rewrites the documents at its end, which the UPDATE trigger indexes), so it has nothing to do here;
    yet merely firing it costs about half the insertion time. Must run inside the run's transaction: SQLite
    DDL is transactional, so a failed or dry run rolls the drop back and the trigger is never lost.
    """
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = %s", [SEARCH_INSERT_TRIGGER]
        )
        row = cursor.fetchone()
        if row is None:
            yield
            return
        cursor.execute(f'DROP TRIGGER "{SEARCH_INSERT_TRIGGER}"')
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(row[0])


class SireneImportError(ImportError_):
    """The SIRENE import cannot run (bad file, missing columns, missing reference data). French message."""


@dataclass
class SireneOptions:
    perimeter: str = ""
    ess_only: bool = False
    active_only: bool = False
    dry_run: bool = False


@dataclass
class _Batch:
    rows: list[tuple[int, str, tuple]] = field(default_factory=list)  # (line, siren, values)


class _DryRunRollback(Exception):
    pass


class _Points:
    """Latitude/longitude of an establishment from the geocoded columns or the projected coordinates."""

    def __init__(self):
        self._transformers = {}

    def _transformer(self, crs: str):
        if crs not in self._transformers:
            from pyproj import Transformer

            self._transformers[crs] = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
        return self._transformers[crs]

    def point(self, *, lat: str, lon: str, x: str, y: str, commune_code: str):
        """(latitude, longitude) or (None, None) when the row has no usable coordinates."""
        try:
            if lat and lon:
                latitude, longitude = float(lat), float(lon)
            elif x and y:
                crs = PROJECTION_BY_DEPARTMENT.get(commune_code[:3], LAMBERT_93)
                longitude, latitude = self._transformer(crs).transform(float(x), float(y))
            else:
                return None, None
        except ValueError:  # "[ND]" (not diffusible) or other non-numbers.
            return None, None
        if not (math.isfinite(latitude) and math.isfinite(longitude)):
            return None, None
        if not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            return None, None
        return round(latitude, 6), round(longitude, 6)


class SireneImporter:
    """One import run. Use ``sirene_import()``."""

    def __init__(
        self,
        *,
        path: Path,
        establishments_path: Path | None,
        options: SireneOptions,
        progress: Callable[[int, float], None] | None,
    ):
        self.path = path
        self.establishments_path = establishments_path
        self.options = options
        self.progress = progress
        self.now = timezone.now()
        self.source_ref = path.name[:200]
        self.run = ImportRun(
            source=Source.SIRENE,
            file_name=str(path.name)[:300],
            options={
                "etablissements": establishments_path.name if establishments_path else "",
                "perimeter": options.perimeter,
                "ess_only": options.ess_only,
                "active_only": options.active_only,
            },
            dry_run=options.dry_run,
            started_at=self.now,
        )
        self.rejections: list[dict] = []
        self.categories: dict[str, str] = {}
        self.perimeter_sirens: set[str] | None = None
        self.started = time.monotonic()
        self.rows_seen = 0
        self.points = _Points()
        self.qualifications = {}
        # SIRENs already in the database, loaded once: new cards (the bulk of a first import) need no lookup.
        self.known_sirens: set[str] = set()

    # -- reporting ---------------------------------------------------------------------------------------

    def reject(self, line: int, reason: str, *, file_label: str = "") -> None:
        self.run.rejected += 1
        if len(self.rejections) < ImportRun.MAX_REJECTIONS:
            self.rejections.append({"line": line, "reason": f"{file_label}{reason}"})

    def tick(self) -> None:
        self.rows_seen += 1
        if self.rows_seen % PROGRESS_EVERY == 0:
            self.report_progress()

    def report_progress(self) -> None:
        if self.progress is not None:
            self.progress(self.rows_seen, time.monotonic() - self.started)

    # -- preparation ---------------------------------------------------------------------------------------

    def prepare(self) -> None:
        self.categories = dict(LegalCategory.objects.values_list("code", "label"))
        if not self.categories:
            raise SireneImportError(
                "Les catégories juridiques ne sont pas chargées : lancez d'abord "
                "`essaim legal_categories_load FICHIER`."
            )
        if self.establishments_path is not None and not self.establishments_path.is_file():
            raise SireneImportError(f"Fichier introuvable : {self.establishments_path}.")
        if self.options.perimeter:
            perimeter = Perimeter.objects.filter(slug=self.options.perimeter).first()
            if perimeter is None:
                raise SireneImportError(f"Périmètre « {self.options.perimeter} » inconnu.")
            if self.establishments_path is None:
                raise SireneImportError(
                    "Le filtre de périmètre s'appuie sur la commune du siège : donnez aussi le fichier des "
                    "établissements (--etablissements)."
                )
            codes = set(Commune.objects.in_perimeter(perimeter).values_list("code", flat=True))
            self.perimeter_sirens = self._head_office_sirens_in(codes)
        self.known_sirens = set(
            Structure.objects.exclude(siren="").values_list("siren", flat=True).iterator()
        )

    def _head_office_sirens_in(self, commune_codes: set[str]) -> set[str]:
        """SIRENs whose head office is in one of ``commune_codes`` (one streaming pass)."""
        sirens = set()
        with open_csv(self.establishments_path) as (header, reader):
            at = column_index(header, ESTABLISHMENT_COLUMNS, file_label=self.establishments_path.name)
            siren_at, head_at, commune_at = (
                at["siren"],
                at["etablissementSiege"],
                at["codeCommuneEtablissement"],
            )
            width = max(at.values()) + 1
            for row in reader:
                if len(row) >= width and row[head_at] == "true" and row[commune_at] in commune_codes:
                    sirens.add(row[siren_at])
        return sirens

    # -- legal units ---------------------------------------------------------------------------------------

    def _unit_values(self, row: list[str], at) -> tuple | str | None:
        """The structure values of a legal unit; a French reason (str) to reject it; None to skip it."""
        p = at
        siren = row[p.siren]
        if error := siren_error(siren):
            return error
        if row[p.statutDiffusionUniteLegale] == "P":
            return None  # Non-diffusible: personal data, never stored.
        category = row[p.categorieJuridiqueUniteLegale]
        if category == INDIVIDUAL_ENTREPRENEUR:
            return None
        if self.options.active_only and row[p.etatAdministratifUniteLegale] != "A":
            return None
        if self.perimeter_sirens is not None and siren not in self.perimeter_sirens:
            return None
        label = self.categories.get(category)
        if label is None:
            return f"catégorie juridique « {category} » inconnue."
        ess_flag = row[p.economieSocialeSolidaireUniteLegale]
        if ess_flag not in ("O", "N", ""):
            return f"indicateur ESS « {ess_flag} » invalide (O, N ou vide attendu)."
        key = (category, ess_flag)
        qualification = self.qualifications.get(key)
        if qualification is None:
            qualification = qualify(legal_category=category, ess_flag=ess_flag or None, label=label)
            self.qualifications[key] = qualification
        if self.options.ess_only and not qualification.is_ess:
            return None
        name = (
            row[p.denominationUniteLegale] or row[p.denominationUsuelle1UniteLegale] or row[p.nomUniteLegale]
        ).strip()
        if not name:
            return "dénomination absente."
        band = row[p.trancheEffectifsUniteLegale]
        if band and band not in HEADCOUNT_BANDS:
            return f"tranche d'effectifs « {band} » inconnue."
        created = row[p.dateCreationUniteLegale]
        if created:
            try:
                created = datetime.date.fromisoformat(created)
            except ValueError:
                return f"date de création « {created} » invalide (AAAA-MM-JJ attendu)."
        else:
            created = None
        rna = row[p.identifiantAssociationUniteLegale]
        if rna and (error := rna_error(rna)):
            return error
        naf = row[p.activitePrincipaleUniteLegale]
        if len(naf) > 6:
            return f"code NAF « {naf} » invalide."
        return (
            name[:200],
            row[p.sigleUniteLegale].strip()[:50],
            category,
            qualification.family,
            qualification.cooperative_kind,
            naf,
            band,
            created,
            rna,
            ess_flag,
            row[p.societeMissionUniteLegale] == "O",
        )

    def import_units(self) -> None:
        with open_csv(self.path) as (header, reader):
            # Column positions as attributes: read for every row of a million-row file.
            at = SimpleNamespace(**column_index(header, UNIT_COLUMNS, file_label=self.path.name))
            width = len(header)
            batch: list[tuple[int, str, tuple]] = []
            skipped = 0
            unit_values = self._unit_values
            line = 1  # Row number as a spreadsheet shows it (the header is row 1).
            for line, row in enumerate(reader, start=2):
                if line % PROGRESS_EVERY == 0:
                    self.run.rows_read, self.rows_seen = line - 1, self.rows_seen + PROGRESS_EVERY
                    self.report_progress()
                if len(row) != width:
                    self.reject(line, f"{len(row)} colonnes au lieu de {width}.")
                    continue
                values = unit_values(row, at)
                if values is None:
                    skipped += 1
                elif isinstance(values, str):
                    self.reject(line, values)
                else:
                    batch.append((line, row[at.siren], values))
                    if len(batch) >= BATCH_SIZE:
                        self._write_units(batch)
                        batch = []
            self._write_units(batch)
            self.run.skipped += skipped
            self.run.rows_read = line - 1
            self.rows_seen = self.run.rows_read

    def _write_units(self, batch: list[tuple[int, str, tuple]]) -> None:
        if not batch:
            return
        # The same SIREN twice in a file: the last row wins (as in the stock, where it cannot happen).
        by_siren = {siren: (line, values) for line, siren, values in batch}
        with transaction.atomic():
            known = [siren for siren in by_siren if siren in self.known_sirens]
            existing = (
                {
                    row[1]: row
                    for row in Structure.objects.filter(siren__in=known).values_list(
                        "id", "siren", *UNIT_FIELDS
                    )
                }
                if known
                else {}
            )
            new = [
                (siren, line, values) for siren, (line, values) in by_siren.items() if siren not in existing
            ]
            self._insert_units(new)
            changes = {}
            for siren, (_line, values) in by_siren.items():
                if siren in existing:
                    current = existing[siren]
                    diff = {
                        name: value
                        for name, value, old in zip(UNIT_FIELDS, values, current[2:], strict=True)
                        if value != old
                    }
                    changes[current[0]] = (diff, dict(zip(UNIT_FIELDS, current[2:], strict=True)))
            updated = self._apply_changes(changes)
            self.run.updated += updated
            self.run.unchanged += len(changes) - updated

    def _insert_units(self, new: list[tuple[str, int, tuple]]) -> None:
        if not new:
            return
        inserter = self._structure_inserter()
        rows = [self._structure_row(siren, values) for siren, _line, values in new]
        try:
            with transaction.atomic():
                inserter.insert(rows)
        except IntegrityError:
            # One row broke a constraint (e.g. a slug already taken): retry one by one to keep the others.
            ok = []
            for (siren, line, _values), row in zip(new, rows, strict=True):
                try:
                    with transaction.atomic():
                        inserter.insert([row])
                    ok.append(siren)
                except IntegrityError as exc:
                    self.reject(line, f"SIREN {siren} : enregistrement refusé par la base ({exc}).")
            new = [item for item in new if item[0] in ok]
        # No FieldProvenance rows for a new card: its fields carry the card's origin (SIRENE, this file).
        self.run.created += len(new)
        self.known_sirens.update(siren for siren, _line, _values in new)

    def _structure_inserter(self) -> BulkInserter:
        if not hasattr(self, "_structure_bulk"):
            self._structure_bulk = BulkInserter(
                Structure,
                ("siren", "slug", "search_name", "status", "origin_source", "origin_ref", *UNIT_FIELDS),
            )
        return self._structure_bulk

    def _structure_row(self, siren: str, values: tuple) -> tuple:
        name, acronym = values[0], values[1]
        normalized = _normalize(name)
        # SIREN first: the stock is sorted by SIREN, so the unique slug index grows at its end instead of at
        # random places, which keeps a million-row import fast; the SIREN also makes the slug unique.
        slug = f"{siren}-{normalized.replace(' ', '-')[:180]}".rstrip("-")
        search_name = f"{normalized} {_normalize(acronym)}".strip()[:260] if acronym else normalized[:260]
        return (siren, slug, search_name, Status.DRAFT, Source.SIRENE, self.source_ref, *values)

    def _insert_provenance(self, pairs: list[tuple[int, str]]) -> None:
        if not pairs:
            return
        if not hasattr(self, "_provenance_bulk"):
            self._provenance_bulk = BulkInserter(
                FieldProvenance,
                ("structure_id", "field", "source", "source_ref", "recorded_at", "verified_by_human"),
            )
        recorded_at = connection.ops.adapt_datetimefield_value(self.now)
        self._provenance_bulk.insert(
            [(sid, name, Source.SIRENE, self.source_ref, recorded_at, False) for sid, name in pairs]
        )

    def _apply_changes(self, changes: dict[int, tuple[dict, dict]]) -> int:
        """Apply ``{structure id: ({field: new}, {field: old})}``; verified fields become PendingChanges.

        Returns how many structures had at least one real change (applied or proposed).
        """
        changes = {sid: change for sid, change in changes.items() if change[0]}
        if not changes:
            return 0
        verified = set(
            FieldProvenance.objects.filter(structure_id__in=changes, verified_by_human=True).values_list(
                "structure_id", "field"
            )
        )
        applied_pairs = []
        pending = []
        versions = []  # Kept in the cards' history (``actors.history``), one bulk insert per batch.
        grouped: dict[tuple[str, ...], list[tuple]] = {}  # changed columns -> [(*values, id)]
        for sid, (diff, old) in changes.items():
            apply = {}
            for name, value in diff.items():
                public_name = PROVENANCE_NAME.get(name, name)
                if (sid, public_name) in verified:
                    pending.append((sid, public_name, old.get(name), value))
                else:
                    apply[name] = value
            if apply:
                if "name" in apply or "acronym" in apply:
                    name = apply.get("name", old.get("name"))
                    acronym = apply.get("acronym", old.get("acronym", ""))
                    if name is None:  # Head office changes do not carry the name.
                        name, acronym = Structure.objects.values_list("name", "acronym").get(pk=sid)
                    apply["search_name"] = normalize(f"{name} {acronym}")[:260]
                grouped.setdefault(tuple(apply), []).append((*apply.values(), sid))
                versions.append(
                    (
                        sid,
                        {
                            PROVENANCE_NAME.get(n, n): {"old": old.get(n), "new": v}
                            for n, v in apply.items()
                            if n != "search_name"
                        },
                    )
                )
                applied_pairs += [(sid, PROVENANCE_NAME.get(n, n)) for n in apply if n != "search_name"]
        self._update_structures(grouped)
        versions_record_bulk(versions, source=Source.SIRENE, source_ref=self.source_ref)
        if applied_pairs:
            FieldProvenance.objects.filter(
                structure_id__in={sid for sid, _n in applied_pairs},
                field__in={name for _s, name in applied_pairs},
            ).filter(verified_by_human=False).delete()
            self._insert_provenance(applied_pairs)
        if pending:
            for sid, name, old, new in pending:
                PendingChange.objects.update_or_create(
                    structure_id=sid,
                    field=name,
                    source=Source.SIRENE,
                    defaults={
                        "old_value": "" if old is None else str(old),
                        "new_value": "" if new is None else str(new),
                        "source_ref": self.source_ref,
                        "created_at": self.now,
                    },
                )
            self.run.pending_changes += len(pending)
        return len(changes)

    def _update_structures(self, grouped: dict[tuple[str, ...], list[tuple]]) -> None:
        """One ``executemany`` UPDATE per set of changed columns (a first establishments import changes
        the same four columns of thousands of cards)."""
        ops = connection.ops
        quote = ops.quote_name
        now = ops.adapt_datetimefield_value(self.now)
        # Published cards whose point, commune or family change move on the map (drafts cost one lookup).
        map_ids = [
            row[-1] for columns, rows in grouped.items() if MAP_COLUMNS.intersection(columns) for row in rows
        ]
        for columns, rows in grouped.items():
            assignments = ", ".join(f"{quote(column)} = %s" for column in (*columns, "updated_at"))
            sql = f"UPDATE {quote(Structure._meta.db_table)} SET {assignments} WHERE id = %s"  # noqa: S608
            dates = [index for index, column in enumerate(columns) if column == "creation_date"]
            params = []
            for row in rows:
                values = list(row[:-1])
                for index in dates:
                    values[index] = ops.adapt_datefield_value(values[index])
                params.append((*values, now, row[-1]))
            with connection.cursor() as cursor:
                cursor.executemany(sql, params)
        if map_ids:
            map_sync(structure_ids=map_ids)

    # -- establishments ------------------------------------------------------------------------------------

    def import_establishments(self) -> None:
        label = f"{self.establishments_path.name}, "
        communes = dict(Commune.objects.values_list("code", "id"))
        commune_points = {
            code: (lat, lon)
            for code, lat, lon in Commune.objects.with_point().values_list("code", "latitude", "longitude")
        }
        with open_csv(self.establishments_path) as (header, reader):
            at = column_index(header, ESTABLISHMENT_COLUMNS, file_label=self.establishments_path.name)
            positions = {name: i for i, name in enumerate(header)}
            point_at = {name: positions.get(name) for name in OPTIONAL_POINT_COLUMNS}
            width = len(header)
            batch = []
            line = 1
            for row in reader:
                line += 1
                self.tick()
                if len(row) != width:
                    self.reject(line, f"{len(row)} colonnes au lieu de {width}.", file_label=label)
                    continue
                if row[at["statutDiffusionEtablissement"]] == "P":
                    continue
                siret = row[at["siret"]]
                if error := siret_error(siret):
                    self.reject(line, error, file_label=label)
                    continue
                if siret[:9] != row[at["siren"]]:
                    self.reject(
                        line, f"le SIRET {siret} n'appartient pas au SIREN indiqué.", file_label=label
                    )
                    continue
                commune_code = row[at["codeCommuneEtablissement"]]

                def cell(name, row=row):
                    index = point_at[name]
                    return row[index].strip() if index is not None else ""

                latitude, longitude = self.points.point(
                    lat=cell("latitude"),
                    lon=cell("longitude"),
                    x=cell("coordonneeLambertAbscisseEtablissement"),
                    y=cell("coordonneeLambertOrdonneeEtablissement"),
                    commune_code=commune_code,
                )
                street = " ".join(
                    part
                    for part in (
                        row[at["numeroVoieEtablissement"]] + row[at["indiceRepetitionEtablissement"]],
                        row[at["typeVoieEtablissement"]],
                        row[at["libelleVoieEtablissement"]],
                    )
                    if part
                )
                town = " ".join(
                    part
                    for part in (row[at["codePostalEtablissement"]], row[at["libelleCommuneEtablissement"]])
                    if part
                )
                address = ", ".join(part for part in (street, town) if part)[:300]
                batch.append(
                    (
                        line,
                        siret,
                        {
                            "name": (
                                row[at["enseigne1Etablissement"]]
                                or row[at["denominationUsuelleEtablissement"]]
                            )[:200],
                            "address": address,
                            "commune_id": communes.get(commune_code),
                            "latitude": latitude,
                            "longitude": longitude,
                            "is_active": row[at["etatAdministratifEtablissement"]] == "A",
                            "is_head_office": row[at["etablissementSiege"]] == "true",
                        },
                    )
                )
                if len(batch) >= BATCH_SIZE:
                    self._write_establishments(batch, commune_points)
                    batch = []
            self._write_establishments(batch, commune_points)

    def _write_establishments(self, batch, commune_points) -> None:
        if not batch:
            return
        with transaction.atomic():
            structures = dict(
                Structure.objects.filter(siren__in={siret[:9] for _l, siret, _v in batch}).values_list(
                    "siren", "id"
                )
            )
            # Establishments of legal units that were not imported (filtered, skipped) are ignored.
            batch = [(line, siret, values) for line, siret, values in batch if siret[:9] in structures]
            if not batch:
                return
            fields = ("name", "address", "commune_id", "latitude", "longitude", "is_active", "is_head_office")
            existing = {
                row[0]: row
                for row in Establishment.objects.filter(
                    siret__in=[siret for _l, siret, _v in batch]
                ).values_list("siret", "id", "structure_id", *fields)
            }
            head_sirets = [siret for _l, siret, values in batch if values["is_head_office"]]
            if head_sirets:
                # A head office moved: the previous one is no longer the head office (one per structure).
                Establishment.objects.filter(
                    structure_id__in={structures[s[:9]] for s in head_sirets}, is_head_office=True
                ).exclude(siret__in=head_sirets).update(is_head_office=False)
            inserts = []
            for _line, siret, values in batch:
                if siret in existing:
                    current = dict(zip(fields, existing[siret][3:], strict=True))
                    diff = {name: value for name, value in values.items() if current[name] != value}
                    if diff:
                        Establishment.objects.filter(pk=existing[siret][1]).update(
                            **diff, updated_at=self.now
                        )
                        self.run.establishments_updated += 1
                else:
                    inserts.append((siret, structures[siret[:9]], *(values[name] for name in fields)))
            if inserts:
                if not hasattr(self, "_establishment_bulk"):
                    self._establishment_bulk = BulkInserter(Establishment, ("siret", "structure_id", *fields))
                self._establishment_bulk.insert(inserts)
                self.run.establishments_created += len(inserts)
            # The head office gives the structure its commune, address and point.
            heads = {structures[siret[:9]]: values for _l, siret, values in batch if values["is_head_office"]}
            if heads:
                current = {
                    row[0]: dict(zip(HEAD_OFFICE_FIELDS, row[1:], strict=True))
                    for row in Structure.objects.filter(pk__in=heads).values_list("id", *HEAD_OFFICE_FIELDS)
                }
                changes = {}
                for sid, values in heads.items():
                    wanted = {name: values[name] for name in HEAD_OFFICE_FIELDS}
                    diff = {name: value for name, value in wanted.items() if current[sid][name] != value}
                    changes[sid] = (diff, current[sid])
                self._apply_changes(changes)

    # -- run -----------------------------------------------------------------------------------------------

    def execute(self) -> ImportRun:
        """Run the import. File-level errors roll everything back and are recorded in the report."""
        if connection.vendor != "sqlite":
            return self._execute()
        # SQLite's default 2 MB page cache thrashes on the indexes of a million-row import: 1 GB at most
        # (pages are only allocated as needed) for this connection, for the time of the run.
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA cache_size")
            previous = cursor.fetchone()[0]
            cursor.execute("PRAGMA cache_size = -1048576")
        try:
            return self._execute()
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA cache_size = {int(previous)}")

    def _execute(self) -> ImportRun:
        try:
            self.prepare()
            # One transaction for the run: a file-level error (e.g. missing columns of the establishments)
            # leaves the database as it was; row-level errors only reject their row.
            with transaction.atomic(), _search_insert_trigger_suspended():
                self.import_units()
                if self.establishments_path is not None:
                    self.import_establishments()
                if self.options.dry_run:
                    raise _DryRunRollback
                # One statement for the whole run rather than per-row work while inserting.
                structures_reindex(updated_since=self.now)
        except _DryRunRollback:
            pass
        except ImportError_ as exc:
            self.run.error = str(exc)
            self.run.created = self.run.updated = self.run.unchanged = 0
            self.run.establishments_created = self.run.establishments_updated = 0
            self.run.finished_at = timezone.now()
            self.run.rejections = self.rejections
            self.run.save()
            raise
        self.run.finished_at = timezone.now()
        self.run.rejections = self.rejections
        self.run.save()
        if not self.options.dry_run and (self.run.created or self.run.updated):
            quality_refresh_later()  # quality scores of the new/changed cards, in the background
        log_action(
            actor=None,
            verb="actors.import.sirene",
            obj=self.run,
            data={
                "file": self.run.file_name,
                "dry_run": self.options.dry_run,
                "created": self.run.created,
                "updated": self.run.updated,
                "rejected": self.run.rejected,
            },
        )
        if self.progress is not None:
            self.progress(self.rows_seen, time.monotonic() - self.started)
        return self.run


def sirene_import(
    *,
    path: str | Path,
    establishments_path: str | Path | None = None,
    perimeter: str = "",
    ess_only: bool = False,
    active_only: bool = False,
    dry_run: bool = False,
    progress: Callable[[int, float], None] | None = None,
) -> ImportRun:
    """Import a SIRENE ``StockUniteLegale`` file (and optionally ``StockEtablissement``); return the report.

    ``progress(rows, seconds)`` is called every few tens of thousands of rows and at the end. With
    ``dry_run`` everything is computed and counted, then rolled back (only the report is kept). Raises
    SireneImportError (French message) when the run cannot start: unreadable file, missing columns, legal
    categories not loaded, unknown perimeter; rows with bad values are rejected and reported instead.
    """
    importer = SireneImporter(
        path=Path(path),
        establishments_path=Path(establishments_path) if establishments_path else None,
        options=SireneOptions(
            perimeter=perimeter, ess_only=ess_only, active_only=active_only, dry_run=dry_run
        ),
        progress=progress,
    )
    try:
        return importer.execute()
    except ImportError_ as exc:
        if isinstance(exc, SireneImportError):
            raise
        raise SireneImportError(str(exc)) from exc
