"""The neutralizer (whole-face removal generator): where it acts, how much, and that it brings a
removal closer to the person's real neutral photo; its training resumes exactly."""

from dataclasses import replace

import cv2
import numpy as np
import pytest
import torch

from studio import paths
from studio.face.align import align, sample_crop
from studio.operations.edit import removed_share, render_expression
from studio.synthesis.neutralizer import face_region
from studio.synthesis.refine import add_crop_change
from tests.conftest import PEOPLE

needs_weights = pytest.mark.skipif(not paths.NEUTRALIZER_PATH.is_file(), reason="needs weights/neutralizer.safetensors")


def test_removed_share_is_how_much_of_the_own_expression_goes():
    own = np.array([2.0, -1.0, 0.5])
    assert removed_share(own, own) == 0.0
    assert removed_share(np.zeros(3), own) == 1.0
    assert removed_share(0.25 * own, own) == pytest.approx(0.75 * (1 - 0.25 ** 2))
    assert removed_share(2 * own, own) == 0.0            # more of the same expression: nothing removed
    assert removed_share(-0.5 * own, own) == pytest.approx(0.75)   # a smaller opposite one
    other = np.array([1.0, 2.0, 0.0]) * 3                # orthogonal and larger: a new expression
    assert removed_share(other, own) == 0.0
    assert removed_share(np.ones(3), np.zeros(3)) == 0.0   # a face with no expression of its own
    # continuous along the way back to neutral
    steps = [removed_share(t * own, own) for t in np.linspace(1, 0, 21)]
    assert all(b >= a for a, b in zip(steps, steps[1:])) and max(np.diff(steps)) < 0.1


def test_face_region_covers_the_skin_and_leaves_out_features_and_background(studio, analyzed):
    face = analyzed(PEOPLE[0]).faces[0]
    frame = align(face.points, 128)
    points = frame.to_crop(face.points)
    region = face_region(points, 128)

    def at(index):
        x, y = np.round(points[index, :2]).astype(int)
        return region[y, x]

    # the nose, the middle of the forehead, both cheeks: skin that creases
    assert min(at(1), at(4), at(5), at(205), at(425)) > 0.95 and at(151) > 0.85
    # the irises, the mouth's middle: the warp's and G_N's, never the neutralizer's
    assert max(at(468), at(473), at(13), at(14)) < 0.05
    assert region[:8].max() == 0 and region[:, :6].max() == 0   # hair and background above and beside


def _face_detail(rgb: np.ndarray, points: np.ndarray, real_rgb: np.ndarray, real_points: np.ndarray) -> float:
    """Mean absolute difference of the fine detail (the photo minus its blur: creases, not the
    light) between an output and the real neutral photo, on aligned crops inside the face."""
    def detail(pixels, pts):
        frame = align(pts, 128)
        crop = sample_crop(np.ascontiguousarray(pixels[:, :, :3]), frame).astype(np.float32)
        return crop - cv2.GaussianBlur(crop, (0, 0), 4), face_region(frame.to_crop(pts), 128)

    made, region = detail(rgb, points)
    real, _ = detail(real_rgb, real_points)
    return float((np.abs(made - real).mean(axis=2) * region).sum() / region.sum())


@needs_weights
def test_removal_with_the_neutralizer_is_closer_to_the_real_neutral(studio, analyzed):
    """A London smile (never trained on) taken back to neutral: with the neutralizer, the face's
    fine detail is closer to the person's real neutral photo than with the warp and G_N alone."""
    assert studio.neutralizer is not None
    without = replace(studio, neutralizer=None)
    gains = []
    for person in PEOPLE:
        smile, neutral = analyzed(person, smiling=True), analyzed(person)
        zero = np.zeros(studio.model.n_expression)
        made = render_expression(studio, smile, 0, zero)
        plain = render_expression(without, smile, 0, zero)
        real = (neutral.photo.rgb, neutral.faces[0].points)
        gains.append(_face_detail(plain.photo.rgb, made.target, *real) - _face_detail(made.photo.rgb, made.target, *real))
    assert np.mean(gains) > 0 and sum(g > 0 for g in gains) >= 3


@needs_weights
def test_the_neutralizer_leaves_an_expression_it_does_not_take_away(studio, analyzed):
    smile = analyzed(PEOPLE[1], smiling=True)
    more = 1.3 * smile.fits[0].p   # a stronger smile: nothing of the own expression goes
    with_it = render_expression(studio, smile, 0, more).photo.rgb
    without = render_expression(replace(studio, neutralizer=None), smile, 0, more).photo.rgb
    assert np.array_equal(with_it, without)


