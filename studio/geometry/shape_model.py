"""The individual-specific shape model of G2-GAN (eq. 10): s = s0_I + S p, with s0_I = s0 + U q.

Shapes are MediaPipe's 478 points in 3D, normalised by a similarity transform fitted on points
that expressions barely move (so head pose and scale drop out and the jaw stays free). The
identity basis U spans how neutral faces differ between people; the expression basis S spans how
a face moves away from its own neutral. `fit` finds both coefficient sets at once.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.errors import StudioError, shown
from studio.face.mesh import N_POINTS, STABLE
from studio.geometry.procrustes import Similarity, fit_similarity
from studio.weights_file import read_weights, write_weights

EXPRESSIONS = ("happiness", "sadness", "anger", "fear", "disgust", "surprise")
MAX_INTENSITY = 1.5
CLAMP_SIGMAS = 3.0


@dataclass(frozen=True)
class ShapeFit:
    """A face's shape explained by the model; shapes are 478x3 in the model's normalised frame."""

    q: np.ndarray                # identity coefficients
    p: np.ndarray                # expression coefficients
    posterior: dict[str, float]  # how well each expression class (neutral included) explains the shape
    normalized: np.ndarray       # the face's own shape, normalised
    similarity: Similarity       # image pixels -> normalised frame
    neutral: np.ndarray          # s0_I: this person's shape with the expression taken out

    def yaw_pitch_roll(self) -> tuple[float, float, float]:
        return self.similarity.angles_deg()


@dataclass(frozen=True)
class ShapeModel:
    mean: np.ndarray               # s0, 478x3, interocular distance 1
    identity_basis: np.ndarray     # U, Kq x 1434, orthonormal rows
    identity_std: np.ndarray       # Kq
    expression_basis: np.ndarray   # S, Kp x 1434, orthonormal rows
    expression_std: np.ndarray     # Kp: RMS of each coefficient over training expressions
    class_names: tuple[str, ...]   # neutral and the six expressions
    class_mean: np.ndarray         # C x Kp: mean p of each class (the presets)
    class_var: np.ndarray          # C x Kp: variance of p within each class
    noise_std: float               # per-coordinate noise assumed by the fit
    info: dict = field(default_factory=dict)
    preset_codes: np.ndarray | None = None  # 6 x Kp: the presets (class means rescaled per region); None: class means
    # 6 x Kp: each preset at full intensity (MAX_INTENSITY), where strong photos of the class move
    # further than MAX_INTENSITY x the preset; between 1 and MAX_INTENSITY the slider goes straight
    # from one to the other. None: MAX_INTENSITY x the preset.
    strong_codes: np.ndarray | None = None

    def __post_init__(self):
        # One shape cannot tell a person's build from their expression (a wide mouth or a
        # smile?). A Gaussian prior per expression class resolves much of that: each class
        # gives a MAP fit and an evidence; the fit is their posterior-weighted blend.
        basis = np.concatenate([self.identity_basis, self.expression_basis]).T  # 1434 x K
        noise = self.noise_std ** 2
        solvers = []
        for mean_p, var_p in zip(self.class_mean, self.class_var):
            prior_mean = np.concatenate([np.zeros(self.n_identity), mean_p])
            prior_var = np.concatenate([self.identity_std ** 2, var_p])
            hessian = basis.T @ basis / noise + np.diag(1.0 / prior_var)
            inverse = np.linalg.inv(hessian)
            logdet = np.linalg.slogdet(hessian)[1] + np.log(prior_var).sum()
            solvers.append((inverse @ basis.T / noise, inverse @ (prior_mean / prior_var),
                            prior_mean, prior_var, logdet))
        object.__setattr__(self, "_basis", basis)
        object.__setattr__(self, "_solvers", solvers)

    @property
    def presets(self) -> dict[str, np.ndarray]:
        names = [n for n in self.class_names if n != "neutral"]
        codes = self.preset_codes if self.preset_codes is not None else self.class_mean[1:]
        return dict(zip(names, codes))

    @property
    def strong_presets(self) -> dict[str, np.ndarray]:
        if self.strong_codes is None:
            return {n: MAX_INTENSITY * v for n, v in self.presets.items()}
        return dict(zip(self.presets, self.strong_codes))

    def preset_at(self, name: str, intensity: float) -> np.ndarray:
        """The preset's p at this intensity: the preset times the intensity up to 1, then straight
        on to the strong preset at MAX_INTENSITY."""
        vector = self.preset(name)
        if intensity <= 1.0:
            return intensity * vector
        share = (intensity - 1.0) / (MAX_INTENSITY - 1.0)
        return vector + share * (self.strong_presets[name] - vector)

    @property
    def n_identity(self) -> int:
        return len(self.identity_std)

    @property
    def n_expression(self) -> int:
        return len(self.expression_std)

    def normalize(self, points: np.ndarray) -> tuple[np.ndarray, Similarity]:
        """Bring 478x3 image points into the model frame using the stable points only."""
        if points.shape != (N_POINTS, 3):
            raise ValueError(f"expected {N_POINTS}x3 points, got {points.shape}")
        similarity = fit_similarity(points[STABLE], self.mean[STABLE])
        return similarity.apply(points), similarity

    def fit(self, points: np.ndarray) -> ShapeFit:
        normalized, similarity = self.normalize(points)
        residual = (normalized - self.mean).ravel()
        fits, evidence = [], []
        for gain, offset, prior_mean, prior_var, logdet in self._solvers:
            coeffs = gain @ residual + offset
            error = residual - self._basis @ coeffs
            fits.append(coeffs)
            evidence.append(-0.5 * (error @ error / self.noise_std ** 2
                                    + ((coeffs - prior_mean) ** 2 / prior_var).sum() + logdet))
        evidence = np.array(evidence)
        weights = np.exp(evidence - evidence.max())
        weights /= weights.sum()
        coeffs = weights @ np.stack(fits)
        q, p = coeffs[: self.n_identity], coeffs[self.n_identity:]
        # s0_I keeps everything the bases do not explain, so p = 0 reproduces the face exactly.
        neutral = normalized - self.displacement(p)
        posterior = {n: float(w) for n, w in zip(self.class_names, weights)}
        return ShapeFit(q, p, posterior, normalized, similarity, neutral)

    def displacement(self, p: np.ndarray) -> np.ndarray:
        """S p as 478x3."""
        return (np.asarray(p, dtype=np.float64) @ self.expression_basis).reshape(N_POINTS, 3)

    def clamp(self, p: np.ndarray) -> np.ndarray:
        limit = CLAMP_SIGMAS * self.expression_std
        return np.clip(np.asarray(p, dtype=np.float64), -limit, limit)

    def synthesize(self, neutral: np.ndarray, p: np.ndarray) -> np.ndarray:
        """s0_I + S p, with p clamped to the plausible range."""
        return neutral + self.displacement(self.clamp(p))

    def preset(self, name: str) -> np.ndarray:
        if name not in self.presets:
            raise StudioError(f"unknown preset {shown(name)}; choose from {', '.join(self.presets)}")
        return self.presets[name]

    def compose(self, presets: dict[str, float] | None = None,
                coefficients: dict[int, float] | None = None) -> np.ndarray:
        """A change of p: preset intensities (0..1.5) plus coefficient steps in RMS units."""
        delta = np.zeros(self.n_expression)
        for name, intensity in (presets or {}).items():
            self.preset(name)  # an unknown name is refused first, so the next message names a preset
            if not 0.0 <= intensity <= MAX_INTENSITY:
                raise StudioError(f"preset intensity for '{name}' must be in 0..{MAX_INTENSITY}, got {intensity}")
            delta += self.preset_at(name, intensity)
        for index, value in (coefficients or {}).items():
            if not 0 <= index < self.n_expression:
                raise StudioError(f"expression coefficient {index} does not exist (0..{self.n_expression - 1})")
            if not abs(value) <= CLAMP_SIGMAS:
                raise StudioError(f"coefficient {index} must be within +-{CLAMP_SIGMAS:g}, got {value}")
            delta[index] += value * self.expression_std[index]
        return delta

    def clamp_around(self, p: np.ndarray, current: np.ndarray) -> np.ndarray:
        """Clamp p to the plausible range, widened to include the face's own p (never edit it away)."""
        limit = np.maximum(CLAMP_SIGMAS * self.expression_std, np.abs(current))
        return np.clip(p, -limit, limit)

    # --- persistence: safetensors for arrays, JSON metadata for names and the card's numbers
    def save(self, path: str | Path) -> None:
        tensors = {"mean": self.mean, "identity_basis": self.identity_basis,
                   "identity_std": self.identity_std, "expression_basis": self.expression_basis,
                   "expression_std": self.expression_std, "class_mean": self.class_mean,
                   "class_var": self.class_var, "noise_std": np.array([self.noise_std])}
        if self.preset_codes is not None:
            tensors["preset_codes"] = self.preset_codes
        if self.strong_codes is not None:
            tensors["strong_codes"] = self.strong_codes
        write_weights({k: np.asarray(v, dtype=np.float32) for k, v in tensors.items()},
                      {"info": json.dumps(self.info), "class_names": json.dumps(self.class_names)}, path)

    @staticmethod
    def load(path: str | Path) -> "ShapeModel":
        arrays, meta = read_weights(path, f"shape model not found at {path}; build it with "
                                          "`face-studio build-shape-model`")
        t = {k: v.astype(np.float64) for k, v in arrays.items()}
        return ShapeModel(mean=t["mean"], identity_basis=t["identity_basis"],
                          identity_std=t["identity_std"], expression_basis=t["expression_basis"],
                          expression_std=t["expression_std"],
                          class_names=tuple(json.loads(meta["class_names"])),
                          class_mean=t["class_mean"], class_var=t["class_var"],
                          noise_std=float(t["noise_std"][0]), info=json.loads(meta["info"]),
                          preset_codes=t.get("preset_codes"), strong_codes=t.get("strong_codes"))
