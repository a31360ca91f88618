"""Expanding command-line inputs (files, folders, list files) into work items with stable ids.

An input's id is its path relative to its *root* (the folder given, the folder
of a list file, or the folder of a single file), escaped (`common.ids`),
prefixed by the root's label: ``<label>/<path>``. A store remembers the label
of every root it has seen (``roots.json``, keyed by the root's real path), so
ids never change when roots are added, removed or given in another order:

* the first root of a store, when it comes alone, gets the empty label (ids
  are plain relative paths, ``a.jpg``);
* every other root gets its folder name as label, made unique (``photos``,
  ``photos~2`` for a second folder called photos) and never equal to a
  top-level name of the unlabelled root;
* a listed file outside its list's folder has its absolute path as id.

Nothing is left out silently: every file not taken (hidden, unreadable
folder, linked folder, other extension, an id already taken by another file)
comes back as a problem with its reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from myPython.common.fileio import walk_files
from myPython.common.ids import escape, unescape
from myPython.common.images import IMAGE_EXTENSIONS
from myPython.common.inputfiles import display_name
from myPython.pool.video import VIDEO_EXTENSIONS

LIST_EXTENSIONS = {".txt", ".lst", ".list"}
MAX_LIST_BYTES = 1 << 30


@dataclass(frozen=True)
class InputItem:
    key: str  # id of the input: escaped path relative to its root, with the root's label (frames append #t=...)
    path: str
    kind: str  # "image" or "video"
    done_rows: int = 0  # rows of this input already committed (a long video cut by a killed run)


@dataclass
class Root:
    folder: Path  # ids are relative to this folder
    files: list[Path] = field(default_factory=list)

    @property
    def key(self) -> str:
        return os.path.realpath(self.folder)


def kind_of(path: str | os.PathLike) -> str | None:
    suffix = Path(path).suffix.lower()
    if suffix in IMAGE_EXTENSIONS:
        return "image"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    return None


def _problem(path: str | os.PathLike, reason: str) -> dict:
    name = display_name(path)
    return {"input": name, "reason": f"{name}: {reason}"}


def _read_list(path: Path, problems: list[dict]) -> list[Path]:
    """The files a list file names (one per line, `#` comments), relative to its folder."""
    if path.stat().st_size > MAX_LIST_BYTES:
        problems.append(_problem(path, "list file over 1 GB, not read"))
        return []
    base, listed = path.parent, []
    # surrogateescape: a listed name that is not UTF-8 stays the same bytes
    for line in path.read_bytes().decode("utf-8", "surrogateescape").split("\n"):
        line = line.strip()
        if line and not line.startswith("#"):
            listed.append(Path(os.path.normpath(line if os.path.isabs(line) else base / line)))
    return listed


def collect_inputs(inputs: list[str | os.PathLike]) -> tuple[list[Root], list[dict]]:
    """(roots with their files in a stable order, problems) of the command-line inputs; no ids yet."""
    roots: list[Root] = []
    problems: list[dict] = []
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            files = walk_files(path, on_skip=lambda p, why: problems.append(_problem(p, why)))
            roots.append(Root(path, files))
        elif path.is_file() and path.suffix.lower() in LIST_EXTENSIONS:
            roots.append(Root(path.parent, _read_list(path, problems)))
        elif path.exists() or path.is_symlink():
            roots.append(Root(path.parent, [path]))
        else:
            problems.append(_problem(path, "not found"))
    return roots, problems


def _unused_label(folder: str, labels: dict[str, str]) -> str:
    """The folder's name, made unique among the labels and the unlabelled root's top-level names."""
    base = escape(os.path.basename(folder)) or "root"
    taken = set(labels.values())
    unlabelled = [root for root, label in labels.items() if label == ""]
    label, n = base, 1
    while label in taken or any(os.path.lexists(os.path.join(r, unescape(label))) for r in unlabelled):
        n += 1
        label = f"{base}~{n}"
    return label


def label_roots(roots: list[Root], labels: dict[str, str]) -> dict[str, str]:
    """The labels of the store (real path -> label) with the new roots added (see the module docstring)."""
    labels = dict(labels)
    new = list(dict.fromkeys(root.key for root in roots if root.key not in labels))
    if not labels and len(new) == 1:
        labels[new[0]] = ""
    else:
        for key in new:
            labels[key] = _unused_label(key, labels)
    return labels


def assign_ids(roots: list[Root], labels: dict[str, str]) -> tuple[list[InputItem], list[dict]]:
    """(items, problems): every image and video of the roots with its id; `labels` must cover the roots."""
    items: list[InputItem] = []
    problems: list[dict] = []
    owner: dict[str, str] = {}  # id -> real path of its file
    for root in roots:
        label = labels[root.key]
        for file in root.files:
            rel = os.path.relpath(os.path.abspath(file), os.path.abspath(root.folder))
            if rel == ".." or rel.startswith("../"):  # a listed file outside the list's folder
                key = escape(os.path.abspath(file))
            else:
                key = f"{label}/{escape(rel)}" if label else escape(rel)
            kind = kind_of(file)
            if kind is None:
                problems.append({"input": key, "reason": f"{display_name(file)}: not an image or video extension"})
                continue
            real = os.path.realpath(file)
            if key in owner:
                if owner[key] != real:  # the same id for two files: never dropped silently
                    problems.append({"input": key, "reason": f"{display_name(file)}: its id {key} is already "
                                     f"taken by {display_name(owner[key])}"})
                continue
            owner[key] = real
            items.append(InputItem(key, str(file), kind))
    return items, problems


def expand_inputs(inputs: list[str | os.PathLike], labels: dict[str, str] | None = None
                  ) -> tuple[list[InputItem], list[dict]]:
    """(items, problems) of the inputs, with the labels of a store (or those a new store would give)."""
    roots, problems = collect_inputs(inputs)
    items, more = assign_ids(roots, label_roots(roots, labels or {}))
    return items, problems + more


def path_of(input_id: str, labels: dict[str, str]) -> str | None:
    """The file an input id stands for, from a store's root labels (None when no root matches)."""
    if input_id.startswith("/"):
        return unescape(input_id)
    by_label = {label: root for root, label in labels.items()}
    head, sep, rest = input_id.partition("/")
    if sep and head and head in by_label:
        return os.path.join(by_label[head], unescape(rest))
    if "" in by_label:
        return os.path.join(by_label[""], unescape(input_id))
    return None
