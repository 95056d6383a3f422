"""`python -m studio eval` end to end on a small subset of the test people, and its numbers are sane:
the no-edit baseline keeps identity and is scored as the recognizer scores the photo itself, the
real photos are scored as the recognizer scores them, and the edits move the landmarks to the target."""

import json

import pytest

from studio import paths
from studio.face.image_io import load_photo
from studio.interfaces.cli import main

pytestmark = [
    pytest.mark.skipif(not paths.RECOGNIZER_PATH.is_file(), reason="no recognizer weights"),
    pytest.mark.skipif(not (paths.faces_dir() / "manifest.csv").is_file(), reason="no face sets"),
]
pytest.importorskip("dlib")


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    out = tmp_path_factory.mktemp("eval")
    code = main(["eval", "--people", "test", "--max-people", "2", "--limit", "5", "--sweep-people", "1",
                 "--intensities", "0,1", "--out", str(out), "--json"])
    assert code == 0
    return out, json.loads((out / "results.json").read_text())


def test_writes_the_page_tables_and_plots(results):
    out, data = results
    page = (out / "README.md").read_text()
    assert "face-studio eval --people test --limit 5 --max-people 2 --sweep-people 1" in page
    assert "| synthesis | generator |" in page and "| transfer | geometry |" in page
    assert "Drive (brows / eyes / mouth, median)" in page and "Presets: how far each moves" in page
    for name in ("sweep_test_accuracy.png", "sweep_test_identity.png"):
        assert (out / name).stat().st_size > 5000 and f"]({name})" in page
    test = data["sets"]["test"]
    assert test["people"] == 2 and test["cases"] == {"synthesis": 5, "removal": 5, "transfer": 5}
    for task in ("synthesis", "removal", "transfer"):
        assert set(test["tables"][task]) == {"real photo", "no edit", "geometry", "generator"}
    sweep = test["sweep"]["generator"]["happiness"]
    assert [r["intensity"] for r in sweep] == [0.0, 1.0] and sweep[0]["cases"] == 1


def test_no_edit_keeps_identity_and_is_scored_like_the_photo(results, studio):
    out, data = results
    test = data["sets"]["test"]
    faces = paths.faces_dir()
    for task, table in test["tables"].items():
        assert table["no edit"]["verified"] == 1.0 and table["no edit"]["identity_distance"] == 0.0
        assert table["no edit"]["detected"] == 1.0
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    assert len(records) == 4 * 15 and all(r["set"] == "test" for r in records)
    for record in records:
        if record["row"] not in ("no edit", "real photo"):
            continue
        file = record["source"] if record["row"] == "no edit" else record["real"]
        photo = load_photo(faces / file)
        probs = studio.recognizer.probabilities(photo.rgb, studio.analyzer.detect(photo.rgb)[0].points)
        assert record["predicted"] == max(probs, key=probs.get), record


def test_edits_reach_the_target_and_stay_the_same_person(results):
    _, data = results
    for task, table in data["sets"]["test"]["tables"].items():
        for backend in ("geometry", "generator"):
            row = table[backend]
            assert row["detected"] == 1.0
            # the re-detected landmarks land on the target far closer than the photo's own
            assert row["landmark_error"] < 0.6 * table["no edit"]["landmark_error"], (task, backend)
            assert row["verified"] >= 0.8, (task, backend)
            if task != "transfer":   # own expression: the edit is closer to the real photo than the input
                assert row["psnr"] > table["no edit"]["psnr"], (task, backend)
        # reenactment (synthesis) reproduces most of the real movement, region by region
        if task == "synthesis":
            for backend in ("geometry", "generator"):
                shares = table[backend]["drive"]
                assert set(shares) == {"brows", "eyes", "mouth"}
                assert all(v is None or 0.5 < v < 1.6 for v in shares.values()), shares
            assert abs(table["no edit"]["drive"]["mouth"] or 0.0) < 1e-9
        # the recognizer sees the asked expression in real photos far more often than in the unedited input
        if task != "removal":
            assert table["real photo"]["accuracy"] > table["no edit"]["accuracy"]


def test_usage_errors(tmp_path, capsys):
    assert main(["eval", "--intensities", "2"]) == 2
    assert "0..1.5" in capsys.readouterr().err
    assert main(["eval", "--limit", "0"]) == 2
    assert main(["eval", "--recognizer", str(tmp_path / "none.safetensors"), "--no-identity"]) == 2
    assert "no expression recognizer" in capsys.readouterr().err
