"""Edits of what short-video pools are made of, by family, with ground truth of where the source lies.

`FAMILIES`: family -> edit name -> `(image, rng, **params) -> Edited`. composition: picture_in_picture,
side_by_side, duet, split_screen, collage (the other pictures are arguments, else random `filler`s); overlay:
app_chrome, watermark, sticker, meme_text, subtitles (templates that can be shared between items, in
`platform_video_edits`); geometry: rotate90/180/270, portrait_blur, portrait_colour, zoom, screen_photo;
photometric: greyscale, warm, cool, sepia, high_contrast, faded, vignette; quality: thumbnail, heavy_jpeg,
low_resolution, low_bitrate. Images are BGR uint8; every parameter is drawn from the Generator over wide
ranges (training and calibration data that must generalise); the same seed gives the same pixels
(`low_bitrate` through libx264: on one machine). Video versions and time edits: `platform_video_edits`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import cv2
import numpy as np

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in pixel-edge coordinates (x1, y1 exclusive)
AA = cv2.LINE_AA
ASPECTS = (16 / 9, 4 / 3, 1.0, 3 / 4, 9 / 16)  # width / height of random frames
FONTS = (cv2.FONT_HERSHEY_SIMPLEX, cv2.FONT_HERSHEY_DUPLEX, cv2.FONT_HERSHEY_TRIPLEX, cv2.FONT_HERSHEY_COMPLEX)
_SYLLABLES = ("ka", "lo", "mi", "ne", "ra", "to", "su", "vi", "ba", "de", "fu", "go", "ha", "ji", "po", "ze", "ly",
              "xo", "qu", "wa", "tri", "an", "el", "on", "st", "ch")


@dataclass
class Edited:
    """An edited image, and where its source lies in it.

    matrix: 3x3 homography from source coordinates (the source spans [0, w] x [0, h]) to output coordinates,
    None where there is no such mapping. visible: the output box that shows source pixels (the source may be
    cropped by its cell or by the frame); by default the source's bounds clipped to the frame.
    """

    image: np.ndarray
    matrix: np.ndarray | None
    source_size: tuple[int, int]  # (width, height) of the source
    visible: Box | None = None

    def __post_init__(self) -> None:
        if self.visible is None and self.matrix is not None:
            self.visible = _clip(_bounds(self.corners), self.image.shape)

    @property
    def corners(self) -> np.ndarray | None:
        """Where the source's top-left, top-right, bottom-right and bottom-left corners are, 4 x 2."""
        if self.matrix is None:
            return None
        w, h = self.source_size
        return cv2.perspectiveTransform(np.float64([[[0, 0], [w, 0], [w, h], [0, h]]]), self.matrix)[0]

    @property
    def box(self) -> Box | None:
        """Where the whole source lies (possibly past the frame) when it shows upright and unwarped, else None."""
        m = self.matrix
        if m is None or np.abs(m[[0, 1, 2, 2], [1, 0, 0, 1]]).sum() > 1e-9 or m[0, 0] <= 0 or m[1, 1] <= 0:
            return None
        return _bounds(self.corners)


def _bounds(points: np.ndarray) -> Box:
    return float(points[:, 0].min()), float(points[:, 1].min()), float(points[:, 0].max()), float(points[:, 1].max())


def _clip(box: Box, shape: Sequence[int]) -> Box:
    return max(0.0, box[0]), max(0.0, box[1]), min(float(shape[1]), box[2]), min(float(shape[0]), box[3])


def affine(sx: float, sy: float, tx: float, ty: float) -> np.ndarray:
    return np.array([[sx, 0, tx], [0, sy, ty], [0, 0, 1]], dtype=np.float64)


def full_frame(image: np.ndarray, source: np.ndarray) -> Edited:
    """A global edit: the whole output shows the whole source (rescaled to the output's size)."""
    (h, w), (oh, ow) = source.shape[:2], image.shape[:2]
    return Edited(image, affine(ow / w, oh / h, 0, 0), (w, h))


