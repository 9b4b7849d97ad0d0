"""Login rate limiting (django-axes) keyed on the email as accounts store it, and the client address."""

import ipaddress

from django.conf import settings

from essaim.accounts.services import normalize_email


def login_username(request, credentials: dict | None = None) -> str:
    """The email a login attempt is for, stripped and lower-cased (AXES_USERNAME_CALLABLE).

    Without it, "Camille@…" and "camille@…" would count as two accounts, so changing the case of the
    address would get round the lockout.
    """
    source = credentials if credentials else getattr(request, "POST", {})
    return normalize_email(source.get("username") or "")


def client_ip(request) -> str | None:
    """The client's IP address, as seen through ``settings.ESSAIM_PROXY_COUNT`` trusted reverse proxies.

    With 0 proxies, REMOTE_ADDR only: X-Forwarded-For is written by the client and never trusted. With N
    proxies, each one appends the address it received from, so the client is the Nth entry from the right;
    a missing, short or malformed header falls back to REMOTE_ADDR (never to a client-chosen value).
    Used by the login lockout (AXES_CLIENT_IP_CALLABLE) and the sign-up/reset rate limits.
    """
    remote_addr = request.META.get("REMOTE_ADDR") or None
    proxy_count = getattr(settings, "ESSAIM_PROXY_COUNT", 0)
    if proxy_count <= 0:
        return remote_addr
    entries = [entry.strip() for entry in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
    if len(entries) < proxy_count:
        return remote_addr
    candidate = entries[-proxy_count]
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError:
        return remote_addr


def client_ip_key(group, request) -> str:
    """django-ratelimit key: the client address from :func:`client_ip`."""
    return client_ip(request) or ""
