"""Building the shape model: which photos of a class its preset averages."""

import numpy as np

from studio.face.mesh import LOWER_LIP_MID, N_POINTS, UPPER_LIP_MID
from studio.geometry.build_shape_model import MOUTH_CLOSED_IOD, majority_mouth_mode


def _photos(parted: list[float]) -> np.ndarray:
    """Displacements whose only movement parts the lips by each of `parted` (interocular distances)."""
    d = np.zeros((len(parted), N_POINTS, 3))
    d[:, UPPER_LIP_MID, 1] = -np.asarray(parted) / 2
    d[:, LOWER_LIP_MID, 1] = np.asarray(parted) / 2
    return d.reshape(len(parted), -1)


def test_a_class_posed_two_ways_keeps_its_majority_mouth():
    closed, opened = [0.0] * 6, [0.2] * 4          # anger: pressed lips or bared teeth
    keep = majority_mouth_mode(_photos(closed + opened))
    assert keep.tolist() == [True] * 6 + [False] * 4
    keep = majority_mouth_mode(_photos(closed[:4] + opened + opened[:2]))
    assert keep.tolist() == [False] * 4 + [True] * 6


def test_a_class_posed_one_way_keeps_every_photo():
    # a fifth of the photos with the other mouth is variation, not a second pose
    keep = majority_mouth_mode(_photos([0.25] * 8 + [0.0] * 2))
    assert keep.all()
    # ... and the threshold is the parting beyond neutral, not any movement
    keep = majority_mouth_mode(_photos([0.9 * MOUTH_CLOSED_IOD] * 5 + [0.3] * 5))
    assert keep.tolist() == [True] * 5 + [False] * 5