def _even(x: float) -> int:
    return max(2, int(round(x / 2)) * 2)


def random_colour(rng: np.random.Generator, low: int = 0, high: int = 256) -> tuple[int, int, int]:
    return tuple(int(c) for c in rng.integers(low, high, 3))


def _frame_size(rng: np.random.Generator, h: int, w: int) -> tuple[int, int]:
    """(height, width) of a random frame with the long side of an h x w image."""
    aspect, side = float(rng.choice(ASPECTS)), max(h, w)
    return (_even(side / aspect), side) if aspect >= 1 else (side, _even(side * aspect))


def words(rng: np.random.Generator, low: int, high: int, tags: float = 0.0) -> str:
    """Pseudo-text: low to high random words of 1-3 syllables, a share `tags` of them #hashtags."""
    out = ["".join(rng.choice(_SYLLABLES, int(rng.integers(1, 4)))) for _ in range(int(rng.integers(low, high + 1)))]
    return " ".join(("#" + w) if rng.random() < tags else w for w in out)


def user_name(rng: np.random.Generator) -> str:
    name = words(rng, 1, 2).replace(" ", str(rng.choice(["_", ".", ""])))
    return "@" + name + (str(int(rng.integers(1, 9999))) if rng.random() < 0.4 else "")


def text_size(text: str, height: float, font: int, max_width: float | None = None) -> tuple[float, int, int]:
    """(font scale, thickness, width) of text of cap height `height` (Hershey fonts), shrunk to max_width."""
    scale, thick = height / 22.0, max(1, round(height / 9))
    width = cv2.getTextSize(text, font, scale, thick)[0][0]
    if max_width and width > max_width:
        scale, width = scale * max_width / width, int(max_width)
    return scale, thick, width


def _arc(cx: float, cy: float, a: float, b: float, t0: float = 0.0, t1: float = 2 * np.pi) -> np.ndarray:
    t = np.linspace(t0, t1, 40)
    return np.c_[cx + a * np.cos(t), cy + b * np.sin(t)]


_T = np.linspace(0, 2 * np.pi, 48, endpoint=False)
_STAR = np.arange(10) * np.pi / 5 - np.pi / 2
ICONS = {  # filled icons of radius 1 (x right, y down) for the overlays, each a list of polygons drawn in turn
    "circle": [_arc(0, 0, 1, 1)],
    "heart": [np.c_[16 * np.sin(_T) ** 3, -(13 * np.cos(_T) - 5 * np.cos(2 * _T) - 2 * np.cos(3 * _T)
                                             - np.cos(4 * _T))] / 17],
    "star": [np.c_[np.cos(_STAR), np.sin(_STAR)] * np.where(np.arange(10) % 2, 0.45, 1.0)[:, None]],
    "play": [np.array([[-0.6, -0.8], [0.9, 0], [-0.6, 0.8]])],
    "bookmark": [np.array([[-0.6, -0.9], [0.6, -0.9], [0.6, 0.9], [0, 0.45], [-0.6, 0.9]])],
    "arrow": [np.array([[-0.9, -0.25], [0.15, -0.25], [0.15, -0.7], [0.9, 0], [0.15, 0.7], [0.15, 0.25],
                        [-0.9, 0.25]])],
    "house": [np.array([[-0.9, 0], [0, -0.85], [0.9, 0], [0.6, 0], [0.6, 0.8], [-0.6, 0.8], [-0.6, 0]])],
    "bubble": [np.r_[_arc(0, 0, 1, 0.85, 0.8, 2 * np.pi), [[0.9, 0.9]]]],
    "plus": [np.array([[-0.25, -0.9], [0.25, -0.9], [0.25, 0.9], [-0.25, 0.9]]),
             np.array([[-0.9, -0.25], [0.9, -0.25], [0.9, 0.25], [-0.9, 0.25]])],
    "person": [_arc(0, -0.45, 0.4, 0.4), _arc(0, 0.95, 0.8, 0.8, np.pi, 2 * np.pi)],
    "note": [_arc(-0.3, 0.55, 0.4, 0.3), np.array([[0, -0.9], [0.25, -0.9], [0.9, -0.4], [0.25, -0.5], [0.25, 0.4],
                                                   [0, 0.4]])],
    "search": [_arc(-0.2, -0.2, 0.6, 0.6), np.array([[0.15, 0.35], [0.35, 0.15], [0.95, 0.75], [0.75, 0.95]])],
}


