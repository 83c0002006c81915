"""Place the cut-out piece on a plate at its physical size, per kind, moving its pixels only.

necklace/pendant: the chain (laid flat as a loop, or hung open as a U or V) is unwrapped and bent
along the drape between the neck's sides,
the pendant hung rigidly on the sternum line, the part behind the neck left out. earrings: one piece of
the pair (or the single piece mirrored) hangs from each visible earlobe; hair covering a lobe covers
its earring. ring: the band's opening across the ring finger between base and first knuckle, its
stone toward the top of the frame, the palm side of the band hidden by the finger. bracelet/anklet: the front
half of the loop across the wrist or ankle, its links crowding where they turn away.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np
from scipy import ndimage

from renderer import drape
from renderer.analysis import best_hand
from renderer.cutout import Cutout
from renderer.handgeom import RING_AT
from renderer.kinds import ANKLET, BRACELET, DROP_LENGTH, STUD_DIAMETER
from renderer.layers import Layer, similarity, warp_piece
from renderer.loop import Strip
from renderer.plates import PlateAnalysis
from renderer.sizes import StatedSize


class PlacementSkip(Exception):
    """Stop placing on this plate: `code` and `message` become the outcome's reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Placement:
    """What a placement produced: layers of product pixels and the numbers the report needs."""

    layers: list[Layer]
    achieved_mm: float
    anchor_confidence: float
    px_per_mm: float
    scale_source: str
    contact: str  # "lying" on skin or cloth, or "hanging" free (earrings)
    notes: list[str] = field(default_factory=list)


def placed_scale(source_alpha: np.ndarray, layer: Layer) -> float:
    """Measure the scale a piece really got on the plate: √(its alpha area there / in its photo).

    Resampling keeps a piece's alpha area (area averaging conserves it), so this holds for studs a few
    pixels wide and for wire thinner than a pixel, where counting pixels over a threshold does not.
    """
    src = float(source_alpha.sum())
    return float(np.sqrt(layer.alpha.sum() / src)) if src > 0 else float("nan")


def _inside(layer: Layer, matrix: np.ndarray, src_w: int, src_h: int, width: int, height: int) -> bool:
    corners = np.array([[0, 0, 1], [src_w, 0, 1], [0, src_h, 1], [src_w, src_h, 1]], np.float64) @ matrix.T
    return bool(
        corners[:, 0].min() >= 0
        and corners[:, 1].min() >= 0
        and corners[:, 0].max() <= width
        and corners[:, 1].max() <= height
    )


def _hair_hidden(an: PlateAnalysis, layer: Layer) -> np.ndarray | None:
    hair = an.mask_at("hair", an.width, an.height)
    if hair is None:
        return None
    x0, y0, x1, y1 = layer.box()
    return hair[y0:y1, x0:x1].copy()


# --- earrings -----------------------------------------------------------------------------------


def split_pair(cut: Cutout) -> list[tuple[np.ndarray, np.ndarray]]:
    """Return the pieces of an earring photo, left to right: two for a pair, one for a single piece."""
    cols = (cut.alpha > 0.15).any(axis=0)
    xs = np.nonzero(cols)[0]
    pieces = []
    if xs.size:
        lo, hi = xs.min(), xs.max()
        empty = ~cols[lo : hi + 1]
        labels, n = ndimage.label(empty)
        if n:
            sizes = ndimage.sum(empty, labels, index=np.arange(1, n + 1))
            k = int(np.argmax(sizes)) + 1
            gap = np.nonzero(labels == k)[0] + lo
            if sizes[k - 1] >= 3:
                cut_at = int(gap.mean())
                for x0, x1 in ((0, cut_at), (cut_at, cut.alpha.shape[1])):
                    a = cut.alpha[:, x0:x1]
                    if (a > 0.5).sum() > 0.2 * (cut.alpha > 0.5).sum():
                        pieces.append((cut.rgb[:, x0:x1], a))
    if len(pieces) != 2:
        pieces = [(cut.rgb, cut.alpha)]
    out = []
    for rgb, a in pieces:
        ys, xs = np.nonzero(a > 0.02)
        out.append(
            (
                rgb[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32),
                a[ys.min() : ys.max() + 1, xs.min() : xs.max() + 1].astype(np.float32),
            )
        )
    return out


def earring_quantity(cut: Cutout) -> str:
    """Return whether the photo shows studs or drops, from the first piece's shape."""
    _, a = split_pair(cut)[0]
    h, w = a.shape
    return STUD_DIAMETER if h < 1.4 * w else DROP_LENGTH


