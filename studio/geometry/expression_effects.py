"""What an expression change does to a face, measured on the mesh, so PCA components get names.

A principal component has no meaning of its own; its sliders are named by measuring what +1
standard deviation does to the mean face (mouth opening, corner lift, brow height...) and taking
the strongest effects.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.face.mesh import BROW_TOPS, LOWER_LIP_MID, MOUTH_CORNERS, UPPER_LIP_MID
from studio.geometry.shape_model import ShapeModel

INNER_BROWS = (107, 336)
UPPER_LIDS, LOWER_LIDS = (159, 386), (145, 374)
CHIN, NOSE_TIP = 152, 1
MIN_SCALE = 0.06

# effect name -> (word when it grows, word when it shrinks)
EFFECT_WORDS = {
    "mouth_open": ("mouth open", "mouth closed"),
    "mouth_width": ("mouth wide", "lips pursed"),
    "corner_lift": ("smile", "frown"),
    "brow_height": ("brows up", "brows down"),
    "brow_gap": ("brows apart", "brows together"),
    "eye_opening": ("eyes wide", "eyes narrow"),
    "jaw_drop": ("jaw down", "jaw up"),
}


def measure_effects(shape: np.ndarray) -> dict[str, float]:
    """Named measurements of a 478x3 shape in the model frame (y grows downwards)."""
    x, y = shape[:, 0], shape[:, 1]
    left, right = MOUTH_CORNERS
    lip_centre = (y[UPPER_LIP_MID] + y[LOWER_LIP_MID]) / 2
    return {
        "mouth_open": y[LOWER_LIP_MID] - y[UPPER_LIP_MID],
        "mouth_width": x[right] - x[left],
        "corner_lift": lip_centre - (y[left] + y[right]) / 2,
        "brow_height": y[list(UPPER_LIDS)].mean() - y[BROW_TOPS].mean(),
        "brow_gap": x[INNER_BROWS[1]] - x[INNER_BROWS[0]],
        "eye_opening": (y[list(LOWER_LIDS)] - y[list(UPPER_LIDS)]).mean(),
        "jaw_drop": y[CHIN] - y[NOSE_TIP],
    }


@dataclass(frozen=True)
class ComponentEffect:
    index: int
    sign: int        # +1 or -1: the direction of the coefficient that shows `label`
    label: str       # e.g. "mouth open + jaw down"
    strengths: dict  # effect -> change per +1 sign-oriented std, in units of the presets' range


def _changes(model: ShapeModel, p: np.ndarray) -> np.ndarray:
    base = measure_effects(model.mean)
    moved = measure_effects(model.mean + model.displacement(p))
    return np.array([moved[k] - base[k] for k in EFFECT_WORDS])


def component_effects(model: ShapeModel, count: int) -> list[ComponentEffect]:
    """Names for the first `count` expression components, oriented so + shows the main effect."""
    # Effects are compared in units of how far the presets move them, so the brows are not
    # drowned by the mouth's larger travel; the unit is at least MIN_SCALE interocular distances
    # so that a tiny movement (a brow shifting sideways by a pixel) never names a slider.
    scale = np.max([np.abs(_changes(model, preset)) for preset in model.presets.values()], axis=0)
    scale = np.maximum(scale, MIN_SCALE)
    names = list(EFFECT_WORDS)
    effects, seen = [], {}
    for index in range(min(count, model.n_expression)):
        p = np.zeros(model.n_expression)
        p[index] = model.expression_std[index]
        strength = _changes(model, p) / scale
        order = np.argsort(-np.abs(strength))
        sign = 1 if strength[order[0]] > 0 else -1
        strength = strength * sign
        main = EFFECT_WORDS[names[order[0]]][0]
        # the main effect plus the strongest other one that makes the name unique
        options = [f"{main} + {EFFECT_WORDS[names[k]][0 if strength[k] > 0 else 1]}" for k in order[1:]
                   if abs(strength[k]) >= 0.25 * abs(strength[order[0]])] or [main]
        label = next((o for o in options if o not in seen), options[0])
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label = f"{label} ({seen[label]})"
        effects.append(ComponentEffect(index, sign, label,
                                       {n: round(float(s), 3) for n, s in zip(names, strength)}))
    return effects
