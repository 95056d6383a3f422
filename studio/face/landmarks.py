"""Face detection and the 478-point mesh with MediaPipe, optionally with blendshapes and head pose."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.face.image_io import check_searchable
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
    max_faces: int = 10                  # per detection pass (MediaPipe's own limit) ...
    max_total_faces: int = 32            # ... and in all, when a crowd is searched tile by tile
    min_detection_confidence: float = 0.5
    landmarker_path: Path | None = None  # face_landmarker.task: adds blendshapes and head pose
    # MediaPipe's detector sees the photo at 128 px, so faces under about a fifth of its width are
    # missed. Then the photo is searched again in overlapping tiles: 2x2, then 3x3.
    tile_grids: tuple[int, ...] = (2, 3)
    small_face: float = 0.2              # face width / photo width below which tiles are searched
    tile_overlap: float = 1.3            # each tile is this much larger than its share of the photo


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
        """Every face in an RGB uint8 image, numbered left to right (see in_reading_order). An image MediaPipe cannot take (a
        side over MAX_SIDE aborts the process inside it) or that no face could be found in (too
        small, too thin) is refused with a StudioError before MediaPipe sees it."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError("detect expects an HxWx3 uint8 RGB array")
        height, width = rgb.shape[:2]
        check_searchable((width, height))
        rgb = np.ascontiguousarray(rgb)
        with self._lock:
            extras = self._detect_extras(rgb) if self._landmarker is not None else []
            faces = [Face(pts, _box(pts), *_match_extras(pts, extras)) for pts in self._mesh_points(rgb)]
            if not faces or max(f.box[2] - f.box[0] for f in faces) < self.config.small_face * width:
                faces = _merge(faces + self._tiled(rgb), self.config.max_total_faces)
        return in_reading_order(faces)

    def _mesh_points(self, rgb: np.ndarray) -> list[np.ndarray]:
        height, width = rgb.shape[:2]
        result = self._mesh.process(rgb)
        points = []
        for landmarks in result.multi_face_landmarks or []:
            pts = np.array([(p.x * width, p.y * height, p.z * width) for p in landmarks.landmark],
                           dtype=np.float64)
            if pts.shape[0] == N_POINTS:
                points.append(pts)
        return points

    def _tiled(self, rgb: np.ndarray) -> list[Face]:
        """Faces found in overlapping tiles, in the photo's pixels; faces touching a tile's inner
        edge are left to the tile that holds them whole."""
        height, width = rgb.shape[:2]
        faces = []
        for n in self.config.tile_grids:
            th = min(height, int(np.ceil(height / n * self.config.tile_overlap)))
            tw = min(width, int(np.ceil(width / n * self.config.tile_overlap)))
            for i in range(n):
                for j in range(n):
                    y0, x0 = round(i * (height - th) / max(1, n - 1)), round(j * (width - tw) / max(1, n - 1))
                    for pts in self._mesh_points(np.ascontiguousarray(rgb[y0:y0 + th, x0:x0 + tw])):
                        bx0, by0, bx1, by1 = _box(pts)
                        cut = ((bx0 <= 1 and x0 > 0) or (by0 <= 1 and y0 > 0)
                               or (bx1 >= tw - 1 and x0 + tw < width) or (by1 >= th - 1 and y0 + th < height))
                        if not cut:
                            faces.append(Face(pts + np.array([x0, y0, 0.0]), (bx0 + x0, by0 + y0, bx1 + x0, by1 + y0)))
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


def _box(points: np.ndarray) -> tuple[int, int, int, int]:
    x0, y0 = np.floor(points[:, :2].min(axis=0)).astype(int)
    x1, y1 = np.ceil(points[:, :2].max(axis=0)).astype(int)
    return int(x0), int(y0), int(x1), int(y1)


def _merge(faces: list[Face], limit: int) -> list[Face]:
    """One face per person: of faces whose boxes overlap by more than a third, the first found
    (the whole photo's pass, then coarser tiles) is kept."""
    kept: list[Face] = []
    for face in faces:
        if all(_overlap(face.box, k.box) < 1 / 3 for k in kept):
            kept.append(face)
    return kept if len(kept) <= limit else sorted(kept, key=lambda f: -f.area)[:limit]


def _overlap(a, b) -> float:
    """Intersection over the smaller box."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    return w * h / min((a[2] - a[0]) * (a[3] - a[1]), (b[2] - b[0]) * (b[3] - b[1]))


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


def in_reading_order(faces: list[Face]) -> list[Face]:
    """Left to right by the centre of each face's box (top to bottom where two share a centre):
    the order people count faces in a photo, so "face 1" in the app and `--face 0` in the CLI
    are the leftmost face."""
    return sorted(faces, key=lambda f: (f.box[0] + f.box[2], f.box[1] + f.box[3]))


LARGEST = "largest"


def face_index(faces: list[Face], choice: int | str) -> int:
    """An index into `faces` from a face choice: an index (from 0, left to right) or "largest"."""
    if choice == LARGEST:
        if not faces:
            raise StudioError("no face found in the image")
        return max(range(len(faces)), key=lambda i: faces[i].area)
    pick_face(faces, int(choice))
    return int(choice)


def pick_face(faces: list[Face], index: int) -> Face:
    """The face the user asked for, or a clear error. The CLI, recipes and the app all report a
    missing face with this message: the number the app shows (from 1) and the index the CLI's
    `--face` and recipes use (from 0)."""
    if not faces:
        raise StudioError("no face found in the image")
    if not 0 <= index < len(faces):
        raise StudioError(f"there is no face {index + 1} (index {index}): the photo has {len(faces)} face"
                          f"{'s' if len(faces) != 1 else ''}")
    return faces[index]
