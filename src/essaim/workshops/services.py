"""Write operations of the workshops app. Permissions are checked by the callers (``workshops.access``);
these functions enforce the phases, the dot budget and the other invariants, and log every business action.

Refusals raise ``django.core.exceptions.ValidationError`` with a French message; nothing is written then.
"""

import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Count, Max
from django.utils import timezone

from essaim.core.audit import log_action
from essaim.workshops.models import (
    PHASE_TRANSITIONS,
    Colour,
    Comment,
    CommentCategory,
    CommentState,
    Consultation,
    Item,
    ItemStatus,
    PaperTally,
    Participant,
    Phase,
    Proposal,
    Tag,
    Vote,
    WorkingGroup,
)

# Room codes avoid look-alike characters (0/O, 1/I/L) so they can be read aloud or from a slide.
ROOM_CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
ROOM_CODE_LENGTH = 6
MAX_ROOM_CODES = 500

# Addresses the workshops' own pages use under /ateliers/.
RESERVED_SLUGS = frozenset({"nouvelle"})

CLOSED_MESSAGE = "La consultation n'est pas ouverte : les résultats ne peuvent pas changer."


def _require_phase(consultation: Consultation, phases: Iterable[str], message: str) -> None:
    if consultation.phase not in phases:
        raise ValidationError(message)


def _locked(consultation: Consultation) -> Consultation:
    """Re-read ``consultation`` under a row lock (PostgreSQL; SQLite's IMMEDIATE transactions already
    serialise writers), so that phase and budget checks cannot race with another write."""
    locked = Consultation.objects.select_for_update().get(pk=consultation.pk)
    consultation.phase = locked.phase
    return locked


def _check_limits(*, green_limit, red_limit, total_limit) -> None:
    for value in (green_limit, red_limit, total_limit):
        if value is not None and value < 0:
            raise ValidationError("Un nombre de gommettes ne peut pas être négatif.")


# --- Consultations ------------------------------------------------------------------------------------


@transaction.atomic
def consultation_create(
    *,
    title: str,
    slug: str,
    owner,
    actor,
    description: str = "",
    held_on=None,
    structure=None,
    event=None,
    green_limit: int | None = None,
    red_limit: int | None = 2,
    total_limit: int | None = None,
    premoderate_comments: bool = False,
) -> Consultation:
    """Create a consultation in preparation. Raises ValidationError for a taken address or a bad budget."""
    _check_limits(green_limit=green_limit, red_limit=red_limit, total_limit=total_limit)
    if slug in RESERVED_SLUGS:
        raise ValidationError({"slug": "Cette adresse est réservée : choisissez-en une autre."})
    if Consultation.objects.filter(slug=slug).exists():
        raise ValidationError({"slug": "Cette adresse est déjà prise par une autre consultation."})
    consultation = Consultation.objects.create(
        title=title,
        slug=slug,
        owner=owner,
        description=description,
        held_on=held_on,
        structure=structure,
        event=event,
        green_limit=green_limit,
        red_limit=red_limit,
        total_limit=total_limit,
        premoderate_comments=premoderate_comments,
    )
    log_action(actor=actor, verb="workshops.consultation.created", obj=consultation)
    return consultation


CONSULTATION_EDITABLE = (
    "title",
    "event",
    "description",
    "held_on",
    "structure",
    "green_limit",
    "red_limit",
    "total_limit",
    "premoderate_comments",
)


