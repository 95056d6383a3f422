"""The app's Video tab, without Gradio: a clip checked against the server's limits, one of its
frames edited with the Edit tab's recipe (a preview), and the whole clip rendered with it.

No image logic of its own: frames go through `operations.edit.edit_faces` (the preview) and
`video.edit_video.edit_video` (the render); this module only checks, picks and names.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.face.image_io import Photo
from studio.interfaces.app_session import safe_name
from studio.operations.edit import edit_faces
from studio.operations.recipe import EditRecipe
from studio.operations.studio import Studio
from studio.operations.views import preview
from studio.video.clip import ClipInfo, frames, probe

CLIP_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm")
MAX_CLIP_SECONDS = 120.0   # a render edits every frame: two minutes is already several on this machine


def check_clip(path: str | Path, max_pixels: int, max_seconds: float = MAX_CLIP_SECONDS) -> ClipInfo:
    """What the clip holds, or a one-line StudioError: not a video, too long, frames too large."""
    path = Path(path)
    if path.suffix.lower() not in CLIP_SUFFIXES:
        raise StudioError(f"{safe_name(path.name, 'the file')} is not a clip the app takes: "
                          f"upload one of {', '.join(CLIP_SUFFIXES)}")
    info = probe(path)
    width, height = info.size
    if width * height > max_pixels:
        raise StudioError(f"the clip's frames are {width}x{height}, over this app's limit of "
                          f"{max_pixels / 1e6:g} megapixels a frame")
    if info.duration > max_seconds:
        raise StudioError(f"the clip is {info.duration:.0f} s long; this app edits clips of at most "
                          f"{max_seconds:.0f} s")
    return info


def describe_clip(info: ClipInfo) -> str:
    width, height = info.size
    return (f"{width}x{height} · {info.fps:g} fps · {info.frames} frames · {info.duration:.1f} s · "
            f"audio: {'yes' if info.audio else 'no'}")


def video_recipe(recipe: EditRecipe) -> dict[int | None, EditRecipe]:
    """The Edit tab's recipe for every face of every frame (edit_video's key None)."""
    return {None: replace(recipe, face=0)}


def frame_at(path: str | Path, index: int) -> np.ndarray:
    """Frame `index` (from 0; past the end: the last frame) as RGB."""
    last = None
    for last in itertools.islice(frames(Path(path)), max(int(index), 0) + 1):
        pass
    if last is None:
        raise StudioError(f"{Path(path).name} has no frames")
    return np.array(last)


def preview_frame(studio: Studio, path: str | Path, index: int, recipe: EditRecipe) -> tuple[np.ndarray, str]:
    """Frame `index` with `recipe` on every face it shows (a preview size), and what was done."""
    rgb = frame_at(path, index)
    analyzed = studio.analyze(Photo(rgb))
    faces = len(analyzed.faces)
    if not faces:
        return preview(analyzed.photo), f"frame {index}: no face found, shown as it is"
    jobs = [replace(recipe, face=k) for k in range(faces)]
    edited = edit_faces(studio, analyzed, [] if recipe.changes_nothing else jobs)
    note = "unedited (the Edit tab's recipe changes nothing)" if recipe.changes_nothing else "edited"
    return preview(edited), f"frame {index}: {faces} face{'s' if faces != 1 else ''}, {note}"


def render_clip(studio: Studio, path: str | Path, recipe: EditRecipe, folder: Path,
                progress: Callable[[int, int], None] | None = None) -> tuple[Path, str]:
    """The whole clip edited with `recipe` on every face, written into `folder`, and a summary."""
    from studio.video.edit_video import edit_video

    path = Path(path)
    output = Path(folder) / f"{safe_name(path.stem, 'clip')}_edited.mp4"
    result = edit_video(studio, path, output, video_recipe(recipe), progress=progress)
    seen = sum(1 for n in result.faces_per_frame if n)
    return output, (f"{result.frames} frames written ({seen} with a face, {result.tracks} "
                    f"{'person' if result.tracks == 1 else 'people'} tracked) · {describe_clip(result.info)}")
