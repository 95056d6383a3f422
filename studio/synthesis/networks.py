"""G2-GAN's networks, in PyTorch: a residual generator guided by a landmark heatmap, and PatchGAN
discriminators (one for real vs generated, one for image-heatmap pairs).

The generator sees the face already warped to the target geometry and the target's heatmap. It
predicts a colour residual and an attention mask (as GANimation does): out = x + mask * residual,
so wherever the mask is 0 the photo keeps its own pixels exactly.

The residual is hue-safe: a change of brightness, a change of each pixel's own colourfulness
(down to grey or up to twice as colourful), and at most a little of the face's own hue. Free RGB
residuals painted yellow-green teeth and blue or red blobs on faces lit and coloured unlike the
training sets; this residual cannot make a hue the photo does not already have.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import nn
from torch.nn import functional as F

from studio.synthesis.heatmaps import N_CHANNELS


@dataclass(frozen=True)
class GeneratorConfig:
    base: int = 32          # channels at full resolution; x2 at each of the two downsamplings
    residual_blocks: int = 4
    heat_channels: int = N_CHANNELS
    region: str = "mouth"   # where the mask may open: "lips", "mouth", "features" (+ eyes, brows) or "anywhere"
    hue_safe: bool = True   # brightness, own colourfulness and own hue only (see hue_safe_residual)

    def __post_init__(self):
        if self.region not in REGIONS:
            raise ValueError(f"unknown generator region {self.region!r}")

    def to_dict(self) -> dict:
        return asdict(self)


def _conv(cin: int, cout: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1, bias=False),
                         nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True))


class _ResBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.InstanceNorm2d(channels, affine=True), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, 1, 1, bias=False),
                                  nn.InstanceNorm2d(channels, affine=True))

    def forward(self, x):
        return x + self.body(x)


class _Up(nn.Module):
    """Upsample, join the encoder's features at that scale (U-Net skip), convolve."""

    def __init__(self, cin: int, skip: int, cout: int):
        super().__init__()
        self.conv = _conv(cin + skip, cout)

    def forward(self, x, skip):
        x = F.interpolate(x, size=skip.shape[-2:], mode="bilinear", align_corners=False)
        return self.conv(torch.cat([x, skip], dim=1))


# per region: how many of the heatmap's first channels (mouth, then eyes and brows) and how far
# they are widened, as a fraction of the crop: the lips alone; the lips and an open mouth's
# inside; that and the creases beside the eyes
REGION_CHANNELS = {"lips": 1, "mouth": 1, "features": 2}
REGION_GROW = {"lips": 16, "mouth": 8, "features": 6}
REGIONS = (*REGION_CHANNELS, "anywhere")


