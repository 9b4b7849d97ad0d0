"""French administrative territories (COG) and perimeters made of communes.

Régions, départements and EPCI are referenced by their official code (``to_field="code"``) so that a commune
knows its département code without a join (``str(commune)`` never queries) and loads can upsert by code.
"""

from django.db import models
from django.db.models import Case, Exists, IntegerField, OuterRef, Value, When

from essaim.core.text import normalize

# Common abbreviations people type in a commune search box, expanded before matching.
_SEARCH_ABBREVIATIONS = {"st": "saint", "ste": "sainte", "sts": "saints", "stes": "saintes"}
SEARCH_MIN_LENGTH = 2
SEARCH_DEFAULT_LIMIT = 10


def search_text_normalize(text: str) -> str:
    """Normalise user input like stored ``search_name`` values ("St-Étienne " -> "saint etienne")."""
    words = normalize(text).split()
    return " ".join(_SEARCH_ABBREVIATIONS.get(word, word) for word in words)


class Region(models.Model):
    code = models.CharField("code INSEE", max_length=3, unique=True)
    name = models.CharField("nom", max_length=100)

    class Meta:
        verbose_name = "région"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Departement(models.Model):
    code = models.CharField("code INSEE", max_length=3, unique=True)
    name = models.CharField("nom", max_length=100)
    region = models.ForeignKey(
        Region,
        verbose_name="région",
        to_field="code",
        on_delete=models.PROTECT,
        related_name="departements",
    )

    class Meta:
        verbose_name = "département"
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Epci(models.Model):
    code = models.CharField("SIREN", max_length=9, unique=True)
    name = models.CharField("nom", max_length=200)
    kind = models.CharField("nature", max_length=10, help_text="CC, CA, CU, METRO, MET69")
    population = models.PositiveIntegerField("population", null=True, blank=True)

    class Meta:
        verbose_name = "EPCI"
        verbose_name_plural = "EPCI"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class CommuneQuerySet(models.QuerySet):
    def in_perimeter(self, perimeter: "Perimeter | int") -> "CommuneQuerySet":
        """Communes of ``perimeter`` (an instance or a primary key): one indexed join."""
        perimeter_id = perimeter.pk if isinstance(perimeter, Perimeter) else perimeter
        return self.filter(perimeter_links__perimeter_id=perimeter_id)

    def with_point(self) -> "CommuneQuerySet":
        return self.filter(latitude__isnull=False)

    def best_match(self, text: str) -> "Commune | None":
        """The commune whose INSEE code is ``text``, else the best ``search`` match; None if none is."""
        text = text.strip()
        if not text:
            return None
        return self.filter(code=text.upper()).first() or self.search(text, limit=1).first()

    def search(self, text: str, *, limit: int | None = SEARCH_DEFAULT_LIMIT) -> "CommuneQuerySet":
        """Autocomplete by name or postal code, insensitive to accents, case, hyphens and "st"/"ste".

        Ranking: exact name or postal code, then name prefix, then prefix of a word of the name, then any
        other match (all typed words found in the name, in any order); ties are broken by population
        (largest first). Digits select by postal code (prefix); words and digits can be mixed
        ("31520 ramonville").
        Returns an empty QuerySet when the input is shorter than 2 useful characters.
        """
        query = search_text_normalize(text)
        words = [word for word in query.split() if not word.isdigit()]
        digits = [word for word in query.split() if word.isdigit()]
        phrase = " ".join(words)
        if len(query.replace(" ", "")) < SEARCH_MIN_LENGTH or len(digits) > 1:
            return self.none()
        qs = self
        rank_whens = []
        if digits:
            number = digits[0]
            # The subquery walks the postal code index instead of testing every commune.
            by_postal = PostalCode.objects.filter(code__startswith=number).values("commune_id")
            qs = qs.filter(pk__in=by_postal).annotate(
                _postal_exact=Exists(PostalCode.objects.filter(commune_id=OuterRef("pk"), code=number))
            )
            if not phrase:
                rank_whens = [When(_postal_exact=True, then=Value(0))]
        if phrase:
            # A phrase match anywhere, or every typed word found at the start of a word of the name.
            # Every typed word somewhere in the name, in any order (a phrase match is a special case).
            for word in words:
                qs = qs.filter(search_name__contains=word)
            rank_whens = [
                When(search_name=phrase, then=Value(0)),
                When(search_name__startswith=phrase, then=Value(1)),
                When(search_name__contains=f" {phrase}", then=Value(2)),
            ]
        qs = qs.annotate(search_rank=Case(*rank_whens, default=Value(3), output_field=IntegerField()))
        qs = qs.order_by("search_rank", models.F("population").desc(nulls_last=True), "name", "code")
        return qs[:limit] if limit else qs


