"""eval-augment's pieces on the London fixtures: the variants `augment` makes for the recogniser
carry the right labels and crops, the rare set keeps the common classes whole, and a recogniser
trains and is scored on them."""

import numpy as np

from studio.evaluation.augment_gain import GainConfig, make_variants_for, rare_subset, train_and_score
from studio.face.image_io import load_photo
from studio.recognition.expression import CLASSES, gray_crop
from studio.recognition.train_expression import Examples
from tests.conftest import FIXTURES


def london(studio, people, size=64) -> Examples:
    crops, points, labels, subjects, files = [], [], [], [], []
    for person in people:
        for suffix, label in (("03", "neutral"), ("08", "happiness")):
            name = f"{person}_{suffix}.jpg"
            analyzed = studio.analyze(load_photo(FIXTURES / name))
            crops.append(gray_crop(analyzed.photo.rgb, analyzed.faces[0].points, size))
            points.append(analyzed.faces[0].points.astype(np.float32))
            labels.append(CLASSES.index(label))
            subjects.append(person)
            files.append(name)
    return Examples(np.stack(crops), np.stack(points), np.array(labels), tuple(subjects), tuple(files))


def test_variants_for_the_recogniser_and_a_recogniser_trained_on_them(studio, tmp_path):
    real = london(studio, ["001", "002"])
    config = GainConfig(FIXTURES, work_dir=tmp_path, from_neutral=6, from_expression=2, epochs=1)
    variants, sources = make_variants_for(studio.with_backend("geometry"), real, config, tmp_path / "v", seed=0,
                                          log=lambda *_: None)
    assert len(variants.labels) == len(sources) >= 14          # 2 neutral x 6 + 2 smiles x 2, all found again
    assert variants.crops.shape[1:] == (64, 64) and variants.points.shape[1:] == (478, 3)
    from_neutral = {CLASSES[label] for label, s in zip(variants.labels, sources) if s.endswith("_03.jpg")}
    from_smile = {CLASSES[label] for label, s in zip(variants.labels, sources) if s.endswith("_08.jpg")}
    assert len(from_neutral) >= 3 and "neutral" not in from_neutral       # neutral photos into the classes
    assert from_smile <= {"neutral", "happiness"}                        # smiles removed, or kept as smiles
    assert set(variants.subjects) == {"001", "002"}
    # the rare set: every neutral and happy photo stays; here, with no other class, nothing is lost
    assert len(rare_subset(real, ["001", "002"], 1, np.random.default_rng(0)).labels) == len(real.labels)
    test = london(studio, ["004", "012"])
    table = train_and_score(real, test, test, config, tmp_path / "run", seed=0, log=lambda *_: None)
    assert table["images"] == 4 and set(table["per_class"]) == set(CLASSES) and 0 <= table["accuracy"] <= 1
