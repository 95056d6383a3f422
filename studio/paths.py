"""Where the project's files live by default; every location can be overridden at run time."""

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WEIGHTS_DIR = REPO_ROOT / "weights"
SHAPE_MODEL_PATH = WEIGHTS_DIR / "shape_model.safetensors"
GENERATOR_PATH = WEIGHTS_DIR / "g2gan.safetensors"
RECOGNIZER_PATH = WEIGHTS_DIR / "expression_recognizer.safetensors"
APPEARANCE_PATH = WEIGHTS_DIR / "appearance.safetensors"
NEUTRALIZER_PATH = WEIGHTS_DIR / "neutralizer.safetensors"
MOUTH_BANK_PATH = WEIGHTS_DIR / "mouth_bank.safetensors"
# the London test photos (CC BY 4.0): the app's examples, the benches' and the docs' faces
LONDON_FIXTURES = REPO_ROOT / "tests" / "fixtures" / "london"


def shared_dir() -> Path:
    """The shared folder beside the checkout (data, models); STUDIO_SHARED overrides it."""
    return Path(os.environ.get("STUDIO_SHARED", REPO_ROOT.parent / "shared"))


def faces_dir() -> Path:
    return shared_dir() / "data" / "faces"


def face_landmarker_path() -> Path | None:
    """MediaPipe's face_landmarker.task, only when STUDIO_FACE_LANDMARKER names an existing file."""
    value = os.environ.get("STUDIO_FACE_LANDMARKER")
    if value and Path(value).is_file():
        return Path(value)
    return None
