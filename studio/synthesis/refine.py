"""The generator backend's crop steps: after the full-resolution warp, a network's change (the
G2-GAN generator's residual and mask, or the neutralizer's), computed on an aligned crop, is
brought back to the photo and added inside the face.

Only the crop's footprint in the photo is touched, and the mask fades to zero before the crop's
edge, so there is no seam; everything outside keeps the warped photo's own pixels.

Inside an opened mouth the generator's change only lightens, half in each pixel's own hue and
half grey (`ChangeLimits`): the teeth there are the mouth stage's, at the photo's resolution, and
the residual's colour stained them red and brown, its darkening greyed them; the light it brings
to a snarl's slit (its teeth, to the recognizer) is kept, neither blue-grey (all grey, on a dark
red cavity) nor a vivid pink tongue (all in the tongue's own hue); in a mouth open wider (a
smile, fear, surprise) it is not: there it was a blurred grey band across the cavity. Outside
the lips the change's mean over the face is held to a few levels: a darkening of the whole face
was the generator's stain on a flat, overexposed one; and there it changes only the brightness,
in the colour of the skin around each pixel: its own colour was a blue-grey or purple band
around a mouth taken back to neutral.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from studio.face.align import align, footprint, sample_crop
from studio.face.masks import polygon_mask
from studio.face.mesh import FACE_OVAL, INNER_LIPS, LOWER_LIP_MID, MOUTH_CORNERS, OUTER_LIPS, UPPER_LIP_MID
from studio.synthesis import highlights
from studio.synthesis.generators import Generators

FEATHER = 0.08   # the mask fades out over this fraction of the crop at its border


@dataclass(frozen=True)
class ChangeLimits:
    shade_only_inside_mouth: bool = True   # inside the inner lips: only the change's lightening, little colour
    feather_px: float = 1.0                # soft edge of the mouth's mask, crop pixels
    # ... and none at all in a mouth opened this tall (the inner lips' gap over the mouth's width),
    # fading out from the first: in an open mouth (surprise: 0.41-0.57; fear at 1 and 1.5 0.17-0.26,
    # smiles at 1 and 1.5 0.17-0.22) the 128 px crop's lightening was a blurred grey band across
    # the dark cavity, on fear a grey slab from the upper teeth to the lower lip; the mouth stage
    # draws their teeth and tongue. Kept in a snarl's slit (0-0.02). Left out from 0.17 up, the
    # presets read as their class as often (test and London people, happiness, fear, surprise and
    # disgust at 1 and 1.5); two transfers of a shouting anger (its mouth open 0.30, teeth clenched)
    # lost the grey band the recognizer read as the lower teeth (transfer 52.2 -> 51.7%).
    lighten_open_from: float = 0.08
    lighten_open_to: float = 0.14
    # Outside the lips, the change may darken or lighten the face by at most this many levels on
    # average, or it is scaled down to that: on a flat, overexposed face (KDEF BM15, skin at 203)
    # the generator darkened it by 9 levels (at most 1.7 on 24 other faces), a brown-orange stain
    # around the mouth once the clipped red could not follow. (Holding only the change's blurred
    # part took a third of a smile's folds' depth.)
    mean_max: float | None = 3.0
    # Outside the lips, only the change's brightness, in the colour of the skin around each pixel:
    # a removal's lifted folds came out as a blue-grey or purple band around the mouth (KDEF F35's
    # smile, F13's disgust)
    skin_hue_outside_lips: bool = True


def limit_change(delta: np.ndarray, crop: np.ndarray, points: np.ndarray, limits: ChangeLimits) -> np.ndarray:
    """The crop's change (S x S x 3) held to `limits`; `crop`: the crop it is added to, `points`:
    the face's landmarks in it. Inside the mouth only the change's lightening is kept, spread over
    the channels half as the crop's own colour is, half evenly; outside the lips its mean is held
    to `mean_max`."""
    if limits.mean_max is not None:
        delta = hold_mean_change(delta, points, limits)
    if limits.skin_hue_outside_lips:
        delta = in_skin_hue(delta, crop, points)
    if not limits.shade_only_inside_mouth:
        return delta
    inside = polygon_mask(points[INNER_LIPS], delta.shape[:2])
    if limits.feather_px > 0:
        inside = cv2.GaussianBlur(inside, (0, 0), limits.feather_px)
    inside = inside[:, :, None]
    rgb = crop[..., :3].astype(np.float32) + 1.0
    shade = np.maximum(delta.mean(axis=2, keepdims=True), 0) * (0.5 + 0.5 * rgb / rgb.mean(axis=2, keepdims=True))
    return delta + (shade * lightening(points, limits) - delta) * inside


def in_skin_hue(delta: np.ndarray, crop: np.ndarray, points: np.ndarray) -> np.ndarray:
    """`delta` (S x S x 3) outside the lips as the same change of brightness in the colour of the
    crop's skin around each pixel (the lips, where a change of colour is the lips', as they are)."""
    size = delta.shape[0]
    outside = (1.0 - cv2.GaussianBlur(polygon_mask(points[OUTER_LIPS], delta.shape[:2]), (0, 0), 0.01 * size))[:, :, None]
    return delta + (highlights.brightness_only(delta, crop) - delta) * outside


def hold_mean_change(delta: np.ndarray, points: np.ndarray, limits: ChangeLimits) -> np.ndarray:
    """`delta` with its part outside the lips scaled down so that its mean over the face there
    is at most `mean_max` levels (a change within that is untouched); the lips unchanged."""
    size = delta.shape[0]
    outside = 1.0 - cv2.GaussianBlur(polygon_mask(points[OUTER_LIPS], delta.shape[:2]), (0, 0), 0.02 * size)
    weight = outside * polygon_mask(points[FACE_OVAL], delta.shape[:2])
    mean = abs(float((delta.mean(axis=2) * weight).sum() / max(float(weight.sum()), 1.0)))
    if mean <= limits.mean_max:
        return delta
    scale = limits.mean_max / mean
    return delta * (1.0 - (1.0 - scale) * outside[:, :, None])


def lightening(points: np.ndarray, limits: ChangeLimits) -> float:
    """How much of the change's lightening a mouth keeps: all of it up to `lighten_open_from`
    (the gap between the inner lips over the mouth's width), none from `lighten_open_to`."""
    gap = float(np.linalg.norm(points[UPPER_LIP_MID, :2] - points[LOWER_LIP_MID, :2]))
    width = max(float(np.linalg.norm(points[MOUTH_CORNERS[0], :2] - points[MOUTH_CORNERS[1], :2])), 1e-6)
    span = max(limits.lighten_open_to - limits.lighten_open_from, 1e-6)
    return float(np.clip((limits.lighten_open_to - gap / width) / span, 0.0, 1.0))


def _border_fade(size: int) -> np.ndarray:
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / (FEATHER * size), 0, 1)
    ramp = ramp * ramp * (3 - 2 * ramp)   # smoothstep: no visible edge where the fade ends
    return np.outer(ramp, ramp).astype(np.float32)


