"""The page in a real browser: Debian's Chromium driven by Playwright (no browser download).

Screenshots of every tab are saved in tests/output/ for people to look at.
"""

import json
import re
import shutil
import time

import numpy as np
import pytest
from PIL import Image

from tests.conftest import PAIR, fixture_path
from tests.interfaces.conftest import OUTPUT

CHROMIUM = "/usr/bin/chromium"
# Headless, and no background traffic: this machine's network is closed.
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def playwright():
    from playwright.sync_api import sync_playwright

    assert shutil.which(CHROMIUM), "install Debian's chromium package (.ci/run does)"
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(playwright):
    b = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
    yield b
    b.close()


@pytest.fixture
def page(browser, app_server):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_server.url)
    page.wait_for_selector("#photo-in input[type=file]", state="attached")
    yield page
    context.close()


def status(page) -> str:
    return page.locator("#status").inner_text()


def after_src(page) -> str:
    return page.locator("#view img").last.get_attribute("src") or ""


def wait_for_new_view(page, before: str) -> str:
    """Wait until the after-image is no longer `before`; returns the new one's source."""
    page.wait_for_function(f"(() => {{ const i = document.querySelectorAll('#view img'); "
                           f"return i.length && i[i.length - 1].getAttribute('src') !== {before!r}; }})()")
    return after_src(page)


def export_photo(page, folder):
    """Click Export photo and download the file the page offers."""
    page.locator("#export").click()
    link = page.locator("#download a").first
    link.wait_for()
    with page.expect_download() as download:
        link.click()
    saved = folder / download.value.suggested_filename
    download.value.save_as(saved)
    return saved


def test_upload_move_slider_see_change_and_export(page, tmp_path):
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("002")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    assert "unedited" in status(page)
    before = after_src(page)
    page.locator("#slider-happiness input[type=range]").fill("1.2")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")
    wait_for_new_view(page, before)
    assert re.search(r"last edit \d+ ms", status(page))
    page.screenshot(path=str(OUTPUT / "app_edit.png"), full_page=True)

    saved = export_photo(page, tmp_path)
    assert saved.name == "002_03_edited.png"
    exported = np.asarray(Image.open(saved))
    original = np.asarray(Image.open(fixture_path("002")))
    assert exported.shape == original.shape
    assert np.abs(exported.astype(int) - original).max() > 60   # the smile is in the file


def test_turn_and_relight_from_the_page(page, tmp_path, studio):
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("012")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    before = after_src(page)
    page.locator("#slider-yaw input[type=range]").fill("20")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")
    turned = wait_for_new_view(page, before)
    page.locator("#light-preset label").filter(has_text="left").click()
    # the preset moves the light sliders and the view changes again
    page.wait_for_function("document.querySelector('#slider-azimuth input[type=number]').value === '-60'")
    wait_for_new_view(page, turned)
    assert page.locator("#slider-yaw input[type=number]").input_value() == "20"
    page.screenshot(path=str(OUTPUT / "app_pose_light.png"), full_page=True)
    saved = export_photo(page, tmp_path)
    from studio.evaluation.pose_light import face_balance
    from studio.face.image_io import load_photo

    exported = np.asarray(Image.open(saved).convert("RGB"))
    original = load_photo(fixture_path("012")).rgb
    start, found = studio.analyzer.detect(original)[0].points, studio.analyzer.detect(exported)[0].points
    yaw = studio.model.fit(found).yaw_pitch_roll()[0] - studio.model.fit(start).yaw_pitch_roll()[0]
    assert exported.shape == original.shape and 12 < yaw < 24, yaw
    assert face_balance(exported, found) > 1.1 * face_balance(original, start)   # lit from the left


def divider(page) -> float:
    """Where the before/after divider is, in percent of the image's width (the after-image is
    clipped from the left up to it)."""
    clip = page.locator("#view img").last.evaluate("img => img.style.clipPath")
    return float(re.search(r"inset\(0(?:px)? 0(?:px)? 0(?:px)? ([\d.]+)%", clip).group(1))


