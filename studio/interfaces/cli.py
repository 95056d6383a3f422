"""Command line: `face-studio edit|transfer|interpolate|landmarks|bench|build-shape-model|
build-appearance|train|train-neutralizer|export-generators|evaluate-generators|train-recognizer|eval`.

Bad input ends with one `error: ...` line on stderr and exit code 2; nothing is half written and
no input is overwritten. STUDIO_DEBUG=1 shows tracebacks of unexpected failures.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import threading
import traceback
from dataclasses import replace
from pathlib import Path

from studio import paths
from studio.devices import DEVICE_CHOICES, DEVICE_HELP
from studio.errors import StudioError, shown
from studio.face.image_io import MAX_PIXELS
from studio.interfaces import cli_augment, cli_eval

EXIT_USAGE = 2
EXIT_INTERNAL = 1


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, no usage dump
        raise StudioError(message)


def _pair(text: str, key=str) -> tuple:
    """'NAME=VALUE' -> (key(NAME), float(VALUE)), with a clear message when malformed."""
    name, sep, value = text.partition("=")
    if not sep or not name:
        raise StudioError(f"expected NAME=VALUE, got {shown(text)}")
    try:
        return key(name), float(value)
    except ValueError:
        raise StudioError(f"{shown(text)} needs a {'number' if key is str else 'whole-number index and a number'}") from None


def _parts(text: str) -> tuple[str, ...]:
    """argparse type: 'eyes,mouth' -> ('eyes', 'mouth'), each a known part."""
    from studio.geometry.face_parts import PARTS

    names = tuple(t.strip() for t in text.split(",") if t.strip())
    unknown = [n for n in names if n not in PARTS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"parts are {', '.join(PARTS)} (comma-separated), got {shown(text)}")
    return names


def _positive_number(text: str) -> float:
    """argparse type: a finite number above 0 (not nan, inf, 0 or -1)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number, got {shown(text)}") from None
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a finite positive number, got {shown(text)}")
    return value


