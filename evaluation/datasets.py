"""Oxford5k/Paris6k ground-truth loaders (``<root>/jpg`` + ``<root>/lab`` layout) and revisited pickles."""

import pickle
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from evaluation.ap import REVISITED_PROTOCOLS, index_mask, revisited_sets

# Corrupted Paris6k images, left out of the database (as upstream test.py does).
PARIS_BLACKLIST = frozenset(
    {
        "paris_louvre_000136",
        "paris_louvre_000146",
        "paris_moulinrouge_000422",
        "paris_museedorsay_001059",
        "paris_notredame_000188",
        "paris_pantheon_000284",
        "paris_pantheon_000960",
        "paris_pantheon_000974",
        "paris_pompidou_000195",
        "paris_pompidou_000196",
        "paris_pompidou_000201",
        "paris_pompidou_000467",
        "paris_pompidou_000640",
        "paris_sacrecoeur_000299",
        "paris_sacrecoeur_000330",
        "paris_sacrecoeur_000353",
        "paris_triomphe_000662",
        "paris_triomphe_000833",
        "paris_triomphe_000863",
        "paris_triomphe_000867",
    }
)

QUERY_PREFIX = "oxc1_"


@dataclass
class RetrievalDataset:
    """Database images, queries (image, box) and per-query positive/junk database indices."""

    root: Path
    images: list[str]
    image_paths: list[Path]
    query_names: list[str]
    query_images: list[str]
    query_boxes: np.ndarray
    positives: list[np.ndarray]
    junk: list[np.ndarray]
    # Per query: good/ok names that are not in the database (counted as positives by compute_ap).
    unranked_positives: np.ndarray | None = None

    def gt_prefix(self, q: int) -> Path:
        """Ground-truth prefix ``<root>/lab/<query_name>`` of query ``q`` (argument of the C++ tool)."""
        return self.root / "lab" / self.query_names[q]

    def query_indices(self) -> np.ndarray:
        """Database index of each query image (queries stay inside the database, as upstream)."""
        index = {name: i for i, name in enumerate(self.images)}
        missing = [q for q in self.query_images if q not in index]
        if missing:
            raise ValueError(f"{self.root}: query images not in the database: {missing[:3]}")
        return np.array([index[q] for q in self.query_images], dtype=np.int64)

    def positive_mask(self) -> np.ndarray:
        """Boolean ``Nq x Ndb`` mask of the positives (good U ok)."""
        return index_mask(self.positives, len(self.images))

    def junk_mask(self) -> np.ndarray:
        """Boolean ``Nq x Ndb`` mask of the junk images."""
        return index_mask(self.junk, len(self.images))


def read_names(path: Path) -> list[str]:
    """Whitespace-separated names of a ground-truth or ranking file."""
    if not path.is_file():
        raise FileNotFoundError(f"ground-truth file not found: {path}")
    return path.read_text().split()


def _indices(names: Iterable[str], index: Mapping[str, int]) -> np.ndarray:
    """Sorted unique database indices of ``names``; names outside the database are ignored."""
    return np.unique(np.array([index[n] for n in names if n in index], dtype=np.int64))


def _parse_query(path: Path) -> tuple[str, list[float]]:
    """Image stem (``oxc1_`` prefix removed) and ``x1 y1 x2 y2`` box of a ``*_query.txt`` file."""
    tokens = path.read_text().split()
    try:
        if len(tokens) < 5:
            raise ValueError
        box = [float(t) for t in tokens[1:5]]
    except ValueError:
        raise ValueError(f"malformed query file {path}: expected '<image> x1 y1 x2 y2'") from None
    image = tokens[0]
    return (image[len(QUERY_PREFIX) :] if image.startswith(QUERY_PREFIX) else image), box


