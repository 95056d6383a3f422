"""The neutralizer: G2-GAN's removal generator G_N acting on the whole face, not the mouth.

Removal's warp puts the features back where the person's neutral face has them, but it moves
pixels, so the expression's creases and shading move with them: a frown taken to neutral kept
its frown lines, and the recognizer read 49% of such removals as neutral even with the real
neutral photo's own landmarks as the target. This network, trained on the same people's real
neutral photos (`train_neutralizer`), sees the face already warped to the neutral geometry and
adds a change of brightness on the skin inside the face outline: it fills the creases and
evens the shading.

Its change is scaled by how much of the face's own expression an edit takes away (`amount`), so
sliding towards neutral fades the creases out continuously and an edit that keeps the
expression is left alone.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from mediapipe.python.solutions import face_mesh_connections as fmc

from studio.errors import StudioError
from studio.face.mesh import BROW_TOPS
from studio.synthesis import highlights
from studio.synthesis.generators import colour_gain
from studio.synthesis.heatmaps import render_heatmap
from studio.synthesis.networks import GeneratorConfig, ResidualGenerator
from studio.weights_file import read_weights, write_weights

# the face oval's points in drawing order (MediaPipe gives its edges unordered)
_OVAL_EDGES = dict(sorted(fmc.FACEMESH_FACE_OVAL))


def _oval_order() -> list[int]:
    start = next(iter(_OVAL_EDGES))
    order, point = [start], _OVAL_EDGES[start]
    while point != start:
        order.append(point)
        point = _OVAL_EDGES[point]
    return order


FACE_OVAL = np.array(_oval_order())
SHRINK = 0.03      # the region stops this fraction of the crop inside the face outline (hair, jaw shadow)
FEATHER = 0.025    # and fades out over this fraction of the crop
# the features are the warp's and G_N's: a network asked to match two photos whose eyes and brows
# never align exactly greys and blurs them, so the region leaves them out (widened by these
# fractions of the crop); the creases beside and between them stay in
_FEATURES = (
    ([fmc.FACEMESH_LEFT_EYE, fmc.FACEMESH_RIGHT_EYE], 0.035),
    ([fmc.FACEMESH_LEFT_EYEBROW, fmc.FACEMESH_RIGHT_EYEBROW], 0.05),
    ([fmc.FACEMESH_LIPS], 0.03),
)


def face_region(points: np.ndarray, size: int) -> np.ndarray:
    """S x S float32 in 0..1: the skin inside the face outline (478x2 crop pixels), without the
    eyes, brows and lips, feathered, so a change there has no edge."""
    mask = np.zeros((size, size), np.uint8)
    cv2.fillPoly(mask, [np.round(points[FACE_OVAL, :2] * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    shrink = max(int(round(SHRINK * size)), 1) * 2 + 1
    mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (shrink, shrink)))
    for parts, grow in _FEATURES:
        features = np.zeros((size, size), np.uint8)
        for edges in parts:
            index = np.array(sorted({i for edge in edges for i in edge}))
            hull = cv2.convexHull(np.round(points[index, :2] * 16).astype(np.int32))
            cv2.fillConvexPoly(features, hull, 255, cv2.LINE_AA, shift=4)
        width = max(int(round(grow * size)), 1) * 2 + 1
        features = cv2.dilate(features, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width, width)))
        mask = np.minimum(mask, 255 - features)
    return cv2.GaussianBlur(mask.astype(np.float32) / 255.0, (0, 0), FEATHER * size)


def on_skin(crop: np.ndarray, points: np.ndarray, region: np.ndarray) -> np.ndarray:
    """S x S float32 in 0..1: 0 on hair over the forehead (a fringe lies inside the face outline,
    and brightened it turned grey-blue, with orange and grey streaks in the skin of its parting),
    1 elsewhere. Hair there is what is far darker than the face's skin (its median brightness over
    the face `region`, face_region's mask), and the skin within HAIR_REACH of it. Below the brows
    nothing is held back: the shade of a smile's folds is as dark, and is what the change fills."""
    size = crop.shape[0]
    rgb = crop[..., :3].astype(np.float32)
    luma = 0.299 * rgb[..., 0] + 0.587 * rgb[..., 1] + 0.114 * rgb[..., 2]   # not BLAS: the same on any thread count
    skin = luma[region > 0.5]
    if skin.size < 16:
        return np.ones(luma.shape, np.float32)
    weight = np.clip((luma / max(float(np.median(skin)), 1.0) - HAIR_BELOW) / SKIN_FROM, 0, 1)
    reach = max(1, round(HAIR_REACH * size))
    weight = cv2.erode(weight, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * reach + 1,) * 2))
    brows = points[BROW_TOPS, :2]
    brows = brows[np.argsort(brows[:, 0])]
    above = np.interp(np.arange(size), brows[:, 0], brows[:, 1])[None, :] - np.arange(size)[:, None]
    forehead = np.clip(above, 0, 1).astype(np.float32)
    weight = 1 - forehead * (1 - weight)
    return cv2.GaussianBlur(weight, (0, 0), 1.0).astype(np.float32)