def _whole_number(low: int):
    """argparse type: an integer of at least `low`."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"must be a whole number, got {shown(text)}") from None
        if value < low:
            raise argparse.ArgumentTypeError(f"must be at least {low}, got {value}")
        return value
    return parse


FACE_HELP = "which face: 0 = the leftmost (faces are numbered left to right, as the app shows them), or 'largest'"


def _face_choice(text: str):
    """argparse type: a face index (0 or more) or "largest" (studio.face.landmarks.LARGEST,
    spelt out so building the parser stays light)."""
    if text.strip().lower() == "largest":
        return "largest"
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a face index (0 = the leftmost) or 'largest', got {shown(text)}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0 (0 = the leftmost face) or 'largest', got {value}")
    return value


# studio.geometry.shading.LIGHT_PRESETS' names, spelt out so building the parser stays light
LIGHT_PRESET_NAMES = ("normal", "weak", "dark", "left", "right", "top")
LIGHT_FLAGS = {"light_azimuth": "azimuth", "light_elevation": "elevation", "light_intensity": "intensity",
               "ambient": "ambient", "light_temperature": "temperature"}
# studio.synthesis.networks.REGIONS, spelt out so building the parser does not import torch
GENERATOR_REGIONS = ("lips", "mouth", "features", "anywhere")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="face-studio", description="Face expression studio")
    parser.add_argument("--max-megapixels", type=_positive_number, default=MAX_PIXELS / 1e6,
                        help=f"refuse photos larger than this (default {MAX_PIXELS / 1e6:g})")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    def device_flag(p):
        p.add_argument("--device", choices=DEVICE_CHOICES, default="auto", help=DEVICE_HELP)

    def backend_flag(p):
        device_flag(p)
        p.add_argument("--backend", choices=("geometry", "generator"), default=None,
                       help="geometry (the warp alone) or generator (the warp refined by the trained "
                            "generators; the default when weights/g2gan.safetensors exists)")

    def parts_flag(p, what: str):
        p.add_argument("--parts", type=_parts, default=None, metavar="PARTS",
                       help=f"{what}: comma-separated, of eyes, brows, mouth, pose (default: all)")

    def recipe_flags(p):
        p.add_argument("--face", type=_face_choice, default=None, help=FACE_HELP)
        p.add_argument("--preset", action="append", default=[], metavar="NAME=INTENSITY",
                       help="expression preset and intensity 0..1.5 (repeatable)")
        p.add_argument("--pc", action="append", default=[], metavar="K=VALUE",
                       help="step of expression coefficient K, in standard deviations (repeatable)")
        p.add_argument("--remove", action="store_true", help="take the face's expression out first")
        p.add_argument("--control", action="append", default=[], metavar="NAME=VALUE",
                       help="a part of the face: eyes_open, blink, gaze_x, smile... (repeatable; "
                            "`face-studio controls` lists them)")
        parts_flag(p, "the presets, components and removal change only these parts")
        p.add_argument("--recipe", type=Path, help="start from a JSON recipe")
        pose = p.add_argument_group("head pose (degrees)")
        pose.add_argument("--yaw", type=float, default=None, help="turn, -45..45 (+ turns the nose to the image's left)")
        pose.add_argument("--pitch", type=float, default=None, help="nod, -30..30 (+ tips the chin down)")
        pose.add_argument("--roll", type=float, default=None, help="tilt, -30..30 (+ clockwise)")
        light = p.add_argument_group("light (one per photo; a preset, then any of its values changed)")
        light.add_argument("--light-preset", choices=LIGHT_PRESET_NAMES, default=None)
        light.add_argument("--light-azimuth", type=float, default=None,
                           help="degrees -180..180, + from the image's right (90 side-on, 180 from behind)")
        light.add_argument("--light-elevation", type=float, default=None, help="degrees -90..90, + from above")
        light.add_argument("--light-intensity", type=float, default=None, help="direct light 0..2 (1 as photographed)")
        light.add_argument("--ambient", type=float, default=None, help="light from all around 0..1 (0.4 as photographed)")
        light.add_argument("--light-temperature", type=float, default=None,
                           help="colour in kelvin 2500..10000 (6500 as photographed; lower is warmer)")

    edit = sub.add_parser("edit", help="change a face's expression")
    edit.add_argument("input", type=Path)
    edit.add_argument("-o", "--output", type=Path, required=True)
    recipe_flags(edit)
    backend_flag(edit)
    edit.add_argument("--save-recipe", type=Path, help="write the edit's JSON recipe here")

    video = sub.add_parser("video", help="edit every frame of a clip (faces tracked, landmarks smoothed, audio kept)")
    video.add_argument("input", type=Path)
    video.add_argument("-o", "--output", type=Path, required=True, help=".mp4, .mov or .mkv")
    recipe_flags(video)
    backend_flag(video)
    video.add_argument("--quiet", action="store_true", help="no progress bar")

    drive = sub.add_parser("drive", help="animate a photo's face with a driving clip's expression (and head)")
    drive.add_argument("photo", type=Path)
    drive.add_argument("--driver", type=Path, required=True, help="the driving clip")
    drive.add_argument("-o", "--output", type=Path, required=True, help=".mp4, .mov or .mkv")
    drive.add_argument("--face", type=_face_choice, default=0, help=f"the face in the photo; {FACE_HELP}")
    drive.add_argument("--with-pose", action="store_true", help="the head turns as the driver's does")
    drive.add_argument("--driver-neutral", type=Path, default=None,
                       help="a photo of the driver's neutral face: movement is measured from it, not from the first frame")
    parts_flag(drive, "the photo takes the driver's movement on these parts only")
    backend_flag(drive)
    drive.add_argument("--quiet", action="store_true", help="no progress bar")

    transfer = sub.add_parser("transfer", help="give face A the expression of face B")
    transfer.add_argument("a", type=Path)
    transfer.add_argument("b", type=Path)
    transfer.add_argument("-o", "--output", type=Path, required=True, help="A with B's expression")
    transfer.add_argument("--both", type=Path, help="also write B with A's expression here")
    transfer.add_argument("--face-a", type=_face_choice, default=0, help=f"the face in A; {FACE_HELP}")
    transfer.add_argument("--face-b", type=_face_choice, default=0, help=f"the face in B; {FACE_HELP}")
    same = transfer.add_mutually_exclusive_group()
    parts_flag(transfer, "each face takes the other's expression on these parts only")
    same.add_argument("--same-person", action="store_true",
                      help="B is A's own face with another expression (reenactment): B's expression is measured from A")
    same.add_argument("--b-neutral", type=Path, help="a photo of B's neutral face: B's expression is measured from it")
    backend_flag(transfer)

    inter = sub.add_parser("interpolate", help="frames from the face as it is to a new expression")
    inter.add_argument("input", type=Path)
    inter.add_argument("--to", action="append", default=[], metavar="NAME=INTENSITY", required=True)
    inter.add_argument("--frames", type=int, default=9, help="frames from start to end (default 9)")
    inter.add_argument("--once", action="store_true",
                       help="a GIF or MP4 plays the frames once (default: forward and back, a smooth loop)")
    inter.add_argument("-o", "--output", type=Path, required=True, help=".gif, .mp4 or .png (a strip)")
    inter.add_argument("--face", type=_face_choice, default=0, help=FACE_HELP)
    inter.add_argument("--remove", action="store_true", help="end on the neutral face plus --to")
    backend_flag(inter)

    controls = sub.add_parser("controls", help="the controls for the parts of the face: names, ranges, what they do")
    controls.add_argument("--json", action="store_true")
    marks = sub.add_parser("landmarks", help="faces, boxes, 478 points and expression coefficients")
    device_flag(marks)
    marks.add_argument("input", type=Path)
    marks.add_argument("--json", action="store_true", help="print JSON (default: a short summary)")

    bench = sub.add_parser("bench", help="time detection, fitting, warp and the cached edit")
    device_flag(bench)
    bench.add_argument("--json", action="store_true")
    bench.add_argument("--repeats", type=_whole_number(1), default=None,
                       help="samples per measurement (default 15; 8 with --browser)")
    bench.add_argument("--app", action="store_true", help="time the app end to end (served locally)")
    bench.add_argument("--browser", action="store_true",
                       help="time from letting go of a slider to the new image in Chromium, at 1, 4 and 12 MP")
    bench.add_argument("--video", action="store_true", help="frames per second of video and drive on a 720p clip")
    bench.add_argument("--augment", action="store_true",
                       help="augment's images per second at 1 MP and 256 px, 1 and 2 workers, and on local Ray")
    bench.add_argument("--soak", action="store_true", help="32 clients editing at once: requests/s, p50/p95, memory")
    bench.add_argument("--memory", action="store_true",
                       help="memory per photo size: open, edit, export, animation, a session; people a server holds")
    bench.add_argument("--clients", type=_whole_number(1), default=32, help="with --soak (at most 32 photos of their own)")
    bench.add_argument("--seconds", type=_positive_number, default=60.0, help="with --soak")

    build = sub.add_parser("build-shape-model", help="learn the shape model from the face sets")
    build.add_argument("--faces-dir", type=Path, default=None)
    build.add_argument("--output", type=Path, default=paths.SHAPE_MODEL_PATH)
    build.add_argument("--cache-dir", type=Path, default=paths.REPO_ROOT / ".cache")
    appearance = sub.add_parser("build-appearance",
                                help="learn the expressions' creases and shading (ratio images) from the face sets")
    appearance.add_argument("--faces-dir", type=Path, default=None)
    appearance.add_argument("--output", type=Path, default=paths.APPEARANCE_PATH)
    appearance.add_argument("--cache-dir", type=Path, default=paths.REPO_ROOT / ".cache")
    train = sub.add_parser("train", help="train the G2-GAN generators (resumes from the run folder)")
    train.add_argument("--faces-dir", type=Path, default=None)
    train.add_argument("--run-dir", type=Path, default=paths.REPO_ROOT / ".cache" / "g2gan" / "run")
    train.add_argument("--steps", type=int, default=None, help="train until this step")
    train.add_argument("--size", type=int, default=None, help="crop size in pixels (a multiple of 8)")
    train.add_argument("--batch", type=int, default=None)
    train.add_argument("--seed", type=int, default=None)
    train.add_argument("--lr", type=float, default=None, help="starting learning rate (default 2e-4)")
    train.add_argument("--region", choices=GENERATOR_REGIONS, default=None,
                       help="where the generators may change the face (default: mouth)")
    train.add_argument("--free-residual", action="store_true",
                       help="free RGB residuals instead of hue-safe ones (the first phase of the shipped run)")
    train.add_argument("--init-from", type=Path, default=None,
                       help="start a new run from another run's checkpoint.safetensors (fine-tuning)")
    device_flag(train)
    train.add_argument("--sample-every", type=int, default=None)
    train.add_argument("--checkpoint-every", type=int, default=None)
    train.add_argument("--descriptor-dir", type=Path, default=None,
                       help="face_api_recognition folder for the identity loss (default: ../shared/models/...)")
    train.add_argument("--no-identity", action="store_true", help="train without the identity loss")
    train.add_argument("--limit", type=int, default=None, help="use only the first N pairs (quick checks)")
    train.add_argument("--export", type=Path, default=None,
                       help="write the generators here when training ends (e.g. weights/g2gan.safetensors)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    neutral = sub.add_parser("train-neutralizer",
                             help="train the whole-face removal generator (resumes from the run folder)")
    neutral.add_argument("--faces-dir", type=Path, default=None)
    neutral.add_argument("--run-dir", type=Path, default=paths.REPO_ROOT / ".cache" / "neutralizer" / "run")
    neutral.add_argument("--steps", type=_whole_number(1), default=None, help="train until this step (default 3000)")
    neutral.add_argument("--size", type=_whole_number(8), default=None, help="crop size in pixels (a multiple of 8)")
    device_flag(neutral)
    neutral.add_argument("--limit", type=_whole_number(1), default=None, help="use only the first N pairs (quick checks)")
    neutral.add_argument("--output", type=Path, default=paths.NEUTRALIZER_PATH,
                         help="where the trained network is written when training ends")
    neutral.add_argument("--quiet", action="store_true", help="no progress bar")
    export = sub.add_parser("export-generators", help="a training run's checkpoint -> generator weights")
    export.add_argument("--run-dir", type=Path, default=paths.REPO_ROOT / ".cache" / "g2gan" / "run")
    export.add_argument("--output", type=Path, default=paths.GENERATOR_PATH)
    export.add_argument("--region", choices=GENERATOR_REGIONS, default=None,
                        help="where the shipped generators may change the face (default: as trained)")
    export.add_argument("--average-last", type=int, default=1,
                        help="average the generators of the run's last N checkpoints (its generators/ snapshots)")
    evaluate = sub.add_parser("evaluate-generators",
                              help="PSNR/SSIM on the test people: no edit, geometry, generator")
    evaluate.add_argument("--weights", type=Path, default=paths.GENERATOR_PATH)
    evaluate.add_argument("--geometry-only", action="store_true", help="only the no-edit and geometry rows")
    evaluate.add_argument("--faces-dir", type=Path, default=None)
    evaluate.add_argument("--size", type=int, default=None, help="crop size (default: the weights' own)")
    evaluate.add_argument("--limit", type=int, default=None, help="use only the first N pairs (quick checks)")
    evaluate.add_argument("--people", choices=("test", "val", "london"), default="test",
                          help="the saved split's test (or validation) people, or the London set (never trained on)")
    evaluate.add_argument("--grid", type=Path, default=None,
                          help="also write an image: input, geometry, generator, real, one row per person")
    evaluate.add_argument("--grid-task", choices=("synthesis", "removal"), default="synthesis")
    evaluate.add_argument("--json", action="store_true")
    cli_eval.add_parsers(sub, device_flag)
    cli_augment.add_parsers(sub, device_flag, _whole_number)
    return parser


def _recipes(args) -> list:
    """The edit's recipes: a recipe file (one face or several) with the command-line flags on top."""
    from studio.geometry.shading import light_preset
    from studio.operations.recipe import EditRecipe, load_recipes

    recipes = load_recipes(args.recipe) if getattr(args, "recipe", None) else [EditRecipe()]
    pose_flags = {k: getattr(args, k) for k in ("yaw", "pitch", "roll") if getattr(args, k) is not None}
    light_flags = {field: getattr(args, flag) for flag, field in LIGHT_FLAGS.items() if getattr(args, flag) is not None}
    flags = (args.preset or args.pc or args.remove or args.face is not None or pose_flags or light_flags
             or args.light_preset or args.control or args.parts)
    if len(recipes) > 1:
        if flags:
            raise StudioError("this recipe edits several faces; use it without the editing flags")
        return recipes
    base = recipes[0]
    presets = dict(base.presets)
    presets.update(dict(_pair(t) for t in args.preset))
    coefficients = dict(base.coefficients)
    coefficients.update(dict(_pair(t, int) for t in args.pc))
    # "largest" is known once the photo is analysed: _chosen_face puts its index in then
    face = base.face if args.face is None or args.face == "largest" else args.face
    light = light_preset(args.light_preset) if args.light_preset else base.light
    controls = dict(base.controls)
    controls.update(dict(_pair(t) for t in args.control))
    parts = base.parts if args.parts is None else args.parts
    return [EditRecipe(face=face, remove=base.remove or args.remove, presets=presets, coefficients=coefficients,
                       pose=replace(base.pose, **pose_flags), light=replace(light, **light_flags),
                       controls=controls, parts=parts)]


