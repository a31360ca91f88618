"""The match-videos CSV (the VSC22 matching-track format) and video groups from its rows."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import numpy as np

from myPython.common.fileio import atomic_write_text

CSV_HEADER = ("query_id", "ref_id", "query_start", "query_end", "ref_start", "ref_end", "score")


def csv_rows(matches: list, threshold: float) -> list[tuple]:
    """One row per segment scoring >= threshold, best first (ties: by ids, then times)."""
    rows = [(m.query_id, m.ref_id, s.query_start, s.query_end, s.ref_start, s.ref_end, s.score)
            for m in matches for s in m.segments if s.score >= threshold]
    rows.sort(key=lambda r: (-r[6], r[0], r[1], r[2], r[4]))
    return rows


def write_matches_csv(path: str | os.PathLike, rows: list[tuple]) -> None:
    """The VSC22 matching-track CSV, written atomically."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(CSV_HEADER)
    for q, r, qs, qe, rs, re_, score in rows:
        writer.writerow([q, r, f"{qs:.3f}", f"{qe:.3f}", f"{rs:.3f}", f"{re_:.3f}", f"{score:.6f}"])
    atomic_write_text(Path(path), buf.getvalue())


def read_matches_csv(path: str | os.PathLike) -> list[tuple]:
    """Rows of a matching CSV as (query_id, ref_id, qs, qe, rs, re, score)."""
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle)
        header = tuple(next(reader, ()))
        if header != CSV_HEADER:
            raise ValueError(f"{path}: not a match-videos CSV (header {','.join(header)!r})")
        return [(r[0], r[1], *map(float, r[2:7])) for r in reader if r]


def video_groups(rows: list[tuple], threshold: float, min_link_fraction: float = 1.0) -> list[dict]:
    """Groups of videos linked by matches scoring >= threshold (pool/groups.py: no chaining).

    Each member lists its matched segments with the other members of its group.
    """
    from myPython.pool.groups import group_links

    rows = [r for r in rows if r[6] >= threshold and r[0] != r[1]]
    videos = sorted({r[0] for r in rows} | {r[1] for r in rows})
    index = {v: n for n, v in enumerate(videos)}
    a = np.array([index[r[0]] for r in rows], np.int64)
    b = np.array([index[r[1]] for r in rows], np.int64)
    score = np.array([r[6] for r in rows], np.float64)
    out = []
    for group in group_links(len(videos), a, b, score, threshold, min_link_fraction=min_link_fraction):
        members = {videos[m] for m in group.members}
        segments: dict[str, list[dict]] = {v: [] for v in sorted(members)}
        for q, r, qs, qe, rs, re_, s in rows:
            if q in members and r in members:
                segments[q].append({"with": r, "start": qs, "end": qe, "with_start": rs, "with_end": re_, "score": s})
                segments[r].append({"with": q, "start": rs, "end": re_, "with_start": qs, "with_end": qe, "score": s})
        out.append({"size": len(members), "min_score": group.min_score,
                    "members": [{"video": v, "segments": sorted(segs, key=lambda d: (d["start"], d["with"]))}
                                for v, segs in segments.items()]})
    return out
