"""Saving and loading training state as safetensors (never pickle): modules, optimisers, step.

An optimiser's state dict is nested; its tensors are flattened to "name/state/i/key" entries and
everything else (param groups, scalars) goes to the JSON metadata. Module and optimiser names
must differ (they prefix the keys).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file


def save_state(path: Path, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer],
               meta: dict) -> None:
    tensors, extra = {}, {}
    for name, module in modules.items():
        for key, value in module.state_dict().items():
            tensors[f"{name}/{key}"] = value.detach().cpu().contiguous()
    for name, opt in optimizers.items():
        state = opt.state_dict()
        scalars = {}
        for index, entries in state["state"].items():
            for key, value in entries.items():
                if torch.is_tensor(value):
                    tensors[f"{name}/state/{index}/{key}"] = value.detach().cpu().contiguous()
                else:
                    scalars[f"{index}/{key}"] = value
        extra[name] = {"param_groups": state["param_groups"], "scalars": scalars}
    tmp = path.with_suffix(".tmp")
    save_file(tensors, str(tmp), metadata={"meta": json.dumps(meta), "optimizers": json.dumps(extra)})
    tmp.replace(path)   # a crash mid-save leaves the previous checkpoint intact


def load_state(path: Path, modules: dict[str, torch.nn.Module], optimizers: dict[str, torch.optim.Optimizer],
               device: torch.device) -> dict:
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        header = f.metadata()
    tensors = load_file(str(path), device=str(device))
    for name, module in modules.items():
        prefix = f"{name}/"
        module.load_state_dict({k[len(prefix):]: v for k, v in tensors.items() if k.startswith(prefix)})
    extra = json.loads(header["optimizers"])
    for name, opt in optimizers.items():
        state: dict[int, dict] = {}
        prefix = f"{name}/state/"
        for key, value in tensors.items():
            if key.startswith(prefix):
                index, entry = key[len(prefix):].split("/", 1)
                state.setdefault(int(index), {})[entry] = value
        for key, value in extra[name]["scalars"].items():
            index, entry = key.split("/", 1)
            state.setdefault(int(index), {})[entry] = value
        opt.load_state_dict({"state": state, "param_groups": extra[name]["param_groups"]})
    return json.loads(header["meta"])
