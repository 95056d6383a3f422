"""The edit's controls as a person sees them (named sliders) and the recipe they stand for.

Preset sliders are intensities 0..1.5. Component sliders step one expression coefficient in
standard deviations (-3..3), oriented so that + shows the effect in the slider's name. Part
control sliders (eyes, brows, mouth: geometry.face_controls) are the recipe's `controls`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from studio.geometry.expression_effects import component_effects
from studio.geometry.face_controls import CONTROLS, GROUPS, Control
from studio.geometry.pose import PITCH_LIMIT, ROLL_LIMIT, YAW_LIMIT, HeadPose
from studio.geometry.shading import (
    AMBIENT_RANGE,
    AZIMUTH_LIMIT,
    ELEVATION_LIMIT,
    INTENSITY_RANGE,
    TEMPERATURE_RANGE,
    Lighting,
)
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
    rest: float = 0.0  # the value that changes nothing
    step: float = 0.05
    info: str = ""    # the technical name, for a tooltip: the label is in plain words


# Head pose and light: sliders that rest where they change nothing (in HeadPose's and Lighting's
# field order).
POSE_SLIDERS = (
    Slider("yaw", "Turn (+ nose to the image's left)", -YAW_LIMIT, YAW_LIMIT, step=1.0, info="yaw, degrees"),
    Slider("pitch", "Nod (+ chin down)", -PITCH_LIMIT, PITCH_LIMIT, step=1.0, info="pitch, degrees"),
    Slider("roll", "Tilt (+ clockwise)", -ROLL_LIMIT, ROLL_LIMIT, step=1.0, info="roll, degrees"),
)
LIGHT_SLIDERS = (
    Slider("azimuth", "Light from (+ the image's right)", -AZIMUTH_LIMIT, AZIMUTH_LIMIT, step=5.0,
           info="azimuth, degrees"),
    Slider("elevation", "Light height (+ above)", -ELEVATION_LIMIT, ELEVATION_LIMIT, step=5.0,
           info="elevation, degrees"),
    Slider("intensity", "Light intensity", *INTENSITY_RANGE, rest=Lighting().intensity),
    Slider("ambient", "Ambient light", *AMBIENT_RANGE, rest=Lighting().ambient),
    Slider("temperature", "Colour temperature (K)", *TEMPERATURE_RANGE, rest=Lighting().temperature, step=100.0),
)


@dataclass(frozen=True)
class Controls:
    presets: tuple[Slider, ...]
    components: tuple[Slider, ...]

    @staticmethod
    def for_model(model: ShapeModel, components: int = COMPONENT_SLIDERS) -> "Controls":
        presets = tuple(Slider(name, name, 0.0, MAX_INTENSITY) for name in EXPRESSIONS if name in model.presets)
        named = tuple(Slider(f"pc{e.index}", e.label[:1].upper() + e.label[1:], -CLAMP_SIGMAS, CLAMP_SIGMAS,
                             e.index, e.sign,
                             info=f"shape model component {e.index + 1}, in standard deviations")
                      for e in component_effects(model, components))
        return Controls(presets, named)

    @property
    def all(self) -> tuple[Slider, ...]:
        """The expression sliders."""
        return self.presets + self.components

    @property
    def part_controls(self) -> tuple[Control, ...]:
        """The part controls' sliders, group by group (eyes, brows, mouth), as the page shows them."""
        return tuple(c for group in GROUPS for c in CONTROLS if c.group == group)

    def with_controls(self, recipe: EditRecipe, values: list[float]) -> EditRecipe:
        """`recipe` with the part control sliders' values (in `part_controls` order)."""
        if len(values) != len(self.part_controls):
            raise ValueError(f"expected {len(self.part_controls)} part control values, got {len(values)}")
        return replace(recipe, controls={c.name: float(v or 0.0) for c, v in zip(self.part_controls, values)})

    def control_values(self, recipe: EditRecipe) -> list[float]:
        """The part control sliders' positions that show a recipe."""
        return [recipe.controls.get(c.name, 0.0) for c in self.part_controls]

    @property
    def scene(self) -> tuple[Slider, ...]:
        """The head pose and light sliders."""
        return POSE_SLIDERS + LIGHT_SLIDERS

    def with_scene(self, recipe: EditRecipe, values: list[float]) -> EditRecipe:
        """`recipe` with the pose and light sliders' values (in `scene` order)."""
        if len(values) != len(self.scene):
            raise ValueError(f"expected {len(self.scene)} pose and light values, got {len(values)}")
        values = [s.rest if v is None else float(v) for s, v in zip(self.scene, values)]
        return replace(recipe, pose=HeadPose(*values[:len(POSE_SLIDERS)]),
                       light=Lighting(*values[len(POSE_SLIDERS):]))

    def scene_values(self, recipe: EditRecipe) -> list[float]:
        pose, light = recipe.pose, recipe.light
        return [pose.yaw, pose.pitch, pose.roll, light.azimuth, light.elevation, light.intensity,
                light.ambient, light.temperature]

    def recipe(self, values: list[float], face: int = 0, remove: bool = False,
               hidden: dict[int, float] | None = None, scene: EditRecipe | None = None) -> EditRecipe:
        """Slider values (in `all` order) as a recipe; `hidden` keeps coefficients with no slider,
        and what `scene` holds beyond the expression sliders (pose, light, part controls and the
        parts the edit is limited to) is kept."""
        if len(values) != len(self.all):
            raise ValueError(f"expected {len(self.all)} slider values, got {len(values)}")
        values = [float(v or 0.0) for v in values]
        presets = {s.key: v for s, v in zip(self.presets, values) if v}
        coefficients = dict(hidden or {})
        for slider, value in zip(self.components, values[len(self.presets):]):
            coefficients.pop(slider.index, None)
            if value:
                coefficients[slider.index] = slider.sign * value
        recipe = EditRecipe(face=face, remove=remove, presets=presets, coefficients=coefficients)
        if scene is None:
            return recipe
        return replace(recipe, pose=scene.pose, light=scene.light, controls=scene.controls, parts=scene.parts)

    def values(self, recipe: EditRecipe) -> list[float]:
        """The slider positions that show a recipe."""
        presets = [recipe.presets.get(s.key, 0.0) for s in self.presets]
        components = [s.sign * recipe.coefficients.get(s.index, 0.0) for s in self.components]
        return presets + components

    def hidden(self, recipe: EditRecipe) -> dict[int, float]:
        """A recipe's coefficients that have no slider (kept when the sliders move)."""
        shown = {s.index for s in self.components}
        return {k: v for k, v in recipe.coefficients.items() if k not in shown}
