"""Forms for registration data: the custom questions' fields in the registration form, the organisers'
question editor, messages to participants, the reminder setting."""

from django import forms

from essaim.events.models import Audience, Question, QuestionKind
from essaim.events.questions import NO, YES

QUESTION_PREFIX = "question_"
YES_NO_CHOICES = [(YES, "Oui"), (NO, "Non")]


def add_question_fields(form: forms.Form, event, *, by_facilitator: bool = False) -> None:
    """Add a field per custom question of ``event`` to a registration form, and the opt-in to the public
    participant list (unchecked by default). The consent field, if any, stays last."""
    form.questions = list(event.questions.all())
    for question in form.questions:
        required = question.required and not by_facilitator
        common = {"label": question.label, "required": required, "help_text": question.help_text}
        if question.kind == QuestionKind.SHORT_TEXT:
            field = forms.CharField(max_length=300, **common)
        elif question.kind == QuestionKind.LONG_TEXT:
            field = forms.CharField(max_length=5000, widget=forms.Textarea(attrs={"rows": 4}), **common)
        elif question.kind == QuestionKind.MULTIPLE_CHOICE:
            field = forms.MultipleChoiceField(
                choices=[(c, c) for c in question.choice_list], widget=forms.CheckboxSelectMultiple, **common
            )
        else:
            choices = YES_NO_CHOICES if question.kind == QuestionKind.YES_NO else question.choice_list
            field = forms.ChoiceField(
                choices=[c if isinstance(c, tuple) else (c, c) for c in choices],
                widget=forms.RadioSelect,
                **common,
            )
        if required:
            field.error_messages["required"] = "Cette question demande une réponse."
        form.fields[f"{QUESTION_PREFIX}{question.pk}"] = field
    form.fields["public_listing"] = forms.BooleanField(
        label=(
            "La personne accepte que son nom et sa structure figurent sur la liste publique des participants."
            if by_facilitator
            else "J'accepte que mon nom et ma structure figurent sur la liste publique des participants "
            "de l'événement (facultatif)."
        ),
        required=False,
    )
    if "consent" in form.fields:
        form.order_fields([name for name in form.fields if name != "consent"])


def question_arguments(form: forms.Form) -> dict:
    """``answers`` and ``public_listing`` arguments of ``registration_create`` from a valid form."""
    data = form.cleaned_data
    answers = {}
    for question in getattr(form, "questions", []):
        value = data.get(f"{QUESTION_PREFIX}{question.pk}")
        if value:
            answers[question.pk] = list(value) if isinstance(value, list) else value
    return {"answers": answers, "public_listing": bool(data.get("public_listing"))}


class QuestionForm(forms.ModelForm):
    class Meta:
        model = Question
        fields = ["label", "help_text", "kind", "choices", "required", "position"]
        widgets = {"choices": forms.Textarea(attrs={"rows": 4})}

    def clean(self):
        data = super().clean()
        if (
            data.get("kind") in (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
            and not (data.get("choices") or "").strip()
        ):
            self.add_error("choices", "Indiquez au moins un choix, un par ligne.")
        return data


class MessageForm(forms.Form):
    audience = forms.ChoiceField(label="Destinataires", choices=Audience.choices, widget=forms.RadioSelect)
    subject = forms.CharField(label="Objet", max_length=200)
    body = forms.CharField(
        label="Message",
        max_length=10_000,
        widget=forms.Textarea(attrs={"rows": 8}),
        help_text="Chaque personne reçoit son propre courriel, avec le lien pour gérer son inscription.",
    )


class RemindersForm(forms.Form):
    reminders_enabled = forms.BooleanField(
        label="Envoyer un rappel par courriel avant l'événement", required=False
    )
