"""The CLI as a user runs it: `python -m studio ...` in a subprocess, exit codes and messages."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from studio import paths
from studio.devices import choose_device
from studio.evaluation.measure import landmark_error
from studio.face.image_io import load_photo
from studio.face.landmarks import FaceAnalyzer
from studio.recognition.expression import CLASSES
from tests.conftest import fixture_path

NEUTRAL = fixture_path("002")
SMILE = fixture_path("004", smiling=True)


def run(*args, cwd=None):
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    env.pop("STUDIO_DEBUG", None)
    return subprocess.run([sys.executable, "-m", "studio", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


def assert_error(result, message):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_edit_writes_full_resolution_output_and_a_reusable_recipe(tmp_path):
    out, recipe = tmp_path / "smile.png", tmp_path / "smile.json"
    r = run("edit", NEUTRAL, "-o", out, "--preset", "happiness=1", "--pc", "0=0.5", "--save-recipe", recipe)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""  # MediaPipe's native logging does not reach the user
    edited = np.asarray(Image.open(out))
    assert edited.shape == np.asarray(Image.open(NEUTRAL)).shape
    saved = json.loads(recipe.read_text())
    assert saved["presets"] == {"happiness": 1.0} and saved["coefficients"] == {"0": 0.5}
    again = tmp_path / "again.png"
    assert run("edit", NEUTRAL, "-o", again, "--recipe", recipe).returncode == 0
    assert np.array_equal(np.asarray(Image.open(again)), edited)


def test_remove_transfer_and_interpolate(tmp_path):
    assert run("edit", SMILE, "-o", tmp_path / "n.jpg", "--remove").returncode == 0
    assert Image.open(tmp_path / "n.jpg").size == Image.open(SMILE).size
    r = run("transfer", NEUTRAL, SMILE, "-o", tmp_path / "ab.png", "--both", tmp_path / "ba.png")
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "ab.png").exists() and (tmp_path / "ba.png").exists()
    # reenactment: the smile measured from the person's neutral photo lands nearer the real smile
    # than the smile read from its own photo (all landmarks, re-detected)
    own_neutral = fixture_path("004")
    assert run("transfer", own_neutral, SMILE, "-o", tmp_path / "same.png", "--same-person").returncode == 0
    assert run("transfer", own_neutral, SMILE, "-o", tmp_path / "read.png").returncode == 0
    r = run("transfer", own_neutral, SMILE, "-o", tmp_path / "x.png", "--same-person", "--b-neutral", NEUTRAL)
    assert r.returncode == 2 and "not allowed with" in r.stderr
    analyzer = FaceAnalyzer()
    real = analyzer.detect(load_photo(SMILE).rgb)[0].points
    errors = []
    for name in ("same.png", "read.png"):
        found = analyzer.detect(load_photo(tmp_path / name).rgb)[0].points
        errors.append(landmark_error(found, real))
    analyzer.close()
    assert errors[0] < errors[1], errors
    for ext in ("gif", "mp4", "png"):
        out = tmp_path / f"seq.{ext}"
        r = run("interpolate", NEUTRAL, "--to", "surprise=1", "--frames", "4", "-o", out)
        assert r.returncode == 0, r.stderr
        assert out.stat().st_size > 1000
        if ext == "gif":   # it says what it wrote
            assert "4 frames, 720x720 px, played forward and back, 6 frames in the loop" in r.stdout, r.stdout
    gif = Image.open(tmp_path / "seq.gif")
    assert gif.n_frames == 6 and gif.size == (720, 720)  # 4 frames forward, 2 back: a seamless loop
    r = run("interpolate", NEUTRAL, "--to", "surprise=1", "--frames", "4", "--once", "-o", tmp_path / "once.gif")
    assert r.returncode == 0 and "played once" in r.stdout, r.stderr
    assert Image.open(tmp_path / "once.gif").n_frames == 4
    strip = Image.open(tmp_path / "seq.png")
    assert strip.size[0] == 4 * strip.size[1]


def test_landmarks_json(tmp_path):
    r = run("landmarks", SMILE, "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    face = report["faces"][0]
    assert len(face["points"]) == 478 and len(face["points"][0]) == 3
    assert max(face["expression_posterior"], key=face["expression_posterior"].get) == "happiness"
    assert {"p", "q", "box", "pose", "blendshapes"} <= set(face)
    # the shipped recognizer's probabilities, one per class, summing to 1
    probs = face["expression_probabilities"]
    assert list(probs) == list(CLASSES) and abs(sum(probs.values()) - 1) < 1e-3
    assert max(probs, key=probs.get) == "happiness" and probs["happiness"] > 0.5
    summary = run("landmarks", SMILE)
    assert "looks happiness" in summary.stdout
    task = paths.shared_dir() / "models" / "face_landmarker.task"
    if task.is_file():
        env_run = subprocess.run([sys.executable, "-m", "studio", "landmarks", str(SMILE), "--json"],
                                 capture_output=True, text=True, timeout=300,
                                 env={**os.environ, "PYTHONPATH": str(paths.REPO_ROOT),
                                      "STUDIO_FACE_LANDMARKER": str(task)})
        shapes = json.loads(env_run.stdout)["faces"][0]["blendshapes"]
        assert len(shapes) == 52 and shapes["mouthSmileLeft"] > 0.3


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("bad")
    (d / "empty.jpg").write_bytes(b"")
    (d / "text.jpg").write_text("this is not an image\n")
    data = NEUTRAL.read_bytes()
    (d / "cut.jpg").write_bytes(data[: len(data) // 4])
    Image.fromarray(np.full((200, 200, 3), 180, np.uint8)).save(d / "blank.png")
    Image.new("1", (8000, 7000)).save(d / "huge.png")
    return d


@pytest.mark.parametrize("case,message", [
    ("missing", "no such file"), ("empty", "is empty"), ("text", "not an image"),
    ("cut", "could not be decoded"), ("blank", "no face found"), ("huge", "limit is 50 MP")])
def test_bad_input_files(tmp_path, bad_inputs, case, message):
    name = {"missing": "nope.jpg", "empty": "empty.jpg", "text": "text.jpg", "cut": "cut.jpg",
            "blank": "blank.png", "huge": "huge.png"}[case]
    assert_error(run("edit", bad_inputs / name, "-o", tmp_path / "o.png", "--preset", "happiness=1"), message)
    assert not (tmp_path / "o.png").exists()


@pytest.mark.parametrize("args,message", [
    (["--face", "3"], "there is no face 4 (index 3): the photo has 1 face"), (["--preset", "smirk=1"], "unknown preset 'smirk'"),
    (["--preset", "happiness=9"], "0..1.5"), (["--preset", "happiness"], "NAME=VALUE"),
    (["--pc", "x=1"], "index"), (["--recipe", "missing.json"], "cannot read recipe"),
    (["--control", "blnk=1"], "unknown control 'blnk'"), (["--control", "gaze_x=2"], "between -1 and 1"),
    (["--control", "gaze_x"], "NAME=VALUE"), (["--parts", "eyes,nose"], "parts are eyes, brows, mouth, pose")])
def test_bad_requests(tmp_path, args, message):
    assert_error(run("edit", NEUTRAL, "-o", tmp_path / "o.png", *args), message)


def test_bad_outputs_and_the_input_is_never_overwritten(tmp_path):
    assert_error(run("edit", NEUTRAL, "-o", tmp_path / "no" / "dir" / "o.png"), "output folder does not exist")
    assert_error(run("edit", NEUTRAL, "-o", tmp_path / "o.xyz"), "unknown output format")
    assert_error(run("interpolate", NEUTRAL, "--to", "surprise=1", "-o", tmp_path / "o.avi"), ".gif")
    copy = tmp_path / "in.jpg"
    copy.write_bytes(NEUTRAL.read_bytes())
    assert_error(run("edit", copy, "-o", copy, "--preset", "happiness=1"), "overwrite the input")
    assert copy.read_bytes() == NEUTRAL.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.jpg"]


def test_landmarks_on_a_photo_without_faces(bad_inputs):
    assert_error(run("landmarks", bad_inputs / "blank.png", "--json"), "no face found")


def test_usage_errors_are_one_line(tmp_path):
    assert_error(run("edit", NEUTRAL), "required")
    assert_error(run("frobnicate"), "invalid choice")
    assert_error(run("edit", NEUTRAL, "-o", tmp_path / "o.png", "--device", "tpu"), "invalid choice: 'tpu'")


def test_an_absent_accelerator_is_one_clear_line(tmp_path):
    missing = "mps" if choose_device("auto") != "mps" else "cuda"   # whichever this machine lacks
    result = run("edit", NEUTRAL, "-o", tmp_path / "o.png", "--preset", "happiness=1", "--device", missing)
    assert_error(result, f"--device {missing}: no ")
    assert "use --device auto or cpu" in result.stderr and not (tmp_path / "o.png").exists()


def test_bench_commands_print_their_numbers():
    r = run("bench", "--json", "--repeats", "1")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    rows = report["rows"]
    assert [round(row["megapixels"]) for row in rows] == [0, 1, 4] and all(row["cached_edit_ms"] > 0 for row in rows)
    assert report["device"] == choose_device("auto") and report["device_info"].startswith(report["device"] + " (")
    if paths.GENERATOR_PATH.is_file():   # the generator backend and its network are timed too
        assert all(row["generator_edit_ms"] > 0 for row in rows)
        assert report["network"]["generator_256px_ms"] > 0
    r = run("bench", "--app", "--json", "--repeats", "2")
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout.strip().splitlines()[-1])["rows"]
    assert len(rows) == 3 and all(row["slider_edit_ms"] > 0 and row["export_png_ms"] > 0 for row in rows)
    r = run("bench", "--browser", "--json", "--repeats", "1")   # Chromium: letting go to the new image
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout.strip().splitlines()[-1])["rows"]
    assert [round(row["megapixels"]) for row in rows] == [1, 4, 12]
    # the page's own clock, so at least the edit itself (tens of ms) and under the page's timeout
    assert all(20 < row["median_ms"] <= row["max_ms"] < 60_000 for row in rows)


def test_app_on_a_taken_port_says_so_in_one_line():
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        r = subprocess.run([sys.executable, "app.py", "--port", str(port)], capture_output=True, text=True,
                           cwd=paths.REPO_ROOT, timeout=300)
    assert r.returncode == 2
    assert f"error: cannot serve on 127.0.0.1:{port}" in r.stderr and "Traceback" not in r.stderr


def test_train_neutralizer_command_runs_and_writes_weights(tmp_path):
    if not (paths.faces_dir() / "manifest.csv").is_file():
        pytest.skip("needs ../shared/data/faces")
    out = tmp_path / "n.safetensors"
    r = run("train-neutralizer", "--limit", "24", "--size", "64", "--steps", "1", "--quiet", "--device", "cpu",
            "--run-dir", tmp_path / "run", "--output", out)
    assert r.returncode == 0, r.stderr
    from studio.synthesis.neutralizer import Neutralizer
    assert Neutralizer.load(out).size == 64 and Neutralizer.load(out).info["steps"] == 1
    assert_error(run("train-neutralizer", "--size", "60"), "multiple of 8")
    assert_error(run("train-neutralizer", "--steps", "0"), "at least 1")


def test_calibrate_presets_refuses_bad_counts_and_never_writes_then(tmp_path):
    out = tmp_path / "model.safetensors"
    assert_error(run("calibrate-presets", "--people", "0", "--out", out), "at least 1")
    assert not out.exists()


def test_train_command_runs_resumes_and_exports(tmp_path):
    if not (paths.faces_dir() / "manifest.csv").is_file():
        pytest.skip("needs ../shared/data/faces")
    common = ["train", "--limit", "60", "--size", "64", "--batch", "2", "--no-identity", "--quiet",
              "--run-dir", tmp_path / "run", "--device", "cpu"]
    r = run(*common, "--steps", "1")
    assert r.returncode == 0, r.stderr
    r = run(*common, "--steps", "2", "--export", tmp_path / "g.safetensors")
    assert r.returncode == 0, r.stderr
    assert "resumed from step 1" in r.stdout and json.loads(r.stdout.splitlines()[-2])["step"] == 2
    assert (tmp_path / "g.safetensors").stat().st_size > 100_000
    assert_error(run("train", "--size", "60", "--no-identity"), "multiple of 8")
    # shipped weights told to change a tighter region than trained, and fine-tuning's start
    from studio.interfaces.cli import GENERATOR_REGIONS
    from studio.synthesis.generators import Generators
    from studio.synthesis.networks import REGIONS
    assert GENERATOR_REGIONS == REGIONS
    r = run("export-generators", "--run-dir", tmp_path / "run", "--output", tmp_path / "lips.safetensors",
            "--region", "lips")
    assert r.returncode == 0, r.stderr
    assert Generators.load(tmp_path / "lips.safetensors").info == {"steps": "2", "trained_region": "mouth",
                                                                   "region": "lips"}
    assert_error(run(*common[:-4], "--run-dir", tmp_path / "tuned", "--steps", "1",
                     "--init-from", tmp_path / "missing.safetensors"), "no checkpoint to start from")


def test_edit_turns_and_relights_and_the_recipe_repeats_it(tmp_path):
    out, again, recipe = tmp_path / "turned.png", tmp_path / "again.png", tmp_path / "turned.json"
    r = run("edit", NEUTRAL, "-o", out, "--yaw", "20", "--pitch", "-5", "--light-preset", "left",
            "--light-temperature", "5000", "--save-recipe", recipe)
    assert r.returncode == 0, r.stderr
    data = json.loads(recipe.read_text())
    assert data["pose"] == {"yaw": 20.0, "pitch": -5.0, "roll": 0.0}
    assert data["light"]["azimuth"] == -60 and data["light"]["temperature"] == 5000.0
    r = run("edit", NEUTRAL, "-o", again, "--recipe", recipe)
    assert r.returncode == 0, r.stderr
    first, second = np.asarray(Image.open(out)), np.asarray(Image.open(again))
    assert first.shape == np.asarray(Image.open(NEUTRAL)).shape and (first == second).all()
    assert np.abs(first.astype(int) - np.asarray(Image.open(NEUTRAL).convert("RGB"))).mean() > 3


@pytest.mark.parametrize("flags,message", [
    (("--yaw", "60"), "yaw must be within +-45 degrees, got 60"),
    (("--light-azimuth", "200"), "light azimuth must be within -180..180"),
    (("--light-preset", "sunset"), "invalid choice: 'sunset'"),
    (("--ambient", "lots"), "invalid float value: 'lots'"),
])
def test_bad_pose_or_light_flags_are_one_line_errors(tmp_path, flags, message):
    out = tmp_path / "x.png"
    assert_error(run("edit", NEUTRAL, "-o", out, *flags), message)
    assert not out.exists()


def test_faces_are_chosen_left_to_right_or_as_the_largest(tmp_path):
    from tests.conftest import PAIR

    original = load_photo(PAIR).rgb.astype(int)
    changed = {}
    for choice in ("1", "largest"):
        out = tmp_path / f"{choice}.png"
        result = run("edit", PAIR, "-o", out, "--face", choice, "--preset", "surprise=1")
        assert result.returncode == 0, result.stderr
        index = 1 if choice == "1" else 0   # the left face (001) is the larger one in this photo
        assert (f"2 faces, numbered left to right from 0: using face {index}"
                f"{' (the largest)' if choice == 'largest' else ''}") in result.stderr
        diff = np.abs(load_photo(out).rgb.astype(int) - original).mean(axis=(0, 2))
        changed[choice] = (diff[:500].mean(), diff[650:].mean())
    assert changed["1"][0] < 0.5 < changed["1"][1]          # --face 1: the right-hand face only
    assert changed["largest"][1] < 0.5 < changed["largest"][0]
    assert_error(run("edit", PAIR, "-o", tmp_path / "o.png", "--face", "biggest"),
                 "must be a face index (0 = the leftmost) or 'largest'")


def test_controls_are_listed_and_edit_with_parts_round_trips_through_its_recipe(tmp_path):
    r = run("controls", "--json")
    assert r.returncode == 0, r.stderr
    listed = json.loads(r.stdout)
    names = {c["name"] for c in listed["controls"]}
    assert {"eyes_open", "blink", "wink_left", "wink_right", "gaze_x", "gaze_y", "brows_raise", "brows_frown",
            "brow_left", "brow_right", "mouth_open", "smile", "grin", "pout", "purse", "vowel_aa", "vowel_ee",
            "vowel_oo", "mouth_x"} == names
    assert all(c["minimum"] < c["maximum"] and c["help"] for c in listed["controls"])
    assert listed["parts"] == ["eyes", "brows", "mouth", "pose"]
    assert "gaze_x" in run("controls").stdout
    out, recipe = tmp_path / "look.png", tmp_path / "look.json"
    r = run("edit", NEUTRAL, "-o", out, "--control", "gaze_x=1", "--control", "smile=0.5", "--preset", "surprise=1",
            "--parts", "eyes,brows", "--save-recipe", recipe)
    assert r.returncode == 0, r.stderr
    saved = json.loads(recipe.read_text())
    assert saved["controls"] == {"gaze_x": 1.0, "smile": 0.5} and saved["parts"] == ["eyes", "brows"]
    again = tmp_path / "again.png"
    assert run("edit", NEUTRAL, "-o", again, "--recipe", recipe).returncode == 0
    edited = np.asarray(Image.open(out))
    assert np.array_equal(np.asarray(Image.open(again)), edited)
    assert not np.array_equal(edited, np.asarray(Image.open(NEUTRAL)))
