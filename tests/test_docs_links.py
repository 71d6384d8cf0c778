"""Every relative path the docs and deployment files cite exists, anchors included.

Checked: README.md, CHANGELOG.md, docs/**/*.md, docker-compose.yml, Dockerfile, traefik/**
and k8s/** (when present). Two kinds of citation: markdown links (``[text](path#anchor)``,
images too) and bare paths in the text (``docs/deploy-notes.md``, ``./traefik/dynamic``).
URLs are not fetched. A bare path counts when it starts with ``./`` or with one of the
repository's top-level folders, so container paths (``/data``), URLs and runtime files
(``var/jokes.sqlite3``) are left alone. An ``#anchor`` into a markdown file must match one of
its headings, slugged the way GitHub does. All broken citations are reported at once.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Pages cited before they are written, allowed to be missing until they land (then checked
# like any other page). Empty: every cited page exists.
RESERVED: set[str] = set()
# Top-level folders that only exist at run time or in a build, never in the repository.
NOT_SOURCE = {"var", "test-artifacts", "build", "dist", "node_modules", "htmlcov"}

MARKDOWN_LINK = re.compile(
    r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)"
)
BARE_PATH = re.compile(r"(?<![\w/.:@~$-])(\.{0,2}/?[A-Za-z0-9_.-]+(?:/[A-Za-z0-9_.-]*)+)")
SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


def cited_files() -> list[Path]:
    files = [ROOT / "README.md", ROOT / "CHANGELOG.md", ROOT / "docker-compose.yml"]
    files += [ROOT / "Dockerfile"]
    files += sorted((ROOT / "docs").rglob("*.md"))
    for folder in ("traefik", "k8s"):
        files += sorted(p for p in (ROOT / folder).rglob("*") if p.is_file())
    return [f for f in files if f.exists()]


def top_level_folders() -> set[str]:
    return {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir()
        and (not p.name.startswith(".") or p.name in {".ci", ".github"})
        and p.name not in NOT_SOURCE
        and not p.name.endswith(".egg-info")
    }


def ignored(relative: str) -> bool:
    """Whether .gitignore covers ``relative``: a generated file need not exist yet."""
    parts = relative.split("/")
    for raw in (ROOT / ".gitignore").read_text().splitlines():
        pattern = raw.strip()
        if not pattern or pattern.startswith(("#", "!")):
            continue
        pattern = pattern.rstrip("/")
        if "/" in pattern:  # anchored at the root
            pattern = pattern.lstrip("/")
            if relative == pattern or relative.startswith(pattern + "/"):
                return True
        elif any(fnmatch(part, pattern) for part in parts):
            return True
    return False


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: formatting dropped, lowercase, punctuation removed."""
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link keeps its text
    text = re.sub(r"<[^>]+>", "", text).replace("`", "").replace("*", "")
    text = re.sub(r"[^\w\- ]", "", text.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every anchor GitHub makes for ``path``'s headings (repeats get -1, -2, ...)."""
    seen: Counter[str] = Counter()
    found = set()
    in_fence = False
    for line in path.read_text().splitlines():
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        match = None if in_fence else HEADING.match(line)
        if match:
            base = slug(match.group(2))
            found.add(base if not seen[base] else f"{base}-{seen[base]}")
            seen[base] += 1
    return found


@dataclass(frozen=True)
class Citation:
    source: Path
    line: int
    target: str
    link: bool  # a markdown link (relative to its file) or a bare path (from the root)

    def __str__(self) -> str:
        return f"{self.source.relative_to(ROOT)}:{self.line}: {self.target}"


def citations(path: Path, folders: set[str]) -> list[Citation]:
    found = []
    markdown = path.suffix == ".md"
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        links = [m.group(1) for m in MARKDOWN_LINK.finditer(line)] if markdown else []
        found += [Citation(path, number, target, link=True) for target in links]
        rest = MARKDOWN_LINK.sub(" ", line) if markdown else line
        for match in BARE_PATH.finditer(rest):
            target = match.group(1).rstrip(".,:;")
            if any(c in target for c in "*{}<>$"):
                continue  # a pattern or a placeholder, not a path
            first = target.removeprefix("./").split("/")[0]
            if target.startswith("./") or first in folders:
                found.append(Citation(path, number, target, link=False))
    return found


def problem(citation: Citation) -> str | None:
    """Why ``citation`` is broken, or None."""
    target = citation.target
    if SCHEME.match(target) or target.startswith("//"):
        return None  # a URL: not ours to check here
    path_part, _, anchor = target.partition("#")
    if not path_part:
        file = citation.source  # an anchor in the same page
    else:
        bases = [citation.source.parent] if citation.link else [ROOT, citation.source.parent]
        candidates = [(base / path_part).resolve() for base in bases]
        existing = [c for c in candidates if c.exists()]
        if not existing:
            first = candidates[0]
            relative = str(first.relative_to(ROOT)) if first.is_relative_to(ROOT) else ""
            if relative in RESERVED or (relative and ignored(relative)):
                return None
            return "no such file"
        file = existing[0]
    if anchor and file.suffix == ".md" and anchor not in anchors(file):
        return f"no heading #{anchor} in {file.relative_to(ROOT)}"
    return None


def test_the_scan_finds_citations() -> None:
    """The scan sees links and bare paths (guards the test below against passing on nothing)."""
    folders = top_level_folders()
    found = {str(c.target) for f in cited_files() for c in citations(f, folders)}
    assert "docs/display.png" in found  # README's screenshot, a markdown image
    assert "docs/deploy-notes.md" in found  # cited bare by docker-compose.yml
    assert "./traefik/dynamic" in found  # a compose volume


def test_slugs_match_github() -> None:
    """Anchors are made the way GitHub makes them."""
    assert slug("TLS (Let's Encrypt through Traefik's ACME)") == (
        "tls-lets-encrypt-through-traefiks-acme"
    )
    assert slug("The `GET /ready` answer") == "the-get-ready-answer"


def test_every_cited_path_exists() -> None:
    """No citation in the docs or deployment files points at a missing file or heading."""
    folders = top_level_folders()
    broken = [
        f"{citation}  ({reason})"
        for file in cited_files()
        for citation in citations(file, folders)
        if (reason := problem(citation)) is not None
    ]
    assert not broken, "broken citations:\n" + "\n".join(broken)
