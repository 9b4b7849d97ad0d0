"""Full-text search of offers and needs (both databases): stemming, accents, description and themes,
relevance, index freshness, the public list."""

import pytest
from django.core.paginator import Paginator
from django.urls import reverse

from essaim.exchange import services
from essaim.exchange.models import Listing
from essaim.exchange.search import listing_filter_terms, listing_search
from essaim.territories.services import perimeter_save
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db


def found(text, queryset=None):
    return sorted(listing.title for listing in Listing.objects.listed().search(text))


def test_stems_accents_and_case_are_ignored(people):
    make_listing(structure=people["structure"], title="Salle de réunion")
    make_listing(structure=people["structure"], title="Coopérative de matériel")
    make_listing(structure=people["structure"], title="Minibus")

    assert found("salles") == ["Salle de réunion"]
    assert found("SALLE REUNIONS") == ["Salle de réunion"]
    assert found("coopératives") == ["Coopérative de matériel"]
    assert found("cooperative") == ["Coopérative de matériel"]
    assert found("réun") == ["Salle de réunion"]  # the last word is also a prefix (search as you type)
    assert found("salle minibus") == []  # every word must match
    assert found("") == ["Coopérative de matériel", "Minibus", "Salle de réunion"]


def test_description_and_themes_are_searched(people, themes):
    make_listing(
        structure=people["structure"],
        title="Prêt ponctuel",
        description="Un vidéoprojecteur et un écran pour vos assemblées générales.",
        themes=[themes["culture"]],
    )
    make_listing(structure=people["structure"], title="Autre chose", themes=[themes["emploi"]])

    assert found("videoprojecteurs") == ["Prêt ponctuel"]
    assert found("assemblee generale") == ["Prêt ponctuel"]
    assert found("culture") == ["Prêt ponctuel"]


def test_only_the_given_selection_is_searched(people):
    make_listing(structure=people["structure"], title="Salle publiée")
    make_listing(structure=people["structure"], title="Salle en brouillon", publish=False)

    assert found("salle") == ["Salle publiée"]
    assert [item.title for item in listing_search(text="salle")] == ["Salle publiée"]
    drafts = Listing.objects.filter(status="draft")
    assert [item.title for item in listing_search(text="salle", queryset=drafts)] == ["Salle en brouillon"]


def test_index_follows_updates_of_title_description_and_themes(people, themes):
    listing = make_listing(structure=people["structure"], title="Camion frigorifique")
    assert found("camion") == ["Camion frigorifique"]

    services.listing_update(listing=listing, actor=None, title="Remorque", description="Pour les marchés.")
    assert found("camion") == []
    assert found("remorques") == ["Remorque"]
    assert found("marche") == ["Remorque"]

    services.listing_update(listing=listing, actor=None, themes=[themes["alimentation"]])
    assert found("alimentation") == ["Remorque"]
    services.listing_update(listing=listing, actor=None, themes=[])
    assert found("alimentation") == []


def test_best_matches_come_first(people):
    make_listing(structure=people["structure"], title="Matériel divers", description="Dont une tente.")
    make_listing(
        structure=people["structure"],
        title="Tente de réception",
        description="Grande tente, tente pliante et tente de stockage.",
    )
    make_listing(structure=people["structure"], title="Sans rapport")

    ranked = [item.title for item in Listing.objects.listed().search("tente")]
    assert ranked == ["Tente de réception", "Matériel divers"]
    page = Paginator(listing_search(text="tentes"), 1).get_page(1)
    assert page.paginator.count == 2
    assert [item.title for item in page.object_list] == ["Tente de réception"]
    second = Paginator(listing_search(text="tentes"), 1).get_page(2)
    assert [item.title for item in second.object_list] == ["Matériel divers"]


def titles(response):
    return [listing.title for listing in response.context["page"].object_list]


