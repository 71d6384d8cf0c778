from __future__ import annotations

import re

from joke_service.jokes_fr import FRENCH_JOKES

# French typography: a space before ? ! : ; and », a space after «.
_MISSING_SPACE = re.compile(r"\S[?!:;»]|«\S")


def test_own_french_jokes_are_thirty_distinct_at_least() -> None:
    """We ship at least thirty French jokes of our own, none twice."""
    assert len(set(FRENCH_JOKES)) == len(FRENCH_JOKES) >= 30


def test_own_french_jokes_include_the_seed_duck_joke() -> None:
    """The seed's contract example is one of our jokes, word for word."""
    assert "Où est caché le canard ? Dans le coin." in FRENCH_JOKES


def test_own_french_jokes_use_french_punctuation_spacing() -> None:
    """Every one of our jokes puts a space before ? ! : ; and has no doubled or edge spaces."""
    badly_spaced = [
        joke
        for joke in FRENCH_JOKES
        if _MISSING_SPACE.search(joke) or "  " in joke or joke != joke.strip()
    ]
    assert badly_spaced == []
