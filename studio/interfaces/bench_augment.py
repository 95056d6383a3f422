"""`face-studio bench --augment`: images per second of `augment` on this machine, at 1 MP and at
256 px, with 1 and 2 worker processes and on a local Ray instance. The photos are the London
fixtures (neutral and smiling) scaled to 1 MP; each makes 4 variants of the default spec.

Two rates per run: steady (between the first photo finished and the last: what an hour-long run
does) and overall (with the workers' start, loading the models, included)."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from PIL import Image

from studio import paths
from studio.augment.run import augment
from studio.augment.sources import read_sources
from studio.augment.work import Settings

FIXTURES = paths.LONDON_FIXTURES
PER_FACE = 4


def _photos(folder: Path, copies: int) -> Path:
    """Each neutral and smiling fixture at 1000x1000, `copies` times (as different files)."""
    folder.mkdir(parents=True, exist_ok=True)
    for photo in sorted(FIXTURES.glob("0*_0*.jpg")):
        image = Image.open(photo).convert("RGB").resize((1000, 1000), Image.LANCZOS)
        for k in range(copies):
            image.save(folder / f"{photo.stem}_{k}.jpg", quality=92)
    return folder


def _measure(sources, out: Path, settings: Settings, workers: int, ray: str | None, device: str) -> dict:
    times = []
    start = time.perf_counter()
    summary = augment(sources, out, settings, workers, ray, device,
                      progress=lambda done, expected: times.append((time.perf_counter(), done)))
    total = time.perf_counter() - start
    (t0, n0), (t1, n1) = times[0], times[-1]
    return {"images": summary.made, "steady_per_s": (n1 - n0) / (t1 - t0) if t1 > t0 else None,
            "overall_per_s": summary.made / total, "seconds": total}


def run_augment_bench(as_json: bool = False, copies: int = 6, device: str = "auto") -> int:
    load_before = os.getloadavg()[0]
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        sources = read_sources(_photos(Path(folder) / "photos", copies))
        runs = [("1 MP", None, 1, None), ("1 MP", None, 2, None), ("256 px", 256, 1, None), ("256 px", 256, 2, None)]
        try:
            import ray  # noqa: F401

            runs += [("1 MP", None, 2, "local"), ("256 px", 256, 2, "local")]
        except ImportError:
            pass
        for k, (size, side, workers, ray_address) in enumerate(runs):
            settings = Settings(per_face=PER_FACE, max_side=side)
            row = _measure(sources, Path(folder) / f"out{k}", settings, workers, ray_address, device)
            rows.append({"size": size, "workers": workers, "ray": ray_address is not None, **row})
    load = (round(load_before, 2), round(os.getloadavg()[0], 2))
    if as_json:
        print(json.dumps({"rows": rows, "photos": len(sources), "per_face": PER_FACE, "load_average": load}))
        return 0
    print(f"augment: {len(sources)} photos x {PER_FACE} variants (default spec, geometry renderer, JPEG), "
          f"{os.cpu_count()} cores")
    print("size | where | steady images/s | overall (with start-up) | images per core-hour (steady)")
    print("---|---|---|---|---")
    for r in rows:
        where = f"Ray (local), {r['workers']} actors" if r["ray"] else f"{r['workers']} worker{'s' * (r['workers'] > 1)}"
        steady = r["steady_per_s"] or 0.0
        print(f"{r['size']} | {where} | {steady:.2f} | {r['overall_per_s']:.2f} | "
              f"{3600 * steady / min(r['workers'], os.cpu_count() or 1):,.0f}")
    print(f"load average {load[0]} before, {load[1]} after")
    return 0
