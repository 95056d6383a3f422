"""What `augment` draws a face's variants from: the sampling spec (JSON or YAML, validated against
SPEC_SCHEMA, every key optional), and the drawing itself.

A variant is one of: an expression preset at an intensity on the face's neutral shape (labelled
with it), the expression
removed (labelled neutral), or the photo's own expression kept (labelled with the source's label,
if it has one); any of them may also vary the face's shape components, turn the head and change
the light. Each variant's random stream is seeded by (seed, source, face, variant number), so a
run draws the same recipes whatever the number of workers or machines, and a rerun the same.
"""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from jsonschema import Draft202012Validator
from jsonschema.exceptions import best_match

from studio.errors import StudioError
from studio.geometry.pose import PITCH_LIMIT, ROLL_LIMIT, YAW_LIMIT, HeadPose
from studio.geometry.shading import LIGHT_PRESETS, light_preset
from studio.geometry.shape_model import EXPRESSIONS
from studio.operations.recipe import EditRecipe

MAX_INTENSITY = 1.5
KEPT = "kept"   # a variant that keeps the photo's own expression


def _number(minimum: float, maximum: float) -> dict:
    return {"type": "number", "minimum": minimum, "maximum": maximum}


SPEC_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "face-studio augment sampling spec",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "expressions": {"type": "object", "description": "preset -> relative weight of choosing it",
                        "propertyNames": {"enum": list(EXPRESSIONS)},
                        "additionalProperties": _number(0, 1e6)},
        "intensity": {"type": "array", "items": _number(0, MAX_INTENSITY), "minItems": 2, "maxItems": 2,
                      "description": "a preset's intensity is drawn uniformly from [low, high]"},
        "removal": {**_number(0, 1), "description": "share of variants with the expression removed"},
        "keep": {**_number(0, 1), "description": "share of variants keeping the photo's own expression"},
        "components": {"type": "object", "additionalProperties": False,
                       "properties": {"count": {"type": "integer", "minimum": 0, "maximum": 20},
                                      "sigma": _number(0, 3)},
                       "description": "the first `count` shape components moved by a normal step of `sigma`"},
        "pose": {"type": "object", "additionalProperties": False,
                 "properties": {"probability": _number(0, 1), "yaw": _number(0, YAW_LIMIT),
                                "pitch": _number(0, PITCH_LIMIT), "roll": _number(0, ROLL_LIMIT)},
                 "description": "with this probability the head turns, each angle uniform within +-its limit"},
        "light": {"type": "object", "additionalProperties": False,
                  "properties": {"probability": _number(0, 1),
                                 "presets": {"type": "array", "minItems": 1, "uniqueItems": True,
                                             "items": {"enum": list(LIGHT_PRESETS)}}},
                  "description": "with this probability one of the light presets"},
    },
}


