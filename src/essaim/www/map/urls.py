from django.urls import path

from essaim.www.map import views

app_name = "map"

urlpatterns = [
    path("", views.map_page, name="map"),
    path("clusters.geojson", views.clusters, name="clusters"),
]
