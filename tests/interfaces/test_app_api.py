"""The app's endpoints through gradio_client against a real server (started by conftest)."""

import numpy as np
import pytest
from gradio_client import handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from studio.evaluation.drive import drive
from studio.face.image_io import load_photo
from studio.face.mesh import interocular
from studio.operations.controls import LIGHT_SLIDERS, POSE_SLIDERS, Controls
from studio.operations.edit import edit
from studio.operations.recipe import EditRecipe, load_recipes
from studio.recognition.expression import CLASSES
from tests.conftest import PAIR, fixture_path, landmark_error


def mouth_opening(points) -> float:
    """The gap between the inner lips' middles, in interocular distances."""
    return float(points[14, 1] - points[13, 1]) / interocular(points[:, :2])


def slider_values(studio, **values):
    """The /edit endpoint's arguments: every slider, in page order."""
    return [values.get(s.key, 0.0) for s in Controls.for_model(studio.model).all]


def test_upload_edit_export_full_resolution_with_landmarks_moved_as_asked(client, studio, analyzed):
    status = client.predict(handle_file(fixture_path("002")), api_name="/open_photo")
    edited = client.predict(*slider_values(studio, happiness=1.0), api_name="/edit")
    before, after = edited[0]
    assert Image.open(after).size == (768, 768)
    if studio.recognizer is not None:
        # the recognizer's view of the face follows the edit: neutral as opened, happy once smiling
        assert status[2]["label"] == "neutral" and edited[2]["label"] == "happiness"
        assert {c["label"] for c in edited[2]["confidences"]} <= set(CLASSES)
    exported = client.predict("PNG", api_name="/export_photo")
    photo = load_photo(exported)
    assert photo.size == (768, 768)
    # the exported photo is exactly what the operation gives, and its re-detected face is on target
    local = edit(studio, analyzed("002"), EditRecipe(presets={"happiness": 1.0}))
    assert np.array_equal(photo.rgb, local.photo.rgb)
    source = analyzed("002").faces[0].points
    found = studio.analyzer.detect(photo.rgb)[0].points
    assert landmark_error(local.target, source, source) > 0.03
    assert landmark_error(found, local.target, source) < 0.025
    assert "face 1 of 1" in status[1]


def test_backend_choice_renders_the_same_edit_both_ways(client, studio, analyzed):
    if "generator" not in studio.backends:
        pytest.skip("no trained generator weights")
    client.predict(handle_file(fixture_path("004")), api_name="/open_photo")
    # a smile: the generator refines its lips and folds (inside a mouth open past a snarl's slit it
    # leaves the mouth stage's teeth and cavity alone: the two backends differ by up to 19 levels)
    client.predict(*slider_values(studio, happiness=1.0), api_name="/edit")
    recipe = EditRecipe(presets={"happiness": 1.0})
    shown = {}
    for backend in ("geometry", "generator"):
        client.predict(backend, api_name="/backend")
        shown[backend] = load_photo(client.predict("PNG", api_name="/export_photo")).rgb
        local = edit(studio.with_backend(backend), analyzed("004"), recipe).photo.rgb
        assert np.array_equal(shown[backend], local), backend
    assert np.abs(shown["generator"].astype(int) - shown["geometry"]).max() > 10


def test_recipe_export_and_reload_through_the_page(client, studio, tmp_path):
    client.predict(handle_file(fixture_path("012")), api_name="/open_photo")
    client.predict(*slider_values(studio, surprise=0.7, pc1=1.5), api_name="/edit")
    recipe_path = client.predict(api_name="/export_recipe")
    [recipe] = load_recipes(recipe_path)
    assert recipe.presets == {"surprise": 0.7} and len(recipe.coefficients) == 1
    first = load_photo(client.predict("PNG", api_name="/export_photo")).rgb
    reset = client.predict(api_name="/reset")
    assert "unedited" in reset[1]
    loaded = client.predict(handle_file(recipe_path), api_name="/load_recipe")
    assert "last edit" in loaded[1]
    assert np.array_equal(load_photo(client.predict("PNG", api_name="/export_photo")).rgb, first)
    undone = client.predict(api_name="/undo")
    assert "unedited" in undone[1]


def test_face_picker_on_a_photo_with_two_faces(client, studio):
    opened = client.predict(handle_file(PAIR), api_name="/open_photo")
    assert "face 1 of 2" in opened[1]
    picked = client.predict("face 2", api_name="/pick_face")
    assert "face 2 of 2" in picked[1]
    # the divider goes through the face being edited: the left one's centre, then the right one's
    assert 20 < opened[0]["slider_position"] < 30 and 70 < picked[0]["slider_position"] < 80
    if studio.recognizer is not None:   # each face labelled: 001 neutral on the left, 012 smiling
        captions = [item["caption"] for item in opened[4]["value"]]   # a gr.update of the gallery
        assert captions == ["1 · neutral", "2 · happiness"]
        assert picked[2]["label"] == "happiness"
    client.predict(api_name="/remove_expression")
    out = load_photo(client.predict("JPEG", api_name="/export_photo"))
    assert out.size == (1152, 576)
    original = load_photo(PAIR).rgb.astype(int)
    diff = np.abs(out.rgb.astype(int) - original).mean(axis=(0, 2))
    assert diff[:500].mean() < 1.5 < diff[650:].mean()   # only the right-hand face changed


