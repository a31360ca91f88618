"""The ``onnxruntime-int8`` engine: the quantised export, cached next to the caffemodel, and its accuracy gate.

* ``<weights>.<key>.int8.onnx``: the fp32 export (`engines.ensure_onnx`) with its trunk quantised by
  `myPython.nets.quantize` on training-only photos and frames at the model's S, L and mean; the key covers
  the prototxt, the caffemodel's sha256, the exporter and quantiser versions, the recipe and those settings,
  so a changed input means a new file.
* ``int8-gates/<int8 file name>.gate.json`` in the project cache: the accuracy gate's result per CPU
  (its flags, ONNX Runtime version), recommended threshold and extraction settings (S, L, scales, mean:
  `auto` checks the settings it will run with, the model's own by default): on a fixed validation set of
  training-source photos and edited copies (`myPython.datasets.quant_data`), the median cosine of int8
  to fp32 descriptors must be >= GATE_MEDIAN_COSINE and the same-origin decisions (cosine >= the
  sidecar's recommended threshold) on every pair must agree with fp32 on >= GATE_AGREEMENT of the pairs.
  A copy of each int8 model is kept in the cache too (``derived/``), so copies of a caffemodel reuse it.

`--engine auto` uses int8 only on a CPU with VNNI or AMX int8 instructions and when the gate passes
there (`auto_int8`); otherwise it says why in one line and runs fp32 ONNX Runtime.
"""

from __future__ import annotations

import fcntl
import functools
import json
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from myPython.retrieval.engines import OnnxRuntimeEngine, ensure_onnx, model_key, physical_cores

GATE_MEDIAN_COSINE = 0.995
GATE_AGREEMENT = 0.995
# Instructions with which ONNX Runtime's u8s8 kernels are fast and exact (no int16 saturation).
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
REPORTED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")


# --------------------------------------------------------------------------------------------
# This CPU
# --------------------------------------------------------------------------------------------


@functools.cache
def cpu_flags() -> frozenset[str]:
    """The instruction-set flags of this machine's first CPU (Linux /proc/cpuinfo, read once; empty elsewhere)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return frozenset()
    for line in text.splitlines():
        if line.startswith(("flags", "Features")):
            return frozenset(line.split(":", 1)[1].split())
    return frozenset()


def int8_flags() -> list[str]:
    """The VNNI / AMX int8 flags this CPU has (empty: int8 inference would be slow and may saturate)."""
    flags = cpu_flags()
    return [f for f in INT8_FLAGS if f in flags]


def cpu_key() -> str:
    """What the gate's result depends on besides the model: the int8 kernels ONNX Runtime picks here."""
    import onnxruntime

    flags = cpu_flags()
    return f"onnxruntime-{onnxruntime.__version__}:" + ",".join(f for f in REPORTED_FLAGS if f in flags)


# --------------------------------------------------------------------------------------------
# The quantised model
# --------------------------------------------------------------------------------------------


def _spec(proto, weights, output: str):
    """The model's sidecar settings (mean, S, L, recommended threshold); defaults without a sidecar."""
    from myPython.retrieval.models import load_model

    spec = load_model(proto, weights)
    spec.output = output
    return spec


