"""The app's session logic without a server: what each button and slider does to the edit."""

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest
from PIL import Image

from studio import paths
from studio.errors import StudioError
from studio.interfaces import app_session as sess
from studio.operations.recipe import EditRecipe
from tests.conftest import PAIR, fixture_path, landmark_error

HAPPY = EditRecipe(presets={"happiness": 1.0})


@pytest.fixture(scope="module")
def opened(studio):
    return sess.open_photo(studio, fixture_path("002"))


def test_open_keeps_the_analysis_and_refuses_photos_without_faces(studio, opened, tmp_path):
    assert opened.name == "002_03" and len(opened.analyzed.faces) == 1
    assert opened.result is None and opened.before.shape == (768, 768, 3)
    blank = tmp_path / "wall.png"
    Image.new("RGB", (400, 300), "gray").save(blank)
    with pytest.raises(StudioError, match="no face found in wall.png"):
        sess.open_photo(studio, blank)


def test_one_drag_is_one_undo_step_and_undo_walks_back(studio, opened):
    s = opened
    for t, v in enumerate((0.2, 0.5, 0.8)):          # one drag: three moves 0.1 s apart
        s = sess.set_recipe(studio, s, EditRecipe(presets={"happiness": v}), now=100 + 0.1 * t)
    assert len(s.history) == 1 and s.recipe.presets == {"happiness": 0.8}
    s = sess.set_recipe(studio, s, EditRecipe(presets={"happiness": 0.8}, coefficients={0: 1.0}), now=100.3)
    assert len(s.history) == 2                         # another slider: a new step
    s = sess.set_recipe(studio, s, EditRecipe(presets={"happiness": 0.8}, coefficients={0: 2.0}), now=105)
    assert len(s.history) == 3                         # same slider, a later drag: a new step
    s = sess.undo(studio, s)
    assert s.recipe.coefficients == {0: 1.0}
    s = sess.undo(studio, sess.undo(studio, s))
    assert s.recipe.changes_nothing and s.history == ()
    assert np.array_equal(s.photo.rgb, opened.analyzed.photo.rgb)
    with pytest.raises(StudioError, match="nothing to undo"):
        sess.undo(studio, s)


def test_redo_brings_back_what_undo_took_until_a_new_change(studio, opened):
    s = sess.set_recipe(studio, opened, HAPPY, now=200)
    s = sess.set_recipe(studio, s, EditRecipe(presets={"happiness": 1.0, "surprise": 0.5}), now=210)
    edited = s.photo.rgb
    s = sess.undo(studio, sess.undo(studio, s))
    assert s.recipe.changes_nothing
    s = sess.redo(studio, s)
    assert s.recipe.presets == {"happiness": 1.0}
    s = sess.redo(studio, s)
    assert s.recipe.presets == {"happiness": 1.0, "surprise": 0.5} and np.array_equal(s.photo.rgb, edited)
    with pytest.raises(StudioError, match="nothing to redo"):
        sess.redo(studio, s)
    s = sess.set_recipe(studio, sess.undo(studio, s), EditRecipe(presets={"anger": 1.0}), now=220)
    with pytest.raises(StudioError, match="nothing to redo"):   # a new change ends the redo trail
        sess.redo(studio, s)
    assert sess.undo(studio, s).recipe.presets == {"happiness": 1.0}


def test_remove_reset_and_undo_of_reset(studio, opened):
    s = sess.set_recipe(studio, opened, HAPPY)
    edited = s.photo.rgb
    s = sess.remove_expression(studio, s)
    assert s.recipe.remove and not s.recipe.presets
    s = sess.reset(studio, s)
    assert np.array_equal(s.photo.rgb, opened.analyzed.photo.rgb) and "unedited" in s.describe()
    s = sess.undo(studio, sess.undo(studio, s))
    assert np.array_equal(s.photo.rgb, edited)


