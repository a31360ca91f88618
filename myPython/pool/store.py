"""The descriptor store: shards of float16 rows with their ids, committed atomically and checksummed.

Layout of a store folder (format 3):
    meta.json                         format version, model fingerprint, settings, dimension, frame sampling
    roots.json                        label of every input root seen (see pool.inputs): ids never change
    shards/<name>.npy                 float16 rows x dim, L2-normalised (readers compute in float32)
    shards/<name>.ids.txt             one id per row (escaped, see common.ids)
    shards/<name>.inputs.txt          the inputs whose last row is in this shard (they are done)
    shards/<name>.skipped.jsonl       inputs skipped while filling it, with reasons
    shards/<name>.local.npy           optional: uint8 rows x 128 x 18 local features (pool/verify.py)
    shards/<name>.<anything else>     any other per-shard file written before the marker
    shards/<name>.json                commit marker, written last (atomic rename)
    quarantine/                       shards moved aside by `deep-retrieval verify --quarantine`

A shard exists for readers only once its commit marker does, so a run killed
at any moment leaves either a whole shard or nothing that is read; the next
run with the same command removes leftovers and skips committed inputs.

The marker records the shard's row count, the size and sha256 of every file
of the shard (all ``<name>.*`` files present at commit), the input whose rows
go on in the next shards with its row count so far (``partial``: a long video
fills several shards; a killed run resumes it after its committed rows) and
the inputs whose earlier rows are in other shards (``continues``). Readers
always check row counts and file sizes (cheap); `deep-retrieval verify`
checks the checksums. Committed shards are never rewritten, so readers may
work from a snapshot (`DescriptorStore.snapshot`) while a writer adds shards.
One writer at a time holds ``<store>/.writer.lock``.
"""

from __future__ import annotations

import fcntl
import hashlib
import io
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from myPython.common.assets import sha256_file
from myPython.common.fileio import atomic_write_bytes, atomic_write_text
from myPython.common.ids import check_id
from myPython.errors import StoreError

# 3: rows in float16 (half the bytes; a cosine moves by about 1e-5) and 2.3 KB local features (pool/verify.py)
STORE_VERSION = 3
ROW_DTYPE = np.float16
MARKER_SUFFIX = ".json"
LOCAL_SUFFIX = ".local.npy"  # written by the embedder before the marker, which then lists it


def damaged(root: Path, what: str, problem: str) -> StoreError:
    """The error readers raise on a damaged shard; `.problem` holds the problem alone."""
    error = StoreError(f"{what}: {problem}; run `deep-retrieval verify --db {root} --quarantine`, then embed again")
    error.problem = problem
    return error


