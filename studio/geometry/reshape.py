"""Move a face in a photo to new landmarks: warp, fill any newly opened mouth, paste back."""

from __future__ import annotations

import numpy as np

from studio.geometry.mouth import MouthPainter, fill_mouth
from studio.geometry.reveal import fill_revealed
from studio.geometry.surface import Surface
from studio.geometry.warp import WarpConfig, compute_warp


def reshape_face(pixels: np.ndarray, source: np.ndarray, target: np.ndarray,
                 config: WarpConfig = WarpConfig(), surface: Surface | None = None,
                 mouth: MouthPainter | None = None) -> np.ndarray:
    """`pixels` (HxWxC uint8, RGB or RGBA) with the face moved from `source` to `target` landmarks.

    Landmarks are 478x3 pixels (z orders overlapping triangles). Returns a new array of the same
    size; when nothing moves it is an exact copy. Give the `surface` when the head turns: the warp
    then follows the face mesh, ordered by the target's depth, and fills what the turn reveals.
    `mouth` draws the inside of a mouth the edit opens (geometry.mouth.MouthPainter).
    """
    if surface is None:
        warp = compute_warp(source, target, pixels.shape[:2], depth=source[:, 2], config=config)
    else:
        warp = compute_warp(source, target, pixels.shape[:2], depth=target[:, 2], config=config,
                            mesh=surface.triangles)
    if warp is None:
        return pixels.copy()
    roi = warp.sample(pixels)
    if surface is not None:
        roi = fill_revealed(roi, pixels, warp, source, target, surface, config)
    roi = fill_mouth(roi, warp, source, target, mouth, pixels)
    return warp.paste(pixels, roi)