def test_transfer_returns_both_directions_and_a_grid(client, studio, analyzed):
    client.predict(handle_file(fixture_path("004")), api_name="/load_a")
    client.predict(handle_file(fixture_path("004", smiling=True)), api_name="/load_b")
    gallery, grid = client.predict(1, 1, api_name="/transfer")
    captions = [item["caption"] for item in gallery]
    assert captions == ["A", "A neutral", "A with B's expression", "B", "B neutral", "B with A's expression"]
    assert Image.open(grid).size[1] > 2 * 500
    # A (neutral) given B's smile lands nearer the real smile than A was
    model = studio.model
    a_with_b = np.asarray(Image.open(gallery[2]["image"]).convert("RGB"))
    found = model.normalize(studio.analyzer.detect(a_with_b)[0].points)[0]
    real_smile = model.normalize(analyzed("004", True).faces[0].points)[0]
    neutral = model.normalize(analyzed("004").faces[0].points)[0]
    assert np.linalg.norm(found - real_smile, axis=1).mean() < 0.7 * np.linalg.norm(neutral - real_smile, axis=1).mean()
    # B is A's own face: the smile measured from A, its movement reproduced most of the way
    gallery, _ = client.predict(1, 1, "generator", True, api_name="/transfer")
    reenacted = np.asarray(Image.open(gallery[2]["image"]).convert("RGB"))
    shares = drive(studio.analyzer.detect(reenacted)[0].points, analyzed("004").faces[0].points,
                   analyzed("004", True).faces[0].points)
    print("reenacted drive", shares)
    assert 0.75 < shares["mouth"] < 1.3 and 0.5 < shares["eyes"] < 1.5


def test_interpolation_returns_strip_gif_and_mp4(client, studio):
    client.predict(handle_file(fixture_path("001")), api_name="/open_photo")
    strip, gif, mp4, files, start, end, summary = client.predict(
        "the photo as it is", "a preset", "surprise", 1.0, 6, True, *slider_values(studio), api_name="/interpolate")
    # the start is the photo as it is, the end the surprise (the mouth opened)
    opening = [mouth_opening(studio.analyzer.detect(np.asarray(Image.open(f).convert("RGB")))[0].points)
               for f in (start, end)]
    assert opening[0] < 0.05 < opening[1], opening
    assert summary.startswith("6 frames from start to end, 720x720 px") and "10 frames" in summary
    width, height = Image.open(strip).size
    assert width == 6 * height
    assert Image.open(gif).n_frames == 10
    assert Image.open(gif).size == (720, 720) or max(Image.open(gif).size) <= 720
    video = mp4["video"] if isinstance(mp4, dict) else mp4
    with open(video, "rb") as f:
        assert b"ftyp" in f.read(64)
    assert len(files) == 3


@pytest.mark.parametrize("content,name,message", [
    (b"this is not a picture", "notes.jpg", "not an image"),
    (None, "huge.png", "limit is 50 MP"),
    (None, "empty_wall.png", "no face found")])
def test_bad_uploads_give_a_clear_message(client, tmp_path, content, name, message):
    path = tmp_path / name
    if name == "huge.png":
        Image.new("L", (8000, 7000)).save(path)           # 56 MP, a small file
    elif name == "empty_wall.png":
        Image.new("RGB", (300, 200), "gray").save(path)
    else:
        path.write_bytes(content)
    with pytest.raises(AppError, match="upload a photo first"):
        client.predict("PNG", api_name="/export_photo")
    client.predict(handle_file(fixture_path("001")), api_name="/open_photo")
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(path), api_name="/open_photo")
    # nothing is lost: the photo that was open is still there
    assert load_photo(client.predict("PNG", api_name="/export_photo")).size == (768, 768)


def test_faces_that_are_not_there_are_refused_in_the_pages_numbering(client):
    with pytest.raises(AppError, match="upload both face A and face B"):
        client.predict(1, 1, api_name="/transfer")
    client.predict(handle_file(fixture_path("001")), api_name="/load_a")
    client.predict(handle_file(PAIR), api_name="/load_b")
    with pytest.raises(AppError, match=r"there is no face 3 \(index 2\): the photo has 2 faces"):
        client.predict(1, 3, api_name="/transfer")
    client.predict(handle_file(PAIR), api_name="/open_photo")
    with pytest.raises(AppError, match="'face 9'.* is not in the list of choices"):  # Gradio's own check
        client.predict("face 9", api_name="/pick_face")


