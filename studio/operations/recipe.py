"""A recipe holds every parameter of an edit as JSON, so the same edit can be applied again."""

from __future__ import annotations

import json
import os
import stat
from dataclasses import asdict, dataclass, field
from pathlib import Path

from studio.errors import StudioError
from studio.geometry.face_controls import check_controls
from studio.geometry.face_parts import check_parts
from studio.geometry.pose import HeadPose
from studio.geometry.shading import Lighting
from studio.operations.recipe_schema import RECIPE_VERSION, check_recipe


@dataclass(frozen=True)
class EditRecipe:
    face: int = 0
    remove: bool = False                                          # start from the neutral s0_I
    presets: dict[str, float] = field(default_factory=dict)      # name -> intensity 0..1.5
    coefficients: dict[int, float] = field(default_factory=dict)  # index -> step in RMS units
    pose: HeadPose = field(default_factory=HeadPose)              # head turn, degrees
    light: Lighting = field(default_factory=Lighting)             # the photo's light (one per photo)
    controls: dict[str, float] = field(default_factory=dict)     # eyes, gaze, brows, lips (geometry.face_controls)
    parts: tuple[str, ...] = ()                                   # the edit only on these parts; (): all

    def __post_init__(self):
        # checked and normalised here, so every way a recipe is made (JSON, CLI, app) agrees
        object.__setattr__(self, "controls", check_controls(self.controls))
        object.__setattr__(self, "parts", check_parts(self.parts))

    @property
    def changes_expression(self) -> bool:
        return (self.remove or any(self.presets.values()) or any(self.coefficients.values())
                or bool(self.controls))

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
        data["parts"] = list(self.parts)
        # Left out when unchanged, so expression-only recipes read as they always have.
        for name, default in (("pose", HeadPose()), ("light", Lighting()), ("controls", {}), ("parts", ())):
            if getattr(self, name) == default:
                del data[name]
        return data

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @staticmethod
    def from_dict(data) -> "EditRecipe":
        check_recipe(data)
        return _face_recipe(data)

    @staticmethod
    def load(path: str | Path) -> "EditRecipe":
        recipes = load_recipes(path)
        if len(recipes) != 1:
            raise StudioError(f"recipe {path} edits {len(recipes)} faces; expected one")
        return recipes[0]


MAX_RECIPE_BYTES = 256_000   # a recipe for 32 faces is about 20 kB


def recipes_to_json(recipes: list[EditRecipe]) -> str:
    """One face: a plain recipe object. Several: {"version": 1, "faces": [recipe, ...]}."""
    if len(recipes) == 1:
        return recipes[0].to_json()
    faces = [{k: v for k, v in r.to_dict().items() if k != "version"} for r in recipes]
    return json.dumps({"version": RECIPE_VERSION, "faces": faces}, indent=2, sort_keys=True)


def recipes_from_dict(data) -> list[EditRecipe]:
    """Parsed JSON as recipes, after validating it against the recipe schema."""
    check_recipe(data)
    if "faces" not in data:
        return [_face_recipe(data)]
    recipes = [_face_recipe(item) for item in data["faces"]]
    if len({r.face for r in recipes}) != len(recipes):
        raise StudioError("recipe lists the same face twice")
    return recipes


def _face_recipe(data: dict) -> EditRecipe:
    """One face's recipe from JSON the schema has passed (so every value has the right type)."""
    try:
        presets = {k: _finite(v) for k, v in data.get("presets", {}).items()}
        coefficients = {int(k): _finite(v) for k, v in data.get("coefficients", {}).items()}
        pose = HeadPose(**{k: _finite(v) for k, v in data.get("pose", {}).items()})
        light = Lighting(**{k: _finite(v) for k, v in data.get("light", {}).items()})
        controls = {k: _finite(v) for k, v in data.get("controls", {}).items()}
    except (ValueError, OverflowError):   # inf or nan, or an integer too large for a float
        raise StudioError("recipe numbers must be finite") from None
    return EditRecipe(data.get("face", 0), data.get("remove", False), presets, coefficients, pose, light,
                      controls, tuple(data.get("parts", ())))


def load_recipes(path: str | Path) -> list[EditRecipe]:
    """A recipe file: one face's recipe, or several faces' recipes of one photo."""
    name = Path(path).name
    try:
        text = _read_recipe_bytes(path).decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise StudioError(f"recipe {name} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StudioError(f"recipe {name} is not valid JSON ({exc.msg}, line {exc.lineno})") from None
    except RecursionError:
        raise StudioError(f"recipe {name} is nested too deeply; a recipe nests 4 levels") from None
    except ValueError:   # an integer of more digits than Python converts
        raise StudioError(f"recipe {name} holds a number too long to read") from None
    return recipes_from_dict(data)


def _read_recipe_bytes(path: str | Path) -> bytes:
    """At most MAX_RECIPE_BYTES of a regular file. Anything else (a folder, a FIFO, /dev/zero) is
    refused before it is read, and a file that grows while it is read is refused too."""
    name = Path(path).name
    too_large = StudioError(f"recipe {name} is larger than {MAX_RECIPE_BYTES // 1000} kB; "
                            "a recipe is a few hundred bytes")
    try:
        info = os.stat(path)
        if stat.S_ISDIR(info.st_mode):
            raise StudioError(f"recipe {name} is a folder, not a file")
        if not stat.S_ISREG(info.st_mode):
            raise StudioError(f"recipe {name} is not a regular file")
        if info.st_size > MAX_RECIPE_BYTES:
            raise too_large
        # O_NONBLOCK: should the path have become a FIFO since the stat, opening it does not hang
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0))
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                raise StudioError(f"recipe {name} is not a regular file")
            chunks, size = [], 0
            while size <= MAX_RECIPE_BYTES:
                chunk = os.read(fd, MAX_RECIPE_BYTES + 1 - size)
                if not chunk:
                    break
                chunks.append(chunk)
                size += len(chunk)
        finally:
            os.close(fd)
    except (OSError, ValueError) as exc:   # ValueError: a path holding a NUL byte
        raise StudioError(f"cannot read recipe {name}: {getattr(exc, 'strerror', None) or exc}") from None
    if size > MAX_RECIPE_BYTES:
        raise too_large
    return b"".join(chunks)


def _finite(value) -> float:
    value = float(value)
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError("not finite")
    return value
