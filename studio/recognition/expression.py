"""The studio's facial expression recognizer: 7 classes (neutral and the six expressions) from the
face's aligned grayscale crop and its landmarks, as the papers' expression classifiers judge
synthesized faces.

Two parts, fused: a small ensemble of CNNs on the face (the canonical alignment zoomed to the
face, 64 px, grayscale, hair and background masked out, normalised per image; each net sees the
crop and its mirror image), and a linear classifier on the 478 landmarks in 3D. Training lives
in `train_expression`.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio.errors import StudioError
from studio.face.align import Alignment, align, sample_crop
from studio.face.image_io import LUMA, write_atomic
from studio.face.mesh import FACE_OVAL, STABLE
from studio.geometry.procrustes import fit_similarity
from studio.geometry.shape_model import EXPRESSIONS

CLASSES = ("neutral",) + tuple(EXPRESSIONS)
FORMAT = "studio-expression-recognizer-v2"   # v2: zoomed, masked crops


@dataclass(frozen=True)
class RecognizerConfig:
    size: int = 64                              # crop side the nets see
    widths: tuple[int, ...] = (24, 48, 96, 128)  # channels of the four conv stages
    dropout: float = 0.4


class ExpressionNet(nn.Module):
    """Four stages of two 3x3 conv + BN + ReLU and a 2x max pool, global average pool, linear."""

    def __init__(self, config: RecognizerConfig):
        super().__init__()
        layers, channels = [], 1
        for width in config.widths:
            layers += [nn.Conv2d(channels, width, 3, 1, 1), nn.BatchNorm2d(width), nn.ReLU(),
                       nn.Conv2d(width, width, 3, 1, 1), nn.BatchNorm2d(width), nn.ReLU(), nn.MaxPool2d(2)]
            channels = width
        self.features = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.head = nn.Sequential(nn.Dropout(config.dropout), nn.Linear(channels, len(CLASSES)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


ZOOM = 1.2   # the crop is the centre of a 1.2x larger canonical crop: the face, little else


def face_frame(points: np.ndarray, size: int) -> Alignment:
    """The canonical alignment, zoomed so the face from brows to chin fills the crop."""
    big = align(points, round(size * ZOOM))
    matrix = big.matrix.copy()
    matrix[:, 2] -= (round(size * ZOOM) - size) / 2
    return Alignment(matrix, size)


def gray_crop(pixels: np.ndarray, points: np.ndarray, size: int) -> np.ndarray:
    """size x size uint8: the face in grayscale (anti-aliased for large faces), everything outside
    the face outline (hair, background, clothes) replaced by the face's mean gray, so a studio's
    backdrop or a haircut cannot stand in for an expression."""
    frame = face_frame(points, size)
    rgb = np.ascontiguousarray(pixels[:, :, :3])
    gray = sample_crop(rgb, frame).astype(np.float32) @ LUMA
    outline = frame.to_crop(points[FACE_OVAL]).round().astype(np.int32)
    mask = np.zeros((size, size), np.float32)
    cv2.fillPoly(mask, [outline], 1.0)
    mask = cv2.GaussianBlur(mask, (0, 0), size / 40)   # a soft edge, no step for the convolutions
    fill = float((gray * mask).sum() / max(mask.sum(), 1e-6))
    return (gray * mask + fill * (1 - mask)).round().clip(0, 255).astype(np.uint8)


def normalize(crops: np.ndarray | torch.Tensor) -> torch.Tensor:
    """B x S x S uint8 crops (or B x 1 x S x S floats in 0..1) -> B x 1 x S x S float, zero mean
    and unit standard deviation each."""
    x = torch.as_tensor(crops)
    x = x.float()[:, None] / 255.0 if x.dim() == 3 else x
    return (x - x.mean((2, 3), keepdim=True)) / x.std((2, 3), keepdim=True).clamp_min(1e-3)


@dataclass(frozen=True)
class ShapeClassifier:
    """A linear softmax classifier on the face's 3D landmarks, after a similarity fit on the stable
    points to a reference face and a PCA. It knows nothing of pixels, so it is not fooled by
    another camera's light and colour (the CNNs are); the CNNs see creases and teeth, which it
    cannot."""

    reference: np.ndarray    # 478 x 3: the mean training face, interocular distance 1
    mean: np.ndarray         # 1434: the mean aligned shape, flattened
    components: np.ndarray   # K x 1434: principal directions, each divided by its standard deviation
    weight: np.ndarray       # 7 x K
    bias: np.ndarray         # 7

    def features(self, points: np.ndarray) -> np.ndarray:
        """B x 478 x 3 points (photo pixels, z in x's scale) -> B x K whitened PCA coordinates."""
        aligned = []
        for shape in points:
            fit = fit_similarity(shape[STABLE], self.reference[STABLE])
            aligned.append(fit.apply(shape).reshape(-1))
        return (np.stack(aligned) - self.mean) @ self.components.T

    def log_probabilities(self, points: np.ndarray) -> np.ndarray:
        logits = self.features(points) @ self.weight.T + self.bias
        return logits - np.logaddexp.reduce(logits, axis=1, keepdims=True)


@dataclass
class ExpressionRecognizer:
    """Loaded once (`load`), then `probabilities` for a face, or `log_probabilities` for crops and
    their landmarks. The image CNNs and the shape classifier are fused as a weighted product of
    their probabilities, `shape_weight` chosen on the validation people."""

    nets: list[ExpressionNet]
    config: RecognizerConfig
    info: dict
    shape: ShapeClassifier | None = None
    shape_weight: float = 0.0

    def image_log_probabilities(self, crops: np.ndarray) -> np.ndarray:
        """B x 7 log-probabilities of the CNN ensemble for B gray crops (B x S x S uint8)."""
        if len(crops) == 0 or not self.nets:   # no nets: a uniform guess (the shape part alone)
            return np.full((len(crops), len(CLASSES)), -np.log(len(CLASSES)), np.float32)
        x = normalize(crops).to(next(self.nets[0].parameters()).device)
        both = torch.cat([x, x.flip(-1)])   # each net sees the crops and their mirrors in one batch
        with torch.inference_mode():
            logs = torch.cat([F.log_softmax(net(both), 1).reshape(2, len(x), -1) for net in self.nets])
            return torch.logsumexp(logs, 0).sub(np.log(len(logs))).cpu().numpy()

    def log_probabilities(self, crops: np.ndarray, points: np.ndarray | None = None) -> np.ndarray:
        """B x 7 log-probabilities (CLASSES order) of B gray crops and (for the shape classifier,
        when there is one) their B x 478 x 3 landmarks."""
        logs = self.image_log_probabilities(crops)
        if self.shape is not None and self.shape_weight and points is not None and len(crops):
            logs = logs + self.shape_weight * self.shape.log_probabilities(np.asarray(points, np.float64))
            logs = logs - np.logaddexp.reduce(logs, axis=1, keepdims=True)
        return logs

    def probabilities(self, pixels: np.ndarray, points: np.ndarray) -> dict[str, float]:
        """{class: probability} for the face with these landmarks (478 x 3, photo pixels)."""
        crop = gray_crop(pixels, points, self.config.size)
        return dict(zip(CLASSES, np.exp(self.log_probabilities(crop[None], points[None])[0]).tolist()))

    def save(self, path: Path) -> None:
        from safetensors.torch import save_file

        tensors = {f"{i}/{k}": v.detach().cpu().contiguous()
                   for i, net in enumerate(self.nets) for k, v in net.state_dict().items()}
        if self.shape is not None:
            tensors.update({f"shape/{k}": torch.from_numpy(np.ascontiguousarray(v, np.float64))
                            for k, v in asdict(self.shape).items()})
        meta = {"format": FORMAT, "classes": json.dumps(CLASSES), "members": str(len(self.nets)),
                "config": json.dumps(asdict(self.config)), "info": json.dumps(self.info),
                "shape_weight": str(self.shape_weight)}
        write_atomic(path, lambda tmp: save_file(tensors, tmp, metadata=meta))   # whole or not at all

    @classmethod
    def load(cls, path: Path, device: str = "cpu") -> "ExpressionRecognizer":
        from safetensors import safe_open
        from safetensors.torch import load_file

        if not Path(path).is_file():
            raise StudioError(f"no expression recognizer weights at {path} (face-studio train-recognizer)")
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if meta.get("format") != FORMAT or tuple(json.loads(meta["classes"])) != CLASSES:
            raise StudioError(f"{path} is not an expression recognizer of this studio ({FORMAT})")
        raw = json.loads(meta["config"])
        config = RecognizerConfig(**{**raw, "widths": tuple(raw["widths"])})
        tensors = load_file(str(path))
        nets = []
        for i in range(int(meta["members"])):
            net = ExpressionNet(config)
            net.load_state_dict({k.split("/", 1)[1]: v for k, v in tensors.items() if k.startswith(f"{i}/")})
            nets.append(net.to(device).eval())
        shape = None
        if "shape/weight" in tensors:
            shape = ShapeClassifier(**{k: tensors[f"shape/{k}"].numpy() for k in ShapeClassifier.__dataclass_fields__})
        return cls(nets, config, json.loads(meta["info"]), shape, float(meta.get("shape_weight", 0.0)))
