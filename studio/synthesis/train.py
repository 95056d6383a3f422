"""`face-studio train`: G2-GAN's two generators, trained on the face sets' neutral/expression pairs.

Per step, for a batch of pairs (neutral N, expression E of one person):
- synthesis: G_E(N warped to E's landmarks, heatmap of E) should look like the real E;
- removal:   G_N(E warped to N's landmarks, heatmap of N) should look like the real N;
- cycle:     G_N(G_E's output warped back to N's landmarks, heatmap of N) should give N again;
- losses as in G2-GAN section 3.1: adversarial (a PatchGAN on images and one on image-heatmap
  pairs, least squares), pixel L1 (the data is paired), cycle L1, identity (the face descriptor's
  distance to the same person's real photo), plus GANimation's mask terms (small, smooth masks).
Resumes from the run folder's checkpoint; every step's batch comes from (seed, step), so a
resumed run matches an uninterrupted one.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from studio import paths
from studio.devices import choose_device
from studio.synthesis.checkpoint import load_state, save_state
from studio.synthesis.dataset import (
    DataConfig,
    PairArrays,
    load_pairs,
    prepare_data,
)
from studio.synthesis.generators import face_colour, save_generators
from studio.synthesis.heatmaps import render_heatmap
from studio.synthesis.networks import (
    REGION_CHANNELS,
    GeneratorConfig,
    PatchDiscriminator,
    ResidualGenerator,
    dilated_features,
)


@dataclass(frozen=True)
class TrainConfig:
    faces_dir: Path
    run_dir: Path = paths.REPO_ROOT / ".cache" / "g2gan" / "run"
    size: int = 128
    steps: int = 4000
    batch: int = 8
    lr: float = 2e-4
    decay_from: float = 0.5          # the learning rate falls linearly to 0 over the run's last half
    seed: int = 0
    generator: GeneratorConfig = field(default_factory=GeneratorConfig)
    sample_every: int = 250
    checkpoint_every: int = 250
    lambda_adv: float = 0.3          # below G2-GAN's 1: more made stripes and tints on this little data
    lambda_pixel: float = 10.0
    lambda_cycle: float = 5.0
    lambda_identity: float = 1.0
    identity_samples: int = 2        # the descriptor is costly: only this many images per batch
    lambda_mask: float = 0.05
    lambda_mask_tv: float = 0.5
    colour_jitter: float = 0.25      # per-pair random gain, tint and gamma: photos lit unlike the training sets
    focus: float = 4.0               # extra pixel/cycle weight on the mouth, eyes and brows
    discriminator_base: int = 32
    descriptor_dir: Path | None = None
    device: str = "auto"
    limit: int | None = None         # only the first pairs (quick checks)
    init_from: Path | None = None    # a fresh run starts from this run's checkpoint weights (fine-tuning)

    def to_json(self) -> dict:
        data = asdict(self)
        return {k: str(v) if isinstance(v, Path) else v for k, v in data.items()}


def pick_device(name: str) -> torch.device:
    """The training device: studio.devices.choose_device (auto: CUDA, then MPS, else the CPU)."""
    return torch.device(choose_device(name))


@dataclass
class Batch:
    neutral: torch.Tensor      # B x 3 x S x S in -1..1
    expression: torch.Tensor
    warp_ne: torch.Tensor
    warp_en: torch.Tensor
    heat_n: torch.Tensor       # B x 3 x S x S in 0..1
    heat_e: torch.Tensor
    grid_en: torch.Tensor      # B x S x S x 2 for grid_sample: E-geometry image -> N geometry
    chip_n: torch.Tensor       # B x 2 x 3 affine_grid thetas: crop -> the descriptor's face chip
    chip_e: torch.Tensor


class PairSource:
    """The pairs as tensors, heatmaps drawn once; `batch(step)` is a pure function of (seed, step)."""

    def __init__(self, pairs: PairArrays, size: int, seed: int, device: torch.device):
        self.pairs, self.size, self.seed, self.device = pairs, size, seed, device
        self.heat_n = np.stack([render_heatmap(p, size) for p in pairs.neutral_points])
        self.heat_e = np.stack([render_heatmap(p, size) for p in pairs.expression_points])
        self.chip_n = np.stack([chip_theta(p, size) for p in pairs.neutral_points])
        self.chip_e = np.stack([chip_theta(p, size) for p in pairs.expression_points])

    def __len__(self) -> int:
        return len(self.pairs)

    def take(self, index: np.ndarray, flip: np.ndarray | None = None,
             colour: np.ndarray | None = None) -> Batch:
        s = self.size

        def image(a):
            return torch.from_numpy(a[index]).to(self.device).permute(0, 3, 1, 2).float() / 127.5 - 1.0

        def rows(a):
            return torch.from_numpy(a[index]).to(self.device)

        flow = torch.from_numpy(self.pairs.flow_en[index].astype(np.float32)).to(self.device)
        grid = flow / (s - 1) * 2.0 - 1.0   # pixel -> -1..1 (align_corners=True)
        b = Batch(image(self.pairs.neutral), image(self.pairs.expression), image(self.pairs.warp_ne),
                  image(self.pairs.warp_en), rows(self.heat_n), rows(self.heat_e), grid,
                  rows(self.chip_n), rows(self.chip_e))
        if flip is not None and flip.any():
            f = torch.from_numpy(flip).to(self.device)
            for name in ("neutral", "expression", "warp_ne", "warp_en", "heat_n", "heat_e"):
                t = getattr(b, name)
                setattr(b, name, torch.where(f[:, None, None, None], t.flip(-1), t))
            mirrored = b.grid_en.flip(2) * torch.tensor([-1.0, 1.0], device=self.device)
            b.grid_en = torch.where(f[:, None, None, None], mirrored, b.grid_en)
            # the chip of a mirrored crop: sample it at mirrored positions (negate the x row), which
            # gives the same, unmirrored chip
            row = torch.tensor([[-1.0], [1.0]], device=self.device)
            for name in ("chip_n", "chip_e"):
                t = getattr(b, name)
                setattr(b, name, torch.where(f[:, None, None], t * row, t))
        if colour is not None:   # B x 4: gain per channel (3) and gamma, the same for a pair's 4 images
            c = torch.from_numpy(colour.astype(np.float32)).to(self.device)
            gain, gamma = c[:, :3, None, None], c[:, 3:, None, None]
            for name in ("neutral", "expression", "warp_ne", "warp_en"):
                t = (getattr(b, name) + 1) / 2
                setattr(b, name, ((t.clamp_min(0) ** gamma) * gain).clamp(0, 1) * 2 - 1)
        return b

    def batch(self, step: int, size: int, jitter: float = 0.0) -> Batch:
        return self.take(*self.draw(step, size, jitter))

    def draw(self, step: int, size: int, jitter: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """The pairs, mirror flags and colour changes of batch `step`: (index, flip, colour)."""
        rng = np.random.default_rng([self.seed, step])
        index = rng.choice(len(self), size=min(size, len(self)), replace=False)
        flip = rng.random(len(index)) < 0.5
        colour = None
        if jitter > 0:
            n = len(index)
            gain = rng.uniform(1 - jitter, 1 + jitter, (n, 1)) * rng.uniform(1 - jitter / 3, 1 + jitter / 3, (n, 3))
            gamma = np.exp(rng.uniform(-jitter, jitter, (n, 1)))
            colour = np.concatenate([gain, gamma], axis=1)
        return index, flip, colour


def decayed_lr(lr: float, step: int, steps: int, decay_from: float) -> float:
    """`lr` until `decay_from` of the run, then falling linearly to 0 at its last step."""
    left = 1.0 - step / max(steps, 1)
    return lr * min(1.0, left / max(1.0 - decay_from, 1e-6))


def chip_theta(points: np.ndarray, size: int) -> np.ndarray:
    """2x3 affine_grid theta taking the face's 150 px descriptor chip to where it lies in an S-pixel crop.

    The descriptor was trained on dlib's tight chips; the whole crop, resized, is a different
    framing and separates people worse.
    """
    from studio.synthesis.face_descriptor import chip_alignment

    m = chip_alignment(points, 150).matrix                  # crop px -> chip px
    inv = cv2.invertAffineTransform(m)                     # chip px -> crop px
    # normalised coordinates (align_corners=False): p = ((n + 1) * side - 1) / 2
    to_px = np.array([[75.0, 0, 74.5], [0, 75.0, 74.5], [0, 0, 1]])
    to_norm = np.array([[2.0 / size, 0, 1.0 / size - 1], [0, 2.0 / size, 1.0 / size - 1], [0, 0, 1]])
    return (to_norm @ np.vstack([inv, [0, 0, 1]]) @ to_px)[:2].astype(np.float32)


def _lsgan_d(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    return ((real - 1.0) ** 2).mean() + (fake ** 2).mean()


def _lsgan_g(fake: torch.Tensor) -> torch.Tensor:
    return ((fake - 1.0) ** 2).mean()


def focus_weight(heat: torch.Tensor, focus: float, channels: int = 2) -> torch.Tensor:
    """B x 1 x S x S per-pixel loss weights, mean 1: `1 + focus` over the mouth (and, with
    channels=2, the eyes and brows): where the generator's mask may open.

    Geometry already gets most of the face right; what it cannot make (teeth, the inside of the
    mouth, creases at the eyes and brows) covers a few percent of the crop and would be drowned
    out by the rest in a plain mean.
    """
    parts = dilated_features(heat, heat.shape[-1] // 8 + 1, 5, channels)   # grow ~ an open mouth's height
    w = 1.0 + focus * parts
    return w / w.mean(dim=(2, 3), keepdim=True)


def _l1(x: torch.Tensor, y: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    return ((x - y).abs() * weight).mean()


def _tv(mask: torch.Tensor) -> torch.Tensor:
    return (mask[..., 1:, :] - mask[..., :-1, :]).abs().mean() + (mask[..., :, 1:] - mask[..., :, :-1]).abs().mean()


class Trainer:
    def __init__(self, config: TrainConfig, log=print):
        self.config, self.log = config, log
        torch.manual_seed(config.seed)
        self.device = pick_device(config.device)
        data = DataConfig(faces_dir=config.faces_dir, size=config.size, limit=config.limit)
        path, split = prepare_data(data, log=log)
        self.train_data = PairSource(load_pairs(path, split["train"]), config.size, config.seed, self.device)
        self.colour_reference = face_colour(self.train_data.pairs.neutral).mean(axis=0)
        val = load_pairs(path, split["val"])
        self.val_data = PairSource(val, config.size, config.seed, self.device) if len(val) else self.train_data
        self.G_E = ResidualGenerator(config.generator).to(self.device)
        self.G_N = ResidualGenerator(config.generator).to(self.device)
        self.D_img = PatchDiscriminator(3, config.discriminator_base).to(self.device)
        self.D_pair = PatchDiscriminator(6, config.discriminator_base).to(self.device)
        betas = (0.5, 0.999)
        self.opt_G = torch.optim.Adam([*self.G_E.parameters(), *self.G_N.parameters()], config.lr, betas=betas)
        self.opt_D = torch.optim.Adam([*self.D_img.parameters(), *self.D_pair.parameters()], config.lr, betas=betas)
        self.descriptor = None
        if config.lambda_identity > 0 and config.descriptor_dir is not None:
            from studio.synthesis.face_descriptor import FaceDescriptorNet

            self.descriptor = FaceDescriptorNet.load(config.descriptor_dir).to(self.device).eval()
            for p in self.descriptor.parameters():
                p.requires_grad_(False)
        self.step = 0
        self.checkpoint = config.run_dir / "checkpoint.safetensors"

    @property
    def modules(self):
        return {"G_E": self.G_E, "G_N": self.G_N, "D_img": self.D_img, "D_pair": self.D_pair}

    @property
    def optimizers(self):
        return {"opt_G": self.opt_G, "opt_D": self.opt_D}

    def resume(self) -> bool:
        """Continue this run from its checkpoint; a run with none yet starts from `init_from`'s
        networks (not its optimisers or step) when one is given."""
        if not self.checkpoint.is_file():
            if self.config.init_from is not None:
                from studio.errors import StudioError

                if not Path(self.config.init_from).is_file():
                    raise StudioError(f"no checkpoint to start from at {self.config.init_from}")
                load_state(Path(self.config.init_from), self.modules, {}, self.device)
                self.log(f"starting from the networks of {self.config.init_from}")
            return False
        meta = load_state(self.checkpoint, self.modules, self.optimizers, self.device)
        self.step = int(meta["step"])
        self.log(f"resumed from step {self.step}")
        return True

    def save(self) -> None:
        self.config.run_dir.mkdir(parents=True, exist_ok=True)
        # the generators alone at every checkpoint too: late snapshots can be averaged for shipping
        snapshots = self.config.run_dir / "generators"
        snapshots.mkdir(exist_ok=True)
        export_generators(self, snapshots / f"step_{self.step:06d}.safetensors")
        save_state(self.checkpoint, self.modules, self.optimizers,
                   {"step": self.step, "config": self.config.to_json(),
                    "colour_reference": [float(v) for v in self.colour_reference]})

    def _identity(self, fake: torch.Tensor, fake_chip: torch.Tensor, real: torch.Tensor,
                  real_chip: torch.Tensor) -> torch.Tensor:
        k = self.config.identity_samples
        if self.descriptor is None or k == 0:
            return fake.new_zeros(())

        def describe(x, theta):  # -1..1 crops -> the descriptor's 150 px 0..1 chip
            grid = F.affine_grid(theta[:k], (len(theta[:k]), 3, 150, 150), align_corners=False)
            chip = F.grid_sample((x[:k] + 1) / 2, grid, mode="bilinear", padding_mode="border", align_corners=False)
            return self.descriptor(chip)

        return (describe(fake, fake_chip) - describe(real, real_chip)).norm(dim=1).mean()

    def learning_rate(self) -> float:
        c = self.config
        return decayed_lr(c.lr, self.step, c.steps, c.decay_from)

    def train_step(self) -> dict[str, float]:
        c, b = self.config, self.train_data.batch(self.step, self.config.batch, self.config.colour_jitter)
        lr = self.learning_rate()
        for opt in (self.opt_G, self.opt_D):
            for group in opt.param_groups:
                group["lr"] = lr
        y_e, _, m_e = self.G_E(b.warp_ne, b.heat_e)
        y_n, _, m_n = self.G_N(b.warp_en, b.heat_n)
        back = F.grid_sample(y_e, b.grid_en, mode="bilinear", padding_mode="border", align_corners=True)
        cyc, _, m_c = self.G_N(back, b.heat_n)

        # discriminators: real photos (and photos with the right heatmap) vs generated ones;
        # a real photo with the other geometry's heatmap also counts as fake for the pair critic
        self.opt_D.zero_grad(set_to_none=True)
        fake_e, fake_n = y_e.detach(), y_n.detach()
        d_loss = (_lsgan_d(self.D_img(b.expression), self.D_img(fake_e))
                  + _lsgan_d(self.D_img(b.neutral), self.D_img(fake_n))
                  + _lsgan_d(self.D_pair(torch.cat([b.expression, b.heat_e], 1)),
                             self.D_pair(torch.cat([fake_e, b.heat_e], 1)))
                  + _lsgan_d(self.D_pair(torch.cat([b.neutral, b.heat_n], 1)),
                             self.D_pair(torch.cat([fake_n, b.heat_n], 1)))
                  + (self.D_pair(torch.cat([b.expression, b.heat_n], 1)) ** 2).mean())
        d_loss.backward()
        self.opt_D.step()

        self.opt_G.zero_grad(set_to_none=True)
        adv = (_lsgan_g(self.D_img(y_e)) + _lsgan_g(self.D_img(y_n))
               + _lsgan_g(self.D_pair(torch.cat([y_e, b.heat_e], 1)))
               + _lsgan_g(self.D_pair(torch.cat([y_n, b.heat_n], 1))))
        channels = REGION_CHANNELS.get(c.generator.region, 2)
        w_e, w_n = focus_weight(b.heat_e, c.focus, channels), focus_weight(b.heat_n, c.focus, channels)
        pixel = _l1(y_e, b.expression, w_e) + _l1(y_n, b.neutral, w_n)
        cycle = _l1(cyc, b.neutral, w_n)
        identity = (self._identity(y_e, b.chip_e, b.neutral, b.chip_n)
                    + self._identity(y_n, b.chip_n, b.expression, b.chip_e))
        masks = torch.cat([m_e, m_n, m_c])
        mask, mask_tv = masks.mean(), _tv(masks)
        g_loss = (c.lambda_adv * adv + c.lambda_pixel * pixel + c.lambda_cycle * cycle
                  + c.lambda_identity * identity + c.lambda_mask * mask + c.lambda_mask_tv * mask_tv)
        g_loss.backward()
        self.opt_G.step()
        self.step += 1
        return {"d": d_loss.item(), "g": g_loss.item(), "adv": adv.item(), "pixel": pixel.item(),
                "cycle": cycle.item(), "identity": identity.item(), "mask": mask.item()}

    @torch.no_grad()
    def validate(self, count: int = 32) -> dict[str, float]:
        """L1 to the real photo on validation pairs: geometry alone vs the generators."""
        index = np.arange(min(count, len(self.val_data)))
        b = self.val_data.take(index)
        y_e, _, m_e = self.G_E(b.warp_ne, b.heat_e)
        y_n, _, _ = self.G_N(b.warp_en, b.heat_n)
        return {"val_synthesis_geometry": float((b.warp_ne - b.expression).abs().mean()),
                "val_synthesis_generator": float((y_e - b.expression).abs().mean()),
                "val_removal_geometry": float((b.warp_en - b.neutral).abs().mean()),
                "val_removal_generator": float((y_n - b.neutral).abs().mean()),
                "val_mask_mean": float(m_e.mean())}

    @torch.no_grad()
    def sample_grid(self, path: Path, count: int = 4) -> None:
        """Rows: neutral, its warp, G_E, real expression, mask | expression, its warp, G_N, real neutral, mask."""
        from PIL import Image

        b = self.val_data.take(np.arange(min(count, len(self.val_data))))
        y_e, _, m_e = self.G_E(b.warp_ne, b.heat_e)
        y_n, _, m_n = self.G_N(b.warp_en, b.heat_n)
        cols = [b.neutral, b.warp_ne, y_e, b.expression, m_e.expand(-1, 3, -1, -1) * 2 - 1,
                b.expression, b.warp_en, y_n, b.neutral, m_n.expand(-1, 3, -1, -1) * 2 - 1]
        grid = torch.cat([torch.cat(list(col), dim=1) for col in cols], dim=2)   # 3 x (n*S) x (10*S)
        pixels = ((grid.permute(1, 2, 0).cpu().numpy() + 1) * 127.5).clip(0, 255).astype(np.uint8)
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(pixels).save(path)

    def run(self, progress: bool = True) -> dict:
        from tqdm import tqdm

        c = self.config
        c.run_dir.mkdir(parents=True, exist_ok=True)
        (c.run_dir / "config.json").write_text(json.dumps(c.to_json(), indent=2))
        self.G_E.train(), self.G_N.train()
        log_file = open(c.run_dir / "train.log", "a", buffering=1)   # a line at a time: readable while it runs
        bar = tqdm(total=c.steps, initial=self.step, disable=not progress, unit="step")
        last = {}
        start = time.perf_counter()
        try:
            while self.step < c.steps:
                losses = self.train_step()
                bar.update(1)
                bar.set_postfix(g=f"{losses['g']:.2f}", d=f"{losses['d']:.2f}", px=f"{losses['pixel']:.3f}")
                if self.step % c.checkpoint_every == 0 or self.step == c.steps:
                    self.save()
                    losses.update(self.validate())
                if self.step % c.sample_every == 0 or self.step == c.steps:
                    self.sample_grid(c.run_dir / "samples" / f"step_{self.step:06d}.png")
                losses["step"] = self.step
                losses["seconds"] = round(time.perf_counter() - start, 2)
                log_file.write(json.dumps(losses) + "\n")
                last = losses
        finally:
            bar.close()
            log_file.close()
        return last


def export_generators(trainer: Trainer, out: Path) -> Path:
    """The two generators (no discriminators, no optimiser state) as the shipped weights."""
    return save_generators(trainer.G_E, trainer.G_N, trainer.config.size, out,
                           {"steps": str(trainer.step), "train_config": json.dumps(trainer.config.to_json())},
                           trainer.colour_reference)


def export_checkpoint(checkpoint: Path, out: Path) -> Path:
    """The generators of a run's checkpoint as shipped weights, without loading its data."""
    from safetensors import safe_open
    from safetensors.torch import load_file

    from studio.errors import StudioError
    if not Path(checkpoint).is_file():
        raise StudioError(f"no checkpoint at {checkpoint}")
    with safe_open(str(checkpoint), framework="pt") as f:
        meta = json.loads(f.metadata()["meta"])
    tensors = load_file(str(checkpoint))
    config = meta["config"]
    reference = meta.get("colour_reference")
    if reference is None:   # checkpoints from before the reference was stored: recompute it
        data = DataConfig(faces_dir=Path(config["faces_dir"]), size=int(config["size"]), limit=config["limit"])
        path, split = prepare_data(data, log=lambda *_: None)
        reference = face_colour(load_pairs(path, split["train"]).neutral).mean(axis=0)
    nets = []
    for name in ("G_E", "G_N"):
        net = ResidualGenerator(GeneratorConfig(**config["generator"]))
        net.load_state_dict({k[len(name) + 1:]: v for k, v in tensors.items() if k.startswith(name + "/")})
        nets.append(net)
    return save_generators(nets[0], nets[1], int(config["size"]), out,
                           {"steps": str(meta["step"]), "train_config": json.dumps(config)}, np.asarray(reference))


def with_overrides(config: TrainConfig, **changes) -> TrainConfig:
    return replace(config, **{k: v for k, v in changes.items() if v is not None})
