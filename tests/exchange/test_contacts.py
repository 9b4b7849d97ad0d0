"""Putting structures in touch: match lifecycle, « Entrer en relation », email privacy, permissions, rate
limit, facilitators' introductions, suggestions recorded as matches and their digest."""

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from essaim.actors.models import Membership
from essaim.core.models import AuditLogEntry, OutgoingEmail
from essaim.exchange import contacts, services
from essaim.exchange.models import ContactMessage, Listing, Match, MatchDigestOptOut, MatchStatus
from tests.exchange.conftest import make_listing
from tests.factories import StructureFactory, UserFactory

MESSAGE = "Bonjour, votre camion nous intéresse pour nos livraisons du jeudi."


@pytest.fixture
def sides(db, people):
    """The listing of the people's structure (the recipient) and another structure with one member."""
    other = StructureFactory(name="Ressourcerie du Quercy")
    writer = UserFactory(email="ecrit@exemple.fr", full_name="Alex Écrit")
    Membership.objects.create(user=writer, structure=other)
    listing = make_listing(structure=people["structure"], title="Camion frigorifique")
    return {**people, "listing": listing, "other": other, "writer": writer}


def contact(sides, body=MESSAGE):
    return contacts.contact_send(
        listing=sides["listing"], sender_structure=sides["other"], actor=sides["writer"], body=body
    )


def make_match(sides, status=MatchStatus.SUGGESTED, **fields):
    return Match.objects.create(
        listing=sides["listing"],
        listing_structure=sides["structure"],
        counterpart_structure=sides["other"],
        status=status,
        **fields,
    )


# -- Lifecycle -----------------------------------------------------------------------------------------------


ALLOWED = [
    ("suggested", "contacted"),
    ("contacted", "discussing"),
    ("discussing", "agreed"),
    ("agreed", "done"),
]
FORBIDDEN = [
    ("suggested", "agreed"),
    ("suggested", "done"),
    ("contacted", "done"),
    ("discussing", "contacted"),
    ("done", "declined"),
    ("declined", "contacted"),
    ("done", "discussing"),
]


@pytest.mark.parametrize(("start", "end"), ALLOWED)
def test_allowed_transitions_change_the_status_and_are_audited(sides, start, end):
    match = make_match(sides, status=start, decline_reason="")
    match = contacts.match_transition(match=match, status=end, actor=sides["member"])
    match.refresh_from_db()
    assert match.status == end
    entry = AuditLogEntry.objects.get(verb=f"exchange.match.{end}", object_id=str(match.pk))
    assert entry.data == {"from": start, "to": end}


@pytest.mark.parametrize(("start", "end"), FORBIDDEN)
def test_forbidden_transitions_are_refused_in_french(sides, start, end):
    match = make_match(sides, status=start, decline_reason="motif" if start == "declined" else "")
    with pytest.raises(ValidationError) as excinfo:
        contacts.match_transition(match=match, status=end, actor=sides["member"], reason="parce que")
    assert "Impossible de passer de" in str(excinfo.value)
    match.refresh_from_db()
    assert match.status == start


@pytest.mark.parametrize("start", ["suggested", "contacted", "discussing", "agreed"])
def test_declining_is_possible_from_every_open_state_with_a_reason(sides, start):
    match = make_match(sides, status=start)
    with pytest.raises(ValidationError, match="motif du refus"):
        contacts.match_transition(match=match, status="declined", actor=sides["member"], reason="  ")
    match = contacts.match_transition(
        match=match, status="declined", actor=sides["member"], reason="Déjà trouvé ailleurs"
    )
    assert (match.status, match.decline_reason) == ("declined", "Déjà trouvé ailleurs")


