"""Oxford5k / Paris6k (and revisited ROxford5k / RParis6k) evaluation of an R-MAC model, as upstream test.py.

Per scale (S, or S-250, S, S+250 with multires) the query descriptors (cropped to the query box unless told
otherwise) and the database descriptors are extracted through `DescriptorExtractor` and cached in the temp
folder as ``<name>_<model fingerprint>_<settings key>_<list digest>_{queries,dataset}.npy``; the key holds
everything the descriptors depend on (prototxt, weights, output blob, S, L, mean, crop flag, images and
boxes, and the int8 model when the engine quantises), so a stale cache is never reused. The scales are
summed and renormalised, then DBE, ``sim = Q D^T``, AQE and scoring with the built-in evaluator or the
``compute_ap`` tool.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import pickle
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache, partial
from pathlib import Path

import numpy as np
from tqdm import tqdm

from evaluation.ap import REVISITED_PROTOCOLS, RevisitedResult, evaluate_revisited
from evaluation.datasets import RetrievalDataset, load_oxford_paris, revisited_from_gnd
from evaluation.expansion import aqe, dbe
from evaluation.scoring import format_report, score_queries
from myPython.common.fileio import atomic_save_npy
from myPython.errors import UsageError
from myPython.retrieval.extractor import MULTIRES_OFFSETS, Box, DescriptorExtractor, ExtractionSettings, l2_normalize
from myPython.retrieval.models import ModelSpec

REVISITED_NAMES = ("roxford5k", "rparis6k")
PRECISION_KS = (1, 5, 10)


@dataclass(frozen=True)
class EvalOptions:
    """What is extracted and how the database is searched."""

    S: int = 800
    L: int = 2
    multires: bool = False
    crop: bool = True
    aqe: int | None = None
    dbe: int | None = None


@dataclass
class EvalResult:
    """Per-query APs (medium protocol for revisited datasets) and, for revisited datasets, all protocols."""

    dataset_name: str
    query_names: list[str]
    aps: list[float]
    revisited: dict[str, RevisitedResult] | None = None

    @property
    def mean(self) -> float:
        return float(np.mean(self.aps))

    def report(self) -> str:
        """Upstream per-query lines and ``Mean``; revisited: mAP and mP@k of the easy/medium/hard protocols."""
        if self.revisited is None:
            return format_report(self.query_names, self.aps)
        res = self.revisited
        maps = ", ".join(f"{p[0].upper()}: {100 * res[p].map:.2f}" for p in REVISITED_PROTOCOLS)
        mps = ", ".join(
            f"{p[0].upper()}: [{' '.join(f'{100 * res[p].mp[k]:.2f}' for k in PRECISION_KS)}]"
            for p in REVISITED_PROTOCOLS
        )
        ks = ", ".join(str(k) for k in PRECISION_KS)
        return f"{self.dataset_name}: mAP {maps}\n{self.dataset_name}: mP@k[{ks}] {mps}"


# -------------------------------------------------------------------------------------------- datasets


def load_dataset(root: str | os.PathLike, name: str) -> tuple[RetrievalDataset, Mapping | None]:
    """Oxford/Paris layout (``jpg/`` + ``lab/``), or a revisited one (``gnd_<name>.pkl`` + ``jpg/``) with its gnd."""
    root = Path(root)
    gnd_path = root / f"gnd_{name}.pkl"
    if name.lower() not in REVISITED_NAMES and not gnd_path.is_file():
        return load_oxford_paris(root), None
    if not gnd_path.is_file():
        raise FileNotFoundError(f"{gnd_path}: revisited ground truth not found (--dataset must hold gnd_{name}.pkl)")
    with gnd_path.open("rb") as f:
        gnd = pickle.load(f)
    return revisited_from_gnd(gnd, root), gnd


# -------------------------------------------------------------------------------------------- caching


def _digest(items: Sequence[object]) -> str:
    return hashlib.sha256("\n".join(map(str, items)).encode()).hexdigest()[:12]


def _file_sizes(paths: Sequence[Path]) -> list[int]:
    """Byte sizes (part of the cache key); a missing image fails here, before any extraction."""
    return [p.stat().st_size for p in paths]


def cache_paths(temp_dir: Path, dataset: RetrievalDataset, name: str, fingerprint: str,
                settings: ExtractionSettings, crop: bool) -> tuple[Path, Path]:
    """(queries, dataset) cache files of one scale; names change with anything the descriptors depend on."""
    prefix = f"{name}_{fingerprint}_{settings.key()}"
    query_paths = query_image_paths(dataset)
    query_key = _digest([crop, *dataset.query_images, *_file_sizes(query_paths)]
                        + (dataset.query_boxes.round(3).tolist() if crop else []))
    db_key = _digest([*dataset.images, *_file_sizes(dataset.image_paths)])
    tag = "crop" if crop else "nocrop"
    return temp_dir / f"{prefix}_{tag}-{query_key}_queries.npy", temp_dir / f"{prefix}_{db_key}_dataset.npy"


def query_image_paths(dataset: RetrievalDataset) -> list[Path]:
    return [dataset.root / "jpg" / f"{image}.jpg" for image in dataset.query_images]


def describe(open_extractor: Callable[[], DescriptorExtractor], settings: ExtractionSettings,
             paths: Sequence[Path], boxes: Sequence[Box] | None, what: str) -> np.ndarray:
    """N x D descriptors of image files (with optional query boxes) at one scale, in batches, with progress."""
    extractor = replace(open_extractor(), settings=settings)
    rows = []
    step = extractor.batch_size
    with tqdm(total=len(paths), desc=f"{what} S={settings.S}", unit="img", file=sys.stderr) as bar:
        for start in range(0, len(paths), step):
            chunk = list(paths[start : start + step])
            rows.append(extractor.describe_batch(chunk, None if boxes is None else boxes[start : start + step]))
            bar.update(len(chunk))
    return np.concatenate(rows).astype(np.float32)


def cached(path: Path, compute: Callable[[], np.ndarray], log: Callable[[str], None]) -> np.ndarray:
    """The array stored at ``path``, else ``compute()`` saved there."""
    if path.is_file():
        log(f"cache: loaded {path.name}")
        return np.load(path)
    log(f"cache: extracting {path.name}")
    array = compute()
    atomic_save_npy(path, array)
    return array


def extract_features(
    spec: ModelSpec,
    dataset: RetrievalDataset,
    name: str,
    options: EvalOptions,
    temp_dir: Path,
    open_extractor: Callable[[], DescriptorExtractor],
    log: Callable[[str], None],
    int8_model: Path | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(queries, database) descriptors summed over the scales and L2-normalised, per-scale arrays cached.

    `int8_model`: the quantised model the engine runs, if it does (its key joins the cache key).
    """
    temp_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = spec.fingerprint() + (f"-{int8_model.stem}" if int8_model else "")  # stem: name + int8 key
    boxes = [tuple(b) for b in dataset.query_boxes] if options.crop else None
    query_paths = query_image_paths(dataset)
    queries = database = None
    for scale in spec.settings(options.S, options.L, options.multires).resolved_scales():
        settings = spec.settings(scale, options.L)
        q_path, db_path = cache_paths(temp_dir, dataset, name, fingerprint, settings, options.crop)
        q = cached(q_path, partial(describe, open_extractor, settings, query_paths, boxes, "queries"), log)
        d = cached(db_path, partial(describe, open_extractor, settings, dataset.image_paths, None, "dataset"), log)
        queries = q if queries is None else queries + q
        database = d if database is None else database + d
    return l2_normalize(queries).astype(np.float32), l2_normalize(database).astype(np.float32)


