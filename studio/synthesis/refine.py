"""The generator backend's last step: after the full-resolution warp, the generator's residual and
mask, computed on an aligned crop, are brought back to the photo and added inside the face.

Only the crop's footprint in the photo is touched, and the mask fades to zero before the crop's
edge, so there is no seam; everything outside keeps the warped photo's own pixels.
"""

from __future__ import annotations

import cv2
import numpy as np

from studio.face.align import align
from studio.synthesis.generators import Generators

FEATHER = 0.08   # the mask fades out over this fraction of the crop at its border


def _border_fade(size: int) -> np.ndarray:
    ramp = np.clip(np.minimum(np.arange(size), np.arange(size)[::-1]) / (FEATHER * size), 0, 1)
    ramp = ramp * ramp * (3 - 2 * ramp)   # smoothstep: no visible edge where the fade ends
    return np.outer(ramp, ramp).astype(np.float32)


def _footprint(frame, size: int, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The photo pixels (x0, y0, x1, y1) a size x size crop covers."""
    inverse = cv2.invertAffineTransform(frame.matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], float) @ inverse[:, :2].T + inverse[:, 2]
    h, w = shape
    x0, y0 = np.floor(corners.min(axis=0)).astype(int).clip(0, [w, h])
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int).clip(0, [w, h])
    return int(x0), int(y0), int(x1), int(y1)


def _sample_crop(rgb: np.ndarray, frame, size: int, box: tuple[int, int, int, int]) -> np.ndarray:
    """The aligned crop; a face much larger than the crop is first shrunk by area averaging, so
    the crop is not aliased (bilinear sampling alone would skip most pixels)."""
    x0, y0, x1, y1 = box
    scale = float(np.sqrt(abs(np.linalg.det(frame.matrix[:, :2]))))   # crop px per photo px
    matrix = frame.matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ np.array([x0, y0], float)          # ROI pixel -> crop pixel
    roi = rgb[y0:y1, x0:x1]
    if scale < 0.5 and roi.size:
        shrink = 2.0 * scale
        small = cv2.resize(roi, (max(1, round(roi.shape[1] * shrink)), max(1, round(roi.shape[0] * shrink))),
                           interpolation=cv2.INTER_AREA)
        sx, sy = roi.shape[1] / small.shape[1], roi.shape[0] / small.shape[0]
        matrix = matrix @ np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
        roi = small
    return cv2.warpAffine(roi, matrix, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def refine_face(pixels: np.ndarray, target: np.ndarray, generators: Generators, direction: str) -> np.ndarray:
    """`pixels` (HxWxC uint8, the face already warped to `target`, 478x3 photo pixels) with the
    generator's change added; same size and channels."""
    size = generators.size
    frame = align(target, size)
    x0, y0, x1, y1 = box = _footprint(frame, size, pixels.shape[:2])
    if x1 <= x0 or y1 <= y0:
        return pixels.copy()
    crop = _sample_crop(np.ascontiguousarray(pixels[:, :, :3]), frame, size, box)
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
