"""Where the time goes: ONNX Runtime's per-node profile of the fp32 and the int8 default model, side by side.

Runs both sessions on the same batch of real photos resized to one size (forward passes only), with
ONNX Runtime profiling on, and sums the kernel times per part of the net: the stem and first stage
(fp32 in both models), the rest of the trunk (int8 in the int8 model), the layout/quantisation glue
ONNX Runtime adds (Transpose, ReorderInput/Output, QuantizeLinear, DequantizeLinear) and the R-MAC head.

    .venv/bin/python bench/profile_int8.py [--size 384x512] [--batch 4] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

os.environ.setdefault("GLOG_minloglevel", "2")
REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

GLUE = {"Transpose", "ReorderInput", "ReorderOutput", "QuantizeLinear", "DequantizeLinear"}


def _profile(path: Path, feeds: dict, runs: int, parts: dict[str, str]) -> tuple[dict[str, float], float]:
    """(ms per image per part, ms per image in all kernels) over `runs` timed runs after one warm-up."""
    import onnxruntime as ort

    from myPython.retrieval.engines import physical_cores

    options = ort.SessionOptions()
    options.intra_op_num_threads = physical_cores()
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.enable_profiling = True
    options.profile_file_prefix = str(Path(tempfile.mkdtemp(prefix="ort-profile-")) / "run")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    session.run(None, feeds)
    for _ in range(runs):
        session.run(None, feeds)
    events = json.loads(Path(session.end_profiling()).read_text())
    images = feeds["data"].shape[0] * (runs + 1)
    totals: dict[str, float] = defaultdict(float)
    for event in events:
        if event.get("cat") != "Node" or not event["name"].endswith("_kernel_time"):
            continue
        op, node = event["args"]["op_name"], event["name"][: -len("_kernel_time")]
        part = "glue (layout, (de)quantise)" if op in GLUE else parts.get(node.split("/")[0].split("#")[0], "head")
        totals[part] += event["dur"] / 1000.0 / images
    return dict(totals), sum(totals.values())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="384x512", help="H x W of the input (default 384x512)")
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args(argv)
    import onnx

    from myPython.build.int8_choice import ensure_int8
    from myPython.build.quantize import stem_nodes, trunk_nodes
    from myPython.common import assets
    from myPython.retrieval.engines import ensure_onnx
    from myPython.retrieval.extractor import as_bgr, prepare_input
    from myPython.retrieval.int8 import cpu_key
    from myPython.retrieval.models import load_model
    from myPython.rmac.grid import rmac_rois

    spec = load_model()
    fp32, int8 = ensure_onnx(spec.proto, spec.weights), ensure_int8(spec.proto, spec.weights)
    model = onnx.load(str(fp32))
    stem = {n.split("/")[0] for n in stem_nodes(model)}
    parts = {n.split("/")[0]: ("stem + stage 1 (fp32 in both)" if n.split("/")[0] in stem else "rest of the trunk")
             for n in trunk_nodes(model)}
    h, w = (int(v) for v in args.size.split("x"))
    import cv2

    photos = [as_bgr(p) for p in assets.perception_images()[: args.batch]]
    data = np.stack([prepare_input(cv2.resize(p, (w, h)), max(h, w), spec.mean_bgr) for p in photos])
    feeds = {"data": data, "rois": rmac_rois(h, w, spec.L, len(photos))}
    print(f"profile: default model, {len(photos)} photos at {h}x{w}, {args.runs} runs; {cpu_key()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    rows = {name: _profile(path, feeds, args.runs, parts) for name, path in (("fp32", fp32), ("int8", int8))}
    names = sorted({p for totals, _ in rows.values() for p in totals}, key=lambda p: -rows["fp32"][0].get(p, 0))
    print(f"{'part':<32} {'fp32 ms/img':>11} {'int8 ms/img':>11} {'x':>6}")
    for part in names:
        a, b = rows["fp32"][0].get(part, 0.0), rows["int8"][0].get(part, 0.0)
        print(f"{part:<32} {a:>11.2f} {b:>11.2f} {a / b if b else float('nan'):>6.2f}")
    (a, b) = rows["fp32"][1], rows["int8"][1]
    print(f"{'all kernels':<32} {a:>11.2f} {b:>11.2f} {a / b:>6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
