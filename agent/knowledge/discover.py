"""The files an ingest reads: those named, and every supported file under the folders named.

Hidden files and folders (".git", ".DS_Store") are passed over silently; a file of a type no
parser reads, or a path that is not there, is reported as skipped with the reason."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from agent.knowledge.parsing import unsupported


@dataclass(frozen=True, slots=True)
class Found:
    path: Path
    source: str  # a file named directly: its name; one found in a folder: its path below it, POSIX style


@dataclass(frozen=True, slots=True)
class Skipped:
    path: Path
    reason: str


@dataclass(frozen=True, slots=True)
class Discovery:
    found: tuple[Found, ...]
    skipped: tuple[Skipped, ...]


def discover(paths: Sequence[Path]) -> Discovery:
    """Each path in the order given; a folder's files in sorted order of their path below it.

    A file reached twice (named, and inside a folder named) is read once, as first found."""
    found: list[Found] = []
    skipped: list[Skipped] = []
    seen: set[Path] = set()
    for path in paths:
        if path.is_dir():
            entries = _walk(path, skipped)
        elif path.is_file():
            entries = [(path, path.name)]
        else:
            entries = []
            skipped.append(Skipped(path, _not_a_file(path)))
        for file, source in entries:
            if reason := unsupported(file):
                skipped.append(Skipped(file, reason))
                continue
            key = file.resolve()
            if key not in seen:
                seen.add(key)
                found.append(Found(file, source))
    return Discovery(tuple(found), tuple(skipped))


def _walk(folder: Path, skipped: list[Skipped]) -> list[tuple[Path, str]]:
    """The regular, visible files below `folder`, with their POSIX paths relative to it, sorted."""
    files: list[tuple[Path, str]] = []

    def unreadable(error: OSError) -> None:
        skipped.append(Skipped(Path(error.filename or folder), f"cannot read folder: {error.strerror or error}"))

    # Links to folders are not followed: a link back up would walk forever.
    for top, dirnames, filenames in os.walk(folder, onerror=unreadable):
        dirnames[:] = sorted(name for name in dirnames if not name.startswith("."))
        for name in filenames:
            file = Path(top) / name
            if name.startswith("."):
                continue
            if not file.is_file():
                skipped.append(Skipped(file, _not_a_file(file)))
                continue
            files.append((file, file.relative_to(folder).as_posix()))
    files.sort(key=lambda entry: Path(entry[1]).parts)
    return files


def _not_a_file(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "broken link"
    return "not a regular file" if path.exists() else "no such file or folder"
