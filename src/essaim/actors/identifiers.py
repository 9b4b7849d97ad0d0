"""Checks of French business identifiers (SIREN, SIRET, RNA) with French error messages.

SIREN and SIRET carry a Luhn check digit, except the establishments of La Poste (SIREN 356000000) whose
SIRET digits must add up to a multiple of 5. The check is written here rather than taken from python-stdnum
because the SIRENE import runs it millions of times and stdnum's generic version is ten times slower; the
tests compare both on many numbers.
"""

import re

from django.core.exceptions import ValidationError

LA_POSTE_SIREN = "356000000"
# Luhn: every second digit from the right is doubled, 9 subtracted when above 9.
_DOUBLED = (0, 2, 4, 6, 8, 1, 3, 5, 7, 9)


def luhn_is_valid(digits: str) -> bool:
    """Whether the ASCII digit string ``digits`` passes the Luhn check."""
    total = 0
    for position, char in enumerate(reversed(digits)):
        digit = ord(char) - 48
        total += _DOUBLED[digit] if position % 2 else digit
    return total % 10 == 0


# W + 9 digits; the department part of Corsican numbers holds 2A / 2B (e.g. W2B1234567).
_RNA = re.compile(r"W[0-9][0-9AB][0-9]{7}")


def siren_error(value: str) -> str:
    """The French reason why ``value`` is not a valid SIREN, or "" when it is valid."""
    if len(value) != 9 or not value.isascii() or not value.isdigit():
        return f"SIREN « {value} » invalide : 9 chiffres attendus."
    if not luhn_is_valid(value):
        return f"SIREN « {value} » invalide : la clé de contrôle (Luhn) est fausse."
    return ""


def siret_error(value: str) -> str:
    """The French reason why ``value`` is not a valid SIRET, or "" when it is valid."""
    if len(value) != 14 or not value.isascii() or not value.isdigit():
        return f"SIRET « {value} » invalide : 14 chiffres attendus."
    if value.startswith(LA_POSTE_SIREN) and value != "35600000000048":  # La Poste, except its head office.
        valid = sum(ord(char) - 48 for char in value) % 5 == 0
    else:
        valid = luhn_is_valid(value)
    if not valid:
        return f"SIRET « {value} » invalide : la clé de contrôle est fausse."
    if not luhn_is_valid(value[:9]):
        return f"SIRET « {value} » invalide : le SIREN qu'il contient est faux."
    return ""


def rna_error(value: str) -> str:
    """The French reason why ``value`` is not an RNA number (W + 9 characters), or "" when it is valid."""
    if not _RNA.fullmatch(value):
        return f"Numéro RNA « {value} » invalide : W suivi de 9 chiffres attendu."
    return ""


def validate_siren(value: str) -> None:
    if error := siren_error(value):
        raise ValidationError(error, code="invalid_siren")


def validate_siret(value: str) -> None:
    if error := siret_error(value):
        raise ValidationError(error, code="invalid_siret")


def validate_rna(value: str) -> None:
    if error := rna_error(value):
        raise ValidationError(error, code="invalid_rna")
