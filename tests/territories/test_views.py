import pytest
from django.urls import reverse

from essaim.territories.services import perimeter_save

AUTOCOMPLETE = "/territoires/communes/recherche/"
FINDER = "/territoires/communes/"


def test_urls():
    assert reverse("territories:commune_autocomplete") == AUTOCOMPLETE
    assert reverse("territories:commune_finder") == FINDER
    assert reverse("territories:perimeter_detail", args=["sicoval"]) == "/territoires/perimetres/sicoval/"


@pytest.mark.django_db
def test_autocomplete_json(client, territories):
    response = client.get(AUTOCOMPLETE, {"q": "ramonville"})
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    data = response.json()
    assert data["results"][0] == {
        "code": "31446",
        "name": "Ramonville-Saint-Agne",
        "label": "Ramonville-Saint-Agne (31)",
        "departement": {"code": "31", "name": "Haute-Garonne"},
        "postal_codes": ["31520"],
        "url": FINDER + "?commune=31446",
    }


@pytest.mark.django_db
def test_autocomplete_htmx_partial_is_a_listbox(client, territories, django_assert_max_num_queries):
    with django_assert_max_num_queries(3):
        response = client.get(
            AUTOCOMPLETE, {"q": "st etienne", "listbox": "ville-options"}, HTTP_HX_REQUEST="true"
        )
    html = response.content.decode()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert '<ul role="listbox" id="ville-options"' in html
    assert html.count('role="option"') == 2
    assert 'id="ville-options-1"' in html
    assert 'data-code="42218"' in html and "Loire (42)" in html and "42000, 42100" in html
    assert html.index("42218") < html.index("82075")
    assert "<script" not in html and " style=" not in html


@pytest.mark.django_db
def test_autocomplete_rejects_odd_listbox_ids(client, territories):
    response = client.get(AUTOCOMPLETE, {"q": "toul", "listbox": '"><script>'}, HTTP_HX_REQUEST="true")
    assert 'id="commune-options"' in response.content.decode()
    assert "<script" not in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize("query", ["", "a", " - "])
def test_autocomplete_empty_or_too_short(client, territories, query, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get(AUTOCOMPLETE, {"q": query})
    assert response.json()["results"] == []
    assert "au moins 2 caractères" in response.json()["message"]
    partial = client.get(AUTOCOMPLETE, {"q": query}, HTTP_HX_REQUEST="true").content.decode()
    assert 'role="listbox"' in partial and 'role="option"' not in partial


@pytest.mark.django_db
def test_autocomplete_only_answers_get(client, territories):
    assert client.post(AUTOCOMPLETE, {"q": "toul"}).status_code == 405


@pytest.mark.django_db
def test_finder_page_has_an_accessible_combobox(client, territories):
    html = client.get(FINDER).content.decode()
    assert "<h1>Trouver une commune</h1>" in html
    assert (
        'role="combobox"' in html
        and 'aria-expanded="false"' in html
        and 'aria-controls="commune-options"' in html
    )
    assert 'id="commune-options"' in html and "data-commune-autocomplete" in html
    assert 'data-commune-autocomplete-url="/territoires/communes/recherche/"' in html
    assert '<label for="id_q"' in html
    assert "essaim/js/commune-autocomplete.js" in html and " defer" in html


@pytest.mark.django_db
def test_finder_shows_the_chosen_commune_with_its_territories(client, territories):
    home = perimeter_save(slug="sicoval", name="Sicoval", kind="epci", epci_codes=["243100633"], is_home=True)
    perimeter_save(slug="hg", name="Haute-Garonne", kind="departement", departement_codes=["31"])
    html = client.get(FINDER, {"q": "Ramonville-Saint-Agne (31)", "commune": "31446"}).content.decode()
    for expected in ["Ramonville-Saint-Agne", "CA du Sicoval", "Haute-Garonne (31)", "Occitanie", "31520"]:
        assert expected in html
    assert f'href="/territoires/perimetres/{home.slug}/"' in html
    assert "Sicoval</a> (territoire d'action)" in html
    assert 'href="/territoires/perimetres/hg/"' in html


@pytest.mark.django_db
def test_finder_without_javascript_lists_results(client, territories):
    html = client.get(FINDER, {"q": "toul", "commune": ""}).content.decode()
    assert "Communes trouvées" in html
    assert 'href="/territoires/communes/?commune=54528"' in html
    assert html.index("?commune=54528") < html.index("?commune=31555")


@pytest.mark.django_db
def test_finder_unknown_commune_and_empty_search(client, territories):
    assert "Aucune commune ne correspond" in client.get(FINDER, {"commune": "99999"}).content.decode()
    assert "Aucune commune trouvée" in client.get(FINDER, {"q": "zzzz"}).content.decode()


@pytest.mark.django_db
def test_perimeter_page_lists_communes_and_figures(client, territories, settings):
    perimeter_save(slug="hg", name="Haute-Garonne", kind="departement", departement_codes=["31"])
    response = client.get("/territoires/perimetres/hg/")
    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1>Haute-Garonne</h1>" in html
    assert "<dt>Communes</dt><dd>5</dd>" in html
    # Labastide-Beauvoir has no population: the sum counts the others.
    # 504,078 + 14,877 + 14,000 + 39,968, grouped the French way with a non-breaking space.
    assert "572\u00a0923 habitants" in html
    assert html.index("Castanet-Tolosan") < html.index("Toulouse")


@pytest.mark.django_db
def test_perimeter_page_is_paginated(client, territories, monkeypatch):
    monkeypatch.setattr("essaim.www.territories.views.PERIMETER_PAGE_SIZE", 2)
    perimeter_save(slug="hg", name="Haute-Garonne", kind="departement", departement_codes=["31"])
    page2 = client.get("/territoires/perimetres/hg/", {"page": 2}).content.decode()
    assert "page 2 sur 3" in page2 and 'rel="prev"' in page2 and 'rel="next"' in page2
    assert (
        "Labastide-Beauvoir" in page2
    )  # names sorted: Castanet, Colomiers | Labastide, Ramonville | Toulouse


@pytest.mark.django_db
def test_unknown_perimeter_is_404(client, territories):
    assert client.get("/territoires/perimetres/inconnu/").status_code == 404


@pytest.mark.django_db
def test_home_perimeter_is_in_the_template_context_and_fetched_once(client, territories):
    home = perimeter_save(slug="sicoval", name="Sicoval", kind="epci", epci_codes=["243100633"], is_home=True)
    response = client.get(FINDER)
    lazy = response.context["home_perimeter"]
    assert lazy() == home
    assert lazy() is lazy()  # cached on the request
