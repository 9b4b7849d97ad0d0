import pytest
from django.core.management import call_command

from essaim.core.checks import check_email_host


def _production(settings, email_host):
    settings.DEBUG = False
    settings.ESSAIM_ENVIRONMENT = "production"
    settings.EMAIL_HOST = email_host


def test_production_without_email_host_is_warned(settings):
    _production(settings, None)
    [warning] = check_email_host()
    assert warning.id == "essaim.W001" and not warning.is_serious()
    assert "EMAIL_HOST n'est pas défini en production" in warning.msg


def test_check_command_prints_the_warning(settings, capsys):
    _production(settings, "")
    # Only our tag: pytest-django's string_if_invalid object fails Django's own template check.
    call_command("check", "--tag", "compatibility")
    assert "essaim.W001" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("debug", "environment", "email_host"),
    [(False, "production", "smtp.exemple.fr"), (True, "production", None), (False, "dev", None)],
)
def test_no_complaint_when_email_is_configured_or_not_in_production(settings, debug, environment, email_host):
    settings.DEBUG = debug
    settings.ESSAIM_ENVIRONMENT = environment
    settings.EMAIL_HOST = email_host
    assert check_email_host() == []
