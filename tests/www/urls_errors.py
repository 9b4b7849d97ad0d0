"""Project URLs plus views that fail on purpose, to render the error pages (ROOT_URLCONF in tests only)."""

from django.core.exceptions import PermissionDenied, SuspiciousOperation
from django.urls import path

from essaim.urls import handler400, handler500
from essaim.urls import urlpatterns as project_urlpatterns

__all__ = ["handler400", "handler500", "urlpatterns"]


def crash(request):
    raise RuntimeError("panne volontaire pour le test")


def suspicious(request):
    raise SuspiciousOperation("requête invalide pour le test")


def forbidden(request):
    raise PermissionDenied


urlpatterns = [
    path("test-erreur/500/", crash),
    path("test-erreur/400/", suspicious),
    path("test-erreur/403/", forbidden),
    *project_urlpatterns,
]