def place_earrings(cut: Cutout, size: StatedSize, an: PlateAnalysis) -> Placement:
    """Hang one earring from each visible earlobe at the stated drop or stud size."""
    scale = an.face_scale
    if scale is None:
        raise PlacementSkip("no_face", "no face found: earrings hang from the earlobes")
    lobes = sorted(
        (
            (k, p)
            for k, p in an.anchors.items()
            if k in ("earlobe_left", "earlobe_right") and p.confidence >= 0.5
        ),
        key=lambda kp: kp[1].x,
    )
    if not lobes:
        raise PlacementSkip("ears_hidden", "neither earlobe is visible")
    pieces = split_pair(cut)
    stud = size.quantity == STUD_DIAMETER
    layers, achieved, notes = [], [], []
    for i, (name, lobe) in enumerate(lobes):
        if len(pieces) == 2:
            # Image-left piece to the image-left ear; a lone visible ear takes the piece on its side.
            side = i if len(lobes) == 2 else (0 if lobe.x < an.anchors.get("chin", lobe).x else 1)
            rgb, a = pieces[side]
        else:
            rgb, a = pieces[0]
            if len(lobes) == 2 and i == 1:  # the other ear wears the photographed piece mirrored
                rgb, a = rgb[:, ::-1].copy(), a[:, ::-1].copy()
                notes.append("one earring photographed: mirrored for the second ear")
        h, w = a.shape
        ys, xs = np.nonzero(a > 0.5)
        if stud:
            extent = max(h, w)
            src = np.array([xs.mean(), ys.mean()])
        else:
            extent = h
            top = ys <= ys.min() + max(1, round(0.02 * h))
            src = np.array([xs[top].mean(), float(ys.min())])
        m = similarity(size.mm * scale.px_per_mm / extent, 0.0, src, lobe.xy)
        if not _inside(Layer(0, 0, rgb, a), m, w, h, an.width, an.height):
            notes.append(f"{name.replace('_', ' ')}: the earring would leave the photo; left out")
            continue
        layer = warp_piece(rgb, a, m, an.width, an.height)
        if layer is None:
            continue
        if name + "_hair" in an.anchors:
            layer.hidden = _hair_hidden(an, layer)
            notes.append(f"{name.replace('_', ' ')} is under hair: its earring is partly hidden")
        achieved.append(extent * placed_scale(a, layer) / scale.px_per_mm)
        layers.append(layer)
    if not layers:
        raise PlacementSkip("out_of_frame", "the earrings would fall outside the photo")
    worst = max(achieved, key=lambda v: abs(v - size.mm)) if achieved else float("nan")
    conf = min(scale.confidence, min(p.confidence for _, p in lobes))
    return Placement(layers, worst, conf, scale.px_per_mm, scale.source, "hanging", notes)


# --- ring ---------------------------------------------------------------------------------------