def test_public_list_searches_full_text_by_relevance(client, people, themes):
    make_listing(structure=people["structure"], title="Matériel", description="Une salle aussi.")
    make_listing(structure=people["structure"], title="Salle de réunion", description="Grande salle claire.")
    make_listing(
        structure=people["structure"],
        title="Paniers",
        direction="need",
        kind="group_purchase",
        themes=[themes["alimentation"]],
    )

    response = client.get(reverse("exchange:list"), {"q": "salles", "territoire": "tous"})
    assert response.status_code == 200
    assert titles(response) == ["Salle de réunion", "Matériel"]
    response = client.get(reverse("exchange:list"), {"q": "salles", "sens": "need", "territoire": "tous"})
    assert titles(response) == []
    response = client.get(
        reverse("exchange:list"), {"q": "alimentation", "theme": "alimentation", "territoire": "tous"}
    )
    assert titles(response) == ["Paniers"]
    # HTMX gets the results partial with the same order.
    response = client.get(
        reverse("exchange:list"), {"q": "salle", "territoire": "tous"}, headers={"HX-Request": "true"}
    )
    assert titles(response) == ["Salle de réunion", "Matériel"]


def test_matches_beyond_the_ranked_window_follow_newest_first(people, monkeypatch):
    from essaim.exchange import search

    monkeypatch.setattr(search, "RANK_WINDOW", 2)
    oldest = make_listing(structure=people["structure"], title="Tente tente tente")
    middle = make_listing(structure=people["structure"], title="Tente")
    newer = make_listing(structure=people["structure"], title="Tente pliante")
    newest = make_listing(structure=people["structure"], title="Tente, tente de réception")

    result = listing_search(text="tente")
    assert result.count() == 4
    # The two newest ranked by relevance, then the others newest first (however relevant).
    assert [item.pk for item in result[0:4]] == [newest.pk, newer.pk, middle.pk, oldest.pk]
    assert [item.pk for item in result[3:4]] == [oldest.pk]


def test_listings_follow_their_structure_when_its_card_moves(communes, people):
    """Listings copy their structure's point for the distance pre-filter: a card moved (here to another
    commune, then to its own point) moves its listings, whoever changed it."""
    from essaim.actors.services import structure_update

    structure = people["structure"]
    structure_update(structure=structure, actor=None, commune=communes["Caussade"])
    listing = make_listing(structure=structure)
    assert (listing.latitude, listing.longitude) == (44.161, 1.537)

    assert listing.commune == communes["Caussade"]

    structure_update(structure=structure, actor=None, commune=communes["Nontron"])
    assert Listing.objects.values_list("latitude", "longitude").get(pk=listing.pk) == (45.529, 0.662)
    # The commune too, hence the territory filter of the list.
    assert Listing.objects.get(pk=listing.pk).commune == communes["Nontron"]
    nontron = perimeter_save(slug="nontron", name="Nontron", kind="custom", commune_codes=["24311"])
    caussade = perimeter_save(slug="caussade", name="Caussade", kind="custom", commune_codes=["82037"])
    assert list(Listing.objects.in_perimeter(nontron)) == [listing]
    assert list(Listing.objects.in_perimeter(caussade)) == []

    # The text index holds the territory too: a search within a perimeter follows the move.
    def found_in(perimeter):
        queryset = Listing.objects.listed().in_perimeter(perimeter)
        terms = listing_filter_terms(perimeter=perimeter)
        return [item.pk for item in listing_search(text="camion", queryset=queryset, terms=terms)]

    assert found_in(nontron) == [listing.pk] and found_in(caussade) == []
    structure_update(structure=structure, actor=None, commune=communes["Caussade"])
    assert found_in(nontron) == [] and found_in(caussade) == [listing.pk]
    structure_update(structure=structure, actor=None, latitude=44.5, longitude=1.0)
    assert Listing.objects.values_list("latitude", "longitude").get(pk=listing.pk) == (44.5, 1.0)


