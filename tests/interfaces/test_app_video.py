"""The Video tab's logic without Gradio: limits, the frame preview, the render."""

import numpy as np
import pytest

from studio.errors import StudioError
from studio.interfaces import app_video
from studio.operations.edit import edit_faces
from studio.operations.recipe import EditRecipe
from studio.video.clip import frames, probe
from tests.video.clips import SIZE, make_clip


@pytest.fixture(scope="module")
def clip(studio, tmp_path_factory):
    return make_clip(studio, tmp_path_factory.mktemp("clips") / "turning.mp4", frames=6)


def test_clip_info_and_its_limits(clip, tmp_path):
    info = app_video.check_clip(clip, max_pixels=50_000_000)
    text = app_video.describe_clip(info)
    assert f"{SIZE}x{SIZE}" in text and "12 fps" in text and "6 frames" in text and "audio: yes" in text
    with pytest.raises(StudioError, match="megapixels a frame"):
        app_video.check_clip(clip, max_pixels=SIZE * SIZE - 1)
    with pytest.raises(StudioError, match="at most 0 s"):
        app_video.check_clip(clip, max_pixels=50_000_000, max_seconds=0.1)
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"this is not a clip")
    with pytest.raises(StudioError, match="not a video"):
        app_video.check_clip(bad, max_pixels=50_000_000)
    text_file = tmp_path / "notes.txt"
    text_file.write_bytes(b"hello")
    with pytest.raises(StudioError, match="upload one of .mp4"):
        app_video.check_clip(text_file, max_pixels=50_000_000)


def test_preview_is_the_photo_operation_on_that_frame(studio, clip):
    from studio.face.image_io import Photo
    from studio.operations.views import preview

    recipe = EditRecipe(presets={"surprise": 1.0})
    shown, note = app_video.preview_frame(studio, clip, 3, recipe)
    frame = list(frames(clip))[3]
    analyzed = studio.analyze(Photo(frame))
    expected = preview(edit_faces(studio, analyzed, [recipe]))
    assert "1 face" in note and np.array_equal(shown, expected)
    assert np.abs(shown.astype(int) - preview(analyzed.photo).astype(int)).max() > 30   # the edit is there


def test_render_keeps_the_clip_and_edits_it(studio, clip, tmp_path):
    seen = []
    out, summary = app_video.render_clip(studio, clip, EditRecipe(presets={"surprise": 1.0}), tmp_path,
                                         progress=lambda done, total: seen.append((done, total)))
    assert out.parent == tmp_path and out.name == "turning_edited.mp4"
    a, b = probe(clip), probe(out)
    assert (b.size, b.fps, b.frames, b.audio) == (a.size, a.fps, a.frames, True)
    assert seen[-1] == (6, 6) and "6 frames written" in summary
    first_in, first_out = next(frames(clip)), next(frames(out))
    assert np.abs(first_in.astype(int) - first_out).max() > 30