def filler(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """A random synthetic picture (smooth colours, shapes, grain): another item of a composition."""
    small = rng.integers(0, 256, (int(rng.integers(2, 6)), int(rng.integers(2, 6)), 3)).astype(np.uint8)
    out = cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    for _ in range(int(rng.integers(3, 10))):
        x, y, r = int(rng.integers(0, w)), int(rng.integers(0, h)), int(rng.uniform(0.04, 0.25) * min(h, w)) + 1
        if rng.random() < 0.5:
            cv2.circle(out, (x, y), r, random_colour(rng), -1, AA)
        else:
            cv2.rectangle(out, (x - r, y - r // 2), (x + r, y + r), random_colour(rng), -1)
    return np.clip(out + rng.normal(0, rng.uniform(2, 12), (h, w, 1)), 0, 255).astype(np.uint8)


def inside(w: int, h: int, cell: Box, cover: bool = False, share: float = 1.0,
            align: tuple[float, float] = (0.5, 0.5)) -> tuple[int, int, int, int]:
    """The box of a w x h picture scaled to fit in (or, `cover`, to fill) a cell, `share` of that size."""
    cw, ch = cell[2] - cell[0], cell[3] - cell[1]
    s = (max if cover else min)(cw / w, ch / h) * share
    bw, bh = max(1, round(w * s)), max(1, round(h * s))
    x0, y0 = round(cell[0] + (cw - bw) * align[0]), round(cell[1] + (ch - bh) * align[1])
    return x0, y0, x0 + bw, y0 + bh


def paste(canvas: np.ndarray, image: np.ndarray, box: Sequence[int], cell: Box | None = None) -> Edited:
    """Draw `image` resized to `box` into canvas (in place), clipped to `cell`: the canvas showing `image`."""
    x0, y0, x1, y1 = (int(v) for v in box)
    c = _clip(cell or (0, 0, canvas.shape[1], canvas.shape[0]), canvas.shape)
    v = (max(x0, int(c[0])), max(y0, int(c[1])), min(x1, int(c[2])), min(y1, int(c[3])))
    h, w = image.shape[:2]
    small = (x1 - x0) * (y1 - y0) < w * h
    big = cv2.resize(image, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA if small else cv2.INTER_LINEAR)
    if v[2] > v[0] and v[3] > v[1]:
        canvas[v[1] : v[3], v[0] : v[2]] = big[v[1] - y0 : v[3] - y0, v[0] - x0 : v[2] - x0]
    return Edited(canvas, affine((x1 - x0) / w, (y1 - y0) / h, x0, y0), (w, h), tuple(float(t) for t in v))


def picture_in_picture(image: np.ndarray, rng: np.random.Generator, host: np.ndarray | None = None,
                       share: tuple[float, float] = (0.22, 0.5)) -> Edited:
    """The source as an inset (22-50 % of the width, optional border) somewhere in a host picture."""
    h, w = image.shape[:2]
    out = (filler(rng, *_frame_size(rng, h, w)) if host is None else host).copy()
    oh, ow = out.shape[:2]
    bw = max(8, round(ow * rng.uniform(*share)))
    bw = min(bw, max(8, round(0.8 * oh * w / h)))
    bh = max(8, round(bw * h / w))
    m = round(rng.uniform(0.0, 0.06) * ow)
    x0 = int(np.clip(rng.choice([m, ow - bw - m, rng.integers(0, max(1, ow - bw))]), 0, max(0, ow - bw)))
    y0 = int(np.clip(rng.choice([m, oh - bh - m, rng.integers(0, max(1, oh - bh))]), 0, max(0, oh - bh)))
    if rng.random() < 0.6:
        t = max(1, round(rng.uniform(0.004, 0.02) * ow))
        cv2.rectangle(out, (x0 - t, y0 - t), (x0 + bw + t - 1, y0 + bh + t - 1), random_colour(rng), -1)
    return paste(out, image, (x0, y0, x0 + bw, y0 + bh))


def side_by_side(image: np.ndarray, rng: np.random.Generator, other: np.ndarray | None = None,
                 vertical: bool | None = None) -> Edited:
    """The source next to another picture of the same height (or above / below it, same width)."""
    h, w = image.shape[:2]
    other = filler(rng, *_frame_size(rng, h, w)) if other is None else other
    vertical = bool(rng.random() < 0.35) if vertical is None else vertical
    gap = int(rng.choice([0, 0, max(2, round(0.015 * max(h, w)))]))
    oh, ow = other.shape[:2]
    n = round(oh * w / ow) if vertical else round(ow * h / oh)  # the other's length along the layout
    first = rng.random() < 0.5
    a, b = (w, n) if first else (n, w)
    out = np.full(((a + b + gap, w, 3) if vertical else (h, a + b + gap, 3)), random_colour(rng), np.uint8)
    cells = [(0, 0, w, a) if vertical else (0, 0, a, h), (0, a + gap, w, a + gap + b) if vertical else
             (a + gap, 0, a + gap + b, h)]
    own, theirs = cells if first else cells[::-1]
    paste(out, other, theirs)
    return paste(out, image, own)


def _portrait_cells(rng: np.random.Generator, h: int, w: int, parts: int, vertical: bool
                    ) -> tuple[np.ndarray, list[Box]]:
    height = _even(max(h, w) * rng.uniform(1.0, 1.5))
    width = _even(height * 9 / 16)
    out = np.full((height, width, 3), int(rng.choice([0, 0, 16, 255])), np.uint8)
    step = (width if vertical else height) / parts
    return out, [(round(k * step), 0, round((k + 1) * step), height) if vertical else
                 (0, round(k * step), width, round((k + 1) * step)) for k in range(parts)]


def _fill_cells(out: np.ndarray, image: np.ndarray, rng: np.random.Generator, cells: list[Box],
                others: Sequence[np.ndarray] | None, cover: bool) -> Edited:
    """The source in one random cell, the others (or fillers) in the rest, all fit or cover-cropped."""
    h, w = image.shape[:2]
    own = int(rng.integers(0, len(cells)))
    pictures = list(others or [])
    for k, cell in enumerate(cells):
        if k != own:
            other = pictures.pop(0) if pictures else filler(rng, *_frame_size(rng, h, w))
            paste(out, other, inside(other.shape[1], other.shape[0], cell, cover), cell)
    cell = cells[own]
    return paste(out, image, inside(w, h, cell, cover), cell)


def duet(image: np.ndarray, rng: np.random.Generator, other: np.ndarray | None = None) -> Edited:
    """A portrait 9:16 frame split into left and right halves, the source in one (fit or cover-cropped)."""
    out, cells = _portrait_cells(rng, *image.shape[:2], 2, True)
    return _fill_cells(out, image, rng, cells, None if other is None else [other], bool(rng.random() < 0.5))


def split_screen(image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray] | None = None,
                 parts: int | None = None) -> Edited:
    """A portrait 9:16 frame in 2 or 3 bands stacked top to bottom, the source in one of them."""
    parts = int(rng.integers(2, 4)) if parts is None else parts
    out, cells = _portrait_cells(rng, *image.shape[:2], parts, False)
    return _fill_cells(out, image, rng, cells, others, bool(rng.random() < 0.6))


def collage(image: np.ndarray, rng: np.random.Generator, others: Sequence[np.ndarray] | None = None,
            grid: int | None = None) -> Edited:
    """A 2x2 or 3x3 grid with gaps, the source in one cell (mostly cover-cropped)."""
    h, w = image.shape[:2]
    grid = int(rng.integers(2, 4)) if grid is None else grid
    oh, ow = _frame_size(rng, h, w)
    out = np.full((oh, ow, 3), random_colour(rng) if rng.random() < 0.3 else int(rng.choice([0, 255])), np.uint8)
    gap = int(rng.integers(0, max(1, round(0.02 * max(oh, ow)))))
    xs, ys = np.linspace(0, ow + gap, grid + 1), np.linspace(0, oh + gap, grid + 1)
    cells = [(round(xs[i]), round(ys[j]), round(xs[i + 1]) - gap, round(ys[j + 1]) - gap)
             for j in range(grid) for i in range(grid)]
    return _fill_cells(out, image, rng, cells, others, bool(rng.random() < 0.7))


def rotate(image: np.ndarray, quarter_turns: int) -> Edited:
    """Rotated clockwise by quarter_turns x 90 degrees (exact: no resampling); 1 then 3 gives the source back."""
    h, w = image.shape[:2]
    k = quarter_turns % 4
    out = np.ascontiguousarray(np.rot90(image, -k))
    matrix = [np.eye(3), [[0, -1, h], [1, 0, 0], [0, 0, 1]], [[-1, 0, w], [0, -1, h], [0, 0, 1]],
              [[0, 1, 0], [-1, 0, w], [0, 0, 1]]][k]
    return Edited(out, np.array(matrix, dtype=np.float64), (w, h))


def portrait(image: np.ndarray, rng: np.random.Generator, fill: str = "blur") -> Edited:
    """Reframed to 9:16: the source fit to the width (sometimes a bit smaller), a blurred copy or colour around."""
    h, w = image.shape[:2]
    ow = _even(w) if h / w <= 16 / 9 else _even(h * 9 / 16)
    oh = _even(ow * 16 / 9)
    if fill == "blur":
        out = np.zeros((oh, ow, 3), np.uint8)
        paste(out, image, inside(w, h, (0, 0, ow, oh), cover=True))
        out = (cv2.GaussianBlur(out, (0, 0), rng.uniform(0.02, 0.07) * ow) * rng.uniform(0.4, 0.95)).astype(np.uint8)
    else:
        out = np.full((oh, ow, 3), random_colour(rng) if rng.random() < 0.4 else int(rng.choice([0, 255])), np.uint8)
    share = 1.0 if rng.random() < 0.6 else rng.uniform(0.75, 1.0)
    box = inside(w, h, (0, 0, ow, oh), share=share, align=(0.5, rng.uniform(0.3, 0.6)))
    return paste(out, image, box)


def zoom(image: np.ndarray, rng: np.random.Generator, keep: tuple[float, float] = (0.6, 0.85)) -> Edited:
    """A window of 60-85 % of each side near the centre, scaled back up to the source's size."""
    h, w = image.shape[:2]
    f = rng.uniform(*keep)
    x0, y0 = ((1 - f) * s * (0.5 + rng.uniform(-0.3, 0.3)) for s in (w, h))
    out = np.zeros_like(image)
    return paste(out, image, (round(-x0 / f), round(-y0 / f), round((w - x0) / f),
                                            round((h - y0) / f)))


def screen_photo(image: np.ndarray, rng: np.random.Generator) -> Edited:
    """A photo of a screen showing the source: a skewed quadrilateral with a bezel in a dim room, moire, glare,
    blur and noise."""
    h, w = image.shape[:2]
    out = (filler(rng, h, w) * rng.uniform(0.1, 0.4)).astype(np.float32)
    s = rng.uniform(0.55, 0.92)
    bw, bh = w * s, min(h * 0.95, w * s * h / w)
    cx, cy = w / 2 + rng.uniform(-0.5, 0.5) * (w - bw), h / 2 + rng.uniform(-0.5, 0.5) * (h - bh)
    rect = np.float32([[cx - bw / 2, cy - bh / 2], [cx + bw / 2, cy - bh / 2], [cx + bw / 2, cy + bh / 2],
                       [cx - bw / 2, cy + bh / 2]])
    quad = (rect + rng.uniform(-1, 1, (4, 2)) * rng.uniform(0.01, 0.1) * np.float32([w, h])).astype(np.float32)
    matrix = cv2.getPerspectiveTransform(np.float32([[0, 0], [w, 0], [w, h], [0, h]]), quad)
    bezel = (quad - quad.mean(0)) * rng.uniform(1.02, 1.08) + quad.mean(0)
    cv2.fillPoly(out, [np.round(bezel).astype(np.int32)], random_colour(rng, 0, 40), AA)
    screen = image.astype(np.float32) * rng.uniform(0.7, 1.1) + rng.uniform(-15, 15, 3)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    angle, freq = rng.uniform(0, np.pi), rng.uniform(0.2, 0.48)
    screen += rng.uniform(3, 14) * np.sin(2 * np.pi * freq * (xx * np.cos(angle) + yy * np.sin(angle)))[..., None]
    gx, gy, gr = rng.uniform(0, w), rng.uniform(0, h), rng.uniform(0.15, 0.6) * w
    screen += rng.uniform(0, 70) * np.exp(-((xx - gx) ** 2 + (yy - gy) ** 2) / (2 * gr**2))[..., None]
    warped = cv2.warpPerspective(screen, matrix, (w, h), flags=cv2.INTER_LINEAR)
    mask = cv2.warpPerspective(np.ones((h, w), np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR)[..., None]
    out = cv2.GaussianBlur(out * (1 - mask) + warped * mask, (0, 0), rng.uniform(0.4, 1.5))
    out = np.clip(out + rng.normal(0, rng.uniform(1, 5), out.shape), 0, 255).astype(np.uint8)
    return Edited(out, matrix.astype(np.float64), (w, h))


def _curves(image: np.ndarray, bgr: Sequence[np.ndarray]) -> np.ndarray:
    """Apply one tone curve (256 values) per channel, B, G, R."""
    luts = [np.clip(np.round(c), 0, 255).astype(np.uint8) for c in bgr]
    return cv2.merge([cv2.LUT(ch, lut) for ch, lut in zip(cv2.split(image), luts)])


def _mix_grey(image: np.ndarray, keep: float) -> np.ndarray:
    """Saturation scaled by `keep` (0: grey, > 1: more vivid)."""
    grey = cv2.cvtColor(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR).astype(np.float32)
    return np.clip(grey + (image.astype(np.float32) - grey) * keep, 0, 255).astype(np.uint8)


_X = np.arange(256, dtype=np.float32)


def greyscale(image: np.ndarray, rng: np.random.Generator) -> Edited:
    return full_frame(_mix_grey(image, rng.uniform(0.0, 0.08)), image)


def tint(image: np.ndarray, rng: np.random.Generator, warm: bool = True) -> Edited:
    """Warm (more red, less blue) or cool (the reverse) tone curves."""
    s = rng.uniform(0.3, 1.0)
    up, down = _X * (1 + 0.15 * s) + 18 * s, _X * (1 - 0.25 * s)
    return full_frame(_curves(image, [down if warm else up, _X * (1 + 0.04 * s) + 4 * s, up if warm else down]), image)


def sepia(image: np.ndarray, rng: np.random.Generator) -> Edited:
    m = np.float32([[0.131, 0.534, 0.272], [0.168, 0.686, 0.349], [0.189, 0.769, 0.393]])
    s = rng.uniform(0.6, 1.0)
    mixed = cv2.transform(image.astype(np.float32), m) * s + image.astype(np.float32) * (1 - s)
    return full_frame(np.clip(mixed, 0, 255).astype(np.uint8), image)


def high_contrast(image: np.ndarray, rng: np.random.Generator) -> Edited:
    k = rng.uniform(5, 12)
    curve = 1 / (1 + np.exp(-k * (_X / 255 - rng.uniform(0.4, 0.6))))
    curve = (curve - curve[0]) / (curve[-1] - curve[0]) * 255
    return full_frame(_mix_grey(_curves(image, [curve] * 3), rng.uniform(1.0, 1.6)), image)


def faded(image: np.ndarray, rng: np.random.Generator) -> Edited:
    low, high, cast = rng.uniform(25, 85), rng.uniform(185, 235), rng.uniform(-12, 12, 3)
    curves = [low + c + _X * (high - low) / 255 for c in cast]
    return full_frame(_curves(_mix_grey(image, rng.uniform(0.35, 0.85)), curves), image)


def vignette(image: np.ndarray, rng: np.random.Generator) -> Edited:
    h, w = image.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy = w * rng.uniform(0.4, 0.6), h * rng.uniform(0.4, 0.6)
    r = np.sqrt(((xx - cx) / (w / 2)) ** 2 + ((yy - cy) / (h / 2)) ** 2) / np.sqrt(2)
    gain = 1 - rng.uniform(0.3, 0.9) * np.clip(r, 0, 1) ** rng.uniform(1.5, 3.5)
    return full_frame((image * gain[..., None]).astype(np.uint8), image)


def h264_roundtrip(frames: Sequence[np.ndarray], fps: float, bitrate: int | None = None, qp: int | None = None
                   ) -> list[np.ndarray]:
    """Frames through libx264 in memory (at `bitrate` bit/s, or constant `qp`) and decoded back."""
    import av

    h, w = frames[0].shape[:2]
    eh, ew = max(2, h - h % 2), max(2, w - w % 2)
    enc = av.CodecContext.create("libx264", "w")
    enc.width, enc.height, enc.pix_fmt = ew, eh, "yuv420p"
    enc.time_base, enc.framerate = Fraction(1, 1000), Fraction(fps).limit_denominator(1000)
    options = {"preset": "veryfast", "threads": "1"}
    if qp is not None:
        options["qp"] = str(int(qp))
    else:
        enc.bit_rate = int(bitrate or 100_000)
    enc.options = options
    packets = []
    for k, image in enumerate(frames):
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(cv2.resize(image, (ew, eh))), format="bgr24")
        frame.pts = round(k * 1000 / fps)
        packets += enc.encode(frame)
    packets += enc.encode(None)
    dec = av.CodecContext.create("h264", "r")
    out = [f.to_ndarray(format="bgr24") for p in [*packets, None] for f in dec.decode(p)]
    return [cv2.resize(f, (w, h)) if (eh, ew) != (h, w) else f for f in out]


def thumbnail(image: np.ndarray, rng: np.random.Generator, long_side: tuple[int, int] = (96, 160)) -> Edited:
    """Down to a 96-160 pixel long side and back up to the source's size."""
    h, w = image.shape[:2]
    s = int(rng.integers(long_side[0], long_side[1] + 1)) / max(h, w)
    small = cv2.resize(image, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
    up = int(rng.choice([cv2.INTER_LINEAR, cv2.INTER_CUBIC, cv2.INTER_NEAREST]))
    return full_frame(cv2.resize(small, (w, h), interpolation=up), image)


def heavy_jpeg(image: np.ndarray, rng: np.random.Generator, quality: tuple[int, int] = (5, 15)) -> Edited:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(quality[0], quality[1] + 1))])
    return full_frame(cv2.imdecode(data, cv2.IMREAD_COLOR), image)


