"""Participatory workshops ("ateliers"): consultations with items voted on with green/red dots, online or
on paper, post-it comments, working groups and their action proposals."""

from django.conf import settings
from django.db import models
from django.db.models import Count, Q, Value
from django.db.models.functions import Coalesce


class Phase(models.TextChoices):
    PREPARATION = "preparation", "En préparation"
    OPEN = "open", "Ouverte (votes et commentaires)"
    CLOSED = "closed", "Close"
    PUBLISHED = "published", "Synthèse publiée"


# Phases only move forward: a closed consultation is never reopened, so its results stay as they were.
PHASE_TRANSITIONS: dict[str, frozenset[str]] = {
    Phase.PREPARATION: frozenset({Phase.OPEN}),
    Phase.OPEN: frozenset({Phase.CLOSED}),
    Phase.CLOSED: frozenset({Phase.PUBLISHED}),
    Phase.PUBLISHED: frozenset(),
}


class Colour(models.TextChoices):
    GREEN = "green", "Vert (d'accord)"
    RED = "red", "Rouge (pas d'accord)"


class ItemStatus(models.TextChoices):
    PROPOSED = "proposed", "Proposé, à modérer"
    ACCEPTED = "accepted", "Retenu"
    MERGED = "merged", "Fusionné"
    REJECTED = "rejected", "Écarté"


class CommentCategory(models.TextChoices):
    REMARK = "remarque", "Remarque"
    QUESTION = "question", "Question"
    PROPOSAL = "proposition", "Proposition"


class CommentState(models.TextChoices):
    PENDING = "pending", "En attente de modération"
    VISIBLE = "visible", "Visible"
    HIDDEN = "hidden", "Masqué"


class ConsultationQuerySet(models.QuerySet):
    def in_phase(self, *phases: str):
        return self.filter(phase__in=phases)

    def public(self):
        """Consultations anyone may see: every phase but preparation."""
        return self.exclude(phase=Phase.PREPARATION)

    def managed_by(self, user):
        if not getattr(user, "is_authenticated", False) or not user.is_active:
            return self.none()
        if user.is_platform_admin:
            return self
        return self.filter(owner=user)


class Consultation(models.Model):
    title = models.CharField("titre", max_length=200)
    slug = models.SlugField("adresse", max_length=80, unique=True)
    description = models.TextField("description", blank=True)
    held_on = models.DateField("date de la rencontre", null=True, blank=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="animateur·rice",
        on_delete=models.PROTECT,
        related_name="consultations",
    )
    structure = models.ForeignKey(
        "actors.Structure",
        verbose_name="structure organisatrice",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consultations",
    )
    # The agenda event where the workshop takes place (e.g. a "bouillon de territoire"), when there is one.
    event = models.ForeignKey(
        "events.Event",
        verbose_name="événement de l'agenda",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="consultations",
    )
    phase = models.CharField("phase", max_length=20, choices=Phase.choices, default=Phase.PREPARATION)
    # Dot budget of each participant; NULL means "no limit" for that count.
    green_limit = models.PositiveSmallIntegerField("gommettes vertes au plus", null=True, blank=True)
    red_limit = models.PositiveSmallIntegerField("gommettes rouges au plus", null=True, blank=True, default=2)
    total_limit = models.PositiveSmallIntegerField("gommettes au total au plus", null=True, blank=True)
    premoderate_comments = models.BooleanField("commentaires relus avant affichage", default=False)
    created_at = models.DateTimeField("créée le", auto_now_add=True)
    updated_at = models.DateTimeField("modifiée le", auto_now=True)
    phase_changed_at = models.DateTimeField("phase changée le", null=True, blank=True)

    objects = ConsultationQuerySet.as_manager()

    class Meta:
        verbose_name = "consultation"
        verbose_name_plural = "consultations"
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(phase__in=Phase.values),
                name="workshops_consultation_phase_valid",
                violation_error_message="Phase inconnue.",
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def budget_label(self) -> str:
        parts = []
        if self.total_limit is not None:
            parts.append(f"{self.total_limit} gommette{'s' if self.total_limit > 1 else ''} au total")
        green = "vertes illimitées" if self.green_limit is None else f"{self.green_limit} verte(s) au plus"
        red = "rouges illimitées" if self.red_limit is None else f"{self.red_limit} rouge(s) au plus"
        parts += [green, red, "une gommette de chaque couleur par besoin"]
        return ", ".join(parts)


