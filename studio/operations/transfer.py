"""Expression transfer (G2-GAN eq. 12): A takes B's expression on A's own neutral, and back."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.operations.edit import EditResult, render_expression
from studio.operations.studio import AnalyzedPhoto, Studio


@dataclass(frozen=True)
class TransferResult:
    a_with_b: EditResult    # s0_A + S p_B
    b_with_a: EditResult    # s0_B + S p_A
    a_neutral: EditResult   # s0_A: the expressions taken out, as G2-GAN's figure 3 shows them
    b_neutral: EditResult


def transfer(studio: Studio, a: AnalyzedPhoto, b: AnalyzedPhoto,
             face_a: int = 0, face_b: int = 0) -> TransferResult:
    _, fit_a = a.face(face_a)
    _, fit_b = b.face(face_b)
    clamp = studio.model.clamp
    none = np.zeros(studio.model.n_expression)
    return TransferResult(render_expression(studio, a, face_a, clamp(fit_b.p)),
                          render_expression(studio, b, face_b, clamp(fit_a.p)),
                          render_expression(studio, a, face_a, none),
                          render_expression(studio, b, face_b, none))
