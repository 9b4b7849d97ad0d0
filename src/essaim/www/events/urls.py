from django.urls import path, re_path

from essaim.www.events import views

app_name = "events"

urlpatterns = [
    path("", views.event_list, name="list"),
    path("proposer/", views.event_create, name="create"),
    path("agenda.ics", views.feed_all, name="feed"),
    path("programmes/<slug:slug>/", views.programme_detail, name="programme"),
    path("programmes/<slug:slug>/agenda.ics", views.feed_programme, name="programme_feed"),
    path("programmes/<slug:slug>/bilan/", views.programme_report_view, name="programme_report"),
    path("organisateurs/<slug:slug>/agenda.ics", views.feed_organiser, name="organiser_feed"),
    path("inscription/<str:signature>/", views.registration_manage, name="registration_manage"),
    path("<slug:slug>/", views.event_detail, name="detail"),
    path("<slug:slug>/evenement.ics", views.event_ics, name="ics"),
    path("<slug:slug>/modifier/", views.event_edit, name="edit"),
    path("<slug:slug>/etat/", views.event_status, name="status"),
    path("<slug:slug>/inscription/", views.register, name="register"),
    path("<slug:slug>/participants/", views.participants, name="participants"),
    path("<slug:slug>/participants/<int:pk>/annuler/", views.participant_cancel, name="participant_cancel"),
    path(
        "<slug:slug>/participants/<int:pk>/paiement/", views.participant_payment, name="participant_payment"
    ),
    path("<slug:slug>/accueil/", views.checkin, name="checkin"),
    path("<slug:slug>/emargement.pdf", views.attendance_sheet, name="attendance_sheet"),
    path("<slug:slug>/bilan/", views.report, name="report"),
    re_path(
        r"^(?P<slug>[-a-zA-Z0-9_]+)/bilan\.(?P<fmt>csv|xlsx|pdf)$", views.report_export, name="report_export"
    ),
]
