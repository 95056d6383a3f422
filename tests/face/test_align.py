import numpy as np

from studio.face.align import CANONICAL, align, anchor_points, crop, uncrop
from studio.face.image_io import load_photo
from tests.conftest import fixture_path


def test_alignment_puts_the_face_on_the_canonical_anchors_and_back(studio):
    rgb = load_photo(fixture_path("012")).rgb
    face = studio.analyzer.detect(rgb)[0]
    alignment = align(face.points, size=256)
    anchors = alignment.to_crop(anchor_points(face.points))
    assert np.abs(anchors - CANONICAL * 256).max() < 256 * 0.06
    back = alignment.to_photo(alignment.to_crop(face.points))
    assert np.abs(back - face.points[:, :2]).max() < 1e-6

    patch = crop(rgb, alignment)
    assert patch.shape == (256, 256, 3)
    # Landmarks found on the crop match the face's landmarks mapped into the crop.
    found = studio.analyzer.detect(patch)[0]
    assert np.linalg.norm(found.points[:, :2] - alignment.to_crop(face.points), axis=1).mean() < 3.0
    restored = uncrop(patch, alignment, rgb.shape[:2])
    x0, y0, x1, y1 = face.box
    inner = (slice(y0 + 20, y1 - 20), slice(x0 + 20, x1 - 20))
    assert np.abs(restored[inner].astype(int) - rgb[inner]).mean() < 8
