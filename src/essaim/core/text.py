"""Text helpers shared by search features."""

import re
import unicodedata

_NON_ALNUM = re.compile(r"[^a-z0-9]+")


def normalize(value: str) -> str:
    """Lower-case, strip accents and collapse punctuation to single spaces.

    "Saint-Étienne-du-Grès" -> "saint etienne du gres". Used for accent-insensitive matching that behaves
    the same on SQLite and PostgreSQL (the normalised form is stored next to the original).
    """
    decomposed = unicodedata.normalize("NFKD", value or "")
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    stripped = stripped.replace("œ", "oe").replace("æ", "ae").replace("Œ", "oe").replace("Æ", "ae")
    return _NON_ALNUM.sub(" ", stripped.lower()).strip()
