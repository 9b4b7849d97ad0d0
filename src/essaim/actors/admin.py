from django.contrib import admin

from essaim.actors.models import Membership, Structure
from essaim.core.audit import log_action
from essaim.core.text import normalize


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    # Raw id widgets: they work whether or not the users and communes admins declare search fields.
    raw_id_fields = ["user"]


@admin.register(Structure)
class StructureAdmin(admin.ModelAdmin):
    list_display = ["name", "acronym", "family", "cooperative_kind", "commune", "status", "updated_at"]
    list_filter = ["status", "family", "cooperative_kind"]
    search_fields = ["name", "acronym", "search_name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    raw_id_fields = ["commune"]
    readonly_fields = ["created_at", "updated_at"]
    inlines = [MembershipInline]

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