def test_database_refuses_self_match_unknown_status_and_a_second_open_match(sides):
    with pytest.raises(IntegrityError), transaction.atomic():
        Match.objects.create(
            listing=sides["listing"],
            listing_structure=sides["structure"],
            counterpart_structure=sides["structure"],
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        make_match(sides, status="lost")
    with pytest.raises(IntegrityError), transaction.atomic():
        make_match(sides, status="declined")  # declined without a reason
    make_match(sides)
    with pytest.raises(IntegrityError), transaction.atomic():
        make_match(sides, status="contacted")
    # A closed match does not block a new one.
    make_match(sides, status="declined", decline_reason="non")


def test_constraint_messages_are_french(sides):
    match = Match(
        listing=sides["listing"],
        listing_structure=sides["structure"],
        counterpart_structure=sides["structure"],
    )
    with pytest.raises(ValidationError) as excinfo:
        match.full_clean()
    assert "ne peut pas être mise en relation avec elle-même" in str(excinfo.value)


# -- « Entrer en relation » ----------------------------------------------------------------------------------


def test_contact_opens_a_contacted_match_and_emails_the_recipient_without_the_sender_address(sides):
    match, message = contact(sides)
    assert match.status == MatchStatus.CONTACTED
    assert (match.initiator_structure, match.initiated_by) == (sides["other"], sides["writer"])
    assert message.body == MESSAGE
    email = OutgoingEmail.objects.get()
    assert email.bcc == [sides["member"].email]
    assert "Ressourcerie du Quercy souhaite entrer en relation" in email.subject
    assert reverse("exchange:match_detail", args=[match.pk]) in email.body
    assert MESSAGE in email.body
    assert AuditLogEntry.objects.filter(verb="exchange.match.contacted", object_id=str(match.pk)).exists()


def test_contact_advances_a_suggested_match_and_reuses_an_open_one(sides):
    suggested = make_match(sides)
    match, _ = contact(sides)
    assert match.pk == suggested.pk
    assert match.status == MatchStatus.CONTACTED
    again, _ = contact(sides, body="Un second message pour préciser.")
    assert again.pk == match.pk
    assert Match.objects.count() == 1
    assert ContactMessage.objects.filter(match=match).count() == 2


@pytest.mark.parametrize(
    ("body", "error"),
    [("", "au moins 10"), ("court", "au moins 10"), ("x" * 4001, "ne peut dépasser 4000")],
)
def test_contact_refuses_bad_messages(sides, body, error):
    with pytest.raises(ValidationError, match=error):
        contact(sides, body=body)
    assert not Match.objects.exists()


def test_contact_refuses_own_structure_a_foreign_structure_and_a_closed_listing(sides):
    with pytest.raises(ValidationError, match="propre structure"):
        contacts.contact_send(
            listing=sides["listing"], sender_structure=sides["structure"], actor=sides["member"], body=MESSAGE
        )
    with pytest.raises(ValidationError, match="pas membre"):
        contacts.contact_send(
            listing=sides["listing"], sender_structure=sides["other"], actor=sides["outsider"], body=MESSAGE
        )
    Listing.objects.filter(pk=sides["listing"].pk).update(hidden_at=timezone.now())
    with pytest.raises(ValidationError, match="plus publiée"):
        contact(sides)  # hidden by a facilitator
    Listing.objects.filter(pk=sides["listing"].pk).update(hidden_at=None)
    services.listing_withdraw(listing=sides["listing"], actor=None)
    with pytest.raises(ValidationError, match="plus publiée"):
        contact(sides)


def test_emails_are_hidden_from_the_sender_until_the_recipient_answers(sides, client):
    match, _ = contact(sides)
    recipient, writer = sides["member"], sides["writer"]
    url = reverse("exchange:match_detail", args=[match.pk])

    client.force_login(writer)
    assert recipient.email not in client.get(url).content.decode()
    client.force_login(recipient)
    page = client.get(url).content.decode()
    assert writer.email in page  # the first writer chose to write: the recipient sees how to answer

    contacts.match_reply(
        match=match, actor=recipient, author_structure=sides["structure"], body="Avec plaisir, appelez-nous."
    )
    match.refresh_from_db()
    assert match.revealed_at is not None
    assert match.status == MatchStatus.DISCUSSING  # the recipient's answer starts the discussion
    client.force_login(writer)
    assert recipient.email in client.get(url).content.decode()
    reply_email = OutgoingEmail.objects.addressed_to(writer.email).get()
    assert recipient.email not in reply_email.body


def test_visible_email_rules(sides):
    match, first = contact(sides)
    facilitator = sides["facilitator"]
    assert contacts.visible_email(match, first, sides["member"]) == sides["writer"].email
    assert contacts.visible_email(match, first, facilitator) == sides["writer"].email
    answer = contacts.match_reply(
        match=match, actor=sides["member"], author_structure=sides["structure"], body="Réponse bien reçue !"
    )
    match.refresh_from_db()
    assert contacts.visible_email(match, answer, sides["writer"]) == sides["member"].email
    # Before the reveal, a later message of the recipient side would have stayed hidden.
    match.revealed_at = None
    assert contacts.visible_email(match, answer, sides["writer"]) == ""


def test_reply_is_refused_on_a_closed_match_and_for_a_structure_not_in_it(sides):
    match, _ = contact(sides)
    with pytest.raises(ValidationError, match="ne participe pas"):
        contacts.match_reply(
            match=match, actor=sides["writer"], author_structure=StructureFactory(), body=MESSAGE
        )
    contacts.match_transition(match=match, status="declined", actor=sides["member"], reason="Plus besoin")
    with pytest.raises(ValidationError, match="close"):
        contacts.match_reply(
            match=match, actor=sides["writer"], author_structure=sides["other"], body=MESSAGE
        )


def test_a_structure_without_members_is_written_at_its_public_email(db, people):
    lonely = StructureFactory(name="Tiers-lieu sans compte", email="contact@tiers-lieu.fr")
    listing = make_listing(structure=lonely)
    contacts.contact_send(
        listing=listing, sender_structure=people["structure"], actor=people["member"], body=MESSAGE
    )
    email = OutgoingEmail.objects.get()
    assert email.bcc == ["contact@tiers-lieu.fr"]
    assert "demandez le rattachement" in email.body


# -- Views and permissions -----------------------------------------------------------------------------------


def test_contact_view_with_several_structures_asks_which_one(sides, client):
    third = StructureFactory(name="Atelier vélo")
    Membership.objects.create(user=sides["writer"], structure=third)
    client.force_login(sides["writer"])
    url = reverse("exchange:contact", args=[sides["listing"].pk])
    page = client.get(url).content.decode()
    assert "Au nom de la structure" in page and "Atelier vélo" in page
    response = client.post(url, {"structure": third.pk, "body": MESSAGE})
    match = Match.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("exchange:match_detail", args=[match.pk])
    assert match.counterpart_structure == third


def test_contact_view_shows_french_errors_and_escapes_html(sides, client):
    client.force_login(sides["writer"])
    url = reverse("exchange:contact", args=[sides["listing"].pk])
    response = client.post(url, {"structure": sides["other"].pk, "body": "court"})
    assert response.status_code == 200
    assert "Écrivez un message d&#x27;au moins 10 caractères." in response.content.decode()
    client.post(url, {"structure": sides["other"].pk, "body": "<script>alert(1)</script> bonjour à vous"})
    match = Match.objects.get()
    page = client.get(reverse("exchange:match_detail", args=[match.pk])).content.decode()
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_contact_view_is_refused_to_anonymous_own_members_and_people_without_structure(sides, client):
    url = reverse("exchange:contact", args=[sides["listing"].pk])
    assert client.get(url).status_code == 302  # to the login page
    client.force_login(sides["member"])
    assert client.get(url).status_code == 404  # their own structure's listing
    client.force_login(sides["outsider"])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("anonymous", 302),
        ("outsider", 404),
        ("other_member", 404),
        ("member", 200),
        ("writer", 200),
        ("facilitator", 200),
    ],
)
def test_conversation_permissions(sides, client, who, expected):
    match, _ = contact(sides)
    other_member = UserFactory()
    Membership.objects.create(user=other_member, structure=StructureFactory())
    users = {**sides, "other_member": other_member}
    if who != "anonymous":
        client.force_login(users[who])
    for name in ("exchange:match_detail",):
        assert client.get(reverse(name, args=[match.pk])).status_code == expected
    post = client.post(reverse("exchange:match_status", args=[match.pk]), {"status": "discussing"})
    assert post.status_code == (302 if expected == 200 else expected)
    match.refresh_from_db()
    assert match.status == ("discussing" if expected == 200 else "contacted")


