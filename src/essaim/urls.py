from django.conf import settings
from django.contrib import admin
from django.urls import include, path

admin.site.site_header = "Administration d'Essaim"
admin.site.site_title = "Essaim"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("compte/", include("essaim.www.accounts.urls")),
    path("territoires/", include("essaim.www.territories.urls")),
    path("annuaire/", include("essaim.www.actors.urls")),
    path("carte/", include("essaim.www.map.urls")),
    path("ateliers/", include("essaim.www.workshops.urls")),
    path("agenda/", include("essaim.www.events.urls")),
    path("offres-besoins/", include("essaim.www.exchange.urls")),
    path("", include("essaim.www.pages.urls")),
]

# French error pages rendered without the request (it may be what is broken).
handler400 = "essaim.www.pages.views.bad_request"
handler500 = "essaim.www.pages.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static
    from django.http import Http404
    from django.urls import re_path

    def _private(request, path):
        raise Http404("Fichier privé.")

    # Uploaded import files live under MEDIA_ROOT/private/: never served, not even in development.
    urlpatterns += [re_path(r"^media/private/(?P<path>.*)$", _private)]
    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
