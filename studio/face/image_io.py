"""Reading any photo a user may have into RGB(A) uint8, and writing results atomically."""

from __future__ import annotations

import functools
import io
import os
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from studio.errors import StudioError

# a pixel's brightness from its R, G, B (Rec. 601)
LUMA = np.array([0.299, 0.587, 0.114], np.float32)

MAX_PIXELS = 50_000_000
# OpenCV's remap refuses any side of SHRT_MAX (32767) px or more; inside MediaPipe (its face mesh
# and Face Landmarker crop and scale with it) that refusal aborts the whole process with no
# message. Measured in subprocesses: 32766 px wide or high passes both, 32767 aborts both. The
# studio's own warp (cv2.remap) has the same limit. 30000 leaves a margin of about 8% for any
# other path that rounds a size up; at the 50 MP limit it still allows a 30000x1666 panorama.
MAX_SIDE = 30_000
# Not crashes but where no face can be found, so a photo is refused with the reason instead of
# "no face found" (checked in FaceAnalyzer.detect, before MediaPipe sees a pixel; tiny images
# still load, so they can be converted and written). Measured: a tight face crop is found at
# 10x10 px but not at 9x9 or 8x8; a face filling the short side of a 300 px high (or wide)
# image is found up to 6:1 and not from 7:1 (the detector sees the photo, or one of its tiles,
# shrunk to 128 px). A margin either way: at least 8 px, at most 12:1.
MIN_SIDE = 8
MAX_ASPECT = 12
WEBP_MAX_SIDE = 16383   # the WebP format's own limit
WRITE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP",
                 ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
ICC_FORMATS = ("PNG", "JPEG", "WEBP", "TIFF")   # the written formats that carry an ICC profile
HEIF_SUFFIXES = (".heic", ".heif", ".hif")
HEIF_BRANDS = (b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"hevm", b"hevs")


def _register_heif() -> str | None:
    """Teach Pillow to read HEIC/HEIF (what iPhones take) with pillow-heif, once, at import.
    Returns why it cannot, or None. AVIF needs nothing: Pillow 11.3 reads it itself."""
    try:
        import pillow_heif

        pillow_heif.register_heif_opener()
    except Exception as exc:  # not installed, or its libheif failed to load
        return f"reading it needs the pillow-heif package (pip install pillow-heif; {exc.__class__.__name__})"
    return None


HEIF_MISSING = _register_heif()


