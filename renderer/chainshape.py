"""Tell how a chain was photographed: laid flat as a closed loop, or hung open with two free ends.

The matte's wire is thickened into a solid rope (a closing bridges the holes in links and the gaps
between them). An open space the rope encloses that is much wider than the rope makes the chain a
loop. Otherwise the chain is open: its two ends are the pair of rope points farthest apart along the
rope, and its centre line is the cheapest path between them through the rope's middle, re-centred on
the chain's own alpha. A rope the line does not explain (a knot, a crossing, a strand doubled back or
branching off, a second piece) is tangled; one too short and thick for a chain is no chain at all.
Thick blobs on the chain (a pendant, a clasp) are found from the wire's thickness; on an open chain
the one hanging off the line is the pendant, those on it (the clasp at an end) stay part of the chain.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree
from skimage.graph import MCP_Geometric

from renderer.cutout import Cutout
from renderer.errors import CutoutError

LOOP = "loop"
OPEN = "open"
MIN_SLENDERNESS = 12.0  # a chain is at least this many times longer than it is wide
MAX_UNEXPLAINED = 0.03  # share of the rope the centre line may leave unexplained (stray specks, a bail)
DOUBLED_MASS = 1.6  # metal per length, against the chain's median, above which it lies doubled
MAX_DOUBLED_SHARE = 0.08  # share of the centre line that may look doubled (clasp and bail left out)
HOW_TO = (
    "Worn drapes one chain photographed whole on a plain backdrop: laid flat as a closed loop, or hung "
    "open as a U or V with both ends in the photo"
)


@dataclass(frozen=True)
class ChainShape:
    """How the chain lies in its photo (arrays in the cutout's crop coordinates).

    form: "loop" or "open". mask: the piece (alpha > 0.3). half: the wire's half thickness (px).
    rope_half: the chain's half width, links and all (px; for a loop, about it: the radius its links
    were closed with). blobs: thick parts, biggest first, grown to
    their outline. pendant: the blob hanging from the chain (None when there is none). line: for an
    open chain, its centre line from its left end to its right end, N×2 (x, y) about 1 px apart.
    """

    form: str
    mask: np.ndarray
    half: float
    rope_half: float
    blobs: tuple[np.ndarray, ...]
    pendant: np.ndarray | None
    line: np.ndarray | None

    @property
    def length_px(self) -> float:
        """Return the open chain's length along its centre line (0 for a loop)."""
        if self.line is None:
            return 0.0
        return float(np.hypot(*np.diff(self.line, axis=0).T).sum())


def thickness(mask: np.ndarray) -> tuple[np.ndarray, float]:
    """Return the mask's distance transform and the wire's half thickness (its 60th percentile)."""
    dt = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 3)
    vals = dt[dt > 0]
    half = float(np.percentile(vals, 60)) if vals.size else 1.0
    return dt, max(half, 0.75)


def blobs(mask: np.ndarray, dt: np.ndarray, half: float) -> list[np.ndarray]:
    """Return masks of thick parts (pendant, clasp), biggest first, grown back to their outline."""
    core = dt > max(2.5, 3.0 * half)
    _n, labels, stats, _ = cv2.connectedComponentsWithStats(core.astype(np.uint8), connectivity=8)
    out = []
    for i in np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1:
        if stats[i, cv2.CC_STAT_AREA] < max(6, 2 * half * half):
            break
        blob = labels == i
        # Grow within the piece by a few chain widths: the bezel's rim and the bail come along.
        grown = blob.copy()
        k = np.ones((3, 3), np.uint8)
        for _ in range(int(np.ceil(3.5 * half)) + 2):
            grown = cv2.dilate(grown.astype(np.uint8), k).astype(bool) & mask
        out.append(grown)
    return out


def _disk(r: int) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))


