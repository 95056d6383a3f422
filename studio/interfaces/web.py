"""The Gradio page: components and wiring only. Every picture comes from the operations (through
app_session); errors become visible messages in the page, never tracebacks.
"""

from __future__ import annotations

import functools
import logging
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import gradio as gr
import numpy as np

from studio import paths
from studio.devices import describe_device
from studio.errors import StudioError
from studio.geometry.face_controls import GROUPS
from studio.geometry.face_parts import PARTS, SHAPE_PARTS
from studio.geometry.shading import LIGHT_PRESETS, light_preset, preset_name
from studio.face.image_io import declared_pixels
from studio.interfaces import app_session as sess
from studio.interfaces import app_video
from studio.interfaces.server_files import Janitor, ServerFolders, sweep_gradio_cache
from studio.interfaces.session_store import MemoryLimits, SessionStore, default_memory_gb
from studio.operations import budget
from studio.operations.controls import LIGHT_SLIDERS, POSE_SLIDERS, Controls
from studio.operations.recipe import EditRecipe, load_recipes
from studio.operations.studio import Studio
from studio.operations.views import divider_at, face_at, face_map, face_thumbnails, preview
from studio.video.live import LiveConfig, LiveDrive, live_photo

log = logging.getLogger("studio.app")

ANIMATE_TO_PRESET, ANIMATE_TO_SLIDERS = "a preset", "the Edit tab's sliders"
START_AT_PHOTO, START_AT_EDIT = "the photo as it is", "the current edit"
MAX_APP_FRAMES = 48
REPEAT_S = 3.0   # the same upload again within this many seconds is the upload box repeating itself


@dataclass(frozen=True)
class AppConfig:
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    max_sessions: int = 64          # older sessions' photos are dropped beyond this (bounded memory)
    session_ttl_s: int = 3600       # a session's photo is dropped this long after its last use
    concurrency: int = 2            # edits computed at once (this is a 2-core machine)
    max_queue: int = 64             # requests waiting beyond this are refused ("queue is full")
    max_upload_mb: int = 60         # larger uploads are refused before they are stored
    max_megapixels: float = 50.0    # larger photos are refused before they are decoded
    cache_sweep_s: int = 300        # how often old previews and exports are deleted ...
    cache_keep_s: int = 1800        # ... once they are this old
    export_dir: Path | None = None  # default: a fresh temporary folder
    max_memory_gb: float = field(default_factory=default_memory_gb)   # photos held + requests running
    max_session_mb: int = 1024      # one session's photos (Edit and Transfer tabs together)
    active_s: int = 300             # a session used this recently is never dropped to make room

    def limits(self) -> MemoryLimits:
        return MemoryLimits(total_bytes=int(self.max_memory_gb * (1 << 30)), session_bytes=self.max_session_mb << 20,
                            max_sessions=self.max_sessions, idle_s=self.session_ttl_s, active_s=self.active_s)


def photo_input(**kwargs) -> gr.Image:
    """An image input that hands over the uploaded file untouched.

    gr.Image would decode and re-encode the upload (and fail with a bare error on a bad file);
    the studio's own loader reads it instead, applying EXIF rotation, keeping transparency,
    refusing huge images before decoding them, and saying what is wrong with a broken file.
    (The method is replaced on the instance: a gr.Image subclass would make Gradio write a
    .pyi stub beside this module.)
    """
    component = gr.Image(type="filepath", image_mode=None, **kwargs)
    decode = component.preprocess

    def preprocess(payload):
        if payload is None:
            return None
        if payload.path and not (payload.url or "").startswith("data:"):
            return uploaded(payload.path)
        try:
            return uploaded(decode(payload))
        except gr.Error:
            raise
        except Exception:
            raise gr.Error("the upload could not be read as an image", print_exception=False) from None

    component.preprocess = preprocess
    return component


def clamped_slider(minimum: float, maximum: float, value: float, **kwargs) -> gr.Slider:
    """A slider whose typed-in values outside its range are brought into it, with a short note,
    where gr.Slider would refuse the whole edit with its raw message. (The method is replaced on
    the instance, as in photo_input.)"""
    component = gr.Slider(minimum, maximum, value, **kwargs)
    label = kwargs.get("label") or "the value"

    def preprocess(payload):
        if payload is None:
            return None
        number = float(payload)
        if not np.isfinite(number):
            raise gr.Error(f"{label}: {payload} is not a number", print_exception=False)
        if number < minimum or number > maximum:
            kept = min(max(number, minimum), maximum)
            gr.Warning(f"{label} goes from {minimum:g} to {maximum:g}: {number:g} was taken as {kept:g}",
                       title="Kept in range")
            number = kept
        return gr.Number.round_to_precision(number, component.precision)

    component.preprocess = preprocess
    return component


NOT_UPLOADED = "that file was not uploaded to this app; upload it again"


def uploaded(path) -> str:
    """`path` if it is a file Gradio received (an upload, a webcam shot, an example it copied),
    else a refusal that says nothing of what exists on the server.

    Gradio checks a file input's path only when the request marks it as a file ("meta"); an API
    call sending {"path": "/any/file.jpg"} without it would otherwise open any file the server
    can read."""
    from gradio.utils import get_upload_folder

    try:
        root = Path(get_upload_folder()).resolve()
        resolved = Path(path).resolve(strict=True)
        ok = resolved.is_relative_to(root) and resolved.is_file()
    except (OSError, RuntimeError, TypeError, ValueError):
        ok = False
    if not ok:
        raise gr.Error(NOT_UPLOADED, title="Cannot do that", print_exception=False)
    return str(resolved)


def file_input(**kwargs) -> gr.File:
    """A file input whose path is checked like photo_input's."""
    component = gr.File(type="filepath", **kwargs)
    original = component.preprocess

    def preprocess(payload):
        if payload is None:
            return None
        uploaded(payload.path)   # before Gradio's own preprocessing touches the path
        return original(payload)

    component.preprocess = preprocess
    return component


