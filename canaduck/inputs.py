"""Rules for the text a client sends, shared by the gateway and the weather service.

A city name is NFKC-normalised (so full-width and compatibility forms compare equal),
trimmed, internal runs of white space folded to one space, and then checked against an
allowlist: letters, combining marks, digits, spaces and the punctuation real place names
use (``' ’ - . , ( )``). Anything else, control characters included, is refused, so a city
can never smuggle URL syntax (``& ? # / % @ :``) towards an upstream, even though upstream
calls also encode it as a query parameter.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator

CITY_MAX_LENGTH = 100

_ALLOWED_PUNCTUATION = frozenset(" '’-.,()")
_ALLOWED_CATEGORIES = ("L", "M", "Nd")


class InvalidCity(ValueError):
    """The city text breaks one of the rules above; the message says which."""


def normalize_city(raw: str) -> str:
    """Return the canonical form of a city name, or raise :class:`InvalidCity`."""
    if len(raw) > CITY_MAX_LENGTH * 4:  # refuse megabytes before normalising them
        raise InvalidCity(f"city must be at most {CITY_MAX_LENGTH} characters")
    text = unicodedata.normalize("NFKC", raw)
    for char in text:
        if unicodedata.category(char)[0] == "C":
            raise InvalidCity("city must not contain control or invisible characters")
    text = " ".join(text.split())
    if not text:
        raise InvalidCity("city must not be empty")
    if len(text) > CITY_MAX_LENGTH:
        raise InvalidCity(f"city must be at most {CITY_MAX_LENGTH} characters")
    for char in text:
        if char not in _ALLOWED_PUNCTUATION and not unicodedata.category(char).startswith(
            _ALLOWED_CATEGORIES
        ):
            raise InvalidCity(f"city must not contain {char!r}")
    return text


def fold(text: str) -> str:
    """Case- and accent-insensitive key: 'São Paulo' and 'sao paulo' fold alike."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


# For FastAPI/Pydantic models: ``city: City``. Pydantic reports the ValueError as a 422.
City = Annotated[str, AfterValidator(normalize_city)]


class InvalidCountry(ValueError):
    """Not an ISO 3166-1 alpha-2 code."""


def normalize_country(raw: str) -> str:
    """'fr' → 'FR'; anything but two ASCII letters raises :class:`InvalidCountry`."""
    text = raw.strip()
    if len(text) != 2 or not (text.isascii() and text.isalpha()):
        raise InvalidCountry("country must be a two-letter ISO 3166-1 code, e.g. FR")
    return text.upper()


Country = Annotated[str, AfterValidator(normalize_country)]
