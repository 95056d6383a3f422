"""Similarity transforms (scale, rotation, translation) between point sets, by Umeyama's method."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Similarity:
    """x -> scale * R x + t, for row-vector points of any dimension."""

    scale: float
    rotation: np.ndarray
    translation: np.ndarray

    def apply(self, points: np.ndarray) -> np.ndarray:
        return self.scale * points @ self.rotation.T + self.translation

    def invert(self, points: np.ndarray) -> np.ndarray:
        return ((points - self.translation) @ self.rotation) / self.scale

    def angles_deg(self) -> tuple[float, float, float]:
        """(yaw, pitch, roll) of the inverse rotation, i.e. how the face is turned in the image."""
        r = self.rotation.T
        yaw = np.degrees(np.arcsin(np.clip(-r[2, 0], -1, 1)))
        pitch = np.degrees(np.arctan2(r[2, 1], r[2, 2]))
        roll = np.degrees(np.arctan2(r[1, 0], r[0, 0]))
        return float(yaw), float(pitch), float(roll)


def fit_similarity(source: np.ndarray, target: np.ndarray) -> Similarity:
    """The least-squares similarity taking `source` onto `target` (no reflection)."""
    mu_s, mu_t = source.mean(axis=0), target.mean(axis=0)
    a, b = source - mu_s, target - mu_t
    u, sing, vt = np.linalg.svd(b.T @ a)
    d = np.ones(len(sing))
    d[-1] = np.sign(np.linalg.det(u @ vt)) or 1.0
    rotation = (u * d) @ vt
    scale = float((sing * d).sum() / (a ** 2).sum())
    return Similarity(scale, rotation, mu_t - scale * mu_s @ rotation.T)
