"""Real teeth for the mouths an edit opens: the shipped bank, and what it does to London faces
(re-detected on the output, measured against the fixtures' real smiles)."""

from dataclasses import replace

import cv2
import numpy as np
import pytest

from studio import paths
from studio.evaluation.mouth_detail import measure_mouth, without_own_teeth
from studio.evaluation.measure import nearest_face
from studio.face.mesh import INNER_LIPS, INNER_LOWER, INNER_UPPER
from studio.operations.edit import edit
from studio.operations.recipe import EditRecipe
from studio.synthesis.mouth_bank import MIN_TEETH, MouthBank, _teeth_share, skin_around_lips

OPEN_SMILES = ("002", "004", "012")    # the fixtures whose real smile shows the teeth


@pytest.fixture(scope="module")
def bank():
    return MouthBank.load(paths.MOUTH_BANK_PATH)


def _mouth(studio, rgb, near):
    face = nearest_face(studio.analyzer.detect(rgb), near)
    assert face is not None
    return measure_mouth(rgb, face.points)


def test_the_shipped_bank_holds_real_open_mouths_with_teeth(bank):
    assert len(bank) >= 5
    assert all(p.startswith("london-") for p in bank.people)
    for k in range(len(bank)):
        inner = np.concatenate([bank.upper[k], bank.lower[k][::-1][1:-1]])
        assert _teeth_share(bank.crops[k], inner, bank.skin[k]) >= MIN_TEETH
    assert len(bank.without(bank.people[0])) == len(bank) - 1


def test_an_opened_mouth_has_the_detail_of_real_teeth(studio, analyzed):
    """The smile preset on a neutral photo: inside the re-detected open lips at least 70% of the
    detail of real smiles (the other fixtures'), where the painted cavity had under a third."""
    real = [measure_mouth(analyzed(p, True).photo.pixels(), analyzed(p, True).faces[0].points).detail
            for p in OPEN_SMILES]
    reference = float(np.median(real))
    for person in ("001", "002"):
        a = analyzed(person)
        points = a.faces[0].points
        recipe = EditRecipe(presets={"happiness": 1.0})
        teeth = edit(without_own_teeth(studio, f"london-{person}"), a, recipe).photo.pixels()
        painted = edit(replace(studio, mouths=None), a, recipe).photo.pixels()
        with_teeth, without = _mouth(studio, teeth, points), _mouth(studio, painted, points)
        assert with_teeth.detail is not None and with_teeth.detail >= 0.7 * reference, (person, with_teeth.detail, reference)
        assert without.detail is not None and without.detail < 0.33 * reference


def test_teeth_appear_as_the_mouth_opens_and_are_always_the_same_ones(studio, analyzed, bank):
    """A slowly opening mouth: one entry whatever the intensity (chosen from the photo), and the
    teeth it shows stay where they are from one step to the next (they belong to the skull, not
    the lips: surprise shows the upper teeth's tips, more of the lower ones while the jaw has
    dropped little), instead of switching or sliding."""
    a = analyzed("001")
    points = a.faces[0].points
    mine = bank.without("london-001")
    rgb = a.photo.pixels()
    assert len({mine.choose(skin_around_lips(rgb, points)) for _ in range(3)}) == 1
    studio = replace(studio, mouths=mine)
    skin = skin_around_lips(rgb, points) @ np.array([0.299, 0.587, 0.114])
    teeth = []
    for t in (0.4, 0.6, 0.8, 1.0):
        out = edit(studio, a, EditRecipe(presets={"surprise": t})).photo.pixels()
        inner = nearest_face(studio.analyzer.detect(out), points).points[INNER_LIPS, :2]
        mask = np.zeros(out.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(inner).astype(np.int32)], 1)
        # off the lips' inner edges (the lower lip's lit inner edge, in the opening as found again,
        # is as bright as teeth)
        mask = cv2.erode(mask, np.ones((5, 5), np.uint8))
        luma = out.astype(np.float32) @ np.array([0.299, 0.587, 0.114])
        teeth.append((luma > 0.85 * skin) & (mask > 0))       # teeth-bright pixels in the opening
    shown = [int(m.sum()) for m in teeth]
    print("\nteeth-bright pixels in the opening:", shown)
    assert min(shown) > 50
    for before, after in zip(teeth, teeth[1:]):
        # of the teeth the next step shows, most were there already (a switch or a slide shows new)
        assert (before & after).sum() >= 0.6 * after.sum(), shown


