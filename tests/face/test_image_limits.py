"""Image sizes and shapes the libraries cannot take, and the formats read beyond Pillow's usual.

A side of 32767 px or more aborts the process inside MediaPipe (OpenCV's remap refuses sizes over
SHRT_MAX), so such photos must be refused before any pixel reaches it: by load_photo, before
decoding, and by FaceAnalyzer.detect for arrays given to it directly. Images too small or too
thin to hold a face are refused by detect with the reason. The big test images are flat colour,
so their files are small and quick to write.
"""

import subprocess
import sys

import numpy as np
import pytest
from PIL import Image, features

from studio import paths
from studio.errors import StudioError
from studio.face.image_io import MAX_ASPECT, MAX_SIDE, MIN_SIDE, WEBP_MAX_SIDE, Photo, load_photo, save_photo
from tests.conftest import fixture_path
from tests.interfaces.test_cli import assert_error, run

LONGEST = f"the longest side may be at most {MAX_SIDE} px"
EDIT = ("--preset", "happiness=1", "--yaw", "10", "--light-preset", "left")


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """The two photos that aborted the studio: a 40000x1 PNG and a 33000x1400 panorama JPEG."""
    folder = tmp_path_factory.mktemp("limits")
    Image.new("RGB", (40000, 1), (90, 120, 150)).save(folder / "wide.png")
    Image.new("RGB", (33000, 1400), (90, 120, 150)).save(folder / "panorama.jpg", quality=80)
    return folder


def _one_line(exc) -> str:
    text = str(exc.value)
    assert text and "\n" not in text
    return text


def test_limits_leave_a_margin_below_what_aborts_mediapipe():
    assert MAX_SIDE < 32767 and MIN_SIDE <= 10 and MAX_ASPECT > 6   # the measured limits, see image_io


@pytest.mark.parametrize("name,size", [("wide.png", (40000, 1)), ("tall.png", (1, 40000)),
                                       ("just_over.png", (MAX_SIDE + 1, 20))])
def test_load_refuses_a_side_too_long_before_decoding(tmp_path, name, size):
    Image.new("L", size, 128).save(tmp_path / name)
    with pytest.raises(StudioError) as exc:
        load_photo(tmp_path / name)
    assert _one_line(exc) == f"{name} is {size[0]}x{size[1]}: {LONGEST}"


def test_load_refuses_the_panorama_and_reads_the_longest_allowed_side(big, tmp_path):
    with pytest.raises(StudioError) as exc:
        load_photo(big / "panorama.jpg")
    assert _one_line(exc) == f"panorama.jpg is 33000x1400: {LONGEST}"
    Image.new("RGB", (MAX_SIDE, 1), "white").save(tmp_path / "longest.png")
    assert load_photo(tmp_path / "longest.png").size == (MAX_SIDE, 1)   # it loads; detect refuses it


class _NoMediaPipe:
    def process(self, rgb):
        raise AssertionError(f"a {rgb.shape} array reached MediaPipe")


@pytest.mark.parametrize("shape,message", [
    ((1, 40000), LONGEST), ((16, 32767), LONGEST), ((1400, 33000), LONGEST), ((32767, 16), LONGEST),
    ((1, 1), "too small to hold a face"), ((2, 30000), "too small"), ((MIN_SIDE - 1, 50), "too small"),
    ((8, 20000), "too thin"), ((20000, 8), "too thin"), ((100, 100 * MAX_ASPECT + 1), "too thin")])
def test_detect_refuses_arrays_beyond_the_limits_before_mediapipe(studio, monkeypatch, shape, message):
    monkeypatch.setattr(studio.analyzer, "_mesh", _NoMediaPipe())
    monkeypatch.setattr(studio.analyzer, "_landmarker", None)
    h, w = shape
    rgb = np.broadcast_to(np.uint8(128), (h, w, 3))   # no memory for the big ones
    with pytest.raises(StudioError) as exc:
        studio.analyzer.detect(rgb)
    assert message in _one_line(exc)
    assert str(exc.value).startswith(f"the image is {w}x{h}: ")


def test_tiny_images_are_still_tried_and_thin_ones_within_the_limits_are_searched(studio):
    face = Image.open(fixture_path("002")).convert("RGB")
    assert len(studio.analyzer.detect(np.asarray(face.resize((20, 20))))) == 1   # tests/hostile.py's tiny.png
    assert studio.analyzer.detect(np.full((MIN_SIDE, MIN_SIDE * MAX_ASPECT, 3), 128, np.uint8)) == []
    with pytest.raises(StudioError, match="too small"):
        studio.analyze(Photo(np.full((1, 1, 3), 255, np.uint8)))


