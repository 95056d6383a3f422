"""Real open mouths, retrieved and fitted into a mouth the edit opens.

The bank holds the insides of real smiles (teeth, their gaps, the dark corners), each as a crop
in a mouth frame: the mouth's centre at the crop's centre, upright, its corners MOUTH_WIDTH px
apart, with its inner lip contour. A mouth an edit opens takes the interior of the entry whose
skin is nearest the face's in colour (chosen from the photo, so the same face always gets the
same teeth whatever the slider says). The teeth stay where the skull and the jaw hold them
(geometry.mouth.Bite), whatever the lips do: the upper teeth's tips where they were in the photo,
the lower teeth under them as far as the jaw has dropped, so a snarl that lifts the upper lip
bares the teeth meeting, a dropped jaw opens the dark between the rows (the tongue in it), a
lower lip that rides up over the lower teeth hides them, and a mouth that opens slowly shows more
and more of teeth that do not move. The entry's colours are scaled by the face's skin over the
entry's skin, which carries the photo's light and white balance. Only what the photo never
showed is filled (geometry.mouth keeps a photo's own teeth).

The shipped bank is built from the London set's open smiles (CC BY 4.0), `face-studio
build-mouth-bank`; measuring on a London person, use `without(person)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from studio.face.image_io import LUMA
from studio.face.mesh import INNER_LIPS, MOUTH_CORNERS, OUTER_LIPS
from studio.face.mesh import INNER_LOWER as LOWER, INNER_UPPER as UPPER
from studio.geometry.mouth import CLOSED_GAP, TEETH_FADE, Bite
from studio.weights_file import read_weights, write_weights

MOUTH_WIDTH = 128
CROP = (int(1.6 * MOUTH_WIDTH), MOUTH_WIDTH)     # w, h
MIN_OPENING = 0.12                               # of the mouth's width: the entries show their teeth
MIN_TEETH = 0.25                                 # of the opening: bright enough to be teeth
OVERBITE = 0.03                                  # of the mouth's width: the upper teeth's tips hang over the lower ones
LOWER_TEETH = 1.15                               # the lower incisors are shorter: the upper ones read this much faster
LOWER_NARROW = 0.75                              # ... and narrower (an adult's lower front teeth: 0.62 as wide in the middle, 0.79 over six)
LOWER_SHADE = 0.85                               # ... and lie in the upper teeth's and lip's shade
CROWN = 0.2                                      # of the mouth's width: an upper incisor's crown (an entry shows less: its lip hides some)
LOWER_CROWN = 0.17                               # ... and a lower one's
JAW_HIDES = 0.12                                 # a jaw dropped this far (x the width) has its lower lip over its lower teeth
TONGUE_FROM = 0.08                               # of the width: the dark between the rows from which a tongue shows
TONGUE_RISE = 0.6                                # its top rises this share of that dark
TONGUE_FADE = 0.3                                # ... and it comes in as that dark grows to this (x the width)
TONGUE_SHADE = (0.42, 0.25)                      # its light (x the lips'): at the lower lip, and more on its back
GUM_REACH = 0.3                                  # ... from the middle to this far either side (x the width)
# The inside of a real open mouth is darker than the skin below the lips and less grainy: on
# KDEF's surprised mouths its grain is 0.5-0.7 of the skin's
GRAIN_INSIDE = 0.6
GRAIN_SEED = 19
GUM = np.array([0.92, 0.72, 0.76], np.float32)   # gum: the lips' colour in the upper lip's shade


def _teeth_share(crop: np.ndarray, inner: np.ndarray, skin: np.ndarray) -> float:
    """The share of the opening that is teeth: at least 0.85 as bright as the skin, and pale (a
    lip's sheen is as bright, but pink)."""
    mask = np.zeros(crop.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
    inside = crop[mask > 0].astype(np.float32)
    if not len(inside):
        return 0.0
    luma = inside @ LUMA
    ref = float(np.asarray(skin, np.float32) @ LUMA)
    pale = (inside.max(axis=1) - inside.min(axis=1)) < 0.3 * inside.max(axis=1)   # lips are pink
    return float(((luma >= 0.85 * ref) & pale).mean())


def mouth_frame(points: np.ndarray) -> np.ndarray:
    """The 2x3 affine taking a face's photo into its mouth frame (CROP, corners MOUTH_WIDTH apart)."""
    xy = points[:, :2].astype(np.float64)
    left, right = xy[MOUTH_CORNERS[0]], xy[MOUTH_CORNERS[1]]
    scale = MOUTH_WIDTH / max(float(np.linalg.norm(right - left)), 1.0)
    centre = xy[INNER_LIPS].mean(axis=0)
    angle = np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0]))
    m = cv2.getRotationMatrix2D((float(centre[0]), float(centre[1])), float(angle), scale)
    m[:, 2] += np.array(CROP, float) / 2 - centre
    return m


