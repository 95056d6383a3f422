"""Learn the expression appearance model (ratio images regressed on expression coefficients) from
the face sets' (neutral, expression) photo pairs, and write it with its card to weights/.

`face-studio build-appearance`: landmarks come from the shape model's cache, so the slow part
is reading and warping the photos (about a minute on 2 cores). Test and validation people (the
generators' split) are left out and measured: how much of their real log-luminance change the
model predicts from their shape alone.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np

from studio import paths
from studio.face.image_io import LUMA, load_photo
from studio.face.mesh import FACE_OVAL
from studio.geometry.build_shape_model import BuildConfig, detect_samples, read_manifest
from studio.geometry.shape_model import EXPRESSIONS, ShapeModel
from studio.geometry.surface import Surface
from studio.geometry.warp import rasterize_mesh
from studio.synthesis.appearance import AppearanceModel, skin_weight
from studio.synthesis.dataset import DATASETS, heldout_people, load_split, read_pairs

LOG_OFFSET = 10.0   # log(Y + offset): dark pixels (nostrils, shadows) do not blow up the ratio


@dataclass(frozen=True)
class AppearanceConfig:
    faces_dir: Path
    output: Path = paths.WEIGHTS_DIR / "appearance.safetensors"
    model_path: Path = paths.SHAPE_MODEL_PATH
    split_path: Path = paths.WEIGHTS_DIR / "g2gan_split.json"
    size: int = 256
    coefficients: int = 24      # the leading expression coefficients the appearance follows
    ridge: float = 0.05         # relative to the mean variance of the coefficients
    smooth_px: float = 0.7      # blur of the basis images: keeps creases, drops single pixels' noise
    # Broad shading changes are mostly the sessions' light and the head's small nods, not the
    # expression: the part of each basis image broader than `broad_px` keeps only `broad_gain`.
    broad_px: float = 10.0
    broad_gain: float = 0.35
    cache_dir: Path | None = paths.REPO_ROOT / ".cache"
    log: callable = field(default=print)


def canonical_points(model: ShapeModel, size: int, fill: float = 0.9) -> np.ndarray:
    """The mean face's points in a size x size image, the face outline filling `fill` of it."""
    xy = model.mean[:, :2]
    oval = xy[FACE_OVAL]
    scale = fill * size / float(np.ptp(oval, axis=0).max())
    centre = (oval.min(axis=0) + oval.max(axis=0)) / 2
    return (xy - centre) * scale + size / 2


def to_canonical(luminance: np.ndarray, points: np.ndarray, canonical: np.ndarray, triangles: np.ndarray,
                 size: int) -> np.ndarray:
    """A photo's luminance (HxW float32) warped onto the canonical face (size x size)."""
    where = rasterize_mesh(canonical, triangles, np.asarray(points, float)[:, :2], (0, 0, size, size))
    return cv2.remap(luminance, where[:, :, 0], where[:, :, 1], cv2.INTER_LINEAR,
                     borderMode=cv2.BORDER_REPLICATE)


def log_luminance(rgb: np.ndarray) -> np.ndarray:
    y = rgb[:, :, :3].astype(np.float32) @ LUMA
    return np.log(y + LOG_OFFSET)


def _flatten(ratio: np.ndarray, weight: np.ndarray, design: np.ndarray) -> np.ndarray:
    """`ratio` minus its weighted best plane: the light of two sessions may differ as a whole or
    as a gradient across the face; an expression changes the face locally."""
    w = weight.ravel()
    coeffs, *_ = np.linalg.lstsq(design * w[:, None], ratio.ravel() * w, rcond=None)
    return ratio - (design @ coeffs).reshape(ratio.shape)


def _canonical_images(files: list[str], points: dict[str, np.ndarray], config: AppearanceConfig,
                      canonical: np.ndarray, triangles: np.ndarray) -> dict[str, np.ndarray]:
    key = hashlib.sha256(("\n".join(files) + f"|{config.size}").encode()).hexdigest()[:16]
    cache = config.cache_dir / f"appearance-{key}.npz" if config.cache_dir else None
    if cache is not None and cache.exists():
        data = np.load(cache)["images"]
        return dict(zip(files, data))
    images = []
    for i, file in enumerate(files):
        rgb = load_photo(config.faces_dir / file).rgb
        images.append(to_canonical(log_luminance(rgb), points[file], canonical, triangles, config.size))
        if i % 200 == 0:
            config.log(f"canonical faces {i}/{len(files)}")
    images = np.stack(images).astype(np.float32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, images=images)
    return dict(zip(files, images))


