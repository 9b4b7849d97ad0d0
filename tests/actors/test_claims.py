import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from essaim.actors.claims import (
    WEBMAIL_DOMAINS,
    claim_approve,
    claim_reject,
    claim_submit,
    domain_matches,
    structure_domains,
)
from essaim.actors.models import ClaimStatus, Membership, Status, StructureClaim
from essaim.core.models import AuditLogEntry, OutgoingEmail
from tests.factories import FacilitatorFactory, StructureFactory, UserFactory

pytestmark = pytest.mark.django_db


def verbs(structure):
    return list(
        AuditLogEntry.objects.filter(object_type="actors.structure", object_id=str(structure.pk))
        .order_by("pk")
        .values_list("verb", flat=True)
    )


@pytest.mark.parametrize(
    ("website", "email", "user_email", "expected"),
    [
        ("https://www.ozon.coop/", "", "marie@ozon.coop", True),
        ("ozon.coop", "", "marie@paris.ozon.coop", True),
        ("", "contact@rafistolerie.fr", "jean@rafistolerie.fr", True),
        ("https://www.ozon.coop/", "", "marie@notozon.coop", False),
        ("", "rafistolerie@gmail.com", "jean@gmail.com", False),
        ("https://www.facebook.com/rafistolerie", "", "jean@facebook.com", False),
        ("", "", "jean@rafistolerie.fr", False),
    ],
)
def test_domain_matching(website, email, user_email, expected):
    structure = StructureFactory(website=website, email=email)
    assert domain_matches(user_email, structure) is expected


def test_webmail_domains_are_never_the_structures_own():
    structure = StructureFactory(website="https://orange.fr", email="asso@free.fr")
    assert structure_domains(structure) == set()
    assert {"gmail.com", "orange.fr", "free.fr", "laposte.net", "wanadoo.fr", "sfr.fr"} <= WEBMAIL_DOMAINS


def test_claim_on_the_structures_domain_is_approved_at_once():
    structure = StructureFactory(website="https://www.ozon.coop")
    user = UserFactory(email="marie@ozon.coop")
    claim = claim_submit(user=user, structure=structure, message="Chargée de communication")
    assert claim.status == ClaimStatus.APPROVED and claim.auto_approved
    assert Membership.objects.filter(user=user, structure=structure).exists()
    assert verbs(structure) == [
        "actors.claim.submitted",
        "actors.membership.added",
        "actors.claim.auto_approved",
    ]


def test_other_claims_wait_for_a_facilitator_who_approves():
    structure = StructureFactory(website="https://www.ozon.coop", status=Status.PUBLISHED)
    user = UserFactory(email="marie@gmail.com")
    claim = claim_submit(user=user, structure=structure)
    assert claim.status == ClaimStatus.OPEN
    assert not Membership.objects.filter(user=user).exists()

    facilitator = FacilitatorFactory()
    claim_approve(claim=claim, actor=facilitator, site_url="https://essaim.test")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.APPROVED and claim.decided_by == facilitator
    assert Membership.objects.filter(user=user, structure=structure).exists()
    email = OutgoingEmail.objects.get(to=[user.email])
    assert structure.name in email.subject
    assert f"https://essaim.test/annuaire/{structure.slug}/modifier/" in email.body
    assert verbs(structure)[-1] == "actors.claim.approved"
    with pytest.raises(ValidationError, match="déjà été traitée"):
        claim_reject(claim=claim, actor=facilitator, reason="Trop tard")


def test_rejection_needs_a_reason_and_emails_it():
    structure = StructureFactory()
    user = UserFactory()
    claim = claim_submit(user=user, structure=structure)
    facilitator = FacilitatorFactory()
    with pytest.raises(ValidationError, match="motif"):
        claim_reject(claim=claim, actor=facilitator, reason="  ")
    claim_reject(claim=claim, actor=facilitator, reason="Personne inconnue de la structure")
    claim.refresh_from_db()
    assert claim.status == ClaimStatus.REJECTED
    assert not Membership.objects.filter(user=user).exists()
    assert "Personne inconnue de la structure" in OutgoingEmail.objects.get(to=[user.email]).body
    assert verbs(structure)[-1] == "actors.claim.rejected"
    # Rejected: the person may ask again.
    assert claim_submit(user=user, structure=structure).status == ClaimStatus.OPEN


def test_one_open_claim_per_person_and_structure():
    structure = StructureFactory()
    user = UserFactory()
    claim_submit(user=user, structure=structure)
    with pytest.raises(ValidationError, match="déjà une demande"):
        claim_submit(user=user, structure=structure)
    with pytest.raises(IntegrityError), transaction.atomic():
        StructureClaim.objects.create(user=user, structure=structure)
    assert StructureClaim.objects.count() == 1


def test_members_and_archived_cards_cannot_be_claimed():
    structure = StructureFactory()
    member = UserFactory()
    Membership.objects.create(user=member, structure=structure)
    with pytest.raises(ValidationError, match="déjà partie"):
        claim_submit(user=member, structure=structure)
    archived = StructureFactory(status=Status.ARCHIVED)
    with pytest.raises(ValidationError, match="archivée"):
        claim_submit(user=UserFactory(), structure=archived)
    assert StructureClaim.objects.count() == 0


def test_a_rejected_claim_without_reason_is_refused_by_the_database():
    claim = StructureClaim.objects.create(user=UserFactory(), structure=StructureFactory())
    claim.status = ClaimStatus.REJECTED
    with pytest.raises(IntegrityError), transaction.atomic():
        claim.save()


def test_facilitators_are_told_of_a_claim_to_review_but_not_of_an_automatic_one():
    facilitator = FacilitatorFactory()
    FacilitatorFactory(is_active=False)
    structure = StructureFactory(website="https://ozon.coop")
    claim_submit(user=UserFactory(email="a@ozon.coop"), structure=structure)
    assert not OutgoingEmail.objects.filter(to=[facilitator.email]).exists()
    claim_submit(user=UserFactory(email="b@gmail.com"), structure=structure, site_url="https://essaim.test")
    (email,) = OutgoingEmail.objects.all()
    assert email.to == [facilitator.email]
    assert "b@gmail.com" in email.body and "https://essaim.test/annuaire/gestion/moderation/" in email.body