def int8_path_for(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized") -> Path:
    """The cached int8 model of (proto, weights, output): ``<weights>.<sha16>.int8.onnx`` (may not exist yet)."""
    from myPython.nets.onnx_export import EXPORTER_VERSION
    from myPython.nets.quantize import QuantRecipe

    spec = _spec(proto, weights, output)
    settings = spec.settings()
    key = model_key(proto, weights, f"onnx-exporter-{EXPORTER_VERSION}", f"int8-{QuantRecipe().key()}", output,
                    settings.key())
    beside = Path(weights).parent / f"{Path(weights).name}.{key}.int8.onnx"
    return beside if beside.exists() or os.access(beside.parent, os.W_OK) else _shared_copy(beside)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock named after `path` (waiting for it): one process builds, the others reuse.

    The lock files live in the project cache, not beside the caffemodel."""
    from myPython.common.assets import cache_dir

    lock = cache_dir() / "locks" / (path.name + ".lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _shared_copy(path: Path) -> Path:
    """Where every int8 model is also kept, under its content key: copies of a caffemodel reuse it."""
    from myPython.common.assets import cache_dir

    return cache_dir() / "derived" / path.name


def ensure_int8(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized") -> Path:
    """The cached int8 model, quantised on first use (a minute or two for the default model)."""
    from myPython.common.fileio import atomic_copy

    path = int8_path_for(proto, weights, output)
    if path.exists():
        return path
    with _locked(path):
        if path.exists():  # another process built it while this one waited
            return path
        shared = _shared_copy(path)
        if shared.exists() and shared != path:  # the same prototxt and weights elsewhere
            atomic_copy(shared, path)
            return path
        from myPython.datasets.quant_data import calibration_images
        from myPython.nets.quantize import QuantRecipe, calibration_feeds, quantize_trunk

        spec = _spec(proto, weights, output)
        fp32 = ensure_onnx(proto, weights, output)
        settings = spec.settings()
        feeds = calibration_feeds(calibration_images(), settings.resolved_scales(), settings.L, settings.mean_bgr)
        print(f"engine onnxruntime-int8: quantising {Path(weights).name} on {len(feeds)} training images "
              f"(once per model; cached as {path.name})", file=sys.stderr)
        quantize_trunk(fp32, path, feeds, QuantRecipe())
        if shared != path:
            atomic_copy(path, shared)
    return path


class Int8Engine(OnnxRuntimeEngine):
    """ONNX Runtime (CPU) forward of the int8-quantised export; the R-MAC head runs in fp32."""

    name = "onnxruntime-int8"

    def __init__(self, proto: str | os.PathLike, weights: str | os.PathLike | None,
                 output: str = "rmac/normalized", *, threads: int | None = None) -> None:
        from myPython.errors import ModelError

        if weights is None:
            raise ModelError(f"{proto}: the onnxruntime-int8 engine needs a caffemodel")
        super().__init__(proto, weights, output, onnx_path=ensure_int8(proto, weights, output), threads=threads)


# --------------------------------------------------------------------------------------------
# The accuracy gate
# --------------------------------------------------------------------------------------------


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


def gate_path_for(int8_path: str | os.PathLike) -> Path:
    """Where the gate's results for an int8 model are kept: in this machine's cache (they are about this
    machine's CPU), under the model's content key, so that copies of the model share them."""
    from myPython.common.assets import cache_dir

    return cache_dir() / "int8-gates" / (Path(int8_path).name + ".gate.json")


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


def recommended_threshold(spec) -> float | None:
    value = spec.info.get("recommended_cosine_threshold", spec.info.get("recommended_threshold"))
    return None if value is None else float(value)


def run_gate(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
             settings=None) -> GateResult:
    """Measure int8 against fp32 ONNX Runtime on the validation set with `settings` (None: the model's), uncached."""
    from myPython.datasets.quant_data import validation_set
    from myPython.retrieval.extractor import DescriptorExtractor

    spec = _spec(proto, weights, output)
    settings = settings or spec.settings()
    threshold = recommended_threshold(spec)
    if threshold is None:
        return GateResult(False, f"{weights}.json gives no recommended threshold to check decisions at", None,
                          cpu=cpu_key(), settings=settings.key())
    images, _ = validation_set()
    fp32 = DescriptorExtractor(OnnxRuntimeEngine(proto, weights, output), settings).describe_batch(images)
    int8 = DescriptorExtractor(Int8Engine(proto, weights, output), settings).describe_batch(images)
    stats = compare_descriptors(fp32, int8, threshold)
    passed = stats["median_cosine"] >= GATE_MEDIAN_COSINE and stats["agreement"] >= GATE_AGREEMENT
    reason = (f"median cosine to fp32 {stats['median_cosine']:.4f} (>= {GATE_MEDIAN_COSINE}), decisions at "
              f"{threshold:g} agree on {stats['agreement']:.2%} of {stats['pairs']} pairs (>= {GATE_AGREEMENT:.1%}) "
              f"with {settings.key()}")
    if not passed:
        reason = "accuracy gate failed: " + reason
    return GateResult(passed, reason, threshold, images=len(images), cpu=cpu_key(), settings=settings.key(), **stats)


def ensure_gate(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
                settings=None) -> GateResult:
    """The gate's result for this model, CPU, recommended threshold and settings, measured once and cached."""
    from myPython.common.fileio import atomic_write_text

    spec = _spec(proto, weights, output)
    settings = settings or spec.settings()
    path = gate_path_for(int8_path_for(proto, weights, output))
    key = f"{cpu_key()} threshold={recommended_threshold(spec)} {settings.key()}"

    def cached() -> GateResult | None:
        try:
            entry = json.loads(path.read_text()).get(key)
        except (OSError, ValueError):
            return None
        return GateResult(**entry) if entry else None

    result = cached()
    if result is not None:
        return result
    with _locked(path):
        result = cached()
        if result is None:
            result = run_gate(proto, weights, output, settings)
            try:
                entries = json.loads(path.read_text())
            except (OSError, ValueError):
                entries = {}
            entries[key] = asdict(result)
            atomic_write_text(path, json.dumps(entries, indent=2, sort_keys=True) + "\n")
    return result


def int8_refusal(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
                 settings=None) -> str | None:
    """Why `auto` does not use int8 for this model, CPU and settings, or None when it does (the gate passed).

    Quantises and runs the gate on first use (both cached).
    """
    try:
        import onnxruntime.quantization  # noqa: F401
    except ImportError as exc:
        return f"onnxruntime.quantization cannot be imported ({exc})"
    if not int8_flags():
        return f"this CPU has none of {', '.join(INT8_FLAGS)}"
    if recommended_threshold(_spec(proto, weights, output)) is None:
        return f"{Path(weights).name}.json gives no recommended threshold for its accuracy gate"
    try:
        gate = ensure_gate(proto, weights, output, settings)
    except Exception as exc:  # quantising or gating failed: fp32 still works
        return f"{type(exc).__name__}: {exc}"
    return None if gate.passed else gate.reason


def auto_int8(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
              settings=None):
    """`Int8Engine` when this CPU has VNNI/AMX and the model passes the gate here with `settings` (None: the
    model's own); else None, with one line on stderr saying why."""
    reason = int8_refusal(proto, weights, output, settings)
    if reason is None:
        try:
            return Int8Engine(proto, weights, output, threads=physical_cores())
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"
    print(f"engine auto: fp32 ONNX Runtime (int8 not used: {reason})", file=sys.stderr)
    return None


def uses_int8(kind: str, proto: str | os.PathLike, weights: str | os.PathLike | None,
              output: str = "rmac/normalized", gpu: int | None = None, settings=None) -> bool:
    """Whether `engines.open_engine(kind, ...)` runs the int8 model (caches of descriptors must tell them apart)."""
    if kind == "onnxruntime-int8":
        return True
    on_cpu = gpu is None or gpu < 0
    return kind == "auto" and on_cpu and weights is not None and int8_refusal(proto, weights, output, settings) is None
