from django.contrib import admin

from essaim.actors import history
from essaim.actors.models import (
    DuplicateDismissal,
    Establishment,
    FieldProvenance,
    FreshnessOptOut,
    FreshnessReminder,
    ImportRun,
    ImportSource,
    ImportUpload,
    Label,
    LegalCategory,
    Membership,
    PendingChange,
    Structure,
    Theme,
    VersionKind,
)
from essaim.core.audit import log_action
from essaim.core.text import normalize


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    # Raw id widgets: they work whether or not the users and communes admins declare search fields.
    raw_id_fields = ["user"]


class EstablishmentInline(admin.TabularInline):
    model = Establishment
    extra = 0
    raw_id_fields = ["commune"]


@admin.register(Structure)
class StructureAdmin(admin.ModelAdmin):
    list_display = ["name", "acronym", "family", "cooperative_kind", "commune", "status", "updated_at"]
    list_filter = ["status", "family", "cooperative_kind", "themes", "labels"]
    search_fields = ["name", "acronym", "search_name", "slug", "siren"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["commune", "legal_category"]
    filter_horizontal = ["themes", "labels"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [EstablishmentInline, MembershipInline]

    def has_delete_permission(self, request, obj=None):
        # Cards are archived, never deleted: their history, memberships and links stay.
        return False

    def save_model(self, request, obj, form, change):
        # The admin edits fields directly: keep the search column in step and log like the services do.
        obj.search_name = normalize(f"{obj.name} {obj.acronym}")[:260]
        previous = Structure.objects.filter(pk=obj.pk).first() if change else None
        super().save_model(request, obj, form, change)
        # Kept in the card's history like any other change (taxonomies are saved later, left out).
        fields = [f for f in form.changed_data if f not in ("themes", "labels") and hasattr(obj, f)]
        history.version_record(
            structure=obj,
            actor=request.user,
            kind=VersionKind.UPDATED if change else VersionKind.CREATED,
            source_ref="administration",
            changes={
                f: {
                    "old": history.stored_value(previous, f) if previous else None,
                    "new": history.stored_value(obj, f),
                }
                for f in fields
            },
        )
        log_action(
            actor=request.user,
            verb="actors.structure.updated" if change else "actors.structure.created",
            obj=obj,
            data={"fields": list(form.changed_data), "via": "admin"},
        )

    def save_related(self, request, form, formsets, change):
        from essaim.actors.search import structures_reindex

        super().save_related(request, form, formsets, change)
        # After the themes and labels are saved: the search document includes them.
        structures_reindex(ids=[form.instance.pk])


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["structure", "user", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["structure__name", "user__email"]
    raw_id_fields = ["user", "structure"]


@admin.register(Theme, Label)
class TaxonomyAdmin(admin.ModelAdmin):
    list_display = ["label", "slug", "position"]
    list_editable = ["position"]
    search_fields = ["label", "slug"]
    prepopulated_fields = {"slug": ["label"]}


@admin.register(LegalCategory)
class LegalCategoryAdmin(admin.ModelAdmin):
    list_display = ["code", "label"]
    search_fields = ["code", "label"]


@admin.register(FieldProvenance)
class FieldProvenanceAdmin(admin.ModelAdmin):
    list_display = ["structure", "field", "source", "source_ref", "recorded_at", "verified_by_human"]
    list_filter = ["source", "verified_by_human"]
    raw_id_fields = ["structure"]


@admin.register(PendingChange)
class PendingChangeAdmin(admin.ModelAdmin):
    list_display = ["structure", "field", "old_value", "new_value", "source", "created_at"]
    list_filter = ["source"]
    raw_id_fields = ["structure"]


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = [
        "started_at",
        "source",
        "file_name",
        "dry_run",
        "created",
        "updated",
        "unchanged",
        "rejected",
    ]
    list_filter = ["source", "dry_run"]
    readonly_fields = [field.name for field in ImportRun._meta.fields]


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record kept by the services: listed for administrators, changed only through the site."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(DuplicateDismissal)
class DuplicateDismissalAdmin(ReadOnlyAdmin):
    list_display = ["first", "second", "dismissed_by", "created_at"]
    list_select_related = ["first", "second", "dismissed_by"]
    search_fields = ["first__name", "second__name"]


@admin.register(FreshnessReminder)
class FreshnessReminderAdmin(ReadOnlyAdmin):
    list_display = ["structure", "sent_at", "recipient_count", "used_at"]
    list_select_related = ["structure"]
    list_filter = ["sent_at"]
    search_fields = ["structure__name"]


@admin.register(FreshnessOptOut)
class FreshnessOptOutAdmin(ReadOnlyAdmin):
    list_display = ["email", "created_at"]
    search_fields = ["email"]

    def has_delete_permission(self, request, obj=None):
        # Deleting an opt-out subscribes the address again, at its owner's request.
        return True


# -- Imports ---------------------------------------------------------------------------------------------


@admin.register(ImportSource)
class ImportSourceAdmin(admin.ModelAdmin):
    """Named import sources and their remembered column mapping (administrators may correct a mapping)."""

    list_display = ["name", "kind", "key_column", "default_family", "updated_at"]
    list_filter = ["kind"]
    search_fields = ["name"]


@admin.register(ImportUpload)
class ImportUploadAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "original_name", "source", "state", "rows_done", "rows_total"]
    list_filter = ["state"]