def test_status_view_declines_with_a_reason_only(sides, client):
    match, _ = contact(sides)
    client.force_login(sides["member"])
    url = reverse("exchange:match_status", args=[match.pk])
    response = client.post(url, {"status": "declined", "reason": ""})
    assert response.status_code == 400
    assert "Indiquez le motif du refus." in response.content.decode()
    client.post(url, {"status": "declined", "reason": "Nous avons trouvé"})
    match.refresh_from_db()
    assert (match.status, match.decline_reason) == ("declined", "Nous avons trouvé")


def test_reply_view_by_the_recipient(sides, client):
    match, _ = contact(sides)
    client.force_login(sides["member"])
    response = client.post(
        reverse("exchange:match_reply", args=[match.pk]),
        {"structure": sides["structure"].pk, "body": "Bonjour, oui avec plaisir."},
    )
    assert response.status_code == 302
    assert match.messages.count() == 2


def test_contact_messages_are_rate_limited_per_account(sides, client, settings):
    settings.ESSAIM_CONTACT_RATE = "2/h"
    client.force_login(sides["writer"])
    url = reverse("exchange:contact", args=[sides["listing"].pk])
    for _ in range(2):
        assert client.post(url, {"structure": sides["other"].pk, "body": MESSAGE}).status_code == 302
    response = client.post(url, {"structure": sides["other"].pk, "body": MESSAGE})
    assert response.status_code == 429
    assert "messages de mise en relation en peu de temps" in response.content.decode()
    assert ContactMessage.objects.count() == 2
    # Another account is not affected.
    colleague = UserFactory()
    Membership.objects.create(user=colleague, structure=sides["other"])
    client.force_login(colleague)
    assert client.post(url, {"structure": sides["other"].pk, "body": MESSAGE}).status_code == 302


