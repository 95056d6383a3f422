"""The live mode without a browser: camera frames of 001 drive 004's photo at the live size; the
photo smiles when the camera's face does, shows itself while no face is seen, and restarts from
the face seen next."""

import numpy as np
import pytest

from studio.face.image_io import Photo, load_photo
from studio.face.mesh import MOUTH_CORNERS, interocular
from studio.interfaces.bench_live import on_camera
from studio.video.live import LiveConfig, LiveDrive, live_photo
from tests.conftest import fixture_path


def corners_up(studio, rgb) -> float:
    p = studio.analyzer.detect(rgb)[0].points
    return float((p[13, 1] + p[14, 1]) / 2 - p[list(MOUTH_CORNERS), 1].mean()) / interocular(p[:, :2])


class Clock:
    """Frames 1/15 s apart whatever this machine's speed (LiveDrive reads it twice a frame)."""
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        self.t += 1 / 30
        return self.t


@pytest.fixture(scope="module")
def photo(studio):
    return live_photo(studio.with_backend("geometry"), load_photo(fixture_path("004")))


def test_the_photo_follows_the_cameras_face(studio, photo):
    assert max(photo.photo.size) == LiveConfig().side
    neutral, smiling = on_camera(fixture_path("001")), on_camera(fixture_path("001", smiling=True))
    live = LiveDrive(studio.with_backend("geometry"), photo, clock=Clock())
    first = live(neutral)
    assert first.found and first.rgb.shape[:2] == photo.photo.rgb.shape[:2]
    for _ in range(8):            # the smoothing lets the smile in over a few frames, as on a camera
        smiled = live(smiling)
    assert smiled.found and abs(smiled.fps - 15) < 0.5 and smiled.ms > 0
    # the camera's face smiles, and so does the photo, from where it started
    assert corners_up(studio, smiling) - corners_up(studio, neutral) > 0.03
    assert corners_up(studio, smiled.rgb) - corners_up(studio, first.rgb) > 0.03
    assert "fps" in smiled.describe() and "following your face" in smiled.describe()
    # no face before the camera: the photo as it is, said so
    empty = live(np.zeros_like(neutral))
    assert not empty.found and "no face" in empty.describe()
    assert np.abs(empty.rgb.astype(int) - photo.photo.rgb.astype(int)).max() == 0
    # "take my face now as neutral": the smile is the reference, so the photo stops smiling
    live.restart()
    reset = live(smiling)
    assert corners_up(studio, reset.rgb) < corners_up(studio, smiled.rgb) - 0.02


def test_the_pose_follows_only_when_asked(studio, photo):
    from studio.geometry.pose import HeadPose
    from studio.operations.edit import edit
    from studio.operations.recipe import EditRecipe

    camera = studio.analyze(Photo(on_camera(fixture_path("001"))))
    turned = edit(studio.with_backend("geometry"), camera, EditRecipe(pose=HeadPose(yaw=12))).photo.pixels()
    yaws = {}
    for with_pose in (False, True):
        live = LiveDrive(studio.with_backend("geometry"), photo, with_pose=with_pose, clock=Clock())
        live(camera.photo.rgb)
        for _ in range(8):
            shown = live(turned)
        yaws[with_pose] = studio.analyze(Photo(shown.rgb)).fits[0].yaw_pitch_roll()[0]
    assert yaws[True] - yaws[False] > 5, yaws
