"""Expanding command-line inputs (files, folders, list files) into work items with stable ids."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from myPython.common.fileio import walk_files
from myPython.pool.images import IMAGE_EXTENSIONS
from myPython.pool.video import VIDEO_EXTENSIONS

LIST_EXTENSIONS = {".txt", ".lst", ".list"}


@dataclass(frozen=True)
class InputItem:
    key: str  # id of the input: path relative to its root (frames append #t=...)
    path: str
    kind: str  # "image" or "video"


def kind_of(path: str | os.PathLike) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    return None


def expand_inputs(inputs: list[str | os.PathLike]) -> tuple[list[InputItem], list[dict]]:
    """(items, problems): every image and video under the inputs, in a stable order.

    Ids are paths relative to the input's root (the folder given, the folder of
    a list file, or the folder of a single file). With several inputs, each
    root's ids are prefixed by the root's name to keep them apart.
    """
    roots: list[tuple[Path, list[Path]]] = []
    problems: list[dict] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            roots.append((path, walk_files(path)))
        elif path.is_file() and path.suffix.lower() in LIST_EXTENSIONS:
            base = path.parent
            listed = []
            for line in path.read_text(encoding="utf-8").splitlines():
                line = line.strip()
                if line and not line.startswith("#"):
                    listed.append(Path(line) if Path(line).is_absolute() else base / line)
            roots.append((base, listed))
        elif path.exists() or path.is_symlink():
            roots.append((path.parent, [path]))
        else:
            problems.append({"input": str(path), "reason": f"{path}: not found"})
    prefix_roots = len(roots) > 1
    items: list[InputItem] = []
    seen: set[str] = set()
    for root, files in roots:
        for file in files:
            kind = kind_of(file)
            try:
                rel = file.relative_to(root).as_posix()
            except ValueError:
                rel = file.as_posix()
            key = f"{root.name}/{rel}" if prefix_roots and root.name else rel
            if kind is None:
                problems.append({"input": key, "reason": f"{file}: not an image or video extension"})
                continue
            if key in seen:
                continue
            seen.add(key)
            items.append(InputItem(key, str(file), kind))
    return items, problems