def dilated_features(heat: torch.Tensor, grow: int, soften: int, channels: int = 2) -> torch.Tensor:
    """B x 1 x S x S: the heatmap's first `channels` channels (mouth; eyes and brows), max-pooled
    over `grow` pixels (which fills the lips' inside) and box-blurred over `soften` (both odd)."""
    # both windows are squares, so each is taken as a row then a column: the same numbers, and
    # at 256 px about 20x cheaper than the 2-D windows
    parts = heat[:, :channels].amax(1, keepdim=True)
    parts = F.max_pool2d(F.max_pool2d(parts, (1, grow), 1, (0, grow // 2)), (grow, 1), 1, (grow // 2, 0))
    parts = F.avg_pool2d(parts, (1, soften), 1, (0, soften // 2), count_include_pad=False)
    return F.avg_pool2d(parts, (soften, 1), 1, (soften // 2, 0), count_include_pad=False)


def feature_region(heat: torch.Tensor, region: str = "mouth") -> torch.Tensor:
    """B x 1 x S x S in 0..1: where the generator may change the face, drawn from the target heatmap.

    Expressions create their new detail there (teeth and the mouth's inside; creases at the eyes
    and brows for "features"); limiting the mask to it keeps skin, hair and background exactly as
    the warp left them, however unfamiliar the photo's light or skin is to the networks. The
    default is the mouth alone: on unseen people, eyes and brows got blobs more often than creases.
    """
    if region == "anywhere":
        return torch.ones_like(heat[:, :1])
    size = heat.shape[-1]
    grow = size // REGION_GROW[region] | 1
    return dilated_features(heat, grow, size // 16 * 2 + 1, REGION_CHANNELS[region]).clamp(0, 1)


_LUMA = (0.299, 0.587, 0.114)


def hue_safe_residual(raw: torch.Tensor, face: torch.Tensor, region: torch.Tensor) -> torch.Tensor:
    """B x 3 raw outputs -> B x 3 RGB residual: brightness + own colourfulness + a little own hue.

    raw[0] -> a brightness change (-2..2, any grey level anywhere); raw[1] -> k in -1..1, which
    takes k of the pixel's own chroma away (k=1: grey, like teeth from lips) or adds it (k=-1:
    twice as colourful); raw[2] -> 0..0.4 of the mean hue of the face inside `region` (lips painted
    over teeth get the lips' red). Chroma here is RGB minus luma.
    """
    luma = face.new_tensor(_LUMA).view(1, 3, 1, 1)
    chroma = face - (face * luma).sum(1, keepdim=True)
    weight = region / region.sum((2, 3), keepdim=True).clamp_min(1e-6)
    hue = (chroma * weight).sum((2, 3), keepdim=True)
    hue = hue / hue.norm(dim=1, keepdim=True).clamp_min(1e-6)
    brightness = 2.0 * torch.tanh(raw[:, 0:1])
    colourless = torch.tanh(raw[:, 1:2])
    tint = 0.4 * torch.sigmoid(raw[:, 2:3])
    return brightness - colourless * chroma + tint * hue


class ResidualGenerator(nn.Module):
    """(face in -1..1, heatmap in 0..1) -> (output, residual, mask); any size divisible by 8.

    The first layer folds each 2x2 block of pixels into channels and the last unfolds them
    (pixel shuffle), so the network computes at half resolution yet outputs every pixel: a
    256 px crop costs about what a 128 px one would at full resolution.
    """

    def __init__(self, config: GeneratorConfig = GeneratorConfig()):
        super().__init__()
        b = config.base
        self.config = config
        self.fold = nn.PixelUnshuffle(2)
        self.stem = _conv(4 * (3 + config.heat_channels), b)
        self.down1 = _conv(b, 2 * b, stride=2)
        self.down2 = _conv(2 * b, 4 * b, stride=2)
        self.blocks = nn.Sequential(*[_ResBlock(4 * b) for _ in range(config.residual_blocks)])
        self.up1 = _Up(4 * b, 2 * b, 2 * b)
        self.up2 = _Up(2 * b, b, b)
        self.head = nn.Conv2d(b, 4 * 4, 3, 1, 1)   # 3 residual + 1 mask channels per pixel of a 2x2 block
        self.unfold = nn.PixelShuffle(2)
        with torch.no_grad():   # start by changing little: mask ~0.12 everywhere, little tint
            self.head.bias.view(4, 4)[3].fill_(-2.0)
            if config.hue_safe:
                self.head.bias.view(4, 4)[2].fill_(-3.0)

    def forward(self, face: torch.Tensor, heat: torch.Tensor):
        s0 = self.stem(self.fold(torch.cat([face, heat], dim=1)))
        s1 = self.down1(s0)
        x = self.blocks(self.down2(s1))
        x = self.unfold(self.head(self.up2(self.up1(x, s1), s0)))
        region = feature_region(heat, self.config.region)
        if self.config.hue_safe:
            residual = hue_safe_residual(x[:, :3], face, region)
        else:
            residual = 2.0 * torch.tanh(x[:, :3])   # can take any pixel anywhere in -1..1
        mask = torch.sigmoid(x[:, 3:4]) * region
        out = (face + mask * residual).clamp(-1.0, 1.0)
        return out, residual, mask


class PatchDiscriminator(nn.Module):
    """A 70x70-style PatchGAN: one real/fake score per overlapping patch."""

    def __init__(self, in_channels: int, base: int = 64, layers: int = 3):
        super().__init__()
        seq = [nn.utils.spectral_norm(nn.Conv2d(in_channels, base, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
        channels = base
        for i in range(1, layers):
            nxt = min(base * 2 ** i, 8 * base)
            seq += [nn.utils.spectral_norm(nn.Conv2d(channels, nxt, 4, 2, 1)), nn.LeakyReLU(0.2, True)]
            channels = nxt
        seq += [nn.utils.spectral_norm(nn.Conv2d(channels, channels, 4, 1, 1)), nn.LeakyReLU(0.2, True),
                nn.Conv2d(channels, 1, 4, 1, 1)]
        self.net = nn.Sequential(*seq)

    def forward(self, x):
        return self.net(x)
