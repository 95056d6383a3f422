"""Editing a clip: every frame through the photo operations (`operations.edit.edit_faces`),
faces tracked from frame to frame so each person keeps their recipe, their landmarks smoothed
over time so the edit does not jitter. This layer only reads, tracks, smooths and writes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.face.image_io import Photo
from studio.face.landmarks import Face
from studio.operations.edit import edit_faces
from studio.operations.recipe import EditRecipe
from studio.operations.studio import AnalyzedPhoto, Studio
from studio.video.clip import ClipInfo, frames, probe, writing
from studio.video.smoothing import OneEuroConfig, OneEuroFilter
from studio.video.tracks import FaceTracker, TrackConfig


@dataclass(frozen=True)
class VideoConfig:
    smoothing: OneEuroConfig = field(default_factory=OneEuroConfig)
    tracking: TrackConfig = field(default_factory=TrackConfig)
    max_frames: int = 36_000            # 20 minutes at 30 fps: a bound, so a bad header cannot run forever


@dataclass(frozen=True)
class VideoResult:
    info: ClipInfo
    frames: int                         # frames written
    faces_per_frame: list[int]
    tracks: int                         # people seen


def bounded_frames(source: Path, config: VideoConfig):
    """(index, frame) of the clip, refusing past config.max_frames (a bad header cannot run forever)."""
    for index, rgb in enumerate(frames(source)):
        if index >= config.max_frames:
            raise StudioError(f"{Path(source).name} is longer than {config.max_frames} frames")
        yield index, rgb


def check_faces_found(counts: list[int], source: Path) -> None:
    """A clip with no frames, or no face in any of them, is refused (faces per frame: `counts`)."""
    if not counts:
        raise StudioError(f"{Path(source).name} has no frames")
    if not any(counts):
        raise StudioError(f"no face found in any of the {len(counts)} frames of {Path(source).name}")


def _box(points: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(points[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(points[:, :2].max(axis=0)).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def edit_video(studio: Studio, source: Path, output: Path, recipes: dict[int | None, EditRecipe],
               config: VideoConfig = VideoConfig(), progress: Callable[[int, int], None] | None = None) -> VideoResult:
    """`source` edited frame by frame into `output` (same size, frame rate and audio).
    `recipes`: track number -> recipe (tracks are numbered in the order people first appear,
    left to right in the first frame); the key None is the recipe of every other track."""
    info = probe(source)
    tracker = FaceTracker(studio.model.identity_std, config.tracking)
    filters: dict[int, OneEuroFilter] = {}
    counts = []
    with writing(output, info, source) as write:
        for index, rgb in bounded_frames(source, config):
            analyzed = _analyze(studio, rgb, tracker, filters, index, info.fps, config)
            ids = analyzed.track_ids
            jobs = [replace(recipes.get(track, recipes.get(None, EditRecipe())), face=k) for k, track in enumerate(ids)
                    if track in recipes or None in recipes]
            photo = edit_faces(studio, analyzed.photo, jobs) if jobs else analyzed.photo.photo
            write(photo.pixels())
            counts.append(len(ids))
            if progress is not None:
                progress(index + 1, info.frames)
        check_faces_found(counts, source)   # inside the writer: nothing to edit leaves no output behind
    return VideoResult(info, len(counts), counts, len(tracker.tracks))


@dataclass(frozen=True)
class _Frame:
    photo: AnalyzedPhoto
    track_ids: list[int]


def _analyze(studio: Studio, rgb: np.ndarray, tracker: FaceTracker, filters: dict[int, OneEuroFilter],
             index: int, fps: float, config: VideoConfig) -> _Frame:
    """The frame's faces, tracked, with their landmarks smoothed over time and fitted again."""
    faces = sorted(studio.analyzer.detect(rgb), key=lambda f: float(f.xy[:, 0].mean()))   # left to right
    fits = [studio.model.fit(f.points) for f in faces]
    ids = tracker.assign(faces, fits, index)
    smooth_faces, smooth_fits = [], []
    for face, track in zip(faces, ids):
        smoothed = filters.setdefault(track, OneEuroFilter(config.smoothing))(face.points, index / fps)
        smooth_faces.append(Face(smoothed, _box(smoothed)))
        smooth_fits.append(studio.model.fit(smoothed))
    return _Frame(AnalyzedPhoto(Photo(rgb), tuple(smooth_faces), tuple(smooth_fits)), ids)
