"""The report's video view: for each matched pair of videos, a timeline strip per video with the matched
segments marked, and thumbnails of both videos at each end of the best segment."""

from __future__ import annotations

import html

from myPython.common.ids import frame_id, split_row_id

CSS = """
.vpair { border: 1px solid #ccc; padding: 6px; margin-bottom: 12px; }
.vpair h3 { font-size: 14px; margin: 2px 0 6px; }
.strip { position: relative; height: 18px; background: #e4e4e4; margin: 3px 0 10px; }
.strip .seg { position: absolute; top: 0; height: 18px; background: #2a7; opacity: 0.85; }
.strip .seg.best { background: #16c; }
.strip .label { position: absolute; right: 4px; top: 1px; font-size: 11px; color: #333; }
.vname { font-size: 12px; }
"""


def video_lengths(ids: list[str]) -> tuple[dict[str, float], dict[str, list[float]]]:
    """Each video's length (last sampled frame + one step) and its sampled frame times, from store ids."""
    times: dict[str, list[float]] = {}
    for ident in ids:
        video, t = split_row_id(ident)
        if t is not None:
            times.setdefault(video, []).append(t)
    lengths = {}
    for video, ts in times.items():
        ts.sort()
        step = (ts[-1] - ts[0]) / (len(ts) - 1) if len(ts) > 1 else 1.0
        lengths[video] = ts[-1] + step
    return lengths, times


def nearest_frame(video: str, t: float, times: dict[str, list[float]]) -> str:
    ts = times.get(video) or [0.0]
    return frame_id(video, min(ts, key=lambda x: abs(x - t)))


def _strip(segments: list[tuple[float, float]], length: float, best: int) -> str:
    bars = []
    for n, (start, end) in enumerate(segments):
        left = 100.0 * max(0.0, start) / length
        width = max(0.5, 100.0 * (min(end, length) - max(0.0, start)) / length)
        css = "seg best" if n == best else "seg"
        bars.append(f'<div class="{css}" style="left:{left:.2f}%;width:{width:.2f}%" '
                    f'title="{start:.1f}-{end:.1f} s"></div>')
    return f'<div class="strip">{"".join(bars)}<span class="label">{length:.1f} s</span></div>'


def video_section(rows: list[tuple], ids: list[str], card, max_pairs: int = 20) -> str:
    """HTML of the video view; `card(ident, caption)` renders one thumbnail (the report's)."""
    lengths, times = video_lengths(ids)
    pairs: dict[tuple[str, str], list[tuple]] = {}
    for row in rows:  # rows come best first
        pairs.setdefault((row[0], row[1]), []).append(row)
    parts = [f"<h2>Matched videos (best {min(len(pairs), max_pairs)} of {len(pairs)} pairs)</h2>"]
    for (query, ref), segs in list(pairs.items())[:max_pairs]:
        best = segs[0]
        q_len = lengths.get(query, max(r[3] for r in segs))
        r_len = lengths.get(ref, max(r[5] for r in segs))
        thumbs = "".join([
            card(nearest_frame(query, best[2], times), f"query, start {best[2]:.1f} s"),
            card(nearest_frame(ref, best[4], times), f"match, start {best[4]:.1f} s"),
            card(nearest_frame(query, best[3] - 0.5, times), f"query, end {best[3]:.1f} s"),
            card(nearest_frame(ref, best[5] - 0.5, times), f"match, end {best[5]:.1f} s"),
        ])
        parts.append(
            f"<section class='vpair'><h3>score {best[6]:.3f}: {len(segs)} segment(s)</h3>"
            f"<div class='vname'>{html.escape(query)}</div>{_strip([(r[2], r[3]) for r in segs], q_len, 0)}"
            f"<div class='vname'>{html.escape(ref)}</div>{_strip([(r[4], r[5]) for r in segs], r_len, 0)}"
            f"<div class='row'>{thumbs}</div></section>")
    return "".join(parts)
