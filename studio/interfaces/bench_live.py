"""`face-studio bench --video`'s live row: the Live tab in Chromium, its camera Chromium's fake
one playing a clip made from a London fixture, as a person at a webcam would use it.

- frame rate: driven photos the page shows per second, counted in the page;
- delay: from the camera's picture changing to the page showing the change. The clip cuts
  between the face and an empty frame every CUT_S seconds; the page notes when the camera's
  picture goes dark or lights up (sampled every animation frame) and when the Live tab's line
  switches between "following your face" and "no face": the difference is what a person sees.
"""

from __future__ import annotations

import json
import os
import statistics
import tempfile
from pathlib import Path

import imageio_ffmpeg
import numpy as np
from PIL import Image

from studio import paths
from studio.errors import StudioError
from studio.interfaces.bench_app import served_here
from studio.interfaces.bench_browser import ARGS, CHROMIUM

FIXTURES = paths.LONDON_FIXTURES
CAMERA_SIZE = (640, 480)
CAMERA_FPS = 30
CUT_S = 1.5

# The page's own clock: when the camera's picture changes, and when the Live tab's line does.
WATCH_JS = """() => {
  const seen = window.liveWatch = {camera: [], stats: [], images: []};
  const canvas = document.createElement('canvas');
  canvas.width = canvas.height = 8;
  const ctx = canvas.getContext('2d', {willReadFrequently: true});
  let dark = null;
  const sample = () => {
    const video = document.querySelector('#live-cam video');
    if (video && video.readyState >= 2) {
      ctx.drawImage(video, 0, 0, 8, 8);
      const px = ctx.getImageData(0, 0, 8, 8).data;
      let sum = 0;
      for (let i = 0; i < px.length; i += 4) sum += px[i] + px[i + 1] + px[i + 2];
      const now = sum / (px.length / 4) / 3 < 20;
      if (now !== dark) { dark = now; seen.camera.push([performance.now(), now]); }
    }
    requestAnimationFrame(sample);
  };
  sample();
  let face = null, src = null;
  new MutationObserver(() => {
    const text = document.querySelector('#live-stats').innerText;
    const now = text.includes('no face') ? false : text.includes('following') ? true : null;
    if (now !== null && now !== face) { face = now; seen.stats.push([performance.now(), now]); }
    const img = document.querySelector('#live-out img');
    if (img && img.src !== src) { src = img.src; seen.images.push(performance.now()); }
  }).observe(document.body, {subtree: true, childList: true, characterData: true, attributes: true});
}"""


def camera_file(path: Path, images: list[np.ndarray], fps: float = CAMERA_FPS) -> Path:
    """A Y4M clip (what Chromium's fake camera plays, over and over) of `images`, at CAMERA_SIZE."""
    writer = imageio_ffmpeg.write_frames(str(path), CAMERA_SIZE, fps=fps, codec="rawvideo", pix_fmt_out="yuv420p",
                                         output_params=["-f", "yuv4mpegpipe", "-strict", "-1"], macro_block_size=1,
                                         ffmpeg_log_level="error")
    writer.send(None)
    for image in images:
        writer.send(np.ascontiguousarray(image))
    writer.close()
    return path


def on_camera(photo: Path) -> np.ndarray:
    """The photo as a webcam would show it: its height filling a 640x480 grey frame."""
    width, height = CAMERA_SIZE
    face = Image.open(photo).convert("RGB").resize((height, height), Image.LANCZOS)
    frame = Image.new("RGB", CAMERA_SIZE, (128, 128, 128))
    frame.paste(face, ((width - height) // 2, 0))
    return np.asarray(frame)


def camera_args(clip: Path) -> list[str]:
    return ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
            f"--use-file-for-fake-video-capture={clip}"]


def start_live(page, photo: Path) -> None:
    """Open the Live tab, give it `photo`, start the camera and press Record."""
    page.get_by_role("tab", name="Live").click()
    page.set_input_files("#live-photo input[type=file]", str(photo))
    page.wait_for_function("document.querySelector('#live-info').innerText.includes('found')")
    page.locator("#live-cam").get_by_text("Click to Access Webcam").click()
    page.wait_for_function("(document.querySelector('#live-cam video') || {}).readyState >= 2")
    page.locator("#live-cam button[aria-label='capture photo']").click()


def _delays(camera: list, stats: list) -> list[float]:
    """For each switch of the page's line, the time since the camera's picture made that switch."""
    delays = []
    for at, face in stats:
        before = [t for t, dark in camera if dark == (not face) and t <= at]
        if before:
            delays.append(at - before[-1])
    return delays[1:]   # the first switch is the stream starting, not a cut


def run_live_bench(as_json: bool = False, seconds: float = 20.0, device: str = "auto") -> dict:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise StudioError("the live bench needs playwright: .venv/bin/pip install -e '.[test]' in the studio's folder") from None
    if not Path(CHROMIUM).exists():
        raise StudioError(f"the live bench needs Chromium at {CHROMIUM} (Debian's chromium package)")
    cut = round(CUT_S * CAMERA_FPS)
    load_before = os.getloadavg()[0]
    with served_here(device) as (_, url), tempfile.TemporaryDirectory() as folder, sync_playwright() as p:
        # a camera's noise makes every frame, and so every driven photo, a new picture
        face, noise = on_camera(FIXTURES / "001_03.jpg"), np.random.default_rng(0)
        faces = [np.clip(face + noise.normal(0, 3, face.shape), 0, 255).astype(np.uint8) for _ in range(cut)]
        clip = camera_file(Path(folder) / "camera.y4m", faces + [np.zeros_like(face)] * cut)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS + camera_args(clip))
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"]).new_page()
        page.set_default_timeout(120_000)
        page.goto(url)
        page.wait_for_selector("#photo-in input[type=file]", state="attached")
        page.evaluate(WATCH_JS)
        start_live(page, FIXTURES / "004_03.jpg")
        page.wait_for_function("window.liveWatch.stats.length > 0")
        page.wait_for_timeout(seconds * 1000)
        seen = page.evaluate("window.liveWatch")
        browser.close()
    # while no face is seen the page shows the photo as it is, the same picture: the rate is
    # that of the pictures shown while the camera shows the face
    gaps = np.diff(seen["images"])
    gaps = gaps[gaps < 500]
    delays = _delays(seen["camera"], seen["stats"])
    row = {"live_fps": 1000 / float(np.median(gaps)) if len(gaps) else 0.0,
           "live_delay_ms": statistics.median(delays) if delays else None,
           "live_delay_max_ms": max(delays) if delays else None, "live_cuts": len(delays),
           "live_load_average": (round(load_before, 2), round(os.getloadavg()[0], 2))}
    return row
