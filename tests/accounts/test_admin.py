import pytest
from django.urls import reverse

from essaim.accounts.models import Role, User
from essaim.core.models import AuditLogEntry, OutgoingEmail
from tests.factories import AdminFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client):
    admin = AdminFactory(email="admin@exemple.fr")
    client.force_login(admin)
    client.admin = admin
    return client


def test_user_admin_lists_searches_and_filters_by_role(admin_client):
    UserFactory(email="camille@exemple.fr", full_name="Camille Martin", role=Role.FACILITATOR)
    UserFactory(email="dominique@exemple.fr", full_name="Dominique Roux")
    url = reverse("admin:accounts_user_changelist")

    def listed(**params):
        return [u.email for u in admin_client.get(url, params).context["cl"].result_list]

    assert listed(q="camille") == ["camille@exemple.fr"]
    assert listed(role__exact="facilitator") == ["camille@exemple.fr"]
    assert listed(role__exact="member") == ["dominique@exemple.fr"]


def test_admin_creates_a_user_with_a_role(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:accounts_user_add"),
            {
                "email": "Nouvelle@Exemple.fr",
                "full_name": "Nouvelle Animatrice",
                "role": Role.FACILITATOR,
                "password1": "ruche-solidaire-2024",
                "password2": "ruche-solidaire-2024",
            },
        )

    assert response.status_code == 302
    user = User.objects.get(email="nouvelle@exemple.fr")
    assert user.role == Role.FACILITATOR and not user.is_staff
    assert response.url == reverse("admin:accounts_user_change", args=[user.pk])
    entry = AuditLogEntry.objects.for_object(user).get()
    assert entry.verb == "accounts.user.created"
    assert entry.actor == admin_client.admin
    assert entry.data == {"role": Role.FACILITATOR}
    # No welcome email: it would speak of "the password you chose", which the person did not choose.
    assert not OutgoingEmail.objects.addressed_to("nouvelle@exemple.fr").exists()
    assert user.check_password("ruche-solidaire-2024")


def test_admin_password_change_goes_through_the_service(admin_client):
    user = UserFactory(email="camille@exemple.fr")
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    response = admin_client.post(
        url, {"password1": "nouvelle-ruche-2025", "password2": "nouvelle-ruche-2025"}
    )

    assert response.status_code == 302
    user.refresh_from_db()
    assert user.check_password("nouvelle-ruche-2025")
    entry = AuditLogEntry.objects.for_object(user).get(verb="accounts.user.password_changed")
    assert entry.actor == admin_client.admin
    assert entry.data == {"reason": "admin"}


def test_admin_cannot_disable_password_login_bypassing_the_services(admin_client):
    user = UserFactory(email="camille@exemple.fr")
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    response = admin_client.post(url, {"usable_password": "false"})

    assert response.status_code == 200
    user.refresh_from_db()
    assert user.has_usable_password()


def test_admin_password_change_refuses_a_weak_password(admin_client):
    user = UserFactory(email="camille@exemple.fr")
    url = reverse("admin:auth_user_password_change", args=[user.pk])

    response = admin_client.post(url, {"password1": "12345678", "password2": "12345678"})

    assert response.status_code == 200
    assert not AuditLogEntry.objects.filter(verb="accounts.user.password_changed").exists()


def test_admin_cannot_remove_the_last_admin_role(admin_client):
    response = admin_client.post(
        reverse("admin:accounts_user_change", args=[admin_client.admin.pk]), {"role": Role.MEMBER}
    )
    assert response.status_code == 200
    assert "Il doit rester au moins un·e administrateur·rice de la plateforme." in response.content.decode()
    admin_client.admin.refresh_from_db()
    assert admin_client.admin.role == Role.ADMIN


def test_users_are_closed_not_deleted_from_the_admin(admin_client):
    user = UserFactory(email="camille@exemple.fr", full_name="Camille Martin")
    url = reverse("admin:accounts_user_changelist")

    response = admin_client.post(url, {"action": "close_accounts", "_selected_action": [user.pk]})

    assert response.status_code == 302
    user.refresh_from_db()
    assert not user.is_active and user.full_name == ""
    assert AuditLogEntry.objects.get(verb="accounts.user.closed").actor == admin_client.admin
    assert admin_client.get(reverse("admin:accounts_user_delete", args=[user.pk])).status_code == 403
