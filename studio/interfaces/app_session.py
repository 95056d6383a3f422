"""One app user's editing session, as an immutable value: the photo, its analysis, every face's
recipe, the undo history and the latest result.

The app keeps one of these per browser session (Gradio state); every action returns a new one.
Nothing here knows about Gradio, so it is tested directly; the page only shows what it returns.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from studio.errors import StudioError
from studio.face.image_io import MAX_PIXELS, Photo, load_photo, save_photo, write_atomic
from studio.geometry.face_parts import check_parts
from studio.interfaces.server_files import WRITING, in_use
from studio.operations.describe import edited_expression, expression_probabilities
from studio.operations.edit import edit_faces, photo_light
from studio.operations.recipe import EditRecipe, recipes_to_json
from studio.operations.studio import AnalyzedPhoto, Studio
from studio.operations.views import preview

MAX_HISTORY = 100
COALESCE_SECONDS = 1.0   # moves of one slider closer together than this are one undo step
EXPORT_FORMATS = {"PNG": ".png", "JPEG": ".jpg"}


@dataclass(frozen=True, eq=False)
class EditSession:
    name: str                                  # the photo's file name without extension
    analyzed: AnalyzedPhoto
    recipes: tuple[EditRecipe, ...]            # one per face, recipes[i].face == i
    face: int = 0                              # the face the sliders act on
    history: tuple[tuple[EditRecipe, ...], ...] = ()
    undone: tuple[tuple[EditRecipe, ...], ...] = ()   # what Undo took back, for Redo (newest last)
    result: Photo | None = None                # the edited photo at full resolution
    edit_ms: float = 0.0
    backend: str = "geometry"                  # how faces are rendered (see Studio.backends)
    before: np.ndarray | None = None           # preview of the photo as loaded
    last_control: frozenset | None = None      # what the last change moved, to merge one drag
    last_control_at: float = 0.0

    @property
    def recipe(self) -> EditRecipe:
        return self.recipes[self.face]

    @property
    def photo(self) -> Photo:
        return self.result if self.result is not None else self.analyzed.photo

    @property
    def pixels(self) -> int:
        return self.analyzed.pixels

    @property
    def edited(self) -> list[EditRecipe]:
        return [r for r in self.recipes if not r.changes_nothing]

    def describe(self) -> str:
        width, height = self.analyzed.photo.size
        faces = len(self.analyzed.faces)
        edited = len(self.edited)
        parts = [f"{width}x{height}", f"face {self.face + 1} of {faces}"]
        if edited:
            parts.append(f"last edit {self.edit_ms:.0f} ms")
            if faces > 1:
                parts.append(f"{edited} face{'s' if edited != 1 else ''} edited")
        else:
            parts.append("unedited")
        parts.append(f"{len(self.history)} undo step{'s' if len(self.history) != 1 else ''}")
        return " · ".join(parts)


def safe_name(name: str, fallback: str = "photo") -> str:
    """A file name stem users cannot steer: ASCII letters, digits, '.', '_' and '-', at most 60
    characters, no leading dot (an upload's name becomes its export's name)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    cleaned = re.sub(r"[^A-Za-z0-9._-]+", "_", ascii_name).strip("._-")[:60].strip("._-")
    return cleaned or fallback


def analyze_file(studio: Studio, path: str | Path, name: str | None = None,
                 max_pixels: int = MAX_PIXELS) -> AnalyzedPhoto:
    """Load and analyse a photo once; a photo with no face is refused with a clear message."""
    analyzed = studio.analyze(load_photo(path, max_pixels))
    if not analyzed.faces:
        raise StudioError(f"no face found in {name or Path(path).name}; try a photo where the face is "
                          "larger, frontal and well lit")
    return analyzed


def check_face(analyzed: AnalyzedPhoto, index: int) -> int:
    """`index` (from 0) if the photo has that face; the message (pick_face's, the same as the CLI's)
    gives the face's number from 1, as the page counts, and its index from 0."""
    from studio.face.landmarks import pick_face

    pick_face(list(analyzed.faces), index)
    return index


