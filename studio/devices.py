"""Where the networks run: the best accelerator present (CUDA, then Apple's MPS), else the CPU.

Everything else (landmarks, the warp, the appearance model) runs on the CPU whatever is chosen;
only the torch networks (generators, neutralizer, expression recognizer, training) move.
"""

from __future__ import annotations

import os

from studio.errors import StudioError

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")
DEVICE_HELP = "where the networks run: auto (CUDA, then Apple's MPS, else the CPU; the default), cpu, cuda or mps"


def _available() -> dict[str, bool]:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return {"cpu": True, "cuda": torch.cuda.is_available(), "mps": bool(mps and mps.is_available())}


def choose_device(name: str = "auto") -> str:
    """A torch device name for `name` (one of DEVICE_CHOICES); a clear StudioError when the asked
    accelerator is not here, rather than torch's own message at the first network call."""
    if name not in DEVICE_CHOICES:
        raise StudioError(f"unknown device '{name}'; choose from {', '.join(DEVICE_CHOICES)}")
    available = _available()
    if name == "auto":
        return "cuda" if available["cuda"] else "mps" if available["mps"] else "cpu"
    if not available[name]:
        import torch

        build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "CPU only"
        raise StudioError(f"--device {name}: no {'CUDA GPU' if name == 'cuda' else 'Apple GPU (MPS)'} here "
                          f"(torch {torch.__version__}, built for {build}); use --device auto or cpu")
    return name


def describe_device(device: str) -> str:
    """One line for people: which device, and what it is."""
    import torch

    if device.startswith("cuda"):
        props = torch.cuda.get_device_properties(torch.device(device))
        return f"cuda ({props.name}, {props.total_memory / 2**30:.0f} GiB; torch {torch.__version__})"
    if device == "mps":
        return f"mps (Apple GPU; torch {torch.__version__})"
    return f"cpu ({os.cpu_count()} cores, {torch.get_num_threads()} torch threads; torch {torch.__version__})"
