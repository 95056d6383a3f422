"""Fuzzing (Hypothesis) of what reads untrusted bytes: the recipe parser and the image loader.

Whatever comes in, the only failure allowed is a StudioError with a one-line message; anything
else (an IndexError from a parser, a hang, a crash) is a bug. Bounded: FUZZ_EXAMPLES examples per
target (STUDIO_FUZZ_EXAMPLES overrides), each with a deadline.
"""

import io
import json
import os
from datetime import timedelta

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from studio.errors import StudioError
from studio.face.image_io import Photo, load_photo
from studio.operations.recipe import EditRecipe, load_recipes, recipes_from_dict

FUZZ_EXAMPLES = int(os.environ.get("STUDIO_FUZZ_EXAMPLES", 400))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=timedelta(seconds=5), derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

KEYS = st.sampled_from(["version", "face", "remove", "presets", "coefficients", "pose", "light", "faces",
                        "happiness", "yaw", "azimuth", "temperature", "0", "-1", "x", ""])
JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**12, 10**12)
                    | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=8),
                    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(KEYS | st.text(max_size=6), inner, max_size=5),
                    max_leaves=20)


def one_line(exc: StudioError) -> None:
    text = str(exc)
    assert text and "\n" not in text and "Traceback" not in text, text


@FUZZ
@given(JSON)
def test_recipe_parser_accepts_or_refuses_cleanly(data):
    try:
        recipes = recipes_from_dict(data)
    except StudioError as exc:
        one_line(exc)
        return
    assert recipes and all(isinstance(r, EditRecipe) for r in recipes)
    # whatever was accepted round-trips through JSON unchanged
    from studio.operations.recipe import recipes_to_json

    assert recipes_from_dict(json.loads(recipes_to_json(recipes))) == recipes


@FUZZ
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_recipe_files_of_any_bytes(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "recipe.json"
    path.write_bytes(raw)
    try:
        load_recipes(path)
    except StudioError as exc:
        one_line(exc)


def _encoded(fmt: str, mode: str, size: int) -> bytes:
    rng = np.random.default_rng(size)
    image = Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8)).convert(mode)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


SEEDS = [_encoded(fmt, mode, 24) for fmt, mode in (("PNG", "RGB"), ("PNG", "RGBA"), ("PNG", "P"), ("JPEG", "RGB"),
                                                   ("JPEG", "CMYK"), ("GIF", "P"), ("WEBP", "RGB"), ("TIFF", "RGB"),
                                                   ("BMP", "RGB"), ("AVIF", "RGB"))]


@st.composite
def mutated_images(draw):
    """A valid small image file with a few bytes changed, cut short, or with bytes inserted."""
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "cut", "insert"]))
        at = draw(st.integers(0, len(data) - 1))
        if kind == "flip":
            data[at] = draw(st.integers(0, 255))
        elif kind == "cut":
            data = data[:max(1, at)]
        else:
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
    return bytes(data)


@FUZZ
@given(mutated_images() | st.binary(max_size=200))
def test_image_loader_gives_a_photo_or_a_clear_error(tmp_path_factory, raw):
    path = tmp_path_factory.mktemp("fuzz") / "upload.img"
    path.write_bytes(raw)
    try:
        photo = load_photo(path)
    except StudioError as exc:
        one_line(exc)
        return
    assert isinstance(photo, Photo) and photo.rgb.dtype == np.uint8 and photo.rgb.ndim == 3
    assert photo.rgb.shape[2] == 3 and photo.rgb.shape[0] >= 1 and photo.rgb.shape[1] >= 1
