"""Component names must say what the component does to a real face, measured after re-detection."""

import pytest

from studio.geometry.expression_effects import (
    EFFECT_WORDS,
    component_effects,
    measure_effects,
)
from studio.operations.edit import render_expression


def test_names_are_distinct_and_oriented(studio):
    effects = component_effects(studio.model, 6)
    assert len({e.label for e in effects}) == 6
    for e in effects:
        main = max(e.strengths, key=lambda k: abs(e.strengths[k]))
        assert e.strengths[main] > 0                      # + shows the named effect
        assert e.label.startswith(EFFECT_WORDS[main][0])  # and the name starts with it


@pytest.mark.parametrize("person", ["002", "012"])
def test_named_effect_appears_on_the_redetected_face(studio, analyzed, person):
    a = analyzed(person)
    face, fit = a.face(0)
    model = studio.model
    before = measure_effects(model.normalize(face.points)[0])
    for e in component_effects(model, 6):
        main = max(e.strengths, key=lambda k: abs(e.strengths[k]))
        p = fit.p.copy()
        p[e.index] += e.sign * 2.0 * model.expression_std[e.index]
        out = render_expression(studio, a, 0, p).photo
        found = studio.analyzer.detect(out.rgb)[0].points
        after = measure_effects(model.normalize(found)[0])
        expected = measure_effects(fit.neutral + model.displacement(p))[main] - \
            measure_effects(fit.neutral + model.displacement(fit.p))[main]
        change = after[main] - before[main]
        # the change seen on the photo goes the named way and is at least a third of the planned one
        assert change > expected / 3 > 0, (e.label, main, change, expected)
