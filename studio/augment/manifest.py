"""The output folder's record of a run.

- `manifest.jsonl` is the journal: one JSON object per line, appended (one write each, by the
  one process that writes) only after the image it names is in place. A run killed at any moment
  leaves whole lines; a last line cut by a crash of the machine itself is dropped on the next run.
  Rows: "image" (one variant: source, face, variant number, file, the full recipe, the label it
  was given, pose and light, the source's labels), "failed" (one variant that could not be
  made, and why), "source" (a photo finished, with its face count) and "skipped" (a photo not
  used, and why).
- `manifest.csv` and `skipped.csv` are the same rows as tables, rewritten whole (atomically) at
  the end of every run, interrupted or not.
- `run.json` holds the settings (spec, variants per face, seed, renderer...): a rerun into the
  same folder must use the same ones, so one manifest never mixes two runs' recipes.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from studio.errors import StudioError
from studio.face.image_io import write_atomic

JOURNAL, TABLE, SKIPPED, SETTINGS = "manifest.jsonl", "manifest.csv", "skipped.csv", "run.json"
IMAGES = "images"
COLUMNS = ("image", "source", "face", "variant", "expression", "variation", "yaw", "pitch", "roll", "light", "recipe")


@dataclass
class Progress:
    """What the journal says is done: variants made, sources finished or skipped."""
    made: dict[str, set[tuple[int, int]]] = field(default_factory=dict)   # source -> {(face, variant)}
    finished: set[str] = field(default_factory=set)                     # sources done or skipped
    rows: list[dict] = field(default_factory=list)


class Journal:
    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.path = self.folder / JOURNAL
        self._fd: int | None = None

    def read(self) -> Progress:
        """The rows so far; a cut last line is dropped from the file."""
        progress = Progress()
        if not self.path.exists():
            return progress
        data = self.path.read_bytes()
        good = 0
        for line in data.splitlines(keepends=True):
            if not line.endswith(b"\n"):
                break
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                break
            good += len(line)
            self._note(progress, row)
        if good < len(data):
            with self.path.open("r+b") as f:
                f.truncate(good)
        return progress

    @staticmethod
    def _note(progress: Progress, row: dict) -> None:
        progress.rows.append(row)
        if row["kind"] == "image":
            progress.made.setdefault(row["source"], set()).add((row["face"], row["variant"]))
        elif row["kind"] in ("source", "skipped"):
            progress.finished.add(row["source"])

    def append(self, row: dict) -> None:
        if self._fd is None:
            self.folder.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        os.write(self._fd, (json.dumps(row, sort_keys=True) + "\n").encode())

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def check_settings(folder: Path, settings: dict) -> None:
    """Record the run's settings, or refuse if the folder holds a run made with others."""
    path = Path(folder) / SETTINGS
    if path.exists():
        try:
            before = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            raise StudioError(f"{path} is not a run's settings; use an empty output folder") from None
        if before != settings:
            changed = sorted(k for k in set(before) | set(settings) if before.get(k) != settings.get(k))
            raise StudioError(f"{folder} holds a run made with other settings ({', '.join(changed)}); "
                              "rerun with the same ones to resume it, or use a new output folder")
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    write_atomic(path, lambda tmp: Path(tmp).write_text(json.dumps(settings, indent=2, sort_keys=True)))


def _table(rows: list[dict], columns: list[str]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def write_tables(folder: Path, rows: list[dict]) -> tuple[int, int]:
    """manifest.csv (every image, ordered by source, face and variant) and skipped.csv."""
    images = sorted((r for r in rows if r["kind"] == "image"), key=lambda r: (r["source"], r["face"], r["variant"]))
    labels = sorted({k for r in images for k in r.get("labels", {})})
    flat = [{**{c: r.get(c) for c in COLUMNS if c not in ("yaw", "pitch", "roll", "recipe")},
             **r["pose"], "recipe": json.dumps(r["recipe"], sort_keys=True),
             **{f"label_{k}": r.get("labels", {}).get(k, "") for k in labels}} for r in images]
    skipped = sorted(({"source": r["source"], "face": r.get("face", ""), "variant": r.get("variant", ""),
                       "reason": r["reason"]} for r in rows if r["kind"] in ("skipped", "failed")),
                     key=lambda r: (r["source"], str(r["face"]), str(r["variant"])))
    folder = Path(folder)
    table = _table(flat, list(COLUMNS) + [f"label_{k}" for k in labels])
    write_atomic(folder / TABLE, lambda tmp: Path(tmp).write_text(table))
    listed = _table(skipped, ["source", "face", "variant", "reason"])
    write_atomic(folder / SKIPPED, lambda tmp: Path(tmp).write_text(listed))
    return len(flat), len(skipped)
