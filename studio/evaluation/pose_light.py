"""How well head turns and relighting work, measured on real photos.

Pose: KDEF photographs each person frontally and in half profile (nominally 45 degrees) in one
session. The frontal photo is turned by the yaw the half profile shows (both estimated the same
way, from the shape model's fit of the MediaPipe landmarks), then the output is judged as a user
gets it: landmarks detected again give its yaw and their distance to the real half profile's,
and dlib says whether it is still the same person.

Light: the light is swept from the image's left to its right; the face's left/right brightness
ratio must fall at every step.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from studio.errors import StudioError
from studio.evaluation.cases import people_of
from studio.evaluation.measure import nearest_face
from studio.face.image_io import Photo, load_photo
from studio.face.mesh import (BROWS, EYES, FACE_OVAL, LEFT_EYE_CORNERS, MOUTH_CORNERS, N_SURFACE, OUTER_LIPS,
                              RIGHT_EYE_CORNERS, interocular)
from studio.geometry.pose import YAW_LIMIT, HeadPose
from studio.geometry.procrustes import fit_similarity
from studio.geometry.shading import Lighting, light_preset
from studio.operations.edit import edit
from studio.operations.recipe import EditRecipe
from studio.operations.studio import AnalyzedPhoto, Studio
from studio.operations.views import labelled_grid
from studio.recognition.identity import THRESHOLD, IdentityModel

AZIMUTHS = (-60, -40, -20, 0, 20, 40, 60)
FIXED_YAW = 30.0
MIDLINE_POINTS = (10, 168, 1, 152)   # forehead, nose bridge, nose tip, chin
NOSE_TIP = 1


@dataclass(frozen=True)
class PoseCase:
    subject: str
    frontal: str    # files under the faces folder
    profile: str
    side: int       # the manifest's yaw sign of the half profile


def pose_cases(faces_dir: Path, people_set: str = "test") -> list[PoseCase]:
    """Each KDEF person's neutral frontal photo with each of their neutral half profiles (session A)."""
    manifest = faces_dir / "manifest.csv"
    if not manifest.is_file():
        raise StudioError(f"no manifest at {manifest}")
    people = None if people_set == "all" else people_of(people_set)[1]
    rows = [r for r in csv.DictReader(manifest.open()) if r["dataset"] == "kdef" and r["expression"] == "neutral"
            and r["session"] == "A" and (people is None or r["subject"] in people)]
    frontal = {r["subject"]: r["file"] for r in rows if r["yaw"] == "0"}
    cases = [PoseCase(r["subject"], frontal[r["subject"]], r["file"], int(np.sign(float(r["yaw"]))))
             for r in rows if r["yaw"] != "0" and r["subject"] in frontal]
    if not cases:
        raise StudioError(f"no KDEF frontal and half-profile pairs for the {people_set} people in {faces_dir}")
    return sorted(cases, key=lambda c: (c.subject, c.side))


def yaw_of(studio: Studio, points: np.ndarray) -> float:
    return studio.model.fit(points).yaw_pitch_roll()[0]


def shape_error(points: np.ndarray, reference: np.ndarray) -> float:
    """Mean distance of the 468 surface points to the reference's after a similarity fit on all of
    them, in the reference's interocular distances (pose shows in every point, so all are fitted)."""
    fit = fit_similarity(points[:N_SURFACE, :2], reference[:N_SURFACE, :2])
    moved = fit.apply(points[:N_SURFACE, :2])
    return float(np.linalg.norm(moved - reference[:N_SURFACE, :2], axis=1).mean() / interocular(reference))


