"""Expression interpolation: a sequence of frames with p moving linearly between two values."""

from __future__ import annotations

import numpy as np

from studio.errors import StudioError
from studio.operations.edit import EditResult, render_expression, target_p
from studio.operations.recipe import EditRecipe
from studio.operations.studio import AnalyzedPhoto, Studio

MAX_FRAMES = 240


def interpolate(studio: Studio, analyzed: AnalyzedPhoto, recipe: EditRecipe, frames: int,
                start: EditRecipe | None = None) -> list[EditResult]:
    """Frames from `start` (default: the face as it is) to the recipe's expression (last frame)."""
    if not 2 <= frames <= MAX_FRAMES:
        raise StudioError(f"frames must be in 2..{MAX_FRAMES}, got {frames}")
    if start is not None and start.face != recipe.face:
        raise StudioError("an interpolation starts and ends on the same face")
    begin = target_p(studio, analyzed, start or EditRecipe(face=recipe.face))
    end = target_p(studio, analyzed, recipe)
    return [render_expression(studio, analyzed, recipe.face, begin + t * (end - begin))
            for t in np.linspace(0.0, 1.0, frames)]
