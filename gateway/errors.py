"""What can go wrong behind the gateway, one tree for both front doors.

    ApiError (canaduck.problems)            code, status_code, extensions
    ├── InvalidInput                        422  INVALID_INPUT
    ├── CityNotFound                        404  CITY_NOT_FOUND
    ├── StaleData                           200  STALE_DATA (a warning beside a cached value)
    └── UpstreamError                       502  (base: an upstream let us down)
        ├── UpstreamTimeout                 504  UPSTREAM_TIMEOUT
        ├── UpstreamUnavailable             503  UPSTREAM_UNAVAILABLE   + Retry-After
        │   └── UpstreamCircuitOpen         503  UPSTREAM_CIRCUIT_OPEN  + Retry-After
        └── UpstreamBadResponse             502  UPSTREAM_BAD_RESPONSE

httpx exceptions are translated into these in ``upstreams`` (``raise ... from exc``), so
nothing above it knows httpx. GraphQL puts ``extensions`` in ``errors[].extensions``; REST
renders the same error as problem JSON. Both carry ``{code, service, retryable, requestId}``
(the request ID is added where the error leaves the gateway). Messages never carry upstream
URLs or hosts.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from canaduck.problems import ApiError, InvalidInput

Service = Literal["weather", "joke"]

__all__ = [
    "ApiError",
    "CityNotFound",
    "InvalidInput",
    "Service",
    "StaleData",
    "UpstreamBadResponse",
    "UpstreamCircuitOpen",
    "UpstreamError",
    "UpstreamTimeout",
    "UpstreamUnavailable",
]


class CityNotFound(ApiError):
    status_code = 404
    code = "CITY_NOT_FOUND"
    title = "City not found"

    def __init__(self, city: str) -> None:
        super().__init__(
            f"No city named {city!r} is known to the weather service.", extra={"service": "weather"}
        )


class UpstreamError(ApiError):
    status_code = 502
    code = "UPSTREAM_ERROR"
    title = "Upstream error"
    retryable: ClassVar[bool] = False
    what: ClassVar[str] = "failed"

    def __init__(
        self,
        service: Service,
        *,
        upstream_status: int | None = None,
        retry_after_seconds: int | None = None,
        detail: str | None = None,
    ) -> None:
        extra: dict[str, object] = {"service": service, "retryable": self.retryable}
        if upstream_status is not None:
            extra["upstreamStatus"] = upstream_status
        headers = {}
        if retry_after_seconds is not None:
            headers["Retry-After"] = str(retry_after_seconds)
        super().__init__(
            detail or f"The {service} service {self.what}.", extra=extra, headers=headers
        )
        self.service = service


class UpstreamTimeout(UpstreamError):
    status_code = 504
    code = "UPSTREAM_TIMEOUT"
    title = "Upstream timeout"
    retryable = True
    what = "did not answer in time"


class UpstreamUnavailable(UpstreamError):
    status_code = 503
    code = "UPSTREAM_UNAVAILABLE"
    title = "Upstream unavailable"
    retryable = True
    what = "is unavailable"


class UpstreamCircuitOpen(UpstreamUnavailable):
    code = "UPSTREAM_CIRCUIT_OPEN"
    title = "Upstream circuit open"
    what = "failed repeatedly; calls are paused while it recovers"


class UpstreamBadResponse(UpstreamError):
    status_code = 502
    code = "UPSTREAM_BAD_RESPONSE"
    title = "Bad upstream response"
    what = "sent an answer the gateway cannot use"


class StaleData(ApiError):
    """Not a failed request: a cached value served because its upstream just failed."""

    status_code = 200
    code = "STALE_DATA"
    title = "Stale data"

    def __init__(self, cause: UpstreamError, age_seconds: float) -> None:
        age = round(age_seconds)
        super().__init__(
            f"The {cause.service} service failed ({cause.code}); "
            f"this value was stored {age} s ago.",
            extra={
                "service": cause.service,
                "retryable": True,
                "ageSeconds": age,
                "cause": cause.code,
            },
        )
        self.service = cause.service
