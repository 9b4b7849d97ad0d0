import re

import pytest
from django.core import mail
from django.urls import reverse

from essaim.accounts.models import Role, User
from essaim.core.models import AuditLogEntry
from tests.factories import DEFAULT_PASSWORD, UserFactory

pytestmark = pytest.mark.django_db

LOGIN = reverse("accounts:login")
SIGNUP = reverse("accounts:signup")
PROFILE = reverse("accounts:profile")
GOOD_PASSWORD = "ruche-solidaire-2024"


def signup_data(**overrides):
    data = {
        "email": "Camille@Exemple.fr",
        "full_name": "Camille Martin",
        "password1": GOOD_PASSWORD,
        "password2": GOOD_PASSWORD,
        "consent": "on",
    }
    return {**data, **overrides}


def logged_in_user(client):
    return client.session.get("_auth_user_id")


# --- Sign-up ----------------------------------------------------------------------------------------------


def test_signup_page_has_labelled_fields_and_links_the_privacy_policy(client):
    response = client.get(SIGNUP)

    html = response.content.decode()
    assert response.status_code == 200
    assert "<h1" in html and "Créer un compte" in html
    assert f'href="{reverse("www:privacy")}"' in html
    assert 'autocomplete="email"' in html
    assert html.count('autocomplete="new-password"') == 2
    assert '<label for="id_email">' in html
    assert 'aria-describedby="id_password1_helptext"' in html


