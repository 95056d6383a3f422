"""Training the expression recognizer on the face sets, by person: the generators' split
(`weights/g2gan_split.json`) decides who is test and validation; everyone else trains.

Examples are the frontal photos of `../shared/data/faces` as gray canonical crops, cached under
.cache/ (research-only sets: never committed). Each ensemble member trains for a fixed schedule
(one-cycle learning rate, class-balanced loss, flips and small similarity jitter); its state is
saved after every epoch and a run resumes where it stopped, with the same random stream.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from studio import paths
from studio.errors import StudioError
from studio.face.image_io import write_atomic
from studio.geometry.build_shape_model import read_manifest
from studio.recognition.expression import (
    CLASSES,
    ZOOM,
    ExpressionNet,
    ExpressionRecognizer,
    RecognizerConfig,
    ShapeClassifier,
    gray_crop,
    normalize,
)
from studio.synthesis.dataset import heldout_people, load_split

TRAIN_DATASETS = ("kdef", "taiwanese")


@dataclass(frozen=True)
class TrainConfig:
    faces_dir: Path
    run_dir: Path
    split_path: Path = paths.WEIGHTS_DIR / "g2gan_split.json"
    cache_dir: Path = paths.REPO_ROOT / ".cache" / "recognizer"
    recognizer: RecognizerConfig = field(default_factory=RecognizerConfig)
    members: int = 3          # ensemble size; member i trains with seed i
    epochs: int = 30
    batch: int = 32
    lr: float = 2e-3
    weight_decay: float = 5e-3
    label_smoothing: float = 0.1
    limit: int | None = None  # only the first photos (quick checks)


@dataclass(frozen=True)
class Examples:
    crops: np.ndarray       # N x S x S uint8 gray face crops (gray_crop)
    points: np.ndarray      # N x 478 x 3 float32 landmarks, photo pixels
    labels: np.ndarray      # N, index into CLASSES
    subjects: tuple[str, ...]
    files: tuple[str, ...]

    def of(self, people) -> "Examples":
        return self.where(np.isin(np.array(self.subjects), list(people)))

    def where(self, keep: np.ndarray) -> "Examples":
        """The examples where the boolean mask `keep` is true."""
        return Examples(self.crops[keep], self.points[keep], self.labels[keep],
                        tuple(np.array(self.subjects)[keep]), tuple(np.array(self.files)[keep]))


def build_examples(faces_dir: Path, datasets: tuple[str, ...], size: int, cache_dir: Path | None,
                   limit: int | None = None, people: list[str] | None = None, log=print) -> Examples:
    """Every frontal photo of these sets (and people) with a detected face, as a crop (cached per
    file list)."""
    from safetensors.numpy import load_file, save_file

    from studio.face.image_io import load_photo
    from studio.face.landmarks import FaceAnalyzer

    rows = sorted((r for r in read_manifest(faces_dir, datasets) if people is None or r["subject"] in people),
                  key=lambda r: r["file"])[:limit]
    if not rows:
        raise StudioError(f"none of these people have frontal photos in {faces_dir}")
    key = hashlib.sha256("\n".join(r["file"] for r in rows).encode()).hexdigest()[:12]
    cache = cache_dir / f"examples-v3-{size}-{key}.safetensors" if cache_dir else None
    if cache is not None and cache.is_file():
        from safetensors import safe_open

        with safe_open(str(cache), framework="numpy") as f:
            meta = json.loads(f.metadata()["rows"])
        t = load_file(str(cache))
        return Examples(t["crops"], t["points"], t["labels"], tuple(m[0] for m in meta), tuple(m[1] for m in meta))
    crops, points, labels, meta = [], [], [], []
    analyzer = FaceAnalyzer()
    for i, row in enumerate(rows):
        rgb = load_photo(faces_dir / row["file"]).rgb
        faces = analyzer.detect(rgb)
        if faces:
            crops.append(gray_crop(rgb, faces[0].points, size))
            points.append(faces[0].points.astype(np.float32))
            labels.append(CLASSES.index(row["expression"]))
            meta.append([row["subject"], row["file"]])
        if i % 200 == 0:
            log(f"recognizer examples {i}/{len(rows)}")
    analyzer.close()
    examples = Examples(np.stack(crops), np.stack(points), np.array(labels, np.int64), tuple(m[0] for m in meta),
                        tuple(m[1] for m in meta))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(cache, lambda tmp: save_file({"crops": examples.crops, "points": examples.points,
                                                   "labels": examples.labels}, tmp, metadata={"rows": json.dumps(meta)}))
    log(f"{len(labels)} of {len(rows)} photos with a face")
    return examples


def training_people(examples: Examples, split: dict[str, list[str]]) -> list[str]:
    """Everyone who is neither a test nor a validation person (people without pairs included)."""
    return sorted(set(examples.subjects) - heldout_people(split))


def _augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random mirror, small rotation / scale / shift, and brightness and contrast jitter.

    (Gamma, blur and noise jitter were tried for other cameras' looks: they did not help on
    the London photos.)"""
    b = len(x)
    rand = lambda *shape: torch.rand(*shape, generator=generator)  # noqa: E731
    x = torch.where((rand(b) < 0.5)[:, None, None, None], x.flip(-1), x)
    angle, scale, shift = (rand(b) - 0.5) * 0.2, 1 + (rand(b) - 0.5) * 0.12, (rand(b, 2) - 0.5) * 0.1
    cos, sin = scale * torch.cos(angle), scale * torch.sin(angle)
    theta = torch.stack([torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1)
    x = F.grid_sample(x, F.affine_grid(theta, list(x.shape), align_corners=False), padding_mode="reflection",
                      align_corners=False)
    return x * (1 + (rand(b, 1, 1, 1) - 0.5) * 0.3) + (rand(b, 1, 1, 1) - 0.5) * 0.3


def _one_cycle(step: int, total: int, peak: float) -> float:
    """Warm up over the first 30% of steps, then cosine down to ~0 (torch's OneCycleLR shape)."""
    warm = max(1, int(0.3 * total))
    if step < warm:
        return peak / 25 + (peak - peak / 25) * (1 - math.cos(math.pi * step / warm)) / 2
    return peak * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm))) / 2 + peak / 1e4


