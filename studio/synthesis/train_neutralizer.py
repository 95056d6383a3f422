"""`face-studio train-neutralizer`: the whole-face removal generator (`neutralizer`).

Each training pair gives the expression photo warped to the same person's neutral landmarks
(the removal geometry at its best) and the real neutral photo; the network learns what the warp
cannot do: the creases and shading that should go. Two photos of a session still differ in
exposure and light, and a network trained on them learned to relight faces (dark ones came out
pale); so the target is the neutral photo with the warp's own low frequencies (`lit_like`): the
network learns creases and folds, not the camera. Losses, inside the face outline only: L1 on
the pixels and L1 on their gradients (creases are edges; a plain pixel loss is content to blur
them). A quarter of each batch is a real neutral photo given as input, whose target is itself:
a face with no expression to take away must come out as it went in. It starts from the shipped
G_N (`weights/g2gan.safetensors`), which already knows the heatmaps. A batch is a function of (seed, step), and the run resumes
from its checkpoint, so an interrupted run ends where an uninterrupted one would.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional as F

from studio import paths
from studio.synthesis.checkpoint import load_state, save_state
from studio.synthesis.dataset import DataConfig, load_pairs, prepare_data
from studio.synthesis.generators import face_colour
from studio.synthesis.networks import GeneratorConfig
from studio.synthesis.neutralizer import Neutralizer, NeutralizerNet, face_region
from studio.synthesis.train import PairSource, decayed_lr, pick_device
from studio.weights_file import read_weights


@dataclass(frozen=True)
class NeutralizerTrainConfig:
    faces_dir: Path
    run_dir: Path = paths.REPO_ROOT / ".cache" / "neutralizer" / "run"
    init_from: Path | None = paths.WEIGHTS_DIR / "g2gan.safetensors"   # its G_N; None: from scratch
    size: int = 128
    steps: int = 3000
    batch: int = 8
    lr: float = 2e-4
    decay_from: float = 0.5        # the learning rate falls linearly to 0 over the run's last half
    lambda_gradient: float = 1.0
    lambda_mask: float = 0.01      # a little pressure to leave the face as it is where nothing is wrong
    light_sigma: float = 1 / 16    # the target keeps the warp's light below this scale (fraction of the crop)
    idle_share: float = 0.25       # this share of each batch is a neutral photo given as it is: it must stay
    colour_jitter: float = 0.25
    seed: int = 0
    checkpoint_every: int = 250
    device: str = "auto"
    limit: int | None = None       # only the first pairs (quick checks)
    cache_dir: Path = paths.REPO_ROOT / ".cache" / "g2gan"   # the pairs, shared with the generators' training

    def to_json(self) -> dict:
        return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(self).items()}


def _gradients(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    return x[..., :, 1:] - x[..., :, :-1], x[..., 1:, :] - x[..., :-1, :]


def _gaussian_blur(x: torch.Tensor, sigma: float) -> torch.Tensor:
    radius = max(int(3 * sigma), 1)
    taps = torch.exp(-0.5 * (torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype) / sigma) ** 2)
    taps = taps / taps.sum()
    c = x.shape[1]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="replicate"), taps.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="replicate"), taps.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def lit_like(real: torch.Tensor, warped: torch.Tensor, region: torch.Tensor, sigma: float) -> torch.Tensor:
    """`real` with the low frequencies (below `sigma` pixels) of `warped` inside the region: the
    neutral photo's creases and detail in the expression photo's exposure and light."""
    weight = _gaussian_blur(region, sigma).clamp_min(1e-3)
    shift = _gaussian_blur((warped - real) * region, sigma) / weight
    return (real + shift).clamp(-1.0, 1.0)


def face_losses(out: torch.Tensor, real: torch.Tensor, region: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(pixel L1, gradient L1), each a mean over the face region."""
    area = region.sum().clamp_min(1.0) * out.shape[1]
    pixel = ((out - real).abs() * region).sum() / area
    (ox, oy), (rx, ry) = _gradients(out), _gradients(real)
    gradient = (((ox - rx).abs() * region[..., :, 1:]).sum() + ((oy - ry).abs() * region[..., 1:, :]).sum()) / area
    return pixel, gradient


class NeutralPairs(PairSource):
    """The generators' training pairs plus each neutral face's region (drawn once)."""

    def __init__(self, pairs, size: int, seed: int, device: torch.device):
        super().__init__(pairs, size, seed, device)
        self.regions = np.stack([face_region(p, size) for p in pairs.neutral_points])[:, None]

    def sample(self, index: np.ndarray, flip: np.ndarray | None = None, colour: np.ndarray | None = None):
        batch = self.take(index, flip, colour)
        region = torch.from_numpy(self.regions[index]).to(self.device)
        if flip is not None:
            region = torch.where(torch.from_numpy(flip).to(self.device)[:, None, None, None], region.flip(-1), region)
        return batch, region