def test_a_photos_own_teeth_are_kept(studio, analyzed):
    """A real smile made bigger keeps the photo's own teeth at their own size (held by the head
    and the jaw, not stretched with the lips), and the bank fills only what the photo never
    showed: the outputs with the bank and with the painted cavity agree over about as much of
    the mouth as the photo's own opening covered; a closed mouth opened by the same preset is
    filled all over (the geometry backend: the generator leaves the inside of a mouth the bank
    drew alone, and a painted one not)."""
    geometry = studio.with_backend("geometry")

    def kept_share(a, person):
        """The mouth's pixels the two painters agree on, over the photo's own opening's area."""
        recipe = EditRecipe(presets={"happiness": 0.5})
        teeth = edit(without_own_teeth(geometry, person), a, recipe).photo.pixels().astype(np.int16)
        painted = edit(replace(geometry, mouths=None), a, recipe).photo.pixels().astype(np.int16)
        face = nearest_face(studio.analyzer.detect(teeth.astype(np.uint8)), a.faces[0].points)
        mask = np.zeros(teeth.shape[:2], np.uint8)
        cv2.fillPoly(mask, [np.round(face.points[INNER_LIPS, :2]).astype(np.int32)], 1)
        own = np.zeros_like(mask)
        cv2.fillPoly(own, [np.round(a.faces[0].points[INNER_LIPS, :2]).astype(np.int32)], 1)
        same = (np.abs(teeth - painted).max(axis=2) <= 12) & (mask > 0)
        return float(same.sum() / max(own.sum(), 1)), float(1 - same.sum() / mask.sum())

    smiling = analyzed("012", True)
    (kept, _), (_, opened) = kept_share(smiling, "london-012"), kept_share(analyzed("002"), "london-002")
    # the upper teeth where the photo has them: the upper 60% of its opening, unmoved (the head
    # does not turn); stretched down with the lips they differed there by 35 levels
    photo = smiling.photo.pixels()[..., :3].astype(np.float32)
    out = edit(geometry, smiling, EditRecipe(presets={"happiness": 0.5})).photo.pixels()[..., :3].astype(np.float32)
    inner = smiling.faces[0].points[INNER_LIPS, :2]
    up, lo = inner[INNER_UPPER], inner[INNER_LOWER]      # corner to corner
    upper_teeth = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(upper_teeth, [np.round(np.concatenate([up, (up + 0.6 * (lo - up))[::-1]])).astype(np.int32)], 1)
    upper_teeth = cv2.erode(upper_teeth, np.ones((3, 3), np.uint8)) > 0
    moved = float(np.abs(out - photo).max(axis=2)[upper_teeth].mean())
    print(f"\nsmiling photo: kept {kept:.2f} of its own opening, its upper teeth {moved:.1f} levels off "
          f"where they were; closed photo opened: {opened:.2f} filled")
    assert kept > 0.55 and moved < 22 and opened > 0.72, (kept, moved, opened)


def test_removal_leaves_no_teeth_between_closed_lips(studio, analyzed):
    for person in OPEN_SMILES:
        a = analyzed(person, True)
        out = edit(without_own_teeth(studio, f"london-{person}"), a, EditRecipe(remove=True)).photo.pixels()
        mouth = _mouth(studio, out, a.faces[0].points)
        assert mouth.detail is None, (person, mouth.opening)   # closed: nothing between the lips


def test_a_smile_taken_to_neutral_leaves_no_line_of_its_teeth(studio):
    """Two test people's real smiles (KDEF F13 and F35, their teeth showing) taken to neutral:
    the lips close to a slit, and between them is the dark line of closed lips, not the photo's
    own teeth (carried at their size, they showed as a bright line between the lips)."""
    from studio import paths
    from studio.face.image_io import load_photo
    from studio.operations.edit import final_landmarks

    geometry = studio.with_backend("geometry")
    grey = np.array([0.299, 0.587, 0.114])
    for name in ("F13/BF13HAS.jpg", "F35/BF35HAS.jpg"):
        a = studio.analyze(load_photo(paths.faces_dir() / "kdef" / name))
        recipe = EditRecipe(remove=True)
        out = edit(geometry, a, recipe).photo.pixels()[..., :3].astype(np.float32)
        target = final_landmarks(geometry, a, recipe)
        slit = np.zeros(out.shape[:2], np.uint8)
        cv2.fillPoly(slit, [np.round(target[INNER_LIPS, :2]).astype(np.int32)], 1)
        skin = float(skin_around_lips(a.photo.pixels(), a.faces[0].points) @ grey)
        teeth = (out @ grey > 0.85 * skin) & (slit > 0)
        assert teeth.sum() <= 2, (name, int(teeth.sum()), int(slit.sum()))


