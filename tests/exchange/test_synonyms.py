"""Synonym groups: the facilitators' page and service, query expansion in search, equivalences in
matching (both databases)."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from essaim.actors.search import stem
from essaim.exchange.matching import listing_suggestions
from essaim.exchange.models import Listing, SynonymGroup
from essaim.exchange.search import current_synonyms
from essaim.exchange.synonyms import synonym_group_delete, synonym_group_save
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory

pytestmark = pytest.mark.django_db


def found(text):
    return sorted(listing.title for listing in Listing.objects.listed().search(text))


def test_default_groups_are_seeded():
    assert SynonymGroup.objects.filter(words__startswith="local, salle, bureau").exists()
    assert stem("salle") in current_synonyms().alternatives(stem("local"))


def test_service_cleans_and_validates_in_french():
    group = synonym_group_save(words=" Navette ; minibus,\nNAVETTE , Car ", actor=None)
    assert group.words == "navette, minibus, car"

    with pytest.raises(ValidationError) as error:
        synonym_group_save(words="solitaire", actor=None)
    assert error.value.message_dict["words"] == ["Indiquez au moins deux mots séparés par des virgules."]
    with pytest.raises(ValidationError) as error:
        synonym_group_save(words="tiers-lieu, coworking", actor=None)
    assert "« tiers-lieu » n'est pas un mot seul" in error.value.message_dict["words"][0]

    synonym_group_save(words="navette, bus", group=group, actor=None)
    group.refresh_from_db()
    assert group.words == "navette, bus"


def test_search_expands_query_words_with_their_synonyms(people):
    make_listing(structure=people["structure"], title="Salle de réunion")
    make_listing(structure=people["structure"], title="Bureau à partager")
    make_listing(structure=people["structure"], title="Minibus")

    assert found("local") == ["Bureau à partager", "Salle de réunion"]
    assert found("locaux") == ["Bureau à partager", "Salle de réunion"]  # stemmed, then expanded
    assert found("espaces reunion") == ["Salle de réunion"]  # each word (or a synonym) must match
    assert found("navette") == []

    synonym_group_save(words="navette, minibus", actor=None)
    assert found("navettes") == ["Minibus"]

    synonym_group_delete(group=SynonymGroup.objects.get(words__startswith="local, salle"), actor=None)
    assert found("local") == []


def test_matching_counts_synonyms_as_close_words_with_their_reason(people, communes):
    need = make_listing(
        structure=StructureFactory(commune=communes["Caussade"]),
        direction="need",
        kind="premises",
        title="Cherche un local",
    )
    offer = make_listing(
        structure=StructureFactory(commune=communes["Montauban"]), kind="premises", title="Salle à louer"
    )
    other = make_listing(
        structure=StructureFactory(commune=communes["Montauban"]), kind="premises", title="Grange"
    )

    suggestions = listing_suggestions(listing=need)
    assert [s.listing for s in suggestions] == [offer, other]
    assert "mots proches : local ≈ salle" in suggestions[0].reasons
    assert not any("mots proches" in reason for reason in suggestions[1].reasons)

    synonym_group_delete(group=SynonymGroup.objects.get(words__startswith="local, salle"), actor=None)
    suggestions = listing_suggestions(listing=need)
    assert not any("mots proches" in reason for reason in suggestions[0].reasons)


def test_facilitator_page_lists_adds_edits_and_deletes(client, people):
    url = reverse("exchange:synonyms")
    assert client.get(url).status_code == 404
    client.force_login(people["member"])
    assert client.get(url).status_code == 404
    client.force_login(people["facilitator"])
    response = client.get(url)
    assert response.status_code == 200
    assert "local, salle, bureau, espace, lieu" in response.content.decode()

    response = client.post(url, {"words": "seul"})
    assert response.status_code == 200
    content = response.content.decode()
    assert "Indiquez au moins deux mots séparés par des virgules." in content
    assert 'aria-invalid="true"' in content
    assert not SynonymGroup.objects.filter(words="seul").exists()

    response = client.post(url, {"words": "Navette, minibus"})
    assert response.status_code == 302
    group = SynonymGroup.objects.get(words="navette, minibus")

    edit = reverse("exchange:synonym_edit", args=[group.pk])
    assert client.get(edit).status_code == 200
    response = client.post(edit, {"words": "navette, car, autocar"})
    assert response.status_code == 302
    group.refresh_from_db()
    assert group.words == "navette, car, autocar"

    delete = reverse("exchange:synonym_delete", args=[group.pk])
    assert client.get(delete).status_code == 405
    assert client.post(delete).status_code == 302
    assert not SynonymGroup.objects.filter(pk=group.pk).exists()
