"""Quality score (completeness + recency), stale flag, the facilitators' quality page and the card section."""

import datetime

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from essaim.actors.importers.sirene import sirene_import
from essaim.actors.legal_categories import legal_categories_load
from essaim.actors.models import Status, Structure, Theme
from essaim.actors.quality import (
    AGEING_POINTS,
    COMPLETENESS_POINTS,
    CRITERIA,
    RECENT_POINTS,
    STALE_AFTER_MONTHS,
    is_stale,
    months_before,
    quality_refresh,
    quality_report,
)
from essaim.actors.services import structure_create, structure_update, structure_verify
from essaim.territories.models import Commune
from tests.actors.sirene_rows import SIREN_ASSO, UNIT_HEADER, unit, write_csv
from tests.factories import AdminFactory, FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

QUALITY_URL = reverse("actors:quality")
TODAY = datetime.date(2026, 6, 15)


def _theme(label="Culture"):
    return Theme.objects.get_or_create(slug=label.lower(), defaults={"label": label})[0]


def _full_card(**overrides) -> Structure:
    """A card with every completeness criterion met, verified on TODAY."""
    commune = Commune.objects.get(code="31113")
    values = {
        "name": "La Rafistolerie",
        "description": "Atelier de réparation.",
        "email": "contact@rafistolerie.org",
        "phone": "05 61 00 00 00",
        "website": "https://rafistolerie.org",
        "address": "1 rue des Ateliers",
        "commune": commune,
        "latitude": 43.51,
        "longitude": 1.49,
        "rna": "W313000001",
        "last_verified_at": TODAY,
    }
    values.update(overrides)
    structure = StructureFactory(**values)
    structure.themes.add(_theme())
    return structure


def _stored(structure) -> int:
    return Structure.objects.values_list("quality_score", flat=True).get(pk=structure.pk)


def test_weights_add_up_to_100():
    assert COMPLETENESS_POINTS + RECENT_POINTS == 100
    assert len({criterion.key for criterion in CRITERIA}) == len(CRITERIA)


def test_months_before_clamps_to_the_end_of_shorter_months():
    assert months_before(datetime.date(2026, 3, 31), 1) == datetime.date(2026, 2, 28)
    assert months_before(datetime.date(2026, 1, 15), 18) == datetime.date(2024, 7, 15)
    assert months_before(datetime.date(2024, 3, 31), 1) == datetime.date(2024, 2, 29)


def test_a_complete_card_verified_today_scores_100(cog_sample):
    structure = _full_card()
    assert quality_refresh(today=TODAY) >= 1
    assert _stored(structure) == 100
    report = quality_report(structure, today=TODAY)
    assert report.score == 100 and report.missing == [] and not report.stale


def test_an_empty_card_never_verified_scores_0(cog_sample):
    structure = StructureFactory()
    quality_refresh(today=TODAY)
    assert _stored(structure) == 0
    report = quality_report(structure, today=TODAY)
    assert report.missing == [criterion.label for criterion in CRITERIA]


@pytest.mark.parametrize("criterion", CRITERIA, ids=lambda criterion: criterion.key)
def test_each_missing_criterion_costs_its_weight(cog_sample, criterion):
    blanks = {
        "description": {"description": ""},
        "email": {"email": ""},
        "commune": {"commune": None},
        "point": {"latitude": None, "longitude": None},
        "phone": {"phone": ""},
        "website": {"website": ""},
        "address": {"address": ""},
        "identifier": {"rna": "", "siren": ""},
        "theme": {},
    }
    structure = _full_card(**blanks[criterion.key])
    if criterion.key == "theme":
        structure.themes.clear()
    quality_refresh(today=TODAY)
    assert _stored(structure) == 100 - criterion.weight
    assert quality_report(structure, today=TODAY).missing == [criterion.label]


def test_an_archived_theme_does_not_count(cog_sample):
    structure = _full_card()
    Theme.objects.update(archived_at=timezone.now())
    quality_refresh(today=TODAY)
    assert _stored(structure) == 90


@pytest.mark.parametrize(
    ("verified", "points", "stale"),
    [
        (TODAY, RECENT_POINTS, False),
        (months_before(TODAY, 11), RECENT_POINTS, False),
        (months_before(TODAY, 13), AGEING_POINTS, False),
        (months_before(TODAY, STALE_AFTER_MONTHS), AGEING_POINTS, False),
        (months_before(TODAY, STALE_AFTER_MONTHS) - datetime.timedelta(days=1), 0, True),
        (None, 0, None),
    ],
)
def test_recency_points_and_stale_flag(cog_sample, verified, points, stale):
    structure = _full_card(last_verified_at=verified)
    quality_refresh(today=TODAY)
    assert _stored(structure) == COMPLETENESS_POINTS + points
    if stale is not None:
        assert is_stale(structure, TODAY) is stale


def test_a_never_verified_card_is_stale_only_once_old(cog_sample):
    fresh = StructureFactory(last_verified_at=None)
    old = StructureFactory(last_verified_at=None)
    Structure.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=600))
    old.refresh_from_db()
    assert not is_stale(fresh)
    assert is_stale(old)


