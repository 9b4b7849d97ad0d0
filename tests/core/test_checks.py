import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from essaim.core.checks import check_email_host, check_email_host_deploy


def _production(settings, email_host):
    settings.DEBUG = False
    settings.ESSAIM_ENVIRONMENT = "production"
    settings.EMAIL_HOST = email_host


def test_production_without_email_host_fails_the_deploy_check(settings):
    _production(settings, None)

    [error] = check_email_host_deploy()
    assert error.id == "essaim.E001"
    assert error.is_serious()
    assert "EMAIL_HOST n'est pas défini en production" in error.msg
    [warning] = check_email_host()
    assert warning.id == "essaim.W001" and not warning.is_serious()


def test_check_deploy_command_stops_on_it(settings):
    _production(settings, "")
    with pytest.raises(SystemCheckError, match=r"essaim\.E001"):
        call_command("check", "--deploy", "--tag", "security")


@pytest.mark.parametrize(
    ("debug", "environment", "email_host"),
    [(False, "production", "smtp.exemple.fr"), (True, "production", None), (False, "dev", None)],
)
def test_no_complaint_when_email_is_configured_or_not_in_production(settings, debug, environment, email_host):
    settings.DEBUG = debug
    settings.ESSAIM_ENVIRONMENT = environment
    settings.EMAIL_HOST = email_host
    assert check_email_host_deploy() == []
    assert check_email_host() == []
