"""Real open mouths, retrieved and fitted into a mouth the edit opens.

The bank holds the insides of real smiles (teeth, their gaps, the dark corners), each as a crop
in a mouth frame: the mouth's centre at the crop's centre, upright, its corners MOUTH_WIDTH px
apart, with its inner lip contour. A mouth an edit opens takes the interior of the entry whose
skin is nearest the face's in colour (chosen from the photo, so the same face always gets the
same teeth whatever the slider says), fitted column by column: the upper teeth hang from the
upper lip and the lower ones stand on the lower lip at their own size, so a mouth that opens
slowly shows more and more of them, never a stretched picture; what lies between them (a mouth
opened wider than the entry) is the entry's own darkest inside, and a mouth that gapes shows no
row on its lower lip, only the tongue lying on it. The entry's colours are scaled
by the face's skin over the entry's skin, which carries the photo's light and white balance.
Only what the photo never showed is filled (geometry.mouth keeps a photo's own teeth).

The shipped bank is built from the London set's open smiles (CC BY 4.0), `face-studio
build-mouth-bank`; measuring on a London person, use `without(person)`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from studio.face.mesh import INNER_LIPS, MOUTH_CORNERS, OUTER_LIPS
from studio.weights_file import read_weights, write_weights

MOUTH_WIDTH = 128
CROP = (int(1.6 * MOUTH_WIDTH), MOUTH_WIDTH)     # w, h
MIN_OPENING = 0.12                               # of the mouth's width: the entries show their teeth
MIN_TEETH = 0.25                                 # of the opening: bright enough to be teeth
LOWER_ROW = 0.06                                 # of the mouth's width: the lower teeth an open mouth shows, at most
LOWER_ROW_GONE = (0.3, 0.5)                      # ... less from this gap (of the width), none from this
UPPER = np.arange(11)                            # INNER_LIPS positions: the upper lip, corner to corner ...
LOWER = np.array([0, 19, 18, 17, 16, 15, 14, 13, 12, 11, 10])   # ... and the lower lip, the same way
LUMA = np.array([0.299, 0.587, 0.114], np.float32)


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

    def interior(self, opening: np.ndarray, inner: np.ndarray, pixels: np.ndarray, points: np.ndarray) -> np.ndarray:
        """geometry.mouth's painter: the interior for a face whose photo is `pixels` with
        landmarks `points` (the skin, and so the entry, come from the photo, not the edit)."""
        return self.paint(opening, inner, skin_around_lips(pixels, points), lips_colour(pixels, points))

    def paint(self, opening: np.ndarray, inner: np.ndarray, skin: np.ndarray,
              lips: np.ndarray | None = None) -> np.ndarray:
        """An interior for the region whose opening mask is `opening` (HxW) and whose inner lip
        contour (INNER_LIPS order, region pixels) is `inner`; `skin`: the face's skin around the
        lips in its photo, `lips` their colour (the tongue's, where the mouth opens past the
        entry's teeth). Returns HxWx3 float32."""
        k = self.choose(skin)
        crop = self.crops[k].astype(np.float32)
        up_e, lo_e = self.upper[k], self.lower[k]
        h, w = opening.shape
        ys, xs = np.mgrid[0:h, 0:w].astype(np.float64)
        up_t, lo_t = inner[UPPER], inner[LOWER]
        a_t, b_t = up_t[0], up_t[-1]
        axis = b_t - a_t
        width_t = max(float(np.linalg.norm(axis)), 1.0)
        u = ((xs - a_t[0]) * axis[0] + (ys - a_t[1]) * axis[1]) / width_t ** 2
        a_e, b_e = up_e[0], up_e[-1]
        scale = float(np.linalg.norm(b_e - a_e)) / width_t          # entry px per target px
        x_e = a_e[0] + u * (b_e[0] - a_e[0])
        top_t, bottom_t = _along(up_t, u, a_t, b_t), _along(lo_t, u, a_t, b_t)
        top_e, bottom_e = _along(up_e, u, a_e, b_e), _along(lo_e, u, a_e, b_e)
        below_top = (ys - top_t) * scale                            # entry px under the upper lip
        above_bottom = (bottom_t - ys) * scale
        half = np.maximum(bottom_e - top_e, 1.0) / 2
        # what of the entry the lower jaw carries down (entry px up from its lower lip); the rest
        # hangs from the upper lip. Most entries' upper teeth reach down to the lower lip: split in
        # the middle, an opened mouth showed their tips standing on the lower lip as a second row,
        # a white slab as tall as the upper one, and upper teeth cut to half their length.
        # That row is mostly the upper teeth's tips (they reach the lower lip in most smiles). In a
        # mouth that gapes (surprise: the lips' gap 0.41-0.57 of the mouth's width) a sliver of them
        # along the round lower lip read as a white line drawn round it, so the row fades out as the
        # gap grows from 0.3 to 0.5 and the lower lip shows the cavity and the tongue; a wide smile
        # keeps it (without it, its lower half was all tongue).
        extra = np.maximum((bottom_t - top_t) * scale - 2 * half, 0)   # opened past the entry, entry px
        # lips nearly closed show the dark line between them, not teeth: teeth come in as the gap
        # grows from 3% to 11% of the mouth's width (slowly, so an animation shows them come in)
        gap = (bottom_t - top_t) * scale / MOUTH_WIDTH
        teeth = np.clip((gap - 0.03) / 0.08, 0, 1)[..., None]
        tallest = float(gap[opening > 0].max(initial=0.0))
        stays = float(np.clip((LOWER_ROW_GONE[1] - tallest) / (LOWER_ROW_GONE[1] - LOWER_ROW_GONE[0]), 0, 1))
        lower_row = np.minimum(half, LOWER_ROW * MOUTH_WIDTH)
        upper_part = 2 * half - lower_row      # the upper teeth keep their length
        dark = self._cavity(k)
        # the light's brightness in full, the skin's tint only half: teeth are not skin-coloured
        ratio = (np.asarray(skin, np.float32) + 1.0) / (self.skin[k] + 1.0)
        luma = float(ratio @ LUMA)
        gain = luma * np.sqrt(ratio / luma)
        lower_teeth = np.interp(x_e, np.arange(CROP[0]), self._lower_teeth(k)) if lips is not None and self.tongue else None

        def drawn(row: bool) -> np.ndarray:
            """The interior with the lower lip's row, or with none (the lower lip then shows the
            cavity from its edge, and the tongue lies on it)."""
            lower_part = lower_row if row else np.zeros_like(lower_row)
            upper_half = below_top - upper_part <= above_bottom - lower_part
            y_e = np.where(upper_half, top_e + below_top, bottom_e - above_bottom)
            # (with no row, the lower side is past the entry's own right from the lip: its lip's edge
            # would show as a line)
            excess = np.where(upper_half, below_top - upper_part, above_bottom - lower_part + (0.0 if row else 3.0))
            shown = cv2.remap(crop, x_e.astype(np.float32), y_e.astype(np.float32), cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)
            # past the entry's own opening: the mouth's dark inside, darker the deeper it lies
            past = np.clip(excess / 3.0 + 0.5, 0, 1)[..., None]   # over 3 entry px: no line that steps
            depth = np.clip(excess / (0.12 * MOUTH_WIDTH), 0, 1)[..., None]
            interior = shown * (1 - past) + dark[None, None, :] * (1 - 0.5 * depth) * past
            interior = (interior * teeth + dark[None, None, :] * (1 - teeth)) * gain[None, None, :]
            if lower_teeth is not None:
                teeth_h = np.minimum(lower_teeth, 0.9 * lower_part)
                interior = _with_tongue(interior, u, above_bottom, half, teeth_h, extra,
                                        upper_half, np.asarray(lips, np.float32), scale, row)
            return interior

        # the row fades out (rather than thinning, which an animation showed as a flicker)
        if stays >= 1.0:
            interior = drawn(True)
        elif stays <= 0.0:
            interior = drawn(False)
        else:
            interior = stays * drawn(True) + (1 - stays) * drawn(False)
        return np.clip(interior, 0, 255).astype(np.float32)

    def _lower_teeth(self, k: int) -> np.ndarray:
        """Per column of entry k's crop, how far (entry px) its lower teeth reach above the lower
        lip: the run of tooth-bright pale pixels from the lip up, smoothed across the columns."""
        crop = self.crops[k].astype(np.float32)
        order = np.argsort(self.lower[k][:, 0])
        xs = np.arange(crop.shape[1])
        lip = np.interp(xs, self.lower[k][order, 0], self.lower[k][order, 1])
        rows = np.round(lip[None, :] - 1 - np.arange(MOUTH_WIDTH // 4)[:, None]).astype(int)
        pixels = crop[np.clip(rows, 0, crop.shape[0] - 1), xs[None, :]]        # rows up from the lip
        luma = pixels @ LUMA
        pale = (pixels.max(axis=2) - pixels.min(axis=2)) < 0.3 * pixels.max(axis=2)
        tooth = (luma >= 0.75 * float(self.skin[k] @ LUMA)) & pale
        tooth[:2] |= tooth[2:4].any(axis=0)       # the lip's own soft edge before the teeth start
        tooth[1:-1] |= tooth[:-2] & tooth[2:]     # a dark line between two teeth rows is not the top
        run = np.cumprod(tooth, axis=0).sum(axis=0).astype(np.float32)
        inside = (xs > self.lower[k][:, 0].min()) & (xs < self.lower[k][:, 0].max())
        run = cv2.medianBlur((run * inside).astype(np.uint8)[None, :], 15)[0].astype(np.float32)
        return cv2.blur(run[None, :], (9, 1))[0]

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


def _with_tongue(interior, u, above_bottom, half, teeth_h, extra, upper_half, lips, scale, row=True):
    """The tongue behind the lower teeth, seen where the mouth opens wider than the entry: its
    top a dome across the mouth rising with the extra opening, in the lips' colour (they are in
    the photo's light), lit from the front (brighter near the lower lip, darker where it curves
    back into the mouth and towards the corners), with its mid-line groove."""
    across = np.clip(1 - (2 * u - 1) ** 2, 0, 1)
    height = np.maximum(teeth_h, 0.3 * half) + 0.45 * extra * np.sqrt(across)
    v = above_bottom / np.maximum(height, 1.0)           # 0 at the lower lip, 1 at its top
    edge = 1.5 / max(scale, 1e-3)                        # soft over about 1.5 target px
    cover = np.clip((height - above_bottom) / (edge * scale) + 0.5, 0, 1) * ~upper_half
    cover = cover * np.clip(extra / (0.15 * MOUTH_WIDTH), 0, 1)   # only once the mouth opens past its teeth
    # behind the lower teeth: it shows above the entry's own (teeth_h, per column), so the whole
    # row stays in front of it without a mask that would pick the teeth pixel by pixel
    # (with no row, it lies on the lower lip: a gap of cavity there read as a drawn line)
    start = 1.0 if row else -3.0
    cover = cover * np.clip((above_bottom - teeth_h - start) / 2.0 + 0.5, 0, 1)
    # in the mouth's shadow: at most about two thirds of the lips' light, redder (a tongue is
    # wetter and less pale than lips), falling to dark where it curves back under the teeth
    shade = (0.74 - 0.54 * np.clip(v, 0, 1) ** 1.5) * (0.5 + 0.5 * np.sqrt(across))
    groove = 1 - 0.22 * np.exp(-(((u - 0.5) / 0.03) ** 2)) * np.clip(v * 1.5, 0, 1)
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
