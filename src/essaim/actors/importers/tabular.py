"""Import of any spreadsheet a network already keeps (CSV or XLSX) into structure cards.

CSV files may use ``;``, ``,`` or tabs (sniffed), UTF-8 with or without BOM, or Windows-1252 (cp1252);
XLSX files are read with openpyxl in read-only mode (first sheet). The first row holds the column headers.
The columns are mapped to card fields (guessed from the French headers, corrected by the facilitator,
remembered on the ``ImportSource``); the rows then go through ``importers.cards`` (checks, matching,
idempotent writes, report).
"""

import codecs
import csv
import datetime
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from essaim.actors.importers.base import ImportError_
from essaim.actors.importers.cards import CARD_FIELDS, CardImporter, RawCard
from essaim.actors.models import Family, ImportRun, ImportSource, ImportSourceKind, Source
from essaim.core.text import normalize

TABLE_EXTENSIONS = (".csv", ".txt", ".xlsx")
SNIFF_BYTES = 64 * 1024
_CHUNK = 1024 * 1024

# Normalised header names -> card field. Exact matches first, then headers containing these words.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "name": (
        "nom",
        "nom de la structure",
        "nom structure",
        "raison sociale",
        "denomination",
        "denomination sociale",
        "structure",
        "organisation",
        "organisme",
        "nom de l organisation",
    ),
    "acronym": ("sigle", "acronyme"),
    "siret": ("siret", "n siret", "no siret", "numero siret", "numero de siret"),
    "siren": ("siren", "n siren", "numero siren"),
    "rna": ("rna", "numero rna", "n rna", "numero de rna", "identifiant rna"),
    "family": (
        "famille",
        "famille ess",
        "forme juridique",
        "statut",
        "statut juridique",
        "type de structure",
    ),
    "address": ("adresse", "adresse postale", "rue", "voie", "adresse du siege"),
    "postal_code": ("code postal", "cp", "code postale"),
    "commune": ("commune", "ville", "localite", "code insee", "code commune", "commune du siege"),
    "email": (
        "courriel",
        "email",
        "e mail",
        "mail",
        "adresse mail",
        "adresse electronique",
        "adresse e mail",
    ),
    "website": ("site internet", "site web", "site", "url", "web", "site internet url"),
    "phone": ("telephone", "tel", "numero de telephone", "telephone fixe", "portable"),
    "description": ("description", "presentation", "activite", "activites", "objet", "objet social"),
    "themes": ("thematiques", "thematique", "themes", "theme", "secteur", "secteurs", "secteur d activite"),
    "opening_hours": ("horaires", "horaires d ouverture"),
    "latitude": ("latitude", "lat"),
    "longitude": ("longitude", "lon", "lng", "long"),
}
PERSON_WORDS = frozenset(
    {"contact", "responsable", "prenom", "referent", "president", "presidente", "dirigeant"}
)
KEY_ALIASES = ("id", "identifiant", "reference", "ref", "code", "numero", "n", "no", "cle", "id structure")


@dataclass
class Table:
    """An open spreadsheet: its headers and an iterator of (line number, cells), blank rows left out."""

    header: list[str]
    rows: Iterator[tuple[int, list[str]]]
    kind: str  # "csv" or "xlsx"
    encoding: str = ""
    delimiter: str = ""


def _clean_header(cells: list) -> list[str]:
    """Headers stripped; blank ones named after their position, duplicates numbered."""
    header, seen = [], {}
    for index, cell in enumerate(cells):
        name = " ".join(_cell_text(cell).split()) or f"Colonne {index + 1}"
        if name in seen:
            seen[name] += 1
            name = f"{name} ({seen[name]})"
        else:
            seen[name] = 1
        header.append(name)
    return header


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # A SIRET typed as a number comes back as 12345678901234.0.
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


def _detect_encoding(path: Path) -> str:
    """ "utf-8-sig" (BOM), "utf-8" or "cp1252": the first that decodes the whole file, read by chunks."""
    with path.open("rb") as raw:
        candidates = ("utf-8-sig",) if raw.read(3) == codecs.BOM_UTF8 else ("utf-8", "cp1252")
    for encoding in candidates:
        decoder = codecs.getincrementaldecoder(encoding)()
        try:
            with path.open("rb") as raw:
                while chunk := raw.read(_CHUNK):
                    decoder.decode(chunk)
                decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            continue
        return encoding
    raise ImportError_(
        "Encodage du fichier non reconnu : enregistrez-le en CSV UTF-8 (ou Windows-1252) "
        "depuis votre tableur."
    )