def _chosen_face(analyzed, choice, flag: str = "--face") -> int:
    """The index a face flag names in this photo; with several faces, a note says which was
    taken and how faces are counted (on stderr, so scripts reading stdout are not disturbed)."""
    from studio.face.landmarks import face_index

    faces = list(analyzed.faces)
    index = face_index(faces, choice)
    if len(faces) > 1:
        print(f"{len(faces)} faces, numbered left to right from 0: using face {index}"
              f"{' (the largest)' if choice == 'largest' else ''}; choose with {flag} N or {flag} largest",
              file=sys.stderr)
    return index


def _check_distinct_outputs(*outputs: tuple) -> None:
    """(flag, path) pairs: no two outputs of one command may be the same file."""
    from studio.face.image_io import same_file

    named = [(flag, path) for flag, path in outputs if path is not None]
    for i, (flag, path) in enumerate(named):
        for other_flag, other in named[i + 1:]:
            if same_file(path, other):
                raise StudioError(f"{flag} and {other_flag} are the same file ({other}); "
                                  "give each output its own name")


def _analyze(studio, path: Path, max_megapixels: float = MAX_PIXELS / 1e6):
    from studio.face.image_io import load_photo

    return studio.analyze(load_photo(path, max_pixels=int(max_megapixels * 1e6)))


