"""How much memory and work a request costs, so servers and the CLI can refuse what would not fit.

The per-pixel figures are measured peaks above the loaded studio (`face-studio bench --memory`
prints them again), rounded up: opening a photo (decoding, MediaPipe, the shape fit) peaked at
12-14 bytes per pixel from 4 to 50 MP, and an edit with a turn and a whole-photo light at 15-24
(the generator backend). Animations are bounded by frames x pixels, so a large photo gets fewer
frames: each frame is a whole edit of the photo.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from studio.errors import StudioError

MB = 1 << 20
OPEN_BYTES_PER_PIXEL = 16
EDIT_BYTES_PER_PIXEL = 28
REQUEST_OVERHEAD = 64 * MB              # generator and recognizer passes, JPEG previews
ANIMATION_MEGAPIXELS = 600              # frames x megapixels of one animation (12 frames at 50 MP)
MAX_FRAMES = 240
ANIMATION_SIDE = 720                    # animations and strips are made at most this large


def open_bytes(pixels: int) -> int:
    """Peak memory of decoding and analysing a photo of `pixels` pixels."""
    return OPEN_BYTES_PER_PIXEL * pixels + REQUEST_OVERHEAD


def edit_bytes(pixels: int) -> int:
    """Peak memory of one edit of the whole photo (and of exporting it)."""
    return EDIT_BYTES_PER_PIXEL * pixels + REQUEST_OVERHEAD


def transfer_bytes(pixels_a: int, pixels_b: int) -> int:
    """Two photos' four full-resolution results, and the edit that makes each."""
    return 2 * 4 * (pixels_a + pixels_b) + edit_bytes(max(pixels_a, pixels_b))


def max_frames(pixels: int) -> int:
    """The most frames an animation of a photo this large may have."""
    return int(max(2, min(MAX_FRAMES, ANIMATION_MEGAPIXELS * 1e6 // max(pixels, 1))))


def check_frames(frames: int, pixels: int) -> None:
    """A clear refusal when an animation has too few frames, or too many for the photo's size."""
    limit = max_frames(pixels)
    if not 2 <= frames <= limit:
        why = (f"a {pixels / 1e6:.1f} MP photo can be animated in at most {limit} frames "
               f"({ANIMATION_MEGAPIXELS} megapixels of frames in all)" if limit < MAX_FRAMES
               else f"frames must be in 2..{MAX_FRAMES}")
        raise StudioError(f"{why}, got {frames}")


def animation_bytes(pixels: int, frames: int) -> int:
    """One edit at a time, and every frame kept at ANIMATION_SIDE (RGB) for the GIF, MP4 and strip,
    plus the GIF's own copy of each frame there and back (2 frames - 2 images)."""
    return edit_bytes(pixels) + frames * 3 * 3 * ANIMATION_SIDE * ANIMATION_SIDE


def footprint(value, _seen: set | None = None) -> int:
    """Bytes held by the arrays inside `value` (dataclasses, tuples, lists, dicts), each once."""
    seen = set() if _seen is None else _seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        base = value if value.base is None else value.base
        if isinstance(base, np.ndarray) and base is not value:
            return footprint(base, seen)
        return value.nbytes
    if isinstance(value, (bytes, bytearray)):
        return len(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(footprint(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return sum(footprint(v, seen) for v in value)
    if isinstance(value, dict):
        return sum(footprint(v, seen) for v in value.values())
    return 0