def test_listings_leave_the_lists_with_their_structure_and_come_back_with_it(people):
    """Listings carry a copy of « structure published »: every status change of the card updates it, also
    for a card without any point or commune (which never moves on the map)."""
    from essaim.actors.services import structure_archive, structure_publish, structure_restore

    structure = people["structure"]
    assert structure.point is None  # the case the map never sees
    listing = make_listing(structure=structure, title="Salle de réunion")
    other = make_listing(structure=StructureFactory(name="Autre"), title="Salle des fêtes")
    assert found("salle") == ["Salle de réunion", "Salle des fêtes"]

    structure_archive(structure=structure, actor=None)
    assert found("salle") == ["Salle des fêtes"]
    assert list(Listing.objects.listed()) == [other]
    structure_restore(structure=structure, actor=None)
    assert found("salle") == ["Salle des fêtes"]
    structure_publish(structure=structure, actor=None)
    assert found("salle") == ["Salle de réunion", "Salle des fêtes"]
    assert Listing.objects.get(pk=listing.pk).structure_published


def test_a_merged_away_structure_takes_its_listings_off_the_lists(people):
    from essaim.actors.duplicates import structures_merge

    keep, remove = people["structure"], StructureFactory(name="Épicerie solidaire bis")
    make_listing(structure=remove, title="Salle de réunion")
    assert found("salle") == ["Salle de réunion"]

    structures_merge(keep=keep, remove=remove, field_choices={}, actor=None)
    # The listing moved to the card that stays, still listed; none is left on the archived one.
    assert list(Listing.objects.listed().values_list("structure_id", flat=True)) == [keep.pk]


def test_filter_terms_follow_the_listing_kind_direction_and_themes(people, themes):
    listing = make_listing(structure=people["structure"], title="Salle de réunion", kind="premises")
    make_listing(structure=people["structure"], title="Salle à louer", direction="need", kind="premises")

    def with_terms(**filters):
        queryset = Listing.objects.listed()
        for field, value in (("direction", filters.get("direction")), ("kind", filters.get("kind"))):
            if value:
                queryset = queryset.filter(**{field: value})
        theme_ids = filters.get("theme_ids")
        if theme_ids is not None:
            queryset = queryset.filter(themes__in=theme_ids).distinct()
        terms = listing_filter_terms(**filters)
        return sorted(item.title for item in listing_search(text="salle", queryset=queryset, terms=terms))

    assert with_terms(kind="premises") == ["Salle de réunion", "Salle à louer"]
    assert with_terms(direction="need") == ["Salle à louer"]
    assert with_terms(kind="equipment") == []
    assert with_terms(theme_ids=[themes["culture"].pk]) == []

    # The terms are rewritten with the listing: another kind, a theme.
    services.listing_update(listing=listing, actor=None, kind="equipment", themes=[themes["culture"]])
    assert with_terms(kind="equipment") == ["Salle de réunion"]
    assert with_terms(direction="offer", kind="premises") == []
    assert with_terms(theme_ids=[themes["culture"].pk, themes["emploi"].pk]) == ["Salle de réunion"]


