"""int8 where it pays: quantise a model's export, gate its accuracy and time it against fp32 on this CPU.

`prepare_int8(proto, weights)` does, once per model (and per CPU for the measurement), what `--engine auto`
later only reads (`myPython.retrieval.int8`):

1. the int8 model: the fp32 export (`engines.ensure_onnx`) with its trunk quantised by `build.quantize` on
   training-only photos and frames at the model's S, L and mean (`datasets.quant_data`), kept in the project
   cache under a key of prototxt, caffemodel, output, exporter, recipe and settings;
2. the accuracy gate, on a fixed validation set of training-source photos and their edited copies: the median
   cosine of int8 to fp32 descriptors >= GATE_MEDIAN_COSINE, and the same-origin decisions (cosine >= the
   sidecar's recommended threshold) agreeing with fp32 on >= GATE_AGREEMENT of the pairs;
3. the speed: int8 and fp32 ONNX Runtime timed in turns on the same images, all physical cores, median of
   SPEED_ROUNDS rounds;
4. the choice, per CPU: int8 when the gate passed and int8 was at least MIN_SPEEDUP times faster.
"""

from __future__ import annotations

import fcntl
import json
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from myPython.common.assets import cache_dir
from myPython.common.fileio import atomic_write_text
from myPython.retrieval.engines import OnnxRuntimeEngine, ensure_onnx, model_key, physical_cores
from myPython.retrieval.int8 import (
    GATE_AGREEMENT,
    GATE_MEDIAN_COSINE,
    MIN_SPEEDUP,
    Int8Engine,
    choice_entry,
    choice_path,
    cpu_key,
    int8_model,
    model_record_path,
    recommended_threshold,
)

SPEED_IMAGES = 8
SPEED_ROUNDS = 3


def _spec(proto, weights, output: str):
    """The model's sidecar settings (mean, S, L, recommended threshold); defaults without a sidecar."""
    from myPython.retrieval.models import load_model

    spec = load_model(proto, weights)
    spec.output = output
    return spec


