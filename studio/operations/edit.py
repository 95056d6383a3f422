"""Expression edits: presets and coefficients on top of the face's own expression, or removal."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from studio.errors import StudioError
from studio.face.image_io import Photo
from studio.face.mesh import LEFT_IRIS, MOUTH, N_SURFACE, RIGHT_IRIS
from studio.geometry.face_controls import displacement, touches_eyes
from studio.geometry.face_parts import SHAPE_PARTS, part_weights
from studio.geometry.pose import HeadPose, head_centre, turn_points
from studio.geometry.reshape import reshape_face
from studio.geometry.shading import Lighting, relight
from studio.operations.recipe import EditRecipe
from studio.operations.studio import GENERATOR, AnalyzedPhoto, Studio

MIN_MOVE_PX = 0.5   # a face that moves less than this is left exactly as it was


@dataclass(frozen=True)
class EditResult:
    photo: Photo
    p: np.ndarray            # the expression coefficients the face was given
    target: np.ndarray       # 478x3 target landmarks in the photo's pixels (turned, if the head turns)


def target_landmarks(studio: Studio, analyzed: AnalyzedPhoto, face_index: int, p: np.ndarray,
                     pose: HeadPose = HeadPose(), controls: dict[str, float] | None = None,
                     parts: tuple[str, ...] = ()) -> np.ndarray:
    """478x3 photo pixels of face `face_index` with expression p on its own neutral shape s0_I,
    the part controls added, the head turned by `pose` about the centre of the head as
    photographed. With `parts`, the expression changes only those parts (and the head turns
    only with "pose" among them)."""
    face, fit = analyzed.face(face_index)
    shape = fit.neutral + studio.model.displacement(p)    # with p = fit.p: the photo's own shape
    if parts:
        own = fit.normalized
        shape = own + part_weights(own, parts)[:, None] * (shape - own)
    if controls:
        shape = shape + displacement(shape, controls)
    target = fit.similarity.invert(shape)
    if parts and "pose" not in parts:
        pose = HeadPose()
    return target if pose.is_zero else turn_points(target, pose, head_centre(face.points))


def render_expression(studio: Studio, analyzed: AnalyzedPhoto, face_index: int, p: np.ndarray,
                      pixels: np.ndarray | None = None, pose: HeadPose = HeadPose(),
                      controls: dict[str, float] | None = None, parts: tuple[str, ...] = ()) -> EditResult:
    """The photo (or `pixels`, an already edited copy) with face `face_index` given expression p,
    the part `controls`, and its head turned by `pose`, in one warp (`parts`: only those)."""
    face, fit = analyzed.face(face_index)
    if parts and "pose" not in parts:
        pose = HeadPose()
    expression = target_landmarks(studio, analyzed, face_index, p, controls=controls, parts=parts)
    target = expression if pose.is_zero else turn_points(expression, pose, head_centre(face.points))
    # the pixels move further than the landmarks, so that the landmarks found again reach the target
    moved = studio.tracking.warp_target(face.points, expression)
    warp_target = moved if pose.is_zero else turn_points(moved, pose, head_centre(face.points))
    source = analyzed.photo.pixels() if pixels is None else pixels
    # The eye controls redraw the irises round, looking where the gaze puts them (after any turn).
    # Otherwise an eye whose lids open wider is redrawn with its iris where the eye's corners carry
    # it (the warp alone tears a widened eye's iris down the middle); one the warp narrows keeps
    # the warp's squeezed iris, which MediaPipe reads as narrowed, unless its lids drag the iris
    # off the eyeball (geometry.eyes).
    controlled = bool(controls) and touches_eyes(controls)
    if controlled:
        looks = expression if pose.is_zero else turn_points(expression, pose, head_centre(face.points))
        irises = looks[[RIGHT_IRIS[0], LEFT_IRIS[0]], :2]
    else:
        irises = warp_target[[RIGHT_IRIS[0], LEFT_IRIS[0]], :2]
    out = reshape_face(source, face.points, warp_target, studio.warp, None if pose.is_zero else studio.surface,
                       None if studio.mouths is None else studio.mouths.interior, irises, widened_only=not controlled)
    removed = 0.0
    # an edit kept off the mouth keeps the mouth's pixels (the generators redraw the mouth), and
    # the expression's creases are drawn only for the whole face
    mouth_too = not parts or "mouth" in parts
    whole = not parts or set(SHAPE_PARTS) <= set(parts)
    # ... and only a mouth that moves: an eye or brow control leaves the mouth's pixels alone
    if (studio.backend == GENERATOR and mouth_too
            and np.abs(expression[MOUTH, :2] - face.points[MOUTH, :2]).max() >= MIN_MOVE_PX):
        from studio.synthesis.generators import REMOVAL, SYNTHESIS
        from studio.synthesis.refine import ChangeLimits, add_crop_change, refine_face

        # towards the neutral face: the removal generator; otherwise the synthesis one
        direction = REMOVAL if np.linalg.norm(p) < 0.5 * np.linalg.norm(fit.p) else SYNTHESIS
        # the teeth of an opened mouth are the mouth stage's (a painted cavity is the generator's)
        limits = ChangeLimits(shade_only_inside_mouth=studio.mouths is not None)
        out = refine_face(out, warp_target, studio.generators, direction, limits)
        removed = removed_share(p, fit.p) if studio.neutralizer is not None else 0.0
        if removed > 0:
            # the own expression's creases fade out as far as the edit takes the expression away
            out = add_crop_change(out, warp_target, studio.neutralizer.size, studio.neutralizer.change, removed)
    if studio.appearance is not None and whole:
        # after the warp and the generators, on the face's new geometry (and pose); what the
        # neutralizer took away is not taken away twice. The part controls' movement, in the
        # expression basis, brings its creases too (raised brows line the forehead)
        moved_by_controls = controls_p(studio, fit, p, controls)
        out = studio.appearance.apply(out, warp_target, np.asarray(p) + moved_by_controls - (1.0 - removed) * fit.p)
    return EditResult(Photo.from_pixels(out, analyzed.photo.icc), p, target)


def controls_p(studio: Studio, fit, p: np.ndarray, controls: dict[str, float] | None) -> np.ndarray:
    """The part controls' movement of the face with expression p, projected on the expression
    basis (orthonormal rows): the coefficients whose creases the appearance model draws for it."""
    if not controls:
        return np.zeros_like(np.asarray(p, dtype=np.float64))
    shape = fit.neutral + studio.model.displacement(p)
    moved = displacement(shape, controls)
    moved[N_SURFACE:] = 0.0          # a gaze turns the eyeball: no skin moves, no crease
    return studio.model.expression_basis @ moved.ravel()


def removed_share(p: np.ndarray, own: np.ndarray) -> float:
    """How far the expression p takes the face's own expression `own` away, 0..1: the share of
    `own` that p no longer has (projected; the basis is orthonormal, so this is in shape units),
    and only as far as p is also smaller than `own`: an edit that gives a face a larger expression
    of another kind (a preset on a neutral photo) removes nothing, it draws a new one."""
    norm = float(own @ own)
    if norm <= 0:
        return 0.0
    p = np.asarray(p, dtype=np.float64)
    gone = np.clip(1.0 - float(p @ own) / norm, 0.0, 1.0)
    return float(gone * np.clip(1.0 - float(p @ p) / norm, 0.0, 1.0))


def target_p(studio: Studio, analyzed: AnalyzedPhoto, recipe: EditRecipe) -> np.ndarray:
    """Where the recipe takes the face's expression coefficients."""
    _, fit = analyzed.face(recipe.face)
    base = np.zeros_like(fit.p) if recipe.remove else fit.p
    delta = studio.model.compose(recipe.presets, recipe.coefficients)
    if not recipe.remove and not delta.any():
        return fit.p  # nothing asked: exactly the face's own expression
    return studio.model.clamp_around(base + delta, fit.p)


