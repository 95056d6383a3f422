"""`face-studio bench --video`: frames per second of `video` and `drive` on a 720p clip made
from a London fixture (the face turning a little and starting to smile), on this machine; and
the app's live mode in Chromium (bench_live): its frame rate and delay."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from studio import paths
from studio.errors import StudioError
from studio.face.image_io import Photo, load_photo
from studio.geometry.pose import HeadPose
from studio.operations.edit import edit
from studio.operations.recipe import EditRecipe
from studio.operations.studio import GENERATOR, GEOMETRY, Studio
from studio.video.drive import drive_photo
from studio.video.edit_video import edit_video

PERSON = paths.LONDON_FIXTURES / "002_03.jpg"
SIZE = (1280, 720)


def make_720p_clip(studio: Studio, path: Path, frames: int) -> Path:
    """The fixture centred on a 1280x720 grey frame, turning 8 degrees and starting to smile."""
    face = Image.open(PERSON).convert("RGB").resize((720, 720), Image.LANCZOS)
    canvas = Image.new("RGB", SIZE, (200, 200, 200))
    canvas.paste(face, ((SIZE[0] - 720) // 2, 0))
    analyzed = studio.analyze(Photo(np.asarray(canvas)))
    writer = imageio_ffmpeg.write_frames(str(path), SIZE, fps=25, codec="libx264", quality=8, macro_block_size=1,
                                         ffmpeg_log_level="error")
    writer.send(None)
    for t in np.linspace(0, 1, frames):
        recipe = EditRecipe(presets={"happiness": 0.6 * t}, pose=HeadPose(yaw=8 * t))
        writer.send(np.ascontiguousarray(edit(studio.with_backend(GEOMETRY), analyzed, recipe).photo.pixels()[..., :3]))
    writer.close()
    return path


def run_video_bench(as_json: bool = False, frames: int = 50, device: str = "auto") -> int:
    studio = Studio.load(device=device)
    rows = {}
    with tempfile.TemporaryDirectory() as folder:
        clip = make_720p_clip(studio, Path(folder) / "clip.mp4", frames)
        photo = studio.analyze(load_photo(PERSON))
        for backend in studio.backends:
            s = studio.with_backend(backend)
            start = time.perf_counter()
            edit_video(s, clip, Path(folder) / f"edited_{backend}.mp4", {None: EditRecipe(presets={"surprise": 0.8})})
            rows[f"video_{backend}_fps"] = frames / (time.perf_counter() - start)
            start = time.perf_counter()
            drive_photo(s, photo, clip, Path(folder) / f"driven_{backend}.mp4", with_pose=True)
            rows[f"drive_{backend}_fps"] = frames / (time.perf_counter() - start)
    studio.close()
    try:
        from studio.interfaces.bench_live import run_live_bench

        rows.update(run_live_bench(device=device))
    except StudioError as exc:   # no Chromium or Playwright here: the live row says so
        rows["live_skipped"] = str(exc)
    if as_json:
        print(json.dumps({"frames": frames, "size": SIZE, **rows}))
        return 0
    print(f"{frames} frames of a {SIZE[0]}x{SIZE[1]} clip, read, edited and written (H.264):")
    for backend in (GEOMETRY, GENERATOR):
        if f"video_{backend}_fps" in rows:
            print(f"  {backend}: video (surprise preset) {rows[f'video_{backend}_fps']:.1f} fps, "
                  f"drive (a 720 px photo, with the pose) {rows[f'drive_{backend}_fps']:.1f} fps")
    if "live_skipped" in rows:
        print(f"live mode: not measured ({rows['live_skipped']})")
    else:
        delay = rows["live_delay_ms"]
        load = rows["live_load_average"]
        print(f"live mode in Chromium (a 640x480 fake camera driving a 512 px photo, with the pose): "
              f"{rows['live_fps']:.1f} fps shown, camera to screen "
              + (f"{delay:.0f} ms (median of {rows['live_cuts']} cuts, slowest {rows['live_delay_max_ms']:.0f} ms)"
                 if delay is not None else "not measured (no cut seen)")
              + f"; load average {load[0]} before, {load[1]} after")
    return 0
