"""Move a face in a photo to new landmarks: warp, fill any newly opened mouth, paste back."""

from __future__ import annotations

import numpy as np

from studio.geometry.mouth import fill_mouth
from studio.geometry.warp import WarpConfig, compute_warp


def reshape_face(pixels: np.ndarray, source: np.ndarray, target: np.ndarray,
                 config: WarpConfig = WarpConfig()) -> np.ndarray:
    """`pixels` (HxWxC uint8, RGB or RGBA) with the face moved from `source` to `target` landmarks.

    Landmarks are 478x3 pixels (z orders overlapping triangles). Returns a new array of the same
    size; when nothing moves it is an exact copy.
    """
    warp = compute_warp(source, target, pixels.shape[:2], depth=source[:, 2], config=config)
    if warp is None:
        return pixels.copy()
    roi = warp.sample(pixels)
    roi = fill_mouth(roi, warp, source, target)
    return warp.paste(pixels, roi)
