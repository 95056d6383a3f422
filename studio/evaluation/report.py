"""The eval's results as files: Markdown tables (the docs' results page), JSON, matplotlib plots of
accuracy and identity by intensity for each preset, and a labelled picture of London faces."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from studio.evaluation.cases import TASKS
from studio.evaluation.run import NO_EDIT, REAL
from studio.face.image_io import Photo, write_atomic
from studio.recognition.expression import CLASSES

SET_TITLES = {"test": "Test people (KDEF and Taiwanese, never trained on)",
              "val": "Validation people (KDEF and Taiwanese)",
              "london": "London set (another photographer, never trained on)"}


def _pct(v) -> str:
    return "-" if v is None else f"{100 * v:.1f}"


def _num(v, digits: int) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 90 else f"{seconds / 60:.0f} minutes"


def summary_table(tables: dict) -> list[str]:
    lines = ["| task | row | expression accuracy (%) | same person (%) | identity distance | "
             "landmark error (IOD) | PSNR (dB) | SSIM |", "|---|---|---|---|---|---|---|---|"]
    for task in TASKS:
        for row, s in tables.get(task, {}).items():
            lines.append(f"| {task} | {row} | {_pct(s['accuracy'])} | {_pct(s['verified'])} | "
                         f"{_num(s['identity_distance'], 3)} | {_num(s['landmark_error'], 4)} | "
                         f"{_num(s['psnr'], 2)} | {_num(s['ssim'], 3)} |")
    return lines


def class_table(tables: dict) -> list[str]:
    lines = ["| task | row | " + " | ".join(CLASSES) + " |", "|---|---" + "|---" * len(CLASSES) + "|"]
    for task in TASKS:
        for row, s in tables.get(task, {}).items():
            if row == NO_EDIT and task != "removal":
                continue   # a neutral input is never the asked expression: all zeros
            lines.append(f"| {task} | {row} | " + " | ".join(_pct(s["per_class"].get(c)) for c in CLASSES) + " |")
    return lines


def preset_table(sweep: dict, intensity: float = 1.0) -> list[str]:
    if not sweep:
        return []
    presets = list(next(iter(sweep.values())))
    lines = ["| backend | " + " | ".join(presets) + " | same person (%) |", "|---" * (len(presets) + 2) + "|"]
    for backend, by_preset in sweep.items():
        at = {p: next(r for r in rows if abs(r["intensity"] - intensity) < 1e-9) for p, rows in by_preset.items()
              if any(abs(r["intensity"] - intensity) < 1e-9 for r in rows)}
        if not at:
            continue
        verified = [r["verified"] for r in at.values() if r["verified"] is not None]
        lines.append(f"| {backend} | " + " | ".join(_pct(at[p]["accuracy"]) for p in presets if p in at) +
                     f" | {_pct(np.mean(verified)) if verified else '-'} |")
    return lines


def drive_table(tables: dict) -> list[str]:
    """Per task, row and target class: the median drive of brows / eyes / mouth."""
    lines = ["| task | row | " + " | ".join(CLASSES[1:]) + " | all |", "|---|---" + "|---" * len(CLASSES) + "|"]

    def cell(d):
        return "/".join(_num(d.get(r), 2) for r in ("brows", "eyes", "mouth")) if d else "-"

    for task in TASKS:
        for row, s in tables.get(task, {}).items():
            if row in (REAL, NO_EDIT) or not s.get("drive"):
                continue
            per = s.get("drive_per_class") or {}
            lines.append(f"| {task} | {row} | " + " | ".join(cell(per.get(c)) for c in CLASSES[1:]) +
                         f" | {cell(s['drive'])} |")
    return lines


# each intensity's reference: the median real photo of the class at 1, a strong one (90th percentile) at 1.5
MOVEMENT_REFERENCES = ((1.0, "movement_per_class", "median"), (1.5, "movement_strong_per_class", "90th pct."))


def movement_table(sweep: dict, tables: dict) -> list[str]:
    """Each preset's movement of brows / eyes / mouth over that of its class's real photos: the
    median one at intensity 1, a strong one at 1.5."""
    real_row = tables.get("synthesis", {}).get(REAL) or {}
    if not sweep or not real_row.get("movement_per_class"):
        return []
    presets = list(next(iter(sweep.values())))
    lines = ["| backend | intensity, over real photo | " + " | ".join(presets) + " |",
             "|---|---" + "|---" * len(presets) + "|"]
    for backend, by_preset in sweep.items():
        for t, key, label in MOVEMENT_REFERENCES:
            real = real_row.get(key) or {}
            cells = []
            for p in presets:
                row = next((r for r in by_preset[p] if abs(r["intensity"] - t) < 1e-9), None)
                made, wanted = (row or {}).get("movement"), real.get(p)
                cells.append("/".join(_num(made[r] / wanted[r], 2) if made and wanted and wanted.get(r) else "-"
                                      for r in ("brows", "eyes", "mouth")) if made and wanted else "-")
            lines.append(f"| {backend} | {t:g}, {label} | " + " | ".join(cells) + " |")
    return lines


def markdown(results: dict, plots: dict[str, list[str]], grid: str | None, command: str) -> str:
    rec = results["recognizer"]
    identity = results["identity"]
    lines = ["# Results: the studio's edits, judged as the papers judge theirs", "",
             f"Reproduce this page (about {_duration(results['seconds'])} on the 2-core CPU):", "",
             "```", command, "```", "",
             "Every number is measured on the output photo as a user gets it: landmarks are detected "
             "again on it, and the judges see its pixels. Rows:", "",
             f"- **{REAL}**: the person's real photo with the target expression, judged the same way (the "
             "reference: what the recognizer says about real faces, how far two real photos of one "
             "person are apart);",
             f"- **{NO_EDIT}**: the input photo unchanged;",
             "- **geometry** / **generator**: the studio's backends (the warp alone; the warp refined "
             "by the trained G2-GAN generators).", "",
             "Tasks: **synthesis** gives a neutral photo the person's own expression (reenactment: the "
             "real photo's movement measured from the neutral photo, `transfer --same-person`); **removal** takes an expression photo back to neutral; **transfer** gives a neutral "
             "photo another person's expression of the same class (G2-GAN eq. 12). The real photo of the "
             "target is the ground truth for PSNR / SSIM (on the aligned 128 px face crop).", "",
             "- *expression accuracy*: the studio's recognizer (`weights/expression_recognizer_card.md`"
             + (f", {_pct(rec['test']['accuracy'])}% on real test photos" if rec.get("test") else "") +
             ") gives the target class;",
             "- *same person*: "
             + ("dlib's ResNet face descriptor (`face_recognition_models`) puts the output within its own "
                f"threshold ({identity['threshold']}) of the input face; *identity distance* is the mean "
                "descriptor distance;" if identity else "not measured (dlib not installed);"),
             "- *landmark error*: mean distance of the re-detected 468 mesh points to the target, after a "
             "similarity fit on the stable points, in interocular distances.", "",
             "How to read them: the real photos' accuracy is the ceiling for the edits' accuracy, and the "
             "real photos' identity distance (two photos of one person) is the scale for the edits' "
             "distances. The edits' targets are what the studio's sliders make (the person's neutral shape "
             "from the shape model plus the real photo's expression coefficients, measured from the "
             "neutral photo, or the other person's read from their photo for transfer), not the real photo's own landmarks; so the PSNR gains over no "
             "edit are smaller than `evaluate-generators` reports, which warps to the real landmarks.", ""]
    for name, data in results["sets"].items():
        lines += [f"## {SET_TITLES.get(name, name)}", "",
                  f"{data['people']} people; cases: " + ", ".join(f"{t} {n}" for t, n in data["cases"].items()) +
                  f"; {data['seconds']:.0f} s.", ""]
        lines += summary_table(data["tables"]) + ["", "Expression accuracy (%) by target class:", ""]
        lines += class_table(data["tables"]) + [""]
        drives = drive_table(data["tables"])
        if len(drives) > 2:
            lines += ["Drive (brows / eyes / mouth, median): the share of the real photo's landmark movement "
                      "the edit's re-detected landmarks make (`studio/evaluation/drive.py`; 1 = all of it):", ""]
            lines += drives + [""]
        moves = movement_table(data["sweep"], data["tables"])
        if moves:
            lines += ["Presets: how far each moves the brows / eyes / mouth (re-detected, median) over how far "
                      "the real photos of its class move them: the median photo at intensity 1, a strong one "
                      "(90th percentile) at 1.5 (1 = as far):", ""]
            lines += moves + [""]
        if data["sweep"]:
            lines += ["Presets at intensity 1 on each person's neutral photo: accuracy (%) of each preset, "
                      "and how often the result is still the same person:", ""]
            lines += preset_table(data["sweep"]) + [""]
            for plot in plots.get(name, []):
                lines += [f"![{Path(plot).stem}]({Path(plot).name})", ""]
    if grid:
        lines += ["## What it looks like", "",
                  "London faces (CC BY 4.0, DeBruine & Jones 2017); the test people's photos may not be "
                  "shown. Each row: the input, the backends' outputs and the real photo, captioned with "
                  "the recognizer's class and the identity distance to the input.", "",
                  f"![grid]({Path(grid).name})", ""]
    return "\n".join(lines)


def plot_sweep(sweep: dict, title: str, out: Path) -> list[Path]:
    """Accuracy and identity (verification rate, distance) by intensity: one panel per backend, one
    line per preset."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    presets = list(next(iter(sweep.values())))
    colours = dict(zip(presets, plt.get_cmap("tab10").colors))
    for key, label, fname in (("accuracy", "recognized as the preset", "accuracy"),
                              ("verified", "same person (dlib, threshold 0.6)", "identity"),
                              ("identity_distance", "identity distance to the input", "identity_distance")):
        if all(r[key] is None for by_p in sweep.values() for rows in by_p.values() for r in rows):
            continue
        fig, axes = plt.subplots(1, len(sweep), figsize=(4.2 * len(sweep), 3.6), dpi=110, sharey=True,
                                 squeeze=False)
        for ax, (backend, by_preset) in zip(axes[0], sweep.items()):
            for preset, rows in by_preset.items():
                xs = [r["intensity"] for r in rows if r[key] is not None]
                ys = [r[key] for r in rows if r[key] is not None]
                ax.plot(xs, ys, color=colours[preset], marker="o", markersize=3, label=preset)
            ax.set_title(backend, fontsize=10)
            ax.set_xlabel("preset intensity")
            ax.grid(alpha=0.3)
            if key != "identity_distance":
                ax.set_ylim(-0.02, 1.02)
        axes[0][0].set_ylabel(label)
        axes[0][-1].legend(fontsize=7, loc="best")
        fig.suptitle(title, fontsize=10)
        fig.tight_layout()
        path = out.with_name(f"{out.name}_{fname}.png")
        write_atomic(path, lambda tmp: fig.savefig(tmp, format="png"))
        plt.close(fig)
        paths.append(path)
    return paths