def _rope(mask: np.ndarray, half: float) -> tuple[np.ndarray, int, list[np.ndarray]]:
    """Return (rope, closing radius, the open spaces it encloses that are wider than a link's hole)."""
    r = max(2, round(2 * half))
    pad = r + 2  # so the closing does not glue the piece to the crop's edge
    padded = np.pad(mask.astype(np.uint8), pad)
    rope = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, _disk(r))[pad:-pad, pad:-pad].astype(bool)
    holes = ndimage.binary_fill_holes(rope) & ~rope
    labels, n = ndimage.label(holes)
    spaces = []
    if n:
        dt = cv2.distanceTransform(holes.astype(np.uint8), cv2.DIST_L2, 3)
        radius = np.asarray(ndimage.maximum(dt, labels, index=np.arange(1, n + 1)))
        # A link's hole is narrower than the rope is wide; the inside of a loop is far wider.
        small = np.zeros(n + 1, bool)
        small[1:] = radius < 3 * r
        rope |= small[labels]
        spaces = [labels == i + 1 for i in np.nonzero(~small[1:])[0]]
    return rope, r, spaces


def _farthest(cost: np.ndarray, start: tuple[int, int]) -> tuple[tuple[int, int], np.ndarray]:
    mcp = MCP_Geometric(cost, fully_connected=True)
    acc, _ = mcp.find_costs([start])
    acc = np.where(np.isfinite(acc), acc, -1.0)
    far = np.unravel_index(int(np.argmax(acc)), acc.shape)
    return (int(far[0]), int(far[1])), acc


def _line_through(rope: np.ndarray, dt: np.ndarray, rope_r: float) -> np.ndarray:
    """Return the rope's centre line between its two geodesic ends, as (x, y) points."""
    flat = np.where(rope, 1.0, np.inf)
    ys, xs = np.nonzero(rope)
    seed = (int(ys[0]), int(xs[0]))
    a, _ = _farthest(flat, seed)
    b, _ = _farthest(flat, a)
    # Through the rope's middle: steps cost less the deeper inside they are, capped at the chain's
    # width so a pendant or clasp is no shortcut.
    depth = np.minimum(dt, rope_r) + 0.5
    mcp = MCP_Geometric(np.where(rope, 1.0 / depth, np.inf), fully_connected=True)
    mcp.find_costs([a], [b])
    path = np.asarray(mcp.traceback(b), np.float64)[:, ::-1]
    if path[0, 0] > path[-1, 0]:
        path = path[::-1]  # left end first, for a stable orientation
    return path


def resample(points: np.ndarray, step: float = 1.0) -> np.ndarray:
    """Return the polyline resampled every `step` px of arc length (ends kept)."""
    seg = np.hypot(*np.diff(points, axis=0).T)
    cum = np.concatenate([[0.0], np.cumsum(seg)])
    n = max(2, int(np.ceil(cum[-1] / step)) + 1)
    s = np.linspace(0.0, cum[-1], n)
    return np.stack([np.interp(s, cum, points[:, 0]), np.interp(s, cum, points[:, 1])], axis=1)


def normals(points: np.ndarray) -> np.ndarray:
    """Return unit normals of an open polyline (its tangents turned a quarter)."""
    t = np.gradient(points, axis=0)
    t /= np.maximum(np.hypot(t[:, 0], t[:, 1]), 1e-9)[:, None]
    return np.stack([t[:, 1], -t[:, 0]], axis=1)


def _smooth(points: np.ndarray, sigma: float) -> np.ndarray:
    out = ndimage.gaussian_filter1d(points, sigma, axis=0, mode="nearest")
    out[0], out[-1] = points[0], points[-1]
    return out