def measure_pose(studio: Studio, identity: IdentityModel | None, faces_dir: Path, case: PoseCase,
                 analyzed: dict) -> dict:
    """One case: the frontal photo turned to the half profile's yaw (and by a fixed 30 degrees)."""
    def photo(file: str) -> AnalyzedPhoto:
        if file not in analyzed:
            analyzed[file] = studio.analyze(load_photo(faces_dir / file))
        return analyzed[file]

    frontal, profile = photo(case.frontal), photo(case.profile)
    record = {"subject": case.subject, "frontal": case.frontal, "profile": case.profile, "side": case.side}
    if not frontal.faces or not profile.faces:
        return record | {"detected": False}
    start, real = frontal.faces[0], profile.faces[0]
    start_yaw = yaw_of(studio, start.points)
    shown = yaw_of(studio, real.points) - start_yaw
    target = float(np.clip(shown, -YAW_LIMIT, YAW_LIMIT))
    reference = identity.descriptor(frontal.photo.rgb, start.box) if identity else None

    def distance(rgb, face):
        if reference is None or face is None:
            return None
        made = identity.descriptor(rgb, face.box)
        return None if made is None else identity.distance(reference, made)

    record |= {"detected": True, "shown_yaw": shown, "target_yaw": target,
               "no_edit_error": shape_error(start.points, real.points),
               "real_identity_distance": distance(profile.photo.rgb, real)}
    for name, yaw in (("to_profile", target), ("fixed", float(np.sign(shown) * FIXED_YAW))):
        result = edit(studio, frontal, EditRecipe(pose=HeadPose(yaw=yaw)))
        rgb = result.photo.rgb
        face = nearest_face(studio.analyzer.detect(rgb), result.target)
        record[name] = {"yaw": yaw, "target_error": shape_error(result.target, real.points)}
        if face is None:
            record[name]["detected"] = False
            continue
        record[name] |= {"detected": True, "estimated_yaw": yaw_of(studio, face.points) - start_yaw,
                         "landmark_error": shape_error(face.points, real.points),
                         "identity_distance": distance(rgb, face)}
    return record


def face_balance(rgb: np.ndarray, points: np.ndarray) -> float:
    """Mean brightness of the face's image-left half over its image-right half (inside the outline,
    split at the midline)."""
    mask = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[FACE_OVAL, :2]).astype(np.int32)], 1)
    line = points[list(MIDLINE_POINTS), :2]
    # x of the midline at each row: a straight line fitted through its points
    slope, offset = np.polyfit(line[:, 1], line[:, 0], 1)
    ys, xs = np.nonzero(mask)
    gray = rgb[ys, xs, :3].astype(np.float64) @ np.array([0.2126, 0.7152, 0.0722])
    left = xs < slope * ys + offset
    return float(gray[left].mean() / max(gray[~left].mean(), 1e-6))


def _region(shape: tuple[int, int], points: np.ndarray, triangles: np.ndarray, erode: int = 2) -> np.ndarray:
    """The pixels the triangles cover, less `erode` px at their edge (no outline or hairline pixels)."""
    from studio.geometry.warp import rasterize_mesh

    height, width = shape
    covered = rasterize_mesh(points, triangles, np.ones((len(points), 1)), (0, 0, width, height))[:, :, 0] > 0.5
    return cv2.erode(covered.astype(np.uint8), np.ones((2 * erode + 1,) * 2, np.uint8)).astype(bool)


def _detail(rgb: np.ndarray, mask: np.ndarray) -> float | None:
    """High-frequency energy: the variance of the gray image's Laplacian inside `mask`."""
    if mask.sum() < 30:
        return None
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    return float(cv2.Laplacian(gray, cv2.CV_32F, ksize=3)[mask].var())


def revealed_texture(studio: Studio, analyzed: AnalyzedPhoto, yaw: float) -> dict | None:
    """The detail of what a turn by `yaw` reveals, against the same region of the other cheek in
    the input (its mirror triangles; in a frontal photo a sliver by the outline, so hair strands
    and the ear's edge sit in it), against the other cheek's skin beside that sliver (the skin
    the photo saw well next to it, hair left out), and against the cheek the photo saw most
    squarely (the skin the fill's texture comes from). None when the turn reveals nothing."""
    from studio.geometry.reveal import cheek_swatch, revealed_weights

    result = edit(studio, analyzed, EditRecipe(pose=HeadPose(yaw=yaw)))
    source, target, surface = analyzed.faces[0].points, result.target, studio.surface
    need, _ = revealed_weights(surface, source, target)
    triangles = surface.triangles[(need > 0.5)[surface.triangles].all(axis=1)]
    if not len(triangles):
        return None
    shape = analyzed.photo.rgb.shape[:2]
    revealed = _detail(result.photo.rgb, _region(shape, target, triangles))
    other = _detail(analyzed.photo.rgb, _region(shape, source, surface.mirror[triangles]))
    swatch = cheek_swatch(shape, source, surface, float(np.ptp(source[:, 0])))
    skin = None
    if swatch is not None:
        box = np.zeros(shape, bool)
        box[swatch] = True
        skin = _detail(analyzed.photo.rgb, box)
    beside = _detail(analyzed.photo.rgb, other_cheek_skin(analyzed.photo.rgb, source, surface,
                                                         surface.mirror[triangles], swatch))
    if revealed is None or not other or not skin or not beside:
        return None
    return {"yaw": yaw, "revealed": revealed, "other_cheek": other, "other_cheek_skin": beside,
            "cheek_skin": skin, "vs_other_cheek": revealed / other,
            "vs_other_cheek_skin": revealed / beside, "vs_cheek_skin": revealed / skin}


