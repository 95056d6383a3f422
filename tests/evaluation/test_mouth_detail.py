"""`eval-mouth` and `build-mouth-bank` as a user runs them, and the detail measure itself."""

import json

import cv2
import numpy as np

from studio.evaluation.mouth_detail import measure_mouth
from studio.synthesis.mouth_bank import MouthBank
from tests.conftest import FIXTURES
from tests.interfaces.test_cli import assert_error, run


def test_detail_is_high_for_real_teeth_and_low_once_blurred(analyzed):
    a = analyzed("004", True)
    rgb, points = a.photo.pixels(), a.faces[0].points
    sharp = measure_mouth(rgb, points)
    soft = measure_mouth(cv2.GaussianBlur(rgb, (0, 0), 2.0), points)
    assert sharp.detail is not None and soft.detail is not None
    assert soft.detail < 0.3 * sharp.detail
    closed = measure_mouth(analyzed("004").photo.pixels(), analyzed("004").faces[0].points)
    assert closed.detail is None and closed.opening < 0.08


def test_eval_mouth_prints_each_edit_against_real_smiles(tmp_path):
    r = run("eval-mouth", "--london-dir", FIXTURES, "--people", "2", "--real-per-class", "6", "--json",
            "--out", tmp_path / "mouths")
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["real_open"] >= 1 and summary["real_median"] > 0
    for name in ("smile preset", "surprise preset", "fear preset"):
        assert summary[name]["open"] == 2 and summary[name]["median"] > 0
    assert {p.name for p in (tmp_path / "mouths").iterdir()} == {"README.md", "results.json", "grid.png"}
    # real surprised mouths (research sets) are mostly dark inside: far less detail than smiles
    for dataset in ("kdef", "taiwanese"):
        real = summary["real_classes"][dataset]
        assert real["happiness"]["share_of_smiles"] == 1.0 and real["surprise"]["open"] >= 3
        assert real["surprise"]["share_of_smiles"] < 0.5, real
    assert "| kdef |" in (tmp_path / "mouths" / "README.md").read_text()


def test_build_mouth_bank_keeps_only_mouths_that_show_teeth(tmp_path):
    out = tmp_path / "bank.safetensors"
    r = run("build-mouth-bank", "--london-dir", FIXTURES, "--out", out)
    assert r.returncode == 0, r.stderr
    bank = MouthBank.load(out)
    assert set(bank.people) <= {"london-002", "london-004", "london-012"} and len(bank) >= 2   # 001 smiles closed
    assert bank.crops.dtype == np.uint8


def test_bad_input_is_one_line(tmp_path):
    assert_error(run("eval-mouth", "--people", "0"), "--people must be at least 1")
    assert_error(run("eval-mouth", "--real-per-class", "-1"), "--real-per-class must be at least 0")
    assert_error(run("build-mouth-bank", "--london-dir", tmp_path, "--out", tmp_path / "b.safetensors"),
                 "no London smiles")
    assert_error(run("build-mouth-bank", "--london-dir", FIXTURES, "--out", tmp_path / "missing" / "b.safetensors"),
                 "output folder does not exist")
