import pytest
from django.contrib.auth import authenticate
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError
from django.test import RequestFactory
from django.urls import reverse

from essaim.accounts.models import Role, User
from essaim.accounts.services import (
    user_create,
    user_deactivate,
    user_set_password,
    user_set_role,
    user_signup,
    user_update_profile,
)
from essaim.core.models import AuditLogEntry, OutgoingEmail
from tests.factories import DEFAULT_PASSWORD, AdminFactory, FacilitatorFactory, UserFactory

pytestmark = pytest.mark.django_db

GOOD_PASSWORD = "ruche-solidaire-2024"


def signup(**overrides):
    data = {"email": "Camille.Martin@Exemple.FR ", "password": GOOD_PASSWORD, "full_name": "Camille Martin"}
    return user_signup(**{**data, **overrides})


def test_signup_creates_a_member_with_a_normalised_email_and_an_audit_entry(
    django_capture_on_commit_callbacks,
):
    with django_capture_on_commit_callbacks(execute=True):
        user = signup(email="  Camille.Martin@Exemple.FR ")

    user.refresh_from_db()
    assert user.email == "camille.martin@exemple.fr"
    assert user.role == Role.MEMBER
    assert not user.is_staff and not user.is_superuser
    assert user.check_password(GOOD_PASSWORD)
    entry = AuditLogEntry.objects.get(verb="accounts.user.signed_up")
    assert entry.actor == user
    assert (entry.object_type, entry.object_id) == ("accounts.user", str(user.pk))
    [welcome] = mail.outbox
    assert welcome.to == ["camille.martin@exemple.fr"]
    assert "Bienvenue" in welcome.subject
    assert "Camille Martin" in welcome.body
    assert OutgoingEmail.objects.get().status == OutgoingEmail.Status.SENT


def test_the_welcome_email_leaves_only_after_commit(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        signup()
        assert mail.outbox == []
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    "email", ["camille.martin@exemple.fr", "CAMILLE.MARTIN@exemple.fr", " Camille.Martin@exemple.fr"]
)
def test_signup_refuses_an_email_already_used_whatever_its_case(email):
    UserFactory(email="camille.martin@exemple.fr")

    with pytest.raises(ValidationError) as excinfo:
        signup(email=email)

    assert excinfo.value.message_dict == {"email": ["Un compte existe déjà avec cette adresse électronique."]}
    assert User.objects.count() == 1


@pytest.mark.parametrize(
    ("password", "expected"),
    [
        ("court1", "Ce mot de passe est trop court"),
        ("1234567890123", "Ce mot de passe est entièrement numérique"),
        ("motdepasse", "Ce mot de passe est trop courant"),
        ("camille.martin", "Le mot de passe est trop semblable"),
    ],
)
def test_signup_refuses_a_weak_password_with_a_french_reason(password, expected):
    with pytest.raises(ValidationError) as excinfo:
        signup(password=password)

    messages = excinfo.value.message_dict["password"]
    assert any(expected in message for message in messages), messages
    assert not User.objects.exists()
    assert not AuditLogEntry.objects.exists()
    assert not OutgoingEmail.objects.exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "pas-une-adresse", "Saisissez une adresse électronique valide"),
        ("email", "   ", "Indiquez votre adresse électronique."),
        ("full_name", "   ", "Indiquez votre nom."),
        ("full_name", "x" * 151, "ne peut pas dépasser 150 caractères"),
    ],
)
def test_signup_explains_bad_input(field, value, message):
    with pytest.raises(ValidationError) as excinfo:
        signup(**{field: value})

    assert message in excinfo.value.message_dict[field][0]
    assert not User.objects.exists()


def test_the_database_refuses_an_upper_case_email_and_admin_access_without_the_admin_role():
    user = UserFactory()
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=user.pk).update(email="Majuscules@Exemple.fr")


