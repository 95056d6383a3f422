"""Masks drawn from landmark polygons, shared by the stages that paint inside a face's parts."""

from __future__ import annotations

import cv2
import numpy as np


def polygon_mask(points: np.ndarray, shape: tuple[int, int], offset=(0.0, 0.0), into: np.ndarray | None = None) -> np.ndarray:
    """A float32 mask of `shape` (h, w): 1 on every pixel the polygon of `points` (pixels, x y;
    only the first two columns are used) covers or its outline touches, 0 elsewhere. Its vertices
    are placed to 1/16 px. OpenCV's LINE_AA draws no partial coverage on a float mask, so the edge
    is hard and about half a pixel out all round; the eyes' and mouth's thresholds were set on
    these masks (counting coverage exactly took a pixel off the seen eye, and an iris redraw with
    it). `offset`: the mask's top-left pixel in the points' frame; `into`: draw onto this mask."""
    mask = np.zeros(shape, np.float32) if into is None else into
    vertices = np.round((np.asarray(points, float)[:, :2] - np.asarray(offset, float)) * 16).astype(np.int32)
    cv2.fillPoly(mask, [vertices], 1.0, lineType=cv2.LINE_AA, shift=4)
    return mask


def polygon_coverage(points: np.ndarray, shape: tuple[int, int], offset=(0.0, 0.0), samples: int = 4) -> np.ndarray:
    """The share of each pixel of `shape` (h, w) that the polygon of `points` covers, 0..1 (float32):
    drawn `samples` times finer and averaged, so an edge painted with it steps by fractions of a
    pixel instead of whole ones (a filled eye's white stood on the lid in visible stairs)."""
    h, w = shape
    fine = polygon_mask((np.asarray(points, float)[:, :2] - np.asarray(offset, float) + 0.5) * samples - 0.5,
                        (h * samples, w * samples))
    return cv2.resize(fine, (w, h), interpolation=cv2.INTER_AREA)
