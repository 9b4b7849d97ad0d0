from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from essaim.actors.models import Membership
from essaim.core.models import AuditLogEntry
from essaim.exchange import services
from essaim.exchange.models import SharedJobProfile
from essaim.exchange.shared_jobs import (
    MIN_TOTAL_FTE,
    job_key,
    shared_job_groups,
    shared_job_groups_for,
    shared_job_set,
)
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def need(structure, job_title, fte, *, radius_km=30, title="Comptable à temps partagé"):
    listing = make_listing(
        structure=structure, direction="need", kind="shared_job", title=title, radius_km=radius_km
    )
    shared_job_set(listing=listing, actor=None, job_title=job_title, fte=Decimal(fte))
    return listing


@pytest.fixture
def places(communes):
    """Two structures in Caussade, one in Montauban (about 22 km away), one in Nontron (far)."""
    return {
        "caussade_a": StructureFactory(name="Atelier de Caussade", commune=communes["Caussade"]),
        "caussade_b": StructureFactory(name="Bureau de Caussade", commune=communes["Caussade"]),
        "montauban": StructureFactory(name="Café de Montauban", commune=communes["Montauban"]),
        "nontron": StructureFactory(name="Dépôt de Nontron", commune=communes["Nontron"]),
    }


def structures_of(group):
    return [structure.name for structure in group.structures]


def test_job_key_folds_case_accents_plurals_and_feminine_forms():
    assert job_key("Comptable") == job_key("COMPTABLES") == job_key(" comptable ")
    assert job_key("Chargé de communication") == job_key("chargée de communication")
    assert job_key("Aide-comptable") != job_key("Comptable")
    assert job_key("de la") == ""


def test_three_needs_of_the_same_job_nearby_are_grouped_with_reasons(places):
    a = need(places["caussade_a"], "Comptable", "0.3")
    b = need(places["caussade_b"], "comptable", "0.3")
    c = need(places["montauban"], "Comptables", "0.3")

    [group] = shared_job_groups()

    assert structures_of(group) == ["Atelier de Caussade", "Bureau de Caussade", "Café de Montauban"]
    assert group.total_fte == Decimal("0.9")
    assert group.listing_ids == {a.pk, b.pk, c.pk}
    assert group.reasons[0] == "même métier : comptable / comptables"
    assert "22 km au plus" in group.reasons[1]
    assert group.reasons[2] == "3 structures pour 0,9 ETP au total (au moins 0,5 ETP pour un poste partagé)"
    assert [g.listing_ids for g in shared_job_groups_for(listing=a)] == [group.listing_ids]


def test_same_commune_without_points_is_grouped_other_communes_are_not(places, communes):
    communes["Caussade"].__class__.objects.update(latitude=None, longitude=None)
    need(places["caussade_a"], "Comptable", "0.3")
    need(places["caussade_b"], "Comptable", "0.3")
    need(places["montauban"], "Comptable", "0.3")

    [group] = shared_job_groups()

    assert structures_of(group) == ["Atelier de Caussade", "Bureau de Caussade"]
    assert group.reasons[1] == "structures de la même commune : Caussade"


def test_not_grouped_when_too_far(places):
    need(places["caussade_a"], "Comptable", "0.3")
    need(places["nontron"], "Comptable", "0.3", radius_km=1000)
    # Montauban is 22 km away: within its own 50 km but beyond the other's 10 km.
    need(places["montauban"], "Comptable", "0.3", radius_km=50)
    places["caussade_a"].listings.get().delete()
    need(places["caussade_a"], "Comptable", "0.3", radius_km=10)

    assert shared_job_groups() == []


def test_not_grouped_for_different_jobs_or_too_small_a_total(places):
    need(places["caussade_a"], "Comptable", "0.3")
    need(places["caussade_b"], "Animateur", "0.3")
    assert shared_job_groups() == []

    need(places["montauban"], "Comptable", "0.1")
    assert Decimal("0.4") < MIN_TOTAL_FTE
    assert shared_job_groups() == []

    need(places["caussade_b"], "Comptable", "0.1", title="Comptable, un peu plus")
    [group] = shared_job_groups()
    assert group.total_fte == Decimal("0.5")


def test_a_structure_counts_once_and_unplaced_or_unlisted_needs_are_left_out(places):
    need(places["caussade_a"], "Comptable", "0.4")
    need(places["caussade_a"], "Comptable", "0.4", title="Deuxième annonce")
    assert shared_job_groups() == []  # one structure alone is no shared post

    need(StructureFactory(name="Sans adresse", commune=None), "Comptable", "0.4")
    assert shared_job_groups() == []

    withdrawn = need(places["caussade_b"], "Comptable", "0.4")
    services.listing_withdraw(listing=withdrawn, actor=None)
    assert shared_job_groups() == []


