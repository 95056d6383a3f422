"""The edit's controls as a person sees them (named sliders) and the recipe they stand for.

Preset sliders are intensities 0..1.5. Component sliders step one expression coefficient in
standard deviations (-3..3), oriented so that + shows the effect in the slider's name.
"""

from __future__ import annotations

from dataclasses import dataclass

from studio.geometry.expression_effects import component_effects
from studio.geometry.shape_model import (
    CLAMP_SIGMAS,
    EXPRESSIONS,
    MAX_INTENSITY,
    ShapeModel,
)
from studio.operations.recipe import EditRecipe

COMPONENT_SLIDERS = 6


@dataclass(frozen=True)
class Slider:
    key: str          # "happiness" or "pc0"
    label: str
    minimum: float
    maximum: float
    index: int = -1   # expression coefficient, for component sliders
    sign: int = 1     # slider value * sign = coefficient step


@dataclass(frozen=True)
class Controls:
    presets: tuple[Slider, ...]
    components: tuple[Slider, ...]

    @staticmethod
    def for_model(model: ShapeModel, components: int = COMPONENT_SLIDERS) -> "Controls":
        presets = tuple(Slider(name, name, 0.0, MAX_INTENSITY) for name in EXPRESSIONS if name in model.presets)
        named = tuple(Slider(f"pc{e.index}", f"PC{e.index + 1}: {e.label}", -CLAMP_SIGMAS, CLAMP_SIGMAS,
                             e.index, e.sign) for e in component_effects(model, components))
        return Controls(presets, named)

    @property
    def all(self) -> tuple[Slider, ...]:
        return self.presets + self.components

    def recipe(self, values: list[float], face: int = 0, remove: bool = False,
               hidden: dict[int, float] | None = None) -> EditRecipe:
        """Slider values (in `all` order) as a recipe; `hidden` keeps coefficients with no slider."""
        if len(values) != len(self.all):
            raise ValueError(f"expected {len(self.all)} slider values, got {len(values)}")
        values = [float(v or 0.0) for v in values]
        presets = {s.key: v for s, v in zip(self.presets, values) if v}
        coefficients = dict(hidden or {})
        for slider, value in zip(self.components, values[len(self.presets):]):
            coefficients.pop(slider.index, None)
            if value:
                coefficients[slider.index] = slider.sign * value
        return EditRecipe(face=face, remove=remove, presets=presets, coefficients=coefficients)

    def values(self, recipe: EditRecipe) -> list[float]:
        """The slider positions that show a recipe."""
        presets = [recipe.presets.get(s.key, 0.0) for s in self.presets]
        components = [s.sign * recipe.coefficients.get(s.index, 0.0) for s in self.components]
        return presets + components

    def hidden(self, recipe: EditRecipe) -> dict[int, float]:
        """A recipe's coefficients that have no slider (kept when the sliders move)."""
        shown = {s.index for s in self.components}
        return {k: v for k, v in recipe.coefficients.items() if k not in shown}
