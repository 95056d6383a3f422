import numpy as np

from studio.face.mesh import FACE_OVAL, MOUTH_CORNERS
from studio.geometry.reshape import reshape_face
from studio.geometry.warp import compute_warp


def test_no_motion_returns_the_photo_untouched(analyzed):
    a = analyzed("002")
    pixels = a.photo.pixels()
    out = reshape_face(pixels, a.faces[0].points, a.faces[0].points.copy())
    assert out is not pixels and np.array_equal(out, pixels)


def test_flow_follows_the_landmarks_and_fades_to_zero(analyzed):
    a = analyzed("002")
    src = a.faces[0].points
    tgt = src.copy()
    for corner in MOUTH_CORNERS:  # lift the mouth corners 12 px, their surroundings smoothly
        near = np.linalg.norm(src[:, :2] - src[corner, :2], axis=1)
        tgt[:, 1] -= 12 * np.exp(-0.5 * (near / 20.0) ** 2)
    warp = compute_warp(src, tgt, a.photo.rgb.shape[:2], depth=src[:, 2])
    x0, y0, x1, y1 = warp.roi
    # At the target corners, the output samples the source corners (within a pixel).
    for i in MOUTH_CORNERS:
        tx, ty = np.round(tgt[i, :2]).astype(int)
        sample = np.array([warp.map_x[ty - y0, tx - x0], warp.map_y[ty - y0, tx - x0]])
        expected = src[i, :2] + ([tx, ty] - tgt[i, :2])
        assert np.linalg.norm(sample - expected) < 1.0
    # Zero flow along every border of the region that lies inside the photo: no box edge can show.
    grid_x = np.arange(x0, x1, dtype=np.float32)[None, :]
    grid_y = np.arange(y0, y1, dtype=np.float32)[:, None]
    fx, fy = warp.map_x - grid_x, warp.map_y - grid_y
    for border in (fx[0], fx[-1], fx[:, 0], fx[:, -1], fy[0], fy[-1], fy[:, 0], fy[:, -1]):
        assert np.abs(border).max() < 1e-3
    # Smooth: no tearing anywhere (the flow's gradient stays small).
    assert np.abs(np.diff(fy, axis=0)).max() < 1.0 and np.abs(np.diff(fy, axis=1)).max() < 1.0
    # Far from the mouth (the forehead) nothing moves.
    top = np.round(src[10, :2]).astype(int)
    assert abs(fy[top[1] - y0, top[0] - x0]) < 0.5


def test_opened_mouth_is_a_dark_cavity_not_smeared_lips(analyzed):
    a = analyzed("002")
    src = a.faces[0].points
    tgt = src.copy()
    mouth_w = np.linalg.norm(src[61, :2] - src[291, :2])
    lower = [14, 87, 178, 88, 95, 317, 402, 318, 324, 17, 84, 181, 91, 146, 314, 405, 321, 375]
    tgt[lower, 1] += 0.3 * mouth_w  # drop the lower lip: open the mouth
    out = reshape_face(a.photo.pixels(), src, tgt)
    centre = np.round((tgt[13, :2] + tgt[14, :2]) / 2).astype(int)
    r = int(0.05 * mouth_w)
    patch = out[centre[1] - r:centre[1] + r, centre[0] - r:centre[0] + r].astype(float)
    lips = a.photo.rgb[int(src[0, 1]) - 2:int(src[0, 1]) + 2, int(src[0, 0]) - 4:int(src[0, 0]) + 4]
    assert patch.mean() < 0.6 * lips.astype(float).mean()
    # Outside the face region nothing changed at all.
    oval = src[FACE_OVAL, :2]
    far = int(oval[:, 1].max() + 1.2 * np.ptp(oval[:, 1]))
    assert far >= out.shape[0] or np.array_equal(out[far:], a.photo.rgb[far:])


def test_the_flow_does_not_depend_on_the_order_qhull_lists_its_triangles(studio, analyzed, monkeypatch):
    """Where triangles of equal depth overlap (an iris's, moved whole between lids that move
    otherwise), one must win the same way every time: Qhull's order changed with the last bits of
    the ring around the face, and a Ray worker's image differed from a local one's by 6 levels."""
    import studio.geometry.warp as warp_module
    from studio.geometry.tracking import TrackingGain

    a = analyzed("001")
    fit = a.fits[0]
    source = a.faces[0].points
    target = TrackingGain().warp_target(
        source, fit.similarity.invert(fit.neutral + studio.model.displacement(1.5 * studio.model.presets["fear"])))
    shape = a.photo.rgb.shape[:2]
    listed = compute_warp(source, target, shape, depth=source[:, 2])
    real = warp_module.Delaunay

    class Reversed:
        def __init__(self, points):
            self.simplices = real(points).simplices[::-1, ::-1].copy()

    monkeypatch.setattr(warp_module, "Delaunay", Reversed)
    reversed_ = compute_warp(source, target, shape, depth=source[:, 2])
    assert np.array_equal(listed.map_x, reversed_.map_x) and np.array_equal(listed.map_y, reversed_.map_y)