def train_member(config: TrainConfig, examples: Examples, seed: int, log=print,
                 stop_after: int | None = None) -> ExpressionNet:
    """One ensemble member, resumed from run_dir/member-{seed}.safetensors when it exists
    (`stop_after`: train at most this many epochs in this call, e.g. to split a run)."""
    from studio.synthesis.checkpoint import load_state, save_state

    torch.manual_seed(seed)
    net = ExpressionNet(config.recognizer)
    opt = torch.optim.AdamW(net.parameters(), config.lr, weight_decay=config.weight_decay)
    path = config.run_dir / f"member-{seed}.safetensors"
    epoch = load_state(path, {"net": net}, {"opt": opt}, torch.device("cpu"))["epoch"] if path.is_file() else 0
    x, y = normalize(examples.crops), torch.from_numpy(examples.labels)
    counts = np.bincount(examples.labels, minlength=len(CLASSES)).clip(1)
    weight = torch.tensor(len(y) / (len(CLASSES) * counts), dtype=torch.float32)
    per_epoch = math.ceil(len(y) / config.batch)
    last = config.epochs if stop_after is None else min(config.epochs, epoch + stop_after)
    while epoch < last:
        # one random stream per (member, epoch): a resumed run draws what an unbroken one would
        generator = torch.Generator().manual_seed(seed * 100_003 + epoch)
        torch.manual_seed(seed * 100_003 + epoch)   # dropout draws from the global stream
        order = torch.randperm(len(y), generator=generator)
        net.train()
        total = 0.0
        for i in range(per_epoch):
            for group in opt.param_groups:
                group["lr"] = _one_cycle(epoch * per_epoch + i, config.epochs * per_epoch, config.lr)
            batch = order[i * config.batch:(i + 1) * config.batch]
            loss = F.cross_entropy(net(_augment(x[batch], generator)), y[batch], weight=weight,
                                   label_smoothing=config.label_smoothing)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item()
        epoch += 1
        save_state(path, {"net": net}, {"opt": opt}, {"epoch": epoch, "seed": seed})
        log(f"member {seed} epoch {epoch}/{config.epochs} loss {total / per_epoch:.3f}")
    return net.eval()


