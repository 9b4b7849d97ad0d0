import re

import pytest
from django.urls import reverse

from essaim.core.models import AuditLogEntry
from essaim.workshops import services
from essaim.workshops.models import Colour, Comment, Item, ItemStatus, PaperTally, Participant, Phase, Vote
from tests.factories import FacilitatorFactory, UserFactory
from tests.workshops.conftest import make_consultation

pytestmark = pytest.mark.django_db


def url(name, consultation, *args):
    return reverse(f"workshops:{name}", args=[consultation.slug, *args])


def test_nav_links_to_the_workshops(client):
    html = client.get(reverse("www:home")).content.decode()
    assert f'href="{reverse("workshops:list")}"' in html


def test_list_hides_consultations_in_preparation(client):
    hidden = make_consultation()
    shown = make_consultation(phase=Phase.OPEN, owner=FacilitatorFactory())
    html = client.get(reverse("workshops:list")).content.decode()
    assert url("detail", shown) in html
    assert url("detail", hidden) not in html
    assert client.get(url("detail", hidden)).status_code == 404
    client.force_login(hidden.owner)
    assert client.get(url("detail", hidden)).status_code == 200


def test_member_votes_without_javascript(client):
    consultation = make_consultation(phase=Phase.OPEN)
    item = consultation.items.first()
    user = UserFactory()
    client.force_login(user)

    response = client.post(url("vote", consultation, item.pk), {"colour": "green"})

    assert response.status_code == 302
    assert response["Location"].endswith(f"#besoin-{item.pk}")
    assert Vote.objects.get().participant.user == user
    html = client.get(url("detail", consultation)).content.decode()
    assert re.search(rf'id="vote-{item.pk}-green"[^>]*aria-pressed="true"', html)