def low_resolution(image: np.ndarray, rng: np.random.Generator, long_side: tuple[int, int] = (48, 200)) -> Edited:
    """Kept small: a 48-200 pixel long side, JPEG-compressed at quality 20-70."""
    h, w = image.shape[:2]
    s = min(1.0, int(rng.integers(long_side[0], long_side[1] + 1)) / max(h, w))
    small = cv2.resize(image, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
    ok, data = cv2.imencode(".jpg", small, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(20, 71))])
    return full_frame(cv2.imdecode(data, cv2.IMREAD_COLOR), image)


def low_bitrate(image: np.ndarray, rng: np.random.Generator, qp: tuple[int, int] = (36, 51)) -> Edited:
    """A frame of a very low bit rate video: libx264 at a constant quantiser of 36-51, at 1/2 to full size."""
    h, w = image.shape[:2]
    s = rng.uniform(0.5, 1.0)
    small = cv2.resize(image, (max(2, round(w * s)), max(2, round(h * s))), interpolation=cv2.INTER_AREA)
    frame = h264_roundtrip([small], 25.0, qp=int(rng.integers(qp[0], qp[1] + 1)))[0]
    return full_frame(cv2.resize(frame, (w, h), interpolation=cv2.INTER_LINEAR), image)

OVERLAYS = {"app_chrome": "AppChrome", "watermark": "Watermark", "sticker": "Sticker", "meme_text": "MemeText",
            "subtitles": "Subtitles"}  # edit name -> template class (in platform_video_edits: they also run over time)


