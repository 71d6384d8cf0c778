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
import base64
import hashlib
import io
import os
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import httpx

STATIC_DIR = Path(__file__).resolve().parent / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
NPM_REGISTRY = "https://registry.npmjs.org"
CDN = "https://unpkg.com"
DOWNLOAD_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True)
class Asset:
    """One file of an npm package, as Strawberry's page loads it from unpkg."""

    package: str
    version: str
    path: str
    integrity: str  # the SRI value: "sha384-" + base64 digest

    @property
    def name(self) -> str:
        """``package@version/path``: its place under the vendor directory and on unpkg."""
        return f"{self.package}@{self.version}/{self.path}"

    @property
    def cdn_url(self) -> str:
        return f"{CDN}/{self.name}"

    @property
    def tarball(self) -> str:
        """The file name of the package's tarball (``npm pack`` names it the same way)."""
        return f"{self.package.rsplit('/', 1)[-1]}-{self.version}.tgz"

    def tarball_url(self, registry: str) -> str:
        return f"{registry.rstrip('/')}/{self.package}/-/{self.tarball}"


# GraphiQL 3.x + React 18 UMD builds: graphiql 4+ is ESM-only and React 19 has no UMD build,
# so neither loads from a plain <script> tag. Bump together with strawberry-graphql.
GRAPHIQL_ASSETS: tuple[Asset, ...] = (
    Asset(
        "react",
        "18.2.0",
        "umd/react.production.min.js",
        "sha384-tMH8h3BGESGckSAVGZ82T9n90ztNXxvdwvdM6UoR56cYcf+0iGXBliJ29D+wZ/x8",
    ),
    Asset(
        "react-dom",
        "18.2.0",
        "umd/react-dom.production.min.js",
        "sha384-bm7MnzvK++ykSwVJ2tynSE5TRdN+xL418osEVF2DE/L/gfWHj91J2Sphe582B1Bh",
    ),
    Asset(
        "js-cookie",
        "3.0.5",
        "dist/js.cookie.min.js",
        "sha384-/vxhYfM1LENRhdpZ8dwEsQn/X4VhpbEZSiU4m/FwR+PVpzar4fkEOw8FP9Y+OfQN",
    ),
    Asset(
        "graphiql",
        "3.8.3",
        "graphiql.min.css",
        "sha384-Mq3vbRBY71jfjQAt/DcjxUIYY33ksal4cgdRt9U/hNPvHBCaT2JfJ/PTRiPKf0aM",
    ),
    Asset(
        "@graphiql/plugin-explorer",
        "1.0.2",
        "dist/style.css",
        "sha384-5DFJlDPW2tSATRbM8kzoP1j194jexLswuNmClWoRr2Q0x7R68JIQzPHZ02Faktwi",
    ),
    Asset(
        "graphiql",
        "3.8.3",
        "graphiql.min.js",
        "sha384-HbRVEFG0JGJZeAHCJ9Xm2+tpknBQ7QZmNlO/DgZtkZ0aJSypT96YYGRNod99l9Ie",
    ),
    Asset(
        "@graphiql/plugin-explorer",
        "1.0.2",
        "dist/index.umd.js",
        "sha384-2oonKe47vfHIZnmB6ZZ10vl7T0Y+qrHQF2cmNTaFDuPshpKqpUMGMc9jgj9MLDZ9",
    ),
)


class AssetError(Exception):
    """An asset could not be fetched, or its bytes do not match the pinned hash."""


def sri(data: bytes) -> str:
    """The Subresource Integrity value of ``data``, in the form the manifest pins."""
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


def is_verified(asset: Asset, directory: Path = VENDOR_DIR) -> bool:
    """True when the asset's file is present with exactly the pinned bytes."""
    try:
        return sri((directory / asset.name).read_bytes()) == asset.integrity
    except OSError:
        return False


def missing(assets: Iterable[Asset] = GRAPHIQL_ASSETS, directory: Path = VENDOR_DIR) -> list[Asset]:
    """The assets that are absent from ``directory`` or differ from their pinned hash."""
    return [asset for asset in assets if not is_verified(asset, directory)]


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
