"""Models that describe themselves: a prototxt + caffemodel pair plus a JSON sidecar.

The sidecar (`<weights>.json`) records what a user would otherwise have to
remember: input mean, output blob, default S and L, dimension, provenance.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path

from myPython.common.assets import sha256_file
from myPython.common.fileio import atomic_write_text
from myPython.rmac.preparation import MODEL_MEAN_BGR, ExtractionSettings


@dataclass
class ModelSpec:
    name: str
    proto: str
    weights: str | None
    output: str = "rmac/normalized"
    mean_bgr: tuple[float, float, float] = MODEL_MEAN_BGR
    S: int = 512
    L: int = 2
    dim: int | None = None
    info: dict = field(default_factory=dict)
    scales: tuple[int, ...] | None = None  # the model's default scales (summed), when not just S

    def settings(self, S: int | None = None, L: int | None = None, multires: bool = False,
                 scales: tuple[int, ...] | None = None) -> ExtractionSettings:
        """Extraction settings: the model's own unless S, L, multires or scales are given."""
        if scales is None and S is None and not multires and self.scales:
            scales = tuple(self.scales)
        return ExtractionSettings(S=S or self.S, L=self.L if L is None else L, multires=multires,
                                  scales=scales, mean_bgr=tuple(self.mean_bgr))

    def fingerprint(self) -> str:
        """Content hash of prototxt and caffemodel (caches are keyed by it)."""
        import hashlib

        digest = hashlib.sha256(Path(self.proto).read_bytes())
        if self.weights:
            digest.update(sha256_file(self.weights).encode())
        digest.update(self.output.encode())
        return digest.hexdigest()[:16]

    def describe(self) -> dict:
        """What `deep-retrieval model info` prints: files, preparation, calibrated thresholds, provenance."""
        return {"name": self.name, "proto": self.proto, "weights": self.weights, "output": self.output,
                "mean_bgr": list(self.mean_bgr), "S": self.S, "L": self.L,
                "scales": list(self.scales) if self.scales else None, "dim": self.dim, **self.info}

    def save_sidecar(self) -> Path:
        if not self.weights:
            raise ValueError("a model without weights has no sidecar")
        path = Path(self.weights + ".json")
        data = asdict(self)
        data["proto"] = os.path.relpath(self.proto, path.parent)
        data["weights"] = os.path.basename(self.weights)
        atomic_write_text(path, json.dumps(data, indent=2) + "\n")
        return path


def load_model(proto: str | os.PathLike | None = None, weights: str | os.PathLike | None = None,
               model: str | None = None) -> ModelSpec:
    """Resolve --model NAME or --proto/--weights (reading a sidecar when present). Reads files only: the default
    model is built at install (ModelError naming the command when it is not)."""
    if proto is None and weights is None:
        name = model or "default"
        if name != "default":
            raise ValueError(f"unknown model {name!r}: use --model default or --proto P --weights W")
        from myPython.retrieval.default_location import default_files, heldout_records

        spec = load_model(*default_files())
        spec.name = "default"
        spec.info.update(heldout_records(spec.info))
        return spec
    if proto is None or weights is None:
        raise ValueError("--proto and --weights go together")
    for path, what in ((proto, "prototxt"), (weights, "caffemodel")):
        if not Path(path).is_file():
            raise FileNotFoundError(f"{path}: {what} not found")
    sidecar = Path(str(weights) + ".json")
    spec = ModelSpec(name=Path(weights).stem, proto=str(proto), weights=str(weights))
    if sidecar.exists():
        data = json.loads(sidecar.read_text())
        for key in ("output", "S", "L", "dim", "info", "name", "scales"):
            if key in data:
                setattr(spec, key, data[key])
        spec.mean_bgr = tuple(data.get("mean_bgr", spec.mean_bgr))
    return spec
