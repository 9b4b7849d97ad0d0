from django.urls import path

from essaim.www.workshops import views

app_name = "workshops"

urlpatterns = [
    path("", views.consultation_list, name="list"),
    path("nouvelle/", views.consultation_create, name="create"),
    path("<slug:slug>/", views.consultation_detail, name="detail"),
    path("<slug:slug>/code/", views.room_code_enter, name="code"),
    path("<slug:slug>/besoins/<int:item_id>/gommette/", views.vote, name="vote"),
    path("<slug:slug>/besoins/<int:item_id>/post-it/", views.comment_post, name="comment"),
    path("<slug:slug>/proposer/", views.item_propose, name="propose"),
    path("<slug:slug>/salle/", views.room, name="room"),
    path("<slug:slug>/qr.svg", views.qr_code, name="qr"),
    path("<slug:slug>/synthese/", views.synthesis, name="synthesis"),
    path("<slug:slug>/synthese.<str:fmt>", views.synthesis_export, name="export"),
    path("<slug:slug>/animation/", views.manage, name="manage"),
    path("<slug:slug>/modifier/", views.consultation_edit, name="edit"),
    path("<slug:slug>/besoins/<int:item_id>/modifier/", views.item_edit, name="item_edit"),
    path("<slug:slug>/phase/", views.phase_change, name="phase"),
    path("<slug:slug>/codes/", views.room_codes, name="codes"),
    path("<slug:slug>/saisie-papier/", views.paper_entry, name="paper"),
    path("<slug:slug>/moderation/", views.moderation, name="moderation"),
    path("<slug:slug>/groupes/", views.groups, name="groups"),
    path("<slug:slug>/groupes/<int:group_id>/", views.group_report, name="group_report"),
]
