from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.support.processes import running


@pytest.mark.e2e
def test_real_process_serves_jokes_from_its_db_file(tmp_path: Path) -> None:
    """python -m joke_service creates JOKE_DB_PATH and serves the same joke at /joke and by id."""
    db_path = tmp_path / "j.sqlite3"
    with running("joke_service", env={"JOKE_DB_PATH": str(db_path)}) as service:
        random_pick = httpx.get(f"{service.url}/joke", timeout=5.0)
        by_id = httpx.get(f"{service.url}/jokes/{random_pick.json()['id']}", timeout=5.0)
    assert random_pick.status_code == 200
    assert random_pick.json()["lang"] == "fr"
    assert by_id.content == random_pick.content
    assert db_path.stat().st_size > 0
