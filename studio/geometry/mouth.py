"""Fill the part of an opened mouth that the source photo never showed.

Warping alone would stretch the lips across the new opening. A photo's own open mouth (a smile
showing its teeth) is kept, its teeth held by the skull and the jaw (`own_teeth`: the upper part
moved with the head, the lower part with the head and the jaw's drop), never stretched with the
lips. Where the target's inner-lip polygon covers what the photo never showed, a painter draws
the interior (studio.synthesis.mouth_bank fits real teeth); without one we paint a dark
interior: the lips' own colour, much darker, deepest in the middle, with a soft band of upper
teeth. Either is blended in with soft edges.
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


def _head_and_chin(source: np.ndarray, target: np.ndarray):
    """The head's motion from `source` to `target` (a similarity on the stable points), the
    mouth's down direction in the target (square to the corners' line), and how far the chin
    dropped along it beyond the head's motion (px)."""
    head = fit_similarity(source[STABLE, :2], target[STABLE, :2])
    across = target[MOUTH_CORNERS[1], :2] - target[MOUTH_CORNERS[0], :2]
    down = np.array([-across[1], across[0]]) / max(float(np.linalg.norm(across)), 1e-6)
    return head, down, float((target[CHIN, :2] - head.apply(source[CHIN:CHIN + 1, :2])[0]) @ down)


def bite_of(source: np.ndarray, target: np.ndarray, origin: tuple[int, int]) -> Bite:
    """The teeth of a face moved from `source` to `target` landmarks (photo pixels), in a region
    whose top left is `origin`."""
    upper, lower = source[INNER_LIPS[INNER_UPPER], :2], source[INNER_LIPS[INNER_LOWER], :2]
    width = float(np.linalg.norm(source[MOUTH_CORNERS[0], :2] - source[MOUTH_CORNERS[1], :2]))
    gap = np.clip(lower[:, 1] - upper[:, 1], 0, None)
    tips = upper + np.c_[np.zeros(11), np.full(11, TEETH_SHOW * width)]
    head, _, chin = _head_and_chin(source, target)
    # a photo's own open mouth has its jaw down already: its lower teeth lie by its lower lip
    already = max(0.0, float(np.median(gap)) - TEETH_SHOW * width) * head.scale
    return Bite(head.apply(tips) - np.asarray(origin, float), max(0.0, INCISOR_DROP * chin) + already)


# Of a photo's own open mouth, the part nearer the upper lip holds its upper teeth (most of a
# smile's teeth; a smile's lower teeth show, if at all, by the lower lip): below it, the lower
# teeth, which ride with the jaw.
UPPER_SHARE = 0.7
# A photo's mouth open at least this much in its middle (x its width) has its inside kept (a smile
# showing its teeth: 0.10-0.23 on the London fixtures); a slit narrower than that shows the lips'
# edges and a dark line, which the painter draws better than a carried band.
OWN_FROM = 0.08
# Lips apart less than CLOSED_GAP (x the width) show a dark line; teeth come in over TEETH_FADE more.
CLOSED_GAP, TEETH_FADE = 0.03, 0.08


@dataclass(frozen=True)
class OwnTeeth:
    """Where each place of an edited mouth's region shows the photo's own mouth (photo pixels,
    float32 HxW maps): the upper part moved with the head, the lower part with the head and the
    jaw's drop, so the photo's teeth keep their size and the dark between the rows opens."""

    map_x: np.ndarray
    map_y: np.ndarray


def own_teeth(source: np.ndarray, target: np.ndarray, origin: tuple[int, int], shape: tuple[int, int]) -> OwnTeeth:
    """The maps for a region of `shape` whose top left is `origin` (photo pixels), of a face
    moved from `source` to `target` landmarks."""
    upper, lower = source[INNER_LIPS[INNER_UPPER], :2], source[INNER_LIPS[INNER_LOWER], :2]
    _, down, chin = _head_and_chin(source, target)
    jaw = max(0.0, INCISOR_DROP * chin)
    # edit -> photo fitted on its own (on a turned head, the forward fit's inverse lies a fraction
    # of a pixel off it)
    head = fit_similarity(target[STABLE, :2], source[STABLE, :2])
    h, w = shape
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
    here = np.stack([xs.ravel() + origin[0], ys.ravel() + origin[1]], axis=1)
    from_upper = head.apply(here).reshape(h, w, 2)
    from_lower = head.apply(here - jaw * down).reshape(h, w, 2)
    # the split between the rows in the photo, per column along its mouth
    order = np.argsort(upper[:, 0])
    split = upper[order, 1] + UPPER_SHARE * np.clip(lower[order, 1] - upper[order, 1], 0, None)

    def split_at(x):
        return np.interp(x, upper[order, 0], split)

    is_upper = from_upper[..., 1] <= split_at(from_upper[..., 0])
    is_lower = from_lower[..., 1] > split_at(from_lower[..., 0])
    # between the two (the jaw dropped): nowhere in the photo's mouth, left to the painter
    gone = np.array([-1e4, -1e4])
    chosen = np.where(is_upper[..., None], from_upper, np.where(is_lower[..., None], from_lower, gone))
    return OwnTeeth(chosen[..., 0].astype(np.float32), chosen[..., 1].astype(np.float32))


