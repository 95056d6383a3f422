import numpy as np
import pytest

from studio.errors import StudioError
from studio.operations.interpolate import interpolate
from studio.operations.recipe import EditRecipe
from studio.operations.transfer import transfer


def _p_of(studio, photo):
    return studio.model.fit(studio.analyzer.detect(photo.rgb)[0].points).p


def test_transfer_moves_each_face_towards_the_others_expression(studio, analyzed):
    a, b = analyzed("002"), analyzed("004", smiling=True)   # neutral A, smiling B
    result = transfer(studio, a, b)
    p_a, p_b = a.fits[0].p, b.fits[0].p
    p_ab = _p_of(studio, result.a_with_b.photo)
    p_ba = _p_of(studio, result.b_with_a.photo)
    assert np.linalg.norm(p_ab - p_b) < 0.7 * np.linalg.norm(p_a - p_b)
    assert np.linalg.norm(p_ba - p_a) < 0.7 * np.linalg.norm(p_b - p_a)
    assert result.a_with_b.photo.size == a.photo.size and result.b_with_a.photo.size == b.photo.size
    happy = studio.model.presets["happiness"]
    assert p_ab @ happy > p_a @ happy and p_ba @ happy < p_b @ happy


def test_interpolation_frames_move_steadily_towards_the_target(studio, analyzed):
    a = analyzed("012")
    frames = interpolate(studio, a, EditRecipe(presets={"surprise": 1.0}), frames=5)
    assert len(frames) == 5 and np.array_equal(frames[0].photo.rgb, a.photo.rgb)
    target = frames[-1].p
    distances = [np.linalg.norm(_p_of(studio, f.photo) - target) for f in frames]
    assert distances[-1] < 0.5 * distances[0]
    assert all(later < earlier + 0.1 * distances[0] for earlier, later in zip(distances, distances[1:]))
    with pytest.raises(StudioError, match="frames"):
        interpolate(studio, a, EditRecipe(presets={"surprise": 1.0}), frames=1)
