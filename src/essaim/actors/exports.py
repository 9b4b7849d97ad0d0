"""Open-data exports of the published structures: CSV, XLSX, GeoJSON and data·inclusion v1 "structures".

Only what a structure's public card shows leaves through an export: its public contact fields (the card's
email and phone, which the structure publishes as its contact), never data about its members or users.
Every export is built lazily from ``.iterator()`` so a national export never sits whole in memory.
"""

import csv
import datetime
import json
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

import pydantic
from data_inclusion.schema import v1 as datainclusion
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from essaim.actors.models import Establishment, HeadcountBand, Structure

CHUNK_SIZE = 2000
# Identifier of this platform as a data·inclusion producer ("source" field and "id" prefix).
DATAINCLUSION_SOURCE = "essaim"
LICENCE = "Licence Ouverte 2.0 (Etalab)"

# A spreadsheet runs a cell starting with one of these as a formula (OWASP "CSV injection").
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class ExportFormat:
    extension: str
    content_type: str


FORMATS: dict[str, ExportFormat] = {
    "csv": ExportFormat("csv", "text/csv; charset=utf-8"),
    "xlsx": ExportFormat("xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    "geojson": ExportFormat("geojson", "application/geo+json"),
    "datainclusion.json": ExportFormat("datainclusion.json", "application/json"),
}


class ExportFormatError(ValueError):
    """An unknown export format was asked for."""


@dataclass(frozen=True)
class Export:
    """An export being produced: iterate ``chunks`` (bytes) to build it."""

    format: ExportFormat
    chunks: Iterator[bytes]

    def filename(self, stem: str = "annuaire-ess") -> str:
        return f"{stem}-{timezone.localdate():%Y-%m-%d}.{self.format.extension}"


# (header, value getter) of the tabular exports (CSV and XLSX), in column order.
COLUMNS = (
    ("Nom", lambda s: s.name),
    ("Sigle", lambda s: s.acronym),
    ("Famille", lambda s: s.family_label),
    ("SIREN", lambda s: s.siren),
    ("SIRET du siège", lambda s: _head_office_siret(s)),
    ("Numéro RNA", lambda s: s.rna),
    ("Code catégorie juridique", lambda s: s.legal_category_id or ""),
    ("Catégorie juridique", lambda s: s.legal_category.label if s.legal_category else ""),
    ("Code NAF", lambda s: s.naf_code),
    ("Activité principale (NAF)", lambda s: s.naf_label),
    ("Société à mission", lambda s: "oui" if s.is_societe_mission else "non"),
    ("Thématiques", lambda s: ", ".join(s.export_themes)),
    ("Réseaux et labels", lambda s: ", ".join(s.export_labels)),
    ("Adresse", lambda s: s.address),
    ("Code commune INSEE", lambda s: s.commune.code if s.commune else ""),
    ("Commune", lambda s: s.commune.name if s.commune else ""),
    ("Latitude", lambda s: s.point[0] if s.point else None),
    ("Longitude", lambda s: s.point[1] if s.point else None),
    ("Téléphone", lambda s: s.phone),
    ("Courriel", lambda s: s.email),
    ("Site web", lambda s: s.website),
    ("Horaires d'ouverture", lambda s: s.opening_hours),
    ("Présentation", lambda s: s.description),
    ("Tranche d'effectifs", lambda s: HeadcountBand(s.headcount_band).label if s.headcount_band else ""),
    ("Date de création", lambda s: s.creation_date),
    ("Dernière vérification", lambda s: s.last_verified_at),
    ("Dernière modification", lambda s: timezone.localdate(s.updated_at)),
)


def structures_export(*, queryset, fmt: str, base_url: str = "") -> Export:
    """Export the *published* structures of ``queryset`` in format ``fmt`` (a key of ``FORMATS``).

    ``base_url`` ("https://host") makes links to the public cards; without it they are left out.
    Nothing is read before ``chunks`` is iterated. Raises ``ExportFormatError`` for an unknown format.
    """
    if fmt not in FORMATS:
        raise ExportFormatError(f"Format d'export inconnu : {fmt}.")
    structures = _structures(queryset)
    writers = {
        "csv": _csv_chunks,
        "xlsx": _xlsx_chunks,
        "geojson": _geojson_chunks,
        "datainclusion.json": _datainclusion_chunks,
    }
    return Export(format=FORMATS[fmt], chunks=writers[fmt](structures, base_url=base_url))


def _structures(queryset) -> Iterator[Structure]:
    # Whatever queryset the caller passes, only published cards leave the platform.
    rows = (
        queryset.published()
        .select_related("commune", "legal_category")
        .order_by("name", "pk")
        .iterator(chunk_size=CHUNK_SIZE)
    )
    # Themes, labels and head office are fetched per chunk with three flat queries: prefetch_related
    # builds a related manager per structure, which took most of the export time.
    while chunk := list(islice(rows, CHUNK_SIZE)):
        _attach_related(chunk)
        yield from chunk


def _attach_related(chunk: list[Structure]) -> None:
    ids = [structure.pk for structure in chunk]
    themes, labels, sirets = defaultdict(list), defaultdict(list), {}
    for structure_id, label in (
        Structure.themes.through.objects.filter(structure_id__in=ids)
        .order_by("theme__position", "theme__label")
        .values_list("structure_id", "theme__label")
    ):
        themes[structure_id].append(label)
    for structure_id, label in (
        Structure.labels.through.objects.filter(structure_id__in=ids)
        .order_by("label__position", "label__label")
        .values_list("structure_id", "label__label")
    ):
        labels[structure_id].append(label)
    sirets.update(
        Establishment.objects.filter(structure_id__in=ids, is_head_office=True).values_list(
            "structure_id", "siret"
        )
    )
    for structure in chunk:
        structure.export_themes = themes.get(structure.pk, [])
        structure.export_labels = labels.get(structure.pk, [])
        structure.export_siret = sirets.get(structure.pk, "")


def _head_office_siret(structure: Structure) -> str:
    siret = getattr(structure, "export_siret", None)
    if siret is None:  # A structure that did not come through ``_structures``.
        head_office = structure.establishments.filter(is_head_office=True).first()
        siret = head_office.siret if head_office else ""
    return siret


def card_url(structure: Structure, base_url: str) -> str:
    from django.urls import reverse

    return f"{base_url}{reverse('actors:detail', args=[structure.slug])}" if base_url else ""


def neutralize_formula(value):
    """Prefix with an apostrophe a text a spreadsheet would run as a formula; other values are unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def _row(structure: Structure, base_url: str) -> list:
    return [neutralize_formula(getter(structure)) for _, getter in COLUMNS] + [card_url(structure, base_url)]


HEADERS = [header for header, _ in COLUMNS] + ["Fiche dans l'annuaire"]


class _Echo:
    """A file-like object whose ``write`` hands back what it is given, for ``csv.writer`` to stream."""

    def write(self, value: str) -> str:
        return value


def _csv_chunks(structures, *, base_url: str) -> Iterator[bytes]:
    writer = csv.writer(_Echo(), delimiter=";", lineterminator="\r\n")
    # The byte order mark makes spreadsheets read the file as UTF-8.
    yield "\ufeff".encode() + writer.writerow(HEADERS).encode()
    buffer = []
    for index, structure in enumerate(structures, start=1):
        buffer.append(
            writer.writerow(["" if value is None else value for value in _row(structure, base_url)])
        )
        if index % 500 == 0:
            yield "".join(buffer).encode()
            buffer = []
    if buffer:
        yield "".join(buffer).encode()


def _xlsx_value(value):
    # openpyxl refuses control characters, which an imported description may hold.
    return ILLEGAL_CHARACTERS_RE.sub("", value) if isinstance(value, str) else value


def _xlsx_chunks(structures, *, base_url: str) -> Iterator[bytes]:
    # Write-only mode streams rows to disk; the zip container is then read back in chunks.
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Structures")
    sheet.append(HEADERS)
    for structure in structures:
        sheet.append([_xlsx_value(value) for value in _row(structure, base_url)])
    licence = workbook.create_sheet("Licence")
    licence.append([f"Données publiées sous {LICENCE}."])
    with tempfile.TemporaryFile() as file:
        workbook.save(file)
        file.seek(0)
        while chunk := file.read(64 * 1024):
            yield chunk


def _geojson_feature(structure: Structure, base_url: str) -> dict:
    point = structure.point
    properties = {
        "nom": structure.name,
        "sigle": structure.acronym,
        "famille": structure.family,
        "famille_libelle": structure.family_label,
        "siren": structure.siren,
        "rna": structure.rna,
        "adresse": structure.address,
        "code_insee": structure.commune.code if structure.commune else "",
        "commune": structure.commune.name if structure.commune else "",
        "telephone": structure.phone,
        "courriel": structure.email,
        "site_web": structure.website,
        "thematiques": structure.export_themes,
        "fiche": card_url(structure, base_url),
    }
    return {
        "type": "Feature",
        "id": structure.slug,
        # RFC 7946: [longitude, latitude]; a structure without any point stays, with a null geometry.
        "geometry": (
            {"type": "Point", "coordinates": [round(point[1], 6), round(point[0], 6)]} if point else None
        ),
        "properties": properties,
    }


def _json_array_chunks(items: Iterable[dict], *, head: str, tail: str) -> Iterator[bytes]:
    yield head.encode()
    buffer = []
    first = True
    for index, item in enumerate(items, start=1):
        buffer.append(("" if first else ",\n") + json.dumps(item, ensure_ascii=False))
        first = False
        if index % 500 == 0:
            yield "".join(buffer).encode()
            buffer = []
    buffer.append(tail)
    yield "".join(buffer).encode()


def _geojson_chunks(structures, *, base_url: str) -> Iterator[bytes]:
    # RFC 7946: no "crs" member, coordinates are WGS 84.
    features = (_geojson_feature(structure, base_url) for structure in structures)
    return _json_array_chunks(features, head='{"type": "FeatureCollection", "features": [\n', tail="\n]}\n")


def datainclusion_record(structure: Structure, *, base_url: str = "") -> dict | None:
    """The structure as a data·inclusion v1 "structure", validated by the schema's own model.

    An optional field the schema refuses (an odd email or URL) is left out rather than failing the
    whole export; returns None for a structure the schema cannot take at all (name under 3 characters).
    """
    point = structure.point
    updated = min(structure.updated_at.date(), datetime.date.today())
    head_office = _head_office_siret(structure)
    record = {
        "source": DATAINCLUSION_SOURCE,
        "id": f"{DATAINCLUSION_SOURCE}--{structure.slug}",
        # The schema wants 3 to 150 characters, not ending with a full stop.
        "nom": structure.name[:150].rstrip(" ."),
        "date_maj": updated,
        "description": structure.description[:10000] if len(structure.description) >= 5 else None,
        "lien_source": card_url(structure, base_url) or None,
        "siret": head_office or None,
        "commune": structure.commune.name if structure.commune else None,
        "code_insee": structure.commune.code if structure.commune else None,
        "adresse": structure.address or None,
        "latitude": point[0] if point else None,
        "longitude": point[1] if point else None,
        "telephone": structure.phone or None,
        "courriel": structure.email or None,
        "site_web": structure.website or None,
        # Left out: "horaires_accueil" must follow the OpenStreetMap opening_hours syntax and ours is free
        # text; "reseaux_porteurs" is a closed list our networks and labels do not map to.
    }
    for _ in range(len(record)):
        try:
            model = datainclusion.Structure.model_validate(record)
        except pydantic.ValidationError as error:
            fields = {str(item["loc"][0]) for item in error.errors() if item["loc"]}
            required = {
                name for name, info in datainclusion.Structure.model_fields.items() if info.is_required()
            }
            if not fields or fields & required:
                return None
            for name in fields:
                record[name] = None
            continue
        return model.model_dump(mode="json", exclude_none=True)
    return None


def _datainclusion_chunks(structures, *, base_url: str) -> Iterator[bytes]:
    records = (datainclusion_record(structure, base_url=base_url) for structure in structures)
    return _json_array_chunks((record for record in records if record is not None), head="[\n", tail="\n]\n")
