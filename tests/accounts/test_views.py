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

    response = client.post(
        PROFILE,
        {"full_name": "Camille Martin", "email": "c.martin@exemple.fr", "current_password": DEFAULT_PASSWORD},
    )

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


def test_profile_email_change_without_the_password_is_refused_next_to_the_field(client):
    user = UserFactory(email="camille@exemple.fr", full_name="Camille")
    client.force_login(user)

    response = client.post(PROFILE, {"full_name": "Camille", "email": "pirate@exemple.fr"})

    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="id_current_password_error"' in html
    assert "Indiquez votre mot de passe actuel pour changer d&#x27;adresse électronique." in html
    # The error summary is a titled region, focused on load by app.js, linking to the field.
    assert 'role="region" aria-labelledby="form-errors-title" tabindex="-1" data-focus-on-load' in html
    assert '<h2 id="form-errors-title">Le formulaire contient des erreurs</h2>' in html
    assert 'href="#id_current_password"' in html
    user.refresh_from_db()
    assert user.email == "camille@exemple.fr"
    assert "pirate" not in client.get(PROFILE).content.decode()  # the shown value is the real one


def test_profile_shows_actions_of_other_apps_with_a_french_label(client):
    user = UserFactory()
    AuditLogEntry.objects.create(
        actor=user,
        verb="actors.structure.created",
        object_type="actors.structure",
        object_id="7",
        object_repr="Ressourcerie du Val",
    )
    AuditLogEntry.objects.create(actor=user, verb="actors.label.removed", object_type="actors.label")
    client.force_login(user)

    html = client.get(PROFILE).content.decode()

    assert "Action : Ressourcerie du Val" in html
    assert "actors.structure.created" not in html
    assert "actors.label.removed" not in html


# --- Client address behind proxies, rate limits ----------------------------------------------------------


def _fail_logins(client, email, times, **headers):
    for _ in range(times):
        client.post(LOGIN, {"username": email, "password": "mauvais-mot-de-passe"}, **headers)


def test_behind_one_proxy_the_lockout_is_per_forwarded_client(client, settings):
    settings.ESSAIM_PROXY_COUNT = 1
    UserFactory(email="camille@exemple.fr")
    # Every request comes from nginx (127.0.0.1); nginx appends the real client to X-Forwarded-For.
    attacker = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "6.6.6.6, 203.0.113.9"}
    owner = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "198.51.100.4"}
    good = {"username": "camille@exemple.fr", "password": DEFAULT_PASSWORD}

    _fail_logins(client, "camille@exemple.fr", 5, **attacker)

    assert client.post(LOGIN, good, **attacker).status_code == 429
    assert client.post(LOGIN, good, **owner).status_code == 302


def test_without_proxy_a_spoofed_forwarded_for_does_not_change_the_lock_key(client, settings):
    settings.ESSAIM_PROXY_COUNT = 0
    UserFactory(email="camille@exemple.fr")
    good = {"username": "camille@exemple.fr", "password": DEFAULT_PASSWORD}

    for number in range(5):
        client.post(
            LOGIN,
            {"username": "camille@exemple.fr", "password": "faux"},
            REMOTE_ADDR="203.0.113.9",
            HTTP_X_FORWARDED_FOR=f"10.0.0.{number}",
        )

    locked = client.post(LOGIN, good, REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.9.9.9")
    assert locked.status_code == 429


@pytest.mark.parametrize(
    ("proxies", "forwarded", "expected"),
    [
        (0, "1.1.1.1", "192.0.2.1"),
        (1, "1.1.1.1, 2.2.2.2", "2.2.2.2"),
        (2, "1.1.1.1, 2.2.2.2, 3.3.3.3", "2.2.2.2"),
        (2, "3.3.3.3", "192.0.2.1"),  # shorter than the proxy chain
        (1, "pas-une-adresse", "192.0.2.1"),
        (1, "", "192.0.2.1"),
        (1, " 2001:db8::1 ", "2001:db8::1"),
    ],
)
def test_client_ip(settings, rf, proxies, forwarded, expected):
    from essaim.accounts.lockout import client_ip

    settings.ESSAIM_PROXY_COUNT = proxies
    request = rf.get("/", REMOTE_ADDR="192.0.2.1", HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_signup_is_rate_limited_per_client_address(client, settings):
    settings.ESSAIM_PROXY_COUNT = 1
    from_a = {"HTTP_X_FORWARDED_FOR": "203.0.113.9"}
    # Probing existing addresses ("Un compte existe déjà") counts too.
    UserFactory(email="camille@exemple.fr")
    statuses = [
        client.post(SIGNUP, signup_data(email="camille@exemple.fr"), **from_a).status_code for _ in range(5)
    ]
    blocked = client.post(SIGNUP, signup_data(email="nouveau@exemple.fr"), **from_a)

    assert statuses == [200] * 5
    assert blocked.status_code == 429
    assert "Trop de demandes" in blocked.content.decode()
    assert not User.objects.filter(email="nouveau@exemple.fr").exists()
    other = client.post(SIGNUP, signup_data(email="nouveau@exemple.fr"), HTTP_X_FORWARDED_FOR="198.51.100.4")
    assert other.status_code == 302
    # Pages are still shown (GET is not counted).
    client.logout()
    assert client.get(SIGNUP, **from_a).status_code == 200


def test_password_reset_is_rate_limited_per_email_and_per_address(
    client, settings, django_capture_on_commit_callbacks
):
    settings.ESSAIM_PROXY_COUNT = 1
    UserFactory(email="camille@exemple.fr")
    url = reverse("accounts:password_reset")

    with django_capture_on_commit_callbacks(execute=True):
        per_email = [
            client.post(
                url, {"email": "Camille@exemple.fr"}, HTTP_X_FORWARDED_FOR=f"203.0.113.{n}"
            ).status_code
            for n in range(4)
        ]
    assert per_email == [302, 302, 302, 429]
    assert len(mail.outbox) == 3

    per_address = [
        client.post(url, {"email": f"inconnu{n}@exemple.fr"}, HTTP_X_FORWARDED_FOR="198.51.100.4").status_code
        for n in range(6)
    ]
    assert per_address == [302] * 5 + [429]
    assert (
        "Trop de demandes"
        in client.post(url, {"email": "x@exemple.fr"}, HTTP_X_FORWARDED_FOR="198.51.100.4").content.decode()
    )