def test_listing_page_offers_contact_and_lists_matches_to_its_members(sides, client):
    detail = reverse("exchange:detail", args=[sides["listing"].pk])
    assert "Connectez-vous" in client.get(detail).content.decode()
    client.force_login(sides["writer"])
    assert reverse("exchange:contact", args=[sides["listing"].pk]) in client.get(detail).content.decode()
    match, _ = contact(sides)
    assert "voir la conversation" in client.get(detail).content.decode()
    client.force_login(sides["member"])
    page = client.get(detail).content.decode()
    assert reverse("exchange:match_detail", args=[match.pk]) in page
    assert "Ressourcerie du Quercy" in page


def test_match_list_shows_only_the_users_structures(sides, client):
    match, _ = contact(sides)
    client.force_login(sides["outsider"])
    assert (
        reverse("exchange:match_detail", args=[match.pk])
        not in client.get(reverse("exchange:match_list")).content.decode()
    )
    client.force_login(sides["writer"])
    assert (
        reverse("exchange:match_detail", args=[match.pk])
        in client.get(reverse("exchange:match_list")).content.decode()
    )


# -- Introductions -------------------------------------------------------------------------------------------


def test_facilitator_introduces_two_listings_and_both_sides_are_emailed(sides, themes):
    need = make_listing(structure=sides["other"], direction="need", title="Camion pour livraisons")
    match = contacts.match_introduce(
        listing=sides["listing"], counterpart_listing=need, broker=sides["facilitator"], body=MESSAGE
    )
    assert (match.status, match.broker, match.counterpart_listing) == (
        "contacted",
        sides["facilitator"],
        need,
    )
    recipients = sorted(address for email in OutgoingEmail.objects.all() for address in email.bcc)
    assert recipients == sorted([sides["member"].email, sides["writer"].email])
    with pytest.raises(ValidationError, match="déjà en relation"):
        contacts.match_introduce(
            listing=sides["listing"], counterpart_listing=need, broker=sides["facilitator"], body=MESSAGE
        )
    with pytest.raises(ValidationError, match="équipe d'animation"):
        contacts.match_introduce(
            listing=need, counterpart_listing=sides["listing"], broker=sides["member"], body=MESSAGE
        )


def test_introduction_view_is_for_facilitators_and_uses_the_suggestions(sides, client):
    need = make_listing(structure=sides["other"], direction="need", title="Besoin d'un camion frigorifique")
    url = reverse("exchange:match_introduce", args=[sides["listing"].pk])
    client.force_login(sides["member"])
    assert client.get(url).status_code == 404
    client.force_login(sides["facilitator"])
    page = client.get(url).content.decode()
    assert "Besoin d&#x27;un camion frigorifique" in page
    response = client.post(url, {"counterpart": need.pk, "body": MESSAGE})
    match = Match.objects.get()
    assert response["Location"] == reverse("exchange:match_detail", args=[match.pk])
    assert match.broker == sides["facilitator"]


# -- Suggestions recorded as matches, digest -----------------------------------------------------------------


