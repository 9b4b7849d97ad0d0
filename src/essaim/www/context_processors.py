from django.conf import settings
from django.urls import reverse

from essaim.territories.services import home_perimeter_for_request, home_perimeter_get

# Main navigation: (label, URL name). A section is "current" for its own URL and every URL below it.
MAIN_NAV = (
    ("Annuaire", "actors:list"),
    ("Carte", "map:map"),
    ("Offres & besoins", "exchange:list"),
    ("Agenda", "events:list"),
    ("Ateliers", "workshops:list"),
    ("Ressources", "www:resources"),
)


def site(request):
    return {
        "site_name": settings.ESSAIM_SITE_NAME,
        # base.html uses this one: Django's auth views (LoginView...) overwrite ``site_name`` with the
        # request's domain, which would rename the site in the header of their pages.
        "essaim_site_name": settings.ESSAIM_SITE_NAME,
        "main_nav": main_nav(request.path if request else ""),
        # A callable: templates only query the home perimeter when they use it, at most once per request.
        "home_perimeter": lambda: home_perimeter_for_request(request) if request else home_perimeter_get(),
    }


def main_nav(path: str) -> list[dict]:
    """The main navigation entries with their ``aria-current`` value for the page at ``path``.

    ``current`` is "page" on the section's own URL, "true" on pages inside the section, else "".
    Raises NoReverseMatch if a section's URL name is not wired: the nav must never link nowhere.
    """
    items = []
    for label, url_name in MAIN_NAV:
        url = reverse(url_name)
        if path == url:
            current = "page"
        elif path.startswith(url):
            current = "true"
        else:
            current = ""
        items.append({"label": label, "url": url, "current": current})
    return items