def test_faces_are_numbered_on_the_photo_and_picking_one_moves_the_divider_to_it(page):
    page.set_input_files("#photo-in input[type=file]", str(PAIR))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 2')")
    page.wait_for_selector("#face-map img")
    assert 20 < divider(page) < 30   # through face 1, the left one
    # a click on the right-hand head in the faces map picks face 2
    box = page.locator("#face-map img").bounding_box()
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.45 * box["height"])
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 2 of 2')")
    page.wait_for_function("[...document.querySelectorAll('#view img')].pop().style.clipPath.includes('7')")
    assert 70 < divider(page) < 80
    page.locator("#remove").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")
    assert 70 < divider(page) < 80   # an edit keeps the divider where it is
    page.screenshot(path=str(OUTPUT / "app_faces.png"), full_page=True)
    # the thumbnails pick faces too
    page.locator("#faces img").nth(0).click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 2')")
    assert 20 < divider(page) < 30
    # the Transfer tab picks faces the same way
    page.get_by_role("tab", name="Transfer").click()
    page.set_input_files("#b-in input[type=file]", str(PAIR))
    page.wait_for_selector("#b-map img")
    box = page.locator("#b-map img").bounding_box()
    page.mouse.click(box["x"] + 0.75 * box["width"], box["y"] + 0.45 * box["height"])
    page.wait_for_function("document.querySelector('#face-b input').value === '2'")
    page.screenshot(path=str(OUTPUT / "app_transfer_faces.png"), full_page=True)


def test_a_slow_edit_shows_that_it_is_working(page, tmp_path):
    big = tmp_path / "big.jpg"
    photo = Image.open(fixture_path("012"))
    photo.resize((3464, 3464), Image.LANCZOS).save(big, quality=90)   # 12 MP
    page.set_input_files("#photo-in input[type=file]", str(big))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')", timeout=120_000)
    slider = page.locator("#slider-happiness input[type=range]")
    slider.fill("1")
    slider.dispatch_event("change")
    # while it runs the status line says so (LAYOUT_CSS's ::after on Gradio's pending mark) ...
    page.wait_for_function("""() => { const p = document.querySelector('#status .pending p');
        return p && getComputedStyle(p, '::after').content.includes('working'); }""", timeout=10_000, polling=20)
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')", timeout=120_000)
    # ... and stops saying so once the new image is there
    page.wait_for_function("!document.querySelector('#status .pending')")
    page.screenshot(path=str(OUTPUT / "app_big_done.png"))


def test_bad_upload_shows_a_message_not_a_traceback(page, tmp_path):
    bad = tmp_path / "notes.jpg"
    bad.write_bytes(b"this is not a picture")
    page.set_input_files("#photo-in input[type=file]", str(bad))
    toast = page.get_by_text(re.compile("not an image"))
    toast.first.wait_for()
    assert "Traceback" not in page.content()


def test_a_failed_upload_keeps_the_edited_photo_and_its_history(page, tmp_path):
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("002")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    before = after_src(page)
    page.locator("#slider-happiness input[type=range]").fill("1.2")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")
    edited = wait_for_new_view(page, before)
    wall = tmp_path / "wall.png"
    Image.new("RGB", (300, 200), "gray").save(wall)
    page.set_input_files("#photo-in input[type=file]", str(wall))
    page.get_by_text(re.compile("the photo you were editing is still open")).first.wait_for()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(OUTPUT / "app_failed_upload.png"), full_page=True)
    assert page.get_by_text(re.compile("the photo you were editing is still open")).count() == 1   # one message
    assert after_src(page) == edited   # the edited photo is still on view
    assert "last edit" in status(page) and "768x768" in status(page)
    saved = export_photo(page, tmp_path)
    exported = np.asarray(Image.open(saved))
    original = np.asarray(Image.open(fixture_path("002")))
    assert saved.name == "002_03_edited.png" and np.abs(exported.astype(int) - original).max() > 60
    page.locator("#undo").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('unedited')")
    assert page.locator("#slider-happiness input[type=number]").input_value() == "0"


