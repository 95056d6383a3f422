"""Training pairs for the generators: the same person neutral and with an expression, as aligned
crops, each also warped by the studio's geometry to the other's landmarks.

For a pair (neutral N, expression E) of one person:
- the crop frame comes from N's landmarks (the studio's own alignment); E is brought into it by
  a similarity on the points expressions barely move, so the two crops overlap;
- `warp_ne` is N warped to E's landmarks (what the geometry backend makes for synthesis) and
  `warp_en` is E warped to N's landmarks (removal). The generators learn what geometry cannot
  do: N's warp -> the real E, E's warp -> the real N.
Crops of the research-only sets are cached under .cache/ (never committed).
"""

from __future__ import annotations

import csv
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from studio import paths
from studio.errors import StudioError
from studio.face.align import align, crop
from studio.face.image_io import load_photo
from studio.face.landmarks import FaceAnalyzer
from studio.face.mesh import N_POINTS, STABLE
from studio.geometry.build_shape_model import heldout_subject
from studio.geometry.reshape import reshape_face
from studio.geometry.shape_model import EXPRESSIONS
from studio.geometry.warp import compute_warp

DATASETS = ("kdef", "taiwanese")       # london stays unseen: it is the studio's test set
SHAPE_MODEL_SPLIT = ("shape-model-split-v1", 0.15)   # the shape model's held-out people
VAL_SPLIT = ("g2gan-val-v1", 0.10)


@dataclass(frozen=True)
class Pair:
    dataset: str
    subject: str
    expression: str
    neutral_file: str
    expression_file: str


@dataclass(frozen=True)
class DataConfig:
    faces_dir: Path
    size: int = 128
    cache_dir: Path = paths.REPO_ROOT / ".cache" / "g2gan"
    split_path: Path = paths.WEIGHTS_DIR / "g2gan_split.json"
    limit: int | None = None   # only the first pairs (quick checks)
    datasets: tuple[str, ...] = DATASETS


def read_pairs(faces_dir: Path, datasets: tuple[str, ...] = DATASETS) -> list[Pair]:
    """Every frontal (neutral, expression) pair of one person, from the manifest.

    KDEF pairs within a session (same day, same light). The Taiwanese set keeps neutrals in their
    own session, so each expression pairs with the person's first neutral.
    """
    manifest = faces_dir / "manifest.csv"
    if not manifest.is_file():
        raise StudioError(f"no face set manifest at {manifest}")
    with open(manifest, newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["dataset"] in datasets and r["yaw"] == "0"]
    neutral = {}
    for r in sorted(rows, key=lambda r: r["file"]):
        if r["expression"] == "neutral":
            key = (r["subject"], r["session"] if r["dataset"] == "kdef" else "")
            neutral.setdefault(key, r["file"])
    pairs = []
    for r in sorted(rows, key=lambda r: r["file"]):
        if r["expression"] not in EXPRESSIONS:
            continue
        key = (r["subject"], r["session"] if r["dataset"] == "kdef" else "")
        if key in neutral:
            pairs.append(Pair(r["dataset"], r["subject"], r["expression"], neutral[key], r["file"]))
    return pairs


def person_split(subjects: list[str]) -> dict[str, list[str]]:
    """Test: the people the shape model never saw; validation: a hashed tenth of the rest."""
    split = {"train": [], "val": [], "test": []}
    for subject in sorted(set(subjects)):
        if heldout_subject(subject, SHAPE_MODEL_SPLIT[1], SHAPE_MODEL_SPLIT[0]):
            split["test"].append(subject)
        elif heldout_subject(subject, VAL_SPLIT[1], VAL_SPLIT[0]):
            split["val"].append(subject)
        else:
            split["train"].append(subject)
    return split


def load_split(path: Path) -> dict[str, list[str]]:
    """The saved person split of the generators (who is train, validation and test)."""
    if not path.is_file():
        raise StudioError(f"no person split at {path} (it comes with the generators: face-studio train)")
    return json.loads(path.read_text())


def heldout_people(split: dict[str, list[str]]) -> set[str]:
    """The split's test and validation people: no model may learn from them."""
    return set(split.get("test", [])) | set(split.get("val", []))


def load_or_make_split(path: Path, subjects: list[str]) -> dict[str, list[str]]:
    """The saved split, so every later measurement uses the same people; made once if missing."""
    if path.is_file():
        split = json.loads(path.read_text())
        unknown = set(subjects) - {s for part in split.values() for s in part}
        if unknown:
            raise StudioError(f"{path} does not place {len(unknown)} people; delete it to make a new split")
        return split
    split = person_split(subjects)
    path.write_text(json.dumps(split, indent=2) + "\n")
    return split


def _points_in(matrix: np.ndarray, points: np.ndarray) -> np.ndarray:
    """478x3 points through a 2x3 similarity (z scaled with it, for the warp's depth order)."""
    scale = float(np.sqrt(abs(np.linalg.det(matrix[:, :2]))))
    xy = points[:, :2] @ matrix[:, :2].T + matrix[:, 2]
    return np.column_stack([xy, points[:, 2] * scale])


