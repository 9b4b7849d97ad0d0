"""Write operations on accounts. Every change goes through these functions (views, admin, commands)."""

from typing import Literal

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from essaim.accounts import access
from essaim.accounts.models import Role, User
from essaim.core.audit import log_action
from essaim.core.models import AuditLogEntry, OutgoingEmail

DUPLICATE_EMAIL = "Un compte existe déjà avec cette adresse électronique."
INVALID_EMAIL = "Saisissez une adresse électronique valide, par exemple prenom.nom@exemple.fr."
LAST_ADMIN = "Il doit rester au moins un·e administrateur·rice de la plateforme."
EMAIL_CHANGE_PASSWORD_MISSING = "Indiquez votre mot de passe actuel pour changer d'adresse électronique."  # noqa: S105
EMAIL_CHANGE_PASSWORD_WRONG = "Le mot de passe actuel est incorrect. Saisissez-le à nouveau."  # noqa: S105
FULL_NAME_MAX = User._meta.get_field("full_name").max_length


def normalize_email(email: str) -> str:
    """Emails are stored stripped and lower-cased, so that uniqueness and login ignore case."""
    return (email or "").strip().lower()


def _clean_email(email: str, *, errors: dict, exclude_pk: int | None = None) -> str:
    email = normalize_email(email)
    if not email:
        errors["email"] = "Indiquez votre adresse électronique."
        return email
    try:
        EmailValidator(message=INVALID_EMAIL)(email)
    except ValidationError:
        errors["email"] = INVALID_EMAIL
        return email
    if User.objects.filter(email=email).exclude(pk=exclude_pk).exists():
        errors["email"] = DUPLICATE_EMAIL
    return email


def _clean_full_name(full_name: str, *, errors: dict) -> str:
    full_name = " ".join((full_name or "").split())
    if not full_name:
        errors["full_name"] = "Indiquez votre nom."
    elif len(full_name) > FULL_NAME_MAX:
        errors["full_name"] = f"Le nom ne peut pas dépasser {FULL_NAME_MAX} caractères."
    return full_name


def _save_checking_email(user: User, **kwargs) -> None:
    """Save, turning a lost race on the unique email into the same French error as the early check."""
    try:
        with transaction.atomic():
            user.save(**kwargs)
    except IntegrityError as exc:
        if User.objects.filter(email=user.email).exclude(pk=user.pk).exists():
            raise ValidationError({"email": DUPLICATE_EMAIL}) from exc
        raise


def _send_template_email(*, to: str, template: str, context: dict) -> None:
    """Queue an email rendered from accounts/emails/<template>_subject.txt and _body.txt."""
    context = {"site_name": settings.ESSAIM_SITE_NAME, **context}
    subject = " ".join(render_to_string(f"accounts/emails/{template}_subject.txt", context).split())
    body = render_to_string(f"accounts/emails/{template}_body.txt", context)
    send_mail(subject, body, None, [to])