def cmd_edit(args) -> int:
    from studio.face.image_io import (
        check_output_path,
        check_photo_output,
        save_photo,
        write_atomic,
    )
    from studio.operations.edit import edit_faces
    from studio.operations.recipe import recipes_to_json
    from studio.operations.studio import Studio

    # Every output is checked before anything is read or loaded: none may be another output, the
    # photo or the recipe read (saving over the recipe read is refused too, like any input).
    read = (args.input,) + ((args.recipe,) if args.recipe else ())
    _check_distinct_outputs(("-o", args.output), ("--save-recipe", args.save_recipe))
    check_photo_output(args.output, read)
    if args.save_recipe:
        check_output_path(args.save_recipe, read)
    recipes = _recipes(args)
    studio = Studio.load(backend=args.backend, device=args.device)
    analyzed = _analyze(studio, args.input, args.max_megapixels)
    if len(recipes) == 1:
        recipes = [replace(recipes[0], face=_chosen_face(analyzed, recipes[0].face if args.face is None else args.face))]
    save_photo(edit_faces(studio, analyzed, recipes), args.output, (args.input,))
    if args.save_recipe:
        write_atomic(args.save_recipe, lambda tmp: Path(tmp).write_text(recipes_to_json(recipes) + "\n"))
    print(f"wrote {args.output}")
    return 0