def test_pose_and_light_sliders_and_presets_through_the_api(client, studio, analyzed):
    from studio.evaluation.pose_light import face_balance

    client.predict(handle_file(fixture_path("012")), api_name="/open_photo")
    scene = [s.rest for s in POSE_SLIDERS + LIGHT_SLIDERS]
    scene[0] = -20.0                                              # yaw
    turned = client.predict(*scene, api_name="/pose_light")
    after = np.asarray(Image.open(turned[0][1]).convert("RGB"))
    face = analyzed("012").faces[0]
    found = studio.analyzer.detect(after)[0].points
    yaw = studio.model.fit(found).yaw_pitch_roll()[0] - studio.model.fit(face.points).yaw_pitch_roll()[0]
    assert -24 < yaw < -12, yaw
    lit = client.predict("right", *scene, api_name="/light_preset")
    assert list(lit[3:6]) == [-20.0, 0.0, 0.0] and lit[6] == 60    # the pose stays; the light moves
    relit = np.asarray(Image.open(lit[0][1]).convert("RGB"))
    assert face_balance(relit, found) < 0.9 * face_balance(after, found)
    # beyond the slider's range: kept at its end (with a note in the page), not refused
    clamped = client.predict(80.0, *scene[1:], api_name="/pose_light")
    at_end = client.predict(45.0, *scene[1:], api_name="/pose_light")
    assert np.array_equal(np.asarray(Image.open(clamped[0][1])), np.asarray(Image.open(at_end[0][1])))


def test_the_controls_endpoint_moves_the_eyes_and_nothing_far_from_them(client, studio, analyzed):
    from studio.face.mesh import LEFT_IRIS, RIGHT_IRIS

    client.predict(handle_file(fixture_path("001")), api_name="/open_photo")
    values = [1.0 if c.name == "gaze_x" else 0.0 for c in Controls.for_model(studio.model).part_controls]
    (before, after), status, _ = client.predict(*values, api_name="/controls")
    assert "last edit" in status and "1 undo step" in status
    before, after = (np.asarray(Image.open(f).convert("RGB")).astype(int) for f in (before, after))
    change = np.abs(after - before).max(axis=2)
    points = analyzed("001").faces[0].points          # the preview is the photo's own size
    rows, cols = np.mgrid[:change.shape[0], :change.shape[1]]
    from_eyes = np.min([np.hypot(cols - points[i, 0], rows - points[i, 1]) for i in (RIGHT_IRIS[0], LEFT_IRIS[0])],
                       axis=0) / interocular(points[:, :2])
    assert change[from_eyes < 0.15].mean() > 10        # the irises moved
    assert change[from_eyes > 0.5].max() == 0          # the rest of the photo is as it was
    # the full-resolution photo is the operation's own, and the recipe names the control
    local = edit(studio, analyzed("001"), EditRecipe(controls={"gaze_x": 1.0}))
    assert np.array_equal(load_photo(client.predict("PNG", api_name="/export_photo")).rgb, local.photo.rgb)
    [recipe] = load_recipes(client.predict(api_name="/export_recipe"))
    assert recipe.controls == {"gaze_x": 1.0} and recipe.parts == ()
    # the expression sliders keep the control; Undo takes the control back with its slider
    smiled = client.predict(*slider_values(studio, happiness=1.0), api_name="/edit")
    assert "2 undo steps" in smiled[1]
    [recipe] = load_recipes(client.predict(api_name="/export_recipe"))
    assert recipe.controls == {"gaze_x": 1.0} and recipe.presets == {"happiness": 1.0}
    # Undo's outputs: view, status, label, the expression sliders, the part controls, pose and
    # light, the parts choice
    names = [c.name for c in Controls.for_model(studio.model).part_controls]
    gaze = 3 + len(slider_values(studio)) + names.index("gaze_x")
    parts = 3 + len(slider_values(studio)) + len(names) + len(POSE_SLIDERS + LIGHT_SLIDERS)
    shown = client.predict(api_name="/undo")
    assert shown[gaze] == 1.0 and shown[parts] == ["eyes", "brows", "mouth", "pose"]
    undone = client.predict(api_name="/undo")
    assert undone[gaze] == 0.0 and "unedited" in undone[1]


