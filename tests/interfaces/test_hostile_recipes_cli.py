"""Hostile recipes, clashing outputs, failed and interrupted writes, and bad numbers, through
`python -m studio` as a user runs it: one `error: ...` line, exit code 2 (128 + the signal when
stopped), no traceback, and nothing written or replaced in the user's folder.

Most cases are refused before the models load (about a second each); the few that must get as far
as writing load them (about 5 s each).
"""

import errno
import json
import os
import resource
import signal
import subprocess
import sys
import time

import pytest

from studio import paths
from studio.errors import StudioError
from tests.interfaces.test_cli import NEUTRAL, assert_error, run


@pytest.fixture
def folder(tmp_path):
    """A user's folder with a photo and a recipe; `snapshot()` is every name and its bytes."""
    (tmp_path / "in.jpg").write_bytes(NEUTRAL.read_bytes())
    (tmp_path / "r.json").write_text('{"face": 0, "presets": {"happiness": 0.5}}\n')
    return tmp_path


def snapshot(folder):
    return {p.name: p.read_bytes() if p.is_file() else None for p in folder.iterdir()}


def assert_refused(result, message, folder, before):
    assert_error(result, message)
    assert "internal error" not in result.stderr
    assert snapshot(folder) == before   # nothing written, nothing replaced, no temporary file left


# --- recipes: any JSON text, every echoed value escaped

RECIPES = {
    "surrogate key": ('{"presets": {"\\ud800": 1}}', r"unknown preset '\ud800'"),
    "escape codes": (json.dumps({"presets": {"smirk\n\x1b[31mred": 1}}), r"unknown preset 'smirk\n\x1b[31mred'"),
    "5000 digits": ('{"face": ' + "9" * 5000 + "}", "number too long to read"),
    "100000 deep": ("[" * 100000 + "]" * 100000, "nested too deeply"),
    "face 0.0": ('{"face": 0.0}', "recipe 'face' must be a non-negative integer"),
    "face 1.0": ('{"face": 1.0}', "recipe 'face' must be a non-negative integer"),
    "1e400": ('{"presets": {"happiness": 1e400}}', "recipe numbers must be finite"),
}


@pytest.mark.parametrize("case", ["5000 digits", "100000 deep", "face 0.0", "face 1.0", "1e400"])
def test_hostile_recipe_texts_are_one_line(folder, case):
    text, message = RECIPES[case]
    (folder / "bad.json").write_text(text)
    before = snapshot(folder)
    assert_refused(run("edit", folder / "in.jpg", "-o", folder / "o.png", "--recipe", folder / "bad.json"),
                   message, folder, before)


def test_unknown_preset_names_from_a_recipe_are_escaped(folder):
    """Refused by the shape model, after the models load: both in one run's worth of checks."""
    for case in ("surrogate key", "escape codes"):
        text, message = RECIPES[case]
        (folder / "bad.json").write_text(text)
        before = snapshot(folder)
        result = run("edit", folder / "in.jpg", "-o", folder / "o.png", "--recipe", folder / "bad.json")
        assert_refused(result, message, folder, before)
        assert result.stderr.isascii() and "\x1b" not in result.stderr


# --- recipe files that are not regular files are refused before they are read

@pytest.mark.parametrize("kind,message", [
    ("device", "recipe zero is not a regular file"), ("fifo", "recipe fifo.json is not a regular file"),
    ("folder", "is a folder, not a file"), ("missing", "cannot read recipe nope.json: No such file or directory")])
def test_recipe_files_that_cannot_be_read(folder, kind, message):
    path = {"device": "/dev/zero", "fifo": folder / "fifo.json", "folder": folder,
            "missing": folder / "nope.json"}[kind]
    if kind == "fifo":
        os.mkfifo(path)
    before = snapshot(folder)
    assert_refused(run("edit", folder / "in.jpg", "-o", folder / "o.png", "--recipe", path), message, folder, before)


# --- outputs that are the same file as another output, a recipe or an input

@pytest.mark.parametrize("args,message", [
    (["edit", "in.jpg", "-o", "out.png", "--save-recipe", "out.png"], "-o and --save-recipe are the same file"),
    (["edit", "in.jpg", "-o", "out.png", "--save-recipe", "./sub/../out.png"], "-o and --save-recipe are the same file"),
    (["transfer", "in.jpg", "in.jpg", "-o", "t.png", "--both", "t.png"], "-o and --both are the same file"),
    (["edit", "in.jpg", "-o", "o.png", "--recipe", "r.json", "--save-recipe", "r.json"], "overwrite the input r.json"),
    (["edit", "in.jpg", "-o", "r.json.png", "--recipe", "r.json.png"], "overwrite the input r.json.png"),
    (["edit", "in.jpg", "-o", "o.png", "--save-recipe", "in.jpg"], "overwrite the input in.jpg"),
    (["edit", "in.jpg", "-o", "link.png", "--preset", "happiness=1"], "overwrite the input"),
    (["edit", "in.jpg", "-o", "sub", "--preset", "happiness=1"], "is a folder"),
])
def test_outputs_that_would_replace_a_file_the_command_uses(folder, args, message):
    (folder / "sub").mkdir()
    (folder / "r.json.png").write_text('{"face": 0}')
    os.symlink("in.jpg", folder / "link.png")
    before = snapshot(folder)
    assert_refused(run(*args, cwd=folder), message, folder, before)