def cmd_video(args) -> int:
    from studio.operations.studio import Studio
    from studio.video.clip import VIDEO_SUFFIXES, probe
    from studio.video.edit_video import edit_video

    read = (args.input,) + ((args.recipe,) if args.recipe else ())
    _video_output(args.output, read)
    info = probe(args.input)
    if args.input.suffix.lower() not in VIDEO_SUFFIXES:
        print(f"reading {args.input.name} as a video", file=sys.stderr)
    recipes = _recipes(args)
    if len(recipes) > 1:
        table = {r.face: r for r in recipes}                 # a several-faces recipe: by track number
    else:
        # one recipe: every face (a person keeps it all through), or only track N with --face N
        chosen = args.face if isinstance(args.face, int) else None
        table = {chosen: recipes[0]}
    studio = Studio.load(backend=args.backend, device=args.device)
    bar = _frames_bar(info.frames, args.input.name, args.quiet)
    try:
        result = edit_video(studio, args.input, args.output, table,
                            progress=lambda done, total: bar.update(done - bar.n))
    finally:
        bar.close()
        studio.close()
    faces = f"{result.tracks} {'person' if result.tracks == 1 else 'people'}"
    print(f"wrote {args.output}: {result.frames} frames, {info.size[0]}x{info.size[1]} at {info.fps:g} fps"
          f"{', with its audio' if info.audio else ''}; {faces} tracked")
    return 0


def _video_output(output: Path, read: tuple) -> None:
    from studio.face.image_io import check_output_path

    if output.suffix.lower() not in (".mp4", ".mov", ".mkv"):
        raise StudioError(f"-o {output.name}: write a video as .mp4, .mov or .mkv")
    check_output_path(output, read)      # never an input, in an existing folder


def _frames_bar(total: int, name: str, quiet: bool):
    from tqdm import tqdm

    # the bar on a terminal only: piped or logged, stderr keeps its one error line
    return tqdm(total=total or None, unit="frame", disable=quiet or not sys.stderr.isatty(), file=sys.stderr,
                desc=name, dynamic_ncols=True)


def cmd_drive(args) -> int:
    from studio.operations.studio import Studio
    from studio.video.clip import probe
    from studio.video.drive import drive_photo

    read = (args.photo, args.driver) + ((args.driver_neutral,) if args.driver_neutral else ())
    _video_output(args.output, read)
    info = probe(args.driver)
    studio = Studio.load(backend=args.backend, device=args.device)
    photo = _analyze(studio, args.photo, args.max_megapixels)
    face = _chosen_face(photo, args.face)
    neutral = _analyze(studio, args.driver_neutral, args.max_megapixels) if args.driver_neutral else None
    if neutral is not None and not neutral.faces:
        raise StudioError(f"no face found in {args.driver_neutral.name}")
    bar = _frames_bar(info.frames, args.driver.name, args.quiet)
    try:
        result = drive_photo(studio, photo, args.driver, args.output, face, args.with_pose, neutral,
                             args.parts or (), progress=lambda done, total: bar.update(done - bar.n))
    finally:
        bar.close()
        studio.close()
    missing = sum(1 for c in result.faces_per_frame if not c)
    print(f"wrote {args.output}: {result.frames} frames, {result.info.size[0]}x{result.info.size[1]} at "
          f"{info.fps:g} fps{', with its audio' if info.audio else ''}"
          + (f"; {missing} frames without the driver's face held the last one" if missing else ""))
    return 0


