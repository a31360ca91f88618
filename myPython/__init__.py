"""deep-retrieval: R-MAC deep image retrieval (Gordo et al.) on BVLC Caffe, for same-origin frames of short videos.

The public API, importable from here (loaded on first use, so ``import myPython`` stays light)::

    from myPython import load_model, DescriptorExtractor, DescriptorStore, embed, search, group

    spec = load_model()                                  # the installed default model (or proto=, weights=)
    extractor = DescriptorExtractor.from_files(spec.proto, spec.weights, spec.settings())
    vector = extractor.describe("photo.jpg")             # unit-length R-MAC descriptor
    embed(["videos/"], "store/", spec, extractor)        # one library call per job: embed, search, group,
    threshold, groups = group(DescriptorStore.open("store/"))  # match_videos (what the CLI runs)

Rooms, lowest first (each package's docstring says what lives there; a room imports only rooms below it):
``errors``, ``common`` (files, ids, assets, image decoding), ``rmac`` (the grid and preparation), ``nets``
(Caffe plumbing, layers, generators, ONNX export), ``retrieval`` (descriptors, models), ``pool`` (inputs,
store, search, groups, video matching, the jobs), ``datasets``, ``evaluation`` (top level: the metrics),
``training``, ``build`` (building the default model at install) and ``apps`` (CLI, demo, report).
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.2.0"

_API = {
    "DescriptorExtractor": "myPython.retrieval.extractor",
    "ExtractionSettings": "myPython.retrieval.extractor",
    "ModelSpec": "myPython.retrieval.models",
    "load_model": "myPython.retrieval.models",
    "DescriptorStore": "myPython.pool.store",
    "SearchOptions": "myPython.pool.search",
    "embed": "myPython.pool.jobs",
    "search": "myPython.pool.jobs",
    "group": "myPython.pool.jobs",
    "match_videos": "myPython.pool.jobs",
    "find_groups": "myPython.pool.groups",
    "read_mapped": "myPython.pool.search",
    "write_mapped": "myPython.pool.search",
    "DeepRetrievalError": "myPython.errors",
    "InputError": "myPython.errors",
    "ModelError": "myPython.errors",
    "StoreError": "myPython.errors",
    "UsageError": "myPython.errors",
}

__all__ = sorted(_API)


def __getattr__(name: str) -> Any:
    if name in _API:
        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'myPython' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(list(globals()) + __all__)
