"""The loaded models and per-photo analysis that every operation works from."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from studio import paths
from studio.devices import choose_device
from studio.errors import StudioError
from studio.face.image_io import Photo
from studio.face.landmarks import AnalyzerConfig, Face, FaceAnalyzer, pick_face
from studio.face.segmentation import PersonSegmenter
from studio.geometry.shape_model import ShapeFit, ShapeModel
from studio.geometry.surface import Surface
from studio.geometry.tracking import TrackingGain
from studio.geometry.warp import WarpConfig


@dataclass(frozen=True)
class AnalyzedPhoto:
    """A photo with its faces and their shape fits, computed once and reused by every edit."""

    photo: Photo
    faces: tuple[Face, ...]
    fits: tuple[ShapeFit, ...]
    # what is worked out from the photo once, on first use (the person mask); not part of its value
    _once: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def pixels(self) -> int:
        return self.photo.rgb.shape[0] * self.photo.rgb.shape[1]

    def face(self, index: int) -> tuple[Face, ShapeFit]:
        face = pick_face(list(self.faces), index)
        return face, self.fits[index]


GEOMETRY, GENERATOR = "geometry", "generator"


@dataclass
class Studio:
    """Models loaded once, explicitly; pass one Studio to the operations.

    `backend` says how faces are rendered: the geometry warp alone, or the warp refined by the
    trained generators. `with_backend` gives a view with another backend sharing the same models.
    """

    analyzer: FaceAnalyzer
    model: ShapeModel
    warp: WarpConfig = field(default_factory=WarpConfig)
    generators: object | None = None   # studio.synthesis.generators.Generators, when weights exist
    recognizer: object | None = None   # studio.recognition.expression.ExpressionRecognizer, when weights exist
    backend: str = GEOMETRY
    surface: Surface | None = None     # the mesh's triangles and mirror pairs; built from the model
    appearance: object | None = None   # studio.synthesis.appearance.AppearanceModel, when weights exist
    tracking: TrackingGain = field(default_factory=TrackingGain)   # how far the warp moves brows and eyes
    neutralizer: object | None = None  # studio.synthesis.neutralizer.Neutralizer (generator backend), when weights exist
    device: str = "cpu"                # where the networks run (studio.devices.choose_device)
    mouths: object | None = None       # studio.synthesis.mouth_bank.MouthBank: real teeth for opened mouths
    segmenter: PersonSegmenter | None = None   # where the person is: shapes the light on hair, neck and body

    def __post_init__(self):
        if self.surface is None:
            self.surface = Surface.from_reference(self.model.mean)

    @classmethod
    def load(cls, model_path: Path | None = None, landmarker_path: Path | None = None,
             generator_path: Path | None = None, backend: str | None = None,
             recognizer_path: Path | None = None, appearance_path: Path | None = None,
             device: str = "auto") -> "Studio":
        """`backend` None: the generators when their weights exist, else geometry. The expression
        recognizer is loaded when its default weights exist (it only labels faces; nothing needs
        it), and always from an explicit `recognizer_path` (a clear error if that is missing); so is
        the appearance model (the expression's creases and shading, drawn by both backends). The
        neutralizer (the whole-face removal generator) comes with the generators; the mouth bank
        (real teeth for opened mouths) when its file exists. `device`: where
        the networks run, one of studio.devices.DEVICE_CHOICES (auto: the best one present)."""
        device = choose_device(device)
        model = ShapeModel.load(model_path or paths.SHAPE_MODEL_PATH)
        generator_path = generator_path or paths.GENERATOR_PATH
        generators = None
        if backend == GENERATOR or (backend is None and generator_path.is_file()):
            from studio.synthesis.generators import Generators

            if not generator_path.is_file():
                raise StudioError(f"the generator backend needs trained weights at {generator_path} "
                                  "(face-studio train --export ...); use --backend geometry")
            generators = Generators.load(generator_path, device)
        neutralizer = None
        if generators is not None and paths.NEUTRALIZER_PATH.is_file():
            from studio.synthesis.neutralizer import Neutralizer

            neutralizer = Neutralizer.load(paths.NEUTRALIZER_PATH, device)
        recognizer = None
        if recognizer_path is not None or paths.RECOGNIZER_PATH.is_file():
            from studio.recognition.expression import ExpressionRecognizer

            recognizer = ExpressionRecognizer.load(recognizer_path or paths.RECOGNIZER_PATH, device)
        appearance = None
        if appearance_path is not None or paths.APPEARANCE_PATH.is_file():
            from studio.synthesis.appearance import AppearanceModel

            appearance = AppearanceModel.load(appearance_path or paths.APPEARANCE_PATH)
        mouths = None
        if paths.MOUTH_BANK_PATH.is_file():
            from studio.synthesis.mouth_bank import MouthBank

            mouths = MouthBank.load(paths.MOUTH_BANK_PATH)
        landmarker = landmarker_path or paths.face_landmarker_path()
        studio = cls(FaceAnalyzer(AnalyzerConfig(landmarker_path=landmarker)), model, generators=generators,
                     recognizer=recognizer, appearance=appearance, neutralizer=neutralizer, device=device,
                     mouths=mouths, segmenter=PersonSegmenter())
        return studio.with_backend(backend or (GENERATOR if generators else GEOMETRY))

    @property
    def backends(self) -> tuple[str, ...]:
        return (GEOMETRY, GENERATOR) if self.generators is not None else (GEOMETRY,)

    def with_backend(self, backend: str) -> "Studio":
        if backend not in self.backends:
            raise StudioError(f"backend '{backend}' is not available; choose from {', '.join(self.backends)}")
        return self if backend == self.backend else replace(self, backend=backend)

    def analyze(self, photo: Photo) -> AnalyzedPhoto:
        faces = tuple(self.analyzer.detect(photo.rgb))
        return AnalyzedPhoto(photo, faces, tuple(self.model.fit(f.points) for f in faces))

    def person(self, pixels, analyzed: AnalyzedPhoto | None = None) -> "np.ndarray | None":
        """Where the person is in `pixels` (studio.face.segmentation), or None without a segmenter;
        with `analyzed`, `pixels` are its photo's (unwarped): found once and kept with it, so moving
        a light slider does not segment the photo again."""
        if self.segmenter is None:
            return None
        if analyzed is None:
            return self.segmenter.person(pixels[:, :, :3])
        if "person" not in analyzed._once:
            analyzed._once["person"] = self.segmenter.person(pixels[:, :, :3])
        return analyzed._once["person"]

    def close(self) -> None:
        self.analyzer.close()
        if self.segmenter is not None:
            self.segmenter.close()
