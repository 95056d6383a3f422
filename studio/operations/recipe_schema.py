"""The JSON Schema every recipe is validated against before it is read (also written to
docs/recipe.schema.json for people writing recipes by hand).

The schema fixes the structure and the types; ranges (a yaw within 45 degrees, a preset intensity
within 0..1.5) are checked by the types the values become, which name their limits. Each node may
carry `messages` (keyword -> one-line message) so a refusal reads like the rest of the studio.
"""

from __future__ import annotations

import json

from jsonschema import Draft202012Validator, validators
from jsonschema.exceptions import best_match

from studio.errors import StudioError
from studio.geometry.face_controls import CONTROLS
from studio.geometry.face_parts import PARTS

RECIPE_VERSION = 1

_VERSION = {"const": RECIPE_VERSION,
            "messages": {"const": "recipe version {instance} is not supported (expected %d)" % RECIPE_VERSION}}


def _numbers(name: str, keys: tuple[str, ...]) -> dict:
    return {"type": "object", "additionalProperties": False,
            "properties": {k: {"type": "number", "messages": {"type": f"recipe '{name}' values must be numbers"}}
                           for k in keys},
            "messages": {"type": f"recipe '{name}' must be a JSON object with {', '.join(keys)}"}}


FACE_RECIPE = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": _VERSION,
        "face": {"type": "integer", "minimum": 0,
                 "messages": {k: "recipe 'face' must be a non-negative integer" for k in ("type", "minimum")}},
        "remove": {"type": "boolean", "messages": {"type": "recipe 'remove' must be true or false"}},
        "presets": {"type": "object",
                    "additionalProperties": {"type": "number",
                                             "messages": {"type": "recipe preset intensities must be numbers"}},
                    "messages": {"type": "recipe 'presets' must be a JSON object"}},
        "coefficients": {"type": "object",
                         "propertyNames": {"pattern": "^-?[0-9]+$",
                                           "messages": {"pattern": "recipe coefficient keys must be integers"}},
                         "additionalProperties": {"type": "number",
                                                  "messages": {"type": "recipe coefficient values must be numbers"}},
                         "messages": {"type": "recipe 'coefficients' must be a JSON object"}},
        "pose": _numbers("pose", ("yaw", "pitch", "roll")),
        "light": _numbers("light", ("azimuth", "elevation", "intensity", "ambient", "temperature")),
        "controls": _numbers("controls", tuple(c.name for c in CONTROLS)),
        "parts": {"type": "array", "uniqueItems": True,
                  "items": {"enum": list(PARTS), "messages": {"enum": "recipe 'parts' may hold only " + ", ".join(PARTS)}},
                  "messages": {"type": "recipe 'parts' must be a list of " + ", ".join(PARTS),
                               "uniqueItems": "recipe 'parts' names a part twice"}},
    },
    "messages": {"type": "recipe must be a JSON object"},
}

SEVERAL_FACES = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "version": _VERSION,
        "faces": {"type": "array", "minItems": 1, "items": FACE_RECIPE,
                  "messages": {k: "recipe 'faces' must be a non-empty list" for k in ("type", "minItems")}},
    },
    "messages": {"additionalProperties": "a recipe with 'faces' may only have 'version' beside it"},
}

RECIPE_SCHEMA = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "title": "Face studio edit recipe",
    "description": "One face's edit, or {\"faces\": [...]} for several faces of one photo.",
    "if": {"type": "object", "required": ["faces"]},
    "then": SEVERAL_FACES,
    "else": FACE_RECIPE,
}

# JSON Schema's "integer" takes any number with no fraction (0.0, 1.0); a recipe's integers must be
# written as integers, and a bool is never one.
_TYPES = Draft202012Validator.TYPE_CHECKER.redefine(
    "integer", lambda _checker, value: isinstance(value, int) and not isinstance(value, bool))
_VALIDATOR = validators.extend(Draft202012Validator, type_checker=_TYPES)(RECIPE_SCHEMA)
MAX_DEPTH = 8        # a recipe nests 4 deep ({"faces": [{"pose": {"yaw": 1}}]})
MAX_INDEX = 999_999  # face indexes and coefficient keys: a bound, so no message echoes a huge number


def check_recipe(data) -> None:
    """Raise a one-line StudioError if `data` (parsed JSON) is not a recipe's structure."""
    if _depth(data) > MAX_DEPTH:
        raise StudioError(f"recipe is nested more than {MAX_DEPTH} levels deep; a recipe nests 4")
    try:
        error = best_match(_VALIDATOR.iter_errors(data))
    except ValueError:  # the validator's own message printing an int longer than Python prints
        raise StudioError("recipe holds a number too long to read") from None
    if error is None:
        _check_indexes(data)
        return
    template = error.schema.get("messages", {}).get(error.validator) if isinstance(error.schema, dict) else None
    if template:
        raise StudioError(template.format(instance=_shown(error.instance)))
    where = "".join(f" {_shown(p)}" if isinstance(p, str) else f" [{p}]" for p in error.absolute_path)
    if error.validator == "additionalProperties":
        unknown = sorted(set(error.instance) - set(error.schema.get("properties", {})))
        raise StudioError(f"recipe{where} has unknown fields: {', '.join(_shown(u) for u in unknown[:5])}")
    raise StudioError(f"recipe{where}: {_shown(error.message)}")


def _depth(data) -> int:
    """How deep lists and objects nest in `data`, counted without recursion (stops past MAX_DEPTH)."""
    deepest, todo = 0, [(data, 1)]
    while todo:
        value, depth = todo.pop()
        if isinstance(value, (dict, list, tuple)):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                break
            todo.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _check_indexes(data) -> None:
    """Face indexes and coefficient keys the schema passed, bounded so messages stay short."""
    for recipe in data.get("faces", [data]):
        if recipe.get("face", 0) > MAX_INDEX:
            raise StudioError(f"recipe 'face' must be at most {MAX_INDEX}, got {_shown(recipe['face'])}")
        for key in recipe.get("coefficients", {}):
            if len(key.lstrip("-")) > len(str(MAX_INDEX)):
                raise StudioError(f"recipe coefficient key {_shown(key)} is not an index (at most {MAX_INDEX})")


def _shown(value, limit: int = 40) -> str:
    """Text from a recipe as it may appear in a message: strings quoted and ASCII-escaped (a key
    holding a newline, a terminal escape or a lone surrogate must not break the message's one
    line or the terminal), everything cut short."""
    try:
        text = json.dumps(value, ensure_ascii=True) if isinstance(value, str) else ascii(value)
    except (ValueError, RecursionError):  # an int too long to print, a structure nested too deep
        text = f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[:limit - 3] + "..."


def schema_json() -> str:
    """The schema as published in docs/recipe.schema.json."""
    return json.dumps(RECIPE_SCHEMA, indent=2) + "\n"
