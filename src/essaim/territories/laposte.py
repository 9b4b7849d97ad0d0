"""Commune points (lat/lon) and postal codes from La Poste's "base officielle des codes postaux" CSV,
and an optional geocoding of the communes still without a point."""

import csv
import io
import json
import math
import re
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.db import transaction

from essaim.core.audit import log_action
from essaim.territories.cog import tables_analyze
from essaim.territories.exceptions import TerritoryError
from essaim.territories.models import Commune, PostalCode

REQUIRED_COLUMNS = ("Code_commune_INSEE", "Nom_commune", "Code_postal", "coordonnees_gps")
_INSEE_RE = re.compile(r"^(?:\d{5}|2[AB]\d{3})$")
_POSTAL_RE = re.compile(r"^\d{5}$")
BATCH_SIZE = 2000

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    pass


def plm_commune_code(code: str) -> str:
    """Map a Paris/Lyon/Marseille arrondissement code to its commune (La Poste lists arrondissements)."""
    if code.startswith("751") and "75101" <= code <= "75120":
        return "75056"
    if "69381" <= code <= "69389":
        return "69123"
    if "13201" <= code <= "13216":
        return "13055"
    return code


def _decode(raw: bytes) -> str:
    if raw.startswith(b"\xef\xbb\xbf"):
        return raw[3:].decode("utf-8", errors="strict")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError as exc:
            raise TerritoryError(
                "Encodage du fichier La Poste non reconnu (UTF-8 ou Windows-1252 attendu)."
            ) from exc


@dataclass
class PointsData:
    points: dict[str, tuple[float, float]] = field(default_factory=dict)  # commune code -> mean point
    postal_codes: set[tuple[str, str]] = field(default_factory=set)  # (postal code, commune code)
    rows: int = 0
    rows_without_point: int = 0


def laposte_parse(path: Path) -> PointsData:
    """Read and validate the whole CSV; TerritoryError naming the line on a bad header, a malformed row
    (truncated file) or corrupt coordinates."""
    path = Path(path)
    if not path.is_file():
        raise TerritoryError(f"Fichier La Poste introuvable : {path}")
    text = _decode(path.read_bytes())
    if not text.strip():
        raise TerritoryError(f"Fichier La Poste vide : {path}")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=";", strict=True)
    try:
        header = [column.strip().lstrip("#") for column in next(reader)]
        missing = [column for column in REQUIRED_COLUMNS if column not in header]
        if missing:
            raise TerritoryError(
                "En-tête du fichier La Poste incorrect : colonnes manquantes "
                f"{', '.join(missing)} (séparateur « ; » attendu)."
            )
        index = {column: header.index(column) for column in REQUIRED_COLUMNS}
        sums: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0, 0])
        data = PointsData()
        for row in reader:
            line = reader.line_num
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                raise TerritoryError(
                    f"Fichier La Poste corrompu ou tronqué, ligne {line} : "
                    f"{len(row)} colonnes au lieu de {len(header)}."
                )
            code = row[index["Code_commune_INSEE"]].strip()
            postal = row[index["Code_postal"]].strip()
            gps = row[index["coordonnees_gps"]].strip()
            if not _INSEE_RE.match(code):
                raise TerritoryError(
                    f"Fichier La Poste corrompu, ligne {line} : code INSEE « {code} » invalide."
                )
            if not _POSTAL_RE.match(postal):
                raise TerritoryError(
                    f"Fichier La Poste corrompu, ligne {line} : code postal « {postal} » invalide."
                )
            code = plm_commune_code(code)
            data.rows += 1
            data.postal_codes.add((postal, code))
            if not gps:
                data.rows_without_point += 1
                continue
            try:
                lat_text, lon_text = gps.split(",")
                lat, lon = float(lat_text), float(lon_text)
            except ValueError:
                lat = lon = math.nan
            if not (-90 <= lat <= 90 and -180 <= lon <= 180):  # also rejects NaN
                raise TerritoryError(
                    f"Fichier La Poste corrompu, ligne {line} : coordonnées « {gps} » invalides."
                )
            acc = sums[code]
            acc[0] += lat
            acc[1] += lon
            acc[2] += 1
    except csv.Error as exc:
        raise TerritoryError(f"Fichier La Poste illisible, ligne {reader.line_num} : {exc}") from exc
    if data.rows == 0:
        raise TerritoryError("Fichier La Poste sans aucune ligne de données.")
    # Mean of the rows' points: order-independent, and central for Paris/Lyon/Marseille arrondissements.
    data.points = {code: (round(s[0] / s[2], 6), round(s[1] / s[2], 6)) for code, s in sums.items()}
    return data


@dataclass
class PointsSummary:
    rows: int = 0
    rows_without_point: int = 0
    communes_updated: int = 0
    postal_codes_added: int = 0
    unknown_codes: list[str] = field(default_factory=list)
    communes_total: int = 0
    communes_with_point: int = 0
    seconds: float = 0.0

    @property
    def coverage(self) -> float:
        """Share (0-100) of current communes that have a point."""
        return 100.0 * self.communes_with_point / self.communes_total if self.communes_total else 0.0


_COMMUNE_FIELDS = (
    "code",
    "name",
    "search_name",
    "departement_id",
    "epci_id",
    "population",
    "latitude",
    "longitude",
)


