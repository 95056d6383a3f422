"""face-api.js FaceRecognitionNet (dlib's ResNet-34-like face descriptor) in PyTorch.

Differentiable, so it can serve as an identity loss. The weights are read at run time from the
TensorFlow.js files (`*-weights_manifest.json` plus its binary shards) and never committed.
Architecture as face-api.js `src/faceRecognitionNet/` (which mirrors dlib's net): stride-2
convolutions and the max pool are 'valid' (dlib pads only stride-1 layers), stride-1 3x3
convolutions are 'same', and pixels are (value - mean) / 256 like dlib's input_rgb_image.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from studio import paths
from studio.errors import StudioError
from studio.face.align import Alignment, anchor_points

MANIFEST = "face_recognition_model-weights_manifest.json"
# (name, input channels, output channels, downsamples) in forward order, as face-api.js.
BLOCKS = (("conv32_1", 32, 32, False), ("conv32_2", 32, 32, False), ("conv32_3", 32, 32, False),
          ("conv64_down", 32, 64, True), ("conv64_1", 64, 64, False), ("conv64_2", 64, 64, False),
          ("conv64_3", 64, 64, False), ("conv128_down", 64, 128, True),
          ("conv128_1", 128, 128, False), ("conv128_2", 128, 128, False),
          ("conv256_down", 128, 256, True), ("conv256_1", 256, 256, False),
          ("conv256_2", 256, 256, False), ("conv256_down_out", 256, 256, True))
# The numpy type of each dtype a TensorFlow.js shard may store (the quantised dtype when quantised).
_STORED = {"uint8": np.uint8, "uint16": np.uint16, "float16": np.float16, "float32": np.float32,
           "int32": np.int32}


# Where dlib's face chip (get_face_chip_details, padding 0.25) puts the eye centres, nose tip and
# mouth corners of its mean face, in a 1x1 chip; the net was trained on such tight chips.
DLIB_CHIP_ANCHORS = (np.array([[0.2255, 0.2160], [0.7547, 0.2160], [0.4901, 0.5156],
                               [0.2541, 0.7802], [0.7261, 0.7802]]) + 0.25) / 1.5


@dataclass(frozen=True)
class DescriptorConfig:
    size: int = 150  # the side the net was trained on; other sizes are resized to it
    mean_rgb: tuple[float, float, float] = (122.782, 117.001, 104.298)  # on 0..255 pixels
    divisor: float = 256.0  # face-api.js and dlib divide by 256, not 255


def default_descriptor_dir() -> Path | None:
    """STUDIO_FACE_DESCRIPTOR, else shared/models/face_api_recognition, if its manifest exists."""
    value = os.environ.get("STUDIO_FACE_DESCRIPTOR")
    folder = Path(value) if value else paths.shared_dir() / "models" / "face_api_recognition"
    return folder if (folder / MANIFEST).is_file() else None


def chip_alignment(points: np.ndarray, size: int = 150) -> Alignment:
    """The similarity taking a face's mesh points to dlib's chip layout (crop with align.crop)."""
    matrix, _ = cv2.estimateAffinePartial2D(anchor_points(points), DLIB_CHIP_ANCHORS * size,
                                            method=cv2.LMEDS)
    if matrix is None:
        raise StudioError("could not align the face for its descriptor")
    return Alignment(matrix, size)


class _ConvScale(nn.Module):
    """conv + bias, then dlib's affine 'scale' layer (a frozen batch norm): y * weights + biases."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, stride, padding=kernel // 2 if stride == 1 else 0)
        self.scale_weights = nn.Parameter(torch.ones(cout))
        self.scale_biases = nn.Parameter(torch.zeros(cout))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x) * self.scale_weights[:, None, None] + self.scale_biases[:, None, None]


