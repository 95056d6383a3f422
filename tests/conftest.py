"""Shared fixtures: real London photos (CC BY, see fixtures/london/README.md) and real models."""

from pathlib import Path

import numpy as np
import pytest

from studio.face.image_io import load_photo
from studio.face.mesh import N_SURFACE, interocular

FIXTURES = Path(__file__).parent / "fixtures" / "london"
PEOPLE = ("001", "002", "004", "012")


def fixture_path(person: str, smiling: bool = False) -> Path:
    return FIXTURES / f"{person}_{'08' if smiling else '03'}.jpg"


@pytest.fixture(scope="session")
def studio():
    from studio.operations.studio import Studio

    s = Studio.load()
    yield s
    s.close()


@pytest.fixture(scope="session")
def analyzed(studio):
    """Each fixture photo analysed once: {(person, smiling): AnalyzedPhoto}."""
    cache = {}

    def get(person: str, smiling: bool = False):
        key = (person, smiling)
        if key not in cache:
            cache[key] = studio.analyze(load_photo(fixture_path(person, smiling)))
        return cache[key]

    return get


def landmark_error(a: np.ndarray, b: np.ndarray, iod_of: np.ndarray) -> float:
    """Mean distance of the 468 surface points, as a fraction of the interocular distance."""
    return float(np.linalg.norm(a[:N_SURFACE, :2] - b[:N_SURFACE, :2], axis=1).mean() / interocular(iod_of))


PAIR = FIXTURES / "pair_001_012.jpg"   # two faces: 001 neutral (left), 012 smiling (right)
