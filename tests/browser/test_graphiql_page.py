"""GraphiQL at /graphql in a real browser, with nothing but the gateway to talk to."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from gateway.assets import GRAPHIQL_ASSETS
from tests.browser.conftest import Tab
from tests.browser.prerequisites import require_graphiql_assets
from tests.e2e.conftest import Stack

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

FULLINFO_QUERY = """\
{
  fullinfo(city: "Rodez") {
    city
    weather { temperature condition }
    joke
  }
}"""


def open_graphiql(tab: Tab, stack: Stack, query: str | None = None) -> None:
    require_graphiql_assets()
    url = f"{stack.gateway.url}/graphql" + (f"?q={quote(query)}" if query else "")
    tab.page.goto(url)
    tab.page.locator(".graphiql-execute-button").wait_for()


def test_graphiql_loads_every_file_from_the_gateway(tab: Tab, stack: Stack) -> None:
    """Each request of the page, the seven vendored files included, goes to the gateway."""
    open_graphiql(tab, stack)
    assert tab.foreign_requests(stack.gateway.url) == []
    for asset in GRAPHIQL_ASSETS:
        assert f"{stack.gateway.url}/static/vendor/{asset.name}" in tab.requests
    assert tab.page_errors == []


def test_graphiql_runs_the_fullinfo_query(tab: Tab, stack: Stack) -> None:
    """Running the fullinfo query shows Rodez's temperature and a joke in the result pane."""
    open_graphiql(tab, stack, FULLINFO_QUERY)
    tab.page.locator(".graphiql-execute-button").click()
    result = tab.page.locator(".graphiql-response").filter(has_text='"temperature"')
    result.wait_for()
    text = result.inner_text()
    assert '"city": "Rodez"' in text
    assert '"joke": "' in text
    assert '"errors"' not in text
    tab.screenshot("graphiql-fullinfo")
    assert tab.foreign_requests(stack.gateway.url) == []


def test_graphiql_runs_under_its_csp_without_violations(tab: Tab, stack: Stack) -> None:
    """Loading, the docs, the explorer and a dialog trigger no CSP violation."""
    open_graphiql(tab, stack)
    page = tab.page
    page.get_by_label("Show Documentation Explorer").first.click()
    page.get_by_label("GraphiQL Explorer").first.click()
    page.get_by_label("Open settings dialog").first.click()
    page.get_by_role("dialog").wait_for()
    page.keyboard.press("Escape")
    page.get_by_role("dialog").wait_for(state="detached")
    assert tab.csp_violations == []
    assert tab.page_errors == []
