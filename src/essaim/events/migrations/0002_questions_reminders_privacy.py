"""Custom registration questions and answers, reminders, messages to participants, privacy fields."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("events", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="event",
            name="reminders_enabled",
            field=models.BooleanField(
                default=True,
                help_text="Les personnes inscrites reçoivent un rappel quelques jours avant l'événement.",
                verbose_name="rappel par courriel avant l'événement",
            ),
        ),
        migrations.AddField(
            model_name="registration",
            name="anonymised_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="anonymisée le"),
        ),
        migrations.AddField(
            model_name="registration",
            name="public_listing",
            field=models.BooleanField(
                default=False, verbose_name="apparaît dans la liste publique des participants"
            ),
        ),
        migrations.AddField(
            model_name="registration",
            name="reminded_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="rappel envoyé le"),
        ),
        migrations.CreateModel(
            name="Question",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("label", models.CharField(max_length=300, verbose_name="question")),
                ("help_text", models.CharField(blank=True, max_length=300, verbose_name="aide")),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("short_text", "Texte court"),
                            ("long_text", "Texte long"),
                            ("single_choice", "Choix unique"),
                            ("multiple_choice", "Choix multiple"),
                            ("yes_no", "Oui / non"),
                        ],
                        max_length=20,
                        verbose_name="type de réponse",
                    ),
                ),
                (
                    "choices",
                    models.TextField(
                        blank=True,
                        help_text="Un choix par ligne (pour les questions à choix).",
                        verbose_name="choix proposés",
                    ),
                ),
                ("required", models.BooleanField(default=False, verbose_name="réponse obligatoire")),
                ("position", models.PositiveSmallIntegerField(default=0, verbose_name="ordre")),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="questions",
                        to="events.event",
                    ),
                ),
            ],
            options={
                "verbose_name": "question d'inscription",
                "verbose_name_plural": "questions d'inscription",
                "ordering": ["position", "pk"],
            },
        ),
        migrations.CreateModel(
            name="Answer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value", models.TextField(blank=True, verbose_name="réponse")),
                (
                    "registration",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="answers",
                        to="events.registration",
                    ),
                ),
                (
                    "question",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="answers",
                        to="events.question",
                    ),
                ),
            ],
            options={
                "verbose_name": "réponse",
                "ordering": ["question__position", "question_id", "pk"],
            },
        ),
        migrations.CreateModel(
            name="ParticipantMessage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "audience",
                    models.CharField(
                        choices=[
                            ("confirmed", "Toutes les personnes inscrites (confirmées)"),
                            ("present", "Les personnes présentes"),
                            ("waiting", "La liste d'attente"),
                        ],
                        max_length=20,
                        verbose_name="destinataires",
                    ),
                ),
                ("subject", models.CharField(max_length=200, verbose_name="objet")),
                ("body", models.TextField(verbose_name="message")),
                (
                    "recipients_count",
                    models.PositiveIntegerField(default=0, verbose_name="nombre de destinataires"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="écrit le")),
                (
                    "queued_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="courriels mis en file le"),
                ),
                (
                    "event",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="participant_messages",
                        to="events.event",
                    ),
                ),
                (
                    "sent_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="envoyé par",
                    ),
                ),
            ],
            options={
                "verbose_name": "message aux participants",
                "verbose_name_plural": "messages aux participants",
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("audience", "confirmed"),
                            ("audience", "present"),
                            ("audience", "waiting"),
                            _connector="OR",
                        ),
                        name="events_message_audience_valid",
                        violation_error_message="Destinataires inconnus.",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("subject", ""), _negated=True), models.Q(("body", ""), _negated=True)
                        ),
                        name="events_message_not_empty",
                        violation_error_message="L'objet et le message sont obligatoires.",
                    ),
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="question",
            constraint=models.CheckConstraint(
                condition=models.Q(("label", ""), _negated=True),
                name="events_question_label_not_empty",
                violation_error_message="Le libellé de la question est obligatoire.",
            ),
        ),
        migrations.AddConstraint(
            model_name="question",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("kind", "short_text"),
                    ("kind", "long_text"),
                    ("kind", "single_choice"),
                    ("kind", "multiple_choice"),
                    ("kind", "yes_no"),
                    _connector="OR",
                ),
                name="events_question_kind_valid",
                violation_error_message="Type de question inconnu.",
            ),
        ),
        migrations.AddConstraint(
            model_name="question",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("kind", "single_choice"), ("kind", "multiple_choice"), _connector="OR", _negated=True
                    ),
                    models.Q(("choices", ""), _negated=True),
                    _connector="OR",
                ),
                name="events_question_choices_given",
                violation_error_message="Indiquez au moins un choix pour une question à choix.",
            ),
        ),
        migrations.AddConstraint(
            model_name="answer",
            constraint=models.UniqueConstraint(
                fields=("registration", "question"),
                name="events_answer_unique",
                violation_error_message="Cette inscription a déjà répondu à cette question.",
            ),
        ),
    ]
