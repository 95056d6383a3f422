"""`face-studio eval`: every case of every person set through the studio's own operations,
for each backend and the no-edit baseline, judged side by side with the real photos; then each
preset at intensities 0..1.5 on each person's neutral photo."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from studio.evaluation.cases import (
    REMOVAL,
    SYNTHESIS,
    TASKS,
    Case,
    make_cases,
    people_of,
    sweep_sources,
)
from studio.evaluation.measure import Judge, Measurement
from studio.evaluation.mouth_detail import without_own_teeth
from studio.face.align import align, sample_crop
from studio.operations.edit import edit, render_expression, target_landmarks, target_p
from studio.operations.recipe import EditRecipe
from studio.operations.transfer import expression_of
from studio.operations.studio import Studio
from studio.recognition.expression import CLASSES

REAL, NO_EDIT = "real photo", "no edit"
INTENSITIES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)
GRID_CELL = 192
STRONG = 90   # percentile of a class's real photos that counts as a strong one


@dataclass(frozen=True)
class EvalConfig:
    faces_dir: Path
    people: tuple[str, ...] = ("test", "london")
    backends: tuple[str, ...] | None = None      # None: every backend the studio has
    limit: int | None = None                     # at most this many cases per task (spread out)
    max_people: int | None = None                # only the first people of each set
    sweep_people: int = 12                       # people in the presets' intensity sweep
    intensities: tuple[float, ...] = INTENSITIES
    grid_people: int = 4                         # rows of the picture (London only: shareable)


def _case_p(studio: Studio, judge: Judge, case: Case) -> np.ndarray:
    """The expression coefficients the case asks for, as the studio's operations choose them:
    removal is the remove recipe (the person's neutral); synthesis is reenactment (transfer with
    the source as B's own neutral: the real photo's movement from it); transfer gives the source
    face the clamped coefficients of another person's photo, read from that photo alone."""
    source = judge.photo(case.source)
    if case.task == REMOVAL:
        return target_p(studio, source, EditRecipe(remove=True))
    if case.task == SYNTHESIS:
        return expression_of(studio.model, judge.photo(case.real).fits[0], source.fits[0])
    return expression_of(studio.model, judge.photo(case.driver).fits[0])


def summarize(rows: list[tuple[Case, Measurement]], threshold: float | None) -> dict:
    """Accuracy (overall and per target class), identity, landmark error, PSNR / SSIM of a row.
    `threshold`: the identity model's (None: no identity model)."""
    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    correct = [m.predicted == c.expression for c, m in rows]

    def regions(field: str, keep=lambda c: True, q: float = 50) -> dict | None:
        """Per region, the q-th percentile (the median) over the rows of a per-region measure (None
        where none has it)."""
        found = [getattr(m, field) for c, m in rows if getattr(m, field) and keep(c)]
        if not found:
            return None
        return {r: (float(np.percentile(v, q)) if (v := [f[r] for f in found if f.get(r) is not None]) else None)
                for r in found[0]}

    classes = [k for k in CLASSES if any(c.expression == k for c, _ in rows)]
    distances = [m.identity_distance for _, m in rows]
    return {
        "cases": len(rows),
        "detected": mean([m.detected for _, m in rows]),
        "accuracy": mean(correct),
        "per_class": {k: mean([ok for (c, _), ok in zip(rows, correct) if c.expression == k])
                      for k in CLASSES if any(c.expression == k for c, _ in rows)},
        # a face the identity model cannot find counts as not verified
        "verified": None if threshold is None else mean([d is not None and d < threshold for d in distances]),
        "identity_distance": mean(distances),
        "landmark_error": mean([m.landmark_error for _, m in rows]),
        "psnr": mean([m.psnr for _, m in rows]),
        "ssim": mean([m.ssim for _, m in rows]),
        "drive": regions("drive"),
        "drive_per_class": {k: regions("drive", lambda c, k=k: c.expression == k) for k in classes},
        "movement_per_class": {k: regions("movement", lambda c, k=k: c.expression == k) for k in classes},
        # the strong photos of each class, the reference for presets at intensity 1.5
        "movement_strong_per_class": {k: regions("movement", lambda c, k=k: c.expression == k, STRONG)
                                      for k in classes},
    }