@pytest.mark.parametrize("person, preset", [("001", "surprise"), ("002", "fear")])
def test_an_animation_that_opens_the_mouth_does_not_flicker(studio, analyzed, person, preset):
    """Frame by frame to an open mouth: no frame has a patch its neighbours do not (teeth that
    switch in, or a line between teeth and cavity that steps)."""
    from studio.operations.interpolate import interpolate
    from tests.geometry.test_pose import _glitches

    results = interpolate(without_own_teeth(studio, f"london-{person}"), analyzed(person),
                          EditRecipe(presets={preset: 1.0}), 24)
    assert _glitches([r.photo.rgb for r in results]) == []


def _found_mouth(studio, rgb, near):
    """The mouth found again on `rgb`, in the bank's mouth frame: the crop (float32 RGB) and the
    inner lips' upper and lower rows, corner to corner."""
    from studio.synthesis.mouth_bank import CROP, LOWER, UPPER, mouth_frame

    face = nearest_face(studio.analyzer.detect(rgb), near)
    m = mouth_frame(face.points)
    crop = cv2.warpAffine(rgb[..., :3], m, CROP, flags=cv2.INTER_AREA).astype(np.float32)
    inner = np.c_[face.points[INNER_LIPS, :2], np.ones(len(INNER_LIPS))] @ m.T
    return crop, inner[UPPER], inner[LOWER]


def _lower_opening(studio, rgb, near):
    """Mean RGB of the lower third of the re-detected opening (over the lower teeth and lip)."""
    crop, upper, lower = _found_mouth(studio, rgb, near)
    top, bottom = upper[5, 1], lower[5, 1]
    x0, x1 = int(upper[3, 0]), int(upper[7, 0])
    band = crop[int(top + 0.55 * (bottom - top)):int(bottom - 0.12 * (bottom - top)), x0:x1].reshape(-1, 3)
    return band.astype(np.float32).mean(axis=0), (bottom - top) / 128


def test_a_wide_open_mouth_shows_a_tongue_and_a_smile_none(studio, analyzed):
    """Surprise drops the jaw past the teeth of any bank entry: above the lower lip there is now a
    tongue (redder and brighter than the inside it covers); a slightly parted mouth, within
    its entry's teeth, is drawn exactly as without the tongue."""
    a = analyzed("001")
    bank = studio.mouths.without("london-001")
    with_tongue, without = replace(studio, mouths=bank), replace(studio, mouths=replace(bank, tongue=False))
    open_recipe = EditRecipe(presets={"surprise": 1.0})
    tongue, gap = _lower_opening(studio, edit(with_tongue, a, open_recipe).photo.pixels(), a.faces[0].points)
    cavity, _ = _lower_opening(studio, edit(without, a, open_recipe).photo.pixels(), a.faces[0].points)
    assert gap > 0.25
    luma = np.array([0.299, 0.587, 0.114])
    assert tongue @ luma > 1.08 * (cavity @ luma), (tongue, cavity)
    # red like the lips (the bare cavity reaches the lower lip's own red edge now that no row of
    # teeth tips lies along it, so it is itself a little redder than before)
    assert tongue[0] - tongue[1] > cavity[0] - cavity[1] + 8, (tongue, cavity)
    slight = EditRecipe(presets={"surprise": 0.2})
    assert np.array_equal(edit(with_tongue, a, slight).photo.pixels(), edit(without, a, slight).photo.pixels())


@pytest.mark.parametrize("person", ["001", "004"])
def test_a_wide_open_mouth_is_not_one_flat_dark(studio, analyzed, person):
    """Real surprised mouths (30 KDEF people) are not one dark: inside the inner lips, the median
    brightness is 2.1x the darkest 5% (a tongue and the lit floor of the mouth; 0.36 and 0.17 of
    the lips' brightness), and they have the photo's grain (0.5-0.7 of the skin's below the lips).
    Surprise at 1 on London 001 and 004 drew one flat dark (1.15x and 1.08x, grain 0.33 and 0.08 of
    the skin's): now at least 1.25x (1.33x and 1.54x), with at least half the skin's grain."""
    from studio.face.image_io import LUMA
    from studio.synthesis.mouth_bank import grain_of, photo_grain

    a = analyzed(person)
    out = edit(without_own_teeth(studio, f"london-{person}"), a, EditRecipe(presets={"surprise": 1.0}))
    rgb = out.photo.pixels()[..., :3]
    found = nearest_face(studio.analyzer.detect(rgb), a.faces[0].points)
    inside = np.zeros(rgb.shape[:2], np.uint8)
    cv2.fillPoly(inside, [np.round(found.points[INNER_LIPS, :2]).astype(np.int32)], 1)
    inside = cv2.erode(inside, np.ones((5, 5), np.uint8)) > 0
    assert inside.sum() > 300
    luma = rgb.astype(np.float32) @ LUMA
    p5, p50 = np.percentile(luma[inside], [5, 50])
    assert p50 >= 1.25 * p5, (p5, p50)
    shown = grain_of(luma, inside)
    assert shown >= 0.5 * photo_grain(a.photo.pixels(), a.faces[0].points), shown