@pytest.fixture
def strong_pair(sides, themes):
    """The people's offer and a need of the other structure that match strongly (kind, theme, words)."""
    services.listing_update(listing=sides["listing"], actor=None, themes=[themes["alimentation"]])
    need = make_listing(
        structure=sides["other"],
        direction="need",
        title="Camion frigorifique pour livraisons",
        themes=[themes["alimentation"]],
    )
    return sides["listing"], need


def test_refresh_records_strong_suggestions_once(sides, strong_pair, settings):
    offer, need = strong_pair
    settings.ESSAIM_MATCH_NOTIFY_SCORE = 7
    created = contacts.matches_refresh_for(listing=need)
    assert [(m.listing, m.counterpart_listing, m.status) for m in created] == [(need, offer, "suggested")]
    assert created[0].reasons and created[0].score >= 7
    assert contacts.matches_refresh_for(listing=need) == []
    assert contacts.matches_refresh_for(listing=offer) == []  # the reverse orientation is the same pair


def test_refresh_ignores_weak_suggestions(sides, strong_pair):
    _, need = strong_pair
    assert contacts.matches_refresh_for(listing=need, threshold=100) == []
    assert not Match.objects.exists()


def test_publishing_refreshes_the_matches_once_committed(
    sides, themes, django_capture_on_commit_callbacks, settings
):
    settings.ESSAIM_MATCH_NOTIFY_SCORE = 5
    services.listing_update(listing=sides["listing"], actor=None, themes=[themes["alimentation"]])
    with django_capture_on_commit_callbacks(execute=True):
        make_listing(structure=sides["other"], direction="need", title="Camion frigorifique")
    assert Match.objects.filter(status="suggested", counterpart_structure=sides["structure"]).count() == 1


def test_updating_a_published_listing_refreshes_its_matches(
    sides, themes, django_capture_on_commit_callbacks
):
    need = make_listing(structure=sides["other"], direction="need", title="Remorque")
    assert not Match.objects.exists()  # nothing in common yet (no commit callbacks ran anyway)
    services.listing_update(listing=sides["listing"], actor=None, themes=[themes["alimentation"]])
    services.listing_update(listing=need, actor=None, themes=[themes["alimentation"]])
    with django_capture_on_commit_callbacks(execute=True):
        services.listing_update(listing=need, actor=None, title="Camion frigorifique à emprunter")
    assert Match.objects.filter(
        listing=need, counterpart_listing=sides["listing"], status="suggested"
    ).exists()


def test_digest_sends_one_email_per_person_with_all_their_suggestions(sides, strong_pair, themes):
    _, need = strong_pair
    third = StructureFactory(name="Cuisine centrale")
    cook = UserFactory()
    Membership.objects.create(user=cook, structure=third)
    another_need = make_listing(structure=third, direction="need", title="Camion frigorifique")
    contacts.matches_refresh_for(listing=need, threshold=0)
    contacts.matches_refresh_for(listing=another_need, threshold=0)
    assert Match.objects.filter(status="suggested").count() == 2

    sent = contacts.match_digests_send()
    assert sent == 3  # the offer's member (two suggestions), each need's member (one)
    member_email = OutgoingEmail.objects.get(to=[sides["member"].email])
    assert member_email.subject == "2 nouvelles suggestions de mise en relation"
    assert "Camion frigorifique pour livraisons" in member_email.body
    assert "Cuisine centrale" in member_email.body and "Ressourcerie du Quercy" in member_email.body
    assert "desinscription" in member_email.body
    writer_email = OutgoingEmail.objects.get(to=[sides["writer"].email])
    assert writer_email.subject == "Une nouvelle suggestion de mise en relation"
    assert contacts.match_digests_send() == 0  # nothing new
    assert not Match.objects.filter(digest_sent_at__isnull=True).exists()


def test_digest_tells_a_member_of_both_structures_once_per_match(sides, strong_pair):
    _, need = strong_pair
    Membership.objects.create(user=sides["member"], structure=sides["other"])
    contacts.matches_refresh_for(listing=need, threshold=0)
    assert contacts.match_digests_send() == 2
    email = OutgoingEmail.objects.get(to=[sides["member"].email])
    assert email.subject == "Une nouvelle suggestion de mise en relation"


