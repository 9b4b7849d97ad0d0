import datetime

import pytest
from django.urls import reverse

from essaim.exchange import matching, services
from essaim.exchange.matching import haversine_km, listing_suggestions, structure_suggestions, words
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db

MARCH = {"available_from": datetime.date(2027, 3, 1), "available_until": datetime.date(2027, 3, 31)}


def test_haversine_matches_a_known_distance():
    # Paris to Lyon: about 392 km as the crow flies.
    assert 388 < haversine_km((48.8566, 2.3522), (45.7640, 4.8357)) < 396


def test_words_drops_stop_words_accents_and_short_words():
    assert words("Une salle de réunion pour l'Épicerie") == {"salle", "reunion", "epicerie"}


@pytest.fixture
def need(communes, themes):
    """A need for a meeting room in Caussade, in March 2027, within 30 km."""
    structure = StructureFactory(name="Centre social", commune=communes["Caussade"])
    return make_listing(
        structure=structure,
        direction="need",
        kind="premises",
        title="Salle de réunion",
        description="Pour notre conseil d'administration mensuel.",
        themes=[themes["culture"]],
        radius_km=30,
        **MARCH,
    )


def test_ranking_and_reasons(need, communes, themes):
    montauban = StructureFactory(name="Tiers-lieu", commune=communes["Montauban"])
    caussade = StructureFactory(name="Mairie annexe", commune=communes["Caussade"])
    nontron = StructureFactory(name="Lointaine", commune=communes["Nontron"])
    best = make_listing(
        structure=montauban,
        kind="premises",
        title="Salle de réunion à partager",
        themes=[themes["culture"]],
        available_from=datetime.date(2027, 2, 1),
        available_until=datetime.date(2027, 6, 30),
    )
    second = make_listing(structure=caussade, kind="premises", title="Bureau disponible")
    # Left out: too far, another kind, the same direction, another period, a draft, the same structure.
    make_listing(structure=nontron, kind="premises", title="Salle de réunion", radius_km=1000)
    make_listing(structure=caussade, kind="equipment", title="Salle de réunion")
    make_listing(structure=caussade, direction="need", kind="premises", title="Salle de réunion")
    make_listing(
        structure=caussade, kind="premises", title="Salle", available_until=datetime.date(2027, 1, 31)
    )
    make_listing(structure=caussade, kind="premises", title="Salle de réunion", publish=False)
    make_listing(structure=need.structure, kind="premises", title="Salle de réunion")

    suggestions = listing_suggestions(listing=need)

    assert [s.listing for s in suggestions] == [best, second]
    assert suggestions[0].reasons == [
        "même type : local ou espace",
        "même thème : culture",
        "mots en commun : reunion, salle",
        "à 22 km",
        "disponible en mars 2027",
    ]
    # "bureau" and "salle" are synonyms in the default list: close words, not shared ones.
    assert suggestions[1].reasons == [
        "même type : local ou espace",
        "mots proches : salle ≈ bureau",
        "à 0 km",
        "disponible en mars 2027",
    ]
    assert suggestions[0].score > suggestions[1].score


def test_suggestions_go_both_ways_and_respect_the_smaller_radius(need, communes):
    offer = make_listing(
        structure=StructureFactory(commune=communes["Montauban"]), kind="premises", title="Grande salle"
    )
    assert [s.listing for s in listing_suggestions(listing=offer)] == [need]

    offer = services.listing_update(listing=offer, actor=None, radius_km=10)
    assert listing_suggestions(listing=offer) == []
    assert listing_suggestions(listing=need) == []


def test_structures_without_a_point_are_not_ruled_out(need):
    offer = make_listing(structure=StructureFactory(), kind="premises", title="Salle polyvalente")

    [suggestion] = listing_suggestions(listing=need)

    assert suggestion.listing == offer
    assert suggestion.distance_km is None
    assert not any(reason.startswith("à ") for reason in suggestion.reasons)


def test_limit_keeps_the_best(need, communes):
    for n in range(3):
        make_listing(
            structure=StructureFactory(commune=communes["Caussade"]), kind="premises", title=f"Local {n}"
        )
    best = make_listing(
        structure=StructureFactory(commune=communes["Caussade"]), kind="premises", title="Salle de réunion"
    )

    assert [s.listing for s in listing_suggestions(listing=need, limit=1)] == [best]