class NeutralizerTrainer:
    def __init__(self, config: NeutralizerTrainConfig, log=print):
        self.config, self.log = config, log
        torch.manual_seed(config.seed)
        self.device = pick_device(config.device)
        path, split = prepare_data(DataConfig(faces_dir=config.faces_dir, size=config.size, limit=config.limit,
                                             cache_dir=config.cache_dir), log=log)
        train = load_pairs(path, split["train"])
        self.train_data = NeutralPairs(train, config.size, config.seed, self.device)
        val = load_pairs(path, split["val"])
        self.val_data = NeutralPairs(val, config.size, config.seed, self.device) if len(val) else self.train_data
        self.colour_reference = face_colour(train.neutral).mean(axis=0)
        self.net = NeutralizerNet(GeneratorConfig(region="anywhere")).to(self.device)
        self.opt = torch.optim.Adam(self.net.parameters(), config.lr, betas=(0.5, 0.999))
        self.step = 0
        self.checkpoint = config.run_dir / "checkpoint.safetensors"

    def resume(self) -> bool:
        """Continue this run from its checkpoint; a new run starts from `init_from`'s G_N."""
        if self.checkpoint.is_file():
            meta = load_state(self.checkpoint, {"net": self.net}, {"opt": self.opt}, self.device)
            self.step = int(meta["step"])
            self.log(f"resumed from step {self.step}")
            return True
        if self.config.init_from is not None:
            weights, _ = read_weights(self.config.init_from, f"no generator weights at {self.config.init_from}")
            self.net.generator.load_state_dict({k[4:]: torch.from_numpy(v) for k, v in weights.items()
                                                if k.startswith("G_N.")})
            self.log(f"starting from G_N of {self.config.init_from}")
        return False

    def target(self, b, region: torch.Tensor) -> torch.Tensor:
        return lit_like(b.neutral, b.warp_en, region, self.config.light_sigma * self.config.size)

    def train_step(self) -> dict[str, float]:
        c = self.config
        b, region = self.train_data.sample(*self.train_data.draw(self.step, c.batch, c.colour_jitter))
        for group in self.opt.param_groups:
            group["lr"] = decayed_lr(c.lr, self.step, c.steps, c.decay_from)
        idle = np.random.default_rng([c.seed, self.step, 1]).random(len(region)) < c.idle_share
        idle = torch.from_numpy(idle).to(self.device)[:, None, None, None]
        source = torch.where(idle, b.neutral, b.warp_en)
        out, _, mask = self.net(source, b.heat_n, region)
        pixel, gradient = face_losses(out, torch.where(idle, b.neutral, self.target(b, region)), region)
        loss = pixel + c.lambda_gradient * gradient + c.lambda_mask * mask.mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.step += 1
        return {"loss": loss.item(), "pixel": pixel.item(), "gradient": gradient.item(), "mask": mask.mean().item()}

    @torch.no_grad()
    def validate(self, count: int = 48) -> dict[str, float]:
        """Face-region L1 to the real neutral photo on validation pairs: the warp alone vs with the network."""
        self.net.eval()
        b, region = self.val_data.sample(np.arange(min(count, len(self.val_data))))
        out, _, _ = self.net(b.warp_en, b.heat_n, region)
        idle, _, _ = self.net(b.neutral, b.heat_n, region)
        self.net.train()
        target = self.target(b, region)
        warp, network = face_losses(b.warp_en, target, region), face_losses(out, target, region)
        return {"val_pixel_warp": float(warp[0]), "val_pixel": float(network[0]),
                "val_gradient_warp": float(warp[1]), "val_gradient": float(network[1]),
                "val_idle_change": float(face_losses(idle, b.neutral, region)[0])}

    @torch.no_grad()
    def sample_grid(self, path: Path, count: int = 6) -> None:
        """Rows of validation pairs: expression, its warp to neutral, the network's output, the
        target, the real neutral photo."""
        from PIL import Image

        self.net.eval()
        b, region = self.val_data.sample(np.linspace(0, len(self.val_data) - 1, count).astype(int))
        out, _, _ = self.net(b.warp_en, b.heat_n, region)
        self.net.train()
        cols = (b.expression, b.warp_en, out, self.target(b, region), b.neutral)
        grid = torch.cat([torch.cat(list(col), dim=1) for col in cols], dim=2)
        pixels = ((grid.permute(1, 2, 0).cpu().numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)

    def save(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        save_state(self.checkpoint, {"net": self.net}, {"opt": self.opt},
                   {"step": self.step, "config": self.config.to_json()})

    def neutralizer(self) -> Neutralizer:
        return Neutralizer(self.net.eval(), self.config.size,
                           {"steps": self.step, "train_config": self.config.to_json()}, self.colour_reference)

    def run(self, progress: bool = True) -> dict:
        from tqdm import tqdm

        c = self.config
        c.run_dir.mkdir(parents=True, exist_ok=True)
        (c.run_dir / "config.json").write_text(json.dumps(c.to_json(), indent=2))
        self.net.train()
        last: dict = {}
        start = time.perf_counter()
        with open(c.run_dir / "train.log", "a", buffering=1) as log_file, \
                tqdm(total=c.steps, initial=self.step, disable=not progress, unit="step") as bar:
            while self.step < c.steps:
                losses = self.train_step()
                bar.update(1)
                bar.set_postfix(px=f"{losses['pixel']:.4f}", grad=f"{losses['gradient']:.4f}")
                if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                    self.save()
                    losses.update(self.validate())
                    self.sample_grid(c.run_dir / "samples" / f"step_{self.step:06d}.png")
                losses["step"], losses["seconds"] = self.step, round(time.perf_counter() - start, 2)
                log_file.write(json.dumps(losses) + "\n")
                last = losses
        return last