def shown(fn):
    """Run a handler; bad input becomes a message in the page, a bug a short one (and a log entry)."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except StudioError as exc:
            raise gr.Error(str(exc), title="Cannot do that", print_exception=False) from None
        except Exception as exc:
            log.exception("handler %s failed", fn.__name__)
            raise gr.Error(f"internal error ({exc.__class__.__name__}); nothing was changed",
                           print_exception=False) from None
    return wrapper


def _need(session):
    if session is None:
        raise StudioError("upload a photo first (or pick an example)")
    return session


EXAMPLES = paths.LONDON_FIXTURES   # CC BY 4.0, see its README


def _face_number(value) -> int:
    """A face number as the page shows it ("face 2", 2 or 2.0), counted from 1."""
    text = str(value if value is not None else 1).removeprefix("face ").strip()
    try:
        number = float(text)
    except ValueError:
        raise StudioError(f"{value!r} is not a face number") from None
    if number != int(number):
        raise StudioError(f"{value!r} is not a face number")
    return int(number)


def chosen_parts(chosen, offered: tuple[str, ...]) -> tuple[str, ...] | None:
    """A parts choice (ticked boxes) as a recipe's parts: every offered part ticked is the whole
    face, (); none ticked is None, no choice, which the caller explains. (The Transfer tab offers
    no "pose": every shape part ticked there is the whole face, as before parts existed.)"""
    chosen = tuple(chosen or ())
    if not chosen:
        return None
    return () if set(offered) <= set(chosen) else tuple(p for p in offered if p in chosen)


def parts_shown(parts: tuple[str, ...]) -> list[str]:
    """The ticked boxes that show a recipe's parts (all of them: the whole face)."""
    return list(parts or PARTS)


def where(parts: tuple[str, ...]) -> str:
    """Where an edit limited to `parts` applies, in words."""
    return "the whole face" if not parts else ", ".join(parts)


def example_photos() -> list[str]:
    """Neutral faces, then smiles, then the photo with two faces."""
    neutral, smiling = sorted(EXAMPLES.glob("*_03.jpg")), sorted(EXAMPLES.glob("*_08.jpg"))
    return [str(p) for p in neutral + smiling + sorted(EXAMPLES.glob("pair_*.jpg"))]


def example_pairs() -> list[list]:
    """Transfer examples: one person's neutral face with another's smile, and a face with its own
    smile (reenacted: the same-person box ticked)."""
    neutral, smiling = sorted(EXAMPLES.glob("*_03.jpg")), sorted(EXAMPLES.glob("*_08.jpg"))
    return [[str(neutral[0]), str(smiling[1]), False], [str(neutral[2]), str(smiling[3]), False],
            [str(neutral[1]), str(smiling[1]), True]]


# The photo stays in view while the controls scroll: beside them on a wide screen, above them on
# a phone (where it is kept to 40% of the screen's height).
LAYOUT_CSS = """
.gradio-container { overflow: visible !important; }   /* hidden would pin nothing: no sticky */
/* The viewer's own zoom reset is labelled "Undo" beside the app's Undo: hidden (the wheel zooms
   back out). */
#view button[aria-label="Undo"] { display: none !important; }
/* While an edit runs (Gradio marks the status pending), the status says so, in the accent colour:
   on a large photo that can take a second. */
#status [data-testid="status-tracker"] { display: none !important; }
#status [data-testid="markdown-wrapper"].pending { opacity: 1 !important; }
#status [data-testid="markdown-wrapper"].pending p::after {
  content: "  ·  working on the full-size photo…"; color: var(--color-accent, #f97316); font-weight: 600;
  animation: studio-pulse 1s ease-in-out infinite alternate; }
@keyframes studio-pulse { from { opacity: 1; } to { opacity: 0.35; } }
#faces-row { gap: 8px; }
@media (min-width: 900px) {
  #preview-col { position: sticky; top: 8px; align-self: flex-start; }
}
@media (max-width: 899px) {
  #preview-col { position: sticky; top: 0; z-index: 1000; padding-bottom: 4px;
                 background: var(--background-fill-primary, #fff); box-shadow: 0 4px 6px -6px #0004; }
  #view img { max-height: 38vh; object-fit: contain; }
  /* a control scrolled to (by the keyboard, or a link) lands below the pinned photo */
  #controls-col input, #controls-col button { scroll-margin-top: 56vh; }
}
"""

# Ctrl+Z / Ctrl+Shift+Z (Cmd on a Mac) press Undo / Redo, except while typing in a box, where
# they undo the typing as usual.
SHORTCUTS_HEAD = """<script>
document.addEventListener('keydown', (e) => {
  if (!(e.ctrlKey || e.metaKey) || e.altKey || e.key.toLowerCase() !== 'z') return;
  const t = e.target;
  if (t && (t.isContentEditable || t.tagName === 'TEXTAREA' ||
            (t.tagName === 'INPUT' && !['range', 'radio', 'checkbox', 'button'].includes(t.type)))) return;
  const button = document.querySelector(e.shiftKey ? '#redo' : '#undo');
  if (button) { e.preventDefault(); button.click(); }
});
</script>"""

# what a browser session holds: the Edit tab's, the Transfer tab's two photos, the Live tab's
EDIT, SIDE_A, SIDE_B, LIVE = "edit", "a", "b", "live"


