"""The server reads only what it was sent, keeps within its memory budget, and cleans up after
itself: a served app with small limits (two sessions, half a gigabyte, files kept 15 s)."""

import json
import os
import socket
import time
from pathlib import Path

import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from studio.interfaces.bench_memory import PeakMemory
from studio.interfaces.server_files import OWNER, PREFIX
from studio.operations.controls import Controls
from tests.conftest import fixture_path
from tests.interfaces.conftest import OUTPUT, served
from tests.interfaces.test_cli import assert_error, run

NOT_UPLOADED = "that file was not uploaded to this app; upload it again"
MEMORY_GB = 0.5
KEEP_S = 15


def _scaled(path: Path, megapixels: float) -> Path:
    face = Image.open(fixture_path("002"))
    side = round((megapixels * 1e6) ** 0.5)
    face.resize((side, side), Image.BILINEAR).save(path, quality=90)
    return path


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    temp = tmp_path_factory.mktemp("safety")
    dead = temp / f"{PREFIX}dead"          # a server that was killed: its folder is left behind
    (dead / "uploads").mkdir(parents=True)
    (dead / "uploads" / "private.jpg").write_bytes(b"x")
    (dead / OWNER).write_text(json.dumps({"pid": 2 ** 22 + 12345}))
    alive = temp / f"{PREFIX}alive"         # another running server's folder stays
    alive.mkdir()
    (alive / OWNER).write_text(json.dumps({"pid": os.getpid()}))
    with served(temp, OUTPUT / "app_safety.log", "--max-sessions", "2", "--max-memory-gb", str(MEMORY_GB),
                "--cache-minutes", str(KEEP_S / 60)) as srv:
        own = [p for p in temp.glob(PREFIX + "*") if p not in (alive, dead)]
        yield srv, temp, own[0]
    assert not own[0].exists(), "the server's folder outlived it"
    assert alive.exists()


@pytest.fixture(scope="module")
def users(server):
    """The two people the server has room for (--max-sessions 2), shared by the tests."""
    return Client(server[0].url, verbose=False), Client(server[0].url, verbose=False)


def _sliders(studio, **values):
    return [values.get(s.key, 0.0) for s in Controls.for_model(studio.model).all]


def test_folders_of_dead_servers_are_deleted_at_start(server):
    _, temp, own = server
    assert not (temp / f"{PREFIX}dead").exists()
    assert (own / OWNER).is_file() and (own / "uploads").is_dir()


def test_paths_outside_the_upload_folder_are_refused_alike(server, users, tmp_path):
    srv, _, own = server
    outside = tmp_path / "secret_face.jpg"
    outside.write_bytes(fixture_path("002").read_bytes())
    link = own / "uploads" / "link.jpg"          # a link planted inside points outside
    link.symlink_to(outside)
    client = users[0]
    for api in ("/open_photo", "/load_a", "/load_b"):
        for path in (outside, tmp_path / "missing.jpg", tmp_path, link, "../" * 12 + str(outside)):
            with pytest.raises(AppError) as refused:
                client.predict({"path": str(path)}, api_name=api)
            assert str(refused.value) == NOT_UPLOADED, (api, path, str(refused.value))
    with pytest.raises(AppError):   # a recipe input without Gradio's file marker is refused by Gradio itself
        client.predict({"path": str(outside)}, api_name="/load_recipe")
    # the same file, uploaded, opens
    assert "face 1 of 1" in client.predict(handle_file(outside), api_name="/open_photo")[1]
    link.unlink()


def test_an_active_user_keeps_their_photo_while_others_are_refused(server, users, studio):
    srv, _, _ = server
    first, second = users
    first.predict(handle_file(fixture_path("002")), api_name="/open_photo")
    second.predict(handle_file(fixture_path("004")), api_name="/open_photo")
    for _ in range(3):   # more people arrive while both are editing: they are told, nobody is dropped
        with pytest.raises(AppError, match="holding 2 people's photos"):
            Client(srv.url, verbose=False).predict(handle_file(fixture_path("012")), api_name="/open_photo")
    before, after = first.predict(*_sliders(studio, happiness=1.0), api_name="/edit")[0]
    assert Image.open(after).size == (768, 768)
    assert "1 undo step" in second.predict(*_sliders(studio, surprise=1.0), api_name="/edit")[1]


def test_memory_budget_refuses_what_would_not_fit_and_bounds_an_animation(server, users, studio, tmp_path):
    srv, _, _ = server
    client = users[0]
    client.predict(handle_file(_scaled(tmp_path / "big.jpg", 20)), api_name="/open_photo")   # opening fits ...
    with pytest.raises(AppError, match="server allows 512 MB in all; use a smaller photo"):
        client.predict(*_sliders(studio, happiness=1.0), api_name="/edit")                   # ... an edit does not
    with pytest.raises(AppError, match="greater than maximum value 30"):   # the Frames slider now ends at 30
        client.predict("the photo as it is", "a preset", "happiness", 1.0, 48, True, *_sliders(studio),
                       api_name="/interpolate")

    client.predict(handle_file(_scaled(tmp_path / "mid.jpg", 4)), api_name="/open_photo")
    with PeakMemory(srv.rss_mb, 0.02) as memory:
        strip, gif, mp4, *_ = client.predict("the photo as it is", "a preset", "happiness", 1.0, 48, True,
                                             *_sliders(studio), api_name="/interpolate")
    assert Image.open(gif).n_frames == 2 * 48 - 2
    print(f"\n48 frames of a 4 MP photo: server RSS {memory.base:.0f} MB -> peak {memory.peak:.0f} MB "
          f"(budget {MEMORY_GB * 1024:.0f} MB)")
    assert memory.above < MEMORY_GB * 1024


def _loose(own: Path) -> set[str]:
    return {p.name for p in (own / "uploads").iterdir() if p.is_file()}


def test_an_abandoned_upload_is_swept_and_logs_no_traceback(server, users):
    srv, _, own = server
    port = int(srv.url.rstrip("/").rsplit(":", 1)[1])
    loose_before = _loose(own)
    log_start = len(srv.log.read_text())
    boundary = "studioTestBoundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"files\"; filename=\"big.jpg\"\r\n"
            "Content-Type: image/jpeg\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port)) as sock:   # says 5 MB, sends 1 MB, leaves
        sock.sendall((f"POST /gradio_api/upload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                      f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                      f"Content-Length: {len(head) + 5_000_000}\r\n\r\n").encode() + head + b"\xff" * 1_000_000)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not _loose(own) - loose_before:   # the server is writing it
            time.sleep(0.2)
        time.sleep(0.5)
    loose = _loose(own) - loose_before
    assert loose, "the part-way upload was not where it was expected"
    deadline = time.monotonic() + 3 * KEEP_S + 10
    while time.monotonic() < deadline and any((own / "uploads" / name).exists() for name in loose):
        time.sleep(1)
    assert not any((own / "uploads" / name).exists() for name in loose)
    log = srv.log.read_text()[log_start:]
    assert "Traceback" not in log and "a client left during POST /gradio_api/upload" in log
    assert users[1].predict(handle_file(fixture_path("001")), api_name="/open_photo")


def test_the_cli_has_the_same_frame_budget(tmp_path):
    big = _scaled(tmp_path / "big.jpg", 20)
    assert_error(run("interpolate", big, "--to", "happiness=1", "--frames", "48", "-o", tmp_path / "a.gif"),
                 "a 20.0 MP photo can be animated in at most 30 frames")
    assert_error(run("interpolate", fixture_path("002"), "--to", "happiness=1", "--frames", "241",
                     "-o", tmp_path / "a.gif"), "frames must be in 2..240, got 241")
    assert not (tmp_path / "a.gif").exists()
