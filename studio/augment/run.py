"""`augment`: every source photo's faces turned into labelled variants, written with a manifest,
on this machine's workers or a Ray cluster; a rerun resumes, making only what is missing."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from studio.augment.manifest import IMAGES, Journal, check_settings, write_tables
from studio.augment.sources import Source
from studio.augment.work import Job, Settings
from studio.errors import StudioError
from studio.face.image_io import write_atomic


@dataclass(frozen=True)
class Summary:
    images: int          # in the manifest now
    made: int            # by this run
    skipped: int         # photos not used, and variants that failed
    sources: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.made / self.seconds if self.seconds > 0 else 0.0


def _jobs(todo: list[Source], made: dict, refused: list[dict]) -> Iterator[Job]:
    for source in todo:
        try:
            data = source.path.read_bytes()
        except OSError as exc:
            refused.append({"kind": "skipped", "source": source.key, "reason": f"cannot read it: {exc.strerror or exc}"})
            continue
        yield Job(source.key, data, source.labels, source.expression, frozenset(made.get(source.key, ())))


def augment(sources: list[Source], out: Path, settings: Settings, workers: int = 1, ray: str | None = None,
            device: str = "auto", progress: Callable[[int, int], None] | None = None) -> Summary:
    """`progress(images made so far, images expected)` after each photo (expected: one face each
    until the photos say otherwise)."""
    out = Path(out)
    if settings.per_face < 1:
        raise StudioError("--per-face must be at least 1")
    check_settings(out, settings.to_dict())
    (out / IMAGES).mkdir(parents=True, exist_ok=True)
    journal = Journal(out)
    state = journal.read()
    todo = [s for s in sources if s.key not in state.finished]
    made, refused = 0, []
    already = sum(len(v) for v in state.made.values())
    expected = already + len(todo) * settings.per_face
    start = time.perf_counter()
    if ray is not None:
        from studio.augment.on_ray import run_on_ray

        results = run_on_ray(_jobs(todo, state.made, refused), settings, ray, workers if workers > 1 else None, device)
    else:
        from studio.augment.local import run_local

        results = run_local(_jobs(todo, state.made, refused), settings, workers, device)
    try:
        for rows in results:
            while refused:
                journal.append(refused.pop())
            for row in rows:
                data = row.pop("data", None)
                if data is not None:
                    # the image is whole before its row says it exists
                    write_atomic(out / row["image"], lambda tmp, data=data: Path(tmp).write_bytes(data))
                    made += 1
                elif row["kind"] == "source" and row["faces"] > 1:
                    expected += (row["faces"] - 1) * settings.per_face
                journal.append(row)
            if progress is not None:
                progress(already + made, expected)
        while refused:
            journal.append(refused.pop())
    finally:
        journal.close()
        rows = Journal(out).read().rows
        images, skipped = write_tables(out, rows)
    return Summary(images, made, skipped, len(sources), time.perf_counter() - start)