def test_transfer_and_interpolate_tabs(page):
    page.get_by_role("tab", name="Transfer").click()
    page.set_input_files("#a-in input[type=file]", str(fixture_path("001")))
    page.set_input_files("#b-in input[type=file]", str(fixture_path("012", smiling=True)))
    page.get_by_text("1 face found").nth(1).wait_for()
    page.locator("#transfer-run").click()
    page.locator("#transfer-view img").nth(5).wait_for()
    page.locator("#transfer-grid a").first.wait_for()
    page.screenshot(path=str(OUTPUT / "app_transfer.png"), full_page=True)

    page.get_by_role("tab", name="Edit").click()
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("004")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    slider = page.locator("#slider-surprise input[type=range]")   # the edit: surprise; the end: happiness
    slider.fill("1")
    slider.dispatch_event("change")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")
    page.get_by_role("tab", name="Interpolate").click()
    page.locator("#animate-from").get_by_text("the current edit").click()
    page.locator("#animate").click()
    page.locator("#strip img").wait_for()
    page.locator("#animation img").wait_for()
    page.locator("#animation-end img").wait_for()
    summary = page.locator("#animation-summary").inner_text()
    assert "12 frames from start to end, 720x720 px" in summary and "22 frames" in summary
    page.screenshot(path=str(OUTPUT / "app_interpolate.png"), full_page=True)


def test_rapid_slider_moves_end_on_the_latest_value(page):
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("001")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    slider = page.locator("#slider-surprise input[type=range]")
    for value in np.linspace(0.05, 1.0, 20):      # a fast drag: 20 moves with no pause
        slider.fill(f"{value:.2f}")
    slider.fill("0.45")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")

    def exported_recipe():
        page.locator("#export-recipe").click()
        link = page.locator("#download a").first
        link.wait_for()
        with page.expect_download() as download:
            link.click()
        return json.loads(open(download.value.path()).read())

    # the queue may still be working through the drag on a slow machine: the page must end on
    # the last value (and stay there), whatever it showed on the way
    deadline = time.monotonic() + 30
    while exported_recipe()["presets"] != {"surprise": 0.45} and time.monotonic() < deadline:
        page.wait_for_timeout(500)
    page.wait_for_timeout(1000)
    assert exported_recipe()["presets"] == {"surprise": 0.45}
    assert "1 undo step" in status(page)           # one drag, one undo step


def test_webcam_capture(playwright, app_server, tmp_path):
    """Chromium's fake camera plays a London photo; a captured frame is analysed like an upload."""
    import subprocess

    import imageio_ffmpeg

    video = tmp_path / "camera.y4m"
    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-loop", "1",
                    "-i", str(fixture_path("004")), "-t", "2", "-r", "10", "-vf", "scale=640:640",
                    "-pix_fmt", "yuv420p", str(video)], check=True)
    camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
              f"--use-file-for-fake-video-capture={video}"]
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + camera)
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"]).new_page()
        page.set_default_timeout(60_000)
        page.goto(app_server.url)
        page.locator("#photo-in button[aria-label='Capture from camera']").click()
        page.get_by_text("Click to Access Webcam").click()
        # the capture button only works once the camera's stream is playing
        page.wait_for_function("(document.querySelector('#photo-in video') || {}).readyState >= 2")
        page.locator("#photo-in button[aria-label='capture photo']").click()
        page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
        assert "640x640 · face 1 of 1" in status(page)
    finally:
        browser.close()