@transaction.atomic
def consultation_update(*, consultation: Consultation, actor, **fields) -> list[str]:
    """Change the fields of CONSULTATION_EDITABLE given; returns the names of those that changed.

    The budget only changes in preparation (participants must know it before voting); a published
    consultation is frozen. Raises ValidationError otherwise.
    """
    unknown = set(fields) - set(CONSULTATION_EDITABLE)
    if unknown:
        raise ValueError(f"Unknown fields: {sorted(unknown)}")
    locked = _locked(consultation)
    if locked.phase == Phase.PUBLISHED:
        raise ValidationError("La synthèse est publiée : la consultation ne change plus.")
    changed = [name for name, value in fields.items() if getattr(consultation, name) != value]
    budget = {"green_limit", "red_limit", "total_limit"} & set(changed)
    if budget and locked.phase != Phase.PREPARATION:
        raise ValidationError("Le nombre de gommettes ne change plus une fois la consultation ouverte.")
    _check_limits(
        **{k: fields.get(k, getattr(consultation, k)) for k in ("green_limit", "red_limit", "total_limit")}
    )
    if not changed:
        return []
    for name in changed:
        setattr(consultation, name, fields[name])
    consultation.save(update_fields=[*changed, "updated_at"])
    log_action(actor=actor, verb="workshops.consultation.updated", obj=consultation, data={"fields": changed})
    return changed


@transaction.atomic
def consultation_set_phase(*, consultation: Consultation, phase: str, actor) -> Consultation:
    """Move ``consultation`` to ``phase`` along PHASE_TRANSITIONS (forward only) and log it.

    Raises ValidationError for an unknown phase or a forbidden move (e.g. reopening a closed consultation).
    """
    if phase not in Phase.values:
        raise ValidationError("Phase inconnue.")
    previous = _locked(consultation).phase
    if phase not in PHASE_TRANSITIONS[previous]:
        raise ValidationError(
            f"Passage impossible de la phase « {Phase(previous).label} » à la phase « {Phase(phase).label} »."
        )
    if phase == Phase.OPEN and not consultation.items.votable().exists():
        raise ValidationError("Ajoutez au moins un besoin avant d'ouvrir la consultation.")
    consultation.phase = phase
    consultation.phase_changed_at = timezone.now()
    consultation.save(update_fields=["phase", "phase_changed_at", "updated_at"])
    log_action(
        actor=actor,
        verb="workshops.consultation.phase_changed",
        obj=consultation,
        data={"from": previous, "to": phase},
    )
    return consultation


# --- Items --------------------------------------------------------------------------------------------

ITEM_EDIT_PHASES = (Phase.PREPARATION, Phase.OPEN)
MODERATION_PHASES = (Phase.OPEN, Phase.CLOSED)


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": "Donnez un intitulé."})
    return title


@transaction.atomic
def item_create(
    *,
    consultation: Consultation,
    title: str,
    actor,
    description: str = "",
    order: int | None = None,
    parent: Item | None = None,
    proposed_in_room: bool = False,
) -> Item:
    """Add an accepted item (by the facilitator), at the end unless ``order`` is given; ``proposed_in_room``
    marks an item the room proposed that the facilitator types in (from a paper board).

    Raises ValidationError once the consultation is closed or when ``parent`` belongs to another one.
    """
    _require_phase(
        _locked(consultation),
        ITEM_EDIT_PHASES,
        "Les besoins ne changent plus une fois la consultation close.",
    )
    if parent is not None and parent.consultation_id != consultation.pk:
        raise ValidationError({"parent": "Ce besoin appartient à une autre consultation."})
    if order is None:
        order = (consultation.items.aggregate(m=Max("order"))["m"] or 0) + 1
    item = Item.objects.create(
        consultation=consultation,
        title=_clean_title(title),
        description=description.strip(),
        order=order,
        parent=parent,
        status=ItemStatus.ACCEPTED,
        proposed_in_room=proposed_in_room,
    )
    log_action(actor=actor, verb="workshops.item.created", obj=item, data={"consultation": consultation.pk})
    return item


@transaction.atomic
def item_update(*, item: Item, actor, title: str, description: str = "", order: int | None = None) -> Item:
    """Change an item's wording and place. Raises ValidationError once the consultation is closed."""
    _require_phase(
        _locked(item.consultation),
        ITEM_EDIT_PHASES,
        "Les besoins ne changent plus une fois la consultation close.",
    )
    item.title = _clean_title(title)
    item.description = description.strip()
    if order is not None:
        item.order = order
    item.save(update_fields=["title", "description", "order"])
    log_action(actor=actor, verb="workshops.item.updated", obj=item)
    return item


