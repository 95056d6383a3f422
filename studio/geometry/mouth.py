"""Fill the part of an opened mouth that the source photo never showed.

Warping alone would stretch the lips across the new opening. Where the target's inner-lip
polygon covers pixels that did not come from the source's own mouth opening (a photo's own teeth
are kept), a painter draws the interior (studio.synthesis.mouth_bank fits real teeth); without
one we paint a dark interior: the lips' own colour, much darker, deepest in the middle, with a
soft band of upper teeth. Either is blended in with soft edges.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import cv2
import numpy as np

from studio.face.masks import polygon_mask
from studio.face.mesh import INNER_LIPS, INNER_LOWER, INNER_UPPER, MOUTH_CORNERS, OUTER_LIPS, STABLE
from studio.geometry.procrustes import fit_similarity
from studio.geometry.warp import Warp

CHIN = 152
# The upper incisors' tips lie this far (x the mouth's width) below a relaxed upper lip (in a
# closed mouth, behind the lower lip): 2-3 mm at rest in young adults.
TEETH_SHOW = 0.045
# The lower incisors ride with the jaw, nearer its hinge than the chin: they drop this share of
# the chin's drop.
INCISOR_DROP = 0.85


@dataclass(frozen=True)
class Bite:
    """Where the teeth are in an edited mouth: they belong to the skull and the jaw, not to the
    lips. `line`: the upper teeth's tips, 11 points corner to corner (the region's pixels), where
    they were in the photo, moved with the head; `jaw`: how far (px) the jaw has dropped the
    lower teeth since the photo."""

    line: np.ndarray
    jaw: float


def bite_of(source: np.ndarray, target: np.ndarray, origin: tuple[int, int]) -> Bite:
    """The teeth of a face moved from `source` to `target` landmarks (photo pixels), in a region
    whose top left is `origin`."""
    upper, lower = source[INNER_LIPS[INNER_UPPER], :2], source[INNER_LIPS[INNER_LOWER], :2]
    width = float(np.linalg.norm(source[MOUTH_CORNERS[0], :2] - source[MOUTH_CORNERS[1], :2]))
    gap = np.clip(lower[:, 1] - upper[:, 1], 0, None)
    tips = upper + np.c_[np.zeros(11), np.full(11, TEETH_SHOW * width)]
    head = fit_similarity(source[STABLE, :2], target[STABLE, :2])
    # the jaw's drop: the chin's, along the mouth's down direction (square to the corners' line)
    across = target[MOUTH_CORNERS[1], :2] - target[MOUTH_CORNERS[0], :2]
    down = np.array([-across[1], across[0]]) / max(float(np.linalg.norm(across)), 1e-6)
    chin = float((target[CHIN, :2] - head.apply(source[CHIN:CHIN + 1, :2])[0]) @ down)
    # a photo's own open mouth has its jaw down already: its lower teeth lie by its lower lip
    already = max(0.0, float(np.median(gap)) - TEETH_SHOW * width) * head.scale
    return Bite(head.apply(tips) - np.asarray(origin, float), max(0.0, INCISOR_DROP * chin) + already)


# (opening mask HxW, the target's inner lips in the region's pixels, the photo's pixels, the
# photo's landmarks, where the teeth are) -> the interior, HxWx3 float: how a newly opened mouth
# is filled (studio.synthesis.mouth_bank: real teeth); without one, a shaded cavity is painted
MouthPainter = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Bite], np.ndarray]
# The photo's own mouth interior is kept in full where the warp stretches it at most 2x down the
# mouth (a smile made bigger keeps its own teeth), and not at all from 4x: 1/4 photo px per
# target px.
MIN_CARRIED_SCALE = 0.25


def fill_mouth(warped_roi: np.ndarray, warp: Warp, source: np.ndarray, target: np.ndarray,
               painter: MouthPainter | None = None, pixels: np.ndarray | None = None) -> np.ndarray:
    """Paint the newly opened mouth into `warped_roi` (the warp's output); returns it. `painter`
    (with the photo's `pixels`) draws the interior; without one, a shaded cavity."""
    points, target_points = source, target
    source, target = source[:, :2], target[:, :2]
    inner = target[INNER_LIPS]
    mouth_w = float(np.linalg.norm(target[MOUTH_CORNERS[0]] - target[MOUTH_CORNERS[1]]))
    pad = int(0.15 * mouth_w) + 3
    x0r, y0r, x1r, y1r = warp.roi
    bx0 = int(max(x0r, np.floor(inner[:, 0].min()) - pad))
    by0 = int(max(y0r, np.floor(inner[:, 1].min()) - pad))
    bx1 = int(min(x1r, np.ceil(inner[:, 0].max()) + pad))
    by1 = int(min(y1r, np.ceil(inner[:, 1].max()) + pad))
    if bx1 - bx0 < 3 or by1 - by0 < 3:
        return warped_roi
    shape = (by1 - by0, bx1 - bx0)
    opening = polygon_mask(inner, shape, (bx0, by0))
    if opening.sum() < 4.0:
        return warped_roi

    # Where the source's own opening lands after the warp: those pixels are real mouth interior.
    sx0, sy0 = np.floor(source[INNER_LIPS].min(axis=0)).astype(int) - 2
    sx1, sy1 = np.ceil(source[INNER_LIPS].max(axis=0)).astype(int) + 3
    sub_x = warp.map_x[by0 - y0r:by1 - y0r, bx0 - x0r:bx1 - x0r] - sx0
    sub_y = warp.map_y[by0 - y0r:by1 - y0r, bx0 - x0r:bx1 - x0r] - sy0
    src_open = polygon_mask(source[INNER_LIPS], (sy1 - sy0, sx1 - sx0), (sx0, sy0))
    # A closed mouth still rasterises as a thin line; erode it so only a real opening counts.
    thin = max(1, int(round(0.02 * mouth_w)))
    src_open = cv2.erode(src_open, np.ones((2 * thin + 1, 2 * thin + 1), np.uint8))
    carried = cv2.remap(src_open, sub_x, sub_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    # ... unless the warp stretches them to a smear: a slit the photo's lips left open, pulled
    # over a dropped jaw's opening, drew a pink column down the middle of the mouth
    stretch = np.abs(np.gradient(sub_y, axis=0))           # photo px per target px, down the mouth
    carried = carried * np.clip((stretch - MIN_CARRIED_SCALE) / MIN_CARRIED_SCALE, 0, 1)
    new = np.clip(opening - carried, 0, 1)
    if new.sum() < 4.0:
        return warped_roi

    region = warped_roi[by0 - y0r:by1 - y0r, bx0 - x0r:bx1 - x0r]
    rgb = region[:, :, :3].astype(np.float32)
    if painter is not None and pixels is not None:
        interior = painter(opening, inner - np.array([bx0, by0]), pixels, points, bite_of(points, target_points, (bx0, by0)))
    else:
        outer = polygon_mask(target[OUTER_LIPS], shape, (bx0, by0))
        lips = np.clip(outer - opening, 0, 1)
        lip_colour = (rgb * lips[:, :, None]).sum(axis=(0, 1)) / max(lips.sum(), 1.0)
        around = outer < 0.05
        skin = np.median(rgb[around], axis=0) if around.sum() > 10 else lip_colour
        interior = _paint_interior(opening, lip_colour, skin, mouth_w)

    # Soft on both sides of the lip edge (no multiply by the hard polygon after blurring): the
    # inner lip edge reads as shadow rather than a cut-out, and the dark line of the closed
    # mouth, stretched along the lips by the warp, disappears under it.
    alpha = cv2.GaussianBlur(new, (0, 0), max(0.8, 0.012 * mouth_w))
    alpha = alpha[:, :, None]
    region[:, :, :3] = np.clip(rgb * (1 - alpha) + interior * alpha, 0, 255).round().astype(region.dtype)
    return warped_roi


def _paint_interior(opening: np.ndarray, lip_colour: np.ndarray, skin: np.ndarray,
                    mouth_w: float) -> np.ndarray:
    """A mouth interior for the opening mask: a dark cavity, and upper teeth below the upper lip."""
    h, w = opening.shape
    inside = opening > 0.5
    rows = np.arange(h, dtype=np.float32)[:, None]
    has = inside.any(axis=0)
    top = np.where(has, inside.argmax(axis=0), 0).astype(np.float32)
    bottom = np.where(has, h - 1 - inside[::-1].argmax(axis=0), 0).astype(np.float32)
    gap = np.maximum(bottom - top, 1.0)
    below_top = rows - top[None, :]                      # pixels below the upper lip's edge
    rel = np.clip(below_top / gap[None, :], 0, 1)        # 0 at the upper lip, 1 at the lower

    # Cavity: dark red-brown (a mix of the lips' colour and a fixed mouth tone), darkest mid-way.
    base = 0.5 * (0.35 * lip_colour) + 0.5 * np.array([62.0, 26.0, 26.0])
    cavity = base[None, None, :] * (0.55 + 0.45 * np.abs(rel - 0.5)[:, :, None] * 2)

    # Upper teeth: a band under the upper lip, at most ~10% of the mouth width tall, fading
    # towards the mouth corners where the cheeks hide them.
    cols = np.arange(w, dtype=np.float32)
    xs = cols[has] if has.any() else cols
    centre, half = (xs.min() + xs.max()) / 2, max((xs.max() - xs.min()) / 2, 1.0)
    across = np.clip(1 - np.abs(cols - centre) / half, 0, 1) ** 0.6
    teeth_h = np.minimum(0.5 * gap, 0.10 * mouth_w)
    band = np.clip((teeth_h[None, :] - below_top) / np.maximum(0.25 * teeth_h[None, :], 1.0), 0, 1)
    teeth_alpha = band * across[None, :] * (gap[None, :] > 0.04 * mouth_w)
    shade = 0.62 + 0.38 * np.clip(below_top / np.maximum(0.35 * teeth_h[None, :], 1.0), 0, 1)  # lip shadow
    # Teeth take the photo's light: about as bright as the skin around the mouth, with less colour.
    luma = float(skin @ np.array([0.299, 0.587, 0.114]))
    teeth = np.clip(0.2 * skin + 0.8 * min(1.25 * luma, 235.0) * np.array([1.0, 0.98, 0.93]), 0, 240)
    teeth = teeth[None, None, :] * (shade * (0.75 + 0.25 * across[None, :]))[:, :, None]
    interior = cavity * (1 - teeth_alpha[:, :, None]) + teeth * teeth_alpha[:, :, None]
    return cv2.GaussianBlur(interior.astype(np.float32), (0, 0), max(0.6, 0.01 * mouth_w))
