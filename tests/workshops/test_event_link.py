"""A consultation held during an agenda event: linked both ways, only where the viewer may see each side."""

import pytest

from essaim.events.models import EventStatus
from essaim.workshops import services
from essaim.workshops.models import Phase
from tests.events.conftest import make_event
from tests.factories import FacilitatorFactory
from tests.workshops.conftest import make_consultation

pytestmark = pytest.mark.django_db


def _link(consultation, event):
    services.consultation_update(consultation=consultation, actor=consultation.owner, event=event)
    consultation.refresh_from_db()


def test_open_consultation_and_published_event_link_to_each_other(client):
    event = make_event(title="Bouillon de territoire")
    consultation = make_consultation(phase=Phase.OPEN)
    _link(consultation, event)

    page = client.get(f"/ateliers/{consultation.slug}/").content.decode()
    assert f'href="/agenda/{event.slug}/"' in page
    event_page = client.get(f"/agenda/{event.slug}/").content.decode()
    assert f'href="/ateliers/{consultation.slug}/"' in event_page


def test_hidden_sides_are_not_linked(client):
    draft_event = make_event(title="Rencontre en préparation", status=EventStatus.DRAFT)
    consultation = make_consultation(phase=Phase.OPEN)
    _link(consultation, draft_event)
    # A draft event stays hidden from the public consultation page.
    assert (
        f"/agenda/{draft_event.slug}/" not in client.get(f"/ateliers/{consultation.slug}/").content.decode()
    )

    event = make_event(title="Rencontre publiée")
    in_preparation = make_consultation(phase=Phase.PREPARATION, owner=FacilitatorFactory())
    _link(in_preparation, event)
    # A consultation in preparation is not announced on the event page.
    assert f"/ateliers/{in_preparation.slug}/" not in client.get(f"/agenda/{event.slug}/").content.decode()


def test_edit_form_keeps_an_old_linked_event(client):
    old_event = make_event(title="Bouillon 2016", days=-3000)
    consultation = make_consultation(phase=Phase.PREPARATION)
    _link(consultation, old_event)
    client.force_login(consultation.owner)
    form = client.get(f"/ateliers/{consultation.slug}/modifier/").context["form"]
    assert old_event in form.fields["event"].queryset
    assert make_event(title="Trop ancien", days=-3000) not in form.fields["event"].queryset
