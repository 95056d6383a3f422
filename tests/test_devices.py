"""Where the networks run (studio/devices.py): the best device present, a clear error for an absent
one, every network on the chosen device, and the same edit on a GPU as on the CPU."""

import numpy as np
import pytest
import torch

from studio.devices import choose_device, describe_device
from studio.errors import StudioError
from studio.operations.edit import edit
from studio.operations.recipe import EditRecipe
from studio.operations.studio import GENERATOR, Studio

HAS_CUDA = torch.cuda.is_available()
HAS_MPS = torch.backends.mps.is_available()


def networks(studio: Studio) -> dict[str, torch.nn.Module]:
    nets = {}
    if studio.generators is not None:
        nets |= {"synthesis": studio.generators.synthesis, "removal": studio.generators.removal}
    if studio.neutralizer is not None:
        nets["neutralizer"] = studio.neutralizer.net
    if studio.recognizer is not None:
        nets |= {f"recognizer {i}": net for i, net in enumerate(studio.recognizer.nets)}
    return nets


def test_auto_takes_the_best_device_present():
    assert choose_device("auto") == ("cuda" if HAS_CUDA else "mps" if HAS_MPS else "cpu")
    assert choose_device("cpu") == "cpu"


@pytest.mark.parametrize("name", [n for n, present in (("cuda", HAS_CUDA), ("mps", HAS_MPS)) if not present])
def test_an_absent_accelerator_is_refused_in_one_line(name):
    with pytest.raises(StudioError) as error:
        choose_device(name)
    message = str(error.value)
    assert message.startswith(f"--device {name}: no ") and torch.__version__ in message and "\n" not in message


def test_unknown_names_are_refused():
    with pytest.raises(StudioError, match="choose from auto, cpu, cuda, mps"):
        choose_device("tpu")


def test_describe_device_says_what_it_is():
    assert describe_device("cpu").startswith("cpu (") and "cores" in describe_device("cpu")


def test_every_network_is_on_the_chosen_device():
    studio = Studio.load(device="cpu")
    try:
        nets = networks(studio)
        assert studio.device == "cpu" and nets   # the shipped weights: generators, neutralizer, recognizer
        assert {str(p.device) for net in nets.values() for p in net.parameters()} == {"cpu"}
    finally:
        studio.close()


@pytest.mark.skipif(not (HAS_CUDA or HAS_MPS), reason="no GPU on this machine (the device tool lends one to some tasks)")
def test_a_gpu_edit_matches_the_cpu_edit(analyzed):
    """The generator edit, removal and the recognizer on the GPU, against the CPU: convolutions are
    summed in another order there, so equal within a few grey levels, not bit for bit."""
    gpu_name = "cuda" if HAS_CUDA else "mps"
    cpu, gpu = Studio.load(device="cpu"), Studio.load(device=gpu_name)
    try:
        nets = networks(gpu)
        assert {p.device.type for net in nets.values() for p in net.parameters()} == {gpu_name}
        photo = analyzed("002")
        for recipe in (EditRecipe(presets={"happiness": 1.0}), EditRecipe(presets={"surprise": 1.0}),
                       EditRecipe(remove=True)):
            a = edit(cpu.with_backend(GENERATOR), photo, recipe).photo.rgb.astype(int)
            b = edit(gpu.with_backend(GENERATOR), photo, recipe).photo.rgb.astype(int)
            difference = np.abs(a - b)
            assert difference.mean() < 0.05 and np.percentile(difference, 99.9) <= 3, recipe
        face, _ = photo.face(0)
        p_cpu = cpu.recognizer.probabilities(photo.photo.rgb, face.points)
        p_gpu = gpu.recognizer.probabilities(photo.photo.rgb, face.points)
        assert max(abs(p_cpu[k] - p_gpu[k]) for k in p_cpu) < 1e-3
    finally:
        cpu.close()
        gpu.close()
