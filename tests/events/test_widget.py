"""The embeddable agenda widget (``/agenda/widget/``): frameable by partners' sites (and only it), no site
layout, links out of the frame; the embed-code page for facilitators and organisers."""

import html as html_lib

import pytest
from django.urls import reverse

from essaim.actors.models import Membership
from essaim.events.models import Visibility
from essaim.territories.models import Perimeter, PerimeterCommune
from tests.events.conftest import make_event
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def csp(response) -> dict[str, str]:
    policy = response["Content-Security-Policy"]
    return {part.split()[0]: part.strip() for part in policy.split(";") if part.strip()}


def test_widget_is_frameable_by_any_site(client):
    response = client.get(reverse("events:widget"))

    assert response.status_code == 200
    assert "X-Frame-Options" not in response
    assert csp(response)["frame-ancestors"] == "frame-ancestors *"
    # The rest of the policy still holds.
    assert csp(response)["script-src"].startswith("script-src 'self'")
    assert csp(response)["default-src"] == "default-src 'self'"
    assert not response.cookies  # nothing for third-party cookie rules to block


@pytest.mark.parametrize(
    "url_name", ["events:list", "events:calendar", "events:map", "events:widget_code", "www:home"]
)
def test_other_pages_are_still_not_frameable(client, url_name):
    client.force_login(FacilitatorFactory())
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert csp(response)["frame-ancestors"] == "frame-ancestors 'none'"


def test_widget_has_no_site_layout_and_links_open_outside_the_frame(client):
    event = make_event(title="Bouillon de territoire")
    html = client.get(reverse("events:widget")).content.decode()

    assert "Bouillon de territoire" in html
    for chrome in (
        'class="site-header"',
        'class="site-footer"',
        "Navigation principale",
        "Se connecter",
        "<script",
    ):
        assert chrome not in html
    detail = f"http://testserver{reverse('events:detail', args=[event.slug])}"
    assert f'<a href="{detail}" target="_blank" rel="noopener">' in html
    assert "(nouvel onglet)" in html
    assert "noindex" in html

    html = client.get(reverse("events:widget"), {"cible": "page"}).content.decode()
    assert f'<a href="{detail}" target="_top">' in html and "nouvel onglet" not in html


def test_widget_shows_the_next_public_events_with_the_filters(client, communes):
    perimeter = Perimeter.objects.create(name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom")
    PerimeterCommune.objects.create(perimeter=perimeter, commune=communes["82037"])
    for index in range(4):
        make_event(title=f"Atelier {index}", commune=communes["82037"], days=3 + index)
    make_event(title="Bouillon de territoire", commune=communes["24311"], days=2)
    make_event(title="Réservé aux membres", visibility=Visibility.MEMBERS, days=2)
    make_event(title="Déjà passé", days=-2)

    client.force_login(UserFactory())  # A signed-in visitor sees the same widget as anyone.
    html = client.get(
        reverse("events:widget"), {"territoire": perimeter.slug, "nombre": "3"}
    ).content.decode()

    assert [f"Atelier {i}" in html for i in range(4)] == [True, True, True, False]
    assert "Bouillon de territoire" not in html and "Réservé aux membres" not in html
    assert "Déjà passé" not in html
    assert "Prochains événements — Pays Midi-Quercy" in html
    assert "/agenda/?territoire=pays-midi-quercy" in html  # "Tout l'agenda" keeps the filters
    # Out-of-range counts are bounded.
    html = client.get(reverse("events:widget"), {"territoire": "tous", "nombre": "9999"}).content.decode()
    assert html.count('class="widget__event"') == 5  # the members-only and past events stay out


def test_embed_code_page_is_for_facilitators_and_organisers(client):
    url = reverse("events:widget_code")
    assert client.get(url).status_code == 302  # sign in first

    client.force_login(UserFactory())
    assert client.get(url).status_code == 404

    organiser = UserFactory()
    structure = StructureFactory()
    make_event(organisers=[structure])
    Membership.objects.create(user=organiser, structure=structure)
    client.force_login(organiser)
    assert client.get(url).status_code == 200


def test_embed_code_carries_the_chosen_filters(client, communes):
    Perimeter.objects.create(name="Pays Midi-Quercy", slug="pays-midi-quercy", kind="custom")
    client.force_login(FacilitatorFactory())

    response = client.get(
        reverse("events:widget_code"),
        {
            "territoire": "pays-midi-quercy",
            "type": "atelier",
            "nombre": "8",
            "cible": "page",
            "hauteur": "600",
        },
    )

    code = html_lib.unescape(response.context["embed_code"])
    assert code.startswith('<iframe src="http://testserver/agenda/widget/?')
    assert "territoire=pays-midi-quercy&type=atelier&nombre=8&cible=page" in code
    assert (
        'height="600"' in code
        and 'title="Agenda de l\'ESS — Pays Midi-Quercy"' in response.context["embed_code"]
    )
    page = response.content.decode()
    assert "readonly data-copy-source" in page
    assert '<iframe class="widget-preview__frame" src="/agenda/widget/?territoire=pays-midi-quercy' in page

    # A bad option falls back to its default instead of breaking the code.
    response = client.get(reverse("events:widget_code"), {"nombre": "500"})
    assert "nombre=5&" in html_lib.unescape(response.context["embed_code"])


def test_feeds_block_links_to_the_embed_code_for_those_who_may_share(client):
    url = reverse("events:list")
    link = f'href="{reverse("events:widget_code")}?territoire=tous"'
    assert link not in client.get(url, {"territoire": "tous"}).content.decode()
    client.force_login(UserFactory())
    assert link not in client.get(url, {"territoire": "tous"}).content.decode()
    client.force_login(FacilitatorFactory())
    assert link in client.get(url, {"territoire": "tous"}).content.decode()
