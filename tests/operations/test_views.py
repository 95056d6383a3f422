"""Pictures for looking at: the faces map, whole-head thumbnails, where a click and the divider go."""

import numpy as np

from studio.face.image_io import load_photo
from studio.operations.views import MAP_SIDE, divider_at, face_at, face_map, face_thumbnails, head_box
from tests.conftest import PAIR


def test_thumbnails_show_the_whole_head_and_stay_square(studio):
    analyzed = studio.analyze(load_photo(PAIR))
    for face, thumb in zip(analyzed.faces, face_thumbnails(analyzed)):
        left, top, right, bottom = head_box(face.box, analyzed.photo.size)
        assert right - left == bottom - top and thumb.shape[0] == thumb.shape[1]
        height = face.box[3] - face.box[1]
        # the hair above the landmarks (they stop mid-forehead) is in, and the chin
        assert top <= face.box[1] - 0.5 * height or top == 0
        assert bottom >= face.box[3]
        # the crown of the head: the rows above the landmarks hold the hair, dark on a light wall
        rgb = analyzed.photo.rgb[top:face.box[1], face.box[0]:face.box[2]].astype(int)
        assert (rgb.sum(axis=2) < 300).mean() > 0.2


def test_the_map_numbers_faces_where_they_are_and_clicks_find_them(studio):
    analyzed = studio.analyze(load_photo(PAIR))
    picture = face_map(analyzed, selected=1)
    scale = picture.shape[1] / analyzed.photo.size[0]
    assert max(picture.shape[:2]) == MAP_SIDE
    for i, face in enumerate(analyzed.faces):
        left, top, right, bottom = (round(v * scale) for v in head_box(face.box, analyzed.photo.size))
        outline = picture[top + 1, (left + right) // 2].astype(int)
        # the chosen face is outlined in orange, the other in white
        assert (outline[0] > 200 and outline[2] < 60) if i == 1 else outline.min() > 200
        centre = ((left + right) / 2, (top + bottom) / 2)
        assert face_at(analyzed, centre) == i
    assert face_at(analyzed, (2, 2)) == 0 and face_at(analyzed, (picture.shape[1] - 2, 2)) == 1
    assert 20 < divider_at(analyzed, 0) < 30 and 70 < divider_at(analyzed, 1) < 80
    assert not np.array_equal(picture, face_map(analyzed, selected=0))