def cmd_transfer(args) -> int:
    from studio.face.image_io import check_photo_output, save_photo
    from studio.operations.studio import Studio
    from studio.operations.transfer import transfer

    inputs = (args.a, args.b) + ((args.b_neutral,) if args.b_neutral else ())
    _check_distinct_outputs(("-o", args.output), ("--both", args.both))
    check_photo_output(args.output, inputs)
    if args.both:
        check_photo_output(args.both, inputs)
    studio = Studio.load(backend=args.backend, device=args.device)
    a = _analyze(studio, args.a, args.max_megapixels)
    b = _analyze(studio, args.b, args.max_megapixels)
    reference = a if args.same_person else _analyze(studio, args.b_neutral, args.max_megapixels) if args.b_neutral else None
    face_a, face_b = _chosen_face(a, args.face_a, "--face-a"), _chosen_face(b, args.face_b, "--face-b")
    result = transfer(studio, a, b, face_a, face_b, reference, face_a if args.same_person else 0, args.parts or ())
    save_photo(result.a_with_b.photo, args.output, inputs)
    print(f"wrote {args.output}")
    if args.both:
        save_photo(result.b_with_a.photo, args.both, inputs)
        print(f"wrote {args.both}")
    return 0


def cmd_interpolate(args) -> int:
    from studio.operations.budget import check_frames
    from studio.operations.export import (
        MAX_SEQUENCE_SIDE,
        check_sequence_output,
        played_frames,
        save_sequence,
        sequence_size,
    )
    from studio.operations.interpolate import interpolate
    from studio.operations.recipe import EditRecipe
    from studio.operations.studio import Studio

    presets = dict(_pair(t) for t in args.to)
    check_frames(args.frames, 1)   # the photo's own limit is checked once it is read
    check_sequence_output(args.output, (args.input,))
    studio = Studio.load(backend=args.backend, device=args.device)
    analyzed = _analyze(studio, args.input, args.max_megapixels)
    recipe = EditRecipe(face=_chosen_face(analyzed, args.face), remove=args.remove, presets=presets)
    frames = interpolate(studio, analyzed, recipe, args.frames, max_side=MAX_SEQUENCE_SIDE)
    save_sequence([f.photo for f in frames], args.output, (args.input,), bounce=not args.once)
    width, height = sequence_size(frames[0].photo)
    if args.output.suffix.lower() == ".png":
        print(f"wrote {args.output} ({len(frames)} frames side by side)")
    else:
        played = played_frames(len(frames), not args.once)
        how = "once" if args.once else f"forward and back, {played} frames in the loop"
        print(f"wrote {args.output} ({len(frames)} frames, {width}x{height} px, played {how})")
    return 0


def cmd_landmarks(args) -> int:
    from studio.operations.describe import describe
    from studio.operations.studio import Studio

    studio = Studio.load(device=args.device)
    analyzed = _analyze(studio, args.input, args.max_megapixels)
    if not analyzed.faces:
        raise StudioError(f"no face found in {args.input}")
    report = describe(studio, analyzed)
    report["image"] = str(args.input)
    if args.json:
        print(json.dumps(report))
    else:
        print(f"{args.input}: {report['width']}x{report['height']}, {len(report['faces'])} face(s)")
        for face in report["faces"]:
            seen = face["expression_probabilities"] or face["expression_posterior"]
            top = max(seen, key=seen.get)
            print(f"  face {face['index']}: box {face['box']}, looks {top} ({100 * seen[top]:.0f}%), "
                  f"yaw/pitch/roll {face['pose']['yaw']:.0f}/{face['pose']['pitch']:.0f}/{face['pose']['roll']:.0f}")
    return 0


def cmd_bench(args) -> int:
    repeats = args.repeats or (8 if args.browser else 15)
    if args.soak:
        from studio.interfaces.bench_app import run_soak_bench

        return run_soak_bench(as_json=args.json, clients=args.clients, seconds=args.seconds, device=args.device)
    if args.memory:
        from studio.interfaces.bench_memory import run_memory_bench

        return run_memory_bench(as_json=args.json, device=args.device)
    if args.browser:
        from studio.interfaces.bench_browser import run_browser_bench

        return run_browser_bench(as_json=args.json, repeats=repeats, device=args.device)
    if args.video:
        from studio.interfaces.bench_video import run_video_bench

        return run_video_bench(as_json=args.json, device=args.device)
    if args.augment:
        from studio.interfaces.bench_augment import run_augment_bench

        return run_augment_bench(as_json=args.json, device=args.device)
    if args.app:
        from studio.interfaces.bench_app import run_app_bench

        return run_app_bench(as_json=args.json, repeats=repeats, device=args.device)
    from studio.interfaces.bench import run_bench

    return run_bench(as_json=args.json, repeats=repeats, device=args.device)