@pytest.mark.parametrize(
    "fields",
    [
        {"role": Role.FACILITATOR, "is_staff": True},
        {"role": Role.MEMBER, "is_superuser": True},
        {"role": Role.ADMIN, "is_staff": False},
    ],
)
def test_the_database_ties_admin_access_to_the_admin_role(fields):
    user = UserFactory()
    with pytest.raises(IntegrityError):
        User.objects.filter(pk=user.pk).update(**fields)


def test_an_admin_changes_a_role_and_admin_access_follows():
    admin = AdminFactory()
    user = UserFactory()

    user_set_role(user=user, role=Role.ADMIN, actor=admin)
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (Role.ADMIN, True, True)

    user_set_role(user=user, role=Role.FACILITATOR, actor=admin)
    user.refresh_from_db()
    assert (user.role, user.is_staff, user.is_superuser) == (Role.FACILITATOR, False, False)

    entries = AuditLogEntry.objects.for_object(user).filter(verb="accounts.user.role_changed").order_by("id")
    assert [(e.actor, e.data) for e in entries] == [
        (admin, {"old_role": "member", "new_role": "admin"}),
        (admin, {"old_role": "admin", "new_role": "facilitator"}),
    ]


def test_setting_the_same_role_writes_nothing():
    admin = AdminFactory()
    user = FacilitatorFactory()
    user_set_role(user=user, role=Role.FACILITATOR, actor=admin)
    assert not AuditLogEntry.objects.exists()


@pytest.mark.parametrize("actor_factory", [UserFactory, FacilitatorFactory])
def test_only_an_admin_may_change_a_role(actor_factory):
    actor = actor_factory()
    user = UserFactory()

    with pytest.raises(PermissionDenied):
        user_set_role(user=user, role=Role.ADMIN, actor=actor)

    user.refresh_from_db()
    assert user.role == Role.MEMBER and not user.is_staff
    assert not AuditLogEntry.objects.exists()


def test_a_role_change_refuses_an_unknown_role():
    with pytest.raises(ValidationError, match="Rôle inconnu"):
        user_set_role(user=UserFactory(), role="king", actor=AdminFactory())


def test_the_last_admin_cannot_lose_the_role():
    admin = AdminFactory()
    with pytest.raises(ValidationError, match="au moins un·e administrateur·rice"):
        user_set_role(user=admin, role=Role.MEMBER, actor=admin)

    other = AdminFactory()
    user_set_role(user=admin, role=Role.MEMBER, actor=other)
    admin.refresh_from_db()
    assert admin.role == Role.MEMBER


def test_profile_update_audits_changed_fields_and_warns_the_old_address(django_capture_on_commit_callbacks):
    user = UserFactory(email="ancienne@exemple.fr", full_name="Camille")

    with django_capture_on_commit_callbacks(execute=True):
        user_update_profile(
            user=user,
            full_name="Camille Martin",
            email=" Nouvelle@Exemple.fr",
            current_password=DEFAULT_PASSWORD,
        )

    user.refresh_from_db()
    assert (user.full_name, user.email) == ("Camille Martin", "nouvelle@exemple.fr")
    entry = AuditLogEntry.objects.get(verb="accounts.user.profile_updated")
    assert entry.actor == user
    assert entry.data == {"changed": ["full_name", "email"]}
    [notice] = mail.outbox
    assert notice.to == ["ancienne@exemple.fr"]
    assert "nouvelle@exemple.fr" in notice.body


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("", "Indiquez votre mot de passe actuel pour changer d'adresse électronique."),
        ("mauvais-mot-de-passe", "Le mot de passe actuel est incorrect. Saisissez-le à nouveau."),
    ],
)
def test_changing_the_email_needs_the_current_password(password, message):
    user = UserFactory(email="camille@exemple.fr", full_name="Camille")

    with pytest.raises(ValidationError) as excinfo:
        user_update_profile(
            user=user, full_name="Camille", email="pirate@exemple.fr", current_password=password
        )

    assert excinfo.value.message_dict == {"current_password": [message]}
    user.refresh_from_db()
    assert user.email == "camille@exemple.fr"
    assert not AuditLogEntry.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_changing_only_the_name_needs_no_password():
    user = UserFactory(email="camille@exemple.fr", full_name="Camille")
    user_update_profile(user=user, full_name="Camille Martin", email="camille@exemple.fr")
    user.refresh_from_db()
    assert user.full_name == "Camille Martin"