def _overlay(template: str) -> Callable[..., Edited]:
    def edit(image: np.ndarray, rng: np.random.Generator, **params) -> Edited:
        from myPython.datasets import platform_video_edits  # which imports this module

        return getattr(platform_video_edits, template).random(rng, **params).apply(image)

    return edit


Edit = Callable[..., Edited]
FAMILIES: dict[str, dict[str, Edit]] = {
    "composition": {"picture_in_picture": picture_in_picture, "side_by_side": side_by_side, "duet": duet,
                    "split_screen": split_screen, "collage": collage},
    "overlay": {name: _overlay(template) for name, template in OVERLAYS.items()},
    "geometry": {"rotate90": lambda image, rng: rotate(image, 1), "rotate180": lambda image, rng: rotate(image, 2),
                 "rotate270": lambda image, rng: rotate(image, 3),
                 "portrait_blur": lambda image, rng: portrait(image, rng, "blur"),
                 "portrait_colour": lambda image, rng: portrait(image, rng, "colour"), "zoom": zoom,
                 "screen_photo": screen_photo},
    "photometric": {"greyscale": greyscale, "warm": lambda image, rng: tint(image, rng, True),
                    "cool": lambda image, rng: tint(image, rng, False), "sepia": sepia,
                    "high_contrast": high_contrast, "faded": faded, "vignette": vignette},
    "quality": {"thumbnail": thumbnail, "heavy_jpeg": heavy_jpeg, "low_resolution": low_resolution,
                "low_bitrate": low_bitrate},
}