def open_photo(studio: Studio, path: str | Path, name: str | None = None,
               max_pixels: int = MAX_PIXELS) -> EditSession:
    path = Path(path)
    analyzed = analyze_file(studio, path, safe_name(name or path.name), max_pixels)
    recipes = tuple(EditRecipe(face=i) for i in range(len(analyzed.faces)))
    return EditSession(name=safe_name(Path(name or path.name).stem), analyzed=analyzed, recipes=recipes,
                       backend=studio.backend, before=preview(analyzed.photo))


def after_preview(session: EditSession) -> np.ndarray:
    return session.before if session.result is None else preview(session.result)


def face_captions(studio: Studio, session: EditSession) -> list[str]:
    """Each face's number with how the recognizer reads it as photographed ('2 · happiness'; short,
    to fit under a thumbnail), or 'face N' without a recognizer."""
    captions = []
    for i, face in enumerate(session.analyzed.faces):
        probs = expression_probabilities(studio, session.analyzed.photo, face.points)
        captions.append(f"{i + 1} · {max(probs, key=probs.get)}" if probs else f"face {i + 1}")
    return captions


def expression(studio: Studio, session: EditSession) -> dict[str, float] | None:
    """The recognizer's probabilities for the current face as it now looks (None: no recognizer)."""
    return edited_expression(studio, session.analyzed, session.photo, session.recipe)


def _render(studio: Studio, session: EditSession, recipes: tuple[EditRecipe, ...]) -> EditSession:
    start = time.perf_counter()
    result = edit_faces(studio.with_backend(session.backend), session.analyzed,
                        [r for r in recipes if not r.changes_nothing])
    elapsed = (time.perf_counter() - start) * 1000.0
    return replace(session, recipes=recipes, result=result, edit_ms=elapsed)


def _with_history(session: EditSession) -> EditSession:
    """Before a new change: the current recipes go on the undo history, and what was undone can
    no longer be redone (the edit branched off)."""
    history = (session.history + (session.recipes,))[-MAX_HISTORY:]
    return replace(session, history=history, undone=(), last_control=None)


def _moved(old: EditRecipe, new: EditRecipe) -> frozenset:
    """The controls that differ between two recipes of one face (each slider one key, the parts
    choice one more)."""
    keys = set()
    for prefix, field in (("preset", "presets"), ("pc", "coefficients"), ("control", "controls")):
        a, b = getattr(old, field), getattr(new, field)
        keys |= {f"{prefix}:{k}" for k in set(a) | set(b) if a.get(k, 0.0) != b.get(k, 0.0)}
    if old.remove != new.remove:
        keys.add("remove")
    if old.parts != new.parts:
        keys.add("parts")
    for part in ("pose", "light"):
        a, b = getattr(old, part), getattr(new, part)
        keys |= {f"{part}:{k}" for k in vars(a) if getattr(a, k) != getattr(b, k)}
    return frozenset(keys)


def set_recipe(studio: Studio, session: EditSession, recipe: EditRecipe,
               now: float | None = None) -> EditSession:
    """The current face takes `recipe`. Quick successive moves of the same slider (one drag) make
    one undo step. The light is the photo's: a new light is given to every face."""
    recipe = replace(recipe, face=session.face)
    if recipe == session.recipe:
        return session
    explicit_now = now
    now = time.monotonic() if now is None else now
    control = _moved(session.recipe, recipe)
    same_drag = (len(control) == 1 and control == session.last_control
                 and now - session.last_control_at < COALESCE_SECONDS)
    if not same_drag:
        session = _with_history(session)
    else:
        session = replace(session, undone=())
    recipes = tuple(recipe if i == session.face else replace(r, light=recipe.light)
                    for i, r in enumerate(session.recipes))
    session = _render(studio, session, recipes)
    # the pause is measured from when this edit was shown, so a slow edit does not split a drag
    shown_at = time.monotonic() if explicit_now is None else now
    return replace(session, last_control=control, last_control_at=shown_at)


