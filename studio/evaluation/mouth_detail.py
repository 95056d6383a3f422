"""`face-studio eval-mouth`: how much detail an edited open mouth has, against real smiles.

For each London person (neutral `_03`, smiling `_08`), the neutral photo is edited: the smile
preset, reenactment of the person's own smile (the neutral photo given the real smile's movement),
and the surprise and fear presets, which open the mouth too. On each output MediaPipe finds the
lips again; the mouth is brought to one size (its corners MOUTH_WIDTH px apart) and the detail
inside the open lips is the variance of the Laplacian of its brightness. The same is measured on
the person's real smile, when it shows an open mouth. A painted interior (a soft band of teeth
over a dark cavity) has little of it; real teeth, their gaps and the lips' edges have much.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np

from studio.evaluation.measure import nearest_face
from studio.face.image_io import load_photo
from studio.face.mesh import INNER_LIPS
from studio.operations.edit import edit, render_expression
from studio.operations.recipe import EditRecipe
from studio.operations.studio import Studio
from studio.operations.transfer import expression_of
from studio.synthesis.mouth_bank import CROP, MOUTH_WIDTH, mouth_frame

GRID_PEOPLE = 6
MIN_OPENING = 0.08       # of the mouth's width: a mouth opened less is closed (nothing to measure)
EDITS = ("real smile", "smile preset", "own smile reenacted", "surprise preset", "fear preset")
PAINTED = "painted: "    # the same edit with the painted cavity the bank replaces


REAL_CLASSES = ("happiness", "surprise", "fear")
REAL_SETS = ("kdef", "taiwanese")


@dataclass(frozen=True)
class MouthConfig:
    london_dir: Path
    people: int | None = None      # only the first N people
    faces_dir: Path | None = None  # the face sets' manifest: real surprise and fear mouths too
    per_class: int = 40            # real photos measured per set and class


@dataclass(frozen=True)
class MouthCrop:
    detail: float | None           # variance of the Laplacian inside the open lips; None: closed
    opening: float                 # inner lips' height over the mouth's width
    crop: np.ndarray               # RGB, the mouth at MOUTH_WIDTH


def without_own_teeth(studio: Studio, subject: str) -> Studio:
    """The studio with the mouth bank less the person's own smile: the bank is built from the
    London smiles, and a London person's edit measured against their own teeth would flatter it."""
    return studio if studio.mouths is None else replace(studio, mouths=studio.mouths.without(subject))


def measure_mouth(rgb: np.ndarray, points: np.ndarray) -> MouthCrop:
    """The detail inside the open mouth of a face whose 478 landmarks are `points`, in the mouth
    frame the bank's entries use (upright, corners MOUTH_WIDTH apart)."""
    m = mouth_frame(points)
    scale = float(np.hypot(m[0, 0], m[0, 1]))
    crop = cv2.warpAffine(rgb[..., :3], m, CROP, flags=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC,
                          borderMode=cv2.BORDER_REFLECT)
    inner = np.c_[points[INNER_LIPS, :2], np.ones(len(INNER_LIPS))] @ m.T
    opening = float(np.ptp(inner[:, 1]) / MOUTH_WIDTH)
    mask = np.zeros(CROP[::-1], np.uint8)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((5, 5), np.uint8))   # the lips' own edge is not the inside
    if opening < MIN_OPENING or mask.sum() < 40:
        return MouthCrop(None, opening, crop)
    luma = cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY).astype(np.float32)
    lap = cv2.Laplacian(luma, cv2.CV_32F, ksize=3)
    return MouthCrop(float(lap[mask > 0].var()), opening, crop)