@dataclass
class Shard:
    name: str
    rows: int
    folder: Path
    marker: dict = field(default_factory=dict)
    dim: int | None = None
    features: str | None = None  # the store's meta "local_features": which local features its shards hold

    def path(self, suffix: str) -> Path:
        return self.folder / f"{self.name}{suffix}"

    @property
    def partial(self) -> dict[str, int]:
        """Inputs whose rows go on in later shards -> their rows up to the end of this one."""
        return dict(self.marker.get("partial", {}))

    @property
    def continues(self) -> list[str]:
        """Inputs whose first rows are in earlier shards."""
        return list(self.marker.get("continues", []))

    def _damaged(self, problem: str) -> StoreError:
        return damaged(self.folder.parent, f"{self.folder / self.name}", problem)

    def _read(self, suffix: str, missing_ok: bool = False) -> bytes:
        path = self.path(suffix)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            if missing_ok and path.name not in self.marker.get("files", {}):
                return b""
            raise self._damaged(f"{path.name} is missing") from None
        expected = self.marker.get("files", {}).get(path.name, {}).get("bytes")
        if expected is not None and expected != len(data):
            raise self._damaged(f"{path.name} has {len(data)} bytes, its marker says {expected}")
        return data

    def _lines(self, suffix: str, missing_ok: bool = False) -> list[str]:
        try:
            text = self._read(suffix, missing_ok).decode("utf-8")
        except UnicodeDecodeError:
            raise self._damaged(f"{self.name}{suffix} is not UTF-8") from None
        return text.split("\n")[:-1] if text else []

    def ids(self) -> list[str]:
        ids = self._lines(".ids.txt")
        if len(ids) != self.rows:
            raise self._damaged(f"{len(ids)} ids for {self.rows} rows")
        return ids

    def vectors(self, mmap: bool = True) -> np.ndarray:
        """The rows as stored (float16, memory-mapped unless `mmap` is False): compute with them in float32."""
        path = self.path(".npy")
        expected = self.marker.get("files", {}).get(path.name, {}).get("bytes")
        try:
            size = path.stat().st_size
            if expected is not None and size != expected:
                raise self._damaged(f"{path.name} has {size} bytes, its marker says {expected}")
            array = np.load(path, mmap_mode="r" if mmap else None)
        except FileNotFoundError:
            raise self._damaged(f"{path.name} is missing") from None
        except (ValueError, OSError, EOFError) as exc:
            raise self._damaged(f"{path.name} is not a readable array ({type(exc).__name__})") from None
        dim = self.dim if self.dim is not None else (array.shape[1] if array.ndim == 2 else -1)
        if array.shape != (self.rows, dim) or array.dtype != ROW_DTYPE:
            raise self._damaged(f"{path.name} holds {array.dtype} {array.shape}, expected {np.dtype(ROW_DTYPE)} "
                                f"({self.rows}, {dim})")
        return array

    def local_features(self) -> np.ndarray | None:
        """The rows' packed local features (pool/verify.py, memory-mapped), or None when the shard has none.

        StoreError when the store holds another version of them (another layout: read as this one, its bytes
        would be noise)."""
        from myPython.pool.verify import BYTES_PER_KEYPOINT, FEATURES_VERSION, MAX_KEYPOINTS

        path = self.path(LOCAL_SUFFIX)
        if path.name not in self.marker.get("files", {}) or not path.exists():
            return None
        if self.features and self.features != FEATURES_VERSION:
            raise StoreError(f"{self.folder.parent}: its local features are {self.features}, this version verifies "
                             f"{FEATURES_VERSION}; embed the inputs again into a new store, or use --raw "
                             "(cosine alone)")
        array = np.load(path, mmap_mode="r")
        if array.shape != (self.rows, MAX_KEYPOINTS, BYTES_PER_KEYPOINT) or array.dtype != np.uint8:
            raise self._damaged(f"{path.name} holds {array.dtype} {array.shape}, expected uint8 "
                                f"({self.rows}, {MAX_KEYPOINTS}, {BYTES_PER_KEYPOINT})")
        return array

    def inputs(self) -> list[str]:
        return self._lines(".inputs.txt", missing_ok=True)

    def skipped(self) -> list[dict]:
        try:
            return [json.loads(line) for line in self._lines(".skipped.jsonl", missing_ok=True) if line]
        except json.JSONDecodeError:
            raise self._damaged(f"{self.name}.skipped.jsonl is not JSON lines") from None


def read_marker(path: Path) -> dict:
    """A shard's commit marker; StoreError when it cannot be read."""
    try:
        marker = json.loads(path.read_text(encoding="utf-8"))
        int(marker["rows"])
        str(marker["name"])
        return marker
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise damaged(path.parent.parent, str(path), "not readable") from None