def fit_shape_classifier(examples: Examples, components: int = 60, l2: float = 1e-2) -> ShapeClassifier:
    """The landmark classifier: generalised Procrustes on the stable points, a whitened PCA, then
    class-balanced multinomial logistic regression with an L2 penalty (full-batch L-BFGS)."""
    from studio.face.mesh import STABLE
    from studio.geometry.build_shape_model import procrustes_normalize
    from studio.geometry.procrustes import fit_similarity

    shapes = examples.points.astype(np.float64)
    _, reference = procrustes_normalize(shapes)
    flat = np.stack([fit_similarity(s[STABLE], reference[STABLE]).apply(s).reshape(-1) for s in shapes])
    mean = flat.mean(axis=0)
    components = min(components, len(flat) - 1)   # a small training set has fewer directions
    _, sing, vt = np.linalg.svd(flat - mean, full_matrices=False)
    whiten = vt[:components] / (sing[:components, None] / np.sqrt(len(flat)))
    z = torch.from_numpy((flat - mean) @ whiten.T).float()
    y = torch.from_numpy(examples.labels)
    counts = np.bincount(examples.labels, minlength=len(CLASSES)).clip(1)
    balance = torch.tensor(len(y) / (len(CLASSES) * counts), dtype=torch.float32)
    weight = torch.zeros(len(CLASSES), components, requires_grad=True)
    bias = torch.zeros(len(CLASSES), requires_grad=True)
    opt = torch.optim.LBFGS([weight, bias], max_iter=500, line_search_fn="strong_wolfe")

    def loss_fn():
        opt.zero_grad()
        loss = F.cross_entropy(z @ weight.T + bias, y, weight=balance) + l2 * (weight ** 2).sum()
        loss.backward()
        return loss

    opt.step(loss_fn)
    return ShapeClassifier(reference, mean, whiten, weight.detach().double().numpy(), bias.detach().double().numpy())


SHAPE_WEIGHTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5)


def choose_shape_weight(recognizer: ExpressionRecognizer, examples: Examples) -> float:
    """The fusion weight with the best accuracy on these (validation) examples; ties go to less shape."""
    image = recognizer.image_log_probabilities(examples.crops)
    shape = recognizer.shape.log_probabilities(examples.points.astype(np.float64))
    scores = [((image + w * shape).argmax(1) == examples.labels).mean() for w in SHAPE_WEIGHTS]
    return SHAPE_WEIGHTS[int(np.argmax(scores))]


def accuracy_table(recognizer: ExpressionRecognizer, examples: Examples) -> dict:
    """Overall and per-class accuracy, and the confusion matrix (rows: true class)."""
    predicted = recognizer.log_probabilities(examples.crops, examples.points).argmax(1)
    confusion = np.zeros((len(CLASSES), len(CLASSES)), int)
    np.add.at(confusion, (examples.labels, predicted), 1)
    per_class = {c: float(confusion[i, i] / confusion[i].sum()) if confusion[i].sum() else None
                 for i, c in enumerate(CLASSES)}
    return {"images": int(len(examples.labels)), "people": len(set(examples.subjects)),
            "accuracy": float((predicted == examples.labels).mean()) if len(predicted) else None,
            "per_class": per_class, "confusion": confusion.tolist()}


def train(config: TrainConfig, log=print) -> ExpressionRecognizer:
    """All members (resuming any that stopped), as one recognizer with its held-out accuracies."""
    config.run_dir.mkdir(parents=True, exist_ok=True)
    examples = build_examples(config.faces_dir, TRAIN_DATASETS, config.recognizer.size, config.cache_dir,
                              config.limit, log=log)
    split = load_split(config.split_path)
    people = training_people(examples, split)
    train_set = examples.of(people)
    log(f"training on {len(train_set.labels)} photos of {len(people)} people")
    nets = [train_member(config, train_set, seed, log=log) for seed in range(config.members)]
    recognizer = ExpressionRecognizer(nets, config.recognizer, {
        "train_people": len(people), "train_images": int(len(train_set.labels)), "epochs": config.epochs,
        "members": config.members, "datasets": list(TRAIN_DATASETS), "split": config.split_path.name},
        shape=fit_shape_classifier(train_set))
    val = examples.of(split.get("val", []))
    recognizer.shape_weight = choose_shape_weight(recognizer, val) if len(val.labels) else 0.5
    log(f"shape classifier weight {recognizer.shape_weight} (chosen on the validation people)")
    for name, part in (("image", ExpressionRecognizer(nets, config.recognizer, {})),
                       ("shape", ExpressionRecognizer([], config.recognizer, {}, recognizer.shape, 1.0))):
        # each part alone on the validation and test people, for the card
        recognizer.info[f"{name}_only"] = {p: accuracy_table(part, examples.of(split.get(p, [])))["accuracy"]
                                           for p in ("val", "test")}
    for part in ("val", "test"):
        recognizer.info[part] = accuracy_table(recognizer, examples.of(split.get(part, [])))
    return recognizer