def full_flow(source: np.ndarray, target: np.ndarray, size: int) -> np.ndarray:
    """size x size x 2 float32: for each pixel of the face at `target`, where to read it in the face at
    `source` (the studio's warp as a dense map, so a network's output can be moved the same way)."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float32)
    flow = np.stack([xs, ys], axis=-1)
    warp = compute_warp(source, target, (size, size), depth=source[:, 2])
    if warp is not None:
        x0, y0, x1, y1 = warp.roi
        flow[y0:y1, x0:x1, 0], flow[y0:y1, x0:x1, 1] = warp.map_x, warp.map_y
    return flow


def make_pair_crops(neutral_rgb: np.ndarray, neutral_pts: np.ndarray, expr_rgb: np.ndarray,
                    expr_pts: np.ndarray, size: int) -> dict[str, np.ndarray] | None:
    """The four crops of one pair and both landmark sets in crop pixels (None if alignment fails)."""
    try:
        frame = align(neutral_pts, size)
    except ValueError:
        return None
    n_pts = _points_in(frame.matrix, neutral_pts)
    to_frame, _ = cv2.estimateAffinePartial2D(expr_pts[STABLE, :2], n_pts[STABLE, :2], method=cv2.LMEDS)
    if to_frame is None:
        return None
    e_pts = _points_in(to_frame, expr_pts)
    neutral = crop(neutral_rgb, frame)
    expr = cv2.warpAffine(expr_rgb, to_frame, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
    return {"neutral": neutral, "expression": expr,
            "warp_ne": reshape_face(neutral, n_pts, e_pts), "warp_en": reshape_face(expr, e_pts, n_pts),
            "flow_en": full_flow(e_pts, n_pts, size).astype(np.float16),   # E's geometry -> N's (for the cycle)
            "neutral_points": n_pts[:, :2].astype(np.float32), "expression_points": e_pts[:, :2].astype(np.float32)}


def build_dataset(config: DataConfig, log=print) -> Path:
    """All pairs as arrays in one safetensors file under the cache (built once per crop size)."""
    from safetensors.numpy import save_file

    pairs = read_pairs(config.faces_dir, config.datasets)[: config.limit]
    key = hashlib.sha256("\n".join(f"{p.neutral_file}>{p.expression_file}" for p in pairs).encode()).hexdigest()[:12]
    out = config.cache_dir / f"pairs-v2-{config.size}-{key}.safetensors"
    if out.is_file():
        return out
    analyzer = FaceAnalyzer()
    landmarks: dict[str, tuple[np.ndarray, np.ndarray] | None] = {}

    def photo(file: str):
        if file not in landmarks:
            rgb = load_photo(config.faces_dir / file).rgb
            faces = analyzer.detect(rgb)
            landmarks[file] = (rgb, faces[0].points) if faces else None
        return landmarks[file]

    columns, kept = defaultdict(list), []
    for i, pair in enumerate(pairs):
        n, e = photo(pair.neutral_file), photo(pair.expression_file)
        crops = make_pair_crops(n[0], n[1], e[0], e[1], config.size) if n and e else None
        if crops is None:
            continue
        for name, value in crops.items():
            columns[name].append(value)
        kept.append(pair)
        if i % 200 == 0:
            log(f"pairs {i}/{len(pairs)}")
        if len(landmarks) > 64:   # photos are only needed while their pairs are made
            for file in list(landmarks)[:32]:
                del landmarks[file]
    analyzer.close()
    tensors = {name: np.ascontiguousarray(np.stack(values)) for name, values in columns.items()}
    tensors["expression_index"] = np.array([EXPRESSIONS.index(p.expression) for p in kept], np.int64)
    meta = {"pairs": json.dumps([[p.subject, p.expression, p.neutral_file, p.expression_file] for p in kept])}
    config.cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata=meta)
    tmp.replace(out)
    log(f"{len(kept)} of {len(pairs)} pairs -> {out}")
    return out


def prepare_data(config: DataConfig, log=print) -> tuple[Path, dict[str, list[str]]]:
    """The cached pairs file and the saved person split, each made once if missing."""
    path = build_dataset(config, log=log)
    split = load_or_make_split(config.split_path, [p.subject for p in read_pairs(config.faces_dir)])
    return path, split


@dataclass(frozen=True)
class PairArrays:
    """The cached pairs in memory, restricted to some people."""
    neutral: np.ndarray        # P x S x S x 3 uint8
    expression: np.ndarray
    warp_ne: np.ndarray
    warp_en: np.ndarray
    flow_en: np.ndarray            # P x S x S x 2 float16: source pixel in E-geometry for each N-geometry pixel
    neutral_points: np.ndarray     # P x 478 x 2, crop pixels
    expression_points: np.ndarray
    expression_index: np.ndarray   # P
    subjects: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.subjects)


def load_pairs(path: Path, people: list[str] | None = None) -> PairArrays:
    """The cached pairs of these people (None: everyone in the file)."""
    from safetensors import safe_open
    from safetensors.numpy import load_file

    with safe_open(str(path), framework="numpy") as f:
        meta = json.loads(f.metadata()["pairs"])
    keep = np.array([people is None or row[0] in set(people) for row in meta])
    t = load_file(str(path))
    assert t["neutral_points"].shape[1] == N_POINTS
    return PairArrays(*(t[k][keep] for k in ("neutral", "expression", "warp_ne", "warp_en", "flow_en", "neutral_points",
                                            "expression_points", "expression_index")),
                      subjects=tuple(row[0] for row, k in zip(meta, keep) if k))
