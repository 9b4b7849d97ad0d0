from django import forms
from django.contrib import admin

from essaim.exchange.models import Listing, Match, Outcome, SynonymGroup
from essaim.exchange.search import parse_synonym_words, synonym_errors


@admin.register(Listing)
class ListingAdmin(admin.ModelAdmin):
    list_display = ("title", "structure", "direction", "kind", "status", "expires_at")
    list_filter = ("direction", "kind", "status")
    search_fields = ("title", "structure__name")
    raw_id_fields = ("structure", "created_by")
    readonly_fields = ("status", "published_at", "created_at", "updated_at")


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