@dataclass(frozen=True)
class SamplingSpec:
    expressions: dict[str, float] = field(default_factory=lambda: {e: 1.0 for e in EXPRESSIONS})
    intensity: tuple[float, float] = (0.6, 1.3)
    removal: float = 0.15
    keep: float = 0.1
    components: int = 0
    component_sigma: float = 0.5
    pose_probability: float = 0.5
    yaw: float = 25.0
    pitch: float = 10.0
    roll: float = 5.0
    light_probability: float = 0.3
    lights: tuple[str, ...] = ("weak", "left", "right", "top")

    def __post_init__(self):
        low, high = self.intensity
        if low > high:
            raise StudioError(f"spec 'intensity' is [low, high]; got [{low:g}, {high:g}]")
        if self.removal + self.keep > 1:
            raise StudioError("spec 'removal' and 'keep' are shares of the variants: together at most 1")
        if self.removal + self.keep < 1 and not any(self.expressions.values()):
            raise StudioError("spec 'expressions' gives every preset weight 0, so only 'removal' and 'keep' "
                              "variants can be drawn: make them add up to 1, or weigh a preset")

    @staticmethod
    def from_dict(data) -> "SamplingSpec":
        errors = list(Draft202012Validator(SPEC_SCHEMA).iter_errors(data))
        if errors:
            error = best_match(errors)
            where = "/".join(str(p) for p in error.absolute_path) or "the spec"
            raise StudioError(f"sampling spec: {where}: {error.message}")
        pose, light, comps = data.get("pose", {}), data.get("light", {}), data.get("components", {})
        base = SamplingSpec()
        return SamplingSpec(
            expressions=dict(data.get("expressions", base.expressions)),
            intensity=tuple(data.get("intensity", base.intensity)),
            removal=data.get("removal", base.removal), keep=data.get("keep", base.keep),
            components=comps.get("count", base.components), component_sigma=comps.get("sigma", base.component_sigma),
            pose_probability=pose.get("probability", base.pose_probability), yaw=pose.get("yaw", base.yaw),
            pitch=pose.get("pitch", base.pitch), roll=pose.get("roll", base.roll),
            light_probability=light.get("probability", base.light_probability),
            lights=tuple(light.get("presets", base.lights)))

    def to_dict(self) -> dict:
        return {"expressions": self.expressions, "intensity": list(self.intensity), "removal": self.removal,
                "keep": self.keep, "components": {"count": self.components, "sigma": self.component_sigma},
                "pose": {"probability": self.pose_probability, "yaw": self.yaw, "pitch": self.pitch,
                         "roll": self.roll},
                "light": {"probability": self.light_probability, "presets": list(self.lights)}}


def load_spec(path: str | Path | None) -> SamplingSpec:
    """The spec in a .json, .yaml or .yml file; None: the defaults."""
    if path is None:
        return SamplingSpec()
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise StudioError(f"no such spec file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise StudioError(f"cannot read the spec {path.name}: {exc}") from None
    if path.suffix.lower() in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise StudioError(f"spec {path.name} is not valid YAML: {str(exc).splitlines()[0]}") from None
    else:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StudioError(f"spec {path.name} is not valid JSON: {exc.msg} at line {exc.lineno}") from None
    return SamplingSpec.from_dict({} if data is None else data)


@dataclass(frozen=True)
class Variant:
    recipe: EditRecipe
    expression: str | None      # the label it was given (None: kept, and the source has none)
    light: str                  # the light preset's name, "as photographed" when unchanged


def variant_rng(seed: int, source: str, face: int, number: int) -> np.random.Generator:
    return np.random.default_rng([seed, zlib.crc32(source.encode()), face, number])


def draw(spec: SamplingSpec, rng: np.random.Generator, face: int, source_label: str | None) -> Variant:
    """One variant's recipe and label."""
    kind = rng.random()
    presets, remove, label = {}, False, source_label
    if kind < spec.removal:
        remove, label = True, "neutral"
    elif kind >= spec.removal + spec.keep:
        names = [n for n, w in spec.expressions.items() if w > 0]
        weights = np.array([spec.expressions[n] for n in names], float)
        name = names[int(rng.choice(len(names), p=weights / weights.sum()))]
        # from the face's neutral (its own expression removed), so a smiling photo made sad reads sad
        presets, remove, label = {name: round(float(rng.uniform(*spec.intensity)), 3)}, True, name
    coefficients = {i: round(float(rng.normal(0, spec.component_sigma)), 3) for i in range(spec.components)}
    pose = HeadPose()
    if rng.random() < spec.pose_probability:
        pose = HeadPose(*(round(float(rng.uniform(-lim, lim)), 2) for lim in (spec.yaw, spec.pitch, spec.roll)))
    light_name = "as photographed"
    recipe_light = light_preset("normal")
    if spec.lights and rng.random() < spec.light_probability:
        light_name = spec.lights[int(rng.integers(len(spec.lights)))]
        recipe_light = light_preset(light_name)
    recipe = EditRecipe(face=face, remove=remove, presets=presets, coefficients=coefficients, pose=pose,
                        light=recipe_light)
    return Variant(recipe, label, light_name)
