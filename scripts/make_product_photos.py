"""Draw Worn's synthetic jewelry product photos, deterministically, and write them into renderer/samples.

Each piece is drawn procedurally (OpenCV + numpy, 3× supersampled): metal with gradients and specular
highlights, faceted stones, chains whose wire is thinner than 3 px, a soft shadow on the backdrop. The
drawing functions also return the true alpha of the piece, which the cutout tests compare against.

    python scripts/make_product_photos.py            # rewrite renderer/samples/*.png + products.json
    python scripts/make_product_photos.py --check    # fail if the committed files differ
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

SS = 3  # supersampling factor: draw at 3× and area-average, for honest partial alpha on thin wire
SAMPLES = Path(__file__).resolve().parent.parent / "renderer" / "samples"

GOLD = ((92, 62, 18), (196, 150, 62), (236, 206, 128), (255, 246, 214))  # shadow, body, light, specular
SILVER = ((70, 72, 78), (168, 171, 178), (216, 219, 225), (252, 252, 255))
ROSE = ((104, 58, 48), (204, 140, 118), (236, 186, 166), (255, 240, 232))


class Canvas:
    """An RGBA drawing surface at SS× resolution, painted with OpenCV primitives one small box at a time."""

    def __init__(self, w: int, h: int) -> None:
        self.w, self.h = w, h
        self.rgb = np.zeros((h * SS, w * SS, 3), np.float32)
        self.a = np.zeros((h * SS, w * SS), np.float32)

    def _box(self, pts: np.ndarray, pad: float) -> tuple[int, int, int, int]:
        """Return the SS-resolution box (x0, y0, x1, y1) around `pts` (1× coordinates) plus `pad`."""
        x0 = max(0, math.floor((pts[:, 0].min() - pad) * SS))
        y0 = max(0, math.floor((pts[:, 1].min() - pad) * SS))
        x1 = min(self.w * SS, math.ceil((pts[:, 0].max() + pad) * SS) + 1)
        y1 = min(self.h * SS, math.ceil((pts[:, 1].max() + pad) * SS) + 1)
        return x0, y0, max(x0 + 1, x1), max(y0 + 1, y1)

    def _mask(self, box: tuple[int, int, int, int], draw: Callable[[np.ndarray, int, int], None]) -> Mask:
        x0, y0, x1, y1 = box
        m = np.zeros((y1 - y0, x1 - x0), np.uint8)
        draw(m, x0, y0)
        return Mask(m.astype(np.float32) / 255, box)

    def paint(self, mask: Mask, colour: tuple[float, float, float] | np.ndarray) -> None:
        """Paint `colour` (RGB, or a full-canvas H×W×3 field) where `mask` covers."""
        x0, y0, x1, y1 = mask.box
        m = mask.m[:, :, None]
        if callable(colour):  # a shading function of (x, y) in 1× coordinates
            ys, xs = np.mgrid[y0:y1, x0:x1].astype(np.float32) / SS
            col = np.asarray(colour(xs, ys), np.float32)
        else:
            col = np.asarray(colour, np.float32)
        self.rgb[y0:y1, x0:x1] = self.rgb[y0:y1, x0:x1] * (1 - m) + col * m
        self.a[y0:y1, x0:x1] = np.maximum(self.a[y0:y1, x0:x1], m[:, :, 0])

    def erase(self, mask: Mask) -> None:
        """Cut `mask` out of the piece (a ring's hole)."""
        x0, y0, x1, y1 = mask.box
        self.a[y0:y1, x0:x1] *= 1.0 - mask.m

    def ellipse(
        self,
        cx: float,
        cy: float,
        ax: float,
        ay: float,
        angle: float,
        colour,
        thick: float = -1,
        start: float = 0,
        end: float = 360,
    ) -> Mask:
        r = max(ax, ay) + max(thick, 0) + 2
        box = self._box(np.array([[cx - r, cy - r], [cx + r, cy + r]]), 1)
        t = -1 if thick < 0 else max(1, round(thick * SS))

        def draw(m: np.ndarray, x0: int, y0: int) -> None:
            cv2.ellipse(
                m,
                (round(cx * SS) - x0, round(cy * SS) - y0),
                (max(1, round(ax * SS)), max(1, round(ay * SS))),
                angle,
                start,
                end,
                255,
                t,
                cv2.LINE_AA,
            )

        mk = self._mask(box, draw)
        if colour is not None:
            self.paint(mk, colour)
        return mk

    def line(self, x0: float, y0: float, x1: float, y1: float, colour, thick: float) -> Mask:
        box = self._box(np.array([[x0, y0], [x1, y1]]), thick + 2)

        def draw(m: np.ndarray, bx: int, by: int) -> None:
            cv2.line(
                m,
                (round(x0 * SS) - bx, round(y0 * SS) - by),
                (round(x1 * SS) - bx, round(y1 * SS) - by),
                255,
                max(1, round(thick * SS)),
                cv2.LINE_AA,
            )

        mk = self._mask(box, draw)
        if colour is not None:
            self.paint(mk, colour)
        return mk

    def poly(self, pts: np.ndarray, colour) -> Mask:
        pts = np.asarray(pts, np.float64)
        box = self._box(pts, 2)

        def draw(m: np.ndarray, bx: int, by: int) -> None:
            q = np.round(pts * SS - [bx, by]).astype(np.int32)
            cv2.fillPoly(m, [q], 255, cv2.LINE_AA)

        mk = self._mask(box, draw)
        if colour is not None:
            self.paint(mk, colour)
        return mk

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the piece at 1× as straight-alpha RGB float (0..255) and alpha (0..1)."""
        size = (self.w, self.h)
        a = cv2.resize(self.a, size, interpolation=cv2.INTER_AREA)
        premul = cv2.resize(self.rgb * self.a[:, :, None], size, interpolation=cv2.INTER_AREA)
        rgb = premul / np.maximum(a, 1e-6)[:, :, None]
        return np.clip(rgb, 0, 255), np.clip(a, 0, 1)


@dataclass(frozen=True)
class Mask:
    """Coverage 0..1 inside `box` (x0, y0, x1, y1) of the SS-resolution canvas."""

    m: np.ndarray
    box: tuple[int, int, int, int]

    def union(self, other: Mask) -> Mask:
        """Return the union of two masks over the box covering both."""
        x0, y0 = min(self.box[0], other.box[0]), min(self.box[1], other.box[1])
        x1, y1 = max(self.box[2], other.box[2]), max(self.box[3], other.box[3])
        out = np.zeros((y1 - y0, x1 - x0), np.float32)
        for mk in (self, other):
            bx0, by0, bx1, by1 = mk.box
            out[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0] = np.maximum(
                out[by0 - y0 : by1 - y0, bx0 - x0 : bx1 - x0], mk.m
            )
        return Mask(out, (x0, y0, x1, y1))

    def intersect(self, other: Mask) -> Mask:
        """Return where both masks cover, over this mask's box."""
        return self.minus(Mask(1.0 - other.m, other.box)).clip_to(other)

    def clip_to(self, other: Mask) -> Mask:
        """Return this mask zeroed outside `other`'s box."""
        out = np.zeros_like(self.m)
        x0, y0, x1, y1 = self.box
        ox0, oy0, ox1, oy1 = other.box
        ix0, iy0, ix1, iy1 = max(x0, ox0), max(y0, oy0), min(x1, ox1), min(y1, oy1)
        if ix0 < ix1 and iy0 < iy1:
            out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] = self.m[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0]
        return Mask(out, self.box)

    def minus(self, other: Mask) -> Mask:
        """Return this mask with `other` removed."""
        out = self.m.copy()
        x0, y0, x1, y1 = self.box
        ox0, oy0, ox1, oy1 = other.box
        ix0, iy0, ix1, iy1 = max(x0, ox0), max(y0, oy0), min(x1, ox1), min(y1, oy1)
        if ix0 < ix1 and iy0 < iy1:
            out[iy0 - y0 : iy1 - y0, ix0 - x0 : ix1 - x0] *= (
                1 - other.m[iy0 - oy0 : iy1 - oy0, ix0 - ox0 : ix1 - ox0]
            )
        return Mask(out, self.box)