def shade_valley(rgb: np.ndarray, points: np.ndarray, side: int, blur: float = 0.02) -> float | None:
    """How far the cheek on `side` (-1: image left, +1: image right) dips below the brighter skin
    on both sides of it, across (L*, blurred over `blur` x the face's width; the median over the
    rows from below the eyes to the mouth): a band of shade running down the cheek. The outline
    (4% of the face's width in from it) and the nose (12% either side of its tip) are left out.
    None when too little of the cheek is seen."""
    width = float(np.ptp(points[:N_SURFACE, 0]))
    lightness = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2LAB)[:, :, 0].astype(np.float32) / 2.55
    lightness = cv2.GaussianBlur(lightness, (0, 0), max(0.5, blur * width))
    inside = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(points[FACE_OVAL, :2]).astype(np.int32)], 1)
    rim = max(1, int(0.04 * width))
    inside = cv2.erode(inside, np.ones((2 * rim + 1,) * 2, np.uint8))
    top = int(points[[RIGHT_EYE_CORNERS[0], LEFT_EYE_CORNERS[1]], 1].mean() + 0.1 * width)
    bottom = int(points[list(MOUTH_CORNERS), 1].mean())
    nose = float(points[1, 0])
    depths = []
    for y in range(max(top, 0), min(bottom, rgb.shape[0])):
        xs = np.nonzero(inside[y])[0]
        xs = xs[xs < nose - 0.12 * width] if side < 0 else xs[xs > nose + 0.12 * width]
        if len(xs) < 5:
            continue
        profile = lightness[y, xs]
        brighter = np.minimum(np.maximum.accumulate(profile), np.maximum.accumulate(profile[::-1])[::-1])
        depths.append(float((brighter - profile).max()))
    return float(np.median(depths)) if len(depths) >= 5 else None


def turned_shade(studio: Studio, analyzed: AnalyzedPhoto, yaw: float) -> dict | None:
    """The band of shade on the cheek a turn by `yaw` brings round to the camera (shade_valley), on
    the turned photo and on the photo itself (the same cheek, unturned: its own shading is the
    reference); None when the turn reveals nothing."""
    from studio.geometry.reveal import revealed_weights

    result = edit(studio, analyzed, EditRecipe(pose=HeadPose(yaw=yaw)))
    source, target = analyzed.faces[0].points, result.target
    need, _ = revealed_weights(studio.surface, source, target)
    if need.max() < 0.5:
        return None
    side = 1 if float((need * source[:, 0]).sum() / need.sum()) > float(source[1, 0]) else -1
    turned = shade_valley(result.photo.rgb, target, side)
    photo = shade_valley(analyzed.photo.rgb, source, side)
    if turned is None or photo is None:
        return None
    return {"yaw": yaw, "turned": turned, "unturned": photo}


def other_cheek_skin(rgb: np.ndarray, points: np.ndarray, surface, sliver: np.ndarray, swatch,
                     rings: int = 3, seen_well: float = 0.35, colour: float = 20.0) -> np.ndarray:
    """The skin beside a sliver of triangles along the outline: the triangles within `rings` of
    it that the photo saw well (facing above `seen_well`), off the eyes, brows, lips and nose,
    and of those pixels only the ones within `colour` (Lab) of the cheek swatch's median colour,
    2 px in from anything else (hair strands over the cheek are not skin)."""
    from studio.geometry.reveal import NOSE

    triangles = surface.triangles
    near = np.zeros(len(points), bool)
    near[sliver.ravel()] = True
    for _ in range(rings):
        near[triangles[near[triangles].any(axis=1)].ravel()] = True
    features = np.zeros(len(points), bool)
    features[np.concatenate([EYES, BROWS, OUTER_LIPS, NOSE])] = True
    well = surface.facing(points) > seen_well
    keep = triangles[near[triangles].all(axis=1) & well[triangles].all(axis=1) & ~features[triangles].any(axis=1)]
    mask = _region(rgb.shape[:2], points, keep) if len(keep) else np.zeros(rgb.shape[:2], bool)
    if swatch is None or not mask.any():
        return mask
    lab = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2LAB).astype(np.float32)
    reference = np.median(lab[swatch].reshape(-1, 3), axis=0)
    skin = (np.linalg.norm(lab - reference, axis=2) < colour).astype(np.uint8)
    return mask & cv2.erode(skin, np.ones((5, 5), np.uint8)).astype(bool)