def test_htmx_vote_returns_the_item_card_and_the_budget(client):
    consultation = make_consultation(phase=Phase.OPEN, red_limit=1)
    first, second, _ = consultation.items.all()
    client.force_login(UserFactory())
    client.post(url("vote", consultation, first.pk), {"colour": "red"}, headers={"HX-Request": "true"})

    response = client.post(
        url("vote", consultation, second.pk), {"colour": "red"}, headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert f'id="besoin-{second.pk}"' in html and "<html" not in html
    assert "Plus de gommette rouge disponible." in html
    assert 'id="budget"' in html and 'hx-swap-oob="true"' in html and "0 rouge" in html
    assert Vote.objects.count() == 1


def test_room_code_participant_votes_and_the_code_works_once(client, django_user_model):
    consultation = make_consultation(phase=Phase.OPEN)
    code = services.room_codes_generate(consultation=consultation, count=1, actor=consultation.owner)[0]
    item = consultation.items.first()
    assert client.post(url("vote", consultation, item.pk), {"colour": "green"}).status_code == 404

    client.post(url("code", consultation), {"code": code.room_code.lower()})
    client.post(url("vote", consultation, item.pk), {"colour": "green"})

    assert Vote.objects.get().participant == code
    other = client.__class__()
    response = other.post(url("code", consultation), {"code": code.room_code}, follow=True)
    assert "Ce code a déjà été utilisé." in response.content.decode()
    assert other.post(url("vote", consultation, item.pk), {"colour": "green"}).status_code == 404


def test_comment_and_proposal_from_the_voting_page(client):
    consultation = make_consultation(phase=Phase.OPEN)
    item = consultation.items.first()
    client.force_login(UserFactory())
    client.post(url("comment", consultation, item.pk), {"text": "Se connaître", "category": "remarque"})
    client.post(url("propose", consultation), {"title": "Spécificité rurale"})
    assert Comment.objects.get().text == "Se connaître"
    assert Item.objects.get(status=ItemStatus.PROPOSED).title == "Spécificité rurale"
    html = client.get(url("detail", consultation)).content.decode()
    assert "Se connaître" in html
    assert "Spécificité rurale" not in html  # waits for moderation


def test_facilitator_creates_a_consultation_adds_items_and_opens_it(client):
    owner = FacilitatorFactory()
    client.force_login(owner)
    response = client.post(
        reverse("workshops:create"),
        {"title": "Bouillon", "slug": "bouillon", "red_limit": "2", "green_limit": "", "total_limit": ""},
    )
    assert response.status_code == 302
    consultation = owner.consultations.get()
    client.post(url("manage", consultation), {"title": "Coopération économique"})
    client.post(url("phase", consultation), {"phase": "open"})
    consultation.refresh_from_db()
    assert consultation.phase == Phase.OPEN
    assert consultation.items.get().title == "Coopération économique"


def test_members_cannot_create_or_manage(client):
    consultation = make_consultation(phase=Phase.OPEN)
    client.force_login(UserFactory())
    assert client.get(reverse("workshops:create")).status_code == 404
    for name in ("manage", "paper", "moderation", "groups", "codes", "edit"):
        assert client.get(url(name, consultation)).status_code == 404, name
    assert client.post(url("phase", consultation), {"phase": "closed"}).status_code == 404
    client.force_login(FacilitatorFactory())
    assert client.get(url("manage", consultation)).status_code == 404


def test_paper_entry_form(client):
    consultation = make_consultation(phase=Phase.OPEN)
    a, b, c = consultation.items.all()
    client.force_login(consultation.owner)
    data = {f"green_{a.pk}": 18, f"red_{a.pk}": 1, f"green_{b.pk}": 18, f"red_{b.pk}": 0}
    data |= {f"green_{c.pk}": 12, f"red_{c.pk}": 5}
    response = client.post(url("paper", consultation), data)
    assert response.status_code == 302
    assert sorted(PaperTally.objects.values_list("green", "red")) == [(12, 5), (18, 0), (18, 1)]
    assert (
        AuditLogEntry.objects.filter(verb="workshops.paper_tally.set", actor=consultation.owner).count() == 3
    )
    response = client.post(url("paper", consultation), {**data, f"red_{c.pk}": -3})
    assert response.status_code == 200
    assert PaperTally.objects.get(item=c).red == 5


def test_moderation_attaches_merges_and_hides(client):
    consultation = make_consultation(phase=Phase.OPEN)
    first = consultation.items.first()
    voter = services.participant_for_user(consultation=consultation, user=UserFactory())
    attach = services.item_propose(
        consultation=consultation, participant=voter, title="Émergence", actor=None
    )
    merge = services.item_propose(consultation=consultation, participant=voter, title="Doublon", actor=None)
    comment = services.comment_post(item=first, participant=voter, text="Hors sujet", actor=None)
    client.force_login(consultation.owner)
    assert "Émergence" in client.get(url("moderation", consultation)).content.decode()

    client.post(
        url("moderation", consultation),
        {"kind": "item", "item": attach.pk, "action": "attach", "target": first.pk},
    )
    client.post(
        url("moderation", consultation),
        {"kind": "item", "item": merge.pk, "action": "merge", "target": first.pk},
    )
    client.post(
        url("moderation", consultation), {"kind": "comment", "comment": comment.pk, "state": "hidden"}
    )

    attach.refresh_from_db(), merge.refresh_from_db(), comment.refresh_from_db()
    assert (attach.parent, merge.merged_into, comment.state) == (first, first, "hidden")


def test_groups_and_proposals_pages(client):
    consultation = make_consultation(phase=Phase.CLOSED)
    member = Participant.objects.create(consultation=consultation, user=UserFactory())
    client.force_login(consultation.owner)
    client.post(
        url("groups", consultation),
        {"kind": "group", "number": 1, "members": [member.pk], "rapporteur": member.pk},
    )
    group = consultation.groups.get()
    item = consultation.items.first()
    client.post(
        url("groups", consultation),
        {
            "kind": "proposal",
            "group": group.pk,
            f"g{group.pk}-text": "Un annuaire",
            f"g{group.pk}-items": [item.pk],
            f"g{group.pk}-tags": "mutualisation",
        },
    )
    proposal = group.proposals.get()
    assert (proposal.text, list(proposal.items.all()), [t.name for t in proposal.tags.all()]) == (
        "Un annuaire",
        [item],
        ["mutualisation"],
    )
    assert group.rapporteur == member


def test_room_display_full_page_and_polled_partial(client):
    consultation = make_consultation(phase=Phase.OPEN)
    item = consultation.items.first()
    voter = services.participant_for_user(consultation=consultation, user=UserFactory())
    services.vote_cast(participant=voter, item=item, colour=Colour.GREEN, actor=None)
    services.paper_tally_set(item=item, green=4, red=2, actor=consultation.owner)
    services.comment_post(item=item, participant=voter, text="Post-it visible", actor=None)

    html = client.get(url("room", consultation)).content.decode()
    assert 'hx-trigger="every 1s"' in html
    assert url("qr", consultation) in html
    assert "Post-it visible" in html

    partial = client.get(url("room", consultation), headers={"HX-Request": "true"}).content.decode()
    assert "<html" not in partial
    assert re.search(rf'data-item="{item.pk}".*?data-count="green">5<.*?data-count="red">2<', partial, re.S)


def test_room_partial_is_cheap(client, django_assert_max_num_queries):
    consultation = make_consultation(phase=Phase.OPEN, items=[f"B{i}" for i in range(20)])
    with django_assert_max_num_queries(4):
        client.get(url("room", consultation), headers={"HX-Request": "true"})


def test_qr_code_is_an_svg_of_the_voting_page(client):
    consultation = make_consultation(phase=Phase.OPEN)
    response = client.get(url("qr", consultation))
    assert response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b'<svg xmlns="http://www.w3.org/2000/svg"')
    assert b"style=" not in response.content