def territories_load_points(*, path: Path | str, progress: Progress | None = None) -> PointsSummary:
    """Set commune points (mean of the file's points per commune) and add missing postal codes from a
    La Poste CSV. Communes absent from the file keep their point. Codes unknown to the loaded COG (old
    communes) are counted, not fatal. Atomic and idempotent; TerritoryError (French) on a bad file or
    when the COG has not been loaded."""
    progress = progress or _quiet
    started = time.monotonic()
    progress(f"Lecture de {path}…")
    data = laposte_parse(Path(path))
    progress(f"{data.rows} lignes valides, {len(data.points)} communes avec un point.")
    summary = PointsSummary(rows=data.rows, rows_without_point=data.rows_without_point)
    with transaction.atomic():
        communes = {values[0]: values for values in Commune.objects.values_list(*_COMMUNE_FIELDS)}
        if not communes:
            raise TerritoryError("Aucune commune en base : chargez d'abord le COG (essaim territories_load).")
        file_codes = {code for _postal, code in data.postal_codes} | set(data.points)
        summary.unknown_codes = sorted(file_codes - set(communes))
        changed = []
        for code, (lat, lon) in data.points.items():
            current = communes.get(code)
            if current is not None and (current[6], current[7]) != (lat, lon):
                changed.append(
                    Commune(
                        **dict(zip(_COMMUNE_FIELDS[:6], current[:6], strict=True)),
                        latitude=lat,
                        longitude=lon,
                    )
                )
        # An upsert on the unique code is much faster than bulk_update's CASE expressions for 35,000 rows.
        Commune.objects.bulk_create(
            changed,
            batch_size=BATCH_SIZE,
            update_conflicts=True,
            unique_fields=["code"],
            update_fields=["latitude", "longitude"],
        )
        summary.communes_updated = len(changed)
        ids = dict(Commune.objects.values_list("code", "id"))
        existing = set(PostalCode.objects.values_list("code", "commune_id"))
        wanted = {(postal, ids[code]) for postal, code in data.postal_codes if code in ids}
        missing = [
            PostalCode(code=postal, commune_id=commune_id) for postal, commune_id in sorted(wanted - existing)
        ]
        PostalCode.objects.bulk_create(missing, batch_size=BATCH_SIZE)
        summary.postal_codes_added = len(missing)
        summary.communes_total = len(communes)
        summary.communes_with_point = Commune.objects.with_point().count()
        summary.seconds = round(time.monotonic() - started, 2)
        log_action(
            actor=None,
            verb="territories.points.loaded",
            data={
                "file": Path(path).name,
                "rows": summary.rows,
                "communes_updated": summary.communes_updated,
                "postal_codes_added": summary.postal_codes_added,
                "unknown_codes": len(summary.unknown_codes),
                "coverage": round(summary.coverage, 2),
            },
        )
    tables_analyze()
    return summary


def _geocoder_fetch(base_url: str, code: str, timeout: float) -> tuple[float, float] | None:
    url = f"{base_url.rstrip('/')}/communes/{code}?fields=centre&format=json"
    request = urllib.request.Request(url, headers={"User-Agent": "Essaim (territoires)"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - https URL from settings
            payload = json.load(response)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise
    coordinates = (payload.get("centre") or {}).get("coordinates") or []
    if len(coordinates) != 2:
        return None
    lon, lat = float(coordinates[0]), float(coordinates[1])
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return None
    return round(lat, 6), round(lon, 6)


Geocoder = Callable[[str], tuple[float, float] | None]


def territories_geocode_missing(
    *, progress: Progress | None = None, timeout: float = 10.0, geocoder: Geocoder | None = None
) -> int:
    """Give a point to communes still without one using the public geo.api.gouv.fr service
    (``settings.ESSAIM_GEOCODER_URL``), or ``geocoder`` (commune code -> (lat, lon) or None) when given.
    Returns how many communes got a point. Each point is saved at once, so an interruption keeps the
    points already found; the audit entry is written in every case (``interrupted`` tells whether the run
    stopped early). Raises TerritoryError when the service cannot be reached (offline)."""
    progress = progress or _quiet
    base_url = getattr(settings, "ESSAIM_GEOCODER_URL", "https://geo.api.gouv.fr")
    if geocoder is None:

        def geocoder(code: str) -> tuple[float, float] | None:
            return _geocoder_fetch(base_url, code, timeout)

    written: list[str] = []
    error = ""
    try:
        for commune_id, code in Commune.objects.filter(latitude__isnull=True).values_list("id", "code"):
            try:
                point = geocoder(code)
            except (urllib.error.URLError, TimeoutError, OSError, ValueError) as exc:
                error = str(exc)
                raise TerritoryError(
                    f"Service de géocodage injoignable ({base_url}) : {exc}. Êtes-vous hors ligne ? "
                    f"{len(written)} commune(s) déjà complétée(s) sont conservées."
                ) from exc
            if point is None:
                progress(f"Pas de point trouvé pour la commune {code}.")
                continue
            Commune.objects.filter(pk=commune_id).update(latitude=point[0], longitude=point[1])
            written.append(code)
    except BaseException as exc:
        error = error or f"{type(exc).__name__}: {exc}"
        raise
    finally:
        # Also after a failure midway: the points already written are committed and must be traceable.
        if written or error:
            log_action(
                actor=None,
                verb="territories.points.geocoded",
                data={"communes": len(written), "codes": written, "interrupted": bool(error), "error": error},
            )
    return len(written)
