from django.conf import settings
from django.db import models


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

    class Meta:
        verbose_name = "entrée du journal d'audit"
        verbose_name_plural = "journal d'audit"
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["object_type", "object_id"], name="audit_object_idx")]

    def __str__(self) -> str:
        return f"{self.created_at:%d/%m/%Y %H:%M} {self.verb} {self.object_repr}"


class OutgoingEmail(models.Model):
    """An email waiting to be sent, or sent: stored first so that nothing is lost if delivery fails."""

    class Status(models.TextChoices):
        PENDING = "pending", "En attente"
        SENT = "sent", "Envoyé"
        FAILED = "failed", "Échec définitif"

    created_at = models.DateTimeField("créé le", auto_now_add=True)
    status = models.CharField("état", max_length=10, choices=Status.choices, default=Status.PENDING, db_index=True)
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
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)

    class Meta:
        verbose_name = "courriel sortant"
        verbose_name_plural = "courriels sortants"
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.subject} → {', '.join(self.to)}"
