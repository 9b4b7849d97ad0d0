"""ESS structures (and the public partners they work with) and who belongs to them."""

from django.conf import settings
from django.db import models

from essaim.territories.models import Commune


class Family(models.TextChoices):
    """ESS family of a structure, plus the kinds of partners that are not ESS structures themselves."""

    ASSOCIATION = "association", "Association"
    COOPERATIVE = "cooperative", "Coopérative"
    MUTUELLE = "mutuelle", "Mutuelle"
    FONDATION = "fondation", "Fondation"
    ESUS = "esus", "Entreprise commerciale de l'ESS (ESUS)"
    PUBLIC = "public", "Collectivité ou partenaire public"
    OTHER = "other", "Autre partenaire"


# The families that make a structure part of the ESS in the sense of the 2014 law.
ESS_FAMILIES = (Family.ASSOCIATION, Family.COOPERATIVE, Family.MUTUELLE, Family.FONDATION, Family.ESUS)


class CooperativeKind(models.TextChoices):
    SCOP = "scop", "SCOP (société coopérative et participative)"
    SCIC = "scic", "SCIC (société coopérative d'intérêt collectif)"
    CAE = "cae", "CAE (coopérative d'activité et d'emploi)"
    AGRICOLE = "agricole", "Coopérative agricole"
    HABITANTS = "habitants", "Coopérative d'habitants"
    CONSOMMATEURS = "consommateurs", "Coopérative de consommateurs"
    OTHER = "autre", "Autre coopérative"


class Status(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    PENDING = "pending", "En attente de relecture"
    PUBLISHED = "published", "Publiée"
    ARCHIVED = "archived", "Archivée"


# Allowed status changes (from -> to). Archiving instead of deleting keeps history; an archived or
# unpublished card goes back to draft so it is reviewed before being published again.
STATUS_TRANSITIONS: dict[str, frozenset[str]] = {
    Status.DRAFT: frozenset({Status.PENDING, Status.PUBLISHED, Status.ARCHIVED}),
    Status.PENDING: frozenset({Status.DRAFT, Status.PUBLISHED, Status.ARCHIVED}),
    Status.PUBLISHED: frozenset({Status.DRAFT, Status.ARCHIVED}),
    Status.ARCHIVED: frozenset({Status.DRAFT}),
}


class StructureQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=Status.PUBLISHED)

    def ess(self):
        """Structures of the ESS proper (not the public or other partners)."""
        return self.filter(family__in=ESS_FAMILIES)

    def of_family(self, family: str):
        return self.filter(family=family)

    def in_perimeter(self, perimeter):
        """Structures whose commune belongs to ``perimeter`` (a ``territories.Perimeter`` or its pk).

        One indexed join through ``PerimeterCommune``, unique per (perimeter, commune): no duplicates.
        """
        perimeter_id = getattr(perimeter, "pk", perimeter)
        return self.filter(commune__perimeter_links__perimeter_id=perimeter_id)

    def search(self, text: str):
        """Accent- and case-insensitive match of every word of ``text`` in the name or acronym."""
        from essaim.core.text import normalize

        qs = self
        for word in normalize(text).split():
            qs = qs.filter(search_name__contains=word)
        return qs


class Structure(models.Model):
    name = models.CharField("nom", max_length=200)
    slug = models.SlugField(
        "identifiant d'adresse",
        max_length=200,
        unique=True,
        error_messages={"unique": "Une structure utilise déjà cet identifiant d'adresse."},
    )
    acronym = models.CharField("sigle", max_length=50, blank=True)
    # Normalised name + acronym, kept by the services for accent-insensitive search on both databases.
    search_name = models.CharField("nom normalisé", max_length=260, editable=False, db_index=True)
    family = models.CharField("famille", max_length=20, choices=Family.choices)
    cooperative_kind = models.CharField(
        "type de coopérative",
        max_length=20,
        choices=CooperativeKind.choices,
        blank=True,
        help_text="Uniquement pour les coopératives.",
    )
    commune = models.ForeignKey(
        Commune,
        verbose_name="commune",
        null=True,
        blank=True,
        # A commune merged away by a COG update must not block the territories load; the address stays.
        on_delete=models.SET_NULL,
        related_name="structures",
    )
    address = models.CharField("adresse", max_length=300, blank=True)
    website = models.URLField("site web", max_length=300, blank=True)
    email = models.EmailField("courriel de contact public", blank=True)
    description = models.TextField("présentation", blank=True)
    status = models.CharField("état", max_length=20, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    objects = StructureQuerySet.as_manager()

    class Meta:
        verbose_name = "structure"
        ordering = ["name"]
        indexes = [
            models.Index(fields=["status", "name"], name="actors_structure_status_name"),
            models.Index(fields=["family"], name="actors_structure_family"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="actors_structure_name_not_empty",
                violation_error_message="Le nom de la structure est obligatoire.",
            ),
            models.CheckConstraint(
                condition=models.Q(family__in=Family.values),
                name="actors_structure_family_valid",
                violation_error_message="Famille inconnue.",
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=Status.values),
                name="actors_structure_status_valid",
                violation_error_message="État inconnu.",
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(family=Family.COOPERATIVE, cooperative_kind__in=CooperativeKind.values)
                    | (~models.Q(family=Family.COOPERATIVE) & models.Q(cooperative_kind=""))
                ),
                name="actors_structure_cooperative_kind_consistent",
                violation_error_message=(
                    "Le type de coopérative est obligatoire pour une coopérative et réservé aux coopératives."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ess(self) -> bool:
        return self.family in ESS_FAMILIES

    @property
    def family_label(self) -> str:
        """The family as shown to people, with the kind of cooperative when known."""
        if self.family == Family.COOPERATIVE and self.cooperative_kind:
            return CooperativeKind(self.cooperative_kind).label
        return Family(self.family).label


class MembershipRole(models.TextChoices):
    MEMBER = "member", "Membre"
    MANAGER = "manager", "Responsable"


class Membership(models.Model):
    """A person who belongs to a structure and may edit what belongs to it."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="personne",
        on_delete=models.CASCADE,
        related_name="memberships",
    )
    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(
        "rôle", max_length=20, choices=MembershipRole.choices, default=MembershipRole.MEMBER
    )
    created_at = models.DateTimeField("depuis le", auto_now_add=True)

    class Meta:
        verbose_name = "appartenance à une structure"
        verbose_name_plural = "appartenances à une structure"
        ordering = ["structure__name", "user__email"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "structure"],
                name="actors_membership_unique",
                violation_error_message="Cette personne est déjà membre de cette structure.",
            ),
            models.CheckConstraint(
                condition=models.Q(role__in=MembershipRole.values),
                name="actors_membership_role_valid",
                violation_error_message="Rôle inconnu.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} — {self.structure} ({self.get_role_display()})"
