"""Head turns on real faces: the surface, the rotation and the warp, judged by detecting again."""

import numpy as np
import pytest

from studio.errors import StudioError
from studio.evaluation.pose_light import shape_error
from studio.face.mesh import FACE_OVAL, N_SURFACE, interocular
from studio.geometry.pose import HeadPose, head_centre, turn_points
from studio.geometry.reshape import reshape_face


def test_surface_is_the_closed_mesh_facing_the_camera_with_a_mirror_pairing(studio):
    surface = studio.surface
    mean = studio.model.mean
    # MediaPipe's 852 triangles plus fans closing both eyes (16-point loops) and the mouth (20)
    assert surface.triangles.shape == (852 + 14 + 14 + 18, 3)
    assert set(np.unique(surface.triangles)) == set(range(N_SURFACE))
    assert (surface.facing(mean)[:N_SURFACE] > 0).mean() > 0.97   # almost every point faces the camera
    m = surface.mirror
    assert (m[m] == np.arange(len(m))).all()                      # a pairing
    assert m[33] == 263 and m[133] == 362 and m[61] == 291 and m[234] == 454 and m[1] == 1
    # mirrored points sit where the reflection puts them
    mid = mean[[1, 4, 6, 168, 10, 152], 0].mean()
    reflected = mean[:N_SURFACE].copy()
    reflected[:, 0] = 2 * mid - reflected[:, 0]
    assert np.linalg.norm(reflected - mean[m[:N_SURFACE]], axis=1).max() < 0.05


def test_pose_limits_and_rotation_conventions(studio, analyzed):
    with pytest.raises(StudioError, match="yaw must be within"):
        HeadPose(yaw=46)
    with pytest.raises(StudioError, match="pitch"):
        HeadPose(pitch=-31)
    r = HeadPose(12, -7, 5).rotation()
    assert np.allclose(r @ r.T, np.eye(3)) and np.isclose(np.linalg.det(r), 1)
    points = analyzed("002").faces[0].points
    base = np.array(studio.model.fit(points).yaw_pitch_roll())
    for pose in (HeadPose(yaw=20), HeadPose(pitch=-12), HeadPose(roll=15), HeadPose(-15, 10, 0)):
        change = np.array(studio.model.fit(turn_points(points, pose)).yaw_pitch_roll()) - base
        assert np.allclose(change, [pose.yaw, pose.pitch, pose.roll], atol=1.5), (pose, change)
    turned = turn_points(points, HeadPose(yaw=20))
    assert turned[4, 0] < points[4, 0]                                     # + yaw: nose to the image's left
    assert np.allclose(turn_points(points, HeadPose(roll=10))[list((234, 454))].mean(0), head_centre(points))


@pytest.mark.parametrize("person,yaw", [("002", 20), ("012", -20), ("004", 30)])
def test_turned_face_is_detected_again_at_the_asked_yaw(studio, analyzed, person, yaw):
    photo = analyzed(person)
    face = photo.faces[0]
    target = turn_points(face.points, HeadPose(yaw=yaw))
    pixels = photo.photo.pixels()
    out = reshape_face(pixels, face.points, target, studio.warp, studio.surface)
    assert out.shape == pixels.shape and out.dtype == pixels.dtype
    found = studio.analyzer.detect(out)
    assert found, "no face found on the turned photo"
    points = found[0].points
    reached = studio.model.fit(points).yaw_pitch_roll()[0] - studio.model.fit(face.points).yaw_pitch_roll()[0]
    # MediaPipe reads real half profiles low too (KDEF's 45 degrees come out near 40)
    assert np.sign(reached) == np.sign(yaw) and 0.6 * abs(yaw) < abs(reached) < 1.2 * abs(yaw), reached
    # the landmarks land where the turn put them, far closer than where they were
    assert shape_error(points, target) < 0.05 < shape_error(face.points, target)
    # away from the head nothing changes: the corners of the photo are untouched
    assert (out[-40:, -40:] == pixels[-40:, -40:]).all() and (out[:40, :40] == pixels[:40, :40]).all()


