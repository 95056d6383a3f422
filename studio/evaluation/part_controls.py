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
    mouth_width: float             # between the mouth's corners, pixels
    mouth_x: float                 # the lips' centre, pixels
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
                       float(p[list(MOUTH_CORNERS), 1].mean()), float(p[BROWS, 1].mean()), width,
                       float(p[list(MOUTH_CORNERS), 0].mean()), unit)


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
            "corners_dy": (now.corners - base.corners) / base.unit, "brows_dy": (now.brows - base.brows) / base.unit,
            "mouth_width": (now.mouth_width - base.mouth_width) / base.unit, "mouth_dx": (now.mouth_x - base.mouth_x) / base.unit}


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
    if control == "mouth_x":
        return r["mouth_dx"] * np.sign(value) > 0.02      # +: the person's left, the image's +x
    if control in ("pout", "purse", "vowel_oo"):
        return r["mouth_width"] < -0.02
    if control in ("grin", "vowel_ee"):
        return r["mouth_width"] > 0.02
    if control == "gaze_y":
        return r["iris_dy"] * -np.sign(value) > 0.03
    return None


PROMISES = {   # what `promise` checks, in words, for the results page
    "gaze_x": "irises moved >= 15% of the eye's width that way (both eyes' mean)",
    "blink": "both eyes' opening < 0.08",
    "wink_left": "left eye < 0.08, right eye within 10%",
    "wink_right": "right eye < 0.08, left eye within 10%",
    "mouth_open": "lips open >= 0.25 of the mouth's width",
    "smile": "mouth corners moved > 0.02 IOD that way",
    "brows_raise": "brows moved > 0.02 IOD that way",
    "mouth_x": "mouth moved > 0.02 IOD that way",
    "pout": "mouth narrower by > 0.02 IOD", "purse": "mouth narrower by > 0.02 IOD",
    "vowel_oo": "mouth narrower by > 0.02 IOD", "grin": "mouth wider by > 0.02 IOD",
    "vowel_ee": "mouth wider by > 0.02 IOD",
    "gaze_y": "irises moved > 3% of the eye's width that way",
}
GRID = (("none", {}), ("blink", {"blink": 1.0}), ("wink_left", {"wink_left": 1.0}),
        ("gaze_x=1", {"gaze_x": 1.0}), ("gaze_x=-1", {"gaze_x": -1.0}), ("gaze_y=1", {"gaze_y": 1.0}),
        ("eyes_open=1", {"eyes_open": 1.0}), ("brows_raise=1", {"brows_raise": 1.0}),
        ("brows_frown", {"brows_frown": 1.0}), ("mouth_open", {"mouth_open": 1.0}), ("smile=1", {"smile": 1.0}),
        ("smile=-1", {"smile": -1.0}), ("grin", {"grin": 1.0}), ("pout", {"pout": 1.0}),
        ("vowel_oo", {"vowel_oo": 1.0}), ("mouth_x=1", {"mouth_x": 1.0}))


def grid(studio: Studio, london_dir: Path, people: list[str], tile: int = 240) -> np.ndarray:
    """Rows of people, columns GRID: the face from brows to chin at `tile` px wide, each control."""
    import cv2

    from studio.face.mesh import FACE_OVAL

    rows = []
    for person in people:
        a = studio.analyze(load_photo(london_dir / f"{person}_03.jpg"))
        if not a.faces:
            continue
        oval = a.faces[0].points[FACE_OVAL, :2]
        x0, y0 = np.floor(oval.min(axis=0)).astype(int)
        x1, y1 = np.ceil(oval.max(axis=0)).astype(int)
        y0 = int(y0 + 0.15 * (y1 - y0))        # from the brows down: where the controls act
        tiles = []
        for label, controls in GRID:
            out = edit(studio, a, EditRecipe(controls=controls)).photo.pixels()[..., :3]
            crop = out[max(y0, 0):y1, max(x0, 0):x1]
            crop = cv2.resize(crop, (tile, int(round(tile * crop.shape[0] / crop.shape[1]))), interpolation=cv2.INTER_AREA)
            tiles.append(crop)
        height = min(t.shape[0] for t in tiles)
        rows.append(np.concatenate([t[:height] for t in tiles], axis=1))
    width = min(r.shape[1] for r in rows)
    return np.concatenate([r[:, :width] for r in rows], axis=0)


def write_results(studio: Studio, results: dict, out: Path, london_dir: Path, backend: str,
                  grid_people: int = 3) -> list[Path]:
    """results.json, grid.jpg (the controls on London faces) and README.md."""
    import json

    from PIL import Image

    from studio.face.image_io import write_atomic

    out.mkdir(parents=True, exist_ok=True)
    written = []
    path = out / "results.json"
    data = {"backend": backend, "summary": results["summary"], "rows": results["rows"]}
    write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1)))
    written.append(path)
    people = sorted({r["person"] for r in results["rows"]})[:grid_people]
    picture = grid(studio, london_dir, people)
    path = out / "grid.jpg"
    write_atomic(path, lambda tmp: Image.fromarray(picture).save(tmp, format="JPEG", quality=92))
    written.append(path)
    lines = ["# Part controls on London faces", "",
             "`face-studio eval-controls --out docs/controls`: each control at its ends on each London "
             f"person's neutral photo ({backend} backend), the face found again by MediaPipe on the output "
             "(each eye read on the output and on its mirror image, the detector's handedness averaged out).", "",
             "| control | faces | met | what is checked | medians: opening right / left, iris dx / dy, lips, corners dy, brows dy, mouth width / dx |",
             "|---|---|---|---|---|"]
    for key, row in results["summary"].items():
        name = key.split("=")[0]
        m = row["median"]
        met = "-" if row["met"] is None else f"{row['met']}/{row['faces']}"
        lines.append(f"| {key} | {row['faces']} | {met} | {PROMISES.get(name, '') if row['met'] is not None else ''} | "
                     f"{m['opening_right']:.3f} / {m['opening_left']:.3f}, {m['iris_dx']:+.3f} / {m['iris_dy']:+.3f}, "
                     f"{m['lips']:.3f}, {m['corners_dy']:+.3f}, {m['brows_dy']:+.3f}, "
                     f"{m['mouth_width']:+.3f} / {m['mouth_dx']:+.3f} |")
    lines += ["", "Openings are lid distance over eye width (the photos' median: "
              f"{np.median([r['opening_right_was'] for r in results['rows']]):.3f}); iris dx in eye widths "
              "(+: the person's left; dy: negative is up); lips over the mouth's width; corners, brows and "
              "the mouth's width and sideways move in interocular distances (y down: negative is up).", "", "![controls](grid.jpg)", "",
              "Columns: " + ", ".join(label for label, _ in GRID) + ". London set, CC BY 4.0 (DeBruine & Jones 2017)."]
    path = out / "README.md"
    write_atomic(path, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    written.append(path)
    return written
