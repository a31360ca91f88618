"""Checking a store's neighbour graphs (STORE/graph/, pool/knn_graph.py) for `verify`.

A graph whose shard list is the store's is current: searches answer from it, so a committed part or a
shared-content overlay of it that does not read back is damage. A stale graph (shards added or changed since it
was built) is extended or rebuilt by the next search, and a folder that no pointer names is a build in progress
that the next search resumes: neither is damage, both are reported as notes.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from myPython.errors import StoreError
from myPython.pool.graph_shared import SHARED_FILE, read_shared
from myPython.pool.knn_graph import ARRAYS, GRAPH_DIR, part_name, read_part, shard_list
from myPython.pool.store import DescriptorStore


@dataclass
class GraphVerification:
    current: int = 0
    stale: int = 0
    damaged: list[str] = field(default_factory=list)  # "<pointer>: <problem>", one line each
    notes: list[str] = field(default_factory=list)  # stale graphs, builds in progress


def repair_hint(store: DescriptorStore) -> str:
    return f"delete {store.root / GRAPH_DIR}/ (the next search builds it again) or search again with the same settings"


def _part_problem(folder: Path, start: int, stop: int, width: int) -> str:
    """Which file of a part `read_part` refuses, and why (for the message only: `read_part` decides)."""
    label = f"{GRAPH_DIR}/{folder.name}"
    marker = folder / f"{part_name(start)}.json"
    try:
        recorded = json.loads(marker.read_text())
        files = dict(recorded["files"])
        if (recorded["start"], recorded["stop"], recorded["width"]) != (start, stop, width):
            return f"{label}/{marker.name} describes another part than the pointer lists"
    except (OSError, ValueError, KeyError, TypeError):
        return f"{label}/{marker.name} is missing or not readable"
    for name, dtype in ARRAYS.items():
        path = folder / f"{part_name(start)}.{name}.npy"
        if not path.is_file():
            return f"{label}/{path.name} is missing"
        if (size := path.stat().st_size) != files.get(path.name):
            return f"{label}/{path.name} has {size} bytes, its marker says {files.get(path.name)}"
        try:
            array = np.load(path, mmap_mode="r")
        except (OSError, ValueError):
            return f"{label}/{path.name} is not a readable array"
        if (array.dtype, array.shape) != (expected := (np.dtype(dtype), (stop - start, width))):
            return f"{label}/{path.name} holds {array.dtype} {array.shape}, not {expected[0]} {expected[1]}"
    return f"{label}/{marker.name}: the part does not read back"


def _shared_problem(folder: Path, meta: dict) -> str:
    path = folder / SHARED_FILE
    label = f"{GRAPH_DIR}/{folder.name}/{SHARED_FILE}"
    if not path.is_file():
        return f"{label} is missing"
    recorded = (meta.get("shared_content") or {}).get("bytes")
    if (size := path.stat().st_size) != recorded:
        return f"{label} has {size} bytes, the pointer says {recorded}"
    return f"{label} is not readable"


def _staleness(built: list, shards: list | None, problems: list[str]) -> str:
    if shards is None:
        return "cannot be compared with the store's shards while a shard marker is damaged"
    added = bool(built) and built == shards[: len(built)]
    why = f"built before {len(shards) - len(built)} shard(s) were added" if added else "built for other shards"
    if problems:
        return f"stale ({why}) and damaged ({problems[0]}); the next search rebuilds it"
    return f"stale ({why}); the next search {'extends' if added else 'rebuilds'} it"


def _unfinished(folder: Path, shards: list | None) -> str:
    label = f"{GRAPH_DIR}/{folder.name}/"
    done = len(list(folder.glob("part-*.json")))
    try:
        plan = json.loads((folder / "build.json").read_text())
        total = math.ceil(sum(int(s[1]) for s in plan["shards"]) / int(plan["key"]["part_rows"]))
        planned = plan["shards"]
    except (OSError, ValueError, KeyError, TypeError, IndexError, ZeroDivisionError):
        return f"{label}: a build interrupted before its plan was written; the next search starts it again"
    if planned != shards:
        return f"{label}: an unfinished build for other shards ({done} part(s) committed); the next build removes it"
    return f"{label}: a build in progress / resumable ({done} of {total} part(s) committed); the next search resumes it"


def verify_graphs(store: DescriptorStore) -> GraphVerification:
    """Check every graph pointer under STORE/graph/ and every build without one; see the module docstring."""
    result = GraphVerification()
    root = store.root / GRAPH_DIR
    if not root.is_dir():
        return result
    try:
        shards: list | None = shard_list(store)
    except StoreError:
        shards = None  # verify_store reports the damaged marker
    named = set()
    for pointer in sorted(p for p in root.glob("*.json") if not p.name.startswith(".")):
        label = f"{GRAPH_DIR}/{pointer.name}"
        try:
            text = pointer.read_text()
            meta = json.loads(text)
            folder, width, built = root / meta["dir"], int(meta["width"]), meta["shards"]
            parts = [(int(a), int(b)) for a, b in meta["parts"]]
        except (OSError, ValueError, KeyError, TypeError):
            result.damaged.append(f"{label}: not a readable graph pointer")
            continue
        named.add(folder.name)
        problems = [_part_problem(folder, a, b, width) for a, b in parts if read_part(folder, a, b, width) is None]
        if read_shared(folder, meta) is None:
            problems.append(_shared_problem(folder, meta))
        if shards is not None and built == shards:
            result.current += 1
            if problems and pointer.read_text() != text:  # a search replaced the graph while we read it
                result.notes.append(f"{label}: rebuilt by a search while verifying; verify again to check it")
            else:
                result.damaged += [f"{label}: {problem}" for problem in problems]
            continue
        result.stale += 1
        result.notes.append(f"{label}: {_staleness(built, shards, problems)}")
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and p.name not in named):
        result.notes.append(_unfinished(folder, shards))
    return result