def cmd_build(args) -> int:
    from studio.geometry.build_shape_model import BuildConfig, run

    run(BuildConfig(faces_dir=args.faces_dir or paths.faces_dir(), output=args.output,
                    cache_dir=args.cache_dir))
    return 0


def cmd_build_appearance(args) -> int:
    from studio.synthesis.build_appearance import AppearanceConfig, run

    run(AppearanceConfig(faces_dir=args.faces_dir or paths.faces_dir(), output=args.output,
                         cache_dir=args.cache_dir))
    return 0


def cmd_train_neutralizer(args) -> int:
    from studio.synthesis.train_neutralizer import NeutralizerTrainConfig, NeutralizerTrainer

    if args.size is not None and args.size % 8:
        raise StudioError("--size must be a multiple of 8")
    changes = {k: getattr(args, k) for k in ("steps", "size", "limit") if getattr(args, k) is not None}
    trainer = NeutralizerTrainer(NeutralizerTrainConfig(faces_dir=args.faces_dir or paths.faces_dir(),
                                                        run_dir=args.run_dir, device=args.device, **changes))
    trainer.resume()
    last = trainer.run(progress=not args.quiet)
    print(json.dumps(last))
    print(f"wrote {trainer.neutralizer().save(args.output)}")
    return 0


def cmd_train(args) -> int:
    from studio.synthesis.face_descriptor import default_descriptor_dir
    from studio.synthesis.networks import GeneratorConfig
    from studio.synthesis.train import (
        TrainConfig,
        Trainer,
        export_generators,
        with_overrides,
    )

    for name in ("steps", "size", "batch", "sample_every", "checkpoint_every"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise StudioError(f"--{name.replace('_', '-')} must be at least 1")
    if args.size is not None and args.size % 8:
        raise StudioError("--size must be a multiple of 8")
    if args.lr is not None and not 0 < args.lr < math.inf:
        raise StudioError("--lr must be above 0 and finite")
    generator = GeneratorConfig(region=args.region or "mouth", hue_safe=not args.free_residual)
    descriptor = None if args.no_identity else (args.descriptor_dir or default_descriptor_dir())
    if not args.no_identity and descriptor is None:
        raise StudioError("the identity loss needs the face descriptor files: pass --descriptor-dir, "
                          "or --no-identity")
    config = with_overrides(TrainConfig(faces_dir=args.faces_dir or paths.faces_dir(), run_dir=args.run_dir,
                                        device=args.device, descriptor_dir=descriptor,
                                        lambda_identity=0.0 if args.no_identity else 1.0,
                                        generator=generator),
                            steps=args.steps, size=args.size, batch=args.batch, seed=args.seed,
                            lr=args.lr, init_from=args.init_from,
                            sample_every=args.sample_every, checkpoint_every=args.checkpoint_every,
                            limit=args.limit)
    trainer = Trainer(config)
    trainer.resume()
    last = trainer.run(progress=not args.quiet)
    print(json.dumps(last))
    if args.export:
        print(f"wrote {export_generators(trainer, args.export)}")
    return 0


def cmd_export(args) -> int:
    from studio.face.image_io import check_output_path
    from studio.synthesis.generators import average_generators, set_region
    from studio.synthesis.train import export_checkpoint

    if args.average_last < 1:
        raise StudioError("--average-last must be at least 1")
    output = check_output_path(args.output)
    if args.average_last == 1:
        out = export_checkpoint(args.run_dir / "checkpoint.safetensors", output)
    else:
        snapshots = sorted((args.run_dir / "generators").glob("step_*.safetensors"))[-args.average_last:]
        if len(snapshots) < args.average_last:
            raise StudioError(f"{args.run_dir / 'generators'} holds {len(snapshots)} snapshots, "
                              f"fewer than {args.average_last}")
        out = average_generators(snapshots, output)
    if args.region is not None:
        set_region(out, args.region)
    print(f"wrote {out}")
    return 0


def cmd_evaluate(args) -> int:
    from studio.face.image_io import Photo, save_photo
    from studio.synthesis.dataset import (
        DataConfig,
        build_dataset,
        load_pairs,
        prepare_data,
    )
    from studio.synthesis.evaluate import comparison_grid, evaluate, format_report
    from studio.synthesis.generators import Generators

    if args.grid is not None and args.geometry_only:
        raise StudioError("--grid shows the generator: drop --geometry-only")
    generators = None if args.geometry_only else Generators.load(args.weights)
    size = args.size or (generators.size if generators else 128)
    faces_dir = args.faces_dir or paths.faces_dir()
    if args.people == "london":
        data = DataConfig(faces_dir=faces_dir, size=size, limit=args.limit, datasets=("london",))
        path = build_dataset(data, log=lambda *_: None)
        pairs = load_pairs(path)
    else:
        path, split = prepare_data(DataConfig(faces_dir=faces_dir, size=size, limit=args.limit), log=lambda *_: None)
        pairs = load_pairs(path, split[args.people])
    if not len(pairs):
        raise StudioError(f"no {args.people} pairs (is --limit too small?)")
    report = evaluate(pairs, generators)
    report["people_set"] = args.people
    print(json.dumps(report) if args.json else format_report(report))
    if args.grid is not None:
        grid = Photo(comparison_grid(pairs, generators, args.grid_task))
        print(f"wrote {save_photo(grid, args.grid)}")
    return 0


def cmd_controls(args) -> int:
    from studio.geometry.face_controls import CONTROLS
    from studio.geometry.face_parts import PARTS

    if args.json:
        print(json.dumps({"controls": [{"name": c.name, "group": c.group, "minimum": c.minimum, "maximum": c.maximum,
                                        "label": c.label, "help": c.help} for c in CONTROLS],
                          "parts": list(PARTS)}, indent=1))
        return 0
    group = None
    for c in CONTROLS:
        if c.group != group:
            group = c.group
            print(f"{group}:")
        print(f"  {c.name:12s} {c.minimum:g}..{c.maximum:g}  {c.help}")
    print(f"parts (--parts): {', '.join(PARTS)}")
    return 0


COMMANDS = {"edit": cmd_edit, "video": cmd_video, "drive": cmd_drive, "transfer": cmd_transfer, "interpolate": cmd_interpolate, "controls": cmd_controls,
            "landmarks": cmd_landmarks, "bench": cmd_bench, "build-shape-model": cmd_build,
            "build-appearance": cmd_build_appearance, "train-neutralizer": cmd_train_neutralizer,
            "train": cmd_train, "export-generators": cmd_export, "evaluate-generators": cmd_evaluate,
            **cli_eval.COMMANDS, **cli_augment.COMMANDS}


def _quiet_native_stderr() -> None:
    """Send C++ logging (MediaPipe, TFLite, ffmpeg) to /dev/null; Python's stderr keeps the terminal.

    MediaPipe writes several warning lines per run straight to fd 2, which would bury the one
    `error:` line this tool promises.
    """
    terminal = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)
    sys.stderr = os.fdopen(terminal, "w", buffering=1, errors="backslashreplace")


