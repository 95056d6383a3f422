"""Parts of the face an edit may be limited to (as the Expression Editor's "only the eyes"),
as a weight per landmark: 1 on the part, fading to 0 around it, so a part moves without a seam."""

from __future__ import annotations

import numpy as np

from studio.errors import StudioError
from studio.face.mesh import BROWS, EYES, INNER_LIPS, LEFT_IRIS, N_SURFACE, OUTER_LIPS, RIGHT_IRIS, interocular

PARTS = ("eyes", "brows", "mouth", "pose")
SHAPE_PARTS = PARTS[:3]
CHIN_AND_CHEEKS = (152, 148, 176, 149, 150, 377, 400, 378, 379, 175, 199, 200, 18, 83, 313, 57, 287,
                   212, 432, 202, 422, 204, 424, 194, 418)
SEEDS = {"eyes": EYES, "brows": BROWS, "mouth": np.concatenate([OUTER_LIPS, INNER_LIPS, CHIN_AND_CHEEKS])}
FADE = 0.12   # interocular distances over which a part's weight falls to nothing


def check_parts(parts) -> tuple[str, ...]:
    """The parts, known and without repeats, in PARTS order; () means the whole face."""
    parts = tuple(parts)
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        raise StudioError(f"unknown part {unknown[0]!r}; parts are {', '.join(PARTS)}")
    chosen = tuple(p for p in PARTS if p in parts)
    return () if set(chosen) == set(PARTS) else chosen


def part_weights(shape: np.ndarray, parts: tuple[str, ...]) -> np.ndarray:
    """Per landmark of `shape` (478x2+, any frame), how much of an edit limited to `parts` it
    takes: 1 on the parts, 0 far from them; all ones for the whole face."""
    if not parts:
        return np.ones(len(shape))
    xy = np.asarray(shape, float)[:, :2]
    unit = interocular(xy)
    weight = np.zeros(len(xy))
    for part in parts:
        if part not in SEEDS:
            continue
        seeds = SEEDS[part]
        distance = np.linalg.norm(xy[:, None] - xy[seeds][None], axis=2).min(axis=1) / unit
        w = np.clip(1 - distance / FADE, 0, 1)
        w = w * w * (3 - 2 * w)
        weight = np.maximum(weight, w)
    if len(xy) > N_SURFACE:
        eyes = 1.0 if "eyes" in parts else 0.0
        weight[RIGHT_IRIS] = eyes
        weight[LEFT_IRIS] = eyes
    return weight