def test_cli_refuses_the_photos_that_aborted_it_with_one_line(big, tmp_path):
    for name, size in (("wide.png", "40000x1"), ("panorama.jpg", "33000x1400")):
        result = run("edit", big / name, "-o", tmp_path / "out.png", *EDIT)
        assert result.returncode != 134
        assert_error(result, f"{name} is {size}: {LONGEST}")
    assert not (tmp_path / "out.png").exists()


def test_cli_refuses_thin_and_tiny_images_with_the_reason(tmp_path):
    for name, size, message in (("thin.png", (30000, 2), "too small"), ("strip.png", (8, 20000), "too thin"),
                                ("pixel.png", (1, 1), "too small")):
        Image.new("RGB", size, (200, 180, 160)).save(tmp_path / name)
        assert_error(run("edit", tmp_path / name, "-o", tmp_path / "out.png", *EDIT), message)


def test_webp_output_beyond_its_format_limit_is_refused(tmp_path):
    with pytest.raises(StudioError, match=f"WebP holds at most {WEBP_MAX_SIDE} px"):
        save_photo(Photo(np.zeros((2, WEBP_MAX_SIDE + 1, 3), np.uint8)), tmp_path / "wide.webp")
    assert not list(tmp_path.iterdir())


# --- HEIC (pillow-heif) and AVIF (Pillow's own) ---------------------------------------------

def _heif_can_encode() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    return bool(pillow_heif.libheif_info().get("HEIF"))


@pytest.mark.skipif(not _heif_can_encode(), reason="pillow-heif is missing or has no HEVC encoder")
def test_heic_is_read_and_its_face_found(studio, tmp_path):
    source = Image.open(fixture_path("002")).convert("RGB")
    source.save(tmp_path / "phone.heic", quality=90)   # pillow-heif's opener is registered by image_io
    assert Image.open(tmp_path / "phone.heic").format == "HEIF"
    photo = load_photo(tmp_path / "phone.heic")
    assert photo.size == source.size and np.abs(photo.rgb.astype(int) - np.asarray(source)).mean() < 3
    assert len(studio.analyze(photo).faces) == 1
    # pillow-heif applies the rotation itself and leaves EXIF orientation 1: no double turn
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(tmp_path / "rot.heic", exif=exif.tobytes())
    assert load_photo(tmp_path / "rot.heic").size == (20, 40)


@pytest.mark.skipif(not features.check("avif"), reason="this Pillow has no AVIF codec")
def test_avif_is_read_and_keeps_its_exif_orientation(tmp_path):
    source = Image.open(fixture_path("002")).convert("RGB")
    source.save(tmp_path / "photo.avif", quality=90)
    photo = load_photo(tmp_path / "photo.avif")
    assert photo.size == source.size and np.abs(photo.rgb.astype(int) - np.asarray(source)).mean() < 3
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(np.zeros((20, 40, 3), np.uint8)).save(tmp_path / "rot.avif", exif=exif.tobytes())
    assert load_photo(tmp_path / "rot.avif").size == (20, 40)


@pytest.mark.skipif(not _heif_can_encode(), reason="pillow-heif is missing or has no HEVC encoder")
def test_heic_without_pillow_heif_is_refused_with_a_hint(tmp_path):
    Image.open(fixture_path("002")).save(tmp_path / "phone.heic", quality=60)
    (tmp_path / "phone.jpg").write_bytes((tmp_path / "phone.heic").read_bytes())   # misnamed too
    script = ("import sys; sys.modules['pillow_heif'] = None\n"   # as if it were not installed
              "from studio.errors import StudioError\n"
              "from studio.face.image_io import load_photo\n"
              "for name in sys.argv[1:]:\n"
              "    try:\n"
              "        load_photo(name)\n"
              "    except StudioError as exc:\n"
              "        print(exc)\n")
    out = subprocess.run([sys.executable, "-c", script, tmp_path / "phone.heic", tmp_path / "phone.jpg"],
                         capture_output=True, text=True, cwd=paths.REPO_ROOT, timeout=120)
    lines = out.stdout.strip().splitlines()
    assert out.returncode == 0 and len(lines) == 2, out.stderr
    for name, line in zip(("phone.heic", "phone.jpg"), lines):
        assert line.startswith(f"{name} is a HEIC/HEIF photo; reading it needs the pillow-heif package")