# -------------------------------------------------------------------------------------------- search + scoring


def similarities(queries: np.ndarray, database: np.ndarray, aqe_k: int | None = None,
                 dbe_k: int | None = None) -> np.ndarray:
    """``Nq x Ndb`` similarities after database-side augmentation (DBE) and average query expansion (AQE)."""
    if dbe_k:
        database = dbe(database, dbe_k)
    if aqe_k:
        queries = aqe(queries, database, aqe_k)
    return queries @ database.T


def evaluate(
    spec: ModelSpec,
    dataset_root: str | os.PathLike,
    dataset_name: str,
    options: EvalOptions,
    temp_dir: str | os.PathLike,
    *,
    eval_binary: str | os.PathLike | None = None,
    gpu: int | None = None,
    engine: str = "caffe",
    batch_size: int = 8,
    log: Callable[[str], None] = lambda message: print(message, file=sys.stderr),
) -> EvalResult:
    """Extract (or load cached) descriptors, search and score every query of the dataset."""
    from myPython.nets.runtime import set_device

    if options.multires and options.S <= -min(MULTIRES_OFFSETS):
        raise ValueError(f"--multires uses S{min(MULTIRES_OFFSETS)}, S, S+{max(MULTIRES_OFFSETS)}: S must be larger "
                         f"than {-min(MULTIRES_OFFSETS)}, got {options.S}")
    set_device(gpu)  # a bad --gpu fails here even when every descriptor is cached
    dataset, gnd = load_dataset(dataset_root, dataset_name)
    if gnd is not None and eval_binary is not None:
        raise ValueError("--eval_binary reads Oxford/Paris lab/ files; revisited datasets use the built-in evaluator")

    # `auto` gates int8 at the settings this run describes with (not the model's own)
    run_settings = spec.settings(options.S, options.L, options.multires)

    @cache
    def open_extractor() -> DescriptorExtractor:
        return DescriptorExtractor.from_files(spec.proto, spec.weights, run_settings, output=spec.output, gpu=gpu,
                                              batch_size=batch_size, engine=engine)

    from myPython.apps.options import prepare_engine
    from myPython.retrieval.int8 import int8_model as built_int8
    from myPython.retrieval.int8 import uses_int8

    temp_dir = Path(temp_dir)
    prepare_engine(engine, spec, run_settings, gpu)
    quantised = uses_int8(engine, spec.proto, spec.weights, spec.output, gpu, run_settings)
    int8_model = built_int8(spec.proto, spec.weights, spec.output) if quantised else None
    queries, database = extract_features(spec, dataset, dataset_name, options, temp_dir, open_extractor, log,
                                         int8_model)
    sim = similarities(queries, database, options.aqe, options.dbe)
    if gnd is not None:
        results = evaluate_revisited(sim, gnd, PRECISION_KS)
        return EvalResult(dataset_name, dataset.query_names, results["medium"].aps.tolist(), results)
    aps = score_queries(sim, dataset, eval_binary=eval_binary, temp_dir=temp_dir if eval_binary else None)
    return EvalResult(dataset_name, dataset.query_names, aps)


