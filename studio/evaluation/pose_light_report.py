"""`eval-pose-light`: run the pose and light measurements and write their page."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.evaluation.pose_light import (
    AZIMUTHS,
    FIXED_YAW,
    grid,
    light_sweep,
    measure_pose,
    pose_cases,
    preset_brightness,
    STEP_CASES,
    outline_steps,
    revealed_texture,
    turned_shade,
    summarize_pose,
)
from studio.face.image_io import Photo, load_photo, save_photo, write_atomic
from studio.operations.studio import Studio
from studio.recognition.identity import THRESHOLD, IdentityModel


@dataclass(frozen=True)
class PoseLightConfig:
    faces_dir: Path
    london_dir: Path                # the London fixtures: light sweeps and the grid
    people: str = "test"            # KDEF people: the split's test people, or "all"
    limit: int | None = None        # at most this many pose cases


def run_pose_light(config: PoseLightConfig, studio: Studio, identity: IdentityModel | None, log=print) -> dict:
    start = time.perf_counter()
    cases = pose_cases(config.faces_dir, config.people)[:config.limit]
    analyzed: dict = {}
    records = []
    for i, case in enumerate(cases):
        records.append(measure_pose(studio, identity, config.faces_dir, case, analyzed))
        if (i + 1) % 10 == 0:
            log(f"pose {i + 1}/{len(cases)}")
    light = {}
    frontal = sorted({c.frontal for c in cases})
    for file in frontal:
        light[file] = light_sweep(studio, analyzed[file])
    london_paths = sorted(config.london_dir.glob("*_03.jpg"))
    london = [studio.analyze(load_photo(p)) for p in london_paths]
    for photo, path in zip(london, london_paths):
        light[f"london/{path.name}"] = light_sweep(studio, photo) | {"presets": preset_brightness(studio, photo)}
    texture = [t | {"photo": path.stem.split("_")[0]} for photo, path in zip(london, london_paths)
               for yaw in (-25, 25) if (t := revealed_texture(studio, photo, yaw))]
    shade = [t | {"photo": path.stem.split("_")[0]} for photo, path in zip(london, london_paths)
             for yaw in (-25, 25) if (t := turned_shade(studio, photo, yaw))]
    steps = {name: [outline_steps(studio, photo, recipe) for photo in london] for name, recipe in STEP_CASES}
    return {"pose": summarize_pose(records), "pose_records": records, "light": light,
            "texture": {"cases": len(texture),
                        "vs_other_cheek": float(np.mean([t["vs_other_cheek"] for t in texture])) if texture else None,
                        "vs_other_cheek_skin": float(np.mean([t["vs_other_cheek_skin"] for t in texture])) if texture else None,
                        "vs_cheek_skin": float(np.mean([t["vs_cheek_skin"] for t in texture])) if texture else None,
                        "records": texture},
            "shade": {"cases": len(shade),
                      "turned": float(np.mean([t["turned"] for t in shade])) if shade else None,
                      "unturned": float(np.mean([t["unturned"] for t in shade])) if shade else None,
                      "records": shade},
            "steps": {name: {part: float(max(r[part] for r in rows)) for part in rows[0]}
                      for name, rows in steps.items() if rows},
            "light_summary": {
                "photos": len(light),
                "monotonic": float(np.mean([v["monotonic"] for v in light.values()])),
                "balance_by_azimuth": [float(np.mean([v["balance"][k] for v in light.values()]))
                                       for k in range(len(AZIMUTHS))],
                "presets": {n: float(np.mean([v["presets"][n] for v in light.values() if "presets" in v]))
                            for n in ("weak", "dark", "left", "right", "top")} if london else {}},
            "grid": grid(studio, london[:4]) if london else None,
            "seconds": time.perf_counter() - start, "backend": studio.backend,
            "identity": identity is not None}


def _f(value, digits=3, suffix=""):
    return "-" if value is None else f"{value:.{digits}f}{suffix}"


def markdown(results: dict, command: str, grid_file: str | None) -> str:
    pose, light = results["pose"], results["light_summary"]
    lines = [
        "# Pose and light: measured",
        "",
        f"Made by `{command}` in {results['seconds']:.0f} s (backend: {results['backend']}).",
        "",
        "## Head turns against real half profiles (KDEF)",
        "",
        f"{pose['people']} people, {pose['cases']} half profiles (left and right), neutral, session A. The "
        "frontal photo is turned by the yaw the real half profile shows (estimated on both photos from "
        f"the shape model's fit of the landmarks; mean {_f(pose['shown_yaw_abs'], 1)} degrees, although "
        "KDEF's nominal angle is 45), and by a fixed 30 degrees towards the same side. Each output is "
        "judged after detecting its landmarks again.",
        "",
        "| turn | asked (mean abs) | re-estimated | mean abs error | reached | re-detected | "
        "landmark error vs the real half profile (IOD) | identity distance | same person |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, title in (("to_profile", "to the half profile's yaw"), ("fixed", f"fixed {FIXED_YAW:g} degrees")):
        row = pose[name]
        lines.append(f"| {title} | {_f(row['target_yaw_abs'], 1)} | {_f(row['estimated_yaw_abs'], 1)} | "
                     f"{_f(row['yaw_error'], 1)} | {_f(row['yaw_reached'] and 100 * row['yaw_reached'], 0, '%')} | "
                     f"{_f(100 * row['redetected'], 0, '%')} | {_f(row['landmark_error'])} | "
                     f"{_f(row['identity_distance'])} | {_f(row['same_person'] and 100 * row['same_person'], 0, '%')} |")
    lines += [
        "",
        f"- Landmark error of the frontal photo itself against the half profile (no edit): "
        f"{_f(pose['no_edit_error'])} IOD; the turned target landmarks (what the turn aims for) are at "
        f"{_f(pose['to_profile']['target_error'])}.",
        f"- Identity distance between the real frontal and half-profile photos of the same person: "
        f"{_f(pose['real_identity_distance'])} (dlib; same person below {THRESHOLD}).",
        "- The landmarks found on the turned photos sit as close to the real half profile as the turn's "
        "own target does: in 2D the turn lands where it aims. Their yaw reads lower than asked because "
        "MediaPipe infers depth from the picture, and the hair, ears and outline beyond the face mesh "
        "turn only partly (they follow the face smoothly, fading to still at 1.7 face widths); MediaPipe "
        "also reads the real half profiles about 5 degrees short of KDEF's nominal 45.",
        "",
        "## Light direction and brightness balance",
        "",
        f"The light swept over azimuths {', '.join(str(a) for a in AZIMUTHS)} degrees (elevation 0) on "
        f"{light['photos']} frontal photos (the KDEF people above and the London fixtures). Balance = mean "
        "brightness of the face's image-left half over its image-right half.",
        "",
        "| azimuth | " + " | ".join(str(a) for a in AZIMUTHS) + " |",
        "|---|" + "---|" * len(AZIMUTHS),
        "| mean balance | " + " | ".join(f"{b:.3f}" for b in light["balance_by_azimuth"]) + " |",
        "",
        f"The balance falls at every step for {100 * light['monotonic']:.0f}% of the photos. The light "
        "can also come from the side (90) and from behind (up to 180: a rim light on the hair's and "
        "body's outline, from the person's silhouette), with the face's own cast shadows and the "
        "chin's on the neck.",
    ]
    steps = results.get("steps") or {}
    if steps:
        lines += ["", "## Steps in the light", "",
                  "Does a light draw an edge the photo does not have? The relit photo's mean gradient of log "
                  "brightness against the same edit under the photo's own light, 3% of the face's width either "
                  "side of an outline: that of the face mesh above the nose tip (where its shading meets the "
                  "hair and the rest of the head), the rest of it (the jaw: there the chin's shadow on the neck "
                  "is meant to be an edge) and the person's outline against the backdrop. 1 = as in the photo; "
                  "above 1 = a new edge. The person's outline is an edge the photo has: a light that puts "
                  "one side of the hair or neck in shade makes it stronger there (and the backdrop just "
                  "beside it changes as the backdrop far from it does: no halo). The largest over the "
                  "London fixtures:", "",
                  "| light | face outline | jaw (chin's shadow) | person's outline |", "|---|---|---|---|"]
        for name, row in steps.items():
            lines.append(f"| {name} | {_f(row.get('face_outline'))} | {_f(row.get('jaw_outline'))} | "
                         f"{_f(row.get('person_outline'))} |")
    texture = results.get("texture") or {}
    if texture.get("cases"):
        lines += ["", "## What a turn reveals: texture", "",
                  f"London faces turned 25 degrees both ways ({texture['cases']} turns that reveal a part of the "
                  "face the photo saw edge-on). Detail = variance of the Laplacian of the gray image, inside the "
                  "revealed triangles of the output (2 px in from their edges); against the same triangles of "
                  "the other cheek in the input (in a frontal photo a sliver along the outline, where hair "
                  "strands and the ear's edge add to it), against the other cheek's skin beside that sliver "
                  "(the triangles within 3 of it that the photo saw well, off the eyes, brows, lips and nose, "
                  "and of them only the pixels of the cheek's colour: no hair strands) and against the middle "
                  "of the cheek the photo saw most squarely (plain skin; the fill takes the detail of the skin "
                  "beside the revealed part, and this swatch's where that is an eye, brow, lip, the nose or "
                  "the outline):", "",
                  "| turn | revealed / other cheek | revealed / other cheek's skin | revealed / cheek skin |",
                  "|---|---|---|---|"]
        lines += [f"| {r.get('photo', '')} yaw {r['yaw']:+g} | {r['vs_other_cheek']:.2f} | "
                  f"{_f(r.get('vs_other_cheek_skin'), 2)} | {r['vs_cheek_skin']:.2f} |" for r in texture["records"]]
        lines += [f"| mean | {texture['vs_other_cheek']:.2f} | {_f(texture.get('vs_other_cheek_skin'), 2)} | "
                  f"{texture['vs_cheek_skin']:.2f} |"]
    shade = results.get("shade") or {}
    if shade.get("cases"):
        lines += ["", "## What a turn carries: the shade of a side", "",
                  "The photo's light stays where it was while the head turns (`studio/geometry/turn_light.py`): "
                  "skin the photo saw from the side, shaded, and brought round to face the camera would carry "
                  "its shade as a grey band down the cheek. Depth of the deepest band of shade across the "
                  "cheek the turn brings round (L*, how far the cheek dips below the brighter skin either side "
                  "of it, median over the rows from below the eyes to the mouth; the outline and the nose left "
                  "out), on the turned photo and on the same cheek of the photo itself:", "",
                  "| turn | turned | photo |", "|---|---|---|"]
        lines += [f"| {r.get('photo', '')} yaw {r['yaw']:+g} | {r['turned']:.1f} | {r['unturned']:.1f} |"
                  for r in shade["records"]]
        lines += [f"| mean | {shade['turned']:.1f} | {shade['unturned']:.1f} |"]
    if light["presets"]:
        lines += ["", "Mean face brightness of each preset relative to the photo (London): " +
                  ", ".join(f"{n} {v:.2f}" for n, v in light["presets"].items()) + "."]
    if grid_file:
        lines += ["", "## Turned and relit (London fixtures, CC BY 4.0)", "", f"![grid]({grid_file})"]
    return "\n".join(lines) + "\n"


def summary(results: dict) -> dict:
    return {k: v for k, v in results.items() if k not in ("grid", "pose_records")}


def write_results(results: dict, out_dir: Path, command: str) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    grid_name = None
    if results["grid"] is not None:
        written.append(save_photo(Photo(results["grid"]), out_dir / "grid.jpg"))
        grid_name = "grid.jpg"
    for name, text in (("results.json", json.dumps(summary(results), indent=1) + "\n"),
                       ("records.jsonl", "".join(json.dumps(r) + "\n" for r in results["pose_records"])),
                       ("README.md", markdown(results, command, grid_name))):
        write_atomic(out_dir / name, lambda tmp, text=text: Path(tmp).write_text(text))
        written.append(out_dir / name)
    return written
