"""Learn the shape model from the labelled face sets and write it, with its model card, to weights/."""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.face.image_io import load_photo
from studio.face.landmarks import FaceAnalyzer
from studio.face.mesh import DRIVE_REGIONS, LOWER_LIP_MID, N_POINTS, STABLE, UPPER_LIP_MID, interocular
from studio.geometry.procrustes import fit_similarity
from studio.geometry.shape_model import EXPRESSIONS, ShapeModel


@dataclass(frozen=True)
class BuildConfig:
    faces_dir: Path
    output: Path
    datasets: tuple[str, ...] = ("kdef", "taiwanese")  # london stays unseen: it is the test set
    heldout_fraction: float = 0.15
    identity_variance: float = 0.995
    # The brows and eyelids move little next to the jaw, so a basis keeping 98% of the energy
    # (16 components) lost a quarter of their movement; 99.9% keeps 98-99% of it in every region.
    expression_variance: float = 0.999
    max_identity: int = 40
    max_expression: int = 60
    # The fit assumes more noise than the bases' residual: landmarks of a new photo are noisier
    # than averaged training shapes, and held-out removal error was lowest near 4x (16x variance).
    noise_scale: float = 4.0
    cache_dir: Path | None = None
    seed_text: str = "shape-model-split-v1"
    log: callable = field(default=print)


@dataclass(frozen=True)
class Sample:
    subject: str
    session: str
    expression: str
    points: np.ndarray
    file: str = ""


def heldout_subject(subject: str, fraction: float, seed_text: str) -> bool:
    """A stable person-level split: the same people are held out on every machine and run."""
    digest = hashlib.sha256(f"{seed_text}:{subject}".encode()).digest()
    return int.from_bytes(digest[:4], "little") / 2 ** 32 < fraction


def read_manifest(faces_dir: Path, datasets: tuple[str, ...]) -> list[dict]:
    """The manifest's rows of frontal photos of these sets, in the manifest's order."""
    manifest = faces_dir / "manifest.csv"
    if not manifest.is_file():
        raise StudioError(f"no face set manifest at {manifest}")
    with open(manifest, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["dataset"] in datasets and r["yaw"] == "0"]
    if not rows:
        raise StudioError(f"no frontal images of {', '.join(datasets)} in {manifest}")
    return rows


def detect_samples(rows: list[dict], config: BuildConfig) -> list[Sample]:
    """Landmarks of every frontal image (cached by file list, since detection is the slow part)."""
    key = hashlib.sha256("\n".join(r["file"] for r in rows).encode()).hexdigest()[:16]
    cache = config.cache_dir / f"landmarks-{key}.npz" if config.cache_dir else None
    if cache is not None and cache.exists():
        data = np.load(cache)
        found, points = data["found"], data["points"]
    else:
        analyzer = FaceAnalyzer()
        found = np.zeros(len(rows), bool)
        points = np.zeros((len(rows), N_POINTS, 3))
        for i, row in enumerate(rows):
            faces = analyzer.detect(load_photo(config.faces_dir / row["file"]).rgb)
            if faces:
                found[i], points[i] = True, faces[0].points
            if i % 200 == 0:
                config.log(f"landmarks {i}/{len(rows)}")
        analyzer.close()
        if cache is not None:
            cache.parent.mkdir(parents=True, exist_ok=True)
            np.savez_compressed(cache, found=found, points=points)
    config.log(f"faces found in {found.sum()}/{len(rows)} images")
    return [Sample(r["subject"], r["session"], r["expression"], points[i], r["file"])
            for i, r in enumerate(rows) if found[i]]


