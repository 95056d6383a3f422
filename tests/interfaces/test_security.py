"""Local-only serving, limits, names users cannot steer, and no pickle anywhere."""

import re

import pytest

from studio import paths
from studio.errors import StudioError
from studio.interfaces import app_session as sess
from tests.conftest import fixture_path
from tests.interfaces.test_cli import assert_error, run


def _listening(port: int) -> list[str]:
    """Local addresses (hex, as /proc/net/tcp{,6} write them) listening on `port`."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(table).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if int(hex_port, 16) == port and state == "0A":   # 0A: LISTEN
                found.append(address)
    return found


def test_the_app_listens_on_loopback_only(app_server):
    port = int(app_server.url.rstrip("/").rsplit(":", 1)[1])
    addresses = _listening(port)
    assert addresses, "the app is not listening"
    # 127.0.0.1 (0100007F) or ::1; never 0.0.0.0 / :: (every interface)
    assert all(a in ("0100007F", "00000000000000000000000001000000") for a in addresses), addresses


@pytest.mark.parametrize("name,expected", [
    ("../../etc/passwd", "etc_passwd"), ("<script>alert(1)</script>", "script_alert_1_script"),
    ("Zoë's photo (1)", "Zoe_s_photo_1"), (".hidden", "hidden"), ("", "photo"), ("....", "photo"),
    ("a" * 200, "a" * 60), ("photo\nname", "photo_name")])
def test_export_names_are_sanitised(name, expected):
    assert sess.safe_name(name) == expected


def test_an_upload_name_cannot_steer_where_exports_go(studio, tmp_path):
    session = sess.open_photo(studio, fixture_path("002"), name="../../../tmp/evil name?.jpg")
    exported = sess.export_photo(session, "PNG", tmp_path)
    assert exported.parent == tmp_path and exported.name == "evil_name.png"
    assert re.fullmatch(r"[A-Za-z0-9._-]+", exported.name)


def test_the_pixel_limit_is_configurable(studio, tmp_path):
    with pytest.raises(StudioError, match="limit is 0.5 MP"):
        sess.open_photo(studio, fixture_path("002"), max_pixels=500_000)
    assert_error(run("--max-megapixels", "0.5", "edit", fixture_path("002"), "-o", tmp_path / "o.png"),
                 "768x768 (0.6 MP); the limit is 0.5 MP")


def test_a_huge_recipe_file_is_refused_unread(tmp_path):
    from studio.operations.recipe import load_recipes

    big = tmp_path / "big.json"
    big.write_text('{"presets": {}, "x": "' + "a" * 300_000 + '"}')
    with pytest.raises(StudioError, match="larger than 256 kB"):
        load_recipes(big)


def test_weights_load_through_safetensors_and_nothing_unpickles():
    for path in (paths.REPO_ROOT / "weights").iterdir():
        assert path.suffix in (".safetensors", ".json", ".md"), path
    pattern = re.compile(r"torch\.load\(|import pickle|pickle\.load|allow_pickle\s*=\s*True|joblib")
    for source in (paths.REPO_ROOT / "studio").rglob("*.py"):
        assert not pattern.search(source.read_text()), source


@pytest.mark.parametrize("flag,value", [("--max-upload-mb", "0"), ("--max-memory-gb", "nan"),
                                        ("--max-memory-gb", "-1"), ("--max-session-mb", "inf")])
def test_bad_app_limits_are_one_line_errors(flag, value):
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "app.py", flag, value], cwd=paths.REPO_ROOT,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2 and result.stderr.strip() == f"error: {flag} must be a positive number"
