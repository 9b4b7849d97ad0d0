"""The site's public address, for links built outside a request (emails sent by tasks)."""

from django.conf import settings


def site_url() -> str:
    """The public root of the site for links in emails ("https://annuaire.example.org"), no trailing slash.

    ``ESSAIM_SITE_URL`` when set, else the first concrete host of ALLOWED_HOSTS.
    """
    configured = getattr(settings, "ESSAIM_SITE_URL", "")
    if configured:
        return configured.rstrip("/")
    scheme = "https" if getattr(settings, "ESSAIM_HTTPS", True) else "http"
    hosts = [host.lstrip(".") for host in settings.ALLOWED_HOSTS if host not in {"*", ""}]
    return f"{scheme}://{hosts[0] if hosts else 'localhost'}"


def request_site_url(request) -> str:
    """The root of the site as the request reached it ("https://host"), no trailing slash: for links built
    while answering a request (emails sent at once, feeds)."""
    return request.build_absolute_uri("/").rstrip("/")
