"""What one poll of a live key found, in a form that crosses Redis pub/sub unchanged.

A :class:`Snapshot` holds one :class:`Reading` per upstream: the value (JSON, as the
upstream's model dumps it) or the error that stood in for it, the ``STALE_DATA`` warning
of a cached value served because its upstream failed, and the provenance a query would
report in ``extensions.sources``. Errors travel as their GraphQL shape (message and
extensions) and come back as :class:`ReportedError`, so a replica that did not poll
reports exactly what the polling one saw.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from canaduck.inputs import fold
from gateway.errors import ApiError
from gateway.upstream.models import Lang


@dataclass(frozen=True, slots=True)
class LiveKey:
    """What one poller serves: the city folded (so "Rodez" and "RODEZ" share it)."""

    city: str
    lang: Lang
    country: str | None

    @classmethod
    def of(cls, city: str, lang: Lang, country: str | None) -> LiveKey:
        return cls(fold(city), lang, country)

    @property
    def name(self) -> str:
        """A stable text form: Redis lease key and pub/sub channel suffix."""
        return f"{self.city}|{self.lang.value}|{self.country or ''}"


class ReportedError(ApiError):
    """An upstream failure as the polling process reported it (code and extensions kept)."""

    def __init__(self, message: str, extensions: dict[str, Any]) -> None:
        super().__init__(message)
        self._extensions = dict(extensions)

    @property
    def extensions(self) -> dict[str, Any]:
        return dict(self._extensions)

    @property
    def reported_code(self) -> str:
        return str(self._extensions.get("code", "UPSTREAM_ERROR"))


def error_shape(error: ApiError) -> dict[str, Any]:
    return {"message": error.detail, "extensions": error.extensions}


@dataclass(frozen=True, slots=True)
class Reading:
    """One upstream's part of a snapshot: a value, or the error in its place."""

    value: dict[str, Any] | None = None
    error: dict[str, Any] | None = None  # {"message", "extensions"}: no value
    stale: dict[str, Any] | None = None  # {"message", "extensions"}: value is a stale copy
    source: dict[str, Any] = field(default_factory=dict)  # extensions.sources entry

    def raise_error(self) -> None:
        """Raise the failure that stands in for the value, if there is one."""
        if self.value is None:
            shape = self.error or {
                "message": "No reading yet.",
                "extensions": {"code": "UPSTREAM_ERROR"},
            }
            raise ReportedError(str(shape["message"]), dict(shape["extensions"]))

    def stale_error(self) -> ReportedError | None:
        if self.stale is None:
            return None
        return ReportedError(str(self.stale["message"]), dict(self.stale["extensions"]))

    def signature(self) -> tuple[Any, ...]:
        """What a subscriber can see change: the value, the error code, the stale cause."""
        return (
            json.dumps(self.value, sort_keys=True) if self.value is not None else None,
            code_of(self.error),
            code_of(self.stale),
            (self.stale or {}).get("extensions", {}).get("cause"),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "error": self.error,
            "stale": self.stale,
            "source": self.source,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Reading:
        return cls(
            data.get("value"), data.get("error"), data.get("stale"), data.get("source") or {}
        )


def code_of(shape: dict[str, Any] | None) -> str | None:
    if shape is None:
        return None
    return str(shape.get("extensions", {}).get("code"))


@dataclass(frozen=True, slots=True)
class Snapshot:
    """Weather and joke for one key at one poll. ``joke_at`` is wall-clock time, so any
    replica can tell when the joke is due to rotate."""

    weather: Reading
    joke: Reading
    joke_at: float
    polled_at: float

    def same_content(self, other: Snapshot | None) -> bool:
        """Whether nothing a subscriber could select differs (provenance aside)."""
        return (
            other is not None
            and self.weather.signature() == other.weather.signature()
            and self.joke.signature() == other.joke.signature()
        )

    def sources(self) -> dict[str, dict[str, Any]]:
        return {
            name: reading.source
            for name, reading in (("weather", self.weather), ("joke", self.joke))
            if reading.source
        }

    def dumps(self) -> bytes:
        return json.dumps(
            {
                "weather": self.weather.to_json(),
                "joke": self.joke.to_json(),
                "jokeAt": self.joke_at,
                "polledAt": self.polled_at,
            },
            separators=(",", ":"),
        ).encode()

    @classmethod
    def loads(cls, raw: bytes | str) -> Snapshot:
        data = json.loads(raw)
        return cls(
            Reading.from_json(data["weather"]),
            Reading.from_json(data["joke"]),
            float(data["jokeAt"]),
            float(data["polledAt"]),
        )
