"""Drive: how much of a real expression's landmark movement an edit reproduces, per region."""

import numpy as np
import pytest

from studio.evaluation.drive import DRIVE_REGIONS, drive
from studio.evaluation.measure import nearest_face
from studio.operations.edit import render_expression
from tests.conftest import PEOPLE


def test_the_real_photo_drives_fully_the_source_not_at_all(analyzed):
    source, real = analyzed("002").faces[0].points, analyzed("002", True).faces[0].points
    assert drive(real, source, real) == pytest.approx({k: 1.0 for k in DRIVE_REGIONS})
    assert drive(source, source, real) == pytest.approx({k: 0.0 for k in DRIVE_REGIONS}, abs=1e-9)
    halfway = source.copy()
    halfway[:, :2] = (source[:, :2] + real[:, :2]) / 2
    assert drive(halfway, source, real)["mouth"] == pytest.approx(0.5, abs=0.05)


def test_a_region_the_expression_leaves_still_has_no_drive(analyzed):
    source = analyzed("002").faces[0].points
    assert set(drive(source, source, source).values()) == {None}


def test_reenacting_a_real_smile_drives_the_mouth(studio, analyzed):
    """A neutral photo given the same person's real smile (G2-GAN's reenactment), re-detected.
    Smiles work; brows and eyes are where issue 16 starts (printed, the target's own drive too)."""
    rows = {}
    for person in PEOPLE:
        neutral, smile = analyzed(person), analyzed(person, True)
        source, real = neutral.faces[0].points, smile.faces[0].points
        result = render_expression(studio, neutral, 0, studio.model.clamp(smile.fits[0].p))
        found = nearest_face(studio.analyzer.detect(result.photo.rgb), result.target)
        assert found is not None, person
        rows[person] = (drive(found.points, source, real), drive(result.target, source, real))
    for person, (made, aimed) in rows.items():
        print(f"\n{person} drive of the edit {({k: round(v, 2) for k, v in made.items() if v is not None})}, "
              f"of its target {({k: round(v, 2) for k, v in aimed.items() if v is not None})}")
    assert np.mean([made["mouth"] for made, _ in rows.values()]) > 0.6
    assert min(made["mouth"] for made, _ in rows.values()) > 0.4
