"""Writing results: single photos, strips, GIF and MP4 sequences, always atomically."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from studio.errors import StudioError
from studio.face.image_io import Photo, check_output_path, save_photo, to_srgb, write_atomic
from studio.operations.budget import ANIMATION_SIDE

SEQUENCE_FORMATS = (".gif", ".mp4", ".png")
MAX_SEQUENCE_SIDE = ANIMATION_SIDE   # frames of animations and strips are scaled to fit this


def check_sequence_output(path: str | Path, inputs: tuple = ()) -> Path:
    path = check_output_path(path, inputs)
    if path.suffix.lower() not in SEQUENCE_FORMATS:
        raise StudioError(f"interpolation output must end in {', '.join(SEQUENCE_FORMATS)}; got '{path.suffix}'")
    return path


def _fit(frames: list[np.ndarray], side: int, even: bool = False) -> list[np.ndarray]:
    h, w = frames[0].shape[:2]
    scale = min(1.0, side / max(h, w))
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    if even:  # video encoders want even sizes
        nw, nh = nw + nw % 2, nh + nh % 2
    if (nw, nh) == (w, h):
        return frames
    return [np.asarray(Image.fromarray(f).resize((nw, nh), Image.LANCZOS)) for f in frames]


def sequence_size(frame: Photo) -> tuple[int, int]:
    """The width and height a frame of this size has in the MP4 (the GIF's are the same, or one
    pixel smaller where the video needs even sides)."""
    h, w = frame.rgb.shape[:2]
    scale = min(1.0, MAX_SEQUENCE_SIDE / max(h, w))
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    return nw + nw % 2, nh + nh % 2


def played_frames(frames: int, bounce: bool = True) -> int:
    """How many frames a GIF or MP4 of `frames` steps plays: there and back repeats neither end."""
    return frames + max(0, frames - 2) if bounce else frames


def save_sequence(frames: list[Photo], path: str | Path, inputs: tuple = (), fps: float = 12.0,
                  bounce: bool = True) -> Path:
    """GIF (loops), MP4 (H.264), or PNG (the frames side by side). With `bounce` the GIF and MP4
    play the frames forward and back (a seamless loop), else forward once."""
    path = check_sequence_output(path, inputs)
    rgb = [to_srgb(f.rgb, f.icc) for f in frames]   # GIF and MP4 carry no profile: sRGB is what players assume
    suffix = path.suffix.lower()

    def there_and_back(seq):  # forward then backward without repeating the ends: a seamless loop
        return seq + seq[-2:0:-1] if bounce else seq

    if suffix == ".png":
        strip = np.concatenate(_fit(rgb, MAX_SEQUENCE_SIDE // 2), axis=1)
        return save_photo(Photo(strip), path, inputs)
    if suffix == ".gif":
        images = [Image.fromarray(f) for f in there_and_back(_fit(rgb, MAX_SEQUENCE_SIDE))]
        write_atomic(path, lambda tmp: images[0].save(
            tmp, format="GIF", save_all=True, append_images=images[1:],
            duration=int(1000 / fps), loop=0, optimize=False))
        return path
    import imageio.v2 as imageio  # bundles its own ffmpeg binary (imageio-ffmpeg)

    loop = there_and_back(_fit(rgb, MAX_SEQUENCE_SIDE, even=True))

    def write(tmp):
        with imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264",
                                macro_block_size=1, pixelformat="yuv420p") as writer:
            for frame in loop:
                writer.append_data(frame)

    write_atomic(path, write)
    return path
