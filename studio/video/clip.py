"""Reading and writing clips with ffmpeg (imageio-ffmpeg's bundled binary): what a clip holds,
its frames one by one, and an output written whole or not at all, with the input's audio."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg
import numpy as np

from studio.errors import StudioError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".webm", ".avi", ".m4v")


@dataclass(frozen=True)
class ClipInfo:
    size: tuple[int, int]      # width, height
    fps: float
    frames: int                # as the container says (an estimate for some formats)
    duration: float            # seconds
    audio: bool                # the clip has an audio stream


def probe(path: Path) -> ClipInfo:
    """What the clip holds; a one-line StudioError for a file that is not a video."""
    path = Path(path)
    if not path.is_file():
        raise StudioError(f"no such file: {path}")
    if path.stat().st_size == 0:
        raise StudioError(f"{path.name} is empty")
    reader = imageio_ffmpeg.read_frames(str(path))
    try:
        meta = next(reader)
    except (RuntimeError, OSError, StopIteration) as exc:
        detail = str(exc).strip().splitlines()
        if any("does not contain any stream" in line for line in detail):
            raise StudioError(f"{path.name} has no video stream (audio only?)") from None
        raise StudioError(f"{path.name} is not a video ffmpeg can read"
                          + (f" ({_ffmpeg_reason(detail)})" if detail else "")) from None
    finally:
        reader.close()
    size = tuple(int(v) for v in meta.get("size") or (0, 0))
    if not size[0] or not size[1]:
        raise StudioError(f"{path.name} has no video stream (audio only?)")
    fps = float(meta.get("fps") or 0.0)
    if not fps or not np.isfinite(fps):
        raise StudioError(f"{path.name} does not say its frame rate")
    duration = float(meta.get("duration") or 0.0)
    return ClipInfo(size, fps, int(round(duration * fps)), duration, bool(meta.get("audio_codec")))


def _ffmpeg_reason(lines: list[str]) -> str:
    useful = [line for line in lines if "Invalid data" in line or "moov atom" in line or "does not contain" in line]
    return (useful or lines)[-1][:120]


def frames(path: Path) -> Iterator[np.ndarray]:
    """The clip's frames, HxWx3 uint8 RGB, one at a time."""
    reader = imageio_ffmpeg.read_frames(str(path))
    meta = next(reader)
    width, height = meta["size"]
    try:
        for raw in reader:
            yield np.frombuffer(raw, np.uint8).reshape(height, width, 3)
    except RuntimeError as exc:
        raise StudioError(f"{Path(path).name} is cut short or damaged: {_ffmpeg_reason(str(exc).splitlines() or ['?'])}") from None
    finally:
        reader.close()


@contextmanager
def writing(path: Path, info: ClipInfo, audio_from: Path | None):
    """A function taking frames, writing `path` at the clip's size and fps, with the audio of
    `audio_from`; the file appears only when every frame is written (Ctrl-C or an error leave
    nothing, not a half-written clip)."""
    path = Path(path)
    tmp = path.with_name(f".{path.stem}.partial{path.suffix}")
    width, height = info.size
    # yuv420p needs even sides; odd ones keep every pixel in yuv444p instead of being rescaled
    even = width % 2 == 0 and height % 2 == 0
    writer = imageio_ffmpeg.write_frames(str(tmp), (width, height), fps=info.fps, codec="libx264", quality=8,
                                         pix_fmt_out="yuv420p" if even else "yuv444p", macro_block_size=1,
                                         audio_path=str(audio_from) if audio_from is not None and info.audio else None,
                                         audio_codec="aac", ffmpeg_log_level="error")
    writer.send(None)
    done = False
    try:
        yield lambda frame: writer.send(np.ascontiguousarray(frame[..., :3]))
        writer.close()
        os.replace(tmp, path)
        done = True
    finally:
        if not done:
            try:
                writer.close()
            except Exception:   # ffmpeg may be gone already (Ctrl-C reaches it too)
                pass
            tmp.unlink(missing_ok=True)
