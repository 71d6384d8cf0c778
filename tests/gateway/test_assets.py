"""``python -m gateway.assets``: GraphiQL's files from npm tarballs, verified, never guessed."""

from __future__ import annotations

import io
import re
import tarfile
from pathlib import Path

import httpx
import pytest
from strawberry.http.ides import get_graphql_ide_html

from gateway.assets import (
    GRAPHIQL_ASSETS,
    Asset,
    AssetError,
    directory_fetch,
    install,
    main,
    registry_fetch,
    sri,
)

README = b"/* a file of the fake package */\n"


def tarball(files: dict[str, bytes]) -> bytes:
    """An npm-style tarball: every file under ``package/``."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for path, data in files.items():
            info = tarfile.TarInfo(f"package/{path}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def fake_asset(data: bytes = README, path: str = "dist/lib.js") -> Asset:
    return Asset("@demo/lib", "1.2.3", path, sri(data))


class CountingFetch:
    """A fetch that serves fixed tarballs by name and counts its calls."""

    def __init__(self, tarballs: dict[str, bytes]) -> None:
        self.tarballs = tarballs
        self.calls: list[str] = []

    def __call__(self, name: str) -> bytes:
        self.calls.append(name)
        return self.tarballs[name]


def test_manifest_pins_exactly_what_strawberrys_page_loads() -> None:
    """Each pinned URL and hash is one that the installed Strawberry's GraphiQL page uses."""
    html = get_graphql_ide_html("graphiql")
    on_page = set(
        re.findall(r'(?:src|href)="(https://unpkg\.com/[^"]+)"\s+integrity="([^"]+)"', html)
    )
    assert on_page == {(asset.cdn_url, asset.integrity) for asset in GRAPHIQL_ASSETS}


def test_install_writes_verified_files_under_package_at_version(tmp_path: Path) -> None:
    """A file whose bytes match its pinned hash lands at <package>@<version>/<path>."""
    asset = fake_asset()
    install(CountingFetch({"lib-1.2.3.tgz": tarball({asset.path: README})}), [asset], tmp_path)
    assert (tmp_path / "@demo/lib@1.2.3/dist/lib.js").read_bytes() == README


def test_install_refuses_bytes_that_differ_from_the_pin(tmp_path: Path) -> None:
    """A tampered tarball raises AssetError naming the file, and nothing is written."""
    asset = fake_asset()
    fetch = CountingFetch({"lib-1.2.3.tgz": tarball({asset.path: b"alert('pwned')"})})
    with pytest.raises(AssetError, match="does not match its pinned hash"):
        install(fetch, [asset], tmp_path)
    assert not list(tmp_path.rglob("*.js"))


def test_install_is_idempotent_and_fetches_nothing_when_verified(tmp_path: Path) -> None:
    """A second run finds every file verified and downloads no tarball."""
    asset = fake_asset()
    fetch = CountingFetch({"lib-1.2.3.tgz": tarball({asset.path: README})})
    install(fetch, [asset], tmp_path)
    install(fetch, [asset], tmp_path)
    assert fetch.calls == ["lib-1.2.3.tgz"]


def test_install_replaces_a_corrupted_file(tmp_path: Path) -> None:
    """A file present with the wrong bytes (a cut download) is fetched again."""
    asset = fake_asset()
    target = tmp_path / asset.name
    target.parent.mkdir(parents=True)
    target.write_bytes(README[:5])
    install(CountingFetch({"lib-1.2.3.tgz": tarball({asset.path: README})}), [asset], tmp_path)
    assert target.read_bytes() == README


def test_install_downloads_each_tarball_once(tmp_path: Path) -> None:
    """Two files of one package (graphiql's JS and CSS) cost one download."""
    css = b"body{}"
    assets = [fake_asset(), fake_asset(css, "dist/lib.css")]
    fetch = CountingFetch({"lib-1.2.3.tgz": tarball({"dist/lib.js": README, "dist/lib.css": css})})
    install(fetch, assets, tmp_path)
    assert fetch.calls == ["lib-1.2.3.tgz"]


def test_a_tarball_without_the_file_is_reported(tmp_path: Path) -> None:
    """A package whose tarball lacks the pinned path raises an error naming both."""
    fetch = CountingFetch({"lib-1.2.3.tgz": tarball({"other.js": README})})
    with pytest.raises(AssetError, match=r"lib-1\.2\.3\.tgz has no package/dist/lib\.js"):
        install(fetch, [fake_asset()], tmp_path)


def test_garbage_instead_of_a_tarball_is_reported(tmp_path: Path) -> None:
    """An HTML error page served as a tarball raises AssetError, not a tarfile traceback."""
    fetch = CountingFetch({"lib-1.2.3.tgz": b"<html>proxy error</html>"})
    with pytest.raises(AssetError, match="not a readable npm tarball"):
        install(fetch, [fake_asset()], tmp_path)


def test_registry_fetch_asks_for_npm_tarball_urls() -> None:
    """Scoped packages are fetched from <registry>/@scope/name/-/name-<version>.tgz."""
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, content=b"tgz")

    with httpx.Client(transport=httpx.MockTransport(handler)) as client:
        fetch = registry_fetch(client, "https://registry.example/", GRAPHIQL_ASSETS)
        fetch("plugin-explorer-1.0.2.tgz")
    assert seen == [
        "https://registry.example/@graphiql/plugin-explorer/-/plugin-explorer-1.0.2.tgz"
    ]


def test_registry_errors_name_the_url() -> None:
    """A 404 from the registry becomes an AssetError that says which URL failed."""
    with httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(404))) as client:
        fetch = registry_fetch(client, "https://registry.example", GRAPHIQL_ASSETS)
        with pytest.raises(AssetError, match=r"registry\.example/react/-/react-18\.2\.0\.tgz"):
            fetch("react-18.2.0.tgz")


def test_tarballs_can_come_from_a_directory(tmp_path: Path) -> None:
    """With --from, tarballs made by `npm pack` elsewhere are read from disk."""
    asset = fake_asset()
    (tmp_path / "lib-1.2.3.tgz").write_bytes(tarball({asset.path: README}))
    install(directory_fetch(tmp_path), [asset], tmp_path / "vendor")
    assert (tmp_path / "vendor" / asset.name).read_bytes() == README


def test_a_missing_local_tarball_fails_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--from a directory without the tarballs exits 1 and says what it could not read."""
    assert main(["--from", str(tmp_path), "--dest", str(tmp_path / "vendor")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_check_fails_when_files_are_missing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """--check exits 1 and lists every missing file, fetching nothing."""
    assert main(["--check", "--dest", str(tmp_path)]) == 1
    assert capsys.readouterr().err.count("missing  ") == len(GRAPHIQL_ASSETS)
