"""Organisers' pages for registration data: custom questions and the reminder setting (editors of the event),
messages to participants and the participants' answers export (organisers and facilitators)."""

import csv
import io

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from essaim.actors.exports import neutralize_formula
from essaim.core.access import get_object_or_404_for
from essaim.core.audit import log_action
from essaim.events import messaging, questions, services
from essaim.events.access import event_can_edit, event_can_manage_participants
from essaim.events.exports import CSV_CONTENT_TYPE
from essaim.events.models import Audience, Event, Question
from essaim.www.events.organiser_forms import MessageForm, QuestionForm, RemindersForm


def _add_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.error_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc)


@login_required
def question_list(request, slug: str):
    """The event's custom questions, the form to add one, and the reminder setting."""
    event = get_object_or_404_for(request.user, Event, event_can_edit, slug=slug)
    form = QuestionForm(request.POST if request.POST.get("form") == "question" else None)
    reminders = RemindersForm(
        request.POST if request.POST.get("form") == "reminders" else None,
        initial={"reminders_enabled": event.reminders_enabled},
    )
    if request.method == "POST" and request.POST.get("form") == "reminders" and reminders.is_valid():
        enabled = reminders.cleaned_data["reminders_enabled"]
        services.event_update(event=event, actor=request.user, reminders_enabled=enabled)
        messages.success(request, "Rappel activé." if enabled else "Rappel désactivé.")
        return redirect("events:questions", slug=event.slug)
    if request.method == "POST" and form.is_bound and form.is_valid():
        try:
            questions.question_save(event=event, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Question ajoutée au formulaire d'inscription.")
            return redirect("events:questions", slug=event.slug)
    return render(
        request,
        "events/questions.html",
        {
            "event": event,
            "form": form,
            "reminders": reminders,
            "questions": list(event.questions.all()),
        },
    )


@login_required
def question_edit(request, slug: str, pk: int):
    event = get_object_or_404_for(request.user, Event, event_can_edit, slug=slug)
    question = get_object_or_404(Question, pk=pk, event=event)
    stored = Question.objects.get(pk=question.pk)
    form = QuestionForm(request.POST or None, instance=question)
    if request.method == "POST" and form.is_valid():
        try:
            # ModelForm validation wrote the values on the instance already: start from the stored row.
            questions.question_save(event=event, question=stored, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            messages.success(request, "Question enregistrée.")
            return redirect("events:questions", slug=event.slug)
    return render(request, "events/question_form.html", {"event": event, "form": form, "question": stored})


@require_POST
@login_required
def question_delete(request, slug: str, pk: int):
    event = get_object_or_404_for(request.user, Event, event_can_edit, slug=slug)
    question = get_object_or_404(Question, pk=pk, event=event)
    questions.question_delete(question=question, actor=request.user)
    messages.success(request, f"Question « {question.label} » supprimée, avec ses réponses.")
    return redirect("events:questions", slug=event.slug)


@login_required
def message_list(request, slug: str):
    """Messages to the participants: the form, and the messages already sent."""
    event = get_object_or_404_for(request.user, Event, event_can_manage_participants, slug=slug)
    form = MessageForm(request.POST or None)
    # Each audience with the number of people it reaches, so nobody writes to an empty list by mistake.
    form.fields["audience"].choices = [
        (value, f"{label} ({messaging.audience_registrations(event, value).count()})")
        for value, label in Audience.choices
    ]
    if request.method == "POST" and form.is_valid():
        try:
            message = messaging.message_send(event=event, actor=request.user, **form.cleaned_data)
        except ValidationError as exc:
            _add_errors(form, exc)
        else:
            count = message.recipients_count
            messages.success(request, f"Message envoyé à {count} personne{'s' if count > 1 else ''}.")
            return redirect("events:messages", slug=event.slug)
    sent = event.participant_messages.select_related("sent_by")
    return render(request, "events/messages.html", {"event": event, "form": form, "sent": sent})


@login_required
def answers_export(request, slug: str):
    """The participants (not cancelled) with their answers to the custom questions, as CSV."""
    event = get_object_or_404_for(request.user, Event, event_can_manage_participants, slug=slug)
    event_questions = list(event.questions.all())
    registrations = list(
        event.registrations.exclude(status="cancelled")
        .select_related("category", "structure")
        .order_by("search_name", "pk")
    )
    answers = questions.answers_by_registration(registrations)
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow(
        ["Nom et prénom", "Courriel", "Structure", "Catégorie", "État", *(q.label for q in event_questions)]
    )
    for registration in registrations:
        mine = answers.get(registration.pk, {})
        row = [
            registration.full_name,
            registration.email,
            registration.structure_display,
            registration.category.label if registration.category_id else "",
            registration.get_status_display(),
            *(", ".join(mine[q.pk].values) if q.pk in mine else "" for q in event_questions),
        ]
        writer.writerow([neutralize_formula(value) for value in row])
    log_action(
        actor=request.user, verb="events.answers.exported", obj=event, data={"rows": len(registrations)}
    )
    response = HttpResponse(("\ufeff" + buffer.getvalue()).encode("utf-8"), content_type=CSV_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="reponses-{event.slug}.csv"'
    return response
