"""Preset calibration (studio.evaluation.preset_calibration): presets rescaled region by region until
the landmarks found again on their edits move as far as real photos of their class."""

from dataclasses import replace

import numpy as np
import pytest

from studio import paths
from studio.evaluation.preset_calibration import PresetCalibrationConfig, calibrate_presets, calibrate_strong_presets
from studio.geometry.build_shape_model import rescale_regions
from studio.geometry.shape_model import ShapeModel

pytestmark = pytest.mark.skipif(not (paths.faces_dir() / "manifest.csv").is_file(), reason="needs ../shared/data/faces")


def test_rescale_regions_scales_each_region_and_keeps_the_rest():
    model = ShapeModel.load(paths.SHAPE_MODEL_PATH)
    p = model.presets["surprise"]
    assert np.allclose(rescale_regions(model.mean, model.expression_basis, p, [1, 1, 1]), p, atol=1e-5)
    from studio.face.mesh import DRIVE_REGIONS
    brows = DRIVE_REGIONS["brows"]
    moved = lambda q: np.linalg.norm((q @ model.expression_basis).reshape(-1, 3)[brows], axis=1).mean()  # noqa: E731
    doubled = rescale_regions(model.mean, model.expression_basis, p, [2, 1, 1])
    assert 1.6 < moved(doubled) / moved(p) < 2.1


def test_one_round_brings_every_preset_closer_to_the_real_photos(studio):
    """On 3 training people, one round: the presets' re-detected movement over the median real
    photo's, per region, is nearer 1 after it than before (logs averaged over presets and regions)."""
    config = PresetCalibrationConfig(paths.faces_dir(), people=3, rounds=1, emphasis=(1.0,), strong_rounds=1)
    model, report = calibrate_presets(studio, config, log=lambda m: None)
    before, after = ([r[name]["moved_over_real"] for name in model.presets] for r in report["reach"])
    miss = lambda ratios: float(np.abs(np.log(np.array(ratios))).mean())  # noqa: E731
    print(f"\nmean |log(moved / real)|: {miss(before):.3f} -> {miss(after):.3f}")
    assert miss(after) < 0.6 * miss(before)
    assert model.info["preset_calibration"]["people"] == 3
    # full intensity: the regions that fell short of the strong photos get nearer them
    before, after = (np.array([r[name]["moved_over_strong"] for name in model.presets]) for r in report["strong"])
    short = before < 0.9
    shortfall = lambda ratios: float(np.abs(np.log(np.minimum(ratios[short], 1.0))).mean())  # noqa: E731
    print(f"strong: mean shortfall {shortfall(before):.3f} -> {shortfall(after):.3f} over {short.sum()} regions")
    assert short.sum() >= 2 and shortfall(after) < 0.7 * shortfall(before)
    assert model.strong_codes is not None
    # the shipped presets are calibrated, and their report says so
    shipped = ShapeModel.load(paths.SHAPE_MODEL_PATH).info.get("preset_calibration")
    assert shipped and shipped["people"] >= 24 and set(shipped["emphasis"]) == set(model.presets)
    assert set(shipped["strong_gains"]) == set(model.presets)
    # the strong stage alone (`--strong-only`) keeps the presets at 1 and the earlier stages' report
    again, report = calibrate_strong_presets(replace(studio, model=model), replace(config, strong_rounds=0),
                                             log=lambda m: None)
    assert np.array_equal(again.preset_codes, model.preset_codes)
    assert report["emphasis"] == model.info["preset_calibration"]["emphasis"]
    # strong photos are the more expressive face set's: never short of the pooled 90th percentile,
    # and fear's brows well past it (KDEF's fears raise them 1.6x as far as the Taiwanese set's)
    key = next(k for k in report["real_movement"]["fear"] if k.startswith("strong"))
    for moved in report["real_movement"].values():
        assert np.all(np.array(moved[key]) >= np.array(moved["p90"]) - 1e-4)
    fear = report["real_movement"]["fear"]
    assert fear[key][0] > 1.2 * fear["p90"][0]
