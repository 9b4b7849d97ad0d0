import pytest
from django.test import Client
from django.urls import reverse

pytestmark = [pytest.mark.django_db, pytest.mark.urls("tests.www.urls_errors")]


@pytest.fixture
def production(settings):
    settings.DEBUG = False


def test_404_page_is_french_and_in_the_layout(client, production):
    response = client.get("/cette-page-n-existe-pas/")

    assert response.status_code == 404
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert "<h1>Page introuvable</h1>" in html
    assert 'aria-label="Navigation principale"' in html
    assert "Content-Security-Policy" in response.headers


def test_500_page_is_french(production):
    client = Client(raise_request_exception=False)

    response = client.get("/test-erreur/500/")

    assert response.status_code == 500
    html = response.content.decode()
    assert '<html lang="fr"' in html
    assert "Une erreur est survenue de notre côté" in html


def test_400_page_is_french(client, production):
    response = client.get("/test-erreur/400/")

    assert response.status_code == 400
    assert "Cette demande n'a pas pu être comprise" in response.content.decode()


def test_403_page_is_french(client, production):
    response = client.get("/test-erreur/403/")

    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Accès refusé</h1>" in html
    assert f'href="{reverse("accounts:login")}"' in html


def test_csrf_failure_page_is_french(production):
    client = Client(enforce_csrf_checks=True)

    response = client.post(reverse("accounts:login"), {"username": "x@exemple.fr", "password": "y"})

    assert response.status_code == 403
    html = response.content.decode()
    assert "<h1>Le formulaire a expiré</h1>" in html
    assert '<html lang="fr"' in html
