"""System checks of the platform's configuration (``manage.py check`` and ``check --deploy``)."""

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

NO_EMAIL_HOST = (
    "EMAIL_HOST n'est pas défini en production : les courriels (dont les liens de réinitialisation du mot de "
    "passe) ne sont pas envoyés mais écrits dans les journaux du serveur."
)
NO_EMAIL_HOST_HINT = (
    "Définissez EMAIL_HOST (et EMAIL_HOST_USER, EMAIL_HOST_PASSWORD) vers votre serveur SMTP."
)


def _emails_go_to_logs() -> bool:
    return (
        not settings.DEBUG
        and getattr(settings, "ESSAIM_ENVIRONMENT", "") == "production"
        and not getattr(settings, "EMAIL_HOST", None)
    )


@register(Tags.compatibility)
def check_email_host(app_configs=None, **kwargs) -> list:
    """Warning at every command (runserver, migrate…): a production without SMTP leaks reset links to logs."""
    if _emails_go_to_logs():
        return [Warning(NO_EMAIL_HOST, hint=NO_EMAIL_HOST_HINT, id="essaim.W001")]
    return []


@register(Tags.security, deploy=True)
def check_email_host_deploy(app_configs=None, **kwargs) -> list:
    """Error for ``check --deploy``: deployment scripts must stop until SMTP is configured."""
    if _emails_go_to_logs():
        return [Error(NO_EMAIL_HOST, hint=NO_EMAIL_HOST_HINT, id="essaim.E001")]
    return []
