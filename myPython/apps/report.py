"""A self-contained HTML report of a same-origin search, plus PNG plots."""

from __future__ import annotations

import base64
import html
import os
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from myPython.apps.report_videos import CSS as VIDEO_CSS
from myPython.apps.threshold_study import ThresholdRow, group_of, pair_scores
from myPython.common.fileio import atomic_write_text, atomic_write_with
from myPython.common.ids import frame_id, split_row_id
from myPython.common.images import InputError, load_image
from myPython.pool.inputs import kind_of, path_of
from myPython.pool.search import Neighbours
from myPython.pool.store import DescriptorStore
from myPython.pool.video import FrameReader

THUMB = 160


@dataclass
class ReportData:
    title: str
    store: DescriptorStore
    mapped: dict[str, Neighbours]
    groups: list[list[str]] = field(default_factory=list)
    truth: dict[str, str] | None = None
    threshold: float | None = None
    study: list[ThresholdRow] | None = None
    summary_lines: list[str] = field(default_factory=list)
    max_queries: int = 24
    max_groups: int = 12
    max_members: int = 12
    video_matches: list[tuple] = field(default_factory=list)  # match-videos CSV rows, best first


class ThumbnailSource:
    """Finds the pixels of a row id (image path or video frame) and makes a JPEG thumbnail.

    Ids go back to files through the store's root labels; a video is decoded once, keeping the
    thumbnails (not the frames) of the most recent one.
    """

    def __init__(self, store: DescriptorStore) -> None:
        self.labels = store.root_labels()
        self.fps = float(store.meta.get("fps", 1.0))
        self._frames: dict[str, dict[str, np.ndarray]] = {}

    def image(self, ident: str) -> np.ndarray | None:
        """The thumbnail-sized pixels of a row (None when its file is gone or unreadable)."""
        key, time = split_row_id(ident)
        path = path_of(key, self.labels)
        if path is None:
            return None
        try:
            if time is None and kind_of(path) == "video":  # a whole video (video groups): its first frame
                return _shrink(next(iter(FrameReader(path, self.fps, max_frames=1))).image)
            if time is None:
                return _shrink(load_image(path))
            if key not in self._frames:
                self._frames = {key: {frame_id(key, f.time): _shrink(f.image) for f in FrameReader(path, self.fps)}}
            return self._frames[key].get(ident)
        except InputError:
            return None

    def data_uri(self, ident: str) -> str | None:
        small = self.image(ident)
        if small is None:
            return None
        ok, buf = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, 80])
        return "data:image/jpeg;base64," + base64.b64encode(buf.tobytes()).decode() if ok else None


def _shrink(image: np.ndarray) -> np.ndarray:
    h, w = image.shape[:2]
    scale = THUMB / max(h, w)
    return cv2.resize(image, (max(1, int(w * scale)), max(1, int(h * scale))), interpolation=cv2.INTER_AREA)


def _png_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def similarity_histogram(mapped: dict[str, Neighbours], truth: dict[str, str], path: Path,
                         threshold: float | None) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    same, other = (s.tolist() for s in pair_scores(mapped, truth))
    fig, ax = plt.subplots(figsize=(7, 3.6))
    bins = np.linspace(min(same + other + [0.0]), 1.0, 60)
    ax.hist(other, bins=bins, alpha=0.6, label=f"other ({len(other)})", color="tab:red")
    ax.hist(same, bins=bins, alpha=0.6, label=f"same origin ({len(same)})", color="tab:green")
    if threshold is not None:
        ax.axvline(threshold, color="k", ls="--", label=f"threshold {threshold:.2f}")
    ax.set_xlabel("cosine similarity of retrieved pairs across inputs")
    ax.set_yscale("log")
    ax.legend()
    fig.tight_layout()
    atomic_write_with(path, lambda tmp: fig.savefig(tmp, dpi=110, format="png"), suffix=".png")
    plt.close(fig)


def _card(thumbs: ThumbnailSource, ident: str, caption: str, css: str = "") -> str:
    uri = thumbs.data_uri(ident)
    img = (f'<img src="{uri}" alt="{html.escape(ident)}">' if uri
           else '<div class="missing">no preview</div>')
    return (f'<figure class="{css}">{img}<figcaption title="{html.escape(ident)}">'
            f"{html.escape(caption)}</figcaption></figure>")


