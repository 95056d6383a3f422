"""Expression appearance: the creases and shading an expression adds to a face, as expression
ratio images (Liu, Shan and Zhang 2001) regressed on the shape model's expression coefficients.

In a canonical frame (the mean face, `size` pixels square), the log-luminance change an expression
makes to a face (its photo divided by the same person's neutral photo, both warped to the mean
shape) is learned as a linear function of the expression coefficients: one basis image per
coefficient. An edit from coefficients p0 (the photo's own) to p multiplies the warped face's
pixels by exp(B (p - p0)), brought from the canonical frame onto the face's target geometry: the
frown lines of anger, a wrinkled nose, the cheeks and folds of a smile, and, when p goes back
towards 0, the shading of the photo's own expression divided away. What lies at another place on
every face (forehead lines) averages away and stays faint. One
factor for all three channels, so colour never shifts; the eyes' and mouth's openings are left
alone (a ratio of an open and a closed mouth means nothing), and so are the lips.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

from studio.face.masks import polygon_mask
from studio.face.mesh import FACE_OVAL, OUTER_LIPS
from studio.geometry.warp import rasterize_mesh
from studio.synthesis import highlights
from studio.weights_file import read_weights, write_weights

# The lid contours, in order around each eye opening.
RIGHT_EYE_LOOP = np.array([33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246])
LEFT_EYE_LOOP = np.array([362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398])
MIN_CHANGE = 2e-3      # a log-luminance change below this everywhere leaves the photo untouched
GRID_FACE_PX = 256     # the face's width on the grid where the change is brought onto the face
# Soft limits of the log-luminance change: a crease darkens skin by up to about a quarter, but
# brightening is where an average model paints patches (the smile's nasolabial shade divided away
# from a face whose own shade lies elsewhere), so it is held to about an eighth.
DARKEN_LIMIT = 0.3
BRIGHTEN_LIMIT = 0.12


@dataclass(frozen=True)
class AppearanceModel:
    canonical: np.ndarray   # 478x2: the mean face's points in the canonical image (pixels)
    basis: np.ndarray       # K x size x size float32: log-luminance change per unit of coefficient k
    weight: np.ndarray      # size x size float32: 1 on the face's skin, 0 in the openings and outside
    triangles: np.ndarray   # T x 3: the face mesh over which the canonical image is mapped
    info: dict = field(default_factory=dict)

    @property
    def size(self) -> int:
        return self.basis.shape[1]

    @property
    def n_coefficients(self) -> int:
        return self.basis.shape[0]

    def log_ratio(self, delta_p: np.ndarray) -> np.ndarray:
        """The canonical log-luminance change for a change of expression coefficients."""
        k = self.n_coefficients
        step = np.zeros(k, np.float32)
        delta = np.asarray(delta_p, np.float32)[:k]
        step[:len(delta)] = delta
        return np.tensordot(step, self.basis, axes=1) * self.weight

    def apply(self, pixels: np.ndarray, target: np.ndarray, delta_p: np.ndarray, strength: float = 1.0) -> np.ndarray:
        """`pixels` (HxWxC uint8, the face already at `target`, 478x3 photo pixels) with the
        appearance of the expression change `delta_p`; same size and channels."""
        change = soft_limit(self.log_ratio(delta_p) * np.float32(strength))
        if not np.abs(change).max() >= MIN_CHANGE:
            return pixels
        xy = np.asarray(target, float)[:, :2]
        height, width = pixels.shape[:2]
        oval = xy[FACE_OVAL]
        x0, y0 = np.floor(oval.min(axis=0)).astype(int).clip(0, [width, height])
        x1, y1 = np.ceil(oval.max(axis=0)).astype(int).clip(0, [width, height])
        if x1 - x0 < 2 or y1 - y0 < 2:
            return pixels
        scale = min(1.0, GRID_FACE_PX / max(float(np.ptp(oval[:, 0])), 1.0))
        # Where each grid pixel of the target face lies in the canonical image (and 0 off the face);
        # far triangles first, so where a turned face overlaps itself (the nose over a cheek) the
        # nearer surface's creases are the ones drawn.
        triangles = self.triangles
        if np.asarray(target).shape[1] > 2:
            triangles = triangles[np.argsort(-np.asarray(target, float)[triangles, 2].mean(axis=1), kind="stable")]
        uvw = rasterize_mesh(xy, triangles, np.concatenate([self.canonical, np.ones((len(xy), 1))], axis=1),
                             (int(x0), int(y0), int(x1), int(y1)), scale)
        on_face = uvw[:, :, 2]
        grid = cv2.remap(change, uvw[:, :, 0], uvw[:, :, 1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0) * on_face
        # exp on the small grid, then one upsample and one saturating multiply at full resolution
        factor = cv2.resize(np.exp(grid), (int(x1 - x0), int(y1 - y0)), interpolation=cv2.INTER_LINEAR)
        out = pixels.copy()
        out[y0:y1, x0:x1, :3] = highlights.scale(out[y0:y1, x0:x1, :3], factor, pixels, xy)
        return out

    # --- persistence: safetensors for arrays, JSON metadata for the card's numbers
    def save(self, path: str | Path) -> None:
        write_weights({"canonical": self.canonical.astype(np.float32), "basis": self.basis.astype(np.float32),
                       "weight": self.weight.astype(np.float32), "triangles": self.triangles.astype(np.int32)},
                      {"info": json.dumps(self.info)}, path)

    @staticmethod
    def load(path: str | Path) -> "AppearanceModel":
        t, meta = read_weights(path, f"appearance model not found at {path}; build it with "
                                     "`face-studio build-appearance`")
        return AppearanceModel(t["canonical"].astype(np.float64), t["basis"], t["weight"],
                               t["triangles"].astype(np.int64), json.loads(meta.get("info", "{}")))


def soft_limit(change: np.ndarray) -> np.ndarray:
    """The change, linear near 0 and bounded by DARKEN_LIMIT below and BRIGHTEN_LIMIT above."""
    limit = np.where(change < 0, DARKEN_LIMIT, BRIGHTEN_LIMIT).astype(np.float32)
    return (limit * np.tanh(change / limit)).astype(np.float32)


def skin_weight(canonical: np.ndarray, size: int, feather: float = 0.025) -> np.ndarray:
    """1 on the face's skin in the canonical image, fading to 0 at the face outline, around the
    eye openings and over the lips (the mouth is the generators' and the mouth stage's; a ratio
    across lips that part or stretch over teeth paints patches), `feather`: the fade, as a
    fraction of the image."""
    sigma = feather * size
    face = polygon_mask(canonical[FACE_OVAL], (size, size))
    face = cv2.erode(face, None, iterations=int(round(2 * sigma)))
    openings = np.zeros((size, size), np.float32)
    for loop in (RIGHT_EYE_LOOP, LEFT_EYE_LOOP, OUTER_LIPS):
        polygon_mask(canonical[loop], (size, size), into=openings)
    openings = cv2.dilate(openings, None, iterations=max(1, int(round(0.5 * sigma))))
    weight = face * (1.0 - openings)
    return cv2.GaussianBlur(weight, (0, 0), sigma).astype(np.float32)