@transaction.atomic
def item_propose(
    *, consultation: Consultation, participant: Participant, title: str, actor, description: str = ""
) -> Item:
    """A participant proposes a new item during the open phase; it waits for the facilitator's decision."""
    _require_phase(
        _locked(consultation), (Phase.OPEN,), "On ne propose de besoin que pendant la consultation."
    )
    if participant.consultation_id != consultation.pk:
        raise ValidationError("Participant·e d'une autre consultation.")
    order = (consultation.items.aggregate(m=Max("order"))["m"] or 0) + 1
    item = Item.objects.create(
        consultation=consultation,
        title=_clean_title(title),
        description=description.strip(),
        order=order,
        status=ItemStatus.PROPOSED,
        proposed_in_room=True,
        proposed_by=participant,
    )
    log_action(actor=actor, verb="workshops.item.proposed", obj=item, data={"participant": participant.pk})
    return item


def _moderate_item(item: Item) -> None:
    # Accepting an item once closed would add a row to results that must no longer change.
    _require_phase(
        _locked(item.consultation), (Phase.OPEN,), "Les besoins proposés se traitent pendant la consultation."
    )
    if item.status != ItemStatus.PROPOSED:
        raise ValidationError("Ce besoin a déjà été traité.")


@transaction.atomic
def item_accept(*, item: Item, actor, parent: Item | None = None) -> Item:
    """Accept a proposed item as a new votable item, or attach it to ``parent`` (an accepted item)."""
    _moderate_item(item)
    if parent is not None:
        if parent.consultation_id != item.consultation_id or parent.pk == item.pk:
            raise ValidationError({"parent": "Choisissez un autre besoin de cette consultation."})
        if parent.status != ItemStatus.ACCEPTED:
            raise ValidationError({"parent": "On ne rattache qu'à un besoin retenu."})
    item.status = ItemStatus.ACCEPTED
    item.parent = parent
    item.save(update_fields=["status", "parent"])
    log_action(
        actor=actor,
        verb="workshops.item.attached" if parent else "workshops.item.accepted",
        obj=item,
        data={"parent": parent.pk if parent else None},
    )
    return item


@transaction.atomic
def item_merge(*, item: Item, into: Item, actor) -> Item:
    """Merge a proposed item into an accepted one: its comments move there, it leaves the list."""
    _moderate_item(item)
    if (
        into.consultation_id != item.consultation_id
        or into.pk == item.pk
        or into.status != ItemStatus.ACCEPTED
    ):
        raise ValidationError({"into": "Choisissez un besoin retenu de cette consultation."})
    moved = Comment.objects.filter(item=item).update(item=into)
    item.status = ItemStatus.MERGED
    item.merged_into = into
    item.save(update_fields=["status", "merged_into"])
    log_action(actor=actor, verb="workshops.item.merged", obj=item, data={"into": into.pk, "comments": moved})
    return item


@transaction.atomic
def item_reject(*, item: Item, actor) -> Item:
    _moderate_item(item)
    item.status = ItemStatus.REJECTED
    item.save(update_fields=["status"])
    log_action(actor=actor, verb="workshops.item.rejected", obj=item)
    return item


# --- Participants -------------------------------------------------------------------------------------


def participant_for_user(*, consultation: Consultation, user) -> Participant:
    """The participant record of a logged-in ``user`` (created on first use; safe under concurrency)."""
    existing = Participant.objects.filter(consultation=consultation, user=user).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Participant.objects.create(consultation=consultation, user=user)
    except IntegrityError:
        return Participant.objects.get(consultation=consultation, user=user)


def _new_code() -> str:
    return "".join(secrets.choice(ROOM_CODE_ALPHABET) for _ in range(ROOM_CODE_LENGTH))