def set_backend(studio: Studio, session: EditSession, backend: str) -> EditSession:
    """Render every face again with another backend (the edits stay as they are)."""
    studio.with_backend(backend)   # a clear error if it is not available
    if backend == session.backend:
        return session
    return _render(studio, replace(session, backend=backend), session.recipes)


def select_face(session: EditSession, index: int) -> EditSession:
    check_face(session.analyzed, index)
    return replace(session, face=index, last_control=None)


def remove_expression(studio: Studio, session: EditSession) -> EditSession:
    """The current face back to the person's neutral face (G2-GAN's expression removal), on the
    parts chosen for it (a choice of parts is a setting of the face, not an edit to take back)."""
    return set_recipe(studio, session, EditRecipe(face=session.face, remove=True, parts=session.recipe.parts))


def reset(studio: Studio, session: EditSession) -> EditSession:
    """Every face as it was in the photo; Undo brings the edits back."""
    blank = tuple(EditRecipe(face=i) for i in range(len(session.recipes)))
    if blank == session.recipes:
        return session
    return _render(studio, _with_history(session), blank)


def undo(studio: Studio, session: EditSession) -> EditSession:
    if not session.history:
        raise StudioError("nothing to undo")
    previous = session.history[-1]
    session = replace(session, history=session.history[:-1], undone=session.undone + (session.recipes,),
                      last_control=None)
    return _render(studio, session, previous)


def redo(studio: Studio, session: EditSession) -> EditSession:
    """Bring back what Undo took back (until a new change is made)."""
    if not session.undone:
        raise StudioError("nothing to redo")
    following = session.undone[-1]
    session = replace(session, history=(session.history + (session.recipes,))[-MAX_HISTORY:],
                      undone=session.undone[:-1], last_control=None)
    return _render(studio, session, following)


def apply_recipes(studio: Studio, session: EditSession, recipes: list[EditRecipe]) -> EditSession:
    """A loaded recipe file: each recipe replaces its face's recipe; a light it sets becomes the
    photo's (otherwise the photo keeps its light)."""
    for recipe in recipes:
        check_face(session.analyzed, recipe.face)
    light = photo_light(recipes)
    if light.is_default:
        light = session.recipe.light
    by_face = {r.face: r for r in recipes}
    new = tuple(replace(by_face.get(i, r), light=light) for i, r in enumerate(session.recipes))
    first = min(by_face)
    return _render(studio, replace(_with_history(session), face=first), new)


class ExportFolder:
    """Files handed to the browser: each export gets its own folder; old ones are pruned."""

    def __init__(self, root: Path | None = None, keep_seconds: float = 3600.0):
        self.root = Path(root) if root else Path(tempfile.mkdtemp(prefix="studio-exports-"))
        self.root.mkdir(parents=True, exist_ok=True)
        self.keep_seconds = keep_seconds

    def new(self) -> Path:
        """A fresh folder; old ones go, but never one a request is still writing into."""
        cutoff = time.time() - self.keep_seconds
        for old in self.root.iterdir():
            if old.is_dir() and old.stat().st_mtime < cutoff and not in_use(old):
                shutil.rmtree(old, ignore_errors=True)
        return Path(tempfile.mkdtemp(dir=self.root))

    @contextmanager
    def writing(self):
        """A fresh folder, marked in use while the block writes into it."""
        folder = self.new()
        marker = folder / WRITING
        marker.touch()
        try:
            yield folder
        finally:
            now = time.time()
            for written in folder.iterdir():   # the pruning age counts from the hand-over, not the first write
                os.utime(written, (now, now))
            os.utime(folder, (now, now))
            marker.unlink(missing_ok=True)


def export_photo(session: EditSession, fmt: str, folder: Path) -> Path:
    """The edited photo at the original resolution."""
    if fmt not in EXPORT_FORMATS:
        raise StudioError(f"export format must be one of {', '.join(EXPORT_FORMATS)}, got {fmt!r}")
    suffix = "_edited" if session.edited else ""
    return save_photo(session.photo, folder / f"{session.name}{suffix}{EXPORT_FORMATS[fmt]}")


