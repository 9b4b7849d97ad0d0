"""Claims: a person asks to be recognised as a member of a structure ("Je fais partie de cette structure").

A claim is approved at once when the person's login email is on the structure's own domain (its website's
or its public email's, webmail providers excepted); otherwise it waits for a facilitator, who approves or
rejects it with a reason. The person is told by (queued) email. An approved claim is a ``Membership``.
"""

from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from essaim.actors.duplicates import website_key
from essaim.actors.models import ClaimStatus, Membership, Status, Structure, StructureClaim
from essaim.actors.services import membership_add
from essaim.core.audit import log_action

# Email providers shared by the public: an address there says nothing about which structure one works for.
# The one list of them (claims, and any other check of "the structure's own domain").
WEBMAIL_DOMAINS = frozenset(
    {
        "gmail.com",
        "googlemail.com",
        "orange.fr",
        "wanadoo.fr",
        "free.fr",
        "sfr.fr",
        "neuf.fr",
        "club-internet.fr",
        "laposte.net",
        "bbox.fr",
        "numericable.fr",
        "aliceadsl.fr",
        "hotmail.com",
        "hotmail.fr",
        "live.com",
        "live.fr",
        "msn.com",
        "outlook.com",
        "outlook.fr",
        "yahoo.com",
        "yahoo.fr",
        "ymail.com",
        "icloud.com",
        "me.com",
        "mac.com",
        "aol.com",
        "aol.fr",
        "gmx.fr",
        "gmx.com",
        "gmx.net",
        "protonmail.com",
        "proton.me",
        "pm.me",
        "tutanota.com",
        "mailo.com",
        "netcourrier.com",
        "zoho.com",
        "yandex.com",
        "mail.com",
    }
)


def email_domain(email: str) -> str:
    """The domain of ``email``, lower case ("" when there is none)."""
    _, _, domain = (email or "").strip().lower().rpartition("@")
    return domain.strip(".")


def is_webmail(domain: str) -> bool:
    return domain in WEBMAIL_DOMAINS


def structure_domains(structure: Structure) -> set[str]:
    """The structure's own domains: its website's host (without "www.") and its public email's domain,
    leaving out webmail providers and hosts shared by many structures (facebook.com/...)."""
    domains = set()
    host = website_key(structure.website)
    if host and "/" not in host:
        domains.add(host)
    domain = email_domain(structure.email)
    if domain:
        domains.add(domain)
    return {domain for domain in domains if domain and not is_webmail(domain)}


def domain_matches(email: str, structure: Structure) -> bool:
    """Whether ``email`` is on one of the structure's own domains (or a subdomain of one)."""
    domain = email_domain(email)
    if not domain or is_webmail(domain):
        return False
    return any(domain == own or domain.endswith(f".{own}") for own in structure_domains(structure))


def _notify(claim: StructureClaim, subject: str, body: str) -> None:
    send_mail(subject, body, None, [claim.user.email])


def facilitators_notify(*, subject: str, body: str) -> int:
    """Queue ``subject``/``body`` to every active facilitator (one email each, so addresses stay private);
    return how many were queued."""
    from essaim.accounts.models import Role, User

    emails = User.objects.filter(is_active=True, role=Role.FACILITATOR).values_list("email", flat=True)
    count = 0
    for email in emails:
        send_mail(subject, body, None, [email])
        count += 1
    return count


