import io

import pytest
from openpyxl import load_workbook

from essaim.workshops import services
from essaim.workshops.models import Colour, CommentState, Phase
from essaim.workshops.synthesis import synthesis_build, synthesis_markdown, synthesis_pdf, synthesis_xlsx
from tests.factories import UserFactory
from tests.workshops.conftest import make_consultation

pytestmark = pytest.mark.django_db


@pytest.fixture
def consultation():
    consultation = make_consultation(phase=Phase.OPEN, items=("Alpha", "Bêta", "Gamma"))
    alpha, beta, gamma = consultation.items.all()
    owner = consultation.owner
    for _ in range(2):
        voter = services.participant_for_user(consultation=consultation, user=UserFactory())
        services.vote_cast(participant=voter, item=gamma, colour=Colour.GREEN, actor=None)
    services.vote_cast(participant=voter, item=alpha, colour=Colour.RED, actor=None)
    services.paper_tally_set(item=beta, green=1, red=0, actor=owner)
    services.paper_tally_set(item=gamma, green=3, red=1, actor=owner)
    services.comment_post(item=alpha, participant=voter, text='=HYPERLINK("http://x")', actor=None)
    hidden = services.comment_post(item=alpha, participant=voter, text="Masqué", actor=None)
    services.comment_moderate(comment=hidden, state=CommentState.HIDDEN, actor=owner)
    room = services.item_propose(
        consultation=consultation, participant=voter, title="Ruralité | *forte*", actor=None
    )
    services.item_accept(item=room, actor=owner)
    group = services.group_save(consultation=consultation, number=1, actor=owner)
    services.proposal_create(
        group=group, text="Annuaire\nsous-point", items=[gamma], tags=["Mise en réseau"], actor=owner
    )
    services.proposal_create(
        group=group, text="Forum", items=[gamma, alpha], tags=["mise en réseau", "Emploi"], actor=owner
    )
    return consultation


def test_rows_are_sorted_by_green_dots_with_the_split(consultation):
    synthesis = synthesis_build(consultation)
    rows = [
        (r.number, r.title, r.green_online, r.green_paper, r.red_online, r.red_paper)
        for r in synthesis.prepared
    ]
    assert rows == [(3, "Gamma", 2, 3, 0, 1), (2, "Bêta", 0, 1, 0, 0), (1, "Alpha", 0, 0, 1, 0)]
    assert [r.title for r in synthesis.proposed] == ["Ruralité | *forte*"]
    assert [c.text for c in synthesis.rows[2].comments] == ['=HYPERLINK("http://x")']  # hidden one left out
    assert [p.text for p in synthesis.prepared[0].proposals] == ["Annuaire\nsous-point", "Forum"]
    assert synthesis.themes == [("Mise en réseau", 2), ("Emploi", 1)]


def test_xlsx_neutralises_formulas(consultation):
    workbook = load_workbook(io.BytesIO(synthesis_xlsx(synthesis_build(consultation))))
    assert workbook.sheetnames == ["Synthèse", "Commentaires", "Propositions", "Thèmes"]
    first_row = [cell.value for cell in workbook["Synthèse"][2][:5]]
    assert first_row == [3, "Gamma", "identifié en amont", None, 5]
    comment = workbook["Commentaires"]["D2"].value
    assert comment == '\'=HYPERLINK("http://x")'


def test_markdown_escapes_table_markup(consultation):
    markdown = synthesis_markdown(synthesis_build(consultation))
    assert "| 4 | Ruralité \\| \\*forte\\* | 0 | 0 |" in markdown
    assert "| 3 | Gamma | 5 (2 en ligne, 3 papier) | 1 |" in markdown
    assert "- Mise en réseau : 2 propositions" in markdown


def test_pdf_is_a_pdf(consultation):
    assert synthesis_pdf(synthesis_build(consultation)).startswith(b"%PDF-")
