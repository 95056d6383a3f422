"""Test clips made from the London fixtures: a face that turns and smiles, with a tone as audio."""

from __future__ import annotations

import subprocess
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from tests.conftest import fixture_path

SIZE = 384   # the fixtures shrunk: a clip test should take seconds


def tone(path: Path, seconds: float) -> Path:
    """A 440 Hz tone, WAV."""
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "lavfi", "-i",
                    f"sine=frequency=440:duration={seconds}", str(path)], check=True)
    return path


def make_clip(studio, path: Path, frames: int = 12, fps: float = 12.0, person: str = "001",
              audio: bool = True, still: bool = False) -> Path:
    """The person's neutral photo, turning a little and starting to smile over the clip (or held
    still, each frame re-encoded the same), at SIZE px, H.264, with a tone unless `audio` is off."""
    from studio.geometry.pose import HeadPose
    from studio.operations.edit import edit
    from studio.operations.recipe import EditRecipe

    photo = Image.open(fixture_path(person)).convert("RGB").resize((SIZE, SIZE), Image.LANCZOS)
    rgb = np.asarray(photo)
    if still:
        # a face held still before a camera: only the sensor's noise changes from frame to frame
        noise = np.random.default_rng(0)
        images = [np.clip(rgb + noise.normal(0, 4, rgb.shape), 0, 255).astype(np.uint8) for _ in range(frames)]
    else:
        from studio.face.image_io import Photo

        analyzed = studio.analyze(Photo(rgb))
        images = [edit(studio.with_backend("geometry"), analyzed,
                       EditRecipe(presets={"happiness": 0.6 * t}, pose=HeadPose(yaw=8 * t))).photo.pixels()[..., :3]
                  for t in np.linspace(0, 1, frames)]
    sound = tone(path.with_suffix(".wav"), frames / fps + 0.5) if audio else None
    writer = imageio_ffmpeg.write_frames(str(path), (SIZE, SIZE), fps=fps, codec="libx264", quality=9,
                                         macro_block_size=1, audio_path=str(sound) if sound else None,
                                         audio_codec="aac", output_params=["-shortest"] if sound else None,
                                         ffmpeg_log_level="error")
    writer.send(None)
    for image in images:
        writer.send(np.ascontiguousarray(image))
    writer.close()
    return path