@transaction.atomic
def claim_submit(*, user, structure: Structure, message: str = "", site_url: str = "") -> StructureClaim:
    """Ask for ``user`` to become a member of ``structure``; return the claim.

    Approved at once (and the membership created) when the user's email is on the structure's domain;
    otherwise facilitators are told by email (links start with ``site_url``).
    Raises ValidationError (French) when the user is already a member, already has an open claim, or the
    card is archived or merged.
    """
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        raise ValidationError("Connectez-vous pour demander à rejoindre une structure.")
    if structure.status == Status.ARCHIVED or structure.merged_into_id is not None:
        raise ValidationError("Cette fiche est archivée : on ne peut plus la rejoindre.")
    if Membership.objects.filter(user=user, structure=structure).exists():
        raise ValidationError("Vous faites déjà partie de cette structure.")
    automatic = domain_matches(user.email, structure)
    claim = StructureClaim(user=user, structure=structure, message=message.strip()[:2000])
    if automatic:
        claim.status = ClaimStatus.APPROVED
        claim.auto_approved = True
        claim.decided_at = timezone.now()
    try:
        with transaction.atomic():
            claim.save()
    except IntegrityError:
        raise ValidationError("Vous avez déjà une demande en attente pour cette structure.") from None
    log_action(
        actor=user,
        verb="actors.claim.submitted",
        obj=structure,
        data={"claim": claim.pk, "automatic": automatic, "domain": email_domain(user.email)},
    )
    if automatic:
        membership_add(user=user, structure=structure, actor=user)
        log_action(
            actor=user,
            verb="actors.claim.auto_approved",
            obj=structure,
            data={"claim": claim.pk, "user": user.pk},
        )
    else:
        facilitators_notify(
            subject=f"Demande de rattachement à « {structure.name} »",
            body=f"Bonjour,\n\n{user} ({user.email}) demande à rejoindre « {structure.name} ».\n"
            f"La demande attend votre décision dans la page de modération : "
            f"{site_url.rstrip('/')}{reverse('actors:moderation')}\n",
        )
    return claim


def _open_claim(claim: StructureClaim) -> StructureClaim:
    locked = StructureClaim.objects.select_for_update().select_related("user", "structure").get(pk=claim.pk)
    if locked.status != ClaimStatus.OPEN:
        raise ValidationError("Cette demande a déjà été traitée.")
    return locked


@transaction.atomic
def claim_approve(*, claim: StructureClaim, actor, site_url: str = "") -> StructureClaim:
    """Accept an open claim: the person becomes a member and is told by email (links start with
    ``site_url``, e.g. "https://essaim.example.org").

    Raises ValidationError when the claim was already decided. Permission is checked by the caller.
    """
    claim = _open_claim(claim)
    claim.status = ClaimStatus.APPROVED
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.save(update_fields=["status", "decided_by", "decided_at"])
    membership_add(user=claim.user, structure=claim.structure, actor=actor)
    log_action(
        actor=actor,
        verb="actors.claim.approved",
        obj=claim.structure,
        data={"claim": claim.pk, "user": claim.user_id},
    )
    url = site_url.rstrip("/") + reverse("actors:edit", args=[claim.structure.slug])
    _notify(
        claim,
        f"Vous faites partie de « {claim.structure.name} »",
        f"Bonjour,\n\nL'équipe d'animation a accepté votre demande : vous faites désormais partie de "
        f"« {claim.structure.name} » dans l'annuaire.\n\nVous pouvez mettre à jour sa fiche : {url}\n",
    )
    return claim


@transaction.atomic
def claim_reject(*, claim: StructureClaim, actor, reason: str) -> StructureClaim:
    """Refuse an open claim with a ``reason`` (required), sent to the person by email.

    Raises ValidationError for an empty reason or a claim already decided.
    """
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "Indiquez le motif du refus : il sera envoyé à la personne."})
    claim = _open_claim(claim)
    claim.status = ClaimStatus.REJECTED
    claim.reason = reason
    claim.decided_by = actor
    claim.decided_at = timezone.now()
    claim.save(update_fields=["status", "reason", "decided_by", "decided_at"])
    log_action(
        actor=actor,
        verb="actors.claim.rejected",
        obj=claim.structure,
        data={"claim": claim.pk, "user": claim.user_id, "reason": reason},
    )
    _notify(
        claim,
        f"Votre demande pour « {claim.structure.name} »",
        f"Bonjour,\n\nL'équipe d'animation n'a pas accepté votre demande de rattachement à "
        f"« {claim.structure.name} ».\n\nMotif : {reason}\n",
    )
    return claim
