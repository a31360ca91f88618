"""Checking a descriptor store against its commit markers, and moving damaged shards aside.

`verify_store` reads every file of every committed shard and compares it with
what the shard's marker recorded at commit (size and sha256 of each file, the
row count, the array's shape), checks that every id is well formed and that
no row id appears twice. `quarantine` moves damaged shards, together with
every shard that shares an input with them (the rows of a long video span
several shards), to ``<store>/quarantine/<time>/``; their inputs are then no
longer done, so the next `embed` with the same inputs embeds them again,
each row exactly once.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from myPython.common.assets import sha256_file
from myPython.common.ids import check_id, is_panel, owner_id
from myPython.errors import StoreError
from myPython.pool.store import MARKER_SUFFIX, DescriptorStore, Shard, read_marker


@dataclass
class Verification:
    shards: int = 0
    rows: int = 0
    damaged: dict[str, list[str]] = field(default_factory=dict)  # shard name -> problems
    notes: list[str] = field(default_factory=list)  # things that are not damage (leftovers of a killed run)
    markers: dict[str, dict | None] = field(default_factory=dict)  # shard name -> marker (None: unreadable)

    def add(self, name: str, problem: str) -> None:
        self.damaged.setdefault(name, []).append(problem)


def _check_files(shard: Shard, result: Verification) -> bool:
    files = shard.marker.get("files")
    if not isinstance(files, dict) or f"{shard.name}.npy" not in files or f"{shard.name}.ids.txt" not in files:
        result.add(shard.name, "the marker lists no checksums for the shard's files")
        return False
    whole = True
    for filename, recorded in sorted(files.items()):
        path = shard.folder / filename
        if not path.is_file():
            result.add(shard.name, f"{filename} is missing")
            whole = False
        elif (size := path.stat().st_size) != recorded.get("bytes"):
            result.add(shard.name, f"{filename} has {size} bytes, its marker says {recorded.get('bytes')}")
            whole = False
        elif sha256_file(path) != recorded.get("sha256"):
            result.add(shard.name, f"{filename} does not match its checksum")
            whole = False
    for path in sorted(shard.folder.glob(f"{shard.name}.*")):
        if path.name not in files and path.name != f"{shard.name}{MARKER_SUFFIX}":
            result.notes.append(f"{shard.name}: {path.name} is not listed in the marker (added after the commit)")
    return whole


def verify_store(store: DescriptorStore) -> Verification:
    """Check every committed shard (reads all of them); see the module docstring."""
    result = Verification()
    seen: dict[str, str] = {}  # row id -> shard
    for path in store.markers():
        name = path.name[: -len(MARKER_SUFFIX)]
        result.shards += 1
        try:
            marker = read_marker(path)
            if marker["name"] != name:
                raise StoreError(f"the marker names shard {marker['name']}")
        except StoreError as exc:
            result.markers[name] = None
            result.add(name, f"commit marker: {getattr(exc, 'problem', exc)}")
            continue
        result.markers[name] = marker
        shard = Shard(name, int(marker["rows"]), store.shard_dir, marker, store.dim)
        result.rows += shard.rows
        if not _check_files(shard, result):
            continue
        try:
            shard.vectors()
            ids = shard.ids()
            for ident in (*ids, *shard.inputs()):
                check_id(ident)
            shard.skipped()
        except (StoreError, ValueError) as exc:
            result.add(name, str(getattr(exc, "problem", exc)))
            continue
        owner = None  # the row a panel row here must belong to: the last other row of this shard
        for ident in ids:
            if ident in seen:
                result.add(name, f"row {ident} is also in {seen[ident]}")
                break
            seen[ident] = name
            if not is_panel(ident):
                owner = ident
            elif owner_id(ident) != owner:
                result.add(name, f"panel row {ident} does not follow its owner {owner_id(ident)}")
                break
    committed = set(result.markers)
    leftovers = sorted(p.name for p in store.shard_dir.iterdir() if p.name.lstrip(".").split(".")[0] not in committed)
    if leftovers:
        result.notes.append(f"{len(leftovers)} file(s) without a commit marker (left by a killed run; the next "
                            f"embed removes them): {', '.join(leftovers[:5])}{' ...' if len(leftovers) > 5 else ''}")
    return result


def linked_shards(result: Verification, names: set[str]) -> set[str]:
    """`names` plus every shard sharing an input with them, transitively (inputs spanning shards).

    A shard whose marker cannot be read takes its neighbours in name order
    when they say an input crosses into it.
    """
    order = sorted(result.markers)
    spanning: dict[str, set[str]] = {}
    for name, marker in result.markers.items():
        if marker is not None:
            spanning[name] = set(marker.get("partial", {})) | set(marker.get("continues", []))
    chosen = set(names)
    while True:
        keys = set().union(*(spanning.get(n, set()) for n in chosen))
        more = {n for n, spans in spanning.items() if spans & keys}
        for name in chosen:
            if result.markers.get(name) is None and name in order:
                i = order.index(name)
                before = result.markers.get(order[i - 1]) if i > 0 else None
                after = result.markers.get(order[i + 1]) if i + 1 < len(order) else None
                if before and before.get("partial"):
                    more.add(order[i - 1])
                if after and after.get("continues"):
                    more.add(order[i + 1])
        if more <= chosen:
            return chosen
        chosen |= more


def quarantine(store: DescriptorStore, names: set[str]) -> Path:
    """Move the shards to ``<store>/quarantine/<time>/``: each marker first, so a shard vanishes at once."""
    folder = store.root / "quarantine" / time.strftime("%Y%m%d-%H%M%S")
    n = 1
    while folder.exists():
        n += 1
        folder = folder.with_name(f"{time.strftime('%Y%m%d-%H%M%S')}-{n}")
    folder.mkdir(parents=True)
    for name in sorted(names):
        marker = store.shard_dir / f"{name}{MARKER_SUFFIX}"
        if marker.exists():
            os.replace(marker, folder / marker.name)
        for path in store.shard_dir.glob(f"{name}.*"):
            os.replace(path, folder / path.name)
    return folder