def test_signup_creates_the_account_logs_in_and_sends_a_welcome_email(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(SIGNUP, signup_data())

    assert response.status_code == 302
    assert response.url == PROFILE
    user = User.objects.get()
    assert user.email == "camille@exemple.fr"
    assert user.role == Role.MEMBER
    assert logged_in_user(client) == str(user.pk)
    assert [m.to for m in mail.outbox] == [["camille@exemple.fr"]]
    assert AuditLogEntry.objects.filter(verb="accounts.user.signed_up", actor=user).exists()


def test_signup_without_consent_is_refused_with_a_linked_error(client):
    data = signup_data()
    del data["consent"]

    response = client.post(SIGNUP, data)

    html = response.content.decode()
    assert response.status_code == 200
    assert "Vous devez accepter la politique de données personnelles" in html
    assert 'id="id_consent_error"' in html
    assert 'aria-describedby="id_consent_error"' in html
    assert 'aria-invalid="true"' in html
    assert not User.objects.exists()


def test_signup_with_a_used_email_is_refused(client):
    UserFactory(email="camille@exemple.fr")

    response = client.post(SIGNUP, signup_data(email="CAMILLE@exemple.fr"))

    assert response.status_code == 200
    assert "Un compte existe déjà avec cette adresse électronique." in response.content.decode()
    assert User.objects.count() == 1


def test_signup_with_a_weak_password_shows_the_reason_next_to_the_field(client):
    response = client.post(SIGNUP, signup_data(password1="12345678", password2="12345678"))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Ce mot de passe est trop court" in html
    assert 'aria-describedby="id_password1_helptext id_password1_error"' in html
    assert not User.objects.exists()


def test_signup_with_different_passwords_is_refused(client):
    response = client.post(SIGNUP, signup_data(password2="autre-chose-2024"))
    assert response.status_code == 200
    assert "Les deux mots de passe ne sont pas identiques." in response.content.decode()
    assert not User.objects.exists()


# --- Login, logout, lockout -------------------------------------------------------------------------------


def test_login_page_asks_for_the_email_address(client):
    html = client.get(LOGIN).content.decode()
    assert "Adresse électronique" in html
    assert 'autocomplete="email"' in html
    assert 'autocomplete="current-password"' in html
    assert f'href="{reverse("accounts:password_reset")}"' in html


def test_login_by_email_whatever_its_case(client):
    user = UserFactory(email="camille@exemple.fr")

    response = client.post(LOGIN, {"username": " Camille@EXEMPLE.fr", "password": DEFAULT_PASSWORD})

    assert response.status_code == 302
    assert response.url == PROFILE
    assert logged_in_user(client) == str(user.pk)


def test_login_failure_does_not_reveal_whether_the_account_exists(client):
    UserFactory(email="camille@exemple.fr")
    UserFactory(email="ferme@exemple.fr", is_active=False)

    pages = [
        client.post(LOGIN, {"username": email, "password": password})
        for email, password in [
            ("camille@exemple.fr", "mauvais-mot-de-passe"),
            ("inconnu@exemple.fr", "mauvais-mot-de-passe"),
            ("ferme@exemple.fr", DEFAULT_PASSWORD),
        ]
    ]

    for response in pages:
        assert response.status_code == 200
        assert "Adresse électronique ou mot de passe incorrect." in response.content.decode()
    assert logged_in_user(client) is None
    # The three pages say exactly the same thing.
    errors = {
        re.search(r'<div class="form-errors".*?</div>', r.content.decode(), re.S).group(0) for r in pages
    }
    assert len(errors) == 1


@pytest.mark.parametrize(
    ("next_url", "expected"),
    [
        ("/territoires/", "/territoires/"),
        ("https://pirate.example/vol", PROFILE),
        ("//pirate.example/vol", PROFILE),
        ("javascript:alert(1)", PROFILE),
    ],
)
def test_login_only_follows_next_within_the_site(client, next_url, expected):
    UserFactory(email="camille@exemple.fr")

    response = client.post(
        LOGIN, {"username": "camille@exemple.fr", "password": DEFAULT_PASSWORD, "next": next_url}
    )

    assert response.status_code == 302
    assert response.url == expected


def test_five_failures_lock_the_login_for_this_account_and_address(client):
    UserFactory(email="camille@exemple.fr")
    bad = {"username": "camille@exemple.fr", "password": "mauvais-mot-de-passe"}

    statuses = [client.post(LOGIN, bad).status_code for _ in range(5)]
    locked = client.post(LOGIN, {"username": "camille@exemple.fr", "password": DEFAULT_PASSWORD})

    assert statuses == [200, 200, 200, 200, 429]
    assert locked.status_code == 429
    html = locked.content.decode()
    assert "Connexion temporairement bloquée" in html
    assert "15 minutes" in html
    assert logged_in_user(client) is None
    # Another account from the same address is not locked.
    UserFactory(email="dominique@exemple.fr")
    other = client.post(LOGIN, {"username": "dominique@exemple.fr", "password": DEFAULT_PASSWORD})
    assert other.status_code == 302


def test_logout_needs_a_post(client):
    user = UserFactory()
    client.force_login(user)

    assert client.get(reverse("accounts:logout")).status_code == 405
    assert logged_in_user(client) == str(user.pk)

    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 302
    assert response.url == reverse("www:home")
    assert logged_in_user(client) is None


# --- Password reset and change ----------------------------------------------------------------------------


def test_password_reset_full_flow(client, django_capture_on_commit_callbacks):
    user = UserFactory(email="camille@exemple.fr")
    new_password = "nouveau-rucher-2025"

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": "Camille@Exemple.fr"})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")

    [message] = mail.outbox
    assert message.to == ["camille@exemple.fr"]
    assert message.subject == "Réinitialisation de votre mot de passe"
    link = re.search(r"http://testserver(/compte/mot-de-passe/nouveau/\S+/\S+/)", message.body).group(1)

    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Choisir un nouveau mot de passe" in form_page.content.decode()
    set_password_url = form_page.redirect_chain[-1][0]

    done = client.post(set_password_url, {"new_password1": new_password, "new_password2": new_password})
    assert done.status_code == 302
    assert done.url == reverse("accounts:password_reset_complete")
    assert AuditLogEntry.objects.get(verb="accounts.user.password_changed").data == {"reason": "reset"}

    # The link served once; the new password works, the old one no longer does.
    assert "n'est plus valable" in client.get(link, follow=True).content.decode()
    assert (
        client.post(LOGIN, {"username": "camille@exemple.fr", "password": DEFAULT_PASSWORD}).status_code
        == 200
    )
    login = client.post(LOGIN, {"username": "camille@exemple.fr", "password": new_password})
    assert login.status_code == 302
    assert logged_in_user(client) == str(user.pk)


