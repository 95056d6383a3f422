"""The soak test: sixteen people editing their own photos at once on one served app.

Every request is answered or refused cleanly, nobody gets another's face, everyone is served,
and once the sessions and cached files have aged out, temporary files are back to where they
started and memory stops growing: a second round of sixteen new sessions ends where the first
did. (Gradio keeps a little of every session until --max-sessions newer ones push it out, so the
server is run with --max-sessions 16 here: its memory is bounded by that, not by the load.)
STUDIO_LOAD_SECONDS sets how long each round lasts (default 30).
"""

import os
import time

from studio.interfaces.bench_app import soak_photos
from studio.interfaces.soak import soak
from studio.operations.controls import Controls
from tests.interfaces.conftest import OUTPUT, served

LOAD_SECONDS = float(os.environ.get("STUDIO_LOAD_SECONDS", 30))
CLIENTS = 16
AGE_OUT_S = 20     # sessions and cached files are dropped this old, for the test to see it happen


def _files(folder) -> int:
    return sum(1 for p in folder.rglob("*") if p.is_file())


def test_sixteen_clients_then_back_to_baseline(studio, tmp_path):
    controls = Controls.for_model(studio.model)
    photos = soak_photos(tmp_path)
    temp = tmp_path / "gradio"
    minutes = str(AGE_OUT_S / 60)

    def load(server, seed):
        return soak(server.url, photos, CLIENTS, LOAD_SECONDS, len(controls.all), [s.rest for s in controls.scene],
                    seed=seed)

    def aged_out(server, files):
        deadline = time.monotonic() + 3 * AGE_OUT_S + 30
        while time.monotonic() < deadline and _files(temp) > files:
            time.sleep(2)
        time.sleep(AGE_OUT_S / 2)
        return server.rss_mb(), _files(temp)

    with served(temp, OUTPUT / "app_soak.log", "--cache-minutes", minutes, "--session-minutes", minutes,
                "--max-sessions", str(CLIENTS)) as server:
        # warm up: the first edits load what the server loads lazily
        soak(server.url, photos[:1], 1, 3, len(controls.all), [s.rest for s in controls.scene], seed=99)
        time.sleep(AGE_OUT_S + 15)
        base_rss, base_files = server.rss_mb(), _files(temp)
        first = load(server, 0)
        peak_files = _files(temp)
        first_rss, first_files = aged_out(server, base_files)
        second = load(server, 1)
        second_rss, second_files = aged_out(server, base_files)
        log = server.log.read_text()
    summary = first.summary()
    print(f"\nsoak: {summary}; second round {second.summary()}; server RSS {base_rss:.0f} MB before, "
          f"{first_rss:.0f} MB after the first round aged out, {second_rss:.0f} MB after the second; "
          f"temp files {base_files} -> {peak_files} -> {first_files}, {second_files} after the second")
    for result in (first, second):
        assert not result.errors, result.errors[:3]
        assert not result.wrong, f"someone got another's face: {result.wrong[:5]}"
        assert min(result.served) >= 2, result.served         # everyone was served, not just the fastest
        assert result.refused == 0                              # 16 waiting fit the queue (64)
    assert peak_files > base_files and first_files <= base_files and second_files <= base_files
    assert first_rss < base_rss + 250, (base_rss, first_rss)    # bounded ...
    assert second_rss < first_rss + 40, (first_rss, second_rss)  # ... and not growing round after round
    assert "Traceback" not in log