def test_digest_respects_the_opt_out_link(sides, strong_pair, client):
    _, need = strong_pair
    contacts.matches_refresh_for(listing=need, threshold=0)
    token = contacts.digest_unsubscribe_token(sides["member"])
    url = reverse("exchange:match_digest_unsubscribe", args=[token])
    assert client.get(url).status_code == 200
    assert not MatchDigestOptOut.objects.exists()  # a GET changes nothing
    assert client.post(url).status_code == 200
    assert MatchDigestOptOut.objects.filter(user=sides["member"]).exists()
    assert client.post(reverse("exchange:match_digest_unsubscribe", args=["faux"])).status_code == 400
    assert contacts.match_digests_send() == 1
    assert list(OutgoingEmail.objects.values_list("to", flat=True)) == [[sides["writer"].email]]


def test_digest_task_is_wired(sides, strong_pair):
    from essaim.exchange.tasks import send_match_digests

    _, need = strong_pair
    contacts.matches_refresh_for(listing=need, threshold=0)
    send_match_digests.call_local()
    assert OutgoingEmail.objects.count() == 2


def test_facilitator_writes_for_the_animation_team_and_both_sides_are_emailed(sides):
    match, _ = contact(sides)
    OutgoingEmail.objects.all().delete()
    message = contacts.match_reply(
        match=match,
        actor=sides["facilitator"],
        author_structure=None,
        body="Je vous mets en lien, bonne suite.",
    )
    assert message.author_structure is None
    recipients = sorted(address for email in OutgoingEmail.objects.all() for address in email.bcc)
    assert recipients == sorted([sides["member"].email, sides["writer"].email])
    with pytest.raises(ValidationError, match="au nom de quelle structure"):
        contacts.match_reply(match=match, actor=sides["writer"], author_structure=None, body=MESSAGE)


# -- A closed listing ends its open matches ------------------------------------------------------------------


def _counterpart_match(sides, status):
    """A match where the sides' listing is the *counterpart* (the other orientation)."""
    own = make_listing(structure=sides["other"], title="Besoin de froid")
    return Match.objects.create(
        listing=own,
        listing_structure=sides["other"],
        counterpart_listing=sides["listing"],
        counterpart_structure=sides["structure"],
        status=status,
    )


@pytest.mark.parametrize(
    ("close", "reason"),
    [
        (
            lambda s: services.listing_withdraw(listing=s["listing"], actor=s["member"]),
            "Annonce close : retirée.",
        ),
        (
            lambda s: services.listing_fulfil(listing=s["listing"], actor=s["member"]),
            "Annonce close : satisfaite.",
        ),
    ],
)
def test_closing_a_listing_declines_its_open_matches(sides, close, reason):
    suggested = make_match(sides, status=MatchStatus.SUGGESTED)
    reverse_side = _counterpart_match(sides, MatchStatus.DISCUSSING)
    declined_before = make_match(sides, status=MatchStatus.DECLINED, decline_reason="pas intéressé")

    close(sides)

    for match in (suggested, reverse_side):
        match.refresh_from_db()
        assert (match.status, match.decline_reason) == (MatchStatus.DECLINED, reason)
    declined_before.refresh_from_db()
    assert declined_before.decline_reason == "pas intéressé"
    assert AuditLogEntry.objects.filter(verb="exchange.matches.closed_with_listing").exists()


def test_fulfilling_a_listing_completes_its_agreed_match(sides):
    agreed = make_match(sides, status=MatchStatus.AGREED)
    services.listing_fulfil(listing=sides["listing"], actor=sides["member"])
    agreed.refresh_from_db()
    assert agreed.status == MatchStatus.DONE


def test_expiry_declines_the_open_matches(sides):
    match = make_match(sides, status=MatchStatus.CONTACTED)
    Listing.objects.filter(pk=sides["listing"].pk).update(
        expires_at=timezone.now() - timezone.timedelta(days=1)
    )
    assert services.listings_expire() == 1
    match.refresh_from_db()
    assert (match.status, match.decline_reason) == (MatchStatus.DECLINED, "Annonce close : expirée.")


def test_digest_opt_out_is_atomic(sides, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("audit indisponible")

    monkeypatch.setattr(contacts, "log_action", broken)
    with pytest.raises(RuntimeError):
        contacts.match_digest_opt_out(user=sides["writer"])
    assert not MatchDigestOptOut.objects.filter(user=sides["writer"]).exists()
