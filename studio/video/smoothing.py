"""Landmarks smoothed over time with the One Euro filter (Casiez, Roussel and Vogel, CHI 2012):
a low-pass filter whose cutoff rises with the speed, so a still face stops jittering and a
moving one does not lag."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class OneEuroConfig:
    min_cutoff: float = 1.0    # Hz at rest: lower, less jitter
    beta: float = 0.02         # how fast the cutoff rises with speed (per px/s): higher, less lag
    d_cutoff: float = 1.0      # Hz, for the speed estimate


def _alpha(cutoff: float, dt: float) -> float:
    tau = 1.0 / (2 * math.pi * cutoff)
    return 1.0 / (1.0 + tau / dt)


class OneEuroFilter:
    """One filter per track: `__call__(points, t)` gives the smoothed points (any shape)."""

    def __init__(self, config: OneEuroConfig = OneEuroConfig()):
        self.config = config
        self._x: np.ndarray | None = None
        self._dx: np.ndarray | None = None
        self._t: float | None = None

    def __call__(self, points: np.ndarray, t: float) -> np.ndarray:
        x = np.asarray(points, np.float64)
        if self._x is None or self._t is None or t <= self._t or self._x.shape != x.shape:
            self._x, self._dx, self._t = x.copy(), np.zeros_like(x), t
            return x.copy()
        dt = t - self._t
        dx = (x - self._x) / dt
        a_d = _alpha(self.config.d_cutoff, dt)
        self._dx = a_d * dx + (1 - a_d) * self._dx
        cutoff = self.config.min_cutoff + self.config.beta * np.abs(self._dx)
        tau = 1.0 / (2 * np.pi * cutoff)
        a = 1.0 / (1.0 + tau / dt)
        self._x = a * x + (1 - a) * self._x
        self._t = t
        return self._x.copy()
