"""Loading the official geographic code (COG) from the npm package ``@etalab/decoupage-administratif``.

The package is installed at set-up by ``npm ci`` (integrity checked by package-lock.json). When it is
absent, the loader fetches the tarball itself with ``npm pack`` and checks it against the pinned integrity.
"""

import base64
import hashlib
import json
import shutil
import subprocess
import tarfile
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.db.models.deletion import ProtectedError

from essaim.core.audit import log_action
from essaim.core.text import normalize
from essaim.territories.exceptions import TerritoryError
from essaim.territories.models import Commune, Departement, Epci, PostalCode, Region

COG_PACKAGE = "@etalab/decoupage-administratif"
COG_VERSION = "6.0.0"
# Same value as in package-lock.json: the tarball fetched by `npm pack` must match it byte for byte.
COG_INTEGRITY = (
    "sha512-XavYsFlbcM/prKr8hNHPKER94IHw/dsxNM4nxjWMYk6PLFACpEedvn/7wK8Baozm0dCYhWWcf+7bcWpA5pmCaQ=="
)
COG_TARBALL_NAME = f"etalab-decoupage-administratif-{COG_VERSION}.tgz"
# Metropolitan France and the five DROM; the collectivités d'outre-mer (zone "com") are left out.
KEPT_ZONES = frozenset({"metro", "drom"})
# Former communes absorbed into a "commune nouvelle" (or associated to another): their "chefLieu" is the
# code of the current commune that took them over.
MERGED_TYPES = frozenset({"commune-deleguee", "commune-associee"})
DATA_FILES = ("regions.json", "departements.json", "epci.json", "communes.json")
BATCH_SIZE = 2000

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


# --- Reading the package ---------------------------------------------------------------------------------


class CogSource:
    """The package contents, from an unpacked directory or a ``.tgz`` made by ``npm pack``."""

    def __init__(self, path: Path):
        self.path = Path(path)
        if not self.path.exists():
            raise TerritoryError(f"Source COG introuvable : {self.path}")
        self.is_tarball = self.path.is_file()

    def read_bytes(self, relative: str) -> bytes:
        """Bytes of ``relative`` (e.g. "data/communes.json"); TerritoryError when missing or unreadable."""
        if not self.is_tarball:
            target = self.path / relative
            if not target.is_file():
                raise TerritoryError(f"Fichier manquant dans la source COG : {target}")
            return target.read_bytes()
        try:
            with tarfile.open(self.path, "r:gz") as archive:
                try:
                    member = archive.extractfile(f"package/{relative}")
                except KeyError:
                    member = None
                if member is None:
                    raise TerritoryError(f"Fichier manquant dans l'archive COG {self.path.name} : {relative}")
                return member.read()
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            raise TerritoryError(f"Archive COG illisible ou tronquée ({self.path.name}) : {exc}") from exc

    def read_json(self, relative: str) -> Any:
        raw = self.read_bytes(relative)
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TerritoryError(f"Fichier {relative} corrompu ou tronqué (JSON invalide) : {exc}") from exc

    def check_version(self) -> None:
        meta = self.read_json("package.json")
        if not isinstance(meta, dict) or meta.get("name") != COG_PACKAGE:
            raise TerritoryError(f"La source {self.path} n'est pas le paquet {COG_PACKAGE}.")
        if meta.get("version") != COG_VERSION:
            raise TerritoryError(
                f"Version inattendue du paquet {COG_PACKAGE} : {meta.get('version')} "
                f"(attendue : {COG_VERSION})."
            )


def _integrity_of(path: Path) -> str:
    digest = hashlib.sha512()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return "sha512-" + base64.b64encode(digest.digest()).decode("ascii")


