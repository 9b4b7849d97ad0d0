import pytest

from essaim.territories.models import Commune


def codes(text, **kwargs):
    return [commune.code for commune in Commune.objects.search(text, **kwargs)]


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text", ["ramonville", "RAMONVILLE", "Ramonville-Saint-Agne", "ramonville st agne", "31520"]
)
def test_search_finds_ramonville_by_name_or_postal_code(territories, text):
    assert codes(text)[0] == "31446"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "text", ["st etienne", "Saint-Étienne", "SAINT ETIENNE", "saint-etienne", "ST-ÉTIENNE"]
)
def test_search_is_insensitive_to_accents_case_hyphens_and_abbreviations(territories, text):
    # Exact match first, then the longer name that starts the same way.
    assert codes(text) == ["42218", "82075"]


@pytest.mark.django_db
def test_ranking_exact_then_prefix_then_word_prefix_then_contains_then_population(territories):
    # "toul": Toul (exact), Toulouse (prefix), then "contains" (Montoulieu).
    assert codes("toul") == ["54528", "31555", "54999"]
    # "etienne" starts no name but starts a word: the bigger Saint-Étienne comes first.
    assert codes("etienne") == ["42218", "82075"]
    # Prefix matches are ordered by population, before a match inside a word ("tulmont").
    assert codes("mont") == ["82121", "54999", "82075"]
    # All four levels: prefix (by population), word prefix ("Tolosan"), inside a word ("Montoulieu").
    assert codes("to") == ["31555", "54528", "31113", "54999"]


@pytest.mark.django_db
def test_partial_words_in_any_order(territories):
    assert codes("agne ramon") == ["31446"]
    assert codes("tolo") == ["31113"]


@pytest.mark.django_db
def test_postal_code_prefix_and_mixed_input(territories):
    assert codes("310") == ["31555"]
    assert set(codes("31")) == {"31555", "31446", "31113", "31149"}
    assert codes("31") == ["31555", "31149", "31446", "31113"]
    assert codes("82 montauban") == ["82121"]


@pytest.mark.django_db
@pytest.mark.parametrize("text", ["", " ", "a", "-", "é", "xyzzy", "99999", "31 82"])
def test_search_without_match_or_too_short_is_empty(territories, text):
    assert codes(text) == []


@pytest.mark.django_db
def test_search_limit(territories):
    assert len(codes("a", limit=None)) == 0
    assert len(codes("t", limit=None)) == 0
    assert codes("to", limit=2) == ["31555", "54528"]
    assert len(codes("to", limit=None)) == 4
