"""The person mask on real photos: it covers the face, hair and body, not the backdrop, and its
outline lies on the photo's own edge between hair and backdrop, not beside it."""

import cv2
import numpy as np

from studio.face.mesh import FACE_OVAL
from studio.face.segmentation import PersonSegmenter, SegmenterConfig


def test_the_mask_covers_the_person_and_not_the_backdrop(studio, analyzed):
    photo = analyzed("001")
    mask = cv2.resize(studio.person(photo.photo.pixels()), photo.photo.rgb.shape[1::-1])
    face = np.zeros(mask.shape, np.uint8)
    cv2.fillPoly(face, [np.round(photo.faces[0].points[FACE_OVAL, :2]).astype(np.int32)], 1)
    assert mask[face > 0].mean() > 250
    assert mask[:40, :40].max() < 10 and mask[:40, -40:].max() < 10     # the backdrop's top corners
    assert mask[-20:, mask.shape[1] // 2].min() > 200                   # the body, down to the photo's edge


def test_the_outline_lies_on_the_hair_edge(analyzed):
    """Along rows through the hair beside the head, the mask's outline (its 0.5 crossing) and the
    photo's brightness edge are within 4 px; the model's own mask lies further out."""
    photo = analyzed("004")
    rgb = photo.photo.rgb
    refined = PersonSegmenter()
    raw = PersonSegmenter(SegmenterConfig(band=0.0001, contrast=1e9))   # no refinement
    gray = cv2.GaussianBlur(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(float), (0, 0), 1.0)
    points = photo.faces[0].points
    right = int(points[FACE_OVAL, 0].max())
    misses = {}
    for name, segmenter in (("refined", refined), ("raw", raw)):
        mask = cv2.resize(segmenter.person(rgb), rgb.shape[1::-1], interpolation=cv2.INTER_LINEAR)
        gaps = []
        for y in range(int(points[10, 1]), int(points[1, 1]), 8):
            row = mask[y, right:]
            crossing = right + int(np.argmax(row < 128))
            edge = right + int(np.argmax(np.abs(np.diff(gray[y, right:]))))   # the hair's outer edge
            gaps.append(abs(crossing - edge))
        misses[name] = float(np.median(gaps))
    assert misses["refined"] <= 4 and misses["raw"] > misses["refined"], misses
