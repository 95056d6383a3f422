"""What the studio sees in a photo, as plain data (for `studio landmarks --json` and the app)."""

from __future__ import annotations

import numpy as np

from studio.face.image_io import Photo
from studio.operations.edit import final_landmarks
from studio.operations.recipe import EditRecipe
from studio.operations.studio import AnalyzedPhoto, Studio


def expression_probabilities(studio: Studio, photo: Photo, points: np.ndarray) -> dict[str, float] | None:
    """The recognizer's {class: probability} for the face at `points` in `photo` (None without
    recognizer weights)."""
    if studio.recognizer is None:
        return None
    return {k: round(v, 4) for k, v in studio.recognizer.probabilities(photo.rgb, points).items()}


def edited_expression(studio: Studio, analyzed: AnalyzedPhoto, photo: Photo, recipe: EditRecipe) -> dict[str, float] | None:
    """The recognizer's probabilities for face `recipe.face` of `photo`, the photo edited by this
    recipe: the face is found at the edit's target landmarks (the warp puts it there), so nothing
    is detected again."""
    return expression_probabilities(studio, photo, final_landmarks(studio, analyzed, recipe))


def describe(studio: Studio, analyzed: AnalyzedPhoto) -> dict:
    width, height = analyzed.photo.size
    faces = []
    for index, (face, fit) in enumerate(zip(analyzed.faces, analyzed.fits)):
        yaw, pitch, roll = fit.yaw_pitch_roll()
        faces.append({
            "index": index,
            "box": list(face.box),
            "points": [[round(float(v), 2) for v in point] for point in face.points],
            "p": [round(float(v), 5) for v in fit.p],
            "q": [round(float(v), 5) for v in fit.q],
            "expression_probabilities": expression_probabilities(studio, analyzed.photo, face.points),
            "expression_posterior": {k: round(v, 4) for k, v in fit.posterior.items()},
            "pose": {"yaw": round(yaw, 2), "pitch": round(pitch, 2), "roll": round(roll, 2)},
            "blendshapes": face.blendshapes,
            "transform": face.transform.round(5).tolist() if face.transform is not None else None,
        })
    return {"width": width, "height": height, "faces": faces,
            "expression_coefficients": studio.model.n_expression,
            "presets": list(studio.model.presets)}
