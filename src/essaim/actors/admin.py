from django.contrib import admin

from essaim.actors.models import (
    Establishment,
    FieldProvenance,
    ImportRun,
    Label,
    LegalCategory,
    Membership,
    PendingChange,
    Structure,
    Theme,
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

    def save_model(self, request, obj, form, change):
        # The admin edits fields directly: keep the search column in step and log like the services do.
        obj.search_name = normalize(f"{obj.name} {obj.acronym}")[:260]
        super().save_model(request, obj, form, change)
        log_action(
            actor=request.user,
            verb="actors.structure.updated" if change else "actors.structure.created",
            obj=obj,
            data={"fields": list(form.changed_data), "via": "admin"},
        )


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