def test_synthesis_is_public_once_published_with_exports(client):
    consultation = make_consultation(phase=Phase.CLOSED)
    assert client.get(url("synthesis", consultation)).status_code == 404
    services.consultation_set_phase(
        consultation=consultation, phase=Phase.PUBLISHED, actor=consultation.owner
    )
    assert client.get(url("synthesis", consultation)).status_code == 200
    pdf = client.get(url("export", consultation, "pdf"))
    assert pdf.content.startswith(b"%PDF")
    xlsx = client.get(url("export", consultation, "xlsx"))
    assert xlsx.content.startswith(b"PK")
    md = client.get(url("export", consultation, "md")).content.decode()
    assert md.startswith("# Bouillon de test")
    assert client.get(url("export", consultation, "exe")).status_code == 404


def test_rapporteur_types_the_group_proposals(client):
    consultation = make_consultation(phase=Phase.OPEN)
    rapporteur_user, member_user = UserFactory(), UserFactory()
    rapporteur = services.participant_for_user(consultation=consultation, user=rapporteur_user)
    member = services.participant_for_user(consultation=consultation, user=member_user)
    group = services.group_save(
        consultation=consultation, number=2, members=[member], rapporteur=rapporteur, actor=consultation.owner
    )
    report_url = url("group_report", consultation, group.pk)

    client.force_login(member_user)
    assert client.get(report_url).status_code == 404
    assert report_url not in client.get(url("detail", consultation)).content.decode()

    client.force_login(rapporteur_user)
    assert report_url in client.get(url("detail", consultation)).content.decode()
    item = consultation.items.first()
    response = client.post(
        report_url, {"text": "Groupement d'employeurs", "items": [item.pk], "tags": "emploi"}
    )
    assert response.status_code == 302
    assert list(group.proposals.values_list("text", "created_by")) == [
        ("Groupement d'employeurs", rapporteur_user.pk)
    ]

    services.consultation_set_phase(consultation=consultation, phase=Phase.CLOSED, actor=consultation.owner)
    services.consultation_set_phase(
        consultation=consultation, phase=Phase.PUBLISHED, actor=consultation.owner
    )
    assert client.get(report_url).status_code == 404


def test_guessing_room_codes_is_rate_limited(client):
    consultation = make_consultation(phase=Phase.OPEN)
    code = services.room_codes_generate(consultation=consultation, count=1, actor=consultation.owner)[0]
    # django-ratelimit blocks once the count is over the rate (30 failures): the 31st wrong code counts too.
    for _ in range(31):
        client.post(url("code", consultation), {"code": "AAAAAA"})

    response = client.post(url("code", consultation), {"code": code.room_code}, follow=True)

    assert "Trop de codes erronés" in response.content.decode()
    code.refresh_from_db()
    assert code.claimed_at is None


def test_taken_address_is_shown_on_its_field(client):
    consultation = make_consultation()
    client.force_login(consultation.owner)
    response = client.post(reverse("workshops:create"), {"title": "Doublon", "slug": consultation.slug})
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert errors["slug"] == ["Cette adresse est déjà prise par une autre consultation."]
    assert 'aria-invalid="true"' in response.content.decode()
