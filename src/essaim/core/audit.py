"""The audit log of business actions."""

from typing import Any

from django.db import models

from essaim.core.models import AuditLogEntry


def log_action(
    *, actor, verb: str, obj: models.Model | None = None, data: dict[str, Any] | None = None
) -> AuditLogEntry:
    """Record that ``actor`` (a user, None for the system) did ``verb`` ("accounts.user.closed") on ``obj``.

    ``data`` must be JSON-serialisable; it holds the details a later reader needs (old/new values, counts).
    """
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    entry = AuditLogEntry(actor=actor, verb=verb, data=data or {})
    if obj is not None:
        entry.object_type = obj._meta.label_lower
        entry.object_id = str(obj.pk)
        entry.object_repr = str(obj)[:255]
    entry.save()
    return entry
