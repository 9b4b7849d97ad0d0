from django.urls import path, re_path

from essaim.www.events import organiser, privacy, public, views

app_name = "events"

urlpatterns = [
    path("", views.event_list, name="list"),
    path("proposer/", views.event_create, name="create"),
    path("agenda.ics", views.feed_all, name="feed"),
    # Public views and sharing (www/events/public.py).
    path("calendrier/", public.calendar_month, name="calendar"),
    path("carte/", public.map_page, name="map"),
    path("carte.geojson", public.map_geojson, name="map_geojson"),
    path("rss/", public.UpcomingEventsFeed(), name="rss"),
    path("programmes/<slug:slug>/rss/", public.ProgrammeEventsFeed(), name="programme_rss"),
    path("territoires/<slug:slug>/agenda.ics", public.feed_perimeter, name="perimeter_feed"),
    path("territoires/<slug:slug>/rss/", public.PerimeterEventsFeed(), name="perimeter_rss"),
    path("widget/", public.widget, name="widget"),
    path("widget/code/", public.widget_code, name="widget_code"),
    path("programmes/<slug:slug>/", views.programme_detail, name="programme"),
    path("programmes/<slug:slug>/agenda.ics", views.feed_programme, name="programme_feed"),
    path("programmes/<slug:slug>/bilan/", views.programme_report_view, name="programme_report"),
    path("organisateurs/<slug:slug>/agenda.ics", views.feed_organiser, name="organiser_feed"),
    path("inscription/<str:signature>/", views.registration_manage, name="registration_manage"),
    # A person's registration data (www/events/privacy.py).
    path("mes-donnees/", privacy.my_data, name="my_data"),
    path("mes-donnees/export.<str:fmt>", privacy.my_data_export, name="my_data_export"),
    path("inscription/<str:signature>/donnees/", privacy.manage_data, name="manage_data"),
    path("mes-inscriptions/<str:signature>/", privacy.email_data, name="email_data"),
    path(
        "mes-inscriptions/<str:signature>/export.<str:fmt>",
        privacy.email_data_export,
        name="email_data_export",
    ),
    path(
        "inscription/<str:signature>/donnees/export.<str:fmt>",
        privacy.manage_data_export,
        name="manage_data_export",
    ),
    path("<slug:slug>/participants/liste-publique/", privacy.public_participants, name="public_participants"),
    # Organisers: custom questions, reminder, messages, answers (www/events/organiser.py).
    path("<slug:slug>/questions/", organiser.question_list, name="questions"),
    path("<slug:slug>/questions/<int:pk>/", organiser.question_edit, name="question_edit"),
    path("<slug:slug>/questions/<int:pk>/supprimer/", organiser.question_delete, name="question_delete"),
    path("<slug:slug>/messages/", organiser.message_list, name="messages"),
    path("<slug:slug>/participants/reponses.csv", organiser.answers_export, name="answers_export"),
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
