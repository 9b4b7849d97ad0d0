from django.urls import path, re_path

from essaim.www.actors import duplicates, exports, views

app_name = "actors"

urlpatterns = [
    path("", views.structure_list, name="list"),
    re_path(
        r"^export\.(?P<fmt>csv|xlsx|geojson|datainclusion\.json)$", exports.structure_export, name="export"
    ),
    # Before the card's slug route, which would otherwise swallow "doublons".
    path("doublons/", duplicates.duplicate_list, name="duplicates"),
    path("doublons/<int:first>/<int:second>/ecarter/", duplicates.dismiss, name="duplicate_dismiss"),
    path("doublons/<int:first>/<int:second>/fusionner/", duplicates.merge, name="duplicate_merge"),
    path("<slug:slug>/", views.structure_detail, name="detail"),
]
