"""Demo events from the seeds, with fictional participants whose attendance reproduces the seeds' figures.

- Mois de l'ESS 2014 in the Pays Midi-Quercy (seed 000): four dates, 38, 21 (3 elected officials), 34 and
  about 40 participants. The seed's article is dated January 2015 and reports on November 2014.
- Périgord Vert "bouillon de territoire" of 28 November 2016 (seed 001): 50 participants, 21 structures and
  7 partners represented. The seed does not say where it took place.
- Club des collectivités engagées pour l'ESS en Occitanie, 30 November 2023 at the Périscope (seed 002): about
  60 participants, two "visites apprenantes" and two parallel workshops. The seed gives the day's hours, not
  the sessions' own hours: those below are the demo's choice.

Participants are fictional ("Participant·e fictif·ve n° 07"), registered by the facilitators (no email), so
no real person's data is made up. The club day's registration form has a custom question (answered by most)
and two participants appear on its public list. Loading twice changes nothing: an event is found by its slug
and gets its participants only when it has none.
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from essaim.actors.models import Structure
from essaim.events import questions, services
from essaim.events.models import Attendance, Event, EventStatus
from essaim.territories.models import Commune

MIDI_QUERCY_PROGRAMME = "mois-ess-2014-pays-midi-quercy"
# The Pays' development council (CDD, on the bouillon's steering committee in the seed): the 7th partner.
CDD_SLUG = "cdd-pays-perigord-vert"


def _at(day: str, hour: str) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.fromisoformat(f"{day}T{hour}"))


@dataclass
class Participants:
    """Who came: ``count`` people spread over ``structures`` (Annuaire slugs, or typed names prefixed "~"),
    ``per_structure`` each, the rest as private persons; the first ``elected`` ones are elected officials."""

    count: int
    structures: tuple[str, ...] = ()
    per_structure: int = 1
    elected: int = 0
    category: str = ""


EVENTS = [
    {
        "slug": "mois-ess-2014-outils-ess",
        "programme": MIDI_QUERCY_PROGRAMME,
        "title": (
            "Découvrir des outils pour l'ESS : financement participatif et évaluation de l'utilité sociale"
        ),
        "kind": "rencontre",
        "start": _at("2014-11-07", "09:00"),
        "end": _at("2014-11-07", "12:30"),
        "place_name": "Maison de l'Emploi Midi-Quercy",
        "commune": "",
        "description": (
            "Rappels sur le mois de l'ESS, « Envie d'entreprendre en Midi-Quercy » et la loi ESS ; le "
            "financement participatif (témoignages du Cabaret du Hasard et du Tracteur savant, plates-formes "
            "Pick&Boost et "
            "BGE 82) ; l'outil en ligne « Evalumip » de l'ADEPES pour évaluer l'utilité sociale d'un projet."
        ),
        "organisers": ["maison-emploi-midi-quercy", "syndicat-mixte-pays-midi-quercy"],
        "supporters": ["cabaret-du-hasard", "le-tracteur-savant", "pick-and-boost", "bge-82", "adepes"],
        "participants": Participants(
            38,
            (
                "cabaret-du-hasard",
                "le-tracteur-savant",
                "pick-and-boost",
                "bge-82",
                "adepes",
                "jades",
                "ozon",
            ),
            per_structure=2,
        ),
    },
    {
        "slug": "mois-ess-2014-collectivites-et-ess",
        "programme": MIDI_QUERCY_PROGRAMME,
        "title": "Collectivités et Économie sociale et solidaire : témoignages et bonnes pratiques",
        "kind": "conference",
        "start": _at("2014-11-21", "09:00"),
        "end": _at("2014-11-21", "12:30"),
        "place_name": "Centre d'art « La cuisine »",
        "commune": "82134",
        "description": (
            "Clauses sociales dans les marchés publics, approvisionnement des cantines en circuits courts, "
            "plateforme d'achat responsable, la SCIC comme outil de coopération pour les collectivités. "
            "Matinée particulièrement destinée aux services publics et aux élus."
        ),
        "organisers": ["maison-emploi-midi-quercy", "syndicat-mixte-pays-midi-quercy"],
        "supporters": ["filiere-paysanne", "bio82", "grand-montauban", "adepes", "arpe-midi-pyrenees"],
        "participants": Participants(
            21, ("grand-montauban", "bio82", "ddcspp-tarn-et-garonne", "centre-art-la-cuisine"), 2, elected=3
        ),
    },
    {
        "slug": "mois-ess-2014-construire-le-vivre-ensemble",
        "programme": MIDI_QUERCY_PROGRAMME,
        "title": "Construire le vivre ensemble : ateliers de rencontre et de partage",
        "kind": "atelier",
        "start": _at("2014-11-28", "09:00"),
        "end": _at("2014-11-28", "18:00"),
        "place_name": "La Cheminée",
        "commune": "82179",
        "description": (
            "Groupes de travail pour nourrir le projet du tiers-lieu « La Chapellerie » ; relations entre "
            "collectivités et associations ; la démarche des Locaux Moteurs et les PTCE."
        ),
        "organisers": ["jades", "ozon"],
        "co_organisers": [
            "ddcspp-tarn-et-garonne",
            "maison-emploi-midi-quercy",
            "syndicat-mixte-pays-midi-quercy",
        ],
        "supporters": ["les-ateliers-castres", "babel-gum"],
        "participants": Participants(
            34,
            ("jades", "ozon", "la-chapellerie", "les-locaux-moteurs", "babel-gum", "les-ateliers-castres"),
            3,
        ),
    },
    {
        "slug": "mois-ess-2014-fete-du-don",
        "programme": MIDI_QUERCY_PROGRAMME,
        "title": "La fête du don : vide cadeaux, café palabre sur la gratuité et disco-soupe",
        "kind": "fete",
        "start": _at("2014-11-29", "14:00"),
        "end": _at("2014-11-29", "23:00"),
        "place_name": "La Cheminée",
        "commune": "82179",
        "description": (
            "Atelier « vide cadeaux et bricolage », café palabre sur la « gratuité », soirée disco-soupe."
        ),
        "organisers": ["jades", "histoires-recyclables", "ozon"],
        "participants": Participants(40, ("jades", "histoires-recyclables", "ozon"), 2),
    },
    {
        "slug": "bouillon-de-territoire-perigord-vert-2016",
        "programme": "",
        "title": "Bouillon de territoire du Périgord Vert",
        "kind": "rencontre",
        "start": _at("2016-11-28", "13:30"),
        "end": _at("2016-11-28", "18:00"),
        "place_name": "Pays Périgord Vert",
        "commune": "",
        "description": (
            "Rencontre d'acteurs de l'ESS du Périgord Vert, animée avec la CRESS Aquitaine : besoins "
            "identifiés, "
            "ateliers sur les outils et solutions à développer ensemble, stands partenaires et collation. "
            "Inscrite dans le mois national de l'ESS."
        ),
        "organisers": ["pays-perigord-vert"],
        "supporters": ["cress-aquitaine", "aquitaine-active", "dla-24", "terre-de-liens", CDD_SLUG],
        "funders": ["region-nouvelle-aquitaine"],
        # 7 partners (one person each) and 21 structures: Café Pluche and 20 employers typed by hand.
        "participants": [
            Participants(
                7,
                (
                    "pays-perigord-vert",
                    "cress-aquitaine",
                    "aquitaine-active",
                    "dla-24",
                    "terre-de-liens",
                    CDD_SLUG,
                    "region-nouvelle-aquitaine",
                ),
                category="Partenaire",
            ),
            Participants(
                43,
                ("cafe-pluche", *(f"~Structure employeuse fictive n° {n:02d}" for n in range(1, 21))),
                per_structure=2,
                category="Acteur de l'ESS",
            ),
        ],
        "categories": ["Acteur de l'ESS", "Partenaire"],
    },
    {
        "slug": "club-collectivites-ess-occitanie-2023",
        "programme": "",
        "title": "Rencontre du club des collectivités engagées pour l'ESS en Occitanie",
        "kind": "rencontre",
        "start": _at("2023-11-30", "09:30"),
        "end": _at("2023-11-30", "16:30"),
        "place_name": "Le Périscope",
        "commune": "31446",
        "description": (
            "Première rencontre en présentiel du club : leviers des collectivités pour identifier et "
            "mobiliser les acteurs de l'ESS, deux visites apprenantes et deux ateliers au choix. Déjeuner "
            "préparé par les "
            "Tabliers Solidaires."
        ),
        "organisers": ["rtes", "cress-occitanie"],
        "co_organisers": ["sicoval"],
        "funders": ["departement-haute-garonne"],
        "capacity": 60,
        "sessions": [
            (
                "Atelier 1 : comment impulser un réseau d'acteurs de l'ESS sur mon territoire ?",
                "10:30",
                "12:30",
                30,
            ),
            ("Atelier 2 : comment animer un réseau d'acteurs ESS ?", "10:30", "12:30", 30),
            ("Visite urbaine : les Ateliers 31, le F@bRiquet, Picojoule", "14:00", "16:30", 30),
            ("Visite péri-urbaine : La Rafistolerie et le 100e Singe", "14:00", "16:30", 30),
        ],
        "categories": ["Collectivité", "Acteur de l'ESS"],
        # A custom question of the registration form (the demo's, not the seed's), answered by most, and
        # two participants who agreed to appear on the public list.
        "question": ("Déjeunerez-vous sur place (buffet au Périscope) ?", "yes_no"),
        "public_listing": 2,
        "participants": [
            Participants(
                60,
                ("sicoval", "toulouse-metropole", "departement-haute-garonne", "ville-ramonville-saint-agne"),
                per_structure=6,
                category="Collectivité",
            )
        ],
    },
]


def _structures(slugs) -> list[Structure]:
    return list(Structure.objects.filter(slug__in=slugs or ()))


def _answer(question, n: int) -> dict:
    """Participant ``n``'s answer to the demo question: "oui" for four in six, "non" for one, none for one."""
    if question is None or n % 6 == 0:
        return {}
    return {question.pk: "non" if n % 3 == 0 else "oui"}


