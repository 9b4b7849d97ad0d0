"""Shared helpers for the per-app access functions (``<app>/access.py``).

Every app answers 404, never 403, for what a user may not see: the response must not reveal that the object
exists. Access functions take ``(user, obj)`` and return a bool; they deny by default.
"""

from collections.abc import Callable
from typing import TypeVar

from django.db import models
from django.http import Http404
from django.shortcuts import get_object_or_404

M = TypeVar("M", bound=models.Model)

NOT_FOUND_MESSAGE = "Page introuvable."


def deny_unless(allowed: bool) -> None:
    """Raise Http404 unless ``allowed`` is exactly True (None or any other value denies)."""
    if allowed is not True:
        raise Http404(NOT_FOUND_MESSAGE)


def get_object_or_404_for(
    user, queryset: type[M] | models.QuerySet, check: Callable[[object, M], bool], /, **lookup
) -> M:
    """Fetch one object by ``lookup`` from ``queryset`` (or model) and check ``check(user, obj)``.

    Raises Http404 both when the object does not exist and when ``check`` does not return True, so that the
    two cases look the same to the visitor.
    """
    obj = get_object_or_404(queryset, **lookup)
    deny_unless(check(user, obj))
    return obj
