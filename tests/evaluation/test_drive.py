"""Drive: how much of a real expression's landmark movement an edit reproduces, per region."""

import numpy as np
import pytest

from studio.evaluation.drive import DRIVE_REGIONS, drive
from studio.evaluation.measure import nearest_face
from studio.operations.edit import render_expression
from studio.operations.transfer import expression_of
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


def test_reenacting_a_real_smile_reproduces_its_movement(studio, analyzed):
    """A neutral photo given the same person's real smile (G2-GAN's reenactment: B's expression
    measured from A, operations.transfer), re-detected: every region the smile moves is driven
    most of the way, and closer to all of it than when the smile is read from its photo alone."""
    measured, guessed = {}, {}
    for person in PEOPLE:
        neutral, smile = analyzed(person), analyzed(person, True)
        source, real = neutral.faces[0].points, smile.faces[0].points
        for store, p in ((measured, expression_of(studio.model, smile.fits[0], neutral.fits[0])),
                         (guessed, expression_of(studio.model, smile.fits[0]))):
            result = render_expression(studio, neutral, 0, p)
            found = nearest_face(studio.analyzer.detect(result.photo.rgb), result.target)
            assert found is not None, person
            store[person] = drive(found.points, source, real)
    for person in PEOPLE:
        print(f"\n{person} reenacted {({k: round(v, 2) for k, v in measured[person].items() if v is not None})}, "
              f"from the smile alone {({k: round(v, 2) for k, v in guessed[person].items() if v is not None})}")

    def median(rows, region):
        return np.median([r[region] for r in rows.values() if r[region] is not None])

    for region in ("eyes", "mouth"):
        assert median(measured, region) > 0.75, region

    def miss(rows):
        return np.mean([abs(v - 1) for r in rows.values() for v in r.values() if v is not None])

    assert miss(measured) < 0.8 * miss(guessed)   # measured 0.16 against 0.35
