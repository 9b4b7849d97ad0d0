"""Writes of the synonym groups (edited by the facilitators, used by search and matching)."""

from django.core.exceptions import ValidationError
from django.db import transaction

from essaim.core.audit import log_action
from essaim.exchange.models import SynonymGroup
from essaim.exchange.search import parse_synonym_words, synonym_errors


@transaction.atomic
def synonym_group_save(*, words: str, actor, group: SynonymGroup | None = None) -> SynonymGroup:
    """Create a group (or change ``group``) from comma-separated ``words``. Raises ValidationError with
    French messages on the ``words`` field: fewer than two words, an entry of several words, too long."""
    parsed = parse_synonym_words(words)
    errors = synonym_errors(parsed)
    if errors:
        raise ValidationError({"words": errors})
    created = group is None
    group = group or SynonymGroup()
    group.words = ", ".join(parsed)
    group.full_clean()
    group.save()
    verb = "exchange.synonyms.created" if created else "exchange.synonyms.updated"
    log_action(actor=actor, verb=verb, obj=group, data={"words": group.words})
    return group


@transaction.atomic
def synonym_group_delete(*, group: SynonymGroup, actor) -> None:
    log_action(actor=actor, verb="exchange.synonyms.deleted", obj=group, data={"words": group.words})
    group.delete()