def _sniff_delimiter(sample: str) -> str:
    try:
        return csv.Sniffer().sniff(sample, delimiters=";,\t|").delimiter
    except csv.Error:
        # One column, or too few rows for the sniffer: the most frequent separator of the first line.
        first = sample.split("\n", 1)[0]
        counts = {delimiter: first.count(delimiter) for delimiter in ";,\t"}
        best = max(counts, key=counts.get)
        return best if counts[best] else ";"


@contextmanager
def _open_csv(path: Path) -> Iterator[Table]:
    encoding = _detect_encoding(path)
    with path.open("r", encoding=encoding, newline="") as text:
        sample = text.read(SNIFF_BYTES)
        if not sample.strip():
            raise ImportError_("Le fichier est vide.")
        delimiter = _sniff_delimiter(sample)
        text.seek(0)
        reader = csv.reader(text, delimiter=delimiter)
        try:
            header = next(reader)
        except csv.Error as exc:
            raise ImportError_(f"Ligne 1 : CSV illisible ({exc}).") from exc
        if not any(cell.strip() for cell in header):
            raise ImportError_("La première ligne ne contient pas d'en-têtes de colonnes.")

        def rows():
            try:
                for row in reader:
                    if any(cell.strip() for cell in row):
                        yield reader.line_num, row
            except csv.Error as exc:
                raise ImportError_(f"Ligne {reader.line_num} : CSV illisible ({exc}).") from exc

        yield Table(
            header=_clean_header(header), rows=rows(), kind="csv", encoding=encoding, delimiter=delimiter
        )


@contextmanager
def _open_xlsx(path: Path) -> Iterator[Table]:
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportError_("Classeur XLSX illisible : enregistrez-le à nouveau au format .xlsx.") from exc
    try:
        if not workbook.worksheets:
            raise ImportError_("Le classeur ne contient aucune feuille.")
        sheet = workbook.worksheets[0]
        iterator = sheet.iter_rows(values_only=True)
        header = next(iterator, None)
        if header is None:
            raise ImportError_(f"La feuille « {sheet.title} » est vide.")
        if not any(_cell_text(cell) for cell in header):
            raise ImportError_(
                f"La première ligne de la feuille « {sheet.title} » ne contient pas d'en-têtes."
            )

        def rows():
            for line, row in enumerate(iterator, start=2):
                cells = [_cell_text(cell) for cell in row]
                if any(cells):
                    yield line, cells

        yield Table(header=_clean_header(list(header)), rows=rows(), kind="xlsx")
    finally:
        workbook.close()


@contextmanager
def open_table(path: str | Path) -> Iterator[Table]:
    """Open a CSV or XLSX file as a ``Table``. Raises ImportError_ (French) for a missing, empty,
    undecodable or headerless file, or a workbook without sheets."""
    path = Path(path)
    if not path.is_file():
        raise ImportError_(f"Fichier introuvable : {path.name}.")
    if path.stat().st_size == 0:
        raise ImportError_("Le fichier est vide.")
    if path.suffix.lower() == ".xlsx" or zipfile.is_zipfile(path):
        opener = _open_xlsx
    elif path.suffix.lower() in (".xls", ".ods"):
        raise ImportError_("Format non pris en charge : enregistrez le tableau en .xlsx ou en .csv.")
    else:
        opener = _open_csv
    with opener(path) as table:
        yield table


def table_count_rows(path: str | Path) -> int:
    """Number of data rows (blank rows left out). Raises ImportError_ like ``open_table``."""
    with open_table(path) as table:
        return sum(1 for _row in table.rows)


def guess_mapping(header: list[str], remembered: dict[str, str] | None = None) -> dict[str, str]:
    """{card field: column} guessed from the headers; remembered columns still present win."""
    mapping = {name: column for name, column in (remembered or {}).items() if column in header}
    by_normalized = {normalize(column): column for column in header}
    used = set(mapping.values())
    for name, aliases in HEADER_ALIASES.items():
        if name in mapping:
            continue
        for alias in aliases:
            column = by_normalized.get(alias)
            if column and column not in used:
                mapping[name] = column
                used.add(column)
                break
    # "Nom de l'association", "Nom structure", but not a person's name ("Nom du contact").
    if "name" not in mapping:
        for normalized, column in by_normalized.items():
            if (
                column not in used
                and normalized.startswith("nom ")
                and not PERSON_WORDS & set(normalized.split())
            ):
                mapping["name"] = column
                used.add(column)
                break
    # Then headers that contain an alias ("Courriel de contact", "Site internet de la structure").
    for name, aliases in HEADER_ALIASES.items():
        if name in mapping:
            continue
        for normalized, column in by_normalized.items():
            if column in used:
                continue
            words = f" {normalized} "
            if any(len(alias) > 3 and f" {alias} " in words for alias in aliases):
                mapping[name] = column
                used.add(column)
                break
    return mapping