def test_the_count_stops_at_the_cap_and_pages_keep_the_newest_first(client, people, monkeypatch):
    from essaim.exchange import search

    monkeypatch.setattr(search, "COUNT_CAP", 4)
    monkeypatch.setattr(search, "RANK_WINDOW", 2)
    monkeypatch.setattr(search, "WINDOW_SPAN", 2)  # PostgreSQL: several id ranges are read
    listings = [make_listing(structure=people["structure"], title=f"Tente n° {n}") for n in range(6)]
    make_listing(structure=people["structure"], title="Camion")

    result = listing_search(text="tente")
    assert result.count() == 4 and result.capped
    # The two newest, then the next two newest: the two oldest are past the cap.
    assert {item.pk for item in result[0:2]} == {listings[5].pk, listings[4].pk}
    assert [item.pk for item in result[2:4]] == [listings[3].pk, listings[2].pk]
    assert [item.pk for item in Paginator(result, 3).get_page(2).object_list] == [listings[2].pk]

    response = client.get(reverse("exchange:list"), {"q": "tente", "territoire": "tous"})
    assert "Plus de 4 annonces" in response.content.decode()
    response = client.get(reverse("exchange:list"), {"q": "camion", "territoire": "tous"})
    assert "Plus de" not in response.content.decode()
    assert response.context["page"].paginator.count == 1
    # Without text too: newest published first, counted up to the cap.
    response = client.get(reverse("exchange:list"), {"territoire": "tous"})
    assert "Plus de 4 annonces" in response.content.decode()
    assert titles(response)[:2] == ["Camion", "Tente n° 5"]


def test_searches_with_no_match_under_the_filters_give_no_typo_guess(people):
    """A word known to the index but absent under the filters finds nothing, rather than « close » words."""
    make_listing(structure=people["structure"], title="Salle de réunion", kind="premises")
    make_listing(structure=people["structure"], title="Sable pour chantier", kind="equipment")

    queryset = Listing.objects.listed().filter(kind="equipment")
    terms = listing_filter_terms(kind="equipment")
    assert list(listing_search(text="salle", queryset=queryset, terms=terms)) == []


def test_whole_words_first_then_the_last_word_as_a_prefix(people):
    make_listing(structure=people["structure"], title="Camion frigorifique")
    make_listing(structure=people["structure"], title="Camions bennes")
    make_listing(structure=people["structure"], title="Camionnette à prêter")

    # « camion » is a whole word (stemmed: « camions » too); as a prefix it would also bring the camionnette.
    assert found("camion") == ["Camion frigorifique", "Camions bennes"]
    assert found("camionnett") == ["Camionnette à prêter"]  # stemmed as « camionnette » is
    assert found("frigorifique cam") == ["Camion frigorifique"]  # no whole word « cam »: a prefix


def test_words_held_only_by_hidden_listings_do_not_stop_the_prefix(people):
    """A draft's whole word must not hide the published listings its prefix finds."""
    make_listing(structure=people["structure"], title="Plomberie et sanitaires")
    make_listing(structure=people["structure"], title="Tuyaux en plomb", publish=False)

    assert found("plomb") == ["Plomberie et sanitaires"]


def test_a_perimeter_without_communes_finds_nothing(client, people):
    make_listing(structure=people["structure"], title="Salle de réunion")
    empty = perimeter_save(slug="vide", name="Périmètre vide", kind="custom")
    assert listing_filter_terms(perimeter=empty) == [[]]

    response = client.get(reverse("exchange:list"), {"q": "salle", "territoire": "vide"})
    assert response.status_code == 200
    assert titles(response) == []
    assert listing_search(text="salle", terms=listing_filter_terms(perimeter=empty)).count() == 0


def test_the_reindex_command_repairs_writes_that_bypassed_the_application(people):
    """After direct SQL (here: a card unpublished and a title changed behind the services' back)."""
    from io import StringIO

    from django.core.management import call_command

    from essaim.actors.models import Structure

    listing = make_listing(structure=people["structure"], title="Salle de réunion")
    Structure.objects.filter(pk=people["structure"].pk).update(status="archived")
    Listing.objects.filter(pk=listing.pk).update(title="Minibus")
    assert found("salle") == ["Minibus"]  # still listed, and found by its stale document

    out = StringIO()
    call_command("listings_reindex", stdout=out)

    assert "1 offre(s) et besoin(s) réindexé(s)" in out.getvalue()
    assert found("salle") == [] and not Listing.objects.listed().exists()
    Structure.objects.filter(pk=people["structure"].pk).update(status="published")
    call_command("listings_reindex", stdout=out)
    assert found("minibus") == ["Minibus"]
