"""The import pages in a real browser: a facilitator uploads a CSV, checks the guessed columns, reads the dry
run (with its rejected row), launches the import and sees the report; axe-core on every step."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from essaim.actors.models import ImportUpload, Structure
from tests.browser.conftest import assert_fits_width
from tests.browser.test_moderation import log_in
from tests.browser.test_shell import axe_violations, describe
from tests.demo.cog_sample import load_cog_sample
from tests.factories import FacilitatorFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "Réf;Raison sociale;Commune;Courriel\r\n"
    "A1;Recyclerie des Ateliers;Castres;contact@recyclerie.fr\r\n"
    "A2;;Castres;\r\n"
    "A3;Épicerie solidaire;Toulouse;bonjour@epicerie.fr\r\n"
).encode("cp1252")  # a spreadsheet saved by Excel on Windows


@pytest.fixture
def facilitator():
    load_cog_sample()
    return FacilitatorFactory()


def _upload(page, live_server):
    page.goto(live_server.url + reverse("actors:imports"))
    page.get_by_label("Fichier").set_input_files(
        {"name": "adherents.csv", "mimeType": "text/csv", "buffer": CSV}
    )
    page.get_by_label("Source du tableau").fill("Réseau ESS Tarn")
    page.get_by_role("button", name="Déposer et vérifier les colonnes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Correspondance des colonnes")


def test_upload_map_dry_run_then_import(page, live_server, facilitator):
    log_in(page, live_server, facilitator)
    _upload(page, live_server)
    # The columns were guessed from the French headers.
    assert page.locator("#id_map_name").input_value() == "Raison sociale"
    page.get_by_role("button", name="Lancer l'essai à blanc").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Essai à blanc")
    report = page.locator(".import-report__counts")
    expect(report).to_contain_text("2 fiches à créer")
    expect(report).to_contain_text("1 ligne rejetée")
    assert Structure.objects.count() == 0  # a dry run writes nothing

    page.get_by_role("button", name="Lancer l'import").click()
    expect(page.locator("#import-progress").get_by_role("status")).to_have_text("Import terminé.")
    expect(page.locator(".import-report__counts")).to_contain_text("2 fiches créées")
    assert sorted(Structure.objects.values_list("name", flat=True)) == [
        "Recyclerie des Ateliers",
        "Épicerie solidaire",
    ]
    assert ImportUpload.objects.get().state == "done"
    page.probe.assert_clean()


def test_a_file_that_is_not_a_table_gets_a_french_error(page, live_server, facilitator):
    log_in(page, live_server, facilitator)
    page.goto(live_server.url + reverse("actors:imports"))
    page.get_by_label("Fichier").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + bytes(64)}
    )
    page.get_by_label("Source du tableau").fill("Réseau ESS Tarn")
    page.get_by_role("button", name="Déposer et vérifier les colonnes").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Imports de structures")
    expect(page.locator("#id_file").locator("..")).to_contain_text("Format non pris en charge")
    assert ImportUpload.objects.count() == 0
    page.probe.assert_clean()


@pytest.mark.parametrize("width", [1280, 320])
def test_axe_on_every_import_step(audit_page, axe_path, live_server, facilitator, width):
    log_in(audit_page, live_server, facilitator)
    audit_page.set_viewport_size({"width": width, "height": 900})
    _upload(audit_page, live_server)
    pages = {"mapping": audit_page.url}
    audit_page.get_by_role("button", name="Lancer l'essai à blanc").click()
    expect(audit_page.get_by_role("heading", level=1)).to_have_text("Essai à blanc")
    pages["dry run"] = audit_page.url
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], f"dry run\n{describe(violations)}"
    if width == 320:
        assert_fits_width(audit_page)
    audit_page.get_by_role("button", name="Lancer l'import").click()
    expect(audit_page.locator("#import-progress").get_by_role("status")).to_have_text("Import terminé.")
    pages["report"] = audit_page.url
    for name, url in pages.items():
        audit_page.goto(url)
        violations = axe_violations(audit_page, axe_path)
        assert violations == [], f"{name}\n{describe(violations)}"
    audit_page.goto(live_server.url + reverse("actors:imports"))
    violations = axe_violations(audit_page, axe_path)
    assert violations == [], f"list\n{describe(violations)}"