@pytest.mark.parametrize("person,yaw", [("012", -30), ("002", 30)])
def test_a_turn_fills_what_it_reveals_without_streaks(studio, analyzed, person, yaw):
    """Turning a face shows more of one side; the warp alone smears the photo's sliver of it into
    streaks: across the turn each row is stretched, so brightness steps from row to row far more
    than along a row (1.2-1.25x on these photos). The fill has the skin's own detail, with no
    direction to it (at most about as much from row to row as along a row), and takes the colour
    of that side of the face, not the backdrop's."""
    import studio.geometry.reshape as reshape
    from studio.geometry.reveal import revealed_weights
    from studio.geometry.warp import compute_warp

    photo = analyzed(person)
    face = photo.faces[0]
    target = turn_points(face.points, HeadPose(yaw=yaw))
    pixels = photo.photo.pixels()
    filled = reshape_face(pixels, face.points, target, studio.warp, studio.surface)
    need, _ = revealed_weights(studio.surface, face.points, target)
    warp = compute_warp(face.points, target, pixels.shape[:2], target[:, 2], studio.warp, studio.surface.triangles)
    region = warp.rasterize(need) > 0.5
    assert region.sum() > 1000                                  # the near side's edge is revealed
    x0, y0, x1, y1 = warp.roi

    def streaks(image):
        gray = image[y0:y1, x0:x1].astype(float).mean(axis=2)
        inside = region[:-1, :-1]
        rows = np.abs(np.diff(gray, axis=0))[:, :-1][inside].mean()
        along = np.abs(np.diff(gray, axis=1))[:-1, :][inside].mean()
        return rows / along

    original = reshape.fill_revealed
    reshape.fill_revealed = lambda roi, *args, **kwargs: roi
    try:
        smeared = reshape_face(pixels, face.points, target, studio.warp, studio.surface)
    finally:
        reshape.fill_revealed = original
    assert streaks(smeared) > 1.15 and streaks(filled) < 1.05, (streaks(smeared), streaks(filled))
    # the skin's colour: the hue of the sliver the photo shows, far from the backdrop's beside it,
    # and as bright or a little brighter (the sliver is in shade by the outline, the fill faces the
    # camera more: 1.26-1.31x on these photos)
    sliver = face.points[need > 0.5, :2].round().astype(int)
    colour = pixels[sliver[:, 1], sliver[:, 0]].astype(float).mean(axis=0)
    backdrop = pixels[:40, :40, :3].reshape(-1, 3).astype(float).mean(axis=0)
    fill = filled[y0:y1, x0:x1][region].mean(axis=0)
    def hue(rgb):
        return rgb / rgb.sum()

    assert np.abs(hue(fill) - hue(colour)).max() < min(0.02, 0.5 * np.abs(hue(fill) - hue(backdrop)).max())
    assert 0.95 < fill.sum() / colour.sum() < 1.4, fill.sum() / colour.sum()


def test_turning_keeps_the_outline_on_the_turned_target(studio, analyzed):
    photo = analyzed("001")
    face = photo.faces[0]
    target = turn_points(face.points, HeadPose(yaw=15, pitch=10))
    out = reshape_face(photo.photo.pixels(), face.points, target, studio.warp, studio.surface)
    points = studio.analyzer.detect(out)[0].points
    assert np.linalg.norm(points[FACE_OVAL, :2] - target[FACE_OVAL, :2], axis=1).mean() < 0.12 * interocular(target)


def _glitches(frames: list[np.ndarray], min_blob: int = 40) -> list[int]:
    """Indices of frames with a blob its neighbours do not have: pixels further (by 20 grey
    levels) from the mean of the frames either side than those two are from each other halved (a
    smooth sweep changes little from frame to frame), in one connected patch of `min_blob` pixels
    or more (fine detail such as a catchlight moving a pixel makes isolated ones)."""
    import cv2

    found = []
    for i in range(1, len(frames) - 1):
        before, now, after = (f[:, :, :3].astype(np.float32) for f in frames[i - 1:i + 2])
        excess = (np.abs(now - (before + after) / 2).max(axis=2)
                  - np.abs(before - after).max(axis=2) / 2 - 20)
        count, _, stats, _ = cv2.connectedComponentsWithStats((excess > 0).astype(np.uint8), connectivity=8)
        if count > 1 and stats[1:, cv2.CC_STAT_AREA].max() >= min_blob:
            found.append(i)
    return found