def test_set_validates_and_is_audited(people):
    offer = make_listing(structure=people["structure"], kind="skill")
    shared = make_listing(structure=people["structure"], direction="need", kind="shared_job")

    with pytest.raises(ValidationError, match="emploi partagé"):
        shared_job_set(listing=offer, actor=None, job_title="Comptable", fte=Decimal("0.3"))
    with pytest.raises(ValidationError, match="Indiquez le métier"):
        shared_job_set(listing=shared, actor=None, job_title="  de la ", fte=Decimal("0.3"))
    with pytest.raises(ValidationError, match="entre 0 et 1 ETP"):
        shared_job_set(listing=shared, actor=None, job_title="Comptable", fte=Decimal("1.5"))
    with pytest.raises(ValidationError, match="entre 0 et 1 ETP"):
        shared_job_set(listing=shared, actor=None, job_title="Comptable", fte=Decimal("0"))

    shared_job_set(listing=shared, actor=people["member"], job_title="Comptable", fte=Decimal("0.3"))
    shared_job_set(listing=shared, actor=people["member"], job_title="Comptable", fte=Decimal("0.4"))
    assert SharedJobProfile.objects.get().fte == Decimal("0.4")
    entry = AuditLogEntry.objects.filter(verb="exchange.shared_job.set").order_by("pk").last()
    assert entry.data == {
        "old": {"job_title": "Comptable", "fte": "0.30"},
        "new": {"job_title": "Comptable", "fte": "0.4"},
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        SharedJobProfile.objects.filter(listing=shared).update(fte=Decimal("0"))


def test_members_see_their_group_on_the_listing_page_and_facilitators_all_groups(client, places, people):
    a = need(places["caussade_a"], "Comptable", "0.3")
    need(places["caussade_b"], "Comptable", "0.3")
    member = UserFactory()
    Membership.objects.create(user=member, structure=places["caussade_a"])
    detail = reverse("exchange:detail", args=[a.pk])
    groups = reverse("exchange:shared_job_groups")

    public = client.get(detail).content.decode()
    assert "Comptable — 0,30 équivalent temps plein" in public
    assert "Bureau de Caussade" not in public
    client.force_login(member)
    html = client.get(detail).content.decode()
    assert "Poste partagé possible" in html and "Bureau de Caussade" in html and "0,6 ETP au total" in html
    assert groups not in html
    assert client.get(groups).status_code == 404
    client.force_login(people["outsider"])
    assert "Bureau de Caussade" not in client.get(detail).content.decode()
    assert client.get(groups).status_code == 404

    client.logout()
    assert client.get(groups).status_code == 302
    client.force_login(people["facilitator"])
    response = client.get(groups)
    assert response.status_code == 200
    assert len(response.context["groups"]) == 1
    assert "Atelier de Caussade" in response.content.decode()
    assert groups in client.get(detail).content.decode()  # the facilitator's link to every group


def test_member_sets_the_job_through_the_page(client, people):
    listing = make_listing(structure=people["structure"], direction="need", kind="shared_job")
    url = reverse("exchange:shared_job_edit", args=[listing.pk])

    assert client.get(url).status_code == 302
    client.force_login(people["outsider"])
    assert client.post(url, {"job_title": "Comptable", "fte": "0,3"}).status_code == 404
    client.force_login(people["member"])
    response = client.post(url, {"job_title": "Comptable", "fte": "1,5"})
    assert response.status_code == 200
    assert "inférieure ou égale à 1" in response.content.decode()
    assert client.post(url, {"job_title": "Comptable", "fte": "0,3"}).status_code == 302
    assert SharedJobProfile.objects.get(listing=listing).fte == Decimal("0.3")
    other = make_listing(structure=people["structure"], direction="need", kind="premises")
    assert client.get(reverse("exchange:shared_job_edit", args=[other.pk])).status_code == 404


def _unsaved_needs(count, seed):
    """Needs of one job over a region the size of a few départements, with varied radii (nothing saved)."""
    import random

    from essaim.actors.models import Structure
    from essaim.exchange.models import Listing

    rng = random.Random(seed)
    profiles = []
    for n in range(1, count + 1):
        structure = Structure(pk=n, name=f"S{n}", latitude=rng.uniform(43, 45), longitude=rng.uniform(0, 3))
        listing = Listing(pk=n, structure=structure, radius_km=rng.choice([5, 10, 30, 60, 200]))
        profiles.append(SharedJobProfile(pk=n, listing=listing, job_key="comptabl", fte=Decimal("0.3")))
    return profiles


def _naive_groups(profiles):
    """The same greedy grouping, comparing each need with every group (the reference)."""
    from essaim.exchange.shared_jobs import _fits, _place

    groups = []
    for profile in profiles:
        for group in groups:
            if _fits(_place(profile), [_place(member) for member in group])[0]:
                group.append(profile)
                break
        else:
            groups.append([profile])
    return [[p.pk for p in g] for g in groups if len(g) >= 2]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_spatial_index_gives_the_same_groups_as_comparing_with_every_group(seed):
    from essaim.exchange.shared_jobs import group_profiles

    profiles = _unsaved_needs(300, seed)

    groups = group_profiles(profiles)

    assert [[p.pk for p in g.profiles] for g in groups] == _naive_groups(profiles)
    assert len(groups) > 10


def test_a_closed_listing_keeps_its_job(people):
    shared = make_listing(structure=people["structure"], direction="need", kind="shared_job")
    shared_job_set(listing=shared, actor=None, job_title="Comptable", fte=Decimal("0.3"))
    services.listing_withdraw(listing=shared, actor=people["member"])
    with pytest.raises(ValidationError, match="Cette annonce est close"):
        shared_job_set(listing=shared, actor=None, job_title="Comptable", fte=Decimal("0.8"))
    assert SharedJobProfile.objects.get().fte == Decimal("0.3")
