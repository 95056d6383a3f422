import numpy as np
import pytest

from studio import paths
from studio.errors import StudioError
from studio.face.image_io import load_photo
from studio.face.landmarks import LARGEST, AnalyzerConfig, FaceAnalyzer, face_index, pick_face
from studio.face.mesh import interocular
from tests.conftest import fixture_path


def test_detects_478_points_on_the_face(studio):
    rgb = load_photo(fixture_path("002")).rgb
    faces = studio.analyzer.detect(rgb)
    assert len(faces) == 1
    face = faces[0]
    assert face.points.shape == (478, 3)
    x0, y0, x1, y1 = face.box
    assert 0 <= x0 < x1 <= rgb.shape[1] and 0 <= y0 < y1 <= rgb.shape[0]
    # Anatomy: eyes above the nose tip, nose above the mouth, iris centre between eye corners.
    assert face.points[33, 1] < face.points[4, 1] < face.points[13, 1]
    assert face.points[33, 0] < face.points[468, 0] < face.points[133, 0]
    assert 60 < interocular(face.points) < 250


def test_several_faces_are_numbered_left_to_right_and_the_largest_can_be_asked_for(studio):
    big = load_photo(fixture_path("002")).rgb
    small = load_photo(fixture_path("004")).rgb[::2, ::2]
    canvas = np.full((768, 768 + 384, 3), 200, np.uint8)
    canvas[:, 384:] = big
    canvas[192:576, :384] = small
    faces = studio.analyzer.detect(canvas)
    assert len(faces) == 2
    assert faces[0].box[2] <= 384 + 10 and faces[1].box[0] >= 384   # the small face on the left is face 0
    assert face_index(faces, LARGEST) == 1 and face_index(faces, 0) == 0
    flipped = studio.analyzer.detect(np.ascontiguousarray(canvas[:, ::-1]))
    assert flipped[0].box[0] < flipped[1].box[0] and face_index(flipped, LARGEST) == 0
    with pytest.raises(StudioError, match="there is no face 3"):
        face_index(faces, 2)


def test_no_face_and_bad_index(studio):
    blank = np.full((300, 300, 3), 128, np.uint8)
    faces = studio.analyzer.detect(blank)
    assert faces == []
    with pytest.raises(StudioError, match="no face"):
        pick_face(faces, 0)
    faces = studio.analyzer.detect(load_photo(fixture_path("002")).rgb)
    with pytest.raises(StudioError, match=r"there is no face 4 \(index 3\): the photo has 1 face$"):
        pick_face(faces, 3)


def test_blendshapes_and_pose_with_the_landmarker_file():
    task = paths.shared_dir() / "models" / "face_landmarker.task"
    if not task.is_file():
        pytest.skip("face_landmarker.task is not beside the checkout")
    analyzer = FaceAnalyzer(AnalyzerConfig(landmarker_path=task))
    try:
        neutral = analyzer.detect(load_photo(fixture_path("004")).rgb)[0]
        smile = analyzer.detect(load_photo(fixture_path("004", smiling=True)).rgb)[0]
    finally:
        analyzer.close()
    assert len(neutral.blendshapes) == 52 and neutral.transform.shape == (4, 4)
    def smile_score(face):
        return face.blendshapes["mouthSmileLeft"] + face.blendshapes["mouthSmileRight"]

    assert smile_score(smile) > smile_score(neutral) + 0.3


def test_without_the_landmarker_file_there_are_no_blendshapes(studio):
    face = studio.analyzer.detect(load_photo(fixture_path("002")).rgb)[0]
    assert studio.analyzer.has_blendshapes == (paths.face_landmarker_path() is not None)
    if not studio.analyzer.has_blendshapes:
        assert face.blendshapes is None and face.transform is None
