from django.urls import path

from essaim.www.pages import views

app_name = "www"

urlpatterns = [
    path("", views.home, name="home"),
    path("accessibilite/", views.accessibility, name="accessibility"),
    path("mentions-legales/", views.legal, name="legal"),
    path("donnees-personnelles/", views.privacy, name="privacy"),
    path("plan-du-site/", views.sitemap, name="sitemap"),
    # Sections of the main navigation still being built; their apps will take these URLs over.
    path("ressources/", views.section_in_preparation, {"section": "resources"}, name="resources"),
]
