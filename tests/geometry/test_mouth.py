"""Filling a mouth the edit opens (studio.geometry.mouth)."""

import cv2
import numpy as np

from studio.face.mesh import INNER_LIPS, INNER_UPPER, MOUTH_CORNERS
from studio.geometry.mouth import fill_mouth
from studio.geometry.warp import compute_warp


def test_a_slit_the_warp_stretches_over_a_dropped_jaw_is_filled_not_smeared(studio, analyzed):
    """Lips a little apart in the photo, opened by surprise at 1.5: the slit's pixels, pulled down
    the whole opening, drew a pink column in the mouth; now the mouth is filled there as it is
    for a closed mouth (a smile made bigger keeps its own teeth: test_mouth_bank)."""
    a = analyzed("002")
    closed = a.faces[0].points.copy()
    fit = a.fits[0]
    target = fit.similarity.invert(fit.neutral + studio.model.displacement(1.5 * studio.model.presets["surprise"]))
    width = float(np.linalg.norm(closed[MOUTH_CORNERS[0], :2] - closed[MOUTH_CORNERS[1], :2]))
    lower = INNER_LIPS[11:]                  # the inner lower lip between the corners
    pixels = a.photo.pixels()

    def filled(slit: float, points_target):
        source = closed.copy()
        source[lower, 1] += slit * width     # the photo's lips apart by `slit` of the mouth's width
        warp = compute_warp(source, points_target, pixels.shape[:2], depth=source[:, 2])
        roi = warp.sample(pixels)
        out = fill_mouth(roi.copy(), warp, source, points_target, studio.mouths.interior, pixels)
        return roi, out, warp

    _, shut, warp = filled(0.0, target)
    _, slit, _ = filled(0.06, target)
    x0, y0 = warp.roi[:2]
    opening = np.zeros(shut.shape[:2], np.uint8)
    cv2.fillPoly(opening, [np.round(target[INNER_LIPS, :2] - [x0, y0]).astype(np.int32)], 1)
    opening = cv2.erode(opening, np.ones((5, 5), np.uint8)).astype(bool)
    height = float(target[14, 1] - target[13, 1]) / width
    differs = np.abs(slit.astype(int) - shut).max(axis=2)[opening]
    print(f"\nopening {height:.2f} of the mouth's width; inside it, the slit's fill differs from the closed "
          f"mouth's by over 20 levels on {np.mean(differs > 20):.1%}")
    assert height > 0.3
    assert np.mean(differs > 20) < 0.02


def test_the_teeth_move_with_the_head_and_the_jaw_not_the_lips(analyzed):
    """The bite: the upper teeth's tips where they were in the photo (just below its upper lip),
    carried by the head's motion; the lower teeth dropped by the chin's drop. Lips that part with
    the jaw shut (a snarl) leave the teeth where they are; a dropped chin drops the lower teeth."""
    from studio.geometry.mouth import CHIN, INCISOR_DROP, TEETH_SHOW, bite_of

    source = analyzed("002").faces[0].points.copy()
    width = float(np.linalg.norm(source[MOUTH_CORNERS[0], :2] - source[MOUTH_CORNERS[1], :2]))
    upper = source[INNER_LIPS[INNER_UPPER], :2]
    still = bite_of(source, source, (0, 0))
    assert np.allclose(still.line, upper + [0, TEETH_SHOW * width], atol=1e-6) and abs(still.jaw) < 1e-6

    snarl = source.copy()
    snarl[INNER_LIPS[1:10], 1] -= 0.15 * width            # the upper lip lifted
    snarl[INNER_LIPS[11:], 1] += 0.1 * width              # the lower one pulled down, the chin still
    bite = bite_of(source, snarl, (0, 0))
    assert np.abs(bite.line - still.line).max() < 0.02 * width and bite.jaw < 0.02 * width

    turned = source.copy()
    turned[:, :2] = 1.1 * turned[:, :2] + [30.0, -12.0]   # the head moved and nearer the camera
    assert np.allclose(bite_of(source, turned, (5, 7)).line, 1.1 * still.line + [25.0, -19.0], atol=0.5)

    dropped = source.copy()
    dropped[CHIN, 1] += 0.3 * width
    assert abs(bite_of(source, dropped, (0, 0)).jaw - INCISOR_DROP * 0.3 * width) < 0.03 * width
