"""Colour profiles: a Display P3 photo (what phones take) keeps its ICC profile from load to every
export, and the app's previews show it converted to sRGB, as the export will look.

Pillow's ImageCms can only create sRGB, LAB and XYZ profiles, so the Display P3 and CMYK
profiles are written here by hand: minimal ICC v2 profiles that LittleCMS reads.
"""

import io
import struct

import numpy as np
import pytest
from PIL import Image, ImageCms, features

from studio.face.image_io import Photo, load_photo, save_photo
from studio.geometry.shading import Lighting
from studio.interfaces import app_session as sess
from studio.operations.interpolate import interpolate
from studio.operations.recipe import EditRecipe
from studio.operations.transfer import transfer
from studio.operations.views import preview
from tests.conftest import fixture_path

D50 = np.array([0.9642, 1.0, 0.8249])
D65 = (0.3127, 0.3290)
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
P3_PRIMARIES = [(0.680, 0.320), (0.265, 0.690), (0.150, 0.060)]
SRGB_PRIMARIES = [(0.640, 0.330), (0.300, 0.600), (0.150, 0.060)]
HAPPY = EditRecipe(presets={"happiness": 1.0})


def _s15(v: float) -> bytes:
    return struct.pack(">i", int(round(v * 65536)))


def _rgb_to_xyz(primaries, white=D65) -> np.ndarray:
    """The 3x3 matrix from linear RGB to XYZ of these primaries, white mapping to Y = 1."""
    xy = np.array(primaries, float)
    xyz = np.stack([xy[:, 0] / xy[:, 1], np.ones(3), (1 - xy[:, 0] - xy[:, 1]) / xy[:, 1]])
    w = np.array([white[0] / white[1], 1.0, (1 - white[0] - white[1]) / white[1]])
    return xyz * np.linalg.solve(xyz, w)


def _srgb_decode(v):
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _srgb_encode(v):
    v = np.clip(v, 0, 1)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * v ** (1 / 2.4) - 0.055)


def _icc(device_class: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]) -> bytes:
    """An ICC v2.1 profile: the 128-byte header, the tag table, the tags (shared bodies once)."""
    offset = 128 + 4 + 12 * len(tags)
    table, data, placed = b"", b"", {}
    for signature, body in tags:
        if body not in placed:
            data += b"\0" * (-len(data) % 4)
            placed[body] = offset + len(data)
            data += body
        table += signature + struct.pack(">II", placed[body], len(body))
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
              + device_class + space + pcs + struct.pack(">6H", 2024, 1, 1, 0, 0, 0) + b"acsp"
              + b"\0" * 24 + b"\0" * 4 + b"".join(_s15(v) for v in D50) + b"\0" * 48)
    assert len(header) == 128
    return header + body


def _common_tags(name: bytes) -> list[tuple[bytes, bytes]]:
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(name) + 1) + name + b"\0" + b"\0" * 78
    cprt = b"text" + b"\0" * 4 + b"made for the studio's tests\0"
    return [(b"desc", desc), (b"cprt", cprt), (b"wtpt", b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in D50))]


def display_p3_icc() -> bytes:
    """Display P3: P3 primaries, D65 white, the sRGB tone curve; colorants adapted to the D50
    PCS with Bradford, as Apple's own profile has them."""
    m = _rgb_to_xyz(P3_PRIMARIES)
    white = m.sum(axis=1)
    adapt = np.linalg.inv(BRADFORD) @ np.diag((BRADFORD @ D50) / (BRADFORD @ white)) @ BRADFORD
    colorants = adapt @ m
    curve = _srgb_decode(np.linspace(0, 1, 1024))
    trc = b"curv" + b"\0" * 4 + struct.pack(">I", 1024) + np.round(curve * 65535).astype(">u2").tobytes()
    xyz = [b"XYZ " + b"\0" * 4 + b"".join(_s15(v) for v in colorants[:, i]) for i in range(3)]
    tags = _common_tags(b"Display P3 (test)") + [(b"rXYZ", xyz[0]), (b"gXYZ", xyz[1]), (b"bXYZ", xyz[2]),
                                                 (b"rTRC", trc), (b"gTRC", trc), (b"bTRC", trc)]
    return _icc(b"mntr", b"RGB ", b"XYZ ", tags)