def test_suggestions_are_shown_to_the_structure_with_reasons(client, need, communes):
    make_listing(structure=StructureFactory(commune=communes["Montauban"]), kind="premises", title="Salle")
    member = need.structure.memberships.create(user=UserFactory()).user
    client.force_login(member)

    html = client.get(reverse("exchange:detail", args=[need.pk])).content.decode()

    assert "Suggestions de mise en relation" in html
    assert "à 22 km" in html


def test_stems_make_word_forms_shared(need, communes):
    offer = make_listing(
        structure=StructureFactory(commune=communes["Montauban"]),
        kind="premises",
        title="Salles pour réunions mensuelles",
    )

    [suggestion] = listing_suggestions(listing=need)

    assert suggestion.listing == offer
    # "salle" ~ "salles", "reunion" ~ "reunions", "mensuel" ~ "mensuelles": named as the listing writes them.
    assert "mots en commun : mensuel, reunion, salle" in suggestion.reasons


def card(name, commune, *, description="", themes=(), **fields):
    """A published structure with its card text and themes, indexed as the services do."""
    from essaim.actors.search import structures_reindex

    structure = StructureFactory(name=name, commune=commune, description=description, **fields)
    if themes:
        structure.themes.set(themes)
        structures_reindex(ids=[structure.pk])
    return structure


@pytest.mark.parametrize("common_words", [False, True], ids=["text-index", "card-by-card"])
def test_structures_are_suggested_from_their_cards(need, communes, themes, common_words, monkeypatch):
    # Both ways of finding the cards that hold the words give the same suggestions.
    if common_words:
        monkeypatch.setattr(matching, "COMMON_WORDS_MATCHES", 0)
    rooms = card(
        "Tiers-lieu du Quercy", communes["Montauban"], description="Location de bureaux et d'espaces."
    )
    culture = card("Compagnie théâtrale", communes["Caussade"], themes=[themes["culture"]])
    both = card(
        "Maison des associations",
        communes["Caussade"],
        description="Nos salles de réunion accueillent les associations.",
        themes=[themes["culture"]],
    )
    # Left out: too far, no word nor theme in common, not published, already posting a counterpart offer,
    # the listing's own structure.
    card("Salles du Nontronnais", communes["Nontron"], description="Salles de réunion.")
    card("Épicerie", communes["Caussade"], description="Fruits et légumes en vrac.")
    card("Salle fantôme", communes["Caussade"], description="Salle de réunion.", status="draft")
    posting = card("Salle municipale", communes["Caussade"], description="Salle de réunion.")
    make_listing(structure=posting, kind="premises", title="Salle de réunion")

    suggestions = structure_suggestions(listing=need)

    assert [s.structure for s in suggestions] == [both, culture, rooms]
    assert suggestions[0].reasons == ["sur sa fiche : reunion, salle", "même thème : culture", "à 0 km"]
    assert suggestions[1].reasons == ["même thème : culture", "à 0 km"]
    assert suggestions[2].reasons == ["mots proches : salle ≈ bureaux", "à 22 km"]
    assert structure_suggestions(listing=need, limit=1)[0].structure == both


def test_no_structure_suggestion_without_a_point(people):
    listing = make_listing(structure=people["structure"], direction="need", kind="premises", title="Salle")
    card("Salle des fêtes", None, description="Salle de réunion.")

    assert structure_suggestions(listing=listing) == []


def test_structure_suggestions_are_shown_under_the_listing_suggestions(client, need, communes):
    card("Tiers-lieu du Quercy", communes["Montauban"], description="Location de salles.")
    member = need.structure.memberships.create(user=UserFactory()).user

    html = client.get(reverse("exchange:detail", args=[need.pk])).content.decode()
    assert "Structures qui pourraient répondre" not in html  # the public does not see suggestions

    client.force_login(member)
    html = client.get(reverse("exchange:detail", args=[need.pk])).content.decode()
    assert html.index("Suggestions de mise en relation") < html.index("Structures qui pourraient répondre")
    assert "Tiers-lieu du Quercy" in html
    assert "sur sa fiche : salle ; à 22 km" in html