# Of the skin's median brightness: darker than HAIR_BELOW is hair, the change fading in over the
# next SKIN_FROM; the change keeps HAIR_REACH (of the crop) from it.
HAIR_BELOW = 0.45
SKIN_FROM = 0.2
HAIR_REACH = 0.03
_LUMA = torch.tensor((0.299, 0.587, 0.114)).view(1, 3, 1, 1)


class NeutralizerNet(torch.nn.Module):
    """The residual generator with its mask limited to the face region (passed in, B x 1 x S x S)
    and its residual to a change of brightness."""

    def __init__(self, config: GeneratorConfig):
        super().__init__()
        self.generator = ResidualGenerator(config)

    def forward(self, face: torch.Tensor, heat: torch.Tensor, region: torch.Tensor):
        _, residual, mask = self.generator(face, heat)
        # creases and folds are light and shade: a grey change only, so no colour cast
        residual = (residual * _LUMA.to(residual)).sum(1, keepdim=True).expand_as(residual)
        mask = mask * region
        return (face + mask * residual).clamp(-1.0, 1.0), residual, mask


@dataclass(frozen=True)
class Neutralizer:
    net: NeutralizerNet
    size: int
    info: dict
    colour_reference: np.ndarray   # the training faces' mean RGB (face_colour)

    @staticmethod
    def load(path: str | Path, device: str = "cpu") -> "Neutralizer":
        missing = f"neutralizer weights not found at {path}; train them with `face-studio train-neutralizer`"
        try:
            arrays, meta = read_weights(path, missing)
            net = NeutralizerNet(GeneratorConfig(**json.loads(meta["generator"])))
            net.load_state_dict({k: torch.from_numpy(v) for k, v in arrays.items()})
            size, reference = int(meta["size"]), np.array(json.loads(meta["colour_reference"]))
        except StudioError:
            raise
        except Exception as exc:   # a damaged or foreign file: one clear line
            raise StudioError(f"cannot read neutralizer weights {Path(path).name}: {exc}") from None
        return Neutralizer(net.to(device).eval(), size, json.loads(meta.get("info", "{}")), reference)

    def save(self, path: Path) -> Path:
        tensors = {k: v.detach().cpu().contiguous().numpy() for k, v in self.net.state_dict().items()}
        meta = {"generator": json.dumps(self.net.generator.config.to_dict()), "size": str(self.size),
                "colour_reference": json.dumps([round(float(v), 3) for v in self.colour_reference]),
                "info": json.dumps(self.info)}
        return write_weights(tensors, meta, path)

    @torch.inference_mode()
    def change(self, crop: np.ndarray, points: np.ndarray) -> np.ndarray:
        """S x S x 3 float32: what the network adds to an S px crop (uint8, already at the neutral
        geometry, `points` its 478x2 crop pixels), in the photo's own colour."""
        gain = colour_gain(crop[None], self.colour_reference)[0]
        inputs = (crop * gain).clip(0, 255).astype(np.float32)
        device = next(self.net.parameters()).device
        face = torch.from_numpy(inputs).to(device).permute(2, 0, 1)[None] / 127.5 - 1
        heat = torch.from_numpy(render_heatmap(points, self.size))[None].to(device)
        region = face_region(points, self.size)
        _, residual, mask = self.net(face, heat, torch.from_numpy(region)[None, None].to(device))
        change = (residual * mask)[0].permute(1, 2, 0).cpu().numpy() * 127.5 / gain
        # only the change's brightness, in the skin's own colour: the network's colour drifted
        # (blue-grey arcs where a smile's folds were lifted, purple beside a disgust's nose)
        change = highlights.brightness_only(change, crop)
        return (change * on_skin(crop, points, region)[:, :, None]).astype(np.float32)