@contextmanager
def _locked(name: str) -> Iterator[None]:
    """Hold an exclusive lock named `name` in the project cache (waiting for it): one process builds."""
    lock = cache_dir() / "locks" / (name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def int8_path_for(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized") -> Path:
    """Where the int8 model of (proto, weights, output) is built: ``derived/<weights>.<key>.int8.onnx``."""
    from myPython.build.quantize import QuantRecipe
    from myPython.nets.onnx_export import EXPORTER_VERSION

    settings = _spec(proto, weights, output).settings()
    key = model_key(proto, weights, f"onnx-exporter-{EXPORTER_VERSION}", f"int8-{QuantRecipe().key()}", output,
                    settings.key())
    return cache_dir() / "derived" / f"{Path(weights).name}.{key}.int8.onnx"


def ensure_int8(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized") -> Path:
    """The int8 model, quantised on first use (a minute or two for the default model) and recorded for the
    runtime (`retrieval.int8.int8_model`)."""
    path = int8_path_for(proto, weights, output)
    record = model_record_path(proto, weights, output)
    if path.exists() and int8_model(proto, weights, output) == path:
        return path
    with _locked(path.name):
        if not path.exists():
            from myPython.build.quantize import QuantRecipe, calibration_feeds, quantize_trunk
            from myPython.datasets.quant_data import calibration_images

            settings = _spec(proto, weights, output).settings()
            fp32 = ensure_onnx(proto, weights, output)
            feeds = calibration_feeds(calibration_images(), settings.resolved_scales(), settings.L, settings.mean_bgr)
            print(f"int8: quantising {Path(weights).name} on {len(feeds)} training images (once per model; "
                  f"cached as {path.name})", file=sys.stderr)
            path.parent.mkdir(parents=True, exist_ok=True)
            quantize_trunk(fp32, path, feeds, QuantRecipe())
        record.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(record, json.dumps({"onnx": str(path), "weights": str(weights)}, indent=1) + "\n")
    return path


@dataclass
class GateResult:
    passed: bool
    reason: str
    threshold: float | None
    median_cosine: float = float("nan")
    min_cosine: float = float("nan")
    agreement: float = float("nan")
    disagreeing_pairs: int = 0
    pairs: int = 0
    positive_pairs: int = 0  # pairs at or above the threshold in fp32
    images: int = 0
    cpu: str = ""
    settings: str = ""  # the extraction settings' key the gate measured with
    criteria: dict = field(default_factory=lambda: {"median_cosine": GATE_MEDIAN_COSINE,
                                                    "agreement": GATE_AGREEMENT})


def compare_descriptors(reference: np.ndarray, candidate: np.ndarray, threshold: float) -> dict:
    """Cosine of each candidate row to its reference row, and how often the pair decisions agree.

    A pair (i < j) is "same origin" when its cosine is >= threshold; agreement is the fraction of pairs
    where reference and candidate decide the same.
    """
    cosines = np.sum(reference * candidate, axis=1)
    upper = np.triu_indices(len(reference), 1)
    same_ref = (reference @ reference.T)[upper] >= threshold
    same_cand = (candidate @ candidate.T)[upper] >= threshold
    disagree = int(np.count_nonzero(same_ref != same_cand))
    pairs = len(same_ref)
    return {"median_cosine": float(np.median(cosines)), "min_cosine": float(cosines.min()),
            "agreement": 1.0 - disagree / max(1, pairs), "disagreeing_pairs": disagree, "pairs": pairs,
            "positive_pairs": int(np.count_nonzero(same_ref))}


def _extractors(proto, weights, output: str, settings):
    from myPython.retrieval.extractor import DescriptorExtractor

    threads = physical_cores()
    return (DescriptorExtractor(OnnxRuntimeEngine(proto, weights, output, threads=threads), settings),
            DescriptorExtractor(Int8Engine(proto, weights, output, threads=threads), settings))


def run_gate(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
             settings=None) -> GateResult:
    """Measure int8 against fp32 ONNX Runtime on the validation set with `settings` (None: the model's), uncached."""
    from myPython.datasets.quant_data import validation_set

    spec = _spec(proto, weights, output)
    settings = settings or spec.settings()
    threshold = recommended_threshold(spec.info)
    if threshold is None:
        return GateResult(False, f"{weights}.json gives no recommended threshold to check decisions at", None,
                          cpu=cpu_key(), settings=settings.key())
    ensure_int8(proto, weights, output)
    images, _ = validation_set()
    fp32, int8 = (e.describe_batch(images) for e in _extractors(proto, weights, output, settings))
    stats = compare_descriptors(fp32, int8, threshold)
    passed = stats["median_cosine"] >= GATE_MEDIAN_COSINE and stats["agreement"] >= GATE_AGREEMENT
    reason = (f"median cosine to fp32 {stats['median_cosine']:.4f} (>= {GATE_MEDIAN_COSINE}), decisions at "
              f"{threshold:g} agree on {stats['agreement']:.2%} of {stats['pairs']} pairs (>= {GATE_AGREEMENT:.1%}) "
              f"with {settings.key()}")
    if not passed:
        reason = "accuracy gate failed: " + reason
    return GateResult(passed, reason, threshold, images=len(images), cpu=cpu_key(), settings=settings.key(), **stats)


def measure_speedup(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
                    settings=None) -> dict:
    """fp32 and int8 seconds per image on this CPU (in turns, median of SPEED_ROUNDS) and their ratio."""
    from myPython.datasets.quant_data import validation_set

    settings = settings or _spec(proto, weights, output).settings()
    images = validation_set()[0][:SPEED_IMAGES]
    fp32, int8 = _extractors(proto, weights, output, settings)
    times: dict[str, list[float]] = {"fp32": [], "int8": []}
    fp32.describe_batch(images[:1]), int8.describe_batch(images[:1])  # warm-up
    for _ in range(SPEED_ROUNDS):
        for name, extractor in (("fp32", fp32), ("int8", int8)):
            start = time.perf_counter()
            extractor.describe_batch(images)
            times[name].append((time.perf_counter() - start) / len(images))
    fp32_s, int8_s = (float(np.median(times[k])) for k in ("fp32", "int8"))
    return {"fp32_s_per_image": fp32_s, "int8_s_per_image": int8_s, "speedup": fp32_s / int8_s,
            "threads": physical_cores()}


def prepare_int8(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
                 settings=None, *, remeasure: bool = False) -> dict:
    """Quantise (once), gate and time on this CPU (once per CPU and settings), and record the choice."""
    spec = _spec(proto, weights, output)
    settings = settings or spec.settings()
    path = choice_path(proto, weights, output, settings.key())
    cpu, entry = cpu_key(), choice_entry(spec.info)

    def recorded() -> dict | None:
        try:
            return json.loads(path.read_text()).get(entry)
        except (OSError, ValueError):
            return None

    def usable(choice: dict | None) -> bool:
        return choice is not None and (not choice["use_int8"] or int8_model(proto, weights, output) is not None)

    choice = None if remeasure else recorded()
    if usable(choice):
        return choice
    with _locked(path.name):
        choice = None if remeasure else recorded()
        if not usable(choice):
            try:
                gate = run_gate(proto, weights, output, settings)
                speed = measure_speedup(proto, weights, output, settings) if gate.passed else {}
            except Exception as exc:  # quantising or gating failed: fp32 still works
                gate, speed = GateResult(False, f"{type(exc).__name__}: {exc}", None, cpu=cpu), {}
            use = gate.passed and speed.get("speedup", 0.0) >= MIN_SPEEDUP
            if not gate.passed:
                reason = gate.reason
            elif use:
                reason = f"int8 x{speed['speedup']:.2f} over fp32 here; {gate.reason}"
            else:
                reason = f"int8 only x{speed['speedup']:.2f} over fp32 on this CPU (needs x{MIN_SPEEDUP:.2f})"
            choice = {"use_int8": bool(use), "reason": reason, "gate": asdict(gate), **speed}
            try:
                entries = json.loads(path.read_text())
            except (OSError, ValueError):
                entries = {}
            entries[entry] = choice
            path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(path, json.dumps(entries, indent=2, sort_keys=True) + "\n")
    return choice
