from django.urls import path

from essaim.www.exchange import alerts, groups, moderation, synonyms, views
from essaim.www.exchange import contacts as contact_views
from essaim.www.exchange import map as listing_map

app_name = "exchange"

urlpatterns = [
    path("", views.listing_list, name="list"),
    path("publier/<slug:slug>/", views.listing_create, name="create"),
    path("<int:pk>/", views.listing_detail, name="detail"),
    path("<int:pk>/modifier/", views.listing_edit, name="edit"),
    path("<int:pk>/etat/", views.listing_status, name="status"),
    # Group purchases and shared jobs (www/exchange/groups.py).
    path("<int:pk>/achat-groupe/", groups.group_purchase_detail, name="group_purchase"),
    path("<int:pk>/achat-groupe/configurer/", groups.group_purchase_setup, name="group_purchase_setup"),
    path("<int:pk>/achat-groupe/participer/", groups.group_purchase_for_structure, name="group_purchase_for"),
    path(
        "<int:pk>/achat-groupe/participer/<slug:slug>/",
        groups.group_purchase_participate,
        name="group_purchase_participate",
    ),
    path("<int:pk>/achat-groupe/cloturer/", groups.group_purchase_close, name="group_purchase_close"),
    path(
        "<int:pk>/achat-groupe/commande.<str:fmt>",
        groups.group_purchase_export,
        name="group_purchase_export",
    ),
    path("<int:pk>/emploi-partage/", groups.shared_job_edit, name="shared_job_edit"),
    path("emplois-partages/", groups.shared_job_groups, name="shared_job_groups"),
    # Alerts, abuse reports and moderation, map (www/exchange/alerts.py, moderation.py, map.py).
    path("alertes/", alerts.alert_list, name="alerts"),
    path("alertes/nouvelle/", alerts.alert_create, name="alert_create"),
    path("alertes/<int:pk>/courriel/", alerts.alert_email, name="alert_email"),
    path("alertes/<int:pk>/supprimer/", alerts.alert_delete, name="alert_delete"),
    path("alertes/desinscription/<str:token>/", alerts.alert_unsubscribe, name="alert_unsubscribe"),
    path("alertes/flux/<str:token>/", alerts.alert_feed, name="alert_feed"),
    path("<int:pk>/signaler/", moderation.listing_report, name="report"),
    path("<int:pk>/masquer/", moderation.listing_hide, name="hide"),
    path("<int:pk>/afficher/", moderation.listing_unhide, name="unhide"),
    path("moderation/", moderation.moderation, name="moderation"),
    path("signalements/<int:pk>/classer/", moderation.report_resolve, name="report_resolve"),
    path("carte/", listing_map.listing_map, name="map"),
    path("carte.geojson", listing_map.listing_geojson, name="geojson"),
    # Putting people in touch, outcomes and statistics (www/exchange/contacts.py).
    path("<int:pk>/contacter/", contact_views.contact_start, name="contact"),
    path("<int:pk>/presenter/", contact_views.match_introduce, name="match_introduce"),
    path("<int:pk>/resultat/", contact_views.outcome_record, name="outcome"),
    path("mises-en-relation/", contact_views.match_list, name="match_list"),
    path("mises-en-relation/<int:pk>/", contact_views.match_detail, name="match_detail"),
    path("mises-en-relation/<int:pk>/repondre/", contact_views.match_reply, name="match_reply"),
    path("mises-en-relation/<int:pk>/etat/", contact_views.match_status, name="match_status"),
    path(
        "suggestions/desinscription/<str:token>/",
        contact_views.match_digest_unsubscribe,
        name="match_digest_unsubscribe",
    ),
    path("statistiques/", contact_views.outcome_stats, name="outcome_stats"),
    # Synonyms for search and matching, edited by facilitators (www/exchange/synonyms.py).
    path("synonymes/", synonyms.synonym_list, name="synonyms"),
    path("synonymes/<int:pk>/", synonyms.synonym_edit, name="synonym_edit"),
    path("synonymes/<int:pk>/supprimer/", synonyms.synonym_delete, name="synonym_delete"),
]
