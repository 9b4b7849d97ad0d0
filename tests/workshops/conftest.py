import pytest

from essaim.workshops import services
from essaim.workshops.models import Phase
from tests.factories import FacilitatorFactory


def make_consultation(
    *, phase=Phase.PREPARATION, items=("Besoin A", "Besoin B", "Besoin C"), owner=None, **budget
):
    """A consultation with ``items`` (accepted), brought to ``phase`` through the services."""
    owner = owner or FacilitatorFactory()
    consultation = services.consultation_create(
        title="Bouillon de test", slug=f"bouillon-{owner.pk}", owner=owner, actor=owner, **budget
    )
    for title in items:
        services.item_create(consultation=consultation, title=title, actor=owner)
    order = [Phase.PREPARATION, Phase.OPEN, Phase.CLOSED, Phase.PUBLISHED]
    for step in order[1 : order.index(phase) + 1]:
        services.consultation_set_phase(consultation=consultation, phase=step, actor=owner)
    consultation.refresh_from_db()
    return consultation


@pytest.fixture
def consultation_factory(db):
    return make_consultation
