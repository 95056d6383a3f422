"""`face-studio calibrate-tracking`: how far the warp must move brows, eyes and mouth for
MediaPipe to find the movement again (geometry.tracking).

For (neutral, expression) pairs of the training people: the neutral photo is warped onto the
landmarks found on the real expression photo, with each trial gain, and its landmarks are found
again; per region, the gain at which the median drive (evaluation.drive) reaches 1 is
interpolated from the trials.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio import paths
from studio.evaluation.drive import drive
from studio.evaluation.measure import nearest_face
from studio.face.image_io import load_photo
from studio.face.mesh import DRIVE_REGIONS, STABLE
from studio.geometry.procrustes import fit_similarity
from studio.geometry.reshape import reshape_face
from studio.geometry.tracking import TrackingGain
from studio.operations.studio import Studio
from studio.synthesis.dataset import DATASETS, heldout_people, load_split, read_pairs


@dataclass(frozen=True)
class CalibrationConfig:
    faces_dir: Path
    gains: tuple[float, ...] = (1.0, 1.5, 2.0)
    pairs: int = 120                # spread over the training people's pairs
    split_path: Path = paths.WEIGHTS_DIR / "g2gan_split.json"


def calibrate(studio: Studio, config: CalibrationConfig, log=print) -> dict:
    held = heldout_people(load_split(config.split_path))
    pairs = [p for p in read_pairs(config.faces_dir, DATASETS) if p.subject not in held]
    pairs = [pairs[i] for i in np.linspace(0, len(pairs) - 1, min(config.pairs, len(pairs))).round().astype(int)]
    found = {g: {r: [] for r in DRIVE_REGIONS} for g in config.gains}
    for i, pair in enumerate(pairs):
        neutral = studio.analyze(load_photo(config.faces_dir / pair.neutral_file))
        real = studio.analyze(load_photo(config.faces_dir / pair.expression_file))
        if not neutral.faces or not real.faces:
            continue
        source, aimed = neutral.faces[0].points, real.faces[0].points
        onto = fit_similarity(aimed[STABLE], source[STABLE]).apply(aimed)   # the real landmarks in the neutral's frame
        pixels = neutral.photo.pixels()
        for g in config.gains:
            moved = TrackingGain(g, g, g).warp_target(source, onto)
            face = nearest_face(studio.analyzer.detect(reshape_face(pixels, source, moved, studio.warp)), onto)
            if face is None:
                continue
            for region, share in drive(face.points, source, aimed).items():
                if share is not None:
                    found[g][region].append(share)
        if i % 20 == 0:
            log(f"pair {i + 1}/{len(pairs)}")
    medians = {g: {r: float(np.median(v)) if v else None for r, v in by.items()} for g, by in found.items()}
    gains = {}
    for region in DRIVE_REGIONS:
        xs = [g for g in config.gains if medians[g][region] is not None]
        ys = [medians[g][region] for g in xs]
        gains[region] = float(np.interp(1.0, ys, xs)) if ys == sorted(ys) else None
    return {"pairs": len(pairs), "median_drive": {str(g): m for g, m in medians.items()}, "gain": gains}
