import json

import pytest

from studio.errors import StudioError
from studio.operations.recipe import EditRecipe


def test_round_trip():
    recipe = EditRecipe(face=1, remove=True, presets={"happiness": 0.7}, coefficients={2: -1.5})
    assert EditRecipe.from_dict(json.loads(recipe.to_json())) == recipe
    assert "controls" not in recipe.to_dict() and "parts" not in recipe.to_dict()   # old recipes read the same
    parts = EditRecipe(presets={"surprise": 1.0}, controls={"gaze_x": -0.5, "blink": 0.0}, parts=("mouth", "eyes"))
    assert parts.controls == {"gaze_x": -0.5} and parts.parts == ("eyes", "mouth")   # at rest dropped, in order
    assert EditRecipe.from_dict(json.loads(parts.to_json())) == parts
    assert parts.changes_expression and EditRecipe(controls={"smile": 1}).changes_expression


@pytest.mark.parametrize("data,message", [
    ([], "JSON object"), ({"face": -1}, "non-negative"), ({"face": True}, "non-negative"),
    ({"remove": "yes"}, "true or false"), ({"presets": {"happiness": "lots"}}, "numbers"),
    ({"coefficients": {"x": 1}}, "integers"), ({"presets": {"a": float("nan")}}, "numbers"),
    ({"colour": 1}, "unknown fields"), ({"version": 9}, "not supported"),
    ({"controls": {"wink": 1}}, "unknown fields"), ({"controls": {"blink": "yes"}}, "numbers"),
    ({"controls": {"blink": 3}}, "between 0 and 1"), ({"parts": ["nose"]}, "may hold only"),
    ({"parts": "eyes"}, "must be a list"), ({"parts": ["eyes", "eyes"]}, "twice")])
def test_invalid_recipes_are_refused(data, message):
    with pytest.raises(StudioError, match=message):
        EditRecipe.from_dict(data)


def test_unreadable_recipe_file(tmp_path):
    bad = tmp_path / "r.json"
    bad.write_text("{not json")
    with pytest.raises(StudioError, match="not valid JSON"):
        EditRecipe.load(bad)
    with pytest.raises(StudioError, match="cannot read"):
        EditRecipe.load(tmp_path / "missing.json")


def test_several_faces_round_trip_and_single_face_stays_plain(tmp_path):
    from studio.operations.recipe import load_recipes, recipes_to_json

    one = [EditRecipe(face=0, presets={"happiness": 1.0})]
    assert "faces" not in json.loads(recipes_to_json(one))
    two = one + [EditRecipe(face=1, remove=True)]
    path = tmp_path / "two.json"
    path.write_text(recipes_to_json(two))
    assert load_recipes(path) == two
    with pytest.raises(StudioError, match="edits 2 faces"):
        EditRecipe.load(path)


@pytest.mark.parametrize("data,message", [
    ({"faces": []}, "non-empty"), ({"faces": [{"face": 0}, {"face": 0}]}, "same face twice"),
    ({"faces": [{"face": 0}], "face": 1}, "only have 'version'"), ({"faces": [{"face": "x"}]}, "non-negative")])
def test_invalid_multi_face_recipes(data, message):
    from studio.operations.recipe import recipes_from_dict

    with pytest.raises(StudioError, match=message):
        recipes_from_dict(data)


def test_the_published_schema_is_the_one_recipes_are_checked_against():
    from jsonschema import Draft202012Validator

    from studio import paths
    from studio.operations.recipe_schema import RECIPE_SCHEMA, schema_json

    assert (paths.REPO_ROOT / "docs" / "recipe.schema.json").read_text() == schema_json()
    Draft202012Validator.check_schema(RECIPE_SCHEMA)
    validator = Draft202012Validator(RECIPE_SCHEMA)
    recipe = EditRecipe(face=1, presets={"happiness": 0.5}, coefficients={3: -1.0})
    assert validator.is_valid(json.loads(recipe.to_json()))
    assert not validator.is_valid({"face": 0, "colour": "red"})


def test_what_a_recipe_echoes_stays_on_one_line():
    from studio.operations.recipe import recipes_from_dict

    for data in ({"\n": None}, {"pose": {"tilt\nx": 1}}, {"version": "9\n" * 50}):
        with pytest.raises(StudioError) as caught:
            recipes_from_dict(data)
        assert "\n" not in str(caught.value) and len(str(caught.value)) < 120, str(caught.value)


