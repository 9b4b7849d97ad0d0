import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("actors", "0011_map_sql"),
        ("exchange", "0003_contacts_outcomes"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="GroupPurchase",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("deadline", models.DateTimeField(verbose_name="date limite de participation")),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Ouvert"), ("closed", "Clos")],
                        default="open",
                        max_length=10,
                        verbose_name="état",
                    ),
                ),
                ("closed_at", models.DateTimeField(blank=True, null=True, verbose_name="clos le")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="créé le")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="modifié le")),
                (
                    "listing",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="group_purchase",
                        to="exchange.listing",
                        verbose_name="annonce",
                    ),
                ),
            ],
            options={"verbose_name": "achat groupé", "verbose_name_plural": "achats groupés"},
        ),
        migrations.CreateModel(
            name="GroupPurchaseProduct",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("label", models.CharField(max_length=200, verbose_name="produit")),
                ("unit", models.CharField(max_length=50, verbose_name="unité")),
                (
                    "unit_price_cents",
                    models.PositiveIntegerField(
                        blank=True, null=True, verbose_name="prix unitaire (centimes)"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField(default=0, verbose_name="ordre")),
                (
                    "purchase",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="products",
                        to="exchange.grouppurchase",
                        verbose_name="achat groupé",
                    ),
                ),
            ],
            options={
                "verbose_name": "produit d'un achat groupé",
                "verbose_name_plural": "produits d'un achat groupé",
                "ordering": ["position", "pk"],
            },
        ),
        migrations.CreateModel(
            name="GroupPurchaseParticipation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="inscrite le")),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="modifiée le")),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="inscrite par",
                    ),
                ),
                (
                    "purchase",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="participations",
                        to="exchange.grouppurchase",
                        verbose_name="achat groupé",
                    ),
                ),
                (
                    "structure",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="group_purchases",
                        to="actors.structure",
                        verbose_name="structure",
                    ),
                ),
            ],
            options={
                "verbose_name": "participation à un achat groupé",
                "verbose_name_plural": "participations à un achat groupé",
                "ordering": ["structure__name", "pk"],
            },
        ),
        migrations.CreateModel(
            name="GroupPurchaseLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("quantity", models.DecimalField(decimal_places=2, max_digits=10, verbose_name="quantité")),
                (
                    "participation",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="exchange.grouppurchaseparticipation",
                        verbose_name="participation",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="lines",
                        to="exchange.grouppurchaseproduct",
                        verbose_name="produit",
                    ),
                ),
            ],
            options={
                "verbose_name": "ligne de commande groupée",
                "verbose_name_plural": "lignes de commande groupée",
            },
        ),
        migrations.CreateModel(
            name="SharedJobProfile",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("job_title", models.CharField(max_length=120, verbose_name="métier")),
                (
                    "job_key",
                    models.CharField(
                        db_index=True, editable=False, max_length=200, verbose_name="métier normalisé"
                    ),
                ),
                (
                    "fte",
                    models.DecimalField(
                        decimal_places=2, max_digits=3, verbose_name="temps de travail (ETP)"
                    ),
                ),
                ("updated_at", models.DateTimeField(auto_now=True, verbose_name="modifié le")),
                (
                    "listing",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="shared_job",
                        to="exchange.listing",
                        verbose_name="annonce",
                    ),
                ),
            ],
            options={"verbose_name": "emploi partagé", "verbose_name_plural": "emplois partagés"},
        ),
        migrations.AddIndex(
            model_name="grouppurchase",
            index=models.Index(fields=["status", "deadline"], name="exchange_gp_status_deadline"),
        ),
        migrations.AddConstraint(
            model_name="grouppurchase",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "open")) | models.Q(("status", "closed")),
                name="exchange_gp_status_valid",
                violation_error_message="État d'achat groupé inconnu.",
            ),
        ),
        migrations.AddConstraint(
            model_name="grouppurchase",
            constraint=models.CheckConstraint(
                condition=models.Q(("status", "open"), ("closed_at__isnull", False), _connector="OR"),
                name="exchange_gp_closed_has_date",
                violation_error_message="Un achat groupé clos doit avoir une date de clôture.",
            ),
        ),
        migrations.AddConstraint(
            model_name="grouppurchaseproduct",
            constraint=models.UniqueConstraint(
                fields=("purchase", "label", "unit"),
                name="exchange_gp_product_unique",
                violation_error_message="Ce produit figure déjà dans l'achat groupé.",
            ),
        ),
        migrations.AddConstraint(
            model_name="grouppurchaseparticipation",
            constraint=models.UniqueConstraint(
                fields=("purchase", "structure"),
                name="exchange_gp_one_participation_per_structure",
                violation_error_message="Cette structure participe déjà à cet achat groupé.",
            ),
        ),
        migrations.AddConstraint(
            model_name="grouppurchaseline",
            constraint=models.CheckConstraint(
                condition=models.Q(("quantity__gt", 0)),
                name="exchange_gp_line_quantity_positive",
                violation_error_message="La quantité doit être strictement positive.",
            ),
        ),
        migrations.AddConstraint(
            model_name="grouppurchaseline",
            constraint=models.UniqueConstraint(
                fields=("participation", "product"),
                name="exchange_gp_line_unique",
                violation_error_message="Ce produit figure déjà dans cette participation.",
            ),
        ),
        migrations.AddConstraint(
            model_name="sharedjobprofile",
            constraint=models.CheckConstraint(
                condition=models.Q(("fte__gt", 0), ("fte__lte", 1)),
                name="exchange_shared_job_fte_range",
                violation_error_message="Le temps de travail doit être compris entre 0 et 1 ETP (1 = temps plein).",
            ),
        ),
    ]
