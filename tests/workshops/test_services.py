import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from essaim.core.models import AuditLogEntry
from essaim.workshops import services
from essaim.workshops.models import (
    Colour,
    CommentState,
    Item,
    ItemStatus,
    PaperTally,
    Participant,
    Phase,
    Vote,
)
from tests.factories import UserFactory
from tests.workshops.conftest import make_consultation

pytestmark = pytest.mark.django_db


def participant(consultation):
    return services.participant_for_user(consultation=consultation, user=UserFactory())


def test_phases_only_move_forward():
    consultation = make_consultation()
    owner = consultation.owner
    with pytest.raises(ValidationError, match="Passage impossible"):
        services.consultation_set_phase(consultation=consultation, phase=Phase.CLOSED, actor=owner)
    for phase in (Phase.OPEN, Phase.CLOSED, Phase.PUBLISHED):
        services.consultation_set_phase(consultation=consultation, phase=phase, actor=owner)
    with pytest.raises(ValidationError, match="Passage impossible"):
        services.consultation_set_phase(consultation=consultation, phase=Phase.OPEN, actor=owner)
    verbs = AuditLogEntry.objects.filter(verb="workshops.consultation.phase_changed")
    assert [e.data["to"] for e in verbs.order_by("pk")] == ["open", "closed", "published"]


def test_cannot_open_without_items():
    consultation = make_consultation(items=())
    with pytest.raises(ValidationError, match="au moins un besoin"):
        services.consultation_set_phase(consultation=consultation, phase=Phase.OPEN, actor=consultation.owner)


def test_default_budget_allows_unlimited_green_and_two_red():
    consultation = make_consultation(phase=Phase.OPEN, items=[f"B{i}" for i in range(5)])
    voter = participant(consultation)
    items = list(consultation.items.all())
    for item in items:
        services.vote_cast(participant=voter, item=item, colour=Colour.GREEN, actor=voter.user)
    services.vote_cast(participant=voter, item=items[0], colour=Colour.RED, actor=voter.user)
    services.vote_cast(participant=voter, item=items[1], colour=Colour.RED, actor=voter.user)
    with pytest.raises(ValidationError, match="Plus de gommette rouge"):
        services.vote_cast(participant=voter, item=items[2], colour=Colour.RED, actor=voter.user)
    budget = services.budget_for(consultation=consultation, participant=voter)
    assert (budget.green_used, budget.red_used, budget.green_left, budget.red_left) == (5, 2, None, 0)


def test_total_budget_counts_both_colours():
    consultation = make_consultation(phase=Phase.OPEN, green_limit=None, red_limit=None, total_limit=2)
    voter = participant(consultation)
    a, b, c = consultation.items.all()
    services.vote_cast(participant=voter, item=a, colour=Colour.GREEN, actor=voter.user)
    services.vote_cast(participant=voter, item=b, colour=Colour.RED, actor=voter.user)
    with pytest.raises(ValidationError, match="Plus de gommette verte"):
        services.vote_cast(participant=voter, item=c, colour=Colour.GREEN, actor=voter.user)
    # Withdrawing a dot gives it back.
    assert services.vote_withdraw(participant=voter, item=b, colour=Colour.RED, actor=voter.user)
    services.vote_cast(participant=voter, item=c, colour=Colour.GREEN, actor=voter.user)
    assert Vote.objects.filter(participant=voter).count() == 2


def test_one_dot_of_each_colour_per_item_in_service_and_database():
    consultation = make_consultation(phase=Phase.OPEN)
    voter = participant(consultation)
    item = consultation.items.first()
    services.vote_cast(participant=voter, item=item, colour=Colour.GREEN, actor=voter.user)
    with pytest.raises(ValidationError, match="déjà mis une gommette"):
        services.vote_cast(participant=voter, item=item, colour=Colour.GREEN, actor=voter.user)
    with pytest.raises(IntegrityError), transaction.atomic():
        Vote.objects.create(participant=voter, item=item, colour=Colour.GREEN)


def test_toggle_casts_then_withdraws_and_everything_is_audited():
    consultation = make_consultation(phase=Phase.OPEN)
    voter = participant(consultation)
    item = consultation.items.first()
    assert services.vote_toggle(participant=voter, item=item, colour=Colour.RED, actor=voter.user) is True
    assert services.vote_toggle(participant=voter, item=item, colour=Colour.RED, actor=voter.user) is False
    verbs = list(
        AuditLogEntry.objects.filter(verb__startswith="workshops.vote")
        .order_by("pk")
        .values_list("verb", "data")
    )
    assert verbs == [
        ("workshops.vote.cast", {"participant": voter.pk, "colour": "red"}),
        ("workshops.vote.withdrawn", {"participant": voter.pk, "colour": "red"}),
    ]