class _Residual(nn.Module):
    def __init__(self, cin: int, cout: int, down: bool):
        super().__init__()
        self.down = down
        self.conv1 = _ConvScale(cin, cout, 3, 2 if down else 1)
        self.conv2 = _ConvScale(cout, cout, 3, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(F.relu(self.conv1(x)))
        if not self.down:
            return F.relu(out + x)
        shortcut = F.avg_pool2d(x, 2, 2)
        # An odd side makes the valid conv one smaller than the pool: face-api.js appends a zero
        # row at the bottom and a zero column at the right, as dlib's add_prev does.
        out = F.pad(out, (0, shortcut.shape[3] - out.shape[3], 0, shortcut.shape[2] - out.shape[2]))
        if shortcut.shape[1] != out.shape[1]:  # the shortcut's extra channels are zeros
            shortcut = torch.cat([shortcut, torch.zeros_like(shortcut)], dim=1)
        return F.relu(out + shortcut)


class FaceDescriptorNet(nn.Module):
    """forward(Bx3xHxW RGB in 0..1, ideally a 150x150 face chip) -> Bx128 descriptors."""

    def __init__(self, config: DescriptorConfig = DescriptorConfig()):
        super().__init__()
        self.config = config
        self.register_buffer("mean", torch.tensor(config.mean_rgb).view(1, 3, 1, 1), persistent=False)
        self.conv32_down = _ConvScale(3, 32, 7, 2)
        self.blocks = nn.ModuleDict({name: _Residual(cin, cout, down)
                                     for name, cin, cout, down in BLOCKS})
        self.fc = nn.Linear(256, 128, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"expected Bx3xHxW RGB, got {tuple(x.shape)}")
        if x.shape[-2:] != (self.config.size, self.config.size):
            x = F.interpolate(x, size=(self.config.size,) * 2, mode="bilinear", align_corners=False)
        x = (x * 255.0 - self.mean) / self.config.divisor
        x = F.max_pool2d(F.relu(self.conv32_down(x)), 3, 2)  # 150 -> 72 -> 35
        for block in self.blocks.values():  # 35 -> 17 -> 8 -> 4 (3 + zero pad) -> 2 (1 + zero pad)
            x = block(x)
        return self.fc(x.mean(dim=(2, 3)))

    @staticmethod
    def load(folder: str | Path, config: DescriptorConfig = DescriptorConfig()) -> FaceDescriptorNet:
        """The net with the weights in folder (manifest + shards), in eval mode and frozen."""
        tensors = read_weights(Path(folder))
        net = FaceDescriptorNet(config)
        state = {}
        prefixes = ["conv32_down"] + [f"{name}/{c}" for name, *_ in BLOCKS for c in ("conv1", "conv2")]
        for prefix in prefixes:
            key = prefix if prefix == "conv32_down" else "blocks." + prefix.replace("/", ".")
            filters = _take(tensors, f"{prefix}/conv/filters")
            state[f"{key}.conv.weight"] = filters.permute(3, 2, 0, 1)  # HWIO -> OIHW
            state[f"{key}.conv.bias"] = _take(tensors, f"{prefix}/conv/bias")
            state[f"{key}.scale_weights"] = _take(tensors, f"{prefix}/scale/weights")
            state[f"{key}.scale_biases"] = _take(tensors, f"{prefix}/scale/biases")
        state["fc.weight"] = _take(tensors, "fc").t()  # stored [in, out] for x @ fc
        try:
            net.load_state_dict({k: v.contiguous() for k, v in state.items()})
        except RuntimeError as error:
            raise StudioError(f"face descriptor weights in {folder} do not fit: {error}") from None
        return net.eval().requires_grad_(False)


def _take(tensors: dict[str, torch.Tensor], name: str) -> torch.Tensor:
    if name not in tensors:
        raise StudioError(f"face descriptor weights lack the tensor {name!r}")
    return tensors[name]


def read_weights(folder: Path) -> dict[str, torch.Tensor]:
    """{name: float32 tensor} from a TensorFlow.js manifest; uint8/uint16 become q * scale + min."""
    manifest = folder / MANIFEST
    if not manifest.is_file():
        raise StudioError(f"no face descriptor weights: {manifest} is missing")
    try:
        groups = json.loads(manifest.read_text())
        tensors = {}
        for group in groups:
            data = b"".join((folder / p).read_bytes() for p in group["paths"])
            offset = 0
            for entry in group["weights"]:
                quant = entry.get("quantization")
                kind = quant["dtype"] if quant else entry["dtype"]
                stored = np.dtype(_STORED[kind]).newbyteorder("<")  # TensorFlow.js is little-endian
                count = int(np.prod(entry["shape"], dtype=np.int64))
                if offset + count * stored.itemsize > len(data):
                    raise ValueError(f"{entry['name']} runs past the end of the weights")
                values = np.frombuffer(data, stored, count, offset).astype(np.float32)
                offset += count * stored.itemsize
                if quant and quant["dtype"] in ("uint8", "uint16"):
                    values = values * np.float32(quant["scale"]) + np.float32(quant["min"])
                tensors[entry["name"]] = torch.from_numpy(values.reshape(entry["shape"]))
            if offset != len(data):
                raise ValueError(f"{len(data) - offset} bytes left over after the last tensor")
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise StudioError(f"face descriptor weights in {folder} are corrupt: {error}") from None
    return tensors