def test_password_reset_for_an_unknown_email_looks_the_same_and_sends_nothing(
    client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("accounts:password_reset"), {"email": "inconnu@exemple.fr"})
    assert response.status_code == 302
    assert response.url == reverse("accounts:password_reset_done")
    assert mail.outbox == []


def test_password_change(client):
    user = UserFactory()
    client.force_login(user)
    url = reverse("accounts:password_change")
    new_password = "nouveau-rucher-2025"

    wrong = client.post(
        url, {"old_password": "faux", "new_password1": new_password, "new_password2": new_password}
    )
    assert wrong.status_code == 200
    assert "Le mot de passe actuel est incorrect." in wrong.content.decode()

    response = client.post(
        url, {"old_password": DEFAULT_PASSWORD, "new_password1": new_password, "new_password2": new_password}
    )
    assert response.status_code == 302
    assert response.url == PROFILE
    user.refresh_from_db()
    assert user.check_password(new_password)
    assert logged_in_user(client) == str(user.pk)  # the session survives the change
    assert AuditLogEntry.objects.get(verb="accounts.user.password_changed").data == {"reason": "change"}


# --- Profile and account closing --------------------------------------------------------------------------


def test_profile_shows_the_role_and_own_recent_activity(client):
    user = UserFactory(full_name="Camille Martin", role=Role.FACILITATOR)
    other = UserFactory()
    AuditLogEntry.objects.create(
        actor=user, verb="accounts.user.profile_updated", object_type="accounts.user", object_id=str(user.pk)
    )
    AuditLogEntry.objects.create(
        actor=other, verb="accounts.user.signed_up", object_type="accounts.user", object_id=str(other.pk)
    )
    client.force_login(user)

    html = client.get(PROFILE).content.decode()

    assert "Animateur·rice" in html
    assert 'value="Camille Martin"' in html
    assert "Modification du profil" in html
    assert "Création du compte" not in html  # another person's activity


def test_profile_edit(client):
    user = UserFactory(email="camille@exemple.fr", full_name="Camille")
    client.force_login(user)

    response = client.post(PROFILE, {"full_name": "Camille Martin", "email": "c.martin@exemple.fr"})

    assert response.status_code == 302
    user.refresh_from_db()
    assert (user.full_name, user.email) == ("Camille Martin", "c.martin@exemple.fr")
    assert AuditLogEntry.objects.filter(verb="accounts.user.profile_updated", actor=user).exists()


def test_profile_edit_refuses_an_email_in_use(client):
    UserFactory(email="prise@exemple.fr")
    user = UserFactory(email="camille@exemple.fr")
    client.force_login(user)

    response = client.post(PROFILE, {"full_name": "Camille", "email": "prise@exemple.fr"})

    assert response.status_code == 200
    assert "Un compte existe déjà avec cette adresse électronique." in response.content.decode()
    user.refresh_from_db()
    assert user.email == "camille@exemple.fr"


def test_closing_my_account_asks_for_my_password_then_anonymises_and_logs_out(client):
    user = UserFactory(email="camille@exemple.fr", full_name="Camille Martin")
    client.force_login(user)
    url = reverse("accounts:close")

    refused = client.post(url, {"password": "faux", "confirm": "on"})
    assert refused.status_code == 200
    assert "Mot de passe incorrect." in refused.content.decode()
    unconfirmed = client.post(url, {"password": DEFAULT_PASSWORD})
    assert unconfirmed.status_code == 200
    user.refresh_from_db()
    assert user.is_active

    response = client.post(url, {"password": DEFAULT_PASSWORD, "confirm": "on"})

    assert response.status_code == 302
    assert response.url == reverse("www:home")
    assert logged_in_user(client) is None
    user.refresh_from_db()
    assert not user.is_active
    assert user.full_name == ""
    assert "camille" not in user.email
    login = client.post(LOGIN, {"username": "camille@exemple.fr", "password": DEFAULT_PASSWORD})
    assert login.status_code == 200