@pytest.mark.parametrize("person, axis, start, stop, step", [
    ("001", "yaw", -4.0, 4.0, 0.13),     # a jaw dent at yaw -2.36 before the squeezed-triangle guard
    ("004", "yaw", -15.0, 15.0, 0.37),
    ("002", "pitch", -12.0, 12.0, 0.37),
])
def test_small_turn_steps_never_dent_the_face(studio, analyzed, person, axis, start, stop, step):
    """Turning in small steps changes each frame smoothly: no frame has a patch (a dented jaw, a
    dark blob) that the frames on either side do not."""
    from studio.operations.edit import edit
    from studio.operations.recipe import EditRecipe

    photo = analyzed(person)
    values = np.arange(start, stop + 1e-9, step)
    frames = [edit(studio, photo, EditRecipe(pose=HeadPose(**{axis: float(v)}))).photo.rgb for v in values]
    assert [round(float(values[i]), 2) for i in _glitches(frames)] == []


@pytest.mark.parametrize("person", ["001", "004"])
def test_an_animation_to_a_smile_with_a_turn_has_no_blob_in_any_frame(studio, analyzed, person):
    """24 frames to happiness 1 with a 15 degree turn: before the clamped rasteriser, one frame
    in a few showed a patch of 700-960 pixels on the jaw or cheek."""
    from studio.operations.interpolate import interpolate
    from studio.operations.recipe import EditRecipe

    results = interpolate(studio, analyzed(person), EditRecipe(presets={"happiness": 1.0}, pose=HeadPose(yaw=15)), 24)
    assert _glitches([r.photo.rgb for r in results]) == []


def test_a_squeezed_triangle_never_extrapolates_past_its_corners():
    """A triangle the target squeezes to nearly nothing (a jaw edge-on) covers, rasterised, a few
    pixels just off its edges; they take values between its corners', not its near-singular
    map's extrapolation (60 px of flow before)."""
    from studio.geometry.warp import rasterize_mesh

    points = np.array([[2.0, 5.0], [12.0, 5.0], [7.0, 5.3]])     # 1.5 px^2, nearly a line
    values = np.array([[0.0], [10.0], [100.0]])
    out = rasterize_mesh(points, np.array([[0, 1, 2]]), values, (0, 0, 16, 10))[:, :, 0]
    covered = out != 0
    assert covered.sum() >= 5
    assert out.min() >= 0.0 and out.max() <= 100.0 + 1e-4
    # inside an ordinary triangle the blend is exact
    big = np.array([[0.0, 0.0], [16.0, 0.0], [0.0, 10.0]])
    exact = rasterize_mesh(big, np.array([[0, 1, 2]]), big[:, :1].copy(), (0, 0, 16, 10))[:, :, 0]
    assert abs(exact[2, 3] - 3.0) < 1e-4   # the value is x itself at a pixel centre inside


