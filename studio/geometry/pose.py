"""Head pose changes: the face's 3D landmarks rotated about the head's centre.

Angles follow `ShapeFit.yaw_pitch_roll`, so turning a face by `yaw` changes the yaw estimated on
the result by about `yaw`. Seen in the image: +yaw turns the nose towards the image's left,
+pitch tips the chin down, +roll tilts the head clockwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.errors import StudioError

YAW_LIMIT, PITCH_LIMIT, ROLL_LIMIT = 45.0, 30.0, 30.0
# Points just in front of the ears; the head turns about the axis through their midpoint.
EAR_POINTS = (234, 454)


@dataclass(frozen=True)
class HeadPose:
    """A change of head pose in degrees."""

    yaw: float = 0.0
    pitch: float = 0.0
    roll: float = 0.0

    def __post_init__(self):
        for name, value, limit in (("yaw", self.yaw, YAW_LIMIT), ("pitch", self.pitch, PITCH_LIMIT),
                                   ("roll", self.roll, ROLL_LIMIT)):
            if not -limit <= value <= limit:
                raise StudioError(f"{name} must be within +-{limit:g} degrees, got {value:g}")

    @property
    def is_zero(self) -> bool:
        return not (self.yaw or self.pitch or self.roll)

    def rotation(self) -> np.ndarray:
        """3x3 rotation in image axes (x right, y down, z away from the camera)."""
        y, p, r = np.radians([self.yaw, self.pitch, self.roll])
        # Signs chosen so the angles agree with Similarity.angles_deg on the result.
        yaw = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
        pitch = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
        roll = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
        return roll @ yaw @ pitch


def head_centre(points: np.ndarray) -> np.ndarray:
    """The point the head turns about (pixels, 3D): between the ears."""
    return np.asarray(points, float)[list(EAR_POINTS), :3].mean(axis=0)


def turn_points(points: np.ndarray, pose: HeadPose, centre: np.ndarray | None = None) -> np.ndarray:
    """478x3 landmarks (pixels, z away from the camera) with the head turned by `pose`."""
    points = np.asarray(points, float)
    centre = head_centre(points) if centre is None else centre
    return (points - centre) @ pose.rotation().T + centre
