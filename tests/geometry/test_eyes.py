"""Widened eyes on real faces: the iris stays round between the lids that open (the warp alone
stretches it or tears it down the middle), and MediaPipe reads the eye as opened."""

import cv2
import numpy as np
import pytest

from studio.face.mesh import LEFT_IRIS, RIGHT_IRIS
from studio.geometry.face_controls import LEFT_LIDS, RIGHT_LIDS
from studio.operations.edit import edit
from studio.operations.recipe import EditRecipe

EYE_SETS = ((RIGHT_LIDS, RIGHT_IRIS), (LEFT_LIDS, LEFT_IRIS))


def iris_blob(rgb: np.ndarray, target: np.ndarray, lids, iris, rim: float = 0.0) -> tuple[int, int, float]:
    """Width and height (px) of the dark blob (the iris) at the iris centre, inside the eye's
    opening (0, 0 where the centre is not dark), and the iris's radius. `rim` (iris radii): the
    band under the upper lid left out (a lid's dark rim over the iris joins the blob)."""
    centre = target[iris[0], :2]
    radius = float(np.linalg.norm(target[iris[1:], :2] - centre, axis=1).mean())
    upper = target[list(lids[0]), :2].copy()
    upper[1:-1, 1] += rim * radius
    opening = np.concatenate([upper, target[list(lids[1][1:-1]), :2][::-1]])
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(opening).astype(np.int32)], 1)
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY).astype(float)
    inside = gray[mask > 0]
    dark = (gray < (np.percentile(inside, 10) + np.percentile(inside, 90)) / 2) & (mask > 0)
    # near the iris only (1.6 of its radius), so the lid's dark rim beside it does not join it
    yy, xx = np.mgrid[:rgb.shape[0], :rgb.shape[1]]
    dark &= np.hypot(xx - centre[0], yy - centre[1]) < 1.6 * radius
    _, labels, stats, _ = cv2.connectedComponentsWithStats(dark.astype(np.uint8))
    x, y = np.round(centre).astype(int)
    blob = labels[y, x]
    if not blob:
        return 0, 0, radius
    return int(stats[blob, cv2.CC_STAT_WIDTH]), int(stats[blob, cv2.CC_STAT_HEIGHT]), radius


def iris_aspect(rgb: np.ndarray, target: np.ndarray, lids, iris) -> float:
    """Height over width of the dark blob (the iris) at the iris centre, inside the eye's opening."""
    width, height, _ = iris_blob(rgb, target, lids, iris)
    return height / width if width else 0.0


# 002's eyes open clear of her iris (the others' lids still cut theirs, and a blob of dark pixels
# then takes in the lid's shadow too)
@pytest.mark.parametrize("person", ["002"])
def test_a_widened_eye_keeps_its_iris_round(studio, analyzed, person, monkeypatch):
    import studio.geometry.reshape as reshape

    photo = analyzed(person)
    recipe = EditRecipe(presets={"surprise": 1.25})
    result = edit(studio, photo, recipe)
    redrawn = [iris_aspect(result.photo.rgb, result.target, lids, iris) for lids, iris in EYE_SETS]
    monkeypatch.setattr(reshape, "redraw_eyes", lambda roi, *args, **kwargs: roi)
    warped = edit(studio, photo, recipe)
    torn = [iris_aspect(warped.photo.rgb, warped.target, lids, iris) for lids, iris in EYE_SETS]
    assert all(abs(a - 1) < 0.12 for a in redrawn), redrawn
    assert max(abs(a - 1) for a in torn) > 0.2, torn    # the warp alone: stretched or torn


def test_reenacted_surprise_opens_the_eyes_as_far_as_the_real_photo(studio):
    """Ten test people's own surprise photos reenacted on their neutral photos (geometry backend):
    the re-detected eyes reproduce at least 90% of the real photo's eye movement (median), now
    that opening lids take a gain of 2.25; with it held at 1.2, as it was while the warp tore
    widened irises, they reached about 80%."""
    from dataclasses import replace

    from studio import paths
    from studio.evaluation.cases import make_cases, people_of, spread
    from studio.evaluation.drive import drive
    from studio.face.image_io import load_photo
    from studio.operations.edit import render_expression
    from studio.operations.transfer import expression_of

    faces = paths.faces_dir()
    datasets, people = people_of("test")
    cases = spread([c for c in make_cases(faces, datasets, people)
                    if c.task == "synthesis" and c.expression == "surprise"], 10)
    geometry = studio.with_backend("geometry")
    held = replace(geometry, tracking=replace(geometry.tracking, eyes_opening=1.2))
    drives = {"full": [], "held": []}   # "full": the studio's own gain
    for case in cases:
        source, real = (studio.analyze(load_photo(faces / f)) for f in (case.source, case.real))
        p = expression_of(studio.model, real.fits[0], source.fits[0])
        for name, s in (("full", geometry), ("held", held)):
            found = studio.analyzer.detect(render_expression(s, source, 0, p).photo.rgb)[0].points
            drives[name].append(drive(found, source.faces[0].points, real.faces[0].points)["eyes"])
    assert np.median(drives["full"]) >= 0.9 > np.median(drives["held"]), drives


