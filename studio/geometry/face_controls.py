"""Direct controls for the parts of a face: eyes, gaze, brows and lips, as the face editors have.

Each control moves named landmarks of a shape in the model frame (interocular distance 1, y
down, x towards the image's right, which is the person's left) by an amount measured on the
face itself (an eye closes by its own opening, a mouth opens by its own width), and the skin
around them follows with a soft falloff, so the warp stretches no single triangle. Controls are
added to the expression's shape (s0_I + S p), so they compose with the presets, the shape
components and the head pose in one warp. Gaze is not a warp: the eyeball does not stretch, the
iris is redrawn where the control puts it (geometry.eyes).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.errors import StudioError
from studio.face.mesh import INNER_LIPS, LEFT_IRIS, MOUTH_CORNERS, N_SURFACE, OUTER_LIPS, RIGHT_IRIS

GROUPS = ("eyes", "brows", "mouth")


@dataclass(frozen=True)
class Control:
    name: str
    group: str          # eyes, brows or mouth
    minimum: float
    maximum: float
    label: str          # what the slider says
    help: str           # what it does


CONTROLS = (
    Control("eyes_open", "eyes", -1, 1, "Eyes open", "-1 closed .. 1 wide open, both eyes"),
    Control("blink", "eyes", 0, 1, "Blink", "0 open .. 1 both eyes closed"),
    Control("wink_left", "eyes", 0, 1, "Wink (left eye)", "the person's own left eye closes"),
    Control("wink_right", "eyes", 0, 1, "Wink (right eye)", "the person's own right eye closes"),
    Control("gaze_x", "eyes", -1, 1, "Look sideways", "-1 towards the person's right .. 1 towards their left"),
    Control("gaze_y", "eyes", -1, 1, "Look up/down", "-1 down .. 1 up"),
    Control("brows_raise", "brows", -1, 1, "Brows raise", "-1 lowered .. 1 raised, both brows"),
    Control("brows_frown", "brows", 0, 1, "Brows frown", "the inner brows drawn together and down"),
    Control("brow_left", "brows", -1, 1, "Left brow", "the person's left brow: -1 down .. 1 up"),
    Control("brow_right", "brows", -1, 1, "Right brow", "the person's right brow: -1 down .. 1 up"),
    Control("mouth_open", "mouth", 0, 1, "Mouth open", "the jaw drops and the lips part"),
    Control("smile", "mouth", -1, 1, "Smile", "-1 corners down .. 1 corners up"),
    Control("grin", "mouth", 0, 1, "Grin", "the lips stretch wide and part over the teeth"),
    Control("pout", "mouth", 0, 1, "Pout", "the lips pushed out, fuller, the mouth narrower"),
    Control("purse", "mouth", 0, 1, "Purse", "the lips pressed together and drawn in"),
    Control("vowel_aa", "mouth", 0, 1, "Say aa", "the mouth open tall, as in 'father'"),
    Control("vowel_ee", "mouth", 0, 1, "Say ee", "the lips wide and a little apart, as in 'see'"),
    Control("vowel_oo", "mouth", 0, 1, "Say oo", "the lips rounded and pushed out, as in 'food'"),
    Control("mouth_x", "mouth", -1, 1, "Mouth sideways", "-1 towards the person's right .. 1 their left"),
)
BY_NAME = {c.name: c for c in CONTROLS}
EYE_CONTROLS = tuple(c.name for c in CONTROLS if c.group == "eyes")

# Each eye's lids corner to corner, and the rings of skin around them (MediaPipe's mesh)
RIGHT_LIDS = ((33, 246, 161, 160, 159, 158, 157, 173, 133), (33, 7, 163, 144, 145, 153, 154, 155, 133))
LEFT_LIDS = ((362, 398, 384, 385, 386, 387, 388, 466, 263), (362, 382, 381, 380, 374, 373, 390, 249, 263))
RIGHT_BROW = (156, 70, 63, 105, 66, 107, 55, 193, 35, 124, 46, 53, 52, 65)
LEFT_BROW = (383, 300, 293, 334, 296, 336, 285, 417, 265, 353, 276, 283, 282, 295)
INNER_BROW = {107: 1.0, 55: 1.0, 193: 0.9, 66: 0.7, 65: 0.7, 105: 0.4, 52: 0.4,
              336: 1.0, 285: 1.0, 417: 0.9, 296: 0.7, 295: 0.7, 334: 0.4, 282: 0.4}
UPPER_INNER, LOWER_INNER = INNER_LIPS[1:10], INNER_LIPS[11:]
UPPER_OUTER, LOWER_OUTER = OUTER_LIPS[1:10], OUTER_LIPS[11:]
NOSE_TIP, CHIN = 1, 152

# How far each control goes at 1, in interocular distances unless named otherwise (about what the
# strong real expressions of the face sets do: surprise raises the brows 0.06, fear the lids 0.06)
WIDE_OPEN = 0.5         # eyes_open 1: the eye opens by half its own opening again
BROW_UP, BROW_DOWN = 0.08, 0.05
FROWN_IN, FROWN_DOWN = 0.05, 0.035
GAZE_X, GAZE_Y = 0.3, 0.18  # of the eye's width (at 0.3 an iris comes to its corner)
JAW = 0.42              # mouth_open 1: the lower lip drops this share of the mouth's width
# The lip shapes at 1, in interocular distances: (corners up, corners out, upper lip up, lower
# lip down, lips fuller); smile has its own, as its two directions differ
MOUTH_SHAPES = {
    "grin": (0.03, 0.06, 0.025, 0.1, 0.0),
    "pout": (0.0, -0.06, 0.0, 0.0, 0.03),
    "purse": (0.0, -0.1, 0.0, 0.0, -0.02),
    "vowel_aa": (0.0, -0.02, 0.0, 0.0, 0.0),
    "vowel_ee": (0.0, 0.05, 0.01, 0.06, 0.0),
    "vowel_oo": (0.0, -0.16, 0.02, 0.08, 0.015),
}


def check_controls(controls: dict[str, float]) -> dict[str, float]:
    """The controls, each a known name within its range; a clear error otherwise."""
    out = {}
    for name, value in controls.items():
        control = BY_NAME.get(name)
        if control is None:
            raise StudioError(f"unknown control {name!r}; `face-studio controls` lists them")
        value = float(value)
        if not np.isfinite(value) or not control.minimum <= value <= control.maximum:
            raise StudioError(f"control {name} must be between {control.minimum:g} and {control.maximum:g}, got {value:g}")
        if value:
            out[name] = value
    return out


def _along(polyline: np.ndarray, x: np.ndarray) -> np.ndarray:
    order = np.argsort(polyline[:, 0])
    return np.interp(x, polyline[order, 0], polyline[order, 1])


def _spread(shape: np.ndarray, moved: dict[int, np.ndarray], radius: float, keep: set[int],
            region: np.ndarray | None = None) -> np.ndarray:
    """478x3 displacements: the `moved` points by their own, every other point (but those in
    `keep`, and only where `region` allows, 0..1 per point) by its nearest moved points',
    fading over `radius`."""
    out = np.zeros_like(shape)
    if not moved:
        return out
    index = np.array(list(moved))
    d = np.array([moved[i] for i in index])
    xy = shape[:, :2]
    w = np.exp(-0.5 * (np.linalg.norm(xy[:, None] - xy[index][None], axis=2) / radius) ** 2)
    follow = (w @ d) / np.maximum(w.sum(axis=1), 1e-9)[:, None] * w.max(axis=1)[:, None]
    if region is not None:
        follow *= region[:, None]
    free = np.ones(len(shape), bool)
    free[list(keep | set(index.tolist()))] = False
    free[N_SURFACE:] = False           # the irises move with their eye, not with the skin
    out[free] = follow[free]
    out[index] = d
    return out


def _eye(shape: np.ndarray, lids, factor: float, lift: float) -> dict[int, np.ndarray]:
    """Lid points moved so the eye's opening is `factor` times its own (the upper lid doing most
    of it, as in a blink), and the upper lid raised by `lift` (a gaze upwards lifts it)."""
    upper, lower = np.array(lids[0]), np.array(lids[1])
    upper_share = 0.95 if factor < 1 else 0.85
    moved = {}
    for points, other, share, extra in ((upper[1:-1], lower, upper_share, lift),
                                        (lower[1:-1], upper, 1 - upper_share, 0.0)):
        gap = _along(shape[other, :2], shape[points, 0]) - shape[points, 1]   # to the other lid
        for i, g in zip(points, gap):
            moved[int(i)] = np.array([0.0, share * (1.0 - factor) * g + extra, 0.0])
    return moved


def _eye_factor(controls: dict[str, float], wink: str) -> float:
    open_ = controls.get("eyes_open", 0.0)
    factor = 1.0 + WIDE_OPEN * open_ if open_ > 0 else 1.0 + open_
    return factor * (1.0 - controls.get("blink", 0.0)) * (1.0 - controls.get(wink, 0.0))


def displacement(shape: np.ndarray, controls: dict[str, float]) -> np.ndarray:
    """478x3 model-frame displacements that the controls add to `shape` (the face's expression)."""
    shape = np.asarray(shape, float)
    total = np.zeros_like(shape)
    if not controls:
        return total
    c = controls.get
    eye_width = float(np.linalg.norm(shape[LEFT_LIDS[0][0], :2] - shape[LEFT_LIDS[0][-1], :2]))
    lips = set(OUTER_LIPS.tolist()) | set(INNER_LIPS.tolist())
    below_eyes = np.clip((shape[:, 1] - shape[NOSE_TIP, 1] * 0.55) / 0.2, 0, 1)   # the mouth's moves stay off the eyes
    above_mouth = 1 - below_eyes

    # eyes: each opening by its own factor; gaze up lifts the upper lids a little
    lift = -0.35 * GAZE_Y * eye_width * c("gaze_y", 0.0)
    moved = {}
    for lids, wink in ((RIGHT_LIDS, "wink_right"), (LEFT_LIDS, "wink_left")):
        factor = _eye_factor(controls, wink)
        if factor != 1.0 or lift:
            moved |= _eye(shape, lids, factor, lift)
    total += _spread(shape, moved, 0.06, set(), above_mouth)
    # the irises where the gaze puts them (drawn by geometry.eyes, not warped)
    gaze = np.array([GAZE_X * c("gaze_x", 0.0), -GAZE_Y * c("gaze_y", 0.0), 0.0]) * eye_width
    if len(shape) > N_SURFACE:
        total[RIGHT_IRIS] += gaze
        total[LEFT_IRIS] += gaze

    # brows
    moved = {}
    for brow, side in ((RIGHT_BROW, "brow_right"), (LEFT_BROW, "brow_left")):
        v = c("brows_raise", 0.0) + c(side, 0.0)
        up = -BROW_UP * v if v > 0 else -BROW_DOWN * v
        frown = c("brows_frown", 0.0)
        midline = shape[NOSE_TIP, 0]
        for i in brow:
            inner = INNER_BROW.get(i, 0.15)
            toward = np.sign(midline - shape[i, 0])
            moved[i] = np.array([toward * FROWN_IN * frown * inner, up + FROWN_DOWN * frown * inner, 0.0])
    if any(np.any(m) for m in moved.values()):
        total += _spread(shape, moved, 0.09, set(_ALL_LIDS), above_mouth)

    # mouth
    left, right = MOUTH_CORNERS
    width = float(np.linalg.norm(shape[right, :2] - shape[left, :2]))
    centre = shape[INNER_LIPS, :2].mean(axis=0)
    out_dir = {left: -1.0, right: 1.0}   # the corner's outward x
    smile = c("smile", 0.0)
    terms = np.array([0.12 * smile if smile > 0 else 0.08 * smile,       # corners up
                      0.04 * smile if smile > 0 else 0.01 * smile,       # corners out
                      0.0, 0.0, 0.0])
    for name, weights in MOUTH_SHAPES.items():
        terms += c(name, 0.0) * np.array(weights)
    corner_up, corner_out, upper_up, lower_down, outer_full = terms
    close = c("purse", 0.0)
    jaw = JAW * width * (c("mouth_open", 0.0) + 0.95 * c("vowel_aa", 0.0))
    moved = {}
    if corner_up or corner_out:
        for corner in (left, right):
            moved[corner] = np.array([out_dir[corner] * corner_out, -corner_up, 0.0])
    if any((upper_up, lower_down, outer_full, close)):
        gap = shape[LOWER_INNER, 1].mean() - shape[UPPER_INNER, 1].mean()
        for points, dy in ((UPPER_INNER, -upper_up + 0.5 * close * gap), (LOWER_INNER, lower_down - 0.5 * close * gap),
                           (UPPER_OUTER, -upper_up - outer_full), (LOWER_OUTER, lower_down + outer_full * 1.2)):
            across = np.clip(1 - ((shape[points, 0] - centre[0]) / (0.5 * width)) ** 2, 0, 1) ** 0.5
            for i, a in zip(points, across):
                moved[int(i)] = np.array([0.0, dy * a, 0.0])
        # pouting lips come forward (nearer the camera: smaller z in MediaPipe's frame)
        for i in OUTER_LIPS:
            moved.setdefault(int(i), np.zeros(3))[2] -= 0.04 * (c("pout", 0.0) + c("vowel_oo", 0.0))
    if corner_out or corner_up:
        # the lips between the corners and the middle follow the corners part of the way
        for points in (UPPER_INNER, LOWER_INNER, UPPER_OUTER, LOWER_OUTER):
            for i in points:
                t = (shape[i, 0] - centre[0]) / (0.5 * width)
                corner = right if t > 0 else left
                share = np.clip(abs(t), 0, 1) ** 1.5
                move = moved.setdefault(int(i), np.zeros(3))
                move += share * np.array([out_dir[corner] * corner_out, -corner_up, 0.0])
    mouth = _spread(shape, moved, 0.14, set(), below_eyes) if moved else np.zeros_like(shape)
    if jaw:
        # the jaw hinges near the ears: what lies below the mouth's corners drops, the chin most
        corner_y = shape[[left, right], 1].mean()
        lower = np.clip((shape[:, 1] - corner_y) / max(shape[LOWER_OUTER, 1].max() - corner_y, 1e-3), 0, 1)
        lateral = np.clip(1 - ((shape[:, 0] - centre[0]) / 1.25) ** 2, 0, 1)
        drop = jaw * lower * lateral
        # the lower lip drops whole (its middle most, its corners not at all): it parts from the
        # upper lip instead of stretching
        for points in (LOWER_INNER, LOWER_OUTER):
            drop[points] = jaw * np.clip(1 - ((shape[points, 0] - centre[0]) / (0.5 * width)) ** 2, 0, 1) ** 0.6
        drop[UPPER_INNER] = 0.0
        drop[UPPER_OUTER] = 0.0
        mouth[:N_SURFACE, 1] += drop[:N_SURFACE]
    shift = c("mouth_x", 0.0)
    if shift:
        near = np.exp(-0.5 * (np.linalg.norm(shape[:, :2] - centre, axis=1) / (0.45 * width)) ** 2)
        near[list(lips)] = 1.0
        near[N_SURFACE:] = 0.0
        mouth[:, 0] += 0.1 * shift * near * below_eyes
    return total + mouth


_ALL_LIDS = tuple(RIGHT_LIDS[0] + RIGHT_LIDS[1] + LEFT_LIDS[0] + LEFT_LIDS[1])


def touches_eyes(controls: dict[str, float]) -> bool:
    return any(controls.get(name, 0.0) for name in EYE_CONTROLS)
