"""Import of structure cards from rows of any source (spreadsheets, data·inclusion), shared by both importers.

A row is a dict {card field: raw text}. Each row is checked field by field (French messages), then matched
to an existing card — by the source's own identifier (``ImportedRecord``), else by SIRET, else by SIREN —
and created or updated through the ``actors.services`` functions, so provenance, audit log and search
hooks behave as for a card typed by hand. A field a person verified is never overwritten: the proposed
value becomes a ``PendingChange``. Each row runs in its own savepoint: a bad row is rejected with its
reasons and never aborts the others. A dry run does everything inside a transaction that is rolled back;
only the ``ImportRun`` report is kept.
"""

import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.db import IntegrityError, transaction
from django.utils import timezone

from essaim.actors import services
from essaim.actors.identifiers import rna_error, siren_error, siret_error
from essaim.actors.importers.base import ImportError_
from essaim.actors.models import (
    CooperativeKind,
    Establishment,
    Family,
    FieldProvenance,
    ImportedRecord,
    ImportRun,
    ImportSource,
    PendingChange,
    Structure,
    Theme,
)
from essaim.core.audit import log_action
from essaim.core.text import normalize
from essaim.territories.models import Commune, PostalCode

# Card fields a column can be mapped to, with their French label (mapping form, reports).
CARD_FIELDS: dict[str, str] = {
    "name": "Nom",
    "acronym": "Sigle",
    "siret": "SIRET",
    "siren": "SIREN",
    "rna": "Numéro RNA",
    "family": "Famille",
    "address": "Adresse",
    "postal_code": "Code postal",
    "commune": "Commune (nom ou code INSEE)",
    "email": "Courriel",
    "website": "Site web",
    "phone": "Téléphone",
    "description": "Présentation",
    "themes": "Thématiques",
    "opening_hours": "Horaires d'ouverture",
    "latitude": "Latitude",
    "longitude": "Longitude",
}
EXTERNAL_ID_LABEL = "Identifiant dans la source"

# Structure fields set from a row (the others are used for matching and checks only).
STRUCTURE_FIELDS = (
    "name",
    "acronym",
    "siren",
    "rna",
    "family",
    "cooperative_kind",
    "address",
    "commune",
    "email",
    "website",
    "phone",
    "description",
    "opening_hours",
    "latitude",
    "longitude",
)
MAX_LENGTHS = {"name": 200, "acronym": 50, "address": 300, "website": 300, "phone": 30}
PROGRESS_EVERY = 25

CREATED, UPDATED, UNCHANGED, REJECTED = "created", "updated", "unchanged", "rejected"
ACTION_LABELS = {
    CREATED: "créée",
    UPDATED: "mise à jour",
    UNCHANGED: "inchangée",
    REJECTED: "rejetée",
}

_THEME_SPLIT = re.compile(r"[,;|/\n]+")
_validate_email = EmailValidator()
_validate_url = URLValidator(schemes=["http", "https"])

# Words of a "family" cell (normalised) -> (family, cooperative kind).
_FAMILY_WORDS = (
    ("scop", Family.COOPERATIVE, CooperativeKind.SCOP),
    ("scic", Family.COOPERATIVE, CooperativeKind.SCIC),
    ("cae", Family.COOPERATIVE, CooperativeKind.CAE),
    ("cooperative d activite", Family.COOPERATIVE, CooperativeKind.CAE),
    ("cooperative agricole", Family.COOPERATIVE, CooperativeKind.AGRICOLE),
    ("cuma", Family.COOPERATIVE, CooperativeKind.AGRICOLE),
    ("cooperative d habitants", Family.COOPERATIVE, CooperativeKind.HABITANTS),
    ("cooperative de consommateurs", Family.COOPERATIVE, CooperativeKind.CONSOMMATEURS),
    ("cooperative", Family.COOPERATIVE, CooperativeKind.OTHER),
    ("association", Family.ASSOCIATION, ""),
    ("asso", Family.ASSOCIATION, ""),
    ("mutuelle", Family.MUTUELLE, ""),
    ("fondation", Family.FONDATION, ""),
    ("fonds de dotation", Family.FONDATION, ""),
    ("esus", Family.ESUS, ""),
    ("entreprise", Family.ESUS, ""),
    ("collectivite", Family.PUBLIC, ""),
    ("public", Family.PUBLIC, ""),
    ("commune", Family.PUBLIC, ""),
)


