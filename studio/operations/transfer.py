"""Expression transfer (G2-GAN eq. 12): A takes B's expression on A's own neutral, and back.

B's expression is read from B's photo alone by the shape fit, which has to guess how much of B's
shape is B's build and how much expression. When B's own neutral face is known (B is A's own
face photographed with another expression, the reenactment case, or a driver's reference photo),
B's expression is instead B's movement away from that neutral, which the 60-component basis holds
almost whole: the guess, and the movement it loses (a quarter of the brows and eyes), are gone.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.geometry.shape_model import ShapeFit, ShapeModel
from studio.operations.edit import EditResult, render_expression
from studio.operations.studio import AnalyzedPhoto, Studio

MEASURED_SIGMAS = 5.0   # a measured movement is a real face's, so it is only bounded loosely


@dataclass(frozen=True)
class TransferResult:
    a_with_b: EditResult    # s0_A + S p_B
    b_with_a: EditResult    # s0_B + S p_A
    a_neutral: EditResult   # s0_A: the expressions taken out, as G2-GAN's figure 3 shows them
    b_neutral: EditResult


def expression_of(model: ShapeModel, fit: ShapeFit, neutral: ShapeFit | None = None) -> np.ndarray:
    """The expression coefficients of a fitted face; with `neutral` (the same person's neutral
    face), measured as its movement away from that face, on top of that face's own fit."""
    if neutral is None:
        return model.clamp(fit.p)
    moved = model.expression_basis @ (fit.normalized - neutral.normalized).ravel()
    limit = MEASURED_SIGMAS * model.expression_std
    return np.clip(neutral.p + moved, -limit, limit)


def transfer(studio: Studio, a: AnalyzedPhoto, b: AnalyzedPhoto,
             face_a: int = 0, face_b: int = 0, b_neutral: AnalyzedPhoto | None = None,
             face_b_neutral: int = 0, parts: tuple[str, ...] = ()) -> TransferResult:
    """`b_neutral`: a photo of B's neutral face (A itself when B is A's own face), or None.
    `parts` (geometry.face_parts): each face takes the other's expression on those parts only."""
    _, fit_a = a.face(face_a)
    _, fit_b = b.face(face_b)
    reference = None if b_neutral is None else b_neutral.face(face_b_neutral)[1]
    model = studio.model
    none = np.zeros(model.n_expression)
    return TransferResult(render_expression(studio, a, face_a, expression_of(model, fit_b, reference), parts=parts),
                          render_expression(studio, b, face_b, expression_of(model, fit_a), parts=parts),
                          render_expression(studio, a, face_a, none),
                          render_expression(studio, b, face_b, none))
