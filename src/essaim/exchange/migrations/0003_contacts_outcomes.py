import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("exchange", "0002_search_alerts_moderation"),
        ("actors", "0011_map_sql"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ContactMessage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("body", models.TextField(verbose_name="message")),
                (
                    "created_at",
                    models.DateTimeField(default=django.utils.timezone.now, verbose_name="écrit le"),
                ),
            ],
            options={
                "verbose_name": "message de mise en relation",
                "verbose_name_plural": "messages de mise en relation",
                "ordering": ["created_at", "pk"],
            },
        ),
        migrations.CreateModel(
            name="Match",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("suggested", "Suggérée"),
                            ("contacted", "Contact pris"),
                            ("discussing", "En discussion"),
                            ("agreed", "Accord trouvé"),
                            ("done", "Réalisée"),
                            ("declined", "Déclinée"),
                        ],
                        default="suggested",
                        max_length=12,
                        verbose_name="état",
                    ),
                ),
                ("score", models.FloatField(blank=True, null=True, verbose_name="score de la suggestion")),
                (
                    "reasons",
                    models.JSONField(blank=True, default=list, verbose_name="raisons de la suggestion"),
                ),
                (
                    "decline_reason",
                    models.CharField(blank=True, max_length=500, verbose_name="motif du refus"),
                ),
                (
                    "revealed_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="coordonnées révélées le"),
                ),
                (
                    "digest_sent_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="suggestion notifiée le"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="créée le")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="modifiée le")),
            ],
            options={
                "verbose_name": "mise en relation",
                "verbose_name_plural": "mises en relation",
                "ordering": ["-updated_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="MatchDigestOptOut",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="depuis le")),
            ],
            options={
                "verbose_name": "refus des suggestions par courriel",
                "verbose_name_plural": "refus des suggestions par courriel",
            },
        ),
        migrations.CreateModel(
            name="Outcome",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("cooperation", "Une coopération"),
                            ("purchase", "Un achat"),
                            ("shared_job", "Un emploi partagé"),
                            ("loan_gift", "Un prêt ou un don"),
                            ("nothing", "Rien"),
                        ],
                        max_length=12,
                        verbose_name="résultat",
                    ),
                ),
                (
                    "amount_euros",
                    models.PositiveIntegerField(blank=True, null=True, verbose_name="montant estimé (€)"),
                ),
                ("hours", models.PositiveIntegerField(blank=True, null=True, verbose_name="heures estimées")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="renseigné le")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="modifié le")),
            ],
            options={
                "verbose_name": "résultat d'une annonce",
                "verbose_name_plural": "résultats des annonces",
            },
        ),
        migrations.AddField(
            model_name="contactmessage",
            name="author",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="auteur·rice",
            ),
        ),
        migrations.AddField(
            model_name="contactmessage",
            name="author_structure",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="actors.structure",
                verbose_name="au nom de",
            ),
        ),
        migrations.AddField(
            model_name="match",
            name="broker",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="mise en relation par",
            ),
        ),
        migrations.AddField(
            model_name="match",
            name="counterpart_listing",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="counterpart_matches",
                to="exchange.listing",
                verbose_name="annonce correspondante",
            ),
        ),
        migrations.AddField(
            model_name="match",
            name="counterpart_structure",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="exchange_matches",
                to="actors.structure",
                verbose_name="structure mise en relation",
            ),
        ),
        migrations.AddField(
            model_name="match",
            name="initiated_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="à l'initiative de",
            ),
        ),
        migrations.AddField(
            model_name="match",
            name="initiator_structure",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="actors.structure",
                verbose_name="structure à l'initiative",
            ),
        ),
        migrations.AddField(
            model_name="match",
            name="listing",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="matches",
                to="exchange.listing",
                verbose_name="annonce",
            ),
        ),
        migrations.AddField(
            model_name="match",
            name="listing_structure",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="actors.structure",
                verbose_name="structure de l'annonce",
            ),
        ),
        migrations.AddField(
            model_name="contactmessage",
            name="match",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="messages",
                to="exchange.match",
                verbose_name="mise en relation",
            ),
        ),
        migrations.AddField(
            model_name="matchdigestoptout",
            name="user",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="personne",
            ),
        ),
        migrations.AddField(
            model_name="outcome",
            name="counterpart_structure",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="actors.structure",
                verbose_name="structure partenaire",
            ),
        ),
        migrations.AddField(
            model_name="outcome",
            name="listing",
            field=models.OneToOneField(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="outcome",
                to="exchange.listing",
                verbose_name="annonce",
            ),
        ),
        migrations.AddField(
            model_name="outcome",
            name="recorded_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="renseigné par",
            ),
        ),
        migrations.AddIndex(
            model_name="match",
            index=models.Index(fields=["status", "digest_sent_at"], name="exchange_match_digest"),
        ),
        migrations.AddIndex(
            model_name="match",
            index=models.Index(fields=["listing_structure", "status"], name="exchange_match_listing_side"),
        ),
        migrations.AddIndex(
            model_name="match",
            index=models.Index(fields=["counterpart_structure", "status"], name="exchange_match_other_side"),
        ),
        migrations.AddConstraint(
            model_name="match",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("status", "suggested"),
                    ("status", "contacted"),
                    ("status", "discussing"),
                    ("status", "agreed"),
                    ("status", "done"),
                    ("status", "declined"),
                    _connector="OR",
                ),
                name="exchange_match_status_valid",
                violation_error_message="État de mise en relation inconnu.",
            ),
        ),
        migrations.AddConstraint(
            model_name="match",
            constraint=models.CheckConstraint(
                condition=models.Q(("counterpart_structure", models.F("listing_structure")), _negated=True),
                name="exchange_match_not_self",
                violation_error_message="Une structure ne peut pas être mise en relation avec elle-même.",
            ),
        ),
        migrations.AddConstraint(
            model_name="match",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("counterpart_listing__isnull", True),
                    models.Q(("counterpart_listing", models.F("listing")), _negated=True),
                    _connector="OR",
                ),
                name="exchange_match_not_same_listing",
                violation_error_message="Une annonce ne peut pas être mise en relation avec elle-même.",
            ),
        ),
        migrations.AddConstraint(
            model_name="match",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("status", "declined"), _negated=True),
                    models.Q(("decline_reason", ""), _negated=True),
                    _connector="OR",
                ),
                name="exchange_match_decline_has_reason",
                violation_error_message="Indiquez le motif du refus.",
            ),
        ),
        migrations.AddConstraint(
            model_name="match",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    ("status", "suggested"),
                    ("status", "contacted"),
                    ("status", "discussing"),
                    ("status", "agreed"),
                    _connector="OR",
                ),
                fields=("listing", "counterpart_structure"),
                name="exchange_match_one_open_per_pair",
                violation_error_message="Une mise en relation est déjà en cours entre cette annonce et cette structure.",
            ),
        ),
        migrations.AddConstraint(
            model_name="contactmessage",
            constraint=models.CheckConstraint(
                condition=models.Q(("body", ""), _negated=True),
                name="exchange_contactmessage_body_not_empty",
                violation_error_message="Le message est vide.",
            ),
        ),
        migrations.AddConstraint(
            model_name="outcome",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("kind", "cooperation"),
                    ("kind", "purchase"),
                    ("kind", "shared_job"),
                    ("kind", "loan_gift"),
                    ("kind", "nothing"),
                    _connector="OR",
                ),
                name="exchange_outcome_kind_valid",
                violation_error_message="Résultat inconnu.",
            ),
        ),
        migrations.AddConstraint(
            model_name="outcome",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(("kind", "nothing"), _negated=True),
                    models.Q(("amount_euros__isnull", True), ("hours__isnull", True)),
                    _connector="OR",
                ),
                name="exchange_outcome_nothing_has_no_figures",
                violation_error_message="Sans résultat, ni montant ni heures ne peuvent être indiqués.",
            ),
        ),
        migrations.AddConstraint(
            model_name="outcome",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    models.Q(
                        ("amount_euros__isnull", True), ("amount_euros__lte", 100000000), _connector="OR"
                    ),
                    models.Q(("hours__isnull", True), ("hours__lte", 1000000), _connector="OR"),
                ),
                name="exchange_outcome_figures_bounded",
                violation_error_message="Montant ou nombre d'heures invraisemblable.",
            ),
        ),
    ]
