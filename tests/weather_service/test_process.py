"""The weather service as a real process, as operators and the gateway run it."""

from __future__ import annotations

import httpx
import pytest

from tests.support.processes import running


@pytest.mark.e2e
def test_python_m_weather_service_answers_over_http() -> None:
    """`python -m weather_service` serves Tombouctou's simulated weather and its OpenAPI."""
    with running("weather_service", env={"WEATHER_PROVIDER": "simulated"}) as service:
        response = httpx.get(f"{service.url}/weather", params={"city": "Tombouctou"}, timeout=10)
        assert response.status_code == 200
        body = response.json()
        assert (body["city"], body["country"], body["source"]) == ("Timbuktu", "ML", "simulated")
        openapi = httpx.get(f"{service.url}/openapi.json", timeout=10).json()
        assert "/weather" in openapi["paths"]