@transaction.atomic
def room_codes_generate(*, consultation: Consultation, count: int, actor) -> list[Participant]:
    """Create ``count`` one-time room codes (anonymous participants to hand out on paper)."""
    if not 1 <= count <= MAX_ROOM_CODES:
        raise ValidationError({"count": f"Entre 1 et {MAX_ROOM_CODES} codes à la fois."})
    _require_phase(
        _locked(consultation), (Phase.PREPARATION, Phase.OPEN), "Les codes se préparent avant la clôture."
    )
    created: list[Participant] = []
    while len(created) < count:
        code = _new_code()
        if Participant.objects.filter(room_code=code).exists():
            continue
        created.append(Participant.objects.create(consultation=consultation, room_code=code))
    log_action(actor=actor, verb="workshops.room_codes.generated", obj=consultation, data={"count": count})
    return created


def normalize_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


@transaction.atomic
def room_code_claim(*, consultation: Consultation, code: str) -> Participant:
    """Use a one-time room code: returns its participant. A code works once (in one browser).

    Raises ValidationError for an unknown code, a code of another consultation or a code already used.
    """
    code = normalize_code(code)
    participant = (
        Participant.objects.select_for_update().filter(consultation=consultation, room_code=code).first()
    )
    if participant is None:
        raise ValidationError({"code": "Code inconnu pour cette consultation."})
    if participant.claimed_at is not None:
        raise ValidationError({"code": "Ce code a déjà été utilisé."})
    participant.claimed_at = timezone.now()
    participant.save(update_fields=["claimed_at"])
    log_action(
        actor=None, verb="workshops.room_code.claimed", obj=consultation, data={"participant": participant.pk}
    )
    return participant


# --- Votes --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Budget:
    """A participant's dots: used per colour and what is left (None = unlimited)."""

    green_used: int
    red_used: int
    green_left: int | None
    red_left: int | None

    def left(self, colour: str) -> int | None:
        return self.green_left if colour == Colour.GREEN else self.red_left


def budget_for(*, consultation: Consultation, participant: Participant | None) -> Budget:
    """What ``participant`` has used and may still use, under the consultation's limits."""
    used = {Colour.GREEN: 0, Colour.RED: 0}
    if participant is not None and participant.pk:
        for row in participant.votes.values("colour").annotate(n=Count("pk")):
            used[row["colour"]] = row["n"]
    total_left = None
    if consultation.total_limit is not None:
        total_left = max(consultation.total_limit - used[Colour.GREEN] - used[Colour.RED], 0)

    def left(limit, colour):
        values = [
            v for v in (None if limit is None else max(limit - used[colour], 0), total_left) if v is not None
        ]
        return min(values) if values else None

    return Budget(
        green_used=used[Colour.GREEN],
        red_used=used[Colour.RED],
        green_left=left(consultation.green_limit, Colour.GREEN),
        red_left=left(consultation.red_limit, Colour.RED),
    )


def _check_vote_target(consultation: Consultation, participant: Participant, item: Item, colour: str) -> None:
    if colour not in Colour.values:
        raise ValidationError("Couleur de gommette inconnue.")
    if participant.consultation_id != consultation.pk or item.consultation_id != consultation.pk:
        raise ValidationError("Ce besoin n'appartient pas à cette consultation.")
    _require_phase(consultation, (Phase.OPEN,), CLOSED_MESSAGE)


@transaction.atomic
def vote_cast(*, participant: Participant, item: Item, colour: str, actor) -> Vote:
    """Stick one ``colour`` dot on ``item`` for ``participant``.

    The consultation row is locked first, so concurrent votes of one participant are counted one after the
    other and can never exceed the budget. Raises ValidationError when the consultation is not open, the
    item is not votable, the participant already put that colour on the item or has no dot left.
    """
    consultation = _locked(item.consultation)
    _check_vote_target(consultation, participant, item, colour)
    if not Item.objects.filter(pk=item.pk, status=ItemStatus.ACCEPTED).exists():
        raise ValidationError("On ne vote que sur un besoin retenu.")
    if Vote.objects.filter(participant=participant, item=item, colour=colour).exists():
        raise ValidationError("Vous avez déjà mis une gommette de cette couleur sur ce besoin.")
    budget = budget_for(consultation=consultation, participant=participant)
    if budget.left(colour) == 0:
        label = "verte" if colour == Colour.GREEN else "rouge"
        raise ValidationError(f"Plus de gommette {label} disponible.")
    vote = Vote.objects.create(participant=participant, item=item, colour=colour)
    log_action(
        actor=actor,
        verb="workshops.vote.cast",
        obj=item,
        data={"participant": participant.pk, "colour": colour},
    )
    return vote