def _cell(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    return sample_crop(np.ascontiguousarray(rgb[:, :, :3]), align(points, GRID_CELL))


def _caption(name: str, m: Measurement) -> str:
    identity = "" if m.identity_distance is None else f", id {m.identity_distance:.2f}"
    return f"{name}: {m.predicted or 'no face'}{identity}"


def evaluate_set(name: str, config: EvalConfig, judge: Judge, studios: dict[str, Studio], log) -> dict:
    datasets, people = people_of(name)
    cases = make_cases(config.faces_dir, datasets, people, config.limit, config.max_people)
    threshold = judge.identity.threshold if judge.identity else None
    rows: dict[str, dict[str, list]] = {t: {REAL: [], NO_EDIT: [], **{b: [] for b in studios}} for t in TASKS}
    grid_people = sorted({c.subject for c in cases})[:config.grid_people] if name == "london" else []
    grid: dict[tuple[str, str], list] = {}
    start = time.perf_counter()
    for i, case in enumerate(cases):
        source = judge.photo(case.source)
        if not source.faces or not judge.photo(case.real).faces or (case.driver and not judge.photo(case.driver).faces):
            continue   # the detector missed a face in a real photo: the case cannot be posed
        any_studio = next(iter(studios.values()))
        p = _case_p(any_studio, judge, case)
        target = target_landmarks(any_studio, source, 0, p)   # backends share the geometry
        real = judge.measure_real(case.real, target, case.source)
        kept = judge.measure(source.photo.rgb, target, case.source, case.real, face=source.faces[0])
        rows[case.task][REAL].append((case, real))
        rows[case.task][NO_EDIT].append((case, kept))
        cells = [(_caption(f"{case.task} input", kept), source.photo.rgb, source.faces[0].points)]
        for backend, studio in studios.items():
            out = render_expression(without_own_teeth(studio, case.subject), source, 0, p).photo.rgb
            m = judge.measure(out, target, case.source, case.real)
            rows[case.task][backend].append((case, m))
            cells.append((_caption(backend, m), out, target))
        if case.subject in grid_people and case.task in (SYNTHESIS, REMOVAL) and (case.subject, case.task) not in grid:
            real_photo = judge.photo(case.real)
            cells.append((_caption("real", real), real_photo.photo.rgb, real_photo.faces[0].points))
            grid[(case.subject, case.task)] = [(label, _cell(rgb, pts)) for label, rgb, pts in cells]
        if i % 25 == 0:
            log(f"{name}: case {i + 1}/{len(cases)}, {time.perf_counter() - start:.0f} s")
    tables = {task: {row: summarize(found, threshold) for row, found in by_row.items() if found}
              for task, by_row in rows.items()}
    records = [{"task": task, "row": row, **asdict(case), **asdict(m)}
               for task, by_row in rows.items() for row, found in by_row.items() for case, m in found]
    sweep = sweep_presets(config, judge, studios, datasets, people, log) if config.sweep_people else {}
    return {"people": len({c.subject for c in cases}), "cases": {t: len(rows[t][NO_EDIT]) for t in TASKS},
            "tables": tables, "sweep": sweep, "seconds": time.perf_counter() - start, "records": records,
            "grid": [grid[k] for k in sorted(grid, key=lambda k: (k[0], TASKS.index(k[1])))]}


def sweep_presets(config: EvalConfig, judge: Judge, studios: dict[str, Studio], datasets, people, log) -> dict:
    """{backend: {preset: [{intensity, accuracy, verified, identity_distance, cases}]}}: each preset
    at each intensity on each person's neutral photo, judged by the recognizer and the identity model."""
    sources = sweep_sources(config.faces_dir, datasets, people, config.sweep_people)
    threshold = judge.identity.threshold if judge.identity else None
    presets = list(next(iter(studios.values())).model.presets)
    found: dict = {b: {p: {t: [] for t in config.intensities} for p in presets} for b in studios}
    for subject, file in sources:
        source = judge.photo(file)
        if not source.faces:
            continue
        kept = judge.measure(source.photo.rgb, source.faces[0].points, file, None, face=source.faces[0])
        for backend, studio in studios.items():
            for preset in presets:
                for intensity in config.intensities:
                    if intensity == 0:
                        m = kept   # nothing asked: the photo itself
                    else:
                        result = edit(without_own_teeth(studio, subject), source,
                                      EditRecipe(presets={preset: intensity}))
                        m = judge.measure(result.photo.rgb, result.target, file, None)
                    found[backend][preset][intensity].append((Case("preset", subject, file, file, preset), m))
        log(f"sweep: {subject} done")
    def row(preset: str, intensity: float, rows: list) -> dict:
        summary = summarize(rows, threshold)
        return {"intensity": intensity, **{k: summary[k] for k in ("accuracy", "verified", "identity_distance", "cases")},
                "movement": summary["movement_per_class"].get(preset)}

    return {b: {p: [row(p, t, rows) for t, rows in by_t.items()] for p, by_t in by_p.items()}
            for b, by_p in found.items()}


def run_eval(config: EvalConfig, studio: Studio, judge: Judge, log=print) -> dict:
    backends = config.backends or studio.backends
    studios = {b: studio.with_backend(b) for b in backends}
    start = time.perf_counter()
    results = {"config": {k: (str(v) if isinstance(v, Path) else v) for k, v in asdict(config).items()},
               "recognizer": {k: judge.recognizer.info.get(k) for k in ("test", "val", "london")},
               "identity": None if judge.identity is None else
               {"model": "dlib_face_recognition_resnet_model_v1", "threshold": judge.identity.threshold},
               "backends": list(backends), "sets": {}}
    for name in config.people:
        results["sets"][name] = evaluate_set(name, config, judge, studios, log)
    results["seconds"] = time.perf_counter() - start
    return results