def test_parts_limit_the_edit_and_the_transfer(client, studio, analyzed):
    client.predict(handle_file(fixture_path("002")), api_name="/open_photo")
    client.predict(["mouth"], api_name="/parts")
    client.predict(*slider_values(studio, happiness=1.0), api_name="/edit")
    local = edit(studio, analyzed("002"), EditRecipe(presets={"happiness": 1.0}, parts=("mouth",)))
    assert np.array_equal(load_photo(client.predict("PNG", api_name="/export_photo")).rgb, local.photo.rgb)
    [recipe] = load_recipes(client.predict(api_name="/export_recipe"))
    assert recipe.parts == ("mouth",) and recipe.presets == {"happiness": 1.0}
    # nothing ticked: a note, and the edit as it was
    client.predict([], api_name="/parts")
    assert load_recipes(client.predict(api_name="/export_recipe"))[0].parts == ("mouth",)
    # the Transfer tab: A takes B's smile on the mouth only
    client.predict(handle_file(fixture_path("004")), api_name="/load_a")
    client.predict(handle_file(fixture_path("004", smiling=True)), api_name="/load_b")
    gallery, _ = client.predict(1, 1, "geometry", False, ["mouth"], api_name="/transfer")
    a, a_with_b = (np.asarray(Image.open(gallery[i]["image"]).convert("RGB")).astype(int) for i in (0, 2))
    points = analyzed("004").faces[0].points * a.shape[1] / analyzed("004").photo.size[0]
    unit = interocular(points[:, :2])
    change = np.abs(a_with_b - a).max(axis=2)
    rows, cols = np.mgrid[:change.shape[0], :change.shape[1]]
    eyes = np.min([np.hypot(cols - points[i, 0], rows - points[i, 1]) for i in (468, 473)], axis=0) < 0.3 * unit
    mouth = np.hypot(cols - points[13, 0], rows - points[13, 1]) < 0.4 * unit
    assert change[mouth].mean() > 10 > 1 > change[eyes].mean()
    with pytest.raises(AppError, match="tick at least one part"):
        client.predict(1, 1, "geometry", False, [], api_name="/transfer")


def test_an_animation_to_the_sliders_takes_the_part_controls(client, studio):
    client.predict(handle_file(fixture_path("001")), api_name="/open_photo")
    client.predict(["mouth", "pose"], api_name="/parts")   # the start, the photo, goes on the same parts
    values = [1.0 if c.name == "mouth_open" else 0.0 for c in Controls.for_model(studio.model).part_controls]
    client.predict(*values, api_name="/controls")
    _, _, _, _, start, end, summary = client.predict(
        "the photo as it is", "the Edit tab's sliders", "surprise", 1.0, 3, False, *slider_values(studio),
        api_name="/interpolate")
    opening = [mouth_opening(studio.analyzer.detect(np.asarray(Image.open(f).convert("RGB")))[0].points)
               for f in (start, end)]
    assert opening[0] < 0.05 < opening[1], opening
    assert summary.startswith("3 frames from start to end")


def test_video_tab_renders_a_clip_with_the_edit_tabs_recipe(client, studio, tmp_path):
    from studio.video.clip import frames, probe
    from tests.video.clips import make_clip

    clip = make_clip(studio, tmp_path / "turning.mp4", frames=12)
    with pytest.raises(AppError, match="open a photo in the Edit tab"):
        client.predict(handle_file(clip), api_name="/render_video")
    info = client.predict(handle_file(clip), api_name="/load_video")
    assert "384x384 · 12 fps · 12 frames" in info[0] and "audio: yes" in info[0]
    client.predict(handle_file(fixture_path("004")), api_name="/open_photo")
    client.predict(*slider_values(studio, surprise=1.0), api_name="/edit")
    frame, note = client.predict(handle_file(clip), 5, api_name="/video_frame")
    assert "frame 5: 1 face, edited" in note
    shown = np.asarray(Image.open(frame).convert("RGB")).astype(int)
    original = list(frames(clip))[5].astype(int)
    assert shown.shape == original.shape and np.abs(shown - original).max() > 30
    video, download, summary = client.predict(handle_file(clip), api_name="/render_video")
    path = video["video"] if isinstance(video, dict) else video
    a, b = probe(clip), probe(download)
    assert (b.size, b.fps, b.frames, b.audio) == (a.size, a.fps, 12, True) and probe(path).frames == 12
    assert "12 frames written" in summary
    # the surprise is in the clip: the mouth opens in every frame
    opening = [mouth_opening(studio.analyzer.detect(f)[0].points) for f in frames(download)]
    before = [mouth_opening(studio.analyzer.detect(f)[0].points) for f in frames(clip)]
    assert min(o - p for o, p in zip(opening, before)) > 0.03, (opening, before)


@pytest.mark.parametrize("name,content,message", [
    ("notes.mp4", b"this is not a clip", "not a video ffmpeg can read"),
    ("notes.txt", b"hello", "(upload one of .mp4|Invalid file type)")])
def test_video_tab_refuses_a_file_that_is_not_a_clip(client, tmp_path, name, content, message):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(AppError, match=message):
        client.predict(handle_file(path), api_name="/load_video")