def test_refresh_writes_only_rows_whose_score_changed(cog_sample):
    _full_card()
    StructureFactory()
    assert quality_refresh(today=TODAY) == 1  # the empty card stays at 0
    assert quality_refresh(today=TODAY) == 0
    # A year later the full card loses its recency points.
    assert quality_refresh(today=TODAY + datetime.timedelta(days=400)) == 1


def test_the_whole_table_is_refreshed_by_chunks(cog_sample, monkeypatch):
    monkeypatch.setattr("essaim.actors.quality.REFRESH_CHUNK", 2)
    cards = [_full_card(name=f"Fiche {index}", slug=f"fiche-{index}") for index in range(5)]
    assert quality_refresh(today=TODAY) == 5
    assert {_stored(card) for card in cards} == {100}


def test_write_services_keep_the_score(cog_sample):
    facilitator = FacilitatorFactory()
    structure = structure_create(name="Les Jardins", family="association", actor=facilitator)
    assert structure.quality_score == 0
    structure_update(structure=structure, actor=facilitator, email="contact@jardins.org", themes=[_theme()])
    assert _stored(structure) == 20 and structure.quality_score == 20
    structure_verify(structure=structure, actor=facilitator)
    assert _stored(structure) == 20 + RECENT_POINTS


def test_quality_refresh_command(cog_sample, capsys):
    structure = _full_card(last_verified_at=timezone.localdate())
    call_command("quality_refresh")
    assert _stored(structure) == 100
    assert "1 fiche(s) modifiée(s)" in capsys.readouterr().out


# -- The facilitators' page ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("user_factory", "status"),
    [(None, 404), (UserFactory, 404), (FacilitatorFactory, 200), (AdminFactory, 200)],
)
def test_quality_page_permissions(client, user_factory, status):
    if user_factory is not None:
        client.force_login(user_factory())
    assert client.get(QUALITY_URL).status_code == status


def test_quality_page_lists_lowest_scores_first_with_what_is_missing(client, cog_sample):
    _full_card(name="Fiche complète", last_verified_at=timezone.localdate())
    StructureFactory(name="Fiche vide", email="")
    StructureFactory(name="Fiche archivée", status=Status.ARCHIVED)
    quality_refresh()
    client.force_login(FacilitatorFactory())
    html = client.get(QUALITY_URL).content.decode()
    assert html.index("Fiche vide") < html.index("Fiche complète")
    assert "Fiche archivée" not in html
    assert "Courriel de contact" in html and "100/100" in html and "0/100" in html


def test_quality_page_filters(client, cog_sample):
    _full_card(name="Avec courriel", last_verified_at=timezone.localdate())
    _full_card(name="Sans courriel", slug="sans-courriel", email="", last_verified_at=timezone.localdate())
    old = _full_card(name="Ancienne", slug="ancienne", last_verified_at=datetime.date(2020, 1, 1))
    no_point = _full_card(name="Sans point", slug="sans-point", latitude=None, longitude=None)
    no_point.themes.clear()
    client.force_login(FacilitatorFactory())

    html = client.get(QUALITY_URL, {"manque": "email"}).content.decode()
    assert "Sans courriel" in html and "Avec courriel" not in html
    html = client.get(QUALITY_URL, {"manque": "point"}).content.decode()
    assert "Sans point" in html and "Avec courriel" not in html
    html = client.get(QUALITY_URL, {"manque": "theme"}).content.decode()
    assert "Sans point" in html and "Sans courriel" not in html
    html = client.get(QUALITY_URL, {"a_actualiser": "on"}).content.decode()
    assert old.name in html and "Avec courriel" not in html and "À actualiser" in html
    # An unknown value is reported and ignored.
    response = client.get(QUALITY_URL, {"manque": "nimporte"})
    assert response.status_code == 200 and "Avec courriel" in response.content.decode()


def test_the_card_shows_score_and_missing_fields_to_facilitators_only(client, cog_sample):
    structure = StructureFactory(name="Fiche pauvre", description="Une présentation.")
    url = reverse("actors:detail", args=[structure.slug])
    assert "Qualité de la fiche" not in client.get(url).content.decode()
    client.force_login(FacilitatorFactory())
    html = client.get(url).content.decode()
    assert "Qualité de la fiche" in html
    assert "15/100" in html
    assert "Courriel de contact" in html


def test_a_sirene_import_run_refreshes_the_scores_once_committed(
    tmp_path, django_capture_on_commit_callbacks
):
    categories = tmp_path / "categories.csv"
    categories.write_text("code;libelle\n9220;Association déclarée\n", encoding="utf-8")
    legal_categories_load(path=categories)
    path = write_csv(
        tmp_path / "StockUniteLegale.csv",
        UNIT_HEADER,
        [unit(SIREN_ASSO, "LES ATELIERS DU PERISCOPE", "9220")],
    )
    with django_capture_on_commit_callbacks(execute=True):
        sirene_import(path=path)
    # SIREN filled (identifier criterion); nothing else of the card is known yet.
    assert Structure.objects.get(siren=SIREN_ASSO).quality_score == 5
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        sirene_import(path=path, dry_run=True)
    assert callbacks == []
