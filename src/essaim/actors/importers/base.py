"""Shared pieces of the importers: errors, streaming CSV readers (plain or zipped), fast bulk inserts."""

import csv
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection
from django.utils import timezone


class ImportError_(Exception):
    """The file cannot be imported at all (unreadable, wrong format, missing columns). French message."""


@contextmanager
def open_csv(path: str | Path, *, delimiter: str = ",") -> Iterator[tuple[list[str], Iterator[list[str]]]]:
    """Open a CSV file, plain or inside a .zip (its only / first .csv member), as (header, rows).

    Rows are streamed (never loaded whole); UTF-8 with or without BOM. Raises ImportError_ (French) when the
    file is missing, is an unreadable zip, or has no header.
    """
    path = Path(path)
    if not path.is_file():
        raise ImportError_(f"Fichier introuvable : {path}.")
    archive = None
    try:
        if zipfile.is_zipfile(path):
            archive = zipfile.ZipFile(path)
            members = [name for name in archive.namelist() if name.lower().endswith(".csv")]
            if not members:
                raise ImportError_(f"L'archive {path.name} ne contient aucun fichier .csv.")
            raw = archive.open(members[0])
        else:
            raw = path.open("rb")
        text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="", errors="strict")
        try:
            reader = csv.reader(text, delimiter=delimiter)
            try:
                header = next(reader)
            except StopIteration:
                raise ImportError_(f"Le fichier {path.name} est vide.") from None
            except UnicodeDecodeError as exc:
                raise ImportError_(
                    f"Le fichier {path.name} n'est pas encodé en UTF-8 ({exc.reason}, octet {exc.start})."
                ) from exc
            yield [column.strip() for column in header], _checked_rows(reader, path.name)
        finally:
            text.close()
    except zipfile.BadZipFile as exc:
        raise ImportError_(f"Archive zip illisible : {path.name} ({exc}).") from exc
    finally:
        if archive is not None:
            archive.close()


def _checked_rows(reader, name: str) -> Iterator[list[str]]:
    """The rows of ``reader``; an undecodable or malformed file raises ImportError_ naming the line."""
    try:
        yield from reader
    except UnicodeDecodeError as exc:
        # The text is decoded by chunks: the bad bytes are somewhere after the last line read.
        raise ImportError_(
            f"Le fichier {name} n'est pas encodé en UTF-8 ({exc.reason} après la ligne {reader.line_num})."
        ) from exc
    except csv.Error as exc:
        raise ImportError_(f"{name}, ligne {reader.line_num} : CSV illisible ({exc}).") from exc


def column_index(header: list[str], required: tuple[str, ...], *, file_label: str) -> dict[str, int]:
    """Position of each required column. Raises ImportError_ naming the missing ones."""
    positions = {name: index for index, name in enumerate(header)}
    missing = [name for name in required if name not in positions]
    if missing:
        raise ImportError_(
            f"Colonnes absentes du fichier {file_label} : {', '.join(missing)}. "
            "Le fichier doit suivre le format officiel publié par l'Insee."
        )
    return {name: positions[name] for name in required}


class BulkInserter:
    """Inserts many rows of one model with a single ``executemany`` per batch.

    Much faster than ``bulk_create`` for hundreds of thousands of rows: no model instances. Columns not given
    take their field default (``auto_now``/``auto_now_add`` dates take ``now``), so fields added later with a
    default keep working. Values must already be in database form for the given columns except dates,
    which are adapted here.
    """

    def __init__(self, model, columns: tuple[str, ...]):
        ops = connection.ops
        now = timezone.now()
        fields = [field for field in model._meta.concrete_fields if not field.primary_key]
        by_name = {field.attname: field for field in fields}
        unknown = set(columns) - set(by_name)
        if unknown:
            raise ValueError(f"Unknown columns for {model.__name__}: {sorted(unknown)}")
        self.columns = columns
        self._date_positions = [
            index for index, name in enumerate(columns) if by_name[name].get_internal_type() == "DateField"
        ]
        defaults = []
        default_columns = []
        for field in fields:
            if field.attname in columns:
                continue
            if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
                value = now
            else:
                value = field.get_default()
            defaults.append(field.get_db_prep_save(value, connection))
            default_columns.append(field.column)
        self._defaults = tuple(defaults)
        all_columns = [by_name[name].column for name in columns] + default_columns
        quote = ops.quote_name
        # Table and column names come from the model, quoted; values are parameters.
        table, names = quote(model._meta.db_table), ", ".join(quote(c) for c in all_columns)
        placeholders = ", ".join(["%s"] * len(all_columns))
        self.sql = f"INSERT INTO {table} ({names}) VALUES ({placeholders})"  # noqa: S608
        # PostgreSQL: COPY (Django's client-side binding turns executemany into one statement per row).
        self._copy_sql = f"COPY {table} ({names}) FROM STDIN"
        self._adapt_date = ops.adapt_datefield_value

    def insert(self, rows: list[tuple]) -> None:
        if not rows:
            return
        if self._date_positions:
            adapted = []
            for row in rows:
                row = list(row)
                for index in self._date_positions:
                    row[index] = self._adapt_date(row[index])
                adapted.append(row)
            rows = adapted
        defaults = self._defaults
        with connection.cursor() as cursor:
            if connection.vendor != "postgresql":
                cursor.executemany(self.sql, [(*row, *defaults) for row in rows])
                return
            # The raw psycopg cursor: wrap its errors so callers catch Django's IntegrityError.
            with connection.wrap_database_errors, cursor.cursor.copy(self._copy_sql) as copy:
                for row in rows:
                    copy.write_row((*row, *defaults))
