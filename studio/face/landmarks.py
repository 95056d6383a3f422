"""Face detection and the 478-point mesh with MediaPipe, optionally with blendshapes and head pose."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.face.mesh import N_POINTS


@dataclass(frozen=True)
class Face:
    """One detected face. `points` is 478x3 in pixels; z uses the x scale and grows away from the camera."""

    points: np.ndarray
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 of the landmarks, in pixels
    blendshapes: dict[str, float] | None = None
    transform: np.ndarray | None = None  # Face Landmarker's 4x4 facial transformation matrix

    @property
    def xy(self) -> np.ndarray:
        return self.points[:, :2]

    @property
    def area(self) -> int:
        x0, y0, x1, y1 = self.box
        return (x1 - x0) * (y1 - y0)


@dataclass(frozen=True)
class AnalyzerConfig:
    max_faces: int = 10
    min_detection_confidence: float = 0.5
    landmarker_path: Path | None = None  # face_landmarker.task: adds blendshapes and head pose


@dataclass
class FaceAnalyzer:
    """Loads MediaPipe once; `detect` is safe to call from several threads (calls are serialised)."""

    config: AnalyzerConfig = field(default_factory=AnalyzerConfig)

    def __post_init__(self):
        import mediapipe as mp

        self._lock = threading.Lock()
        # The legacy face mesh is bundled with mediapipe 0.10.21, so landmarks work with no file.
        self._mesh = mp.solutions.face_mesh.FaceMesh(
            static_image_mode=True, max_num_faces=self.config.max_faces, refine_landmarks=True,
            min_detection_confidence=self.config.min_detection_confidence)
        self._landmarker = None
        if self.config.landmarker_path is not None:
            from mediapipe.tasks.python import BaseOptions, vision

            options = vision.FaceLandmarkerOptions(
                base_options=BaseOptions(model_asset_path=str(self.config.landmarker_path)),
                output_face_blendshapes=True, output_facial_transformation_matrixes=True,
                num_faces=self.config.max_faces, running_mode=vision.RunningMode.IMAGE)
            self._landmarker = vision.FaceLandmarker.create_from_options(options)

    @property
    def has_blendshapes(self) -> bool:
        return self._landmarker is not None

    def detect(self, rgb: np.ndarray) -> list[Face]:
        """Every face in an RGB uint8 image, largest first."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("detect expects an HxWx3 uint8 RGB array")
        height, width = rgb.shape[:2]
        rgb = np.ascontiguousarray(rgb)
        with self._lock:
            result = self._mesh.process(rgb)
            extras = self._detect_extras(rgb) if self._landmarker is not None else []
        faces = []
        for landmarks in result.multi_face_landmarks or []:
            pts = np.array([(p.x * width, p.y * height, p.z * width) for p in landmarks.landmark],
                           dtype=np.float64)
            if pts.shape[0] != N_POINTS:
                continue
            x0, y0 = np.floor(pts[:, :2].min(axis=0)).astype(int)
            x1, y1 = np.ceil(pts[:, :2].max(axis=0)).astype(int)
            blend, transform = _match_extras(pts, extras)
            faces.append(Face(pts, (int(x0), int(y0), int(x1), int(y1)), blend, transform))
        faces.sort(key=lambda f: -f.area)
        return faces

    def _detect_extras(self, rgb: np.ndarray) -> list[tuple[np.ndarray, dict, np.ndarray]]:
        import mediapipe as mp

        height, width = rgb.shape[:2]
        result = self._landmarker.detect(mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb))
        extras = []
        for i, landmarks in enumerate(result.face_landmarks):
            centre = np.array([[p.x * width, p.y * height] for p in landmarks]).mean(axis=0)
            blend = {c.category_name: float(c.score) for c in result.face_blendshapes[i]}
            extras.append((centre, blend, np.array(result.facial_transformation_matrixes[i])))
        return extras

    def close(self) -> None:
        self._mesh.close()
        if self._landmarker is not None:
            self._landmarker.close()


def _match_extras(points: np.ndarray, extras) -> tuple[dict | None, np.ndarray | None]:
    """The Face Landmarker result whose face centre is nearest this mesh's (the two run separately)."""
    if not extras:
        return None, None
    centre = points[:, :2].mean(axis=0)
    distances = [np.linalg.norm(c - centre) for c, _, _ in extras]
    best = int(np.argmin(distances))
    if distances[best] > 0.25 * np.ptp(points[:, 0]):
        return None, None
    _, blend, transform = extras[best]
    return blend, transform


def pick_face(faces: list[Face], index: int) -> Face:
    """The face the user asked for, or a clear error."""
    if not faces:
        raise StudioError("no face found in the image")
    if not 0 <= index < len(faces):
        raise StudioError(f"face {index} does not exist: the image has {len(faces)} face"
                          f"{'s' if len(faces) != 1 else ''} (0..{len(faces) - 1})")
    return faces[index]