def write_results(results: dict, out_dir: Path, command: str) -> list[Path]:
    """README.md (the page), results.json, records.jsonl (every case and row), the plots and the
    London picture, in out_dir."""
    from studio.face.image_io import save_photo
    from studio.operations.views import labelled_grid

    out_dir.mkdir(parents=True, exist_ok=True)
    written, plots, grid = [], {}, None
    for name, data in results["sets"].items():
        if data["sweep"]:
            plots[name] = [str(p) for p in plot_sweep(data["sweep"], SET_TITLES.get(name, name), out_dir / f"sweep_{name}")]
            written += [Path(p) for p in plots[name]]
        if data["grid"]:
            rows = [[(label, Photo(cell)) for label, cell in row] for row in data["grid"]]
            grid = str(save_photo(Photo(labelled_grid(rows, cell=rows[0][0][1].size[1])), out_dir / "grid.jpg"))
            written.append(Path(grid))
    records = "".join(json.dumps({"set": name, **r}) + "\n" for name, d in results["sets"].items() for r in d["records"])
    write_atomic(out_dir / "records.jsonl", lambda tmp: Path(tmp).write_text(records))
    write_atomic(out_dir / "results.json", lambda tmp: Path(tmp).write_text(json.dumps(summary(results), indent=1) + "\n"))
    write_atomic(out_dir / "README.md", lambda tmp: Path(tmp).write_text(markdown(results, plots, grid, command)))
    return written + [out_dir / "records.jsonl", out_dir / "results.json", out_dir / "README.md"]


def summary(results: dict) -> dict:
    """The results without the picture and the per-case records (results.json, `eval --json`)."""
    return {**results, "sets": {n: {k: v for k, v in d.items() if k not in ("grid", "records")}
                                for n, d in results["sets"].items()}}


def format_text(results: dict) -> str:
    """The summary tables for the terminal."""
    lines = []
    for name, data in results["sets"].items():
        lines += [f"{SET_TITLES.get(name, name)}: {data['people']} people", ""] + summary_table(data["tables"]) + [""]
        lines += preset_table(data["sweep"]) + [""]
    return "\n".join(lines)
