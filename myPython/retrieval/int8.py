"""The ``onnxruntime-int8`` engine and `--engine auto`'s int8 choice, read from what the build measured.

The build layer (`myPython.build.int8_choice`, run at install for the default model and on first use of `auto`
for another one) quantises the fp32 export, runs the accuracy gate and times int8 against fp32 on this CPU. It
writes two records in the project cache, which this module only reads:

* ``int8-models/<model key>.json``: where the int8 model of (prototxt, caffemodel, output) is and which recipe
  made it;
* ``int8-choices/<model key + settings>.json``: per CPU (`cpu_key`), the gate's result, the measured speed-up
  and the choice: int8 when the gate passed and int8 was at least MIN_SPEEDUP times faster here.

The environment variable DEEP_RETRIEVAL_INT8 overrides the choice: ``off`` runs fp32 (as a CPU where int8 does
not pay would), ``on`` runs int8 whenever the model has one (as a CPU where it pays would), ``auto`` (the
default) follows the measurement.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from pathlib import Path

from myPython.errors import ModelError, UsageError
from myPython.retrieval.engines import OnnxRuntimeEngine, model_key, physical_cores

GATE_MEDIAN_COSINE = 0.995
GATE_AGREEMENT = 0.995
MIN_SPEEDUP = 1.10  # int8 must be this much faster than fp32 on this CPU for `auto` to take it
# Instructions with which ONNX Runtime's u8s8 kernels are fast and exact (no int16 saturation); reported only:
# the choice is measured, not read off the flags.
INT8_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
REPORTED_FLAGS = ("avx2", "avx512f", "avx512_vnni", "avx_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16")
OVERRIDE_ENV = "DEEP_RETRIEVAL_INT8"
OVERRIDES = ("auto", "on", "off")


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


def override() -> str:
    """DEEP_RETRIEVAL_INT8: auto (follow the measurement), on or off; UsageError for anything else."""
    value = os.environ.get(OVERRIDE_ENV, "auto").strip().lower() or "auto"
    if value not in OVERRIDES:
        raise UsageError(f"{OVERRIDE_ENV}={value!r}: expected one of {', '.join(OVERRIDES)}")
    return value


# --------------------------------------------------------------------------------------------
# The records the build writes
# --------------------------------------------------------------------------------------------


def _cache() -> Path:
    from myPython.common.assets import cache_dir

    return cache_dir()


def model_record_path(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized") -> Path:
    return _cache() / "int8-models" / f"{model_key(proto, weights, 'int8', output)}.json"


def choice_path(proto: str | os.PathLike, weights: str | os.PathLike, output: str, settings_key: str) -> Path:
    return _cache() / "int8-choices" / f"{model_key(proto, weights, 'int8', output, settings_key)}.json"


def _read_json(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return {}


def int8_model(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized") -> Path | None:
    """The built int8 model of (proto, weights, output), or None when none was built."""
    onnx = _read_json(model_record_path(proto, weights, output)).get("onnx")
    return Path(onnx) if onnx and Path(onnx).is_file() else None


def recommended_threshold(info: dict) -> float | None:
    """The cosine threshold at which the gate checks decisions: the sidecar's cosine one, else its fused one."""
    value = info.get("recommended_cosine_threshold", info.get("recommended_threshold"))
    return None if value is None else float(value)


def choice_entry(info: dict) -> str:
    """The key of a choice within its record: this CPU and the threshold the gate checked decisions at."""
    return f"{cpu_key()} threshold={recommended_threshold(info)}"


def read_choice(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
                settings=None) -> dict | None:
    """What the build measured for this model, settings (None: the sidecar's), threshold and CPU, or None."""
    from myPython.retrieval.models import load_model

    spec = load_model(proto, weights)
    settings = settings or spec.settings()
    return _read_json(choice_path(proto, weights, output, settings.key())).get(choice_entry(spec.info))


def int8_refusal(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
                 settings=None) -> str | None:
    """Why `auto` runs fp32 for this model, settings and CPU, or None when it runs int8. Reads records only."""
    mode = override()
    if mode == "off":
        return f"{OVERRIDE_ENV}=off"
    if int8_model(proto, weights, output) is None:
        return "no int8 model built for it (`deep-retrieval model quantize` builds and measures one)"
    if mode == "on":
        return None
    choice = read_choice(proto, weights, output, settings)
    if choice is None:
        return "not measured on this CPU (`deep-retrieval model quantize` measures it)"
    return None if choice.get("use_int8") else str(choice.get("reason", "int8 does not pay here"))


class Int8Engine(OnnxRuntimeEngine):
    """ONNX Runtime (CPU) forward of the int8-quantised export (built by the build layer); the R-MAC head runs
    in fp32."""

    name = "onnxruntime-int8"

    def __init__(self, proto: str | os.PathLike, weights: str | os.PathLike | None,
                 output: str = "rmac/normalized", *, onnx_path: str | os.PathLike | None = None,
                 threads: int | None = None) -> None:
        if weights is None:
            raise ModelError(f"{proto}: the onnxruntime-int8 engine needs a caffemodel")
        onnx_path = onnx_path or int8_model(proto, weights, output)
        if onnx_path is None:
            raise ModelError(f"{weights}: no int8 model built; `deep-retrieval model quantize --proto {proto} "
                             f"--weights {weights}` builds one")
        super().__init__(proto, weights, output, onnx_path=onnx_path, threads=threads)


def auto_int8(proto: str | os.PathLike, weights: str | os.PathLike, output: str = "rmac/normalized",
              settings=None):
    """`Int8Engine` when the build's measurement (or DEEP_RETRIEVAL_INT8=on) chooses int8 for this model,
    settings and CPU; else None, with one line on stderr saying why."""
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
