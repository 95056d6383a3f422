"""Dense warp that moves a face from its landmarks to target landmarks, at the photo's resolution.

The backward flow (where each output pixel samples the input) is piecewise affine over a
triangulation of the face mesh plus a ring of fixed points around the face; outside the face
it is smoothed, and it fades to exactly zero before the edge of the region it touches, so hair,
neck and background follow without tearing and no box edge can show. The flow is computed on a
grid where the face is a few hundred pixels wide (its surroundings on one 4x coarser), then
upsampled: bilinear upsampling of an affine function is exact, so only triangle edges are
approximated.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from scipy.spatial import Delaunay

from studio.face.mesh import EYES, FACE_OVAL, MOUTH


@dataclass(frozen=True)
class WarpConfig:
    grid_face_px: int = 256        # face width on the grid where the flow is computed
    ring_scale: float = 1.7        # fixed ring around the face, relative to the face outline
    ring_points: int = 32
    smooth_fraction: float = 0.05  # blur of the flow outside the face, relative to face width
    min_shift_px: float = 1e-3     # below this the photo is returned untouched


@dataclass(frozen=True)
class Warp:
    """A computed flow over a region of interest, applicable to the photo and to masks."""

    roi: tuple[int, int, int, int]  # x0, y0, x1, y1 in the photo
    map_x: np.ndarray               # ROI-sized float32: absolute source x for each output pixel
    map_y: np.ndarray
    triangles: np.ndarray | None = None  # the mesh, in drawing order (nearest last) ...
    vertices: np.ndarray | None = None   # ... over these target points (landmarks, then the ring)

    def sample(self, image: np.ndarray, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
        """The warped ROI of `image` (which is the whole photo, or a photo-sized mask)."""
        return cv2.remap(image, self.map_x, self.map_y, interpolation, borderMode=cv2.BORDER_REPLICATE)

    def rasterize(self, values: np.ndarray, scale: float = 1.0) -> np.ndarray:
        """A per-landmark scalar (N) or vector (N x C) interpolated over the target face's
        triangles, on the ROI shrunk by `scale` (HxW or HxWxC); 0 outside the face."""
        values = np.asarray(values, float)
        face = self.triangles[(self.triangles < len(values)).all(axis=1)]
        out = rasterize_mesh(self.vertices[:len(values)], face, values.reshape(len(values), -1), self.roi, scale)
        return out[:, :, 0] if values.ndim == 1 else out

    def paste(self, image: np.ndarray, roi_pixels: np.ndarray) -> np.ndarray:
        out = image.copy()
        x0, y0, x1, y1 = self.roi
        out[y0:y1, x0:x1] = roi_pixels
        return out


def identity_warp(roi: tuple[int, int, int, int]) -> Warp:
    """A flow that moves nothing over `roi`: for a redraw where no landmark moves (a gaze alone)."""
    x0, y0, x1, y1 = roi
    xs, ys = np.meshgrid(np.arange(x0, x1, dtype=np.float32), np.arange(y0, y1, dtype=np.float32))
    return Warp(roi, xs, ys)


def _ring(oval: np.ndarray, scale: float, count: int) -> np.ndarray:
    """Points on an ellipse around the face outline(s) `oval`, `scale` times their half extents."""
    centre = (oval.min(axis=0) + oval.max(axis=0)) / 2
    half = (oval.max(axis=0) - oval.min(axis=0)) / 2 * scale
    angle = np.linspace(0, 2 * np.pi, count, endpoint=False)
    return centre + np.stack([np.cos(angle), np.sin(angle)], axis=1) * half


def compute_warp(source: np.ndarray, target: np.ndarray, shape: tuple[int, int],
                 depth: np.ndarray | None = None, config: WarpConfig = WarpConfig(),
                 mesh: np.ndarray | None = None) -> Warp | None:
    """The flow taking 478 `source` landmarks (pixels, x y) to `target`; None if nothing moves.

    `shape` is the photo's (height, width); `depth` (per landmark, larger = farther) sets which
    triangle wins where a turned face overlaps itself. `mesh` (T x 3 landmark indices) replaces the
    triangulation of the source points inside the face outline: a turned head needs the face's
    own surface, since its 2D points overlap.
    """
    source, target = np.asarray(source, float)[:, :2], np.asarray(target, float)[:, :2]
    if np.abs(target - source).max() < config.min_shift_px:
        return None
    height, width = shape
    face_width = float(np.ptp(source[FACE_OVAL, 0]))
    # The ring (and the fine grid's box below) enclose both outlines, so a jaw that drops or
    # widens stays inside them.
    oval = np.concatenate([source[FACE_OVAL], target[FACE_OVAL]])
    ring = _ring(oval, config.ring_scale, config.ring_points)
    src_all = np.concatenate([source, ring])
    tgt_all = np.concatenate([target, ring])
    # The triangulation comes from the source face, so it is a valid mesh of the real photo and
    # stays the same while a slider moves the target.
    triangles = Delaunay(src_all).simplices if mesh is None else np.concatenate([mesh, _band(source, ring)])
    # In a canonical order, so that triangles of equal depth (an iris's, the ring's) overlap the
    # same way whatever order Qhull listed them in: that order changes with the ring's last bits
    # (it encloses the target too), and a different winner in the iris moved the warp 0.8 px.
    triangles = np.sort(triangles, axis=1)
    triangles = triangles[np.lexsort(triangles.T[::-1])]
    if mesh is None:
        # the lids and lips move past one another on purpose (a blink, a closing mouth, a pout):
        # their points keep their moves
        kept = np.concatenate([MOUTH, EYES, len(source) + np.arange(len(ring))])
        tgt_all = untangled(triangles, src_all, tgt_all, fixed=kept)
    if depth is not None:
        z = np.concatenate([np.asarray(depth, float), np.full(len(ring), np.inf)])
        triangles = triangles[np.argsort(-z[triangles].mean(axis=1), kind="stable")]

    sigma = config.smooth_fraction * face_width
    margin = 3 * sigma + 2
    x0 = int(max(0, np.floor(ring[:, 0].min() - margin)))
    y0 = int(max(0, np.floor(ring[:, 1].min() - margin)))
    x1 = int(min(width, np.ceil(ring[:, 0].max() + margin)))
    y1 = int(min(height, np.ceil(ring[:, 1].max() + margin)))
    roi_w, roi_h = x1 - x0, y1 - y0
    if roi_w < 2 or roi_h < 2:
        return None

    shift = src_all - tgt_all   # the flow at each vertex, interpolated over the target triangles
    g = min(1.0, config.grid_face_px / max(face_width, 1.0))

    # Two levels. Coarse, over the whole region: the flow outside the face only varies slowly,
    # and its blur smooths the linear fade's kinks at the outline and the ring.
    coarse = _Raster(x0, y0, roi_w, roi_h, g / 4)
    sigma_coarse = max(sigma * coarse.scale, 0.5)
    outer = cv2.GaussianBlur(_interpolate(triangles, tgt_all, shift, coarse), (0, 0), sigma_coarse)
    # Feather to exactly zero at the region's border, wherever the image edge does not cut it.
    outer *= _border_window(coarse.h, coarse.w, (x0 > 0, y0 > 0, x1 < width, y1 < height),
                            ramp=max(2.0, sigma_coarse))[:, :, None]
    full = cv2.resize(outer, (roi_w, roi_h), interpolation=cv2.INTER_LINEAR)

    # Fine, over the face: the exact piecewise-affine flow, blended in with a mask that is 1
    # inside the face and 0 well before the edge of its box.
    pad = 3 * sigma + 2
    bx0, by0 = np.maximum(np.floor(oval.min(axis=0) - pad).astype(int), (x0, y0))
    bx1, by1 = np.minimum(np.ceil(oval.max(axis=0) + pad).astype(int), (x1, y1))
    fine = _Raster(bx0, by0, bx1 - bx0, by1 - by0, g)
    inner = _interpolate(triangles, tgt_all, shift, fine)
    # The mask is smooth, so it is drawn on a grid 4x coarser.
    mask_raster = _Raster(bx0, by0, bx1 - bx0, by1 - by0, g / 4)
    sigma_mask = max(sigma * mask_raster.scale, 0.5)
    face_mask = np.zeros((mask_raster.h, mask_raster.w), np.float32)
    cv2.fillPoly(face_mask, [np.round(mask_raster.place(target[FACE_OVAL]) * 16).astype(np.int32)], 1.0,
                 lineType=cv2.LINE_AA, shift=4)
    keep = cv2.GaussianBlur(cv2.erode(face_mask, None, iterations=max(1, int(round(sigma_mask)))),
                            (0, 0), sigma_mask)
    size = (bx1 - bx0, by1 - by0)
    box = full[by0 - y0:by1 - y0, bx0 - x0:bx1 - x0]
    keep = cv2.resize(keep, size)[:, :, None]
    box += keep * (cv2.resize(inner, size, interpolation=cv2.INTER_LINEAR) - box)

    xs = np.arange(x0, x1, dtype=np.float32)
    ys = np.arange(y0, y1, dtype=np.float32)
    map_x = full[:, :, 0] + xs[None, :]
    map_y = full[:, :, 1] + ys[:, None]
    return Warp((x0, y0, x1, y1), map_x, map_y, triangles, tgt_all)


def untangled(triangles: np.ndarray, source: np.ndarray, target: np.ndarray, fixed: np.ndarray,
              rounds: int = 50, settled_px: float = 0.005) -> np.ndarray:
    """`target` (N x 2) with no triangle of the source's triangulation turned over: the points of
    a triangle the move turns over take the mean move of their neighbours, round after round,
    until none is, or the moves settle (none changes by `settled_px` in a round: a triangle pinned
    by the lids' or lips' fixed points can stay turned, and the rounds after only repeat the same
    mean; on the bench's smile 4 triangles stayed turned through all 50 rounds), or `rounds`
    pass. Where a photo's skin is folded thin (a frown's brows pressed on the lids) the brows' and
    the lid's moves cross, and the warp drew the fold as dark spikes of the lashes reaching up
    into the brows. `fixed`: points that keep their move."""
    target = np.array(target, float)
    moves = target - source
    free = np.ones(len(source), bool)
    free[fixed] = False
    # each point's neighbours (itself included), for the mean of their moves
    pairs = np.concatenate([triangles[:, [0, 1]], triangles[:, [1, 2]], triangles[:, [2, 0]]])
    pairs = np.concatenate([pairs, pairs[:, ::-1], np.repeat(np.arange(len(source))[:, None], 2, axis=1)])
    counts = np.bincount(pairs[:, 0], minlength=len(source)).astype(float)
    sign = np.sign(signed_areas(source, triangles))
    for _ in range(rounds):
        turned = np.flatnonzero(np.sign(signed_areas(source + moves, triangles)) != sign)
        if not len(turned):
            break
        points = np.unique(triangles[turned])
        points = points[free[points]]
        if not len(points):
            break
        mean = np.stack([np.bincount(pairs[:, 0], weights=moves[pairs[:, 1], k], minlength=len(source))
                         for k in range(2)], axis=1) / counts[:, None]
        change = np.abs(mean[points] - moves[points]).max()
        moves[points] = mean[points]
        if change < settled_px:
            break
    return source + moves


def signed_areas(points: np.ndarray, triangles: np.ndarray) -> np.ndarray:
    """Each triangle's area in the image plane of `points` (x, y first), positive or negative
    with the turn of its corners: a triangle a move turns over changes sign."""
    a, b, c = (points[triangles[:, k], :2] for k in range(3))
    return 0.5 * ((b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0])


def rasterize_mesh(points: np.ndarray, triangles: np.ndarray, values: np.ndarray,
                   box: tuple[int, int, int, int], scale: float = 1.0) -> np.ndarray:
    """Per-point values (N x C) interpolated linearly over `triangles` of the 2D `points` (photo
    pixels), on the photo box (x0, y0, x1, y1) shrunk by `scale`: an HxWxC float32 array, 0
    outside the triangles. Later triangles win where they overlap."""
    x0, y0, x1, y1 = box
    raster = _Raster(x0, y0, x1 - x0, y1 - y0, scale)
    return _interpolate(triangles, np.asarray(points, float)[:, :2], np.asarray(values, float), raster)


def _band(source: np.ndarray, ring: np.ndarray) -> np.ndarray:
    """Triangles between the face and the ring (indices into source + ring). The face's edge is
    the hull of all its points, not the outline: in a turned face the nose and lips stick out past
    the outline, and the band must not sample them."""
    hull = cv2.convexHull(source.astype(np.float32), returnPoints=False)[:, 0]
    ids = np.concatenate([hull, len(source) + np.arange(len(ring))])
    points = np.concatenate([source[hull], ring])
    triangles = Delaunay(points).simplices
    return ids[triangles[(triangles >= len(hull)).any(axis=1)]]


class _Raster:
    """A grid over the photo box (x0, y0, w, h) at `scale`, with cv2.resize's pixel-centre
    convention, so a flow computed on it upsamples exactly onto the box."""

    def __init__(self, x0: int, y0: int, w: int, h: int, scale: float):
        self.w, self.h = max(4, int(round(w * scale))), max(4, int(round(h * scale)))
        self.sx, self.sy = self.w / w, self.h / h
        self.scale = min(self.sx, self.sy)
        self.x0, self.y0 = x0, y0
        self.u = (np.arange(self.w) + 0.5) / self.sx - 0.5 + x0   # photo x of each column
        self.v = (np.arange(self.h) + 0.5) / self.sy - 0.5 + y0   # photo y of each row

    def place(self, points: np.ndarray) -> np.ndarray:
        """Photo pixels -> raster pixels."""
        return np.stack([(points[:, 0] - self.x0 + 0.5) * self.sx - 0.5,
                         (points[:, 1] - self.y0 + 0.5) * self.sy - 0.5], axis=1)


def _interpolate(triangles: np.ndarray, points: np.ndarray, values: np.ndarray, raster: "_Raster") -> np.ndarray:
    """Per-point `values` (N x C) interpolated over `triangles` of the 2D `points` (photo pixels)
    on `raster`: HxWxC float32, 0 outside every triangle; later triangles win where they overlap.

    Each raster pixel takes its triangle's barycentric blend of the corners' values, with the
    weights clamped to the triangle: rasterised, a triangle also covers a few pixels just outside
    its edges, and there an affine map extrapolates, wildly for a triangle squeezed nearly flat
    (a head turned 2.36 degrees flattened a jaw triangle to 0.2 px^2 and pulled the jaw line
    60 px; a turned nose flattened the cheek's and painted a flat patch of crease shading).
    """
    ids = np.full((raster.h, raster.w), len(triangles), np.int32)   # index T: no triangle
    fixed = np.round(raster.place(points) * 16).astype(np.int32)     # 4 fractional bits
    for k, tri in enumerate(triangles):
        cv2.fillConvexPoly(ids, fixed[tri], int(k), lineType=cv2.LINE_8, shift=4)
    # Per triangle, its barycentric coordinates b1, b2 as affine functions of the photo position.
    corner = points[triangles]                                       # T x 3 x 2
    e1, e2 = corner[:, 1] - corner[:, 0], corner[:, 2] - corner[:, 0]
    det = e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]
    ok = np.abs(det) > 1e-9
    safe = np.where(ok, det, 1.0)
    coef = np.zeros((len(triangles) + 1, 2, 3))                      # row T: no triangle
    coef[:-1, 0, :2] = np.stack([e2[:, 1], -e2[:, 0]], axis=1) / safe[:, None]
    coef[:-1, 1, :2] = np.stack([-e1[:, 1], e1[:, 0]], axis=1) / safe[:, None]
    coef[:-1, :, 2] = -np.einsum("tbk,tk->tb", coef[:-1, :, :2], corner[:, 0])
    coef[:-1][~ok] = [[0.0, 0.0, 1 / 3], [0.0, 0.0, 1 / 3]]       # a degenerate triangle: its corners' mean
    coef = coef.astype(np.float32)
    u, v = raster.u.astype(np.float32)[None, :], raster.v.astype(np.float32)[:, None]
    b1, b2 = (np.take(coef[:, c, 0], ids) * u + np.take(coef[:, c, 1], ids) * v + np.take(coef[:, c, 2], ids)
              for c in range(2))
    weights = [np.maximum(1 - b1 - b2, 0), np.maximum(b1, 0), np.maximum(b2, 0)]
    total = np.maximum(weights[0] + weights[1] + weights[2], 1e-12)
    corners = np.zeros((len(triangles) + 1, 3, values.shape[1]), np.float32)
    corners[:-1] = values[triangles]
    out = np.zeros((raster.h, raster.w, values.shape[1]), np.float32)
    for c in range(values.shape[1]):
        out[:, :, c] = sum(w * np.take(corners[:, k, c], ids) for k, w in enumerate(weights)) / total
    return out


def _border_window(h: int, w: int, cut: tuple[bool, bool, bool, bool], ramp: float) -> np.ndarray:
    """1 inside, smoothly 0 at each border side flagged in `cut` (left, top, right, bottom)."""
    def ramp_1d(n, lo, hi):
        i = np.arange(n, dtype=np.float32)
        r = np.ones(n, np.float32)
        if lo:
            r = np.minimum(r, np.clip(i / ramp, 0, 1))
        if hi:
            r = np.minimum(r, np.clip((n - 1 - i) / ramp, 0, 1))
        return r * r * (3 - 2 * r)  # smoothstep

    return ramp_1d(h, cut[1], cut[3])[:, None] * ramp_1d(w, cut[0], cut[2])[None, :]