def test_the_white_beside_a_widened_iris_has_no_steps(studio, analyzed):
    """Fear and surprise at 1 widen the eyes of the four London fixtures. Along the rows through
    the drawn iris (its middle and 0.3 of its radius above and below), from 1.2 radii out to the
    eye's corners (less 12% of its width), the white changes by at most this much between pixels
    two apart (lashes and other dark pixels left out), median over the 16 eyes. Drawn only where
    the warp tore the iris, the photo's white met the white the warp stretched from the corners
    in straight-edged boxes: 38.5 levels; now 27.5."""
    from studio.face.mesh import LEFT_IRIS, RIGHT_IRIS
    from studio.operations.edit import target_landmarks, target_p

    geometry = studio.with_backend("geometry")
    worst = []
    for person in ("001", "002", "004", "012"):
        a = analyzed(person)
        source = a.faces[0].points
        for preset in ("fear", "surprise"):
            recipe = EditRecipe(presets={preset: 1.0})
            gray = cv2.cvtColor(np.ascontiguousarray(edit(geometry, a, recipe).photo.rgb[..., :3]),
                                cv2.COLOR_RGB2GRAY).astype(np.float32)
            # where the warp put the lids and the iris (the landmarks' target with the tracking gain)
            moved = geometry.tracking.warp_target(source, target_landmarks(geometry, a, 0, target_p(geometry, a, recipe)))
            for lids, iris in EYE_SETS:
                centre = moved[iris[0], :2]
                radius = float(np.linalg.norm(source[iris[1:], :2] - source[iris[0], :2], axis=1).mean())
                ends = sorted((moved[lids[0][0], 0], moved[lids[0][-1], 0]))
                width = ends[1] - ends[0]
                steps = [0.0]
                for dy in (-0.3, 0.0, 0.3):
                    y = int(round(centre[1] + dy * radius))
                    for x0, x1 in ((ends[0] + 0.12 * width, centre[0] - 1.2 * radius),
                                   (centre[0] + 1.2 * radius, ends[1] - 0.12 * width)):
                        row = gray[y, int(x0):int(x1)]
                        if len(row) < 4:
                            continue
                        white = row > 0.7 * np.median(row)
                        step = np.abs(row[2:] - row[:-2])[white[2:] & white[:-2]]
                        steps.append(float(step.max()) if len(step) else 0.0)
                worst.append(max(steps))
    assert np.median(worst) <= 33, worst


