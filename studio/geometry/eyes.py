"""Redraw each iris after the warp: a round iris that moves whole between the moved lids, and
looks where the gaze control puts it.

The warp moves the lids point by point, and the triangles inside the eye carry the iris with
them: an eye that opens wider stretches its iris into a notch or tears it down the middle (the
eye's fans meet there), and one that narrows squeezes it. Real lids slide over an eyeball that
keeps its shape. So inside the target's lid contour the iris is drawn from the photo by one
similarity (the one that moves the eye's corners to their target), clipped by the lids; what the
photo's lids covered of it is filled from its mirror half, or, where that is hidden too, from the
seen iris's colour at the same radius. Around the iris, and wherever the warp left something
other than white in the opening (iris it dragged out of round or left behind, or the lid's skin
and lashes it stretched down where the lid rose), the photo's own white behind the iris is drawn:
each row across the iris from the white either side of it, carried by the eyeball, in the upper
lid's shadow, fading into the warp's white towards the corners without a seam. The catchlight
stays on the iris; the lids and their lashes stay the warp's. A gaze moves the iris inside the eye the same way, narrower as it turns (a disk
on a ball), never past where its corner would hide it. Used when the eye controls ask for it,
for every eye whose lids an edit opens wider, and for an eye the warp narrows only as far as its
lids drag its iris off the eyeball (anger's raised upper lid over its tensed lower one carried
the iris up with both, squeezed under a notch of the lid's rim): faded in with the drag, its iris
starting where the warp put it. An eye that narrows about its iris keeps the warp's squeezed
iris, which reads as narrowed. An eye the photo shows squeezed nearly shut (a deep disgust, a
laugh) has all of what opens drawn anew: the other eye's iris and white where it shows them
better, mirrored, else a plain iris of the colour between the lids, on a white no darker than
part of the cheek's brightness, shaded as a ball.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from studio.face.image_io import LUMA
from studio.face.masks import polygon_coverage, polygon_mask
from studio.face.mesh import LEFT_IRIS, N_SURFACE, RIGHT_IRIS
from studio.geometry.procrustes import fit_similarity
from studio.geometry.reveal import smooth_fill
from studio.geometry.face_controls import LEFT_LIDS, RIGHT_LIDS
from studio.geometry.warp import Warp

EYES = ((RIGHT_LIDS, RIGHT_IRIS), (LEFT_LIDS, LEFT_IRIS))


@dataclass(frozen=True)
class EyeConfig:
    # the photo's opening counts as seen this far inside its lids (eye widths): the lashes' shadow
    # and the lid's rim lie just inside MediaPipe's contour
    inset_upper: float = 0.05
    inset_lower: float = 0.05
    min_seen: float = 0.25        # an iris the photo shows less of than this share is left to the warp
    min_move_px: float = 0.3      # lids that move less than this keep the warp's pixels exactly
    iris_share: float = 0.92      # of MediaPipe's iris radius, drawn rigidly
    corner_hold: float = 0.8      # a gaze keeps the iris's centre this many radii from either corner
    ball_radius: float = 0.45     # the eyeball's radius (eye widths): an iris turned aside shows narrower
    min_white_px: int = 6         # a photo showing less white than this has the warp's own white spread over
    limbus_px: float = 2.0        # the photo's white begins this far past the iris's edge (its dark rim)
    bright_white: float = 0.7     # of the seen white's 90th-percentile brightness: the white drawn across the iris
    lid_shadow: float = 0.75      # the drawn white's brightness just under the upper lid ...
    shadow_reach: float = 0.08    # ... rising to the full over this (eye widths)
    ring_floor: float = 0.8       # the warp's white around a fill, darker than this share of it, is no white
    white_fade: tuple[float, float] = (2.2, 3.4)   # iris radii: the photo's white is drawn in full, then not
    middle_rows: float = 0.4      # iris radii about its centre's row: the white beside the iris's middle
    lend_wider: float = 1.5       # an eye the photo shows this much more open lends the other its iris and white
    # iris radii: a narrowing eye whose lids carry its iris further off the eyeball than the first
    # is redrawn, fading in up to the second (a slider moves the iris, never pops it)
    dragged_off: tuple[float, float] = (0.1, 0.35)
    squint: float = 0.18          # an eye open less than this (eye widths) in the photo is squeezed ...
    white_floor: float = 0.7      # ... and the white drawn for it at least this bright of its cheek,
    corner_shade: float = 0.35    # ... darker by this share at its corners
    white_hue: float = 0.3        # ... in this share of the cheek's hue where neither eye shows white
    pupil: float = 0.35           # an iris neither eye shows: its pupil's radius (iris radii) ...
    pupil_dark: float = 0.45      # ... and brightness
    closed_below: float = 0.1     # lids nearer than this (eye widths) begin to show the lash line between them ...
    shut: float = 0.03            # ... and show only it from here
    lid_band: float = 0.3         # above a closed eye's lash line, this much (eye widths) is lid skin ...
    bare_lid: float = 0.18        # ... taken from this far above the open lid (past long lashes)
    under_band: float = 0.08      # below the line, this much is the lower lid's rim
    lash_line: float = 0.03      # the closed lash line's half thickness (eye widths)


def _opening(points: np.ndarray, lids) -> float:
    """The eye's mean height between its lids (px), over the lids' inner points."""
    return float((points[list(lids[1][1:-1]), 1] - points[list(lids[0][1:-1]), 1]).mean())


def _seen_contour(points: np.ndarray, lids, width: float, config) -> np.ndarray:
    """The photo's eye opening a little in from its rims (where the lashes' shadow lies)."""
    upper, lower = points[list(lids[0])].copy(), points[list(lids[1])].copy()
    upper[1:-1, 1] += config.inset_upper * width
    lower[1:-1, 1] -= config.inset_lower * width
    return np.concatenate([upper, lower[1:-1][::-1]])


def _contour(points: np.ndarray, lids) -> np.ndarray:
    upper, lower = lids
    return np.concatenate([points[list(upper)], points[list(lower[1:-1])][::-1]])


def redraw_eyes(roi: np.ndarray, pixels: np.ndarray, warp: Warp, source: np.ndarray, target: np.ndarray,
                irises: np.ndarray | None = None, config: EyeConfig = EyeConfig(),
                opening_only: bool = False) -> np.ndarray:
    """Both eyes of `roi` (the warp's output over warp.roi) redrawn; returns it. `irises` (2x2:
    the right and left iris centre in the photo's pixels) is where the irises look; by default
    where the eye's corners carry them. `opening_only`: only eyes whose lids open wider, and
    narrowing eyes as far as their lids drag the iris off the eyeball (an eye that narrows about
    its iris keeps its pixels: a squeezed iris reads as narrowed, as it should)."""
    if len(source) <= N_SURFACE or len(target) <= N_SURFACE:
        return roi
    shown = _Shown(pixels, source[:, :2], config)
    for k, (lids, iris) in enumerate(EYES):
        lid_points = np.array(lids[0] + lids[1])
        carried = _carried(source[:, :2], target[:, :2], lids, iris)
        centre = (carried if irises is None
                  else _within(np.asarray(irises[k], float), source[:, :2], target[:, :2], lids, iris, config))
        if (np.abs(target[lid_points, :2] - source[lid_points, :2]).max() < config.min_move_px
                and np.linalg.norm(centre - carried) < config.min_move_px):
            continue
        weight, kept = 1.0, None
        if opening_only and _opening(target, lids) <= _opening(source, lids) + config.min_move_px:
            # a narrowing eye: redrawn only as far as its lids drag the iris off the eyeball, the
            # iris starting where the warp put it, so the step from the warp's pixels is nil
            drag, dragged_to = _drag(warp, source[:, :2], centre, iris)
            lo, hi = config.dragged_off
            weight = float(np.clip((drag - lo) / (hi - lo), 0, 1))
            if weight <= 0:
                continue
            centre = centre + (1 - weight) * (dragged_to - centre)
            kept = _EyeBox(roi, warp, target[:, :2], lids) if weight < 1 else None
        _redraw_eye(roi, pixels, warp, source[:, :2], target[:, :2], k, centre, shown, config)
        _close_lashes(roi, pixels, warp, source[:, :2], target[:, :2], lids, config)
        if kept is not None:
            kept.blend(roi, weight)
    return roi


class _EyeBox:
    """The warp's pixels around one eye, kept to blend the redrawn eye with."""

    def __init__(self, roi: np.ndarray, warp: Warp, target: np.ndarray, lids):
        opening = _contour(target, lids)
        pad = 0.5 * float(np.ptp(opening[:, 0])) + 3
        x0, y0 = warp.roi[:2]
        lo = np.maximum(np.floor(opening.min(axis=0) - pad).astype(int) - [x0, y0], 0)
        hi = np.minimum(np.ceil(opening.max(axis=0) + pad).astype(int) - [x0, y0], roi.shape[1::-1])
        self.box = (slice(lo[1], max(hi[1], lo[1])), slice(lo[0], max(hi[0], lo[0])))
        self.pixels = roi[self.box].copy()

    def blend(self, roi: np.ndarray, weight: float) -> None:
        region = roi[self.box].astype(np.float32)
        roi[self.box] = np.clip(self.pixels * (1 - weight) + region * weight, 0, 255).round().astype(roi.dtype)


def _ring_radius(points: np.ndarray, iris) -> float:
    """The iris's radius (px) by MediaPipe: its ring points' mean distance from its centre."""
    return float(np.linalg.norm(points[list(iris[1:])] - points[iris[0]], axis=1).mean())


def _drag(warp: Warp, source: np.ndarray, held: np.ndarray, iris) -> tuple[float, np.ndarray]:
    """How far (iris radii) the warp moves the photo's iris centre from where the eye holds it
    (`held`), and where to. Both lids rising (anger's raised upper lid over its tensed lower
    one) drag the iris up with them, squeezed under a notch of the lid's rim; real lids slide
    over the eyeball."""
    centre, radius = source[iris[0]], _ring_radius(source, iris)
    x0, y0, x1, y1 = warp.roi
    # where the warp takes its pixels from, near where the iris should be
    lo = np.maximum(np.floor(held - 3 * radius).astype(int), [x0, y0])
    hi = np.minimum(np.ceil(held + 3 * radius).astype(int) + 1, [x1, y1])
    if radius <= 0 or (hi - lo).min() < 1:
        return 0.0, held
    sx = warp.map_x[lo[1] - y0:hi[1] - y0, lo[0] - x0:hi[0] - x0]
    sy = warp.map_y[lo[1] - y0:hi[1] - y0, lo[0] - x0:hi[0] - x0]
    d = np.hypot(sx - centre[0], sy - centre[1])
    i, j = np.unravel_index(int(np.argmin(d)), d.shape)
    if d[i, j] > 1.5:          # the centre is not inside the window: dragged at least this far
        return 3.0, held
    to = np.array([lo[0] + j, lo[1] + i], float)
    return float(np.linalg.norm(to - held)) / radius, to


def _close_lashes(roi, pixels, warp: Warp, source, target, lids, config: EyeConfig) -> None:
    """A closing eye: what is left between the lids (the white and iris the warp squeezed into a
    line) becomes the lashes' dark line, as the lids meet."""
    width = float(np.linalg.norm(target[lids[0][0]] - target[lids[0][-1]]))
    upper, lower = target[list(lids[0])], target[list(lids[1])]
    gap = float(np.max(_along_x(lower, upper[1:-1, 0]) - upper[1:-1, 1])) / max(width, 1.0)
    closing = float(np.clip((config.closed_below - gap) / (config.closed_below - config.shut), 0, 1))
    if closing <= 0 or width < 6:
        return
    x0r, y0r, x1r, y1r = warp.roi
    band = max(1.0, config.lash_line * width)
    opening = _contour(target, lids)
    band_top = config.lid_band
    reach = np.array([2 * band, 2 * band + (band_top + 0.05) * width])   # x, y: room for the lid above
    lo = np.maximum(np.floor(opening.min(axis=0) - reach) - 2, [x0r, y0r]).astype(int)
    hi = np.minimum(np.ceil(opening.max(axis=0) + 2 * band) + 3, [x1r, y1r]).astype(int)
    if (hi - lo).min() < 3:
        return
    shape = (hi[1] - lo[1], hi[0] - lo[0])
    ys, xs = np.mgrid[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32)
    # the line where the lids meet, thinning towards the corners as a lash line does
    mid = (_along_x(upper, xs) + _along_x(lower, xs)) / 2
    t = np.clip((xs - upper[:, 0].min()) / max(np.ptp(upper[:, 0]), 1.0), 0, 1)
    thick = band * (0.7 + 0.5 * np.clip(np.sin(np.pi * t), 0, 1))
    inside = (xs >= upper[:, 0].min()) & (xs <= upper[:, 0].max())
    line = np.clip(1.3 - np.abs(ys - mid) / thick, 0, 1) * inside
    line = np.maximum(line, polygon_mask(opening, shape, lo))
    colour = _lash_colour(pixels, source, lids, width)
    if colour is None:
        return
    region = roi[lo[1] - y0r:hi[1] - y0r, lo[0] - x0r:hi[0] - x0r]
    rgb = region[..., :3].astype(np.float32)
    # above the line, the lid: the upper lashes the warp carried down stood up from the open lid;
    # a closed lid's lashes hang at its rim, so the band above it takes the photo's own lid skin
    # (from above its open lid's lashes, eyeshadow and all), in an arch that fades out at the
    # corners and at the top, or MediaPipe and people both read the dark band as an open eye
    above = (mid - ys) / width
    arch = np.clip(np.sin(np.pi * t), 0, 1) ** 0.6
    top = band_top * (0.35 + 0.65 * arch)
    lid = (np.clip((above - 0.6 * band / width) / 0.02, 0, 1) * np.clip((top - above) / 0.06, 0, 1)
           * np.clip(np.sin(np.pi * t) * 3, 0, 1) * inside)
    lid = (cv2.GaussianBlur(lid.astype(np.float32), (0, 0), max(1.0, 0.015 * width)) * closing)[..., None]
    shift = target[list(lids[0]), 0].mean() - source[list(lids[0]), 0].mean()
    src_x = xs - shift
    # ... from below the brow: deep-set eyes leave little lid between the lashes and the brow
    room = _lid_room(source, lids, width)
    start = min(config.bare_lid, 0.45 * room)
    spread = float(np.clip((0.85 * room - start) / band_top, 0.0, 0.5))
    src_y = _along_x(source[list(lids[0])], src_x) - (start + spread * np.clip(above, 0, None)) * width
    skin = cv2.remap(pixels[..., :3].astype(np.float32), src_x.astype(np.float32), src_y.astype(np.float32),
                     cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rgb = rgb * (1 - lid) + skin * lid
    # and just under it the lower lid's rim, from just under the photo's lower lid: the white the
    # warp squeezed against the line is gone
    below = (ys - mid) / width
    under = (np.clip((below - 0.3 * band / width) / 0.015, 0, 1) * np.clip((config.under_band - below) / 0.03, 0, 1)
             * np.clip(np.sin(np.pi * t) * 3, 0, 1) * inside)
    under = (cv2.GaussianBlur(under.astype(np.float32), (0, 0), max(0.8, 0.01 * width)) * closing)[..., None]
    src_y = _along_x(source[list(lids[1])], src_x) + (0.03 + 0.5 * np.clip(below, 0, None)) * width
    rim = cv2.remap(pixels[..., :3].astype(np.float32), src_x.astype(np.float32), src_y.astype(np.float32),
                    cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    rgb = rgb * (1 - under) + rim * under
    a = (cv2.GaussianBlur(line.astype(np.float32), (0, 0), 0.6) * closing)[..., None]
    region[..., :3] = np.clip(rgb * (1 - a) + colour[None, None, :] * a, 0, 255).round().astype(region.dtype)


BROW_UNDERSIDES = {RIGHT_LIDS: (35, 124, 46, 53, 52, 65), LEFT_LIDS: (265, 353, 276, 283, 282, 295)}


def _lid_room(source, lids, width) -> float:
    """How far (eye widths) the brow's underside lies above the open upper lid, at the lid's middle."""
    upper = source[list(lids[0])]
    brow = source[list(BROW_UNDERSIDES[lids])]
    middle = (upper[:, 0] > np.percentile(upper[:, 0], 25)) & (upper[:, 0] < np.percentile(upper[:, 0], 75))
    lid_y = float(upper[middle, 1].mean())
    return max(0.05, (lid_y - _along_x(brow, np.array([upper[middle, 0].mean()]))[0]) / width)


def _along_x(polyline: np.ndarray, x: np.ndarray) -> np.ndarray:
    order = np.argsort(polyline[:, 0])
    return np.interp(x, polyline[order, 0], polyline[order, 1])


def _lash_colour(pixels, source, lids, width) -> np.ndarray | None:
    """The photo's upper lash line: the darkest along just inside the upper lid's middle."""
    h, w = pixels.shape[:2]
    upper = source[list(lids[0])]
    xs = np.linspace(upper[:, 0].min(), upper[:, 0].max(), 16)[4:12]
    samples = []
    for dy in np.linspace(-0.03, 0.04, 6) * width:
        ys = _along_x(upper, xs) + dy
        samples += [pixels[int(round(y)), int(round(x)), :3] for x, y in zip(xs, ys)
                    if 0 <= int(round(y)) < h and 0 <= int(round(x)) < w]
    if not samples:
        return None
    samples = np.array(samples, np.float32)
    luma = samples @ LUMA
    return samples[luma <= np.percentile(luma, 25)].mean(axis=0)


def _within(looks, source, target, lids, iris, config: EyeConfig) -> np.ndarray:
    """`looks` held so the iris stays inside its eye: its centre at least config.corner_hold of its
    radius from either corner, along the line through them (further, a narrowing eye's lids meet
    over it in a dark wedge, which no eye shows)."""
    a, b = target[lids[0][0]], target[lids[0][-1]]
    axis = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    scale = float(np.linalg.norm(b - a)) / max(float(np.linalg.norm(source[lids[0][-1]] - source[lids[0][0]])), 1e-6)
    radius = scale * _ring_radius(source, iris)
    length = float(np.linalg.norm(b - a))
    u = float((looks - a) @ axis)
    hold = config.corner_hold * radius
    held = np.clip(u, min(hold, length / 2), max(length - hold, length / 2))
    return looks + (held - u) * axis


def _turned(q_iris, centre, offset, source, lids, width, config: EyeConfig) -> np.ndarray:
    """The iris's frame (`q_iris`: each place's point on the photo's iris) for an eyeball turned
    so its iris moves by `offset` (photo pixels): an iris turned further from the eye's middle
    shows narrower across the eye, as a disk on a ball does (by the cosine of its turn)."""
    a, b = source[lids[0][0]], source[lids[0][-1]]
    axis = (b - a) / max(float(np.linalg.norm(b - a)), 1e-6)
    ball = config.ball_radius * width
    turn = [float(np.clip((c - (a + b) / 2) @ axis / ball, -0.95, 0.95)) for c in (centre, centre + offset)]
    squeeze = np.sqrt(1 - turn[0] ** 2) / np.sqrt(1 - turn[1] ** 2)   # > 1: the drawn iris narrower
    if abs(squeeze - 1) < 1e-3:
        return q_iris
    along = (q_iris - centre) @ axis.astype(np.float32)
    return (q_iris + ((squeeze - 1) * along)[..., None] * axis.astype(np.float32)).astype(np.float32)


def _carried(source, target, lids, iris) -> np.ndarray:
    """Where the eye's corners carry the photo's iris centre."""
    corners = [lids[0][0], lids[0][-1]]
    return fit_similarity(source[corners], target[corners]).apply(source[iris[:1]])[0]


def _redraw_eye(roi, pixels, warp: Warp, source, target, k: int, looks, photo_eyes: "_Shown",
                config: EyeConfig) -> None:
    lids, iris = EYES[k]
    width = float(np.linalg.norm(source[lids[0][0]] - source[lids[0][-1]]))
    if width < 6:
        return
    x0r, y0r, x1r, y1r = warp.roi
    opening = _contour(target, lids)
    lo = np.maximum(np.floor(opening.min(axis=0)) - 2, [x0r, y0r]).astype(int)
    hi = np.minimum(np.ceil(opening.max(axis=0)) + 3, [x1r, y1r]).astype(int)
    if (hi - lo).min() < 3:
        return
    shape = (hi[1] - lo[1], hi[0] - lo[0])
    inside = polygon_mask(opening, shape, lo)
    if inside.sum() < 4:
        return
    # the photo's eyeball follows the eye's corners: a translation, or a turn's scale and roll
    corners = [lids[0][0], lids[0][-1]]
    rigid = fit_similarity(target[corners], source[corners])   # target -> photo
    ys, xs = np.mgrid[lo[1]:hi[1], lo[0]:hi[0]].astype(np.float32)
    q = rigid.apply(np.stack([xs.ravel(), ys.ravel()], axis=1)).reshape(*shape, 2).astype(np.float32)
    centre = source[iris[0]]
    # the iris is drawn around `looks`: the eyeball's frame, shifted by the gaze
    offset = (rigid.apply(np.asarray(looks, float)[None])[0] - centre).astype(np.float32)
    q_iris = _turned(q - offset, centre, offset, source, lids, width, config)
    radius = photo_eyes.radius(k)
    if radius < 2:
        return
    shown = photo_eyes.iris(k, q_iris)
    if shown is None:
        return
    r_q = np.hypot(q_iris[..., 0] - centre[0], q_iris[..., 1] - centre[1]) / radius
    # the iris, a little inside MediaPipe's circle (which often takes in the limbus), soft over 1.5 px
    disk = np.clip(((config.iris_share - r_q) * radius) / 1.5 + 0.5, 0, 1)
    region = roi[lo[1] - y0r:hi[1] - y0r, lo[0] - x0r:hi[0] - x0r]
    rgb = region[..., :3].astype(np.float32)
    # white the warp dragged iris into (an opening lid pulls the iris's rim into lobes)
    sx = warp.map_x[lo[1] - y0r:hi[1] - y0r, lo[0] - x0r:hi[0] - x0r]
    sy = warp.map_y[lo[1] - y0r:hi[1] - y0r, lo[0] - x0r:hi[0] - x0r]
    dragged = (np.hypot(sx - centre[0], sy - centre[1]) < 1.25 * radius) & (r_q > config.iris_share) & (inside > 0.5)
    cover = polygon_coverage(opening, shape, lo)   # the opening with its edge's partial pixels
    rgb = _clean_white(rgb, photo_eyes.white(k, q), source, target, lids, width, inside, cover, r_q, dragged,
                       (sx, sy), (xs, ys), config, whole=photo_eyes.squinted(k))
    a = (disk * cover)[..., None]   # the lids cut the iris with partial pixels
    region[..., :3] = np.clip(rgb * (1 - a) + shown * a, 0, 255).round().astype(region.dtype)


def _clean_white(rgb, bare, source, target, lids, width, inside, cover, r_q, dragged, sampled, grid,
                 config: EyeConfig, whole: bool = False) -> np.ndarray:
    """The eye's white where the warp put something else in the opening: iris it dragged out of
    round or left behind as the eye looks aside (`dragged`), or the lid's skin and lashes it
    stretched down into the opening where the lid rose. It is the photo's own white behind the
    iris carried by the eyeball (`bare`: (the white at each place, how far each place is from
    the photo's iris centre in its radii), or None when the photo shows too little white), in the
    upper lid's shadow, meeting the white the warp kept around it without a seam (`grid`: each
    place's own position). Soft-edged, so no patch shows."""
    sx, sy = sampled                   # where in the photo the warp took each place of `rgb`
    contour = _contour(source, lids)
    box_lo = np.floor(contour.min(axis=0)).astype(int) - 2
    box_shape = tuple((np.ceil(contour.max(axis=0)).astype(int) + 3 - box_lo)[::-1])
    # the photo's opening itself: its rims' shadow, just inside it, is no lid the warp stretched down
    photo_open = polygon_mask(contour, box_shape, box_lo.astype(np.float32))
    from_lid = cv2.remap(photo_open, sx - box_lo[0], sy - box_lo[1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_CONSTANT, borderValue=0) < 0.5
    opening = inside > 0.5
    lid_in = from_lid & opening & (r_q > config.iris_share)
    good = (opening & ~cv2.dilate(dragged.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
            & (r_q > config.iris_share + 0.15) & ~lid_in)
    need = (dragged | lid_in) & ~good
    if not need.any():
        return rgb
    if bare is None:    # the photo shows too little white: the warp's own white spread over
        white = smooth_fill(rgb, good.astype(np.float32), sigmas=tuple(width * f for f in (0.03, 0.06, 0.12, 0.25)))
    else:
        white, r_ball = bare
        # in the upper lid's shadow (the rows across the iris are drawn from the brighter white)
        xs, ys = grid
        below = ys - np.interp(xs, target[list(lids[0]), 0], target[list(lids[0]), 1])
        t = np.clip(below / (config.shadow_reach * width), 0, 1)
        white = white * (config.lid_shadow + (1 - config.lid_shadow) * t * t * (3 - 2 * t))[..., None]
        # ... meeting the white the warp kept around it: the difference along their border spread
        # over the filled part (the border along the lids and anything much darker left out)
        clear = polygon_mask(_seen_contour(target, lids, width, config), rgb.shape[:2],
                             (float(xs[0, 0]), float(ys[0, 0]))) > 0.99
        # The photo's white around the iris, clear of the rims, is the eyeball's own, fading
        # out into the warp's further away: patched in only where the warp tore the iris (the
        # fans' straight edges), it met the stretched white around it in boxes wherever the
        # photo's white is shaded unevenly (London 001's and 002's fear)
        near = np.clip((config.white_fade[1] - r_ball) / (config.white_fade[1] - config.white_fade[0]), 0, 1)
        near = near * cv2.GaussianBlur(clear.astype(np.float32), (0, 0), 0.03 * width) * opening
        near[r_q <= config.iris_share] = 0
        if whole:   # a squint opened: nothing the warp stretched into the opening is white
            near = np.maximum(near, (opening & (r_q > config.iris_share)).astype(np.float32))
        need = need | (near >= 1)
        # darker than most of the warp's white: the iris's rim, a lash's shadow (against the drawn
        # white instead, the shaded white of a corner counted as dark, and its edge stayed)
        kept = good & clear & ~need
        floor = config.ring_floor * np.percentile(rgb[kept] @ LUMA, 75) if kept.any() else 0.0
        ring = (kept & cv2.dilate(need.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
                & (rgb @ LUMA > floor))
        if ring.any():
            white = white + smooth_fill((rgb - white) * ring[..., None], ring.astype(np.float32),
                                        sigmas=tuple(width * f for f in (0.05, 0.12, 0.3)))
    soft = cv2.GaussianBlur(need.astype(np.float32), (0, 0), max(0.8, 0.02 * width))[..., None]
    soft = np.maximum(soft, need[..., None].astype(np.float32))
    if bare is not None:
        soft = np.maximum(soft, near[..., None])
    # ... and no further than the lids, with their edge's own partial pixels (a whole-pixel edge
    # stood on the lower lid in stairs)
    soft = soft * cover[..., None]
    return rgb * (1 - soft) + white * soft


class _Shown:
    """What the photo shows of each eye: where its iris is and how wide it is, how open the eye
    is, and its iris and bare white as textures, each read once and only when asked. An eye the
    photo shows too little of (squeezed shut by a deep disgust, then opened by a removal)
    borrows the other eye's, mirrored: left to the warp, its stretched lashes and shadow filled
    the opening as a dark hole."""

    def __init__(self, pixels: np.ndarray, source: np.ndarray, config: EyeConfig):
        self.pixels, self.source, self.config = pixels, source, config
        self._eyes: dict[int, _EyeShape] = {}
        self._textures: dict[tuple[int, str], tuple | None] = {}

    def shape(self, k: int) -> "_EyeShape":
        if k not in self._eyes:
            lids, iris = EYES[k]
            width = float(np.linalg.norm(self.source[lids[0][0]] - self.source[lids[0][-1]]))
            centre = self.source[iris[0]]
            estimate = _ring_radius(self.source, iris)
            self._eyes[k] = _EyeShape(centre, _iris_radius(self.pixels, centre, estimate), width,
                                      _opening(self.source, lids) / max(width, 1.0))
        return self._eyes[k]

    def _texture(self, k: int, part: str):
        """Eye k's own iris or bare white ("iris" / "white") as (texture, origin), or None."""
        if (k, part) not in self._textures:
            eye, (lids, _) = self.shape(k), EYES[k]
            if part == "iris":
                found = (_iris_texture(self.pixels, self.source, lids, eye.centre, eye.radius, eye.width, self.config)
                         if eye.radius >= 2 else None)
            else:
                found = (_bare_white(self.pixels, self.source, lids, eye.centre, eye.radius, eye.width, self.config)
                         if eye.width >= 6 else None)
            self._textures[(k, part)] = found
        return self._textures[(k, part)]

    def squinted(self, k: int) -> bool:
        """The photo shows eye k squeezed nearly shut: what a warp opens of it is all new."""
        return self.shape(k).openness < self.config.squint

    def radius(self, k: int) -> float:
        return self.shape(k).radius

    def _lent(self, k: int, part: str, q: np.ndarray):
        """The texture (`part`: "iris" or "white") that shows eye k's photo point `q` (HxWx2):
        its own, or the other eye's at the mirror point where the photo shows the other eye
        open much wider (a squint's sliver of white is in the lids' shadow) or only the other;
        None when neither eye shows it. The other eye is read only when it may lend."""
        own = self._texture(k, part)
        wider = self.shape(1 - k).openness >= self.config.lend_wider * self.shape(k).openness
        if own is not None and not wider:
            return own, q
        other = self._texture(1 - k, part)
        if other is None:
            return own, q
        return other, _mirrored(self.source, k, q)

    def iris(self, k: int, q_iris: np.ndarray) -> np.ndarray | None:
        texture, at = self._lent(k, "iris", q_iris)
        if texture is None:
            if not self.squinted(k):
                return None    # too little of it shown: the warp's own pixels stay
            texture = self._plain_iris(k)   # both eyes squeezed shut: what opens of them is all new
        if at is not q_iris:   # the other eye's iris, centred on this one's
            at = at + (self.shape(1 - k).centre - _mirrored(self.source, k, self.shape(k).centre[None])[0]).astype(np.float32)
        ball, origin = texture
        return cv2.remap(ball, at[..., 0] - origin[0], at[..., 1] - origin[1], cv2.INTER_LINEAR,
                         borderMode=cv2.BORDER_REPLICATE)

    def white(self, k: int, q: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
        """The bare white at each point `q` of eye k's eyeball in the photo, and how far each is
        from its iris's centre in radii; None when neither eye shows enough white."""
        texture, at = self._lent(k, "white", q)
        if texture is None and not self.squinted(k):
            return None
        if texture is None:   # lifted to the floor below, in the cheek's hue
            white = np.broadcast_to(self.config.white_hue * self._cheek(k), q.shape[:2] + (3,)).astype(np.float32)
        else:
            bare, origin = texture
            white = cv2.remap(bare, at[..., 0] - origin[0], at[..., 1] - origin[1], cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
        if self.squinted(k):
            white = self._lifted(white, k, q)
        eye = self.shape(k)
        return white, np.hypot(q[..., 0] - eye.centre[0], q[..., 1] - eye.centre[1]) / eye.radius

    def _lifted(self, white: np.ndarray, k: int, q: np.ndarray) -> np.ndarray:
        """A squint's white, in its lids' shadow, brought up to `white_floor` of the brightness of
        the cheek below the eye (greyed: the lift adds to all three channels alike), and shaded
        as a ball is, darker towards the corners (`q`: each place's point in the photo): lifted
        flat, it read as a doll's eye."""
        lids = EYES[k][0]
        a, b = self.source[lids[0][0]], self.source[lids[0][-1]]
        width = self.shape(k).width
        floor = self.config.white_floor * float(self._cheek(k) @ LUMA)
        lifted = white + np.maximum(floor - white @ LUMA, 0)[..., None]
        along = np.clip(np.abs((q - (a + b) / 2).astype(np.float32) @ ((b - a) / max(width, 1e-6)).astype(np.float32))
                        / (width / 2), 0, 1)
        return lifted * (1 - self.config.corner_shade * along * along)[..., None]

    def _cheek(self, k: int) -> np.ndarray:
        """The median colour of the cheek below eye k."""
        width = self.shape(k).width
        x, y = np.round(self.source[CHEEKS[k]]).astype(int)
        half = max(2, int(0.08 * width))
        patch = self.pixels[max(0, y - half):y + half, max(0, x - half):x + half, :3].reshape(-1, 3)
        return np.median(patch, axis=0).astype(np.float32) if len(patch) else np.full(3, 128, np.float32)

    def _plain_iris(self, k: int) -> tuple[np.ndarray, np.ndarray]:
        """An iris for an eye neither eye of the photo shows: the darker half of what its lids
        show between them (iris and lashes), a darker pupil in the middle; (texture, origin)."""
        lids, _ = EYES[k]
        centre, radius = self.shape(k).centre, self.shape(k).radius
        contour = _contour(self.source, lids)
        lo = np.floor(contour.min(axis=0)).astype(int) - 1
        hi = np.ceil(contour.max(axis=0)).astype(int) + 2
        box = self.pixels[max(lo[1], 0):hi[1], max(lo[0], 0):hi[0], :3].astype(np.float32)
        inside = polygon_mask(contour, box.shape[:2], np.maximum(lo, 0).astype(np.float32)) > 0.5
        colour = _darker_half(box[inside]) if inside.sum() >= 4 else _darker_half(box.reshape(-1, 3))
        size = int(np.ceil(2 * radius)) + 7
        origin = (centre - size / 2).astype(np.float32)
        yy, xx = np.mgrid[0:size, 0:size].astype(np.float32)
        r = np.hypot(xx + origin[0] - centre[0], yy + origin[1] - centre[1]) / max(radius, 1.0)
        pupil = np.clip((r - self.config.pupil) / 0.1, 0, 1)
        shade = self.config.pupil_dark + (1 - self.config.pupil_dark) * pupil
        return (colour[None, None] * shade[..., None]).astype(np.float32), origin


@dataclass(frozen=True)
class _EyeShape:
    centre: np.ndarray    # the iris's centre in the photo
    radius: float         # the iris's radius where the photo shows its edge (px)
    width: float          # corner to corner (px)
    openness: float       # the lids' mean distance over the width


# the middle of each cheek (MediaPipe's mesh), below the right and the left eye
CHEEKS = (205, 425)


def _mirrored(source: np.ndarray, k: int, q: np.ndarray) -> np.ndarray:
    """Points `q` (..x2) of eye k in the photo at the same place of the other eye, mirrored:
    its outer corner to the other's outer corner, its inner to the inner, up kept up."""
    lids, other = EYES[k][0], EYES[1 - k][0]
    # each eye's corners in the order (first, last) of its upper lid; the other eye's run the other way
    a1, b1 = source[lids[0][0]], source[lids[0][-1]]
    a2, b2 = source[other[0][-1]], source[other[0][0]]
    l1, l2 = max(float(np.linalg.norm(b1 - a1)), 1e-6), max(float(np.linalg.norm(b2 - a2)), 1e-6)
    e1, e2 = (b1 - a1) / l1, (b2 - a2) / l2
    n1, n2 = np.array([-e1[1], e1[0]]), np.array([-e2[1], e2[0]])
    n2 = n2 if n2 @ n1 >= 0 else -n2
    d = q - a1.astype(np.float32)
    along, across = (d @ e1.astype(np.float32)) / l1, (d @ n1.astype(np.float32)) / l1
    return (a2 + l2 * (along[..., None] * e2 + across[..., None] * n2)).astype(np.float32)


def _bare_white(pixels, source, lids, centre, radius, width, config: EyeConfig):
    """The photo's eyeball with its iris taken out: across the iris and its dark rim, each row runs
    from the bright white just left of it to the bright white just right of it (rows with none
    take the nearest row that has some); where the photo shows its white, the photo. Returns
    (texture, its origin in the photo), or None when the photo shows too little white."""
    h, w = pixels.shape[:2]
    pad = int(np.ceil(0.15 * width))   # past it, the texture's edge is held (a lid rises less)
    corners = source[list(lids[0]) + list(lids[1])]
    lo = np.maximum(np.floor(corners.min(axis=0)) - pad, 0).astype(int)
    hi = np.minimum(np.ceil(corners.max(axis=0)) + pad + 1, [w, h]).astype(int)
    box = pixels[lo[1]:hi[1], lo[0]:hi[0], :3].astype(np.float32)
    yy, xx = np.mgrid[lo[1]:hi[1], lo[0]:hi[0]]
    # the white: seen, clear of the iris's dark rim (the limbus) ...
    white = (_seen(source, lids, box.shape[:2], lo.astype(np.float32), width, config)
             & (np.hypot(xx - centre[0], yy - centre[1]) > radius + config.limbus_px))
    if white.sum() < config.min_white_px:
        return None
    # ... and the rows across the iris drawn from its brighter part: the lashes' shadow along the
    # lid and the pink of the corners would run across as grey bands
    # ... each side of the iris against its own brightest: one side of an eye is often in shade,
    # and rows drawn only from the lit side met the shaded white in a hard edge (London 004's fear)
    luma = box @ LUMA
    bright = np.zeros_like(white)
    for side in (xx < centre[0], xx >= centre[0]):
        if (white & side).any():
            bright |= white & side & (luma >= config.bright_white * np.percentile(luma[white & side], 90))
    # each row's ends a little smoothed, or one dark pixel draws a streak across
    weight = cv2.GaussianBlur(bright.astype(np.float32), (0, 0), 1.2)
    smooth = cv2.GaussianBlur(box * bright[..., None], (0, 0), 1.2) / np.maximum(weight, 1e-6)[..., None]
    rows = np.flatnonzero(bright.any(axis=1))
    nearest = rows[np.abs(rows[None, :] - np.arange(box.shape[0])[:, None]).argmin(axis=1)]
    # rows drawn from different ends differ: smoothed up and down, or they show as stripes
    across = cv2.GaussianBlur(_across_rows(smooth, bright)[nearest], (0, 0), sigmaX=1.0, sigmaY=0.04 * width + 1)
    # the photo's white where it shows, fading into the rows across over a pixel or two
    shown = np.clip(np.minimum(cv2.GaussianBlur(white.astype(np.float32), (0, 0), 1.0) * 2 - 1, white), 0, 1)
    texture = box * shown[..., None] + across * (1 - shown[..., None])
    # Above the iris's middle, nothing darker than the white beside its middle: the photo's lid
    # and its shadow there move up with a lid that opens (its lashes' shadow carried on from the
    # top rows drew a grey cap over the iris, London 004), and the lid's own shadow is drawn
    # again under the lid where it goes
    middle = np.abs(np.arange(box.shape[0]) + lo[1] - centre[1]) <= config.middle_rows * radius
    if middle.any():
        level = across[middle].mean(axis=0)
        upper = (np.arange(box.shape[0]) + lo[1] < centre[1])[:, None] & (texture @ LUMA < (level @ LUMA)[None, :])
        lift = cv2.GaussianBlur(upper.astype(np.float32), (0, 0), 1.0)[..., None]
        texture = texture * (1 - lift) + level[None] * lift
    return texture.astype(np.float32), lo.astype(np.float32)


def _across_rows(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Each row's unknown places linearly between the nearest known place left and right of
    them (the nearer one's value past a row's last known place)."""
    h, w = known.shape
    x = np.arange(w)[None, :]
    left = np.maximum.accumulate(np.where(known, x, -1), axis=1)
    right = np.minimum.accumulate(np.where(known, x, w)[:, ::-1], axis=1)[:, ::-1]
    r = np.arange(h)[:, None]
    lv, rv = image[r, np.clip(left, 0, w - 1)], image[r, np.clip(right, 0, w - 1)]
    has_l, has_r = (left >= 0)[..., None], (right < w)[..., None]
    t = ((x - left) / np.maximum(right - left, 1))[..., None]
    return np.where(has_l & has_r, lv * (1 - t) + rv * t, np.where(has_l, lv, rv))


def _seen(source, lids, shape, origin, width, config: EyeConfig) -> np.ndarray:
    """Where the photo shows the eyeball: inside the lids, a little in from their rims."""
    return polygon_mask(_seen_contour(source, lids, width, config), shape, origin) > 0.99


def _iris_radius(pixels, centre, estimate: float) -> float:
    """The iris's radius where the photo shows its edge: the steepest rise of brightness from the
    dark iris to the white along the centre's row, on each side, within 0.65-1.15 of MediaPipe's
    radius (which often takes in the limbus and some white; a rim of white drawn round a moved
    iris reads as a marble)."""
    h, w = pixels.shape[:2]
    cx, cy = centre
    xs = np.arange(np.floor(cx - 1.3 * estimate), np.ceil(cx + 1.3 * estimate) + 1).astype(int)
    row = int(round(cy))
    if xs[0] < 0 or xs[-1] >= w or not 0 <= row < h or estimate < 2:
        return estimate
    band = pixels[max(0, row - 1):row + 2, xs, :3].astype(np.float32).mean(axis=0)
    luma = cv2.GaussianBlur((band @ LUMA)[None, :], (0, 0), 1.0)[0]
    d = xs - cx
    found = []
    for side in (1, -1):
        window = (side * d >= 0.65 * estimate) & (side * d <= 1.15 * estimate)
        if window.sum() < 2:
            continue
        rise = side * np.gradient(luma)
        k = np.flatnonzero(window)[np.argmax(rise[window])]
        if rise[k] > 2.0:
            found.append(abs(d[k]))
    return float(np.mean(found)) if found else estimate


def _iris_texture(pixels, source, lids, centre, radius, width, config: EyeConfig):
    """The photo's iris on a box around it, with what its lids covered filled: from the mirror
    half across the centre's row where that was seen, else the seen iris's colour at the same
    radius. Returns (texture, its origin in the photo), or None when too little was seen."""
    h, w = pixels.shape[:2]
    pad = 3
    x0, y0 = int(np.floor(centre[0] - radius)) - pad, int(np.floor(centre[1] - radius)) - pad
    x1, y1 = int(np.ceil(centre[0] + radius)) + pad, int(np.ceil(centre[1] + radius)) + pad
    if x0 < 0 or y0 < 0 or x1 > w or y1 > h:
        return None
    origin = np.array([x0, y0], np.float32)
    box = pixels[y0:y1, x0:x1, :3].astype(np.float32)
    seen = _seen(source, lids, box.shape[:2], origin, width, config)
    yy, xx = np.mgrid[0:box.shape[0], 0:box.shape[1]].astype(np.float32)
    c = centre - origin
    r = np.hypot(xx - c[0], yy - c[1])
    in_iris = r < config.iris_share * radius + 1
    ring = seen & in_iris
    if ring.sum() < config.min_seen * in_iris.sum():
        return None
    ball = box.copy()
    hidden = ~seen & in_iris
    my = np.clip(np.round(2 * c[1] - yy).astype(int), 0, box.shape[0] - 1)
    mx = xx.astype(int)
    mirrored = hidden & seen[my, mx]
    ball[mirrored] = box[my[mirrored], mx[mirrored]]
    rest = hidden & ~seen[my, mx]
    # the darker half of each ring: at the iris's sides the seen ring takes in some white
    bins = np.minimum((r / (config.iris_share * radius + 1) * 6).astype(int), 5)
    whole = _darker_half(box[ring])
    profile = np.array([_darker_half(box[ring & (bins == b)]) if (ring & (bins == b)).sum() > 3
                        else whole for b in range(6)])
    ball[rest] = profile[bins[rest]]
    # outside the iris the texture is never shown, but the blur below would bring its white in
    ball[~in_iris] = profile[5]
    hidden |= ~in_iris
    if hidden.any():
        # a soft edge between what was seen and what is filled
        softened = cv2.GaussianBlur(ball, (0, 0), max(0.6, 0.1 * radius))
        blend = cv2.GaussianBlur(hidden.astype(np.float32), (0, 0), max(0.6, 0.08 * radius))[..., None]
        ball = ball * (1 - blend) + softened * blend
    return ball, origin


def _darker_half(colours: np.ndarray) -> np.ndarray:
    luma = colours @ LUMA
    return np.median(colours[luma <= np.median(luma)], axis=0)