@pytest.mark.parametrize("contact", ["", "equipe@reseau.fr"])
def test_email_change_notice_points_to_the_team_not_to_a_password_reset(
    settings, django_capture_on_commit_callbacks, contact
):
    settings.ESSAIM_CONTACT_EMAIL = contact
    user = UserFactory(email="ancienne@exemple.fr", full_name="Camille")

    with django_capture_on_commit_callbacks(execute=True):
        user_update_profile(
            user=user, full_name="Camille", email="nouvelle@exemple.fr", current_password=DEFAULT_PASSWORD
        )

    [notice] = mail.outbox
    body = " ".join(notice.body.split())
    assert "ne réinitialisez pas votre mot de passe" in body
    assert "réinitialisez votre mot de passe et" not in body
    assert "Contactez au plus vite l'équipe de la plateforme" in body
    assert ("à l'adresse equipe@reseau.fr" in body) == bool(contact)


def test_password_reset_lifts_the_login_lockout(client):
    from axes.models import AccessAttempt

    user = UserFactory(email="camille@exemple.fr")
    bad = {"username": "camille@exemple.fr", "password": "mauvais-mot-de-passe"}
    login = reverse("accounts:login")
    for _ in range(5):
        client.post(login, bad)
    assert (
        client.post(login, {"username": "camille@exemple.fr", "password": DEFAULT_PASSWORD}).status_code
        == 429
    )

    user_set_password(user=user, password=GOOD_PASSWORD, reason="reset")

    assert not AccessAttempt.objects.exists()
    response = client.post(login, {"username": "camille@exemple.fr", "password": GOOD_PASSWORD})
    assert response.status_code == 302


def test_password_change_keeps_the_login_lockout(client):
    from axes.models import AccessAttempt

    user = UserFactory(email="camille@exemple.fr")
    for _ in range(5):
        client.post(reverse("accounts:login"), {"username": "camille@exemple.fr", "password": "faux"})

    user_set_password(user=user, password=GOOD_PASSWORD, reason="change")

    assert AccessAttempt.objects.filter(username="camille@exemple.fr").exists()


def test_an_admin_creates_an_account_audited_with_their_name():
    admin = AdminFactory()

    user = user_create(
        actor=admin,
        email=" Nouvel@Exemple.fr",
        full_name="Nouvel Admin",
        role=Role.ADMIN,
        password=GOOD_PASSWORD,
    )

    user.refresh_from_db()
    assert (user.email, user.role, user.is_staff, user.is_superuser) == (
        "nouvel@exemple.fr",
        Role.ADMIN,
        True,
        True,
    )
    entry = AuditLogEntry.objects.get()
    assert (entry.verb, entry.actor, entry.object_id) == ("accounts.user.created", admin, str(user.pk))
    assert not OutgoingEmail.objects.exists()


def test_only_admins_create_accounts_and_bad_input_is_refused():
    with pytest.raises(PermissionDenied):
        user_create(
            actor=FacilitatorFactory(),
            email="a@exemple.fr",
            full_name="A",
            role=Role.MEMBER,
            password=GOOD_PASSWORD,
        )
    with pytest.raises(ValidationError) as excinfo:
        user_create(actor=AdminFactory(), email="pas-une-adresse", full_name="", role="chef", password="123")
    assert set(excinfo.value.message_dict) == {"email", "full_name", "role", "password"}
    assert not User.objects.filter(full_name__in=["A", ""]).exclude(role=Role.ADMIN).exists()


def test_profile_update_without_change_writes_nothing():
    user = UserFactory(email="camille@exemple.fr", full_name="Camille")
    user_update_profile(user=user, full_name=" Camille ", email="CAMILLE@exemple.fr")
    assert not AuditLogEntry.objects.exists()
    assert not OutgoingEmail.objects.exists()


