"""Just enough of the Dockerfile and .dockerignore formats to check them without Docker."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Instruction:
    """One instruction, continuation lines joined and comments removed."""

    keyword: str
    arguments: str

    def flags(self) -> dict[str, str]:
        """Leading ``--name=value`` flags (COPY --from, --chown...)."""
        return dict(re.findall(r"--([a-z-]+)=(\S+)", self._flag_part()))

    def words(self) -> list[str]:
        """The arguments after the flags, split on whitespace."""
        return self.arguments[len(self._flag_part()) :].split()

    def exec_form(self) -> list[str]:
        """The JSON array of CMD/ENTRYPOINT (or of HEALTHCHECK's CMD)."""
        text = self.arguments
        if self.keyword == "HEALTHCHECK":
            text = text.split(" CMD ", 1)[1]
        parsed = json.loads(text)
        assert isinstance(parsed, list)
        return [str(item) for item in parsed]

    def _flag_part(self) -> str:
        match = re.match(r"(?:--[a-z-]+=\S+\s+)*", self.arguments)
        return match.group(0) if match else ""


@dataclass
class Stage:
    """A FROM and what follows it, up to the next FROM."""

    name: str
    base: str
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]


def parse(text: str) -> dict[str, Stage]:
    """The stages of a Dockerfile, by name (unnamed ones by index)."""
    stages: dict[str, Stage] = {}
    current: Stage | None = None
    for line in _logical_lines(text):
        keyword, _, arguments = line.partition(" ")
        keyword, arguments = keyword.upper(), arguments.strip()
        if keyword == "FROM":
            words = arguments.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else str(len(stages))
            current = stages[name] = Stage(name=name, base=words[0])
        elif current is not None:
            current.instructions.append(Instruction(keyword, arguments))
    return stages


def _logical_lines(text: str) -> list[str]:
    lines, pending = [], ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # comments may sit between continuation lines too
        if stripped.endswith("\\"):
            pending += stripped[:-1].strip() + " "
            continue
        lines.append((pending + stripped).strip())
        pending = ""
    return lines


def chain(stages: dict[str, Stage], name: str) -> list[Stage]:
    """The stage and the stages it is built FROM, nearest first."""
    result = [stages[name]]
    while result[-1].base in stages:
        result.append(stages[result[-1].base])
    return result


def effective(stages: dict[str, Stage], name: str, keyword: str) -> Instruction | None:
    """The instruction in force for a target (its own, else inherited from its bases)."""
    for stage in chain(stages, name):
        found = stage.all(keyword)
        if found:
            return found[-1]
    return None


def port_of_url_in(command: list[str]) -> int | None:
    """The port of the first http:// URL inside a command's arguments."""
    for argument in command:
        if match := re.search(r"https?://[^\s'\"]+", argument):
            return urlsplit(match.group(0)).port
    return None


# ---------------------------------------------------------------- .dockerignore


def _pattern_regex(pattern: str) -> re.Pattern[str]:
    parts = []
    for token in re.split(r"(\*\*/?|\*|\?|\[[^\]]*\])", pattern):
        if token.startswith("[") and token.endswith("]"):
            parts.append(token)  # a character class, as in Go's filepath.Match
        elif token in {"**", "**/"}:
            parts.append("(?:.*/)?" if token == "**/" else ".*")
        elif token == "*":
            parts.append("[^/]*")
        elif token == "?":
            parts.append("[^/]")
        else:
            parts.append(re.escape(token))
    return re.compile("".join(parts) + r"\Z")


class DockerIgnore:
    """Docker's rules: patterns in order, the last one that matches a path (or one of its
    parent directories) decides, and ``!`` re-includes."""

    def __init__(self, text: str) -> None:
        self.rules: list[tuple[bool, re.Pattern[str]]] = []
        for raw in text.splitlines():
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            include = line.startswith("!")
            pattern = line.removeprefix("!").strip().strip("/")
            self.rules.append((include, _pattern_regex(pattern)))

    def excludes(self, path: str) -> bool:
        """Whether ``path`` (relative to the context, with /) stays out of the build context."""
        parts = path.strip("/").split("/")
        candidates = ["/".join(parts[: n + 1]) for n in range(len(parts))]
        excluded = False
        for include, regex in self.rules:
            if any(regex.match(candidate) for candidate in candidates):
                excluded = not include
        return excluded
