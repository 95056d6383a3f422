"""Where the person is: MediaPipe's selfie segmentation (bundled with mediapipe 0.10.21, so it
works offline with no file) gives each pixel the chance that it shows a person (face, hair, neck,
body) rather than the backdrop. The relighting shapes the head and body from this silhouette."""

from __future__ import annotations

import threading
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class SegmenterConfig:
    max_side: int = 384     # the mask is kept at most this large: it only shapes the light
    model: int = 0          # MediaPipe's general (square input) model
    # The model sees the photo at 256 px, so its outline is soft and can lie well outside the hair.
    # Near it each pixel's colour is split between the backdrop's and the person's nearby (both
    # known from beyond the band): the outline moves onto the photo's own edge, so the light changes
    # where the photo does, not on the backdrop beside it.
    band: float = 0.04        # half width of the band around the model's outline (x the mask's long side)
    contrast: float = 0.15    # person and backdrop colours this far apart (0..1 RGB) are told apart fully


class PersonSegmenter:
    """Loads the model once; `person` is safe to call from several threads (calls are serialised)."""

    def __init__(self, config: SegmenterConfig = SegmenterConfig()):
        import mediapipe as mp

        self.config = config
        self._lock = threading.Lock()
        self._model = mp.solutions.selfie_segmentation.SelfieSegmentation(model_selection=config.model)

    def person(self, rgb: np.ndarray) -> np.ndarray:
        """An HxW uint8 mask (0 backdrop .. 255 person) of an RGB uint8 image, at most `max_side` on
        its long side (resize it to the photo's size to use it)."""
        height, width = rgb.shape[:2]
        scale = min(1.0, self.config.max_side / max(height, width))
        small = rgb if scale == 1.0 else cv2.resize(
            rgb, (max(1, round(width * scale)), max(1, round(height * scale))), interpolation=cv2.INTER_AREA)
        with self._lock:
            mask = self._model.process(np.ascontiguousarray(small[:, :, :3])).segmentation_mask
        mask = split_colours(small[:, :, :3].astype(np.float32) / 255, np.clip(mask, 0.0, 1.0).astype(np.float32),
                             max(2, round(self.config.band * max(small.shape[:2]))), self.config.contrast)
        return (np.clip(mask, 0.0, 1.0) * 255 + 0.5).astype(np.uint8)

    def close(self) -> None:
        self._model.close()



def split_colours(rgb: np.ndarray, mask: np.ndarray, band: int, contrast: float) -> np.ndarray:
    """`mask` (HxW, 0..1) refined within `band` px of its outline: each pixel there is the share of
    the person's colour in it, against the backdrop's (both HxWx3 colours smoothed from the known
    pixels beyond the band, as in simple alpha matting); where the two colours are alike the mask
    stays as it was."""
    inside = (mask > 0.5).astype(np.uint8)
    # px from the outline, on either side of it
    depth = cv2.distanceTransform(inside, cv2.DIST_L2, 3) + cv2.distanceTransform(1 - inside, cv2.DIST_L2, 3)
    known = depth > band
    near = ~known
    if not near.any():
        return mask
    # The colours are smooth: found on a grid `band` / 4 px apart, then brought back.
    height, width = mask.shape
    step = max(1, band // 4)
    size = (max(1, width // step), max(1, height // step))

    def colour_of(where):
        where = cv2.resize(where.astype(np.float32), size, interpolation=cv2.INTER_AREA)
        small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA) * where[:, :, None]
        weight = cv2.GaussianBlur(where, (0, 0), 4)
        colour = cv2.GaussianBlur(small, (0, 0), 4) / np.maximum(weight, 1e-4)[:, :, None]
        return cv2.resize(colour, (width, height), interpolation=cv2.INTER_LINEAR)

    fore, back = colour_of(known & (inside > 0)), colour_of(known & (inside == 0))
    pixels, fore, back = rgb[near], fore[near], back[near]
    apart = fore - back
    distance2 = np.einsum("ij,ij->i", apart, apart)
    share = np.clip(np.einsum("ij,ij->i", pixels - back, apart) / np.maximum(distance2, 1e-6), 0.0, 1.0)
    sure = np.clip(np.sqrt(distance2) / contrast, 0.0, 1.0)
    out = mask.copy()
    out[near] += sure * (share - out[near])
    return out
