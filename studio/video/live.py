"""A live camera driving a photo: each frame the camera sends moves the photo's face (drive.Driving),
and the rate the frames come out at and the time each took are kept for the page to show.

The photo is driven at a preview size, not its full one: a live frame must be back within a tenth
of a second, and the page shows it at this size anyway.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

import numpy as np

from studio.face.image_io import Photo
from studio.operations.studio import AnalyzedPhoto, Studio
from studio.operations.views import preview
from studio.video.drive import Driving
from studio.video.smoothing import OneEuroConfig


@dataclass(frozen=True)
class LiveConfig:
    side: int = 512             # the photo's long side while it is driven live, px
    window: int = 20            # frames the rate is measured over
    # the page mirrors the camera and sends its frames mirrored too, so the photo moves as the
    # mirror image does: frames are driven as they come
    mirror: bool = True
    # a live camera is noisier and moves faster than a clip: a little more smoothing at rest
    smoothing: OneEuroConfig = OneEuroConfig(min_cutoff=0.8, beta=0.03)


@dataclass(frozen=True)
class LiveFrame:
    rgb: np.ndarray             # what to show: the driven photo, or the photo as it is while no face is seen
    found: bool                 # the camera's frame showed a face
    fps: float                  # frames driven per second, over the last `window` frames
    ms: float                   # this frame's time on the server

    def describe(self) -> str:
        seen = "following your face" if self.found else "no face in the camera's picture: showing the photo"
        return f"{self.fps:.1f} fps · {self.ms:.0f} ms a frame on the server · {seen}"


def live_photo(studio: Studio, photo: Photo, config: LiveConfig = LiveConfig()) -> AnalyzedPhoto:
    """The photo brought to the live size and analysed, once, when it is chosen."""
    return studio.analyze(Photo(preview(photo, config.side)))


class LiveDrive:
    """One viewer's stream: the photo, its driving state and the recent frame times."""

    def __init__(self, studio: Studio, photo: AnalyzedPhoto, face: int = 0, with_pose: bool = False,
                 parts: tuple[str, ...] = (), config: LiveConfig = LiveConfig(), clock=time.monotonic):
        self.config, self._clock = config, clock
        self.driving = Driving(studio, photo, face, with_pose, parts=parts, smoothing=config.smoothing)
        self._times: deque[float] = deque(maxlen=config.window)
        self._start = clock()

    def settings(self) -> tuple[int, bool, tuple[str, ...]]:
        return self.driving.face, self.driving.with_pose, self.driving.parts

    def restart(self) -> None:
        """The face the camera shows next is taken as the neutral one."""
        self.driving.restart()

    def __call__(self, rgb: np.ndarray) -> LiveFrame:
        began = self._clock()
        driven, found = self.driving(np.ascontiguousarray(rgb[..., :3]), began - self._start)
        # the photo is already at the live size and in sRGB (live_photo): shown as it comes
        shown = driven if driven is not None else self.driving.photo.photo
        done = self._clock()
        self._times.append(done)
        spread = self._times[-1] - self._times[0]
        fps = (len(self._times) - 1) / spread if spread > 0 else 0.0
        return LiveFrame(shown.rgb, bool(found), fps, 1000 * (done - began))
