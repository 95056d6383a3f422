"""`face-studio eval-controls`: what each part control does to London faces, found again.

Each control is applied at its ends to each London person's neutral photo; MediaPipe finds the
face again on the output, and the measures the controls promise are taken on those landmarks:
each eye's opening (lid distance over eye width), each iris centre's place in its eye (in eye
widths), the lips' opening (over the mouth's width), the mouth corners' and brows' height.

MediaPipe reads the two eyes of one face differently when they close: the person's right eye of
a closed pair is read as more open than the same pixels mirrored into a left eye. So the eyes
are read on the output and on its mirror image, and each eye's figure is the mean of the two
readings (the detector's handedness averaged out, the picture's own asymmetry kept).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.evaluation.measure import nearest_face
from studio.face.image_io import load_photo
from studio.face.mesh import BROWS, LEFT_IRIS, LOWER_LIP_MID, MOUTH_CORNERS, RIGHT_IRIS, UPPER_LIP_MID, interocular
from studio.geometry.face_controls import CONTROLS, LEFT_LIDS, RIGHT_LIDS
from studio.operations.edit import edit
from studio.operations.recipe import EditRecipe
from studio.operations.studio import Studio

# the face's mirror image swaps the person's left and right: MediaPipe's index of each point there
EYES = {"right": (RIGHT_LIDS, RIGHT_IRIS), "left": (LEFT_LIDS, LEFT_IRIS)}


@dataclass(frozen=True)
class PartReading:
    opening: dict[str, float]      # eye -> lid distance over eye width (mean of the middle 5 pairs)
    iris: dict[str, np.ndarray]    # eye -> iris centre minus the corners' midpoint, in eye widths (x, y)
    lips: float                    # lip opening over the mouth's width
    corners: float                 # mouth corners' height (y down) in the photo's pixels
    brows: float                   # brows' height (y down) in the photo's pixels
    unit: float                    # the interocular distance, pixels


def _eye(points: np.ndarray, lids, iris) -> tuple[float, np.ndarray]:
    width = float(np.linalg.norm(points[lids[0][0], :2] - points[lids[0][-1], :2]))
    upper, lower = points[list(lids[0][2:7]), 1], points[list(lids[1][2:7]), 1]
    corners = points[[lids[0][0], lids[0][-1]], :2].mean(axis=0)
    return float((lower - upper).mean() / width), (points[iris[0], :2] - corners) / width


def read_parts(studio: Studio, rgb: np.ndarray, near: np.ndarray) -> PartReading | None:
    """The part measures of the face nearest `near` (478 landmarks) in `rgb`; None if not found."""
    face = nearest_face(studio.analyzer.detect(rgb), near)
    if face is None:
        return None
    p = face.points
    mirrored = np.ascontiguousarray(rgb[:, ::-1])
    flipped = near.copy()
    flipped[:, 0] = rgb.shape[1] - 1 - near[:, 0]
    other = nearest_face(studio.analyzer.detect(mirrored), flipped)
    opening, iris = {}, {}
    for name, (lids, ring) in EYES.items():
        opening[name], iris[name] = _eye(p, lids, ring)
        if other is not None:
            # in the mirror the person's right eye is MediaPipe's left eye, and x runs the other way
            swap = EYES["left" if name == "right" else "right"]
            mirror_opening, mirror_iris = _eye(other.points, *swap)
            opening[name] = (opening[name] + mirror_opening) / 2
            iris[name] = (iris[name] + mirror_iris * np.array([-1.0, 1.0])) / 2
    unit = interocular(p[:, :2])
    width = float(np.linalg.norm(p[MOUTH_CORNERS[0], :2] - p[MOUTH_CORNERS[1], :2]))
    return PartReading(opening, iris, float((p[LOWER_LIP_MID, 1] - p[UPPER_LIP_MID, 1]) / width),
                       float(p[list(MOUTH_CORNERS), 1].mean()), float(p[BROWS, 1].mean()), unit)


@dataclass(frozen=True)
class ControlsConfig:
    london_dir: Path
    people: int | None = None


def run_controls(studio: Studio, config: ControlsConfig, log=print) -> dict:
    """Per control at each end (and person), the change of every measure from the photo."""
    people = sorted({p.name.split("_")[0] for p in config.london_dir.glob("*_03.jpg")})[:config.people]
    rows = []
    for k, person in enumerate(people):
        a = studio.analyze(load_photo(config.london_dir / f"{person}_03.jpg"))
        if not a.faces:
            continue
        near = a.faces[0].points
        base = read_parts(studio, a.photo.pixels(), near)
        for control in CONTROLS:
            for value in sorted({control.minimum, control.maximum} - {0.0}):
                out = edit(studio, a, EditRecipe(controls={control.name: value})).photo.pixels()
                reading = read_parts(studio, out, near)
                if reading is None or base is None:
                    continue
                rows.append({"person": person, "control": control.name, "value": value,
                             **changes(base, reading)})
        log(f"controls: {k + 1}/{len(people)}")
    return {"rows": rows, "summary": summarize(rows)}


def changes(base: PartReading, now: PartReading) -> dict:
    return {"opening_right": now.opening["right"], "opening_left": now.opening["left"],
            "opening_right_was": base.opening["right"], "opening_left_was": base.opening["left"],
            "iris_dx": float(np.mean([now.iris[e][0] - base.iris[e][0] for e in EYES])),
            "iris_dy": float(np.mean([now.iris[e][1] - base.iris[e][1] for e in EYES])),
            "lips": now.lips, "lips_was": base.lips,
            # in the photo's interocular distance (an eye that closes changes the output's own)
            "corners_dy": (now.corners - base.corners) / base.unit, "brows_dy": (now.brows - base.brows) / base.unit}


def summarize(rows: list[dict]) -> dict:
    """Per control and value: the median of each measure, and how many faces met its promise."""
    out = {}
    for key in sorted({(r["control"], r["value"]) for r in rows}):
        group = [r for r in rows if (r["control"], r["value"]) == key]
        median = {m: float(np.median([r[m] for r in group])) for m in group[0] if m not in ("person", "control", "value")}
        met = [promise(key[0], key[1], r) for r in group]
        out[f"{key[0]}={key[1]:g}"] = {"faces": len(group), "median": median,
                                       "met": None if met[0] is None else int(sum(met))}
    return out


def promise(control: str, value: float, r: dict) -> bool | None:
    """Whether one face's reading meets what the control promises (issue 20's checks)."""
    if control == "gaze_x":
        return r["iris_dx"] * np.sign(value) >= 0.15
    if control == "blink" and value == 1:
        return max(r["opening_right"], r["opening_left"]) < 0.08
    if control in ("wink_left", "wink_right") and value == 1:
        shut, kept = ("left", "right") if control == "wink_left" else ("right", "left")
        return r[f"opening_{shut}"] < 0.08 and abs(r[f"opening_{kept}"] / r[f"opening_{kept}_was"] - 1) <= 0.1
    if control == "mouth_open" and value == 1:
        return r["lips"] >= 0.25
    if control == "smile":
        return r["corners_dy"] * -np.sign(value) > 0.02    # corners up (y down) for a smile
    if control == "brows_raise":
        return r["brows_dy"] * -np.sign(value) > 0.02
    return None
