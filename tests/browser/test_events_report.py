"""The bilan in a real browser: a facilitator checks two of three participants in at the welcome desk, opens
the event's report and downloads it; the spreadsheet and the CSV carry exactly the attendance figures."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook
from playwright.sync_api import expect

from essaim.events import services
from tests.browser.test_moderation import log_in
from tests.events.conftest import make_event
from tests.factories import FacilitatorFactory, StructureFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def bouillon():
    event = make_event(title="Bouillon de territoire", capacity=10)
    services.category_add(event=event, label="Acteur de l'ESS")
    services.category_add(event=event, label="Collectivité")
    actor, local_authority = event.categories.order_by("pk")
    recyclerie = StructureFactory(name="Recyclerie du Nontronnais")
    people = [
        ("Camille Rivière", "camille@exemple.fr", actor, recyclerie),
        ("Dominique Martin", "dominique@exemple.fr", local_authority, None),
        ("Sacha Petit", "sacha@exemple.fr", actor, recyclerie),
    ]
    for full_name, email, category, structure in people:
        services.registration_create(
            event=event, full_name=full_name, email=email, category=category, structure=structure
        )
    return event


def _figures(rows) -> dict[str, object]:
    """The report's "label ; value" lines (the first two columns of each row)."""
    return {str(row[0]): row[1] for row in rows if row and row[0] and len(row) > 1}


def test_check_in_then_download_the_report(page, live_server, bouillon):
    log_in(page, live_server, FacilitatorFactory())
    page.goto(live_server.url + reverse("events:checkin", args=[bouillon.slug]))
    page.get_by_role("button", name="Présent : Camille Rivière").click()
    expect(page.locator("#pointage")).to_contain_text("1 présent sur 3 inscrits")
    page.get_by_role("button", name="Présent : Dominique Martin").click()
    expect(page.locator("#pointage")).to_contain_text("2 présents sur 3 inscrits")

    page.goto(live_server.url + reverse("events:report", args=[bouillon.slug]))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Bilan")

    with page.expect_download() as xlsx_download:
        page.get_by_role("link", name="XLSX").click()
    assert xlsx_download.value.suggested_filename == f"bilan-{bouillon.slug}.xlsx"
    sheet = load_workbook(io.BytesIO(xlsx_download.value.path().read_bytes())).active
    figures = _figures(list(sheet.iter_rows(values_only=True)))
    assert figures["Inscrits"] == 3
    assert figures["Présents"] == 2

    with page.expect_download() as csv_download:
        page.get_by_role("link", name="CSV").click()
    text = csv_download.value.path().read_text(encoding="utf-8-sig")
    csv_figures = _figures(list(csv.reader(io.StringIO(text), delimiter=";")))
    assert (csv_figures["Inscrits"], csv_figures["Présents"]) == ("3", "2")

    with page.expect_download() as pdf_download:
        page.get_by_role("link", name="PDF").click()
    assert pdf_download.value.path().read_bytes().startswith(b"%PDF-")
    page.probe.assert_clean()