@transaction.atomic
def vote_withdraw(*, participant: Participant, item: Item, colour: str, actor) -> bool:
    """Take back ``participant``'s ``colour`` dot on ``item``; False if there was none.

    Raises ValidationError once the consultation is no longer open (its results are then frozen).
    """
    consultation = _locked(item.consultation)
    _check_vote_target(consultation, participant, item, colour)
    deleted, _ = Vote.objects.filter(participant=participant, item=item, colour=colour).delete()
    if deleted:
        log_action(
            actor=actor,
            verb="workshops.vote.withdrawn",
            obj=item,
            data={"participant": participant.pk, "colour": colour},
        )
    return bool(deleted)


def vote_toggle(*, participant: Participant, item: Item, colour: str, actor) -> bool:
    """Withdraw the dot if it is there, else cast it. Returns True when the dot is now on the item."""
    if Vote.objects.filter(participant=participant, item=item, colour=colour).exists():
        vote_withdraw(participant=participant, item=item, colour=colour, actor=actor)
        return False
    vote_cast(participant=participant, item=item, colour=colour, actor=actor)
    return True


# --- Paper tallies ------------------------------------------------------------------------------------


@transaction.atomic
def paper_tally_set(*, item: Item, green: int, red: int, actor) -> PaperTally:
    """Record the dots counted on ``item``'s paper board (replacing an earlier entry) and log old and new.

    Raises ValidationError for negative counts or once the consultation is closed.
    """
    consultation = _locked(item.consultation)
    _require_phase(consultation, (Phase.OPEN,), CLOSED_MESSAGE)
    if green < 0 or red < 0:
        raise ValidationError("Les nombres de gommettes ne peuvent pas être négatifs.")
    tally = PaperTally.objects.select_for_update().filter(item=item).first()
    before = None
    if tally is None:
        tally = PaperTally(item=item)
    else:
        before = {"green": tally.green, "red": tally.red}
        if (tally.green, tally.red) == (green, red):
            return tally
    tally.green, tally.red = green, red
    tally.entered_by = actor if getattr(actor, "is_authenticated", False) else None
    tally.entered_at = timezone.now()
    tally.save()
    log_action(
        actor=actor,
        verb="workshops.paper_tally.set",
        obj=item,
        data={"before": before, "after": {"green": green, "red": red}},
    )
    return tally


# --- Comments -----------------------------------------------------------------------------------------


@transaction.atomic
def comment_post(
    *, item: Item, participant: Participant | None, text: str, actor, category: str = CommentCategory.REMARK
) -> Comment:
    """Stick a post-it on ``item`` during the open phase (held for moderation if the consultation says so)."""
    consultation = _locked(item.consultation)
    _require_phase(consultation, (Phase.OPEN,), "Les commentaires sont fermés.")
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Écrivez votre commentaire."})
    if category not in CommentCategory.values:
        raise ValidationError({"category": "Catégorie inconnue."})
    if item.status != ItemStatus.ACCEPTED:
        raise ValidationError("On ne commente qu'un besoin retenu.")
    state = CommentState.PENDING if consultation.premoderate_comments else CommentState.VISIBLE
    comment = Comment.objects.create(
        item=item, participant=participant, text=text, category=category, state=state
    )
    log_action(
        actor=actor,
        verb="workshops.comment.posted",
        obj=comment,
        data={"item": item.pk, "participant": participant.pk if participant else None},
    )
    return comment