# The lights the steps are measured under: the presets, a 60-degree side light, and a side light
# on a turned head (where the face's shading meets the rest of the head at a slant).
STEP_CASES = tuple((name, EditRecipe(light=light_preset(name))) for name in ("weak", "dark", "left", "right", "top")) + (
    ("side 60", EditRecipe(light=Lighting(azimuth=60, intensity=1.4, ambient=0.25))),
    ("yaw 25, left", EditRecipe(pose=HeadPose(yaw=25), light=light_preset("left"))),
    ("yaw -25, right", EditRecipe(pose=HeadPose(yaw=-25), light=light_preset("right"))))


def _log_gradient(rgb: np.ndarray) -> np.ndarray:
    """|gradient| of log brightness: a gain that is the same on both sides of an edge leaves it as it is."""
    gray = cv2.cvtColor(np.ascontiguousarray(rgb[..., :3]), cv2.COLOR_RGB2GRAY).astype(np.float32)
    log = cv2.GaussianBlur(np.log(gray + 8.0), (0, 0), 1.0)
    return np.hypot(cv2.Sobel(log, cv2.CV_32F, 1, 0, ksize=3), cv2.Sobel(log, cv2.CV_32F, 0, 1, ksize=3))


def _outline_band(mask: np.ndarray, width: int) -> np.ndarray:
    mask = mask.astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * width + 1, 2 * width + 1))
    return (cv2.dilate(mask, kernel) - cv2.erode(mask, kernel)).astype(bool)


def outline_steps(studio: Studio, analyzed: AnalyzedPhoto, recipe: EditRecipe, band: float = 0.03) -> dict:
    """Whether a light draws an edge the photo does not have: the relit image's mean gradient of log
    brightness against the same edit's under the photo's own light, within `band` (x face width)
    either side of the outline of the face's mesh region above the nose tip (where the face meets
    the hair and the rest of the head), of the rest of it (the jaw, where the chin's shadow on the
    neck is a wanted edge), both less where they lie within the band of the person's outline (hair and
    body against the backdrop), which is measured on its own. A ratio above 1
    means a new edge: a step in the light."""
    from dataclasses import replace

    from studio.geometry.warp import rasterize_mesh

    unlit = edit(studio, analyzed, replace(recipe, light=Lighting()))
    lit = edit(studio, analyzed, recipe).photo.rgb
    points = unlit.target
    height, width = lit.shape[:2]
    covered = rasterize_mesh(points, studio.surface.triangles, np.ones((len(points), 1)), (0, 0, width, height))[:, :, 0]
    half = max(2, int(band * np.ptp(points[FACE_OVAL, 0])))
    before, after = _log_gradient(unlit.photo.rgb), _log_gradient(lit)
    out = {}
    outline = _outline_band(covered > 0.5, half)
    person = studio.person(unlit.photo.pixels())
    if person is not None:
        person = _outline_band(cv2.resize(person, (width, height), interpolation=cv2.INTER_LINEAR) > 127, half)
        # where the backdrop shows within the band (between a cheek and a curl beside it) the edge
        # is the person's outline, an edge the photo has: it is counted there, not twice
        outline = outline & ~person
    upper = np.arange(height)[:, None] < points[NOSE_TIP, 1]
    bands = {"face_outline": outline & upper, "jaw_outline": outline & ~upper}
    if person is not None:
        bands["person_outline"] = person
    for name, where in bands.items():
        out[name] = float(after[where].mean() / max(before[where].mean(), 1e-6))
    return out


def light_sweep(studio: Studio, analyzed: AnalyzedPhoto, azimuths=AZIMUTHS, elevation: float = 0.0) -> dict:
    """The face's left/right balance for each light azimuth, and whether it falls at every step."""
    points = analyzed.faces[0].points
    balances = [face_balance(edit(studio, analyzed, EditRecipe(light=Lighting(azimuth=a, elevation=elevation)))
                             .photo.rgb, points) for a in azimuths]
    return {"azimuths": list(azimuths), "balance": balances,
            "original": face_balance(analyzed.photo.rgb, points),
            "monotonic": bool(np.all(np.diff(balances) < 0))}


