from django.urls import path, re_path

from essaim.www.actors import (
    dashboard,
    duplicates,
    exports,
    freshness,
    imports,
    manage,
    quality,
    taxonomy,
    views,
)

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
    # Card management (claims, edits, moderation, history); the slugs "nouvelle" and "gestion" are reserved.
    path("nouvelle/", manage.structure_new, name="new"),
    path("gestion/", dashboard.manage_home, name="manage"),
    path("gestion/moderation/", manage.moderation_queue, name="moderation"),
    path("gestion/moderation/rattachements/<int:pk>/", manage.claim_decide, name="claim_decide"),
    path("gestion/moderation/propositions/<int:pk>/", manage.revision_review, name="revision_review"),
    path("gestion/moderation/imports/<int:pk>/", manage.pending_change_decide, name="pending_change_decide"),
    # Freshness loop, quality and taxonomies ("fraicheur" and "gestion" are reserved slugs).
    path("fraicheur/confirmer/<str:token>/", freshness.confirm, name="freshness_confirm"),
    path("fraicheur/desinscription/<str:token>/", freshness.unsubscribe, name="freshness_unsubscribe"),
    path("gestion/qualite/", quality.quality_list, name="quality"),
    path("gestion/thematiques/", taxonomy.term_list, {"kind": "themes"}, name="themes"),
    path("gestion/thematiques/<int:pk>/", taxonomy.term_detail, {"kind": "themes"}, name="theme_detail"),
    path("gestion/labels/", taxonomy.term_list, {"kind": "labels"}, name="labels"),
    path("gestion/labels/<int:pk>/", taxonomy.term_detail, {"kind": "labels"}, name="label_detail"),
    # Imports (facilitators; "imports" is a reserved slug).
    path("imports/", imports.import_list, name="imports"),
    path("imports/<int:pk>/colonnes/", imports.import_mapping, name="import_mapping"),
    path("imports/<int:pk>/essai/", imports.import_check, name="import_check"),
    path("imports/<int:pk>/lancer/", imports.import_start, name="import_start"),
    path("imports/<int:pk>/", imports.import_progress, name="import_progress"),
    path("imports/rapports/<int:pk>/", imports.import_run_detail, name="import_run"),
    path("<slug:slug>/rejoindre/", manage.structure_claim, name="claim"),
    path("<slug:slug>/modifier/", manage.structure_edit, name="edit"),
    path("<slug:slug>/historique/", manage.structure_history, name="history"),
    path("<slug:slug>/historique/<int:version>/restaurer/", manage.version_restore, name="version_restore"),
    path("<slug:slug>/archiver/", manage.structure_archive_view, name="archive"),
    path("<slug:slug>/desarchiver/", manage.structure_unarchive_view, name="unarchive"),
    path("<slug:slug>/publier/", manage.structure_publish_view, name="publish"),
    path("<slug:slug>/", views.structure_detail, name="detail"),
]
