"""`face-studio eval-augment`: does `augment` help a recogniser? The studio's own expression
recognizer (one CNN member and the landmark classifier, the recipe of `train-recognizer`, fewer
epochs) is trained on a few of the training people, once on their real photos alone and once with
their studio-made variants added, and both are scored on the test people, for several seeds (each
draws other people and trains other nets), as the papers report it: accuracy per class, with and
without.

The variants are what `augment` makes, through its own code (work.make_variants): every neutral
photo turned into each expression class (a preset at 0.8-1.25, some with a head turn or a light),
every expression photo taken back to neutral and varied in pose and light keeping its label.

Two sets: "balanced" (every photo of the chosen people) and "rare" (every neutral and happy photo,
but the other five classes from only `rare_people` of them), the case a small real set has.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from studio import paths
from studio.augment.manifest import Journal
from studio.augment.run import augment
from studio.augment.sources import Source
from studio.augment.spec import SamplingSpec
from studio.augment.work import Settings
from studio.errors import StudioError
from studio.face.image_io import load_photo
from studio.recognition.expression import CLASSES, ExpressionRecognizer, RecognizerConfig, gray_crop
from studio.recognition.train_expression import (
    TRAIN_DATASETS,
    Examples,
    TrainConfig,
    accuracy_table,
    build_examples,
    choose_shape_weight,
    fit_shape_classifier,
    train_member,
    training_people,
)
from studio.synthesis.dataset import load_split

# neutral photos: into every class; expression photos: back to neutral, or kept and turned / relit
FROM_NEUTRAL = SamplingSpec(intensity=(0.8, 1.25), removal=0.0, keep=0.0, pose_probability=0.3, yaw=15.0,
                            pitch=8.0, roll=4.0, light_probability=0.25)
FROM_EXPRESSION = SamplingSpec(removal=0.5, keep=0.5, pose_probability=0.6, yaw=15.0, pitch=8.0, roll=4.0,
                               light_probability=0.4)
SETS = ("balanced", "rare")


@dataclass(frozen=True)
class GainConfig:
    faces_dir: Path
    work_dir: Path = paths.REPO_ROOT / ".cache" / "augment-gain"
    people: int = 20
    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 20
    rare_people: int = 3          # in the rare set, the only people whose non-neutral, non-happy photos are kept
    from_neutral: int = 6         # variants of each neutral photo
    from_expression: int = 1      # variants of each expression photo
    max_side: int = 256           # the recognizer sees 64 px: variants are made at 256
    workers: int = 1
    sets: tuple[str, ...] = SETS
    recognizer: RecognizerConfig = field(default_factory=RecognizerConfig)


def rare_subset(examples: Examples, people: list[str], keep: int, rng: np.random.Generator) -> Examples:
    """Every neutral and happy photo; the other classes of `keep` of the people only."""
    kept_people = set(rng.choice(sorted(people), size=min(keep, len(people)), replace=False))
    common = {CLASSES.index("neutral"), CLASSES.index("happiness")}
    mask = np.array([label in common or subject in kept_people
                     for label, subject in zip(examples.labels, examples.subjects)])
    return examples.where(mask)


def _concat(a: Examples, b: Examples) -> Examples:
    return Examples(np.concatenate([a.crops, b.crops]), np.concatenate([a.points, b.points]),
                    np.concatenate([a.labels, b.labels]), a.subjects + b.subjects, a.files + b.files)


def make_variants_for(studio, real: Examples, config: GainConfig, folder: Path, seed: int,
                      log=print) -> tuple[Examples, np.ndarray]:
    """The studio's variants of these photos (neutral ones into every class, the others back to
    neutral or turned and relit), made with `augment` into `folder` (resumed if it is there),
    found again and cropped as the recognizer's training photos are; and each one's source photo."""
    neutral = CLASSES.index("neutral")
    for name, spec, per_face, chosen in (("from_neutral", FROM_NEUTRAL, config.from_neutral, real.labels == neutral),
                                         ("from_expression", FROM_EXPRESSION, config.from_expression,
                                          real.labels != neutral)):
        sources = [Source(f, config.faces_dir / f, {"expression": CLASSES[label]})
                   for f, label in zip(np.array(real.files)[chosen], real.labels[chosen])]
        settings = Settings(spec, per_face, seed, "png", config.max_side, "geometry")
        summary = augment(sources, folder / name, settings, workers=config.workers)
        log(f"  {name}: {summary.images} variants ({summary.made} made now, {summary.per_second:.1f}/s)")
    crops, points, labels, subjects, files, sources = [], [], [], [], [], []
    people = dict(zip(real.files, real.subjects))
    for name in ("from_neutral", "from_expression"):
        for row in Journal(folder / name).read().rows:
            if row["kind"] != "image" or row["expression"] is None:
                continue
            rgb = load_photo(folder / name / row["image"]).rgb
            found = studio.analyzer.detect(rgb)
            if not found:
                continue     # an edit whose face is not found again is not a training photo
            face = max(found, key=lambda f: f.area)
            crops.append(gray_crop(rgb, face.points, config.recognizer.size))
            points.append(face.points.astype(np.float32))
            labels.append(CLASSES.index(row["expression"]))
            subjects.append(people[row["source"]])
            files.append(f"{name}/{row['image']}")
            sources.append(row["source"])
    if not crops:
        raise StudioError("no variant's face was found again")
    return (Examples(np.stack(crops), np.stack(points), np.array(labels, np.int64), tuple(subjects), tuple(files)),
            np.array(sources))


def train_and_score(train_set: Examples, val: Examples, test: Examples, config: GainConfig, run_dir: Path,
                    seed: int, log=print) -> dict:
    """One recognizer (one CNN member and the landmark classifier) trained on `train_set`."""
    tc = TrainConfig(faces_dir=config.faces_dir, run_dir=run_dir, recognizer=config.recognizer, members=1,
                     epochs=config.epochs)
    run_dir.mkdir(parents=True, exist_ok=True)
    net = train_member(tc, train_set, seed, log=lambda *_: None)
    recognizer = ExpressionRecognizer([net], config.recognizer, {}, shape=fit_shape_classifier(train_set))
    recognizer.shape_weight = choose_shape_weight(recognizer, val) if len(val.labels) else 0.5
    table = accuracy_table(recognizer, test)
    log(f"    {len(train_set.labels)} training photos: test accuracy {100 * table['accuracy']:.1f}%")
    return table


def run_gain(studio, config: GainConfig, log=print) -> dict:
    """{set: {"real": [table per seed], "augmented": [...], "train_photos": ...}} and the settings."""
    split = load_split(paths.WEIGHTS_DIR / "g2gan_split.json")
    everyone = build_examples(config.faces_dir, TRAIN_DATASETS, config.recognizer.size,
                              paths.REPO_ROOT / ".cache" / "recognizer", log=log)
    pool = training_people(everyone, split)
    test, val = everyone.of(split.get("test", [])), everyone.of(split.get("val", []))
    if not len(test.labels) or len(pool) < config.people:
        raise StudioError(f"eval-augment needs {config.people} training people and test people in {config.faces_dir}")
    results = {s: {"real": [], "augmented": [], "train_photos": [], "variants": []} for s in config.sets}
    for seed in config.seeds:
        rng = np.random.default_rng(seed)
        people = sorted(rng.choice(pool, size=config.people, replace=False))
        real_all = everyone.of(people)
        log(f"seed {seed}: {len(people)} people, {len(real_all.labels)} photos")
        folder = config.work_dir / f"seed{seed}-{config.people}people-{config.from_neutral}x{config.from_expression}"
        variants_all, sources = make_variants_for(studio, real_all, config, folder, seed, log)
        for name in config.sets:
            real = real_all if name == "balanced" else rare_subset(real_all, people, config.rare_people, rng)
            variants = variants_all.where(np.isin(sources, list(real.files)))   # of the photos in this set
            log(f"  {name}: {len(real.labels)} real photos, {len(variants.labels)} variants")
            runs = config.work_dir / "runs" / f"seed{seed}-{name}"
            results[name]["real"].append(train_and_score(real, val, test, config, runs / "real", seed, log))
            results[name]["augmented"].append(train_and_score(_concat(real, variants), val, test, config,
                                                              runs / "augmented", seed, log))
            results[name]["train_photos"].append(int(len(real.labels)))
            results[name]["variants"].append(int(len(variants.labels)))
            results[name]["class_counts"] = results[name].get("class_counts", []) + [
                np.bincount(real.labels, minlength=len(CLASSES)).tolist()]
    return {"config": {"people": config.people, "seeds": list(config.seeds), "epochs": config.epochs,
                       "rare_people": config.rare_people, "from_neutral": config.from_neutral,
                       "from_expression": config.from_expression, "max_side": config.max_side,
                       "test_people": len(set(test.subjects)), "test_photos": int(len(test.labels))},
            "sets": results}


def write_report(result: dict, folder: Path) -> Path:
    """docs/augment: README.md (the tables) and results.json."""
    from studio.face.image_io import write_atomic

    folder.mkdir(parents=True, exist_ok=True)
    cfg = result["config"]
    lines = ["# Augmentation: does `augment` help a recogniser?", "",
             f"The studio's expression recognizer (one CNN and the landmark classifier, {cfg['epochs']} epochs) "
             f"trained on {cfg['people']} training people of KDEF and the Taiwanese set, with and without their "
             f"studio-made variants (each neutral photo into every class {cfg['from_neutral']} times, each "
             f"expression photo back to neutral or turned and relit {cfg['from_expression']} time(s), at "
             f"{cfg['max_side']} px), scored on the {cfg['test_people']} test people ({cfg['test_photos']} photos). "
             f"Mean and spread (standard deviation) over {len(cfg['seeds'])} seeds; each seed draws other people. "
             "Made by `face-studio eval-augment`.", ""]
    for name, runs in result["sets"].items():
        counts = np.mean(runs["class_counts"], axis=0)
        title = ("All the chosen people's photos" if name == "balanced" else
                 f"Rare classes: every neutral and happy photo, the other classes from {cfg['rare_people']} people only")
        lines += [f"## {title}", "",
                  f"Real training photos: {np.mean(runs['train_photos']):.0f} on average (per class: "
                  + ", ".join(f"{c} {n:.0f}" for c, n in zip(CLASSES, counts))
                  + f"); variants added: {np.mean(runs['variants']):.0f}.", "",
                  "| trained on | all | " + " | ".join(CLASSES) + " |", "|---" * (len(CLASSES) + 2) + "|"]
        for condition in ("real", "augmented"):
            tables = runs[condition]
            overall = [100 * t["accuracy"] for t in tables]
            cells = []
            for c in CLASSES:
                values = [100 * t["per_class"][c] for t in tables if t["per_class"][c] is not None]
                cells.append(f"{np.mean(values):.0f} ± {np.std(values):.0f}" if values else "-")
            label = "real photos" if condition == "real" else "real + studio variants"
            lines.append(f"| {label} | {np.mean(overall):.1f} ± {np.std(overall):.1f} | " + " | ".join(cells) + " |")
        gains = [100 * (a["accuracy"] - r["accuracy"]) for r, a in zip(runs["real"], runs["augmented"])]
        lines += ["", f"Change in overall accuracy per seed: {', '.join(f'{g:+.1f}' for g in gains)} points.", ""]
    text = "\n".join(lines) + "\n"
    write_atomic(folder / "README.md", lambda tmp: Path(tmp).write_text(text))
    data = json.dumps(result, indent=1)
    write_atomic(folder / "results.json", lambda tmp: Path(tmp).write_text(data))
    return folder / "README.md"


def quick(config: GainConfig) -> GainConfig:
    """A few minutes' version, for checks."""
    return replace(config, people=4, seeds=(0,), epochs=2, from_neutral=2)
