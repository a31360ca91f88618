"""Row ids of a descriptor store, and the one escaping scheme that makes them from file names.

An input's id is its path relative to its root (see `pool.inputs`), escaped;
an image has one row with the input's id; a video has one row per sampled
frame, with the id ``<input id>#t=<seconds, 3 decimals>``. A panel of a row (`embed --panels`: a picture inside
a composition, pool/panels.py) is a row of its own, ``<row id>#panel=<n>`` (n from 1), right after its owner; so is
the row's picture turned a quarter clockwise (`embed --turns`), ``<row id>#turn=90``. Both are sub-rows of their
owner (`is_panel`); only the first are pictures inside it (`is_turned` tells them apart).

Escaping (the only one the project uses, for every id in every file it
writes: ids files, mapped files, JSON, CSV, TSV, HTML): the file name's bytes
(``os.fsencode``) are kept where they spell a character that
``str.isprintable()`` accepts other than space, ``%`` and ``#``; every other
character -- space, tab, newline and other control or format characters,
Unicode separators, and bytes that are not UTF-8 -- is written as ``%XX``
per byte (upper-case hex). So ``my photo.jpg`` -> ``my%20photo.jpg``,
``a\\nb.jpg`` -> ``a%0Ab.jpg``, the byte ``0xff`` -> ``%FF``, ``100%.jpg`` ->
``100%25.jpg``. An id is therefore one printable, whitespace-free token of
valid UTF-8; ``#`` appears only in the frame mark; and `unescape` gives the
exact original name back (``os.fsdecode`` of the same bytes).
"""

from __future__ import annotations

import os
import re

FRAME_MARK = "#t="
PANEL_MARK = "#panel="
TURN_MARK = "#turn=90"
_KEEP_OUT = " %#"  # printable, yet escaped: separators of the mapped format and of the frame mark
_HEX = re.compile(rb"%([0-9A-Fa-f]{2})")
_FRAME_TIME = re.compile(r"\d+\.\d{3}")
_PANEL = re.compile(r"#(?:panel=[1-9]\d*|turn=90)$")  # a sub-row: a panel or the quarter turn
_BAD_PERCENT = re.compile(r"%(?![0-9A-F]{2})")


def _plain(text: str, keep_out: str) -> bool:
    return text.isprintable() and not any(c in text for c in keep_out)


def _escape(text: str, keep_out: str) -> str:
    if _plain(text, keep_out):
        return text
    out = []
    for char in text:
        if char.isprintable() and char not in keep_out:
            out.append(char)
        else:
            # An undecodable byte arrives as a surrogate U+DC80..U+DCFF (os.fsdecode): written as that byte.
            data = os.fsencode(char) if 0xDC80 <= ord(char) <= 0xDCFF else char.encode("utf-8", "surrogatepass")
            out.append("".join(f"%{b:02X}" for b in data))
    return "".join(out)


def escape(name: str) -> str:
    """The id form of a file name or relative path (``str`` as ``os`` functions return it)."""
    return _escape(name, _KEEP_OUT)


def unescape(ident: str) -> str:
    """The file name or path an id was made from (may hold surrogates for undecodable bytes)."""
    return os.fsdecode(_HEX.sub(lambda m: bytes([int(m.group(1), 16)]), ident.encode("utf-8")))


def printable(text: str) -> str:
    """`text` with the same escaping but spaces, ``%`` and ``#`` kept: for one-line messages."""
    return _escape(text, "")


def check_id(ident: str) -> str:
    """`ident` itself if it is a well-formed id, else ValueError naming it (escaped)."""
    base, mark, time = owner_id(ident).partition(FRAME_MARK)
    well_formed = _plain(base, " #") and not _BAD_PERCENT.search(base)
    if not base or not well_formed or (mark and not _FRAME_TIME.fullmatch(time)):
        raise ValueError(f"not a well-formed row id: {printable(ident)!r} (ids are escaped file names, see "
                         "myPython.common.ids)")
    return ident


def frame_id(input_id: str, time: float) -> str:
    """Row id of the frame of `input_id` at `time` seconds."""
    return f"{input_id}{FRAME_MARK}{time:.3f}"


def panel_id(row_id: str, number: int) -> str:
    """Row id of panel `number` (from 1) of the row `row_id`."""
    return f"{row_id}{PANEL_MARK}{number}"


def turned_id(row_id: str) -> str:
    """Row id of the row `row_id`'s picture turned a quarter clockwise."""
    return f"{row_id}{TURN_MARK}"


def owner_id(row_id: str) -> str:
    """The row a sub-row (a panel or the quarter turn) belongs to; any other row is its own owner."""
    match = _PANEL.search(row_id)
    return row_id if match is None else row_id[: match.start()]


def is_panel(row_id: str) -> bool:
    """Whether the row is a sub-row of another: a panel or the quarter turn (folded into its owner alike)."""
    return _PANEL.search(row_id) is not None


def is_turned(row_id: str) -> bool:
    """Whether the row is another row's picture turned a quarter (`embed --turns`), not a picture inside it."""
    return row_id.endswith(TURN_MARK)


def split_row_id(row_id: str) -> tuple[str, float | None]:
    """(input id, frame time in seconds, or None for an image row or a panel row: a panel is no frame)."""
    if is_panel(row_id):
        return input_of(owner_id(row_id)), None
    base, mark, time = row_id.partition(FRAME_MARK)
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