def london_check(recognizer: ExpressionRecognizer, faces_dir: Path, cache_dir: Path | None) -> dict | None:
    """Accuracy on the London set (neutral and smiling; never trained on), if it is there."""
    try:
        examples = build_examples(faces_dir, ("london",), recognizer.config.size, cache_dir, log=lambda *_: None)
    except StudioError:
        return None
    return accuracy_table(recognizer, examples)


def _table_rows(name: str, table: dict) -> list[str]:
    cells = " | ".join("-" if table["per_class"][c] is None else f"{100 * table['per_class'][c]:.0f}" for c in CLASSES)
    return [f"| {name} ({table['people']} people, {table['images']} photos) | {100 * table['accuracy']:.1f} | {cells} |"]


def write_card(recognizer: ExpressionRecognizer, path: Path) -> None:
    """The model card beside the weights: data, recipe, accuracy by person set and class."""
    info = recognizer.info
    shape = recognizer.shape
    lines = [
        "# Expression recognizer (`expression_recognizer.safetensors`)", "",
        f"Classes: {', '.join(CLASSES)}. Two parts, fused as a weighted product of probabilities:", "",
        f"- **image**: {len(recognizer.nets)} small CNNs (four stages of two 3x3 convolutions, "
        f"{recognizer.config.widths} channels), each averaged with its mirror image, on the face's "
        f"grayscale crop at {recognizer.config.size} px (the canonical alignment zoomed {ZOOM}x, hair and "
        "background outside the face outline replaced by the face's mean gray, normalised per image);",
        "- **shape**: a linear softmax classifier on the 478 MediaPipe landmarks in 3D (similarity fit on the "
        f"stable points to the mean training face, whitened PCA to {0 if shape is None else len(shape.weight[0])} "
        "components, class-balanced logistic regression with an L2 penalty), weighted "
        f"{recognizer.shape_weight} (chosen on the validation people).", "",
        "The CNNs read creases and teeth; the shape part is blind to a camera's light and colour, which "
        "is what carries the recognizer to other photographers' faces (London below).", "",
        "## Data and terms", "",
        f"Frontal photos of {', '.join(info['datasets'])} in `../shared/data/faces`: "
        f"{info['train_images']} photos of {info['train_people']} people. KDEF (non-commercial research only) "
        "and the Taiwanese set (academic research only) may not be redistributed; these weights are "
        "trained on them and inherit their research-only terms. Split by person with the generators' split "
        f"(`weights/{info['split']}`): no test or validation person is trained on.", "",
        "## Recipe", "",
        "```", "face-studio train-recognizer   # resumes from .cache/recognizer/run", "```", "",
        f"{info['epochs']} epochs per member, one-cycle learning rate (peak 2e-3, AdamW, weight decay 5e-3), "
        "class-balanced cross-entropy with 0.1 label smoothing, random mirror, rotation (+-6 degrees), "
        "scale (+-6%), shift (+-5%), brightness and contrast jitter. About 5 minutes per member on a 2-core CPU.", "",
        "## Accuracy (%), on people never trained on", "",
        "| people | overall | " + " | ".join(CLASSES) + " |", "|---" * (len(CLASSES) + 2) + "|"]
    for part, label in (("test", "test"), ("val", "validation"), ("london", "London (other photographer)")):
        if info.get(part):
            lines += _table_rows(label, info[part])
    if info.get("image_only"):
        lines += ["", "Each part alone (accuracy %, validation / test): image "
                  f"{100 * info['image_only']['val']:.1f} / {100 * info['image_only']['test']:.1f}, shape "
                  f"{100 * info['shape_only']['val']:.1f} / {100 * info['shape_only']['test']:.1f}."]
    test = info.get("test")
    if test:
        lines += ["", "Confusion on the test people (rows: true class, columns: predicted, in the order above):", "", "```"]
        lines += [f"{c:>9} " + " ".join(f"{v:3d}" for v in row) for c, row in zip(CLASSES, test["confusion"])]
        lines += ["```"]
    lines += ["", "Chance is 14.3% (7 classes). The studio uses it to judge edits (`face-studio eval`), "
              "and shows its probabilities in the app and in `face-studio landmarks --json`.", "",
              "## Limitations", "",
              "- Trained on posed, frontal studio photos of adults (Swedish and Taiwanese); expect lower "
              "accuracy on turned heads, spontaneous expressions, children, and other lighting.",
              "- Fear, disgust, sadness and anger are confused with each other far more than happiness, "
              "surprise and neutral (see the confusion above).", ""]
    write_atomic(path, lambda tmp: Path(tmp).write_text("\n".join(lines)))