def _register(event: Event, groups: list[Participants], *, question=None, public_listing: int = 0) -> None:
    categories = {category.label: category for category in event.categories.all()}
    sessions = list(event.sessions.all())
    slots = sorted({session.start for session in sessions})
    n = 0
    for group in groups:
        structures = {s.slug: s for s in _structures([k for k in group.structures if not k.startswith("~")])}
        seats = [key for key in group.structures for _ in range(group.per_structure)]
        for i in range(group.count):
            n += 1
            key = seats[i] if i < len(seats) else ""
            chosen = [[s for s in sessions if s.start == slot][n % 2] for slot in slots]
            registration = services.registration_create(
                event=event,
                full_name=f"Participant·e fictif·ve n° {n:02d}",
                category=categories.get(group.category),
                structure=structures.get(key),
                structure_name=key[1:] if key.startswith("~") else "",
                sessions=chosen,
                is_elected=i < group.elected,
                actor=None,
                by_facilitator=True,
                answers=_answer(question, n),
                public_listing=n <= public_listing,
            )
            services.registration_set_attendance(
                registration=registration, attendance=Attendance.PRESENT, actor=None
            )


def demo_events_load() -> dict[str, int]:
    """Create the seed events (idempotent). Returns how many events were created and left unchanged."""
    summary = {"created": 0, "unchanged": 0}
    programme = services.programme_save(
        slug=MIDI_QUERCY_PROGRAMME,
        title="Mois de l'ESS 2014 — Pays Midi-Quercy",
        description=(
            "Quatre rendez-vous organisés en partenariat par la Maison de l'Emploi Midi-Quercy et le "
            "Syndicat "
            "mixte du Pays Midi-Quercy pendant le mois de l'économie sociale et solidaire."
        ),
        actor=None,
    )
    for item in EVENTS:
        if Event.objects.filter(slug=item["slug"]).exists():
            summary["unchanged"] += 1
            continue
        event = services.event_create(
            actor=None,
            slug=item["slug"],
            title=item["title"],
            start=item["start"],
            end=item["end"],
            status=EventStatus.PUBLISHED,
            programme=programme if item["programme"] else None,
            kind=item["kind"],
            description=item["description"],
            place_name=item["place_name"],
            commune=Commune.objects.filter(code=item["commune"]).first() if item["commune"] else None,
            capacity=item.get("capacity"),
            organisers=_structures(item.get("organisers")),
            co_organisers=_structures(item.get("co_organisers")),
            supporters=_structures(item.get("supporters")),
            funders=_structures(item.get("funders")),
        )
        for position, label in enumerate(item.get("categories", ())):
            services.category_add(event=event, label=label, position=position)
        day = item["start"].date().isoformat()
        for title, start, end, capacity in item.get("sessions", ()):
            services.session_add(
                event=event, title=title, start=_at(day, start), end=_at(day, end), capacity=capacity
            )
        question = None
        if item.get("question"):
            label, kind = item["question"]
            question = questions.question_save(event=event, actor=None, label=label, kind=kind)
        groups = item["participants"]
        _register(
            event,
            groups if isinstance(groups, list) else [groups],
            question=question,
            public_listing=item.get("public_listing", 0),
        )
        summary["created"] += 1
    return summary