# (opening mask HxW, the target's inner lips in the region's pixels, the photo's pixels, the
# photo's landmarks, where the teeth are) -> the interior, HxWx3 float: how a newly opened mouth
# is filled (studio.synthesis.mouth_bank: real teeth); without one, a shaded cavity is painted
MouthPainter = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, Bite], np.ndarray]


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

    # The photo's own mouth interior, where it can be carried: its teeth held by the skull and the
    # jaw (OwnTeeth), not stretched with the lips (a smile made bigger drew its teeth twice as
    # tall, a mouth opened further smeared them into grey streaks).
    sx0, sy0 = np.floor(source[INNER_LIPS].min(axis=0)).astype(int) - 2
    sx1, sy1 = np.ceil(source[INNER_LIPS].max(axis=0)).astype(int) + 3
    src_open = polygon_mask(source[INNER_LIPS], (sy1 - sy0, sx1 - sx0), (sx0, sy0))
    # A closed mouth still rasterises as a thin line; erode it so only a real opening counts.
    thin = max(1, int(round(0.02 * mouth_w)))
    src_open = cv2.erode(src_open, np.ones((2 * thin + 1, 2 * thin + 1), np.uint8))
    own = None
    gap = np.max(source[INNER_LIPS[INNER_LOWER], 1] - source[INNER_LIPS[INNER_UPPER], 1])
    if gap >= OWN_FROM * mouth_w and src_open.any() and pixels is not None:
        own = own_teeth(points, target_points, (bx0, by0), shape)
        carried = cv2.remap(src_open, own.map_x - sx0, own.map_y - sy0, cv2.INTER_LINEAR,
                            borderMode=cv2.BORDER_CONSTANT) * opening
        # lips nearly closed show the dark line between them, not the teeth (as the painter's
        # teeth do: from a gap of 3% of the mouth's width to 11%): a smile taken to neutral
        # left a bright line of its teeth between the lips
        up, lo = inner[INNER_UPPER] - (bx0, by0), inner[INNER_LOWER] - (bx0, by0)
        xs = np.arange(shape[1], dtype=np.float64)
        gap_t = (np.interp(xs, *lo[np.argsort(lo[:, 0])].T) - np.interp(xs, *up[np.argsort(up[:, 0])].T)) / mouth_w
        carried = carried * np.clip((gap_t - CLOSED_GAP) / TEETH_FADE, 0, 1)[None, :].astype(np.float32)
    else:
        carried = np.zeros(shape, np.float32)
    new = np.clip(opening - carried, 0, 1)
    if new.sum() < 4.0 and not carried.any():
        return warped_roi

    region = warped_roi[by0 - y0r:by1 - y0r, bx0 - x0r:bx1 - x0r]
    rgb = region[:, :, :3].astype(np.float32)
    if own is not None and carried.any():
        # only the photo's mouth is read (its whole photo in float took 20-40 ms at 4 MP)
        cx0, cy0 = max(sx0, 0), max(sy0, 0)
        mouth = pixels[cy0:max(sy1, cy0 + 1), cx0:max(sx1, cx0 + 1), :3].astype(np.float32)
        kept = cv2.remap(mouth, own.map_x - cx0, own.map_y - cy0, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        # soft only as the photo's opening's edge is (its mask read bilinearly): blurred further,
        # it reached places held nowhere in the photo, and drew the photo's corner there
        a = carried[..., None]
        rgb = rgb * (1 - a) + kept * a
    if new.sum() < 4.0:
        region[:, :, :3] = np.clip(rgb, 0, 255).round().astype(region.dtype)
        return warped_roi
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
