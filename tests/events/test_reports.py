"""The report ("bilan") is computed from the attendance data, and its exports say the same thing."""

import csv
import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from essaim.events import questions, services
from essaim.events.models import Attendance, QuestionKind, RegistrationStatus
from essaim.events.reports import event_report, programme_report
from tests.events.conftest import make_event
from tests.events.test_views import pdf_page_texts
from tests.factories import FacilitatorFactory, StructureFactory

pytestmark = pytest.mark.django_db


def checked_in(event, name, attendance=Attendance.PRESENT, **kwargs):
    registration = services.registration_create(event=event, full_name=name, by_facilitator=True, **kwargs)
    services.registration_set_attendance(registration=registration, attendance=attendance, actor=None)
    return registration


@pytest.fixture
def bouillon(communes):
    """The Périgord Vert bouillon: 50 present from 21 structures and 7 partners (seed 001)."""
    partners = [StructureFactory(family="public", name=f"Partenaire {n}") for n in range(6)]
    funder = StructureFactory(family="association", name="Aquitaine Active")
    event = make_event(title="Bouillon de territoire", capacity=None, funders=[funder])
    acteur = services.category_add(event=event, label="Acteur de l'ESS")
    collectivite = services.category_add(event=event, label="Collectivité")
    structures = [StructureFactory(name=f"Association {n}") for n in range(18)]
    n = 0
    # 18 Annuaire structures with 2 people each (36), 3 typed names (one typed twice with other case: 4).
    for structure in structures:
        for _ in range(2):
            checked_in(
                event, f"Personne {n}", category=acteur, structure=structure, commune=communes["24311"]
            )
            n += 1
    for typed in ("Café Pluche", "CAFE PLUCHE", "Terre de Liens", "Les Amis du Bourg"):
        checked_in(event, f"Personne {n}", category=acteur, structure_name=typed)
        n += 1
    # 7 partners, one person each (the funder is an association, counted as partner of this event).
    for partner in [*partners, funder]:
        checked_in(
            event,
            f"Personne {n}",
            category=collectivite,
            structure=partner,
            is_elected=partner == partners[0],
        )
        n += 1
    # 3 private persons (no structure).
    for _ in range(3):
        checked_in(event, f"Personne {n}", category=acteur, commune=communes["82037"])
        n += 1
    # Registered but absent / excused: not in the figures of the present.
    checked_in(
        event, "Absent", Attendance.ABSENT, category=acteur, structure=StructureFactory(name="Absente")
    )
    checked_in(event, "Excusé", Attendance.EXCUSED, category=collectivite, is_elected=True)
    return event


def test_report_reproduces_the_bouillon_figures(bouillon):
    report = event_report(bouillon)

    assert report.present == 50
    assert report.registered == 52
    assert report.structures_count == 21
    assert report.partners_count == 7
    assert report.elected_present == 1
    assert (report.absent, report.excused) == (1, 1)
    assert "Café Pluche" in report.structures and "CAFE PLUCHE" not in report.structures
    assert "Absente" not in report.structures
    by_category = {line.label: (line.registered, line.present) for line in report.categories}
    assert by_category == {"Acteur de l'ESS": (44, 43), "Collectivité": (8, 7)}
    assert dict(report.communes)["Nontron (24)"] == 36
    assert dict(report.epcis)["CC du Quercy Caussadais"] == 3


def test_report_counts_follow_the_attendance_data_exactly(bouillon):
    """Changing one tick changes the figures by exactly one."""
    before = event_report(bouillon)
    registration = bouillon.registrations.get(full_name="Absent")
    services.registration_set_attendance(registration=registration, attendance=Attendance.PRESENT, actor=None)

    after = event_report(bouillon)

    assert after.present == before.present + 1
    assert after.absent == before.absent - 1
    assert after.structures_count == before.structures_count + 1
    assert after.registered == before.registered


def test_walk_ins_are_present_but_not_registered(bouillon):
    before = event_report(bouillon)
    services.registration_walk_in(event=bouillon, full_name="Venu sans inscription", actor=None)
    after = event_report(bouillon)
    assert (after.present, after.registered, after.walk_ins) == (before.present + 1, before.registered, 1)


def test_cancelled_and_waiting_are_not_registered():
    event = make_event(capacity=1)
    first = services.registration_create(event=event, full_name="A", email="a@exemple.fr")
    services.registration_create(event=event, full_name="B", email="b@exemple.fr")
    services.registration_cancel(registration=first)
    report = event_report(event)
    assert (report.registered, report.cancelled, report.waiting) == (1, 1, 0)
    assert event.registrations.get(email="b@exemple.fr").status == RegistrationStatus.OFFERED


def test_programme_report_totals_its_events(communes):
    programme = services.programme_save(title="Mois de l'ESS 2014 — Pays Midi-Quercy", actor=None)
    totals = []
    for days, count in ((3, 4), (10, 2), (20, 3)):
        event = make_event(title=f"Rendez-vous {days}", programme=programme, days=days)
        for n in range(count):
            checked_in(event, f"P{days}-{n}")
        totals.append(count)
    make_event(title="Hors programme")

    report = programme_report(programme)

    assert report.present == sum(totals)
    assert [present for _, _, present in report.per_event] == totals


