"""Write and check SHA256SUMS files in the format of GNU sha256sum."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Iterable, Iterator

__all__ = ["Entry", "CheckResult", "digest_file", "render", "parse", "check"]

_CHUNK = 1 << 16


@dataclass(frozen=True)
class Entry:
    """One line of a SHA256SUMS file."""

    sha256: str
    name: str


@dataclass(frozen=True)
class CheckResult:
    name: str
    status: str  # "OK", "FAILED" or "MISSING"


def digest_file(path: str | os.PathLike[str]) -> str:
    """Return the lowercase hex SHA-256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def render(entries: Iterable[Entry]) -> str:
    """Render entries as `sha256sum` does, sorted by name for stable output."""
    return "".join(f"{e.sha256}  {e.name}\n" for e in sorted(entries, key=lambda e: e.name))


def parse(text: str) -> Iterator[Entry]:
    """Parse `sha256sum` output; both text (two spaces) and binary (` *`) forms."""
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        digest, sep, name = line.partition(" ")
        if not sep or len(digest) != 64 or not name:
            raise ValueError(f"line {number}: not a sha256sum line: {line!r}")
        if name[0] in " *":
            name = name[1:]
        int(digest, 16)  # raises ValueError on non-hex
        yield Entry(digest.lower(), name)


def check(text: str, root: str | os.PathLike[str] = ".") -> list[CheckResult]:
    """Check every entry of a SHA256SUMS text against files under `root`."""
    results = []
    for entry in parse(text):
        path = os.path.join(root, entry.name)
        if not os.path.isfile(path):
            results.append(CheckResult(entry.name, "MISSING"))
        elif digest_file(path) == entry.sha256:
            results.append(CheckResult(entry.name, "OK"))
        else:
            results.append(CheckResult(entry.name, "FAILED"))
    return results
