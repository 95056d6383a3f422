import numpy as np
import pytest

from studio.errors import StudioError
from dataclasses import replace

from studio.geometry.build_shape_model import region_movement
from studio.geometry.shape_model import EXPRESSIONS, MAX_INTENSITY, ShapeModel
from tests.conftest import PEOPLE


def test_model_file_has_its_card_and_sane_bases(studio):
    model = studio.model
    heldout = model.info["heldout"]
    assert set(model.presets) == set(EXPRESSIONS)
    assert 3 <= model.n_identity <= 40 and 4 <= model.n_expression <= 60
    for basis in (model.identity_basis, model.expression_basis):
        assert np.allclose(basis @ basis.T, np.eye(len(basis)), atol=1e-4)
    assert heldout["removed_vs_own_neutral_iod"] < 0.7 * heldout["expression_vs_own_neutral_iod"]


def test_fit_with_own_p_reproduces_the_face_exactly(analyzed, studio):
    face, fit = analyzed("002").face(0)
    shape = studio.model.synthesize(fit.neutral, fit.p)
    back = fit.similarity.invert(shape)
    assert np.abs(back - face.points).max() < 1e-6


def test_smiles_are_read_as_happiness_and_fitted_p_points_the_same_way(analyzed, studio):
    happy = studio.model.presets["happiness"]
    for person in PEOPLE:
        smile = analyzed(person, smiling=True).fits[0]
        neutral = analyzed(person).fits[0]
        # The smile's p lies further along the happiness preset than the same person's neutral p.
        assert smile.p @ happy > neutral.p @ happy, person
    tops = [max(f.posterior, key=f.posterior.get) for f in (analyzed(p, True).fits[0] for p in PEOPLE)]
    assert tops.count("happiness") >= 3


def test_compose_validates_and_clamps(studio):
    model = studio.model
    with pytest.raises(StudioError, match="unknown preset"):
        model.compose({"smirk": 1.0})
    with pytest.raises(StudioError, match="0..1.5"):
        model.compose({"happiness": 2.0})
    with pytest.raises(StudioError, match="does not exist"):
        model.compose(coefficients={99: 1.0})
    assert np.allclose(model.compose({"surprise": 1.0}), model.presets["surprise"])
    huge = np.full(model.n_expression, 1e3)
    assert np.all(np.abs(model.clamp(huge)) <= 3 * model.expression_std + 1e-9)


def test_save_and_load_round_trip(tmp_path, studio):
    path = tmp_path / "m.safetensors"
    studio.model.save(path)
    loaded = ShapeModel.load(path)
    points = studio.model.mean * 100 + 300
    a, b = studio.model.fit(points), loaded.fit(points)
    assert np.allclose(a.p, b.p, atol=1e-4) and loaded.class_names == studio.model.class_names
    assert (loaded.strong_codes is None) == (studio.model.strong_codes is None)
    if loaded.strong_codes is not None:
        assert np.allclose(loaded.strong_codes, studio.model.strong_codes, atol=1e-5)


def test_a_preset_goes_straight_from_intensity_1_to_its_strong_version(studio):
    model = studio.model
    fear = model.presets["fear"]
    linear = replace(model, strong_codes=None)
    assert np.allclose(linear.compose({"fear": MAX_INTENSITY}), MAX_INTENSITY * fear)
    assert np.allclose(linear.compose({"fear": 0.5}), 0.5 * fear)
    strong = replace(model, strong_codes=np.stack([2.0 * v for v in model.presets.values()]))
    assert np.allclose(strong.compose({"fear": 0.5}), 0.5 * fear)
    assert np.allclose(strong.compose({"fear": 1.0}), fear)
    assert np.allclose(strong.compose({"fear": 1.25}), 1.5 * fear)
    assert np.allclose(strong.compose({"fear": MAX_INTENSITY}), 2.0 * fear)


def test_the_shipped_strong_presets_move_every_region_at_least_as_far_as_the_straight_line(studio):
    """From 1 to full intensity the slider only adds: each region of each strong preset moves at
    least MAX_INTENSITY x the preset's movement (and somewhere further, or it needs no strong form)."""
    model = studio.model
    assert model.strong_codes is not None
    further = 0
    for name, p in model.presets.items():
        straight = region_movement(model.displacement(MAX_INTENSITY * p).ravel())[0]
        strong = region_movement(model.displacement(model.strong_presets[name]).ravel())[0]
        assert np.all(strong >= 0.97 * straight), name
        further += int(np.any(strong > 1.05 * straight))
    assert further >= 2
