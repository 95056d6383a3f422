"""The ported face-api.js descriptor on real London photos: same person close, different people far."""

import itertools
import shutil
import time

import pytest
import torch

from studio.errors import StudioError
from studio.face.align import crop
from studio.synthesis.face_descriptor import (
    FaceDescriptorNet,
    chip_alignment,
    default_descriptor_dir,
)
from tests.conftest import PEOPLE

WEIGHTS = default_descriptor_dir()
if WEIGHTS is None:
    pytest.skip("no face_api_recognition weights (set STUDIO_FACE_DESCRIPTOR)", allow_module_level=True)

SAME_PERSON_MAX = 0.6  # face-api.js / dlib: the same person is below about 0.6


@pytest.fixture(scope="module")
def net():
    return FaceDescriptorNet.load(WEIGHTS)


def chip(analyzed, person: str, smiling: bool) -> torch.Tensor:
    a = analyzed(person, smiling)
    pixels = crop(a.photo.rgb, chip_alignment(a.faces[0].points, 150))
    return torch.from_numpy(pixels).permute(2, 0, 1).float() / 255.0


def test_same_person_close_different_people_far(net, analyzed):
    keys = [(p, smiling) for p in PEOPLE for smiling in (False, True)]
    with torch.no_grad():
        descriptors = net(torch.stack([chip(analyzed, *k) for k in keys]))
    assert descriptors.shape == (len(keys), 128) and torch.isfinite(descriptors).all()
    distance = torch.cdist(descriptors, descriptors)
    same, different = [], []
    for i, j in itertools.combinations(range(len(keys)), 2):
        name = f"{keys[i][0]}{'s' if keys[i][1] else 'n'}-{keys[j][0]}{'s' if keys[j][1] else 'n'}"
        (same if keys[i][0] == keys[j][0] else different).append((name, float(distance[i, j])))
    print("\nsame person (neutral-smiling):", ", ".join(f"{n} {d:.3f}" for n, d in same))
    print("different people:", ", ".join(f"{n} {d:.3f}" for n, d in different))
    assert all(d < SAME_PERSON_MAX for _, d in same), same
    assert all(d > SAME_PERSON_MAX for _, d in different), different


def test_differentiable_and_timed(net, analyzed):
    x = chip(analyzed, PEOPLE[0], False)[None].requires_grad_(True)
    net(x).norm().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    with torch.no_grad():
        net(x)  # warm-up
        start = time.perf_counter()
        net(x)
        print(f"\none 150px forward on CPU: {1000 * (time.perf_counter() - start):.1f} ms")


def test_missing_or_corrupt_weights(tmp_path):
    with pytest.raises(StudioError):
        FaceDescriptorNet.load(tmp_path / "nowhere")
    for f in WEIGHTS.iterdir():
        shutil.copy(f, tmp_path / f.name)
    shard = next(tmp_path.glob("*.bin"))
    shard.write_bytes(shard.read_bytes()[:-100])  # truncated download
    with pytest.raises(StudioError):
        FaceDescriptorNet.load(tmp_path)
