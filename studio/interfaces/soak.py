"""A soak test of a running app: many clients editing their own photos at once, for a while.

Every client opens its own photo, then moves sliders (expression, and now and then head pose and
light) as fast as it is answered. Each answer must be that client's own face; every request must
be answered or refused cleanly (a full queue). Used by `face-studio bench --soak` and the tests.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image


@dataclass
class SoakResult:
    clients: int
    seconds: float
    latencies_ms: list[float] = field(default_factory=list)
    served: list[int] = field(default_factory=list)    # per client
    refused: int = 0                                   # cleanly: the queue was full
    errors: list[str] = field(default_factory=list)    # anything else
    wrong: list[tuple[int, int]] = field(default_factory=list)   # (client, whose face it got)

    @property
    def requests(self) -> int:
        return len(self.latencies_ms)

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies_ms, q)) if self.latencies_ms else float("nan")

    def summary(self) -> dict:
        return {"clients": self.clients, "seconds": round(self.seconds, 1), "requests": self.requests,
                "requests_per_second": round(self.per_second, 2), "p50_ms": round(self.percentile(50)),
                "p95_ms": round(self.percentile(95)), "refused": self.refused, "errors": len(self.errors),
                "wrong_face": len(self.wrong), "fewest_served": min(self.served, default=0)}


def _thumb(path) -> np.ndarray:
    """A small grey copy with its brightness and contrast taken out (a new light keeps its match)."""
    gray = np.asarray(Image.open(path).convert("L").resize((64, 64)), dtype=np.float32)
    return (gray - gray.mean()) / max(float(gray.std()), 1e-3)


def soak(url: str, photos: list[Path], clients: int, seconds: float, expression_sliders: int,
         scene_rest: list[float], seed: int = 0, arrive_over: float = 0.0) -> SoakResult:
    """`clients` users of the app at `url`, user i on photos[i % len(photos)], for `seconds`.

    User i arrives i/clients of the way through `arrive_over` seconds (0: all at once). Users
    arriving together queue their photos' opens behind each other, the slowest request there is:
    with an upload kept 30 s (the soak test's short cache) the last of 32 can find it swept before
    its turn, which no real cache's half hour comes near."""
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    references = [_thumb(p) for p in photos]
    result = SoakResult(clients, seconds, served=[0] * clients)
    lock = threading.Lock()
    start = time.monotonic()
    stop = start + seconds

    def user(i: int) -> None:
        rng = random.Random(seed * 1000 + i)
        mine = i % len(photos)
        time.sleep(arrive_over * i / clients)
        try:
            client = Client(url, verbose=False)
            client.predict(handle_file(photos[mine]), api_name="/open_photo")
            first = True
            # every user edits at least once, even one whose photo opened after the round's end
            # (32 photos opening at once queue up): else "served 0" says it never asked
            while first or time.monotonic() < stop:
                first = False
                if rng.random() < 0.2:   # head pose and light
                    values = list(scene_rest)
                    values[0] = round(rng.uniform(-12, 12))                 # yaw
                    values[3] = round(rng.uniform(-40, 40) / 5) * 5          # light azimuth
                    api = "/pose_light"
                else:
                    values = [0.0] * expression_sliders
                    values[rng.randrange(min(6, expression_sliders))] = round(rng.uniform(0.2, 1.5), 2)
                    api = "/edit"
                began = time.perf_counter()
                try:
                    after = client.predict(*values, api_name=api)[0][1]
                except AppError as exc:
                    if "queue" in str(exc).lower():
                        with lock:
                            result.refused += 1
                        continue
                    raise
                elapsed = (time.perf_counter() - began) * 1000
                got = int(np.argmin([np.abs(_thumb(after) - ref).mean() for ref in references]))
                with lock:
                    result.latencies_ms.append(elapsed)
                    result.served[i] += 1
                    if got != mine:
                        result.wrong.append((i, got))
        except Exception as exc:   # reported with the client that met it
            with lock:
                result.errors.append(f"client {i}: {exc.__class__.__name__}: {str(exc)[:200]}")

    threads = [threading.Thread(target=user, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 300)
    result.seconds = time.monotonic() - start
    return result
