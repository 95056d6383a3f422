"""Pose and light in recipes and edits: with an expression in one recipe, per face, as JSON."""

import json

import numpy as np
import pytest

from studio.errors import StudioError
from studio.evaluation.pose_light import face_balance, shape_error
from studio.face.mesh import MOUTH_CORNERS, interocular
from studio.geometry.pose import HeadPose
from studio.geometry.shading import Lighting, light_preset
from studio.operations.edit import edit, edit_faces, final_landmarks
from studio.operations.recipe import EditRecipe, recipes_from_dict, recipes_to_json
from tests.conftest import PAIR


def test_recipes_carry_pose_and_light_as_json_and_old_recipes_read_as_before():
    recipe = EditRecipe(face=1, presets={"happiness": 0.8}, pose=HeadPose(yaw=12.5, roll=-3),
                        light=Lighting(azimuth=-40, ambient=0.3, temperature=5000))
    data = json.loads(recipe.to_json())
    assert data["pose"] == {"yaw": 12.5, "pitch": 0.0, "roll": -3}
    assert data["light"]["azimuth"] == -40 and data["light"]["temperature"] == 5000
    assert recipes_from_dict(data) == [recipe]
    plain = EditRecipe(presets={"sadness": 1.0})
    assert "pose" not in plain.to_dict() and "light" not in plain.to_dict()
    assert recipes_from_dict({"presets": {"sadness": 1.0}}) == [plain]
    assert EditRecipe(light=light_preset("normal")).changes_nothing
    assert not EditRecipe(pose=HeadPose(pitch=1)).changes_nothing


@pytest.mark.parametrize("data,message", [
    ({"pose": {"yaw": 90}}, "yaw must be within"),
    ({"pose": {"tilt": 5}}, 'recipe "pose" has unknown fields: "tilt"'),
    ({"pose": [1, 2]}, "'pose' must be a JSON object"),
    ({"light": {"azimuth": "left"}}, "'light' values must be numbers"),
    ({"light": {"ambient": -0.1}}, "ambient must be within"),
])
def test_bad_pose_or_light_in_a_recipe_is_a_clear_error(data, message):
    with pytest.raises(StudioError, match=message):
        recipes_from_dict(data)


def test_a_smile_a_turn_and_a_light_in_one_recipe(studio, analyzed):
    photo = analyzed("002")
    face = photo.faces[0]
    recipe = EditRecipe(presets={"happiness": 1.0}, pose=HeadPose(yaw=20), light=light_preset("left"))
    result = edit(studio, photo, recipe)
    found = studio.analyzer.detect(result.photo.rgb)[0].points
    # turned as asked ...
    yaw = studio.model.fit(found).yaw_pitch_roll()[0] - studio.model.fit(face.points).yaw_pitch_roll()[0]
    assert 12 < yaw < 24, yaw
    # ... smiling (the mouth widens against the eyes, which a turn alone narrows) ...
    turned_only = edit(studio, photo, EditRecipe(pose=HeadPose(yaw=20))).target

    def mouth(points):
        return np.linalg.norm(points[MOUTH_CORNERS[0], :2] - points[MOUTH_CORNERS[1], :2]) / interocular(points)

    assert mouth(found) > mouth(turned_only) + 0.08
    # ... with every landmark where the recipe puts it, and lit from the left
    assert shape_error(found, result.target) < 0.04
    assert np.allclose(final_landmarks(studio, photo, recipe), result.target)
    unlit = edit(studio, photo, EditRecipe(presets={"happiness": 1.0}, pose=HeadPose(yaw=20))).photo.rgb
    assert face_balance(result.photo.rgb, result.target) > 1.15 * face_balance(unlit, result.target)


def test_one_light_per_photo_for_several_faces(studio):
    from studio.face.image_io import load_photo

    photo = studio.analyze(load_photo(PAIR))
    light = light_preset("right")
    out = edit_faces(studio, photo, [EditRecipe(face=0, pose=HeadPose(yaw=-15), light=light),
                                     EditRecipe(face=1, light=light)]).rgb
    for face in photo.faces[1:]:   # face 1 only relit: darker on its image-left half than before
        assert face_balance(out, face.points) < 0.88 * face_balance(photo.photo.rgb, face.points)
    with pytest.raises(StudioError, match="a photo has one light"):
        edit_faces(studio, photo, [EditRecipe(face=0, light=light), EditRecipe(face=1, light=light_preset("left"))])
    # several faces' recipes with their light as one JSON file, read back the same
    recipes = [EditRecipe(face=0, pose=HeadPose(yaw=-15), light=light), EditRecipe(face=1, light=light)]
    assert recipes_from_dict(json.loads(recipes_to_json(recipes))) == recipes


def test_interpolation_turns_and_relights_step_by_step(studio, analyzed):
    from studio.operations.interpolate import interpolate

    photo = analyzed("001")
    recipe = EditRecipe(presets={"surprise": 1.0}, pose=HeadPose(yaw=-24), light=light_preset("right"))
    frames = interpolate(studio, photo, recipe, 3)
    assert (frames[0].photo.rgb == photo.photo.rgb).all()             # starts on the photo
    assert (frames[-1].photo.rgb == edit(studio, photo, recipe).photo.rgb).all()   # ends on the edit
    base = studio.model.fit(photo.faces[0].points).yaw_pitch_roll()[0]
    middle = studio.analyzer.detect(frames[1].photo.rgb)[0].points
    assert -16 < studio.model.fit(middle).yaw_pitch_roll()[0] - base < -7   # half way round
