"""Read-only admin views of the audit log and of the outgoing email queue."""

import json

from django.contrib import admin, messages
from django.utils.html import format_html

from essaim.core.mail import email_retry
from essaim.core.models import AuditLogEntry, OutgoingEmail


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the application only: administrators look, never edit."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditLogEntry)
class AuditLogEntryAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "actor", "verb", "object_type", "object_repr")
    list_filter = ("verb", "object_type", ("created_at", admin.DateFieldListFilter))
    search_fields = ("verb", "object_repr", "object_id", "actor__email", "actor__full_name")
    date_hierarchy = "created_at"
    list_select_related = ("actor",)
    fields = ("created_at", "actor", "verb", "object_type", "object_id", "object_repr", "pretty_data")
    readonly_fields = fields

    @admin.display(description="détails")
    def pretty_data(self, obj):
        return format_html(
            "<pre>{}</pre>", json.dumps(obj.data, indent=2, ensure_ascii=False, sort_keys=True)
        )


@admin.register(OutgoingEmail)
class OutgoingEmailAdmin(ReadOnlyAdmin):
    list_display = ("created_at", "subject", "recipients", "status", "attempts", "sent_at")
    list_filter = ("status",)
    search_fields = ("subject", "to")
    date_hierarchy = "created_at"
    fields = (
        "created_at",
        "status",
        "from_email",
        "to",
        "cc",
        "bcc",
        "reply_to",
        "subject",
        "body",
        "html_body",
        "attachment_names",
        "attempts",
        "last_attempt_at",
        "last_error",
        "sent_at",
    )
    readonly_fields = fields
    actions = ["retry_delivery"]

    @admin.display(description="destinataires")
    def recipients(self, obj):
        return ", ".join(obj.to)

    @admin.display(description="pièces jointes")
    def attachment_names(self, obj):
        return ", ".join(a["filename"] for a in obj.attachments) or "—"

    @admin.action(description="Réessayer l'envoi des courriels en échec")
    def retry_delivery(self, request, queryset):
        retried = sum(email_retry(outgoing=outgoing) for outgoing in queryset)
        skipped = queryset.count() - retried
        if retried:
            messages.success(request, f"{retried} courriel(s) remis dans la file d'envoi.")
        if skipped:
            messages.warning(
                request, f"{skipped} courriel(s) ignoré(s) : seuls les envois en échec sont réessayés."
            )
