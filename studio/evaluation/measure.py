"""Judging one face: the expression the recognizer sees, whether it is still the same person,
how close its re-detected landmarks are to the target, and how close it is to the real photo.

Everything is measured on the output as a user would get it: landmarks are detected again on the
output photo (not taken from the edit), and the recognizer and the identity model see the output's
pixels, aligned by those landmarks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from studio.evaluation.drive import drive, movement
from studio.face.align import Alignment, align, sample_crop
from studio.face.image_io import load_photo
from studio.face.landmarks import Face
from studio.face.mesh import N_SURFACE, STABLE, interocular
from studio.geometry.procrustes import fit_similarity
from studio.operations.studio import AnalyzedPhoto, Studio
from studio.recognition.expression import ExpressionRecognizer
from studio.recognition.identity import IdentityModel

CROP = 128   # PSNR / SSIM are taken on the aligned face crop at this size, as evaluate-generators


@dataclass(frozen=True)
class Measurement:
    detected: bool                       # a face was found again on the output
    predicted: str | None                # the recognizer's class
    identity_distance: float | None      # descriptor distance to the input face (None: no identity model)
    landmark_error: float | None         # mean distance to the target landmarks / interocular distance
    psnr: float | None = None            # against the real photo (None: not compared)
    ssim: float | None = None
    drive: dict | None = None            # per region, the share of the real photo's movement made (evaluation.drive)
    movement: dict | None = None         # per region, how far the face moved from the source photo (IOD)


def landmark_error(points: np.ndarray, target: np.ndarray) -> float:
    """Mean distance of the 468 surface points after a similarity fit on the stable points (a small
    shift of the whole head is not an expression error), in interocular distances of the target."""
    fit = fit_similarity(points[STABLE, :2], target[STABLE, :2])
    moved = fit.apply(points[:N_SURFACE, :2])
    return float(np.linalg.norm(moved - target[:N_SURFACE, :2], axis=1).mean() / interocular(target))


def nearest_face(faces: list[Face], points: np.ndarray) -> Face | None:
    """The detected face whose centre is nearest the landmarks' (None if none is within an eye distance)."""
    if not faces:
        return None
    centre = points[:N_SURFACE, :2].mean(axis=0)
    face = min(faces, key=lambda f: np.linalg.norm(f.points[:N_SURFACE, :2].mean(axis=0) - centre))
    return face if np.linalg.norm(face.points[:N_SURFACE, :2].mean(axis=0) - centre) < interocular(points) else None


@dataclass
class Judge:
    """The models that judge faces, loaded once, and the photos already analysed (by file)."""

    studio: Studio
    recognizer: ExpressionRecognizer
    identity: IdentityModel | None
    faces_dir: Path
    _photos: dict = field(default_factory=dict)
    _descriptors: dict = field(default_factory=dict)

    def photo(self, file: str) -> AnalyzedPhoto:
        if file not in self._photos:
            self._photos[file] = self.studio.analyze(load_photo(self.faces_dir / file))
        return self._photos[file]

    def descriptor_of(self, file: str) -> np.ndarray | None:
        if self.identity is None:
            return None
        if file not in self._descriptors:
            analyzed = self.photo(file)
            self._descriptors[file] = self.identity.descriptor(analyzed.photo.rgb, analyzed.faces[0].box)
        return self._descriptors[file]

    def predict(self, rgb: np.ndarray, points: np.ndarray) -> str:
        probabilities = self.recognizer.probabilities(rgb, points)
        return max(probabilities, key=probabilities.get)

    def _distance(self, reference: np.ndarray | None, rgb: np.ndarray, face: Face) -> float | None:
        if self.identity is None or reference is None:
            return None
        made = self.identity.descriptor(rgb, face.box)
        return None if made is None else self.identity.distance(reference, made)

    def measure(self, rgb: np.ndarray, target: np.ndarray, source_file: str, real_file: str | None,
                face: Face | None = None) -> Measurement:
        """Judge a face in `rgb`, an output made from the photo `source_file` (so in its frame) for
        the landmarks `target`. `face`: the face's landmarks when known (no edit); otherwise they
        are detected again. `real_file`: compare pixels with that real photo (None: do not)."""
        face = face or nearest_face(self.studio.analyzer.detect(rgb), target)
        if face is None:
            return Measurement(False, None, None, None)
        psnr = ssim = None
        crops = self.crops_against_real(rgb, source_file, real_file) if real_file is not None else None
        if crops is not None:
            made, real = crops
            psnr = float(peak_signal_noise_ratio(real, made, data_range=255))
            ssim = float(structural_similarity(real, made, channel_axis=2, data_range=255))
        source = self.photo(source_file).faces[0].points
        shares = None
        if real_file is not None and self.photo(real_file).faces:
            shares = drive(face.points, source, self.photo(real_file).faces[0].points)
        return Measurement(True, self.predict(rgb, face.points), self._distance(self.descriptor_of(source_file), rgb, face),
                           landmark_error(face.points, target), psnr, ssim, shares, movement(face.points, source))

    def measure_real(self, real_file: str, target: np.ndarray, source_file: str) -> Measurement:
        """The reference row: the person's real photo, judged like an output (the landmark error's
        similarity fit takes up the photo's other frame)."""
        real = self.photo(real_file)
        face = real.faces[0]
        return Measurement(True, self.predict(real.photo.rgb, face.points),
                           self._distance(self.descriptor_of(source_file), real.photo.rgb, face),
                           landmark_error(face.points, target),
                           movement=movement(face.points, self.photo(source_file).faces[0].points))

    def crops_against_real(self, rgb: np.ndarray, source_file: str, real_file: str) -> tuple[np.ndarray, np.ndarray] | None:
        """The output and the real photo as aligned crops of the source face's frame: the real
        photo is moved onto the source by a similarity on the stable points (the person moved a
        little between the two shots). None if no such similarity is found."""
        source, real = self.photo(source_file), self.photo(real_file)
        frame = align(source.faces[0].points, CROP)
        to_source, _ = cv2.estimateAffinePartial2D(real.faces[0].points[STABLE, :2],
                                                   source.faces[0].points[STABLE, :2], method=cv2.LMEDS)
        if to_source is None:
            return None
        real_frame = frame.matrix @ np.vstack([to_source, [0, 0, 1]])
        real_crop = sample_crop(real.photo.rgb, Alignment(real_frame, CROP))
        return sample_crop(np.ascontiguousarray(rgb[:, :, :3]), frame), real_crop