@pytest.mark.parametrize("phase", [Phase.PREPARATION, Phase.CLOSED, Phase.PUBLISHED])
def test_results_cannot_change_outside_the_open_phase(phase):
    consultation = make_consultation(phase=Phase.OPEN)
    voter = participant(consultation)
    item = consultation.items.first()
    services.vote_cast(participant=voter, item=item, colour=Colour.GREEN, actor=voter.user)
    services.paper_tally_set(item=item, green=3, red=1, actor=consultation.owner)
    if phase != Phase.PREPARATION:
        for step in (Phase.CLOSED, Phase.PUBLISHED)[: [Phase.CLOSED, Phase.PUBLISHED].index(phase) + 1]:
            services.consultation_set_phase(consultation=consultation, phase=step, actor=consultation.owner)
    else:
        consultation = make_consultation(phase=Phase.PREPARATION, owner=UserFactory(role="facilitator"))
        item = consultation.items.first()
        voter = participant(consultation)
    before = (Vote.objects.count(), list(PaperTally.objects.values_list("green", "red")))

    with pytest.raises(ValidationError, match="n'est pas ouverte"):
        services.vote_cast(participant=voter, item=item, colour=Colour.RED, actor=voter.user)
    with pytest.raises(ValidationError, match="n'est pas ouverte"):
        services.vote_withdraw(participant=voter, item=item, colour=Colour.GREEN, actor=voter.user)
    with pytest.raises(ValidationError, match="n'est pas ouverte"):
        services.paper_tally_set(item=item, green=10, red=0, actor=consultation.owner)
    assert (Vote.objects.count(), list(PaperTally.objects.values_list("green", "red"))) == before


def test_paper_tally_replaces_the_entry_and_logs_who_and_what():
    consultation = make_consultation(phase=Phase.OPEN)
    item = consultation.items.first()
    owner = consultation.owner
    services.paper_tally_set(item=item, green=18, red=1, actor=owner)
    services.paper_tally_set(item=item, green=17, red=1, actor=owner)
    tally = PaperTally.objects.get(item=item)
    assert (tally.green, tally.red, tally.entered_by) == (17, 1, owner)
    entries = AuditLogEntry.objects.filter(verb="workshops.paper_tally.set").order_by("pk")
    assert [e.data for e in entries] == [
        {"before": None, "after": {"green": 18, "red": 1}},
        {"before": {"green": 18, "red": 1}, "after": {"green": 17, "red": 1}},
    ]
    assert all(e.actor == owner for e in entries)
    with pytest.raises(ValidationError, match="négatifs"):
        services.paper_tally_set(item=item, green=-1, red=0, actor=owner)


def test_totals_combine_online_and_paper():
    consultation = make_consultation(phase=Phase.OPEN)
    a, b, _ = consultation.items.all()
    for _ in range(2):
        voter = participant(consultation)
        services.vote_cast(participant=voter, item=a, colour=Colour.GREEN, actor=voter.user)
    services.vote_cast(participant=voter, item=a, colour=Colour.RED, actor=voter.user)
    services.paper_tally_set(item=a, green=5, red=2, actor=consultation.owner)
    rows = {i.pk: i for i in Item.objects.with_totals()}
    assert (rows[a.pk].green_online, rows[a.pk].red_online, rows[a.pk].green_paper, rows[a.pk].red_paper) == (
        2,
        1,
        5,
        2,
    )
    assert (rows[b.pk].green_online, rows[b.pk].green_paper) == (0, 0)


def test_room_codes_are_one_time():
    consultation = make_consultation(phase=Phase.OPEN)
    codes = services.room_codes_generate(consultation=consultation, count=3, actor=consultation.owner)
    assert len({c.room_code for c in codes}) == 3
    code = codes[0].room_code
    claimed = services.room_code_claim(consultation=consultation, code=code.lower())
    assert claimed.pk == codes[0].pk
    with pytest.raises(ValidationError, match="déjà été utilisé"):
        services.room_code_claim(consultation=consultation, code=code)
    with pytest.raises(ValidationError, match="Code inconnu"):
        services.room_code_claim(consultation=consultation, code="ZZZZZZ9")
    other = make_consultation(phase=Phase.OPEN, owner=UserFactory(role="facilitator"))
    with pytest.raises(ValidationError, match="Code inconnu"):
        services.room_code_claim(consultation=other, code=codes[1].room_code)


def test_participant_is_either_a_user_or_a_code():
    consultation = make_consultation()
    with pytest.raises(IntegrityError), transaction.atomic():
        Participant.objects.create(consultation=consultation)


