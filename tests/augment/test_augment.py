"""`face-studio augment` on the London fixtures: the manifest is complete and its recipes remake
the images, 2 workers and Ray give the images 1 worker gives, a killed run resumes to the same
manifest, bad photos are listed as skipped, specs and CSV labels are honoured."""

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import numpy as np
import pytest
from PIL import Image

from studio import paths
from studio.augment.manifest import Journal
from studio.augment.spec import SamplingSpec, draw, variant_rng
from studio.errors import StudioError
from tests.conftest import FIXTURES, fixture_path
from tests.interfaces.test_cli import assert_error, run


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """Three faces (one photo with two), a broken file and a photo with no face."""
    folder = tmp_path_factory.mktemp("photos")
    for name in ("001_03.jpg", "002_08.jpg", "pair_001_012.jpg"):
        shutil.copy(FIXTURES / name, folder / name)
    (folder / "broken.jpg").write_bytes(b"not a photo")
    Image.new("RGB", (320, 320), (128, 140, 150)).save(folder / "wall.png")
    return folder


def rows(folder):
    with (folder / "manifest.csv").open() as f:
        return list(csv.DictReader(f))


@pytest.fixture(scope="module")
def two_workers(photos, tmp_path_factory):
    out = tmp_path_factory.mktemp("aug") / "two"
    r = run("augment", photos, "-o", out, "--per-face", 2, "--workers", 2, "--format", "png", "--quiet")
    assert r.returncode == 0, r.stderr
    assert "wrote 8 images" in r.stdout and "2 skipped" in r.stdout
    return out


def test_the_manifest_is_complete_and_its_recipes_remake_the_images(two_workers, photos, tmp_path):
    made = rows(two_workers)
    # every face of every photo with a face, each variant once: 001, 002 and the pair's two faces
    assert sorted((r["source"], r["face"], r["variant"]) for r in made) == sorted(
        (s, str(f), str(v)) for s, faces in (("001_03.jpg", 1), ("002_08.jpg", 1), ("pair_001_012.jpg", 2))
        for f in range(faces) for v in range(2))
    for r in made:
        recipe = json.loads(r["recipe"])
        assert (two_workers / r["image"]).is_file() and recipe["face"] == int(r["face"])
        # the label says what the recipe does
        if recipe["presets"]:
            assert r["variation"] == "preset" and r["expression"] == next(iter(recipe["presets"]))
        elif recipe["remove"]:
            assert r["variation"] == "removal" and r["expression"] == "neutral"
        else:
            assert r["variation"] == "kept"
        assert float(r["yaw"]) == recipe.get("pose", {}).get("yaw", 0.0)
    with (two_workers / "skipped.csv").open() as f:
        skipped = {r["source"]: r["reason"] for r in csv.DictReader(f)}
    assert skipped == {"broken.jpg": "broken.jpg is not an image this studio can read", "wall.png": "no face found"}
    journal = [json.loads(line) for line in (two_workers / "manifest.jsonl").read_text().splitlines()]
    assert sum(j["kind"] == "image" for j in journal) == 8
    # the pair's second face and one other variant, remade by `edit --recipe`, are the same pixels
    for r in [m for m in made if m["face"] == "1"][:1] + made[:1]:
        recipe = tmp_path / f"{r['face']}_{r['variant']}.json"
        recipe.write_text(r["recipe"])
        again = tmp_path / f"again_{r['face']}_{r['variant']}.png"
        e = run("edit", photos / r["source"], "-o", again, "--recipe", recipe, "--backend", "geometry")
        assert e.returncode == 0, e.stderr
        assert np.array_equal(np.asarray(Image.open(again)), np.asarray(Image.open(two_workers / r["image"])))


def test_a_killed_run_resumes_to_the_same_manifest(two_workers, photos, tmp_path):
    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "studio", "augment", str(photos), "-o", str(out), "--per-face",
                             "2", "--format", "png", "--quiet"], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    journal = out / "manifest.jsonl"
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if journal.exists() and journal.read_text().count("\n") >= 3:
            break
        time.sleep(0.02)
    assert proc.poll() is None, proc.communicate()
    proc.send_signal(signal.SIGKILL)       # no clean-up at all: the worst case
    proc.communicate(timeout=60)
    done = Journal(out).read()
    assert 0 < sum(r["kind"] == "image" for r in done.rows) < 8
    assert not [p for p in (out / "images").iterdir() if p.name.startswith(".")]   # no half-written image
    for r in done.rows:
        if r["kind"] == "image":
            Image.open(out / r["image"]).load()
    r = run("augment", photos, "-o", out, "--per-face", 2, "--format", "png", "--quiet")
    assert r.returncode == 0, r.stderr
    assert rows(out) == rows(two_workers)          # one worker, killed and resumed = two workers unbroken
    for m in rows(out):
        assert (out / m["image"]).read_bytes() == (two_workers / m["image"]).read_bytes()
    # a rerun with other settings into the same folder is refused, not mixed in
    assert_error(run("augment", photos, "-o", out, "--per-face", 3, "--format", "png"), "other settings (per_face)")


