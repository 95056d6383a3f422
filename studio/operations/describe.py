"""What the studio sees in a photo, as plain data (for `studio landmarks --json` and the app)."""

from __future__ import annotations

from studio.operations.studio import AnalyzedPhoto, Studio


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
            "expression_posterior": {k: round(v, 4) for k, v in fit.posterior.items()},
            "pose": {"yaw": round(yaw, 2), "pitch": round(pitch, 2), "roll": round(roll, 2)},
            "blendshapes": face.blendshapes,
            "transform": face.transform.round(5).tolist() if face.transform is not None else None,
        })
    return {"width": width, "height": height, "faces": faces,
            "expression_coefficients": studio.model.n_expression,
            "presets": list(studio.model.presets)}
