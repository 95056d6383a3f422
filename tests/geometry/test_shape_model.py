import numpy as np
import pytest

from studio.errors import StudioError
from studio.geometry.shape_model import EXPRESSIONS, ShapeModel
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