def test_ray_on_a_local_instance_gives_the_same_manifest(two_workers, photos, tmp_path):
    ray_cli = shutil.which("ray", path=os.path.dirname(sys.executable))
    assert ray_cli, "Ray is in the test extra (.[test])"
    started = subprocess.run([ray_cli, "start", "--head", "--num-cpus", "2", "--include-dashboard=false",
                              "--disable-usage-stats"], capture_output=True, text=True, timeout=120)
    assert started.returncode == 0, started.stderr
    try:
        out = tmp_path / "ray"
        r = run("augment", photos, "-o", out, "--per-face", 2, "--format", "png", "--ray", "auto", "--quiet")
        assert r.returncode == 0, r.stderr
    finally:
        subprocess.run([ray_cli, "stop", "--force"], capture_output=True, timeout=120)
    assert rows(out) == rows(two_workers)
    for m in rows(out):
        assert (out / m["image"]).read_bytes() == (two_workers / m["image"]).read_bytes()


def test_a_spec_a_csv_and_the_seed(tmp_path):
    spec = tmp_path / "spec.yaml"
    spec.write_text("expressions: {happiness: 1}\nintensity: [1.0, 1.0]\nremoval: 0\nkeep: 0.5\n"
                    "pose: {probability: 0}\nlight: {probability: 0}\n")
    table = tmp_path / "faces.csv"
    table.write_text(f"path,expression,person\n{fixture_path('004', smiling=True)},happiness,004\n"
                     f"{fixture_path('012')},neutral,012\n")
    out = tmp_path / "out"
    r = run("augment", table, "-o", out, "--spec", spec, "--per-face", 4, "--max-side", 256, "--quiet")
    assert r.returncode == 0, r.stderr
    made = rows(out)
    assert len(made) == 8 and {m["label_person"] for m in made} == {"004", "012"}
    for m in made:
        assert Image.open(out / m["image"]).size == (256, 256)
        assert float(m["yaw"]) == 0 and m["light"] == "as photographed"
        if m["variation"] == "kept":       # kept: the photo's own label, from the CSV
            assert m["expression"] == ("happiness" if m["label_person"] == "004" else "neutral")
        else:
            assert m["expression"] == "happiness" and json.loads(m["recipe"])["presets"] == {"happiness": 1.0}
    assert {m["variation"] for m in made} == {"kept", "preset"}
    # the same seed draws the same recipes; another seed others
    spec_default = SamplingSpec()
    same = [draw(spec_default, variant_rng(0, "a.jpg", 0, k), 0, None).recipe for k in range(6)]
    assert same == [draw(spec_default, variant_rng(0, "a.jpg", 0, k), 0, None).recipe for k in range(6)]
    assert same != [draw(spec_default, variant_rng(1, "a.jpg", 0, k), 0, None).recipe for k in range(6)]
    bad = tmp_path / "bad.json"
    bad.write_text('{"intensity": [0.5, 3]}')
    assert_error(run("augment", table, "-o", tmp_path / "o2", "--spec", bad), "sampling spec: intensity/1")
    assert_error(run("augment", tmp_path / "none", "-o", tmp_path / "o3"), "no such folder or CSV")
    assert_error(run("augment", FIXTURES, "-o", FIXTURES / "out"), "must not be inside the input folder")


def test_a_cut_last_line_is_dropped_and_the_rest_kept(tmp_path):
    journal = tmp_path / "manifest.jsonl"
    journal.write_text('{"kind": "skipped", "source": "a.jpg", "reason": "no face found"}\n{"kind": "ima')
    done = Journal(tmp_path).read()
    assert done.finished == {"a.jpg"} and journal.read_text().endswith("found\"}\n")
    with pytest.raises(StudioError, match="sampling spec"):
        SamplingSpec.from_dict({"pose": {"yaw": 90}})


def test_the_spec_schema_in_docs_is_the_one_used():
    from studio.augment.spec import SPEC_SCHEMA

    assert json.loads((paths.REPO_ROOT / "docs" / "augment-spec.schema.json").read_text()) == SPEC_SCHEMA
    assert SamplingSpec.from_dict(SamplingSpec().to_dict()) == SamplingSpec()   # --print-spec reads back