@dataclass(frozen=True)
class Photo:
    """A decoded photo: `rgb` is HxWx3 uint8; `alpha` is HxW uint8 or None when opaque; `icc` is
    the RGB colour profile the pixels are in (a phone's Display P3, say), or None for sRGB. Edits
    keep it and save_photo writes it, so an export shows the colours the photo had."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    icc: bytes | None = None

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
    def from_pixels(pixels: np.ndarray, icc: bytes | None = None) -> "Photo":
        """From RGB or RGBA pixels; `icc`: the profile of the photo they were made from."""
        if pixels.ndim == 3 and pixels.shape[2] == 4:
            return Photo(np.ascontiguousarray(pixels[:, :, :3]), np.ascontiguousarray(pixels[:, :, 3]), icc)
        return Photo(np.ascontiguousarray(pixels), None, icc)


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
    _check_sides(width, height, name)


def _check_sides(width: int, height: int, name: str) -> None:
    """Some pixels, and no side MediaPipe cannot take (MAX_SIDE)."""
    if width < 1 or height < 1:
        raise StudioError(f"{name} has no pixels")
    if max(width, height) > MAX_SIDE:
        raise StudioError(f"{name} is {width}x{height}: the longest side may be at most {MAX_SIDE} px")


def check_searchable(size: tuple[int, int], name: str = "the image") -> None:
    """Refuse, with the reason, an image whose shape no face could be found in, or that
    MediaPipe cannot take (see MIN_SIDE, MAX_ASPECT and MAX_SIDE)."""
    width, height = size
    _check_sides(width, height, name)
    if min(width, height) < MIN_SIDE:
        raise StudioError(f"{name} is {width}x{height}: too small to hold a face "
                          f"(the shorter side must be at least {MIN_SIDE} px)")
    if max(width, height) > MAX_ASPECT * min(width, height):
        raise StudioError(f"{name} is {width}x{height}: too thin to find a face in (the long side may be "
                          f"at most {MAX_ASPECT} times the short side; crop it around the face)")


def photo_from_pil(image: Image.Image, max_pixels: int = MAX_PIXELS) -> Photo:
    """Apply EXIF rotation and convert whatever mode the image has to RGB(A) uint8. An RGB
    photo's ICC profile stays with it (Photo.icc); a CMYK photo's profile is used to convert it
    to sRGB; other profiles (grey) do not describe the RGB pixels made here and are dropped."""
    _check_size(image.size, max_pixels, "image")
    icc = image.info.get("icc_profile") or None
    space = _icc_space(icc)
    image = ImageOps.exif_transpose(image)
    mode = image.mode
    if mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        gray = _to_uint8(np.asarray(image))
        return Photo(np.ascontiguousarray(np.repeat(gray[:, :, None], 3, axis=2)))
    keep = icc if space == "RGB" and mode in ("RGB", "RGBA", "RGBX", "P", "PA") else None
    if mode == "CMYK" and space == "CMYK":
        image = _cmyk_to_srgb(image, icc)
        mode = image.mode
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
            return Photo(np.ascontiguousarray(array[:, :, :3]), None, keep)
        return Photo(np.ascontiguousarray(array[:, :, :3]), np.ascontiguousarray(alpha), keep)
    return Photo(np.ascontiguousarray(array), None, keep)


@functools.lru_cache(maxsize=32)
def _icc_space(icc: bytes | None) -> str | None:
    """The colour space an ICC profile describes ("RGB", "CMYK", "GRAY"...), or None when there
    is none or LittleCMS cannot read it (such a profile is not kept)."""
    if not icc:
        return None
    try:
        from PIL import ImageCms

        return ImageCms.ImageCmsProfile(io.BytesIO(icc)).profile.xcolor_space.strip()
    except Exception:
        return None


def _cmyk_to_srgb(image: Image.Image, icc: bytes) -> Image.Image:
    """A CMYK image converted to sRGB through its own profile (Pillow's plain conversion ignores
    it); the plain conversion when LittleCMS cannot use the profile."""
    try:
        from PIL import ImageCms

        return ImageCms.profileToProfile(image, ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                                         ImageCms.createProfile("sRGB"), outputMode="RGB")
    except Exception:
        return image.convert("RGB")


@functools.lru_cache(maxsize=16)
def _srgb_transform(icc: bytes):
    """A LittleCMS transform from this RGB profile to sRGB, or None when there is nothing to do:
    the profile is not a usable RGB one, or it already maps every colour to itself within a
    level (an sRGB profile by another name)."""
    if _icc_space(icc) != "RGB":
        return None
    try:
        from PIL import ImageCms

        transform = ImageCms.buildTransform(ImageCms.ImageCmsProfile(io.BytesIO(icc)), ImageCms.createProfile("sRGB"),
                                            "RGB", "RGB", renderingIntent=ImageCms.Intent.RELATIVE_COLORIMETRIC)
        levels = np.linspace(0, 255, 18).round().astype(np.uint8)
        probe = np.stack(np.meshgrid(levels, levels, levels, indexing="ij"), axis=-1).reshape(18, 324, 3)
        moved = np.asarray(ImageCms.applyTransform(Image.fromarray(probe), transform)).astype(int) - probe
    except Exception:
        return None
    return transform if np.abs(moved).max() > 1 else None


def to_srgb(rgb: np.ndarray, icc: bytes | None) -> np.ndarray:
    """RGB pixels in the colour profile `icc`, converted to sRGB for showing in a page (browsers
    take untagged pixels as sRGB). Unchanged when there is no profile or it is sRGB already."""
    transform = _srgb_transform(icc) if icc else None
    if transform is None:
        return rgb
    from PIL import ImageCms

    return np.asarray(ImageCms.applyTransform(Image.fromarray(np.ascontiguousarray(rgb)), transform))


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
            if HEIF_MISSING and _looks_like_heif(path):
                raise StudioError(f"{path.name} is a HEIC/HEIF photo; {HEIF_MISSING}") from None
            raise StudioError(f"{path.name} is not an image this studio can read") from None
        except (OSError, ValueError, SyntaxError, EOFError, RuntimeError) as exc:  # RuntimeError: libavif
            raise StudioError(f"{path.name} could not be decoded ({exc.__class__.__name__}: "
                              f"{str(exc).splitlines()[0] if str(exc) else 'corrupt data'})") from None
        finally:
            Image.MAX_IMAGE_PIXELS = previous


def declared_pixels(path: str | os.PathLike) -> int:
    """How many pixels a photo file declares in its header, read without decoding it (0 when it
    cannot be read: load_photo then says why)."""
    try:
        with Image.open(path) as image:
            width, height = image.size
        return width * height
    except Exception:   # any unreadable file
        return 0


def _looks_like_heif(path: Path) -> bool:
    """A HEIC/HEIF name, or an ISO media file whose ftyp box names an HEVC-coded HEIF brand
    (as its major brand, or a compatible one after a generic major brand such as mif1)."""
    if path.suffix.lower() in HEIF_SUFFIXES:
        return True
    try:
        with open(path, "rb") as file:
            head = file.read(64)
    except OSError:
        return False
    if head[4:8] != b"ftyp":
        return False
    box = head[:min(len(head), int.from_bytes(head[:4], "big"))]
    brands = [box[8:12]] + [box[i:i + 4] for i in range(16, len(box) - 3, 4)]
    return any(brand in HEIF_BRANDS for brand in brands)


def check_output_path(path: str | os.PathLike, inputs: tuple = ()) -> Path:
    """Refuse outputs that would land in a missing folder, be a folder, or overwrite an input (the same
    resolved path, or os.path.samefile when both exist)."""
    path = Path(path)
    if not path.parent.exists():
        raise StudioError(f"output folder does not exist: {path.parent}")
    if path.is_dir():
        raise StudioError(f"output {path} is a folder; give a file name")
    for source in inputs:
        if same_file(source, path):
            raise StudioError(f"refusing to overwrite the input {source}; choose another output")
    return path


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """Whether two paths name one file: the same resolved path (the file need not exist yet), or
    os.path.samefile when both exist (links). A link that loops cannot be told apart: True."""
    try:
        return Path(a).resolve() == Path(b).resolve() or (
            Path(a).exists() and Path(b).exists() and os.path.samefile(a, b))
    except (OSError, RuntimeError):
        return True


def current_umask() -> int:
    """The process's umask, read without changing it where Linux tells it (setting and restoring
    it would briefly give other threads' new files the wrong mode)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def write_atomic(path: str | os.PathLike, write) -> None:
    """Call write(tmp_path) and move the finished file into place, so no half file is ever seen.

    An OSError (a read-only folder, a full disk) becomes a one-line StudioError naming the file and
    the reason. Whatever stops the write, an error or an exception raised by a signal handler (the
    CLI turns SIGTERM and SIGHUP into one), removes the temporary file; signals are held back while
    it is created and removed, so none can leave it behind unnamed.
    """
    import signal

    path = Path(path)
    held = {signal.SIGINT, signal.SIGTERM, signal.SIGHUP}
    mask = getattr(signal, "pthread_sigmask", lambda how, signals: set())
    previous = mask(signal.SIG_BLOCK, held)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=path.suffix, dir=path.parent or ".")
    except OSError as exc:
        mask(signal.SIG_SETMASK, previous)
        raise StudioError(f"cannot write {path.name}: {exc.strerror or exc}") from None
    try:
        mask(signal.SIG_SETMASK, previous)
        os.close(fd)
        write(tmp)
        # mkstemp makes the file 0600; the result gets the mode any new file would (0644 usually)
        os.chmod(tmp, 0o666 & ~current_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        mask(signal.SIG_BLOCK, held)
        try:
            os.unlink(tmp)
        except OSError:
            pass
        finally:
            mask(signal.SIG_SETMASK, previous)
        if isinstance(exc, OSError):
            raise StudioError(f"cannot write {path.name}: {exc.strerror or exc}") from None
        raise


def check_photo_output(path: str | os.PathLike, inputs: tuple = ()) -> Path:
    """check_output_path, and the extension must name a format we write."""
    path = check_output_path(path, inputs)
    if path.suffix.lower() not in WRITE_FORMATS:
        raise StudioError(f"unknown output format '{path.suffix}'; use one of {', '.join(sorted(WRITE_FORMATS))}")
    return path


def _for_writing(photo: Photo, suffix: str, quality: int, name: str) -> tuple[Image.Image, str, dict]:
    """The image PIL writes for `photo` in the format `suffix` names, that format and its options."""
    fmt = WRITE_FORMATS[suffix.lower()]
    if fmt == "WEBP" and max(photo.size) > WEBP_MAX_SIDE:
        width, height = photo.size
        raise StudioError(f"{name}: WebP holds at most {WEBP_MAX_SIDE} px a side and this photo is "
                          f"{width}x{height}; write PNG or JPEG")
    pixels = photo.pixels()
    if photo.alpha is not None and fmt in ("JPEG", "BMP"):
        a = photo.alpha[:, :, None].astype(np.float32) / 255.0
        pixels = (photo.rgb * a + 255.0 * (1 - a)).round().astype(np.uint8)
    options = {"quality": quality} if fmt in ("JPEG", "WEBP") else {}
    if photo.icc and fmt in ICC_FORMATS:
        options["icc_profile"] = photo.icc
    return Image.fromarray(pixels), fmt, options


def encode_photo(photo: Photo, suffix: str, quality: int = 95, name: str = "the photo") -> bytes:
    """The bytes of the file save_photo would write for `photo` in the format `suffix` names."""
    import io

    image, fmt, options = _for_writing(photo, suffix, quality, name)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def save_photo(photo: Photo, path: str | os.PathLike, inputs: tuple = (), quality: int = 95) -> Path:
    """Write a photo in the format its extension names; JPEG and BMP flatten transparency onto white.
    The photo's ICC profile is written with it in PNG, JPEG, WebP and TIFF (BMP cannot hold one)."""
    path = check_photo_output(path, inputs)
    image, fmt, options = _for_writing(photo, path.suffix, quality, path.name)
    write_atomic(path, lambda tmp: image.save(tmp, format=fmt, **options))
    return path