def final_landmarks(studio: Studio, analyzed: AnalyzedPhoto, recipe: EditRecipe) -> np.ndarray:
    """Where the recipe puts the face's 478 landmarks in the edited photo."""
    face, _ = analyzed.face(recipe.face)
    if not recipe.moves_face:
        return face.points
    return target_landmarks(studio, analyzed, recipe.face, target_p(studio, analyzed, recipe), recipe.pose,
                            recipe.controls, recipe.parts)


def edit(studio: Studio, analyzed: AnalyzedPhoto, recipe: EditRecipe) -> EditResult:
    """One face edited by its recipe (expression, head pose and the photo's light)."""
    photo = edit_faces(studio, analyzed, [recipe])
    return EditResult(photo, target_p(studio, analyzed, recipe), final_landmarks(studio, analyzed, recipe))


def remove_expression(studio: Studio, analyzed: AnalyzedPhoto, face_index: int = 0) -> EditResult:
    return edit(studio, analyzed, EditRecipe(face=face_index, remove=True))


def edit_faces(studio: Studio, analyzed: AnalyzedPhoto, recipes: list[EditRecipe]) -> Photo:
    """Several faces of one photo edited, one recipe each, in one result.

    Each face is warped from its own landmarks in the original photo; a warp leaves pixels outside
    its face's surroundings untouched, so the edits do not disturb one another.
    """
    faces = [r.face for r in recipes]
    if len(set(faces)) != len(faces):
        raise StudioError("each face can have only one recipe")
    light = photo_light(recipes)
    pixels = None
    landmarks = [face.points for face in analyzed.faces]
    for recipe in recipes:
        analyzed.face(recipe.face)  # a clear error for a face that is not there, even if unchanged
        if not recipe.moves_face:
            continue
        result = render_expression(studio, analyzed, recipe.face, target_p(studio, analyzed, recipe), pixels,
                                   recipe.pose, recipe.controls, recipe.parts)
        pixels = result.photo.pixels()
        landmarks[recipe.face] = result.target
    if not light.is_default:
        # After the faces have moved, so each is shaded by the normals of its new shape and pose.
        # The photo's own silhouette serves while no head turns (an expression leaves the hair and
        # shoulders where they are); a turned head moves its outline, so that photo is segmented anew.
        turned = any(not r.pose.is_zero for r in recipes if r.moves_face)
        person = studio.person(pixels, None) if turned and pixels is not None else \
            studio.person(analyzed.photo.pixels(), analyzed)
        pixels = analyzed.photo.pixels() if pixels is None else pixels
        pixels = relight(pixels, landmarks, studio.surface, light, person=person)
    return analyzed.photo if pixels is None else Photo.from_pixels(pixels, analyzed.photo.icc)


def photo_light(recipes: list[EditRecipe]) -> Lighting:
    """The one light of the photo the recipes edit: the recipes that set one must agree."""
    lights = {r.light for r in recipes if not r.light.is_default}
    if len(lights) > 1:
        raise StudioError("a photo has one light: these recipes set different lights for its faces")
    return lights.pop() if lights else Lighting()
