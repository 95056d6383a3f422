"""Landmark polygons as masks."""

import numpy as np

from studio.face.masks import polygon_mask


def test_a_polygon_covers_its_pixels_and_its_offset_moves_it():
    square = np.array([[10.25, 10.0], [30.25, 10.0], [30.25, 20.0], [10.25, 20.0]])
    mask = polygon_mask(square, (40, 50))
    assert mask.dtype == np.float32 and mask.shape == (40, 50)
    rows, cols = np.nonzero(mask)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (10, 20, 10, 30)   # the outline's pixels included
    assert set(np.unique(mask)) == {0.0, 1.0}
    moved = polygon_mask(square, (40, 50), offset=(5, 2))   # the mask's corner at (5, 2)
    assert np.array_equal(moved[:-2, :-5], mask[2:, 5:])
    both = polygon_mask(square + [0, 15], (40, 50), into=mask.copy())
    assert both.sum() == 2 * mask.sum()