@transaction.atomic
def user_signup(*, email: str, password: str, full_name: str) -> User:
    """Create a member account and queue a welcome email (sent once the transaction commits).

    Raises ValidationError with French messages keyed by field ("email", "full_name", "password") for an
    invalid or already used email, a missing name, or a password refused by the password validators.
    """
    errors: dict = {}
    email = _clean_email(email, errors=errors)
    full_name = _clean_full_name(full_name, errors=errors)
    user = User(email=email, full_name=full_name, role=Role.MEMBER)
    try:
        validate_password(password or "", user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.set_password(password)
    _save_checking_email(user)
    log_action(actor=user, verb="accounts.user.signed_up", obj=user)
    # Stored in this transaction, delivered after commit: a failed sign-up sends nothing.
    _send_template_email(to=user.email, template="welcome", context={"user": user})
    return user


@transaction.atomic
def user_create(*, actor: User, email: str, full_name: str, role: str, password: str) -> User:
    """Create an account on behalf of a platform administrator (``actor``), with the role ``role``.

    No welcome email (the person did not choose the password; the administrator passes it on). Audited as
    ``accounts.user.created`` by ``actor``. Raises PermissionDenied unless ``actor`` is a platform
    administrator, ValidationError (French, keyed by field) for an invalid or used email, a missing name, an
    unknown role or a password refused by the validators.
    """
    if not (actor and actor.is_active and actor.is_platform_admin):
        raise PermissionDenied("Seul·e un·e administrateur·rice de la plateforme peut créer un compte.")
    errors: dict = {}
    email = _clean_email(email, errors=errors)
    full_name = _clean_full_name(full_name, errors=errors)
    if role not in Role.values:
        errors["role"] = "Rôle inconnu."
    user = User(email=email, full_name=full_name, role=role)
    try:
        validate_password(password or "", user=user)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.set_password(password)
    _save_checking_email(user)
    log_action(actor=actor, verb="accounts.user.created", obj=user, data={"role": role})
    return user


@transaction.atomic
def user_update_profile(*, user: User, full_name: str, email: str, current_password: str = "") -> User:
    """Change a person's name and email (the person acts on their own account).

    Changing the email requires ``current_password``: whoever holds an open session could otherwise take the
    account over (the password reset goes to the email). The audit entry lists the changed fields, not their
    values (personal data). When the email changes, a notice goes to the previous address so that a hijacked
    account is noticed. Raises ValidationError (French, keyed by field) for a missing name, an invalid or
    already used email, or a missing or wrong current password.
    """
    errors: dict = {}
    email = _clean_email(email, errors=errors, exclude_pk=user.pk)
    full_name = _clean_full_name(full_name, errors=errors)
    if email and email != user.email and "email" not in errors:
        if not current_password:
            errors["current_password"] = EMAIL_CHANGE_PASSWORD_MISSING
        elif not user.check_password(current_password):
            errors["current_password"] = EMAIL_CHANGE_PASSWORD_WRONG
    if errors:
        raise ValidationError(errors)
    old_email = user.email
    changed = [
        field
        for field, value in (("full_name", full_name), ("email", email))
        if getattr(user, field) != value
    ]
    if not changed:
        return user
    user.full_name = full_name
    user.email = email
    _save_checking_email(user, update_fields=changed)
    log_action(actor=user, verb="accounts.user.profile_updated", obj=user, data={"changed": changed})
    if "email" in changed:
        _send_template_email(
            to=old_email,
            template="email_changed",
            context={"user": user, "contact_email": settings.ESSAIM_CONTACT_EMAIL},
        )
    return user


@transaction.atomic
def user_set_password(*, user: User, password: str, reason: Literal["change", "reset"]) -> User:
    """Set a new password (after the form checked the old one or the reset token) and audit it.

    A reset also lifts the login lockout of the account (the lockout page points to the reset), from every
    address. Raises ValidationError (French) when the password validators refuse it.
    """
    validate_password(password, user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    log_action(actor=user, verb="accounts.user.password_changed", obj=user, data={"reason": reason})
    if reason == "reset":
        from axes.utils import reset as axes_reset

        axes_reset(username=user.email)
    return user


@transaction.atomic
def user_admin_set_password(*, user: User, password: str, actor: User) -> User:
    """An administrator sets another person's password (Django admin), audited with ``actor`` as author.

    Also lifts the login lockout. Raises PermissionDenied unless ``actor`` is a platform administrator, and
    ValidationError (French) when the password validators refuse the password.
    """
    if not (actor and actor.is_active and actor.is_platform_admin):
        raise PermissionDenied(
            "Seul·e un·e administrateur·rice de la plateforme peut changer ce mot de passe."
        )
    validate_password(password, user=user)
    user.set_password(password)
    user.save(update_fields=["password"])
    log_action(actor=actor, verb="accounts.user.password_changed", obj=user, data={"reason": "admin"})
    from axes.utils import reset as axes_reset

    axes_reset(username=user.email)
    return user


def _other_active_admins(user: User) -> bool:
    # Lock the administrators' rows so that two concurrent demotions cannot remove the last one.
    admins = User.objects.select_for_update().filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk)
    return len(admins.values_list("pk", flat=True)) > 0


@transaction.atomic
def user_set_role(*, user: User, role: str, actor: User) -> User:
    """Give ``user`` the role ``role`` (a Role value); Django admin access follows (administrators only).

    Raises PermissionDenied unless ``actor`` is a platform administrator, and ValidationError (French) for an
    unknown role or when the change would leave the platform without an active administrator.
    """
    if not access.can_set_role(actor, user):
        raise PermissionDenied("Seul·e un·e administrateur·rice de la plateforme peut changer un rôle.")
    if role not in Role.values:
        raise ValidationError({"role": "Rôle inconnu."})
    old_role = User.objects.select_for_update().values_list("role", flat=True).get(pk=user.pk)
    if old_role == role:
        return user
    if old_role == Role.ADMIN and not _other_active_admins(user):
        raise ValidationError({"role": LAST_ADMIN})
    user.role = role
    user.is_staff = user.is_superuser = role == Role.ADMIN
    user.save(update_fields=["role", "is_staff", "is_superuser"])
    log_action(
        actor=actor,
        verb="accounts.user.role_changed",
        obj=user,
        data={"old_role": old_role, "new_role": role},
    )
    return user


@transaction.atomic
def user_deactivate(*, user: User, actor: User) -> User:
    """Close an account (by its owner, or by an administrator) and anonymise its personal data (RGPD).

    The row stays, so that audit entries keep pointing to "a closed account"; name, email and password are
    wiped, the role is dropped, queued and sent emails to the address and login-attempt records are deleted.
    Raises PermissionDenied if ``actor`` may not close it, ValidationError for the last administrator.
    """
    if not access.can_close_account(actor, user):
        raise PermissionDenied("Vous ne pouvez pas fermer ce compte.")
    if user.role == Role.ADMIN and not _other_active_admins(user):
        raise ValidationError(LAST_ADMIN)
    old_email = user.email
    by_self = actor.pk == user.pk

    user.email = f"compte-ferme-{user.pk}@anonyme.invalid"
    user.full_name = ""
    user.set_unusable_password()
    user.role = Role.MEMBER
    user.is_staff = user.is_superuser = False
    user.is_active = False
    user.deactivated_at = timezone.now()
    user.save(
        update_fields=[
            "email",
            "full_name",
            "password",
            "role",
            "is_staff",
            "is_superuser",
            "is_active",
            "deactivated_at",
        ]
    )
    user.groups.clear()
    user.user_permissions.clear()

    AuditLogEntry.objects.for_object(user).update(object_repr=str(user))
    OutgoingEmail.objects.addressed_to(old_email).delete()
    _forget_login_attempts(old_email)
    log_action(actor=actor, verb="accounts.user.closed", obj=user, data={"by_self": by_self})
    return user


def _forget_login_attempts(email: str) -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username__iexact=email).delete()
