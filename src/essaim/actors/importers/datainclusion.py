"""Import of data·inclusion v1 "structures" (JSON) into structure cards.

Each record is validated with the schema's own model (package ``data-inclusion-schema``); a record the
schema refuses is rejected with the fields at fault, in French. Valid records go through
``importers.cards`` (checks, matching by the record's ``source`` + ``id`` then SIRET, idempotent writes,
verified fields sent to review, report).
"""

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pydantic
from data_inclusion.schema import v1 as datainclusion

from essaim.actors.importers.base import ImportError_
from essaim.actors.importers.cards import CardImporter, RawCard
from essaim.actors.importers.tabular import import_source_for
from essaim.actors.models import ImportRun, ImportSourceKind, Source

SOURCE_NAME = "data·inclusion"

# French names of the schema's fields and reasons of its usual errors (pydantic's are in English).
FIELD_LABELS = {
    "source": "source",
    "id": "identifiant",
    "nom": "nom",
    "date_maj": "date de mise à jour",
    "siret": "SIRET",
    "code_postal": "code postal",
    "code_insee": "code INSEE",
    "courriel": "courriel",
    "site_web": "site web",
    "lien_source": "lien vers la source",
    "latitude": "latitude",
    "longitude": "longitude",
    "telephone": "téléphone",
    "reseaux_porteurs": "réseaux porteurs",
    "accessibilite_lieu": "accessibilité du lieu",
}
ERROR_REASONS = {
    "missing": "obligatoire",
    "string_too_short": "trop court",
    "string_too_long": "trop long",
    "string_pattern_mismatch": "format invalide",
    "string_type": "texte attendu",
    "value_error": "valeur invalide",
    "url_parsing": "adresse web invalide",
    "url_scheme": "adresse web invalide",
    "url_type": "adresse web invalide",
    "date_from_datetime_parsing": "date invalide (AAAA-MM-JJ attendu)",
    "date_parsing": "date invalide (AAAA-MM-JJ attendu)",
    "date_type": "date invalide (AAAA-MM-JJ attendu)",
    "float_parsing": "nombre attendu",
    "float_type": "nombre attendu",
    "enum": "valeur hors de la liste autorisée",
    "extra_forbidden": "champ inconnu du schéma",
}


class DataInclusionImportError(ImportError_):
    """The file cannot be imported at all (not JSON, not a list of structures). French message."""


def _load(path: Path) -> list:
    if not path.is_file():
        raise DataInclusionImportError(f"Fichier introuvable : {path.name}.")
    if path.stat().st_size == 0:
        raise DataInclusionImportError("Le fichier est vide.")
    try:
        with path.open("r", encoding="utf-8-sig") as file:
            data = json.load(file)
    except UnicodeDecodeError as exc:
        raise DataInclusionImportError("Le fichier n'est pas encodé en UTF-8.") from exc
    except json.JSONDecodeError as exc:
        raise DataInclusionImportError(
            f"JSON illisible, ligne {exc.lineno}, colonne {exc.colno} : vérifiez le fichier."
        ) from exc
    # A plain list (the open-data files), or a page of the data·inclusion API ({"items": [...]}).
    if isinstance(data, dict):
        for key in ("items", "structures", "data"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
    if not isinstance(data, list):
        raise DataInclusionImportError(
            "Le fichier doit contenir une liste de structures data·inclusion (tableau JSON)."
        )
    return data


def datainclusion_errors(error: pydantic.ValidationError) -> list[str]:
    """The schema's errors as French reasons ("SIRET : format invalide.")."""
    reasons = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "fiche"
        label = FIELD_LABELS.get(str(item["loc"][0]) if item["loc"] else "", field)
        reason = ERROR_REASONS.get(item["type"], "valeur invalide")
        reasons.append(f"{label} : {reason}.")
    return reasons


def datainclusion_count(path: str | Path) -> int:
    return len(_load(Path(path)))


class _Importer(CardImporter):
    def process(self, raw: RawCard) -> dict:
        if raw.values.get("_invalid"):
            return {
                "line": raw.line,
                "name": raw.values.get("name", "")[:200],
                "action": "rejected",
                "fields": [],
                "pending": [],
                "problems": [],
                "reasons": raw.values["_invalid"],
            }
        return super().process(raw)


def _raw_cards(records: list) -> Iterator[RawCard]:
    for number, record in enumerate(records, start=1):
        if not isinstance(record, dict):
            yield RawCard(line=number, values={"_invalid": ["la structure n'est pas un objet JSON."]})
            continue
        try:
            model = datainclusion.Structure.model_validate(record)
        except pydantic.ValidationError as error:
            name = record.get("nom") if isinstance(record.get("nom"), str) else ""
            yield RawCard(line=number, values={"name": name, "_invalid": datainclusion_errors(error)})
            continue
        address = ", ".join(part for part in (model.adresse, model.complement_adresse) if part)
        values = {
            "name": model.nom,
            "siret": model.siret or "",
            "address": address,
            "postal_code": model.code_postal or "",
            # The INSEE code is exact; the commune's name is only a fallback.
            "commune": model.code_insee or model.commune or "",
            "email": model.courriel or "",
            "website": str(model.site_web) if model.site_web else "",
            "phone": model.telephone or "",
            "description": model.description or "",
            "opening_hours": model.horaires_accueil or "",
            "latitude": "" if model.latitude is None else str(model.latitude),
            "longitude": "" if model.longitude is None else str(model.longitude),
        }
        yield RawCard(line=number, values=values, external_id=f"{model.source}:{model.id}")


def datainclusion_import(
    *,
    path: str | Path,
    dry_run: bool = False,
    actor=None,
    file_name: str = "",
    progress: Callable[[int, float], None] | None = None,
) -> ImportRun:
    """Import a data·inclusion v1 structures file (JSON list); return the run report.

    Records are numbered from 1 in the report. Raises DataInclusionImportError (French) when the file is
    not a JSON list; invalid records are rejected with the schema's reasons, the others imported.
    """
    path = Path(path)
    records = _load(path)
    source = import_source_for(name=SOURCE_NAME, kind=ImportSourceKind.DATAINCLUSION)
    importer = _Importer(
        source=source,
        origin=Source.DATAINCLUSION,
        file_name=file_name or path.name,
        dry_run=dry_run,
        actor=actor,
        progress=progress,
        options={"format": "datainclusion", "records": len(records)},
    )
    return importer.execute(_raw_cards(records))
