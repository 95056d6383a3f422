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

from studio.geometry.pose import PITCH_LIMIT, ROLL_LIMIT, YAW_LIMIT, HeadPose
from studio.geometry.shape_model import ShapeFit
from studio.operations.edit import render_expression
from studio.operations.studio import AnalyzedPhoto, Studio
from studio.operations.transfer import MEASURED_SIGMAS
from studio.video.clip import probe, writing
from studio.video.edit_video import VideoConfig, VideoResult, bounded_frames, check_faces_found
from studio.video.smoothing import OneEuroFilter


def relative_expression(studio: Studio, own: np.ndarray, driver: ShapeFit, reference: ShapeFit) -> np.ndarray:
    """The photo's expression `own` plus the driver's movement from its reference face."""
    moved = studio.model.expression_basis @ (driver.normalized - reference.normalized).ravel()
    limit = MEASURED_SIGMAS * studio.model.expression_std
    return np.clip(own + moved, -limit, limit)


def relative_pose(driver: ShapeFit, reference: ShapeFit) -> HeadPose:
    turn = np.subtract(driver.yaw_pitch_roll(), reference.yaw_pitch_roll())
    return HeadPose(*(float(np.clip(v, -lim, lim)) for v, lim in zip(turn, (YAW_LIMIT, PITCH_LIMIT, ROLL_LIMIT))))


def drive_photo(studio: Studio, photo: AnalyzedPhoto, driver: Path, output: Path, face: int = 0,
                with_pose: bool = False, neutral: AnalyzedPhoto | None = None, parts: tuple[str, ...] = (),
                config: VideoConfig = VideoConfig(),
                progress: Callable[[int, int], None] | None = None) -> VideoResult:
    """The photo's face `face` driven by the largest face of each of the driver's frames; the
    output has the driver's frame rate, frame count and audio, at the photo's size."""
    info = probe(driver)
    _, own = photo.face(face)
    reference = None if neutral is None else neutral.fits[0]
    smooth = OneEuroFilter(config.smoothing)
    out_info = replace(info, size=(photo.photo.rgb.shape[1], photo.photo.rgb.shape[0]))
    counts, last = [], photo.photo.pixels()
    with writing(output, out_info, driver) as write:
        for index, rgb in bounded_frames(driver, config):
            found = studio.analyzer.detect(rgb)
            counts.append(len(found))
            if found:
                points = smooth(max(found, key=lambda f: f.area).points, index / info.fps)
                fit = studio.model.fit(points)
                reference = reference or fit          # the first frame with a face, unless a neutral is given
                p = relative_expression(studio, own.p, fit, reference)
                pose = relative_pose(fit, reference) if with_pose else HeadPose()
                last = render_expression(studio, photo, face, p, pose=pose, parts=parts).photo.pixels()
            write(last)                                # a frame without the driver's face holds the last one
            if progress is not None:
                progress(index + 1, info.frames)
        check_faces_found(counts, driver)
    return VideoResult(out_info, len(counts), counts, 1)