@dataclass
class RawCard:
    """One row to import: its line (or record number), the source's identifier and the raw cell texts."""

    line: int
    values: dict[str, str]
    external_id: str = ""


@dataclass
class CleanCard:
    values: dict = field(default_factory=dict)  # structure field -> clean value (only filled cells)
    themes: list = field(default_factory=list)  # Theme objects
    siret: str = ""
    problems: list[dict] = field(default_factory=list)  # {"field": label, "message": str}
    fatal: list[str] = field(default_factory=list)

    def problem(self, name: str, message: str) -> None:
        self.problems.append({"field": CARD_FIELDS.get(name, name), "message": message})


class _DryRunRollback(Exception):
    pass


def _family(text: str) -> tuple[str, str] | None:
    words = f" {normalize(text)} "
    for word, family, kind in _FAMILY_WORDS:
        if f" {word} " in words:
            return family, kind
    for family in Family:
        if normalize(family.label) == words.strip() or family.value == words.strip():
            return family.value, CooperativeKind.OTHER if family == Family.COOPERATIVE else ""
    return None


def _float(text: str) -> float | None:
    try:
        return float(text.replace(",", ".").replace("\u00a0", "").strip())
    except ValueError:
        return None


class CardImporter:
    """One run importing rows into structure cards. Use ``import_cards()``."""

    def __init__(
        self,
        *,
        source: ImportSource,
        origin: str,
        file_name: str,
        dry_run: bool,
        actor=None,
        progress: Callable[[int, float], None] | None = None,
        options: dict | None = None,
    ):
        self.source = source
        self.origin = origin  # Source.CSV or Source.DATAINCLUSION: provenance of the imported values.
        self.dry_run = dry_run
        self.actor = actor
        self.progress = progress
        self.now = timezone.now()
        self.source_ref = f"{source.name} — {file_name}"[:200]
        self.run = ImportRun(
            source=origin,
            import_source=source,
            file_name=file_name[:300],
            options=options or {},
            dry_run=dry_run,
            started_at=self.now,
        )
        self.started = time.monotonic()
        self.rows_seen = 0
        self._prepare()

    # -- reference data --------------------------------------------------------------------------------

    def _prepare(self) -> None:
        self.themes: dict[str, Theme] = {}
        for theme in Theme.objects.all():
            self.themes[normalize(theme.label)] = theme
            self.themes[normalize(theme.slug)] = theme
        self.commune_codes: dict[str, int] = {}
        self.commune_names: dict[str, list[int]] = {}
        self.commune_labels: dict[int, str] = {}
        for pk, code, name, search_name in Commune.objects.values_list("id", "code", "name", "search_name"):
            self.commune_codes[code] = pk
            self.commune_names.setdefault(search_name, []).append(pk)
            self.commune_labels[pk] = name
        self.postal_codes: dict[str, set[int]] = {}
        for code, commune_id in PostalCode.objects.values_list("code", "commune_id"):
            self.postal_codes.setdefault(code, set()).add(commune_id)

    def _theme(self, label: str) -> Theme | None:
        """The theme named (or slugged) ``label``, else the only one whose label starts with it."""
        key = normalize(label)
        if key in self.themes:
            return self.themes[key]
        if len(key) >= 4:
            found = {theme for name, theme in self.themes.items() if name.startswith(key)}
            if len(found) == 1:
                return found.pop()
        return None

    # -- checks ----------------------------------------------------------------------------------------

    def clean(self, raw: RawCard) -> CleanCard:
        """Check every cell; fatal problems (no name, bad SIRET/SIREN) reject the row, the others only
        leave their field out."""
        card = CleanCard()
        cells = {name: (value or "").strip() for name, value in raw.values.items()}

        name = " ".join(cells.get("name", "").split())
        if not name:
            card.fatal.append("nom manquant.")
        elif len(name) > MAX_LENGTHS["name"]:
            card.fatal.append(f"nom trop long ({len(name)} caractères, {MAX_LENGTHS['name']} au plus).")
        else:
            card.values["name"] = name

        siret = re.sub(r"[\s.]", "", cells.get("siret", ""))
        siren = re.sub(r"[\s.]", "", cells.get("siren", ""))
        if siret:
            if error := siret_error(siret):
                card.fatal.append(error)
            else:
                card.siret = siret
        if siren:
            if error := siren_error(siren):
                card.fatal.append(error)
            elif card.siret and card.siret[:9] != siren:
                card.fatal.append(f"le SIRET {card.siret} n'appartient pas au SIREN {siren}.")
        if card.siret or (siren and not siren_error(siren)):
            card.values["siren"] = card.siret[:9] if card.siret else siren

        if rna := cells.get("rna", "").replace(" ", "").upper():
            if error := rna_error(rna):
                card.problem("rna", error)
            else:
                card.values["rna"] = rna

        if family_text := cells.get("family"):
            found = _family(family_text)
            if found is None:
                card.problem(
                    "family",
                    f"famille « {family_text} » inconnue : "
                    f"« {self.source.get_default_family_display()} » par défaut.",
                )
            else:
                card.values["family"], card.values["cooperative_kind"] = found

        for text_field in ("acronym", "address", "description", "opening_hours"):
            if value := cells.get(text_field):
                limit = MAX_LENGTHS.get(text_field)
                if limit and len(value) > limit:
                    card.problem(text_field, f"texte trop long ({len(value)} caractères, {limit} au plus).")
                else:
                    card.values[text_field] = value

        self._clean_commune(cells, card)

        if email := cells.get("email", "").lower():
            try:
                _validate_email(email)
            except ValidationError:
                card.problem("email", f"courriel « {email} » invalide.")
            else:
                card.values["email"] = email

        if website := cells.get("website"):
            url = website if "://" in website else f"https://{website}"
            try:
                _validate_url(url)
                if len(url) > MAX_LENGTHS["website"]:
                    raise ValidationError("too long")
            except ValidationError:
                card.problem("website", f"adresse web « {website} » invalide.")
            else:
                card.values["website"] = url

        if phone := cells.get("phone"):
            digits = re.sub(r"\D", "", phone)
            if not 9 <= len(digits) <= 15 or len(phone) > MAX_LENGTHS["phone"]:
                card.problem("phone", f"numéro de téléphone « {phone} » invalide.")
            else:
                card.values["phone"] = phone

        if themes_text := cells.get("themes"):
            for label in _THEME_SPLIT.split(themes_text):
                if not label.strip():
                    continue
                theme = self._theme(label)
                if theme is None:
                    card.problem("themes", f"thématique « {label.strip()} » inconnue.")
                elif theme not in card.themes:
                    card.themes.append(theme)

        latitude_text, longitude_text = cells.get("latitude", ""), cells.get("longitude", "")
        if latitude_text or longitude_text:
            latitude, longitude = _float(latitude_text), _float(longitude_text)
            if (
                latitude is None
                or longitude is None
                or not (-90 <= latitude <= 90 and -180 <= longitude <= 180)
            ):
                card.problem("latitude", f"point « {latitude_text} ; {longitude_text} » invalide.")
            else:
                card.values["latitude"], card.values["longitude"] = round(latitude, 6), round(longitude, 6)
        return card

    def _clean_commune(self, cells: dict[str, str], card: CleanCard) -> None:
        postal = cells.get("postal_code", "").replace(" ", "")
        if postal.isdigit() and len(postal) == 4:  # A spreadsheet ate the leading zero (01000 -> 1000).
            postal = f"0{postal}"
        postal_communes: set[int] | None = None
        if postal:
            if not (postal.isdigit() and len(postal) == 5):
                card.problem("postal_code", f"code postal « {postal} » invalide : 5 chiffres attendus.")
            elif postal not in self.postal_codes:
                if self.postal_codes:
                    card.problem("postal_code", f"code postal « {postal} » inconnu.")
            else:
                postal_communes = self.postal_codes[postal]
        commune_text = cells.get("commune", "")
        commune_id = None
        if commune_text:
            code = commune_text.upper()
            if code in self.commune_codes:
                commune_id = self.commune_codes[code]
            else:
                candidates = self.commune_names.get(normalize(commune_text), [])
                if postal_communes is not None and len(candidates) > 1:
                    candidates = [pk for pk in candidates if pk in postal_communes]
                if len(candidates) == 1:
                    commune_id = candidates[0]
                elif candidates:
                    card.problem(
                        "commune",
                        f"commune « {commune_text} » ambiguë ({len(candidates)} communes de ce nom) : "
                        "indiquez le code postal ou le code INSEE.",
                    )
                else:
                    card.problem("commune", f"commune « {commune_text} » inconnue.")
            if commune_id is not None and postal_communes is not None and commune_id not in postal_communes:
                card.problem(
                    "postal_code",
                    f"le code postal « {postal} » ne correspond pas à la commune "
                    f"« {self.commune_labels[commune_id]} ».",
                )
        elif postal_communes is not None and len(postal_communes) == 1:
            commune_id = next(iter(postal_communes))
        if commune_id is not None:
            card.values["commune"] = commune_id

    # -- matching and writing --------------------------------------------------------------------------

    def _external_id(self, raw: RawCard, card: CleanCard) -> str:
        if raw.external_id.strip():
            return raw.external_id.strip()[:200]
        # No identifier column: the SIRET, else the name and commune, so that a re-run finds the same card.
        if card.siret:
            return f"siret:{card.siret}"
        return f"nom:{normalize(card.values['name'])}|{card.values.get('commune', '')}"[:200]

    def _find(self, external_id: str, card: CleanCard) -> Structure | None:
        record = (
            ImportedRecord.objects.filter(source=self.source, external_id=external_id)
            .select_related("structure")
            .first()
        )
        structure = record.structure if record else None
        if structure is None and card.siret:
            establishment = Establishment.objects.filter(siret=card.siret).select_related("structure").first()
            structure = establishment.structure if establishment else None
        if structure is None and card.values.get("siren"):
            structure = Structure.objects.filter(siren=card.values["siren"]).first()
        # A card merged into another one: the row now belongs to the card that was kept.
        seen = set()
        while structure is not None and structure.merged_into_id and structure.pk not in seen:
            seen.add(structure.pk)
            structure = structure.merged_into
        return structure

    def process(self, raw: RawCard) -> dict:
        """Import one row; return its report line {"line", "name", "action", "fields", "pending",
        "problems"}."""
        card = self.clean(raw)
        entry = {
            "line": raw.line,
            "name": card.values.get("name") or raw.values.get("name", "")[:200],
            "action": REJECTED,
            "fields": [],
            "pending": [],
            "problems": card.problems,
        }
        if card.fatal:
            entry["reasons"] = card.fatal
            return entry
        external_id = self._external_id(raw, card)
        try:
            with transaction.atomic():
                structure = self._find(external_id, card)
                if structure is None:
                    structure = self._create(card)
                    entry["action"] = CREATED
                else:
                    entry["fields"], entry["pending"] = self._update(structure, card)
                    entry["action"] = UPDATED if entry["fields"] or entry["pending"] else UNCHANGED
                self._link(structure, external_id, card)
        except ValidationError as error:
            entry["reasons"] = [f"{message}" for message in _messages(error)]
            entry["action"] = REJECTED
        except IntegrityError as error:
            entry["reasons"] = [f"enregistrement refusé par la base ({error})."]
            entry["action"] = REJECTED
        return entry

    def _create(self, card: CleanCard) -> Structure:
        values = dict(card.values)
        values.setdefault("family", self.source.default_family)
        if values["family"] == Family.COOPERATIVE:
            values["cooperative_kind"] = values.get("cooperative_kind") or CooperativeKind.OTHER
        else:
            values["cooperative_kind"] = ""
        name, family = values.pop("name"), values.pop("family")
        commune_id = values.pop("commune", None)
        return services.structure_create(
            name=name,
            family=family,
            actor=self.actor,
            commune=Commune(pk=commune_id) if commune_id else None,
            source=self.origin,
            source_ref=self.source_ref,
            themes=card.themes,
            **values,
        )

    def _update(self, structure: Structure, card: CleanCard) -> tuple[list[str], list[str]]:
        """Apply the row's filled cells to ``structure``; verified fields go to review instead.

        Empty cells never blank a card (sources are often incomplete). Themes are added, never removed.
        """
        wanted = dict(card.values)
        if wanted.get("family") == structure.family:
            wanted.pop("family")
            wanted.pop("cooperative_kind", None)
        elif wanted.get("family") and wanted["family"] != Family.COOPERATIVE:
            wanted["cooperative_kind"] = ""
        diff = {}
        for name, value in wanted.items():
            current = getattr(structure, "commune_id" if name == "commune" else name)
            if current != value:
                diff[name] = value
        current_themes = set(structure.themes.values_list("pk", flat=True))
        themes = current_themes | {theme.pk for theme in card.themes}
        if themes != current_themes:
            diff["themes"] = themes
        if not diff:
            return [], []
        verified = set(
            FieldProvenance.objects.filter(
                structure=structure, field__in=list(diff), verified_by_human=True
            ).values_list("field", flat=True)
        )
        pending = []
        for name in sorted(verified):
            value = diff.pop(name)
            if name == "themes":
                old = ", ".join(Theme.objects.filter(pk__in=current_themes).values_list("label", flat=True))
                new = ", ".join(Theme.objects.filter(pk__in=value).values_list("label", flat=True))
            elif name == "commune":
                old = self.commune_labels.get(structure.commune_id, "")
                new = self.commune_labels.get(value, "")
            else:
                old, new = getattr(structure, name), value
            PendingChange.objects.update_or_create(
                structure=structure,
                field=name,
                source=self.origin,
                defaults={
                    "old_value": "" if old is None else str(old),
                    "new_value": "" if new is None else str(new),
                    "source_ref": self.source_ref,
                    "created_at": self.now,
                },
            )
            pending.append(name)
        if "commune" in diff:
            diff["commune"] = Commune(pk=diff["commune"]) if diff["commune"] else None
        # The kind follows the family: both change together or neither.
        if "cooperative_kind" in diff and "family" not in diff and "family" in verified:
            diff.pop("cooperative_kind")
        changed = services.structure_update(
            structure=structure, actor=self.actor, source=self.origin, source_ref=self.source_ref, **diff
        )
        self.run.pending_changes += len(pending)
        return changed, pending

    def _link(self, structure: Structure, external_id: str, card: CleanCard) -> None:
        ImportedRecord.objects.update_or_create(
            source=self.source, external_id=external_id, defaults={"structure": structure}
        )
        if card.siret and not Establishment.objects.filter(siret=card.siret).exists():
            Establishment.objects.create(
                siret=card.siret,
                structure=structure,
                name="",
                address=card.values.get("address", ""),
                commune_id=card.values.get("commune"),
                latitude=card.values.get("latitude"),
                longitude=card.values.get("longitude"),
                # The SIRET a network lists is the structure's head office unless it already has one.
                is_head_office=not structure.establishments.filter(is_head_office=True).exists(),
            )
            self.run.establishments_created += 1

    # -- run -------------------------------------------------------------------------------------------

    def _record(self, entry: dict) -> None:
        self.run.rows_read += 1
        action = entry["action"]
        if action == REJECTED:
            self.run.rejected += 1
            if len(self.run.rejections) < ImportRun.MAX_REJECTIONS:
                self.run.rejections.append({"line": entry["line"], "reason": " ".join(entry["reasons"])})
        elif action == CREATED:
            self.run.created += 1
        elif action == UPDATED:
            self.run.updated += 1
        else:
            self.run.unchanged += 1
        if len(self.run.rows) < ImportRun.MAX_REJECTIONS:
            self.run.rows.append(entry)

    def _tick(self) -> None:
        self.rows_seen += 1
        if self.progress is not None and self.rows_seen % PROGRESS_EVERY == 0:
            self.progress(self.rows_seen, time.monotonic() - self.started)

    def _import(self, rows: Iterable[RawCard]) -> None:
        for raw in rows:
            self._record(self.process(raw))
            self._tick()

    def execute(self, rows: Iterable[RawCard]) -> ImportRun:
        """Import ``rows``; a file-level ImportError_ (raised while reading them) is recorded in the report
        and raised again. A dry run rolls everything back."""
        self.run.rows = []
        self.run.rejections = []
        try:
            if self.dry_run:
                try:
                    with transaction.atomic():
                        self._import(rows)
                        raise _DryRunRollback
                except _DryRunRollback:
                    pass
            else:
                self._import(rows)
        except ImportError_ as exc:
            self.run.error = str(exc)
            self.run.finished_at = timezone.now()
            self.run.save()
            raise
        self.run.finished_at = timezone.now()
        self.run.save()
        log_action(
            actor=self.actor,
            verb=f"actors.import.{self.origin}",
            obj=self.run,
            data={
                "source": self.source.name,
                "file": self.run.file_name,
                "dry_run": self.dry_run,
                "created": self.run.created,
                "updated": self.run.updated,
                "unchanged": self.run.unchanged,
                "rejected": self.run.rejected,
            },
        )
        if self.progress is not None:
            self.progress(self.rows_seen, time.monotonic() - self.started)
        return self.run


def _messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            message if name == "__all__" else f"{CARD_FIELDS.get(name, name)} : {message}"
            for name, messages in error.message_dict.items()
            for message in messages
        ]
    return list(error.messages)
