"""System checks of the platform's configuration (shown by every command, ``essaim serve`` included)."""

from django.conf import settings
from django.core.checks import Tags, Warning, register

NO_EMAIL_HOST = (
    "EMAIL_HOST n'est pas défini en production : les courriels (dont les liens de réinitialisation du mot de "
    "passe) ne sont pas envoyés mais écrits dans les journaux du serveur."
)
NO_EMAIL_HOST_HINT = (
    "Définissez EMAIL_HOST (et EMAIL_HOST_USER, EMAIL_HOST_PASSWORD) vers votre serveur SMTP."
)


@register(Tags.compatibility)
def check_email_host(app_configs=None, **kwargs) -> list:
    """Warn when a production instance has no SMTP server: reset links would only reach the logs.

    A warning, not an error: an operator may open an instance before its mail is set up, and login works
    without it; ``essaim serve`` prints the warning at every start so it cannot go unnoticed.
    """
    if not settings.DEBUG and settings.ESSAIM_ENVIRONMENT == "production" and not settings.EMAIL_HOST:
        return [Warning(NO_EMAIL_HOST, hint=NO_EMAIL_HOST_HINT, id="essaim.W001")]
    return []
