"""ESS events (agenda), their programmes, sessions, participant categories, registrations and attendance."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone

from essaim.actors.models import Structure, Theme
from essaim.territories.models import Commune, PerimeterCommune


def one_of(field: str, values) -> Q:
    condition = Q()
    for value in values:
        condition |= Q(**{field: value})
    return condition


class Kind(models.TextChoices):
    RENCONTRE = "rencontre", "Rencontre"
    ATELIER = "atelier", "Atelier"
    VISITE = "visite", "Visite apprenante"
    CONFERENCE = "conference", "Conférence"
    FORMATION = "formation", "Formation"
    FORUM = "forum", "Forum"
    CAFE = "cafe", "Café"
    SEMINAIRE = "seminaire", "Séminaire"
    FETE = "fete", "Fête"
    OTHER = "autre", "Autre"


class Visibility(models.TextChoices):
    PUBLIC = "public", "Public"
    MEMBERS = "members", "Réservé aux membres"


class EventStatus(models.TextChoices):
    DRAFT = "draft", "Brouillon"
    PENDING = "pending", "En attente de relecture"
    PUBLISHED = "published", "Publié"
    CANCELLED = "cancelled", "Annulé"
    ARCHIVED = "archived", "Archivé"


# Allowed status changes (from -> to). A cancelled event stays visible (people must learn it is cancelled).
EVENT_TRANSITIONS: dict[str, frozenset[str]] = {
    EventStatus.DRAFT: frozenset({EventStatus.PENDING, EventStatus.PUBLISHED, EventStatus.ARCHIVED}),
    EventStatus.PENDING: frozenset({EventStatus.DRAFT, EventStatus.PUBLISHED, EventStatus.ARCHIVED}),
    EventStatus.PUBLISHED: frozenset({EventStatus.DRAFT, EventStatus.CANCELLED, EventStatus.ARCHIVED}),
    EventStatus.CANCELLED: frozenset({EventStatus.ARCHIVED}),
    EventStatus.ARCHIVED: frozenset({EventStatus.DRAFT}),
}


class StructureRole(models.TextChoices):
    ORGANISER = "organiser", "Organisateur"
    CO_ORGANISER = "co_organiser", "Co-organisateur"
    SUPPORTER = "supporter", "Partenaire"
    FUNDER = "funder", "Partenaire financier"


ORGANISING_ROLES = (StructureRole.ORGANISER, StructureRole.CO_ORGANISER)
PARTNER_ROLES = (StructureRole.SUPPORTER, StructureRole.FUNDER)


class Programme(models.Model):
    """A group of events shown together ("Mois de l'ESS 2014 — Pays Midi-Quercy")."""

    title = models.CharField("titre", max_length=200)
    slug = models.SlugField("identifiant", max_length=120, unique=True)
    description = models.TextField("présentation", blank=True)
    narrative = models.TextField("bilan rédigé par l'équipe d'animation", blank=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    class Meta:
        verbose_name = "programme"
        ordering = ["title"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(title=""),
                name="events_programme_title_not_empty",
                violation_error_message="Le titre du programme est obligatoire.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class EventQuerySet(models.QuerySet):
    def published(self):
        """Published and cancelled events: both are shown in the agenda (a cancellation is news too)."""
        return self.filter(status__in=(EventStatus.PUBLISHED, EventStatus.CANCELLED))

    def public(self):
        return self.published().filter(visibility=Visibility.PUBLIC)

    def upcoming(self, now):
        """Events not over at ``now``."""
        return self.filter(end__gte=now)

    def between(self, start=None, end=None):
        """Events that overlap [start, end) (aware datetimes; None leaves that side open)."""
        qs = self
        if start is not None:
            qs = qs.filter(end__gte=start)
        if end is not None:
            qs = qs.filter(start__lt=end)
        return qs

    def of_kind(self, kind: str):
        return self.filter(kind=kind)

    def with_theme(self, theme):
        return self.filter(themes=theme).distinct()

    def organised_by(self, structure):
        return self.filter(
            structure_links__structure=structure, structure_links__role__in=ORGANISING_ROLES
        ).distinct()

    def in_perimeter(self, perimeter):
        """Events held in ``perimeter``, plus online events (they have no commune: every territory's). A
        subquery, not a join: an event is never listed twice, so lists need no DISTINCT."""
        perimeter_id = getattr(perimeter, "pk", perimeter)
        communes = PerimeterCommune.objects.filter(perimeter_id=perimeter_id).values("commune_id")
        return self.filter(Q(commune_id__in=communes) | Q(commune__isnull=True, online_url__gt=""))

    def search(self, text: str):
        from essaim.core.text import normalize

        words = normalize(text).split()
        qs = self
        for word in words:
            qs = qs.filter(search_title__contains=word)
        return qs


class Event(models.Model):
    programme = models.ForeignKey(
        Programme,
        verbose_name="programme",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    title = models.CharField("titre", max_length=200)
    slug = models.SlugField("identifiant", max_length=120, unique=True)
    search_title = models.CharField("titre normalisé", max_length=260, editable=False, db_index=True)
    description = models.TextField("présentation", blank=True)
    kind = models.CharField("type", max_length=20, choices=Kind.choices, default=Kind.RENCONTRE)
    structures = models.ManyToManyField(
        Structure, through="EventStructure", related_name="events", verbose_name="structures"
    )
    place_name = models.CharField("lieu", max_length=200, blank=True)
    address = models.CharField("adresse", max_length=300, blank=True)
    commune = models.ForeignKey(
        Commune,
        verbose_name="commune",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="events",
    )
    latitude = models.FloatField("latitude", null=True, blank=True)
    longitude = models.FloatField("longitude", null=True, blank=True)
    online_url = models.URLField("lien de la visioconférence", max_length=300, blank=True)
    start = models.DateTimeField("début", db_index=True)
    end = models.DateTimeField("fin", db_index=True)
    accessibility = models.TextField("accessibilité", blank=True)
    themes = models.ManyToManyField(Theme, verbose_name="thématiques", blank=True, related_name="events")
    visibility = models.CharField(
        "visibilité", max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    status = models.CharField("état", max_length=20, choices=EventStatus.choices, default=EventStatus.DRAFT)
    # Registration settings.
    registration_open = models.BooleanField("inscriptions ouvertes", default=False)
    registration_opens_at = models.DateTimeField("ouverture des inscriptions", null=True, blank=True)
    registration_closes_at = models.DateTimeField("clôture des inscriptions", null=True, blank=True)
    capacity = models.PositiveIntegerField(
        "nombre de places",
        null=True,
        blank=True,
        help_text="Laisser vide si le nombre de places est illimité.",
    )
    promotion_hours = models.PositiveIntegerField(
        "délai pour confirmer une place libérée (heures)", default=48
    )
    reminders_enabled = models.BooleanField(
        "rappel par courriel avant l'événement",
        default=True,
        help_text="Les personnes inscrites reçoivent un rappel quelques jours avant l'événement.",
    )
    narrative = models.TextField("bilan rédigé par l'équipe d'animation", blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="proposé par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    objects = EventQuerySet.as_manager()

    class Meta:
        verbose_name = "événement"
        ordering = ["start", "pk"]
        indexes = [
            # The agenda's filter (published or cancelled, public, not over): its count reads this index only.
            models.Index(fields=["status", "visibility", "end"], name="events_event_listing"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="events_event_end_after_start",
                violation_error_message="La fin de l'événement ne peut pas précéder son début.",
            ),
            models.CheckConstraint(
                condition=~Q(title=""),
                name="events_event_title_not_empty",
                violation_error_message="Le titre de l'événement est obligatoire.",
            ),
            models.CheckConstraint(
                condition=one_of("status", EventStatus.values),
                name="events_event_status_valid",
                violation_error_message="État d'événement inconnu.",
            ),
            models.CheckConstraint(
                condition=one_of("visibility", Visibility.values),
                name="events_event_visibility_valid",
                violation_error_message="Visibilité inconnue.",
            ),
            models.CheckConstraint(
                condition=Q(registration_opens_at__isnull=True)
                | Q(registration_closes_at__isnull=True)
                | Q(registration_closes_at__gte=F("registration_opens_at")),
                name="events_event_registration_dates_ordered",
                violation_error_message="La clôture des inscriptions ne peut pas précéder leur ouverture.",
            ),
            models.CheckConstraint(
                condition=Q(latitude__isnull=True, longitude__isnull=True)
                | Q(latitude__gte=-90, latitude__lte=90, longitude__gte=-180, longitude__lte=180),
                name="events_event_point_valid",
                violation_error_message=(
                    "Coordonnées invalides : latitude et longitude vont ensemble "
                    "et doivent être dans les bornes."
                ),
            ),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def point(self) -> tuple[float, float] | None:
        """(latitude, longitude): the event's own point, else its commune's, else None."""
        if self.latitude is not None and self.longitude is not None:
            return (self.latitude, self.longitude)
        commune = self.commune
        if commune is not None and commune.latitude is not None and commune.longitude is not None:
            return (commune.latitude, commune.longitude)
        return None

    @property
    def is_online(self) -> bool:
        return bool(self.online_url) and not (self.address or self.commune_id)


class EventStructure(models.Model):
    """A structure of the Annuaire that organises, co-organises, supports or funds an event."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="structure_links")
    structure = models.ForeignKey(Structure, on_delete=models.CASCADE, related_name="event_links")
    role = models.CharField("rôle", max_length=20, choices=StructureRole.choices)

    class Meta:
        verbose_name = "structure liée à un événement"
        verbose_name_plural = "structures liées à un événement"
        ordering = ["role", "structure__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "structure", "role"],
                name="events_eventstructure_unique",
                violation_error_message="Cette structure a déjà ce rôle pour cet événement.",
            ),
            models.CheckConstraint(
                condition=one_of("role", StructureRole.values),
                name="events_eventstructure_role_valid",
                violation_error_message="Rôle inconnu.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.structure} — {self.get_role_display()} de {self.event}"


class Session(models.Model):
    """A parallel workshop or visit inside an event. Sessions starting at the same time form one time slot:
    a participant picks at most one session per slot."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField("titre", max_length=200)
    description = models.TextField("présentation", blank=True)
    start = models.DateTimeField("début")
    end = models.DateTimeField("fin")
    capacity = models.PositiveIntegerField("nombre de places", null=True, blank=True)

    class Meta:
        verbose_name = "session"
        ordering = ["start", "title", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__gte=F("start")),
                name="events_session_end_after_start",
                violation_error_message="La fin de la session ne peut pas précéder son début.",
            ),
            models.CheckConstraint(
                condition=~Q(title=""),
                name="events_session_title_not_empty",
                violation_error_message="Le titre de la session est obligatoire.",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class ParticipantCategory(models.Model):
    """A kind of participant with its own quota and price (collectivité, acteur de l'ESS, particulier...)."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="categories")
    label = models.CharField("libellé", max_length=150)
    quota = models.PositiveIntegerField("quota de places", null=True, blank=True)
    price_cents = models.PositiveIntegerField("tarif (centimes d'euro)", default=0)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "catégorie de participants"
        verbose_name_plural = "catégories de participants"
        ordering = ["position", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "label"],
                name="events_category_unique_label",
                violation_error_message="Cette catégorie existe déjà pour cet événement.",
            ),
            models.CheckConstraint(
                condition=~Q(label=""),
                name="events_category_label_not_empty",
                violation_error_message="Le libellé de la catégorie est obligatoire.",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def price_display(self) -> str:
        if not self.price_cents:
            return "Gratuit"
        euros, cents = divmod(self.price_cents, 100)
        return f"{euros} €" if not cents else f"{euros},{cents:02d} €"


class RegistrationStatus(models.TextChoices):
    CONFIRMED = "confirmed", "Inscription confirmée"
    OFFERED = "offered", "Place proposée, à confirmer"
    WAITING = "waiting", "Liste d'attente"
    CANCELLED = "cancelled", "Annulée"


# Statuses that hold a place: a place offered to someone on the waiting list is kept for them until expiry.
HOLDING_STATUSES = (RegistrationStatus.CONFIRMED, RegistrationStatus.OFFERED)


class PaymentStatus(models.TextChoices):
    NONE = "none", "Rien à payer"
    TO_PAY = "to_pay", "À payer"
    PAID_ON_SITE = "paid_on_site", "Payé sur place"
    PAID_CHEQUE = "paid_cheque", "Payé par chèque"
    PAID_TRANSFER = "paid_transfer", "Payé par virement"
    EXEMPT = "exempt", "Exonéré"


class Attendance(models.TextChoices):
    UNKNOWN = "unknown", "Non pointé"
    PRESENT = "present", "Présent"
    ABSENT = "absent", "Absent"
    EXCUSED = "excused", "Excusé"


class RegistrationQuerySet(models.QuerySet):
    def holding(self):
        return self.filter(status__in=HOLDING_STATUSES)

    def confirmed(self):
        return self.filter(status=RegistrationStatus.CONFIRMED)

    def waiting(self):
        return self.filter(status=RegistrationStatus.WAITING).order_by("created_at", "pk")

    def present(self):
        return self.filter(attendance=Attendance.PRESENT)

    def search(self, text: str):
        from essaim.core.text import normalize

        qs = self
        for word in normalize(text).split():
            qs = qs.filter(search_name__contains=word)
        return qs


class Registration(models.Model):
    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    category = models.ForeignKey(
        ParticipantCategory,
        verbose_name="catégorie",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="registrations",
    )
    sessions = models.ManyToManyField(
        Session, verbose_name="sessions", blank=True, related_name="registrations"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="compte",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="event_registrations",
    )
    full_name = models.CharField("nom et prénom", max_length=150)
    search_name = models.CharField("nom normalisé", max_length=400, editable=False)
    email = models.EmailField("courriel", blank=True)
    structure = models.ForeignKey(
        Structure,
        verbose_name="structure (annuaire)",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="event_registrations",
    )
    structure_name = models.CharField("structure (saisie libre)", max_length=200, blank=True)
    commune = models.ForeignKey(
        Commune,
        verbose_name="commune",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="event_registrations",
    )
    is_elected = models.BooleanField("élu ou élue", default=False)
    status = models.CharField("état", max_length=20, choices=RegistrationStatus.choices)
    offer_expires_at = models.DateTimeField("place à confirmer avant le", null=True, blank=True)
    payment = models.CharField(
        "paiement", max_length=20, choices=PaymentStatus.choices, default=PaymentStatus.NONE
    )
    attendance = models.CharField(
        "présence", max_length=20, choices=Attendance.choices, default=Attendance.UNKNOWN
    )
    is_walk_in = models.BooleanField("venu sans inscription", default=False)
    # Privacy: shown on the event's public participant list only with the person's opt-in.
    public_listing = models.BooleanField("apparaît dans la liste publique des participants", default=False)
    reminded_at = models.DateTimeField("rappel envoyé le", null=True, blank=True)
    anonymised_at = models.DateTimeField("anonymisée le", null=True, blank=True)
    token = models.CharField("jeton", max_length=43, unique=True, editable=False)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="inscrit par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("inscrit le", default=timezone.now, db_index=True)
    updated_at = models.DateTimeField("modifié le", auto_now=True)

    objects = RegistrationQuerySet.as_manager()

    class Meta:
        verbose_name = "inscription"
        ordering = ["event", "full_name", "pk"]
        indexes = [models.Index(fields=["event", "status"], name="events_reg_event_status")]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "email"],
                condition=~Q(status=RegistrationStatus.CANCELLED) & ~Q(email=""),
                name="events_registration_unique_email",
                violation_error_message="Cette adresse est déjà inscrite à cet événement.",
            ),
            models.CheckConstraint(
                condition=~Q(full_name=""),
                name="events_registration_name_not_empty",
                violation_error_message="Le nom de la personne inscrite est obligatoire.",
            ),
            models.CheckConstraint(
                condition=one_of("status", RegistrationStatus.values),
                name="events_registration_status_valid",
                violation_error_message="État d'inscription inconnu.",
            ),
            models.CheckConstraint(
                condition=one_of("payment", PaymentStatus.values),
                name="events_registration_payment_valid",
                violation_error_message="État de paiement inconnu.",
            ),
            models.CheckConstraint(
                condition=one_of("attendance", Attendance.values),
                name="events_registration_attendance_valid",
                violation_error_message="État de présence inconnu.",
            ),
            models.CheckConstraint(
                condition=~Q(status=RegistrationStatus.OFFERED) | Q(offer_expires_at__isnull=False),
                name="events_registration_offer_has_expiry",
                violation_error_message="Une place proposée doit avoir une date limite de confirmation.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name} — {self.event}"

    @property
    def structure_display(self) -> str:
        return self.structure.name if self.structure_id else self.structure_name


# --- Registration data: custom questions, messages to participants (privacy fields: see Registration) ---


class QuestionKind(models.TextChoices):
    SHORT_TEXT = "short_text", "Texte court"
    LONG_TEXT = "long_text", "Texte long"
    SINGLE_CHOICE = "single_choice", "Choix unique"
    MULTIPLE_CHOICE = "multiple_choice", "Choix multiple"
    YES_NO = "yes_no", "Oui / non"


# Kinds whose answers are picked from the question's choices (counted in the report, kept when anonymised).
CHOICE_KINDS = (QuestionKind.SINGLE_CHOICE, QuestionKind.MULTIPLE_CHOICE)
TEXT_KINDS = (QuestionKind.SHORT_TEXT, QuestionKind.LONG_TEXT)


class Question(models.Model):
    """A question an event's organisers ask in its registration form ("Régime alimentaire ?")."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="questions")
    label = models.CharField("question", max_length=300)
    help_text = models.CharField("aide", max_length=300, blank=True)
    kind = models.CharField("type de réponse", max_length=20, choices=QuestionKind.choices)
    choices = models.TextField(
        "choix proposés", blank=True, help_text="Un choix par ligne (pour les questions à choix)."
    )
    required = models.BooleanField("réponse obligatoire", default=False)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "question d'inscription"
        verbose_name_plural = "questions d'inscription"
        ordering = ["position", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(label=""),
                name="events_question_label_not_empty",
                violation_error_message="Le libellé de la question est obligatoire.",
            ),
            models.CheckConstraint(
                condition=one_of("kind", QuestionKind.values),
                name="events_question_kind_valid",
                violation_error_message="Type de question inconnu.",
            ),
            models.CheckConstraint(
                condition=~one_of("kind", CHOICE_KINDS) | ~Q(choices=""),
                name="events_question_choices_given",
                violation_error_message="Indiquez au moins un choix pour une question à choix.",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def choice_list(self) -> list[str]:
        return [line.strip() for line in self.choices.splitlines() if line.strip()]


class Answer(models.Model):
    """A registration's answer to a question. Multiple choices are stored one per line; yes/no as "oui"/"non".

    When a registration is anonymised its free-text answers are deleted and its choice answers are detached
    (``registration`` NULL): they stay in the report's counts without pointing at anybody.
    """

    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    registration = models.ForeignKey(
        Registration, null=True, blank=True, on_delete=models.CASCADE, related_name="answers"
    )
    value = models.TextField("réponse", blank=True)

    class Meta:
        verbose_name = "réponse"
        ordering = ["question__position", "question_id", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["registration", "question"],
                name="events_answer_unique",
                violation_error_message="Cette inscription a déjà répondu à cette question.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.question} : {self.value}"

    @property
    def values(self) -> list[str]:
        return [line for line in self.value.splitlines() if line]


class Audience(models.TextChoices):
    CONFIRMED = "confirmed", "Toutes les personnes inscrites (confirmées)"
    PRESENT = "present", "Les personnes présentes"
    WAITING = "waiting", "La liste d'attente"


class ParticipantMessage(models.Model):
    """A message an organiser or facilitator sent by email to some of an event's participants."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="participant_messages")
    audience = models.CharField("destinataires", max_length=20, choices=Audience.choices)
    subject = models.CharField("objet", max_length=200)
    body = models.TextField("message")
    sent_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="envoyé par",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recipients_count = models.PositiveIntegerField("nombre de destinataires", default=0)
    created_at = models.DateTimeField("écrit le", auto_now_add=True)
    queued_at = models.DateTimeField("courriels mis en file le", null=True, blank=True)

    class Meta:
        verbose_name = "message aux participants"
        verbose_name_plural = "messages aux participants"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=one_of("audience", Audience.values),
                name="events_message_audience_valid",
                violation_error_message="Destinataires inconnus.",
            ),
            models.CheckConstraint(
                condition=~Q(subject="") & ~Q(body=""),
                name="events_message_not_empty",
                violation_error_message="L'objet et le message sont obligatoires.",
            ),
        ]

    def __str__(self) -> str:
        return self.subject
