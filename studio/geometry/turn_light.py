"""Keep the photo's light on a face that turns.

A photo's shading is in its pixels: skin the photo saw from the side faced its light less and is
darker. A head turn carries each pixel with the skin, so skin turned round to face the camera kept
the darkness of a side and drew a grey band down the revealed cheek (London 002 turned 25 degrees:
the side of her cheek, photographed at a third of the brightness further in, lay across the
turned cheek). The light stays where it was while the head turns, so each place is multiplied by
the light its turned normal gets over the light its normal got in the photo.

The light is read from the photo itself, not assumed: the skin's brightness at the mesh's
landmarks against their normals, fitted with second-order spherical harmonics (Ramamoorthi and
Hanrahan 2001: nine numbers describe how a convex Lambertian surface is lit by any distant light),
one albedo for the skin. So a photo lit from the side turns under its own side light.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from studio.face.image_io import LUMA
from studio.face.mesh import BROWS, EYES, FACE_OVAL, INNER_LIPS, N_SURFACE, OUTER_LIPS
from studio.geometry.shading import GAMMA
from studio.geometry.surface import Surface
from studio.geometry.warp import Warp

GRID_FACE_PX = 128   # the fields are drawn where the face is this wide, then resized
READ_FACE_PX = 256   # the photo's light is read where the face is this wide
# the nostrils and the nose's wings: dark holes and folds, not the skin's light
NOSTRILS = np.array([48, 64, 98, 97, 2, 326, 327, 294, 278, 219, 439, 79, 309, 240, 460, 75, 305])


@dataclass(frozen=True)
class TurnLightConfig:
    sample_blur: float = 0.015     # the skin's brightness at a landmark is read over this (x face width)
    ridge: float = 0.05            # keeps the light's higher terms small where few normals pin them down
    min_facing: float = 0.15       # landmarks the photo saw more edge-on than this are not read
    gain_range: tuple[float, float] = (0.6, 2.0)   # of the linear light
    floor: float = 0.1             # of the brightest light the face gets: no place is lit less
    min_gain: float = 0.01         # turns that change no place's light by more than this keep the pixels
    smooth: float = 0.01           # the gains' field is softened over this (x face width)


def sh_basis(normals: np.ndarray) -> np.ndarray:
    """The nine second-order spherical-harmonic terms of unit normals (N x 3), unnormalized."""
    x, y, z = normals[:, 0], normals[:, 1], normals[:, 2]
    return np.stack([np.ones_like(x), x, y, z, x * y, x * z, y * z, x * x - y * y, 3 * z * z - 1], axis=1)


def _skin_points(surface: Surface, points: np.ndarray, config: TurnLightConfig) -> np.ndarray:
    """The landmarks on plain skin that the photo saw well enough to read its light from."""
    keep = np.ones(N_SURFACE, bool)
    keep[np.concatenate([EYES, BROWS, OUTER_LIPS, INNER_LIPS, NOSTRILS, FACE_OVAL])] = False
    keep &= surface.facing(points[:N_SURFACE]) > config.min_facing
    return np.nonzero(keep)[0]


def photo_light(pixels: np.ndarray, points: np.ndarray, surface: Surface,
                config: TurnLightConfig = TurnLightConfig()) -> np.ndarray | None:
    """The nine spherical-harmonic coefficients of the light on the face at `points` (478x3) in
    `pixels`, in linear luminance; None when too little skin is seen to read it."""
    index = _skin_points(surface, points, config)
    # a face partly off the photo is read from what it shows
    h, w = pixels.shape[:2]
    index = index[(points[index, 0] >= 0) & (points[index, 0] <= w - 1) & (points[index, 1] >= 0)
                  & (points[index, 1] <= h - 1)]
    if len(index) < 30:
        return None
    xy = points[index, :2]
    width = float(np.ptp(points[:N_SURFACE, 0]))
    pad = int(3 * config.sample_blur * width) + 2
    x0, y0 = np.maximum(np.floor(xy.min(axis=0)).astype(int) - pad, 0)
    x1, y1 = np.minimum(np.ceil(xy.max(axis=0)).astype(int) + pad, [pixels.shape[1] - 1, pixels.shape[0] - 1])
    if x1 <= x0 or y1 <= y0:
        return None
    # read where the face is READ_FACE_PX wide (the blur takes the detail away anyway)
    shrink = min(1.0, READ_FACE_PX / max(width, 1.0))
    crop = pixels[y0:y1 + 1, x0:x1 + 1, :3]
    if shrink < 1.0:
        crop = cv2.resize(crop, (max(1, round(crop.shape[1] * shrink)), max(1, round(crop.shape[0] * shrink))),
                          interpolation=cv2.INTER_AREA)
    luma = ((crop.astype(np.float32) / 255.0) ** GAMMA) @ LUMA.astype(np.float32)
    luma = cv2.GaussianBlur(luma, (0, 0), max(0.5, config.sample_blur * width * shrink))
    at = ((xy - [x0, y0]) * shrink).astype(np.float32)
    sampled = cv2.remap(luma, at[None, :, 0], at[None, :, 1], cv2.INTER_LINEAR)[0]
    basis = sh_basis(surface.normals(points)[index])
    ridge = config.ridge * len(index) * np.diag([0.0] + [1.0] * 8)
    return np.linalg.solve(basis.T @ basis + ridge, basis.T @ sampled.astype(float))


@dataclass(frozen=True)
class TurnFields:
    """Over a turn's warped ROI (HxW float32, factors on sRGB pixels, 1 off the face): the gain on
    the warped photo (1 along the outline too: the hair, ears and neck beyond it turn less than
    the face, and their light is left as it was), the gain on the mirrored side's pixels where
    they stand in for what the turn reveals, and the turned face's own light, which skin filled
    in from elsewhere takes."""

    gain: np.ndarray
    mirror: np.ndarray
    light: np.ndarray


@dataclass(frozen=True)
class TurnShading:
    """Per landmark of the turned face (relative to a place facing the camera, linear): the light
    it gets now, the light its pixels had in the photo, and the light its mirror point had there."""

    turned: np.ndarray
    photographed: np.ndarray
    mirrored: np.ndarray
    face_width: float
    config: TurnLightConfig

    def fields(self, warp: Warp) -> TurnFields:
        gain = self._ratio(self.photographed)
        gain[FACE_OVAL] = 1.0
        values = np.stack([gain, self._ratio(self.mirrored), self.turned], axis=1)[:N_SURFACE]
        # drawn, softened and raised to sRGB on a small grid (the light is smooth), as the excess
        # over 1 so each field is 1 off the face; one resize each brings them to the ROI
        x0, y0, x1, y1 = warp.roi
        scale = min(1.0, GRID_FACE_PX / max(self.face_width, 1.0))
        excess = warp.rasterize(values - 1.0, scale).astype(np.float32)
        excess = cv2.GaussianBlur(excess, (0, 0), max(0.5, self.config.smooth * self.face_width * scale))
        small = np.maximum(1.0 + excess, 1e-3) ** (1 / GAMMA)
        return TurnFields(*(cv2.resize(np.ascontiguousarray(small[:, :, k]), (x1 - x0, y1 - y0),
                                       interpolation=cv2.INTER_LINEAR) for k in range(3)))

    def _ratio(self, before: np.ndarray) -> np.ndarray:
        return np.clip(self.turned / before, *self.config.gain_range)


def turn_shading(pixels: np.ndarray, surface: Surface, source: np.ndarray, target: np.ndarray,
                 config: TurnLightConfig = TurnLightConfig()) -> TurnShading | None:
    """The photo's light on the face at `source` (478x3), read from `pixels`, on the face turned to
    `target`; None when too little skin is seen to read it, or when the turn changes no place's
    light by more than `config.min_gain`."""
    light = photo_light(pixels, source, surface, config)
    if light is None:
        return None
    facing_camera = float(sh_basis(np.array([[0.0, 0.0, -1.0]]))[0] @ light)
    if facing_camera <= 0:
        return None
    photographed = sh_basis(surface.normals(source)) @ light / facing_camera
    floor = config.floor * max(float(photographed.max()), 1e-6)
    photographed = np.maximum(photographed, floor)
    turned = np.maximum(sh_basis(surface.normals(target)) @ light / facing_camera, floor)
    if np.abs(turned / photographed - 1)[:N_SURFACE].max() < config.min_gain:
        return None
    return TurnShading(turned, photographed, photographed[surface.mirror], float(np.ptp(target[:N_SURFACE, 0])),
                       config)


def apply_gain(rgb: np.ndarray, field: np.ndarray) -> np.ndarray:
    """`rgb` (HxWxC uint8, RGB first) times the gain field (HxW)."""
    out = rgb.copy()
    out[..., :3] = cv2.multiply(np.ascontiguousarray(rgb[..., :3]), cv2.merge([field] * 3), dtype=cv2.CV_8U)
    return out
