"""Fill what a head turn reveals.

A part of the face the photo saw nearly edge-on holds only a sliver of pixels; turned towards the
camera, a warp would smear that sliver into streaks. Where the other side of the face was seen
well, its mirrored texture stands in; elsewhere the region takes the smooth colour of the
well-seen skin around it (normalized convolutions, fine to coarse: no streaks), and the person's
own skin texture is laid over that colour (frequency separation): the fine detail (pores,
stubble, grain), as a ratio to its blurred self, of the skin just inside the revealed part at the
photo's own scale, so stubble continues as stubble; where that skin is an eye, brow, lip or the
nose, the detail of a swatch of the cheek the photo saw best, tiled by reflection.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from studio.face.mesh import BROWS, EYES, FACE_OVAL, OUTER_LIPS
from studio.geometry.surface import Surface
from studio.geometry.turn_light import TurnFields
from studio.geometry.warp import Warp, WarpConfig, compute_warp, signed_areas


@dataclass(frozen=True)
class RevealConfig:
    edge_on: float = 0.35      # facing below this (cos of the angle to the camera): a sliver in the photo
    gain: float = 0.1          # ... and turned towards the camera by more than this
    ramp: float = 0.2          # width of the soft transitions of both tests
    inpaint_face_px: int = 128 # face width at which the inpainting runs (it only fills smooth regions)
    context: float = 0.15      # the fill's box reaches this far (x face width) around the revealed part
    blur_fraction: float = 0.01  # feather of the fill's edge, relative to the face width
    swatch: float = 0.1        # side of the skin swatch the texture comes from (x face width)
    detail_fraction: float = 0.01  # detail is what a blur of this (x face width) takes away
    inward: float = 0.12       # the skin whose detail the fill takes lies this far further in (x face width)
    inward_steps: tuple = (1, 2)  # ... or as many times that, the first that is plain skin
    outline_margin: float = 0.04  # the detail comes from at least this far inside the outline (x face width)
    stretch_from: float = 0.5  # an edge-on part the warp grows by more than 2**this is filled ...
    stretch_ramp: float = 1.0  # ... fully by 2**(from + ramp)
    stretch_reach: float = 0.2 # ... up to this far past edge-on (facing edge_on + this)
    stretch_rings: int = 2     # ... within this many triangles of the face's outline


# the nose's bridge, tip, wings and nostrils (MediaPipe's mesh)
NOSE = np.array([6, 197, 195, 5, 4, 1, 19, 94, 2, 98, 97, 326, 327, 48, 278, 64, 294, 129, 358, 115, 344, 220, 440])
# the middle of each cheek, below the eye and beside the nose and mouth: plain skin (MediaPipe's mesh)
CHEEKS = (205, 425)


def revealed_weights(surface: Surface, source: np.ndarray, target: np.ndarray,
                     config: RevealConfig = RevealConfig()) -> tuple[np.ndarray, np.ndarray]:
    """Per landmark: how much it needs filling, and how much of that its mirror image can give."""
    seen, shown = surface.facing(source), surface.facing(target)
    edge_on = np.clip((config.edge_on - seen) / config.ramp, 0, 1)
    turned = np.clip((shown - seen - config.gain) / config.ramp, 0, 1)
    need = edge_on * turned
    # A sliver a turn stretches far is smeared even where the photo saw it a little more than
    # edge-on (by the jaw the fitted depth turns less than the pixels spread): the backdrop's and
    # the hair's few pixels at the outline become a pale band. (Only in a turn: an expression
    # stretches the skin too, and keeps its own.)
    stretched = np.clip((np.log2(np.maximum(stretch(surface.triangles, source, target), 1e-6))
                         - config.stretch_from) / config.stretch_ramp, 0, 1)
    near_edge = np.clip((config.edge_on + config.stretch_reach - seen) / config.stretch_reach, 0, 1)
    # only by the outline: the side of the nose is foreshortened too, and its shading is its own
    near_edge = near_edge * _near_outline(surface.triangles, len(source), config.stretch_rings)
    need = np.maximum(need, near_edge * turned * stretched)
    mirror_ok = np.clip((seen[surface.mirror] - config.edge_on) / config.ramp, 0, 1)
    return need, need * mirror_ok


def _near_outline(triangles: np.ndarray, count: int, rings: int) -> np.ndarray:
    """Per landmark: 1 on the face's outline and within `rings` triangles of it, away from the
    eyes and brows by as much (an eye's corner filled over moves where MediaPipe finds it), else 0."""
    def grown(points):
        near = np.zeros(count, bool)
        near[points] = True
        for _ in range(rings):
            near[triangles[near[triangles].any(axis=1)].ravel()] = True
        return near

    return (grown(FACE_OVAL) & ~grown(np.concatenate([EYES, BROWS]))).astype(float)


def stretch(triangles: np.ndarray, source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per landmark: the largest factor by which the warp grows a triangle around it (its area
    in the target over that in the source, in the image plane)."""
    grown = np.abs(signed_areas(target, triangles)) / np.maximum(np.abs(signed_areas(source, triangles)), 1e-3)
    out = np.zeros(len(source))
    for k in range(3):
        np.maximum.at(out, triangles[:, k], grown)
    return out


def fill_revealed(roi: np.ndarray, pixels: np.ndarray, warp: Warp, source: np.ndarray, target: np.ndarray,
                  surface: Surface, warp_config: WarpConfig = WarpConfig(),
                  config: RevealConfig = RevealConfig(), light: TurnFields | None = None) -> np.ndarray:
    """`roi` (the warped region of `pixels`) with the revealed parts of the face filled; with the
    turn's `light` (geometry.turn_light, its gain already on `roi`), the fill is lit as its place is."""
    need, mirrored = revealed_weights(surface, source, target, config)
    if need.max() < 1e-3:
        return roi
    face_width = float(np.ptp(target[:, 0]))
    sigma = max(1.0, config.blur_fraction * face_width)
    # The weights are smooth: drawn on a grid where the face is `inpaint_face_px` wide.
    scale = min(1.0, config.inpaint_face_px / max(face_width, 1.0))
    fill_w = cv2.GaussianBlur(_field(warp, need, scale), (0, 0), sigma).clip(0, 1)
    ys, xs = np.nonzero(fill_w > 1e-3)
    if not len(ys):
        return roi
    # Only the box around the revealed part is filled (with room around it for the colour to come from).
    pad = int(config.context * face_width)
    bx0, by0 = max(0, xs.min() - pad), max(0, ys.min() - pad)
    bx1, by1 = min(roi.shape[1], xs.max() + 1 + pad), min(roi.shape[0], ys.max() + 1 + pad)
    box = (slice(by0, by1), slice(bx0, bx1))
    weight = fill_w[box]
    # Colour comes only from parts of the face the photo saw well: the edge's own sliver and the
    # shadow or hair beside it would grey the fill.
    seen_well = np.clip((surface.facing(source) - config.edge_on) / config.ramp, 0, 1)
    # With the turn's light: the colour of the skin around, over its light, under the fill's own
    # (a revealed side faces the camera less than the skin its colour comes from)
    lit = light.light[box][:, :, None] if light is not None else 1.0
    fill = lit * _inpaint(roi[box][:, :, :3] / lit, weight, _field(warp, seen_well, scale)[box], scale).astype(np.float32)
    texture_w = 1.0
    if mirrored.max() >= 1e-3:
        # The other side of the face, reflected: each target point samples its mirror point's pixels.
        flipped = compute_warp(source[surface.mirror], target, pixels.shape[:2], target[:, 2], warp_config,
                               mesh=surface.triangles)
        if flipped is not None and flipped.roi == warp.roi:
            mirror_w = cv2.GaussianBlur(_field(warp, mirrored, scale), (0, 0), sigma)[box]
            share = (mirror_w / np.maximum(weight, 1e-6)).clip(0, 1)[:, :, None]
            mirrored_rgb = flipped.sample(pixels)[box][:, :, :3].astype(np.float32)
            if light is not None:
                mirrored_rgb *= light.mirror[box][:, :, None]
            fill += share * (mirrored_rgb - fill)
            texture_w = 1.0 - share      # the mirrored side brings its own texture
    texture = neighbour_texture(pixels, source, target, need, (bx0 + warp.roi[0], by0 + warp.roi[1]),
                                fill.shape[:2], face_width,
                                skin_texture(pixels, source, surface, fill.shape[:2], face_width, config), config)
    if texture is not None:
        fill *= 1.0 + _missing_grain(fill, texture, texture_w, max(1.0, config.detail_fraction * face_width)) * (texture - 1.0)
    out = roi.copy()
    rgb = out[box][:, :, :3].astype(np.float32)
    out[box][:, :, :3] = (rgb + weight[:, :, None] * (fill - rgb)).round().clip(0, 255).astype(roi.dtype)
    return out


def cheek_swatch(shape: tuple[int, int], source: np.ndarray, surface: Surface, face_width: float,
                 config: RevealConfig = RevealConfig()) -> tuple[slice, slice] | None:
    """The square of plain skin in the middle of the cheek the photo saw most squarely, within a
    photo of `shape`; None when too little of it is in the photo."""
    cheek = max(CHEEKS, key=lambda k: float(surface.facing(source)[k]))
    half = max(4, int(config.swatch * face_width / 2))
    cx, cy = np.round(source[cheek, :2]).astype(int)
    y0, y1, x0, x1 = max(0, cy - half), min(shape[0], cy + half), max(0, cx - half), min(shape[1], cx + half)
    if y1 - y0 < 8 or x1 - x0 < 8:
        return None
    return slice(y0, y1), slice(x0, x1)


def skin_texture(pixels: np.ndarray, source: np.ndarray, surface: Surface, shape: tuple[int, int],
                 face_width: float, config: RevealConfig = RevealConfig()) -> np.ndarray | None:
    """An HxWx3 field of the person's skin detail as a ratio around 1: the swatch of the cheek the
    photo saw most squarely, divided by its blurred self, tiled by reflection to `shape`."""
    box = cheek_swatch(pixels.shape[:2], source, surface, face_width, config)
    if box is None:
        return None
    swatch = pixels[box][:, :, :3].astype(np.float32)
    sigma = max(1.0, config.detail_fraction * face_width)
    ratio = swatch / np.maximum(cv2.GaussianBlur(swatch, (0, 0), sigma), 1.0)
    # the swatch's edges blur against what is beyond it: keep its middle, where the ratio is true
    margin = min(int(2 * sigma), (min(ratio.shape[:2]) - 4) // 2)
    if margin > 0:
        ratio = ratio[margin:-margin, margin:-margin]
    height, width = shape
    tiled = np.pad(ratio, ((0, max(0, height - ratio.shape[0])), (0, max(0, width - ratio.shape[1])), (0, 0)),
                   mode="symmetric")
    return tiled[:height, :width].clip(0.5, 1.5)


def neighbour_texture(pixels: np.ndarray, source: np.ndarray, target: np.ndarray, need: np.ndarray,
                      origin: tuple[int, int], shape: tuple[int, int], face_width: float,
                      fallback: np.ndarray | None, config: RevealConfig = RevealConfig()) -> np.ndarray | None:
    """The fine detail of the skin beside what a turn reveals, at the photo's own scale (stubble
    stays stubble): each place of the fill (an HxW box whose top left is `origin` in the photo)
    takes the detail of the photo where the revealed part came from, moved `inward` towards the
    face's middle onto skin the photo saw well; where that lands on an eye, brow, lip, the nose
    or the outline, the skin twice as far in, and where that does too, `fallback`'s detail (the
    cheek swatch's). The move is the need-weighted mean of the landmarks' own moves, in whole
    pixels, so it changes with the turn a pixel at a time."""
    weights = need / max(float(need.sum()), 1e-6)
    move = (weights[:, None] * (source[:, :2] - target[:, :2])).sum(axis=0)
    side = np.sign(float((weights * source[:, 0]).sum()) - float(np.median(source[:, 0]))) or 1.0
    found = []
    for steps in config.inward_steps:
        inward = move - [side * steps * config.inward * face_width, 0.0]
        # by whole pixels: a fractional shift resamples the grain and takes half its energy away
        moved = _moved_detail(pixels, source, origin, np.round(inward), shape, face_width, config)
        if moved is not None:
            found.append(moved)
    if not found:
        return fallback
    texture = np.ones(found[0][0].shape, np.float32) if fallback is None else fallback
    for detail, usable in reversed(found):
        texture = _mix_grain(detail, texture, usable)
    return texture


def _moved_detail(pixels: np.ndarray, source: np.ndarray, origin: tuple[int, int], move: np.ndarray,
                  shape: tuple[int, int], face_width: float, config: RevealConfig):
    """The photo's detail ratio read `move` px (whole) away from the HxW box at `origin`, and how
    usable each place of it is (1 on plain skin, 0 on a feature, the outline or off the face);
    None when the moved box lies off the photo."""
    height, width = shape
    sigma = max(1.0, config.detail_fraction * face_width)
    margin = int(3 * sigma) + 2
    # the part of the photo the moved box reads, with room for the blur
    x0, y0 = int(origin[0] + move[0]) - margin, int(origin[1] + move[1]) - margin
    x1, y1 = x0 + width + 2 * margin, y0 + height + 2 * margin
    cx0, cy0 = max(0, x0), max(0, y0)
    cx1, cy1 = min(pixels.shape[1], x1), min(pixels.shape[0], y1)
    if cx1 - cx0 < 8 or cy1 - cy0 < 8:
        return None
    rgb = pixels[cy0:cy1, cx0:cx1, :3].astype(np.float32)
    ratio = rgb / np.maximum(cv2.GaussianBlur(rgb, (0, 0), sigma), 1.0)
    plain = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(plain, [np.round(source[FACE_OVAL, :2] - [cx0, cy0]).astype(np.int32)], 1)
    for index, reach in ((np.concatenate([EYES, BROWS]), 0.07), (np.concatenate([OUTER_LIPS, NOSE]), 0.04)):
        for x, y in np.round(source[index, :2] - [cx0, cy0]).astype(int):
            cv2.circle(plain, (int(x), int(y)), max(1, int(reach * face_width)), 0, -1)
    # the outline's own edge (the jaw against hair or the backdrop) is no skin detail either
    rim = max(1, int(config.outline_margin * face_width))
    plain = cv2.erode(plain, np.ones((2 * rim + 1,) * 2, np.uint8))
    plain = cv2.GaussianBlur(plain.astype(np.float32), (0, 0), sigma)
    # the box's own pixels in the read part (a whole-pixel shift: copied, not resampled)
    ox, oy = int(origin[0] + move[0]) - cx0, int(origin[1] + move[1]) - cy0
    xs = (np.arange(width) + ox).clip(0, rgb.shape[1] - 1)
    ys = (np.arange(height) + oy).clip(0, rgb.shape[0] - 1)
    inside = (((np.arange(width) + ox >= 0) & (np.arange(width) + ox < rgb.shape[1]))[None, :]
              & ((np.arange(height) + oy >= 0) & (np.arange(height) + oy < rgb.shape[0]))[:, None])
    detail = ratio[np.ix_(ys, xs)].clip(0.5, 1.5)
    usable = (plain[np.ix_(ys, xs)] * inside)[:, :, None]
    return detail, usable


def _missing_grain(fill: np.ndarray, texture: np.ndarray, texture_w, sigma: float) -> np.ndarray:
    """How much of the skin's grain (`texture`, a ratio around 1) the fill still needs, per place:
    the mirrored side's pixels come resampled by the warp and keep only part of their detail, so
    where they stand the grain makes up what they lack (unrelated grains add their variances)
    instead of being left out."""
    gray = fill.mean(axis=2)
    own = gray / np.maximum(cv2.GaussianBlur(gray, (0, 0), sigma), 1.0) - 1.0
    grain = texture.mean(axis=2) - 1.0
    wide = 3 * sigma
    have = cv2.GaussianBlur(own * own, (0, 0), wide)
    want = cv2.GaussianBlur(grain * grain, (0, 0), wide)
    missing = np.sqrt(np.clip(1.0 - have / np.maximum(want, 1e-8), 0.0, 1.0))
    return np.maximum(np.asarray(texture_w, np.float32), missing[:, :, None])   # texture_w: 1, or HxWx1


def _mix_grain(first: np.ndarray, second: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Two detail ratios (around 1) mixed, `share` of the first. Two unrelated grains mixed half
    and half would keep 0.7 of their contrast (a smooth band where one hands over to the other);
    the mix's deviation is scaled back to theirs (the variance-preserving blend of Heitz and
    Neyret 2018)."""
    norm = np.sqrt(share ** 2 + (1 - share) ** 2)
    return (1.0 + ((first - 1.0) * share + (second - 1.0) * (1 - share)) / norm).clip(0.5, 1.5)


def _field(warp: Warp, values: np.ndarray, scale: float) -> np.ndarray:
    """A per-landmark value over the target face, drawn at `scale` and brought to the ROI's size."""
    x0, y0, x1, y1 = warp.roi
    return cv2.resize(warp.rasterize(values, scale), (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)


def _inpaint(rgb: np.ndarray, weight: np.ndarray, known: np.ndarray, scale: float) -> np.ndarray:
    """Smooth colour for the region `weight` marks, from the pixels `known` marks (on a copy shrunk
    by `scale`); the backdrop beyond the face is never known, so it cannot bleed into the skin."""
    size = (max(1, round(rgb.shape[1] * scale)), max(1, round(rgb.shape[0] * scale)))
    small = cv2.resize(np.ascontiguousarray(rgb), size, interpolation=cv2.INTER_AREA)
    hole = ((cv2.resize(weight, size, interpolation=cv2.INTER_AREA) > 0.2)
            | (cv2.resize(known, size, interpolation=cv2.INTER_AREA) < 0.5)).astype(np.uint8)
    filled = smooth_fill(small.astype(np.float32), 1.0 - hole.astype(np.float32))
    return cv2.resize(filled, (rgb.shape[1], rgb.shape[0]), interpolation=cv2.INTER_LINEAR)


def smooth_fill(rgb: np.ndarray, known: np.ndarray, sigmas=(1.5, 3, 6, 12, 24)) -> np.ndarray:
    """The known pixels kept, the rest the mean of the nearest known ones: normalized convolutions
    from fine to coarse, each place taking the finest that has enough known pixels around it (no
    streaks along the fill's direction, as a front-propagating inpainting draws)."""
    out = None
    for sigma in reversed(sigmas):
        weight = cv2.GaussianBlur(known, (0, 0), sigma)
        mean = cv2.GaussianBlur(rgb * known[:, :, None], (0, 0), sigma) / np.maximum(weight, 1e-6)[:, :, None]
        if out is None:
            out = mean
        else:
            enough = np.clip(weight / 0.3, 0, 1)[:, :, None]
            out = mean * enough + out * (1 - enough)
    return np.where(known[:, :, None] > 0.5, rgb, out)
