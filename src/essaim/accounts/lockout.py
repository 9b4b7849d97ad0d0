"""Login rate limiting (django-axes) keyed on the email as accounts store it."""

from essaim.accounts.services import normalize_email


def login_username(request, credentials: dict | None = None) -> str:
    """The email a login attempt is for, stripped and lower-cased (AXES_USERNAME_CALLABLE).

    Without it, "Camille@…" and "camille@…" would count as two accounts, so changing the case of the
    address would get round the lockout.
    """
    source = credentials if credentials else getattr(request, "POST", {})
    return normalize_email(source.get("username") or "")