def cmyk_icc(black: float = 1.0) -> bytes:
    """An input profile for CMYK: a 5-point lut8 A2B0 to Lab of the plain formula
    R = (1 - C)(1 - black K)..., so its colours are predictable (black < 1: a weak black ink,
    which tells a conversion through the profile from Pillow's plain one)."""
    grid = np.linspace(0, 1, 5)
    c, m, y, k = (g.ravel() for g in np.meshgrid(grid, grid, grid, grid, indexing="ij"))
    k = black * k
    rgb = np.stack([(1 - c) * (1 - k), (1 - m) * (1 - k), (1 - y) * (1 - k)], axis=1)
    to_lab = ImageCms.buildTransform(ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB")
    lab = np.asarray(ImageCms.applyTransform(Image.fromarray(np.round(rgb * 255).astype(np.uint8)[None]), to_lab))
    # Pillow's LAB holds a and b as signed bytes; an 8-bit ICC Lab table holds them offset by 128
    lab = np.concatenate([lab[..., :1], lab[..., 1:].view(np.int8).astype(int) + 128], axis=-1)
    identity = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    ramp = bytes(range(256))
    a2b0 = (b"mft1" + b"\0" * 4 + bytes([4, 3, 5, 0]) + identity + ramp * 4
            + lab.reshape(-1, 3).astype(np.uint8).tobytes() + ramp * 3)
    return _icc(b"scnr", b"CMYK", b"Lab ", _common_tags(b"plain CMYK (test)") + [(b"A2B0", a2b0)])


P3 = display_p3_icc()


def _profile(icc: bytes) -> ImageCms.ImageCmsProfile:
    return ImageCms.ImageCmsProfile(io.BytesIO(icc))


@pytest.fixture(scope="module")
def p3_files(tmp_path_factory):
    """A London fixture converted from sRGB to Display P3 and tagged with it, as a phone would
    store it (the same colours, in P3 numbers), as PNG and JPEG."""
    folder = tmp_path_factory.mktemp("p3")
    srgb = Image.open(fixture_path("002")).convert("RGB")
    p3 = ImageCms.profileToProfile(srgb, ImageCms.createProfile("sRGB"), _profile(P3), outputMode="RGB")
    p3.save(folder / "p3.png", icc_profile=P3)
    p3.save(folder / "p3.jpg", icc_profile=P3, quality=95)
    return folder, np.asarray(srgb), np.asarray(p3)


def test_the_handmade_profiles_are_valid():
    p3 = _profile(P3).profile
    assert p3.xcolor_space.strip() == "RGB" and p3.profile_description == "Display P3 (test)"
    assert np.allclose(p3.red_colorant[0], (0.5151, 0.2412, -0.0011), atol=2e-4)   # Apple's Display P3
    assert _profile(cmyk_icc()).profile.xcolor_space.strip() == "CMYK"


def test_p3_profile_survives_load_and_every_export(p3_files, tmp_path):
    folder, _, p3 = p3_files
    for source in ("p3.png", "p3.jpg"):
        photo = load_photo(folder / source)
        assert photo.icc == P3
        for ext in ("png", "jpg", "webp", "tif"):
            out = save_photo(photo, tmp_path / f"{source[:-4]}_{source[-3:]}.{ext}")
            assert Image.open(out).info.get("icc_profile") == P3, out.name
            assert load_photo(out).icc == P3
    assert np.array_equal(load_photo(tmp_path / "p3_png.png").rgb, p3)   # the numbers are not touched
    assert "icc_profile" not in Image.open(save_photo(load_photo(folder / "p3.png"), tmp_path / "x.bmp")).info
    assert load_photo(fixture_path("002")).icc is None


def test_an_edited_p3_photo_exports_its_profile_and_leaves_the_rest_untouched(studio, p3_files, tmp_path):
    folder, _, p3 = p3_files
    session = sess.set_recipe(studio, sess.open_photo(studio, folder / "p3.png"), HAPPY)
    assert session.photo.icc == P3
    png = sess.export_photo(session, "PNG", tmp_path)
    jpeg = sess.export_photo(session, "JPEG", tmp_path)
    assert Image.open(png).info["icc_profile"] == P3 and Image.open(jpeg).info["icc_profile"] == P3
    exported = np.asarray(Image.open(png).convert("RGB"))
    changed = (exported != p3).any(axis=2)
    assert changed.any()                            # the face was edited ...
    x0, y0, x1, y1 = session.analyzed.faces[0].box
    assert not changed[:, :x0 - (x1 - x0) // 2].any()   # ... and a band beside it is exactly the input
    assert np.array_equal(exported[:80], p3[:80])


def test_transfer_and_animation_frames_keep_each_photos_profile(studio, analyzed, p3_files):
    folder, _, _ = p3_files
    a = studio.analyze(load_photo(folder / "p3.jpg"))
    result = transfer(studio, a, analyzed("012", True))
    assert result.a_with_b.photo.icc == P3 and result.a_neutral.photo.icc == P3
    assert result.b_with_a.photo.icc is None
    lit = EditRecipe(presets={"happiness": 1.0}, light=Lighting(azimuth=-40.0))   # relit frames too
    assert [frame.photo.icc for frame in interpolate(studio, a, lit, 2)] == [P3, P3]


def test_the_preview_of_a_p3_photo_is_converted_to_srgb(p3_files):
    folder, srgb, p3 = p3_files
    photo = load_photo(folder / "p3.png")
    shown = preview(photo).astype(int)
    # What converting the P3 numbers to sRGB predicts, computed here from the primaries alone
    # (both have a D65 white, so no adaptation): linearise, change primaries, encode.
    to_srgb = np.linalg.solve(_rgb_to_xyz(SRGB_PRIMARIES), _rgb_to_xyz(P3_PRIMARIES))
    predicted = np.round(255 * _srgb_encode(_srgb_decode(p3 / 255.0) @ to_srgb.T)).astype(int)
    assert np.abs(shown - predicted).max() <= 2
    assert np.abs(shown - srgb).mean() < 1.0            # the colours the photo had before it became P3
    # Not the raw numbers: where the photo has colour (the skin and lips; the backdrop is grey),
    # sRGB needs more saturated, redder numbers for the same colour than P3 does.
    raw = p3.astype(int)
    chroma = raw.max(axis=2) - raw.min(axis=2)
    coloured = chroma > 30
    assert coloured.mean() > 0.03 and np.abs(shown - raw)[coloured].mean() > 2.0
    assert ((shown.max(axis=2) - shown.min(axis=2)) - chroma)[coloured].mean() > 4
    assert (shown - raw)[coloured].mean(axis=0)[0] > 3
    # and a saturated P3 colour moves far, as predicted
    vivid = np.array([[[200, 100, 100], [40, 180, 60], [60, 80, 200]]], np.uint8)
    moved = preview(Photo(vivid, None, P3)).astype(int)
    expected = np.round(255 * _srgb_encode(_srgb_decode(vivid / 255.0) @ to_srgb.T)).astype(int)
    assert np.abs(moved - expected).max() <= 2 and np.abs(moved - vivid).max() > 20
    # without a profile, or with an sRGB one, the preview is the pixels themselves
    assert np.array_equal(preview(Photo(p3)), p3)
    srgb_icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    assert np.array_equal(preview(Photo(p3, None, srgb_icc)), p3)


def test_exif_orientation_still_applies_with_a_profile(p3_files, tmp_path):
    _, _, p3 = p3_files
    exif = Image.Exif()
    exif[0x0112] = 6   # stored sideways
    Image.fromarray(p3).transpose(Image.ROTATE_90).save(tmp_path / "rot.jpg", exif=exif, icc_profile=P3)
    photo = load_photo(tmp_path / "rot.jpg")
    assert photo.size == (p3.shape[1], p3.shape[0]) and photo.icc == P3
    assert np.abs(photo.rgb.astype(int) - p3).mean() < 3


def test_cmyk_jpegs_with_a_profile_load_through_it(tmp_path):
    cmyk = Image.new("CMYK", (16, 16), (0, 255, 255, 0))   # red
    cmyk.paste((0, 0, 0, 255), (0, 0, 16, 8))               # over full black ink
    cmyk.save(tmp_path / "profiled.jpg", icc_profile=cmyk_icc(black=0.5), quality=95)
    photo = load_photo(tmp_path / "profiled.jpg")
    assert photo.icc is None                 # converted to sRGB, so nothing to carry
    red, black = photo.rgb[12, 8].astype(int), photo.rgb[4, 8].astype(int)
    assert red[0] > 230 and red[1] < 40 and red[2] < 40
    assert 120 < black.min() and black.max() < 150   # the profile's half-strength black, not Pillow's 0
    cmyk.save(tmp_path / "broken.jpg", icc_profile=b"not a profile" * 20)
    plain = load_photo(tmp_path / "broken.jpg").rgb          # Pillow's plain conversion
    assert plain[12, 8, 0] > 230 and plain[4, 8].max() < 10


def test_profiles_that_do_not_describe_the_pixels_are_dropped(tmp_path):
    Image.new("RGB", (8, 8), "red").save(tmp_path / "junk.png", icc_profile=b"junk" * 40)
    assert load_photo(tmp_path / "junk.png").icc is None
    Image.new("L", (8, 8), 90).save(tmp_path / "gray.png", icc_profile=P3)   # an RGB profile on grey
    assert load_photo(tmp_path / "gray.png").icc is None


def _heif_can_encode() -> bool:
    try:
        import pillow_heif
    except ImportError:
        return False
    return bool(pillow_heif.libheif_info().get("HEIF"))


@pytest.mark.parametrize("ext", ["heic", "avif"])
def test_heic_and_avif_keep_their_profile(p3_files, tmp_path, ext):
    if ext == "heic" and not _heif_can_encode():
        pytest.skip("pillow-heif is missing or has no HEVC encoder")
    if ext == "avif" and not features.check("avif"):
        pytest.skip("this Pillow has no AVIF codec")
    _, _, p3 = p3_files
    Image.fromarray(p3).save(tmp_path / f"phone.{ext}", icc_profile=P3, quality=90)
    photo = load_photo(tmp_path / f"phone.{ext}")
    assert photo.icc == P3 and photo.size == (p3.shape[1], p3.shape[0])
    assert Image.open(save_photo(photo, tmp_path / "out.png")).info["icc_profile"] == P3
