"""The loaded models and per-photo analysis that every operation works from."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from studio import paths
from studio.face.image_io import Photo
from studio.face.landmarks import AnalyzerConfig, Face, FaceAnalyzer, pick_face
from studio.geometry.shape_model import ShapeFit, ShapeModel
from studio.geometry.warp import WarpConfig


@dataclass(frozen=True)
class AnalyzedPhoto:
    """A photo with its faces and their shape fits, computed once and reused by every edit."""

    photo: Photo
    faces: tuple[Face, ...]
    fits: tuple[ShapeFit, ...]

    def face(self, index: int) -> tuple[Face, ShapeFit]:
        face = pick_face(list(self.faces), index)
        return face, self.fits[index]


@dataclass
class Studio:
    """Models loaded once, explicitly; pass one Studio to the operations."""

    analyzer: FaceAnalyzer
    model: ShapeModel
    warp: WarpConfig = field(default_factory=WarpConfig)

    @classmethod
    def load(cls, model_path: Path | None = None, landmarker_path: Path | None = None) -> "Studio":
        model = ShapeModel.load(model_path or paths.SHAPE_MODEL_PATH)
        landmarker = landmarker_path or paths.face_landmarker_path()
        return cls(FaceAnalyzer(AnalyzerConfig(landmarker_path=landmarker)), model)

    def analyze(self, photo: Photo) -> AnalyzedPhoto:
        faces = tuple(self.analyzer.detect(photo.rgb))
        return AnalyzedPhoto(photo, faces, tuple(self.model.fit(f.points) for f in faces))

    def close(self) -> None:
        self.analyzer.close()
