"""Light and shade on overexposed skin (studio.synthesis.highlights).

A London photo brightened 1.5x stands in for an overexposed one: its red channel clips over most of
the face, and the unclipped float image is the truth a change should act on.
"""

import numpy as np
import pytest

from studio.synthesis import highlights
from studio.synthesis.appearance import AppearanceModel
from studio import paths

EXPOSURE = 1.5


@pytest.fixture(scope="module")
def overexposed(analyzed):
    a = analyzed("004")
    true = a.photo.pixels()[:, :, :3].astype(np.float32) * EXPOSURE
    clipped = true.clip(0, 255).round().astype(np.uint8)
    points = a.faces[0].points
    x0, y0 = points[:, :2].min(axis=0).astype(int)
    x1, y1 = points[:, :2].max(axis=0).astype(int)
    face = np.zeros(clipped.shape[:2], bool)
    face[y0:y1, x0:x1] = True
    assert (clipped[face][:, 0] >= highlights.CLIP).mean() > 0.3   # the setting: red clips on much of the face
    return true, clipped, points, face


def _errors(made, truth, where):
    return float(np.abs(made[where].astype(np.float32) - truth[where]).mean())


def test_darkening_clipped_skin_follows_the_true_colour(overexposed):
    true, clipped, points, face = overexposed
    factor = np.full(clipped.shape[:2], 0.75, np.float32)
    truth = (true * 0.75).clip(0, 255)
    naive = (clipped.astype(np.float32) * 0.75).round().astype(np.uint8)
    made = highlights.scale(clipped, factor, clipped, points)
    red_clipped = face & (clipped[:, :, 0] >= highlights.CLIP) & (clipped[:, :, 1] < highlights.CLIP)
    naive_error, made_error = _errors(naive, truth, red_clipped), _errors(made, truth, red_clipped)
    print(f"\nmean error on clipped skin: naive {naive_error:.1f}, with highlights {made_error:.1f} grey levels")
    assert made_error < 0.5 * naive_error
    # and red keeps its lead over green (the naive shade is greyer than the true one)
    ratio = lambda im: np.log((im[..., 0].astype(np.float32) + 1) / (im[..., 1].astype(np.float32) + 1))  # noqa: E731
    assert ratio(made)[red_clipped].mean() > ratio(naive)[red_clipped].mean() + 0.05


def test_pixels_with_nothing_clipped_change_exactly_as_a_plain_multiply(analyzed):
    a = analyzed("001")
    pixels = a.photo.pixels()[:, :, :3]
    assert pixels.max() < highlights.CLIP or (pixels >= highlights.CLIP).mean() < 0.05
    factor = np.full(pixels.shape[:2], 0.8, np.float32)
    made = highlights.scale(pixels, factor, pixels, a.faces[0].points)
    plain = (pixels.astype(np.float32) * 0.8).round().astype(np.uint8)
    free = (pixels < highlights.SOFT_FROM).all(axis=2)
    assert np.array_equal(made[free], plain[free])
    delta = np.full(pixels.shape, -12.0, np.float32)
    added = highlights.add(pixels, delta, pixels, a.faces[0].points)
    assert np.array_equal(added[free], (pixels.astype(np.float32) - 12).clip(0, 255).round().astype(np.uint8)[free])


def test_an_added_shade_on_clipped_skin_follows_the_true_colour(overexposed):
    true, clipped, points, face = overexposed
    delta = -0.2 * clipped.astype(np.float32)          # a 20% shade, as a crop network adds it
    truth = (true * 0.8).clip(0, 255)
    naive = (clipped + delta).round().clip(0, 255).astype(np.uint8)
    made = highlights.add(clipped, delta, clipped, points)
    red_clipped = face & (clipped[:, :, 0] >= highlights.CLIP) & (clipped[:, :, 1] < highlights.CLIP)
    assert _errors(made, truth, red_clipped) < 0.5 * _errors(naive, truth, red_clipped)


def test_skin_colour_falls_back_when_the_whole_face_is_clipped(analyzed):
    a = analyzed("002")
    white = np.full_like(a.photo.pixels()[:, :, :3], 255)
    assert np.allclose(highlights.skin_colour(white, a.faces[0].points), highlights.TYPICAL_SKIN)
    measured = highlights.skin_colour(a.photo.pixels(), a.faces[0].points)
    assert measured[0] > measured[1] > measured[2]   # skin: red over green over blue


@pytest.mark.skipif(not paths.APPEARANCE_PATH.is_file(), reason="no appearance weights")
def test_an_expressions_creases_on_overexposed_skin_keep_its_hue(studio, overexposed):
    """The appearance model's disgust on the overexposed face: where it darkens clipped skin, red
    regains some of the lead over green that clipping took (a plain multiply keeps the clipped
    ratio, and the folds look grey-green next to the skin around them)."""
    _, clipped, points, face = overexposed
    appearance = AppearanceModel.load(paths.APPEARANCE_PATH)
    out = appearance.apply(clipped, points, studio.model.presets["disgust"])
    darker = face & (out.astype(int).sum(axis=2) < clipped.astype(int).sum(axis=2) - 15) & (clipped[:, :, 0] >= highlights.CLIP)
    assert darker.sum() > 500
    hue = lambda im: np.log((im[..., 0].astype(np.float32) + 1) / (im[..., 1].astype(np.float32) + 1))  # noqa: E731
    gained = hue(out)[darker].mean() - hue(clipped)[darker].mean()
    print(f"\nred over green gained in the creases: {gained:.3f}")
    assert gained > 0.02


def test_a_change_is_continuous_as_a_channel_nears_clipping(analyzed):
    """Ruddy skin whose red runs from 236 to 255: the same shade added to every pixel changes
    red smoothly along the run (a hard threshold at 250 darkened a red of 249 by the whole shade
    and one of 250 hardly at all: specks of green-grey on overexposed skin round an edited mouth)."""
    points = analyzed("004").faces[0].points
    photo = np.zeros((int(points[:, 1].max()) + 10, int(points[:, 0].max()) + 10, 3), np.uint8)
    photo[:] = (200, 140, 100)                              # the face's skin, unclipped
    red = np.arange(236, 256, dtype=np.float32)
    strip = np.stack([red, np.full_like(red, 200), np.full_like(red, 140)], axis=1)[None].round().astype(np.uint8)
    out = highlights.add(strip, np.full(strip.shape, -30.0, np.float32), photo, points)[0, :, 0].astype(int)
    print(f"\nred along the run after the shade: {out.tolist()}")
    assert np.abs(np.diff(out)).max() <= 4
    assert out[-1] > out[0] + 30                            # clipped red holds more than the plain shade leaves it
