"""How much of a real expression's movement an edit reproduces, region by region ("drive").

For a person's neutral photo (the source), an edit meant to give it the expression of the same
person's real expression photo, and that real photo: the re-detected landmarks of the edit and of
the real photo are brought onto the source by a similarity fit on the stable points, in 3D (two
photos of one person are rarely taken at exactly the same head pose, and a 2D fit leaves the
pose difference in the brows); then, per region, on the image plane,
drive = <edit - source, real - source> / |real - source|^2, the projection of the edit's movement
onto the real movement (1: all of it; 0: none; above 1: further than the real face).
"""

from __future__ import annotations

import numpy as np

from studio.face.mesh import DRIVE_REGIONS, STABLE, interocular
from studio.geometry.procrustes import fit_similarity

MIN_MOVE_IOD = 0.01   # a region the real expression moves less than this (RMS, per point) has no drive


def onto(points: np.ndarray, source: np.ndarray) -> np.ndarray:
    """`points` (478x3) brought onto `source` by a 3D similarity on the stable points; x, y."""
    return fit_similarity(points[STABLE], source[STABLE]).apply(points)[:, :2]


def drive(edited: np.ndarray, source: np.ndarray, real: np.ndarray) -> dict[str, float | None]:
    """Per region, the share of the real movement (source -> real) the edit (source -> edited)
    reproduces; None where the real expression hardly moves that region."""
    edited_xy, real_xy, source_xy = onto(edited, source), onto(real, source), source[:, :2]
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


def movement(moved: np.ndarray, source: np.ndarray) -> dict[str, float]:
    """Per region, how far `moved` (478x3, e.g. an edit's re-detected landmarks) is from `source`:
    the RMS in-image distance of the region's points after the stable-point fit, in interocular
    distances. A preset is judged by comparing it with real photos of its class."""
    moved_xy, source_xy = onto(moved, source), source[:, :2]
    unit = interocular(source)
    return {name: float(np.sqrt(((moved_xy[index] - source_xy[index]) ** 2).sum(axis=1).mean()) / unit)
            for name, index in DRIVE_REGIONS.items()}
