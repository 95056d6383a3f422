"""The generator backend's last step: after the full-resolution warp, the generator's residual and
mask, computed on an aligned crop, are brought back to the photo and added inside the face.

Only the crop's footprint in the photo is touched, and the mask fades to zero before the crop's
edge, so there is no seam; everything outside keeps the warped photo's own pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.face.align import align, footprint, sample_crop
from studio.synthesis.generators import Generators

FEATHER = 0.08   # the mask fades out over this fraction of the crop at its border


def _border_fade(size: int) -> np.ndarray:
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / (FEATHER * size), 0, 1)
    ramp = ramp * ramp * (3 - 2 * ramp)   # smoothstep: no visible edge where the fade ends
    return np.outer(ramp, ramp).astype(np.float32)


def refine_face(pixels: np.ndarray, target: np.ndarray, generators: Generators, direction: str) -> np.ndarray:
    """`pixels` (HxWxC uint8, the face already warped to `target`, 478x3 photo pixels) with the
    generator's change added; same size and channels."""
    size = generators.size
    frame = align(target, size)
    x0, y0, x1, y1 = box = footprint(frame, pixels.shape[:2])
    if x1 <= x0 or y1 <= y0:
        return pixels.copy()
    crop = sample_crop(np.ascontiguousarray(pixels[:, :, :3]), frame, box)
    _, residual, mask = generators.run(direction, crop[None], frame.to_crop(target)[None])
    delta = residual[0] * (mask[0] * _border_fade(size))[:, :, None]
    shifted = frame.matrix.copy()
    shifted[:, 2] += shifted[:, :2] @ np.array([x0, y0], float)   # photo ROI pixel -> crop pixel
    region = cv2.warpAffine(delta, shifted, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                            borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    out = pixels.copy()
    patch = out[y0:y1, x0:x1, :3].astype(np.float32) + region
    out[y0:y1, x0:x1, :3] = patch.round().clip(0, 255).astype(np.uint8)
    return out
