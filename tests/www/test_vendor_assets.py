import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from essaim.www.management.commands.vendor_assets import ASSETS


@pytest.fixture
def node_modules(tmp_path):
    """A fake node_modules holding every asset, with a package-lock.json next to it."""
    root = tmp_path / "checkout" / "node_modules"
    versions = {}
    for asset in ASSETS:
        source = root / asset.package / asset.source
        source.parent.mkdir(parents=True, exist_ok=True)
        source.write_text(f"contenu de {asset.package}/{asset.source}")
        versions[asset.package] = "1.0.0"
    for package, version in versions.items():
        (root / package / "package.json").write_text(json.dumps({"name": package, "version": version}))
    lock = {
        "packages": {f"node_modules/{package}": {"version": version} for package, version in versions.items()}
    }
    (root.parent / "package-lock.json").write_text(json.dumps(lock))
    return root


@pytest.fixture
def target(settings, tmp_path):
    settings.ESSAIM_ASSETS_DIR = tmp_path / "vendor"
    return settings.ESSAIM_ASSETS_DIR


def run(node_modules):
    out = StringIO()
    call_command("vendor_assets", node_modules=node_modules, stdout=out)
    return out.getvalue()


def test_copies_every_asset(node_modules, target):
    output = run(node_modules)

    for asset in ASSETS:
        copied = target / asset.target
        assert copied.read_text() == f"contenu de {asset.package}/{asset.source}"
    assert f"{len(ASSETS)} fichier(s) copié(s)" in output
    assert (target / "htmx" / "htmx.min.js").is_file()
    assert (target / "leaflet" / "images" / "marker-icon.png").is_file()


def test_second_run_copies_nothing_and_repairs_a_changed_file(node_modules, target):
    run(node_modules)
    (target / "htmx" / "htmx.min.js").write_text("modifié à la main")

    output = run(node_modules)

    assert "1 fichier(s) copié(s)" in output
    assert (target / "htmx" / "htmx.min.js").read_text() == "contenu de htmx.org/dist/htmx.min.js"
    assert "0 fichier(s) copié(s)" in run(node_modules)
    assert not list(target.rglob("*.partial"))


def test_missing_files_are_listed_in_french_with_the_fix(node_modules, target):
    (node_modules / "leaflet" / "dist" / "leaflet.js").unlink()
    (node_modules / "htmx.org" / "dist" / "htmx.min.js").unlink()

    with pytest.raises(CommandError) as error:
        run(node_modules)

    message = str(error.value)
    assert "leaflet/dist/leaflet.js" in message
    assert "htmx.org/dist/htmx.min.js" in message
    assert "npm ci" in message
    assert not target.exists()  # nothing copied when something is missing


def test_empty_node_modules_fails_clearly(tmp_path, target):
    with pytest.raises(CommandError, match="npm ci"):
        run(tmp_path / "node_modules")


def test_installed_version_must_match_the_lock(node_modules, target):
    (node_modules / "leaflet" / "package.json").write_text(
        json.dumps({"name": "leaflet", "version": "0.7.0"})
    )

    with pytest.raises(CommandError) as error:
        run(node_modules)

    assert "leaflet : version installée 0.7.0, version verrouillée 1.0.0" in str(error.value)
    assert not target.exists()
