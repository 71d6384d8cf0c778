"""Which city a name resolves to, as a /weather client sees it."""

from __future__ import annotations

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from canaduck.inputs import fold
from weather_service.cities import name_key


async def weather(client: httpx.AsyncClient, city: str, **params: str) -> httpx.Response:
    return await client.get("/weather", params={"city": city, **params})


async def test_tombouctou_is_timbuktu_in_mali(client: httpx.AsyncClient) -> None:
    """The French name finds Timbuktu, Mali, on Bamako time."""
    body = (await weather(client, "Tombouctou")).json()
    assert (body["city"], body["country"], body["timezone"]) == ("Timbuktu", "ML", "Africa/Bamako")


@pytest.mark.parametrize("name", ["rodez", "RODEZ", "Rodez", "  rodez "])
async def test_case_and_spacing_do_not_matter(client: httpx.AsyncClient, name: str) -> None:
    """Any case (and stray spaces) finds Rodez, France."""
    body = (await weather(client, name)).json()
    assert (body["city"], body["country"]) == ("Rodez", "FR")


@pytest.mark.parametrize("name", ["São Paulo", "Sao Paulo", "são paulo", "SAO PAULO"])
async def test_sao_paulo_is_the_brazilian_city_not_luanda(
    client: httpx.AsyncClient, name: str
) -> None:
    """With or without the accent, São Paulo is Brazil's city, not Luanda (an alias there)."""
    body = (await weather(client, name)).json()
    assert (body["city"], body["country"], body["timezone"]) == (
        "São Paulo",
        "BR",
        "America/Sao_Paulo",
    )


async def test_paris_is_the_french_capital(client: httpx.AsyncClient) -> None:
    """Paris is Paris, France: not an arrondissement, not Paris, Texas."""
    body = (await weather(client, "Paris")).json()
    assert (body["city"], body["country"], body["timezone"]) == ("Paris", "FR", "Europe/Paris")
    assert body["latitude"] == pytest.approx(48.85, abs=0.05)


@pytest.mark.parametrize("country", ["US", "us"])
async def test_country_picks_among_namesakes(client: httpx.AsyncClient, country: str) -> None:
    """country=US (any case) gives Paris, Texas, on Chicago time."""
    body = (await weather(client, "Paris", country=country)).json()
    assert (body["city"], body["country"], body["timezone"]) == ("Paris", "US", "America/Chicago")


async def test_hyphens_and_spaces_are_interchangeable(client: httpx.AsyncClient) -> None:
    """Saint Etienne, without hyphen or accent, finds Saint-Étienne."""
    body = (await weather(client, "Saint Etienne")).json()
    assert (body["city"], body["country"]) == ("Saint-Étienne", "FR")


async def test_names_in_other_scripts_resolve(client: httpx.AsyncClient) -> None:
    """Alternate names in other scripts count too: Москва is Moscow."""
    body = (await weather(client, "Москва")).json()
    assert (body["city"], body["country"]) == ("Moscow", "RU")


async def test_unknown_city_is_a_404_problem(client: httpx.AsyncClient) -> None:
    """An unknown name gets 404 CITY_NOT_FOUND problem JSON that names the city."""
    response = await weather(client, "Nowhereville")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "CITY_NOT_FOUND"
    assert "Nowhereville" in problem["detail"]


async def test_city_missing_from_that_country_says_where_it_is(client: httpx.AsyncClient) -> None:
    """Paris in Germany is a 404 whose detail lists the countries that have a Paris."""
    response = await weather(client, "Paris", country="DE")
    assert response.status_code == 404
    problem = response.json()
    assert problem["code"] == "CITY_NOT_FOUND"
    assert "FR" in problem["detail"]
    assert "US" in problem["detail"]


@given(st.text(max_size=40))
def test_name_key_folds_like_the_shared_rule(text: str) -> None:
    """The gazetteer's fast key equals canaduck's fold(), with hyphens as spaces."""
    assert name_key(text) == " ".join(fold(text).replace("-", " ").split())