def apply(image: np.ndarray, family: str, name: str, rng: np.random.Generator, **params) -> Edited:
    """One edit of the registry."""
    if name not in FAMILIES.get(family, {}):
        raise ValueError(f"unknown edit {family}/{name}: one of {[f'{f}/{n}' for f in FAMILIES for n in FAMILIES[f]]}")
    return FAMILIES[family][name](image, rng, **params)


def chain(image: np.ndarray, rng: np.random.Generator, steps: Sequence[tuple[str, str]]) -> Edited:
    """Several edits of FAMILIES, (family, name) one after the other; matrix and visible box of the original."""
    h, w = image.shape[:2]
    out = Edited(image, np.eye(3), (w, h))
    for family, name in steps:
        step = apply(out.image, family, name, rng)
        if step.matrix is None or out.matrix is None or step.visible is None or out.visible is None:
            out = Edited(step.image, None, (w, h))
            continue
        v = out.visible
        a = _bounds(cv2.perspectiveTransform(np.float64([[v[:2], (v[2], v[1]), v[2:], (v[0], v[3])]]), step.matrix)[0])
        b = step.visible
        visible = (max(a[0], b[0]), max(a[1], b[1]), min(a[2], b[2]), min(a[3], b[3]))
        out = Edited(step.image, step.matrix @ out.matrix, (w, h), visible)
    return out
