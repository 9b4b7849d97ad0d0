import json
import re
from urllib.parse import urlsplit

import pytest
from django.urls import reverse

from tests.factories import UserFactory
from tests.www.html import tags

PAGES = [
    "www:home",
    "www:accessibility",
    "www:legal",
    "www:privacy",
    "www:sitemap",
    "map:map",
    "exchange:list",
    "events:list",
    "workshops:list",
    "www:resources",
]

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("url_name", PAGES)
def test_page_answers_in_french_with_one_h1(client, url_name):
    response = client.get(reverse(url_name))

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert len(tags(html, "h1")) == 1
    assert len(tags(html, "main")) == 1
    assert 'href="#contenu"' in html


@pytest.mark.parametrize("url_name", PAGES)
def test_every_link_of_the_layout_resolves(client, url_name):
    html = client.get(reverse(url_name)).content.decode()
    internal = {
        link["href"]
        for link in tags(html, "a")
        if link.get("href", "").startswith("/") and not link["href"].startswith("//")
    }
    assert reverse("actors:list") in internal
    for href in sorted(internal):
        response = client.get(href)
        assert response.status_code == 200, href


def test_main_navigation_marks_the_current_section(client):
    html = client.get(reverse("map:map")).content.decode()
    current = [link for link in tags(html, "a") if link.get("aria-current")]

    assert [(link["href"], link["aria-current"]) for link in current] == [(reverse("map:map"), "page")]


def test_main_navigation_marks_the_section_of_a_page_inside_it(rf):
    from essaim.www.context_processors import main_nav

    items = {item["label"]: item["current"] for item in main_nav(reverse("events:list") + "2027/")}

    assert items["Agenda"] == "true"
    assert [label for label, current in items.items() if current] == ["Agenda"]


def test_home_has_no_current_section(client):
    html = client.get(reverse("www:home")).content.decode()
    current = [link["href"] for link in tags(html, "a") if link.get("aria-current")]

    assert current == [reverse("www:home")]  # only the site name, which links to the home page


def test_anonymous_visitor_gets_login_and_signup_links(client):
    html = client.get(reverse("www:home")).content.decode()
    hrefs = [link.get("href") for link in tags(html, "a")]

    assert reverse("accounts:login") in hrefs
    assert reverse("accounts:signup") in hrefs
    assert "Se déconnecter" not in html


def test_member_gets_profile_link_and_a_logout_form(client):
    client.force_login(UserFactory())

    html = client.get(reverse("www:home")).content.decode()

    assert reverse("accounts:profile") in [link.get("href") for link in tags(html, "a")]
    logout_forms = [form for form in tags(html, "form") if form.get("action") == reverse("accounts:logout")]
    assert len(logout_forms) == 1
    assert logout_forms[0]["method"] == "post"
    assert reverse("accounts:login") not in [link.get("href") for link in tags(html, "a")]


def test_site_name_comes_from_settings_even_on_django_auth_pages(client, settings):
    settings.ESSAIM_SITE_NAME = "Réseau ESS du Pays Midi-Quercy"

    for url in (reverse("www:home"), reverse("accounts:login")):
        html = client.get(url).content.decode()
        assert re.search(r"<title>[^<]*— Réseau ESS du Pays Midi-Quercy</title>", html), url
        assert "testserver" not in html


def test_htmx_is_configured_without_inline_styles_and_with_the_csrf_token(client):
    response = client.get(reverse("www:home"))
    html = response.content.decode()

    config = [meta for meta in tags(html, "meta") if meta.get("name") == "htmx-config"]
    assert len(config) == 1
    assert '"includeIndicatorStyles": false' in config[0]["content"]
    body = tags(html, "body")[0]
    assert json.loads(body["hx-headers"]) == {"X-CSRFToken": str(response.context["csrf_token"])}
    scripts = [script["src"] for script in tags(html, "script")]
    assert any(src.endswith("vendor/htmx/htmx.min.js") for src in scripts)


def test_legal_pages_show_the_configured_operator(client, settings):
    settings.ESSAIM_OPERATOR_NAME = "Association Pôle ESS Midi-Quercy"
    settings.ESSAIM_OPERATOR_ADDRESS = "1 place de la Mairie\n82800 Nègrepelisse"
    settings.ESSAIM_CONTACT_EMAIL = "contact@pole-ess.example"

    for url_name in ("www:legal", "www:privacy", "www:accessibility"):
        html = client.get(reverse(url_name)).content.decode()
        assert 'href="mailto:contact@pole-ess.example"' in html, url_name
    legal = client.get(reverse("www:legal")).content.decode()
    assert "Association Pôle ESS Midi-Quercy" in legal
    assert "1 place de la Mairie<br>82800 Nègrepelisse" in legal
    assert "ESSAIM_OPERATOR_NAME" not in legal


def test_legal_page_says_when_the_operator_is_not_configured(client, settings):
    settings.ESSAIM_OPERATOR_NAME = ""
    settings.ESSAIM_CONTACT_EMAIL = ""

    html = client.get(reverse("www:legal")).content.decode()

    assert "non renseigné par l'exploitant (réglage ESSAIM_OPERATOR_NAME)" in html
    assert "mailto:" not in html


def test_accessibility_statement_has_the_rgaa_sections(client):
    html = client.get(reverse("www:accessibility")).content.decode()

    for heading in (
        "État de conformité",
        "Contenus non accessibles",
        "Établissement de cette déclaration d'accessibilité",
        "Retour d'information et contact",
        "Voies de recours",
    ):
        assert f"<h2>{heading}</h2>" in html
    assert "partiellement conforme" in html
    assert "Défenseur des droits" in html


def test_section_in_preparation_says_so(client):
    html = client.get(reverse("www:resources")).content.decode()

    assert "<h1>Ressources</h1>" in html
    assert "Rubrique en préparation" in html


def test_footer_links_to_the_legal_pages(client):
    html = client.get(reverse("www:home")).content.decode()
    footer = html[html.index("<footer") :]

    for url_name in ("www:accessibility", "www:legal", "www:privacy", "www:sitemap"):
        assert f'href="{reverse(url_name)}"' in footer


def test_static_assets_of_the_layout_are_served(client):
    html = client.get(reverse("www:home")).content.decode()
    assets = [script["src"] for script in tags(html, "script")]
    assets += [link["href"] for link in tags(html, "link") if link.get("rel") == "stylesheet"]

    assert len(assets) == 4
    for url in assets:
        response = client.get(urlsplit(url).path)
        assert response.status_code == 200, url
        response.close()


def test_privacy_page_states_the_retention_the_purge_applies(client, settings):
    settings.ESSAIM_EMAIL_RETENTION_DAYS = 45
    settings.ESSAIM_LOGIN_LOG_RETENTION_DAYS = 200
    html = client.get(reverse("www:privacy")).content.decode()
    assert "45 jours après leur envoi" in html
    assert "200 jours, puis effacés automatiquement" in html
