"""The `param_str` of Caffe Python layers: a YAML flow mapping, read and written in one place."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import yaml


def parse_param_str(text: str | None, where: str, allowed: Iterable[str] | None = None,
                    required: Iterable[str] = ()) -> dict[str, Any]:
    """`text` as a dict ("" and "{}" give {}); unknown (when `allowed` is given) or missing keys are errors."""
    text = (text or "").strip()
    try:
        params = yaml.safe_load(text) if text else None
    except yaml.YAMLError as exc:
        raise ValueError(f"{where}: param_str is not YAML ({text!r}: {exc.__class__.__name__})") from None
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise ValueError(f"{where}: param_str must be a mapping, got {text!r}")
    if allowed is not None:
        unknown = set(params) - set(allowed)
        if unknown:
            raise ValueError(f"{where}: unknown param_str keys {sorted(unknown)}; expected some of {sorted(allowed)}")
    missing = set(required) - set(params)
    if missing:
        raise ValueError(f"{where}: param_str needs {sorted(missing)}")
    return params


def format_param_str(params: Mapping[str, Any]) -> str:
    """A YAML flow mapping, e.g. ``{batch_size: 12, cls_dir: lifted/train}`` (strings quoted when needed)."""

    def fmt(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            plain = re.fullmatch(r"[A-Za-z_./][A-Za-z0-9_./-]*", v) and yaml.safe_load(v) == v
            return v if plain else "'" + v.replace("'", "''") + "'"
        if isinstance(v, (list, tuple)):
            return "[" + ", ".join(fmt(x) for x in v) + "]"
        if isinstance(v, float):
            return repr(float(v))
        return str(v)

    return "{" + ", ".join(f"{k}: {fmt(v)}" for k, v in params.items()) + "}"
