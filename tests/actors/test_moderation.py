import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from essaim.actors import moderation
from essaim.actors.models import (
    FieldProvenance,
    Membership,
    PendingChange,
    RevisionStatus,
    Source,
    Status,
    StructureRevision,
    StructureVersion,
    Theme,
    VersionKind,
)
from essaim.core.models import AuditLogEntry, OutgoingEmail
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def member_of(structure):
    user = UserFactory()
    Membership.objects.create(user=user, structure=structure)
    return user


def provenance(structure, field):
    return FieldProvenance.objects.get(structure=structure, field=field)


def test_facilitator_edits_apply_directly():
    structure = StructureFactory(status=Status.PUBLISHED)
    outcome = moderation.structure_edit(
        structure=structure, actor=FacilitatorFactory(), changes={"phone": "05 61 00 00 00"}
    )
    assert outcome.result == moderation.APPLIED and outcome.fields == ["phone"]
    structure.refresh_from_db()
    assert structure.phone == "05 61 00 00 00"
    assert provenance(structure, "phone").source == Source.FACILITATOR


@pytest.mark.parametrize("status", [Status.DRAFT, Status.PENDING])
def test_members_edits_of_unpublished_cards_apply_directly(status):
    structure = StructureFactory(status=status)
    outcome = moderation.structure_edit(
        structure=structure, actor=member_of(structure), changes={"description": "Atelier vélo"}
    )
    assert outcome.result == moderation.APPLIED
    structure.refresh_from_db()
    assert structure.description == "Atelier vélo"
    assert provenance(structure, "description").source == Source.STRUCTURE
    assert not StructureRevision.objects.exists()


def test_members_edits_of_a_published_card_wait_for_review():
    structure = StructureFactory(status=Status.PUBLISHED, phone="01 00 00 00 00")
    member = member_of(structure)
    theme = Theme.objects.first()
    outcome = moderation.structure_edit(
        structure=structure,
        actor=member,
        changes={"phone": "05 61 00 00 00", "themes": [theme], "name": structure.name},
    )
    assert outcome.result == moderation.PROPOSED
    structure.refresh_from_db()
    assert structure.phone == "01 00 00 00 00"
    revision = outcome.revision
    assert revision.changes == {
        "phone": {"old": "01 00 00 00 00", "new": "05 61 00 00 00"},
        "themes": {"old": [], "new": [theme.pk]},
    }
    # A second edit replaces the open proposal.
    moderation.structure_edit(structure=structure, actor=member, changes={"phone": "05 62 00 00 00"})
    revision = StructureRevision.objects.get()
    assert revision.changes == {"phone": {"old": "01 00 00 00 00", "new": "05 62 00 00 00"}}
    assert AuditLogEntry.objects.filter(verb="actors.revision.proposed").count() == 2
    # Proposing the current values is no proposal at all.
    other = member_of(structure)
    assert moderation.structure_edit(
        structure=structure, actor=other, changes={"phone": "01 00 00 00 00"}
    ).result == (moderation.UNCHANGED)


def test_an_invalid_proposal_is_refused_and_not_kept():
    structure = StructureFactory(status=Status.PUBLISHED)
    with pytest.raises(ValidationError):
        moderation.structure_edit(structure=structure, actor=member_of(structure), changes={"name": ""})
    assert not StructureRevision.objects.exists()
    assert not StructureVersion.objects.exists()


def test_people_outside_the_structure_cannot_edit():
    structure = StructureFactory(status=Status.PUBLISHED)
    outsider = member_of(StructureFactory())
    with pytest.raises(PermissionDenied):
        moderation.structure_edit(structure=structure, actor=outsider, changes={"phone": "1"})
    archived = StructureFactory(status=Status.ARCHIVED)
    with pytest.raises(PermissionDenied):
        moderation.structure_edit(structure=archived, actor=member_of(archived), changes={"phone": "1"})


def test_approving_a_whole_proposal_applies_it_with_the_structure_as_source():
    structure = StructureFactory(status=Status.PUBLISHED)
    member = member_of(structure)
    revision = moderation.revision_propose(
        structure=structure, actor=member, changes={"phone": "05 61 00 00 00", "website": "https://ozon.coop"}
    )
    facilitator = FacilitatorFactory()
    changed = moderation.revision_approve(revision=revision, actor=facilitator)
    assert sorted(changed) == ["phone", "website"]
    structure.refresh_from_db()
    assert structure.website == "https://ozon.coop"
    assert provenance(structure, "website").source == Source.STRUCTURE
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.APPROVED and revision.decided_by == facilitator
    version = StructureVersion.objects.get(structure=structure)
    assert version.kind == VersionKind.MODERATED and version.actor == facilitator
    assert "Champs mis à jour" in OutgoingEmail.objects.get(to=[member.email]).body
    with pytest.raises(ValidationError, match="déjà été traitée"):
        moderation.revision_approve(revision=revision, actor=facilitator)


