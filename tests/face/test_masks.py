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


def test_coverage_counts_partial_pixels_and_matches_the_area():
    from studio.face.masks import polygon_coverage

    triangle = np.array([[5.3, 4.1], [40.7, 9.6], [12.2, 33.8]])
    cover = polygon_coverage(triangle, (40, 50))
    a, b, c = triangle
    area = 0.5 * abs((b - a)[0] * (c - a)[1] - (b - a)[1] * (c - a)[0])
    assert cover.min() >= 0 and cover.max() <= 1
    assert abs(cover.sum() - area) < 0.05 * area                   # the hard mask takes in half a pixel more all round
    assert polygon_mask(triangle, (40, 50)).sum() > 1.05 * area
    edge = (cover > 0) & (cover < 1)
    assert edge.sum() > 0.8 * (np.linalg.norm(b - a) + np.linalg.norm(c - b) + np.linalg.norm(a - c))
    assert len(np.unique(cover[edge].round(2))) > 5                # steps by fractions, not whole pixels
    moved = polygon_coverage(triangle, (40, 50), offset=(5, 2))
    assert np.allclose(moved[:-2, :-5], cover[2:, 5:])