def test_live_mode_follows_the_fake_camera(playwright, app_server, studio, tmp_path):
    """Chromium's fake camera plays 001 neutral, then smiling, then an empty frame, over and over;
    the Live tab drives 004's photo with it: the photo shown smiles when the camera does, is the
    photo as it is while no face is seen, and the frame rate is shown."""
    from studio.interfaces.bench_live import camera_args, camera_file, on_camera, start_live
    from tests.video.test_live import corners_up

    neutral, smiling = on_camera(fixture_path("001")), on_camera(fixture_path("001", smiling=True))
    noise = np.random.default_rng(0)
    noisy = lambda rgb: np.clip(rgb + noise.normal(0, 3, rgb.shape), 0, 255).astype(np.uint8)  # noqa: E731
    clip = camera_file(tmp_path / "camera.y4m", [noisy(neutral) for _ in range(20)]
                       + [noisy(smiling) for _ in range(20)] + [np.zeros_like(neutral)] * 10, fps=10)
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS + camera_args(clip))
    try:
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, permissions=["camera"]).new_page()
        page.set_default_timeout(60_000)
        page.goto(app_server.url)
        page.wait_for_selector("#photo-in input[type=file]", state="attached")
        start_live(page, fixture_path("004"))
        shown, lines = {}, set()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not ({"following", "no face"} <= lines and len(shown) >= 12):
            line = page.locator("#live-stats").inner_text()
            lines |= {key for key in ("following", "no face") if key in line}
            src = page.locator("#live-out img").first.get_attribute("src")
            if src and "following" in line:
                shown.setdefault(src, line)
            page.wait_for_timeout(150)
        page.screenshot(path=str(OUTPUT / "live.png"), full_page=True)
        assert {"following", "no face"} <= lines, lines
        rates = [float(re.search(r"([\d.]+) fps", line).group(1)) for line in shown.values()]
        assert max(rates) > 2, rates
        pictures = [np.asarray(Image.open(__import__("io").BytesIO(page.request.get(src).body())).convert("RGB"))
                    for src in shown]
    finally:
        browser.close()
    assert pictures[0].shape[:2] == (512, 512)
    ups = [corners_up(studio, rgb) for rgb in pictures]
    # the camera's smile (0.09 interocular distances at the mouth's corners) reaches the photo
    assert max(ups) - min(ups) > 0.03, ups


def test_example_faces_and_pairs_open(page):
    """Examples are files Gradio copied into its upload folder, so the upload check lets them in."""
    page.locator("button.gallery-item").first.click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    page.get_by_role("tab", name="Transfer").click()
    page.locator("tr.tr-body:visible, button.gallery-item:visible").first.click()
    page.wait_for_function("[...document.querySelectorAll('.prose, .md')].filter(e => "
                           "e.innerText.includes('1 face found')).length >= 2")


