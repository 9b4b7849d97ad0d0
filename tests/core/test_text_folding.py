"""``normalize``'s fast path (translation table) gives exactly what its definition gives."""

import random

from essaim.core.text import _normalize_slow, normalize


def test_every_character_alone_folds_as_the_definition_says():
    for code in [*range(0x3100), 0x1F600, 0x10000, 0xFB01]:
        char = chr(code)
        assert normalize(char) == _normalize_slow(char), hex(code)


def test_random_strings_fold_as_the_definition_says():
    rng = random.Random(20261123)
    pool = [chr(code) for code in range(0x3100)] + ["e\u0301", "ﬁ", "ß", "\U0001f600", "İ", "Σ"]
    french = [chr(code) for code in range(128)] + list("éèêëàâçôöîïùûüÿœæÉÈÊÀÇÔŒÆ—\u2013\u2019«» \u00a0")
    for _ in range(20_000):
        text = "".join(rng.choice(pool) for _ in range(rng.randint(0, 12)))
        assert normalize(text) == _normalize_slow(text), repr(text)
        text = "".join(rng.choice(french) for _ in range(rng.randint(0, 30)))
        assert normalize(text) == _normalize_slow(text), repr(text)


def test_examples():
    assert normalize("Saint-Étienne-du-Grès") == "saint etienne du gres"
    assert normalize("  Cœur d'Œuvre — ÆSOP  ") == "coeur d oeuvre aesop"
    assert normalize("") == normalize(None) == ""
