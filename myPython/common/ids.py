"""Row ids of a descriptor store, written and parsed in one place.

An input's id is its path relative to its root (see `pool.inputs`); an image
has one row with the input's id; a video has one row per sampled frame, with
the id ``<input id>#t=<seconds, 3 decimals>``.
"""

from __future__ import annotations

FRAME_MARK = "#t="


def frame_id(input_id: str, time: float) -> str:
    """Row id of the frame of `input_id` at `time` seconds."""
    return f"{input_id}{FRAME_MARK}{time:.3f}"


def split_row_id(row_id: str) -> tuple[str, float | None]:
    """(input id, frame time in seconds, or None for an image row)."""
    base, mark, time = row_id.rpartition(FRAME_MARK)
    if not mark:
        return row_id, None
    try:
        return base, float(time)
    except ValueError:
        return row_id, None


def input_of(row_id: str) -> str:
    """The input (image or video) a row belongs to."""
    return split_row_id(row_id)[0]


def is_frame(row_id: str) -> bool:
    return split_row_id(row_id)[1] is not None
