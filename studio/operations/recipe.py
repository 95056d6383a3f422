"""A recipe holds every parameter of an edit as JSON, so the same edit can be applied again."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from studio.errors import StudioError
from studio.geometry.pose import HeadPose
from studio.geometry.shading import Lighting

RECIPE_VERSION = 1


@dataclass(frozen=True)
class EditRecipe:
    face: int = 0
    remove: bool = False                                          # start from the neutral s0_I
    presets: dict[str, float] = field(default_factory=dict)      # name -> intensity 0..1.5
    coefficients: dict[int, float] = field(default_factory=dict)  # index -> step in RMS units
    pose: HeadPose = field(default_factory=HeadPose)              # head turn, degrees
    light: Lighting = field(default_factory=Lighting)             # the photo's light (one per photo)

    @property
    def changes_expression(self) -> bool:
        return self.remove or any(self.presets.values()) or any(self.coefficients.values())

    @property
    def moves_face(self) -> bool:
        """The face's landmarks move (its expression or head pose changes); a light alone does not."""
        return self.changes_expression or not self.pose.is_zero

    @property
    def changes_nothing(self) -> bool:
        return not self.moves_face and self.light.is_default

    def to_dict(self) -> dict:
        data = {"version": RECIPE_VERSION, **asdict(self)}
        data["coefficients"] = {str(k): v for k, v in self.coefficients.items()}
        # Left out when unchanged, so expression-only recipes read as they always have.
        for name, default in (("pose", HeadPose()), ("light", Lighting())):
            if getattr(self, name) == default:
                del data[name]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @staticmethod
    def from_dict(data) -> "EditRecipe":
        if not isinstance(data, dict):
            raise StudioError("recipe must be a JSON object")
        unknown = set(data) - {"version", "face", "remove", "presets", "coefficients", "pose", "light"}
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
        pose = _section(data.get("pose", {}), "pose", HeadPose)
        light = _section(data.get("light", {}), "light", Lighting)
        return EditRecipe(face, remove, presets, coefficients, pose, light)

    @staticmethod
    def load(path: str | Path) -> "EditRecipe":
        recipes = load_recipes(path)
        if len(recipes) != 1:
            raise StudioError(f"recipe {path} edits {len(recipes)} faces; expected one")
        return recipes[0]


def recipes_to_json(recipes: list[EditRecipe]) -> str:
    """One face: a plain recipe object. Several: {"version": 1, "faces": [recipe, ...]}."""
    if len(recipes) == 1:
        return recipes[0].to_json()
    faces = [{k: v for k, v in r.to_dict().items() if k != "version"} for r in recipes]
    return json.dumps({"version": RECIPE_VERSION, "faces": faces}, indent=2, sort_keys=True)


def recipes_from_dict(data) -> list[EditRecipe]:
    if isinstance(data, dict) and "faces" in data:
        if set(data) - {"version", "faces"}:
            raise StudioError("a recipe with 'faces' may only have 'version' beside it")
        if data.get("version", RECIPE_VERSION) != RECIPE_VERSION:
            raise StudioError(f"recipe version {data.get('version')} is not supported (expected {RECIPE_VERSION})")
        if not isinstance(data["faces"], list) or not data["faces"]:
            raise StudioError("recipe 'faces' must be a non-empty list")
        recipes = [EditRecipe.from_dict(item) for item in data["faces"]]
        if len({r.face for r in recipes}) != len(recipes):
            raise StudioError("recipe lists the same face twice")
        return recipes
    return [EditRecipe.from_dict(data)]


def load_recipes(path: str | Path) -> list[EditRecipe]:
    """A recipe file: one face's recipe, or several faces' recipes of one photo."""
    try:
        text = Path(path).read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise StudioError(f"cannot read recipe {Path(path).name}: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        return recipes_from_dict(json.loads(text))
    except json.JSONDecodeError as exc:
        raise StudioError(f"recipe {Path(path).name} is not valid JSON ({exc.msg}, line {exc.lineno})") from None


def _section(data, name: str, kind):
    """A JSON object of numbers as the dataclass `kind` (which checks the ranges)."""
    allowed = set(kind.__dataclass_fields__)
    if not isinstance(data, dict):
        raise StudioError(f"recipe '{name}' must be a JSON object with {', '.join(sorted(allowed))}")
    unknown = set(data) - allowed
    if unknown:
        raise StudioError(f"recipe '{name}' has unknown fields: {', '.join(sorted(unknown))}")
    try:
        return kind(**{k: _number(v) for k, v in data.items()})
    except (TypeError, ValueError):
        raise StudioError(f"recipe '{name}' values must be numbers") from None


def _number(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("not a number")
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return value
