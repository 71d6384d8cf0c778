"""GraphiQL's pinned browser files: the manifest and where the verified copies live.

The runtime half of ``gateway.assets`` (the CLI that fetches them): the pages import this,
never the CLI.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
VENDOR_DIR = STATIC_DIR / "vendor"
CDN = "https://unpkg.com"


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