def refine_face(pixels: np.ndarray, target: np.ndarray, generators: Generators, direction: str,
                limits: ChangeLimits = ChangeLimits()) -> np.ndarray:
    """`pixels` (HxWxC uint8, the face already warped to `target`, 478x3 photo pixels) with the
    generator's change added, held to `limits`; same size and channels."""
    def change(crop: np.ndarray, points: np.ndarray) -> np.ndarray:
        _, residual, mask = generators.run(direction, crop[None], points[None])
        return limit_change(residual[0] * mask[0][:, :, None], crop, points, limits)

    return add_crop_change(pixels, target, generators.size, change)


def add_crop_change(pixels: np.ndarray, target: np.ndarray, size: int, change, amount: float = 1.0) -> np.ndarray:
    """`pixels` with `amount` x change(crop, crop points) added, where the change (S x S x 3 float32,
    pixel units) is computed on the face's aligned S px crop at `target` and brought back to the
    photo's resolution; only the crop's footprint is touched, faded out at its border."""
    frame = align(target, size)
    x0, y0, x1, y1 = box = footprint(frame, pixels.shape[:2])
    if x1 <= x0 or y1 <= y0 or amount <= 0:
        return pixels.copy()
    crop = sample_crop(np.ascontiguousarray(pixels[:, :, :3]), frame, box)
    delta = change(crop, frame.to_crop(target)) * (np.float32(amount) * _border_fade(size))[:, :, None]
    shifted = frame.matrix.copy()
    shifted[:, 2] += shifted[:, :2] @ np.array([x0, y0], float)   # photo ROI pixel -> crop pixel
    region = cv2.warpAffine(delta, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    out = pixels.copy()
    out[y0:y1, x0:x1, :3] = highlights.add(out[y0:y1, x0:x1, :3], region, pixels, target)
    return out