class ItemQuerySet(models.QuerySet):
    def votable(self):
        return self.filter(status=Item.Status.ACCEPTED)

    def in_order(self):
        return self.order_by("order", "pk")

    def with_totals(self):
        """Annotate green/red counts of online votes and of the paper tally (one query, one join each)."""
        return self.annotate(
            green_online=Count("votes", filter=Q(votes__colour=Colour.GREEN)),
            red_online=Count("votes", filter=Q(votes__colour=Colour.RED)),
            green_paper=Coalesce("paper_tally__green", Value(0)),
            red_paper=Coalesce("paper_tally__red", Value(0)),
        )


class Item(models.Model):
    """A need ("besoin") or any question put to the participants."""

    Status = ItemStatus

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="items")
    title = models.CharField("intitulé", max_length=255)
    description = models.TextField("précisions", blank=True)
    order = models.PositiveIntegerField("ordre", default=0)
    parent = models.ForeignKey(
        "self",
        verbose_name="rattaché à",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="children",
    )
    merged_into = models.ForeignKey(
        "self",
        verbose_name="fusionné dans",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    status = models.CharField("état", max_length=20, choices=ItemStatus.choices, default=ItemStatus.ACCEPTED)
    # Proposed by participants during the session (rather than identified beforehand): listed apart.
    proposed_in_room = models.BooleanField("proposé pendant la rencontre", default=False)
    proposed_by = models.ForeignKey(
        "Participant", on_delete=models.SET_NULL, null=True, blank=True, related_name="proposed_items"
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    objects = ItemQuerySet.as_manager()

    class Meta:
        verbose_name = "besoin"
        verbose_name_plural = "besoins"
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=ItemStatus.values),
                name="workshops_item_status_valid",
                violation_error_message="État de besoin inconnu.",
            ),
            models.CheckConstraint(
                condition=Q(status=ItemStatus.MERGED, merged_into__isnull=False)
                | (~Q(status=ItemStatus.MERGED) & Q(merged_into__isnull=True)),
                name="workshops_item_merged_has_target",
                violation_error_message="Un besoin fusionné doit indiquer le besoin qui l'absorbe.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ParticipantQuerySet(models.QuerySet):
    def room_codes(self):
        return self.filter(user__isnull=True)


class Participant(models.Model):
    """Someone taking part: a logged-in user, or an anonymous person who entered a one-time room code."""

    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="participants")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="workshop_participations",
    )
    room_code = models.CharField("code de salle", max_length=12, null=True, blank=True, unique=True)
    claimed_at = models.DateTimeField("code utilisé le", null=True, blank=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)

    objects = ParticipantQuerySet.as_manager()

    class Meta:
        verbose_name = "participant·e"
        verbose_name_plural = "participant·es"
        constraints = [
            models.CheckConstraint(
                condition=Q(user__isnull=False, room_code__isnull=True)
                | Q(user__isnull=True, room_code__isnull=False),
                name="workshops_participant_user_or_code",
                violation_error_message="Un·e participant·e est soit un compte, soit un code de salle.",
            ),
            models.UniqueConstraint(
                fields=["consultation", "user"],
                name="workshops_participant_unique_user",
                violation_error_message="Ce compte participe déjà à cette consultation.",
            ),
        ]

    def __str__(self) -> str:
        if self.user_id:
            return str(self.user)
        return f"Participant·e {self.pk}"


