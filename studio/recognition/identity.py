"""Is the edited face still the same person? dlib's ResNet face descriptor (the model shipped in the
`face_recognition_models` package), an optional evaluation dependency: the project's `eval` extra.

The face is found with dlib's own HOG detector, aligned with dlib's 5-point shape predictor into a
150 px chip (`get_face_chip`, as the model was trained), and described by 128 numbers. Two faces
are the same person when their descriptors are closer than the model's own threshold, 0.6
(dlib reports 99.38% on LFW at that threshold).
"""

from __future__ import annotations

import importlib.util
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.errors import StudioError

THRESHOLD = 0.6
INSTALL_HINT = "identity needs dlib and its models: .venv/bin/pip install -e '.[eval]' in the studio's folder, or --no-identity"


def models_dir() -> Path:
    """STUDIO_DLIB_MODELS, else the `models` folder of the installed face_recognition_models.

    The package is located without importing it: its __init__ needs pkg_resources, which recent
    setuptools no longer ship."""
    value = os.environ.get("STUDIO_DLIB_MODELS")
    if value:
        return Path(value)
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        raise StudioError(INSTALL_HINT)
    return Path(list(spec.submodule_search_locations)[0]) / "models"


def _box_overlap(a, b) -> float:
    x0, y0 = max(a[0], b[0]), max(a[1], b[1])
    x1, y1 = min(a[2], b[2]), min(a[3], b[3])
    inter = max(0, x1 - x0) * max(0, y1 - y0)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


@dataclass
class IdentityModel:
    """Loaded once (`load`); `descriptor` of a face in a photo, `distance` between descriptors."""

    detector: object
    predictor: object
    net: object
    threshold: float = THRESHOLD

    @classmethod
    def load(cls) -> "IdentityModel":
        try:
            import dlib
        except ImportError:
            raise StudioError(INSTALL_HINT) from None
        folder = models_dir()
        predictor = folder / "shape_predictor_5_face_landmarks.dat"
        net = folder / "dlib_face_recognition_resnet_model_v1.dat"
        for path in (predictor, net):
            if not path.is_file():
                raise StudioError(f"no dlib model at {path}; {INSTALL_HINT}")
        return cls(dlib.get_frontal_face_detector(), dlib.shape_predictor(str(predictor)),
                   dlib.face_recognition_model_v1(str(net)))

    def descriptor(self, pixels: np.ndarray, box: tuple[int, int, int, int] | None = None) -> np.ndarray | None:
        """128 floats for the face in `pixels` (H x W x 3+ uint8 RGB): the detection that overlaps
        `box` (x0, y0, x1, y1, e.g. the studio's face box) most, else the largest; None if dlib
        finds no face."""
        import dlib

        x0 = y0 = 0
        if box is not None:   # look only around the face: quicker on a large photo, and no other face
            h, w = pixels.shape[:2]
            mx, my = (box[2] - box[0]) // 2, (box[3] - box[1]) // 2
            x0, y0 = max(0, box[0] - mx), max(0, box[1] - my)
            pixels = pixels[y0:min(h, box[3] + my), x0:min(w, box[2] + mx)]
            box = (box[0] - x0, box[1] - y0, box[2] - x0, box[3] - y0)
        rgb = np.ascontiguousarray(pixels[:, :, :3])
        if rgb.shape[0] < 8 or rgb.shape[1] < 8:
            return None
        rects = list(self.detector(rgb, 0)) or list(self.detector(rgb, 1))   # upsample once for small faces
        if not rects:
            return None
        boxes = [(r.left(), r.top(), r.right(), r.bottom()) for r in rects]
        if box is not None:
            best = max(range(len(rects)), key=lambda i: _box_overlap(boxes[i], box))
            if _box_overlap(boxes[best], box) == 0:
                return None   # dlib found faces, but not this one
        else:
            best = max(range(len(rects)), key=lambda i: rects[i].area())
        shape = self.predictor(rgb, rects[best])
        chip = dlib.get_face_chip(rgb, shape, size=150, padding=0.25)
        return np.array(self.net.compute_face_descriptor(chip), np.float64)

    @staticmethod
    def distance(a: np.ndarray, b: np.ndarray) -> float:
        return float(np.linalg.norm(a - b))

    def same_person(self, a: np.ndarray, b: np.ndarray) -> bool:
        return self.distance(a, b) < self.threshold
