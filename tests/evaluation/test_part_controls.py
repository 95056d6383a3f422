"""`eval-controls` as a user runs it, and the mirror reading that takes MediaPipe's handedness out."""

import json

import numpy as np

from studio.evaluation.part_controls import read_parts
from tests.conftest import FIXTURES
from tests.interfaces.test_cli import assert_error, run


def test_a_reading_of_a_photo_and_of_its_mirror_agree(studio, analyzed):
    a = analyzed("001")
    rgb, points = a.photo.pixels(), a.faces[0].points
    reading = read_parts(studio, rgb, points)
    mirrored = np.ascontiguousarray(rgb[:, ::-1])
    flipped = points.copy()
    flipped[:, 0] = rgb.shape[1] - 1 - points[:, 0]
    other = read_parts(studio, mirrored, flipped)
    # the mirror swaps the eyes: the same two figures, each eye read both ways
    assert abs(reading.opening["right"] - other.opening["left"]) < 1e-6
    assert abs(reading.iris["right"][0] + other.iris["left"][0]) < 1e-6
    assert 0.15 < reading.opening["right"] < 0.45 and reading.lips < 0.05


def test_eval_controls_prints_what_each_control_met(tmp_path):
    r = run("eval-controls", "--london-dir", FIXTURES, "--people", "1", "--json", "--out", tmp_path / "c")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["blink=1"]["met"] == 1 and summary["gaze_x=-1"]["met"] == 1 and summary["mouth_open=1"]["met"] == 1
    assert summary["pout=1"]["median"]["mouth_width"] < 0
    assert {p.name for p in (tmp_path / "c").iterdir()} == {"README.md", "results.json", "grid.jpg"}
    assert_error(run("eval-controls", "--people", "0"), "--people must be at least 1")
    assert_error(run("eval-controls", "--london-dir", tmp_path), "no London neutral photos")