def preset_brightness(studio: Studio, analyzed: AnalyzedPhoto) -> dict:
    """Each light preset's mean face brightness relative to the photo's."""
    points = analyzed.faces[0].points
    mask = np.zeros(analyzed.photo.rgb.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.round(points[FACE_OVAL, :2]).astype(np.int32)], 1)
    base = analyzed.photo.rgb[mask > 0].mean()
    out = {}
    for name in ("weak", "dark", "left", "right", "top"):
        rgb = edit(studio, analyzed, EditRecipe(light=light_preset(name))).photo.rgb
        out[name] = float(rgb[mask > 0].mean() / base)
    return out


GRID_COLUMNS = (("photo", EditRecipe()),
                ("yaw -30", EditRecipe(pose=HeadPose(yaw=-30))),
                ("yaw +30", EditRecipe(pose=HeadPose(yaw=30))),
                ("pitch +15", EditRecipe(pose=HeadPose(pitch=15))),
                ("roll -15", EditRecipe(pose=HeadPose(roll=-15))),
                ("light left", EditRecipe(light=light_preset("left"))),
                ("light right", EditRecipe(light=light_preset("right"))),
                ("light top", EditRecipe(light=light_preset("top"))),
                ("dark", EditRecipe(light=light_preset("dark"))),
                ("4500 K", EditRecipe(light=Lighting(temperature=4500))),
                ("side 90", EditRecipe(light=Lighting(azimuth=-90, elevation=10, intensity=1.4, ambient=0.25))),
                ("behind", EditRecipe(light=Lighting(azimuth=180, elevation=20, intensity=2.0, ambient=0.3))),
                ("yaw +20, smile, left", EditRecipe(presets={"happiness": 1.0}, pose=HeadPose(yaw=20),
                                                    light=light_preset("left"))))


def grid(studio: Studio, photos: list[AnalyzedPhoto], cell: int = 320) -> np.ndarray:
    """One row per photo: the photo and each of GRID_COLUMNS' edits."""
    rows = []
    for analyzed in photos:
        x0, y0, x1, y1 = analyzed.faces[0].box
        side = int(max(x1 - x0, y1 - y0) * 1.9)
        cx, cy = (x0 + x1) // 2, (y0 + y1) // 2
        h, w = analyzed.photo.rgb.shape[:2]
        box = (max(0, cx - side // 2), max(0, cy - side // 2), min(w, cx + side // 2), min(h, cy + side // 2))
        row = []
        for label, recipe in GRID_COLUMNS:
            rgb = edit(studio, analyzed, recipe).photo.rgb if label != "photo" else analyzed.photo.rgb
            row.append((label, Photo(np.ascontiguousarray(rgb[box[1]:box[3], box[0]:box[2]]))))
        rows.append(row)
    return labelled_grid(rows, cell)


def summarize_pose(records: list[dict]) -> dict:
    done = [r for r in records if r.get("detected")]

    def mean(values):
        values = [v for v in values if v is not None]
        return float(np.mean(values)) if values else None

    out = {"cases": len(records), "people": len({r["subject"] for r in records}),
           "shown_yaw_abs": mean([abs(r["shown_yaw"]) for r in done]),
           "no_edit_error": mean([r["no_edit_error"] for r in done]),
           "real_identity_distance": mean([r["real_identity_distance"] for r in done])}
    for name in ("to_profile", "fixed"):
        rows = [r[name] for r in done]
        found = [x for x in rows if x.get("detected")]
        out[name] = {
            "target_yaw_abs": mean([abs(x["yaw"]) for x in rows]),
            "estimated_yaw_abs": mean([abs(x["estimated_yaw"]) for x in found]),
            "yaw_error": mean([abs(x["estimated_yaw"] - x["yaw"]) for x in found]),
            "yaw_reached": mean([x["estimated_yaw"] / x["yaw"] for x in found]),
            "redetected": len(found) / max(1, len(rows)),
            "target_error": mean([x["target_error"] for x in rows]),
            "landmark_error": mean([x["landmark_error"] for x in found]),
            "identity_distance": mean([x["identity_distance"] for x in found]),
            "same_person": mean([float(x["identity_distance"] < THRESHOLD) for x in found
                                 if x["identity_distance"] is not None]),
        }
    return out