@dataclass
class DescriptorStore:
    """A folder of committed shards (see the module docstring)."""

    root: Path
    meta: dict = field(default_factory=dict)
    frozen: list[Shard] | None = None  # set by snapshot(): the shards seen by this view
    _lock_depth: int = field(default=0, repr=False)

    @classmethod
    def open(cls, root: str | os.PathLike) -> DescriptorStore:
        root = Path(root)
        meta_path = root / "meta.json"
        if not meta_path.is_file():
            raise FileNotFoundError(f"{root}: not a descriptor store (no meta.json)")
        try:
            meta = json.loads(meta_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise StoreError(f"{meta_path}: not readable JSON") from None
        if meta.get("version") != STORE_VERSION:
            raise StoreError(f"{root}: a store of format {meta.get('version')} (this deep-retrieval reads format "
                             f"{STORE_VERSION}); embed the pool again into a new --out folder")
        return cls(root, meta)

    @classmethod
    def create(cls, root: str | os.PathLike, meta: dict) -> DescriptorStore:
        """Create, or reopen for resuming when the settings match."""
        root = Path(root)
        meta_path = root / "meta.json"
        meta = {"version": STORE_VERSION, **meta}
        if meta_path.exists():
            old = cls.open(root).meta
            keys = ("version", "model", "settings", "dim", "sampling", "local_features", "panels")
            changed = [k for k in keys if k in meta and old.get(k) != meta[k]]
            if changed:
                raise StoreError(f"{root}: holds descriptors made with other {', '.join(changed)}; "
                                 "use another --out folder")
            return cls(root, old)
        (root / "shards").mkdir(parents=True, exist_ok=True)
        atomic_write_text(meta_path, json.dumps(meta, indent=2, sort_keys=True) + "\n")
        return cls(root, meta)

    @property
    def dim(self) -> int:
        return int(self.meta["dim"])

    @property
    def shard_dir(self) -> Path:
        return self.root / "shards"

    def markers(self) -> list[Path]:
        return sorted(p for p in self.shard_dir.glob(f"*{MARKER_SUFFIX}") if not p.name.startswith("."))

    def shards(self) -> list[Shard]:
        """Committed shards in name order (a snapshot's own list when frozen)."""
        if self.frozen is not None:
            return list(self.frozen)
        out = []
        for path in self.markers():
            marker = read_marker(path)
            if f"{marker['name']}{MARKER_SUFFIX}" != path.name:
                raise damaged(self.root, str(path), f"the marker names shard {marker['name']}")
            out.append(Shard(marker["name"], int(marker["rows"]), self.shard_dir, marker, self.meta.get("dim"),
                             self.meta.get("local_features")))
        return out

    def snapshot(self) -> DescriptorStore:
        """A view of the shards committed now; shards committed later stay invisible to it."""
        return DescriptorStore(self.root, self.meta, self.shards())

    def portable(self) -> DescriptorStore:
        """A snapshot with absolute paths, to hand to another process or node (it pickles: root, meta, shards)."""
        shards = [replace(s, folder=Path(s.folder).resolve()) for s in self.shards()]
        return DescriptorStore(self.root.resolve(), self.meta, shards)

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the store's writer lock (released by the kernel if the process dies); re-entrant."""
        if self._lock_depth:
            self._lock_depth += 1
            try:
                yield
            finally:
                self._lock_depth -= 1
            return
        with open(self.root / ".writer.lock", "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StoreError(f"{self.root}: another embed run is writing to this store") from None
            self._lock_depth = 1
            try:
                yield
            finally:
                self._lock_depth = 0
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

    # ---- what earlier runs did ------------------------------------------------------------------
    def done_inputs(self) -> set[str]:
        """Inputs whose rows are all committed."""
        return {key for shard in self.shards() for key in shard.inputs()}

    def partial_inputs(self) -> dict[str, int]:
        """Inputs with committed rows but not done (a killed run) -> rows committed."""
        done, partial = self.done_inputs(), {}
        for shard in self.shards():
            for key, rows in shard.partial.items():
                partial[key] = max(partial.get(key, 0), int(rows))
        return {key: rows for key, rows in partial.items() if key not in done}

    def skipped(self) -> list[dict]:
        """The latest skip record of every input skipped and not embedded since."""
        done, latest = self.done_inputs(), {}
        for shard in self.shards():
            for entry in shard.skipped():
                latest[entry["input"]] = entry
        return [entry for key, entry in latest.items() if key not in done]

    def root_labels(self) -> dict[str, str]:
        """Real path of every input root seen -> its label (see pool.inputs)."""
        path = self.root / "roots.json"
        if not path.exists():
            return {}
        try:
            return dict(json.loads(path.read_text(encoding="utf-8"))["roots"])
        except (OSError, ValueError, KeyError, TypeError):
            raise StoreError(f"{path}: not readable; it maps input folders to id prefixes") from None

    def save_root_labels(self, labels: dict[str, str]) -> None:
        if labels != self.root_labels():
            # JSON escapes every non-ASCII character, so undecodable folder names (surrogates) survive
            atomic_write_text(self.root / "roots.json", json.dumps({"roots": labels}, indent=1) + "\n")

    # ---- writing ----------------------------------------------------------------------------------
    def remove_uncommitted(self, prefix: str = "") -> None:
        """Delete temporary files and shard files without a commit marker (left by a killed run)."""
        committed = {p.name[: -len(MARKER_SUFFIX)] for p in self.markers()}
        for path in self.shard_dir.iterdir():
            name = path.name.lstrip(".")
            if not name.startswith(prefix):
                continue
            if path.name.startswith(".") or name.split(".")[0] not in committed:
                path.unlink(missing_ok=True)

    def next_shard_name(self, prefix: str = "shard") -> str:
        used = [int(p.stem.rsplit("-", 1)[1]) for p in self.shard_dir.glob(f"{prefix}-*{MARKER_SUFFIX}")
                if p.stem.rsplit("-", 1)[1].isdigit()]
        quarantined = self.root / "quarantine"
        if quarantined.is_dir():  # never reuse the name of a shard moved aside
            used += [int(p.name.split(".")[0].rsplit("-", 1)[1]) for p in quarantined.glob(f"*/{prefix}-*")
                     if p.name.split(".")[0].rsplit("-", 1)[1].isdigit()]
        return f"{prefix}-{max(used, default=-1) + 1:06d}"

    def commit_shard(self, name: str, ids: list[str], vectors: np.ndarray, inputs: list[str],
                     skipped: list[dict], *, partial: dict[str, int] | None = None,
                     continues: list[str] | None = None) -> Shard:
        """Write a shard's files, then its marker; only the marker makes it visible.

        Files named ``<name>.*`` that a caller wrote beforehand belong to the shard too: the marker
        lists them with their checksums.
        """
        if len(ids) != len(vectors):
            raise ValueError(f"shard {name}: {len(ids)} ids for {len(vectors)} rows")
        if len(vectors) and vectors.shape[1] != self.dim:
            raise ValueError(f"shard {name}: rows of dimension {vectors.shape[1]}, the store has {self.dim}")
        for ident in (*ids, *inputs):
            check_id(ident)
        folder = self.shard_dir
        if (folder / f"{name}{MARKER_SUFFIX}").exists():
            raise ValueError(f"shard {name}: already committed")
        files: dict[str, dict] = {}

        def put(suffix: str, data: bytes) -> None:
            atomic_write_bytes(folder / f"{name}{suffix}", data)
            files[f"{name}{suffix}"] = {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

        buffer = io.BytesIO()
        np.save(buffer, np.ascontiguousarray(vectors, dtype=ROW_DTYPE).reshape(len(ids), self.dim))
        put(".npy", buffer.getvalue())
        put(".ids.txt", "".join(f"{i}\n" for i in ids).encode("utf-8"))
        put(".inputs.txt", "".join(f"{i}\n" for i in inputs).encode("utf-8"))
        put(".skipped.jsonl", "".join(json.dumps(s) + "\n" for s in skipped).encode("utf-8"))
        for path in sorted(folder.glob(f"{name}.*")):
            if path.name not in files and path.name != f"{name}{MARKER_SUFFIX}":
                files[path.name] = {"bytes": path.stat().st_size, "sha256": sha256_file(path)}
        marker = {"name": name, "rows": len(ids), "dim": self.dim, "inputs": len(inputs), "skipped": len(skipped),
                  "partial": dict(partial or {}), "continues": list(continues or []), "files": files,
                  "committed": time.time()}
        atomic_write_text(folder / f"{name}{MARKER_SUFFIX}", json.dumps(marker) + "\n")
        return Shard(name, len(ids), folder, marker, self.dim, self.meta.get("local_features"))
