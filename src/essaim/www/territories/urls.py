from django.urls import path

from essaim.www.territories import views

app_name = "territories"

urlpatterns = [
    path("communes/", views.commune_finder, name="commune_finder"),
    path("communes/recherche/", views.commune_autocomplete, name="commune_autocomplete"),
    path("perimetres/<slug:slug>/", views.perimeter_detail, name="perimeter_detail"),
]
