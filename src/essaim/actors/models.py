"""ESS structures (and the public partners they work with) and who belongs to them."""

from django.conf import settings
from django.db import models
from django.db.models.functions import Length, Lower
from django.db.models.lookups import Exact

from essaim.actors.identifiers import validate_rna, validate_siren, validate_siret
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


def point_valid() -> models.Q:
    """No point, or a whole point within bounds. Explicit NOT NULL: a comparison with NULL would let a half
    point through."""
    return models.Q(latitude__isnull=True, longitude__isnull=True) | models.Q(
        latitude__isnull=False,
        longitude__isnull=False,
        latitude__gte=-90,
        latitude__lte=90,
        longitude__gte=-180,
        longitude__lte=180,
    )


def one_of(field: str, values) -> models.Q:
    """``field`` is one of ``values``, as an OR of equalities: SQLite evaluates an ``IN (...)`` list inside a
    CHECK constraint several times slower, which matters when importing a million rows."""
    condition = models.Q()
    for value in values:
        condition |= models.Q(**{field: value})
    return condition


class HeadcountBand(models.TextChoices):
    """INSEE headcount bands ("tranches d'effectifs salariés") as published in SIRENE."""

    NON_EMPLOYER = "NN", "Unité non employeuse"
    ZERO = "00", "0 salarié"
    FROM_1 = "01", "1 ou 2 salariés"
    FROM_3 = "02", "3 à 5 salariés"
    FROM_6 = "03", "6 à 9 salariés"
    FROM_10 = "11", "10 à 19 salariés"
    FROM_20 = "12", "20 à 49 salariés"
    FROM_50 = "21", "50 à 99 salariés"
    FROM_100 = "22", "100 à 199 salariés"
    FROM_200 = "31", "200 à 249 salariés"
    FROM_250 = "32", "250 à 499 salariés"
    FROM_500 = "41", "500 à 999 salariés"
    FROM_1000 = "42", "1 000 à 1 999 salariés"
    FROM_2000 = "51", "2 000 à 4 999 salariés"
    FROM_5000 = "52", "5 000 à 9 999 salariés"
    FROM_10000 = "53", "10 000 salariés et plus"


class SireneEssFlag(models.TextChoices):
    """SIRENE's ``economieSocialeSolidaireUniteLegale``."""

    YES = "O", "Oui"
    NO = "N", "Non"


class Source(models.TextChoices):
    """Where the value of a field comes from."""

    SIRENE = "sirene", "Import SIRENE"
    CSV = "csv", "Import CSV"
    DATAINCLUSION = "datainclusion", "Import data·inclusion"
    FACILITATOR = "facilitator", "Équipe d'animation"
    STRUCTURE = "structure", "La structure elle-même"


# Sources typed by a person: their values count as verified by a human.
HUMAN_SOURCES = frozenset({Source.FACILITATOR, Source.STRUCTURE})


class LegalCategory(models.Model):
    """INSEE legal category, level 3 ("catégorie juridique"), loaded with ``essaim legal_categories_load``."""

    code = models.CharField("code", max_length=4, primary_key=True)
    label = models.CharField("libellé", max_length=250)

    class Meta:
        verbose_name = "catégorie juridique"
        verbose_name_plural = "catégories juridiques"
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("code"), 4),
                name="actors_legalcategory_code_4_chars",
                violation_error_message="Le code de catégorie juridique compte 4 chiffres.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.label}"


class TaxonomyQuerySet(models.QuerySet):
    def active(self):
        """Terms offered for new cards and in filters (archived terms stay on the cards that have them)."""
        return self.filter(archived_at__isnull=True)


class Taxonomy(models.Model):
    """A facilitator-editable list of terms (slug + label), managed with ``actors.taxonomy``."""

    slug = models.SlugField("identifiant", max_length=80, unique=True)
    label = models.CharField("libellé", max_length=150)
    position = models.PositiveSmallIntegerField("ordre", default=0)
    # Archived terms are hidden from choice lists and filters; a used term is archived, never deleted.
    archived_at = models.DateTimeField("archivée le", null=True, blank=True)

    objects = TaxonomyQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["position", "label"]

    def __str__(self) -> str:
        return self.label


class Theme(Taxonomy):
    class Meta(Taxonomy.Meta):
        verbose_name = "thématique ESS"
        verbose_name_plural = "thématiques ESS"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(label=""),
                name="actors_theme_label_not_empty",
                violation_error_message="Le libellé de la thématique est obligatoire.",
            ),
        ]


