from studio.operations.controls import Controls
from studio.operations.recipe import EditRecipe


def test_sliders_and_recipes_round_trip(studio):
    controls = Controls.for_model(studio.model)
    assert [s.key for s in controls.presets] == ["happiness", "sadness", "anger", "fear", "disgust", "surprise"]
    assert len(controls.components) == 6
    values = [0.5, 0, 0, 0, 0, 1.0] + [1.5, 0, -2.0, 0, 0, 0]
    recipe = controls.recipe(values, face=1, hidden={9: 0.4})
    assert recipe.face == 1 and recipe.presets == {"happiness": 0.5, "surprise": 1.0}
    first, third = controls.components[0], controls.components[2]
    assert recipe.coefficients == {first.index: first.sign * 1.5, third.index: third.sign * -2.0, 9: 0.4}
    assert controls.values(recipe) == values
    assert controls.hidden(recipe) == {9: 0.4}


def test_a_slider_at_zero_drops_its_coefficient(studio):
    controls = Controls.for_model(studio.model)
    start = EditRecipe(coefficients={controls.components[0].index: 1.0})
    moved = controls.recipe([0.0] * len(controls.all), hidden=controls.hidden(start))
    assert moved.coefficients == {} and moved.changes_nothing