def test_each_face_keeps_its_own_recipe(studio):
    s = sess.open_photo(studio, PAIR)
    s = sess.set_recipe(studio, s, HAPPY)
    s = sess.select_face(s, 1)
    assert s.recipe.changes_nothing            # the second face starts unedited
    s = sess.remove_expression(studio, s)
    assert [r.face for r in s.edited] == [0, 1] and "2 faces edited" in s.describe()
    with pytest.raises(StudioError, match=r"there is no face 3 \(index 2\): the photo has 2 faces"):
        sess.select_face(s, 2)


def test_exported_photo_is_full_size_and_the_recipe_reproduces_it_in_the_cli(studio, tmp_path):
    s = sess.open_photo(studio, PAIR)
    s = sess.set_recipe(studio, s, EditRecipe(presets={"surprise": 0.8}, coefficients={1: -1.0}))
    s = sess.remove_expression(studio, sess.select_face(s, 1))
    photo = sess.export_photo(s, "PNG", tmp_path)
    jpeg = sess.export_photo(s, "JPEG", tmp_path)
    recipe = sess.export_recipe(s, tmp_path)
    assert photo.name == "pair_001_012_edited.png" and jpeg.suffix == ".jpg"
    exported = np.asarray(Image.open(photo))
    assert exported.shape == (576, 1152, 3) and Image.open(jpeg).size == (1152, 576)
    out = tmp_path / "cli.png"
    run = subprocess.run([sys.executable, "-m", "studio", "edit", str(PAIR), "-o", str(out), "--recipe", str(recipe)],
                         capture_output=True, text=True, cwd=paths.REPO_ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    assert np.array_equal(np.asarray(Image.open(out)), exported)   # the app and the CLI agree exactly


def test_a_loaded_recipe_edits_the_faces_it_names(studio, opened):
    s = sess.apply_recipes(studio, opened, [HAPPY])
    assert s.recipe == HAPPY and len(s.history) == 1
    found = studio.analyzer.detect(s.photo.rgb)[0].points
    source = opened.analyzed.faces[0].points
    assert landmark_error(found, source, source) > 0.02   # it visibly moved
    with pytest.raises(StudioError, match=r"there is no face 2 \(index 1\): the photo has 1 face"):
        sess.apply_recipes(studio, opened, [EditRecipe(face=1, remove=True)])


def test_export_refuses_unknown_formats(opened, tmp_path):
    with pytest.raises(StudioError, match="export format"):
        sess.export_photo(opened, "GIF", tmp_path)


def test_animation_and_transfer_files(studio, analyzed, opened, tmp_path):
    made = sess.make_animation(studio, opened, EditRecipe(presets={"surprise": 1.0}), 5, tmp_path)
    assert Image.open(made.strip).size[0] == 5 * Image.open(made.strip).size[1]
    assert Image.open(made.gif).n_frames == 8 and made.mp4.stat().st_size > 1000   # forth and back: 5 + 3
    assert made.summary.startswith("5 frames from start to end, 720x720 px") and "8 frames" in made.summary
    assert Image.open(made.gif).size == (720, 720)
    pictures = sess.transfer_pair(studio, analyzed("002"), analyzed("002", True), 0, 0, tmp_path)
    assert len(pictures.photos) == 6 and pictures.captions[2] == "A with B's expression"
    assert all(p.size == (768, 768) for p in pictures.photos)
    assert Image.open(pictures.grid).size[0] > 3 * 500


def test_export_folder_prunes_old_exports(tmp_path):
    folder = sess.ExportFolder(tmp_path, keep_seconds=0.0)
    first = folder.new()
    (first / "x.png").write_bytes(b"x")
    import os
    os.utime(first, (0, 0))
    folder.new()
    assert not first.exists()


def test_a_request_still_writing_keeps_its_export_folder(tmp_path):
    """A long animation writes its strip, then long after its GIF: neither the next export nor
    the server's sweep may take its folder meanwhile (they did, under load, mid-animation)."""
    import os
    import time

    from studio.interfaces.server_files import ServerFolders

    (tmp_path / "server").mkdir()
    server = ServerFolders.create(tmp_path / "server")
    exports = sess.ExportFolder(server.exports, keep_seconds=0.0)
    long_ago = (time.time() - 60,) * 2
    with exports.writing() as busy:
        (busy / "strip.png").write_bytes(b"x")
        os.utime(busy / "strip.png", long_ago)
        os.utime(busy, long_ago)
        exports.new()
        server.sweep(keep_s=1.0)
        assert (busy / "strip.png").exists()
        (busy / "anim.gif").write_bytes(b"y")
    assert sorted(p.name for p in busy.iterdir()) == ["anim.gif", "strip.png"]
    server.sweep(keep_s=30.0)   # handed over just now: kept for the pruning age from now
    assert (busy / "strip.png").exists()
    for p in (busy / "strip.png", busy / "anim.gif", busy):
        os.utime(p, long_ago)
    server.sweep(keep_s=1.0)
    assert not busy.exists() or not any(busy.iterdir())
    server.close()


def test_the_light_is_the_photos_and_pose_is_each_faces(studio):
    from studio.evaluation.pose_light import face_balance
    from studio.geometry.pose import HeadPose
    from studio.geometry.shading import light_preset

    s = sess.open_photo(studio, PAIR)
    lit = EditRecipe(light=light_preset("left"))
    s = sess.set_recipe(studio, s, lit)
    assert all(r.light == lit.light for r in s.recipes)          # both faces take the new light
    for face in s.analyzed.faces:
        assert face_balance(s.photo.rgb, face.points) > 1.15 * face_balance(s.analyzed.photo.rgb, face.points)
    s = sess.select_face(s, 1)
    s = sess.set_recipe(studio, s, EditRecipe(pose=HeadPose(yaw=15), light=lit.light))
    assert s.recipes[1].pose.yaw == 15 and s.recipes[0].pose.is_zero
    assert len(s.history) == 2
    s = sess.undo(studio, s)
    assert s.recipes[1].pose.is_zero and s.recipes[1].light == lit.light


def test_an_animation_can_start_from_the_current_edit_and_play_once(studio, opened, tmp_path):
    edited = sess.set_recipe(studio, opened, EditRecipe(presets={"happiness": 1.0}))
    start = sess.animation_start(edited, from_edit=True)
    made = sess.make_animation(studio, edited, EditRecipe(presets={"surprise": 1.0}), 4, tmp_path,
                               start=start, bounce=False)
    assert Image.open(made.gif).n_frames == 4 and "once" in made.summary
    # the first frame is the edit as the page shows it, the last the target
    first = studio.analyzer.detect(made.start)[0].points
    shown = studio.analyzer.detect(sess.after_preview(edited))[0].points
    scale = made.start.shape[1] / sess.after_preview(edited).shape[1]
    assert landmark_error(first, shown * scale, first) < 0.02
    photographed = studio.analyzer.detect(sess.after_preview(opened))[0].points * scale
    assert landmark_error(first, photographed, first) > 0.03
    with pytest.raises(StudioError, match="start and end on the same face"):
        sess.make_animation(studio, edited, edited.recipe, 4, tmp_path, start=start)


def _moved_control(controls, recipe, **values):
    """`recipe` with the part control sliders at `values` (the others at 0), as the page sends them."""
    return controls.with_controls(recipe, [values.get(c.name, 0.0) for c in controls.part_controls])


def test_one_drag_of_a_part_control_is_one_undo_step(studio, opened):
    from studio.operations.controls import Controls

    controls = Controls.for_model(studio.model)
    s = sess.set_recipe(studio, opened, HAPPY, now=300)
    for t, v in enumerate((0.3, 0.6, 1.0)):          # one drag of Blink: three moves 0.1 s apart
        s = sess.set_recipe(studio, s, _moved_control(controls, s.recipe, blink=v), now=301 + 0.1 * t)
    assert len(s.history) == 2 and s.recipe.controls == {"blink": 1.0}
    assert s.recipe.presets == {"happiness": 1.0}      # the preset stays
    s = sess.set_recipe(studio, s, _moved_control(controls, s.recipe, blink=1.0, gaze_x=0.5), now=301.3)
    assert len(s.history) == 3                         # another control: a new step
    s = sess.set_recipe(studio, s, _moved_control(controls, s.recipe, blink=0.5, gaze_x=0.5), now=301.4)
    assert len(s.history) == 4                         # back to Blink: a new step too
    assert controls.control_values(s.recipe)[[c.name for c in controls.part_controls].index("gaze_x")] == 0.5
    s = sess.undo(studio, s)
    assert s.recipe.controls == {"blink": 1.0, "gaze_x": 0.5}
    s = sess.undo(studio, sess.undo(studio, s))
    assert s.recipe == HAPPY


def test_the_parts_choice_is_kept_by_the_sliders_remove_and_undo(studio, opened, tmp_path):
    from studio.face.mesh import interocular
    from studio.operations.controls import Controls

    controls = Controls.for_model(studio.model)
    s = sess.set_recipe(studio, opened, HAPPY, now=400)
    whole = s.photo.rgb
    s = sess.set_recipe(studio, s, replace(s.recipe, parts=("eyes",)), now=400.2)
    s = sess.set_recipe(studio, s, replace(s.recipe, parts=("mouth",)), now=400.4)
    assert len(s.history) == 2 and s.recipe.parts == ("mouth",)   # boxes ticked in quick succession: one step
    # the smile on the mouth alone: the eyes stay as photographed (the whole face's smile narrows them)
    points, photo = opened.analyzed.faces[0].points, opened.analyzed.photo.rgb.astype(int)
    rows, cols = np.mgrid[:photo.shape[0], :photo.shape[1]]
    unit = interocular(points)
    eyes = np.hypot(cols - points[468, 0], rows - points[468, 1]) < 0.3 * unit
    eyes |= np.hypot(cols - points[473, 0], rows - points[473, 1]) < 0.3 * unit
    mouth = np.hypot(cols - points[13, 0], rows - points[13, 1]) < 0.4 * unit
    change = {name: np.abs(rgb.astype(int) - photo).max(axis=2)
              for name, rgb in (("mouth", s.photo.rgb), ("whole", whole))}
    assert change["mouth"][eyes].mean() < 0.5 < 5 < change["whole"][eyes].mean()
    assert change["mouth"][mouth].mean() > 0.8 * change["whole"][mouth].mean() > 10
    # an expression slider or a part control moved: the parts stay
    values = controls.values(s.recipe)
    values[0] = 0.5                                              # happiness
    s = sess.set_recipe(studio, s, controls.recipe(values, s.face, hidden=controls.hidden(s.recipe), scene=s.recipe))
    assert s.recipe.presets == {"happiness": 0.5} and s.recipe.parts == ("mouth",)
    s = sess.set_recipe(studio, s, _moved_control(controls, s.recipe, smile=0.5))
    assert s.recipe.controls == {"smile": 0.5} and s.recipe.parts == ("mouth",)
    s = sess.remove_expression(studio, s)
    assert s.recipe.remove and s.recipe.parts == ("mouth",)        # removal on the chosen parts too
    # an animation from the photo as it is ends on the chosen parts (both ends on the same ones)
    made = sess.make_animation(studio, s, replace(s.recipe, remove=False, presets={"surprise": 1.0}), 3, tmp_path)
    assert Image.open(made.gif).n_frames == 4
    for _ in range(4):
        s = sess.undo(studio, s)
    assert s.recipe == HAPPY and s.recipe.parts == ()              # undo brings the whole face back