def test_approving_selected_fields_drops_the_others():
    structure = StructureFactory(status=Status.PUBLISHED, phone="01")
    member = member_of(structure)
    revision = moderation.revision_propose(
        structure=structure, actor=member, changes={"phone": "05", "description": "Pub !"}
    )
    facilitator = FacilitatorFactory()
    with pytest.raises(ValidationError):
        moderation.revision_approve(revision=revision, actor=facilitator, fields=[])
    with pytest.raises(ValidationError):
        moderation.revision_approve(revision=revision, actor=facilitator, fields=["siren"])
    moderation.revision_approve(revision=revision, actor=facilitator, fields=["phone"])
    structure.refresh_from_db()
    assert (structure.phone, structure.description) == ("05", "")
    revision.refresh_from_db()
    assert revision.status == RevisionStatus.PARTIAL and revision.applied_fields == ["phone"]
    assert "Champs non retenus : Présentation" in OutgoingEmail.objects.get(to=[member.email]).body


def test_rejecting_a_proposal_needs_a_reason_and_emails_it():
    structure = StructureFactory(status=Status.PUBLISHED, phone="01")
    member = member_of(structure)
    revision = moderation.revision_propose(structure=structure, actor=member, changes={"phone": "05"})
    facilitator = FacilitatorFactory()
    with pytest.raises(ValidationError):
        moderation.revision_reject(revision=revision, actor=facilitator, reason="")
    moderation.revision_reject(revision=revision, actor=facilitator, reason="Numéro erroné")
    structure.refresh_from_db()
    assert structure.phone == "01"
    assert "Numéro erroné" in OutgoingEmail.objects.get(to=[member.email]).body
    # Decided: the member may propose again.
    assert moderation.revision_propose(structure=structure, actor=member, changes={"phone": "06"}) is not None


def pending_change(structure, field, old, new):
    FieldProvenance.objects.create(
        structure=structure,
        field=field,
        source=Source.FACILITATOR,
        recorded_at=timezone.now(),
        verified_by_human=True,
    )
    return PendingChange.objects.create(
        structure=structure,
        field=field,
        old_value=old,
        new_value=new,
        source=Source.SIRENE,
        source_ref="StockUniteLegale.csv",
        created_at=timezone.now(),
    )


def test_accepting_an_import_change_applies_it_verified():
    structure = StructureFactory(naf_code="88.99B")
    change = pending_change(structure, "naf_code", "88.99B", "94.99Z")
    facilitator = FacilitatorFactory()
    assert moderation.pending_change_accept(change=change, actor=facilitator) == ["naf_code"]
    structure.refresh_from_db()
    assert structure.naf_code == "94.99Z"
    row = provenance(structure, "naf_code")
    assert row.source == Source.SIRENE and row.verified_by_human
    assert not PendingChange.objects.exists()
    assert StructureVersion.objects.get(structure=structure).kind == VersionKind.IMPORTED
    assert AuditLogEntry.objects.filter(verb="actors.pending_change.accepted").exists()


def test_accepting_an_import_change_of_a_date():
    structure = StructureFactory()
    change = pending_change(structure, "creation_date", "", "2001-05-04")
    moderation.pending_change_accept(change=change, actor=FacilitatorFactory())
    structure.refresh_from_db()
    assert structure.creation_date.isoformat() == "2001-05-04"


def test_rejecting_an_import_change_keeps_the_verified_value():
    structure = StructureFactory(naf_code="88.99B")
    change = pending_change(structure, "naf_code", "88.99B", "94.99Z")
    moderation.pending_change_reject(change=change, actor=FacilitatorFactory())
    structure.refresh_from_db()
    assert structure.naf_code == "88.99B"
    assert not PendingChange.objects.exists()
    entry = AuditLogEntry.objects.get(verb="actors.pending_change.rejected")
    assert entry.data["new"] == "94.99Z"


def test_facilitators_are_told_of_a_new_proposal_once():
    facilitator = FacilitatorFactory()
    structure = StructureFactory(status=Status.PUBLISHED)
    member = member_of(structure)
    moderation.structure_edit(structure=structure, actor=member, changes={"phone": "05"})
    moderation.structure_edit(structure=structure, actor=member, changes={"phone": "06"})
    (email,) = OutgoingEmail.objects.filter(to=[facilitator.email])
    assert structure.name in email.subject and "Téléphone" in email.body


def test_sending_the_current_values_back_withdraws_the_proposal():
    structure = StructureFactory(status=Status.PUBLISHED, phone="01")
    member = member_of(structure)
    moderation.structure_edit(structure=structure, actor=member, changes={"phone": "05"})
    outcome = moderation.structure_edit(structure=structure, actor=member, changes={"phone": "01"})
    assert outcome.result == moderation.UNCHANGED
    assert not StructureRevision.objects.exists()
    assert AuditLogEntry.objects.get(verb="actors.revision.withdrawn").data["changes"]["phone"]["new"] == "05"