def _paint_own(bank, k, raise_upper: float, lower_lower: float, jaw: float):
    """Entry k painted into its own mouth (60 px of room above and below) with the upper lip
    raised and the lower lip lowered by the given shares of the mouth's width, the upper teeth's
    tips where the entry has them and the jaw dropped by `jaw` (x the width): the painted
    interior, and the upper lip's, lower lip's and tips' rows as drawn."""
    from studio.geometry.mouth import Bite
    from studio.synthesis.mouth_bank import MOUTH_WIDTH

    upper, lower = bank.upper[k].astype(np.float64), bank.lower[k].astype(np.float64)
    bump = np.sin(np.linspace(0, np.pi, 11))
    tips = upper.copy()
    tips[:, 1] += bank._tips_run(k)
    upper[:, 1] -= raise_upper * MOUTH_WIDTH * bump
    lower[:, 1] += lower_lower * MOUTH_WIDTH * bump
    pad = 60
    upper[:, 1] += pad
    lower[:, 1] += pad
    tips[:, 1] += pad
    inner = np.concatenate([upper, lower[::-1][1:-1]])
    h, w = bank.crops[k].shape[0] + 2 * pad, bank.crops[k].shape[1]
    opening = np.zeros((h, w), np.uint8)
    cv2.fillPoly(opening, [np.round(inner).astype(np.int32)], 1)
    lips = np.array([180.0, 100.0, 105.0], np.float32)
    paint = bank.paint(opening.astype(bool), inner, bank.skin[k], lips, Bite(tips, jaw * MOUTH_WIDTH))
    return paint, upper, lower, tips


def _paint_middle(bank, k, raise_upper: float, lower_lower: float, jaw: float):
    """`_paint_own`'s middle column's luma and redness, from the upper lip down to the lower,
    with the rows of the tips and of the lower teeth's tips."""
    from studio.face.image_io import LUMA
    from studio.synthesis.mouth_bank import MOUTH_WIDTH, OVERBITE

    paint, upper, lower, tips = _paint_own(bank, k, raise_upper, lower_lower, jaw)
    x = int(upper[5, 0])
    column = paint[:, x - 3:x + 4].mean(axis=1)
    top, bottom = int(np.ceil(upper[5, 1])) + 1, int(lower[5, 1]) - 1
    tip = int(round(tips[5, 1]))
    lower_tip = int(round(tips[5, 1] + (jaw - OVERBITE) * MOUTH_WIDTH))
    return column @ LUMA, column[:, 0] - column[:, 1], top, bottom, tip, lower_tip


def _tooth_period(bank, k, row_below_tips: float) -> float:
    """Entry k painted into its own mouth as a snarl (both rows bared, the jaw shut): the mean
    spacing (px, the power spectrum's centroid) of the light and dark along a row `row_below_tips`
    x the width below the upper teeth's tips, over the middle half of the mouth."""
    from studio.face.image_io import LUMA
    from studio.synthesis.mouth_bank import MOUTH_WIDTH

    paint, upper, _, tips = _paint_own(bank, k, 0.06, 0.14, 0.0)
    luma = paint @ LUMA
    y = int(round(tips[5, 1] + row_below_tips * MOUTH_WIDTH))
    x0, x1 = (int(upper[0, 0] + f * (upper[-1, 0] - upper[0, 0])) for f in (0.25, 0.75))
    profile = luma[y - 1:y + 2, x0:x1].mean(axis=0)
    profile = profile - cv2.GaussianBlur(profile[None], (0, 0), 12)[0]
    power = np.abs(np.fft.rfft(profile * np.hanning(len(profile)))) ** 2
    f = np.fft.rfftfreq(len(profile))
    band = (f > 1 / 40) & (f < 1 / 4)
    return float(1 / (f[band] @ power[band] / power[band].sum()))