@transaction.atomic
def comment_moderate(*, comment: Comment, state: str, actor) -> Comment:
    """Show or hide a comment. Raises ValidationError for an unknown state or once the synthesis is out."""
    if state not in CommentState.values:
        raise ValidationError("État de modération inconnu.")
    _require_phase(
        _locked(comment.item.consultation),
        MODERATION_PHASES,
        "La modération n'est possible qu'avant la synthèse publiée.",
    )
    previous = comment.state
    if previous == state:
        return comment
    comment.state = state
    comment.save(update_fields=["state"])
    log_action(
        actor=actor, verb="workshops.comment.moderated", obj=comment, data={"from": previous, "to": state}
    )
    return comment


# --- Working groups and proposals ---------------------------------------------------------------------

GROUP_PHASES = MODERATION_PHASES
GROUP_MESSAGE = "Les groupes se forment pendant la consultation ou après sa clôture, avant la synthèse."


@transaction.atomic
def group_save(
    *,
    consultation: Consultation,
    number: int,
    actor,
    name: str = "",
    members: Iterable[Participant] = (),
    rapporteur: Participant | None = None,
    group: WorkingGroup | None = None,
) -> WorkingGroup:
    """Create (or, given ``group``, change) a working group. The rapporteur is one of its members."""
    _require_phase(_locked(consultation), GROUP_PHASES, GROUP_MESSAGE)
    members = list(members)
    if any(m.consultation_id != consultation.pk for m in members):
        raise ValidationError({"members": "Membre d'une autre consultation."})
    if rapporteur is not None:
        if rapporteur.consultation_id != consultation.pk:
            raise ValidationError({"rapporteur": "Participant·e d'une autre consultation."})
        if rapporteur not in members:
            members.append(rapporteur)
    clash = consultation.groups.filter(number=number)
    if group is not None:
        clash = clash.exclude(pk=group.pk)
    if clash.exists():
        raise ValidationError({"number": "Ce numéro de groupe existe déjà."})
    verb = "workshops.group.updated"
    if group is None:
        group = WorkingGroup(consultation=consultation)
        verb = "workshops.group.created"
    group.number, group.name, group.rapporteur = number, name.strip(), rapporteur
    group.save()
    group.members.set(members)
    log_action(actor=actor, verb=verb, obj=group, data={"members": len(members)})
    return group


def tags_for(names: Iterable[str]) -> list[Tag]:
    """The Tag rows for ``names`` (created when new, matched case-insensitively)."""
    tags = []
    for raw in names:
        name = " ".join((raw or "").split())
        if not name:
            continue
        tag = Tag.objects.filter(name__iexact=name).first() or Tag.objects.create(name=name)
        if tag not in tags:
            tags.append(tag)
    return tags


@transaction.atomic
def proposal_create(
    *,
    group: WorkingGroup,
    text: str,
    actor,
    items: Iterable[Item] = (),
    tags: Iterable[str] = (),
    order: int | None = None,
) -> Proposal:
    """Record one of ``group``'s action proposals, linked to ``items`` and tagged with theme names."""
    consultation = group.consultation
    _require_phase(_locked(consultation), GROUP_PHASES, GROUP_MESSAGE)
    text = (text or "").strip()
    if not text:
        raise ValidationError({"text": "Écrivez la proposition."})
    items = list(items)
    if any(item.consultation_id != consultation.pk for item in items):
        raise ValidationError({"items": "Besoin d'une autre consultation."})
    if order is None:
        order = (group.proposals.aggregate(m=Max("order"))["m"] or 0) + 1
    proposal = Proposal.objects.create(
        group=group,
        text=text,
        order=order,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    proposal.items.set(items)
    proposal.tags.set(tags_for(tags))
    log_action(actor=actor, verb="workshops.proposal.created", obj=proposal, data={"group": group.pk})
    return proposal


@transaction.atomic
def proposal_delete(*, proposal: Proposal, actor) -> None:
    _require_phase(_locked(proposal.group.consultation), GROUP_PHASES, GROUP_MESSAGE)
    log_action(
        actor=actor, verb="workshops.proposal.deleted", obj=proposal, data={"text": proposal.text[:200]}
    )
    proposal.delete()
