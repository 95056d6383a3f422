"""Fill the part of an opened mouth that the source photo never showed with a shaded cavity.

Warping alone would stretch the lips across the new opening. Where the target's inner-lip
polygon covers pixels that did not come from the source's own mouth opening, we paint a dark
interior: the lips' own colour, much darker, deepest in the middle, with soft edges.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.face.mesh import INNER_LIPS, OUTER_LIPS
from studio.geometry.warp import Warp


def _polygon_mask(points: np.ndarray, shape: tuple[int, int], offset: tuple[int, int]) -> np.ndarray:
    mask = np.zeros(shape, np.float32)
    pts = np.round((points - np.array(offset)) * 16).astype(np.int32)
    cv2.fillPoly(mask, [pts], 1.0, lineType=cv2.LINE_AA, shift=4)
    return mask


def fill_mouth(warped_roi: np.ndarray, warp: Warp, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Paint the newly opened mouth into `warped_roi` (the warp's output); returns it."""
    source, target = source[:, :2], target[:, :2]
    inner = target[INNER_LIPS]
    mouth_w = float(np.linalg.norm(target[61] - target[291]))
    pad = int(0.15 * mouth_w) + 3
    x0r, y0r, x1r, y1r = warp.roi
    bx0 = int(max(x0r, np.floor(inner[:, 0].min()) - pad))
    by0 = int(max(y0r, np.floor(inner[:, 1].min()) - pad))
    bx1 = int(min(x1r, np.ceil(inner[:, 0].max()) + pad))
    by1 = int(min(y1r, np.ceil(inner[:, 1].max()) + pad))
    if bx1 - bx0 < 3 or by1 - by0 < 3:
        return warped_roi
    shape = (by1 - by0, bx1 - bx0)
    opening = _polygon_mask(inner, shape, (bx0, by0))
    if opening.sum() < 4.0:
        return warped_roi

    # Where the source's own opening lands after the warp: those pixels are real mouth interior.
    sx0, sy0 = np.floor(source[INNER_LIPS].min(axis=0)).astype(int) - 2
    sx1, sy1 = np.ceil(source[INNER_LIPS].max(axis=0)).astype(int) + 3
    sub_x = warp.map_x[by0 - y0r:by1 - y0r, bx0 - x0r:bx1 - x0r] - sx0
    sub_y = warp.map_y[by0 - y0r:by1 - y0r, bx0 - x0r:bx1 - x0r] - sy0
    src_open = _polygon_mask(source[INNER_LIPS], (sy1 - sy0, sx1 - sx0), (sx0, sy0))
    carried = cv2.remap(src_open, sub_x, sub_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT)
    new = np.clip(opening - carried, 0, 1)
    if new.sum() < 4.0:
        return warped_roi

    region = warped_roi[by0 - y0r:by1 - y0r, bx0 - x0r:bx1 - x0r]
    rgb = region[:, :, :3].astype(np.float32)
    lips = np.clip(_polygon_mask(target[OUTER_LIPS], shape, (bx0, by0)) - opening, 0, 1)
    lip_colour = (rgb * lips[:, :, None]).sum(axis=(0, 1)) / max(lips.sum(), 1.0)

    # Depth shading: darkest far from the lips, a little lighter near them.
    inside = (opening > 0.5).astype(np.uint8)
    dist = cv2.distanceTransform(inside, cv2.DIST_L2, 3)
    depth = np.clip(dist / max(dist.max(), 1.0), 0, 1)[:, :, None]
    cavity = lip_colour * (0.38 - 0.26 * depth)
    cavity = cv2.GaussianBlur(cavity.astype(np.float32), (0, 0), max(0.6, 0.02 * mouth_w))

    alpha = cv2.GaussianBlur(new, (0, 0), max(0.6, 0.012 * mouth_w)) * opening
    alpha = alpha[:, :, None]
    region[:, :, :3] = np.clip(rgb * (1 - alpha) + cavity * alpha, 0, 255).round().astype(region.dtype)
    return warped_roi
