"""What the warp must move so that the face's landmarks, found again, reach their target.

MediaPipe's mesh reads brows and eyelids conservatively: warping a neutral photo exactly onto the
landmarks MediaPipe found on the same person's real expression photo, then detecting again, gives
back only about two thirds of the brows' and eyelids' movement (the mouth's in full). The real
pixels moved further than the landmarks say. So the warp moves each region by its measured gain
times the landmark movement (spread smoothly over the face), and the landmarks detected on the
edit land where the edit asked; the gains are calibrated on the training people
(`face-studio calibrate-tracking`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.face.mesh import (
    BROW_TOPS,
    DRIVE_REGIONS,
    LEFT_BROW,
    LEFT_EYE_CORNERS,
    LEFT_IRIS,
    N_SURFACE,
    RIGHT_BROW,
    RIGHT_EYE_CORNERS,
    RIGHT_IRIS,
    interocular,
)


@dataclass(frozen=True)
class TrackingGain:
    # calibrate-tracking on 120 training pairs: the median drive reaches 1 at brows 1.69, eyes 1.76,
    # mouth 1.07 (found again at gain 1: 0.62, 0.63, 0.94)
    brows: float = 1.7
    eyes: float = 1.75
    mouth: float = 1.05
    # An opening eye shows what the photo never saw (the iris and sclera under the lid): the warp
    # alone smeared the lid's rim over the iris and tore it, so lids that opened kept a gain of
    # 1.2. With the irises redrawn round and the white cleaned (geometry.eyes) they go further.
    # Reenacting the test people's own fear and surprise (generator), eye drive at 1.5: 0.76 and
    # 0.91; at 1.75: 0.82 and 0.97; at 2.25: 0.90 and 1.06 (0.84 and 1.09 in the full eval, whose
    # mouths differ: MediaPipe's eyes move with them), with no reenactment more past dlib's
    # same-person threshold than at 1.5 (wide-open eyes once cost two, before the white was
    # cleaned along the lower lid). The presets are calibrated with this gain (calibrate-presets),
    # so they open the eyes as far as real photos of their class do, not further.
    eyes_opening: float = 2.25
    # ... but a narrowing eye's rising upper lid (anger's, over its tensed lower one) takes none: at
    # the opening gain it rose 2.25x as far, past the iris, and the eye stared as wide as a fear's
    # (white above the iris, the lid's rim a polygon over it: London 004's anger at 1.25);
    # MediaPipe found no more of it (`eval`, test people: anger's reenactment eye drive 1.05 ->
    # 1.05, fear's 0.81 -> 0.84; the anger preset's eyes 1.20x -> 1.27x the median real photo at
    # 1). Its rise only: the lid's and the eye's sideways movement keep their gains (a surprise
    # taken to neutral moves the whole eye aside; with less of that the recognizer read M12's
    # removal as anger).
    narrowing_opening: float = 1.0
    # ... but an eye opens to at most this share of the opening asked: a photo's squint (a deep
    # disgust) taken to neutral moves the lids far, and 2.25x that opened the eyes to 1.7x the
    # neutral opening asked (KDEF F13's disgust removed); a fear or surprise on a neutral photo
    # moves them little and keeps the full gain
    max_opening: float = 1.3
    # A lower lid that rises while its eye's upper lid rises too (by more than `tension_rise`
    # interocular distances: the tensed lower lid of a fear under a widened eye) is found again
    # less than a squint's lids are: the lid's rim moves over the white with no cheek pushing up
    # beside it. Reenacting the training people's fears (60, geometry), eye drive at 1.75: median
    # 0.97, lower quartile 0.66; with the tensed lid at 2.5: 1.03 and 0.71 (at 3.0 the same);
    # their surprises and smiles unchanged (1.06, 1.02).
    tension: float = 2.5
    tension_rise: float = 0.005
    # ... and an eye narrowed by the gain keeps this share of its opening in the photo (or what the
    # edit itself asks, when that is less): a smile or a frown narrows the eyes, it does not shut them.
    min_opening: float = 0.55
    # ... and a brow the gain lowers keeps this share of its height over the upper lid in the photo
    # (or what the edit itself asks, when that is less): pushed 1.7x as far as a deep frown's
    # landmarks, the brows of a Taiwanese disgust reenactment (tw-08) came down through the upper
    # lids, the eyes read as shut slits under a line of brow hair and dlib found no face. Real
    # frowns keep about half (0.47-0.88 on the test people's deepest); at 0.45, four anger
    # reenactments of 31 no longer read as anger, at 0.3 none (presets on London faces untouched).
    min_brow_gap: float = 0.3
    reach: float = 0.08   # how far (interocular distances) a region's gain spreads around it
    # The skin above the brows follows what the gain adds to their movement, less and less up to
    # the top of the face: held to the gain's reach, a raised brow squeezed the forehead just
    # above it to a sixth of its height, a hard-edged dark band over the brows.
    forehead_follows: bool = True

    def gains(self) -> np.ndarray:
        return np.array([getattr(self, name) for name in DRIVE_REGIONS])

    @property
    def is_identity(self) -> bool:
        return bool(np.all(self.gains() == 1.0))

    def field(self, source: np.ndarray, target: np.ndarray | None = None, vertical: bool = False) -> np.ndarray:
        """Per landmark, the gain of the movement there: each region's gain on its own points,
        fading to 1 away from it; around the eyes, points moving away from the eye's midline
        (towards `target`) take the opening gain, and a tensed lower lid (rising under a rising
        upper lid) the tension gain. `vertical`: the gain of the vertical movement, which a
        narrowing eye's rising upper lid takes none of (`narrowing_opening`)."""
        return self._fields(source, target)[int(vertical)]

    def _fields(self, source: np.ndarray, target: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """The gain of the horizontal and of the vertical movement (`field`), from one pass."""
        xy = np.asarray(source, float)[:, :2]
        unit = interocular(xy)
        across, up = np.ones(len(xy)), np.ones(len(xy))
        for (name, index), g in zip(DRIVE_REGIONS.items(), self.gains()):
            distance = np.linalg.norm(xy[:, None] - xy[index][None], axis=2).min(axis=1) / unit
            spread = np.exp(-0.5 * (distance / self.reach) ** 2)
            g = np.full(len(xy), g)
            g_up = g
            if name == "eyes" and target is not None:
                aimed = np.asarray(target, float)[:, :2]
                opening = _opening(xy, aimed)
                g[opening] = self.opening_gains(xy, aimed)[_nearer_eye(xy)][opening]
                g_up = g.copy()   # of the vertical movement: a narrowing eye's rising upper lid
                g_up[opening & _narrowing(xy, aimed)[_nearer_eye(xy)] & (aimed[:, 1] < xy[:, 1])] = self.narrowing_opening
                tensed = _tensed(xy, aimed, self.tension_rise * unit)
                g[tensed] = g_up[tensed] = self.tension
            across += (g - 1.0) * spread
            up += (g_up - 1.0) * spread
        return across, up

    def opening_gains(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The opening gain of the right and the left eye: `eyes_opening`, or less where that
        would open the eye past `max_opening` of the target's opening."""
        gains = []
        for lids in (RIGHT_LIDS, LEFT_LIDS):
            was, aimed = _eye_opening(source, lids), _eye_opening(target, lids)
            room = (self.max_opening * aimed - was) / max(aimed - was, 1e-6)
            gains.append(float(np.clip(room, 1.0, self.eyes_opening)) if aimed > was else self.eyes_opening)
        return np.array(gains)

    def warp_target(self, source: np.ndarray, target: np.ndarray) -> np.ndarray:
        """Where the warp should move the pixels at `source` (478x3) for their landmarks to be
        found at `target`; z is left as the target's. Each iris moves whole with its eye's
        corners: an eye opens or narrows around a round iris (moved point by point with the
        lids, the iris was pulled into a notch)."""
        out = np.array(target, float)
        if not self.is_identity:
            across, up = self._fields(source, target)
            out[:, 0] = source[:, 0] + across * (target[:, 0] - source[:, 0])
            out[:, 1] = source[:, 1] + up * (target[:, 1] - source[:, 1])
            for lids in (RIGHT_LIDS, LEFT_LIDS):
                self._keep_open(out, source, target, lids)
            # after the lids have their place: the brows keep their height over them
            for brow, lower_edge, lids in ((RIGHT_BROW, RIGHT_BROW_LOWER, RIGHT_LIDS), (LEFT_BROW, LEFT_BROW_LOWER, LEFT_LIDS)):
                self._keep_over_lid(out, source, target, brow, lower_edge, lids)
            if self.forehead_follows and len(out) >= N_SURFACE:
                _forehead_follows(out, source, target)
        if len(out) > N_SURFACE:
            for iris, corners, lids in ((RIGHT_IRIS, RIGHT_EYE_CORNERS, RIGHT_LIDS), (LEFT_IRIS, LEFT_EYE_CORNERS, LEFT_LIDS)):
                shift = (out[list(corners), :2] - source[list(corners), :2]).mean(axis=0)
                out[iris, :2] = source[iris, :2] + shift
                # ... but no further outside the lids than in the photo: a closing eye covers it
                upper, lower = (out[np.array(lid), :2] for lid in lids)
                was_upper, was_lower = (source[np.array(lid), :2] for lid in lids)
                above = np.minimum(source[iris, 1] - _along(was_upper, source[iris, 0]), 0)
                below = np.maximum(source[iris, 1] - _along(was_lower, source[iris, 0]), 0)
                top = _along(upper, out[iris, 0]) + above
                bottom = _along(lower, out[iris, 0]) + below
                out[iris, 1] = np.clip(out[iris, 1], top, np.maximum(top, bottom))
                # an iris point the photo's upper lid covers is a point of the lid's skin: it goes
                # with the lid (held by the corners, a rising lid passed it and its triangles
                # dragged the skin over the lashes down into the opening, a lump in the lash
                # line). Not so under the lower lid: a squint's lower lashes there, carried down
                # with a lid that opens, hung from the iris as a dark drip.
                out[iris, 1] = np.where(above < 0, top, out[iris, 1])
        return out

    def _keep_over_lid(self, out: np.ndarray, source: np.ndarray, target: np.ndarray, brow, lower_edge, lids) -> None:
        """Lift a brow where its lower edge comes nearer the upper lid than its floor: each point of
        the edge by its shortfall, the brow above it and the skin between it and the lid less and
        less down to the lid (which stays), the forehead with it (fading with the gain's reach)."""
        upper = np.array(lids[0][1:-1])

        def gap(points):
            return _along(points[upper, :2], points[lower_edge, 0]) - points[lower_edge, 1]

        floor = np.minimum(self.min_brow_gap * gap(source), gap(target))
        short = np.maximum(floor - gap(out), 0.0)
        if not short.any():
            return
        xy = source[:N_SURFACE, :2]
        unit = interocular(source)
        edge = xy[lower_edge]
        order = np.argsort(edge[:, 0])
        lift = np.interp(xy[:, 0], edge[order, 0], short[order])
        # beyond the brow's ends, fading out over the gain's reach
        outside = np.maximum(edge[:, 0].min() - xy[:, 0], 0) + np.maximum(xy[:, 0] - edge[:, 0].max(), 0)
        lift *= np.clip(1.0 - outside / (self.reach * unit), 0.0, 1.0)
        edge_y = np.interp(xy[:, 0], edge[order, 0], edge[order, 1])
        lid_y = _along(source[upper, :2], xy[:, 0])
        top = source[brow[:len(brow) // 2], :2]
        top_y = _along(top, xy[:, 0])
        # 1 on the brow, down to 0 at the lid, and fading above the brow's upper edge
        weight = np.clip((lid_y - xy[:, 1]) / np.maximum(lid_y - edge_y, 1e-6), 0.0, 1.0)
        weight *= np.exp(-0.5 * (np.maximum(top_y - xy[:, 1], 0) / (self.reach * unit)) ** 2)
        out[:N_SURFACE, 1] -= lift * weight

    def _keep_open(self, out: np.ndarray, source: np.ndarray, target: np.ndarray, lids) -> None:
        upper = np.array(lids[0][1:-1])
        lower = np.array(lids[1])
        floor = np.minimum(self.min_opening * _lid_gaps(source, lids), _lid_gaps(target, lids))
        short = _lid_gaps(out, lids) < floor
        out[upper[short], 1] = _along(out[lower, :2], out[upper[short], 0]) - floor[short]


def _forehead_follows(out: np.ndarray, source: np.ndarray, target: np.ndarray) -> None:
    """Points above the brows take the target's movement plus the brows' extra movement (what the
    gain added) at their x, fading linearly from the brow line to the top of the face, and at
    least that share of the brows' whole movement: the forehead stretches or squeezes evenly over
    its height (the shape model's forehead, like MediaPipe's, moves little above the brows)."""
    xs = source[:N_SURFACE, 0]
    brows = BROW_TOPS[np.argsort(source[BROW_TOPS, 0])]
    brow_y = np.interp(xs, source[brows, 0], source[brows, 1])
    extra = np.interp(xs, source[brows, 0], out[brows, 1] - target[brows, 1])
    whole = np.interp(xs, source[brows, 0], out[brows, 1] - source[brows, 1])
    top = FOREHEAD_TOP[np.argsort(source[FOREHEAD_TOP, 0])]
    top_y = np.interp(xs, source[top, 0], source[top, 1])
    height = brow_y - top_y
    above = np.nonzero((source[:N_SURFACE, 1] < brow_y) & (height > 1.0))[0]
    share = np.clip((source[above, 1] - top_y[above]) / height[above], 0.0, 1.0)
    own = target[above, 1] - source[above, 1] + extra[above] * share
    even = whole[above] * share
    # whichever goes further the way the brows go
    dy = np.where(np.sign(whole[above]) * (even - own) > 0, even, own)
    out[above, 1] = source[above, 1] + dy
    out[above, 0] = target[above, 0] + (out[above, 0] - target[above, 0]) * share


# The top of the face's outline, across (MediaPipe's mesh).
FOREHEAD_TOP = np.array([162, 21, 54, 103, 67, 109, 10, 338, 297, 332, 284, 251, 389])

# Each brow's lower edge (the second half of mesh's brow, corner to corner).
RIGHT_BROW_LOWER, LEFT_BROW_LOWER = RIGHT_BROW[5:], LEFT_BROW[5:]

# Each eye's upper and lower lid, corner to corner (MediaPipe's eye contour split at the corners).
RIGHT_LIDS = ((33, 246, 161, 160, 159, 158, 157, 173, 133), (33, 7, 163, 144, 145, 153, 154, 155, 133))
LEFT_LIDS = ((362, 398, 384, 385, 386, 387, 388, 466, 263), (362, 382, 381, 380, 374, 373, 390, 249, 263))


def _along(polyline: np.ndarray, x: np.ndarray) -> np.ndarray:
    """The polyline's y at each x (held at its ends)."""
    order = np.argsort(polyline[:, 0])
    return np.interp(x, polyline[order, 0], polyline[order, 1])


def _opening(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Points whose vertical movement takes them away from their nearer eye's midline (the line
    through its corners): upper lids rising, lower lids falling."""
    centres = [source[list(c)].mean(axis=0) for c in (RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS)]
    midline = np.array([c[1] for c in centres])[_nearer_eye(source)]
    return (target[:, 1] - source[:, 1]) * (source[:, 1] - midline) > 0


def _narrowing(source: np.ndarray, target: np.ndarray) -> np.ndarray:
    """Per eye (right, left): whether its lids come closer together."""
    return np.array([_eye_opening(target, lids) < _eye_opening(source, lids) for lids in (RIGHT_LIDS, LEFT_LIDS)])


def _tensed(source: np.ndarray, target: np.ndarray, rise: float) -> np.ndarray:
    """The lower lids' inner points moving up, where their eye's upper lid rises by more than
    `rise` (pixels) on average. The lid alone: with the eye's corners and the skin below it
    (all that lies below the eye's midline), an eye's corners took the gain too, the iris they
    carry moved against the white, and the white beside a widened iris drew steps (London 004's
    fear at 1: 20 -> 36 levels between pixels two apart)."""
    mask = np.zeros(len(source), bool)
    for lids in (RIGHT_LIDS, LEFT_LIDS):
        upper, lower = list(lids[0][1:-1]), np.array(lids[1][1:-1])
        if np.mean(source[upper, 1] - target[upper, 1]) > rise:
            mask[lower] = target[lower, 1] < source[lower, 1]
    return mask


def _nearer_eye(points: np.ndarray) -> np.ndarray:
    """Per point, 0 where the right eye (image left) is nearer across, 1 where the left is."""
    centres = [points[list(c), 0].mean() for c in (RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS)]
    return np.where(np.abs(points[:, 0] - centres[0]) < np.abs(points[:, 0] - centres[1]), 0, 1)


def _lid_gaps(points: np.ndarray, lids) -> np.ndarray:
    """The eye's height between its lids at each of the upper lid's inner points."""
    upper = points[np.array(lids[0][1:-1]), :2]
    return _along(points[np.array(lids[1]), :2], upper[:, 0]) - upper[:, 1]


def _eye_opening(points: np.ndarray, lids) -> float:
    """The eye's mean height between its lids, over the upper lid's inner points."""
    return float(np.mean(_lid_gaps(points, lids)))
