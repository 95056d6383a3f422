"""The soak test: thirty-two people editing their own photos at once on one served app.

Every request is answered or refused cleanly, nobody gets another's face, everyone is served,
the server's memory stays inside its budget (--max-memory-gb) while they work, and once the
sessions and cached files have aged out, temporary files are back to where they started and
memory stops growing: a second round of thirty-two new sessions ends where the first did.
(Gradio keeps a little of every session until --max-sessions newer ones push it out, so the
server is run with --max-sessions 32 here.) STUDIO_LOAD_SECONDS sets how long each round lasts
(default 40).
"""

import os
import time

from studio.interfaces.bench_app import soak_photos
from studio.interfaces.bench_memory import PeakMemory
from studio.interfaces.soak import soak
from studio.operations.controls import Controls
from tests.interfaces.conftest import OUTPUT, served

LOAD_SECONDS = float(os.environ.get("STUDIO_LOAD_SECONDS", 40))
CLIENTS = 32
MEMORY_GB = 1.0
AGE_OUT_S = 30     # sessions and cached files are dropped this old, for the test to see it happen
# (longer than a client waits for its turn with 32 at once: at 20 s, on a day this machine edited
# at half its usual speed, a client left unserved for 20 s found its upload dropped; with all 32
# arriving in the same second, CI's slower machine left two opens queued past 30 s, so they
# arrive over the round's first half, as people do: a request then waits behind one per user)


def _files(folder) -> int:
    # os.walk skips a folder the server's sweeper deletes while it is being counted (rglob raised)
    return sum(len(files) for _, _, files in os.walk(folder))


def test_thirty_two_clients_within_the_memory_budget_then_back_to_baseline(studio, tmp_path):
    controls = Controls.for_model(studio.model)
    photos = soak_photos(tmp_path, CLIENTS)
    assert len(set(photos)) == CLIENTS
    temp = tmp_path / "gradio"
    minutes = str(AGE_OUT_S / 60)

    def load(server, seed):
        return soak(server.url, photos, CLIENTS, LOAD_SECONDS, len(controls.all), [s.rest for s in controls.scene],
                    seed=seed, arrive_over=LOAD_SECONDS / 2)

    def aged_out(server, files):
        deadline = time.monotonic() + 3 * AGE_OUT_S + 30
        while time.monotonic() < deadline and _files(temp) > files:
            time.sleep(2)
        time.sleep(AGE_OUT_S / 2)
        return server.rss_mb(), _files(temp)

    with served(temp, OUTPUT / "app_soak.log", "--cache-minutes", minutes, "--session-minutes", minutes,
                "--max-sessions", str(CLIENTS), "--max-memory-gb", str(MEMORY_GB)) as server:
        # warm up: the first edits load what the server loads lazily
        soak(server.url, photos[:1], 1, 3, len(controls.all), [s.rest for s in controls.scene], seed=99)
        time.sleep(AGE_OUT_S + 15)
        base_rss, base_files = server.rss_mb(), _files(temp)
        with PeakMemory(server.rss_mb, 0.05) as first_peak:
            first = load(server, 0)
        peak_files = _files(temp)
        first_rss, first_files = aged_out(server, base_files)
        with PeakMemory(server.rss_mb, 0.05) as second_peak:
            second = load(server, 1)
        second_rss, second_files = aged_out(server, base_files)
        log = server.log.read_text()
    summary = first.summary()
    print(f"\nsoak: {summary}; second round {second.summary()}; server RSS {base_rss:.0f} MB before, "
          f"{first_rss:.0f} MB after the first round aged out, {second_rss:.0f} MB after the second; "
          f"peak {first_peak.peak:.0f} MB and {second_peak.peak:.0f} MB during the rounds "
          f"(budget {MEMORY_GB * 1024:.0f} MB above the {base_rss:.0f} MB baseline); "
          f"temp files {base_files} -> {peak_files} -> {first_files}, {second_files} after the second")
    for result in (first, second):
        assert not result.errors, result.errors[:3]
        assert not result.wrong, f"someone got another's face: {result.wrong[:5]}"
        # everyone was served, not just the fastest (each user edits at least once, even one whose
        # photo opened after the round's end: 32 photos opening at once queue up)
        assert min(result.served) >= 1, result.served
        assert result.refused == 0                              # 32 waiting fit the queue (64)
    for peak in (first_peak, second_peak):
        assert peak.peak - base_rss < MEMORY_GB * 1024, (base_rss, peak.peak)
    assert peak_files > base_files and first_files <= base_files and second_files <= base_files
    assert first_rss < base_rss + 250, (base_rss, first_rss)    # bounded ...
    # ... and not growing round after round: four rounds ended at 619, 630, 655 and 647 MB (the
    # allocator's noise); a leak of the photos would add about 190 MB a round
    assert second_rss < first_rss + 80, (first_rss, second_rss)
    assert "Traceback" not in log