def _jaw_strip(studio, analyzed, person, yaw):
    """London `person` turned by `yaw`: the photo, its landmarks, the turned ones, and how far the
    strip by the jaw that the turn stretches stands out from the skin either side of it (L*, the
    edge-on part's fill and the well-seen skin beside the strip; the turn's light taken out of
    all three, so the shading a turned face gets is no step): a function of the output."""
    import cv2
    from dataclasses import replace

    import studio.geometry.reveal as reveal
    from studio.geometry.turn_light import turn_shading
    from studio.geometry.warp import compute_warp

    photo = analyzed(person)
    face = photo.faces[0]
    target = turn_points(face.points, HeadPose(yaw=yaw))
    pixels = photo.photo.pixels()
    need, _ = reveal.revealed_weights(studio.surface, face.points, target)
    unstretched = replace(reveal.RevealConfig(), stretch_from=99.0)   # the edge-on test alone
    edge_on, _ = reveal.revealed_weights(studio.surface, face.points, target, unstretched)
    warp = compute_warp(face.points, target, pixels.shape[:2], target[:, 2], studio.warp, studio.surface.triangles)
    x0, y0, x1, y1 = warp.roi
    strip = warp.rasterize(need - edge_on) > 0.3
    fill = warp.rasterize((edge_on > 0.5).astype(float)) > 0.5
    seen = warp.rasterize((need < 0.05).astype(float)) > 0.5
    beside = cv2.dilate(strip.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & seen & ~strip
    assert strip.sum() > 2000 and fill.sum() > 2000 and beside.sum() > 500
    light = turn_shading(pixels, studio.surface, face.points, target).fields(warp).light

    def outside(image):
        flat = np.clip(image[y0:y1, x0:x1, :3] / light[..., None], 0, 255).astype(np.uint8)
        lightness = cv2.cvtColor(np.ascontiguousarray(flat), cv2.COLOR_RGB2LAB)[:, :, 0].astype(float) / 2.55
        at, sides = lightness[strip].mean(), (lightness[fill].mean(), lightness[beside].mean())
        return max(min(sides) - at, at - max(sides), 0.0)

    return pixels, face.points, target, unstretched, outside


@pytest.mark.parametrize("person,yaw", [("001", -25), ("004", 25)])
def test_the_strip_by_the_jaw_that_a_turn_stretches_is_skin_like_the_fill(studio, analyzed, person, yaw):
    """By the jaw the fitted normals call the skin seen well enough (57-70 degrees), yet the turn
    stretches it 2-3x: the backdrop's few pixels at the outline became a pale, straight-edged
    patch (001) and the shaded side a dark band (004). That strip is filled: its lightness lies
    between the fill's beside it and the well-seen skin's (within 1 L*; left to the warp, 004's
    lies 3.8 below both, the test below)."""
    pixels, source, target, _, outside = _jaw_strip(studio, analyzed, person, yaw)
    assert outside(reshape_face(pixels, source, target, studio.warp, studio.surface)) < 1.0


def test_the_strip_by_the_jaw_left_to_the_warp_is_a_dark_band(studio, analyzed, monkeypatch):
    """The measure above finds the band the warp alone draws (London 004)."""
    import studio.geometry.reveal as reveal

    pixels, source, target, unstretched, outside = _jaw_strip(studio, analyzed, "004", 25)
    original = reveal.revealed_weights
    monkeypatch.setattr(reveal, "revealed_weights", lambda surface, source, target, config=None:
                        original(surface, source, target, unstretched))
    assert outside(reshape_face(pixels, source, target, studio.warp, studio.surface)) > 2.5


@pytest.mark.parametrize("person,yaw", [("004", 25), ("012", 25)])
def test_the_revealed_cheek_has_the_detail_of_the_skin_beside_it(studio, analyzed, person, yaw, monkeypatch):
    """Stubbled cheeks turned towards the camera: the revealed part takes the fine detail of the
    skin just inside it, so it has at least 70% of the detail of the cheek's plain skin (0.75 and
    1.5 now; the jaw's own edge, which the skin beside it once brought along as a line, is left
    out); with the cheek swatch alone (the fill before) it had about half (0.44 and 0.57)."""
    import studio.geometry.reveal as reveal
    from studio.evaluation.pose_light import revealed_texture

    photo = analyzed(person)
    now = revealed_texture(studio, photo, yaw)["vs_cheek_skin"]
    monkeypatch.setattr(reveal, "neighbour_texture", lambda *args: args[7])   # the swatch's detail only
    swatch = revealed_texture(studio, photo, yaw)["vs_cheek_skin"]
    assert now > 0.7 and now > swatch + 0.25, (now, swatch)


def test_the_grain_makes_up_what_the_resampled_mirror_lost_and_no_more():
    """Where the mirrored side fills a revealed part, its pixels come through the warp's
    resampling with part of their detail gone: the skin's grain adds what they lack (the fill's
    high-frequency energy back near the grain's), and over pixels that kept all of theirs it adds
    next to nothing."""
    import cv2

    from studio.geometry.reveal import _missing_grain

    rng = np.random.default_rng(0)
    shape = (160, 160)
    grain = lambda: np.repeat((1 + 0.06 * rng.standard_normal(shape)).astype(np.float32)[:, :, None], 3, axis=2)
    texture = grain()
    lost = 150 * (1 + cv2.GaussianBlur(grain() - 1, (0, 0), 1.2))     # a resampled mirror: smooth
    kept = 150 * grain()                                                # one that kept its grain

    def detail(rgb):
        return float(cv2.Laplacian(rgb.mean(axis=2).astype(np.float32), cv2.CV_32F)[20:-20, 20:-20].var())

    reference = detail(150 * texture)
    share = np.zeros(shape, np.float32)[:, :, None]                    # all mirror: no grain before
    made_up = lost * (1 + _missing_grain(lost, texture, share, 2.0) * (texture - 1))
    assert detail(lost) < 0.2 * reference
    assert detail(made_up) > 0.7 * reference, (detail(made_up), reference)
    topped = kept * (1 + _missing_grain(kept, texture, share, 2.0) * (texture - 1))
    assert detail(topped) < 1.25 * detail(kept), (detail(topped), detail(kept))