def procrustes_normalize(shapes: np.ndarray, iterations: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Generalised Procrustes on the stable points; the reference ends with interocular distance 1."""
    reference = shapes.mean(axis=0)
    for _ in range(iterations):
        reference = reference - reference[STABLE].mean(axis=0)
        reference = reference / interocular(reference)
        aligned = np.stack([fit_similarity(s[STABLE], reference[STABLE]).apply(s) for s in shapes])
        reference = aligned.mean(axis=0)
    return aligned, reference


def pca(rows: np.ndarray, centred: bool, variance: float, limit: int):
    """Components (rows), their RMS coefficient, and the variance fraction each explains."""
    mean = rows.mean(axis=0) if centred else np.zeros(rows.shape[1])
    _, sing, vt = np.linalg.svd(rows - mean, full_matrices=False)
    energy = sing ** 2 / (sing ** 2).sum()
    keep = min(limit, int(np.searchsorted(np.cumsum(energy), variance) + 1))
    std = sing[:keep] / np.sqrt(len(rows))
    return vt[:keep], std, energy


def build(config: BuildConfig) -> tuple[ShapeModel, dict]:
    rows = read_manifest(config.faces_dir, config.datasets)
    samples = detect_samples(rows, config)
    aligned, _ = procrustes_normalize(np.stack([s.points for s in samples]))
    aligned = aligned.reshape(len(samples), -1)
    held = np.array([heldout_subject(s.subject, config.heldout_fraction, config.seed_text) for s in samples])

    # Each person's neutral: per session where one exists, else the person's mean neutral.
    neutral_by = defaultdict(list)
    for i, s in enumerate(samples):
        if s.expression == "neutral":
            neutral_by[(s.subject, s.session)].append(i)
            neutral_by[(s.subject, None)].append(i)

    def own_neutral(i: int) -> np.ndarray | None:
        s = samples[i]
        idx = neutral_by.get((s.subject, s.session)) or neutral_by.get((s.subject, None))
        return aligned[idx].mean(axis=0) if idx else None

    train_neutral = [i for i, s in enumerate(samples) if s.expression == "neutral" and not held[i]]
    neutral_shapes = aligned[train_neutral]
    mean = neutral_shapes.mean(axis=0)
    identity_basis, identity_std, identity_energy = pca(
        neutral_shapes, True, config.identity_variance, config.max_identity)

    train_expr = [i for i, s in enumerate(samples)
                  if s.expression != "neutral" and not held[i] and own_neutral(i) is not None]
    displacements = np.stack([aligned[i] - own_neutral(i) for i in train_expr])
    expression_basis, expression_std, expression_energy = pca(
        displacements, False, config.expression_variance, config.max_expression)

    codes = displacements @ expression_basis.T
    labels = np.array([samples[i].expression for i in train_expr])
    # The neutral class: how one neutral photo of a person differs from their other neutral
    # photos (halved in variance below, as that difference holds the scatter of both sides).
    neutral_codes = []
    for i in train_neutral:
        others = [j for j in neutral_by[(samples[i].subject, None)] if j != i]
        if others:
            neutral_codes.append((aligned[i] - aligned[others].mean(axis=0)) @ expression_basis.T)
    neutral_codes = np.stack(neutral_codes) / np.sqrt(2.0)
    class_names = ("neutral",) + EXPRESSIONS
    class_codes = [neutral_codes] + [codes[labels == e] for e in EXPRESSIONS]
    class_mean = np.stack([c.mean(axis=0) for c in class_codes])
    class_mean[0] = 0.0  # p = 0 is neutral by definition
    class_var = np.stack([c.var(axis=0) + 1e-6 for c in class_codes])
    modes = [majority_mouth_mode(displacements[labels == e]) for e in EXPRESSIONS]
    presets = scaled_presets(mean.reshape(N_POINTS, 3), expression_basis,
                             np.stack([codes[labels == e][m].mean(axis=0) for e, m in zip(EXPRESSIONS, modes)]),
                             [displacements[labels == e][m] for e, m in zip(EXPRESSIONS, modes)])

    residual = np.concatenate([
        (neutral_shapes - mean) - (neutral_shapes - mean) @ identity_basis.T @ identity_basis,
        displacements - codes @ expression_basis])
    noise_std = float(residual.std()) * config.noise_scale

    info = {"datasets": list(config.datasets), "images": len(samples),
            "people": len({s.subject for s in samples}),
            "heldout_people": len({s.subject for i, s in enumerate(samples) if held[i]}),
            "identity_components": len(identity_std),
            "identity_variance_explained": float(identity_energy[: len(identity_std)].sum()),
            "expression_components": len(expression_std),
            "expression_variance_explained": float(expression_energy[: len(expression_std)].sum()),
            "split": f"sha256('{config.seed_text}:<subject>') < {config.heldout_fraction}"}
    model = ShapeModel(mean.reshape(N_POINTS, 3), identity_basis, identity_std, expression_basis,
                       expression_std, class_names, class_mean, class_var, noise_std, info, presets)
    metrics = evaluate_heldout(model, samples, aligned, held, own_neutral)
    info["heldout"] = metrics
    return model, info


def region_movement(displacement: np.ndarray) -> np.ndarray:
    """RMS in-image movement (x, y) of each drive region of 478x3 displacements (... x 1434)."""
    d = np.asarray(displacement).reshape(-1, N_POINTS, 3)[:, :, :2]
    return np.stack([np.sqrt((d[:, idx] ** 2).sum(axis=2).mean(axis=1)) for idx in DRIVE_REGIONS.values()], axis=1)


MOUTH_CLOSED_IOD = 0.05   # lips parted by less than this more than in the neutral photo: a closed mouth
POSED_TWO_WAYS = 0.3      # a class whose closed and open mouths each make at least this share of its photos


def majority_mouth_mode(displacements: np.ndarray) -> np.ndarray:
    """Which of a class's photos (displacements from their neutral, ... x 1434, interocular
    distance 1) its preset is the mean of: all of them, or, for a class posed two ways, those
    with its majority mouth (closed or open).

    The training photos pose anger (32% bared teeth) and disgust (38%) both with pressed lips and
    with an open mouth; the average parts the lips a little, which no one does and which reads as
    fear (London anger presets read as anger 17% of the time). Other classes' minority mouths
    (fear 23% closed, happiness 15%, sadness 9%, surprise 1%) are variations around one pose."""
    d = np.asarray(displacements).reshape(-1, N_POINTS, 3)
    closed = (d[:, LOWER_LIP_MID, 1] - d[:, UPPER_LIP_MID, 1]) < MOUTH_CLOSED_IOD
    if min(closed.mean(), 1 - closed.mean()) < POSED_TWO_WAYS:
        return np.ones(len(d), bool)
    return closed if closed.mean() >= 0.5 else ~closed


def scaled_presets(mean: np.ndarray, basis: np.ndarray, class_mean: np.ndarray,
                   class_displacements: list[np.ndarray], rounds: int = 4, max_gain: float = 3.0) -> np.ndarray:
    """Each class's mean expression, rescaled region by region so it moves the brows, eyes and mouth
    as far as the median real photo of the class does.

    A class mean is shorter than a typical photo of the class: people's individual variations
    cancel in the average (fear's mean moves the brows a third as far as its median photo). Each
    region's gain is spread over the face by distance to the regions, so the rescaled displacement
    stays smooth; a few rounds correct for the projection back onto the basis.
    """
    presets = []
    for mean_p, real in zip(class_mean, class_displacements):
        wanted = np.median(region_movement(real), axis=0)
        gains = np.ones(len(DRIVE_REGIONS))
        p = mean_p
        for _ in range(rounds):
            made = region_movement(p @ basis)[0]
            gains = np.clip(gains * wanted / np.maximum(made, 1e-9), 1.0 / max_gain, max_gain)
            p = rescale_regions(mean, basis, mean_p, gains)
        presets.append(p)
    return np.stack(presets)


def rescale_regions(mean: np.ndarray, basis: np.ndarray, p: np.ndarray, gains: np.ndarray) -> np.ndarray:
    """The expression p with its displacement of each drive region (brows, eyes, mouth) scaled by
    that region's gain, spread smoothly over the face, and projected back onto the basis."""
    shape = (p @ basis).reshape(N_POINTS, 3)
    return basis @ (shape * (_region_weights(mean) @ np.asarray(gains, float))[:, None]).ravel()


def _region_weights(mean: np.ndarray) -> np.ndarray:
    """478 x regions: how much each point follows each region's gain (1 on the region's own
    points; elsewhere inverse squared distance to the region, normalised)."""
    xy = mean[:, :2]
    distance = np.stack([np.linalg.norm(xy[:, None] - xy[idx][None], axis=2).min(axis=1)
                         for idx in DRIVE_REGIONS.values()], axis=1)
    weights = 1.0 / np.maximum(distance, 0.02) ** 2
    return weights / weights.sum(axis=1, keepdims=True)


def evaluate_heldout(model: ShapeModel, samples, aligned, held, own_neutral) -> dict:
    """On people the model never saw: how well it reconstructs faces and recovers their neutral.

    Errors are mean point distances as a fraction of the interocular distance (IOD = 1 here).
    """
    recon, before, after, correct, total = [], [], [], 0, 0
    for i, s in enumerate(samples):
        if not held[i]:
            continue
        shape = aligned[i].reshape(N_POINTS, 3)
        fit = model.fit(shape)
        mean_q = model.mean + (fit.q @ model.identity_basis).reshape(N_POINTS, 3)
        model_shape = mean_q + model.displacement(fit.p)
        recon.append(np.linalg.norm(model_shape - shape, axis=1).mean())
        neutral = own_neutral(i)
        if s.expression == "neutral" or neutral is None:
            continue
        neutral = neutral.reshape(N_POINTS, 3)
        before.append(np.linalg.norm(shape - neutral, axis=1).mean())
        after.append(np.linalg.norm(fit.neutral - neutral, axis=1).mean())
        # Which class explains the shape best: a sanity check of the expression axes.
        correct += max(fit.posterior, key=fit.posterior.get) == s.expression
        total += 1
    return {"images": len(recon), "reconstruction_error_iod": float(np.mean(recon)),
            "expression_vs_own_neutral_iod": float(np.mean(before)),
            "removed_vs_own_neutral_iod": float(np.mean(after)),
            "most_likely_class_accuracy": correct / max(total, 1)}


def write_card(model: ShapeModel, info: dict, path: Path) -> None:
    h = info["heldout"]
    std = ", ".join(f"{v:.3f}" for v in model.expression_std)
    text = f"""# Shape model card

`shape_model.safetensors`: the individual-specific shape model s = s0_I + S p (G2-GAN eq. 10)
over MediaPipe's 478 face-mesh points in 3D, normalised by a similarity transform on
expression-stable points (interocular distance = 1).

## Data
Frontal images of {', '.join(info['datasets'])} from `../shared/data/faces` ({info['images']} images,
{info['people']} people). These sets are for non-commercial / academic research only; this file
holds only shape statistics (no images). The London set is left out so tests run on unseen people.
Split by person: {info['heldout_people']} people held out ({info['split']}).

## Components
- identity basis U: {info['identity_components']} components, {100 * info['identity_variance_explained']:.1f}% of the variance of neutral shapes
- expression basis S: {info['expression_components']} components, {100 * info['expression_variance_explained']:.1f}% of the energy of (expression - own neutral) displacements
- expression coefficient RMS: {std}; coefficients are clamped to +-3 RMS
- presets: mean p of each class ({', '.join(model.presets)}), used with intensity 0..1.5; a class
  posed two ways (anger and disgust: pressed lips or an open mouth, each 30% or more of its photos)
  takes the mean of its majority mouth only. Rescaled per region to the median training photo's
  movement, then calibrated on the landmarks found again on edits of 32 training people
  (`face-studio calibrate-presets`, report in the file's `info.preset_calibration`): at 1
  each region moves as far as the class's median training photo, or up to 1.5x further (never past
  its 90th percentile) where the recognizer reads the class more surely; at 1.5 (the strong presets,
  reached in a straight line from 1) at least as far as a strong photo (the 90th percentile of the
  more expressive face set, region by region). Rebuilding the
  shape model resets this; calibrate again after.
- fit: MAP estimate of (q, p) under a Gaussian prior per class (neutral included), blended by
  each class's posterior; assumed landmark noise {model.noise_std:.4f} per coordinate

## Held-out fit ({h['images']} images of unseen people; errors are mean point distance / interocular distance)
| measure | value |
|---|---|
| reconstruction error (model vs face) | {h['reconstruction_error_iod']:.4f} |
| expression face vs own neutral (before removal) | {h['expression_vs_own_neutral_iod']:.4f} |
| estimated neutral s0_I vs own real neutral (after removal) | {h['removed_vs_own_neutral_iod']:.4f} |
| most likely class is the true one (7 classes, chance 14%) | {100 * h['most_likely_class_accuracy']:.1f}% |

Rebuild: `face-studio build-shape-model` (landmark detection dominates; about a minute on 2 cores).
"""
    path.write_text(text)


def run(config: BuildConfig) -> dict:
    model, info = build(config)
    config.output.parent.mkdir(parents=True, exist_ok=True)
    model.save(config.output)
    write_card(model, info, config.output.with_name(config.output.stem + "_card.md"))
    config.log(json.dumps(info, indent=2))
    return info