@pytest.mark.parametrize("width, height", [(1440, 900), (390, 844)])
def test_the_photo_stays_in_view_while_a_slider_is_dragged(browser, app_server, width, height):
    """On a desktop and on a phone, the before/after photo and the slider being dragged are both on
    screen, the slider not under the photo: no scrolling up to look and down to adjust."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(app_server.url)
    page.wait_for_selector("#photo-in input[type=file]", state="attached")
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("001")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    for key in ("happiness", "yaw", "temperature"):
        slider = page.locator(f"#slider-{key} input[type=range]")
        slider.focus()   # as a keyboard user reaches it; the page scrolls it into view
        before = after_src(page)
        slider.fill({"happiness": "1", "yaw": "10", "temperature": "5000"}[key])
        wait_for_new_view(page, before)
        view, control = page.locator("#view").bounding_box(), slider.bounding_box()
        preview = page.locator("#preview-col").bounding_box()
        page.screenshot(path=str(OUTPUT / f"app_layout_{width}x{height}_{key}.png"))
        assert view["y"] >= -1 and view["y"] + 0.8 * view["height"] <= height, (key, view)
        assert 0 <= control["y"] and control["y"] + control["height"] <= height, (key, control)
        if width < 900:   # the photo is pinned above the controls: the slider is below it
            assert control["y"] >= preview["y"] + preview["height"] - 1, (key, control, preview)
        else:             # beside them
            assert control["x"] >= view["x"] + view["width"], (key, control, view)
    context.close()


def test_controls_follow_undo_redo_reset_and_typed_values_stay_in_range(page):
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("012")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    page.locator("#light-preset label").filter(has_text="left").click()
    page.wait_for_function("document.querySelector('#slider-azimuth input[type=number]').value === '-60'")
    assert page.locator("#light-preset input[value=left]").is_checked()
    page.locator("#undo").click()
    page.wait_for_function("document.querySelector('#slider-azimuth input[type=number]').value === '0'")
    assert not page.locator("#light-preset input[value=left]").is_checked()   # the preset follows Undo
    page.locator("#redo").click()
    page.wait_for_function("document.querySelector('#slider-azimuth input[type=number]').value === '-60'")
    assert page.locator("#light-preset input[value=left]").is_checked()
    page.locator("#reset").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('unedited')")
    assert not page.locator("#light-preset input[value=left]").is_checked()

    # a value typed beyond the slider's end is kept at the end, and no traceback
    box = page.locator("#slider-happiness input[type=number]")
    box.fill("5")
    box.press("Tab")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")
    assert box.input_value() == "1.5" and "Traceback" not in page.content()

    # Ctrl+Z and Ctrl+Shift+Z are Undo and Redo (outside a text box)
    page.locator("#view").click()
    page.keyboard.press("Control+z")
    page.wait_for_function("document.querySelector('#status').innerText.includes('unedited')")
    page.keyboard.press("Control+Shift+z")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")


def test_part_controls_and_the_parts_choice(page):
    """The Eyes, Brows and Mouth groups' sliders edit the face, and the parts choice follows the
    recipe: Undo brings back a box unticked since."""
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("001")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    boxes = page.locator("#parts input[type=checkbox]")
    assert boxes.count() == 4 and all(boxes.nth(i).is_checked() for i in range(4))
    assert page.locator("#parts").inner_text().startswith("Apply the expression and pose to")
    for group in ("eyes", "brows", "mouth"):
        assert page.locator(f"#group-{group}").is_visible()
    before = after_src(page)
    page.locator("#slider-blink input[type=range]").fill("1")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")
    wait_for_new_view(page, before)
    assert "1 undo step" in status(page)
    page.screenshot(path=str(OUTPUT / "app_part_controls.png"), full_page=True)
    page.locator("#parts label").filter(has_text="pose").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('2 undo steps')")
    assert not page.locator("#parts input[name=pose]").is_checked()
    page.locator("#undo").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('1 undo step')")
    page.wait_for_function("document.querySelector('#parts input[name=pose]').checked")
    assert page.locator("#slider-blink input[type=number]").input_value() == "1"
    page.locator("#undo").click()
    page.wait_for_function("document.querySelector('#status').innerText.includes('unedited')")
    assert page.locator("#slider-blink input[type=number]").input_value() == "0"
    # nothing ticked: a note says the edit stays as it is
    for part in ("eyes", "brows", "mouth", "pose"):
        page.locator("#parts label").filter(has_text=part).click()
    page.get_by_text(re.compile("Tick at least one part")).first.wait_for()
    assert "unedited" in status(page) and "Traceback" not in page.content()


def test_video_tab_shows_a_clips_info_and_renders_it(page, studio, tmp_path):
    from tests.video.clips import make_clip

    clip = make_clip(studio, tmp_path / "turning.mp4", frames=12)
    page.set_input_files("#photo-in input[type=file]", str(fixture_path("004")))
    page.wait_for_function("document.querySelector('#status').innerText.includes('face 1 of 1')")
    slider = page.locator("#slider-surprise input[type=range]")
    slider.fill("1")
    slider.dispatch_event("change")
    page.wait_for_function("document.querySelector('#status').innerText.includes('last edit')")
    page.get_by_role("tab", name="Video").click()
    page.set_input_files("#clip-in input[type=file]", str(clip))
    page.wait_for_function("document.querySelector('#clip-info').innerText.includes('12 frames')")
    info = page.locator("#clip-info").inner_text()
    assert "384x384" in info and "12 fps" in info and "audio: yes" in info
    page.locator("#clip-frame input[type=range]").fill("6")
    page.locator("#clip-preview-run").click()
    page.locator("#clip-preview img").wait_for()
    page.wait_for_function("document.querySelector('#clip-note').innerText.includes('frame 6: 1 face, edited')")
    page.locator("#clip-render").click()
    page.locator("#clip-file a").first.wait_for(timeout=180_000)
    page.locator("#clip-out video").wait_for()
    assert "12 frames written" in page.locator("#clip-note").inner_text()
    page.screenshot(path=str(OUTPUT / "app_video.png"), full_page=True)


def test_video_tab_refuses_a_file_that_is_not_a_clip(page, tmp_path):
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"this is not a clip")
    page.get_by_role("tab", name="Video").click()
    page.set_input_files("#clip-in input[type=file]", str(bad))
    page.get_by_text(re.compile("not a video ffmpeg can read")).first.wait_for()
    assert "Traceback" not in page.content()