def ring_opening(cut: Cutout) -> tuple[np.ndarray, float, np.ndarray]:
    """Return (centre, width in px, unit 'up' toward the stone) of the ring's opening in its photo."""
    mask = cut.alpha > 0.5
    holes = ndimage.binary_fill_holes(mask) & ~mask
    labels, n = ndimage.label(holes)
    if n == 0:
        raise PlacementSkip(
            "product_view",
            "the ring photo shows no opening through the band; Worn needs a three-quarter view of the ring",
        )
    sizes = ndimage.sum(holes, labels, index=np.arange(1, n + 1))
    hole = labels == int(np.argmax(sizes)) + 1
    if hole.sum() < 0.03 * mask.sum():
        raise PlacementSkip(
            "product_view",
            "the ring's opening is too small to see; Worn needs a three-quarter view of the ring",
        )
    contours, _ = cv2.findContours(hole.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    c = max(contours, key=cv2.contourArea)
    (cx, cy), (ax1, ax2), ang = cv2.fitEllipse(c)
    pts = c.reshape(-1, 2).astype(np.float64)
    major_dir = np.array([math.cos(math.radians(ang)), math.sin(math.radians(ang))])
    if ax2 > ax1:
        major_dir = np.array([-major_dir[1], major_dir[0]])
    # The opening's width: its extent along the major axis, measured on the contour itself.
    proj = (pts - [cx, cy]) @ major_dir
    width = float(proj.max() - proj.min())
    up = np.array([-major_dir[1], major_dir[0]])
    ys, xs = np.nonzero(mask)
    mass = np.array([xs.mean() - cx, ys.mean() - cy])
    if float(mass @ up) < 0:
        up = -up  # the head (stone and prongs) puts more metal on its side of the opening
    return np.array([cx, cy]), width, up


def place_ring(cut: Cutout, size: StatedSize, an: PlateAnalysis) -> Placement:
    """Put the ring on the ring finger between base and first knuckle; the finger hides the band's back."""
    hand, cap = best_hand(an.hands, "ring", an.width, an.height)
    if hand is None:
        raise PlacementSkip(cap.code, cap.message)
    centre, open_px, up = ring_opening(cut)
    ppm = hand.scale.px_per_mm
    s = size.mm * ppm / open_px
    base, knuckle = hand.ring_base.xy, hand.ring_knuckle.xy
    along = (knuckle - base) / max(np.hypot(*(knuckle - base)), 1e-9)  # toward the fingertip
    target = base + RING_AT * (knuckle - base)
    # Product shots and hand photos are both taken from a little above: the stone, which faces the
    # camera, shows toward the top of the frame, along the finger whichever way the finger points.
    stone = -along if (along[1] > 0.05 or abs(along[1]) <= 0.05) else along
    angle = math.atan2(stone[1], stone[0]) - math.atan2(up[1], up[0])
    m = similarity(s, angle, centre, target)
    h, w = cut.alpha.shape
    if not _inside(Layer(0, 0, cut.rgb, cut.alpha), m, w, h, an.width, an.height):
        raise PlacementSkip("out_of_frame", "the ring would leave the photo")
    layer = warp_piece(cut.rgb, cut.alpha, m, an.width, an.height)
    if layer is None:
        raise PlacementSkip("out_of_frame", "the ring would leave the photo")
    # The finger: a band of its measured width along base→knuckle; it hides the band's palm side,
    # which lies on the far side of the opening's centre from the stone.
    lh, lw = layer.shape
    yy, xx = np.mgrid[0:lh, 0:lw].astype(np.float32)
    px = xx + layer.x0 - target[0]
    py = yy + layer.y0 - target[1]
    t = px * stone[0] + py * stone[1]
    d = np.abs(px * -along[1] + py * along[0])
    half = hand.finger_width_px / 2
    finger = np.clip(half + 0.5 - d, 0, 1)
    far_side = np.clip(0.5 - t, 0, 1)
    layer.hidden = (finger * far_side).astype(np.float32)
    achieved = open_px * placed_scale(cut.alpha, layer) / ppm
    notes = [f"ring finger {hand.finger_width_px / ppm:.1f} mm wide at {ppm:.2f} px/mm ({hand.scale.source})"]
    return Placement(
        [layer], achieved, min(hand.score, hand.scale.confidence), ppm, hand.scale.source, "lying", notes
    )


# --- chains: necklace, bracelet, anklet --------------------------------------------------------------


def place_necklace(strip: Strip, size: StatedSize, an: PlateAnalysis, with_pendant: bool) -> Placement:
    """Drape the chain from the neck's sides to its length, the pendant on the sternum line."""
    scale = an.face_scale
    if scale is None:
        raise PlacementSkip("no_face", "no face found: a necklace is scaled from the face")
    try:
        right, left = an.anchors["neck_right"].xy, an.anchors["neck_left"].xy
    except KeyError:
        raise PlacementSkip("no_neck", "the neck's sides were not found") from None
    ppm = scale.px_per_mm
    prod_ppm = strip.length_px / size.mm
    half_span_mm = float(np.hypot(*(left - right))) / 2 / ppm
    hidden_mm = drape.BEHIND_NECK_FACTOR * half_span_mm
    front_mm = size.mm - hidden_mm
    if front_mm <= 0:
        raise PlacementSkip("too_short", f"a {size.mm:.0f} mm chain does not reach round this neck")
    pendant = strip.pendant if with_pendant else None
    curve = drape.neck_curve(right, left, ppm, front_mm, 0.5 if pendant is not None else 0.0)
    # A choker hugs the neck: more of it shows in front, and less goes round the back.
    front_mm = curve.length_mm
    hidden_mm = size.mm - front_mm
    thickness = ppm / prod_ppm
    front_s = strip.front_s
    if not strip.closed:
        # An open chain's ends go behind the neck alike; a pendant photographed off the chain's middle
        # slides to the front on its bail, so the visible run stays within the chain.
        half_px = (front_mm / 2) * prod_ppm
        front_s = float(np.clip(front_s, half_px, strip.length_px - half_px))
    sigma_to_s = front_s - (front_mm / 2) * prod_ppm
    chain, drawn_mm = drape.bend(strip, curve, prod_ppm, thickness, sigma_to_s, an.width, an.height)
    if chain is None:
        raise PlacementSkip("out_of_frame", "the chain would fall outside the photo")
    layers = [chain]
    notes = [f"{hidden_mm:.0f} mm of chain behind the neck, {front_mm:.0f} mm draped in front"]
    if not strip.closed:
        notes.append("chain photographed hung open: its two ends meet behind the neck")
    if pendant is not None:
        mid = len(curve.points) // 2
        t = curve.tangents[mid]
        down = np.array([-t[1], t[0]])
        if down[1] < 0:
            down = -down
        angle = math.atan2(down[1], down[0]) - math.atan2(pendant.hang[1], pendant.hang[0])
        m = similarity(thickness, angle, np.array(pendant.attach), curve.points[mid])
        ph, pw = pendant.alpha.shape
        if not _inside(Layer(0, 0, pendant.rgb, pendant.alpha), m, pw, ph, an.width, an.height):
            raise PlacementSkip("out_of_frame", "the pendant would fall below the photo")
        pl = warp_piece(pendant.rgb, pendant.alpha, m, an.width, an.height)
        if pl is None:
            raise PlacementSkip("out_of_frame", "the pendant would fall below the photo")
        layers.append(pl)
    lowest = max(lay.box()[3] for lay in layers)
    if lowest >= an.height - 1 or chain.box()[1] <= 0:
        raise PlacementSkip("out_of_frame", "the necklace would leave the photo")
    for lay in layers:
        lay.hidden = _hair_hidden(an, lay)
    conf = min(scale.confidence, an.anchors["neck_base"].confidence)
    return Placement(layers, drawn_mm + hidden_mm, conf, ppm, scale.source, "lying", notes)


def place_bracelet(strip: Strip, size: StatedSize, an: PlateAnalysis, kind: str) -> Placement:
    """Wrap the loop's front half across the wrist (or ankle), sagging the way gravity pulls it."""
    prod_ppm = strip.length_px / size.mm
    if kind == ANKLET:
        center, across, along, width_px, ppm, source, conf = _ankle(an)
    else:
        hand, cap = best_hand(an.hands, BRACELET, an.width, an.height)
        if hand is None:
            raise PlacementSkip(cap.code, cap.message)
        along = np.array(hand.arm_dir)
        across = np.array([-along[1], along[0]])
        center, width_px = hand.wrist.xy, hand.wrist_width_px
        ppm, source, conf = hand.scale.px_per_mm, hand.scale.source, min(hand.score, hand.scale.confidence)
    if across[0] < 0:
        across = -across
    half_w = width_px / 2 * 1.04
    loop_d_mm = size.mm / math.pi
    slack_mm = max(0.0, loop_d_mm - width_px / ppm)
    sag = min(0.22 * half_w + 0.5 * slack_mm * ppm, 0.6 * half_w)
    # Gravity: sag toward whichever end of the arm is lower on the photo (toward the hand if level).
    sag_dir = along if along[1] > 0.25 else -along
    curve = drape.wrist_curve(center, across, sag_dir, half_w, sag, size.mm / 2)
    # A loop's blob is its clasp: the front is half way round from it. An open bracelet (a chain laid
    # open, a cuff) closes behind the wrist: its middle is the front.
    if not strip.closed:
        front_s = strip.length_px / 2
    elif strip.pendant_s is None:
        front_s = strip.front_s
    else:
        front_s = strip.pendant_s + strip.length_px / 2
    sigma_to_s = front_s - (size.mm / 4) * prod_ppm
    layer, drawn_mm = drape.bend(strip, curve, prod_ppm, ppm / prod_ppm, sigma_to_s, an.width, an.height)
    if layer is None:
        raise PlacementSkip("out_of_frame", "the bracelet would fall outside the photo")
    notes = [f"{kind} front half across a {width_px / ppm:.0f} mm {'ankle' if kind == ANKLET else 'wrist'}"]
    return Placement([layer], drawn_mm * 2, conf, ppm, source, "lying", notes)


def _ankle(an: PlateAnalysis) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, float, str, float]:
    if not an.capability(ANKLET).ok or an.face_scale is None:
        raise PlacementSkip("no_ankle", "no ankle visible with a known scale")
    best = max((k for k in ("ankle_left", "ankle_right")), key=lambda k: an.anchors[k].confidence)
    ankle = an.anchors[best].xy
    knee = an.anchors["knee_" + best.split("_")[1]].xy
    along = (knee - ankle) / max(np.hypot(*(knee - ankle)), 1e-9)
    across = np.array([-along[1], along[0]])
    ppm = an.face_scale.px_per_mm
    center = ankle + along * 25.0 * ppm  # an anklet rests just above the ankle bones
    return center, across, along, 70.0 * ppm, ppm, an.face_scale.source, an.anchors[best].confidence