def metal_ramp(metal, t: np.ndarray | float) -> np.ndarray:
    """Map shading t (0 dark … 1 specular) to a metal colour along its four-stop ramp."""
    stops = np.asarray(metal, np.float32)
    t = np.clip(np.asarray(t, np.float32), 0, 1) * 3
    i = np.minimum(np.floor(t).astype(int), 2)
    f = (t - i)[..., None]
    return stops[i] * (1 - f) + stops[i + 1] * f


def shaded(metal, cx: float, cy: float, r: float, light=(-0.6, -0.8), gain: float = 1.0):
    """Return a colour function of (x, y): bright toward the light (upper left), dark away from it."""

    def colour(xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
        d = ((xs - cx) * light[0] + (ys - cy) * light[1]) / max(r, 1e-3)
        return metal_ramp(metal, np.clip(0.45 + 0.35 * d, 0.05, 0.95) * gain)

    return colour


# --- pieces -------------------------------------------------------------------------------------


def chain_along(
    c: Canvas, pts: np.ndarray, metal, link_len: float, link_w: float, wire: float, closed: bool = True
) -> None:
    """Draw a cable chain along the polyline `pts`: flat oval links alternating with edge-on links."""
    seg = np.diff(np.vstack([pts, pts[:1]]) if closed else pts, axis=0)
    lengths = np.hypot(seg[:, 0], seg[:, 1])
    cum = np.concatenate([[0], np.cumsum(lengths)])
    total = cum[-1]
    n = int(total // (link_len * 0.78))
    for k in range(n):
        s = (k + 0.5) * total / n
        i = min(np.searchsorted(cum, s) - 1, len(seg) - 1)
        f = (s - cum[i]) / max(lengths[i], 1e-6)
        p = pts[i] + seg[i] * f
        ang = math.degrees(math.atan2(seg[i, 1], seg[i, 0]))
        if k % 2 == 0:  # flat link: an oval ring of wire, dark at its rims, lit on its upper-left arc
            c.ellipse(p[0], p[1], link_len / 2, link_w / 2, ang, metal_ramp(metal, 0.12), wire)
            c.ellipse(p[0], p[1], link_len / 2, link_w / 2, ang, metal_ramp(metal, 0.38), wire * 0.6)
            c.ellipse(
                p[0], p[1], link_len / 2, link_w / 2, ang, metal_ramp(metal, 0.9), wire * 0.45, 180, 300
            )
        else:  # edge-on link: a short bar with a bright ridge
            d = np.array([math.cos(math.radians(ang)), math.sin(math.radians(ang))]) * link_len / 2
            c.line(*(p - d), *(p + d), metal_ramp(metal, 0.15), wire * 1.25)
            c.line(*(p - d * 0.9), *(p + d * 0.9), metal_ramp(metal, 0.45), wire * 0.8)
            c.line(*(p - d * 0.7), *(p + d * 0.7), metal_ramp(metal, 0.95), wire * 0.4)


def faceted_stone(
    c: Canvas,
    cx: float,
    cy: float,
    rx: float,
    ry: float,
    hue: tuple[int, int, int],
    facets: int = 16,
    seed: int = 1,
    angle: float = 0.0,
) -> np.ndarray:
    """Draw a faceted stone (crown facets around a table) and return its mask."""
    rng = np.random.default_rng(seed)
    ca, sa = math.cos(math.radians(angle)), math.sin(math.radians(angle))

    def pt(r1: float, r2: float, th: float) -> tuple[float, float]:
        x, y = r1 * math.cos(th), r2 * math.sin(th)
        return cx + x * ca - y * sa, cy + x * sa + y * ca

    mask = c.poly(np.array([pt(rx, ry, t) for t in np.linspace(0, 2 * math.pi, 64)]), np.array(hue) * 0.55)
    base = np.asarray(hue, np.float32)
    for k in range(facets):
        t0, t1 = 2 * math.pi * k / facets, 2 * math.pi * (k + 1) / facets
        tm = (t0 + t1) / 2
        lum = 0.45 + 0.55 * rng.random()
        outer = [pt(rx, ry, t0), pt(rx, ry, t1), pt(rx * 0.55, ry * 0.55, tm)]
        c.poly(np.array(outer), np.clip(base * lum + 255 * max(0, lum - 0.85), 0, 255))
        inner = [
            pt(rx * 0.55, ry * 0.55, tm),
            pt(rx * 0.55, ry * 0.55, tm + 2 * math.pi / facets),
            pt(rx, ry, t1),
        ]
        c.poly(np.array(inner), np.clip(base * (0.35 + 0.5 * rng.random()), 0, 255))
    table = np.array([pt(rx * 0.5, ry * 0.5, t + math.pi / 8) for t in np.linspace(0, 2 * math.pi, 9)[:-1]])
    c.poly(table, np.clip(base * 0.95 + 30, 0, 255))
    for k in range(3):  # specular sparkles: near-white stars on the table and crown
        th = 2.3 + k * 1.9
        sx, sy = pt(rx * (0.25 + 0.2 * k), ry * (0.25 + 0.2 * k), th)
        c.ellipse(sx, sy, max(0.8, rx * 0.09), max(0.8, rx * 0.09), 0, (255, 255, 255))
        c.line(sx - rx * 0.2, sy, sx + rx * 0.2, sy, (255, 255, 250), max(0.5, rx * 0.03))
        c.line(sx, sy - rx * 0.2, sx, sy + rx * 0.2, (255, 255, 250), max(0.5, rx * 0.03))
    return mask


def pendant_necklace(w: int = 1400, h: int = 1400, chain_mm: float = 450.0) -> tuple[Canvas, float]:
    """A cable chain laid flat as a closed loop, a sapphire pendant in a gold bezel at the bottom."""
    c = Canvas(w, h)
    # Loop shape: an oval, a little pointed toward the pendant; scaled so its length is chain_mm.
    th = np.linspace(0, 2 * math.pi, 2000, endpoint=False)
    shape = np.stack([np.cos(th), 1.12 * np.sin(th) + 0.10 * np.sin(th) ** 3], axis=1)
    per = np.sum(np.hypot(*np.diff(np.vstack([shape, shape[:1]]), axis=0).T))
    loop_px = 0.66 * w * math.pi  # the loop about two thirds of the frame across
    scale = loop_px / per
    px_per_mm = loop_px / chain_mm
    pts = shape * scale + np.array([w / 2, h * 0.45])
    mm = px_per_mm
    chain_along(c, pts, GOLD, link_len=1.9 * mm, link_w=1.25 * mm, wire=0.32 * mm)
    # Clasp at the top: a spring ring and a tag.
    top = pts[np.argmin(pts[:, 1])]
    c.ellipse(top[0], top[1], 2.6 * mm, 2.6 * mm, 0, metal_ramp(GOLD, 0.5), 0.45 * mm)
    c.ellipse(top[0], top[1], 2.6 * mm, 2.6 * mm, 0, metal_ramp(GOLD, 0.95), 0.2 * mm, 190, 280)
    c.ellipse(top[0] + 5.5 * mm, top[1], 2.6 * mm, 1.3 * mm, 0, metal_ramp(GOLD, 0.6), -1)
    # Pendant: bail, bezel, stone, hanging from the lowest point of the loop.
    bottom = pts[np.argmax(pts[:, 1])]
    bx, by = bottom[0], bottom[1]
    c.ellipse(bx, by + 1.6 * mm, 1.4 * mm, 2.0 * mm, 0, metal_ramp(GOLD, 0.55), 0.55 * mm)
    pcx, pcy = bx, by + 3.6 * mm + 8.0 * mm
    c.ellipse(pcx, pcy, 6.6 * mm, 8.6 * mm, 0, shaded(GOLD, pcx, pcy, 9.0 * mm))
    c.ellipse(pcx, pcy, 6.6 * mm, 8.6 * mm, 0, metal_ramp(GOLD, 0.18), 0.35 * mm)
    faceted_stone(c, pcx, pcy, 5.3 * mm, 7.2 * mm, (30, 64, 178), facets=18, seed=7)
    return c, px_per_mm


def stud_earrings(w: int = 1000, h: int = 620, stud_mm: float = 6.0) -> tuple[Canvas, float]:
    """A pair of round white-sapphire studs in four-prong gold settings, seen from the front."""
    c = Canvas(w, h)
    mm = 210 / stud_mm  # each stud face about 210 px across
    for i, cx in enumerate((w * 0.29, w * 0.71)):
        cy = h * 0.5
        r = stud_mm / 2 / 1.06 * mm  # the setting's rim, not just the stone, is stud_mm across
        c.ellipse(cx, cy, r * 1.06, r * 1.06, 0, shaded(GOLD, cx, cy, r * 1.1, gain=0.8))
        faceted_stone(c, cx, cy, r * 0.97, r * 0.97, (214, 222, 236), facets=16, seed=11 + i)
        for k in range(4):
            a = math.radians(45 + 90 * k)
            px, py = cx + math.cos(a) * r * 0.93, cy + math.sin(a) * r * 0.93
            c.ellipse(px, py, 0.55 * mm, 0.75 * mm, math.degrees(a) + 90, metal_ramp(GOLD, 0.45), -1)
            c.ellipse(px - 0.12 * mm, py - 0.15 * mm, 0.22 * mm, 0.3 * mm, 0, metal_ramp(GOLD, 0.97), -1)
    return c, mm


def drop_earrings(w: int = 1000, h: int = 1000, drop_mm: float = 35.0) -> tuple[Canvas, float]:
    """A pair of drop earrings: a fish-hook wire, a short chain and a teardrop garnet in a bezel."""
    c = Canvas(w, h)
    mm = (h * 0.78) / drop_mm
    for i, cx in enumerate((w * 0.3, w * 0.7)):
        top = h * 0.11
        # fish hook: an arc over the top and a tail behind
        c.ellipse(
            cx + 2.5 * mm, top + 3.5 * mm, 3.0 * mm, 3.5 * mm, 0, metal_ramp(GOLD, 0.55), 0.5 * mm, 180, 360
        )
        c.line(cx + 5.5 * mm, top + 3.5 * mm, cx + 6.0 * mm, top + 12 * mm, metal_ramp(GOLD, 0.5), 0.5 * mm)
        c.ellipse(
            cx + 2.5 * mm, top + 3.5 * mm, 3.0 * mm, 3.5 * mm, 0, metal_ramp(GOLD, 0.95), 0.2 * mm, 200, 260
        )
        c.ellipse(cx, top + 4.0 * mm, 0.9 * mm, 0.9 * mm, 0, metal_ramp(GOLD, 0.7), -1)
        pts = np.array([[cx, top + 4.5 * mm], [cx, top + 14.0 * mm]])
        chain_along(c, pts, GOLD, link_len=1.4 * mm, link_w=0.95 * mm, wire=0.25 * mm, closed=False)
        gy = top + 14.0 * mm + 10.5 * mm  # the teardrop's tip ends drop_mm below the hook's top
        tear = np.array(
            [
                (cx + 7.2 * mm * math.sin(t) * (0.55 + 0.45 * math.sin(t / 2)), gy + 10.5 * mm * -math.cos(t))
                for t in np.linspace(0, 2 * math.pi, 80)
            ]
        )
        c.poly(tear, shaded(GOLD, cx, gy, 10 * mm))
        inner = (tear - [cx, gy]) * 0.84 + [cx, gy + 0.4 * mm]
        c.poly(inner, (120, 14, 30))
        faceted_stone(c, cx, gy + 1.6 * mm, 5.0 * mm, 6.8 * mm, (150, 18, 40), facets=14, seed=21 + i)
        c.ellipse(cx, top + 14.0 * mm, 1.0 * mm, 1.3 * mm, 0, metal_ramp(GOLD, 0.6), 0.45 * mm)
    return c, mm


def solitaire_ring(w: int = 1000, h: int = 1000, inner_mm: float = 17.35) -> tuple[Canvas, float]:
    """A gold solitaire at three-quarter view: the band as a tilted ring, a brilliant in six prongs."""
    c = Canvas(w, h)
    mm = 470 / inner_mm  # the hole about 470 px across
    cx, cy = w / 2, h * 0.6
    ri = inner_mm / 2 * mm
    band_t, band_w = 1.7 * mm, 2.4 * mm  # metal thickness, band width along the finger
    ro = ri + band_t
    tilt = 0.42  # minor/major axis ratio of the 3/4 view
    depth = band_w * 0.6  # how far the far rim sits above the near rim in this view
    outer = c.ellipse(cx, cy, ro, ro * tilt, 0, None)
    for k in np.linspace(0, depth, 7)[1:]:
        outer = outer.union(c.ellipse(cx, cy + k, ro, ro * tilt, 0, None))
    c.paint(outer, shaded(GOLD, cx, cy - ro * 0.3, ro))
    inner_far = c.ellipse(cx, cy, ri, ri * tilt, 0, None)
    inner_near = c.ellipse(cx, cy + depth, ri, ri * tilt, 0, None)
    c.paint(inner_far, shaded(GOLD, cx, cy + ri, ri, gain=0.55))  # the inside of the band, in shade
    c.erase(inner_far.intersect(inner_near))
    # rim highlight along the front of the band
    c.ellipse(
        cx,
        cy + band_w * 0.6,
        ro - 0.3 * mm,
        ro * tilt - 0.3 * mm,
        0,
        metal_ramp(GOLD, 0.97),
        0.35 * mm,
        20,
        160,
    )
    c.ellipse(cx, cy, ro, ro * tilt, 0, metal_ramp(GOLD, 0.9), 0.3 * mm, 200, 340)
    # head: a 6.5 mm brilliant held by six prongs that rise from a basket on the band
    sx, sy = cx, cy - ro * tilt - 3.4 * mm
    base_y = cy - ro * tilt + 0.6 * mm

    def prong(k: int, shade: float) -> None:
        a = math.radians(200 + 28 * k)
        c.line(
            sx + math.cos(a) * 1.3 * mm,
            base_y,
            sx + math.cos(a) * 3.25 * mm,
            sy - 0.9 * mm,
            metal_ramp(GOLD, shade),
            0.6 * mm,
        )

    for k in (1, 4):  # back prongs, behind the stone
        prong(k, 0.35)
    c.poly(
        np.array(
            [
                (sx - 2.2 * mm, base_y - 1.6 * mm),
                (sx + 2.2 * mm, base_y - 1.6 * mm),
                (sx + 1.3 * mm, base_y),
                (sx - 1.3 * mm, base_y),
            ]
        ),
        metal_ramp(GOLD, 0.45),
    )
    pav = np.array([(sx - 3.3 * mm, sy), (sx + 3.3 * mm, sy), (sx, sy + 3.6 * mm)])
    c.poly(pav, (150, 160, 175))
    c.poly(np.array([(sx - 3.3 * mm, sy), (sx, sy + 3.6 * mm), (sx - 1.0 * mm, sy)]), (215, 222, 235))
    c.poly(np.array([(sx + 3.3 * mm, sy), (sx, sy + 3.6 * mm), (sx + 1.4 * mm, sy)]), (110, 118, 135))
    faceted_stone(c, sx, sy - 0.5 * mm, 3.3 * mm, 1.45 * mm, (222, 228, 240), facets=16, seed=31)
    for k in (0, 2, 3, 5):  # front prongs, over the stone, with bright tips
        prong(k, 0.6)
        a = math.radians(200 + 28 * k)
        c.ellipse(
            sx + math.cos(a) * 3.2 * mm, sy - 1.0 * mm, 0.42 * mm, 0.55 * mm, 0, metal_ramp(GOLD, 0.85), -1
        )
    return c, mm


def chain_bracelet(w: int = 1000, h: int = 1000, length_mm: float = 177.8) -> tuple[Canvas, float]:
    """A silver curb-style chain bracelet laid flat as a loop, with a lobster clasp and a tag."""
    c = Canvas(w, h)
    th = np.linspace(0, 2 * math.pi, 1500, endpoint=False)
    shape = np.stack([np.cos(th), 0.93 * np.sin(th)], axis=1)
    per = np.sum(np.hypot(*np.diff(np.vstack([shape, shape[:1]]), axis=0).T))
    loop_px = 0.72 * w * math.pi
    px_per_mm = loop_px / length_mm
    pts = shape * (loop_px / per) + np.array([w / 2, h / 2])
    mm = px_per_mm
    chain_along(c, pts, SILVER, link_len=3.6 * mm, link_w=2.6 * mm, wire=0.6 * mm)
    right = pts[np.argmax(pts[:, 0])]
    c.ellipse(right[0], right[1], 2.0 * mm, 4.2 * mm, 0, metal_ramp(SILVER, 0.55), -1)
    c.ellipse(right[0] - 0.5 * mm, right[1] - 1.0 * mm, 0.6 * mm, 2.2 * mm, 0, metal_ramp(SILVER, 0.97), -1)
    c.ellipse(right[0], right[1] + 6.0 * mm, 2.2 * mm, 1.6 * mm, 0, metal_ramp(SILVER, 0.35), -1)
    return c, mm


# --- open chains: hung as a U or a V from their two ends ------------------------------------------


def _scaled_to(pts: np.ndarray, length: float, pivot: np.ndarray) -> np.ndarray:
    """Return the polyline scaled about `pivot` so that its length is `length`."""
    now = float(np.sum(np.hypot(*np.diff(pts, axis=0).T)))
    return pivot + (pts - pivot) * (length / now)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / max(float(np.hypot(*v)), 1e-9)


CLASP_MM = 12.0  # a lobster clasp and its jump ring, along the chain, tip to the last link
TAG_MM = 7.5  # a jump ring and a maker's tag at the other end


def open_chain_ends(c: Canvas, pts: np.ndarray, metal, mm: float) -> None:
    """Draw a lobster clasp beyond the polyline's first point and a ring with a tag beyond its last."""
    t0 = _unit(pts[0] - pts[1])  # pointing out of the chain at its first end
    ang0 = math.degrees(math.atan2(t0[1], t0[0]))
    ring0 = pts[0] + t0 * 1.0 * mm
    c.ellipse(*ring0, 1.1 * mm, 1.1 * mm, 0, metal_ramp(metal, 0.45), 0.4 * mm)
    body = pts[0] + t0 * 6.6 * mm
    c.ellipse(*body, 4.6 * mm, 2.1 * mm, ang0, shaded(metal, *body, 4.6 * mm))
    c.ellipse(*(body + t0 * 1.2 * mm), 2.2 * mm, 0.8 * mm, ang0, metal_ramp(metal, 0.12))  # the gate
    c.ellipse(*(body - t0 * 1.4 * mm), 1.6 * mm, 0.5 * mm, ang0, metal_ramp(metal, 0.95))  # a highlight
    c.ellipse(*(pts[0] + t0 * 11.4 * mm), 0.7 * mm, 0.7 * mm, 0, metal_ramp(metal, 0.6))  # the hook's tip
    t1 = _unit(pts[-1] - pts[-2])
    ang1 = math.degrees(math.atan2(t1[1], t1[0]))
    ring1 = pts[-1] + t1 * 1.3 * mm
    c.ellipse(*ring1, 1.4 * mm, 1.4 * mm, 0, metal_ramp(metal, 0.5), 0.45 * mm)
    tag = pts[-1] + t1 * 5.0 * mm
    c.ellipse(*tag, 2.5 * mm, 1.6 * mm, ang1, shaded(metal, *tag, 2.6 * mm))


def _v_line(half_w: float, slope: float, corner: float, bow: float, n: int = 1600) -> np.ndarray:
    """Return a V of chain (x right, y down, point at the origin): straight arms sagging a little."""
    x = np.linspace(-half_w, half_w, n)
    rise = slope * (np.sqrt(x * x + corner * corner) - corner)  # a hyperbola: a V with a rounded point
    rise -= bow * half_w * np.sin(np.pi * np.abs(x) / half_w)  # each arm sags between its supports
    return np.stack([x, -rise], axis=1)


def pendant_necklace_v(w: int = 1000, h: int = 980, chain_mm: float = 457.2) -> tuple[Canvas, float]:
    """A fine gold cable chain hung open as a V from its two ends, a pear emerald at its point."""
    c = Canvas(w, h)
    mm = 3.2
    line = _v_line(1.0, 2.1, 0.03, 0.012)
    chain_px = chain_mm * mm - (CLASP_MM + TAG_MM) * mm
    vertex = np.array([w / 2, h * 0.79])
    pts = _scaled_to(line, chain_px, np.zeros(2)) + vertex
    chain_along(c, pts, GOLD, link_len=2.6 * mm, link_w=1.7 * mm, wire=0.45 * mm, closed=False)
    open_chain_ends(c, pts, GOLD, mm)
    # Bail around the chain at the point, then a pear emerald in a gold bezel, point up.
    bx, by = vertex
    c.ellipse(bx, by + 1.7 * mm, 1.3 * mm, 2.1 * mm, 0, metal_ramp(GOLD, 0.55), 0.6 * mm)
    gy = by + 3.8 * mm + 9.5 * mm
    pear = np.array(
        [
            (bx + 6.4 * mm * math.sin(t) * (0.55 + 0.45 * math.sin(t / 2)), gy + 9.5 * mm * -math.cos(t))
            for t in np.linspace(0, 2 * math.pi, 90)
        ]
    )
    c.poly(pear, shaded(GOLD, bx, gy, 10 * mm))
    c.poly((pear - [bx, gy]) * 0.86 + [bx, gy + 0.5 * mm], (10, 70, 40))
    faceted_stone(c, bx, gy + 1.9 * mm, 4.6 * mm, 6.3 * mm, (24, 138, 84), facets=14, seed=41)
    return c, mm


def _catenary_line(half_w: float, length: float, n: int = 1600) -> np.ndarray:
    """Return a chain of `length` hung between (±half_w, 0) as a catenary (y down), lowest point last."""
    lo, hi = half_w / 50, half_w * 1e4
    for _ in range(200):  # 2a·sinh(half_w/a) = length
        a = math.sqrt(lo * hi)
        if 2 * a * math.sinh(min(half_w / a, 700)) > length:
            lo = a
        else:
            hi = a
    x = np.linspace(-half_w, half_w, n)
    return np.stack([x, a * (np.cosh(half_w / a) - np.cosh(x / a))], axis=1)


def chain_necklace_u(w: int = 1100, h: int = 980, chain_mm: float = 508.0) -> tuple[Canvas, float]:
    """A rose-gold cable chain, no pendant, hung open as a U between its two ends."""
    c = Canvas(w, h)
    mm = 3.4
    chain_px = chain_mm * mm - (CLASP_MM + TAG_MM) * mm
    pts = _catenary_line(0.36 * w, chain_px) + np.array([w / 2, h * 0.12])
    chain_along(c, pts, ROSE, link_len=4.0 * mm, link_w=3.2 * mm, wire=0.9 * mm, closed=False)
    open_chain_ends(c, pts, ROSE, mm)
    return c, mm


# --- chains no one can drape (the renderer's refusals are tested on them; not shipped) -------------


def crossed_chain(w: int = 900, h: int = 900) -> tuple[Canvas, float]:
    """A chain whose two arms cross above a loop, like a lariat: a nodal cubic hung loop down."""
    c = Canvas(w, h)
    mm = 2.8
    t = np.linspace(-1.4, 1.4, 1500)
    x, y = t * t - 1, t * (t * t - 1)  # crosses itself at t = ±1
    pts = np.stack([w / 2 + y * 0.19 * w, h * 0.42 - x * 0.32 * h], axis=1)
    chain_along(c, pts, GOLD, link_len=3.0 * mm, link_w=2.2 * mm, wire=0.6 * mm, closed=False)
    open_chain_ends(c, pts, GOLD, mm)
    return c, mm


def tangled_chain(w: int = 900, h: int = 900) -> tuple[Canvas, float]:
    """A chain dropped in a heap: a smooth scribble that crosses itself again and again."""
    c = Canvas(w, h)
    mm = 2.8
    t = np.linspace(0.0, 1.85 * math.pi, 3000)
    x = np.sin(3 * t) + 0.45 * np.sin(7 * t + 1.0)
    y = np.cos(2 * t) + 0.4 * np.cos(5 * t + 0.5)
    pts = np.stack([w / 2 + x * 0.26 * w, h / 2 + y * 0.26 * h], axis=1)
    chain_along(c, pts, SILVER, link_len=3.0 * mm, link_w=2.2 * mm, wire=0.6 * mm, closed=False)
    open_chain_ends(c, pts, SILVER, mm)
    return c, mm


def doubled_chain(w: int = 900, h: int = 800) -> tuple[Canvas, float]:
    """A chain hung as a U whose one end is folded back down along its own arm, strands touching."""
    c = Canvas(w, h)
    mm = 2.8
    pts = _catenary_line(0.3 * w, 1.9 * h) + np.array([w / 2, h * 0.12])
    top = pts[-1]
    arm = pts[::-1][: len(pts) // 3]  # down the right arm from its top, a third of the chain
    back = arm + _unit(np.array([1.0, 0.15])) * 2.0 * mm  # alongside it, links touching
    pts = np.vstack([pts, top + np.array([1.2, -2.5]) * mm, back])
    chain_along(c, pts, GOLD, link_len=3.0 * mm, link_w=2.2 * mm, wire=0.6 * mm, closed=False)
    open_chain_ends(c, pts, GOLD, mm)
    return c, mm


def two_chains(w: int = 1000, h: int = 700) -> tuple[Canvas, float]:
    """Two chains hung side by side as Us (a set, or a layered necklace photographed apart)."""
    c = Canvas(w, h)
    mm = 2.8
    for cx in (w * 0.27, w * 0.73):
        pts = _catenary_line(0.18 * w, 0.9 * h) + np.array([cx, h * 0.15])
        chain_along(c, pts, GOLD, link_len=3.0 * mm, link_w=2.2 * mm, wire=0.6 * mm, closed=False)
        open_chain_ends(c, pts, GOLD, mm)
    return c, mm


PIECES: dict[str, tuple[Callable[[], tuple[Canvas, float]], str, str, str]] = {
    # name: (draw, kind, stated size, title)
    "pendant_necklace": (pendant_necklace, "pendant", "45 cm", "Sapphire drop pendant on a fine cable chain"),
    "stud_earrings": (stud_earrings, "earrings", "6 mm", "White sapphire studs, four-prong gold"),
    "drop_earrings": (drop_earrings, "earrings", "3.5 cm", "Garnet teardrop earrings"),
    "solitaire_ring": (solitaire_ring, "ring", "US 7", "Gold solitaire ring"),
    "chain_bracelet": (chain_bracelet, "bracelet", "7 in", "Silver curb chain bracelet"),
    "pendant_necklace_v": (
        pendant_necklace_v,
        "pendant",
        "18 in",
        "Pear emerald pendant on a gold cable chain, hung as a V",
    ),
    "chain_necklace_u": (chain_necklace_u, "necklace", "20 in", "Rose gold cable chain, hung as a U"),
}

# Drawn for the renderer's tests only (what it must refuse), never shipped.
TEST_PIECES: dict[str, Callable[[], tuple[Canvas, float]]] = {
    "crossed_chain": crossed_chain,
    "tangled_chain": tangled_chain,
    "two_chains": two_chains,
    "doubled_chain": doubled_chain,
}

BACKGROUNDS = ("white", "grey", "black", "gradient")


def backdrop(w: int, h: int, kind: str) -> np.ndarray:
    """Return a product-photo backdrop: a sweep with a gentle vignette, never noisy."""
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    r = np.hypot((xs - w / 2) / w, (ys - h / 2) / h)
    vignette = 1.0 - 0.05 * r**2
    if kind == "white":
        base = np.array([247, 246, 244], np.float32)
        return base * vignette[:, :, None]
    if kind == "grey":
        return np.array([176, 177, 180], np.float32) * vignette[:, :, None]
    if kind == "black":
        return np.array([22, 22, 24], np.float32) + 10 * (1 - r)[:, :, None]
    if kind == "gradient":
        t = (ys / h)[:, :, None]
        return np.array([238, 232, 224], np.float32) * (1 - t) + np.array([172, 178, 190], np.float32) * t
    raise ValueError(f"unknown backdrop {kind!r}; expected one of {BACKGROUNDS}")


def photograph(name: str, background: str = "white") -> tuple[np.ndarray, np.ndarray, float]:
    """Return (RGB uint8 photo, true alpha 0..1, px per mm) of sample `name` on `background`."""
    draw = PIECES[name][0] if name in PIECES else TEST_PIECES[name]
    canvas, px_per_mm = draw()
    fg, alpha = canvas.result()
    h, w = alpha.shape
    bg = backdrop(w, h, background)
    # Soft contact shadow: the piece's silhouette, offset down-right and blurred wide.
    sh = cv2.GaussianBlur(alpha, (0, 0), sigmaX=max(2.0, w / 130))
    m = np.float32([[1, 0, w / 220], [0, 1, h / 120]])
    sh = cv2.warpAffine(sh, m, (w, h))
    strength = 0.18 if background != "black" else 0.5
    bg = bg * (1 - strength * np.clip(sh * 1.6, 0, 1))[:, :, None]
    out = fg * alpha[:, :, None] + bg * (1 - alpha[:, :, None])
    return np.clip(out + 0.5, 0, 255).astype(np.uint8), alpha, px_per_mm


def _png(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "PNG", optimize=True)
    return buf.getvalue()


# Shipped variants: the demo shop seeds its catalogue from the white ones; the others show backdrops.
SHIPPED = [(n, "white") for n in PIECES] + [
    ("pendant_necklace", "gradient"),
    ("solitaire_ring", "black"),
    ("stud_earrings", "grey"),
    ("chain_necklace_u", "gradient"),
]


def build() -> dict[str, bytes]:
    """Return every shipped file name mapped to its bytes (PNG photos and products.json)."""
    files: dict[str, bytes] = {}
    catalogue = []
    for name, bg in SHIPPED:
        rgb, _, px_per_mm = photograph(name, bg)
        fname = f"{name}.png" if bg == "white" else f"{name}_{bg}.png"
        files[fname] = _png(rgb)
        _, kind, size, title = PIECES[name]
        catalogue.append(
            {
                "file": fname,
                "name": name,
                "title": title,
                "kind": kind,
                "size": size,
                "background": bg,
                "px_per_mm": round(px_per_mm, 3),
                "width": int(rgb.shape[1]),
                "height": int(rgb.shape[0]),
            }
        )
    files["products.json"] = (json.dumps({"products": catalogue}, indent=2) + "\n").encode()
    return files


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="compare with the committed files")
    parser.add_argument("--out", type=Path, default=SAMPLES)
    args = parser.parse_args(argv)
    files = build()
    if args.check:
        bad = [n for n, b in files.items() if not (args.out / n).exists() or (args.out / n).read_bytes() != b]
        for n in bad:
            print(f"differs: {n}")
        return 1 if bad else 0
    args.out.mkdir(parents=True, exist_ok=True)
    for n, b in files.items():
        (args.out / n).write_bytes(b)
        print(f"{n:36s} {len(b) / 1024:7.1f} KB  sha256 {hashlib.sha256(b).hexdigest()[:12]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
