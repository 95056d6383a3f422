"""Pictures made for looking at, not for keeping: previews, face thumbnails and labelled grids.

Edits always run at the photo's full resolution; these only shrink or arrange the results so a
page stays quick. Exports use the full-resolution photos, never these.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from studio.face.image_io import Photo, to_srgb
from studio.operations.studio import AnalyzedPhoto

PREVIEW_SIDE = 1280
THUMB_SIDE = 160
MAP_SIDE = 640       # the photo with its faces outlined and numbered
# The landmarks' box runs from mid-forehead to chin: a head's crop reaches this far beyond it,
# in box heights (the hair above, the neck's start below).
HEAD_ABOVE, HEAD_BELOW = 0.6, 0.25


def _resize(rgb: np.ndarray, scale: float) -> np.ndarray:
    if scale >= 1.0:
        return rgb
    h, w = rgb.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    # INTER_AREA averages every source pixel (no aliasing) and is ~10x faster than PIL's Lanczos
    # on a 12 MP photo, which matters on every slider move.
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def flatten(photo: Photo, background: int = 255) -> np.ndarray:
    """RGB for display, transparency laid on a plain background."""
    if photo.alpha is None:
        return photo.rgb
    a = photo.alpha[:, :, None].astype(np.float32) / 255.0
    return (photo.rgb * a + background * (1.0 - a)).round().astype(np.uint8)


def preview(photo: Photo, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """The photo as sRGB no larger than max_side on its long side: a photo in another colour
    profile (a phone's Display P3) is converted, so the page shows the colours its export has."""
    rgb = flatten(photo)
    return to_srgb(_resize(rgb, max_side / max(rgb.shape[:2])), photo.icc)


def head_box(box: tuple[int, int, int, int], size: tuple[int, int]) -> tuple[int, int, int, int]:
    """A square around the whole head of the face in `box` (landmark box, x0 y0 x1 y1), moved
    inside a photo of `size` (width, height) rather than cut where it can be."""
    x0, y0, x1, y1 = box
    width, height = size
    h = y1 - y0
    side = max(1, min(width, height, round((1 + HEAD_ABOVE + HEAD_BELOW) * h)))
    left = round((x0 + x1) / 2 - side / 2)
    top = round(y0 - HEAD_ABOVE * h)
    left, top = min(max(0, left), max(0, width - side)), min(max(0, top), max(0, height - side))
    return left, top, min(width, left + side), min(height, top + side)


def face_thumbnails(analyzed: AnalyzedPhoto, side: int = THUMB_SIDE) -> list[np.ndarray]:
    """A square crop of each whole head, hair included, in the order the faces are numbered."""
    rgb = flatten(analyzed.photo)
    thumbs = []
    for face in analyzed.faces:
        left, top, right, bottom = head_box(face.box, analyzed.photo.size)
        crop = rgb[top:bottom, left:right]
        thumbs.append(to_srgb(_resize(crop, side / max(crop.shape[:2])), analyzed.photo.icc))
    return thumbs


def face_map(analyzed: AnalyzedPhoto, selected: int | None = None, side: int = MAP_SIDE) -> np.ndarray:
    """The photo with every head outlined and numbered as the faces are counted (from 1, left
    to right); the selected face's outline is thick and orange, the others thin and white."""
    shown = preview(analyzed.photo, side)
    scale = shown.shape[1] / analyzed.photo.size[0]
    sheet = Image.fromarray(shown)
    draw = ImageDraw.Draw(sheet)
    radius = max(10, round(min(shown.shape[:2]) / 16))
    font = ImageFont.load_default(size=round(radius * 1.3))
    for i, face in enumerate(analyzed.faces):
        left, top, right, bottom = (round(v * scale) for v in head_box(face.box, analyzed.photo.size))
        chosen = i == selected
        colour = (255, 140, 0) if chosen else (255, 255, 255)
        width = max(2, radius // 3) if chosen else max(1, radius // 6)
        draw.rectangle((left - 1, top - 1, right + 1, bottom + 1), outline=(0, 0, 0), width=width + 2)
        draw.rectangle((left, top, right, bottom), outline=colour, width=width)
        cx, cy = left + radius + 2, top + radius + 2
        draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=colour, outline=(0, 0, 0), width=2)
        draw.text((cx, cy), str(i + 1), fill=(0, 0, 0), font=font, anchor="mm")
    return np.asarray(sheet)


def face_at(analyzed: AnalyzedPhoto, point: tuple[float, float], side: int = MAP_SIDE) -> int:
    """The face a click at `point` (pixels of face_map's picture of this side) points at: the
    head it falls in (the nearest one's centre where heads overlap or it falls in none)."""
    scale = min(1.0, side / max(analyzed.photo.size))
    x, y = point[0] / scale, point[1] / scale
    best, best_distance = 0, float("inf")
    for i, face in enumerate(analyzed.faces):
        left, top, right, bottom = head_box(face.box, analyzed.photo.size)
        inside = left <= x <= right and top <= y <= bottom
        distance = np.hypot(x - (left + right) / 2, y - (top + bottom) / 2) - (1e9 if inside else 0)
        if distance < best_distance:
            best, best_distance = i, distance
    return best


def divider_at(analyzed: AnalyzedPhoto, index: int) -> float:
    """Where a before/after divider goes for face `index`: through its centre, in percent of
    the photo's width (so half of that face shows the edit, whichever face it is)."""
    x0, _, x1, _ = analyzed.faces[index].box
    return round(100.0 * (x0 + x1) / 2 / analyzed.photo.size[0], 1)


def labelled_grid(rows: list[list[tuple[str, Photo]]], cell: int = 512) -> np.ndarray:
    """Photos in rows, each scaled to `cell` pixels high, with its caption underneath."""
    font = ImageFont.load_default(size=max(12, cell // 24))
    caption_h = max(12, cell // 24) * 2
    scaled = [[(label, to_srgb(_resize(flatten(p), cell / p.size[1]), p.icc)) for label, p in row] for row in rows]
    width = max(sum(img.shape[1] for _, img in row) for row in scaled)
    sheet = Image.new("RGB", (width, len(scaled) * (cell + caption_h)), "white")
    draw = ImageDraw.Draw(sheet)
    for r, row in enumerate(scaled):
        x, y = 0, r * (cell + caption_h)
        for label, img in row:
            sheet.paste(Image.fromarray(img), (x, y))
            draw.text((x + img.shape[1] // 2, y + cell + caption_h // 2), label,
                      fill="black", font=font, anchor="mm")
            x += img.shape[1]
    return np.asarray(sheet)


def shrink(photo: Photo, max_side: int) -> Photo:
    """The photo, alpha included, no larger than max_side on its long side (anything else it
    carries is kept)."""
    scale = max_side / max(photo.rgb.shape[:2])
    if scale >= 1.0:
        return photo
    alpha = None if photo.alpha is None else _resize(photo.alpha, scale)
    return replace(photo, rgb=_resize(photo.rgb, scale), alpha=alpha)
