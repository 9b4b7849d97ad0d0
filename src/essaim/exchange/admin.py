from django.contrib import admin

from essaim.exchange.models import Listing


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ("title", "structure", "direction", "kind", "status", "expires_at")
    list_filter = ("direction", "kind", "status")
    search_fields = ("title", "structure__name")
    raw_id_fields = ("structure", "created_by")
    readonly_fields = ("status", "published_at", "created_at", "updated_at")
