"""One photo's variants, made where the models are (a worker process or a Ray actor): the photo
arrives as its file's bytes and the variants leave as encoded image bytes with their manifest
rows, so workers never touch the output folder and need no shared disk; the process that
writes the manifest writes the images too."""

from __future__ import annotations

import tempfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import cv2

from studio.augment.spec import KEPT, SamplingSpec, draw, variant_rng
from studio.errors import StudioError
from studio.face.image_io import Photo, encode_photo, load_photo
from studio.operations.edit import edit
from studio.operations.studio import Studio


@dataclass(frozen=True)
class Settings:
    """Everything that decides a run's images (run.json holds it)."""
    spec: SamplingSpec = field(default_factory=SamplingSpec)
    per_face: int = 4
    seed: int = 0
    image_format: str = "jpg"
    max_side: int | None = None     # larger photos are shrunk to this long side first
    backend: str = "geometry"

    def to_dict(self) -> dict:
        return {"spec": self.spec.to_dict(), "per_face": self.per_face, "seed": self.seed,
                "format": self.image_format, "max_side": self.max_side, "backend": self.backend}


@dataclass(frozen=True)
class Job:
    source: str                                 # the manifest's name for the photo
    data: bytes                                 # its file
    labels: dict[str, str]
    expression: str | None                      # the source's expression label, if it has one
    done: frozenset[tuple[int, int]] = frozenset()   # (face, variant) already made


def image_name(source: str, face: int, variant: int, fmt: str) -> str:
    """A name per variant that two sources with the same file name (in two folders) never share."""
    stem = PurePosixPath(source).stem[:60] or "photo"
    return f"{stem}-{zlib.crc32(source.encode()):08x}_f{face}_v{variant:03d}.{fmt}"


def shrunk(photo: Photo, max_side: int | None) -> Photo:
    if max_side is None or max(photo.size) <= max_side:
        return photo
    scale = max_side / max(photo.size)
    size = tuple(max(1, round(n * scale)) for n in photo.size)
    return Photo.from_pixels(cv2.resize(photo.pixels(), size, interpolation=cv2.INTER_AREA), photo.icc)


def read_job_photo(job: Job) -> Photo:
    """The job's bytes read as the studio reads any photo (EXIF turn, HEIF, limits, clear errors)."""
    name = PurePosixPath(job.source).name or "photo"
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(job.data)
        return load_photo(path)


def make_variants(studio: Studio, job: Job, settings: Settings) -> list[dict]:
    """The rows (an image row with its file's bytes under "data") of one photo's missing variants,
    ending with its "source" row; a photo that cannot be used gives one "skipped" row."""
    try:
        photo = shrunk(read_job_photo(job), settings.max_side)
    except StudioError as exc:
        return [{"kind": "skipped", "source": job.source, "reason": str(exc)}]
    analyzed = studio.analyze(photo)
    if not analyzed.faces:
        return [{"kind": "skipped", "source": job.source, "reason": "no face found"}]
    rows = []
    for face in range(len(analyzed.faces)):
        for number in range(settings.per_face):
            if (face, number) in job.done:
                continue
            variant = draw(settings.spec, variant_rng(settings.seed, job.source, face, number), face, job.expression)
            base = {"source": job.source, "face": face, "variant": number}
            try:
                data = encode_photo(edit(studio, analyzed, variant.recipe).photo, f".{settings.image_format}")
            except StudioError as exc:
                rows.append({**base, "kind": "failed", "reason": str(exc)})
                continue
            recipe = variant.recipe
            kind = "preset" if recipe.presets else "removal" if recipe.remove else KEPT
            rows.append({**base, "kind": "image", "data": data,
                         "image": f"images/{image_name(job.source, face, number, settings.image_format)}",
                         "recipe": recipe.to_dict(), "expression": variant.expression, "variation": kind,
                         "pose": {"yaw": recipe.pose.yaw, "pitch": recipe.pose.pitch, "roll": recipe.pose.roll},
                         "light": variant.light, "labels": job.labels, "size": list(photo.size)})
    rows.append({"kind": "source", "source": job.source, "faces": len(analyzed.faces)})
    return rows
