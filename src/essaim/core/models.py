import json

from django.conf import settings
from django.db import models
from django.db.models.functions import Cast


class AuditLogEntryQuerySet(models.QuerySet):
    def for_object(self, obj: models.Model) -> "AuditLogEntryQuerySet":
        """Entries about ``obj`` (whoever the actor was)."""
        return self.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))

    def by_actor(self, user) -> "AuditLogEntryQuerySet":
        return self.filter(actor=user)

    def concerning_user(self, user) -> "AuditLogEntryQuerySet":
        """Entries a person may see about themselves: what they did, and what was done to their account."""
        return self.filter(
            models.Q(actor=user) | models.Q(object_type=user._meta.label_lower, object_id=str(user.pk))
        )


class AuditLogEntry(models.Model):
    """One business action: who did what to which object, with details (pretix's log_action)."""

    created_at = models.DateTimeField("date", auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="auteur",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="audit_entries",
    )
    verb = models.CharField("action", max_length=100, db_index=True)
    object_type = models.CharField("type d'objet", max_length=100, blank=True)
    object_id = models.CharField("identifiant de l'objet", max_length=64, blank=True)
    object_repr = models.CharField("objet", max_length=255, blank=True)
    data = models.JSONField("détails", default=dict, blank=True)

    objects = AuditLogEntryQuerySet.as_manager()

    class Meta:
        verbose_name = "entrée du journal d'audit"
        verbose_name_plural = "journal d'audit"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%d/%m/%Y %H:%M} {self.verb} {self.object_repr}"


class OutgoingEmailQuerySet(models.QuerySet):
    def pending(self) -> "OutgoingEmailQuerySet":
        return self.filter(status="pending")

    def failed(self) -> "OutgoingEmailQuerySet":
        return self.filter(status="failed")

    def stalled(self, *, now, grace) -> "OutgoingEmailQuerySet":
        """Pending emails nobody tried for ``grace`` (a timedelta): their task was lost or never queued."""
        cutoff = now - grace
        return self.pending().filter(
            models.Q(last_attempt_at__lt=cutoff)
            | models.Q(last_attempt_at__isnull=True, created_at__lt=cutoff)
        )

    def addressed_to(self, email: str) -> "OutgoingEmailQuerySet":
        """Emails with ``email`` among their recipients (to, cc or bcc), on SQLite and PostgreSQL alike.

        Recipients are JSON lists of "a@b.fr" or "Nom <a@b.fr>" strings; matching is done on their JSON text.
        SQLite stores non-ASCII characters escaped ("caf\\u00e9.fr") while PostgreSQL keeps them as they are,
        so both spellings are looked for.
        """
        email = email.strip().lower()
        patterns: list[str] = []
        for spelling in (f'"{email}"', f"<{email}>"):
            # json.dumps adds quotes around the string: drop them, the patterns carry their own delimiters.
            escaped = json.dumps(spelling)[1:-1].replace('\\"', '"')
            patterns += [spelling] if escaped == spelling else [spelling, escaped]
        condition = models.Q()
        for field in ("to", "cc", "bcc"):
            for pattern in patterns:
                condition |= models.Q(**{f"_{field}_text__icontains": pattern})
        return self.alias(
            _to_text=Cast("to", models.TextField()),
            _cc_text=Cast("cc", models.TextField()),
            _bcc_text=Cast("bcc", models.TextField()),
        ).filter(condition)


class OutgoingEmail(models.Model):
    """An email waiting to be sent, or sent: stored first so that nothing is lost if delivery fails."""

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        SENT = "sent", "Envoyé"
        FAILED = "failed", "Échec définitif"

    created_at = models.DateTimeField("créé le", auto_now_add=True)
    status = models.CharField(
        "état", max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True
    )
    from_email = models.CharField("expéditeur", max_length=255)
    to = models.JSONField("destinataires", default=list)
    cc = models.JSONField(default=list, blank=True)
    bcc = models.JSONField(default=list, blank=True)
    reply_to = models.JSONField(default=list, blank=True)
    subject = models.CharField("objet", max_length=998)
    body = models.TextField("texte")
    html_body = models.TextField("HTML", blank=True)
    attachments = models.JSONField("pièces jointes", default=list, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    last_error = models.TextField("dernière erreur", blank=True)
    last_attempt_at = models.DateTimeField("dernière tentative", null=True, blank=True)
    # A worker holds the email until this time while it talks to the mail server, so that a second worker
    # (retry, safety net) cannot send it twice; a worker that dies simply lets the lease expire.
    locked_until = models.DateTimeField("réservé jusqu'à", null=True, blank=True)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)

    objects = OutgoingEmailQuerySet.as_manager()

    class Meta:
        verbose_name = "courriel sortant"
        verbose_name_plural = "courriels sortants"
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "last_attempt_at"], name="outgoing_email_due_idx")]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(status="sent") | models.Q(sent_at__isnull=False),
                name="core_outgoingemail_sent_has_date",
                violation_error_message="Un courriel envoyé doit avoir une date d'envoi.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"