def skin_around_lips(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The median colour of the skin in a ring just outside the outer lips."""
    outer = points[OUTER_LIPS, :2].astype(np.float64)
    centre = outer.mean(axis=0)
    h, w = rgb.shape[:2]
    ring = []
    for grow in (1.25, 1.4):
        for p in centre + grow * (outer - centre):
            x, y = int(round(p[0])), int(round(p[1]))
            if 0 <= x < w and 0 <= y < h:
                ring.append(rgb[y, x, :3])
    return np.median(np.array(ring, np.float32), axis=0) if ring else np.full(3, 160.0, np.float32)


def lips_colour(rgb: np.ndarray, points: np.ndarray) -> np.ndarray:
    """The median colour of the lips (between the outer and inner contours) in the photo."""
    x0, y0 = np.floor(points[OUTER_LIPS, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(points[OUTER_LIPS, :2].max(axis=0)).astype(int) + 1
    h, w = rgb.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
    mask = np.zeros((max(y1 - y0, 1), max(x1 - x0, 1)), np.uint8)
    offset = np.array([x0, y0])
    cv2.fillPoly(mask, [np.round(points[OUTER_LIPS, :2] - offset).astype(np.int32)], 1)
    cv2.fillPoly(mask, [np.round(points[INNER_LIPS, :2] - offset).astype(np.int32)], 0)
    lips = rgb[y0:y1, x0:x1, :3][mask[:y1 - y0, :x1 - x0] > 0]
    return np.median(lips, axis=0).astype(np.float32) if len(lips) > 8 else np.array([170.0, 100.0, 100.0], np.float32)


def grain_of(luma: np.ndarray, where: np.ndarray | None = None) -> float:
    """The fine grain of a brightness image (`where`: only there): the robust spread (1.4826 x
    the median absolute deviation) of the brightness less its 1 px blur, in grey levels."""
    detail = luma - cv2.GaussianBlur(luma, (0, 0), 1.0)
    if where is not None:
        detail = detail[where]
    return float(1.4826 * np.median(np.abs(detail - np.median(detail))))


def photo_grain(rgb: np.ndarray, points: np.ndarray) -> float:
    """The photo's fine grain (`grain_of`) on the skin below the lips."""
    outer = points[OUTER_LIPS, :2].astype(np.float64)
    width = float(np.ptp(outer[:, 0]))
    h, w = rgb.shape[:2]
    x0, x1 = int(max(outer[:, 0].min(), 0)), int(min(outer[:, 0].max(), w))
    y0, y1 = int(max(outer[:, 1].max() + 0.05 * width, 0)), int(min(outer[:, 1].max() + 0.35 * width, h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return 0.0
    return grain_of(rgb[y0:y1, x0:x1, :3].astype(np.float32) @ LUMA)


def _grain_field(shape: tuple[int, int]) -> np.ndarray:
    """Unit-spread grain, correlated over about a pixel as a photo's is, the same for every call
    of one size (an animation's inside does not shimmer)."""
    noise = np.random.default_rng(GRAIN_SEED).standard_normal(shape).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), 0.6)
    return noise / max(float(noise.std()), 1e-6)


def _along(polyline: np.ndarray, u: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The polyline's y at parameter u along the axis a -> b (held at its ends)."""
    axis = b - a
    pu = (polyline - a) @ axis / max(float(axis @ axis), 1e-9)
    order = np.argsort(pu)
    return np.interp(u, pu[order], polyline[order, 1])


@dataclass(frozen=True)
class MouthBank:
    crops: np.ndarray        # N x h x w x 3 uint8, in the mouth frame
    upper: np.ndarray        # N x 11 x 2: inner upper lip in the crop, corner to corner
    lower: np.ndarray        # N x 11 x 2: inner lower lip
    skin: np.ndarray         # N x 3: skin around the lips
    people: tuple[str, ...]
    tongue: bool = True      # draw the tongue where a mouth opens past the entry's teeth

    def __post_init__(self):
        # each entry's upper teeth's reach below its lip, worked out once (see _tips_run)
        object.__setattr__(self, "_tips", tuple(self._tips_run(k) for k in range(len(self.people))))

    def __len__(self) -> int:
        return len(self.people)

    def without(self, person: str) -> "MouthBank":
        keep = np.array([p != person for p in self.people])
        return MouthBank(self.crops[keep], self.upper[keep], self.lower[keep], self.skin[keep],
                         tuple(p for p, k in zip(self.people, keep) if k), self.tongue)

    def choose(self, skin: np.ndarray) -> int:
        """The entry whose skin is nearest `skin`: chroma first, then brightness."""
        def describe(c):
            c = np.asarray(c, np.float64) + 1.0
            return np.array([*(np.log(c[:2]) - np.log(c[2])), 0.5 * np.log(c.mean())])
        d = [np.linalg.norm(describe(s) - describe(skin)) for s in self.skin]
        return int(np.argmin(d))

    def interior(self, opening: np.ndarray, inner: np.ndarray, pixels: np.ndarray, points: np.ndarray,
                 bite: Bite) -> np.ndarray:
        """geometry.mouth's painter: the interior for a face whose photo is `pixels` with
        landmarks `points` (the skin, and so the entry, come from the photo, not the edit)."""
        return self.paint(opening, inner, skin_around_lips(pixels, points), lips_colour(pixels, points), bite,
                          GRAIN_INSIDE * photo_grain(pixels, points))

    def paint(self, opening: np.ndarray, inner: np.ndarray, skin: np.ndarray, lips: np.ndarray,
              bite: Bite, grain: float = 0.0) -> np.ndarray:
        """An interior for the region whose opening mask is `opening` (HxW) and whose inner lip
        contour (INNER_LIPS order, region pixels) is `inner`; `skin`: the face's skin around the
        lips in its photo, `lips` their colour (the tongue's and the gums'); `bite`: where the
        skull and the jaw hold the teeth (geometry.mouth). Returns HxWx3 float32.

        The upper teeth's tips lie on the bite's line and the entry's upper teeth are read up from
        their tips (where the lip rises past a crown, the gum); the lower teeth's tips lie under
        them by the overbite and the jaw's drop, the entry's upper teeth mirrored, shorter and in
        shade (most smiles hide their lower teeth), bared as far as the lower lip is pulled down
        from them, fewer as the jaw drops (the lip rides up over them: a surprised mouth hides
        them); between the two rows the entry's darkest inside, and the tongue once it is deep.
        A snarl that lifts the lip with the jaw shut shows both rows meeting, a dropped jaw the
        dark between them, and a mouth that opens slowly shows more and more teeth that stay
        where they are, never a stretched picture. `grain`: the spread (grey levels) of the
        photo's own fine grain to give the drawn inside (a smooth inside in a grainy photo reads
        as painted)."""
        k = self.choose(skin)
        crop = self.crops[k].astype(np.float32)
        up_e = self.upper[k]
        h, w = opening.shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        up_t, lo_t = inner[UPPER], inner[LOWER]
        a_t, b_t = up_t[0], up_t[-1]
        axis = b_t - a_t
        width_t = max(float(np.linalg.norm(axis)), 1.0)
        u = ((xs - a_t[0]) * axis[0] + (ys - a_t[1]) * axis[1]) / width_t ** 2
        a_e, b_e = up_e[0], up_e[-1]
        scale = float(np.linalg.norm(b_e - a_e)) / width_t          # entry px per target px
        x_e = (a_e[0] + u * (b_e[0] - a_e[0])).astype(np.float32)
        top_t, bottom_t = _along(up_t, u, a_t, b_t), _along(lo_t, u, a_t, b_t)
        top_e, bottom_e = _along(up_e, u, a_e, b_e), _along(self.lower[k], u, a_e, b_e)
        # lips nearly closed show the dark line between them, not teeth: teeth come in as the gap
        # grows from 3% to 11% of the mouth's width (slowly, so an animation shows them come in)
        gap = (bottom_t - top_t) * scale / MOUTH_WIDTH
        teeth = np.clip((gap - CLOSED_GAP) / TEETH_FADE, 0, 1)[..., None]
        # the light's brightness in full, the skin's tint only half: teeth are not skin-coloured
        ratio = (np.asarray(skin, np.float32) + 1.0) / (self.skin[k] + 1.0)
        luma = float(ratio @ LUMA)
        gain = luma * np.sqrt(ratio / luma)
        dark = self._cavity(k) * gain

        tips_t = _along(bite.line, u, a_t, b_t)
        # the entry's teeth's tips, one run below its lip across the mouth (its middle teeth's:
        # per column, the corners' dark would read as no teeth, and each tooth would bend)
        run = self._tips[k]
        tips_e = top_e + run
        bared = LOWER_CROWN * width_t * np.clip(1 - bite.jaw / (JAW_HIDES * width_t), 0, 1)
        lower_tips = np.maximum(tips_t + bite.jaw - OVERBITE * width_t, bottom_t - bared)
        gum = np.asarray(lips, np.float32) * GUM

        # the gum shows over the front teeth; towards the corners, past the canines, the entry's
        # own dark beside its teeth (lips lifted there by a grin showed pink bands)
        front = np.clip((GUM_REACH - np.abs(u - 0.5)) / 0.1, 0, 1).astype(np.float32)[..., None]
        above_teeth = (dark + (gum - dark) * front).astype(np.float32)
        top_f, bottom_f = top_e.astype(np.float32), bottom_e.astype(np.float32)

        def read(y_e, x=x_e, top_f=top_f, bottom_f=bottom_f):
            """The entry's pixels at rows `y_e` of columns `x` (between its lips there, `top_f`
            and `bottom_f`), in the face's light (float32, in place)."""
            y_e = y_e.astype(np.float32)
            shown = cv2.remap(crop, x, np.clip(y_e, top_f + 1, bottom_f - 1), cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
            shown *= gain
            # below the entry's lower lip (by the corners, where its opening is thinner than its
            # teeth are long): the dark beside the teeth, not its lip
            beyond = np.clip((y_e - bottom_f + 2.0) / 3.0, 0, 1)
            if beyond.any():
                shown += (dark - shown) * beyond[..., None]
            past = np.clip((top_f + 2.0 - y_e) / 3.0, 0, 1)    # above the entry's lip
            if past.any():
                shown += (above_teeth - shown) * past[..., None]
            return shown

        # an entry shows its teeth from its lip down, less than a crown: a lip lifted higher than
        # the entry's shows the rest of the crown before any gum, its upper part read slower (the
        # tips, where the detail is, at their own size)
        upper = read(tips_e - _crown_offset((tips_t - ys) * scale, run))
        # the lower row: the entry's upper teeth mirrored, read faster across from the middle (lower
        # incisors are narrower: read at the upper ones' width, each lower tooth was an upper one
        # upside down)
        u_low = np.clip(0.5 + (u - 0.5) / LOWER_NARROW, 0.0, 1.0)
        top_low = _along(up_e, u_low, a_e, b_e)
        lower = read(top_low + run - _crown_offset((ys - lower_tips) * scale * LOWER_TEETH, run),
                     (a_e[0] + u_low * (b_e[0] - a_e[0])).astype(np.float32), top_low.astype(np.float32),
                     _along(self.lower[k], u_low, a_e, b_e).astype(np.float32)) * LOWER_SHADE
        in_upper = np.clip(tips_t - ys + 0.5, 0, 1)[..., None]
        in_lower = np.clip(ys - lower_tips + 0.5, 0, 1)[..., None]
        # the dark inside, darker the deeper it lies between the rows
        depth = np.clip(np.minimum(ys - tips_t, lower_tips - ys) / (0.12 * width_t), 0, 1)[..., None]
        cavity = dark * (1 - 0.3 * depth)
        interior = upper * in_upper + (1 - in_upper) * (lower * in_lower + cavity * (1 - in_lower))
        interior = interior * teeth + dark * (1 - teeth)
        # the dark between the rows (entry px), less what a slightly parted mouth shows: no tongue there
        hole = np.maximum((lower_tips - tips_t) * scale - TONGUE_FROM * MOUTH_WIDTH, 0)
        if self.tongue and hole.any():
            shown_lower = np.maximum(bottom_t - np.maximum(lower_tips, tips_t), 0) * scale
            # the dark it rises into is what shows of it between the lower lip and the upper teeth
            shown_dark = np.minimum(hole, np.maximum((bottom_t - tips_t) * scale - shown_lower, 0))
            interior = _with_tongue(interior, u, (bottom_t - ys) * scale, shown_lower, shown_dark, hole,
                                    ys < tips_t, np.asarray(lips, np.float32), scale)
        if grain > 0:   # as the teeth come in: lips nearly closed show a dark line, no grain in it
            interior += grain * _grain_field((h, w))[..., None] * teeth
        return np.clip(interior, 0, 255).astype(np.float32)

    def _tips_run(self, k: int) -> float:
        """How far below its upper lip entry k's upper teeth reach (entry px): the run of tooth-
        bright pale pixels down from the lip, per column, of its middle half's columns the longer
        ones (a gap between two teeth is shorter)."""
        crop = self.crops[k].astype(np.float32)
        order = np.argsort(self.upper[k][:, 0])
        xs = np.arange(crop.shape[1])
        lip = np.interp(xs, self.upper[k][order, 0], self.upper[k][order, 1])
        rows = np.round(lip[None, :] + 1 + np.arange(MOUTH_WIDTH // 3)[:, None]).astype(int)
        pixels = crop[np.clip(rows, 0, crop.shape[0] - 1), xs[None, :]]        # rows down from the lip
        luma = pixels @ LUMA
        pale = (pixels.max(axis=2) - pixels.min(axis=2)) < 0.3 * pixels.max(axis=2)
        tooth = (luma >= 0.75 * float(self.skin[k] @ LUMA)) & pale
        tooth[:2] |= tooth[2:4].any(axis=0)       # the lip's own soft edge before the teeth start
        tooth[1:-1] |= tooth[:-2] & tooth[2:]     # a dark line across a tooth is not its tip
        run = np.cumprod(tooth, axis=0).sum(axis=0).astype(np.float32)
        inside = (xs > self.upper[k][:, 0].min()) & (xs < self.upper[k][:, 0].max())
        run = cv2.medianBlur((run * inside).astype(np.uint8)[None, :], 15)[0].astype(np.float32)
        run = cv2.blur(run[None, :], (9, 1))[0]
        middle = slice(int(np.percentile(self.upper[k][:, 0], 25)), int(np.percentile(self.upper[k][:, 0], 75)) + 1)
        return float(np.percentile(run[middle], 75))

    def _cavity(self, k: int) -> np.ndarray:
        mask = np.zeros(self.crops[k].shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(np.concatenate([self.upper[k], self.lower[k][::-1]])).astype(np.int32)], 1)
        inside = self.crops[k][mask > 0].astype(np.float32)
        luma = inside @ LUMA
        # the gaps between the teeth and the corners: the darkest of what the entry shows, darker
        # still where the mouth opens past it
        return 0.7 * np.median(inside[luma <= np.percentile(luma, 5)], axis=0)

    def save(self, path: Path, source: str) -> Path:
        meta = {"people": json.dumps(list(self.people)), "source": source, "mouth_width": str(MOUTH_WIDTH)}
        return write_weights({"crops": self.crops, "upper": self.upper.astype(np.float32),
                              "lower": self.lower.astype(np.float32), "skin": self.skin.astype(np.float32)},
                             meta, path)

    @classmethod
    def load(cls, path: Path) -> "MouthBank":
        arrays, meta = read_weights(path, f"no mouth bank at {path} (face-studio build-mouth-bank)")
        return cls(arrays["crops"], arrays["upper"], arrays["lower"], arrays["skin"],
                   tuple(json.loads(meta["people"])))


def _crown_offset(d: np.ndarray, run: float, kept: float = 0.6) -> np.ndarray:
    """Entry px up from the teeth's tips for `d` px up from the tips in the mouth drawn: one to
    one over the lower `kept` of the entry's run, then slower, so that a whole crown
    (CROWN) reads the entry's run (no slower than half speed)."""
    crown = CROWN * MOUTH_WIDTH
    if run >= crown:
        return d
    a = kept * run
    rate = max((run - a) / (crown - a), 0.5)
    return np.where(d <= a, d, a + (d - a) * rate)


def _with_tongue(interior, u, above_bottom, lower_teeth, shown_dark, hole, upper_side, lips, scale):
    """The tongue behind the lower teeth, seen where the mouth is open deep between the rows: its
    top a dome across the mouth rising with the dark between them (`hole`, entry px; `shown_dark`:
    as much of it as shows between the lower lip and the upper teeth: a lower lip riding up over
    the lower teeth hides the bottom of it, and a tongue risen with the whole hole filled the
    opening up to the upper teeth), in the lips' colour (they are in the photo's light), with its
    mid-line groove. `lower_teeth`: how much of the lower teeth shows above the lower lip (entry px)."""
    across = np.clip(1 - (2 * u - 1) ** 2, 0, 1)
    height = lower_teeth + TONGUE_RISE * shown_dark * np.sqrt(across)
    v = above_bottom / np.maximum(height, 1.0)           # 0 at the lower lip, 1 at its top
    edge = 1.5 / max(scale, 1e-3)                        # soft over about 1.5 target px
    cover = np.clip((height - above_bottom) / (edge * scale) + 0.5, 0, 1) * ~upper_side
    cover = cover * np.clip(hole / (TONGUE_FADE * MOUTH_WIDTH), 0, 1)   # only once the mouth is open deep
    # behind the lower teeth: it shows above them, so the whole row stays in front of it without
    # a mask that would pick the teeth pixel by pixel; with no row it lies on the lower lip (a gap
    # of cavity there read as a drawn line)
    start = -3.0 + 4.0 * np.clip(lower_teeth / 2.0, 0, 1)
    cover = cover * np.clip((above_bottom - lower_teeth - start) / 2.0 + 0.5, 0, 1)
    # in the mouth's shadow, redder than the lips (a tongue is wetter and less pale): brightest on
    # its back, which faces the light, darker in the lower lip's shade and where it curves away
    # under the teeth; towards the corners, darker still
    v = np.clip(v, 0, 1)
    shade = (TONGUE_SHADE[0] + TONGUE_SHADE[1] * np.sin(np.pi * v ** 0.7)) * (1 - 0.35 * v ** 4) \
        * (0.5 + 0.5 * np.sqrt(across))
    # its mid-line groove, faint and short of its edges (run to its tip, it read as a notch)
    groove = 1 - 0.14 * np.exp(-(((u - 0.5) / 0.04) ** 2)) * np.clip(v * 2, 0, 1) * np.clip((1 - v) * 3, 0, 1)
    shine = 0.12 * np.exp(-(((v - 0.35) / 0.15) ** 2)) * np.exp(-(((u - 0.5) / 0.18) ** 2))
    red = lips * np.array([1.12, 0.8, 0.84], np.float32)
    # where it meets the lower lip, the lip's soft contact shadow (else the two merge into one thick lip)
    contact = 1 - 0.15 * np.exp(-0.5 * (above_bottom / (1.2 * max(scale, 1e-3))) ** 2)
    tongue = red[None, None, :] * (shade * groove * contact)[..., None] + 255 * shine[..., None]
    alpha = cover[..., None]
    return interior * (1 - alpha) + tongue * alpha


def build_bank(photos: list[tuple[str, Path]], analyzer) -> MouthBank:
    """The bank of the photos (person, path) whose mouth is open at least MIN_OPENING."""
    from studio.face.image_io import load_photo

    crops, upper, lower, skin, people = [], [], [], [], []
    for person, path in photos:
        rgb = load_photo(path).pixels()[..., :3]
        faces = analyzer.detect(rgb)
        if not faces:
            continue
        points = faces[0].points
        m = mouth_frame(points)
        inner = np.c_[points[INNER_LIPS, :2], np.ones(len(INNER_LIPS))] @ m.T
        if np.ptp(inner[:, 1]) / MOUTH_WIDTH < MIN_OPENING:
            continue
        crop = cv2.warpAffine(rgb, m, CROP, flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
        colour = skin_around_lips(rgb, points)
        if _teeth_share(crop, inner, colour) < MIN_TEETH:
            continue    # parted lips with no teeth between them
        crops.append(crop)
        upper.append(inner[UPPER])
        lower.append(inner[LOWER])
        skin.append(colour)
        people.append(person)
    return MouthBank(np.array(crops, np.uint8), np.array(upper, np.float32), np.array(lower, np.float32),
                     np.array(skin, np.float32), tuple(people))
