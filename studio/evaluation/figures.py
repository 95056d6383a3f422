"""`face-studio figures`: the README's pictures of expressions, made from the London faces
(CC BY 4.0, never trained on) with the studio's own operations, so they can be made again."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio.face.align import align, sample_crop
from studio.face.image_io import Photo, load_photo, save_photo
from studio.geometry.shape_model import EXPRESSIONS
from studio.operations.edit import edit
from studio.operations.recipe import EditRecipe
from studio.operations.studio import Studio
from studio.operations.transfer import transfer
from studio.operations.views import labelled_grid

PEOPLE = ("001", "002", "004", "012")
CELL = 300


@dataclass(frozen=True)
class FigureConfig:
    fixtures: Path
    out: Path
    people: tuple[str, ...] = PEOPLE


def _face(photo: Photo, points: np.ndarray) -> Photo:
    """The face's aligned crop: faces are compared at one scale, not the photos' framing."""
    return Photo(sample_crop(np.ascontiguousarray(photo.rgb[:, :, :3]), align(points, CELL)))


def expressions_figure(studio: Studio, config: FigureConfig) -> Path:
    """Each person: neutral, each preset at 1, the real smile, and it taken back to neutral."""
    rows = []
    for person in config.people:
        neutral = studio.analyze(load_photo(config.fixtures / f"{person}_03.jpg"))
        smile = studio.analyze(load_photo(config.fixtures / f"{person}_08.jpg"))
        frame = neutral.faces[0].points
        row = [("input", _face(neutral.photo, frame))]
        for name in EXPRESSIONS:
            row.append((f"{name} 1", _face(edit(studio, neutral, EditRecipe(presets={name: 1.0})).photo, frame)))
        removed = edit(studio, smile, EditRecipe(remove=True))
        row += [("real smile", _face(smile.photo, smile.faces[0].points)),
                ("smile removed", _face(removed.photo, smile.faces[0].points))]
        rows.append(row)
    return save_photo(Photo(labelled_grid(rows, CELL)), config.out / "expressions.jpg")


def transfer_figure(studio: Studio, config: FigureConfig) -> Path:
    """Reenactment (the person's own smile measured from their neutral photo) and transfer
    (another person's smile read from that photo alone), beside the real smile."""
    rows = []
    people = list(config.people)
    for i, person in enumerate(people):
        neutral = studio.analyze(load_photo(config.fixtures / f"{person}_03.jpg"))
        own = studio.analyze(load_photo(config.fixtures / f"{person}_08.jpg"))
        other_id = people[(i + 1) % len(people)]
        other = studio.analyze(load_photo(config.fixtures / f"{other_id}_08.jpg"))
        frame = neutral.faces[0].points
        reenacted = transfer(studio, neutral, own, b_neutral=neutral).a_with_b
        given = transfer(studio, neutral, other).a_with_b
        rows.append([("input", _face(neutral.photo, frame)),
                     ("own smile, reenacted", _face(reenacted.photo, frame)),
                     ("real smile", _face(own.photo, own.faces[0].points)),
                     (f"{other_id}'s smile", _face(other.photo, other.faces[0].points)),
                     (f"with {other_id}'s smile", _face(given.photo, frame))])
    return save_photo(Photo(labelled_grid(rows, CELL)), config.out / "transfer.jpg")


def make_figures(studio: Studio, config: FigureConfig) -> list[Path]:
    config.out.mkdir(parents=True, exist_ok=True)
    return [expressions_figure(studio, config), transfer_figure(studio, config)]
