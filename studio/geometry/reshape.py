"""Move a face in a photo to new landmarks: warp, redraw the eyes (when asked), fill any newly
opened mouth, paste back."""

from __future__ import annotations

import numpy as np

from studio.geometry.eyes import redraw_eyes
from studio.geometry.mouth import MouthPainter, fill_mouth
from studio.geometry.reveal import fill_revealed
from studio.geometry.surface import Surface
from studio.geometry.turn_light import apply_gain, turn_shading
from studio.face.mesh import EYES
from studio.geometry.warp import WarpConfig, compute_warp, identity_warp


def reshape_face(pixels: np.ndarray, source: np.ndarray, target: np.ndarray,
                 config: WarpConfig = WarpConfig(), surface: Surface | None = None,
                 mouth: MouthPainter | None = None, irises: np.ndarray | None = None,
                 widened_only: bool = False) -> np.ndarray:
    """`pixels` (HxWxC uint8, RGB or RGBA) with the face moved from `source` to `target` landmarks.

    Landmarks are 478x3 pixels (z orders overlapping triangles). Returns a new array of the same
    size; when nothing moves it is an exact copy. Give the `surface` when the head turns: the warp
    then follows the face mesh, ordered by the target's depth, and fills what the turn reveals.
    `mouth` draws the inside of a mouth the edit opens (geometry.mouth.MouthPainter). With
    `irises` (the right and left iris centre, photo pixels) the eyes are redrawn, each a round
    iris looking there between the moved lids (geometry.eyes); `widened_only`: only the eyes whose
    lids open wider.
    """
    if surface is None:
        warp = compute_warp(source, target, pixels.shape[:2], depth=source[:, 2], config=config)
    else:
        warp = compute_warp(source, target, pixels.shape[:2], depth=target[:, 2], config=config,
                            mesh=surface.triangles)
    if warp is None and irises is not None and not widened_only:
        warp = identity_warp(_eyes_box(source, pixels.shape[:2]))   # only the irises move (a gaze)
    if warp is None:
        return pixels.copy()
    roi = warp.sample(pixels)
    if surface is not None:
        # the light stays while the head turns: each place takes the light its turned normal gets
        shading = turn_shading(pixels, surface, source, target)
        light = shading.fields(warp) if shading is not None else None
        if light is not None:
            roi = apply_gain(roi, light.gain)
        roi = fill_revealed(roi, pixels, warp, source, target, surface, config, light=light)
    if irises is not None:
        roi = redraw_eyes(roi, pixels, warp, source, target, irises, opening_only=widened_only)
    roi = fill_mouth(roi, warp, source, target, mouth, pixels)
    return warp.paste(pixels, roi)


def _eyes_box(points: np.ndarray, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    eyes = points[EYES, :2]
    pad = 0.25 * float(np.ptp(eyes[:, 0]))
    x0, y0 = np.floor(eyes.min(axis=0) - pad).astype(int)
    x1, y1 = np.ceil(eyes.max(axis=0) + pad).astype(int)
    return max(x0, 0), max(y0, 0), min(x1, shape[1]), min(y1, shape[0])