class Label(Taxonomy):
    """Networks a structure belongs to and labels it holds (PTCE member, CRESS member, ...)."""

    class Meta(Taxonomy.Meta):
        verbose_name = "réseau ou label"
        verbose_name_plural = "réseaux et labels"
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(label=""),
                name="actors_label_label_not_empty",
                violation_error_message="Le libellé du réseau ou label est obligatoire.",
            ),
        ]


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
    # Not indexed: the search matches words anywhere (LIKE '%word%'), which a B-tree index cannot serve,
    # and the index cost a third of the insertion time of the SIRENE import.
    search_name = models.CharField("nom normalisé", max_length=260, editable=False)
    # Full-text document (name, acronym, description, NAF label, themes, labels, commune), written by
    # ``actors.search.structures_reindex`` in the form the database's engine indexes (see there).
    search_document = models.TextField("document de recherche", blank=True, default="", editable=False)
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
    siren = models.CharField("SIREN", max_length=9, blank=True, validators=[validate_siren])
    rna = models.CharField("numéro RNA", max_length=10, blank=True, validators=[validate_rna])
    legal_category = models.ForeignKey(
        LegalCategory,
        verbose_name="catégorie juridique",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="structures",
    )
    is_societe_mission = models.BooleanField("société à mission", default=False)
    naf_code = models.CharField("code NAF", max_length=6, blank=True)
    naf_label = models.CharField("activité principale (NAF)", max_length=250, blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    headcount_band = models.CharField(
        "tranche d'effectifs", max_length=2, choices=HeadcountBand.choices, blank=True
    )
    creation_date = models.DateField("date de création", null=True, blank=True)
    opening_hours = models.TextField("horaires d'ouverture", blank=True)
    # The structure's own point; ``point`` falls back on the commune's.
    latitude = models.FloatField("latitude", null=True, blank=True)
    longitude = models.FloatField("longitude", null=True, blank=True)
    last_verified_at = models.DateField("dernière vérification", null=True, blank=True)
    # Completeness + recency of verification (0-100), computed in SQL by ``actors.quality``: stored so that
    # facilitators can sort and filter on it. Kept by the write services and a daily refresh.
    quality_score = models.PositiveSmallIntegerField("score de qualité", default=0, editable=False)
    sirene_ess_flag = models.CharField(
        "signalée ESS par SIRENE", max_length=1, choices=SireneEssFlag.choices, blank=True
    )
    # Provenance of the fields that have no FieldProvenance row: the source that created the card (on
    # ``created_at``). Imports create cards this way, without one row per field.
    origin_source = models.CharField(
        "source de la fiche", max_length=20, choices=Source.choices, default=Source.FACILITATOR
    )
    origin_ref = models.CharField("référence de la source de la fiche", max_length=200, blank=True)
    themes = models.ManyToManyField(Theme, verbose_name="thématiques", blank=True, related_name="structures")
    labels = models.ManyToManyField(
        Label, verbose_name="réseaux et labels", blank=True, related_name="structures"
    )
    # Set when a facilitator merged this (archived) card into another one: its address redirects there.
    merged_into = models.ForeignKey(
        "self",
        verbose_name="fusionnée dans",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="merged_from",
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    # Map snapshot (see ``actors.geo``): what the map's aggregates count for this card, kept by
    # ``geo.map_sync`` (called by the services) and ``essaim map_reindex``. All NULL when the card is not on
    # the map (not published, or no point of its own nor from its commune). Nullable without database
    # default so that bulk inserts that do not name these columns keep working.
    map_lat = models.FloatField("latitude sur la carte", null=True, blank=True, editable=False)
    map_lon = models.FloatField("longitude sur la carte", null=True, blank=True, editable=False)
    map_cell = models.BigIntegerField("cellule de carte", null=True, blank=True, editable=False)
    # NULL, not "": "not on the map" like the other map_* columns.
    map_family = models.CharField(  # noqa: DJ001
        "famille sur la carte", max_length=20, null=True, blank=True, editable=False
    )
    map_commune_id = models.BigIntegerField("commune sur la carte", null=True, blank=True, editable=False)

    objects = StructureQuerySet.as_manager()

    class Meta:
        verbose_name = "structure"
        ordering = ["name"]
        indexes = [
            models.Index(fields=["status", "name"], name="actors_structure_status_name"),
            models.Index(fields=["family"], name="actors_structure_family"),
            # The partial unique constraint below cannot serve "siren IN (...)" lookups on SQLite.
            models.Index(fields=["siren"], name="actors_structure_siren"),
            # Directory search: bounding-box prefilter of the distance filter, "newest" sort.
            models.Index(fields=["latitude", "longitude"], name="actors_structure_lat_lon"),
            models.Index(fields=["status", "created_at"], name="actors_structure_newest"),
            models.Index(fields=["quality_score"], name="actors_structure_quality"),
            # Map: Z-order cell of the structures on the map (any grid cell is one range of it).
            models.Index(
                fields=["map_cell"],
                name="actors_structure_map_cell",
                condition=models.Q(map_cell__isnull=False),
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="actors_structure_name_not_empty",
                violation_error_message="Le nom de la structure est obligatoire.",
            ),
            models.CheckConstraint(
                condition=one_of("family", Family.values),
                name="actors_structure_family_valid",
                violation_error_message="Famille inconnue.",
            ),
            models.CheckConstraint(
                condition=one_of("status", Status.values),
                name="actors_structure_status_valid",
                violation_error_message="État inconnu.",
            ),
            models.CheckConstraint(
                condition=(
                    (models.Q(family=Family.COOPERATIVE) & one_of("cooperative_kind", CooperativeKind.values))
                    | (~models.Q(family=Family.COOPERATIVE) & models.Q(cooperative_kind=""))
                ),
                name="actors_structure_cooperative_kind_consistent",
                violation_error_message=(
                    "Le type de coopérative est obligatoire pour une coopérative et réservé aux coopératives."
                ),
            ),
            models.UniqueConstraint(
                fields=["siren"],
                condition=~models.Q(siren=""),
                name="actors_structure_siren_unique",
                violation_error_message="Une structure porte déjà ce numéro SIREN.",
            ),
            models.CheckConstraint(
                condition=models.Q(siren="") | Exact(Length("siren"), 9),
                name="actors_structure_siren_9_digits",
                violation_error_message="Le SIREN compte 9 chiffres.",
            ),
            models.CheckConstraint(
                condition=models.Q(rna="") | (models.Q(rna__startswith="W") & Exact(Length("rna"), 10)),
                name="actors_structure_rna_format",
                violation_error_message="Le numéro RNA s'écrit W suivi de 9 chiffres.",
            ),
            models.CheckConstraint(
                condition=one_of("headcount_band", ["", *HeadcountBand.values]),
                name="actors_structure_headcount_band_valid",
                violation_error_message="Tranche d'effectifs inconnue.",
            ),
            models.CheckConstraint(
                condition=one_of("origin_source", Source.values),
                name="actors_structure_origin_source_valid",
                violation_error_message="Source inconnue.",
            ),
            models.CheckConstraint(
                condition=one_of("sirene_ess_flag", ["", *SireneEssFlag.values]),
                name="actors_structure_sirene_ess_flag_valid",
                violation_error_message="Indicateur ESS de SIRENE inconnu (O, N ou vide).",
            ),
            models.CheckConstraint(
                condition=point_valid(),
                name="actors_structure_point_valid",
                violation_error_message="Le point doit avoir une latitude et une longitude valides.",
            ),
            models.CheckConstraint(
                condition=models.Q(quality_score__lte=100),
                name="actors_structure_quality_score_max_100",
                violation_error_message="Le score de qualité va de 0 à 100.",
            ),
            models.CheckConstraint(
                condition=~models.Q(merged_into=models.F("id")),
                name="actors_structure_not_merged_into_itself",
                violation_error_message="Une fiche ne peut pas être fusionnée dans elle-même.",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_ess(self) -> bool:
        return self.family in ESS_FAMILIES

    @property
    def point(self) -> tuple[float, float] | None:
        """(latitude, longitude): the structure's own point, else its commune's, else None."""
        if self.latitude is not None and self.longitude is not None:
            return (self.latitude, self.longitude)
        commune = self.commune
        if commune is not None and commune.latitude is not None and commune.longitude is not None:
            return (commune.latitude, commune.longitude)
        return None

    def field_provenances(self) -> list[dict]:
        """Provenance of every filled field: its FieldProvenance row, else the card's origin.

        Each item: {"field", "source", "source_ref", "recorded_at", "verified_by_human"}, sorted by field.
        """
        from essaim.actors.services import EDITABLE_FIELDS, M2M_FIELDS

        rows = {
            row.field: {
                "field": row.field,
                "source": row.source,
                "source_label": row.get_source_display(),
                "source_ref": row.source_ref,
                "recorded_at": row.recorded_at,
                "verified_by_human": row.verified_by_human,
            }
            for row in self.provenances.all()
        }
        for name in self.filled_fields():
            rows.setdefault(
                name,
                {
                    "field": name,
                    "source": self.origin_source,
                    "source_label": self.get_origin_source_display(),
                    "source_ref": self.origin_ref,
                    "recorded_at": self.created_at,
                    "verified_by_human": False,
                },
            )
        known = set(EDITABLE_FIELDS) | set(M2M_FIELDS)
        return [rows[name] for name in sorted(rows) if name in known]

    def filled_fields(self) -> list[str]:
        """Names of the editable fields (and taxonomies) that hold a value."""
        from essaim.actors.services import EDITABLE_FIELDS

        names = [
            name
            for name in EDITABLE_FIELDS
            if getattr(self, f"{name}_id" if name in ("commune", "legal_category") else name)
            not in ("", None, False)
        ]
        if self.pk is not None:
            names += [name for name in ("themes", "labels") if getattr(self, name).exists()]
        return names

    @property
    def qualification(self):
        """The ESS qualification computed from the legal category and SIRENE's ESS flag (see
        ``actors.qualification``), or None without a legal category."""
        from essaim.actors.qualification import qualify

        if self.legal_category_id is None:
            return None
        return qualify(
            legal_category=self.legal_category_id,
            ess_flag=self.sirene_ess_flag or None,
            label=self.legal_category.label,
        )

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


class Establishment(models.Model):
    """An establishment (SIRET) of a structure."""

    siret = models.CharField(
        "SIRET",
        max_length=14,
        unique=True,
        validators=[validate_siret],
        error_messages={"unique": "Un établissement porte déjà ce numéro SIRET."},
    )
    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="establishments"
    )
    name = models.CharField("enseigne", max_length=200, blank=True)
    address = models.CharField("adresse", max_length=300, blank=True)
    commune = models.ForeignKey(
        Commune,
        verbose_name="commune",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="establishments",
    )
    latitude = models.FloatField("latitude", null=True, blank=True)
    longitude = models.FloatField("longitude", null=True, blank=True)
    is_active = models.BooleanField("en activité", default=True)
    is_head_office = models.BooleanField("siège", default=False)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "établissement"
        ordering = ["-is_head_office", "siret"]
        constraints = [
            models.CheckConstraint(
                condition=Exact(Length("siret"), 14),
                name="actors_establishment_siret_14_digits",
                violation_error_message="Le SIRET compte 14 chiffres.",
            ),
            models.UniqueConstraint(
                fields=["structure"],
                condition=models.Q(is_head_office=True),
                name="actors_establishment_one_head_office",
                violation_error_message="Une structure n'a qu'un siège.",
            ),
            models.CheckConstraint(
                condition=point_valid(),
                name="actors_establishment_point_valid",
                violation_error_message="Le point doit avoir une latitude et une longitude valides.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.siret} {self.name or self.structure}"

    @property
    def point(self) -> tuple[float, float] | None:
        if self.latitude is not None and self.longitude is not None:
            return (self.latitude, self.longitude)
        commune = self.commune
        if commune is not None and commune.latitude is not None and commune.longitude is not None:
            return (commune.latitude, commune.longitude)
        return None


class FieldProvenance(models.Model):
    """Where the current value of one field of a structure comes from, and whether a person verified it."""

    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="provenances"
    )
    field = models.CharField("champ", max_length=50)
    source = models.CharField("source", max_length=20, choices=Source.choices)
    source_ref = models.CharField("référence de la source", max_length=200, blank=True)
    recorded_at = models.DateTimeField("date")
    verified_by_human = models.BooleanField("vérifié par une personne", default=False)

    class Meta:
        verbose_name = "provenance d'un champ"
        verbose_name_plural = "provenances des champs"
        ordering = ["structure", "field"]
        constraints = [
            models.UniqueConstraint(
                fields=["structure", "field"],
                name="actors_fieldprovenance_unique",
                violation_error_message="Ce champ a déjà une provenance.",
            ),
            models.CheckConstraint(
                condition=one_of("source", Source.values),
                name="actors_fieldprovenance_source_valid",
                violation_error_message="Source inconnue.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.structure_id}.{self.field} ← {self.get_source_display()}"


class PendingChange(models.Model):
    """A change an import proposed for a field a person verified: kept for review instead of applied."""

    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="pending_changes"
    )
    field = models.CharField("champ", max_length=50)
    old_value = models.TextField("valeur actuelle", blank=True)
    new_value = models.TextField("valeur proposée", blank=True)
    source = models.CharField("source", max_length=20, choices=Source.choices)
    source_ref = models.CharField("référence de la source", max_length=200, blank=True)
    created_at = models.DateTimeField("proposée le")

    class Meta:
        verbose_name = "modification à relire"
        verbose_name_plural = "modifications à relire"
        ordering = ["-created_at"]
        constraints = [
            # One open proposal per field and source: a re-run refreshes it instead of piling up copies.
            models.UniqueConstraint(
                fields=["structure", "field", "source"],
                name="actors_pendingchange_unique",
                violation_error_message="Une modification de ce champ par cette source est déjà à relire.",
            ),
            models.CheckConstraint(
                condition=one_of("source", Source.values),
                name="actors_pendingchange_source_valid",
                violation_error_message="Source inconnue.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.structure_id}.{self.field}: {self.old_value!r} → {self.new_value!r}"


class ImportRun(models.Model):
    """The report of one import run (counts and rejected rows with their reasons)."""

    MAX_REJECTIONS = 1000

    source = models.CharField("source", max_length=20, choices=Source.choices)
    file_name = models.CharField("fichier", max_length=300)
    options = models.JSONField("options", default=dict, blank=True)
    dry_run = models.BooleanField("essai à blanc", default=False)
    started_at = models.DateTimeField("début")
    finished_at = models.DateTimeField("fin", null=True, blank=True)
    rows_read = models.PositiveIntegerField("lignes lues", default=0)
    created = models.PositiveIntegerField("créées", default=0)
    updated = models.PositiveIntegerField("mises à jour", default=0)
    unchanged = models.PositiveIntegerField("inchangées", default=0)
    skipped = models.PositiveIntegerField("écartées par les filtres", default=0)
    rejected = models.PositiveIntegerField("rejetées", default=0)
    pending_changes = models.PositiveIntegerField("modifications à relire", default=0)
    establishments_created = models.PositiveIntegerField("établissements créés", default=0)
    establishments_updated = models.PositiveIntegerField("établissements mis à jour", default=0)
    # [{"line": int, "reason": str}], at most MAX_REJECTIONS (``rejected`` keeps the full count).
    rejections = models.JSONField("lignes rejetées", default=list, blank=True)
    # Tabular and data·inclusion imports: [{"line", "name", "action", "fields", "problems"}], at most
    # MAX_REJECTIONS rows (what each row did or would do, and what is wrong in it, field by field).
    rows = models.JSONField("détail par ligne", default=list, blank=True)
    import_source = models.ForeignKey(
        "ImportSource",
        verbose_name="source d'import",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="runs",
    )
    error = models.TextField("erreur", blank=True)

    class Meta:
        verbose_name = "import"
        ordering = ["-started_at"]
        constraints = [
            models.CheckConstraint(
                condition=one_of("source", Source.values),
                name="actors_importrun_source_valid",
                violation_error_message="Source inconnue.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_source_display()} {self.file_name} ({self.started_at:%Y-%m-%d %H:%M})"


class DuplicateDismissal(models.Model):
    """A pair of structures a facilitator declared "not a duplicate", so it is not proposed again.

    The pair is stored ordered (``first_id < second_id``) so that (A, B) and (B, A) are the same row.
    """

    first = models.ForeignKey(
        Structure, verbose_name="première fiche", on_delete=models.CASCADE, related_name="+"
    )
    second = models.ForeignKey(
        Structure, verbose_name="seconde fiche", on_delete=models.CASCADE, related_name="+"
    )
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="décidé par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("le", auto_now_add=True)

    class Meta:
        verbose_name = "paire écartée des doublons"
        verbose_name_plural = "paires écartées des doublons"
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["first", "second"],
                name="actors_duplicatedismissal_unique",
                violation_error_message="Cette paire de fiches est déjà marquée « pas un doublon ».",
            ),
            models.CheckConstraint(
                condition=models.Q(first__lt=models.F("second")),
                name="actors_duplicatedismissal_ordered",
                violation_error_message="Une paire écartée relie deux fiches différentes, dans l'ordre.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ≠ {self.second_id}"


# -- Self-service and moderation: versions, claims, proposed revisions ---------------------------------------


class VersionKind(models.TextChoices):
    CREATED = "created", "Création"
    UPDATED = "updated", "Modification"
    STATUS = "status", "Changement d'état"
    MODERATED = "moderated", "Proposition acceptée"
    RESTORED = "restored", "Restauration"
    MERGED = "merged", "Fusion"
    IMPORTED = "imported", "Import"


class StructureVersion(models.Model):
    """One applied change of a structure card: per field, the stored value before and after (JSON).

    ``changes`` is ``{field: {"old": value, "new": value}}`` with foreign keys as primary keys, dates as ISO
    strings and taxonomies as sorted lists of primary keys (see ``actors.history``).
    """

    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="versions"
    )
    kind = models.CharField("nature", max_length=20, choices=VersionKind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    source = models.CharField("source", max_length=20, choices=Source.choices)
    source_ref = models.CharField("référence de la source", max_length=200, blank=True)
    note = models.CharField("remarque", max_length=300, blank=True)
    changes = models.JSONField("modifications", default=dict)
    created_at = models.DateTimeField("le", auto_now_add=True)

    class Meta:
        verbose_name = "version d'une fiche"
        verbose_name_plural = "versions des fiches"
        ordering = ["-pk"]
        indexes = [models.Index(fields=["structure", "-id"], name="actors_version_structure")]
        constraints = [
            models.CheckConstraint(
                condition=one_of("kind", VersionKind.values),
                name="actors_structureversion_kind_valid",
                violation_error_message="Nature de version inconnue.",
            ),
            models.CheckConstraint(
                condition=one_of("source", Source.values),
                name="actors_structureversion_source_valid",
                violation_error_message="Source inconnue.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.structure_id} v{self.pk} ({self.get_kind_display()})"


class ClaimStatus(models.TextChoices):
    OPEN = "open", "En attente"
    APPROVED = "approved", "Acceptée"
    REJECTED = "rejected", "Refusée"


class StructureClaim(models.Model):
    """A request to be recognised as a member of a structure ("Je fais partie de cette structure")."""

    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="claims"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="personne", on_delete=models.CASCADE, related_name="claims"
    )
    message = models.TextField("message", blank=True)
    status = models.CharField("état", max_length=20, choices=ClaimStatus.choices, default=ClaimStatus.OPEN)
    auto_approved = models.BooleanField("acceptée automatiquement", default=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="décidée par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
    reason = models.TextField("motif", blank=True)
    created_at = models.DateTimeField("demandée le", auto_now_add=True)

    class Meta:
        verbose_name = "demande de rattachement"
        verbose_name_plural = "demandes de rattachement"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "structure"],
                condition=models.Q(status="open"),
                name="actors_structureclaim_one_open",
                violation_error_message="Vous avez déjà une demande en attente pour cette structure.",
            ),
            models.CheckConstraint(
                condition=one_of("status", ClaimStatus.values),
                name="actors_structureclaim_status_valid",
                violation_error_message="État de demande inconnu.",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected", reason=""),
                name="actors_structureclaim_rejection_reason",
                violation_error_message="Un refus doit être motivé.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.structure} ({self.get_status_display()})"


class RevisionStatus(models.TextChoices):
    PENDING = "pending", "À relire"
    APPROVED = "approved", "Acceptée"
    PARTIAL = "partial", "Acceptée en partie"
    REJECTED = "rejected", "Refusée"


class StructureRevision(models.Model):
    """Changes a member proposed to a published card, kept for a facilitator's review.

    ``changes`` is ``{field: {"old": value, "new": value}}`` (stored values, see ``actors.history``): "old" is
    the value when the change was proposed.
    """

    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="revisions"
    )
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="proposée par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="structure_revisions",
    )
    changes = models.JSONField("modifications proposées", default=dict)
    status = models.CharField(
        "état", max_length=20, choices=RevisionStatus.choices, default=RevisionStatus.PENDING
    )
    applied_fields = models.JSONField("champs acceptés", default=list, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="décidée par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    decided_at = models.DateTimeField("décidée le", null=True, blank=True)
    reason = models.TextField("motif", blank=True)
    created_at = models.DateTimeField("proposée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    class Meta:
        verbose_name = "proposition de modification"
        verbose_name_plural = "propositions de modification"
        ordering = ["-created_at", "-pk"]
        constraints = [
            # A second edit by the same person refreshes the open proposal instead of piling up copies.
            models.UniqueConstraint(
                fields=["structure", "proposed_by"],
                condition=models.Q(status="pending"),
                name="actors_structurerevision_one_pending",
                violation_error_message="Une proposition de cette personne est déjà à relire.",
            ),
            models.CheckConstraint(
                condition=one_of("status", RevisionStatus.values),
                name="actors_structurerevision_status_valid",
                violation_error_message="État de proposition inconnu.",
            ),
            models.CheckConstraint(
                condition=~models.Q(status="rejected", reason=""),
                name="actors_structurerevision_rejection_reason",
                violation_error_message="Un refus doit être motivé.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.structure} — proposition n° {self.pk} ({self.get_status_display()})"


class ImportSourceKind(models.TextChoices):
    TABLE = "table", "Tableau (CSV ou XLSX)"
    DATAINCLUSION = "datainclusion", "data·inclusion (JSON)"


class ImportSource(models.Model):
    """A named source of tabular or data·inclusion imports, with its remembered column mapping.

    ``mapping`` is {card field: column header}; ``key_column`` is the column holding the source's own
    identifier of a row (re-imports find their card through it, see ``ImportedRecord``).
    """

    name = models.CharField(
        "nom",
        max_length=150,
        unique=True,
        error_messages={"unique": "Une source d'import porte déjà ce nom."},
    )
    kind = models.CharField(
        "type", max_length=20, choices=ImportSourceKind.choices, default=ImportSourceKind.TABLE
    )
    mapping = models.JSONField("correspondance des colonnes", default=dict, blank=True)
    key_column = models.CharField("colonne identifiant", max_length=200, blank=True)
    default_family = models.CharField(
        "famille par défaut", max_length=20, choices=Family.choices, default=Family.ASSOCIATION
    )
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)

    class Meta:
        verbose_name = "source d'import"
        verbose_name_plural = "sources d'import"
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(name=""),
                name="actors_importsource_name_not_empty",
                violation_error_message="Le nom de la source est obligatoire.",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=ImportSourceKind.values),
                name="actors_importsource_kind_valid",
                violation_error_message="Type de source inconnu.",
            ),
            models.CheckConstraint(
                condition=models.Q(default_family__in=Family.values),
                name="actors_importsource_default_family_valid",
                violation_error_message="Famille inconnue.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class ImportedRecord(models.Model):
    """The card a row of an import source became: re-running the import updates it instead of duplicating."""

    source = models.ForeignKey(
        ImportSource, verbose_name="source", on_delete=models.CASCADE, related_name="records"
    )
    external_id = models.CharField("identifiant dans la source", max_length=200)
    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="imported_records"
    )
    updated_at = models.DateTimeField("importée le", auto_now=True)

    class Meta:
        verbose_name = "ligne importée"
        verbose_name_plural = "lignes importées"
        ordering = ["source", "external_id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                name="actors_importedrecord_unique",
                violation_error_message="Cet identifiant de la source est déjà relié à une fiche.",
            ),
            models.CheckConstraint(
                condition=~models.Q(external_id=""),
                name="actors_importedrecord_external_id_not_empty",
                violation_error_message="L'identifiant dans la source est obligatoire.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id}:{self.external_id} → {self.structure_id}"


class ImportUploadState(models.TextChoices):
    UPLOADED = "uploaded", "Fichier déposé"
    CHECKED = "checked", "Essai à blanc fait"
    QUEUED = "queued", "En attente"
    RUNNING = "running", "En cours"
    DONE = "done", "Terminé"
    FAILED = "failed", "Échec"


class ImportUpload(models.Model):
    """A file a facilitator uploaded for import, through the web steps: mapping, dry run, run.

    The file sits under a private directory of MEDIA_ROOT (never served) and is deleted after the run.
    """

    source = models.ForeignKey(
        ImportSource, verbose_name="source", on_delete=models.PROTECT, related_name="uploads"
    )
    file_path = models.CharField("fichier stocké", max_length=300)
    original_name = models.CharField("nom du fichier", max_length=300)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="déposé par",
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    state = models.CharField(
        "état", max_length=20, choices=ImportUploadState.choices, default=ImportUploadState.UPLOADED
    )
    rows_total = models.PositiveIntegerField("lignes à importer", default=0)
    rows_done = models.PositiveIntegerField("lignes traitées", default=0)
    dry_run = models.ForeignKey(
        ImportRun,
        verbose_name="essai à blanc",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    run = models.ForeignKey(
        ImportRun, verbose_name="import", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    error = models.TextField("erreur", blank=True)
    created_at = models.DateTimeField("déposé le", auto_now_add=True)

    class Meta:
        verbose_name = "fichier à importer"
        verbose_name_plural = "fichiers à importer"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(state__in=ImportUploadState.values),
                name="actors_importupload_state_valid",
                violation_error_message="État inconnu.",
            ),
            models.CheckConstraint(
                condition=models.Q(rows_done__lte=models.F("rows_total")),
                name="actors_importupload_progress_valid",
                violation_error_message="Plus de lignes traitées que de lignes à importer.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.original_name} ({self.get_state_display()})"

    @property
    def percent(self) -> int:
        if not self.rows_total:
            return 100 if self.state == ImportUploadState.DONE else 0
        return min(100, round(100 * self.rows_done / self.rows_total))


# -- Freshness loop: yearly "still accurate?" reminders ------------------------------------------------------


class FreshnessReminder(models.Model):
    """One "is this card still accurate?" reminder about a structure (see ``actors.freshness``).

    Its signed link confirms the card once: ``used_at`` is set then. A row with no recipient records that
    nobody could be written to (everybody unsubscribed), so the card is not picked again every day.
    """

    structure = models.ForeignKey(
        Structure, verbose_name="structure", on_delete=models.CASCADE, related_name="freshness_reminders"
    )
    sent_at = models.DateTimeField("envoyé le")
    # A count, not the addresses: the reminder log keeps no personal data.
    recipient_count = models.PositiveSmallIntegerField("nombre de destinataires", default=0)
    used_at = models.DateTimeField("lien utilisé le", null=True, blank=True)

    class Meta:
        verbose_name = "rappel d'actualisation"
        verbose_name_plural = "rappels d'actualisation"
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["structure", "-sent_at"], name="actors_freshness_structure")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(used_at__isnull=True) | models.Q(used_at__gte=models.F("sent_at")),
                name="actors_freshnessreminder_used_after_sent",
                violation_error_message="Un lien ne peut pas être utilisé avant l'envoi du rappel.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.structure_id} ({self.sent_at:%Y-%m-%d})"


class FreshnessOptOut(models.Model):
    """An address that asked to receive no more freshness reminders (one-click unsubscribe link)."""

    email = models.EmailField(
        "adresse électronique",
        unique=True,
        error_messages={"unique": "Cette adresse est déjà désinscrite des rappels."},
    )
    created_at = models.DateTimeField("désinscrite le", auto_now_add=True)

    class Meta:
        verbose_name = "désinscription des rappels d'actualisation"
        verbose_name_plural = "désinscriptions des rappels d'actualisation"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(email=Lower("email")),
                name="actors_freshnessoptout_email_lowercase",
                violation_error_message="L'adresse doit être enregistrée en minuscules.",
            ),
        ]

    def __str__(self) -> str:
        return self.email


class MapCell(models.Model):
    """Precomputed map aggregate: the published structures of one ``family`` in one grid cell of ``level``
    (cells of 90/2^level degrees, ``code`` = Z-order index of the cell). Kept by ``actors.geo`` only."""

    level = models.PositiveSmallIntegerField("niveau")
    code = models.BigIntegerField("cellule")
    family = models.CharField("famille", max_length=20)
    count = models.IntegerField("nombre")
    sum_lat = models.FloatField("somme des latitudes")
    sum_lon = models.FloatField("somme des longitudes")
    # Extent of the structures; it only grows until the next ``map_reindex`` (a minimum cannot be undone).
    west = models.FloatField("ouest")
    south = models.FloatField("sud")
    east = models.FloatField("est")
    north = models.FloatField("nord")
    # Sums that answer exactly "which structure" (count 1) and "all in one commune?" without a lookup.
    sum_id = models.BigIntegerField("somme des identifiants")
    commune_count = models.IntegerField("nombre avec commune")
    sum_commune = models.BigIntegerField("somme des communes")
    sum_commune_sq = models.BigIntegerField("somme des carrés des communes")

    class Meta:
        verbose_name = "cellule de carte"
        verbose_name_plural = "cellules de carte"
        constraints = [
            models.UniqueConstraint(
                fields=["level", "code", "family"],
                name="actors_mapcell_unique",
                violation_error_message="Cette cellule de carte existe déjà.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.level}/{self.code}/{self.family}: {self.count}"
