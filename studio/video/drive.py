"""Driving a photo with a clip: the photo's face takes the driver's expression frame by frame,
s0_photo + S p(t), where p(t) is the photo's own expression plus the driver's movement away from
its reference face (its first frame, or its neutral photo), as LivePortrait's relative motion.
Only the movement is taken, measured on the driver's own shape, so the driver's build (its
identity) never reaches the photo. With the pose, the head turns as the driver's turns from its
reference."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from studio.face.image_io import Photo
from studio.geometry.pose import PITCH_LIMIT, ROLL_LIMIT, YAW_LIMIT, HeadPose
from studio.geometry.shape_model import ShapeFit
from studio.operations.edit import render_expression
from studio.operations.studio import AnalyzedPhoto, Studio
from studio.operations.transfer import MEASURED_SIGMAS
from studio.video.clip import probe, writing
from studio.video.edit_video import VideoConfig, VideoResult, bounded_frames, check_faces_found
from studio.video.smoothing import OneEuroConfig, OneEuroFilter


def relative_expression(studio: Studio, own: np.ndarray, driver: ShapeFit, reference: ShapeFit) -> np.ndarray:
    """The photo's expression `own` plus the driver's movement from its reference face."""
    moved = studio.model.expression_basis @ (driver.normalized - reference.normalized).ravel()
    limit = MEASURED_SIGMAS * studio.model.expression_std
    return np.clip(own + moved, -limit, limit)


def relative_pose(driver: ShapeFit, reference: ShapeFit) -> HeadPose:
    turn = np.subtract(driver.yaw_pitch_roll(), reference.yaw_pitch_roll())
    return HeadPose(*(float(np.clip(v, -lim, lim)) for v, lim in zip(turn, (YAW_LIMIT, PITCH_LIMIT, ROLL_LIMIT))))


class Driving:
    """One photo's face driven frame after frame: the driver's reference face and the smoothing
    of its landmarks carry from one frame to the next (one per clip, or per live stream)."""

    def __init__(self, studio: Studio, photo: AnalyzedPhoto, face: int = 0, with_pose: bool = False,
                 neutral: AnalyzedPhoto | None = None, parts: tuple[str, ...] = (),
                 smoothing: OneEuroConfig = OneEuroConfig()):
        _, own = photo.face(face)   # checks the face number once, before any frame
        self.studio, self.photo, self.face, self.own = studio, photo, face, own
        self.with_pose, self.parts = with_pose, parts
        self.neutral = None if neutral is None else neutral.fits[0]
        self.reference = self.neutral
        self._smoothing = smoothing
        self._smooth = OneEuroFilter(smoothing)

    def restart(self) -> None:
        """The next face seen is the reference again (a neutral photo given stays it)."""
        self.reference = self.neutral
        self._smooth = OneEuroFilter(self._smoothing)

    def __call__(self, rgb: np.ndarray, seconds: float) -> tuple[Photo | None, int]:
        """The photo with the expression (and pose) of the largest face in the driver's frame
        `rgb` seen at time `seconds`, or None when the frame shows no face; and how many it shows."""
        found = self.studio.analyzer.detect(rgb)
        if not found:
            return None, 0
        points = self._smooth(max(found, key=lambda f: f.area).points, seconds)
        fit = self.studio.model.fit(points)
        self.reference = self.reference or fit          # the first face seen, unless a neutral is given
        p = relative_expression(self.studio, self.own.p, fit, self.reference)
        pose = relative_pose(fit, self.reference) if self.with_pose else HeadPose()
        return render_expression(self.studio, self.photo, self.face, p, pose=pose, parts=self.parts).photo, len(found)


def drive_photo(studio: Studio, photo: AnalyzedPhoto, driver: Path, output: Path, face: int = 0,
                with_pose: bool = False, neutral: AnalyzedPhoto | None = None, parts: tuple[str, ...] = (),
                config: VideoConfig = VideoConfig(),
                progress: Callable[[int, int], None] | None = None) -> VideoResult:
    """The photo's face `face` driven by the largest face of each of the driver's frames; the
    output has the driver's frame rate, frame count and audio, at the photo's size."""
    info = probe(driver)
    driving = Driving(studio, photo, face, with_pose, neutral, parts, config.smoothing)
    out_info = replace(info, size=(photo.photo.rgb.shape[1], photo.photo.rgb.shape[0]))
    counts, last = [], photo.photo.pixels()
    with writing(output, out_info, driver) as write:
        for index, rgb in bounded_frames(driver, config):
            driven, found = driving(rgb, index / info.fps)
            counts.append(found)
            if driven is not None:
                last = driven.pixels()
            write(last)                                # a frame without the driver's face holds the last one
            if progress is not None:
                progress(index + 1, info.frames)
        check_faces_found(counts, driver)
    return VideoResult(out_info, len(counts), counts, 1)
