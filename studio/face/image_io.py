"""Reading any photo a user may have into RGB(A) uint8, and writing results atomically."""

from __future__ import annotations

import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.errors import StudioError

MAX_PIXELS = 50_000_000
WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
                 ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}


@dataclass(frozen=True)
class Photo:
    """A decoded photo: `rgb` is HxWx3 uint8; `alpha` is HxW uint8 or None when opaque."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None

    @property
    def size(self) -> tuple[int, int]:
        """(width, height)."""
        return self.rgb.shape[1], self.rgb.shape[0]

    def pixels(self) -> np.ndarray:
        """RGB or RGBA array, whichever holds everything the photo had."""
        if self.alpha is None:
            return self.rgb
        return np.dstack([self.rgb, self.alpha])

    @staticmethod
    def from_pixels(pixels: np.ndarray) -> "Photo":
        if pixels.ndim == 3 and pixels.shape[2] == 4:
            return Photo(np.ascontiguousarray(pixels[:, :, :3]), np.ascontiguousarray(pixels[:, :, 3]))
        return Photo(np.ascontiguousarray(pixels))


def _to_uint8(array: np.ndarray) -> np.ndarray:
    """Scale 16-bit or float samples to 8 bits by their type's range."""
    if array.dtype == np.uint8:
        return array
    if array.dtype in (np.uint16, np.int32, np.int16) and array.max(initial=0) > 255:
        return (array.astype(np.float32) / 257.0).clip(0, 255).round().astype(np.uint8)
    if array.dtype.kind == "f":
        top = 1.0 if array.max(initial=0) <= 1.0 else 255.0
        return (array.astype(np.float32) / top * 255.0).clip(0, 255).round().astype(np.uint8)
    return array.clip(0, 255).astype(np.uint8)


def _check_size(size: tuple[int, int], max_pixels: int, name: str) -> None:
    width, height = size
    if width * height > max_pixels:
        raise StudioError(f"{name} is {width}x{height} ({width * height / 1e6:.1f} MP); "
                          f"the limit is {max_pixels / 1e6:g} MP")
    if width < 1 or height < 1:
        raise StudioError(f"{name} has no pixels")


def photo_from_pil(image: Image.Image, max_pixels: int = MAX_PIXELS) -> Photo:
    """Apply EXIF rotation and convert whatever mode the image has to RGB(A) uint8."""
    _check_size(image.size, max_pixels, "image")
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        gray = _to_uint8(np.asarray(image))
        return Photo(np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2)))
    if mode == "P":
        image = image.convert("RGBA" if "transparency" in image.info else "RGB")
    elif mode in ("LA", "PA", "La"):
        image = image.convert("RGBA")
    elif mode not in ("RGB", "RGBA"):
        image = image.convert("RGB")  # L, 1, CMYK, YCbCr, LAB, HSV
    array = np.asarray(image)
    if array.shape[2] == 4:
        alpha = array[:, :, 3]
        if alpha.min() == 255:
            return Photo(np.ascontiguousarray(array[:, :, :3]))
        return Photo(np.ascontiguousarray(array[:, :, :3]), np.ascontiguousarray(alpha))
    return Photo(np.ascontiguousarray(array))


def load_photo(path: str | os.PathLike, max_pixels: int = MAX_PIXELS) -> Photo:
    """Read a photo file; every failure becomes a StudioError with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise StudioError(f"no such file: {path}")
    if path.is_dir():
        raise StudioError(f"{path} is a folder, not an image")
    if path.stat().st_size == 0:
        raise StudioError(f"{path} is empty")
    with warnings.catch_warnings():
        # PIL warns, then raises, on huge declared sizes; our own limit gives the message.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        previous = Image.MAX_IMAGE_PIXELS
        Image.MAX_IMAGE_PIXELS = None
        try:
            with Image.open(path) as image:
                _check_size(image.size, max_pixels, path.name)  # before decoding a single pixel
                image.load()
                return photo_from_pil(image, max_pixels)
        except StudioError:
            raise
        except UnidentifiedImageError:
            raise StudioError(f"{path.name} is not an image this studio can read") from None
        except (OSError, ValueError, SyntaxError, EOFError) as exc:
            raise StudioError(f"{path.name} could not be decoded ({exc.__class__.__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'corrupt data'})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def check_output_path(path: str | os.PathLike, inputs: tuple = ()) -> Path:
    """Refuse outputs that would land in a missing folder, overwrite an input, or have no known format."""
    path = Path(path)
    if not path.parent.exists():
        raise StudioError(f"output folder does not exist: {path.parent}")
    for source in inputs:
        if Path(source).exists() and path.exists() and os.path.samefile(source, path):
            raise StudioError(f"refusing to overwrite the input {source}; choose another output")
    return path


def write_atomic(path: str | os.PathLike, write) -> None:
    """Call write(tmp_path) and move the finished file into place, so no half file is ever seen."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def check_photo_output(path: str | os.PathLike, inputs: tuple = ()) -> Path:
    """check_output_path, and the extension must name a format we write."""
    path = check_output_path(path, inputs)
    if path.suffix.lower() not in WRITE_FORMATS:
        raise StudioError(f"unknown output format '{path.suffix}'; use one of {', '.join(sorted(WRITE_FORMATS))}")
    return path


def save_photo(photo: Photo, path: str | os.PathLike, inputs: tuple = (), quality: int = 95) -> Path:
    """Write a photo in the format its extension names; JPEG and BMP flatten transparency onto white."""
    path = check_photo_output(path, inputs)
    fmt = WRITE_FORMATS[path.suffix.lower()]
    pixels = photo.pixels()
    if photo.alpha is not None and fmt in ("JPEG", "BMP"):
        a = photo.alpha[:, :, None].astype(np.float32) / 255.0
        pixels = (photo.rgb * a + 255.0 * (1 - a)).round().astype(np.uint8)
    image = Image.fromarray(pixels)
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    write_atomic(path, lambda tmp: image.save(tmp, format=fmt, **options))
    return path
