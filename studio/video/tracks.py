"""Faces followed from frame to frame: each detection joins the track whose face was nearest in
the frame before (a face moves less than about half its width between frames), and a face that
appears, when it is not near any, is matched by its build (the shape model's identity
coefficients, which an expression hardly changes) to the tracks that were lost, so a person who
leaves and comes back keeps their track, and their recipe. A face near a track's place whose build
is another's than that track's in the frame before is a cut to another person, not a move."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from studio.face.landmarks import Face
from studio.geometry.shape_model import ShapeFit


@dataclass(frozen=True)
class TrackConfig:
    max_jump: float = 0.6       # of the face's width: further than this between frames is another face
    # identity distance (RMS over the coefficients, each in its std) under which a face is found
    # again: the London people measure 0.51-0.59 against their own smile, 0.74-1.41 against another
    same_build: float = 0.65


@dataclass
class _Track:
    centre: np.ndarray
    width: float
    build: np.ndarray           # identity coefficients, averaged over the frames seen
    last_build: np.ndarray      # ... and in the last frame seen (a cut changes it at once)
    seen: int                   # the last frame index it was seen in
    frames: int = 1


@dataclass
class FaceTracker:
    identity_std: np.ndarray
    config: TrackConfig = field(default_factory=TrackConfig)
    tracks: list[_Track] = field(default_factory=list)

    def assign(self, faces: list[Face], fits: list[ShapeFit], frame: int) -> list[int]:
        """The track number of each face (numbered in the order they first appear)."""
        centres = [f.xy.mean(axis=0) for f in faces]
        widths = [float(np.ptp(f.xy[:, 0])) for f in faces]
        builds = [fit.q / self.identity_std for fit in fits]
        ids = [-1] * len(faces)
        # nearest pairs first, among the tracks seen in the last frame
        pairs = sorted((float(np.linalg.norm(c - t.centre)) / max(w, 1.0), i, k)
                       for i, (c, w) in enumerate(zip(centres, widths))
                       for k, t in enumerate(self.tracks) if t.seen == frame - 1)
        taken = set()
        for jump, i, k in pairs:
            if (jump <= self.config.max_jump and ids[i] < 0 and k not in taken
                    and self._distance(builds[i], self.tracks[k].last_build) < self.config.same_build):
                ids[i] = k
                taken.add(k)
        for i in range(len(faces)):
            if ids[i] >= 0:
                continue
            lost = [(self._distance(builds[i], t.build), k) for k, t in enumerate(self.tracks)
                    if k not in taken and t.seen < frame]
            best = min(lost, default=None)
            if best is not None and best[0] < self.config.same_build:
                ids[i] = best[1]
            else:
                self.tracks.append(_Track(centres[i], widths[i], builds[i], builds[i], frame))
                ids[i] = len(self.tracks) - 1
            taken.add(ids[i])
        for i, k in enumerate(ids):
            t = self.tracks[k]
            t.build = (t.build * t.frames + builds[i]) / (t.frames + 1)
            t.centre, t.width, t.last_build, t.seen, t.frames = centres[i], widths[i], builds[i], frame, t.frames + 1
        return ids

    @staticmethod
    def _distance(build: np.ndarray, other: np.ndarray) -> float:
        return float(np.sqrt(np.mean((build - other) ** 2)))
