"""Copy the pinned third-party front-end assets from ``node_modules`` into the app's static files.

``npm ci --ignore-scripts`` installs them from ``package-lock.json`` (versions and integrity hashes pinned);
this command only copies the few files the pages load into ``settings.ESSAIM_ASSETS_DIR``, which is never
committed. It is idempotent: files already identical are left untouched.
"""

import filecmp
import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


@dataclass(frozen=True)
class Asset:
    package: str  # npm package name, as in package-lock.json
    source: str  # path inside the package
    target: str  # path inside ESSAIM_ASSETS_DIR


# The .map files are copied because WhiteNoise's manifest storage follows the sourceMappingURL comments.
ASSETS = (
    Asset("htmx.org", "dist/htmx.min.js", "htmx/htmx.min.js"),
    Asset("htmx.org", "LICENSE", "htmx/LICENSE"),
    Asset("@picocss/pico", "css/pico.min.css", "pico/pico.min.css"),
    Asset("@picocss/pico", "LICENSE.md", "pico/LICENSE.md"),
    Asset("leaflet", "dist/leaflet.js", "leaflet/leaflet.js"),
    Asset("leaflet", "dist/leaflet.js.map", "leaflet/leaflet.js.map"),
    Asset("leaflet", "dist/leaflet.css", "leaflet/leaflet.css"),
    Asset("leaflet", "dist/images/layers.png", "leaflet/images/layers.png"),
    Asset("leaflet", "dist/images/layers-2x.png", "leaflet/images/layers-2x.png"),
    Asset("leaflet", "dist/images/marker-icon.png", "leaflet/images/marker-icon.png"),
    Asset("leaflet", "dist/images/marker-icon-2x.png", "leaflet/images/marker-icon-2x.png"),
    Asset("leaflet", "dist/images/marker-shadow.png", "leaflet/images/marker-shadow.png"),
    Asset("leaflet", "LICENSE", "leaflet/LICENSE"),
    Asset(
        "leaflet.markercluster",
        "dist/leaflet.markercluster.js",
        "leaflet.markercluster/leaflet.markercluster.js",
    ),
    Asset(
        "leaflet.markercluster",
        "dist/leaflet.markercluster.js.map",
        "leaflet.markercluster/leaflet.markercluster.js.map",
    ),
    Asset("leaflet.markercluster", "dist/MarkerCluster.css", "leaflet.markercluster/MarkerCluster.css"),
    Asset(
        "leaflet.markercluster",
        "dist/MarkerCluster.Default.css",
        "leaflet.markercluster/MarkerCluster.Default.css",
    ),
    Asset("leaflet.markercluster", "MIT-LICENCE.txt", "leaflet.markercluster/MIT-LICENCE.txt"),
)


def default_node_modules() -> Path:
    """The ``node_modules`` of the current directory, else the one of the source checkout (src layout)."""
    candidates = [Path.cwd() / "node_modules", Path(__file__).resolve().parents[5] / "node_modules"]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate
    return candidates[0]


def check_locked_versions(node_modules: Path) -> list[str]:
    """Compare installed versions with package-lock.json (when it sits next to node_modules).

    Returns one French message per package whose installed version differs from the locked one.
    """
    lock_path = node_modules.parent / "package-lock.json"
    if not lock_path.is_file():
        return []
    try:
        locked = json.loads(lock_path.read_text(encoding="utf-8")).get("packages", {})
    except (OSError, ValueError) as exc:
        raise CommandError(f"Impossible de lire {lock_path} : {exc}") from None
    problems = []
    for package in sorted({asset.package for asset in ASSETS}):
        expected = locked.get(f"node_modules/{package}", {}).get("version")
        manifest = node_modules / package / "package.json"
        if expected is None or not manifest.is_file():
            continue  # missing packages are reported file by file
        try:
            installed = json.loads(manifest.read_text(encoding="utf-8")).get("version")
        except (OSError, ValueError):
            installed = None
        if installed != expected:
            problems.append(f"{package} : version installée {installed}, version verrouillée {expected}")
    return problems


class Command(BaseCommand):
    help = (
        "Copie les ressources front-end tierces (htmx, Pico CSS, Leaflet) depuis node_modules "
        "vers les fichiers statiques."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--node-modules",
            type=Path,
            default=None,
            help="Dossier node_modules à utiliser (par défaut : celui du dossier courant ou du dépôt).",
        )

    def handle(self, *args, node_modules: Path | None = None, **options):
        source_dir = (node_modules or default_node_modules()).resolve()
        target_dir = Path(settings.ESSAIM_ASSETS_DIR)

        missing = [
            f"{asset.package}/{asset.source}"
            for asset in ASSETS
            if not (source_dir / asset.package / asset.source).is_file()
        ]
        if missing:
            listing = "\n".join(f"  - {path}" for path in missing)
            raise CommandError(
                f"Ressources front-end introuvables dans {source_dir} :\n{listing}\n"
                "Installez-les d'abord depuis le registre npm (versions et empreintes verrouillées) : "
                "npm ci --ignore-scripts"
            )
        mismatches = check_locked_versions(source_dir)
        if mismatches:
            listing = "\n".join(f"  - {line}" for line in mismatches)
            raise CommandError(
                f"node_modules ne correspond pas à package-lock.json :\n{listing}\n"
                "Réinstallez les versions verrouillées : npm ci --ignore-scripts"
            )

        copied = 0
        for asset in ASSETS:
            source = source_dir / asset.package / asset.source
            target = target_dir / asset.target
            if target.is_file() and filecmp.cmp(source, target, shallow=False):
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            # Copy then rename so a reader (runserver, collectstatic) never sees a half-written file.
            partial = target.with_name(target.name + ".partial")
            shutil.copyfile(source, partial)
            partial.replace(target)
            copied += 1

        unchanged = len(ASSETS) - copied
        self.stdout.write(
            self.style.SUCCESS(
                f"Ressources front-end prêtes dans {target_dir} : {copied} fichier(s) copié(s), "
                f"{unchanged} déjà à jour."
            )
        )
