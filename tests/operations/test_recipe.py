import json

import pytest

from studio.errors import StudioError
from studio.operations.recipe import EditRecipe


def test_round_trip():
    recipe = EditRecipe(face=1, remove=True, presets={"happiness": 0.7}, coefficients={2: -1.5})
    assert EditRecipe.from_dict(json.loads(recipe.to_json())) == recipe


@pytest.mark.parametrize("data,message", [
    ([], "JSON object"), ({"face": -1}, "non-negative"), ({"face": True}, "non-negative"),
    ({"remove": "yes"}, "true or false"), ({"presets": {"happiness": "lots"}}, "numbers"),
    ({"coefficients": {"x": 1}}, "integers"), ({"presets": {"a": float("nan")}}, "numbers"),
    ({"colour": 1}, "unknown fields"), ({"version": 9}, "not supported")])
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