def _csv_rows(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig")), delimiter=";"))


def test_csv_and_xlsx_exports_hold_the_report_figures(client, bouillon):
    client.force_login(FacilitatorFactory())
    report = event_report(bouillon)
    csv_rows = {
        row[0]: row[1]
        for row in _csv_rows(client.get(reverse("events:report_export", args=[bouillon.slug, "csv"])).content)
        if len(row) == 2
    }
    workbook = load_workbook(
        io.BytesIO(client.get(reverse("events:report_export", args=[bouillon.slug, "xlsx"])).content)
    )
    xlsx_rows = {
        row[0]: row[1] for row in workbook.active.iter_rows(values_only=True) if row[0] and len(row) > 1
    }

    for label, value in (
        ("Présents", report.present),
        ("Inscrits", report.registered),
        ("Structures représentées", report.structures_count),
        ("Partenaires représentés", report.partners_count),
        ("Élus présents", report.elected_present),
    ):
        assert csv_rows[label] == str(value)
        assert xlsx_rows[label] == value

    pdf = client.get(reverse("events:report_export", args=[bouillon.slug, "pdf"]))
    assert pdf.content.startswith(b"%PDF")


def test_exports_neutralise_formulas(client):
    event = make_event()
    checked_in(event, "Pirate", structure_name='=HYPERLINK("http://example.com")')
    client.force_login(FacilitatorFactory())
    rows = _csv_rows(client.get(reverse("events:report_export", args=[event.slug, "csv"])).content)
    cells = [cell for row in rows for cell in row]
    assert '\'=HYPERLINK("http://example.com")' in cells
    assert not any(cell.startswith("=") for cell in cells)
    workbook = load_workbook(
        io.BytesIO(client.get(reverse("events:report_export", args=[event.slug, "xlsx"])).content)
    )
    values = [
        cell for row in workbook.active.iter_rows(values_only=True) for cell in row if isinstance(cell, str)
    ]
    assert not any(value.startswith("=") for value in values)


def test_report_page_shows_the_figures_and_saves_the_narrative(client, bouillon):
    client.force_login(FacilitatorFactory())
    url = reverse("events:report", args=[bouillon.slug])
    html = client.get(url).content.decode()
    assert '<td data-figure="present">50</td>' in html
    assert '<td data-figure="structures">21</td>' in html
    client.post(url, {"narrative": "Une véritable envie des acteurs de travailler ensemble."})
    bouillon.refresh_from_db()
    assert bouillon.narrative.startswith("Une véritable envie")


# --- Answers to the custom questions in the exports --------------------------------------------------------


@pytest.fixture
def answered_event():
    """An event with a yes/no and a multiple-choice question, answered by three registered people and one
    person on the waiting list (not counted, like in the report page's tally)."""
    event = make_event(capacity=3)
    services.category_add(event=event, label="Université & recherche")
    category = event.categories.get()
    lunch = questions.question_save(event=event, actor=None, label="Repas sur place ?", kind="yes_no")
    visits = questions.question_save(
        event=event,
        actor=None,
        label="Visites & ateliers",
        kind=QuestionKind.MULTIPLE_CHOICE,
        choices="Ressourcerie\nJardin partagé",
    )
    for n, (meal, picked) in enumerate(
        [("oui", ["Ressourcerie"]), ("oui", ["Ressourcerie", "Jardin partagé"]), ("non", []), ("oui", [])]
    ):
        services.registration_create(
            event=event,
            full_name=f"Personne {n}",
            email=f"p{n}@exemple.fr",
            category=category,
            answers={lunch.pk: meal, visits.pk: picked},
        )
    return event


EXPECTED_TALLY_ROWS = [
    ["Repas sur place ?", "oui", 2],
    ["Repas sur place ?", "non", 1],
    ["Repas sur place ?", "Total des réponses", 3],
    ["Visites & ateliers", "Ressourcerie", 2],
    ["Visites & ateliers", "Jardin partagé", 1],
    ["Visites & ateliers", "Total des réponses", 2],
]


def test_csv_and_xlsx_exports_hold_the_answers_tally(client, answered_event):
    client.force_login(FacilitatorFactory())
    url = reverse("events:report_export", args=[answered_event.slug, "csv"])
    csv_rows = [
        row
        for row in _csv_rows(client.get(url).content)
        if len(row) == 3 and row[0] not in ("Catégorie", "Université & recherche")
    ]
    workbook = load_workbook(
        io.BytesIO(client.get(reverse("events:report_export", args=[answered_event.slug, "xlsx"])).content)
    )
    xlsx_rows = [
        [cell for cell in row if cell is not None]
        for row in workbook.active.iter_rows(values_only=True)
        if row[2] is not None and row[0] not in ("Catégorie", "Université & recherche")
    ]

    assert csv_rows[0] == ["Question", "Réponse", "Nombre"]
    assert csv_rows[1:] == [[label, option, str(n)] for label, option, n in EXPECTED_TALLY_ROWS]
    assert xlsx_rows[0] == ["Question", "Réponse", "Nombre"]
    assert xlsx_rows[1:] == EXPECTED_TALLY_ROWS


def test_pdf_export_holds_the_answers_tally_and_prints_labels_unescaped(client, answered_event):
    client.force_login(FacilitatorFactory())
    pdf = client.get(reverse("events:report_export", args=[answered_event.slug, "pdf"])).content
    text = " ".join(pdf_page_texts(pdf))

    assert "Visites & ateliers" in text and "Ressourcerie" in text and "Total des r" in text
    # Table cells print their text as is: the category "Université & recherche" must not show "&amp;".
    assert "&amp;" not in text