def export_recipe(session: EditSession, folder: Path) -> Path:
    """Every edited face's recipe (or the current face's, when nothing is edited yet)."""
    recipes = session.edited or [session.recipe]
    path = folder / f"{session.name}_recipe.json"
    write_atomic(path, lambda tmp: Path(tmp).write_text(recipes_to_json(recipes) + "\n"))
    return path


@dataclass(frozen=True)
class Animation:
    strip: Path
    gif: Path
    mp4: Path
    start: np.ndarray   # the first and last frames, as the GIF shows them
    end: np.ndarray
    summary: str        # how many frames, how large, how they play


def animation_start(session: EditSession, from_edit: bool) -> EditRecipe:
    """Where an animation starts: the current face as photographed, or as it is now edited."""
    return session.recipe if from_edit else EditRecipe(face=session.face)


def make_animation(studio: Studio, session: EditSession, target: EditRecipe, frames: int,
                   folder: Path, start: EditRecipe | None = None, bounce: bool = True,
                   fps: float = 12.0) -> Animation:
    """From `start` (default: the current face as photographed) to `target`: a PNG strip, a
    looping GIF and an MP4, and what they hold."""
    from studio.operations.export import MAX_SEQUENCE_SIDE, played_frames, save_sequence, sequence_size
    from studio.operations.interpolate import interpolate

    start = replace(start or EditRecipe(), face=session.face)
    target = replace(target, face=session.face)
    if not start.moves_face:
        # a start that moves nothing (the photo as it is) is the same face on any parts: it
        # takes the target's, as interpolate asks both ends to share them
        start = replace(start, parts=target.parts)
    if start == target:
        raise StudioError("the animation would start and end on the same face: pick another end, "
                          "or start from the photo")
    steps = [r.photo for r in interpolate(studio.with_backend(session.backend), session.analyzed, target, frames,
                                          start=start, max_side=MAX_SEQUENCE_SIDE)]
    base = folder / f"{session.name}_animation"
    strip, gif, mp4 = (save_sequence(steps, base.with_suffix(ext), fps=fps, bounce=bounce)
                       for ext in (".png", ".gif", ".mp4"))
    width, height = sequence_size(steps[0])
    played = played_frames(frames, bounce)
    how = (f"forward and back: {played} frames, {played / fps:.1f} s at {fps:g} fps, looping" if bounce
           else f"once: {played / fps:.1f} s at {fps:g} fps")
    summary = f"{frames} frames from start to end, {width}x{height} px; the GIF and MP4 play them {how}"
    return Animation(strip, gif, mp4, preview(steps[0]), preview(steps[-1]), summary)


@dataclass(frozen=True)
class TransferPictures:
    captions: tuple[str, ...]
    photos: tuple[Photo, ...]   # full resolution, in the order of `captions`
    grid: Path                  # both rows in one PNG


def transfer_pair(studio: Studio, a: AnalyzedPhoto, b: AnalyzedPhoto, face_a: int, face_b: int,
                  folder: Path, same_person: bool = False, parts: tuple[str, ...] = ()) -> TransferPictures:
    """G2-GAN's figure 3 for two photos: each face, its neutral, and it with the other's expression.
    `same_person`: B is A's own face, so B's expression is measured as its movement from A.
    `parts` (geometry.face_parts; () the whole face): each face takes the other's expression there only."""
    from studio.operations.transfer import transfer
    from studio.operations.views import labelled_grid

    face_a, face_b = check_face(a, face_a), check_face(b, face_b)
    parts = check_parts(parts)
    result = transfer(studio, a, b, face_a, face_b, a if same_person else None, face_a, parts=parts)
    rows = [[("A", a.photo), ("A neutral", result.a_neutral.photo), ("A with B's expression", result.a_with_b.photo)],
            [("B", b.photo), ("B neutral", result.b_neutral.photo), ("B with A's expression", result.b_with_a.photo)]]
    grid = save_photo(Photo(labelled_grid(rows)), folder / "transfer_grid.png")
    return TransferPictures(tuple(c for row in rows for c, _ in row), tuple(p for row in rows for _, p in row), grid)
