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
    path("", include("essaim.www.pages.urls")),
]

# French error pages rendered without the request (it may be what is broken).
handler400 = "essaim.www.pages.views.bad_request"
handler500 = "essaim.www.pages.views.server_error"

if settings.DEBUG:
    from django.conf.urls.static import static

    urlpatterns += static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT)