def test_the_lower_teeth_are_narrower_than_the_upper_ones(bank, monkeypatch):
    """The lower row is the entry's upper teeth mirrored; read at their width, each lower tooth was
    an upper one upside down, as wide (an adult's lower front teeth are 0.6-0.8 as wide). Read
    faster across, the lower row's teeth are narrower: on all entries but one (7 of 8) the
    spacing of its light and dark is shorter than read at the upper teeth's width (median 0.8x),
    and the upper row is as it was."""
    import studio.synthesis.mouth_bank as mouth_bank

    narrow = [(_tooth_period(bank, k, -0.06), _tooth_period(bank, k, 0.03)) for k in range(len(bank))]
    monkeypatch.setattr(mouth_bank, "LOWER_NARROW", 1.0)
    wide = [(_tooth_period(bank, k, -0.06), _tooth_period(bank, k, 0.03)) for k in range(len(bank))]
    print("\nlower row's spacing, narrowed / as wide as the upper teeth:", [round(n[1] / w[1], 2) for n, w in zip(narrow, wide)])
    assert all(n[0] == w[0] for n, w in zip(narrow, wide))
    assert sum(n[1] < w[1] for n, w in zip(narrow, wide)) >= len(bank) - 1   # one entry's spectrum is flat
    assert np.median([n[1] / w[1] for n, w in zip(narrow, wide)]) < 0.9


def test_the_teeth_stay_where_the_skull_and_the_jaw_hold_them(bank):
    """The teeth belong to the skull and the jaw, not to the lips. A snarl (the upper lip lifted,
    the lower one pulled down, the jaw shut) bares both rows meeting: teeth from the lip to the
    tips and below them, no dark band but the overbite's line. A dropped jaw shows the upper
    teeth down to their tips only and then the dark inside, the lower teeth hidden behind the
    lower lip. An upper lip lifted past a crown shows the gum above the teeth."""
    k = bank.people.index("london-002")
    luma, red, top, bottom, tip, _ = _paint_middle(bank, k, 0.0, 0.12, 0.0)
    bright = luma > 0.6 * np.percentile(luma[top:bottom], 90)
    assert bright[top + 3:tip - 1].mean() > 0.9                     # the upper teeth, lip to tips
    assert bright[tip + 4:bottom - 2].mean() > 0.6                  # the lower teeth under them
    dark_run = max((len(run) for run in "".join("d" if not b else "." for b in bright[tip - 2:bottom - 2]).split(".")), default=0)
    assert dark_run <= 6, dark_run                                  # no cavity between the rows

    luma, red, top, bottom, tip, lower_tip = _paint_middle(bank, k, 0.0, 0.35, 0.3)
    bright = luma > 0.6 * np.percentile(luma[top:bottom], 90)
    assert bright[top + 2:tip - 1].mean() > 0.8                     # the upper teeth's tips
    assert not bright[tip + 3:bottom].any()                         # then dark and tongue: no lower teeth
    assert luma[tip + 3:tip + 12].mean() < 0.25 * luma[top + 2:tip - 1].mean()

    luma, red, top, bottom, tip, _ = _paint_middle(bank, k, 0.3, 0.05, 0.0)
    assert red[top + 2:top + 6].mean() > red[tip - 8:tip - 2].mean() + 25   # gum (pink) over the teeth


def test_a_grin_bares_teeth_that_meet_and_a_dropped_jaw_the_dark_between(studio, analyzed):
    """On real faces, found again on the output: a grin (the lips part, the jaw stays) shows teeth
    all down the middle of its opening, where the teeth hanging from the lips left a dark band
    (on 012 teeth in 42% of it); surprise (the jaw drops) shows the upper teeth's tips and then
    the dark, no lower teeth in the lower half of the opening (their lip rides up over them)."""
    from studio.face.image_io import LUMA

    geometry = studio.with_backend("geometry")

    def middle(person, recipe):
        a = analyzed(person)
        rgb = edit(without_own_teeth(geometry, f"london-{person}"), a, recipe).photo.pixels()
        crop, upper, lower = _found_mouth(studio, rgb, a.faces[0].points)
        top, bottom = upper[5, 1], lower[5, 1]
        x0, x1 = int(upper[4, 0]), int(upper[6, 0])
        bright = crop[int(np.ceil(top)) + 1:int(bottom) - 1, x0:x1] @ LUMA > 0.7 * (
            skin_around_lips(a.photo.pixels(), a.faces[0].points) @ LUMA)
        return bright.mean(), bright[len(bright) // 2:].mean()

    for person in ("001", "002", "004", "012"):
        grin, _ = middle(person, EditRecipe(controls={"grin": 1.0}))
        surprise, lower_half = middle(person, EditRecipe(presets={"surprise": 1.0}))
        assert grin > 0.8, (person, grin)
        assert surprise < 0.2 and lower_half < 0.02, (person, surprise, lower_half)
