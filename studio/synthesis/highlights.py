"""Light and shade on photos whose brightest channel is clipped.

Overexposed skin (studio sets, phone photos in sunlight) holds red at 255 where the scene was
brighter. A crease that darkens such a pixel, scaled or added as if 255 were the true value,
pulls red below green and blue's share and the shade turns grey-green; a brightening one lifts
green and blue alone and the skin bleaches. So before a change, each clipped channel is given
the value the pixel's unclipped channels predict from the face's own skin colour, the change acts
on that, and the result is clipped again. Pixels with nothing clipped change exactly as before.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.face.image_io import LUMA
from studio.face.mesh import FACE_OVAL

CLIP = 250              # a channel at or above this is taken as clipped ...
SOFT_FROM = 230         # ... and from this up, partly: a hard threshold left specks where a channel
                        # at 249 darkened in full beside neighbours at 250 that held their red
MIN_SKIN_PIXELS = 64    # fewer unclipped skin samples than this: the typical skin colour stands in
TYPICAL_SKIN = np.array([0.42, 0.33, 0.25], np.float32)   # share of each channel in skin (sRGB)
SAMPLES = 64            # the face is sampled on about this many points across


def skin_colour(pixels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Each channel's median share of R+G+B over the face's unclipped skin (inside the outline
    of `points`, 478x2+ photo pixels)."""
    xy = np.asarray(points, float)[FACE_OVAL, :2]
    height, width = pixels.shape[:2]
    x0, y0 = np.floor(xy.min(axis=0)).astype(int).clip(0, [width - 1, height - 1])
    x1, y1 = np.ceil(xy.max(axis=0)).astype(int).clip(1, [width, height])
    step = max(1, int(max(x1 - x0, y1 - y0) / SAMPLES))
    grid = np.ascontiguousarray(pixels[y0:y1:step, x0:x1:step, :3])
    inside = np.zeros(grid.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round((xy - [x0, y0]) / step).astype(np.int32)], 1)
    samples = grid[inside.astype(bool)].astype(np.float32)
    samples = samples[(samples.max(axis=1) < SOFT_FROM) & (samples.min(axis=1) > 10)]
    if len(samples) < MIN_SKIN_PIXELS:
        return TYPICAL_SKIN.copy()
    return np.median(samples / samples.sum(axis=1, keepdims=True), axis=0).astype(np.float32)


def _raised(values: np.ndarray, colour: np.ndarray) -> np.ndarray:
    """N x 3 float32 pixels with each clipped channel raised to what the pixel's unclipped
    channels and the skin `colour` predict (never lowered; all-clipped pixels stay); a channel
    between SOFT_FROM and CLIP is raised that share of the way, so the change is continuous."""
    clipped = np.clip((values - SOFT_FROM) / (CLIP - SOFT_FROM), 0, 1)
    free = 1 - clipped
    # the pixel's brightness in units of the skin colour, from its unclipped channels
    level = (values * free).sum(axis=1) / np.maximum((colour * free).sum(axis=1), 1e-6)
    raised = values + clipped * (np.maximum(values, level[:, None] * colour) - values)
    return np.where(free.sum(axis=1, keepdims=True) > 1e-3, raised, values)


def _clipped(region: np.ndarray) -> np.ndarray:
    """HxW bool: pixels with a channel at or above SOFT_FROM (clipped, or nearly)."""
    return cv2.threshold(cv2.max(cv2.max(region[..., 0], region[..., 1]), region[..., 2]), SOFT_FROM - 1, 1,
                         cv2.THRESH_BINARY)[1].astype(bool)


def scale(region: np.ndarray, factor: np.ndarray, pixels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """`region` (HxWx3 uint8, part of the photo `pixels` whose face is at `points`) with every
    channel multiplied by `factor` (HxW), clipped channels taken at their predicted values."""
    region = np.ascontiguousarray(region[..., :3])
    out = cv2.multiply(region, cv2.merge([factor.astype(np.float32)] * 3), dtype=cv2.CV_8U)
    where = _clipped(region)
    if where.any():   # only the few clipped pixels take the slower path, and need the skin's colour
        values = region[where].astype(np.float32)
        raised = _raised(values, skin_colour(pixels, points))
        out[where] = _shown(values, raised, raised * factor[where][:, None])
    return out


def add(region: np.ndarray, delta: np.ndarray, pixels: np.ndarray, points: np.ndarray) -> np.ndarray:
    """`region` (HxWx3 uint8, part of the photo `pixels` whose face is at `points`) plus `delta`
    (HxWx3, pixel units); on a clipped channel the change is the same share of its predicted value
    as `delta` is of the photo's value."""
    region = np.ascontiguousarray(region[..., :3])
    out = (region.astype(np.float32) + delta).round().clip(0, 255).astype(np.uint8)
    where = _clipped(region)
    if where.any():
        values = region[where].astype(np.float32)
        raised = _raised(values, skin_colour(pixels, points))
        out[where] = _shown(values, raised, raised + delta[where] * raised / np.maximum(values, 1.0))
    return out


def _shown(values: np.ndarray, raised: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """What the photo shows once the true colour `raised` (of the shown `values`) becomes
    `changed`: the shown values plus the change of the clipped true colour, so no change shows
    nothing and a nearly clipped channel changes between its unclipped and clipped neighbours."""
    return (values + changed.clip(0, 255) - raised.clip(0, 255)).round().clip(0, 255).astype(np.uint8)


def brightness_only(delta: np.ndarray, crop: np.ndarray) -> np.ndarray:
    """The change of brightness `delta` makes (S x S x 3, pixel units), as the same change of
    brightness in the colour of the skin around each pixel of `crop` (its channels as the
    crop blurred over 2% of its size has them): scaled in each pixel's own colour, a lifted
    crease, darker and redder than the skin beside it, came out a red line."""
    around = cv2.GaussianBlur(crop[..., :3].astype(np.float32), (0, 0), max(1.0, 0.02 * crop.shape[0]))
    return around * ((delta @ LUMA) / np.maximum(around @ LUMA, 8.0))[..., None]