def build_app(studio: Studio, config: AppConfig = AppConfig(), store: SessionStore | None = None) -> gr.Blocks:
    """The page. `store` holds every session's photos within config's memory limits (one is made
    from them when not given); the page keeps nothing large in Gradio's own state."""
    controls = Controls.for_model(studio.model)
    exports = sess.ExportFolder(config.export_dir, keep_seconds=config.cache_keep_s)
    store = store or SessionStore(config.limits())
    max_pixels = int(config.max_megapixels * 1e6)

    def held(request: gr.Request, slot: str = EDIT):
        return store.get(request.session_hash, slot)

    def mine(request: gr.Request):
        return _need(held(request))

    def working(request: gr.Request, nbytes: int):
        return store.working(request.session_hash, nbytes)

    def opening(request: gr.Request, path):
        """Reserve what decoding and analysing the photo at `path` needs while it runs."""
        return working(request, budget.open_bytes(min(declared_pixels(path), max_pixels)))

    def editing(request: gr.Request, session):
        """Reserve what an edit of this session's photo needs while it runs."""
        return working(request, budget.edit_bytes(session.pixels))

    def keep(request: gr.Request, session, slot: str = EDIT):
        store.put(request.session_hash, slot, session)
        return session

    def view_outputs(session):
        """ImageSlider value, status line and the recognizer's view of the current face."""
        return (session.before, sess.after_preview(session)), session.describe(), sess.expression(studio, session)

    def view_on_face(session):
        """The before/after view with its divider through the current face, so half of the face
        being edited shows the edit whichever face it is."""
        before, after = view_outputs(session)[0]
        return gr.update(value=(before, after), slider_position=divider_at(session.analyzed, session.face))

    def faces_shown(analyzed, selected: int):
        """The photo's faces outlined and numbered (shown only when there are several)."""
        return gr.update(value=face_map(analyzed, selected), visible=len(analyzed.faces) > 1)

    def light_name(session):
        """The light preset the photo's light is (None: none of them), for the preset buttons."""
        return preset_name(session.recipe.light)

    def recipe_shown(recipe: EditRecipe) -> list:
        """What every recipe control shows for a recipe, in `recipe_controls` order: the expression
        sliders, the part controls, pose and light, then the parts choice."""
        return [*controls.values(recipe), *controls.control_values(recipe), *controls.scene_values(recipe),
                parts_shown(recipe.parts)]

    def slider_recipe(session, values):
        """The current face's recipe with the expression sliders where they are (hidden
        coefficients, part controls, parts, pose and light kept)."""
        return controls.recipe(list(values), session.face, session.recipe.remove, controls.hidden(session.recipe),
                               scene=session.recipe)

    # ---- Edit tab handlers
    no_download = gr.update(value=None, visible=False)

    def clear_photo(request: gr.Request):
        store.put(request.session_hash, EDIT, None)
        return (None, "Upload a photo, take one with the webcam, or pick an example.", None,
                gr.update(value=None, visible=False),
                gr.update(value=[], visible=False), gr.update(choices=[], value=None, visible=False),
                no_download, *recipe_shown(EditRecipe()), gr.update(maximum=MAX_APP_FRAMES), None)

    recent_uploads: dict[str, tuple[str, float]] = {}   # session -> (upload, when it arrived); a few hundred at most

    @shown
    def open_photo(request: gr.Request, path, backend_name=None):
        if path is None:
            return clear_photo(request)
        last = recent_uploads.get(request.session_hash)
        if last and last[0] == path and time.monotonic() - last[1] < REPEAT_S:
            # The upload box reports a refused file twice, at once: one message is enough.
            return tuple(gr.skip() for _ in picker_outputs)
        if len(recent_uploads) >= 256:
            recent_uploads.pop(next(iter(recent_uploads)))
        recent_uploads[request.session_hash] = (path, time.monotonic())
        with opening(request, path):
            try:
                session = sess.open_photo(studio.with_backend(backend_name or studio.backend), path,
                                          max_pixels=max_pixels)
            except StudioError as exc:
                # The photo that was open stays open, with its edits and its undo history: it is
                # replaced only once the new one has opened.
                if held(request) is not None:
                    raise StudioError(f"{exc}; the photo you were editing is still open") from None
                raise
            keep(request, session)
            faces = len(session.analyzed.faces)
            thumbs = list(zip(face_thumbnails(session.analyzed), sess.face_captions(studio, session)))
        choices = [f"face {i + 1}" for i in range(faces)]
        return (view_on_face(session), *view_outputs(session)[1:], faces_shown(session.analyzed, 0),
                gr.update(value=thumbs, visible=faces > 1, selected_index=0),
                gr.update(choices=choices, value=choices[0], visible=faces > 1),
                no_download, *recipe_shown(session.recipe),
                gr.update(maximum=min(MAX_APP_FRAMES, budget.max_frames(session.pixels))), light_name(session))

    @shown
    def pick_face(request: gr.Request, choice):
        session = keep(request, sess.select_face(mine(request), _face_number(choice) - 1))
        return (view_on_face(session), session.describe(), sess.expression(studio, session),
                *recipe_shown(session.recipe), gr.update(selected_index=session.face),
                faces_shown(session.analyzed, session.face), light_name(session))

    def pick_face_from_gallery(evt: gr.SelectData):
        return f"face {evt.index + 1}"

    @shown
    def pick_face_on_map(request: gr.Request, evt: gr.SelectData):
        return f"face {face_at(mine(request).analyzed, evt.index) + 1}"

    @shown
    def move_sliders(request: gr.Request, *values):
        session = mine(request)
        with editing(request, session):
            session = keep(request, sess.set_recipe(studio, session, slider_recipe(session, values)))
        return view_outputs(session)

    @shown
    def move_controls(request: gr.Request, *values):
        """The part control sliders (eyes, brows, mouth); the rest of the recipe is kept."""
        session = mine(request)
        with editing(request, session):
            recipe = controls.with_controls(session.recipe, list(values))
            session = keep(request, sess.set_recipe(studio, session, recipe))
        return view_outputs(session)

    @shown
    def pick_parts(request: gr.Request, chosen):
        """Where the presets, components, removal and pose apply (the part controls act on their
        own parts whatever is ticked)."""
        session = mine(request)
        parts = chosen_parts(chosen, PARTS)
        if parts is None:
            # The boxes stay unticked, as one does on the way from one part to another (untick
            # the eyes, tick the mouth); the edit stays as it was until a box is ticked.
            gr.Warning(f"Tick at least one part; the expression and pose still apply to {where(session.recipe.parts)}",
                       title="No part chosen")
            return tuple(gr.skip() for _ in shown_outputs)
        with editing(request, session):
            session = keep(request, sess.set_recipe(studio, session, replace(session.recipe, parts=parts)))
        return view_outputs(session)

    @shown
    def move_scene(request: gr.Request, *values):
        session = mine(request)
        with editing(request, session):
            session = keep(request, sess.set_recipe(studio, session, controls.with_scene(session.recipe, list(values))))
        return *view_outputs(session), light_name(session)

    @shown
    def pick_light(request: gr.Request, name, *values):
        """A light preset moves the light sliders (the pose sliders stay)."""
        session = mine(request)
        light = controls.scene_values(replace(session.recipe, light=light_preset(name)))[len(POSE_SLIDERS):]
        values = list(values[:len(POSE_SLIDERS)]) + light
        with editing(request, session):
            session = keep(request, sess.set_recipe(studio, session, controls.with_scene(session.recipe, values)))
        return *view_outputs(session), *values

    def button(action):
        @shown
        def run(request: gr.Request):
            session = mine(request)
            with editing(request, session):
                session = keep(request, action(studio, session))
            return *view_outputs(session), *recipe_shown(session.recipe), light_name(session)
        run.__name__ = action.__name__
        return run

    @shown
    def choose_backend(request: gr.Request, name):
        session = held(request)
        if session is None:
            studio.with_backend(name)
            return None, "Upload a photo, take one with the webcam, or pick an example.", None
        with editing(request, session):
            session = keep(request, sess.set_backend(studio, session, name))
        return view_outputs(session)

    @shown
    def load_recipe(request: gr.Request, path):
        session = mine(request)
        if path is None:
            return tuple(gr.skip() for _ in recipe_outputs)
        with editing(request, session):
            session = keep(request, sess.apply_recipes(studio, session, load_recipes(path)))
        return (view_on_face(session), *view_outputs(session)[1:], f"face {session.face + 1}",
                gr.update(selected_index=session.face), faces_shown(session.analyzed, session.face),
                *recipe_shown(session.recipe), light_name(session))

    @shown
    def export_photo(request: gr.Request, fmt):
        session = mine(request)
        with editing(request, session), exports.writing() as folder:
            return str(sess.export_photo(session, fmt, folder))

    @shown
    def export_recipe(request: gr.Request):
        with exports.writing() as folder:
            return str(sess.export_recipe(mine(request), folder))

    # ---- Transfer tab handlers
    def analyze_side(slot):
        @shown
        def run(request: gr.Request, path):
            store.put(request.session_hash, slot, None)
            if path is None:
                return "No photo yet.", gr.update(value=None, visible=False), 1
            with opening(request, path):
                analyzed = keep(request, sess.analyze_file(studio, path, max_pixels=max_pixels), slot)
            count = len(analyzed.faces)
            found = f"{count} face{'s' if count != 1 else ''} found"
            if count > 1:
                found += ", numbered left to right: click one or type its number"
            return found, faces_shown(analyzed, 0), 1
        run.__name__ = f"load_{slot}"
        return run

    def side_face_shown(slot):
        """The side's faces redrawn with the chosen one marked (nothing while none is loaded)."""
        def run(request: gr.Request, number):
            analyzed = held(request, slot)
            if analyzed is None:
                return gr.skip()
            try:
                chosen = _face_number(number) - 1
            except StudioError:
                return gr.skip()
            return faces_shown(analyzed, chosen if 0 <= chosen < len(analyzed.faces) else None)
        run.__name__ = f"show_face_{slot}"
        return run

    def side_face_clicked(slot):
        @shown
        def run(request: gr.Request, evt: gr.SelectData):
            analyzed = held(request, slot)
            return gr.skip() if analyzed is None else face_at(analyzed, evt.index) + 1
        run.__name__ = f"click_face_{slot}"
        return run

    @shown
    def run_transfer(request: gr.Request, face_a, face_b, backend_name, same_person=False, parts=SHAPE_PARTS):
        a, b = held(request, SIDE_A), held(request, SIDE_B)
        if a is None or b is None:
            raise StudioError("upload both face A and face B first")
        parts = chosen_parts(parts, SHAPE_PARTS)
        if parts is None:
            raise StudioError("tick at least one part for the faces to take the other's expression on")
        with working(request, budget.transfer_bytes(a.pixels, b.pixels)), exports.writing() as folder:
            pictures = sess.transfer_pair(studio.with_backend(backend_name or studio.backend), a, b,
                                          _face_number(face_a) - 1, _face_number(face_b) - 1, folder,
                                          bool(same_person), parts)
            gallery = [(preview(p, 640), c) for p, c in zip(pictures.photos, pictures.captions)]
        return gallery, str(pictures.grid)

    # ---- Interpolate tab handler
    @shown
    def animate(request: gr.Request, begin, kind, preset, intensity, frames, bounce, *values):
        session = mine(request)
        start = sess.animation_start(session, begin == START_AT_EDIT)
        if kind == ANIMATE_TO_SLIDERS:
            target = slider_recipe(session, values)
        else:
            # from the edit, only the expression moves: its pose, light and part controls stay;
            # on the parts the Edit tab has chosen either way
            base = start if begin == START_AT_EDIT else EditRecipe(face=session.face, parts=session.recipe.parts)
            target = replace(base, presets={preset: float(intensity)}, coefficients={}, remove=False)
        budget.check_frames(int(frames), session.pixels)
        with working(request, budget.animation_bytes(session.pixels, int(frames))), exports.writing() as folder:
            made = sess.make_animation(studio, session, target, int(frames), folder, start=start, bounce=bool(bounce))
        return (str(made.strip), str(made.gif), str(made.mp4), [str(made.strip), str(made.gif), str(made.mp4)],
                made.start, made.end, made.summary)


    # ---- Video tab handlers: the Edit tab's recipe on every face of every frame of a clip
    def clip_checked(path) -> "app_video.ClipInfo":
        return app_video.check_clip(path, max_pixels)

    def edit_recipe(request: gr.Request):
        """The Edit tab's current face's recipe, with the renderer it uses."""
        session = held(request)
        if session is None:
            raise StudioError("open a photo in the Edit tab and set the edit there first: the clip takes "
                              "that tab's expression, pose and light")
        return session.recipe, studio.with_backend(session.backend)

    no_clip = "Upload a clip (.mp4, .mov, .mkv or .webm, at most " \
              f"{app_video.MAX_CLIP_SECONDS / 60:g} minutes)."

    @shown
    def open_clip(request: gr.Request, path):
        if path is None:
            return no_clip, gr.update(value=0, maximum=1, interactive=False), None, "", None, None
        info = clip_checked(path)
        last = max(info.frames - 1, 1)
        return (app_video.describe_clip(info), gr.update(value=0, maximum=last, interactive=True), None, "",
                None, None)

    @shown
    def preview_clip(request: gr.Request, path, index):
        if path is None:
            raise StudioError("upload a clip first")
        info = clip_checked(path)
        recipe, renderer = edit_recipe(request)
        with working(request, budget.edit_bytes(info.size[0] * info.size[1])):
            return app_video.preview_frame(renderer, path, int(index or 0), recipe)

    @shown
    def render_clip(request: gr.Request, path, progress=gr.Progress()):
        if path is None:
            raise StudioError("upload a clip first")
        info = clip_checked(path)
        recipe, renderer = edit_recipe(request)
        progress((0, max(info.frames, 1)), desc="Editing frames", unit="frames")

        def done(count, total):
            progress((count, max(total, count)), desc="Editing frames", unit="frames")

        with working(request, budget.edit_bytes(info.size[0] * info.size[1])), exports.writing() as folder:
            output, summary = app_video.render_clip(renderer, path, recipe, folder, progress=done)
        return str(output), str(output), summary

    # ---- Live tab: the webcam's frames drive a photo (video.live), with the geometry renderer,
    # the fastest; the stored value is the photo at the live size and its stream's state
    live_config = LiveConfig()
    live_renderer = studio.with_backend("geometry")
    no_live_photo = "Choose the photo to drive: upload one or pick an example."

    def live_settings(face, with_pose, parts) -> tuple[int, bool, tuple[str, ...]]:
        chosen = chosen_parts(parts, SHAPE_PARTS)
        if chosen is None:
            raise StudioError("tick at least one part for the photo to follow")
        if chosen and with_pose:
            chosen += ("pose",)
        return _face_number(face) - 1, bool(with_pose), chosen

    @shown
    def open_live(request: gr.Request, path):
        store.put(request.session_hash, LIVE, None)
        if path is None:
            return no_live_photo, None, 1
        with opening(request, path):
            full = sess.analyze_file(studio, path, max_pixels=max_pixels)
            photo = live_photo(live_renderer, full.photo, live_config)
        if not photo.faces:
            raise StudioError(f"the face is too small to drive at {live_config.side} px; use a photo where it "
                              "fills more of the picture")
        keep(request, (photo, None), LIVE)
        count = len(photo.faces)
        found = f"{count} face{'s' if count != 1 else ''} found"
        found += ", numbered left to right" if count > 1 else ""
        return (f"{found}. Start the camera and press Record: the photo follows your face.",
                preview(photo.photo), 1)

    def live_frame(request: gr.Request, frame, face, with_pose, parts):
        """One camera frame in, the driven photo and the rate out; a problem is said in the rate's
        line, not raised, so the stream keeps running while the user fixes it."""
        if frame is None:
            return gr.skip(), gr.skip()
        held_live = store.get(request.session_hash, LIVE)
        if held_live is None:
            return gr.skip(), no_live_photo
        photo, live = held_live
        try:
            settings = live_settings(face, with_pose, parts)
            if live is None or live.settings() != settings:
                live = LiveDrive(live_renderer, photo, *settings, config=live_config)
                store.put(request.session_hash, LIVE, (photo, live))
            shown_frame = live(frame)
        except StudioError as exc:
            return gr.skip(), f"**{exc}**"
        except Exception as exc:   # a bug: logged, said in one line, and the stream goes on
            log.exception("live frame failed")
            return gr.skip(), f"**internal error ({exc.__class__.__name__}); the photo is left as it was**"
        return shown_frame.rgb, shown_frame.describe()

    def restart_live(request: gr.Request):
        held_live = store.get(request.session_hash, LIVE)
        if held_live is not None and held_live[1] is not None:
            held_live[1].restart()
            return "The next face the camera sees is your neutral one."
        return gr.skip()

    # Every preview the page shows is a file in Gradio's cache: sweep old ones so disk stays bounded.
    with gr.Blocks(title="Face expression studio", delete_cache=(config.cache_sweep_s, config.cache_keep_s)) as demo:
        gr.Markdown("## Face expression studio\nChange the expression, head pose and light of a face in a photo. "
                    "Edits run on the full-resolution photo; the page shows a preview.")
        with gr.Tab("Edit", id="edit"):
            # The photo and the controls side by side: the photo column stays in view (sticky)
            # while the controls scroll; on a phone the photo sits above the controls and stays.
            with gr.Row(equal_height=False):
                with gr.Column(scale=3, min_width=320, elem_id="preview-col"):
                    view = gr.ImageSlider(label="Before | after (drag the divider)", type="numpy",
                                          format="jpeg", elem_id="view", max_height=560,
                                          buttons=["fullscreen"], interactive=False)
                    status = gr.Markdown("Upload a photo, take one with the webcam, or pick an example.",
                                         elem_id="status")
                    with gr.Row():
                        remove_btn = gr.Button("Remove expression", elem_id="remove", size="sm", min_width=80)
                        reset_btn = gr.Button("Reset", elem_id="reset", size="sm", min_width=80)
                        undo_btn = gr.Button("Undo", elem_id="undo", size="sm", min_width=80)
                        redo_btn = gr.Button("Redo", elem_id="redo", size="sm", min_width=80)
                with gr.Column(scale=2, min_width=320, elem_id="controls-col"):
                    photo_in = photo_input(label="Photo", sources=["upload", "webcam", "clipboard"], height=220,
                                           elem_id="photo-in")
                    faces_map = gr.Image(label="Faces, numbered left to right (click one to edit it)",
                                         type="numpy", format="jpeg", interactive=False, visible=False,
                                         height=220, buttons=[], elem_id="face-map")
                    faces_gallery = gr.Gallery(label="How the recognizer reads each face (click one to edit it)",
                                               visible=False, columns=4, height="auto", allow_preview=False,
                                               object_fit="contain", fit_columns=False, elem_id="faces")
                    with gr.Accordion("Example faces (London set, CC BY 4.0)", open=True, elem_id="examples"):
                        gr.Examples(example_photos(), inputs=photo_in, label=None, examples_per_page=12)
                    face_pick = gr.Radio([], label="Face being edited", visible=False, elem_id="face-pick")
                    with gr.Accordion("Expression", open=True, elem_id="group-expression"):
                        expression_label = gr.Label(label="How the edited face reads (expression recognizer)",
                                                    num_top_classes=3, elem_id="expression",
                                                    visible=studio.recognizer is not None)
                        gr.Markdown("1 = as far as a typical posed photo of the expression, 1.5 = a strong one")
                        preset_sliders = [clamped_slider(s.minimum, s.maximum, 0.0, step=0.05, label=s.label.capitalize(),
                                                    elem_id=f"slider-{s.key}") for s in controls.presets]
                        # as the Expression Editor's "only the eyes": the rest of the face as photographed
                        parts_pick = gr.CheckboxGroup(list(PARTS), value=list(PARTS),
                                                      label="Apply the expression and pose to",
                                                      info="unticked parts stay as photographed; the Eyes, "
                                                           "Brows and Mouth sliders below act on their own part "
                                                           "whatever is ticked", elem_id="parts")
                    # The part controls, one group each (geometry.face_controls), in part_controls order
                    control_sliders = []
                    for group in GROUPS:
                        with gr.Accordion(group.capitalize(), open=True, elem_id=f"group-{group}"):
                            control_sliders += [clamped_slider(c.minimum, c.maximum, 0.0, step=0.05, label=c.label,
                                                               info=c.help, elem_id=f"slider-{c.name}")
                                                for c in controls.part_controls if c.group == group]
                    with gr.Accordion("Head pose", open=True, elem_id="group-pose"):
                        pose_sliders = [clamped_slider(s.minimum, s.maximum, s.rest, step=s.step, label=s.label,
                                                  info=s.info or None, elem_id=f"slider-{s.key}")
                                        for s in POSE_SLIDERS]
                    with gr.Accordion("Light", open=True, elem_id="group-light"):
                        light_pick = gr.Radio(list(LIGHT_PRESETS), label="Light preset", elem_id="light-preset")
                        light_sliders = [clamped_slider(s.minimum, s.maximum, s.rest, step=s.step, label=s.label,
                                                   info=s.info or None, elem_id=f"slider-{s.key}")
                                         for s in LIGHT_SLIDERS]
                    with gr.Accordion("Export and recipes", open=True, elem_id="group-export"):
                        with gr.Row():
                            export_format = gr.Radio(list(sess.EXPORT_FORMATS), value="PNG", label="Format",
                                                     min_width=120)
                            export_btn = gr.Button("Export photo (full resolution)", variant="primary",
                                                   elem_id="export")
                        export_file = gr.File(label="Download", elem_id="download", interactive=False, visible=False)
                        with gr.Row():
                            recipe_btn = gr.Button("Export recipe (JSON)", elem_id="export-recipe", size="sm")
                            recipe_in = file_input(label="Load a recipe", file_types=[".json"], elem_id="recipe-in",
                                                   height=110)
                    with gr.Accordion("Advanced", open=False, elem_id="group-advanced"):
                        gr.Markdown("Fine controls: the shape model's leading components")
                        component_sliders = [clamped_slider(s.minimum, s.maximum, 0.0, step=0.1, label=s.label,
                                                       info=s.info or None, elem_id=f"slider-{s.key}")
                                             for s in controls.components]
                        backend = gr.Radio(list(studio.backends), value=studio.backend, label="Renderer",
                                           info="geometry: the landmark-guided warp; generator: the warp refined "
                                                "by the trained G2-GAN generators (when their weights exist); both "
                                                "draw the expression's learned creases and shading",
                                           interactive=len(studio.backends) > 1, elem_id="backend")
                        gr.Markdown(f"Networks run on {describe_device(studio.device)}; choose with "
                                    "`--device` when starting the app.", elem_id="device")
            sliders = preset_sliders + component_sliders
            scene_sliders = pose_sliders + light_sliders
            all_sliders = sliders + control_sliders + scene_sliders
            recipe_controls = [*all_sliders, parts_pick]   # what shows the current face's recipe

        with gr.Tab("Transfer", id="transfer"):
            with gr.Row():
                with gr.Column():
                    a_in = photo_input(label="Face A", height=260, elem_id="a-in")
                    a_info = gr.Markdown("No photo yet.")
                    a_map = gr.Image(label="Faces in A (click one)", type="numpy", format="jpeg", interactive=False,
                                     visible=False, height=220, buttons=[], elem_id="a-map")
                    face_a = gr.Number(1, label="Face in A (1 = the leftmost)", precision=0, minimum=1,
                                       elem_id="face-a")
                with gr.Column():
                    b_in = photo_input(label="Face B", height=260, elem_id="b-in")
                    b_info = gr.Markdown("No photo yet.")
                    b_map = gr.Image(label="Faces in B (click one)", type="numpy", format="jpeg", interactive=False,
                                     visible=False, height=220, buttons=[], elem_id="b-map")
                    face_b = gr.Number(1, label="Face in B (1 = the leftmost)", precision=0, minimum=1,
                                       elem_id="face-b")
            with gr.Row():
                same_person = gr.Checkbox(False, label="B is A's own face (reenactment): measure B's expression "
                                          "from A", elem_id="same-person")
                transfer_parts = gr.CheckboxGroup(list(SHAPE_PARTS), value=list(SHAPE_PARTS),
                                                  label="Each face takes the other's expression on",
                                                  info="all three: the whole face; unticked parts stay as "
                                                       "photographed", elem_id="transfer-parts")
            gr.Examples(example_pairs(), inputs=[a_in, b_in, same_person], label="Example pairs")
            transfer_btn = gr.Button("Transfer expressions", variant="primary", elem_id="transfer-run")
            transfer_view = gr.Gallery(label="Each face, neutralised, and with the other's expression",
                                       columns=3, height=460, object_fit="contain", format="jpeg",
                                       elem_id="transfer-view")
            transfer_file = gr.File(label="Grid (PNG)", interactive=False, elem_id="transfer-grid")

        with gr.Tab("Interpolate", id="interpolate"):
            gr.Markdown("The Edit tab's face moving to a new expression, in N steps.")
            with gr.Row():
                animate_from = gr.Radio([START_AT_PHOTO, START_AT_EDIT], value=START_AT_PHOTO, label="Start from",
                                        elem_id="animate-from")
                animate_to = gr.Radio([ANIMATE_TO_PRESET, ANIMATE_TO_SLIDERS], value=ANIMATE_TO_PRESET,
                                      label="Animate to")
                target_preset = gr.Dropdown([s.key for s in controls.presets], value=controls.presets[0].key,
                                            label="Preset")
                target_intensity = gr.Slider(0.0, 1.5, 1.0, step=0.05, label="Intensity")
            with gr.Row():
                frames = gr.Slider(2, MAX_APP_FRAMES, 12, step=1, label="Frames, from start to end",
                                   info="fewer for very large photos: each frame is a whole edit", elem_id="frames")
                bounce = gr.Checkbox(True, label="Play there and back (a smooth loop)", elem_id="bounce")
            animate_btn = gr.Button("Make animation", variant="primary", elem_id="animate")
            animation_summary = gr.Markdown(elem_id="animation-summary")
            with gr.Row(elem_id="animation-ends"):
                animation_start = gr.Image(label="Start", type="numpy", format="jpeg", interactive=False,
                                           height=260, buttons=[], elem_id="animation-start")
                animation_end = gr.Image(label="End", type="numpy", format="jpeg", interactive=False,
                                         height=260, buttons=[], elem_id="animation-end")
            with gr.Row():
                animation = gr.Image(label="Animation (GIF)", type="filepath", elem_id="animation", height=360)
                video = gr.Video(label="Video (MP4)", autoplay=True, loop=True, height=360)
            strip = gr.Image(label="Frames", type="filepath", elem_id="strip")
            animation_files = gr.File(label="Downloads: strip, GIF, MP4", file_count="multiple", interactive=False)

        with gr.Tab("Video", id="video"):
            gr.Markdown("A clip with the Edit tab's expression, pose and light on every face of every frame "
                        "(faces are tracked from frame to frame).")
            with gr.Row():
                with gr.Column():
                    clip_in = file_input(label="Clip", file_types=list(app_video.CLIP_SUFFIXES), height=140,
                                         elem_id="clip-in")
                    clip_info = gr.Markdown(no_clip, elem_id="clip-info")
                    clip_frame = gr.Slider(0, 1, 0, step=1, label="Frame to preview (from 0)", interactive=False,
                                           elem_id="clip-frame")
                    with gr.Row():
                        clip_preview_btn = gr.Button("Preview a frame", elem_id="clip-preview-run")
                        clip_render_btn = gr.Button("Render video", variant="primary", elem_id="clip-render")
                    clip_note = gr.Markdown(elem_id="clip-note")
                with gr.Column():
                    clip_preview = gr.Image(label="The frame, edited", type="numpy", format="jpeg",
                                            interactive=False, height=320, buttons=[], elem_id="clip-preview")
                    clip_out = gr.Video(label="Edited clip", height=320, elem_id="clip-out", interactive=False)
                    clip_file = gr.File(label="Download the edited clip (MP4)", interactive=False,
                                        elem_id="clip-file")

        with gr.Tab("Live", id="live"):
            gr.Markdown("Your webcam drives a photo: the photo's face takes your expression (and, ticked, "
                        "your head's movement) as you make it, relative to your face when you press Record.")
            with gr.Row():
                with gr.Column(scale=2, min_width=280):
                    live_in = photo_input(label="Photo to drive", height=220, elem_id="live-photo")
                    live_info = gr.Markdown(no_live_photo, elem_id="live-info")
                    gr.Examples(example_photos()[:6], inputs=live_in, label="Example faces", examples_per_page=6)
                    live_face = gr.Number(1, label="Face to drive (1 = the leftmost)", precision=0, minimum=1,
                                          elem_id="live-face")
                    live_pose = gr.Checkbox(True, label="Follow my head's movement too", elem_id="live-pose")
                    live_parts = gr.CheckboxGroup(list(SHAPE_PARTS), value=list(SHAPE_PARTS),
                                                  label="The photo follows my", elem_id="live-parts")
                    live_restart = gr.Button("Take my face now as neutral", size="sm", elem_id="live-restart")
                with gr.Column(scale=3, min_width=320):
                    live_cam = gr.Image(label="Your camera (Record starts the stream)", sources=["webcam"],
                                        streaming=True, type="numpy", height=360, elem_id="live-cam",
                                        webcam_options=gr.WebcamOptions(mirror=live_config.mirror))
                with gr.Column(scale=3, min_width=320):
                    live_out = gr.Image(label="The photo, following you", type="numpy", format="jpeg",
                                        interactive=False, height=360, buttons=["fullscreen"], elem_id="live-out")
                    live_stats = gr.Markdown("The frame rate shows here while the camera streams.",
                                             elem_id="live-stats")

        # ---- wiring
        shown_outputs = [view, status, expression_label]   # how the session's photo looks
        # An edit in progress shows as "working" in the status line alone (LAYOUT_CSS), not as a
        # spinner over every control it will update.
        working_shown = dict(show_progress="minimal", show_progress_on=[status])
        picker_outputs = [*shown_outputs, faces_map, faces_gallery, face_pick, export_file, *recipe_controls, frames,
                          light_pick]
        photo_in.change(open_photo, [photo_in, backend], picker_outputs, api_name="open_photo", show_progress="hidden")
        pick_outputs = [view, status, expression_label, *recipe_controls, faces_gallery, faces_map, light_pick]
        face_pick.input(pick_face, [face_pick], pick_outputs, api_name="pick_face")
        faces_gallery.select(pick_face_from_gallery, None, face_pick, api_visibility="private").then(
            pick_face, [face_pick], pick_outputs, api_visibility="private")
        faces_map.select(pick_face_on_map, None, face_pick, api_visibility="private").success(
            pick_face, [face_pick], pick_outputs, api_visibility="private")
        # One listener for all sliders: while an edit runs, only the newest slider state waits.
        gr.on([s.input for s in sliders], move_sliders, sliders, shown_outputs,
              trigger_mode="always_last", api_name="edit", **working_shown,
              concurrency_id="render")
        gr.on([s.input for s in control_sliders], move_controls, control_sliders, shown_outputs,
              trigger_mode="always_last", api_name="controls", **working_shown,
              concurrency_id="render")
        parts_pick.input(pick_parts, [parts_pick], shown_outputs, trigger_mode="always_last", api_name="parts",
                         concurrency_id="render", **working_shown)
        gr.on([s.input for s in scene_sliders], move_scene, scene_sliders, [*shown_outputs, light_pick],
              trigger_mode="always_last", api_name="pose_light", **working_shown,
              concurrency_id="render")
        light_pick.input(pick_light, [light_pick, *scene_sliders], [*shown_outputs, *scene_sliders],
                         api_name="light_preset", concurrency_id="render", **working_shown)
        edit_outputs = [*shown_outputs, *recipe_controls]
        for btn, action in ((remove_btn, sess.remove_expression), (reset_btn, sess.reset), (undo_btn, sess.undo),
                            (redo_btn, sess.redo)):
            btn.click(button(action), None, [*edit_outputs, light_pick], api_name=action.__name__,
                      concurrency_id="render", **working_shown)
        recipe_outputs = [*shown_outputs, face_pick, faces_gallery, faces_map, *recipe_controls, light_pick]
        recipe_in.upload(load_recipe, [recipe_in], recipe_outputs, api_name="load_recipe", concurrency_id="render",
                         **working_shown)
        for btn, fn, inputs in ((export_btn, export_photo, [export_format]), (recipe_btn, export_recipe, None)):
            btn.click(fn, inputs, export_file, api_name=fn.__name__).success(
                lambda: gr.update(visible=True), None, export_file, queue=False, api_visibility="private")

        for slot, side_in, info, side_map, number in ((SIDE_A, a_in, a_info, a_map, face_a),
                                                       (SIDE_B, b_in, b_info, b_map, face_b)):
            side_in.change(analyze_side(slot), side_in, [info, side_map, number], api_name=f"load_{slot}")
            number.change(side_face_shown(slot), number, side_map, api_visibility="private", show_progress="hidden")
            side_map.select(side_face_clicked(slot), None, number, api_visibility="private")
        backend.input(choose_backend, [backend], shown_outputs, api_name="backend",
                      concurrency_id="render")
        transfer_btn.click(run_transfer, [face_a, face_b, backend, same_person, transfer_parts],
                           [transfer_view, transfer_file],
                           api_name="transfer", concurrency_id="render")
        animate_btn.click(animate, [animate_from, animate_to, target_preset, target_intensity, frames, bounce, *sliders],
                          [strip, animation, video, animation_files, animation_start, animation_end, animation_summary],
                          api_name="interpolate", concurrency_id="render")

        clip_in.change(open_clip, [clip_in], [clip_info, clip_frame, clip_preview, clip_note, clip_out, clip_file],
                       api_name="load_video", show_progress="hidden")
        clip_preview_btn.click(preview_clip, [clip_in, clip_frame], [clip_preview, clip_note], api_name="video_frame",
                               concurrency_id="render")
        # a render takes minutes: one at a time, beside (not instead of) the edits
        clip_render_btn.click(render_clip, [clip_in], [clip_out, clip_file, clip_note], api_name="render_video",
                              concurrency_id="video", concurrency_limit=1)

        live_in.change(open_live, [live_in], [live_info, live_out, live_face], api_name="load_live",
                       show_progress="hidden")
        # the camera sends 15 frames a second; while one is being drawn only the newest waits;
        # one Record runs at most 10 minutes (Gradio's time limit), then Record starts it again
        live_cam.stream(live_frame, [live_cam, live_face, live_pose, live_parts], [live_out, live_stats],
                        stream_every=1 / 15, time_limit=600, concurrency_id="live",
                        concurrency_limit=config.concurrency, show_progress="hidden", api_name="live_frame")
        live_restart.click(restart_live, None, live_stats, api_name="live_restart", show_progress="hidden")

        def forget(request: gr.Request):   # the tab closed: its photos go
            store.drop(request.session_hash)

        demo.unload(forget)
    demo.queue(default_concurrency_limit=config.concurrency, max_size=config.max_queue)
    demo.studio_store = store   # for the server's sweeper and for tests
    demo.studio_device = studio.device
    return demo