# Any JSON text a recipe file may hold gives a recipe or one clean, ASCII line.
HOSTILE_TEXTS = {
    "huge integer": ('{"face": ' + "9" * 5000 + "}", "number too long to read"),
    "deep nesting": ("[" * 100000 + "]" * 100000, "nested too deeply"),
    "deep object": ('{"presets": ' * 50 + "1" + "}" * 50, "nested more than 8 levels"),
    "face 0.0": ('{"face": 0.0}', "'face' must be a non-negative integer"),
    "face 1.0": ('{"face": 1.0}', "'face' must be a non-negative integer"),
    "faces[0] 1.0": ('{"faces": [{"face": 1.0}]}', "'face' must be a non-negative integer"),
    "face true": ('{"face": true}', "'face' must be a non-negative integer"),
    "face huge": ('{"face": 1' + "0" * 40 + "}", "'face' must be at most 999999"),
    "coefficient key huge": ('{"coefficients": {"' + "9" * 400 + '": 1}}', "is not an index"),
    "inf": ('{"presets": {"happiness": 1e400}}', "must be finite"),
    "int as float overflows": ('{"pose": {"yaw": 1' + "0" * 400 + "}}", "must be finite"),
    "surrogate in an unknown field": ('{"\\ud800\\u001b[31m": 1}', "unknown fields"),
    "not UTF-8": ("\udcff{}", "not UTF-8"),
}


@pytest.mark.parametrize("case", sorted(HOSTILE_TEXTS))
def test_any_json_text_gives_one_clean_line(tmp_path, case):
    from studio.operations.recipe import load_recipes

    text, message = HOSTILE_TEXTS[case]
    path = tmp_path / "r.json"
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(StudioError, match=message) as caught:
        load_recipes(path)
    shown = str(caught.value)
    assert shown.isascii() and shown.isprintable() and len(shown) < 150, shown


def test_unknown_preset_names_are_quoted_escaped_and_cut_short():
    """Preset names are checked by the shape model; what its refusal echoes from a recipe is safe."""
    from studio import paths
    from studio.geometry.shape_model import ShapeModel
    from studio.operations.recipe import recipes_from_dict

    model = ShapeModel.load(paths.SHAPE_MODEL_PATH)
    for name in ("\ud800", "smirk\n\x1b[31mred", "x" * 5000, "é"):
        recipe = recipes_from_dict({"presets": {name: 1}})[0]   # any name is a valid recipe key
        for intensity in (1.0, 9.0):   # an unknown name is reported before its intensity is checked
            with pytest.raises(StudioError, match="unknown preset") as caught:
                model.compose({n: intensity for n in recipe.presets})
            shown = str(caught.value)
            assert shown.isascii() and shown.isprintable() and len(shown) < 150, shown
    with pytest.raises(StudioError, match=r"unknown preset 'smirk\\n\\x1b\[31mred'"):
        model.compose({"smirk\n\x1b[31mred": 1.0})


def test_python_values_a_caller_passes_are_refused_cleanly_too():
    from studio.operations.recipe import recipes_from_dict

    nested = []
    for _ in range(100000):
        nested = [nested]
    for data in ({"face": -(10 ** 5000)}, {"face": 10 ** 5000}, {"presets": {"happiness": 10 ** 400}}, nested,
                 {"face": 2.0}, {"\ud800": 1}):
        with pytest.raises(StudioError) as caught:
            recipes_from_dict(data)
        assert str(caught.value).isascii() and len(str(caught.value)) < 150, str(caught.value)


@pytest.mark.parametrize("kind", ["folder", "fifo", "device", "missing"])
def test_recipe_paths_that_are_not_regular_files_are_refused_unread(tmp_path, kind):
    import os

    from studio.operations.recipe import load_recipes

    path, message = {"folder": (tmp_path, "is a folder"), "fifo": (tmp_path / "fifo.json", "not a regular file"),
                     "device": ("/dev/zero", "not a regular file"),
                     "missing": (tmp_path / "nope.json", "cannot read recipe nope.json: No such file")}[kind]
    if kind == "fifo":
        os.mkfifo(path)   # opening it to read would wait for a writer forever
    with pytest.raises(StudioError, match=message):
        load_recipes(path)


def test_a_recipe_file_is_read_no_further_than_the_limit(tmp_path, monkeypatch):
    """A file that passes the size check and then grows (or lies about its size) is still refused."""
    import os

    from studio.operations import recipe as recipe_module

    path = tmp_path / "r.json"
    path.write_text('{"face": 0}' + " " * 300_000)
    real_stat = os.stat
    monkeypatch.setattr(recipe_module.os, "stat", lambda p, *a, **k: os.stat_result(
        real_stat(p)[:6] + (100,) + real_stat(p)[7:]))   # reports 100 bytes at the check
    with pytest.raises(StudioError, match="larger than 256 kB"):
        recipe_module.load_recipes(path)
    monkeypatch.undo()
    with pytest.raises(StudioError, match="larger than 256 kB"):
        recipe_module.load_recipes(path)
