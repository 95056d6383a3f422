"""Model weights as safetensors files: named arrays plus text metadata (JSON where structured),
read whole and written beside the target then renamed over it, so a crash never leaves half a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from studio.errors import StudioError


def read_weights(path: str | Path, missing: str) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """(arrays, metadata) of a weights file; `missing`: the message when there is no such file."""
    from safetensors import safe_open

    path = Path(path)
    if not path.is_file():
        raise StudioError(missing)
    with safe_open(str(path), framework="numpy") as f:
        return {k: f.get_tensor(k) for k in f.keys()}, dict(f.metadata() or {})


def write_weights(tensors: dict[str, np.ndarray], meta: dict[str, str], path: str | Path) -> Path:
    from safetensors.numpy import save_file

    tmp = Path(path).with_suffix(".tmp")
    save_file({k: np.ascontiguousarray(v) for k, v in tensors.items()}, str(tmp), metadata=meta)
    tmp.replace(path)
    return Path(path)