def guess_key_column(header: list[str], remembered: str = "") -> str:
    if remembered and remembered in header:
        return remembered
    for column in header:
        if normalize(column) in KEY_ALIASES:
            return column
    return ""


def check_mapping(header: list[str], mapping: dict[str, str], key_column: str = "") -> None:
    """Raise ImportError_ (French) for a mapping without the name column or naming unknown fields/columns."""
    unknown_fields = sorted(set(mapping) - set(CARD_FIELDS))
    if unknown_fields:
        raise ImportError_(
            f"Champ(s) inconnu(s) dans la correspondance : {', '.join(unknown_fields)}. "
            f"Champs possibles : {', '.join(CARD_FIELDS)}."
        )
    missing = sorted({column for column in mapping.values() if column} - set(header))
    if key_column and key_column not in header:
        missing.append(key_column)
    if missing:
        raise ImportError_(
            f"Colonne(s) absente(s) du fichier : {', '.join(missing)}. "
            f"Colonnes du fichier : {', '.join(header)}."
        )
    if not mapping.get("name"):
        raise ImportError_(
            "Aucune colonne n'est associée au nom de la structure : la correspondance l'exige."
        )


def import_source_for(*, name: str, kind: str = ImportSourceKind.TABLE) -> ImportSource:
    """The import source called ``name`` (created when new). Raises ImportError_ for an empty name or a
    source of another kind."""
    name = " ".join(name.split())[:150]
    if not name:
        raise ImportError_("Le nom de la source d'import est obligatoire.")
    source, _created = ImportSource.objects.get_or_create(
        name=name,
        defaults={
            "kind": kind,
            "default_family": Family.ASSOCIATION if kind == ImportSourceKind.TABLE else Family.OTHER,
        },
    )
    if source.kind != kind:
        raise ImportError_(f"La source « {name} » est de type « {source.get_kind_display()} ».")
    return source


@transaction.atomic
def import_source_remember(
    *, source: ImportSource, mapping: dict[str, str], key_column: str = "", default_family: str = ""
) -> ImportSource:
    """Store the column mapping (and key column, default family) on ``source`` for its next files."""
    source.mapping = {name: column for name, column in mapping.items() if column}
    source.key_column = key_column
    fields = ["mapping", "key_column", "updated_at"]
    if default_family:
        if default_family not in Family.values:
            raise ImportError_("Famille par défaut inconnue.")
        source.default_family = default_family
        fields.append("default_family")
    source.save(update_fields=fields)
    return source


def _raw_cards(table: Table, mapping: dict[str, str], key_column: str) -> Iterator[RawCard]:
    positions = {column: index for index, column in enumerate(table.header)}
    fields = [(name, positions[column]) for name, column in mapping.items() if column]
    key_at = positions.get(key_column) if key_column else None
    for line, row in table.rows:
        values = {name: row[index] if index < len(row) else "" for name, index in fields}
        external_id = row[key_at] if key_at is not None and key_at < len(row) else ""
        yield RawCard(line=line, values=values, external_id=external_id)


def table_import(
    *,
    path: str | Path,
    source: ImportSource,
    mapping: dict[str, str] | None = None,
    key_column: str | None = None,
    dry_run: bool = False,
    actor=None,
    file_name: str = "",
    progress: Callable[[int, float], None] | None = None,
) -> ImportRun:
    """Import the CSV/XLSX file at ``path`` into structure cards; return the run report.

    ``mapping`` ({card field: column}) and ``key_column`` default to what ``source`` remembers, then to
    what the headers suggest. Raises ImportError_ (French) when the file cannot be read or the mapping
    has no name column; bad rows are rejected in the report instead.
    """
    path = Path(path)
    with open_table(path) as table:
        if mapping is None:
            mapping = guess_mapping(table.header, source.mapping)
        if key_column is None:
            key_column = guess_key_column(table.header, source.key_column)
        check_mapping(table.header, mapping, key_column)
        importer = CardImporter(
            source=source,
            origin=Source.CSV,
            file_name=file_name or path.name,
            dry_run=dry_run,
            actor=actor,
            progress=progress,
            options={
                "mapping": mapping,
                "key_column": key_column,
                "format": table.kind,
                "encoding": table.encoding,
                "delimiter": table.delimiter,
            },
        )
        return importer.execute(_raw_cards(table, mapping, key_column))