def _edits(studio: Studio, neutral, smile) -> dict[str, np.ndarray]:
    outputs = {"smile preset": edit(studio, neutral, EditRecipe(presets={"happiness": 1.0})).photo.pixels()}
    if smile is not None:
        p = expression_of(studio.model, smile.fits[0], neutral.fits[0])
        outputs["own smile reenacted"] = render_expression(studio, neutral, 0, p).photo.pixels()
    for preset in ("surprise", "fear"):
        outputs[f"{preset} preset"] = edit(studio, neutral, EditRecipe(presets={preset: 1.0})).photo.pixels()
    return outputs


def run_mouth_detail(studio: Studio, config: MouthConfig, log=print) -> dict:
    """Per person and edit, the mouth's detail and opening; and each edit's median detail as a
    share of the real smiles' median (the people whose real smile is open)."""
    people = sorted({p.name.split("_")[0] for p in config.london_dir.glob("*_03.jpg")})[:config.people]
    rows, crops = [], {}
    for k, person in enumerate(people):
        neutral = studio.analyze(load_photo(config.london_dir / f"{person}_03.jpg"))
        smile = studio.analyze(load_photo(config.london_dir / f"{person}_08.jpg"))
        if not neutral.faces:
            continue
        smile = smile if smile.faces else None
        found = {}
        edit_with = without_own_teeth(studio, f"london-{person}")
        if smile is not None:
            found["real smile"] = measure_mouth(smile.photo.pixels(), smile.faces[0].points)
        edited = _edits(edit_with, neutral, smile)
        if studio.mouths is not None:   # before the bank: the painted cavity, for comparison
            edited |= {f"{PAINTED}{name}": rgb for name, rgb in _edits(replace(studio, mouths=None), neutral, smile).items()}
        for name, rgb in edited.items():
            face = nearest_face(studio.analyzer.detect(rgb), neutral.faces[0].points)
            if face is not None:
                found[name] = measure_mouth(rgb, face.points)
        rows.append({"person": person, **{name: {"detail": m.detail, "opening": round(m.opening, 3)}
                                          for name, m in found.items()}})
        crops[person] = {name: m.crop for name, m in found.items()}
        log(f"mouths: {k + 1}/{len(people)}")
    summary = summarize(rows)
    if config.faces_dir is not None and (config.faces_dir / "manifest.csv").is_file():
        summary["real_classes"] = real_classes(studio, config.faces_dir, config.per_class, log)
    return {"rows": rows, "summary": summary, "crops": crops}


def real_classes(studio: Studio, faces_dir: Path, per_class: int, log=print) -> dict:
    """Per research set and class (frontal photos, a fixed sample): the median detail of the open
    mouths and its share of the same set's smiles. A surprised mouth is mostly dark inside, so
    real ones have far less detail than real smiles: what an edit's share is to be read against."""
    import csv
    import random

    with open(faces_dir / "manifest.csv", newline="") as f:
        rows = [r for r in csv.DictReader(f) if r["dataset"] in REAL_SETS and r["yaw"] == "0"
                and r["expression"] in REAL_CLASSES]
    out = {}
    for dataset in REAL_SETS:
        out[dataset] = {}
        for expression in REAL_CLASSES:
            chosen = sorted(r["file"] for r in rows if r["dataset"] == dataset and r["expression"] == expression)
            random.Random(0).shuffle(chosen)
            details = []
            for name in chosen[:per_class]:
                a = studio.analyze(load_photo(faces_dir / name))
                if a.faces:
                    m = measure_mouth(a.photo.pixels(), a.faces[0].points)
                    if m.detail is not None:
                        details.append(m.detail)
            out[dataset][expression] = {"open": len(details), "median": float(np.median(details)) if details else None}
        smile = out[dataset]["happiness"]["median"]
        for row in out[dataset].values():
            row["share_of_smiles"] = None if not smile or row["median"] is None else row["median"] / smile
        log(f"mouths: real {dataset} photos measured")
    return out


