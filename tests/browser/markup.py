"""Read the gateway's HTML pages the way a CSP-enforcing browser sees them."""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser


@dataclass
class Element:
    tag: str
    attrs: dict[str, str | None]
    text: str = ""


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[Element] = []
        self._open: list[Element] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, dict(attrs))
        self.elements.append(element)
        if tag in ("script", "style"):
            self._open.append(element)

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].text += data

    def handle_endtag(self, tag: str) -> None:
        if self._open and self._open[-1].tag == tag:
            self._open.pop()


def elements(html: str) -> list[Element]:
    """Every start tag of ``html`` with its attributes (and the text of script/style)."""
    collector = _Collector()
    collector.feed(html)
    collector.close()
    return collector.elements


def inline_code(html: str) -> list[Element]:
    """The inline scripts and style elements a CSP must allow (scripts with src excluded)."""
    return [
        e
        for e in elements(html)
        if e.tag == "style" or (e.tag == "script" and "src" not in e.attrs)
    ]


def csp_directives(header: str) -> dict[str, list[str]]:
    """``"script-src 'self'; ..."`` as ``{"script-src": ["'self'"], ...}``."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives
