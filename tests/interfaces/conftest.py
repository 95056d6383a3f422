"""A real app server for the interface tests: `python app.py` on a free port, started once."""

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

from studio import paths
from studio.interfaces.bench_memory import resident_bytes

OUTPUT = paths.REPO_ROOT / "tests" / "output"   # screenshots and logs worth looking at (git-ignored)


@dataclass(frozen=True)
class Server:
    url: str
    pid: int
    log: Path

    def rss_mb(self) -> float:
        return resident_bytes(self.pid) / (1 << 20)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def served(temp_dir: Path, log: Path, *flags: str):
    """`python app.py` on a free port with Gradio's files in `temp_dir`, until the block ends."""
    port = _free_port()
    env = {**os.environ, "GRADIO_ANALYTICS_ENABLED": "False", "GRADIO_TEMP_DIR": str(temp_dir)}
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "app.py", "--port", str(port), *flags], cwd=paths.REPO_ROOT,
                                stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        if proc.poll() is not None:
            pytest.fail(f"app.py exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    break
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"app.py did not answer within 120 s:\n{log.read_text()[-3000:]}")
        time.sleep(0.5)
    try:
        yield Server(url, proc.pid, log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def app_server(tmp_path_factory):
    OUTPUT.mkdir(exist_ok=True)
    with served(tmp_path_factory.mktemp("gradio"), OUTPUT / "app_server.log") as server:
        yield server


@pytest.fixture
def client(app_server):
    from gradio_client import Client

    return Client(app_server.url, verbose=False)