class Vote(models.Model):
    participant = models.ForeignKey(Participant, on_delete=models.CASCADE, related_name="votes")
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="votes")
    colour = models.CharField("couleur", max_length=10, choices=Colour.choices)
    created_at = models.DateTimeField("posée le", auto_now_add=True)

    class Meta:
        verbose_name = "gommette"
        verbose_name_plural = "gommettes"
        constraints = [
            models.UniqueConstraint(
                fields=["participant", "item", "colour"],
                name="workshops_vote_one_per_colour",
                violation_error_message="Une seule gommette de chaque couleur par besoin.",
            ),
            models.CheckConstraint(
                condition=Q(colour__in=Colour.values),
                name="workshops_vote_colour_valid",
                violation_error_message="Couleur inconnue.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_colour_display()} — {self.item}"


class PaperTally(models.Model):
    """Dots counted on the paper boards of the room ("saisie papier"), entered by a facilitator."""

    item = models.OneToOneField(Item, on_delete=models.CASCADE, related_name="paper_tally")
    green = models.PositiveIntegerField("gommettes vertes", default=0)
    red = models.PositiveIntegerField("gommettes rouges", default=0)
    entered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    entered_at = models.DateTimeField("saisi le")

    class Meta:
        verbose_name = "saisie papier"
        verbose_name_plural = "saisies papier"

    def __str__(self) -> str:
        return f"{self.item} : {self.green} vertes, {self.red} rouges"


class CommentQuerySet(models.QuerySet):
    def visible(self):
        return self.filter(state=CommentState.VISIBLE)

    def newest_first(self):
        return self.order_by("-created_at", "-pk")


class Comment(models.Model):
    """A post-it stuck on an item."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="comments")
    participant = models.ForeignKey(
        Participant, on_delete=models.SET_NULL, null=True, blank=True, related_name="comments"
    )
    text = models.TextField("texte", max_length=1000)
    category = models.CharField(
        "catégorie", max_length=20, choices=CommentCategory.choices, default=CommentCategory.REMARK
    )
    state = models.CharField("modération", max_length=20, choices=CommentState.choices)
    order = models.PositiveIntegerField("ordre", default=0)
    created_at = models.DateTimeField("écrit le", auto_now_add=True)

    objects = CommentQuerySet.as_manager()

    class Meta:
        verbose_name = "commentaire"
        verbose_name_plural = "commentaires"
        constraints = [
            models.CheckConstraint(
                condition=Q(category__in=CommentCategory.values) & Q(state__in=CommentState.values),
                name="workshops_comment_choices_valid",
                violation_error_message="Catégorie ou état de commentaire inconnu.",
            ),
            models.CheckConstraint(
                condition=~Q(text=""),
                name="workshops_comment_not_empty",
                violation_error_message="Le commentaire est vide.",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]


class Tag(models.Model):
    """A theme a proposal belongs to (mutualisation, coopération économique, sensibilisation...)."""

    name = models.CharField("thème", max_length=80, unique=True)

    class Meta:
        verbose_name = "thème"
        verbose_name_plural = "thèmes"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class WorkingGroup(models.Model):
    consultation = models.ForeignKey(Consultation, on_delete=models.CASCADE, related_name="groups")
    number = models.PositiveSmallIntegerField("numéro")
    name = models.CharField("nom", max_length=120, blank=True)
    members = models.ManyToManyField(Participant, verbose_name="membres", related_name="groups", blank=True)
    rapporteur = models.ForeignKey(
        Participant,
        verbose_name="rapporteur·e",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="reported_groups",
    )

    class Meta:
        verbose_name = "groupe de travail"
        verbose_name_plural = "groupes de travail"
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["consultation", "number"],
                name="workshops_group_unique_number",
                violation_error_message="Ce numéro de groupe existe déjà.",
            ),
        ]

    def __str__(self) -> str:
        return self.name or f"Groupe {self.number}"

    @property
    def label(self) -> str:
        return f"Groupe {self.number}" + (f" — {self.name}" if self.name else "")


class Proposal(models.Model):
    """An action proposal reported by a working group, linked to the items it answers."""

    group = models.ForeignKey(WorkingGroup, on_delete=models.CASCADE, related_name="proposals")
    text = models.TextField("proposition", max_length=2000)
    order = models.PositiveIntegerField("ordre", default=0)
    items = models.ManyToManyField(
        Item, verbose_name="besoins concernés", related_name="proposals", blank=True
    )
    tags = models.ManyToManyField(Tag, verbose_name="thèmes", related_name="proposals", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField("saisie le", auto_now_add=True)

    class Meta:
        verbose_name = "proposition d'action"
        verbose_name_plural = "propositions d'action"
        ordering = ["order", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(text=""),
                name="workshops_proposal_not_empty",
                violation_error_message="La proposition est vide.",
            ),
        ]

    def __str__(self) -> str:
        return self.text[:60]
