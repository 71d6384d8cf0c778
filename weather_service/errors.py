"""What the weather service reports when it cannot answer.

Every error is an :class:`~canaduck.problems.ApiError`, rendered as problem JSON whose
``code`` member names it::

    ApiError
    ├── CityNotFound             404 CITY_NOT_FOUND         no gazetteer entry for the name
    └── ProviderError            502 PROVIDER_ERROR         (base, never raised itself)
        ├── ProviderUnavailable  502 PROVIDER_UNAVAILABLE   unreachable, 5xx or 429 upstream
        ├── ProviderBadResponse  502 PROVIDER_BAD_RESPONSE  an answer we cannot read
        └── ProviderTimeout      504 PROVIDER_TIMEOUT       no answer before the deadline

Provider errors never carry the provider's URL or raw body: those go to the log only.
"""

from __future__ import annotations

from canaduck.problems import ApiError


class CityNotFound(ApiError):
    status_code = 404
    code = "CITY_NOT_FOUND"
    title = "City not found"


class ProviderError(ApiError):
    status_code = 502
    code = "PROVIDER_ERROR"
    title = "Weather provider error"


class ProviderUnavailable(ProviderError):
    code = "PROVIDER_UNAVAILABLE"
    title = "Weather provider unavailable"


class ProviderBadResponse(ProviderError):
    code = "PROVIDER_BAD_RESPONSE"
    title = "Unreadable weather provider response"


class ProviderTimeout(ProviderError):
    status_code = 504
    code = "PROVIDER_TIMEOUT"
    title = "Weather provider timeout"
