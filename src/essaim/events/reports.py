"""The report ("bilan") of an event or a programme, computed from registrations and attendance only.

Definitions (stated on the report page too):
- registered: registrations holding a place (confirmed, or offered and not yet confirmed) — walk-ins excluded;
- present: registrations checked in as present (walk-ins included);
- structures represented: distinct structures of the present participants — an Annuaire structure counts
  once, a typed name counts once per spelling (accents and case aside); partners are counted apart;
- partners represented: among those, the structures linked to the event as partner or funder, and the
  Annuaire's public or other partners (collectivités, State services...);
- elected officials present: present participants who ticked "élu ou élue".
"""

from collections import Counter
from dataclasses import dataclass, field

from django.utils import timezone

from essaim.actors.models import Family
from essaim.core.text import normalize
from essaim.events.models import (
    HOLDING_STATUSES,
    PARTNER_ROLES,
    Attendance,
    Event,
    EventStructure,
    Registration,
    RegistrationStatus,
)
from essaim.events.questions import question_tallies

NO_CATEGORY = "Sans catégorie"
NO_COMMUNE = "Non renseignée"
PARTNER_FAMILIES = (Family.PUBLIC, Family.OTHER)


@dataclass
class CategoryLine:
    label: str
    registered: int = 0
    present: int = 0


@dataclass
class QuestionLine:
    """The tally of one choice or yes/no question (see ``events.questions.question_tallies``)."""

    label: str
    counts: list[tuple[str, int]]
    answered: int


@dataclass
class Report:
    title: str
    events: list[Event]
    registered: int = 0
    waiting: int = 0
    cancelled: int = 0
    present: int = 0
    absent: int = 0
    excused: int = 0
    walk_ins: int = 0
    elected_present: int = 0
    structures: list[str] = field(default_factory=list)
    partners: list[str] = field(default_factory=list)
    categories: list[CategoryLine] = field(default_factory=list)
    communes: list[tuple[str, int]] = field(default_factory=list)
    epcis: list[tuple[str, int]] = field(default_factory=list)
    per_event: list[tuple[Event, int, int]] = field(default_factory=list)
    questions: list[QuestionLine] = field(default_factory=list)
    narrative: str = ""

    @property
    def structures_count(self) -> int:
        return len(self.structures)

    @property
    def partners_count(self) -> int:
        return len(self.partners)


def _structure_key(registration: Registration, partner_ids: set[int]) -> tuple[str, str, bool] | None:
    """(dedup key, display name, is partner) of a registration's structure, None for a private person."""
    if registration.structure_id:
        structure = registration.structure
        is_partner = registration.structure_id in partner_ids or structure.family in PARTNER_FAMILIES
        return (f"id:{registration.structure_id}", structure.name, is_partner)
    name = registration.structure_name.strip()
    if not name:
        return None
    return (f"name:{normalize(name)}", name, False)


