"""What `augment` reads: a folder of photos (every image in it and below it, in name order) or a
CSV whose `path` column names them (relative to the CSV's folder, or absolute) and whose other
columns are the user's labels, carried into the manifest. An `expression` label that names one
of the recognizer's classes is what a variant keeping the photo's expression is labelled with."""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import StudioError
from studio.face.image_io import HEIF_SUFFIXES, WRITE_FORMATS

LABEL_COLUMN = "expression"
PHOTO_SUFFIXES = frozenset(WRITE_FORMATS) | {".tif", ".tiff", ".bmp", *HEIF_SUFFIXES}


@dataclass(frozen=True)
class Source:
    key: str                            # as the manifest names it: relative to IN (or the CSV's folder)
    path: Path
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def expression(self) -> str | None:
        from studio.recognition.expression import CLASSES

        value = self.labels.get(LABEL_COLUMN, "").strip().lower()
        return value if value in CLASSES else None


def read_sources(where: Path) -> list[Source]:
    where = Path(where)
    if where.is_dir():
        files = sorted(p for p in where.rglob("*") if p.is_file() and p.suffix.lower() in PHOTO_SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(where).parts))
        if not files:
            raise StudioError(f"{where} holds no photos ({', '.join(sorted(PHOTO_SUFFIXES))})")
        return [Source(p.relative_to(where).as_posix(), p) for p in files]
    if not where.exists():
        raise StudioError(f"no such folder or CSV: {where}")
    if where.suffix.lower() != ".csv":
        raise StudioError(f"{where.name}: give a folder of photos or a .csv with a 'path' column")
    try:
        with where.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise StudioError(f"cannot read {where.name}: {exc}") from None
    if not rows or "path" not in rows[0]:
        raise StudioError(f"{where.name} needs a header row with a 'path' column")
    sources, seen = [], set()
    for line, row in enumerate(rows, start=2):
        name = (row.get("path") or "").strip()
        if not name:
            raise StudioError(f"{where.name} line {line}: the path is empty")
        if name in seen:
            raise StudioError(f"{where.name} line {line}: {name} is listed twice")
        seen.add(name)
        path = Path(name) if Path(name).is_absolute() else where.parent / name
        labels = {k: (v or "") for k, v in row.items() if k and k != "path"}
        sources.append(Source(name, path, labels))
    return sources
