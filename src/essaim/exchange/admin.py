from django import forms
from django.contrib import admin

from essaim.exchange.models import (
    Alert,
    GroupPurchase,
    GroupPurchaseParticipation,
    GroupPurchaseProduct,
    Listing,
    ListingReport,
    Match,
    Outcome,
    SharedJobProfile,
    SynonymGroup,
)
from essaim.exchange.search import parse_synonym_words, synonym_errors


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    """Read-only: the listing services validate, audit and keep the search document and the copies of the
    structure (point, commune, « published ») in step; the structures' members and facilitators edit
    listings on the site."""

    list_display = ("title", "structure", "direction", "kind", "status", "expires_at")
    list_filter = ("direction", "kind", "status")
    search_fields = ("title", "structure__name")
    raw_id_fields = ("structure", "created_by")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class SynonymGroupAdminForm(forms.ModelForm):
    """The same checks and clean-up as the facilitators' page (``exchange.synonyms``)."""

    class Meta:
        model = SynonymGroup
        fields = ["words"]

    def clean_words(self):
        words = parse_synonym_words(self.cleaned_data["words"])
        errors = synonym_errors(words)
        if errors:
            raise forms.ValidationError(errors)
        return ", ".join(words)


@admin.register(SynonymGroup)
class SynonymGroupAdmin(admin.ModelAdmin):
    form = SynonymGroupAdminForm
    list_display = ("words", "updated_at")
    search_fields = ("words",)


# Match records and outcomes: read-only here, every change goes through exchange.contacts / outcomes.
@admin.register(Match)
class MatchAdmin(admin.ModelAdmin):
    list_display = ("listing", "counterpart_structure", "status", "broker", "updated_at")
    list_filter = ("status",)
    search_fields = ("listing__title", "listing_structure__name", "counterpart_structure__name")
    raw_id_fields = (
        "listing",
        "listing_structure",
        "counterpart_listing",
        "counterpart_structure",
        "initiator_structure",
        "initiated_by",
        "broker",
    )

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Outcome)
class OutcomeAdmin(admin.ModelAdmin):
    list_display = ("listing", "kind", "amount_euros", "hours")
    list_filter = ("kind",)
    raw_id_fields = ("listing", "counterpart_structure", "recorded_by")

    def has_change_permission(self, request, obj=None):
        return False


# Group purchases, shared jobs, alerts and reports: read-only as well; their services (group_purchases,
# shared_jobs, alerts, moderation) validate, lock and audit every change, the facilitators' pages use them.
class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class GroupPurchaseProductInline(admin.TabularInline):
    model = GroupPurchaseProduct
    extra = 0
    fields = ("position", "label", "unit", "unit_price_cents")

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(GroupPurchase)
class GroupPurchaseAdmin(ReadOnlyAdmin):
    list_display = ("listing", "status", "deadline", "closed_at")
    list_filter = ("status",)
    search_fields = ("listing__title", "listing__structure__name")
    raw_id_fields = ("listing",)
    inlines = [GroupPurchaseProductInline]


@admin.register(GroupPurchaseParticipation)
class GroupPurchaseParticipationAdmin(ReadOnlyAdmin):
    list_display = ("purchase", "structure", "created_at", "updated_at")
    search_fields = ("purchase__listing__title", "structure__name")
    raw_id_fields = ("purchase", "structure", "created_by")


@admin.register(SharedJobProfile)
class SharedJobProfileAdmin(ReadOnlyAdmin):
    list_display = ("listing", "job_title", "fte")
    search_fields = ("job_title", "listing__title", "listing__structure__name")
    raw_id_fields = ("listing",)


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = ("user", "direction", "kind", "text", "frequency", "email_enabled", "last_sent_at")
    list_filter = ("frequency", "email_enabled", "direction", "kind")
    search_fields = ("user__email", "text")
    raw_id_fields = ("user", "commune", "structure")


@admin.register(ListingReport)
class ListingReportAdmin(ReadOnlyAdmin):
    list_display = ("listing", "reason", "status", "created_at", "resolved_at")
    list_filter = ("status", "reason")
    search_fields = ("listing__title", "text", "resolution")
    raw_id_fields = ("listing", "reporter", "resolved_by")
