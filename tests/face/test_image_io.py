import numpy as np
import pytest
from PIL import Image

from studio.errors import StudioError
from studio.face.image_io import Photo, load_photo, save_photo
from tests.conftest import fixture_path


def _save(tmp_path, name, image, **kw):
    path = tmp_path / name
    image.save(path, **kw)
    return path


@pytest.mark.parametrize("ext,fmt", [("jpg", "JPEG"), ("png", "PNG"), ("webp", "WEBP"),
                                     ("tif", "TIFF"), ("bmp", "BMP")])
def test_reads_common_formats(tmp_path, ext, fmt):
    rgb = np.asarray(Image.open(fixture_path("002")))
    photo = load_photo(_save(tmp_path, f"face.{ext}", Image.fromarray(rgb), format=fmt))
    assert photo.rgb.shape == rgb.shape and photo.rgb.dtype == np.uint8 and photo.alpha is None
    assert np.abs(photo.rgb.astype(int) - rgb).mean() < 6  # lossy formats stay close


def test_exif_rotation_is_applied(tmp_path):
    image = Image.fromarray(np.zeros((20, 40, 3), np.uint8))
    exif = image.getexif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    photo = load_photo(_save(tmp_path, "rot.jpg", image, exif=exif.tobytes()))
    assert photo.size == (20, 40)


def test_grayscale_16bit_and_rgba(tmp_path):
    gray = load_photo(_save(tmp_path, "g.png", Image.fromarray(np.full((8, 9), 77, np.uint8))))
    assert gray.rgb.shape == (8, 9, 3) and (gray.rgb == 77).all()
    deep = np.full((6, 7), 65535, np.uint16)
    photo16 = load_photo(_save(tmp_path, "d.png", Image.fromarray(deep)))
    assert (photo16.rgb == 255).all()
    rgba = np.zeros((5, 5, 4), np.uint8)
    rgba[..., 3] = 128
    photo = load_photo(_save(tmp_path, "a.png", Image.fromarray(rgba)))
    assert photo.alpha is not None and (photo.alpha == 128).all()
    opaque = rgba.copy()
    opaque[..., 3] = 255
    assert load_photo(_save(tmp_path, "o.png", Image.fromarray(opaque))).alpha is None


def test_cmyk_and_palette(tmp_path):
    cmyk = Image.new("CMYK", (4, 4), (0, 255, 255, 0))  # red
    red = load_photo(_save(tmp_path, "c.jpg", cmyk)).rgb[0, 0]
    assert red[0] > 200 and red[1] < 60
    pal = Image.new("P", (4, 4), 0)
    assert load_photo(_save(tmp_path, "p.png", pal)).rgb.shape == (4, 4, 3)


@pytest.mark.parametrize("content,message", [(b"", "empty"), (b"hello, not a picture", "not an image"),
                                             (None, "could not be decoded")])
def test_bad_files_raise_one_clear_error(tmp_path, content, message):
    path = tmp_path / "bad.jpg"
    if content is None:  # a real JPEG cut in half
        data = fixture_path("002").read_bytes()
        content = data[: len(data) // 3]
    path.write_bytes(content)
    with pytest.raises(StudioError, match=message):
        load_photo(path)


def test_missing_file_and_huge_image(tmp_path):
    with pytest.raises(StudioError, match="no such file"):
        load_photo(tmp_path / "nope.png")
    big = tmp_path / "big.png"
    Image.new("1", (8000, 7000)).save(big)  # 56 MP declared, a tiny file
    with pytest.raises(StudioError, match="limit is 50 MP"):
        load_photo(big)


def test_save_is_atomic_and_never_overwrites_the_input(tmp_path):
    src = tmp_path / "in.png"
    Image.fromarray(np.zeros((4, 4, 3), np.uint8)).save(src)
    before = src.read_bytes()
    with pytest.raises(StudioError, match="overwrite the input"):
        save_photo(Photo(np.full((4, 4, 3), 9, np.uint8)), src, inputs=(src,))
    assert src.read_bytes() == before
    with pytest.raises(StudioError, match="does not exist"):
        save_photo(Photo(np.zeros((4, 4, 3), np.uint8)), tmp_path / "missing" / "x.png")
    out = save_photo(Photo(np.zeros((4, 4, 3), np.uint8), np.full((4, 4), 10, np.uint8)), tmp_path / "o.png")
    assert Image.open(out).mode == "RGBA"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "o.png"]  # no temp files left


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600), (0o002, 0o664)])
def test_outputs_follow_the_umask(tmp_path, umask, mode):
    """Exports get the mode any new file would, not the temporary file's private 0600."""
    import os

    from studio.face.image_io import current_umask, write_atomic

    before = os.umask(umask)
    try:
        assert current_umask() == umask
        out = tmp_path / "out.png"
        save_photo(Photo(np.zeros((8, 8, 3), np.uint8)), out)
        write_atomic(tmp_path / "recipe.json", lambda tmp: open(tmp, "w").write("{}"))
        assert (out.stat().st_mode & 0o777) == mode
        assert ((tmp_path / "recipe.json").stat().st_mode & 0o777) == mode
    finally:
        os.umask(before)
