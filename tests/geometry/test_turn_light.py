"""The photo's light kept on a face that turns (geometry.turn_light), on real faces."""

import numpy as np
import pytest

from studio.evaluation.pose_light import shade_valley
from studio.face.mesh import N_SURFACE
from studio.geometry.pose import HeadPose, turn_points
from studio.geometry.reshape import reshape_face
from studio.geometry.shading import Lighting, relight
from studio.geometry.turn_light import photo_light, sh_basis, turn_shading


def test_the_light_read_from_a_photo_comes_from_where_it_was_put(studio, analyzed):
    """London 002 relit from the image's left, then from its right (the studio's own relight):
    the light read back from each is brighter on a normal pointing that way, and the photo's
    own (a frontal studio light) lights a face-on normal better than a side-on one."""
    photo = analyzed("002")
    points = photo.faces[0].points
    pixels = photo.photo.pixels()
    left, right = (np.array([[-0.7, 0.0, -0.7]]), np.array([[0.7, 0.0, -0.7]]))
    for azimuth, towards, away in ((-60, left, right), (60, right, left)):
        lit = relight(pixels, [points], studio.surface, Lighting(azimuth=azimuth, intensity=1.4, ambient=0.25))
        light = photo_light(lit, points, studio.surface)
        assert (sh_basis(towards) @ light)[0] > 1.3 * (sh_basis(away) @ light)[0], azimuth
    own = photo_light(pixels, points, studio.surface)
    assert (sh_basis(np.array([[0.0, 0.0, -1.0]])) @ own)[0] > 1.2 * (sh_basis(left) @ own)[0]


def test_a_face_that_does_not_turn_keeps_its_light(studio, analyzed):
    photo = analyzed("004")
    points = photo.faces[0].points
    assert turn_shading(photo.photo.pixels(), studio.surface, points, points) is None
    turned = turn_points(points, HeadPose(yaw=10))
    assert turn_shading(photo.photo.pixels(), studio.surface, points, turned) is not None


@pytest.mark.parametrize("person,yaw", [("002", -25), ("001", 25)])
def test_a_turned_cheek_carries_no_band_of_the_photo_s_side_shade(studio, analyzed, monkeypatch, person, yaw):
    """The skin the photo saw from the side is shaded; a turn brings it round to face the camera.
    Carried as it was, it lay as a grey band down the turned cheek, 7.7 and 8.1 L* below the skin
    either side (London 002, 001); under the light the turned skin now gets, within 2.5 (0.9, 1.2),
    and the far side, turned away, darkens."""
    import studio.geometry.reshape as reshape

    photo = analyzed(person)
    source = photo.faces[0].points
    target = turn_points(source, HeadPose(yaw=yaw))
    pixels = photo.photo.pixels()
    near = -1 if yaw < 0 else 1   # the side the turn brings round
    out = reshape_face(pixels, source, target, studio.warp, studio.surface)
    assert shade_valley(out, target, near) < 2.5
    monkeypatch.setattr(reshape, "turn_shading", lambda *args, **kwargs: None)
    kept = reshape_face(pixels, source, target, studio.warp, studio.surface)
    assert shade_valley(kept, target, near) > 5.0
    # the far cheek faces the camera less than it did: darker than with the photo's shading carried
    far = target[:N_SURFACE, 0] > target[1, 0] if near < 0 else target[:N_SURFACE, 0] < target[1, 0]
    cheek = np.round(target[:N_SURFACE][far & (studio.surface.facing(target)[:N_SURFACE] > 0.3), :2]).astype(int)
    gray = lambda image: image[cheek[:, 1], cheek[:, 0], :3].astype(float).mean()
    assert gray(out) < 0.97 * gray(kept)
