"""dlib's face descriptor (the optional eval dependency) on real London faces."""

import numpy as np
import pytest

pytest.importorskip("dlib")

from studio.face.image_io import load_photo  # noqa: E402
from studio.recognition.identity import THRESHOLD, IdentityModel  # noqa: E402
from tests.conftest import PAIR, fixture_path  # noqa: E402


@pytest.fixture(scope="module")
def identity():
    return IdentityModel.load()


def describe(identity, person, smiling=False):
    return identity.descriptor(load_photo(fixture_path(person, smiling)).rgb)


def test_same_person_across_expressions_and_different_people(identity):
    a, a_smile, b = describe(identity, "001"), describe(identity, "001", True), describe(identity, "012")
    assert a.shape == (128,)
    assert identity.distance(a, describe(identity, "001")) == 0.0
    assert identity.distance(a, a_smile) < THRESHOLD < identity.distance(a, b)
    assert identity.same_person(a, a_smile) and not identity.same_person(a, b)


def test_picks_the_face_in_the_box_and_finds_none_in_a_blank(identity):
    pair = load_photo(PAIR).rgb   # 001 on the left, 012 on the right
    w = pair.shape[1]
    left = identity.descriptor(pair, (0, 0, w // 2, pair.shape[0]))
    right = identity.descriptor(pair, (w // 2, 0, w, pair.shape[0]))
    assert identity.same_person(left, describe(identity, "001"))
    assert identity.same_person(right, describe(identity, "012", True))
    assert identity.descriptor(np.full((200, 200, 3), 128, np.uint8)) is None