def cog_tarball_fetch(*, cache_dir: Path | None = None, progress: Progress = _quiet) -> Path:
    """Fetch the pinned package tarball with ``npm pack`` into the cache and verify its sha512 integrity.

    A cached tarball is reused when its integrity matches. Raises TerritoryError when npm is missing, the
    registry is unreachable, or the checksum differs (the bad file is deleted).
    """
    cache_dir = Path(cache_dir or settings.VAR_DIR / "cache")
    cache_dir.mkdir(parents=True, exist_ok=True)
    target = cache_dir / COG_TARBALL_NAME
    if target.exists() and _integrity_of(target) == COG_INTEGRITY:
        return target
    npm = shutil.which("npm")
    if npm is None:
        raise TerritoryError(
            f"Le paquet {COG_PACKAGE} n'est pas installé (node_modules absent) et npm est introuvable : "
            "installez Node.js/npm puis lancez « npm ci », ou passez --source."
        )
    progress(f"Téléchargement de {COG_PACKAGE}@{COG_VERSION} avec npm pack…")
    try:
        result = subprocess.run(  # noqa: S603 - fixed arguments, no shell
            [npm, "pack", f"{COG_PACKAGE}@{COG_VERSION}", "--pack-destination", str(cache_dir), "--silent"],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise TerritoryError("Téléchargement du paquet COG trop long (registre npm injoignable ?).") from exc
    if result.returncode != 0 or not target.exists():
        detail = (result.stderr or result.stdout).strip().splitlines()[-3:]
        raise TerritoryError(
            f"Impossible de télécharger {COG_PACKAGE}@{COG_VERSION} depuis le registre npm : "
            + " ".join(detail)
        )
    actual = _integrity_of(target)
    if actual != COG_INTEGRITY:
        target.unlink(missing_ok=True)
        raise TerritoryError(
            f"Somme de contrôle invalide pour {COG_TARBALL_NAME} : {actual} au lieu de {COG_INTEGRITY}."
        )
    return target


def cog_source_default(*, progress: Progress = _quiet) -> Path:
    """``node_modules/@etalab/decoupage-administratif`` from the current directory or the repository root,
    else the tarball fetched by :func:`cog_tarball_fetch`."""
    repo_root = Path(settings.PACKAGE_DIR).parent.parent
    for base in (Path.cwd(), repo_root):
        candidate = base / "node_modules" / COG_PACKAGE
        if (candidate / "package.json").is_file():
            return candidate
    return cog_tarball_fetch(progress=progress)


# --- Parsing ----------------------------------------------------------------------------------------------


def _entries(data: Any, filename: str) -> list[dict]:
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise TerritoryError(f"Fichier {filename} invalide : une liste d'objets est attendue.")
    return data


def _field(
    entry: dict, key: str, filename: str, index: int, *, required: bool = True, kind: type = str
) -> Any:
    value = entry.get(key)
    if value is None:
        if required:
            raise TerritoryError(
                f"Fichier {filename} invalide : l'entrée n° {index + 1} n'a pas de champ « {key} »."
            )
        return None
    if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
        raise TerritoryError(
            f"Fichier {filename} invalide : champ « {key} » incorrect à l'entrée n° {index + 1}."
        )
    return value


@dataclass
class CogData:
    regions: dict[str, tuple] = field(default_factory=dict)  # code -> (name,)
    departements: dict[str, tuple] = field(default_factory=dict)  # code -> (name, region)
    epcis: dict[str, tuple] = field(default_factory=dict)  # code -> (name, kind, population)
    communes: dict[str, tuple] = field(
        default_factory=dict
    )  # code -> (name, search_name, dep, epci, population)
    postal_codes: set[tuple[str, str]] = field(default_factory=set)  # (postal code, commune code)
    # Former commune code -> current commune code, for codes that are no longer current communes.
    successors: dict[str, str] = field(default_factory=dict)


def cog_parse(source: CogSource) -> CogData:
    """Read and validate the four data files; TerritoryError on any inconsistency."""
    source.check_version()
    data = CogData()
    for index, entry in enumerate(_entries(source.read_json("data/regions.json"), "regions.json")):
        if _field(entry, "zone", "regions.json", index) in KEPT_ZONES:
            data.regions[_field(entry, "code", "regions.json", index)] = (
                _field(entry, "nom", "regions.json", index),
            )
    for index, entry in enumerate(_entries(source.read_json("data/departements.json"), "departements.json")):
        if _field(entry, "zone", "departements.json", index) not in KEPT_ZONES:
            continue
        code = _field(entry, "code", "departements.json", index)
        region = _field(entry, "region", "departements.json", index)
        if region not in data.regions:
            raise TerritoryError(
                f"Fichier departements.json invalide : région inconnue « {region} » pour {code}."
            )
        data.departements[code] = (_field(entry, "nom", "departements.json", index), region)

    membership: dict[str, str] = {}
    for index, entry in enumerate(_entries(source.read_json("data/epci.json"), "epci.json")):
        code = _field(entry, "code", "epci.json", index)
        population = _field(entry, "populationMunicipale", "epci.json", index, required=False, kind=int)
        if population is not None and population < 0:
            raise TerritoryError(f"Fichier epci.json invalide : population négative pour l'EPCI {code}.")
        data.epcis[code] = (
            _field(entry, "nom", "epci.json", index),
            _field(entry, "type", "epci.json", index),
            population,
        )
        for member in _field(entry, "membres", "epci.json", index, kind=list):
            member_code = member.get("code") if isinstance(member, dict) else None
            if not isinstance(member_code, str):
                raise TerritoryError(f"Fichier epci.json invalide : membre sans code dans l'EPCI {code}.")
            if membership.setdefault(member_code, code) != code:
                raise TerritoryError(
                    f"Fichier epci.json invalide : la commune {member_code} appartient à deux EPCI "
                    f"({membership[member_code]} et {code})."
                )

    chef_lieux: dict[str, str] = {}
    for index, entry in enumerate(_entries(source.read_json("data/communes.json"), "communes.json")):
        kind = _field(entry, "type", "communes.json", index)
        if kind in MERGED_TYPES:
            chef_lieu = _field(entry, "chefLieu", "communes.json", index, required=False)
            if chef_lieu is not None:
                chef_lieux[_field(entry, "code", "communes.json", index)] = chef_lieu
            continue
        if kind != "commune-actuelle":
            continue
        if _field(entry, "zone", "communes.json", index) not in KEPT_ZONES:
            continue
        code = _field(entry, "code", "communes.json", index)
        name = _field(entry, "nom", "communes.json", index)
        departement = _field(entry, "departement", "communes.json", index)
        if departement not in data.departements:
            raise TerritoryError(
                f"Fichier communes.json invalide : département inconnu « {departement} » "
                f"pour la commune {code}."
            )
        population = _field(entry, "population", "communes.json", index, required=False, kind=int)
        if population is not None and population < 0:
            raise TerritoryError(
                f"Fichier communes.json invalide : population négative pour la commune {code}."
            )
        data.communes[code] = (name, normalize(name), departement, membership.get(code), population)
        for postal_code in (
            _field(entry, "codesPostaux", "communes.json", index, required=False, kind=list) or ()
        ):
            if not isinstance(postal_code, str) or not (len(postal_code) == 5 and postal_code.isdigit()):
                raise TerritoryError(
                    f"Fichier communes.json invalide : code postal incorrect pour la commune {code}."
                )
            data.postal_codes.add((postal_code, code))
    if not data.communes:
        raise TerritoryError("Fichier communes.json invalide : aucune commune actuelle.")
    # A commune déléguée often keeps the code of its commune nouvelle: only codes that stopped being
    # current communes have a successor, and only a kept current commune can be one.
    data.successors = {
        code: chef_lieu
        for code, chef_lieu in chef_lieux.items()
        if code not in data.communes and chef_lieu in data.communes
    }
    return data


# --- Writing ----------------------------------------------------------------------------------------------


def tables_analyze() -> None:
    """Refresh PostgreSQL planner statistics after a bulk load: with empty statistics the planner picks
    nested loops over 35,000 rows for the search queries. SQLite needs nothing here."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "ANALYZE territories_region, territories_departement, territories_epci, territories_commune, "
                "territories_postalcode, territories_perimetercommune"
            )


@dataclass
class LoadSummary:
    counts: dict[str, int] = field(default_factory=dict)
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)
    deleted: dict[str, int] = field(default_factory=dict)
    perimeters_rebuilt: int = 0
    seconds: float = 0.0
    # Deleted commune code -> the current commune that absorbed it (from the COG's communes déléguées).
    merged: dict[str, str] = field(default_factory=dict)
    # Rows of other apps re-pointed from a merged commune to its successor, per model label.
    repointed: dict[str, int] = field(default_factory=dict)
    # Rows of other apps that referenced a commune deleted without a known successor, per model label.
    orphaned: dict[str, int] = field(default_factory=dict)
    # Perimeters with unknown codes, renamed communes or that would have become empty (PerimeterReport).
    perimeter_reports: list = field(default_factory=list)

    @property
    def perimeters_needing_attention(self) -> list:
        return [report for report in self.perimeter_reports if report.needs_attention]


def _upsert(model, rows: dict[str, tuple], fields: list[str], label: str, summary: LoadSummary) -> list[str]:
    """Upsert ``rows`` (code -> values of ``fields``) that are new or changed; return the stale codes."""
    existing = {values[0]: tuple(values[1:]) for values in model.objects.values_list("code", *fields)}
    changed = [code for code, values in rows.items() if existing.get(code) != values]
    objects = [model(code=code, **dict(zip(fields, rows[code], strict=True))) for code in changed]
    model.objects.bulk_create(
        objects, batch_size=BATCH_SIZE, update_conflicts=True, unique_fields=["code"], update_fields=fields
    )
    stale = [code for code in existing if code not in rows]
    summary.counts[label] = len(rows)
    summary.created[label] = sum(1 for code in changed if code not in existing)
    summary.updated[label] = sum(1 for code in changed if code in existing)
    summary.deleted[label] = len(stale)
    return stale


def _delete_codes(model, codes: list[str]) -> None:
    """Delete rows by code; TerritoryError (French) when rows of another app still protect them."""
    for start in range(0, len(codes), BATCH_SIZE):
        try:
            model.objects.filter(code__in=codes[start : start + BATCH_SIZE]).delete()
        except ProtectedError as exc:
            labels = sorted({obj._meta.label for obj in exc.protected_objects})
            raise TerritoryError(
                f"Impossible de supprimer des {model._meta.verbose_name_plural} disparues du COG : "
                f"elles sont encore utilisées par {', '.join(labels)}."
            ) from exc


# Territories' own tables that point to communes and are rebuilt by the load itself.
_REBUILT_COMMUNE_TABLES = frozenset({"territories.PostalCode", "territories.PerimeterCommune"})


def _commune_references() -> list[models.ForeignKey]:
    """Foreign keys (one-to-one included) of any app pointing to Commune, hidden ones (related_name "+",
    many-to-many through tables) included, except the tables the load rebuilds."""
    return [
        relation.field
        for relation in Commune._meta.get_fields(include_hidden=True)
        if relation.auto_created
        and not relation.concrete
        and isinstance(getattr(relation, "field", None), models.ForeignKey)
        and relation.related_model._meta.label not in _REBUILT_COMMUNE_TABLES
    ]


def _commune_references_repoint(
    stale_codes: list[str], successors: dict[str, str], summary: LoadSummary
) -> None:
    """Before stale communes are deleted, point every foreign key to a merged commune at its successor
    (counted in ``summary.repointed``) and count references to communes gone without a successor
    (``summary.orphaned``: their on_delete applies). TerritoryError when a re-pointing breaks a
    uniqueness rule of the other app (e.g. two merged communes on a one-to-one field)."""
    if not stale_codes:
        return
    summary.merged = {code: successors[code] for code in stale_codes if code in successors}
    wanted = sorted(set(stale_codes) | set(summary.merged.values()))
    rows: dict[str, dict] = {}
    for start in range(0, len(wanted), BATCH_SIZE):
        batch = Commune.objects.filter(code__in=wanted[start : start + BATCH_SIZE]).values()
        rows.update((row["code"], row) for row in batch)
    for field_ in _commune_references():
        model = field_.model
        label = model._meta.label
        target = field_.target_field.attname  # "id", or "code" for a to_field="code" key
        old_to_new = {rows[old][target]: rows[new][target] for old, new in summary.merged.items()}
        orphans = [rows[code][target] for code in stale_codes if code not in summary.merged]
        manager = model._base_manager
        for start in range(0, len(orphans), BATCH_SIZE):
            count = manager.filter(**{f"{field_.attname}__in": orphans[start : start + BATCH_SIZE]}).count()
            if count:
                summary.orphaned[label] = summary.orphaned.get(label, 0) + count
        olds = sorted(old_to_new)
        referenced: set = set()
        for start in range(0, len(olds), BATCH_SIZE):
            referenced.update(
                manager.filter(**{f"{field_.attname}__in": olds[start : start + BATCH_SIZE]})
                .values_list(field_.attname, flat=True)
                .distinct()
            )
        by_new: dict = {}
        for old in referenced:
            by_new.setdefault(old_to_new[old], []).append(old)
        for new, group in sorted(by_new.items()):
            try:
                count = manager.filter(**{f"{field_.attname}__in": group}).update(**{field_.attname: new})
            except IntegrityError as exc:
                raise TerritoryError(
                    f"Impossible de rattacher les {model._meta.verbose_name_plural} des communes fusionnées "
                    f"à leur commune nouvelle ({label}.{field_.name}) : {exc}"
                ) from exc
            summary.repointed[label] = summary.repointed.get(label, 0) + count


def _sync_postal_codes(pairs: set[tuple[str, str]], summary: LoadSummary) -> None:
    commune_ids = dict(Commune.objects.values_list("code", "id"))
    wanted = {(postal, commune_ids[commune]) for postal, commune in pairs}
    existing = {
        (code, commune_id): pk
        for pk, code, commune_id in PostalCode.objects.values_list("id", "code", "commune_id")
    }
    stale = [pk for pair, pk in existing.items() if pair not in wanted]
    for start in range(0, len(stale), BATCH_SIZE):
        PostalCode.objects.filter(pk__in=stale[start : start + BATCH_SIZE]).delete()
    missing = [
        PostalCode(code=code, commune_id=commune_id)
        for code, commune_id in wanted
        if (code, commune_id) not in existing
    ]
    PostalCode.objects.bulk_create(missing, batch_size=BATCH_SIZE)
    summary.counts["codes postaux"] = len(wanted)
    summary.created["codes postaux"] = len(missing)
    summary.updated["codes postaux"] = 0
    summary.deleted["codes postaux"] = len(stale)


def territories_load_cog(
    *, source: Path | str | None = None, progress: Progress | None = None
) -> LoadSummary:
    """Load régions, départements, EPCI, current communes and their postal codes from the COG package.

    ``source`` is the unpacked package directory or its ``.tgz``; by default the one in ``node_modules``
    (fetched with npm when absent). Atomic and idempotent: new and changed rows are upserted, rows absent
    from the source are deleted, perimeters are rebuilt from their definitions. Raises TerritoryError (French
    message) on a missing, truncated or corrupt source or a wrong package version; nothing is written then.
    """
    from essaim.territories.services import perimeter_communes_snapshot, perimeters_rebuild

    progress = progress or _quiet
    started = time.monotonic()
    path = Path(source) if source else cog_source_default(progress=progress)
    progress(f"Lecture de {path}…")
    data = cog_parse(CogSource(path))
    progress(
        f"Fichiers valides : {len(data.regions)} régions, {len(data.departements)} départements, "
        f"{len(data.epcis)} EPCI, {len(data.communes)} communes."
    )
    summary = LoadSummary()
    with transaction.atomic():
        # Parents first for upserts, children first for deletions (foreign keys are protected).
        stale_regions = _upsert(Region, data.regions, ["name"], "régions", summary)
        stale_departements = _upsert(
            Departement, data.departements, ["name", "region_id"], "départements", summary
        )
        stale_epcis = _upsert(Epci, data.epcis, ["name", "kind", "population"], "EPCI", summary)
        progress("Régions, départements et EPCI enregistrés ; communes…")
        fields = ["name", "search_name", "departement_id", "epci_id", "population"]
        stale_communes = _upsert(Commune, data.communes, fields, "communes", summary)
        # Taken before the deletions cascade to the perimeters' links.
        previous_perimeters = perimeter_communes_snapshot()
        _commune_references_repoint(stale_communes, data.successors, summary)
        _delete_codes(Commune, stale_communes)
        _delete_codes(Epci, stale_epcis)
        _delete_codes(Departement, stale_departements)
        _delete_codes(Region, stale_regions)
        progress("Communes enregistrées ; codes postaux…")
        _sync_postal_codes(data.postal_codes, summary)
        rebuild = perimeters_rebuild(successors=data.successors, previous=previous_perimeters)
        summary.perimeters_rebuilt = rebuild.changed
        summary.perimeter_reports = rebuild.reports
        summary.seconds = round(time.monotonic() - started, 2)
        log_action(
            actor=None,
            verb="territories.cog.loaded",
            data={
                "source": f"{COG_PACKAGE}@{COG_VERSION}",
                "counts": summary.counts,
                "created": summary.created,
                "updated": summary.updated,
                "deleted": summary.deleted,
                "merged": summary.merged,
                "repointed": summary.repointed,
                "orphaned": summary.orphaned,
                "perimeters": [report.as_data() for report in summary.perimeter_reports],
            },
        )
    tables_analyze()
    return summary
