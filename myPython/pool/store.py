"""The descriptor store: shards of float32 rows with their ids, committed atomically.

Layout of a store folder:
    meta.json                         model fingerprint, settings, dimension
    shards/<name>.npy                 float32 rows x dim, L2-normalised
    shards/<name>.ids.txt             one id per row
    shards/<name>.inputs.txt          the inputs whose rows are all in this shard
    shards/<name>.skipped.jsonl       inputs skipped while filling it, with reasons
    shards/<name>.local.npy           optional: uint8 rows x 256 x 132 packed RootSIFT features (pool/verify.py)
    shards/<name>.json                commit marker, written last (atomic rename)

A shard exists for readers only once its commit marker does, so a run killed
at any moment leaves either a whole shard or nothing that is read; the next
run with the same command removes leftovers and skips committed inputs.
Committed shards are never rewritten, so readers may work from a snapshot
(`DescriptorStore.snapshot`) while a writer adds shards. One writer at a time
holds `<store>/.writer.lock` (`DescriptorStore.writer_lock`).
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_save_npy, atomic_write_bytes, atomic_write_text  # noqa: F401

STORE_VERSION = 1


@dataclass
class Shard:
    name: str
    rows: int
    folder: Path

    def ids(self) -> list[str]:
        text = (self.folder / f"{self.name}.ids.txt").read_text(encoding="utf-8")
        return text.split("\n")[:-1] if text else []

    def vectors(self, mmap: bool = True) -> np.ndarray:
        return np.load(self.folder / f"{self.name}.npy", mmap_mode="r" if mmap else None)

    def local_features(self) -> np.ndarray | None:
        """The packed local features of the rows (memory-mapped), or None when the shard has none."""
        path = self.folder / f"{self.name}.local.npy"
        return np.load(path, mmap_mode="r") if path.exists() else None

    def inputs(self) -> list[str]:
        path = self.folder / f"{self.name}.inputs.txt"
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        return text.split("\n")[:-1] if text else []

    def skipped(self) -> list[dict]:
        path = self.folder / f"{self.name}.skipped.jsonl"
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]


@dataclass
class DescriptorStore:
    """A folder of committed shards (see the module docstring)."""

    root: Path
    meta: dict = field(default_factory=dict)
    frozen: list[Shard] | None = None  # set by snapshot(): the shards seen by this view

    @classmethod
    def open(cls, root: str | os.PathLike) -> DescriptorStore:
        root = Path(root)
        meta_path = root / "meta.json"
        if not meta_path.exists():
            raise FileNotFoundError(f"{root}: not a descriptor store (no meta.json)")
        return cls(root, json.loads(meta_path.read_text()))

    @classmethod
    def create(cls, root: str | os.PathLike, meta: dict) -> DescriptorStore:
        """Create, or reopen for resuming when the settings match."""
        root = Path(root)
        (root / "shards").mkdir(parents=True, exist_ok=True)
        meta_path = root / "meta.json"
        meta = {"version": STORE_VERSION, **meta}
        if meta_path.exists():
            old = json.loads(meta_path.read_text())
            keys = ("version", "model", "settings", "dim")
            changed = [k for k in keys if k in meta and old.get(k) != meta[k]]
            if changed:
                raise ValueError(f"{root}: holds descriptors made with other {', '.join(changed)}; "
                                 "use another --out folder")
            return cls(root, old)
        atomic_write_text(meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")
        return cls(root, meta)

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def shard_dir(self) -> Path:
        return self.root / "shards"

    def shards(self) -> list[Shard]:
        """Committed shards in name order (a snapshot's own list when frozen)."""
        if self.frozen is not None:
            return list(self.frozen)
        out = []
        for marker in sorted(self.shard_dir.glob("*.json")):
            if marker.name.startswith("."):
                continue
            info = json.loads(marker.read_text())
            out.append(Shard(info["name"], int(info["rows"]), self.shard_dir))
        return out

    def snapshot(self) -> DescriptorStore:
        """A view of the shards committed now; shards committed later stay invisible to it."""
        return DescriptorStore(self.root, self.meta, self.shards())

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the store's writer lock (released by the kernel if the process dies)."""
        with open(self.root / ".writer.lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RuntimeError(f"{self.root}: another embed run is writing to this store") from None
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def __len__(self) -> int:
        return sum(s.rows for s in self.shards())

    def iter_chunks(self) -> Iterator[tuple[list[str], np.ndarray]]:
        """(ids, rows) shard by shard: memory is bounded by one shard."""
        for shard in self.shards():
            yield shard.ids(), np.asarray(shard.vectors(), dtype=np.float32)

    def load(self) -> tuple[list[str], np.ndarray]:
        ids: list[str] = []
        parts = []
        for chunk_ids, rows in self.iter_chunks():
            ids.extend(chunk_ids)
            parts.append(rows)
        vectors = np.concatenate(parts) if parts else np.zeros((0, self.dim), dtype=np.float32)
        return ids, vectors

    def done_inputs(self) -> set[str]:
        done: set[str] = set()
        for shard in self.shards():
            done.update(shard.inputs())
            done.update(s["input"] for s in shard.skipped())
        return done

    def skipped(self) -> list[dict]:
        return [s for shard in self.shards() for s in shard.skipped()]

    def remove_uncommitted(self, prefix: str = "") -> None:
        """Delete temporary files and shard files without a commit marker (left by a killed run)."""
        committed = {p.stem for p in self.shard_dir.glob("*.json") if not p.name.startswith(".")}
        for path in self.shard_dir.iterdir():
            name = path.name.lstrip(".")
            if not name.startswith(prefix):
                continue
            if path.name.startswith(".") or name.split(".")[0] not in committed:
                path.unlink(missing_ok=True)

    def next_shard_name(self, prefix: str = "shard") -> str:
        used = [int(p.stem.rsplit("-", 1)[1]) for p in self.shard_dir.glob(f"{prefix}-*.json")
                if p.stem.rsplit("-", 1)[1].isdigit()]
        return f"{prefix}-{max(used, default=-1) + 1:06d}"

    def commit_shard(self, name: str, ids: list[str], vectors: np.ndarray, inputs: list[str],
                     skipped: list[dict], local: np.ndarray | None = None) -> Shard:
        """Write a shard's files, then its marker; only the marker makes it visible."""
        if len(ids) != len(vectors):
            raise ValueError(f"shard {name}: {len(ids)} ids for {len(vectors)} rows")
        if len(vectors) and vectors.shape[1] != self.dim:
            raise ValueError(f"shard {name}: rows of dimension {vectors.shape[1]}, the store has {self.dim}")
        folder = self.shard_dir
        if (folder / f"{name}.json").exists():
            raise ValueError(f"shard {name}: already committed")
        atomic_save_npy(folder / f"{name}.npy", np.ascontiguousarray(vectors, dtype=np.float32)
                        .reshape(len(ids), self.dim))
        atomic_write_text(folder / f"{name}.ids.txt", "".join(f"{i}\n" for i in ids))
        atomic_write_text(folder / f"{name}.inputs.txt", "".join(f"{i}\n" for i in inputs))
        atomic_write_text(folder / f"{name}.skipped.jsonl", "".join(json.dumps(s) + "\n" for s in skipped))
        files = [f"{name}.npy", f"{name}.ids.txt", f"{name}.inputs.txt", f"{name}.skipped.jsonl"]
        if local is not None:
            if len(local) != len(ids):
                raise ValueError(f"shard {name}: local features for {len(local)} of {len(ids)} rows")
            atomic_save_npy(folder / f"{name}.local.npy", np.ascontiguousarray(local, dtype=np.uint8))
            files.append(f"{name}.local.npy")
        marker = {"name": name, "rows": len(ids), "inputs": len(inputs), "skipped": len(skipped),
                  "files": files, "committed": time.time()}
        atomic_write_text(folder / f"{name}.json", json.dumps(marker) + "\n")
        return Shard(name, len(ids), folder)
