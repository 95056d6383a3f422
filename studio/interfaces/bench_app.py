"""`face-studio bench --app`: what a person waits for in the page, measured end to end.

The app is served in this process on a free local port and driven by gradio_client, so each
number includes the HTTP round trip, Gradio's queue, the edit, and encoding the preview the
browser would show. Photos are the bench face scaled to 1, 4 and 12 megapixels.
"""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import statistics
import tempfile
import time
from pathlib import Path

from PIL import Image

from studio.face.image_io import load_photo
from studio.interfaces.bench import BENCH_PHOTO

APP_MEGAPIXELS = (1.0, 4.0, 12.0)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return (time.perf_counter() - start) * 1000


@contextlib.contextmanager
def served_here(device: str = "auto"):
    """The app served in this process on a free local port: yields (studio, url) until the block ends."""
    import os
    import sys

    from studio.interfaces.server_files import ServerFolders

    folders = ServerFolders.create(os.environ.get("GRADIO_TEMP_DIR"))
    if "gradio" not in sys.modules:   # Gradio reads its folder when imported, as in app.py
        os.environ["GRADIO_TEMP_DIR"] = str(folders.uploads)
    from studio.interfaces.web import AppConfig, build_app, launch
    from studio.operations.studio import Studio

    studio = Studio.load(device=device)
    config = AppConfig(port=_free_port(), export_dir=folders.exports)
    demo = build_app(studio, config)
    launch(demo, config, folders, prevent_thread_lock=True, quiet=True)
    try:
        yield studio, f"http://127.0.0.1:{config.port}/"
    finally:
        demo.studio_janitor.stop()
        demo.close()
        studio.close()
        folders.close()


def run_app_bench(as_json: bool = False, repeats: int = 15, device: str = "auto") -> int:
    from gradio_client import Client, handle_file

    from studio.operations.controls import Controls

    base = load_photo(BENCH_PHOTO)
    rows = []
    with served_here(device) as (studio, url):
        n_sliders = len(Controls.for_model(studio.model).all)
        client = Client(url, verbose=False)
        with tempfile.TemporaryDirectory() as folder:
            for megapixels in APP_MEGAPIXELS:
                scale = (megapixels * 1e6 / (base.size[0] * base.size[1])) ** 0.5
                size = (round(base.size[0] * scale), round(base.size[1] * scale))
                path = Path(folder) / f"bench_{megapixels:g}mp.jpg"
                Image.fromarray(base.rgb).resize(size, Image.LANCZOS).save(path, quality=92)
                opens = [_timed(lambda: client.predict(handle_file(path), api_name="/open_photo"))
                         for _ in range(3)]
                edits = []
                for i in range(repeats + 1):  # each call a new value, as in a drag
                    values = [0.0] * n_sliders
                    values[0] = 0.5 + 0.5 * (i % 2) + 0.01 * i
                    edits.append(_timed(lambda: client.predict(*values, api_name="/edit")))
                exports = [_timed(lambda: client.predict("PNG", api_name="/export_photo")) for _ in range(3)]
                rows.append({"megapixels": round(size[0] * size[1] / 1e6, 2), "width": size[0], "height": size[1],
                             "open_ms": statistics.median(opens), "slider_edit_ms": statistics.median(edits[1:]),
                             "export_png_ms": statistics.median(exports)})
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if as_json:
        print(json.dumps({"rows": rows, "peak_rss_mb": round(peak_mb, 1)}))
        return 0
    header = ("MP", "size", "open photo", "slider edit (round trip)", "export PNG")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for r in rows:
        print(f"{r['megapixels']:.2f} | {r['width']}x{r['height']} | {r['open_ms']:.0f} ms | "
              f"{r['slider_edit_ms']:.0f} ms | {r['export_png_ms']:.0f} ms")
    print(f"peak memory {peak_mb:.0f} MB (server and client in one process)")
    return 0


def run_soak_bench(as_json: bool = False, clients: int = 16, seconds: float = 60.0,
                   device: str = "auto") -> int:
    """`bench --soak`: the app served in this process, `clients` users at once for `seconds`."""
    from studio.interfaces.soak import soak
    from studio.operations.controls import Controls

    with served_here(device) as (studio, url), tempfile.TemporaryDirectory() as folder:
        controls = Controls.for_model(studio.model)
        result = soak(url, soak_photos(Path(folder)), clients, seconds, len(controls.all),
                      [s.rest for s in controls.scene])
    data = result.summary() | {"peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
    if as_json:
        print(json.dumps(data))
    else:
        print(f"{data['clients']} clients for {data['seconds']:.0f} s: {data['requests']} edits, "
              f"{data['requests_per_second']:.1f}/s, p50 {data['p50_ms']} ms, p95 {data['p95_ms']} ms; "
              f"refused {data['refused']}, errors {data['errors']}, wrong face {data['wrong_face']}; "
              f"peak memory {data['peak_rss_mb']:.0f} MB (server and clients in one process)")
    return 0 if not (result.errors or result.wrong) else 1


def soak_photos(folder: Path, count: int = 32) -> list[Path]:
    """`count` (up to 32) different photos: the eight London fixtures, their mirror images, and
    both again framed closer (the face a third larger), so every client has a photo of its own."""
    from studio import paths

    photos = []
    for path in sorted(paths.LONDON_FIXTURES.glob("[0-9]*_0[38].jpg")):
        image = Image.open(path).convert("RGB")
        w, h = image.size
        closer = image.crop((w // 8, h // 8, w - w // 8, h - h // 8)).resize((w, h), Image.LANCZOS)
        variants = {"": image, "mirrored_": image.transpose(Image.FLIP_LEFT_RIGHT),
                    "closer_": closer, "closer_mirrored_": closer.transpose(Image.FLIP_LEFT_RIGHT)}
        for prefix, variant in variants.items():
            target = folder / f"{prefix}{path.name}"
            variant.save(target, quality=92)
            photos.append(target)
    photos.sort(key=lambda p: (p.name.count("_") , p.name))   # the plain photos first
    return photos[:count]
