"""Landmark heatmaps: the face's geometry drawn as soft contour lines, the generators' guide.

G2-GAN feeds the target's landmarks to its generators as heatmaps. Drawing the mesh's contours
(not 478 dots) keeps the picture readable at 128-256 px: three channels, one each for the mouth,
the eyes and brows, and the face outline with the nose.
"""

from __future__ import annotations

import cv2
import numpy as np
from mediapipe.python.solutions import face_mesh_connections as fmc

CHANNELS = (
    ("mouth", fmc.FACEMESH_LIPS),
    ("eyes_brows", fmc.FACEMESH_LEFT_EYE | fmc.FACEMESH_RIGHT_EYE | fmc.FACEMESH_LEFT_EYEBROW
     | fmc.FACEMESH_RIGHT_EYEBROW | fmc.FACEMESH_IRISES),
    ("outline_nose", fmc.FACEMESH_FACE_OVAL | fmc.FACEMESH_NOSE),
)
N_CHANNELS = len(CHANNELS)
_EDGES = [np.array(sorted(edges), dtype=np.int64) for _, edges in CHANNELS]
SUPERSAMPLE = 4   # lines are drawn at 4x and shrunk, so they sit at sub-pixel positions


def render_heatmap(xy: np.ndarray, size: int, sigma: float | None = None) -> np.ndarray:
    """3 x size x size float32 in 0..1 from 478x2 points in crop pixels."""
    sigma = sigma if sigma is not None else size / 128.0
    big = size * SUPERSAMPLE
    pts = np.round(np.asarray(xy[:, :2], dtype=np.float64) * SUPERSAMPLE * 16).astype(np.int32)  # 4 fraction bits
    out = np.zeros((N_CHANNELS, size, size), np.float32)
    for c, edges in enumerate(_EDGES):
        canvas = np.zeros((big, big), np.uint8)
        lines = pts[edges]  # E x 2 x 2
        cv2.polylines(canvas, list(lines), False, 255, thickness=SUPERSAMPLE, lineType=cv2.LINE_AA, shift=4)
        small = cv2.resize(canvas, (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
        blurred = cv2.GaussianBlur(small, (0, 0), sigma)
        out[c] = blurred / max(float(blurred.max()), 1e-6)
    return out
