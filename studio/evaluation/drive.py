"""How much of a real expression's movement an edit reproduces, region by region ("drive").

For a person's neutral photo (the source), an edit meant to give it the expression of the same
person's real expression photo, and that real photo: the re-detected landmarks of the edit and of
the real photo are brought onto the source by a similarity fit on the stable points; then, per
region, drive = <edit - source, real - source> / |real - source|^2, the projection of the edit's
movement onto the real movement (1: all of it; 0: none; above 1: further than the real face).
"""

from __future__ import annotations

import numpy as np

from studio.face.mesh import INNER_LIPS, OUTER_LIPS, STABLE, interocular
from studio.geometry.procrustes import fit_similarity

# MediaPipe's mesh: each brow's upper and lower edge, each eye's lid contour, the lips.
BROWS = np.array([70, 63, 105, 66, 107, 55, 65, 52, 53, 46,
                  300, 293, 334, 296, 336, 285, 295, 282, 283, 276])
EYES = np.array([33, 7, 163, 144, 145, 153, 154, 155, 133, 173, 157, 158, 159, 160, 161, 246,
                 362, 382, 381, 380, 374, 373, 390, 249, 263, 466, 388, 387, 386, 385, 384, 398])
MOUTH = np.concatenate([OUTER_LIPS, INNER_LIPS])
DRIVE_REGIONS = {"brows": BROWS, "eyes": EYES, "mouth": MOUTH}
MIN_MOVE_IOD = 0.01   # a region the real expression moves less than this (RMS, per point) has no drive


def _onto(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    fit = fit_similarity(points[STABLE, :2], source[STABLE, :2])
    return fit.apply(points[:, :2])


def drive(edited: np.ndarray, source: np.ndarray, real: np.ndarray) -> dict[str, float | None]:
    """Per region, the share of the real movement (source -> real) the edit (source -> edited)
    reproduces; None where the real expression hardly moves that region."""
    edited_xy, real_xy, source_xy = _onto(edited, source), _onto(real, source), source[:, :2]
    unit = interocular(source)
    shares = {}
    for name, index in DRIVE_REGIONS.items():
        made = (edited_xy[index] - source_xy[index]).ravel() / unit
        wanted = (real_xy[index] - source_xy[index]).ravel() / unit
        if np.sqrt(np.mean(wanted.reshape(-1, 2) ** 2) * 2) < MIN_MOVE_IOD:
            shares[name] = None
        else:
            shares[name] = float(made @ wanted / (wanted @ wanted))
    return shares
