"""`face-studio bench --browser`: from letting go of a slider to the new image, in Chromium.

The app is served in this process and Debian's Chromium (driven by Playwright) opens it, as a
person would. Each sample sets a slider in the page and times, with the page's own clock, until
the before/after view shows a new after-image that has finished loading: the HTTP round trip,
Gradio's queue, the edit, encoding the preview, downloading and decoding it. Photos are the
bench face scaled to 1, 4 and 12 megapixels.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

from PIL import Image

from studio.errors import StudioError
from studio.face.image_io import load_photo
from studio.interfaces.bench import BENCH_PHOTO
from studio.interfaces.bench_app import APP_MEGAPIXELS, served_here

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

# Sets the slider as a drag ending there would, then waits for the new after-image to be shown.
RELEASE_TO_IMAGE_JS = """async ([key, value]) => {
  const input = document.querySelector(`#slider-${key} input[type=range]`);
  const after = () => [...document.querySelectorAll('#view img')].pop();
  const before = after() ? after().src : '';
  const start = performance.now();
  input.value = value;
  input.dispatchEvent(new Event('input', {bubbles: true}));
  input.dispatchEvent(new Event('change', {bubbles: true}));
  return await new Promise((resolve) => {
    const check = () => {
      const img = after();
      if (img && img.src !== before && img.complete && img.naturalWidth > 0) resolve(performance.now() - start);
      else requestAnimationFrame(check);
    };
    check();
  });
}"""


def run_browser_bench(as_json: bool = False, repeats: int = 5,
                      megapixels: tuple[float, ...] = APP_MEGAPIXELS, device: str = "auto") -> int:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise StudioError("bench --browser needs playwright: .venv/bin/pip install -e '.[test]' in the studio's folder") from None
    if not Path(CHROMIUM).exists():
        raise StudioError(f"bench --browser needs Chromium at {CHROMIUM} (Debian's chromium package)")
    base = load_photo(BENCH_PHOTO)
    rows = []
    load_before = os.getloadavg()[0]
    with served_here(device) as (studio, url), tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(180_000)
        page.goto(url)
        page.wait_for_selector("#photo-in input[type=file]", state="attached")
        for mp in megapixels:
            scale = (mp * 1e6 / (base.size[0] * base.size[1])) ** 0.5
            size = (round(base.size[0] * scale), round(base.size[1] * scale))
            path = Path(folder) / f"bench_{mp:g}mp.jpg"
            Image.fromarray(base.rgb).resize(size, Image.LANCZOS).save(path, quality=92)
            page.set_input_files("#photo-in input[type=file]", str(path))
            page.wait_for_function(f"document.querySelector('#status').innerText.includes('{size[0]}x{size[1]}')")
            samples = []
            for i in range(repeats + 1):   # the first edit of a photo builds its caches: not counted
                value = round(0.5 + 0.5 * (i % 2) + 0.01 * i, 2)
                samples.append(page.evaluate(RELEASE_TO_IMAGE_JS, ["happiness", value]))
            kept = samples[1:]
            rows.append({"megapixels": round(size[0] * size[1] / 1e6, 2), "width": size[0], "height": size[1],
                         "first_ms": round(samples[0]), "median_ms": round(statistics.median(kept)),
                         "max_ms": round(max(kept))})
        browser.close()
    load = (round(load_before, 2), round(os.getloadavg()[0], 2))
    if as_json:
        print(json.dumps({"rows": rows, "load_average": load}))
        return 0
    header = ("MP", "size", "release to image (median)", "slowest", "first edit of the photo")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for r in rows:
        print(f"{r['megapixels']:.2f} | {r['width']}x{r['height']} | {r['median_ms']} ms | {r['max_ms']} ms | "
              f"{r['first_ms']} ms")
    print(f"Chromium headless, 1440x900, {repeats} moves each; load average {load[0]} before, {load[1]} after")
    return 0