def write_report(data: ReportData, out_dir: str | os.PathLike) -> Path:
    """Write report.html (images inlined) and its PNG plots into out_dir."""
    from myPython.apps.threshold_study import plot_study

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    thumbs = ThumbnailSource(data.store)
    plots = []
    if data.truth is not None:
        hist = out / "similarity_histogram.png"
        similarity_histogram(data.mapped, data.truth, hist, data.threshold)
        plots.append(("Similarities of retrieved pairs", hist))
    if data.study:
        curve = out / "precision_recall.png"
        plot_study(data.study, curve, "precision and recall against the threshold")
        plots.append(("Precision and recall against the threshold", curve))

    parts = [f"<h1>{html.escape(data.title)}</h1>"]
    meta = data.store.meta
    parts.append("<p class='meta'>" + html.escape(
        f"{len(data.store)} rows, {meta.get('dim')}-D, model {meta.get('model_name', '?')} "
        f"({meta.get('model', '?')}), settings {meta.get('settings', '?')}") + "</p>")
    if data.summary_lines:
        parts.append("<pre class='summary'>" + html.escape("\n".join(data.summary_lines)) + "</pre>")
    for title, path in plots:
        parts.append(f"<h2>{html.escape(title)}</h2><img class='plot' src='{_png_uri(path)}' alt='{title}'>")

    if data.groups:
        parts.append(f"<h2>Same-origin groups (largest {min(len(data.groups), data.max_groups)} "
                     f"of {len(data.groups)})</h2>")
        for n, members in enumerate(data.groups[: data.max_groups], 1):
            cards = "".join(_card(thumbs, m, m) for m in members[: data.max_members])
            more = f"<p>... and {len(members) - data.max_members} more</p>" if len(members) > data.max_members else ""
            parts.append(f"<section class='group'><h3>Group {n}: {len(members)} items</h3>"
                         f"<div class='row'>{cards}</div>{more}</section>")

    if data.video_matches:
        from myPython.apps.report_videos import video_section

        ids = [i for shard in data.store.shards() for i in shard.ids()]
        parts.append(video_section(data.video_matches, ids, lambda ident, caption: _card(thumbs, ident, caption)))
    parts.append("<h2>Queries and their matches</h2>")
    for query in list(data.mapped)[: data.max_queries]:
        found = data.mapped[query]
        if data.threshold is not None:
            found = [(i, s) for i, s in found if s >= data.threshold - 5e-5]
        g = group_of(query, data.truth) if data.truth else None
        cards = [_card(thumbs, query, "query: " + query, "query")]
        for item, score in found[: data.max_members]:
            css = ""
            if data.truth is not None:
                css = "good" if g is not None and group_of(item, data.truth) == g else "bad"
            cards.append(_card(thumbs, item, f"{score:.4f} {item}", css))
        parts.append(f"<section class='query'><div class='row'>{''.join(cards)}</div></section>")

    page = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(data.title)}</title>
<style>
body {{ font-family: sans-serif; margin: 1.5em; color: #222; }}
.row {{ display: flex; flex-wrap: wrap; gap: 8px; }}
figure {{ margin: 0; width: {THUMB + 8}px; border: 2px solid #ddd; padding: 2px; }}
figure.query {{ border-color: #36c; }} figure.good {{ border-color: #2a2; }} figure.bad {{ border-color: #c22; }}
figure img {{ max-width: {THUMB}px; max-height: {THUMB}px; display: block; margin: auto; }}
figcaption {{ font-size: 11px; overflow-wrap: anywhere; }}
.missing {{ width: {THUMB}px; height: 90px; background: #eee; }}
section {{ margin-bottom: 14px; }} img.plot {{ max-width: 100%; }}
pre.summary {{ background: #f6f6f6; padding: 8px; }}
{VIDEO_CSS}
</style></head><body>
{''.join(parts)}
<script>
// Lets automated checks (and curious users) see that every picture decoded.
window.addEventListener("load", () => {{
  const imgs = Array.from(document.images);
  document.body.dataset.images = imgs.length;
  document.body.dataset.brokenImages = imgs.filter(i => !(i.complete && i.naturalWidth > 0)).length;
}});
</script>
</body></html>
"""
    path = out / "report.html"
    atomic_write_text(path, page)
    return path