def test_profile_update_refuses_another_account_email():
    UserFactory(email="prise@exemple.fr")
    user = UserFactory(email="camille@exemple.fr")

    with pytest.raises(ValidationError) as excinfo:
        user_update_profile(user=user, full_name="Camille", email="PRISE@exemple.fr")

    assert excinfo.value.message_dict["email"] == ["Un compte existe déjà avec cette adresse électronique."]
    user.refresh_from_db()
    assert user.email == "camille@exemple.fr"


def test_password_change_is_validated_and_audited():
    user = UserFactory()
    with pytest.raises(ValidationError):
        user_set_password(user=user, password="123", reason="change")
    user_set_password(user=user, password=GOOD_PASSWORD, reason="change")
    user.refresh_from_db()
    assert user.check_password(GOOD_PASSWORD)
    assert AuditLogEntry.objects.get().data == {"reason": "change"}


def test_closing_an_account_anonymises_it_and_keeps_the_audit_trail(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = signup(email="camille@exemple.fr", full_name="Camille Martin")
    user_update_profile(user=user, full_name="Camille M.", email="camille@exemple.fr")
    stranger_email = OutgoingEmail.objects.create(
        from_email="a@exemple.fr", to=["autre@exemple.fr"], subject="x", body="x"
    )

    user_deactivate(user=user, actor=user)

    user.refresh_from_db()
    assert user.email == f"compte-ferme-{user.pk}@anonyme.invalid"
    assert user.full_name == ""
    assert not user.has_usable_password()
    assert not user.is_active
    assert user.deactivated_at is not None
    assert (
        authenticate(RequestFactory().post("/"), username="camille@exemple.fr", password=GOOD_PASSWORD)
        is None
    )
    # Audit rows stay, point to the closed account, and no longer hold the name.
    verbs = set(AuditLogEntry.objects.for_object(user).values_list("verb", flat=True))
    assert verbs == {"accounts.user.signed_up", "accounts.user.profile_updated", "accounts.user.closed"}
    reprs = set(AuditLogEntry.objects.values_list("object_repr", flat=True))
    assert not any("Camille" in r or "camille@" in r for r in reprs)
    assert AuditLogEntry.objects.get(verb="accounts.user.closed").data == {"by_self": True}
    # Emails to the old address (the welcome email) are gone; others stay.
    assert list(OutgoingEmail.objects.all()) == [stranger_email]


def test_an_admin_may_close_an_account_but_a_member_may_not_close_another():
    user = UserFactory()
    with pytest.raises(PermissionDenied):
        user_deactivate(user=user, actor=UserFactory())
    with pytest.raises(PermissionDenied):
        user_deactivate(user=user, actor=FacilitatorFactory())

    admin = AdminFactory()
    user_deactivate(user=user, actor=admin)
    user.refresh_from_db()
    assert not user.is_active
    assert AuditLogEntry.objects.get(verb="accounts.user.closed").actor == admin


def test_the_last_admin_cannot_close_their_account():
    admin = AdminFactory()
    with pytest.raises(ValidationError):
        user_deactivate(user=admin, actor=admin)
    admin.refresh_from_db()
    assert admin.is_active


def test_factories_log_in_with_the_default_password():
    user = UserFactory()
    assert user.check_password(DEFAULT_PASSWORD)


def test_closing_an_account_erases_emails_to_a_non_ascii_address(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user = signup(email="Camille@Café.fr", full_name="Camille Lefèvre")
    kept = OutgoingEmail.objects.create(
        from_email="a@exemple.fr", to=["camille@cafe.fr"], subject="x", body="x"
    )
    assert OutgoingEmail.objects.exclude(pk=kept.pk).count() == 1  # the welcome email

    user_deactivate(user=user, actor=user)

    assert list(OutgoingEmail.objects.all()) == [kept]
