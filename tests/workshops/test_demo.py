"""The demo reproduces the Périgord Vert bouillon of 28/11/2016 (seed 001) and its synthesis table."""

from io import StringIO

import pytest
from django.core.management import call_command

from essaim.core.models import AuditLogEntry
from essaim.demo.workshops import load_workshops
from essaim.workshops.models import Comment, Consultation, PaperTally, Phase, Proposal, WorkingGroup
from essaim.workshops.synthesis import synthesis_build, synthesis_markdown
from tests.demo.cog_sample import load_cog_sample
from tests.factories import FacilitatorFactory

pytestmark = pytest.mark.django_db

# The "Tableau synthétique des résultats" of the seed's compte rendu: (n°, need, green dots, red dots), the
# four needs identified beforehand, then the two proposed in the room (the second attached to n°1, no dots).
SEED_TABLE = [
    (1, "Coopération économique entre les acteurs de l'ESS du territoire.", 18, 1, None),
    (2, "Reconnaissance et visibilité des structures de l'ESS.", 18, 0, None),
    (3, "Adaptation aux conséquences de la nouvelle organisation territoriale.", 12, 5, None),
    (4, "Valorisation des emplois et des métiers.", 9, 1, None),
]
SEED_PROPOSED = [
    (5, "Faire reconnaitre une spécificité rurale", 16, 2, None),
    (6, "Accompagner l'émergence de nouveaux projets", 0, 0, 1),
]


@pytest.fixture
def demo(db):
    """The demo workshops alone (the full demo load is exercised once, in the idempotency test)."""
    FacilitatorFactory(email="animation@essaim.example")
    assert load_workshops() == {"created": 1, "unchanged": 0}
    return Consultation.objects.get(slug="bouillon-perigord-vert-2016")


def table(rows):
    return [(r.number, r.title, r.green, r.red, r.parent_number) for r in rows]


def test_demo_synthesis_matches_the_seed_table(demo):
    synthesis = synthesis_build(demo)

    assert demo.phase == Phase.PUBLISHED
    assert table(synthesis.prepared) == SEED_TABLE
    assert table(synthesis.proposed) == SEED_PROPOSED
    # The seed's dots were counted on paper boards.
    assert all(r.green_online == r.red_online == 0 for r in synthesis.rows)
    assert PaperTally.objects.filter(item__consultation=demo).count() == 5


def test_demo_holds_the_annexes(demo):
    synthesis = synthesis_build(demo)
    comments = {row.number: [c.text for c in row.comments] for row in synthesis.rows}
    assert [len(comments[n]) for n in range(1, 7)] == [5, 2, 3, 3, 3, 0]
    assert comments[1][0] == "Se connaitre pour solliciter des acteurs locaux en priorité"
    assert comments[5][-1] == "Ne pas oublier les jeunes, déjà peu nombreux."
    assert [len(g.proposal_list) for g in synthesis.groups] == [6, 6, 3, 2, 3]
    assert synthesis.groups[2].proposal_list[2].text.splitlines()[1] == "Stands sur forum emploi-formation"
    assert synthesis.themes[0][0] == "Interconnaissance et mise en réseau"
    markdown = synthesis_markdown(synthesis)
    assert (
        "| 3 | Adaptation aux conséquences de la nouvelle organisation territoriale. | 12 | 5 |" in markdown
    )


def test_demo_load_brings_the_bouillon_and_is_idempotent(db):
    load_cog_sample()
    call_command("demo_load", stdout=StringIO())
    consultation = Consultation.objects.get(slug="bouillon-perigord-vert-2016")
    assert (consultation.owner.email, consultation.structure.slug) == (
        "animation@essaim.example",
        "pays-perigord-vert",
    )
    counts = (Consultation, WorkingGroup, Proposal, Comment, PaperTally)

    def snapshot():
        return {
            **{model.__name__: model.objects.count() for model in counts},
            "audit": AuditLogEntry.objects.filter(verb__startswith="workshops.").count(),
        }

    before = snapshot()
    call_command("demo_load", stdout=StringIO())
    assert snapshot() == before
    # Every vote-like action of the replayed bouillon is in the audit log: 5 paper entries, 16 post-its.
    assert AuditLogEntry.objects.filter(verb="workshops.paper_tally.set").count() == 5
    assert AuditLogEntry.objects.filter(verb="workshops.comment.posted").count() == 16


def test_demo_synthesis_page_is_public(client, demo):
    html = client.get(f"/ateliers/{demo.slug}/synthese/").content.decode()
    assert "Tableau synthétique des résultats" in html
    assert "Faire reconnaitre une spécificité rurale" in html