class _Stopped(BaseException):
    """SIGTERM or SIGHUP, raised where the program is, so cleanups (write_atomic's) run. Not an
    Exception, so no `except Exception` swallows it."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGHUP") if hasattr(signal, name))


def _stop(signum, frame):
    for s in STOP_SIGNALS:   # once is enough: a second signal must not interrupt the cleanup
        signal.signal(s, signal.SIG_IGN)
    raise _Stopped(signum)


def _one_line(text: str) -> str:
    """A message as one printable line, whatever it holds (the last guard; values are escaped where echoed)."""
    return "".join(c if c.isprintable() else ascii(c)[1:-1] for c in " ".join(str(text).splitlines()))


def console() -> int:
    """The `face-studio` command (and `python -m studio`)."""
    return main(quiet_native=True)


def main(argv: list[str] | None = None, quiet_native: bool = False) -> int:
    """Run one command; `quiet_native` (the `face-studio` and `python -m studio` entries) silences C++ logging.
    SIGTERM and SIGHUP end it like Ctrl-C: half-written outputs removed, `error: interrupted`, 128 + signal."""
    if quiet_native and not os.environ.get("STUDIO_DEBUG"):
        _quiet_native_stderr()
    handlers = {}
    if threading.current_thread() is threading.main_thread():
        handlers = {s: signal.signal(s, _stop) for s in STOP_SIGNALS}
    try:
        args = build_parser().parse_args(argv)
        return COMMANDS[args.command](args)
    except StudioError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 130
    except _Stopped as exc:
        print("error: interrupted", file=sys.stderr)
        return 128 + exc.signum
    except Exception as exc:  # a bug, not bad input: still one line unless debugging
        if os.environ.get("STUDIO_DEBUG"):
            traceback.print_exc()
        print(f"error: internal error ({exc.__class__.__name__}: {_one_line(exc)}); "
              "set STUDIO_DEBUG=1 for details", file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        for s, previous in handlers.items():
            signal.signal(s, previous)