def build(config: AppearanceConfig) -> tuple[AppearanceModel, dict]:
    model = ShapeModel.load(config.model_path)
    held = heldout_people(load_split(config.split_path))
    pairs = read_pairs(config.faces_dir, DATASETS)
    rows = read_manifest(config.faces_dir, DATASETS)
    samples = detect_samples(rows, BuildConfig(config.faces_dir, config.output, cache_dir=config.cache_dir,
                                               log=config.log))
    by_file = {s.file: s.points for s in samples}
    pairs = [p for p in pairs if p.neutral_file in by_file and p.expression_file in by_file]
    size = config.size
    canonical = canonical_points(model, size)
    triangles = Surface.from_reference(model.mean).triangles
    weight = skin_weight(canonical, size)
    files = sorted({f for p in pairs for f in (p.neutral_file, p.expression_file)})
    images = _canonical_images(files, by_file, config, canonical, triangles)

    k = min(config.coefficients, model.n_expression)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64) / size
    design = np.stack([np.ones(size * size), xx.ravel(), yy.ravel()], axis=1)
    codes, ratios, labels, people = [], [], [], []
    for p in pairs:
        moved = model.normalize(by_file[p.expression_file])[0] - model.normalize(by_file[p.neutral_file])[0]
        codes.append(model.expression_basis[:k] @ moved.ravel())
        ratio = np.clip(images[p.expression_file] - images[p.neutral_file], -1.0, 1.0)
        ratios.append((_flatten(ratio, weight, design) * weight).astype(np.float32).ravel())
        labels.append(p.expression)
        people.append(p.subject)
    codes, ratios = np.stack(codes), np.stack(ratios)
    labels, train = np.array(labels), np.array([s not in held for s in people])

    x = codes[train]
    gram = x.T @ x
    lam = config.ridge * np.trace(gram) / k
    basis = np.linalg.solve(gram + lam * np.eye(k), x.T @ ratios[train]).reshape(k, size, size).astype(np.float32)
    if config.smooth_px > 0:
        basis = np.stack([cv2.GaussianBlur(b, (0, 0), config.smooth_px) for b in basis])
    if config.broad_gain != 1.0:
        broad = np.stack([cv2.GaussianBlur(b, (0, 0), config.broad_px) for b in basis])
        basis = (basis - (1.0 - config.broad_gain) * broad).astype(np.float32)
    appearance = AppearanceModel(canonical, basis, weight, triangles)

    # Held-out people: the share of their real ratio's energy the prediction explains.
    explained = {}
    for name in EXPRESSIONS:
        rows_ = np.flatnonzero(~train & (labels == name))
        if len(rows_):
            predicted = np.stack([appearance.log_ratio(codes[i]).ravel() for i in rows_])
            real = ratios[rows_]
            explained[name] = float(1 - ((real - predicted) ** 2).sum() / (real ** 2).sum())
    info = {"pairs": int(train.sum()), "heldout_pairs": int((~train).sum()),
            "people": len({s for s, t in zip(people, train) if t}), "coefficients": k, "size": size,
            "ridge": config.ridge, "heldout_explained": explained,
            "heldout_explained_mean": float(np.mean(list(explained.values()))) if explained else None}
    return replace(appearance, info=info), info


def write_card(info: dict, path: Path) -> None:
    explained = "\n".join(f"| {name} | {100 * v:.1f}% |" for name, v in info["heldout_explained"].items())
    text = f"""# Appearance model card

`appearance.safetensors`: expression ratio images (Liu, Shan and Zhang 2001) regressed on the shape
model's first {info['coefficients']} expression coefficients: for each coefficient, the change of
log-luminance it brings to a face, in a {info['size']} px canonical frame (the shape model's mean face).
The studio multiplies the warped face by exp(B (p - p_photo)) on its target geometry: creases and
shading follow the sliders, and removal divides the photo's own expression's creases away.

## Data
{info['pairs']} (neutral, expression) frontal photo pairs of {info['people']} people of KDEF and the
Taiwanese set (non-commercial research only; this file holds only averaged luminance changes, no
photo). Each pair: both photos warped to the mean face on MediaPipe's mesh, log(Y + {LOG_OFFSET:g})
subtracted, minus its best plane (a session's light), zero in the eye and mouth openings. Ridge
regression (lambda = {info['ridge']} x the mean coefficient variance), basis images blurred 0.7 px.

## Held-out people ({info['heldout_pairs']} pairs of the generators' test and validation people)
Share of the real log-luminance change (energy on the face's skin) the model predicts from the
shape alone (1 - residual / real):

| class | explained |
|---|---|
{explained}

Rebuild: `face-studio build-appearance` (about a minute on 2 cores after the landmark cache).
"""
    path.write_text(text)


def run(config: AppearanceConfig) -> dict:
    appearance, info = build(config)
    config.output.parent.mkdir(parents=True, exist_ok=True)
    appearance.save(config.output)
    write_card(info, config.output.with_name(config.output.stem + "_card.md"))
    config.log(json.dumps(info, indent=2))
    return info