def launch(demo: gr.Blocks, config: AppConfig, folders: ServerFolders | None = None, **kwargs):
    """Serve the page; with `folders` (the server's own, see server_files), old files in them
    are swept, and idle sessions dropped, every config.cache_sweep_s seconds while it runs."""
    chores = [demo.studio_store.expire, lambda: sweep_gradio_cache(demo, config.cache_keep_s)]
    if folders is not None:
        chores.append(lambda: folders.sweep(config.cache_keep_s))
    janitor = Janitor(config.cache_sweep_s, *chores).start()
    demo.studio_janitor = janitor
    from starlette.middleware import Middleware

    from studio.interfaces.disconnects import QuietDisconnects

    app_kwargs = {**kwargs.pop("app_kwargs", {}), "middleware": [Middleware(QuietDisconnects)]}
    block = not kwargs.pop("prevent_thread_lock", False)
    quiet = kwargs.pop("quiet", False)   # a server inside a test or a bench prints nothing
    try:
        # quiet: Gradio's own start-up lines tell people to set share=True in code; ours name the flag
        result = demo.launch(server_name=config.host, server_port=config.port, share=config.share,
                             css=LAYOUT_CSS, head=SHORTCUTS_HEAD, quiet=True, prevent_thread_lock=True,
                             state_session_capacity=config.max_sessions, max_file_size=f"{config.max_upload_mb}mb",
                             show_error=True, footer_links=["api"], app_kwargs=app_kwargs, **kwargs)
        if not quiet:
            print(f"* The studio is on {demo.local_url} · networks on {describe_device(demo.studio_device)}", flush=True)
            if not config.share:
                print("* For a public link as well, start it with --share", flush=True)
        if block:
            demo.block_thread()
        return result
    finally:
        if block:
            janitor.stop()
