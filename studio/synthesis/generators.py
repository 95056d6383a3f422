"""The trained generator pair, loaded once from safetensors, and run on aligned face crops."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from studio.errors import StudioError
from studio.synthesis.heatmaps import render_heatmap
from studio.synthesis.networks import GeneratorConfig, ResidualGenerator
from studio.weights_file import read_weights, write_weights

SYNTHESIS, REMOVAL = "synthesis", "removal"


def face_colour(crops: np.ndarray) -> np.ndarray:
    """B x 3 mean RGB of the aligned crops' central face (cheeks, nose, mouth), 0..255."""
    s = crops.shape[1]
    return crops[:, int(0.35 * s):int(0.85 * s), int(0.25 * s):int(0.75 * s)].reshape(len(crops), -1, 3).mean(axis=1)


def colour_gain(crops: np.ndarray, reference: np.ndarray | None) -> np.ndarray:
    """B x 3 float32 per-channel gains that bring each crop's face to the training faces' mean
    colour `reference` (ones without one), within 0.5..2."""
    if reference is None:
        return np.ones((len(crops), 3), np.float32)
    return np.clip(reference / np.maximum(face_colour(crops), 1.0), 0.5, 2.0).astype(np.float32)


def save_generators(synthesis: ResidualGenerator, removal: ResidualGenerator, size: int, path: Path,
                    extra: dict | None = None, colour_reference: np.ndarray | None = None) -> Path:
    """The two generators (nothing else) as safetensors, with what is needed to rebuild them, and
    the training faces' mean colour (`face_colour`) that inputs are brought to before a run."""
    tensors = {f"{name}.{k}": v.detach().cpu().contiguous().numpy()
               for name, g in (("G_E", synthesis), ("G_N", removal)) for k, v in g.state_dict().items()}
    meta = {"generator": json.dumps(synthesis.config.to_dict()), "size": str(size), **(extra or {})}
    if colour_reference is not None:
        meta["colour_reference"] = json.dumps([round(float(v), 3) for v in colour_reference])
    return write_weights(tensors, meta, path)


def _binomial(x: torch.Tensor) -> torch.Tensor:
    k = torch.tensor([1.0, 2.0, 1.0], device=x.device) / 4
    kernel = (k[:, None] * k[None, :]).expand(x.shape[1], 1, 3, 3)
    return torch.nn.functional.conv2d(torch.nn.functional.pad(x, (1, 1, 1, 1), mode="replicate"), kernel,
                                      groups=x.shape[1])


@dataclass(frozen=True)
class Generators:
    synthesis: ResidualGenerator   # G_E: towards an expression
    removal: ResidualGenerator     # G_N: towards the neutral face
    size: int                      # the crop size they were trained at
    info: dict
    colour_reference: np.ndarray | None = None   # the training faces' mean RGB (face_colour)

    @staticmethod
    def load(path: str | Path, device: str = "cpu") -> "Generators":
        from safetensors import safe_open
        from safetensors.torch import load_file

        path = Path(path)
        if not path.is_file():
            raise StudioError(f"generator weights not found at {path}")
        try:
            with safe_open(str(path), framework="pt") as f:
                meta = f.metadata()
            tensors = load_file(str(path), device=device)
            config = GeneratorConfig(**json.loads(meta["generator"]))
        except Exception as exc:   # any damage to the file: one clear line
            raise StudioError(f"cannot read generator weights {path.name}: {exc}") from None
        nets = []
        for name in ("G_E", "G_N"):
            net = ResidualGenerator(config)
            net.load_state_dict({k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + ".")})
            nets.append(net.to(device).eval())
        reference = np.array(json.loads(meta["colour_reference"])) if "colour_reference" in meta else None
        return Generators(nets[0], nets[1], int(meta["size"]),
                          {k: meta[k] for k in ("steps", "averaged_steps", "trained_region") if k in meta}
                          | {"region": config.region},
                          reference)

    @torch.inference_mode()
    def run(self, direction: str, crops: np.ndarray, points: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """B x S x S x 3 uint8 crops already at the target geometry, and the target's B x 478 x 2
        crop points -> (outputs uint8, residuals float32 in pixel units, masks float32 0..1).

        Each crop is first scaled per channel so its face has the training faces' mean colour
        (photos in cooler or brighter light than the training sets otherwise get tinted mouths),
        and the residual is scaled back to the photo's own colour.
        """
        net = self.synthesis if direction == SYNTHESIS else self.removal
        device = next(net.parameters()).device
        crops = np.ascontiguousarray(crops)
        gain = colour_gain(crops, self.colour_reference)
        inputs = (crops * gain[:, None, None, :]).clip(0, 255).astype(np.float32)
        face = torch.from_numpy(inputs).to(device).permute(0, 3, 1, 2) / 127.5 - 1
        heat = torch.from_numpy(np.stack([render_heatmap(p, crops.shape[1]) for p in points])).to(device)
        _, residual, mask = net(face, heat)
        # The last layer unfolds 2x2 blocks of channels into pixels (pixel shuffle), and the
        # adversarial training left a period-2 colour pattern in it; a [1 2 1] filter removes
        # exactly that frequency and keeps the rest (it would show as stripes once upsampled).
        residual, mask = _binomial(residual), _binomial(mask)
        to_np = lambda t: t.permute(0, 2, 3, 1).cpu().numpy()  # noqa: E731
        residual = to_np(residual) * 127.5 / gain[:, None, None, :]
        mask = to_np(mask)[..., 0]
        pixels = (crops + mask[..., None] * residual).round().clip(0, 255).astype(np.uint8)
        return pixels, residual, mask


def average_generators(paths: list[Path], out: Path) -> Path:
    """The weight average of several snapshots of one run (its last checkpoints): a GAN's
    generator wanders around a good solution late in training, and the mean of its recent
    snapshots is steadier than any one of them."""
    if len(paths) < 1:
        raise StudioError("nothing to average")
    tensors, steps = [], []
    for p in paths:
        weights, meta = read_weights(p, f"no weights at {p}")   # the last snapshot's metadata describes the result
        tensors.append(weights)
        steps.append(meta.get("steps", "?"))
    if any(t.keys() != tensors[0].keys() for t in tensors):
        raise StudioError("these weights are not snapshots of the same networks")
    meta["averaged_steps"] = ",".join(steps)
    mean = {k: np.mean([t[k] for t in tensors], axis=0).astype(tensors[0][k].dtype) for k in tensors[0]}
    return write_weights(mean, meta, out)


def set_region(path: Path, region: str) -> Path:
    """Rewrite shipped weights so their generators' masks may open in `region` (see
    feature_region). The mask is the network's output times the region, so a tighter region than
    the one trained with only shrinks the masks; the face hue the residual may add is then taken
    over the new region."""
    config = GeneratorConfig(region=region)   # validates the name
    tensors, meta = read_weights(path, f"generator weights not found at {path}")
    generator = json.loads(meta["generator"])
    meta["trained_region"] = meta.get("trained_region", generator["region"])
    meta["generator"] = json.dumps({**generator, "region": config.region})
    return write_weights(tensors, meta, path)