class Commune(models.Model):
    code = models.CharField("code INSEE", max_length=5, unique=True)
    name = models.CharField("nom", max_length=100)
    search_name = models.CharField("nom normalisé", max_length=100, editable=False)
    departement = models.ForeignKey(
        Departement,
        verbose_name="département",
        to_field="code",
        on_delete=models.PROTECT,
        related_name="communes",
    )
    epci = models.ForeignKey(
        Epci,
        verbose_name="EPCI",
        to_field="code",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="communes",
    )
    population = models.PositiveIntegerField("population", null=True, blank=True)
    latitude = models.FloatField(null=True, blank=True)
    longitude = models.FloatField(null=True, blank=True)

    objects = CommuneQuerySet.as_manager()

    class Meta:
        verbose_name = "commune"
        ordering = ["name"]
        indexes = [
            # Prefix searches (LIKE 'x%') can use this index on PostgreSQL; SQLite ignores opclasses.
            models.Index(
                fields=["search_name"], name="territories_commune_search", opclasses=["varchar_pattern_ops"]
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(latitude__isnull=True, longitude__isnull=True)
                | models.Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="territories_commune_point_valid",
                violation_error_message=(
                    "Coordonnées invalides : latitude et longitude vont ensemble "
                    "et doivent être dans les bornes."
                ),
            ),
        ]

    def __str__(self) -> str:
        # departement_id holds the département code (to_field), so no query is needed.
        return f"{self.name} ({self.departement_id})"


class PostalCode(models.Model):
    code = models.CharField("code postal", max_length=5, db_index=True)
    commune = models.ForeignKey(Commune, on_delete=models.CASCADE, related_name="postal_codes")

    class Meta:
        verbose_name = "code postal"
        verbose_name_plural = "codes postaux"
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(fields=["code", "commune"], name="territories_postalcode_unique"),
        ]

    def __str__(self) -> str:
        return self.code


class PerimeterKind(models.TextChoices):
    REGION = "region", "Région"
    DEPARTEMENT = "departement", "Département"
    EPCI = "epci", "EPCI"
    CUSTOM = "custom", "Territoire de projet"


class PerimeterQuerySet(models.QuerySet):
    def containing(self, commune: Commune | int) -> "PerimeterQuerySet":
        """Perimeters that contain ``commune`` (an instance or a primary key): one indexed join."""
        commune_id = commune.pk if isinstance(commune, Commune) else commune
        return self.filter(commune_links__commune_id=commune_id)

    def home(self) -> "PerimeterQuerySet":
        return self.filter(is_home=True)


class Perimeter(models.Model):
    """A named territory made of communes (an EPCI, a département, or a custom "pays")."""

    name = models.CharField("nom", max_length=200)
    slug = models.SlugField("identifiant", max_length=100, unique=True)
    kind = models.CharField("type", max_length=20, choices=PerimeterKind.choices)
    description = models.TextField("description", blank=True)
    is_home = models.BooleanField(
        "territoire d'action",
        default=False,
        help_text="Le territoire d'action de l'instance pré-filtre les pages publiques.",
    )
    # The units the commune set was built from, so it can be rebuilt after a COG update.
    definition = models.JSONField("définition", default=dict, blank=True, editable=False)
    communes = models.ManyToManyField(
        Commune, through="PerimeterCommune", related_name="perimeters", verbose_name="communes"
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    objects = PerimeterQuerySet.as_manager()

    class Meta:
        verbose_name = "périmètre"
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_home"],
                condition=models.Q(is_home=True),
                name="territories_perimeter_single_home",
                violation_error_message="Un seul périmètre peut être le territoire d'action de l'instance.",
            ),
            models.CheckConstraint(
                condition=models.Q(kind__in=PerimeterKind.values),
                name="territories_perimeter_kind_valid",
                violation_error_message="Type de périmètre inconnu.",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class PerimeterCommune(models.Model):
    perimeter = models.ForeignKey(
        Perimeter, on_delete=models.CASCADE, related_name="commune_links", db_index=False
    )
    commune = models.ForeignKey(
        Commune, on_delete=models.CASCADE, related_name="perimeter_links", db_index=False
    )

    class Meta:
        verbose_name = "commune d'un périmètre"
        verbose_name_plural = "communes des périmètres"
        constraints = [
            # Also the index for "communes of a perimeter".
            models.UniqueConstraint(
                fields=["perimeter", "commune"],
                name="territories_perimetercommune_unique",
                violation_error_message="Cette commune fait déjà partie de ce périmètre.",
            ),
        ]
        indexes = [
            # "Perimeters containing a commune".
            models.Index(fields=["commune", "perimeter"], name="territories_percom_commune"),
        ]

    def __str__(self) -> str:
        return f"{self.perimeter_id} → {self.commune_id}"
