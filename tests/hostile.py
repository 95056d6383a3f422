"""A corpus of hostile and odd inputs, generated (never downloaded) from the London fixtures.

Each entry says what a user must get: a result ("edit": the face is found and edited), a clear
refusal ("refuse"), or either ("either": e.g. a face too small or too cut for MediaPipe).
"""

from __future__ import annotations

import io
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tests.conftest import PEOPLE, fixture_path

EDIT, REFUSE, EITHER = "edit", "refuse", "either"


@dataclass(frozen=True)
class Hostile:
    name: str      # the file name, extension included
    expect: str    # EDIT, REFUSE or EITHER
    why: str


def _png_bomb(width: int, height: int) -> bytes:
    """A valid-looking PNG that declares width x height but holds a few bytes."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b"")


def _save(image: Image.Image, path: Path, **options) -> None:
    image.save(path, **options)


def build(folder: Path) -> list[Hostile]:
    """Write the corpus into `folder`; returns its entries."""
    face = Image.open(fixture_path("002")).convert("RGB")
    face_bytes = fixture_path("002").read_bytes()
    entries: list[Hostile] = []

    def add(name, expect, why, write):
        write(folder / name)
        entries.append(Hostile(name, expect, why))

    buffer = io.BytesIO()
    face.save(buffer, format="PNG")
    png = buffer.getvalue()
    add("truncated.jpg", EITHER, "a JPEG cut at half its bytes", lambda p: p.write_bytes(face_bytes[: len(face_bytes) // 2]))
    add("truncated.png", REFUSE, "a PNG cut at a tenth", lambda p: p.write_bytes(png[: len(png) // 10]))
    corrupt = bytearray(face_bytes)
    rng = np.random.default_rng(7)
    for at in rng.integers(len(corrupt) // 3, len(corrupt), 40):
        corrupt[at] = int(rng.integers(0, 255))
    add("corrupt.jpg", EITHER, "a JPEG with 40 bytes overwritten", lambda p: p.write_bytes(bytes(corrupt)))
    add("zero.jpg", REFUSE, "no bytes at all", lambda p: p.write_bytes(b""))
    add("notes.jpg", REFUSE, "a text file named .jpg", lambda p: p.write_text("these are my notes, not a photo\n" * 20))
    add("bomb.png", REFUSE, "a PNG declaring 100000x100000 pixels", lambda p: p.write_bytes(_png_bomb(100_000, 100_000)))
    add("pixel.png", REFUSE, "1x1", lambda p: _save(Image.new("RGB", (1, 1), "white"), p))
    add("tiny.png", EITHER, "20x20 (MediaPipe may still find the face)", lambda p: _save(face.resize((20, 20)), p))
    add("gray16.png", EDIT, "16-bit grayscale",
        lambda p: _save(Image.fromarray((np.asarray(face.convert("L"), np.uint16) * 257)), p))
    add("cmyk.jpg", EDIT, "CMYK JPEG", lambda p: _save(face.convert("CMYK"), p, quality=92))
    add("palette.png", EDIT, "256-colour palette", lambda p: _save(face.quantize(256), p))
    rgba = face.convert("RGBA")
    alpha = np.full(face.size[::-1], 255, np.uint8)
    alpha[:, : face.size[0] // 8] = 0
    rgba.putalpha(Image.fromarray(alpha))
    add("transparent.png", EDIT, "RGBA with a transparent strip", lambda p: _save(rgba, p))
    frames = [face, face.transpose(Image.FLIP_LEFT_RIGHT), face.convert("L").convert("RGB")]
    add("animated.gif", EDIT, "animated GIF, 3 frames",
        lambda p: frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0))
    add("animated.webp", EDIT, "animated WebP, 3 frames",
        lambda p: frames[0].save(p, save_all=True, append_images=frames[1:], duration=100, loop=0))
    exif = Image.Exif()
    exif[0x0112] = 6   # the camera was turned: the stored pixels lie on their side

    add("rotated_exif.jpg", EDIT, "stored sideways with EXIF orientation 6",
        lambda p: face.transpose(Image.ROTATE_90).save(p, exif=exif, quality=92))
    add("gray.jpg", EDIT, "8-bit grayscale", lambda p: _save(face.convert("L"), p, quality=92))
    add("png_named.jpg", EDIT, "PNG data with a .jpg name", lambda p: p.write_bytes(png))
    w, h = face.size
    add("cut_by_border.jpg", EITHER, "the frame cuts through the face",
        lambda p: _save(face.crop((int(0.45 * w), 0, w, h)), p, quality=92))

    def tiny_face(p):
        canvas = Image.new("RGB", (4000, 3000), (200, 205, 210))
        canvas.paste(face.resize((110, 110)), (2600, 1700))
        canvas.save(p, quality=92)

    add("tiny_face.jpg", EITHER, "a 40-pixel face in a 12 MP photo", tiny_face)

    def crowd(p):
        people = [Image.open(fixture_path(person, smiling)).convert("RGB").resize((260, 260))
                  for person in PEOPLE for smiling in (False, True)]
        canvas = Image.new("RGB", (5 * 260, 4 * 260), "white")
        for i in range(20):
            canvas.paste(people[i % len(people)], ((i % 5) * 260, (i // 5) * 260))
        canvas.save(p, quality=92)

    add("twenty_faces.jpg", EDIT, "twenty faces in a grid", crowd)

    def cartoon(p):
        image = Image.new("RGB", (600, 600), (250, 240, 200))
        draw = ImageDraw.Draw(image)
        draw.ellipse((150, 120, 450, 480), fill=(255, 220, 170), outline="black", width=6)
        draw.ellipse((220, 230, 260, 270), fill="black")
        draw.ellipse((340, 230, 380, 270), fill="black")
        draw.arc((220, 300, 380, 420), 20, 160, fill="black", width=8)
        image.save(p)

    add("cartoon.png", EITHER, "a drawn smiley", cartoon)
    add("blank.png", REFUSE, "a plain white image", lambda p: _save(Image.new("RGB", (800, 600), "white"), p))
    add("huge_scan.jpg", EDIT, "a 35 MP scan",
        lambda p: _save(face.resize((5900, 5900), Image.BILINEAR), p, quality=85))
    # sides past OpenCV's SHRT_MAX aborted the whole process inside MediaPipe (the server with it)
    add("wide_line.png", REFUSE, "40000x1", lambda p: _save(Image.new("RGB", (40_000, 1), "gray"), p))
    add("panorama.jpg", REFUSE, "a 33000x1400 panorama",
        lambda p: _save(Image.new("RGB", (33_000, 1400), (120, 140, 160)), p, quality=80))
    add("thin.png", REFUSE, "30000x2", lambda p: _save(Image.new("RGB", (30_000, 2), "gray"), p))
    from tests.face.test_colour import display_p3_icc

    add("display_p3.jpg", EDIT, "a phone photo in Display P3",
        lambda p: face.save(p, quality=92, icc_profile=display_p3_icc()))
    add("photo.avif", EDIT, "AVIF", lambda p: face.save(p, format="AVIF", quality=80))
    try:
        import pillow_heif  # noqa: F401  (registered by studio.face.image_io)

        add("photo.heic", EDIT, "HEIC, as iPhones take", lambda p: face.save(p, format="HEIF", quality=80))
    except ImportError:
        pass
    return entries
