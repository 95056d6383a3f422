"""Similarity alignment of a face to a canonical square crop, and the way back to the photo."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from studio.face.mesh import LEFT_EYE_CORNERS, MOUTH_CORNERS, RIGHT_EYE_CORNERS

NOSE_TIP = 4
# Where the eye centres, nose tip and mouth corners sit in a 1x1 crop (face centred, upright,
# with room for the forehead and chin).
CANONICAL = np.array([[0.35, 0.40], [0.65, 0.40], [0.50, 0.55], [0.38, 0.68], [0.62, 0.68]])


@dataclass(frozen=True)
class Alignment:
    matrix: np.ndarray  # 2x3: photo pixels -> crop pixels
    size: int

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        return points[:, :2] @ self.matrix[:, :2].T + self.matrix[:, 2]

    def to_photo(self, points: np.ndarray) -> np.ndarray:
        inverse = cv2.invertAffineTransform(self.matrix)
        return points[:, :2] @ inverse[:, :2].T + inverse[:, 2]


def anchor_points(points: np.ndarray) -> np.ndarray:
    xy = points[:, :2]
    return np.stack([xy[list(RIGHT_EYE_CORNERS)].mean(axis=0), xy[list(LEFT_EYE_CORNERS)].mean(axis=0),
                     xy[NOSE_TIP], xy[MOUTH_CORNERS[0]], xy[MOUTH_CORNERS[1]]])


def align(points: np.ndarray, size: int = 256) -> Alignment:
    """The similarity taking this face's anchors closest to the canonical ones in a size x size crop."""
    matrix, _ = cv2.estimateAffinePartial2D(anchor_points(points), CANONICAL * size, method=cv2.LMEDS)
    if matrix is None:
        raise ValueError("could not align the face")
    return Alignment(matrix, size)


def crop(pixels: np.ndarray, alignment: Alignment) -> np.ndarray:
    return cv2.warpAffine(pixels, alignment.matrix, (alignment.size, alignment.size),
                          flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)


def uncrop(crop_pixels: np.ndarray, alignment: Alignment, shape: tuple[int, int]) -> np.ndarray:
    """The crop back in the photo's frame (height, width); pixels outside the crop are 0."""
    return cv2.warpAffine(crop_pixels, alignment.matrix, (shape[1], shape[0]),
                          flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_CONSTANT)


def footprint(alignment: Alignment, shape: tuple[int, int]) -> tuple[int, int, int, int]:
    """The photo pixels (x0, y0, x1, y1) the crop covers, clipped to a photo of `shape` (h, w)."""
    size = alignment.size
    inverse = cv2.invertAffineTransform(alignment.matrix)
    corners = np.array([[0, 0], [size, 0], [0, size], [size, size]], float) @ inverse[:, :2].T + inverse[:, 2]
    h, w = shape
    x0, y0 = np.floor(corners.min(axis=0)).astype(int).clip(0, [w, h])
    x1, y1 = np.ceil(corners.max(axis=0)).astype(int).clip(0, [w, h])
    return int(x0), int(y0), int(x1), int(y1)


def sample_crop(pixels: np.ndarray, alignment: Alignment, box: tuple[int, int, int, int] | None = None) -> np.ndarray:
    """The aligned crop, like `crop`, but a face much larger than the crop is first shrunk by area
    averaging, so the crop is not aliased (bilinear sampling alone would skip most pixels).
    Only the crop's footprint (`box`, default `footprint(...)`) is read."""
    x0, y0, x1, y1 = box or footprint(alignment, pixels.shape[:2])
    scale = float(np.sqrt(abs(np.linalg.det(alignment.matrix[:, :2]))))   # crop px per photo px
    matrix = alignment.matrix.copy()
    matrix[:, 2] += matrix[:, :2] @ np.array([x0, y0], float)              # ROI pixel -> crop pixel
    roi = pixels[y0:y1, x0:x1]
    if scale < 0.5 and roi.size:
        shrink = 2.0 * scale
        small = cv2.resize(roi, (max(1, round(roi.shape[1] * shrink)), max(1, round(roi.shape[0] * shrink))),
                           interpolation=cv2.INTER_AREA)
        sx, sy = roi.shape[1] / small.shape[1], roi.shape[0] / small.shape[0]
        matrix = matrix @ np.array([[sx, 0, 0.5 * sx - 0.5], [0, sy, 0.5 * sy - 0.5], [0, 0, 1]])
        roi = small
    if not roi.size:   # the face lies wholly outside the photo: sample the nearest edge
        return crop(pixels, alignment)
    return cv2.warpAffine(roi, matrix, (alignment.size, alignment.size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT)
