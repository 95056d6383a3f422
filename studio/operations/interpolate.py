"""Interpolation: a sequence of frames with the expression p, the part controls, the head pose
and the light moving linearly between two recipes."""

from __future__ import annotations

from dataclasses import fields

import numpy as np

from studio.errors import StudioError
from studio.face.image_io import Photo
from studio.geometry.shading import relight
from studio.operations.budget import check_frames
from studio.operations.edit import EditResult, render_expression, target_p
from studio.operations.recipe import EditRecipe
from studio.operations.studio import AnalyzedPhoto, Studio
from studio.operations.views import shrink



def _mix(a, b, t: float):
    """The dataclass (a pose or a light) a fraction t of the way from a to b."""
    return type(a)(**{f.name: getattr(a, f.name) + t * (getattr(b, f.name) - getattr(a, f.name)) for f in fields(a)})


def interpolate(studio: Studio, analyzed: AnalyzedPhoto, recipe: EditRecipe, frames: int,
                start: EditRecipe | None = None, max_side: int | None = None) -> list[EditResult]:
    """Frames from `start` (default: the face as it is) to the recipe (last frame). With
    `max_side`, each frame is shrunk to fit it as soon as it is made (an animation of a 50 MP
    photo then holds 12 small frames, not 12 full-size ones; landmarks stay in photo pixels)."""
    check_frames(frames, analyzed.pixels)
    if start is not None and start.face != recipe.face:
        raise StudioError("an interpolation starts and ends on the same face")
    start = start or EditRecipe(face=recipe.face)
    begin, end = target_p(studio, analyzed, start), target_p(studio, analyzed, recipe)
    results = []
    if start.parts != recipe.parts:
        raise StudioError("an interpolation keeps one choice of parts from start to end")
    names = set(start.controls) | set(recipe.controls)
    for t in np.linspace(0.0, 1.0, frames):
        controls = {n: start.controls.get(n, 0.0) + t * (recipe.controls.get(n, 0.0) - start.controls.get(n, 0.0))
                    for n in names}
        result = render_expression(studio, analyzed, recipe.face, begin + t * (end - begin),
                                   pose=_mix(start.pose, recipe.pose, t), controls=controls, parts=recipe.parts)
        light = _mix(start.light, recipe.light, t)
        if not light.is_default:
            landmarks = [face.points for face in analyzed.faces]
            landmarks[recipe.face] = result.target
            pixels = result.photo.pixels()
            result = EditResult(Photo.from_pixels(relight(pixels, landmarks, studio.surface, light,
                                                          person=studio.person(pixels)), analyzed.photo.icc),
                                result.p, result.target)
        if max_side is not None:
            result = EditResult(shrink(result.photo, max_side), result.p, result.target)
        results.append(result)
    return results
