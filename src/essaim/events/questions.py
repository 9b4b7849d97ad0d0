"""Custom registration questions: the organisers' definitions, the participants' answers, their tally.

Answers are passed around as ``{question_id: value}`` where ``value`` is a string (short/long text, single
choice, yes/no as "oui"/"non") or a list of strings (multiple choice). Validation messages are French.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from essaim.core.audit import log_action
from essaim.events.models import (
    CHOICE_KINDS,
    HOLDING_STATUSES,
    Answer,
    Event,
    Question,
    QuestionKind,
    Registration,
)

YES, NO = "oui", "non"
QUESTION_FIELDS = ("label", "help_text", "kind", "choices", "required", "position")
MAX_TEXT = {QuestionKind.SHORT_TEXT: 300, QuestionKind.LONG_TEXT: 5000}


def _clean_choices(text: str) -> str:
    lines = []
    for line in (text or "").splitlines():
        line = line.strip()
        if line and line not in lines:
            lines.append(line)
    return "\n".join(lines)


@transaction.atomic
def question_save(*, event: Event, actor, question: Question | None = None, **fields) -> Question:
    """Create a question of ``event`` (or change ``question``). Raises ValidationError (French) for an empty
    label, an unknown kind, a choice question without choices, or a change of kind once people answered."""
    unknown = set(fields) - set(QUESTION_FIELDS)
    if unknown:
        raise ValidationError(f"Champs inconnus : {', '.join(sorted(unknown))}.")
    created = question is None
    if created:
        question = Question(event=event)
    elif question.event_id != event.pk:
        raise ValidationError("Cette question n'appartient pas à l'événement.")
    elif "kind" in fields and fields["kind"] != question.kind and question.answers.exists():
        raise ValidationError(
            {"kind": "Des personnes ont déjà répondu : le type de réponse ne peut plus changer."}
        )
    for name, value in fields.items():
        setattr(question, name, value.strip() if isinstance(value, str) else value)
    question.choices = _clean_choices(question.choices) if question.kind in CHOICE_KINDS else ""
    question.full_clean()
    question.save()
    log_action(
        actor=actor,
        verb="events.question.created" if created else "events.question.changed",
        obj=question,
        data={"event": event.pk},
    )
    return question


@transaction.atomic
def question_delete(*, question: Question, actor) -> None:
    """Delete a question and every answer to it."""
    answers = question.answers.count()
    log_action(
        actor=actor,
        verb="events.question.deleted",
        obj=question,
        data={"event": question.event_id, "answers": answers},
    )
    question.delete()


def answers_clean(*, event: Event, answers: dict | None, by_facilitator: bool = False) -> dict[int, str]:
    """Check ``answers`` against ``event``'s questions and return them as stored values ({question id:
    text}, empty answers left out).

    Raises ValidationError keyed by ``question_<id>`` (French): a required question left empty (a
    facilitator registering someone by phone may leave it), a choice that is not offered, a text too long.
    """
    answers = answers or {}
    errors: dict[str, list[str]] = {}
    cleaned: dict[int, str] = {}
    questions = list(event.questions.all())
    known = {question.pk for question in questions}
    if set(answers) - known:
        raise ValidationError("Une réponse porte sur une question qui n'appartient pas à l'événement.")
    for question in questions:
        value = answers.get(question.pk)
        key = f"question_{question.pk}"
        if question.kind == QuestionKind.MULTIPLE_CHOICE:
            values = [v.strip() for v in (value or []) if v and v.strip()]
            if any(v not in question.choice_list for v in values):
                errors[key] = ["Choisissez parmi les réponses proposées."]
                continue
            # Stored in the order of the choices, whatever the order received.
            text = "\n".join(choice for choice in question.choice_list if choice in values)
        else:
            text = (value or "").strip() if isinstance(value, str) else ""
            if question.kind == QuestionKind.SINGLE_CHOICE and text and text not in question.choice_list:
                errors[key] = ["Choisissez parmi les réponses proposées."]
                continue
            if question.kind == QuestionKind.YES_NO and text and text not in (YES, NO):
                errors[key] = ["Répondez par oui ou par non."]
                continue
            limit = MAX_TEXT.get(question.kind)
            if limit and len(text) > limit:
                errors[key] = [f"Votre réponse est trop longue ({limit} caractères au plus)."]
                continue
        if not text:
            if question.required and not by_facilitator:
                errors[key] = ["Cette question demande une réponse."]
            continue
        cleaned[question.pk] = text
    if errors:
        raise ValidationError(errors)
    return cleaned


def answers_save(*, registration: Registration, answers: dict[int, str]) -> None:
    """Store the answers cleaned by ``answers_clean`` for a new registration."""
    Answer.objects.bulk_create(
        [Answer(registration=registration, question_id=pk, value=value) for pk, value in answers.items()]
    )


def answers_by_registration(registrations) -> dict[int, dict[int, Answer]]:
    """{registration id: {question id: answer}} for the given registrations, in one query."""
    result: dict[int, dict[int, Answer]] = {}
    ids = [registration.pk for registration in registrations]
    for answer in Answer.objects.filter(registration_id__in=ids):
        result.setdefault(answer.registration_id, {})[answer.question_id] = answer
    return result


@dataclass
class QuestionTally:
    question: Question
    counts: list[tuple[str, int]] = field(default_factory=list)
    answered: int = 0


def question_tallies(event: Event) -> list[QuestionTally]:
    """For each choice and yes/no question of ``event``: how many registrations picked each answer.

    Counted among the registrations holding a place (like "registered" in the report), plus the answers of
    anonymised registrations, detached from them but kept for these counts; free-text answers are not counted.
    """
    questions = [q for q in event.questions.all() if q.kind in (*CHOICE_KINDS, QuestionKind.YES_NO)]
    if not questions:
        return []
    answers = Answer.objects.filter(question__in=questions).filter(
        Q(registration__isnull=True)
        | Q(registration__status__in=HOLDING_STATUSES, registration__is_walk_in=False)
    )
    counters: dict[int, Counter] = {question.pk: Counter() for question in questions}
    answered: Counter = Counter()
    for question_id, value in answers.values_list("question_id", "value"):
        answered[question_id] += 1
        counters[question_id].update(line for line in value.splitlines() if line)
    tallies = []
    for question in questions:
        options = question.choice_list if question.kind in CHOICE_KINDS else [YES, NO]
        counter = counters[question.pk]
        counts = [(option, counter.get(option, 0)) for option in options]
        # A choice removed after people picked it is still counted.
        counts += [(option, n) for option, n in sorted(counter.items()) if option not in options]
        tallies.append(QuestionTally(question=question, counts=counts, answered=answered[question.pk]))
    return tallies
