import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("actors", "0011_map_sql"),
        ("exchange", "0001_initial"),
        ("territories", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Alert",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "direction",
                    models.CharField(
                        blank=True,
                        choices=[("offer", "Offre"), ("need", "Besoin")],
                        max_length=10,
                        verbose_name="sens",
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("equipment", "Équipement ou matériel"),
                            ("premises", "Local ou espace"),
                            ("skill", "Compétence"),
                            ("service", "Service"),
                            ("product", "Produit"),
                            ("shared_job", "Emploi partagé"),
                            ("group_purchase", "Achat groupé"),
                            ("volunteering", "Bénévolat"),
                        ],
                        max_length=20,
                        verbose_name="type",
                    ),
                ),
                ("text", models.CharField(blank=True, max_length=100, verbose_name="mots recherchés")),
                ("radius_km", models.PositiveIntegerField(default=30, verbose_name="rayon (km)")),
                (
                    "frequency",
                    models.CharField(
                        choices=[("daily", "Chaque jour"), ("weekly", "Chaque semaine")],
                        default="weekly",
                        max_length=10,
                        verbose_name="fréquence",
                    ),
                ),
                ("email_enabled", models.BooleanField(default=True, verbose_name="envoi par courriel")),
                (
                    "last_checked_at",
                    models.DateTimeField(
                        blank=True, editable=False, null=True, verbose_name="dernière recherche"
                    ),
                ),
                (
                    "last_sent_at",
                    models.DateTimeField(blank=True, editable=False, null=True, verbose_name="dernier envoi"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="créée le")),
            ],
            options={
                "verbose_name": "alerte",
                "ordering": ["-created_at", "-pk"],
            },
        ),
        migrations.CreateModel(
            name="AlertSending",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("sent_at", models.DateTimeField(verbose_name="envoyé le")),
                ("sent_on", models.DateField(verbose_name="jour d'envoi")),
                ("listing_count", models.PositiveIntegerField(verbose_name="annonces")),
                ("listing_ids", models.JSONField(default=list, verbose_name="annonces envoyées")),
            ],
            options={
                "verbose_name": "envoi d'alerte",
                "verbose_name_plural": "envois d'alertes",
                "ordering": ["-sent_at"],
            },
        ),
        migrations.CreateModel(
            name="ListingReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "reason",
                    models.CharField(
                        choices=[
                            ("spam", "Publicité abusive ou spam"),
                            ("fraud", "Arnaque ou tentative de fraude"),
                            ("offensive", "Contenu injurieux, discriminatoire ou illégal"),
                            ("misleading", "Informations fausses ou trompeuses"),
                            ("other", "Autre raison"),
                        ],
                        max_length=20,
                        verbose_name="motif",
                    ),
                ),
                ("text", models.TextField(blank=True, max_length=2000, verbose_name="précisions")),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "À traiter"), ("resolved", "Traité")],
                        default="open",
                        max_length=10,
                        verbose_name="état",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="signalée le")),
                ("resolved_at", models.DateTimeField(blank=True, null=True, verbose_name="traitée le")),
                ("resolution", models.TextField(blank=True, verbose_name="suite donnée")),
            ],
            options={
                "verbose_name": "signalement",
                "ordering": ["created_at", "pk"],
            },
        ),
        migrations.AddField(
            model_name="listing",
            name="hidden_at",
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name="masquée le"),
        ),
        migrations.AddField(
            model_name="listing",
            name="hidden_by",
            field=models.ForeignKey(
                blank=True,
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="masquée par",
            ),
        ),
        migrations.AddField(
            model_name="listing",
            name="hidden_reason",
            field=models.TextField(blank=True, editable=False, verbose_name="motif du masquage"),
        ),
        migrations.AddField(
            model_name="alert",
            name="commune",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="territories.commune",
                verbose_name="autour de la commune",
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="structure",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="actors.structure",
                verbose_name="autour de la structure",
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="themes",
            field=models.ManyToManyField(
                blank=True, related_name="+", to="actors.theme", verbose_name="thématiques"
            ),
        ),
        migrations.AddField(
            model_name="alert",
            name="user",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="alerts",
                to=settings.AUTH_USER_MODEL,
                verbose_name="personne",
            ),
        ),
        migrations.AddField(
            model_name="alertsending",
            name="alert",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="sendings",
                to="exchange.alert",
                verbose_name="alerte",
            ),
        ),
        migrations.AddField(
            model_name="listingreport",
            name="listing",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="reports",
                to="exchange.listing",
                verbose_name="annonce",
            ),
        ),
        migrations.AddField(
            model_name="listingreport",
            name="reporter",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="signalée par",
            ),
        ),
        migrations.AddField(
            model_name="listingreport",
            name="resolved_by",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="traitée par",
            ),
        ),
        migrations.AddIndex(
            model_name="alert",
            index=models.Index(fields=["email_enabled", "last_checked_at"], name="exchange_alert_due"),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(
                condition=models.Q(("frequency", "daily"), ("frequency", "weekly"), _connector="OR"),
                name="exchange_alert_frequency_valid",
                violation_error_message="Fréquence inconnue.",
            ),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(
                condition=models.Q(("commune__isnull", True), ("structure__isnull", True), _connector="OR"),
                name="exchange_alert_one_place",
                violation_error_message="Choisissez une commune ou une structure, pas les deux.",
            ),
        ),
        migrations.AddConstraint(
            model_name="alert",
            constraint=models.CheckConstraint(
                condition=models.Q(("radius_km__gte", 1), ("radius_km__lte", 1000)),
                name="exchange_alert_radius_bounded",
                violation_error_message="Le rayon doit être compris entre 1 et 1 000 km.",
            ),
        ),
        migrations.AddConstraint(
            model_name="alertsending",
            constraint=models.UniqueConstraint(
                fields=("alert", "sent_on"),
                name="exchange_alertsending_once_a_day",
                violation_error_message="Cette alerte a déjà été envoyée aujourd'hui.",
            ),
        ),
        migrations.AddIndex(
            model_name="listingreport",
            index=models.Index(fields=["status", "created_at"], name="exchange_report_status"),
        ),
        migrations.AddConstraint(
            model_name="listingreport",
            constraint=models.CheckConstraint(
                condition=models.Q(
                    ("reason", "spam"),
                    ("reason", "fraud"),
                    ("reason", "offensive"),
                    ("reason", "misleading"),
                    ("reason", "other"),
                    _connector="OR",
                ),
                name="exchange_report_reason_valid",
                violation_error_message="Motif de signalement inconnu.",
            ),
        ),
        migrations.AddConstraint(
            model_name="listingreport",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "open"), ("status", "resolved"), _connector="OR"),
                name="exchange_report_status_valid",
                violation_error_message="État de signalement inconnu.",
            ),
        ),
        migrations.AddConstraint(
            model_name="listingreport",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open")),
                fields=("listing", "reporter"),
                name="exchange_report_one_open_per_person",
                violation_error_message="Vous avez déjà signalé cette annonce ; les animateur·rices vont l'examiner.",
            ),
        ),
    ]
