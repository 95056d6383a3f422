"""The held-out cases `eval` measures, built from the face sets' manifest.

For each (neutral, expression) photo pair of one person (same session):
- synthesis: the neutral photo given the person's own expression (its shape-model coefficients
  from the real expression photo), judged against that real photo;
- removal: the expression photo taken back to neutral, judged against the real neutral photo;
- transfer (G2-GAN eq. 12): the neutral photo given another held-out person's expression of the
  same class, judged against the person's own real photo of that class.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studio import paths
from studio.errors import StudioError
from studio.recognition.train_expression import load_split
from studio.synthesis.dataset import DATASETS, read_pairs

SYNTHESIS, REMOVAL, TRANSFER = "synthesis", "removal", "transfer"
TASKS = (SYNTHESIS, REMOVAL, TRANSFER)
PEOPLE_SETS = ("test", "val", "london")


@dataclass(frozen=True)
class Case:
    task: str
    subject: str
    source: str                 # the photo that is edited (a file under the faces folder)
    real: str                   # the same person's real photo with the target expression
    expression: str             # the target class
    driver: str | None = None   # transfer: another person's photo whose expression is given


def people_of(set_name: str, split_path: Path = paths.WEIGHTS_DIR / "g2gan_split.json") -> tuple[tuple[str, ...], list[str] | None]:
    """(datasets, people) of a person set: the saved split's test or validation people of the
    training sets, or everyone in the London set (never trained on)."""
    if set_name == "london":
        return ("london",), None
    if set_name not in PEOPLE_SETS:
        raise StudioError(f"unknown people set '{set_name}'; choose from {', '.join(PEOPLE_SETS)}")
    return DATASETS, load_split(split_path)[set_name]


def spread(items: list, limit: int | None) -> list:
    """At most `limit` items, evenly spaced, so a small subset still spans people and classes."""
    if limit is None or len(items) <= limit:
        return items
    return [items[i] for i in np.linspace(0, len(items) - 1, limit).round().astype(int)]


def make_cases(faces_dir: Path, datasets: tuple[str, ...], people: list[str] | None,
               limit: int | None = None, max_people: int | None = None) -> list[Case]:
    """Every task's cases for these people (`limit`: at most that many per task)."""
    pairs = [p for p in read_pairs(faces_dir, datasets) if people is None or p.subject in people]
    subjects = sorted({p.subject for p in pairs})[:max_people]
    pairs = [p for p in pairs if p.subject in subjects]
    if not pairs:
        raise StudioError(f"no photo pairs of these people in {faces_dir}")
    synthesis = [Case(SYNTHESIS, p.subject, p.neutral_file, p.expression_file, p.expression) for p in pairs]
    removal = [Case(REMOVAL, p.subject, p.expression_file, p.neutral_file, "neutral") for p in pairs]
    transfer = []
    for p in pairs:
        # the driver: the next person (in sorted order, wrapping round) with this expression
        others = sorted((q for q in pairs if q.expression == p.expression and q.subject != p.subject),
                        key=lambda q: (q.subject <= p.subject, q.subject, q.expression_file))
        if others:
            transfer.append(Case(TRANSFER, p.subject, p.neutral_file, p.expression_file, p.expression,
                                 others[0].expression_file))
    return spread(synthesis, limit) + spread(removal, limit) + spread(transfer, limit)


def sweep_sources(faces_dir: Path, datasets: tuple[str, ...], people: list[str] | None,
                  max_people: int | None) -> list[tuple[str, str]]:
    """(subject, neutral photo) for the presets' intensity sweep: each person's first neutral."""
    first: dict[str, str] = {}
    for p in read_pairs(faces_dir, datasets):
        if people is None or p.subject in people:
            first.setdefault(p.subject, p.neutral_file)
    return sorted(first.items())[:max_people]