def report_build(events: list[Event], *, title: str, narrative: str = "") -> Report:
    """The report of ``events`` (one event, or every event of a programme)."""
    report = Report(title=title, events=events, narrative=narrative)
    event_ids = [event.pk for event in events]
    partner_ids = set(
        EventStructure.objects.filter(event_id__in=event_ids, role__in=PARTNER_ROLES).values_list(
            "structure_id", flat=True
        )
    )
    registrations = list(
        Registration.objects.filter(event_id__in=event_ids)
        .select_related("category", "structure", "commune__epci")
        .order_by("pk")
    )
    categories: dict[str, CategoryLine] = {}
    for event in events:
        for category in event.categories.all():
            categories.setdefault(category.label, CategoryLine(category.label))
    structures: dict[str, str] = {}
    partners: dict[str, str] = {}
    communes: Counter[str] = Counter()
    epcis: Counter[str] = Counter()
    per_event = {event.pk: [0, 0] for event in events}
    for registration in registrations:
        label = registration.category.label if registration.category_id else NO_CATEGORY
        holding = registration.status in HOLDING_STATUSES and not registration.is_walk_in
        present = registration.attendance == Attendance.PRESENT
        if registration.status == RegistrationStatus.WAITING:
            report.waiting += 1
        elif registration.status == RegistrationStatus.CANCELLED:
            report.cancelled += 1
        if holding:
            report.registered += 1
            categories.setdefault(label, CategoryLine(label)).registered += 1
            per_event[registration.event_id][0] += 1
        if registration.attendance == Attendance.ABSENT:
            report.absent += 1
        elif registration.attendance == Attendance.EXCUSED:
            report.excused += 1
        if not present:
            continue
        report.present += 1
        per_event[registration.event_id][1] += 1
        categories.setdefault(label, CategoryLine(label)).present += 1
        report.walk_ins += registration.is_walk_in
        report.elected_present += registration.is_elected
        key = _structure_key(registration, partner_ids)
        if key is not None:
            (partners if key[2] else structures).setdefault(key[0], key[1])
        if registration.commune_id:
            communes[str(registration.commune)] += 1
            epci = registration.commune.epci
            epcis[epci.name if epci else NO_COMMUNE] += 1
        else:
            communes[NO_COMMUNE] += 1
    report.structures = sorted(structures.values(), key=normalize)
    report.partners = sorted(partners.values(), key=normalize)
    report.categories = [line for line in categories.values() if line.registered or line.present] or []
    report.communes = sorted(communes.items(), key=lambda item: (-item[1], item[0]))
    report.epcis = sorted(epcis.items(), key=lambda item: (-item[1], item[0]))
    report.per_event = [(event, *per_event[event.pk]) for event in events]
    for event in events:
        for tally in question_tallies(event):
            # A programme's questions belong to each of its events: the event's title tells them apart.
            label = tally.question.label if len(events) == 1 else f"{event.title} — {tally.question.label}"
            report.questions.append(QuestionLine(label, tally.counts, tally.answered))
    return report


def event_report(event: Event) -> Report:
    return report_build([event], title=f"Bilan — {event.title}", narrative=event.narrative)


def programme_report(programme) -> Report:
    events = list(programme.events.order_by("start", "pk"))
    return report_build(events, title=f"Bilan — {programme.title}", narrative=programme.narrative)


def report_rows(report: Report) -> list[list]:
    """The report as rows (label, value...) for CSV and XLSX exports: the same figures as the page."""
    rows: list[list] = [
        [report.title],
        [],
        ["Inscrits", report.registered],
        ["Présents", report.present],
        ["dont venus sans inscription", report.walk_ins],
        ["Absents", report.absent],
        ["Excusés", report.excused],
        ["Liste d'attente", report.waiting],
        ["Inscriptions annulées", report.cancelled],
        ["Élus présents", report.elected_present],
        ["Structures représentées", report.structures_count],
        ["Partenaires représentés", report.partners_count],
        [],
        ["Catégorie", "Inscrits", "Présents"],
        *([line.label, line.registered, line.present] for line in report.categories),
    ]
    if len(report.per_event) > 1:
        rows += [[], ["Événement", "Date", "Inscrits", "Présents"]]
        rows += [
            [e.title, f"{timezone.localtime(e.start):%d/%m/%Y}", reg, pres]
            for e, reg, pres in report.per_event
        ]
    if report.questions:
        rows += [[], ["Réponses aux questions d'inscription (personnes inscrites)"]]
        rows += [["Question", "Réponse", "Nombre"]]
        for line in report.questions:
            rows += [[line.label, option, count] for option, count in line.counts]
            rows.append([line.label, "Total des réponses", line.answered])
    rows += [[], ["Commune des présents", "Présents"], *([name, n] for name, n in report.communes)]
    rows += [[], ["EPCI des présents", "Présents"], *([name, n] for name, n in report.epcis)]
    rows += [[], ["Liste des structures représentées"], *([name] for name in report.structures)]
    rows += [[], ["Liste des partenaires représentés"], *([name] for name in report.partners)]
    if report.narrative:
        rows += [[], ["Bilan rédigé"], [report.narrative]]
    return rows
