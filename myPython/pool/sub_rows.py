"""Sub-rows of a picture: what `embed --turns` and `embed --panels` write right after its row (common/ids.py).

Each sub-row is described from its own pixels and carries its own local features; readers fold it into its owner
(pool/panel_rows.py for search and group, pool/video_panels.py for match-videos).

* The quarter turn (`--turns`, ``<row id>#turn=90``): the picture turned a quarter clockwise. One turn covers both
  directions: a copy turned clockwise matches this row, one turned anticlockwise is matched by its own. Half turns
  get none: `bench/platform_video_study.py` finds them as they are (recall 0.90 on training videos), where quarter
  turns fail (0.44-0.63).
* Panels (`--panels`, ``<row id>#panel=<n>``): each picture found inside a composition (pool/panels.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np

from myPython.common.ids import panel_id, turned_id
from myPython.errors import InputError

TURNS_VERSION = "turn-1"  # names the quarter-turn sub-rows in a store's meta (its "panels" entry, pool/jobs.py)


def sub_rows(row_id: str, image: np.ndarray, prepare: Callable[[np.ndarray], object], turns: bool, panels: bool
             ) -> Iterator[tuple[str, object]]:
    """(id, prepare(pixels)) of each sub-row of the picture `image` of row `row_id`: its quarter turn, then its
    panels. A sub-row the network cannot take (too thin at a scale: InputError) is left out; its row goes on."""
    if turns:
        try:
            yield turned_id(row_id), prepare(np.ascontiguousarray(np.rot90(image, -1)))
        except InputError:
            pass
    if not panels:
        return
    from myPython.pool.panels import detect_panels

    number = 0
    for x0, y0, x1, y1 in detect_panels(image):
        try:
            prepared = prepare(np.ascontiguousarray(image[y0:y1, x0:x1]))
        except InputError:
            continue
        number += 1
        yield panel_id(row_id, number), prepared
