"""``python -m gateway.assets``: fetch GraphiQL's browser files from npm, verified.

Strawberry's GraphiQL page loads seven files from unpkg.com, each pinned with a sha384
Subresource Integrity hash. unpkg serves the files of npm tarballs, so the registry's
tarballs hold the very same bytes: we pin the same hashes here (a test checks them against
Strawberry's page), refuse any file that does not match, and write the files under
``gateway/static/vendor/<package>@<version>/<path>``, the layout of unpkg's URLs.

The files are not in git: an install (``pip install -e .`` then this command) or the Docker
image build fetches them. Run it again at any time; files already verified are kept. With
no registry in reach, ``--from DIR`` reads tarballs that ``npm pack <package>@<version>``
made on another machine.
"""

from __future__ import annotations

import argparse
import io
import os
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import httpx

from gateway.pages.vendor import (
    CDN,
    GRAPHIQL_ASSETS,
    STATIC_DIR,
    VENDOR_DIR,
    Asset,
    is_verified,
    missing,
    sri,
)

__all__ = [
    "CDN",
    "GRAPHIQL_ASSETS",
    "STATIC_DIR",
    "VENDOR_DIR",
    "Asset",
    "is_verified",
    "missing",
    "sri",
]

NPM_REGISTRY = "https://registry.npmjs.org"
DOWNLOAD_TIMEOUT_SECONDS = 60.0


class AssetError(Exception):
    """An asset could not be fetched, or its bytes do not match the pinned hash."""


Fetch = Callable[[str], bytes]
"""Returns the bytes of one tarball, given its file name (``react-18.2.0.tgz``)."""


def registry_fetch(client: httpx.Client, registry: str, assets: Iterable[Asset]) -> Fetch:
    urls = {asset.tarball: asset.tarball_url(registry) for asset in assets}

    def fetch(tarball: str) -> bytes:
        url = urls[tarball]
        try:
            response = client.get(url)
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise AssetError(f"cannot download {url}: {exc}") from exc
        return response.content

    return fetch


def directory_fetch(directory: Path) -> Fetch:
    def fetch(tarball: str) -> bytes:
        try:
            return (directory / tarball).read_bytes()
        except OSError as exc:
            raise AssetError(f"cannot read {directory / tarball}: {exc.strerror}") from exc

    return fetch


def extract(tarball: bytes, asset: Asset) -> bytes:
    """The asset's bytes out of an npm tarball (every entry sits under ``package/``)."""
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:
            member = archive.extractfile(f"package/{asset.path}")
            if member is None:
                raise AssetError(f"{asset.tarball}: package/{asset.path} is not a regular file")
            return member.read()
    except KeyError as exc:
        raise AssetError(f"{asset.tarball} has no package/{asset.path}") from exc
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise AssetError(f"{asset.tarball} is not a readable npm tarball: {exc}") from exc


def install(
    fetch: Fetch,
    assets: Sequence[Asset] = GRAPHIQL_ASSETS,
    directory: Path = VENDOR_DIR,
    report: Callable[[str], None] = print,
) -> None:
    """Fetch every asset not yet verified in ``directory``; raise :class:`AssetError`."""
    tarballs: dict[str, bytes] = {}
    for asset in assets:
        if is_verified(asset, directory):
            report(f"ok       {asset.name}")
            continue
        if asset.tarball not in tarballs:
            tarballs[asset.tarball] = fetch(asset.tarball)
        data = extract(tarballs[asset.tarball], asset)
        if (actual := sri(data)) != asset.integrity:
            raise AssetError(
                f"{asset.name} does not match its pinned hash "
                f"(expected {asset.integrity}, got {actual}); nothing was written for it"
            )
        _write_atomically(directory / asset.name, data)
        report(f"fetched  {asset.name}")


def _write_atomically(path: Path, data: bytes) -> None:
    # A half-written file would fail the browser's integrity check: write aside, then rename.
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=".part-", delete=False) as part:
        part.write(data)
    os.replace(part.name, path)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gateway.assets",
        description="Fetch the GraphiQL page's files from the npm registry and verify them, "
        "so /graphql works offline.",
    )
    parser.add_argument(
        "--registry",
        default=os.environ.get("NPM_CONFIG_REGISTRY", NPM_REGISTRY),
        help="npm registry URL (default: $NPM_CONFIG_REGISTRY or %(default)s)",
    )
    parser.add_argument(
        "--from",
        dest="tarballs",
        type=Path,
        metavar="DIR",
        help="read the tarballs from DIR (made by `npm pack`) instead of the registry",
    )
    parser.add_argument(
        "--check", action="store_true", help="only verify the files present; fetch nothing"
    )
    parser.add_argument("--dest", type=Path, default=VENDOR_DIR, help="default: %(default)s")
    args = parser.parse_args(argv)

    if args.check:
        absent = missing(GRAPHIQL_ASSETS, args.dest)
        for asset in absent:
            print(f"missing  {asset.name}", file=sys.stderr)
        print(f"{len(GRAPHIQL_ASSETS) - len(absent)}/{len(GRAPHIQL_ASSETS)} assets verified")
        return 1 if absent else 0

    try:
        if args.tarballs is not None:
            install(directory_fetch(args.tarballs), directory=args.dest)
        else:
            with httpx.Client(timeout=DOWNLOAD_TIMEOUT_SECONDS, follow_redirects=True) as client:
                install(registry_fetch(client, args.registry, GRAPHIQL_ASSETS), directory=args.dest)
    except AssetError as exc:
        print(f"error: {exc}", file=sys.stderr)
        print(
            "GraphiQL will load from the public CDN instead (a blank page offline). "
            "Retry where the npm registry is reachable, or pass --from DIR.",
            file=sys.stderr,
        )
        return 1
    print(f"{len(GRAPHIQL_ASSETS)} assets verified in {args.dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