def test_comments_and_moderation():
    consultation = make_consultation(phase=Phase.OPEN)
    voter = participant(consultation)
    item = consultation.items.first()
    comment = services.comment_post(
        item=item, participant=voter, text="  Se connaître  ", category="question", actor=voter.user
    )
    assert (comment.text, comment.state) == ("Se connaître", CommentState.VISIBLE)
    with pytest.raises(ValidationError, match="Écrivez"):
        services.comment_post(item=item, participant=voter, text="   ", actor=voter.user)
    services.comment_moderate(comment=comment, state=CommentState.HIDDEN, actor=consultation.owner)
    assert list(item.comments.visible()) == []
    verbs = set(AuditLogEntry.objects.values_list("verb", flat=True))
    assert {"workshops.comment.posted", "workshops.comment.moderated"} <= verbs
    services.consultation_set_phase(consultation=consultation, phase=Phase.CLOSED, actor=consultation.owner)
    with pytest.raises(ValidationError, match="fermés"):
        services.comment_post(item=item, participant=voter, text="Trop tard", actor=voter.user)


def test_premoderated_comments_wait():
    consultation = make_consultation(phase=Phase.OPEN, premoderate_comments=True)
    voter = participant(consultation)
    comment = services.comment_post(
        item=consultation.items.first(), participant=voter, text="À relire", actor=voter.user
    )
    assert comment.state == CommentState.PENDING


def test_proposed_items_are_accepted_attached_or_merged():
    consultation = make_consultation(phase=Phase.OPEN)
    voter = participant(consultation)
    first = consultation.items.first()
    new = services.item_propose(
        consultation=consultation, participant=voter, title="Ruralité", actor=voter.user
    )
    attached = services.item_propose(
        consultation=consultation, participant=voter, title="Émergence", actor=None
    )
    dup = services.item_propose(consultation=consultation, participant=voter, title="Doublon", actor=None)
    assert new.status == ItemStatus.PROPOSED
    with pytest.raises(ValidationError, match="besoin retenu"):
        services.vote_cast(participant=voter, item=new, colour=Colour.GREEN, actor=voter.user)
    services.item_accept(item=new, actor=consultation.owner)
    services.item_accept(item=attached, parent=first, actor=consultation.owner)
    services.item_merge(item=dup, into=first, actor=consultation.owner)
    new.refresh_from_db(), attached.refresh_from_db(), dup.refresh_from_db()
    assert (new.status, attached.parent, dup.status, dup.merged_into) == (
        ItemStatus.ACCEPTED,
        first,
        ItemStatus.MERGED,
        first,
    )
    with pytest.raises(ValidationError, match="déjà été traité"):
        services.item_accept(item=dup, actor=consultation.owner)
    services.vote_cast(participant=voter, item=new, colour=Colour.GREEN, actor=voter.user)


def test_groups_and_proposals():
    consultation = make_consultation(phase=Phase.OPEN)
    members = [participant(consultation) for _ in range(3)]
    group = services.group_save(
        consultation=consultation,
        number=1,
        members=members[:2],
        rapporteur=members[2],
        actor=consultation.owner,
    )
    assert set(group.members.all()) == set(members)
    with pytest.raises(ValidationError, match="existe déjà"):
        services.group_save(consultation=consultation, number=1, actor=consultation.owner)
    item = consultation.items.first()
    proposal = services.proposal_create(
        group=group,
        text="Un annuaire des acteurs",
        items=[item],
        tags=["Mutualisation", "mutualisation", " Coopération  économique"],
        actor=consultation.owner,
    )
    assert sorted(t.name for t in proposal.tags.all()) == ["Coopération économique", "Mutualisation"]
    assert list(item.proposals.all()) == [proposal]
    services.consultation_set_phase(consultation=consultation, phase=Phase.CLOSED, actor=consultation.owner)
    services.consultation_set_phase(
        consultation=consultation, phase=Phase.PUBLISHED, actor=consultation.owner
    )
    with pytest.raises(ValidationError, match="avant la synthèse"):
        services.proposal_create(group=group, text="Trop tard", actor=consultation.owner)


def test_consultation_addresses_are_unique_and_not_reserved():
    consultation = make_consultation()
    owner = consultation.owner
    with pytest.raises(ValidationError, match="déjà prise"):
        services.consultation_create(title="Autre", slug=consultation.slug, owner=owner, actor=owner)
    with pytest.raises(ValidationError, match="réservée"):
        services.consultation_create(title="Autre", slug="nouvelle", owner=owner, actor=owner)


def test_budget_is_fixed_once_open():
    consultation = make_consultation(phase=Phase.OPEN)
    with pytest.raises(ValidationError, match="ne change plus"):
        services.consultation_update(consultation=consultation, red_limit=5, actor=consultation.owner)
    assert services.consultation_update(consultation=consultation, title="Nouveau titre", actor=None) == [
        "title"
    ]


def test_proposed_items_are_settled_while_open():
    consultation = make_consultation(phase=Phase.OPEN)
    voter = participant(consultation)
    late = services.item_propose(consultation=consultation, participant=voter, title="Tardif", actor=None)
    services.consultation_set_phase(consultation=consultation, phase=Phase.CLOSED, actor=consultation.owner)
    with pytest.raises(ValidationError, match="pendant la consultation"):
        services.item_accept(item=late, actor=consultation.owner)
    late.refresh_from_db()
    assert late.status == ItemStatus.PROPOSED