def summarize(rows: list[dict]) -> dict:
    def details(name):
        return [r[name]["detail"] for r in rows if name in r and r[name]["detail"] is not None]

    real = details("real smile")
    reference = float(np.median(real)) if real else None
    out = {"mouth_width_px": MOUTH_WIDTH, "real_open": len(real), "real_median": reference}
    for name in EDITS[1:] + tuple(PAINTED + e for e in EDITS[1:]):
        values = details(name)
        if not values and name.startswith(PAINTED):
            continue
        median = float(np.median(values)) if values else None
        out[name] = {"open": len(values), "median": median,
                     "share_of_real": None if median is None or not reference else median / reference}
    return out


GRID_COLUMNS = ("real smile", f"{PAINTED}smile preset", "smile preset", f"{PAINTED}surprise preset",
                "surprise preset", f"{PAINTED}fear preset", "fear preset")


def grid(crops: dict, people: list[str]) -> np.ndarray:
    """Rows of people; columns GRID_COLUMNS (the real smile, then each preset before and after
    the bank), each a mouth crop at MOUTH_WIDTH (grey where not found)."""
    blank = np.full((CROP[1], CROP[0], 3), 128, np.uint8)
    return np.concatenate([np.concatenate([crops[p].get(name, blank) for name in GRID_COLUMNS], axis=1)
                           for p in people if p in crops], axis=0)


def write_results(results: dict, out: Path, backend: str) -> list[Path]:
    """results.json, grid.png (mouths at MOUTH_WIDTH: real smile, then each edit) and README.md."""
    import json

    from PIL import Image

    from studio.face.image_io import write_atomic

    out.mkdir(parents=True, exist_ok=True)
    people = [r["person"] for r in results["rows"]][:GRID_PEOPLE]
    written = []
    data = {"backend": backend, "summary": results["summary"], "rows": results["rows"]}
    path = out / "results.json"
    write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1)))
    written.append(path)
    path = out / "grid.png"
    picture = grid(results["crops"], people)
    write_atomic(path, lambda tmp: Image.fromarray(picture).save(tmp, format="PNG"))
    written.append(path)
    s = results["summary"]
    lines = ["# Mouths: detail inside an edited open mouth", "",
             "`face-studio eval-mouth --out docs/mouths` (London people; the mouth bank never lends a "
             "person their own teeth). The variance of the Laplacian of brightness inside the open lips, "
             f"the mouth brought to {MOUTH_WIDTH} px between its corners; {backend} backend.", "",
             "| | open mouths | median detail | share of real smiles |", "|---|---|---|---|",
             f"| real smiles | {s['real_open']} | {s['real_median']:.0f} | 100% |"]
    for name in EDITS[1:]:
        for label in (PAINTED + name, name):
            if label in s:
                row = s[label]
                share = "-" if row["share_of_real"] is None else f"{100 * row['share_of_real']:.0f}%"
                lines.append(f"| {label} | {row['open']} | {row['median'] or 0:.0f} | {share} |")
    if "real_classes" in s:
        lines += ["", "Real open mouths of each class, against real smiles of the same set (frontal photos, "
                  "the same measure; research sets, so no pictures):", "",
                  "| set | " + " | ".join(REAL_CLASSES) + " |", "|---|" + "---|" * len(REAL_CLASSES)]
        for dataset, row in s["real_classes"].items():
            cells = [f"{100 * row[c]['share_of_smiles']:.0f}% ({row[c]['open']} open)"
                     if row[c]["share_of_smiles"] is not None else "-" for c in REAL_CLASSES]
            lines.append(f"| {dataset} | " + " | ".join(cells) + " |")
    lines += ["", "![mouths](grid.png)", "",
              f"Columns: {', '.join(GRID_COLUMNS)} (painted: the cavity drawn before the mouth bank); grey "
              "where the mouth was not found. The mouths are at about the photos' own size. London set, "
              "CC BY 4.0 (DeBruine & Jones 2017)."]
    path = out / "README.md"
    write_atomic(path, lambda tmp: Path(tmp).write_text("\n".join(lines) + "\n"))
    written.append(path)
    return written
