"""A recipe holds every parameter of an edit as JSON, so the same edit can be applied again."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from studio.errors import StudioError

RECIPE_VERSION = 1


@dataclass(frozen=True)
class EditRecipe:
    face: int = 0
    remove: bool = False                                          # start from the neutral s0_I
    presets: dict[str, float] = field(default_factory=dict)      # name -> intensity 0..1.5
    coefficients: dict[int, float] = field(default_factory=dict)  # index -> step in RMS units

    def to_json(self) -> str:
        data = {"version": RECIPE_VERSION, **asdict(self)}
        data["coefficients"] = {str(k): v for k, v in self.coefficients.items()}
        return json.dumps(data, indent=2, sort_keys=True)

    @staticmethod
    def from_dict(data) -> "EditRecipe":
        if not isinstance(data, dict):
            raise StudioError("recipe must be a JSON object")
        unknown = set(data) - {"version", "face", "remove", "presets", "coefficients"}
        if unknown:
            raise StudioError(f"recipe has unknown fields: {', '.join(sorted(unknown))}")
        if data.get("version", RECIPE_VERSION) != RECIPE_VERSION:
            raise StudioError(f"recipe version {data.get('version')} is not supported (expected {RECIPE_VERSION})")
        face, remove = data.get("face", 0), data.get("remove", False)
        presets, coefficients = data.get("presets", {}), data.get("coefficients", {})
        if not isinstance(face, int) or isinstance(face, bool) or face < 0:
            raise StudioError("recipe 'face' must be a non-negative integer")
        if not isinstance(remove, bool):
            raise StudioError("recipe 'remove' must be true or false")
        if not isinstance(presets, dict) or not isinstance(coefficients, dict):
            raise StudioError("recipe 'presets' and 'coefficients' must be JSON objects")
        try:
            presets = {str(k): _number(v) for k, v in presets.items()}
            coefficients = {int(k): _number(v) for k, v in coefficients.items()}
        except (TypeError, ValueError):
            raise StudioError("recipe values must be numbers, and coefficient keys integers") from None
        return EditRecipe(face, remove, presets, coefficients)

    @staticmethod
    def load(path: str | Path) -> "EditRecipe":
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise StudioError(f"cannot read recipe {path}: {exc.strerror or exc}") from None
        try:
            return EditRecipe.from_dict(json.loads(text))
        except json.JSONDecodeError as exc:
            raise StudioError(f"recipe {path} is not valid JSON ({exc.msg}, line {exc.lineno})") from None


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a number")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return value