def test_a_squint_taken_to_neutral_opens_onto_a_white_not_a_hole(studio):
    """KDEF test people whose disgust squeezes their eyes nearly shut (F13; M12, F35 and M33 with
    no iris to be seen in either eye), taken to neutral (geometry backend): inside each opened
    eye, off the iris, the median brightness over that of the cheek below it. The warp stretched
    the squint's lashes and shadow into the opening, a dark hole (0.17-0.46; the other eye's
    iris and white, or a plain one, were not drawn); now 0.6-0.67."""
    from studio import paths
    from studio.face.image_io import load_photo
    from studio.face.mesh import LEFT_IRIS, RIGHT_IRIS
    from studio.operations.edit import remove_expression

    geometry = studio.with_backend("geometry")
    found = []
    for file in ("kdef/F13/AF13DIS.jpg", "kdef/M12/AM12DIS.jpg", "kdef/F35/BF35DIS.jpg", "kdef/M33/BM33DIS.jpg"):
        photo = geometry.analyze(load_photo(paths.faces_dir() / file))
        result = remove_expression(geometry, photo)
        source = photo.faces[0].points
        moved = geometry.tracking.warp_target(source, result.target)   # where the warp put the lids
        gray = cv2.cvtColor(np.ascontiguousarray(result.photo.rgb[..., :3]), cv2.COLOR_RGB2GRAY).astype(float)
        before = cv2.cvtColor(photo.photo.rgb[..., :3], cv2.COLOR_RGB2GRAY).astype(float)
        for (lids, iris), cheek in zip(EYE_SETS, (205, 425)):
            opening = np.concatenate([moved[list(lids[0]), :2], moved[list(lids[1][1:-1]), :2][::-1]])
            inside = np.zeros(gray.shape, np.uint8)
            cv2.fillPoly(inside, [np.round(opening).astype(np.int32)], 1)
            inside = cv2.erode(inside, np.ones((3, 3), np.uint8))
            centre = moved[iris[0], :2]
            radius = float(np.linalg.norm(source[iris[1:], :2] - source[iris[0], :2], axis=1).mean())
            yy, xx = np.mgrid[:gray.shape[0], :gray.shape[1]]
            white = (inside > 0) & (np.hypot(xx - centre[0], yy - centre[1]) > 1.3 * radius)
            x, y = np.round(source[cheek, :2]).astype(int)
            found.append(float(np.median(gray[white])) / float(np.median(before[y - 4:y + 4, x - 4:x + 4])))
    assert min(found) > 0.5, found


def _iris_width(rgb: np.ndarray, target: np.ndarray, lids, iris) -> float:
    """Width of the dark blob at the iris centre over the iris's diameter (0: the centre is not
    dark), below the upper lid's rim (which lies over the iris of a narrowed eye)."""
    width, _, radius = iris_blob(rgb, target, lids, iris, rim=0.3)
    return width / (2 * radius)


def test_a_narrowing_eye_whose_lids_drag_its_iris_is_redrawn(studio, analyzed, monkeypatch):
    """Anger raises the upper lid and tenses the lower one further (London 004 at 1.25): the eye
    narrows as a whole, and the warp carried the iris up with both lids, squeezed under a notch of
    the lid's rim (no dark iris left at its place). Redrawn, the iris stays on the eyeball, round,
    cut only by the lids (below the lid's rim the dark blob is 0.89-0.98 of its diameter wide)."""
    import studio.geometry.eyes as eyes

    photo = analyzed("004")
    recipe = EditRecipe(presets={"anger": 1.25})
    result = edit(studio, photo, recipe)
    redrawn = [_iris_width(result.photo.rgb, result.target, lids, iris) for lids, iris in EYE_SETS]
    monkeypatch.setattr(eyes, "_drag", lambda warp, source, held, iris: (0.0, held))
    warped = edit(studio, photo, recipe)
    squeezed = [_iris_width(warped.photo.rgb, warped.target, lids, iris) for lids, iris in EYE_SETS]
    assert all(0.85 < w < 1.15 for w in redrawn), redrawn
    assert not all(0.85 < w < 1.15 for w in squeezed), squeezed


def test_a_dragged_iris_is_redrawn_without_a_jump_as_the_slider_moves(studio, analyzed):
    """The anger slider from 0.3 to 0.9 on London 004 crosses where its eyes begin to be redrawn
    (the lids drag the iris 0.1-0.35 of its radius). The eyes' pixels change by about as much from
    one step of the slider to the next all the way: the redraw fades in, its iris starting where
    the warp put it (largest step 1.6-1.7x the median). Switched on at once, the step where it
    began changed the eye 2.7-3.4x the median."""
    photo = analyzed("004")
    points = photo.faces[0].points
    frames = []
    for value in np.arange(0.3, 0.91, 0.05):
        rgb = edit(studio, photo, EditRecipe(presets={"anger": float(value)})).photo.rgb[..., :3].astype(float)
        boxes = []
        for lids, _ in EYE_SETS:
            eye = points[list(lids[0]) + list(lids[1]), :2]
            (x0, y0), (x1, y1) = np.floor(eye.min(axis=0) - 6).astype(int), np.ceil(eye.max(axis=0) + 6).astype(int)
            boxes.append(rgb[y0:y1, x0:x1])
        frames.append(boxes)
    steps = np.array([[np.abs(a - b).mean() for a, b in zip(f, g)] for f, g in zip(frames, frames[1:])])
    assert (steps.max(axis=0) < 2.5 * np.median(steps, axis=0)).all(), steps.round(2)
