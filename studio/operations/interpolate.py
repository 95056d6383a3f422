"""Expression interpolation: a sequence of frames with p moving linearly between two values."""

from __future__ import annotations

import numpy as np

from studio.errors import StudioError
from studio.operations.edit import EditResult, render_expression, target_p
from studio.operations.recipe import EditRecipe
from studio.operations.studio import AnalyzedPhoto, Studio

MAX_FRAMES = 240


def interpolate(studio: Studio, analyzed: AnalyzedPhoto, recipe: EditRecipe, frames: int) -> list[EditResult]:
    """Frames from the face as it is (frame 0, unchanged) to the recipe's expression (last frame)."""
    if not 2 <= frames <= MAX_FRAMES:
        raise StudioError(f"frames must be in 2..{MAX_FRAMES}, got {frames}")
    _, fit = analyzed.face(recipe.face)
    start, end = fit.p, target_p(studio, analyzed, recipe)
    return [render_expression(studio, analyzed, recipe.face, start + t * (end - start))
            for t in np.linspace(0.0, 1.0, frames)]