@needs_weights
def test_the_change_is_continuous_in_the_amount_and_stays_in_the_face(studio, analyzed):
    smile = analyzed(PEOPLE[2], smiling=True)
    pixels, target = smile.photo.pixels(), smile.faces[0].points
    size, change = studio.neutralizer.size, studio.neutralizer.change
    none = add_crop_change(pixels, target, size, change, 0.0)
    half = add_crop_change(pixels, target, size, change, 0.5).astype(float) - pixels
    full = add_crop_change(pixels, target, size, change, 1.0).astype(float) - pixels
    assert np.array_equal(none, pixels)
    assert np.abs(full).mean() > 0.2                               # it does something ...
    assert np.abs(half - full / 2).max() <= 1.01                    # ... in proportion to the amount
    # nothing beyond the face's landmarks (but the feather's last few pixels)
    margin = 0.05 * (target[:, 0].max() - target[:, 0].min())
    x0, y0 = (target[:, :2].min(axis=0) - margin).astype(int)
    x1, y1 = (target[:, :2].max(axis=0) + margin).astype(int)
    outside = np.ones(pixels.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    assert np.abs(full[outside]).max() <= 1   # a grey level where the fade rounds up


@pytest.mark.skipif(not (paths.faces_dir() / "manifest.csv").is_file(), reason="needs ../shared/data/faces")
def test_training_resumes_exactly(tmp_path):
    from studio.synthesis.train_neutralizer import NeutralizerTrainConfig, NeutralizerTrainer

    def trainer(run, steps):
        config = NeutralizerTrainConfig(faces_dir=paths.faces_dir(), run_dir=tmp_path / run, size=64, steps=steps,
                                        batch=2, limit=24, checkpoint_every=1, init_from=None, device="cpu",
                                        cache_dir=tmp_path / "pairs")
        t = NeutralizerTrainer(config, log=lambda *_: None)
        t.resume()
        return t

    straight = trainer("a", 2)
    straight.run(progress=False)
    first = trainer("b", 1)
    first.run(progress=False)
    resumed = trainer("b", 2)
    assert resumed.step == 1
    resumed.run(progress=False)
    for a, b in zip(straight.net.state_dict().values(), resumed.net.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)
    assert (tmp_path / "b" / "samples" / "step_000002.png").is_file()


def test_missing_or_damaged_weights_are_one_clear_error(tmp_path):
    from studio.errors import StudioError
    from studio.synthesis.neutralizer import Neutralizer

    with pytest.raises(StudioError, match="train-neutralizer"):
        Neutralizer.load(tmp_path / "none.safetensors")
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x08\x00\x00\x00\x00\x00\x00\x00{}      ")
    with pytest.raises(StudioError, match="neutralizer|weights"):
        Neutralizer.load(bad)


@pytest.mark.skipif(not paths.NEUTRALIZER_PATH.is_file(), reason="no neutralizer weights")
def test_hair_over_the_forehead_keeps_its_colour(studio, analyzed, monkeypatch):
    """A fringe painted over 001's forehead down to her brows, her smile taken away: the
    neutralizer's change on the hair stays within a grey level (brightened, a fringe turned
    grey-blue), while the cheeks get the change they get without the fringe."""
    import studio.synthesis.neutralizer as neutralizer_module
    from studio.face.mesh import BROW_TOPS, FACE_OVAL

    a = analyzed("001", True)
    points = a.faces[0].points
    pixels = a.photo.pixels()[..., :3].copy()
    oval = np.zeros(pixels.shape[:2], np.uint8)
    cv2.fillPoly(oval, [np.round(points[FACE_OVAL, :2]).astype(np.int32)], 1)
    ys, xs = np.mgrid[:pixels.shape[0], :pixels.shape[1]]
    brows = points[BROW_TOPS, :2][np.argsort(points[BROW_TOPS, 0])]
    fringe = (oval > 0) & (ys < np.interp(xs, brows[:, 0], brows[:, 1]) - 3)
    strands = 45 + 15 * np.sin(xs / 2.0)                      # dark brown strands
    pixels[fringe] = np.stack([strands * 1.3, strands, strands * 0.8], axis=-1)[fringe].astype(np.uint8)
    neutralizer = studio.neutralizer

    def change(source):
        return add_crop_change(source, points, neutralizer.size, neutralizer.change, 1.0).astype(np.float32) - source

    hair = cv2.erode(fringe.astype(np.uint8), np.ones((5, 5), np.uint8)).astype(bool)
    cheeks = np.zeros_like(fringe)
    for k in (205, 425):                                       # the middle of each cheek
        cx, cy = np.round(points[k, :2]).astype(int)
        cheeks[cy - 10:cy + 10, cx - 10:cx + 10] = True
    held, plain = change(pixels), change(a.photo.pixels()[..., :3].copy())
    monkeypatch.setattr(neutralizer_module, "on_skin", lambda crop, pts, region: np.ones(crop.shape[:2], np.float32))
    free = change(pixels)
    print(f"\nmean |change| on the fringe: {np.abs(free[hair]).mean():.1f} -> {np.abs(held[hair]).mean():.2f}; "
          f"on the cheeks {np.abs(plain[cheeks]).mean():.2f} without the fringe, {np.abs(held[cheeks]).mean():.2f} with it")
    assert hair.sum() > 2000
    assert np.abs(free[hair]).mean() > 3                        # the network brightens the fringe ...
    assert np.abs(held[hair]).mean() < 1.0                      # ... held back: the hair keeps its colour
    assert abs(np.abs(held[cheeks]).mean() - np.abs(plain[cheeks]).mean()) < 0.25 * np.abs(plain[cheeks]).mean() + 0.2