def load_oxford_paris(root: str | Path, blacklist: Iterable[str] = PARIS_BLACKLIST) -> RetrievalDataset:
    """Load ``<root>/jpg/*.jpg`` and ``<root>/lab/<q>_{query,good,ok,junk}.txt`` (queries in sorted order)."""
    root = Path(root)
    jpg_dir, lab_dir = root / "jpg", root / "lab"
    for folder in (jpg_dir, lab_dir):
        if not folder.is_dir():
            raise FileNotFoundError(f"dataset folder not found: {folder}")
    excluded = set(blacklist)
    image_paths = sorted(p for p in jpg_dir.glob("*.jpg") if p.stem not in excluded)
    if not image_paths:
        raise ValueError(f"no .jpg images in {jpg_dir}")
    images = [p.stem for p in image_paths]
    index = {name: i for i, name in enumerate(images)}

    query_files = sorted(lab_dir.glob("*_query.txt"))
    if not query_files:
        raise ValueError(f"no *_query.txt files in {lab_dir}")
    query_names, query_images, boxes, positives, junk, unranked = [], [], [], [], [], []
    for query_file in query_files:
        name = query_file.name[: -len("_query.txt")]
        image, box = _parse_query(query_file)
        query_names.append(name)
        query_images.append(image)
        boxes.append(box)
        good = read_names(lab_dir / f"{name}_good.txt") + read_names(lab_dir / f"{name}_ok.txt")
        positives.append(_indices(good, index))
        unranked.append(len({n for n in good if n not in index}))
        junk.append(_indices(read_names(lab_dir / f"{name}_junk.txt"), index))
    return RetrievalDataset(
        root=root,
        images=images,
        image_paths=image_paths,
        query_names=query_names,
        query_images=query_images,
        query_boxes=np.array(boxes, dtype=np.float64).reshape(-1, 4),
        positives=positives,
        junk=junk,
        unranked_positives=np.array(unranked, dtype=np.int64),
    )


@dataclass
class RevisitedDataset(RetrievalDataset):
    """Revisited dataset: ``positives``/``junk`` follow the medium protocol; ``protocols`` has all."""

    protocols: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = field(default_factory=dict)

    def gt_prefix(self, q: int) -> Path:
        """Not available: revisited ground truth has no ``lab/`` files for the C++ tool."""
        raise ValueError("revisited datasets have no lab/ ground-truth files; score them with evaluation.ap")

    def protocol_masks(self, protocol: str) -> tuple[np.ndarray, np.ndarray]:
        """(positive, junk) ``Nq x Ndb`` masks of the ``easy``, ``medium`` or ``hard`` protocol."""
        if protocol not in self.protocols:
            raise ValueError(f"unknown revisited protocol {protocol!r}; expected {REVISITED_PROTOCOLS}")
        pos, junk = self.protocols[protocol]
        return index_mask(pos, len(self.images)), index_mask(junk, len(self.images))


def revisited_from_gnd(gnd: Mapping, root: str | Path, image_dir: str | Path | None = None) -> RevisitedDataset:
    """Build a :class:`RevisitedDataset` from a revisited ``gnd`` dict (keys imlist, qimlist, gnd)."""
    missing = {"imlist", "qimlist", "gnd"} - set(gnd)
    if missing:
        raise ValueError(f"revisited ground truth under {root} lacks keys {sorted(missing)}")
    root = Path(root)
    image_dir = root / "jpg" if image_dir is None else Path(image_dir)
    images, query_images, entries = list(gnd["imlist"]), list(gnd["qimlist"]), list(gnd["gnd"])
    if len(entries) != len(query_images):
        raise ValueError(f"ground truth under {root}: {len(query_images)} queries, {len(entries)} gnd")
    for i, entry in enumerate(entries):
        absent = {"easy", "hard", "junk", "bbx"} - set(entry)
        if absent:
            raise ValueError(f"revisited ground truth under {root}: gnd[{i}] lacks keys {sorted(absent)}")
    protocols = {}
    for protocol in REVISITED_PROTOCOLS:
        sets = [revisited_sets(entry, protocol) for entry in entries]
        protocols[protocol] = ([p for p, _ in sets], [j for _, j in sets])
    return RevisitedDataset(
        root=root,
        images=images,
        image_paths=[image_dir / f"{name}.jpg" for name in images],
        query_names=query_images,
        query_images=query_images,
        query_boxes=np.array([entry["bbx"] for entry in entries], dtype=np.float64).reshape(-1, 4),
        positives=protocols["medium"][0],
        junk=protocols["medium"][1],
        protocols=protocols,
    )


def load_revisited(gnd_path: str | Path, image_dir: str | Path | None = None) -> RevisitedDataset:
    """Load a ``gnd_<name>.pkl`` revisited pickle (trusted file); images default to ``<pkl dir>/jpg``."""
    gnd_path = Path(gnd_path)
    if not gnd_path.is_file():
        raise FileNotFoundError(f"revisited ground-truth pickle not found: {gnd_path}")
    with gnd_path.open("rb") as f:
        gnd = pickle.load(f)
    if not isinstance(gnd, Mapping):
        raise ValueError(f"{gnd_path} does not hold a ground-truth dict")
    return revisited_from_gnd(gnd, gnd_path.parent, image_dir)
