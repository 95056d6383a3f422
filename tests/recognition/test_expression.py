"""The expression recognizer: accuracy on people it never saw, on the real weights; training resumes
exactly; the weights file round-trips."""

from pathlib import Path

import numpy as np
import pytest

from studio import paths
from studio.errors import StudioError
from studio.face.image_io import load_photo
from studio.recognition.expression import (
    CLASSES,
    ExpressionRecognizer,
    RecognizerConfig,
)
from studio.recognition.train_expression import (
    TRAIN_DATASETS,
    TrainConfig,
    accuracy_table,
    build_examples,
    load_split,
    train_member,
)
from tests.conftest import PEOPLE, fixture_path

needs_weights = pytest.mark.skipif(not paths.RECOGNIZER_PATH.is_file(), reason="no recognizer weights")
needs_faces = pytest.mark.skipif(not (paths.faces_dir() / "manifest.csv").is_file(), reason="no face sets")


@pytest.fixture(scope="module")
def recognizer():
    return ExpressionRecognizer.load(paths.RECOGNIZER_PATH)


@needs_weights
@needs_faces
def test_recognizer_beats_chance_by_far_on_the_test_people(recognizer):
    """Seven classes: chance is 14.3%. On ~200 test photos a guesser passes 25% with probability
    below 1e-4, so 60% overall (over 4x chance) can only come from learnt expressions; and every
    class must be recognised at least twice as often as chance, so no class is given up."""
    split = load_split(paths.WEIGHTS_DIR / "g2gan_split.json")
    examples = build_examples(paths.faces_dir(), TRAIN_DATASETS, recognizer.config.size, None,
                              people=split["test"], log=lambda *_: None)
    table = accuracy_table(recognizer, examples)
    assert table["people"] == len(split["test"]) and table["images"] > 150
    assert table["accuracy"] > 0.60, table
    assert min(table["per_class"].values()) > 2 / len(CLASSES), table["per_class"]


@needs_weights
def test_recognizer_tells_neutral_from_smiling_london_faces(recognizer, studio):
    """Another photographer's faces (never trained on; 72% on the whole London set, see the card):
    each fixture person's smile raises happiness over their neutral photo, and the top class is
    right for at least 7 of the 8 photos."""
    right = 0
    for person in PEOPLE:
        happiness = {}
        for smiling, expected in ((False, "neutral"), (True, "happiness")):
            photo = load_photo(fixture_path(person, smiling))
            probs = recognizer.probabilities(photo.rgb, studio.analyzer.detect(photo.rgb)[0].points)
            assert abs(sum(probs.values()) - 1) < 1e-4
            right += max(probs, key=probs.get) == expected
            happiness[smiling] = probs["happiness"]
        assert happiness[True] > happiness[False] + 0.2, (person, happiness)
    assert right >= 7


@needs_weights
def test_weights_round_trip_with_both_parts(recognizer, analyzed, tmp_path):
    path = tmp_path / "r.safetensors"
    recognizer.save(path)
    again = ExpressionRecognizer.load(path)
    crops = np.random.default_rng(0).integers(0, 255, (3, recognizer.config.size, recognizer.config.size), np.uint8)
    points = np.stack([analyzed(p).faces[0].points for p in PEOPLE[:3]])
    assert np.allclose(again.log_probabilities(crops, points), recognizer.log_probabilities(crops, points), atol=1e-6)
    assert again.info == recognizer.info and again.shape_weight == recognizer.shape_weight > 0
    # the landmarks do count: the same crops with other faces' landmarks are judged differently
    assert not np.allclose(recognizer.log_probabilities(crops, points), recognizer.log_probabilities(crops, points[::-1]))


def test_loading_other_files_fails_clearly(tmp_path):
    with pytest.raises(StudioError, match="no expression recognizer"):
        ExpressionRecognizer.load(tmp_path / "missing.safetensors")
    with pytest.raises(StudioError, match="not an expression recognizer"):
        ExpressionRecognizer.load(paths.SHAPE_MODEL_PATH)


@needs_faces
def test_training_resumes_exactly(tmp_path):
    """Two epochs straight, or one epoch, a stop, and one more: the same weights."""
    examples = build_examples(paths.faces_dir(), ("london",), 32, None, log=lambda *_: None)
    tiny = RecognizerConfig(size=32, widths=(4, 8, 8, 8))

    def run(folder: Path, stop_after=None):
        config = TrainConfig(faces_dir=paths.faces_dir(), run_dir=folder, recognizer=tiny, epochs=2, batch=8)
        folder.mkdir(exist_ok=True)
        return train_member(config, examples, seed=3, log=lambda *_: None, stop_after=stop_after)

    straight = run(tmp_path / "a")
    run(tmp_path / "b", stop_after=1)
    resumed = run(tmp_path / "b")
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items()):
        assert np.allclose(a.numpy(), b.numpy(), atol=1e-6), name
    # and training did something: the weights moved from their start
    fresh = run(tmp_path / "c", stop_after=0)
    assert not np.allclose(fresh.state_dict()["head.1.weight"].numpy(), straight.state_dict()["head.1.weight"].numpy())
