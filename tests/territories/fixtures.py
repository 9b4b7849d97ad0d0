"""Small hand-made COG package and La Poste files, written by tests into tmp_path."""

import copy
import json
import tarfile
from pathlib import Path

REGIONS = [
    {"code": "76", "nom": "Occitanie", "zone": "metro"},
    {"code": "84", "nom": "Auvergne-Rhône-Alpes", "zone": "metro"},
    {"code": "44", "nom": "Grand Est", "zone": "metro"},
    {"code": "11", "nom": "Île-de-France", "zone": "metro"},
    {"code": "01", "nom": "Guadeloupe", "zone": "drom"},
    {"code": "975", "nom": "Saint-Pierre-et-Miquelon", "zone": "com"},
]
DEPARTEMENTS = [
    {"code": "31", "region": "76", "nom": "Haute-Garonne", "zone": "metro"},
    {"code": "82", "region": "76", "nom": "Tarn-et-Garonne", "zone": "metro"},
    {"code": "42", "region": "84", "nom": "Loire", "zone": "metro"},
    {"code": "54", "region": "44", "nom": "Meurthe-et-Moselle", "zone": "metro"},
    {"code": "75", "region": "11", "nom": "Paris", "zone": "metro"},
    {"code": "971", "region": "01", "nom": "Guadeloupe", "zone": "drom"},
    {"code": "975", "region": "975", "nom": "Saint-Pierre-et-Miquelon", "zone": "com"},
]
EPCI = [
    {
        "code": "243100633",
        "nom": "CA du Sicoval",
        "type": "CA",
        "populationMunicipale": 80000,
        "membres": [{"code": "31446"}, {"code": "31113"}],
    },
    {
        "code": "243100518",
        "nom": "Toulouse Métropole",
        "type": "METRO",
        "populationMunicipale": 800000,
        "membres": [{"code": "31555"}, {"code": "31149"}],
    },
    {
        "code": "200066348",
        "nom": "CC Quercy Vert-Aveyron",
        "type": "CC",
        "populationMunicipale": 20000,
        "membres": [{"code": "82075"}],
    },
]


def _commune(code, nom, dep, region, population, postal, **extra):
    entry = {"code": code, "nom": nom, "departement": dep, "region": region, "type": "commune-actuelle"}
    entry["zone"] = extra.pop("zone", "drom" if dep.startswith("97") else "metro")
    if population is not None:
        entry["population"] = population
    if postal is not None:
        entry["codesPostaux"] = postal
    entry.update(extra)
    return entry


COMMUNES = [
    _commune("31555", "Toulouse", "31", "76", 504078, ["31000", "31100", "31200"]),
    _commune("31446", "Ramonville-Saint-Agne", "31", "76", 14877, ["31520"]),
    _commune("31113", "Castanet-Tolosan", "31", "76", 14000, ["31320"]),
    _commune("31149", "Colomiers", "31", "76", 39968, ["31770"]),
    _commune("82075", "Saint-Étienne-de-Tulmont", "82", "76", 3500, ["82410"]),
    _commune("82121", "Montauban", "82", "76", 61372, ["82000"]),
    _commune("42218", "Saint-Étienne", "42", "84", 172023, ["42000", "42100"]),
    _commune("54528", "Toul", "54", "44", 15500, ["54200"]),
    _commune("54999", "Montoulieu-sur-Moselle", "54", "44", 120, ["54300"]),
    _commune("31999", "Labastide-Beauvoir", "31", "76", None, None),
    _commune("75056", "Paris", "75", "11", 2103778, ["75001", "75002"]),
    _commune("97105", "Basse-Terre", "971", "01", 9930, ["97100"]),
    # Left out by the loader: a commune of a COM, and non-current entries.
    _commune("97502", "Saint-Pierre", "975", "975", 5500, ["97500"], zone="com"),
    {
        "code": "31002",
        "nom": "Ancienne",
        "departement": "31",
        "region": "76",
        "type": "commune-deleguee",
        "zone": "metro",
    },
    {
        "code": "75101",
        "nom": "Paris 1er",
        "type": "arrondissement-municipal",
        "commune": "75056",
        "zone": "metro",
    },
]
KEPT_COMMUNES = 12


def cog_data() -> dict[str, list]:
    """Deep copies, so that a test can change them before writing."""
    return copy.deepcopy(
        {"regions": REGIONS, "departements": DEPARTEMENTS, "epci": EPCI, "communes": COMMUNES}
    )


def write_cog(target: Path, data: dict | None = None, *, version: str = "6.0.0") -> Path:
    """Write a package directory laid out like node_modules/@etalab/decoupage-administratif."""
    data = data or cog_data()
    (target / "data").mkdir(parents=True, exist_ok=True)
    (target / "package.json").write_text(
        json.dumps({"name": "@etalab/decoupage-administratif", "version": version}), encoding="utf-8"
    )
    for name, entries in data.items():
        (target / "data" / f"{name}.json").write_text(
            json.dumps(entries, ensure_ascii=False), encoding="utf-8"
        )
    return target


def pack_cog(directory: Path, tarball: Path) -> Path:
    """A .tgz laid out like the output of `npm pack` (everything under package/)."""
    with tarfile.open(tarball, "w:gz") as archive:
        archive.add(directory, arcname="package")
    return tarball


LAPOSTE_HEADER = "Code_commune_INSEE;Nom_commune;Code_postal;Ligne_5;Libellé_d_acheminement;coordonnees_gps"
LAPOSTE_ROWS = [
    "31555;TOULOUSE;31000;;TOULOUSE;43.596037953,1.43216783354",
    "31555;TOULOUSE;31100;;TOULOUSE;43.596037953,1.43216783354",
    "31555;TOULOUSE;31500;;TOULOUSE;43.596037953,1.43216783354",
    "31446;RAMONVILLE ST AGNE;31520;;RAMONVILLE ST AGNE;43.5441,1.4779",
    "31113;CASTANET TOLOSAN;31320;;CASTANET TOLOSAN;43.5158,1.4985",
    "31149;COLOMIERS;31770;;COLOMIERS;43.6112,1.3269",
    "82075;ST ETIENNE DE TULMONT;82410;;ST ETIENNE DE TULMONT;44.0471,1.4625",
    "82121;MONTAUBAN;82000;;MONTAUBAN;44.0222,1.3649",
    "42218;ST ETIENNE;42000;;ST ETIENNE;45.4301,4.3792",
    "54528;TOUL;54200;;TOUL;48.6817,5.8912",
    "54999;MONTOULIEU;54300;;MONTOULIEU;",
    "75101;PARIS 01;75001;;PARIS;48.8625,2.3365",
    "75102;PARIS 02;75002;;PARIS;48.8683,2.3428",
    "97105;BASSE TERRE;97100;;BASSE TERRE;16.0000,-61.7300",
    "31002;ANCIENNE COMMUNE;31450;;ANCIENNE;43.4,1.6",
]


def write_laposte(
    path: Path, rows=None, *, header: str = LAPOSTE_HEADER, encoding="utf-8", bom=False
) -> Path:
    text = "\r\n".join([header, *(LAPOSTE_ROWS if rows is None else rows)]) + "\r\n"
    raw = text.encode(encoding)
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + raw)
    return path
