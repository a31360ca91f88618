"""`make bench`: descriptor extraction speed, side by side, on the same real photos.

Cases: ResNet-101 R-MAC (2048-D) at 384x512 (one resolution), at S=800, at three resolutions
(S = 550, 800, 1050), and the default model (open_nsfw ResNet-50-1by2 trunk) at S=512.
Paths: naive Caffe (BatchNorm layers, one image per forward), the project's Caffe path (BatchNorm
folded into the convolutions, equal-size images batched, BLAS threads = physical cores, with its
steps shown separately at 384x512), the project's ONNX Runtime path in fp32 and int8
(`onnxruntime-int8`: trunk quantised, head fp32; compared by cosine, not max |d|), and an independent
PyTorch port of the ResNet-101 R-MAC (eager, and TorchScript optimize_for_inference channels_last).

Every row runs in a fresh process (so its peak RSS is its own); seconds per image are end to end
(decode, resize, regions, forward, aggregation) as the median over repetitions; `fwd s/img` times
the engine's forward passes alone on the prepared inputs. GFLOP/s counts the trunk's convolutions
analytically from their shapes. Every descriptor is compared with naive Caffe's.

The published ResNet-101 R-MAC weights are not downloadable here: the ResNet-101 rows use random
(well-scaled) weights, which changes nothing in the speed; the default model has its real weights.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
REPO = Path(__file__).resolve().parents[1]
for path in (str(REPO), str(Path(__file__).resolve().parent)):
    if path not in sys.path:
        sys.path.insert(0, path)

import numpy as np  # noqa: E402

R101_PROTO = REPO / "proto" / "deploy_resnet101.prototxt"
TOL = 1e-4
GOAL_R101_S = 0.3
GOAL_DEFAULT_IPS = 10.0
GOAL_E2E = 1.15
GOAL_INT8 = 2.0  # int8 over fp32 ONNX Runtime, end to end, on a CPU with VNNI
# int8 sanity bound (default model, real weights): whether int8 is accurate enough to be used is the accuracy
# gate's call (build/int8_choice.py: median >= 0.995 at the settings in use); a case's settings may differ.
INT8_MIN_MEDIAN_COSINE = 0.98


@dataclass
class Case:
    key: str
    model: str  # "r101" | "default"
    S: int
    scales: tuple[int, ...] | None = None
    fixed: tuple[int, int] | None = None  # resize every photo to this H x W first
    caffe_images: int = 3
    caffe_reps: int = 3
    fast_images: int = 8
    fast_reps: int = 3


@dataclass
class Row:
    case: str
    path: str
    engine: str  # caffe | caffe-folded | onnxruntime | onnxruntime-int8 | torch-eager | torch-script
    batch: int
    blas_threads: int | None = None
    slow: bool = False  # a Caffe row: fewer images and repetitions
    step: str = ""


CASES = {
    "r101-384x512": Case("r101-384x512", "r101", 512, fixed=(384, 512)),
    "r101-S800": Case("r101-S800", "r101", 800, caffe_images=3, caffe_reps=2, fast_images=6, fast_reps=3),
    "r101-3res": Case("r101-3res", "r101", 800, scales=(550, 800, 1050), caffe_images=2, caffe_reps=1,
                      fast_images=4, fast_reps=2),
    "default-S512": Case("default-S512", "default", 512, caffe_images=8, caffe_reps=3, fast_images=16,
                         fast_reps=3),
}


def rows_for(case: Case, cores: int, with_torch: bool) -> list[Row]:
    k = case.key
    rows = [Row(k, "naive Caffe", "caffe", 1, slow=True)]
    if k == "r101-384x512":
        rows += [
            Row(k, "Caffe +fold BN", "caffe-folded", 1, cores, slow=True, step="fold BN"),
            Row(k, "Caffe +fold +batch", "caffe-folded", 8, cores, slow=True, step="batch"),
            Row(k, "Caffe +fold +batch 1thr", "caffe-folded", 8, 1, slow=True, step="BLAS 1 thread"),
            Row(k, "ONNX Runtime 1/call", "onnxruntime", 1),
        ]
    else:
        rows.append(Row(k, "Caffe project path", "caffe-folded", 8, cores, slow=True))
    rows.append(Row(k, "ONNX Runtime", "onnxruntime", 8))
    if case.key != "r101-3res":
        rows.append(Row(k, "ONNX Runtime int8", "onnxruntime-int8", 8))
    if with_torch and case.model == "r101":
        rows += [Row(k, "PyTorch eager", "torch-eager", 1), Row(k, "PyTorch TorchScript CL", "torch-script", 1)]
    return rows


# --------------------------------------------------------------------------------------------
# FLOPs
# --------------------------------------------------------------------------------------------


def _pair(p, base: str, default: int) -> tuple[int, int]:
    if p.HasField(f"{base}_h") or p.HasField(f"{base}_w"):
        return int(getattr(p, f"{base}_h")), int(getattr(p, f"{base}_w"))
    value = getattr(p, "kernel_size" if base == "kernel" else base)
    if isinstance(value, int):
        return (value, value) if value or base == "pad" else (default, default)
    value = list(value)
    return (value[0], value[-1]) if value else (default, default)


def trunk_flops(proto: str | os.PathLike, h: int, w: int, _memo: dict = {}) -> float:  # noqa: B006
    """FLOPs (2 x multiply-adds) of the convolutions before the ROI pooling, for an H x W input."""
    key = (str(proto), h, w)
    if key in _memo:
        return _memo[key]
    from caffe.proto import caffe_pb2

    from myPython.nets.runtime import read_net_param

    shapes: dict[str, tuple[int, int, int]] = {}
    total = 0.0
    for layer in read_net_param(proto).layer:
        if layer.type == "Input":
            if layer.top[0] == "data":
                shapes["data"] = (3, h, w)
            continue
        if layer.type == "ROIPooling":
            break
        if not layer.bottom or layer.bottom[0] not in shapes:
            continue
        c, ih, iw = shapes[layer.bottom[0]]
        if layer.type == "Convolution":
            p = layer.convolution_param
            (kh, kw), (sh, sw), (ph, pw) = _pair(p, "kernel", 1), _pair(p, "stride", 1), _pair(p, "pad", 0)
            oh, ow = (ih + 2 * ph - kh) // sh + 1, (iw + 2 * pw - kw) // sw + 1
            total += 2.0 * p.num_output * (c // max(1, p.group)) * kh * kw * oh * ow
            shapes[layer.top[0]] = (int(p.num_output), oh, ow)
        elif layer.type == "Pooling":
            p = layer.pooling_param
            (kh, kw), (sh, sw), (ph, pw) = _pair(p, "kernel", 1), _pair(p, "stride", 1), _pair(p, "pad", 0)
            ceil = p.round_mode == caffe_pb2.PoolingParameter.CEIL
            size = []
            for i, k, s, pad in ((ih, kh, sh, ph), (iw, kw, sw, pw)):
                o = (-(-(i + 2 * pad - k) // s) if ceil else (i + 2 * pad - k) // s) + 1
                if pad and (o - 1) * s >= i + pad:
                    o -= 1
                size.append(o)
            shapes[layer.top[0]] = (c, size[0], size[1])
        else:
            for top in layer.top:
                shapes[top] = (c, ih, iw)
    _memo[key] = total
    return total


# --------------------------------------------------------------------------------------------
# One row (child process)
# --------------------------------------------------------------------------------------------


def _open(row: dict, model: dict):
    from myPython.retrieval.engines import CaffeEngine, OnnxRuntimeEngine, physical_cores, set_blas_threads
    from myPython.retrieval.int8 import Int8Engine

    engine = row["engine"]
    if engine.startswith("torch"):
        import torch_rmac

        return torch_rmac.TorchRMAC(model["weights"], engine.split("-")[1], threads=physical_cores())
    if row["blas_threads"]:
        set_blas_threads(row["blas_threads"])
    if engine == "caffe":
        return CaffeEngine(model["proto"], model["weights"])
    if engine == "caffe-folded":
        return CaffeEngine(model["proto"], model["weights"], fold_bn=True, blas_threads=row["blas_threads"])
    if engine == "onnxruntime-int8":
        return Int8Engine(model["proto"], model["weights"])
    return OnnxRuntimeEngine(model["proto"], model["weights"])


def _peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss it is not inherited from the parent across exec)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def worker(spec_path: str) -> int:
    """Time one row; write <spec>.json (numbers) and <spec>.npy (descriptors)."""
    import cv2

    from myPython.retrieval.extractor import DescriptorExtractor, ExtractionSettings, as_bgr, prepare_input

    spec = json.loads(Path(spec_path).read_text())
    row, case, model = spec["row"], spec["case"], spec["model"]
    n, reps = spec["images"], spec["reps"]
    paths = spec["paths"][:n]
    settings = ExtractionSettings(S=case["S"], L=2, scales=tuple(case["scales"]) if case["scales"] else None,
                                  mean_bgr=tuple(model["mean_bgr"]))
    fixed = case["fixed"]

    def load(path: str) -> np.ndarray:
        image = as_bgr(path)
        if fixed:
            image = cv2.resize(image, (fixed[1], fixed[0]), interpolation=cv2.INTER_AREA)
        return image

    t0 = time.perf_counter()
    engine = _open(row, model)
    load_s = time.perf_counter() - t0
    batch = row["batch"]
    extractor = DescriptorExtractor(engine, settings, batch)
    chunks = [paths[i : i + batch] for i in range(0, len(paths), batch)]
    extractor.describe_batch([load(p) for p in chunks[0]])  # warm-up: allocation, shapes, compilation
    times, out = [], None
    # End to end as the embed pipeline runs it: decoding threads prefetch the next chunk.
    with ThreadPoolExecutor(max(2, min(8, os.cpu_count() or 2)), thread_name_prefix="decode") as pool:
        for _ in range(reps):
            start = time.perf_counter()
            pending = [pool.map(load, chunk) for chunk in chunks[:2]]
            parts = []
            for i in range(len(chunks)):
                images = list(pending[i])
                if i + 2 < len(chunks):
                    pending.append(pool.map(load, chunks[i + 2]))
                parts.append(extractor.describe_batch(images))
            out = np.concatenate(parts)
            times.append((time.perf_counter() - start) / n)
    # Forward passes alone, on prepared inputs (the engine's own throughput).
    arrays = [load(p) for p in paths]
    flops, fwd_times = 0.0, []
    prepared = {s: [prepare_input(a, s, settings.mean_bgr) for a in arrays] for s in settings.resolved_scales()}
    for inputs in prepared.values():
        flops += sum(trunk_flops(model["proto"], x.shape[1], x.shape[2]) for x in inputs)
    for _ in range(spec["fwd_reps"]):
        start = time.perf_counter()
        for inputs in prepared.values():
            for i in range(0, len(inputs), batch):
                extractor.forward_inputs(inputs[i : i + batch])
        fwd_times.append((time.perf_counter() - start) / n)
    np.save(spec_path + ".npy", out)
    result = {"times": times, "fwd_times": fwd_times, "load_s": load_s, "flops_per_image": flops / n,
              "peak_rss_mb": _peak_rss_mb(),
              "engine_name": getattr(engine, "name", row["engine"])}
    Path(spec_path + ".json").write_text(json.dumps(result))
    return 0


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _flags() -> str:
    from myPython.retrieval.int8 import REPORTED_FLAGS, cpu_flags

    flags = cpu_flags()
    return " ".join(f for f in ("fma",) + REPORTED_FLAGS if f in flags) or "no flags read"


def prepare_models(cases: list[Case], need_folded: bool) -> dict[str, dict]:
    """Random-weight ResNet-101, the default model, and their ONNX exports / folded copies / int8 models (untimed)."""
    from myPython.build.int8_choice import ensure_int8
    from myPython.common import assets
    from myPython.nets import random_weights
    from myPython.retrieval import engines
    from myPython.retrieval.extractor import MODEL_MEAN_BGR

    models = {}
    if any(c.model == "r101" for c in cases):
        weights = assets.cache_dir() / "bench" / "resnet101-rmac-random-seed1.caffemodel"
        if not weights.exists():
            random_weights.random_weights_file(R101_PROTO, weights, seed=1)
        models["r101"] = {"proto": str(R101_PROTO), "weights": str(weights), "mean_bgr": list(MODEL_MEAN_BGR),
                          "label": "ResNet-101 R-MAC 2048-D (random weights)"}
    if any(c.model == "default" for c in cases):
        from myPython.retrieval.models import load_model

        spec = load_model()
        models["default"] = {"proto": spec.proto, "weights": spec.weights, "mean_bgr": list(spec.mean_bgr),
                             "label": f"default model {spec.dim}-D (open_nsfw ResNet-50-1by2 trunk, real weights)"}
    for name, m in models.items():
        start = time.perf_counter()
        engines.ensure_onnx(m["proto"], m["weights"])
        if need_folded:
            engines.ensure_folded(m["proto"], m["weights"])
        ensure_int8(m["proto"], m["weights"])
        print(f"  {name}: ONNX export + check{' + folded copy' if need_folded else ''} + int8 model ready "
              f"({time.perf_counter() - start:.1f} s, cached)")
    return models


def real_photos() -> list[str]:
    """Photos from the pinned packages, JPEG and PNG, interleaved so that any prefix mixes both."""
    from myPython.common import assets

    a, b = [str(p) for p in assets.perception_images()], [str(p) for p in assets.skimage_photos()[:9]]
    out = []
    for i in range(max(len(a), len(b))):
        out += ([a[i]] if i < len(a) else []) + ([b[i]] if i < len(b) else [])
    return out


def run_row(row: Row, case: Case, model: dict, paths: list[str], tmp: Path, quick: bool) -> dict:
    n = case.caffe_images if row.slow else case.fast_images
    reps = case.caffe_reps if row.slow else case.fast_reps
    env = dict(os.environ)
    if row.engine.startswith("torch"):
        n = min(n, 4)  # the PyTorch rows are a reference point, not the product: fewer images
        # libgomp's busy-waiting threads collapse when other processes share the cores; ONNX Runtime's
        # threads do not spin either (engines.ort_session).
        env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    if quick:
        n, reps = min(n, 2), 1
    spec = {"row": asdict(row), "case": asdict(case), "model": model, "paths": paths, "images": n, "reps": reps,
            "fwd_reps": 0 if row.slow else 1 if quick or row.engine.startswith("torch") else 2}
    spec_path = tmp / f"{case.key}-{row.path.replace(' ', '_').replace('/', '_')}"
    spec_path.write_text(json.dumps(spec))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--worker", str(spec_path)], capture_output=True, text=True,
                          env=env)
    if proc.returncode != 0:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-3:]
        return {"error": " | ".join(tail), "images": n, "reps": reps}
    result = json.loads(Path(str(spec_path) + ".json").read_text())
    result.update(images=n, reps=reps, wall_s=time.perf_counter() - start,
                  descriptors=np.load(str(spec_path) + ".npy"))
    return result


def _fmt(value: float | None, spec: str) -> str:
    width = int(spec.split(".")[0] or 0)
    return "-".rjust(width) if value is None or not np.isfinite(value) else format(value, spec)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated, from {','.join(CASES)}")
    parser.add_argument("--no-torch", action="store_true", help="skip the PyTorch rows")
    parser.add_argument("--no-caffe-steps", action="store_true", help="skip the Caffe step rows at 384x512")
    parser.add_argument("--quick", action="store_true", help="2 images, 1 repetition (smoke test)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker:
        return worker(args.worker)

    from myPython.retrieval.engines import physical_cores

    cores = physical_cores()
    cases = [CASES[c] for c in args.cases.split(",") if c]
    with_torch = not args.no_torch and importlib.util.find_spec("torch") is not None
    load_before = os.getloadavg()
    import onnxruntime

    versions = f"onnxruntime {onnxruntime.__version__}"
    if with_torch:
        import torch

        versions += f", torch {torch.__version__}"
    print(f"bench: {_cpu_name()} [{_flags()}], {cores} physical core(s), {os.cpu_count()} CPU(s); {versions}")
    print(f"bench: load average before {load_before[0]:.2f} (other processes on the machine skew timings)")
    print("bench: the published ResNet-101 R-MAC weights are not downloadable here: the ResNet-101 rows use "
          "random well-scaled weights (same speed, same code path); the default model uses its real weights.")
    if args.no_torch:
        print("bench: PyTorch rows skipped (--no-torch)")
    elif not with_torch:
        print("bench: PyTorch rows skipped: torch is not installed (.venv/bin/pip install torch==2.13.0)")
    need_folded = True
    models = prepare_models(cases, need_folded)
    photos = real_photos()
    print(f"bench: {len(photos)} real photos (perception test images, scikit-image data); per row the first N, "
          "timed end to end (decode + resize + forward), median over repetitions\n")

    header = (f"{'case':<13} {'path':<24} {'N x reps':>8} {'s/img':>7} {'min':>6} {'img/s':>6} {'GFLOP/s':>7} "
              f"{'fwd s/img':>9} {'e2e/fwd':>7} {'RSS MB':>7} {'x naive':>7} {'max|d| vs naive':>15} {'cos':>6}")
    print(header)
    print("-" * len(header))
    failures, results = [], {}
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        for case in cases:
            naive = None
            for row in rows_for(case, cores, with_torch):
                if args.no_caffe_steps and row.step:
                    continue
                r = run_row(row, case, models[case.model], photos, Path(tmp), args.quick)
                results[(case.key, row.path)] = r
                if "error" in r:
                    print(f"{case.key:<13} {row.path:<24} failed: {r['error']}")
                    failures.append(f"{case.key} {row.path}: {r['error']}")
                    continue
                s = statistics.median(r["times"])
                fwd = statistics.median(r["fwd_times"]) if r["fwd_times"] else None
                if naive is None and row.engine == "caffe":
                    naive = r | {"s": s}
                delta = None
                if naive is not None:
                    k = min(len(naive["descriptors"]), len(r["descriptors"]))
                    delta = float(np.abs(r["descriptors"][:k] - naive["descriptors"][:k]).max())
                    r["cosine"] = float(np.median(np.sum(r["descriptors"][:k] * naive["descriptors"][:k], axis=1)))
                    if row.engine == "onnxruntime-int8":  # random weights (r101) are not held to the gate
                        if case.model == "default" and r["cosine"] < INT8_MIN_MEDIAN_COSINE:
                            failures.append(f"{case.key} {row.path}: median cosine {r['cosine']:.4f} to naive Caffe")
                    elif delta >= TOL:
                        failures.append(f"{case.key} {row.path}: descriptors differ from naive Caffe by {delta:.2e}")
                r["s"] = s
                r["fwd"] = fwd
                print(f"{case.key:<13} {row.path:<24} {r['images']:>4} x {r['reps']:<2} {s:>7.3f} "
                      f"{min(r['times']):>6.3f} {1 / s:>6.2f} "
                      f"{r['flops_per_image'] / s / 1e9:>7.1f} {_fmt(fwd, '9.3f')} "
                      f"{_fmt(s / fwd if fwd else None, '7.2f')} {r['peak_rss_mb']:>7.0f} "
                      f"{_fmt(naive['s'] / s if naive else None, '7.2f')} {_fmt(delta, '15.1e')} "
                      f"{_fmt(r.get('cosine'), '6.4f')} {os.getloadavg()[0]:>5.1f}", flush=True)
    load_after = os.getloadavg()
    print(f"\nbench: load average after {load_after[0]:.2f}")
    print("bench: s/img (median over repetitions; min = fastest repetition) and img/s end to end, with decoding "
          "threads prefetching as in embed; fwd s/img = forward passes only (not timed for the Caffe rows); "
          "GFLOP/s = trunk convolution FLOPs / s/img; RSS = peak resident memory of the row's process; "
          "x naive = speed-up over naive Caffe; cos = median cosine of the descriptors to naive Caffe's; "
          "load = 1-minute load average after the row")
    _goals(results, failures)
    if failures:
        print("\nbench: FAILED\n  " + "\n  ".join(failures))
        return 1
    print("\nbench: every fp32 fast path matches naive Caffe (max |d| < 1e-4); int8 on the default model has "
          f"median cosine >= {INT8_MIN_MEDIAN_COSINE} to it")
    return 0


def _goals(results: dict, failures: list[str]) -> None:
    print("\ngoals:")

    def get(case: str, path: str) -> dict | None:
        r = results.get((case, path))
        return r if r and "s" in r else None

    r = get("r101-384x512", "ONNX Runtime 1/call")
    if r:
        ok = r["s"] <= GOAL_R101_S
        print(f"  ResNet-101 R-MAC 384x512, one image per call: {r['s']:.3f} s/img "
              f"(goal <= {GOAL_R101_S}) {'met' if ok else 'NOT met'}")
    r = get("default-S512", "ONNX Runtime")
    if r:
        ips = 1 / r["s"]
        print(f"  default model S=512: {ips:.1f} img/s (goal >= {GOAL_DEFAULT_IPS:g}) "
              f"{'met' if ips >= GOAL_DEFAULT_IPS else 'NOT met'}")
    for (case, path), r in results.items():
        if path.startswith("ONNX Runtime") and r.get("fwd"):
            ratio = r["s"] / r["fwd"]
            print(f"  end to end vs forward, {case} {path}: {ratio:.2f} (goal <= {GOAL_E2E}) "
                  f"{'met' if ratio <= GOAL_E2E else 'NOT met'}")
    from myPython.retrieval.int8 import cpu_key, int8_flags

    vnni = int8_flags()
    print(f"  CPU family for the int8 ratios below: {cpu_key()}")
    for case in CASES:
        fp32, q = get(case, "ONNX Runtime"), get(case, "ONNX Runtime int8")
        if fp32 and q:
            ratio = fp32["s"] / q["s"]
            fwd = f", forward only x{fp32['fwd'] / q['fwd']:.2f}" if fp32.get("fwd") and q.get("fwd") else ""
            verdict = (("met" if ratio >= GOAL_INT8 else "NOT met") if vnni
                       else "goal not applicable (no VNNI/AMX; `auto` takes int8 here only if the install measured it)")
            print(f"  int8 over fp32 ONNX Runtime, {case}: x{ratio:.2f} end to end{fwd} (goal >= {GOAL_INT8:g} on "
                  f"a CPU with VNNI) {verdict}")
    steps = [get("r101-384x512", p) for p in ("naive Caffe", "Caffe +fold BN", "Caffe +fold +batch",
                                                "Caffe +fold +batch 1thr")]
    if all(steps):
        naive, fold, batch, one = (x["s"] for x in steps)
        print(f"  Caffe steps at 384x512: fold BN x{naive / fold:.2f}, then batching x{fold / batch:.2f} "
              f"(total x{naive / batch:.2f}); BLAS threads: 1 thread {one:.3f} s/img vs "
              f"physical cores {batch:.3f} s/img (x{one / batch:.2f})")


if __name__ == "__main__":
    sys.exit(main())
