"""`face-studio bench --memory`: what a photo costs in memory, and so how many people a
server holds.

For each size the bench photo is scaled to, it measures the peak resident memory above the
loaded studio (sampled every 3 ms) of opening the photo, of an edit with a smile, a 15 degree
turn and a whole-photo light, of exporting it, and of a 12-frame animation; and what one
person's session then holds. Those are the figures studio.operations.budget estimates from.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

from PIL import Image

MEGAPIXELS = (1.0, 4.0, 12.0, 50.0)
MB = 1 << 20


def resident_bytes(pid: int | str = "self") -> int:
    """A process's resident memory, from /proc (an error for one that has none: it has ended)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"process {pid} has no resident memory to read")


class PeakMemory:
    """The largest value of `read()` (default: this process's resident bytes) while the block
    runs, sampled every `every_s` seconds; `above` is how far it rose over where it began."""

    def __init__(self, read=resident_bytes, every_s: float = 0.003):
        self._read, self._every = read, every_s

    def __enter__(self):
        self.base = self.peak = self._read()
        self._running = True
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self):
        while self._running:
            self.peak = max(self.peak, self._read())
            time.sleep(self._every)

    def __exit__(self, *exc):
        self._running = False
        self._thread.join()
        self.peak = max(self.peak, self._read())

    @property
    def above(self):
        return self.peak - self.base


def measure(megapixels=MEGAPIXELS, frames: int = 12, device: str = "auto") -> dict:
    import tempfile

    from studio.geometry.pose import HeadPose
    from studio.geometry.shading import light_preset
    from studio.interfaces import app_session as sess
    from studio.interfaces.bench import BENCH_PHOTO
    from studio.interfaces.session_store import MemoryLimits, default_memory_gb
    from studio.operations import budget
    from studio.operations.recipe import EditRecipe
    from studio.operations.studio import Studio

    studio = Studio.load(device=device)
    recipe = EditRecipe(presets={"happiness": 1.0}, pose=HeadPose(yaw=15), light=light_preset("weak"))
    warm = sess.open_photo(studio, BENCH_PHOTO)
    sess.set_recipe(studio, warm, recipe)   # everything loaded lazily is loaded now
    base = Image.open(BENCH_PHOTO).convert("RGB")
    limits = MemoryLimits(total_bytes=int(default_memory_gb() * (1 << 30)))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for mp in megapixels:
            scale = (mp * 1e6 / (base.size[0] * base.size[1])) ** 0.5
            size = (round(base.size[0] * scale), round(base.size[1] * scale))
            path = Path(folder) / f"bench_{mp:g}.jpg"
            base.resize(size, Image.BILINEAR).save(path, quality=90)
            pixels = size[0] * size[1]
            with PeakMemory() as opened:
                session = sess.open_photo(studio, path)
            with PeakMemory() as edited:
                session = sess.set_recipe(studio, session, recipe)
            with PeakMemory() as exported:
                sess.export_photo(session, "PNG", Path(folder))
            with PeakMemory() as animated:
                sess.make_animation(studio, session, EditRecipe(presets={"happiness": 1.0}), frames, Path(folder))
            held = budget.footprint(session)
            edit_reserve = budget.edit_bytes(pixels)
            holds = max(0, (limits.total_bytes - 2 * edit_reserve) // held)
            rows.append({"megapixels": round(pixels / 1e6, 2), "width": size[0], "height": size[1],
                         "open_b_per_px": round(opened.above / pixels, 1),
                         "edit_b_per_px": round(edited.above / pixels, 1),
                         "export_b_per_px": round(exported.above / pixels, 1),
                         "animation_mb": round(animated.above / MB), "animation_frames": frames,
                         "session_mb": round(held / MB, 1),
                         "estimate_open_b_per_px": round(budget.open_bytes(pixels) / pixels, 1),
                         "estimate_edit_b_per_px": round(edit_reserve / pixels, 1),
                         "sessions_held": int(min(limits.max_sessions, holds)),
                         "max_frames": budget.max_frames(pixels)})
            del session
    studio.close()
    return {"budget_gb": round(limits.total_bytes / (1 << 30), 1), "rows": rows}


def run_memory_bench(as_json: bool = False, device: str = "auto") -> int:
    data = measure(device=device)
    if as_json:
        print(json.dumps(data))
        return 0
    header = ("MP", "size", "open (peak)", "edit (peak)", "export (peak)", "12-frame animation", "session holds",
              "budget's estimate open / edit", f"sessions in {data['budget_gb']} GB", "most frames")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for r in data["rows"]:
        print(f"{r['megapixels']:.2f} | {r['width']}x{r['height']} | {r['open_b_per_px']} B/px | "
              f"{r['edit_b_per_px']} B/px | {r['export_b_per_px']} B/px | {r['animation_mb']} MB | "
              f"{r['session_mb']} MB | {r['estimate_open_b_per_px']} / {r['estimate_edit_b_per_px']} B/px | "
              f"{r['sessions_held']} | {r['max_frames']}")
    return 0
