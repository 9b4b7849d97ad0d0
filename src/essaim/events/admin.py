from django.contrib import admin

from essaim.events.models import (
    Event,
    EventStructure,
    ParticipantCategory,
    ParticipantMessage,
    Programme,
    Question,
    Registration,
    Session,
)


class EventStructureInline(admin.TabularInline):
    model = EventStructure
    extra = 0
    autocomplete_fields = ["structure"]


class SessionInline(admin.TabularInline):
    model = Session
    extra = 0


class CategoryInline(admin.TabularInline):
    model = ParticipantCategory
    extra = 0


class QuestionInline(admin.TabularInline):
    model = Question
    extra = 0


@admin.register(Programme)
class ProgrammeAdmin(admin.ModelAdmin):
    list_display = ["title", "slug"]
    search_fields = ["title"]


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["title", "start", "status", "visibility", "capacity"]
    list_filter = ["status", "kind", "visibility"]
    search_fields = ["title"]
    readonly_fields = ["search_title"]
    raw_id_fields = ["commune", "programme", "created_by"]
    inlines = [EventStructureInline, SessionInline, CategoryInline, QuestionInline]


@admin.register(Registration)
class RegistrationAdmin(admin.ModelAdmin):
    list_display = ["full_name", "event", "status", "attendance", "payment"]
    list_filter = ["status", "attendance", "payment"]
    search_fields = ["full_name", "email"]
    raw_id_fields = ["event", "structure", "commune", "user", "registered_by", "category"]
    readonly_fields = ["token", "search_name"]


@admin.register(ParticipantMessage)
class ParticipantMessageAdmin(admin.ModelAdmin):
    list_display = ["subject", "event", "audience", "recipients_count", "created_at"]
    list_filter = ["audience"]
    raw_id_fields = ["event", "sent_by"]
    readonly_fields = ["recipients_count", "queued_at"]