# --- bad numbers on the command line

@pytest.mark.parametrize("args,message", [
    (["--max-megapixels", "nan"], "--max-megapixels: must be a finite positive number, got 'nan'"),
    (["--max-megapixels", "inf"], "finite positive number, got 'inf'"),
    (["--max-megapixels", "0"], "finite positive number, got '0'"),
    (["--max-megapixels", "-1"], "finite positive number, got '-1'"),
    (["--max-megapixels", "lots"], "must be a number, got 'lots'"),
    (["bench", "--repeats", "0"], "--repeats: must be at least 1"),
    (["bench", "--soak", "--seconds", "nan"], "--seconds: must be a finite positive number"),
    (["transfer", "in.jpg", "in.jpg", "-o", "t.png", "--face-b", "-1"], "--face-b: must be at least 0"),
])
def test_bad_numbers_are_one_line(folder, args, message):
    if args[0].startswith("--max"):
        args = args + ["edit", "in.jpg", "-o", "o.png"]
    before = snapshot(folder)
    assert_refused(run(*args, cwd=folder), message, folder, before)


# --- failed writes: one line naming the file and the reason, nothing left behind

def test_write_errors_in_the_library_name_the_file_and_the_reason(tmp_path):
    from studio.face.image_io import write_atomic

    def full_disk(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(StudioError, match=r"^cannot write out.png: No space left on device$"):
        write_atomic(tmp_path / "out.png", full_disk)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(StudioError, match=r"^cannot write out.png: "):   # no folder to make the temporary file in
        write_atomic(tmp_path / "gone" / "out.png", lambda tmp: None)
    # root ignores a read-only folder's mode; /sys refuses new files to everyone
    with pytest.raises(StudioError, match=r"^cannot write out.png: (Permission denied|Read-only file system)$"):
        write_atomic("/sys/out.png", lambda tmp: None)

    def stopped(tmp):
        with open(tmp, "wb") as f:
            f.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):   # whatever stops the write removes the temporary file
        write_atomic(tmp_path / "out.png", stopped)
    assert list(tmp_path.iterdir()) == []


def test_an_unwritable_folder_is_one_line(folder):
    before = snapshot(folder)
    assert_refused(run("edit", folder / "in.jpg", "-o", "/sys/out.png", "--preset", "happiness=1"),
                   "cannot write out.png: Permission denied", folder, before)


def _limit_file_size():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)   # so a write past the limit fails with EFBIG
    resource.setrlimit(resource.RLIMIT_FSIZE, (20000, 20000))


def test_a_full_disk_is_one_line_and_leaves_nothing(folder):
    before = snapshot(folder)
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    env.pop("STUDIO_DEBUG", None)
    result = subprocess.run([sys.executable, "-m", "studio", "edit", "in.jpg", "-o", "out.png", "--preset",
                             "happiness=1", "--save-recipe", "out.json"], cwd=folder, env=env,
                            preexec_fn=_limit_file_size, capture_output=True, text=True, timeout=300)
    assert_refused(result, "cannot write out.png: File too large", folder, before)


# --- interrupted writes: SIGTERM or SIGHUP mid-write leaves no temporary file

SLOW_WRITE = """
import sys, time
import PIL.Image

def slow_save(self, fp, *args, **kwargs):   # half a file, then a long wait for the signal
    with open(fp, "wb") as f:
        f.write(b"half a photo")
    time.sleep(120)

PIL.Image.Image.save = slow_save
from studio.interfaces.cli import main
sys.exit(main(sys.argv[1:], quiet_native=True))
"""


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP])
def test_a_signal_mid_write_removes_the_half_written_file(folder, signum):
    before = snapshot(folder)
    env = {**os.environ, "PYTHONPATH": str(paths.REPO_ROOT)}
    env.pop("STUDIO_DEBUG", None)
    child = subprocess.Popen([sys.executable, "-c", SLOW_WRITE, "edit", "in.jpg", "-o", "out.png", "--preset",
                              "happiness=1"], cwd=folder, env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        while not any(p.name.startswith(".out.") and p.stat().st_size for p in folder.iterdir()):
            assert child.poll() is None and time.monotonic() < deadline, child.stderr.read() if child.poll() else ""
            time.sleep(0.05)
        child.send_signal(signum)
        out, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 128 + signum, err
    assert err.strip().splitlines() == ["error: interrupted"] and "Traceback" not in out + err
    assert snapshot(folder) == before
