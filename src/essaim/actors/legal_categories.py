"""Load the INSEE legal categories (level 3) from the CSV format ``code;libelle``."""

import csv
from dataclasses import dataclass
from pathlib import Path

from django.db import transaction

from essaim.actors.models import LegalCategory
from essaim.core.audit import log_action


class LegalCategoryError(Exception):
    """The file cannot be loaded; nothing was changed. French message."""


@dataclass
class LegalCategorySummary:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


def _read(path: Path) -> dict[str, str]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # INSEE files exported from a spreadsheet are often Windows-1252.
    delimiter = ";" if ";" in text.partition("\n")[0] else ","
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    header = [column.strip().lower() for column in next(reader, [])]
    try:
        code_at = header.index("code")
        label_at = next(i for i, name in enumerate(header) if name in ("libelle", "libellé", "intitulé"))
    except (ValueError, StopIteration):
        raise LegalCategoryError(
            f"{path.name} : en-tête « code;libelle » attendu, trouvé « {';'.join(header)} »."
        ) from None
    categories: dict[str, str] = {}
    for line, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        code = row[code_at].strip() if len(row) > code_at else ""
        label = " ".join(row[label_at].split()) if len(row) > label_at else ""
        if len(code) != 4 or not code.isdigit() or not label:
            raise LegalCategoryError(f"{path.name}, ligne {line} : code sur 4 chiffres et libellé attendus.")
        categories[code] = label
    if not categories:
        raise LegalCategoryError(f"{path.name} : aucune catégorie juridique trouvée.")
    return categories


@transaction.atomic
def legal_categories_load(*, path: str | Path, actor=None) -> LegalCategorySummary:
    """Create or update the legal categories of the file (categories absent from it are kept, since
    structures may still use them). All or nothing: raises LegalCategoryError on a bad file."""
    path = Path(path)
    if not path.is_file():
        raise LegalCategoryError(f"Fichier introuvable : {path}.")
    categories = _read(path)
    existing = dict(LegalCategory.objects.values_list("code", "label"))
    summary = LegalCategorySummary()
    LegalCategory.objects.bulk_create(
        [LegalCategory(code=code, label=label) for code, label in categories.items() if code not in existing]
    )
    summary.created = sum(1 for code in categories if code not in existing)
    changed = [
        LegalCategory(code=code, label=label)
        for code, label in categories.items()
        if code in existing and existing[code] != label
    ]
    LegalCategory.objects.bulk_update(changed, ["label"])
    summary.updated = len(changed)
    summary.unchanged = len(categories) - summary.created - summary.updated
    log_action(
        actor=actor,
        verb="actors.legal_categories.loaded",
        obj=None,
        data={"file": path.name, "created": summary.created, "updated": summary.updated},
    )
    return summary