def _recentre(line: np.ndarray, alpha: np.ndarray, reach: float, sigma: float) -> np.ndarray:
    """Move each point of the line across it onto the middle of the chain's alpha there."""
    offs = np.arange(-np.ceil(reach), np.ceil(reach) + 1, dtype=np.float32)
    for _ in range(2):
        n = normals(line)
        mx = (line[None, :, 0] + offs[:, None] * n[None, :, 0]).astype(np.float32)
        my = (line[None, :, 1] + offs[:, None] * n[None, :, 1]).astype(np.float32)
        a = cv2.remap(alpha, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=(0.0,))
        w = a.sum(axis=0)
        shift = np.where(w > 1e-3, (a * offs[:, None]).sum(axis=0) / np.maximum(w, 1e-6), 0.0)
        shift = ndimage.gaussian_filter1d(shift, sigma, mode="nearest")
        line = line + shift[:, None] * n
    return resample(_smooth(line, max(1.0, sigma / 2)))


def _refuse_tangled(what: str) -> CutoutError:
    return CutoutError(
        "tangled",
        f"the chain {what}: Worn cannot follow it link by link to drape it; untangle it and "
        f"photograph it again. {HOW_TO}",
    )


def _open_line(
    cut: Cutout, mask: np.ndarray, rope: np.ndarray, thick: list[np.ndarray], r: int
) -> tuple[np.ndarray, float, np.ndarray | None]:
    """Return (centre line, rope half width, pendant mask) of an open chain, or refuse it."""
    rope_dt = cv2.distanceTransform(np.pad(rope, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    raw = _line_through(rope, rope_dt, float(np.percentile(rope_dt[rope], 90)))
    ij = raw.astype(int)
    rope_half = float(np.median(rope_dt[ij[:, 1], ij[:, 0]]))
    line = resample(_smooth(resample(raw), max(1.0, rope_half)))
    length = float(np.hypot(*np.diff(line, axis=0).T).sum())
    if length < MIN_SLENDERNESS * 2 * rope_half:
        raise CutoutError(
            "not_a_chain",
            f"the piece is {length:.0f} px long and {2 * rope_half:.0f} px wide: too short and thick "
            f"for a chain; {HOW_TO}",
        )
    # Which pixels the line explains: those within the chain's width of it.
    h, w = mask.shape
    canvas = np.full((h, w), 255, np.uint8)
    cv2.polylines(canvas, [np.round(line * 4).astype(np.int32)], False, (0,), 1, cv2.LINE_8, shift=2)
    dist = cv2.distanceTransform(canvas, cv2.DIST_L2, 3)
    near = dist <= 2.0 * rope_half + 2.0
    # A blob mostly off the line hangs from it: the pendant (the biggest such); on the line: a clasp.
    hanging = [b for b in thick if (b & near).sum() < 0.5 * b.sum()]
    pendant = None
    if hanging:
        # The pendant with its bail: the piece's pixels off the chain that hang together with the blob.
        off, _ = ndimage.label(mask & (dist > rope_half + 1.0), structure=np.ones((3, 3)))
        pendant = hanging[0] | np.isin(off, np.unique(off[hanging[0]])[1:])
    allowed = near.copy()
    for b in hanging[1:] + ([pendant] if pendant is not None else []):
        allowed |= cv2.dilate(b.astype(np.uint8), _disk(r + 2)).astype(bool)
    stray = rope & ~allowed
    if stray.sum() > MAX_UNEXPLAINED * rope.sum():
        raise _refuse_tangled("crosses itself, is knotted or has strands off its line")
    chain_alpha = cut.alpha if pendant is None else np.where(pendant, 0.0, cut.alpha).astype(np.float32)
    line = _recentre(line, chain_alpha, 1.5 * rope_half + 2.0, max(2.0, rope_half))
    _check_single(line, chain_alpha, thick, r, rope_half)
    return line, rope_half, pendant


def _check_single(
    line: np.ndarray, chain_alpha: np.ndarray, thick: list[np.ndarray], r: int, rope_half: float
) -> None:
    """Refuse a chain lying doubled along part of its line: there it has twice the metal per length.

    Each chain pixel's alpha goes to its nearest line point; summed over a few links (links alternate
    flat and edge-on), a single strand carries about the same everywhere, clasp and bail aside.
    """
    ys, xs = np.nonzero(chain_alpha > 0.05)
    _, idx = cKDTree(line).query(np.stack([xs, ys], axis=1))
    mass = np.bincount(idx, weights=chain_alpha[ys, xs], minlength=len(line))
    mass = ndimage.gaussian_filter1d(mass, max(4.0, 4.0 * rope_half), mode="nearest")
    h, w = chain_alpha.shape
    ij = np.clip(np.round(line).astype(int), 0, [w - 1, h - 1])
    on_blob = np.zeros(len(line), bool)
    for b in thick:
        on_blob |= cv2.dilate(b.astype(np.uint8), _disk(2 * r + 2)).astype(bool)[ij[:, 1], ij[:, 0]]
    plain = mass[~on_blob]
    if plain.size and (plain > DOUBLED_MASS * np.median(plain)).mean() > MAX_DOUBLED_SHARE:
        raise _refuse_tangled("lies doubled back along itself")


def chain_shape(cut: Cutout) -> ChainShape:
    """Find whether the cut-out chain is a closed loop or open, with its ends, pendant and centre line.

    Raises CutoutError: not_a_chain (no chain, separate pieces, or a piece too short and thick to be a
    chain) or tangled (crossing itself, knotted, doubled back, strands off its line).
    """
    mask = cut.alpha > 0.3
    if mask.sum() < 50:
        raise CutoutError("not_a_chain", f"no chain found in the photo to drape; {HOW_TO}")
    dt, half = thickness(mask)
    thick = blobs(mask, dt, half)
    rope, r, spaces = _rope(mask, half)
    labels, n = ndimage.label(rope, structure=np.ones((3, 3)))
    sizes = np.asarray(ndimage.sum(rope, labels, index=np.arange(1, n + 1)))
    pieces = int((sizes >= 0.05 * sizes.max()).sum())
    if pieces > 1:
        raise CutoutError(
            "not_a_chain",
            f"the photo shows {pieces} separate pieces, not one chain; {HOW_TO}",
        )
    rope = labels == int(np.argmax(sizes)) + 1
    if len(spaces) == 1:
        _check_ring(rope, spaces[0], thick, r)
        return ChainShape(LOOP, mask, half, float(r), tuple(thick), thick[0] if thick else None, None)
    if len(spaces) > 1:
        raise _refuse_tangled(f"crosses itself ({len(spaces)} enclosed spaces)")
    line, rope_half, pendant = _open_line(cut, mask, rope, thick, r)
    if _ends_meet(line):
        # Laid as a loop whose clasp is open (or whose matte breaks at it): a loop all the same.
        return ChainShape(LOOP, mask, half, float(r), tuple(thick), thick[0] if thick else None, None)
    return ChainShape(OPEN, mask, half, rope_half, tuple(thick), pendant, line)


def _check_ring(rope: np.ndarray, space: np.ndarray, thick: list[np.ndarray], r: int) -> None:
    """Refuse a loop with strands off it (tails crossing above it, a second loop): tangled."""
    rope_dt = cv2.distanceTransform(np.pad(rope, 1).astype(np.uint8), cv2.DIST_L2, 3)[1:-1, 1:-1]
    width = 2.0 * float(np.percentile(rope_dt[rope], 90))
    from_space = cv2.distanceTransform((~space).astype(np.uint8), cv2.DIST_L2, 3)
    stray = rope & (from_space > 2.0 * width + 2.0)
    for b in thick:  # a pendant or a clasp may stand off the loop
        stray &= ~cv2.dilate(b.astype(np.uint8), _disk(r + 2)).astype(bool)
    if stray.sum() > MAX_UNEXPLAINED * rope.sum():
        raise _refuse_tangled("crosses itself, with strands off its loop")


def _ends_meet(line: np.ndarray) -> bool:
    """Return whether the line's ends nearly meet across the space it goes round (a loop, opened)."""
    gap = float(np.hypot(*(line[-1] - line[0])))
    area = abs(float(cv2.contourArea(line.astype(np.float32))))
    return gap < 0.3 * 2.0 * np.sqrt(area / np.pi)
