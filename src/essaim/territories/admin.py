"""Admin for the territories reference (read-mostly: the COG loader owns it) and perimeters."""

from django.contrib import admin, messages
from django.db.models import Count

from essaim.territories.models import (
    Commune,
    Departement,
    Epci,
    Perimeter,
    PerimeterCommune,
    PostalCode,
    Region,
)
from essaim.territories.services import perimeter_set_home


class ReadOnlyReferenceAdmin(admin.ModelAdmin):
    """Reference data comes from the COG and La Poste loaders: the admin only shows it."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Region)
class RegionAdmin(ReadOnlyReferenceAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Departement)
class DepartementAdmin(ReadOnlyReferenceAdmin):
    list_display = ["code", "name", "region"]
    list_select_related = ["region"]
    list_filter = ["region"]
    search_fields = ["code", "name"]


@admin.register(Epci)
class EpciAdmin(ReadOnlyReferenceAdmin):
    list_display = ["code", "name", "kind", "population"]
    list_filter = ["kind"]
    search_fields = ["code", "name"]


class PostalCodeInline(admin.TabularInline):
    model = PostalCode
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Commune)
class CommuneAdmin(ReadOnlyReferenceAdmin):
    list_display = ["code", "name", "departement", "epci", "population", "latitude", "longitude"]
    list_select_related = ["departement", "epci"]
    list_filter = ["departement__region"]
    search_fields = ["code", "name", "search_name", "postal_codes__code"]
    inlines = [PostalCodeInline]
    show_full_result_count = False


@admin.register(PostalCode)
class PostalCodeAdmin(ReadOnlyReferenceAdmin):
    list_display = ["code", "commune"]
    list_select_related = ["commune"]
    search_fields = ["code", "commune__name"]


@admin.register(Perimeter)
class PerimeterAdmin(admin.ModelAdmin):
    """Names and descriptions are editable; the commune set is built by perimeter_save (command or code)."""

    list_display = ["name", "slug", "kind", "is_home", "commune_count"]
    list_filter = ["kind", "is_home"]
    search_fields = ["name", "slug"]
    readonly_fields = ["slug", "kind", "is_home", "definition", "created_at", "updated_at"]
    fields = ["name", "slug", "kind", "description", "is_home", "definition", "created_at", "updated_at"]
    actions = ["make_home"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_commune_count=Count("commune_links"))

    @admin.display(description="communes", ordering="_commune_count")
    def commune_count(self, obj):
        return obj._commune_count

    def has_add_permission(self, request):
        # Creation needs a list of territorial units: use `essaim perimeter_save`.
        return False

    @admin.action(description="Définir comme territoire d'action")
    def make_home(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Choisissez un seul périmètre.", messages.ERROR)
            return
        perimeter = perimeter_set_home(perimeter=queryset.get(), actor=request.user)
        self.message_user(
            request, f"« {perimeter.name} » est désormais le territoire d'action.", messages.SUCCESS
        )


@admin.register(PerimeterCommune)
class PerimeterCommuneAdmin(ReadOnlyReferenceAdmin):
    list_display = ["perimeter", "commune"]
    list_select_related = ["perimeter", "commune"]
    list_filter = ["perimeter"]
    search_fields = ["commune__name", "commune__code"]
