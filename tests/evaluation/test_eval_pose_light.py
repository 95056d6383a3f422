"""`eval-pose-light` end to end on a few KDEF people: the page is written and the numbers hold."""

import json

from tests.interfaces.test_cli import assert_error, run


def test_eval_pose_light_measures_turns_against_real_half_profiles(tmp_path):
    out = tmp_path / "pose_light"
    r = run("eval-pose-light", "--limit", "4", "--json", "--out", out)
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    pose = data["pose"]
    assert pose["cases"] == 4
    for name in ("to_profile", "fixed"):
        row = pose[name]
        assert row["redetected"] == 1.0
        # the output is re-detected turned by about the angle asked (MediaPipe reads real half
        # profiles low as well), and its landmarks are far closer to the real half profile than
        # the frontal photo's
        assert 0.7 < row["yaw_reached"] < 1.15, row
        assert row["landmark_error"] < 0.5 * pose["no_edit_error"], row
        assert row["same_person"] == 1.0 and row["identity_distance"] < 0.6
    assert pose["to_profile"]["landmark_error"] < 0.08
    light = data["light_summary"]
    assert light["monotonic"] == 1.0 and light["photos"] >= 6
    balance = light["balance_by_azimuth"]
    assert balance[0] > 1.2 and balance[-1] < 0.9
    assert (out / "grid.jpg").is_file() and "Head turns against real half profiles" in (out / "README.md").read_text()
    texture = data["texture"]
    assert texture["cases"] >= 4 and texture["vs_cheek_skin"] > 0.25, texture
    assert "What a turn reveals: texture" in (out / "README.md").read_text()
    # the cheek a turn brings round carries no band of its photographed side's shade (1.3 L* deep
    # on the fixtures, 7.1 when the shade was carried; the photos' own cheeks 0-0.1)
    shade = data["shade"]
    assert shade["cases"] >= 6 and shade["turned"] < 2.5 and shade["unturned"] < 1.0, shade
    assert "What a turn carries: the shade of a side" in (out / "README.md").read_text()


def test_eval_pose_light_usage_errors_are_one_line(tmp_path):
    assert_error(run("eval-pose-light", "--limit", "0"), "--limit must be at least 1")
    (tmp_path / "file").write_text("x")
    assert_error(run("eval-pose-light", "--out", tmp_path / "file"), "is not a folder")


def test_what_a_turn_reveals_has_the_persons_skin_texture(studio, analyzed):
    """Turned 25 degrees, the revealed side near the ear carries fine detail like the cheek's
    (before the texture was laid over the smooth fill: 3-8% of it), and more than the smooth fill
    alone gave against the other cheek."""
    from studio.evaluation.pose_light import revealed_texture

    for person, yaw in (("004", 25), ("012", 25), ("001", -25)):
        texture = revealed_texture(studio.with_backend("geometry"), analyzed(person), yaw)
        assert texture is not None
        assert texture["vs_cheek_skin"] > 0.25, (person, texture)
        assert texture["vs_other_cheek"] > 0.03, (person, texture)
        # the other cheek's skin beside its sliver: plain skin, no hair strands (001's sliver
        # holds them: 3x the skin's detail)
        assert texture["vs_other_cheek_skin"] > 0.5, (person, texture)
    assert texture["other_cheek"] > 2 * texture["other_cheek_skin"], texture