# -- command line (`python test.py`, `deep-retrieval oxford`) ------------------------------------

REPO = Path(__file__).resolve().parents[2]
DEFAULT_PROTO = REPO / "proto" / "deploy_resnet101.prototxt"
DEFAULT_WEIGHTS = REPO / "caffemodel" / "deep_image_retrieval_model.caffemodel"
MISSING_WEIGHTS = (
    "{weights}: caffemodel not found. The published ResNet-101 R-MAC model (Gordo et al.) is not shipped: "
    "download it from the Deep Image Retrieval release and save it as {default} or pass --weights "
    "(see docs/reproduce.md)."
)


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text}")
    return value


def add_arguments(p: argparse.ArgumentParser) -> None:
    """upstream test.py's flags (underscores included), plus --engine, --batch and --no-crop."""
    from myPython.retrieval.engines import ENGINE_KINDS

    engine_default = "auto" if "auto" in ENGINE_KINDS else "caffe"
    p.add_argument("--gpu", type=int, default=None, help="GPU id (default, or < 0: CPU)")
    p.add_argument("--cpu", action="store_true", help="run on the CPU even if --gpu is given")
    p.add_argument("--S", type=positive_int, default=800, help="resize the longest side to S (default 800)")
    p.add_argument("--L", type=int, default=2, help="levels of the R-MAC rigid grid (default 2)")
    p.add_argument("--proto", default=str(DEFAULT_PROTO), help="deploy prototxt (default: %(default)s)")
    p.add_argument("--weights", default=str(DEFAULT_WEIGHTS), help="caffemodel (default: %(default)s)")
    p.add_argument("--dataset", required=True,
                   help="folder with jpg/ and lab/ (Oxford/Paris) or jpg/ and gnd_<name>.pkl (revisited)")
    p.add_argument("--dataset_name", required=True,
                   help="Oxford | Paris (any name for the Oxford layout) | roxford5k | rparis6k")
    p.add_argument("--eval_binary", default=None,
                   help="compute_ap tool (default: the built-in evaluator, same numbers)")
    p.add_argument("--temp_dir", default=None,
                   help="feature caches and .rnk files (default: <cache>/eval, see DEEP_RETRIEVAL_CACHE)")
    p.add_argument("--multires", action="store_true", help="sum descriptors at S-250, S and S+250")
    p.add_argument("--aqe", type=positive_int, default=None, help="average query expansion with k neighbours")
    p.add_argument("--dbe", type=positive_int, default=None, help="database-side augmentation with k neighbours")
    p.add_argument("--no-crop", dest="crop", action="store_false",
                   help="do not crop the queries to their box (upstream crops; the published numbers need it)")
    p.add_argument("--engine", choices=ENGINE_KINDS, default=engine_default,
                   help="network engine (default: %(default)s; caffe is the reference)")
    p.add_argument("--batch", type=positive_int, default=8, help="images per forward pass (default 8)")


def run(args: argparse.Namespace) -> int:
    if not Path(args.weights).is_file():
        raise UsageError(MISSING_WEIGHTS.format(weights=args.weights, default=DEFAULT_WEIGHTS))
    from myPython.common.assets import cache_dir
    from myPython.retrieval.models import load_model

    options = EvalOptions(S=args.S, L=args.L, multires=args.multires, crop=args.crop, aqe=args.aqe, dbe=args.dbe)
    spec = load_model(args.proto, args.weights)
    result = evaluate(spec, args.dataset, args.dataset_name, options, args.temp_dir or cache_dir() / "eval",
                      eval_binary=args.eval_binary, gpu=None if args.cpu else args.gpu, engine=args.engine,
                      batch_size=args.batch)
    print(result.report())
    return 0