def test_a_move_that_turns_triangles_over_is_relaxed_until_none_is():
    """A grid of points, one pushed past its neighbour: the triangles around it turn over, and
    a warp through them draws a fold. Untangled, none is turned over; points given as fixed keep
    their moves, and a move that turns nothing over is kept exactly."""
    from scipy.spatial import Delaunay

    from studio.geometry.warp import signed_areas, untangled

    xs, ys = np.meshgrid(np.arange(5.0), np.arange(5.0))
    source = np.stack([xs.ravel(), ys.ravel()], axis=1)
    triangles = Delaunay(source).simplices
    target = source.copy()
    target[12] += [1.6, 0.0]                 # the middle point pushed past its right neighbour
    corners = np.array([0, 4, 20, 24])
    target[corners] += 0.1                   # the fixed points move a little
    sign = np.sign(signed_areas(source, triangles))
    assert (np.sign(signed_areas(target, triangles)) != sign).any()
    relaxed = untangled(triangles, source, target, fixed=corners)
    assert not (np.sign(signed_areas(relaxed, triangles)) != sign).any()
    assert np.array_equal(relaxed[corners], target[corners])
    gentle = source + 0.2
    assert np.array_equal(untangled(triangles, source, gentle, fixed=corners), gentle)


def test_untangling_stops_once_the_moves_settle(monkeypatch):
    """Fixed points that cross (a lid passing a lid) leave triangles turned over whatever their free
    neighbours do: the rounds stop once the moves settle (7 area checks, not all 50 rounds'),
    within 0.005 px of where all 50 rounds end."""
    from scipy.spatial import Delaunay

    import studio.geometry.warp as warp_module

    xs, ys = np.meshgrid(np.arange(5.0), np.arange(5.0))
    source = np.stack([xs.ravel(), ys.ravel()], axis=1)
    triangles = Delaunay(source).simplices
    target = source.copy()
    fixed = np.array([0, 4, 20, 24, 11, 13])
    target[11] += [2.6, 0.0]                 # a fixed point pushed past its fixed neighbour
    areas = warp_module.signed_areas
    calls = []
    monkeypatch.setattr(warp_module, "signed_areas", lambda p, t: (calls.append(1), areas(p, t))[1])
    settled = warp_module.untangled(triangles, source, target, fixed)
    checks = len(calls)
    every_round = warp_module.untangled(triangles, source, target, fixed, settled_px=0.0)
    assert len(calls) - checks == 51 and checks <= 10
    assert np.abs(settled - every_round).max() < 0.005
    assert (np.sign(areas(settled, triangles)) != np.sign(areas(source, triangles))).any()


def test_taking_a_frown_away_turns_fewer_triangles_over(studio, monkeypatch):
    """KDEF anger and disgust (the brows pressed down on the lids, the skin between folded thin)
    taken to neutral: the brows' and the lids' moves cross, and the warp's triangles turn over,
    drawn as dark spikes of the lashes reaching into the brows. Over three photos, the triangles
    turned over (leaving out those whose points all move past one another on purpose: lids and
    lips) fall from 49 to 20."""
    import studio.geometry.warp as warp_module
    from studio import paths
    from studio.face.image_io import load_photo
    from studio.face.mesh import EYES, MOUTH
    from studio.operations.edit import target_landmarks, target_p
    from studio.operations.recipe import EditRecipe

    geometry = studio.with_backend("geometry")

    def turned(photo):
        source = photo.faces[0].points
        moved = geometry.tracking.warp_target(source, target_landmarks(geometry, photo, 0, target_p(geometry, photo, EditRecipe(remove=True))))
        warp = compute_warp(source, moved, photo.photo.rgb.shape[:2], depth=source[:, 2], config=geometry.warp)
        triangles = warp.triangles[(warp.triangles < len(source)).all(axis=1)]
        free = ~np.isin(triangles, np.concatenate([EYES, MOUTH])).all(axis=1)
        before, after = (warp_module.signed_areas(p[:, :2], triangles) for p in (source, warp.vertices))
        return int(((np.sign(before) != np.sign(after)) & free).sum())

    photos = [geometry.analyze(load_photo(paths.faces_dir() / f))
              for f in ("kdef/F01/AF01ANS.jpg", "kdef/M14/AM14DIS.jpg", "kdef/M05/AM05DIS.jpg")]
    now = sum(turned(p) for p in photos)
    monkeypatch.setattr(warp_module, "untangled", lambda triangles, source, target, fixed: target)
    before = sum(turned(p) for p in photos)
    assert before >= 30 and now <= before / 2, (before, now)
