"""Text helpers shared by search features."""

import functools
import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


# Characters below this code point are folded through a translation table (see ``_folding_table``).
_TABLE_END = 0x3000


@functools.cache
def _folding_table() -> dict[int, str]:
    """{code point: its folded form} for every character below ``_TABLE_END``: what ``_normalize_slow``
    makes of the character alone, before spaces are collapsed (always ASCII: [a-z0-9 ]*).

    NFKD decomposes character by character and the combining marks it could reorder are dropped, so folding
    each character separately gives the same text as folding the whole string (a test checks it).
    """
    table = {}
    for code in range(_TABLE_END):
        char = chr(code)
        folded = _NON_ALNUM.sub(" ", _fold(char).lower())
        if folded != char:
            table[code] = folded
    return table


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return stripped.replace("œ", "oe").replace("æ", "ae").replace("Œ", "oe").replace("Æ", "ae")


def normalize(value: str) -> str:
    """Lower-case, strip accents and collapse punctuation to single spaces.

    "Saint-Étienne-du-Grès" -> "saint etienne du gres". Used for accent-insensitive matching that behaves
    the same on SQLite and PostgreSQL (the normalised form is stored next to the original).
    """
    # Fast path (imports and the search index fold millions of names): one C-level translate. Text with
    # characters beyond the table (CJK, emoji...) takes the general path, which gives the same result.
    folded = (value or "").translate(_folding_table())
    if folded.isascii():
        return " ".join(folded.split())
    return _normalize_slow(value)


def _normalize_slow(value: str) -> str:
    """The definition of ``normalize``: NFKD, combining marks dropped, ligatures spelt out, lower case,
    anything but [a-z0-9] collapsed to single spaces."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("œ", "oe").replace("æ", "ae").replace("Œ", "oe").replace("Æ", "ae")
    return _NON_ALNUM.sub(" ", stripped.lower()).strip()
