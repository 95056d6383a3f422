"""The command line's measuring commands: `train-recognizer` (the expression recognizer) and
`eval` (the papers' tables for the studio's own edits). Registered by `cli`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from studio import paths
from studio.errors import StudioError

# studio.evaluation's names, spelt out so building the parser does not import torch
PEOPLE_SETS = ("test", "val", "london")
INTENSITIES = (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5)


def add_parsers(sub, device_flag) -> None:
    """The evaluation and calibration commands; `device_flag(parser)` adds the CLI's --device."""
    add_pose_light_parser(sub, device_flag)
    rec = sub.add_parser("train-recognizer", help="train the expression recognizer (resumes from the run folder)")
    rec.add_argument("--faces-dir", type=Path, default=None)
    rec.add_argument("--run-dir", type=Path, default=paths.REPO_ROOT / ".cache" / "recognizer" / "run")
    rec.add_argument("--members", type=int, default=3, help="ensemble size")
    rec.add_argument("--epochs", type=int, default=30)
    rec.add_argument("--limit", type=int, default=None, help="use only the first N photos (quick checks)")
    rec.add_argument("--output", type=Path, default=paths.RECOGNIZER_PATH,
                     help="weights; the model card is written beside them")

    ev = sub.add_parser("eval", help="expression accuracy, identity, landmark error and PSNR/SSIM of every "
                                     "backend on held-out people, as the papers' tables")
    ev.add_argument("--backend", action="append", choices=("geometry", "generator"), default=None,
                    help="a backend to measure (repeatable; default: every available one)")
    ev.add_argument("--people", action="append", choices=PEOPLE_SETS, default=None,
                    help="person sets (repeatable; default: test and london)")
    ev.add_argument("--limit", type=int, default=None, help="at most N cases per task (spread over people)")
    ev.add_argument("--max-people", type=int, default=None, help="only the first N people of each set")
    ev.add_argument("--sweep-people", type=int, default=12,
                    help="people in the presets' intensity sweep (0: no sweep)")
    ev.add_argument("--intensities", default=",".join(f"{t:g}" for t in INTENSITIES),
                    help="preset intensities of the sweep, comma-separated, within 0..1.5")
    ev.add_argument("--no-identity", action="store_true", help="skip identity (no dlib needed)")
    ev.add_argument("--recognizer", type=Path, default=paths.RECOGNIZER_PATH)
    device_flag(ev)
    ev.add_argument("--faces-dir", type=Path, default=None)
    ev.add_argument("--json", action="store_true", help="print the results as JSON")
    ev.add_argument("--out", type=Path, default=None,
                    help="write README.md (the results page), results.json, plots and a picture here")


def add_pose_light_parser(sub, device_flag) -> None:
    pl = sub.add_parser("eval-pose-light", help="head turns against real half profiles (KDEF) and light "
                                                "sweeps; writes a page with --out")
    pl.add_argument("--people", choices=("test", "val", "all"), default="test",
                    help="KDEF people: the split's test or validation people, or all")
    pl.add_argument("--limit", type=int, default=None, help="at most N half profiles")
    pl.add_argument("--backend", choices=("geometry", "generator"), default="geometry",
                    help="how faces are rendered (a turn alone is the same for both)")
    pl.add_argument("--no-identity", action="store_true", help="skip identity (no dlib needed)")
    device_flag(pl)
    pl.add_argument("--faces-dir", type=Path, default=None)
    pl.add_argument("--json", action="store_true")
    pl.add_argument("--out", type=Path, default=None, help="write README.md, results.json and grid.jpg here")
    cal = sub.add_parser("calibrate-tracking", help="how far the warp must move brows, eyes and mouth for "
                                                    "their landmarks to be found again (training people)")
    cal.add_argument("--faces-dir", type=Path, default=None)
    cal.add_argument("--pairs", type=int, default=120)
    pre = sub.add_parser("calibrate-presets", help="rescale the presets so their edits move brows, eyes and mouth "
                                                   "as far as real photos of their class (training people)")
    pre.add_argument("--faces-dir", type=Path, default=None)
    pre.add_argument("--people", type=int, default=32)
    pre.add_argument("--out", type=Path, default=None, help="where to write the shape model (default: the shipped one)")
    pre.add_argument("--strong-only", action="store_true",
                     help="keep the presets at intensity 1; calibrate only where they go at full intensity")
    bank = sub.add_parser("build-mouth-bank", help="the real open mouths (teeth) fitted into mouths an edit opens, "
                                                   "from the London set's smiles")
    bank.add_argument("--london-dir", type=Path, default=None, help="default: the face sets' london folder")
    bank.add_argument("--out", type=Path, default=paths.MOUTH_BANK_PATH)
    mouth = sub.add_parser("eval-mouth", help="the detail inside edited open mouths against real smiles (London)")
    mouth.add_argument("--london-dir", type=Path, default=None, help="default: the face sets' london folder")
    mouth.add_argument("--people", type=int, default=None, help="only the first N people")
    mouth.add_argument("--real-per-class", type=int, default=40,
                       help="real surprise, fear and smile photos measured per research set (0: none)")
    mouth.add_argument("--backend", choices=("geometry", "generator"), default=None)
    device_flag(mouth)
    mouth.add_argument("--json", action="store_true")
    mouth.add_argument("--out", type=Path, default=None, help="write README.md, results.json and grid.png here")
    ctl = sub.add_parser("eval-controls", help="what each part control does to London faces, found again")
    ctl.add_argument("--london-dir", type=Path, default=None, help="default: the face sets' london folder")
    ctl.add_argument("--people", type=int, default=None, help="only the first N people")
    ctl.add_argument("--backend", choices=("geometry", "generator"), default=None)
    device_flag(ctl)
    ctl.add_argument("--json", action="store_true")
    ctl.add_argument("--out", type=Path, default=None, help="write README.md, results.json and grid.jpg here")
    fig = sub.add_parser("figures", help="the README's expression pictures, from the London test faces")
    fig.add_argument("--out", type=Path, default=paths.REPO_ROOT / "docs" / "images")
    fig.add_argument("--backend", choices=("geometry", "generator"), default=None)
    device_flag(fig)


def cmd_train_recognizer(args) -> int:
    from studio.face.image_io import check_output_path
    from studio.recognition.train_expression import (
        TrainConfig,
        london_check,
        train,
        write_card,
    )

    for name in ("members", "epochs", "limit"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise StudioError(f"--{name} must be at least 1")
    output = check_output_path(args.output)
    if output.suffix != ".safetensors":
        raise StudioError("--output must end in .safetensors")
    faces_dir = args.faces_dir or paths.faces_dir()
    config = TrainConfig(faces_dir=faces_dir, run_dir=args.run_dir, members=args.members,
                         epochs=args.epochs, limit=args.limit)
    recognizer = train(config, log=lambda text: print(text, flush=True))
    recognizer.info["london"] = london_check(recognizer, faces_dir, config.cache_dir)
    recognizer.save(output)
    card = output.with_name(output.stem + "_card.md")
    write_card(recognizer, card)
    print(json.dumps({part: recognizer.info[part] and recognizer.info[part]["accuracy"]
                      for part in ("val", "test", "london")}))
    print(f"wrote {output} and {card}")
    return 0


def _intensities(text: str) -> tuple[float, ...]:
    try:
        values = tuple(sorted({float(v) for v in text.split(",") if v.strip()}))
    except ValueError:
        raise StudioError(f"--intensities needs comma-separated numbers, got '{text}'") from None
    if not values or not all(0 <= v <= 1.5 for v in values):
        raise StudioError("--intensities must lie within 0..1.5")
    return values


def _command_line(args) -> str:
    """The command that reproduces these results, for the results page."""
    parts = ["face-studio eval"]
    parts += [f"--backend {b}" for b in args.backend or []] + [f"--people {p}" for p in args.people or []]
    for name in ("limit", "max_people"):
        if getattr(args, name) is not None:
            parts.append(f"--{name.replace('_', '-')} {getattr(args, name)}")
    if args.sweep_people != 12:
        parts.append(f"--sweep-people {args.sweep_people}")
    if args.intensities != ",".join(f"{t:g}" for t in INTENSITIES):
        parts.append(f"--intensities {args.intensities}")
    if args.no_identity:
        parts.append("--no-identity")
    if args.out is not None:
        parts.append(f"--out {args.out}")
    return " ".join(parts)


def cmd_eval(args) -> int:
    from studio.evaluation.measure import Judge
    from studio.evaluation.report import format_text, summary, write_results
    from studio.evaluation.run import EvalConfig, run_eval
    from studio.operations.studio import Studio
    from studio.recognition.identity import IdentityModel

    for name in ("limit", "max_people"):
        value = getattr(args, name)
        if value is not None and value < 1:
            raise StudioError(f"--{name.replace('_', '-')} must be at least 1")
    if args.sweep_people < 0:
        raise StudioError("--sweep-people must be 0 or more")
    config = EvalConfig(faces_dir=args.faces_dir or paths.faces_dir(),
                        people=tuple(dict.fromkeys(args.people or ("test", "london"))),
                        backends=tuple(dict.fromkeys(args.backend)) if args.backend else None,
                        limit=args.limit, max_people=args.max_people, sweep_people=args.sweep_people,
                        intensities=_intensities(args.intensities))
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise StudioError(f"--out {args.out} is not a folder")
    identity = None if args.no_identity else IdentityModel.load()
    studio = Studio.load(recognizer_path=args.recognizer, device=args.device)   # a clear message for missing or wrong weights
    if config.backends:
        for backend in config.backends:
            studio.with_backend(backend)   # a clear error for a backend without weights
    try:
        judge = Judge(studio, studio.recognizer, identity, config.faces_dir)
        results = run_eval(config, studio, judge, log=lambda text: print(text, file=sys.stderr, flush=True))
    finally:
        studio.close()
    if args.out is not None:
        for path in write_results(results, args.out, _command_line(args)):
            print(f"wrote {path}", file=sys.stderr)
    print(json.dumps(summary(results)) if args.json else format_text(results))
    return 0


def cmd_eval_pose_light(args) -> int:
    from studio.evaluation.pose_light_report import (
        PoseLightConfig,
        run_pose_light,
        summary,
        write_results,
    )
    from studio.operations.studio import Studio
    from studio.recognition.identity import IdentityModel

    if args.limit is not None and args.limit < 1:
        raise StudioError("--limit must be at least 1")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise StudioError(f"--out {args.out} is not a folder")
    config = PoseLightConfig(faces_dir=args.faces_dir or paths.faces_dir(),
                             london_dir=paths.LONDON_FIXTURES,
                             people=args.people, limit=args.limit)
    identity = None if args.no_identity else IdentityModel.load()
    studio = Studio.load(backend=args.backend, device=args.device)
    try:
        results = run_pose_light(config, studio, identity, log=lambda t: print(t, file=sys.stderr, flush=True))
    finally:
        studio.close()
    command = "face-studio eval-pose-light" + "".join(
        f" --{k.replace('_', '-')} {v}" for k, v in (("people", args.people), ("limit", args.limit),
                                                     ("out", args.out)) if v is not None and v != "test")
    if args.out is not None:
        for path in write_results(results, args.out, command):
            print(f"wrote {path}", file=sys.stderr)
    data = summary(results)
    if args.json:
        print(json.dumps(data))
    else:
        pose = data["pose"]
        for name in ("to_profile", "fixed"):
            row = pose[name]
            print(f"turn {name}: asked {row['target_yaw_abs']:.1f}, re-estimated {row['estimated_yaw_abs']:.1f} "
                  f"deg (error {row['yaw_error']:.1f}), landmark error {row['landmark_error']:.3f} IOD "
                  f"(no edit {pose['no_edit_error']:.3f}), identity {row['identity_distance'] or float('nan'):.3f}")
        print(f"light: balance falls with azimuth on {100 * data['light_summary']['monotonic']:.0f}% of "
              f"{data['light_summary']['photos']} photos")
    return 0


def cmd_calibrate_tracking(args) -> int:
    import json

    from studio.evaluation.tracking_calibration import CalibrationConfig, calibrate
    from studio.operations.studio import Studio

    if args.pairs < 1:
        raise StudioError("--pairs must be at least 1")
    studio = Studio.load(backend="geometry")
    print(json.dumps(calibrate(studio, CalibrationConfig(args.faces_dir or paths.faces_dir(), pairs=args.pairs)),
                     indent=2))
    return 0


def cmd_calibrate_presets(args) -> int:
    from studio.evaluation.preset_calibration import PresetCalibrationConfig, calibrate_presets, calibrate_strong_presets
    from studio.operations.studio import Studio

    if args.people < 1:
        raise StudioError("--people must be at least 1")
    studio = Studio.load()
    calibrate = calibrate_strong_presets if args.strong_only else calibrate_presets
    model, report = calibrate(studio, PresetCalibrationConfig(args.faces_dir or paths.faces_dir(), people=args.people))
    out = args.out or paths.SHAPE_MODEL_PATH
    model.save(out)
    print(f"presets calibrated on {report['people']} training people ({studio.backend} backend): {out}")
    return 0


def cmd_figures(args) -> int:
    from studio.evaluation.figures import FigureConfig, make_figures
    from studio.operations.studio import Studio

    studio = Studio.load(backend=args.backend, device=args.device)
    for path in make_figures(studio, FigureConfig(paths.LONDON_FIXTURES, args.out)):
        print(f"wrote {path}")
    return 0


def cmd_build_mouth_bank(args) -> int:
    from studio.face.image_io import check_output_path
    from studio.operations.studio import Studio
    from studio.synthesis.mouth_bank import build_bank

    london = args.london_dir or paths.faces_dir() / "london"
    photos = sorted(Path(london).glob("*_08.jpg"))
    if not photos:
        raise StudioError(f"no London smiles (*_08.jpg) in {london}")
    check_output_path(args.out)
    studio = Studio.load(backend="geometry", device="cpu")
    try:
        bank = build_bank([(f"london-{p.name.split('_')[0]}", p) for p in photos], studio.analyzer)
    finally:
        studio.close()
    if not len(bank):
        raise StudioError(f"none of the {len(photos)} smiles in {london} shows its teeth")
    bank.save(args.out, f"{len(photos)} London smiles (CC BY 4.0, Face Research Lab London Set)")
    print(f"wrote {args.out}: {len(bank)} open mouths of {len(photos)} smiles")
    return 0


def cmd_eval_mouth(args) -> int:
    from studio.evaluation.mouth_detail import EDITS, PAINTED, MouthConfig, run_mouth_detail, write_results
    from studio.operations.studio import Studio

    if args.people is not None and args.people < 1:
        raise StudioError("--people must be at least 1")
    if args.real_per_class < 0:
        raise StudioError("--real-per-class must be at least 0")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise StudioError(f"--out {args.out} is not a folder")
    london = args.london_dir or paths.faces_dir() / "london"
    studio = Studio.load(backend=args.backend, device=args.device)
    try:
        real = paths.faces_dir() if args.real_per_class > 0 else None
        results = run_mouth_detail(studio, MouthConfig(Path(london), args.people, real, args.real_per_class),
                                   log=lambda t: print(t, file=sys.stderr, flush=True))
    finally:
        studio.close()
    if args.out is not None:
        for path in write_results(results, args.out, studio.backend):
            print(f"wrote {path}", file=sys.stderr)
    summary = results["summary"]
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"detail inside the open mouth (variance of the Laplacian, mouth {summary['mouth_width_px']} px wide), "
          f"{studio.backend} backend:")
    print(f"  real smiles: {summary['real_median']:.0f} (median of {summary['real_open']} open ones)")
    for name in EDITS[1:]:
        for label in (PAINTED + name, name):
            if label in summary:
                row = summary[label]
                share = "-" if row["share_of_real"] is None else f"{100 * row['share_of_real']:.0f}% of real"
                print(f"  {label}: {row['median'] or 0:.0f} ({share}, {row['open']} open)")
    for dataset, row in summary.get("real_classes", {}).items():
        shares = ", ".join(f"{c} {100 * r['share_of_smiles']:.0f}%" for c, r in row.items() if r["share_of_smiles"] is not None)
        print(f"  real {dataset} mouths, against its smiles: {shares}")
    return 0


def cmd_eval_controls(args) -> int:
    from studio.evaluation.part_controls import ControlsConfig, run_controls, write_results
    from studio.operations.studio import Studio

    if args.people is not None and args.people < 1:
        raise StudioError("--people must be at least 1")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise StudioError(f"--out {args.out} is not a folder")
    london = Path(args.london_dir or paths.faces_dir() / "london")
    if not any(london.glob("*_03.jpg")):
        raise StudioError(f"no London neutral photos (*_03.jpg) in {london}")
    studio = Studio.load(backend=args.backend, device=args.device)
    try:
        results = run_controls(studio, ControlsConfig(london, args.people),
                               log=lambda t: print(t, file=sys.stderr, flush=True))
        if args.out is not None:
            for path in write_results(studio, results, args.out, london, studio.backend):
                print(f"wrote {path}", file=sys.stderr)
    finally:
        studio.close()
    summary = results["summary"]
    if args.json:
        print(json.dumps(summary))
        return 0
    print(f"part controls on {len({r['person'] for r in results['rows']})} London faces ({studio.backend} backend):")
    for key, row in summary.items():
        if row["met"] is not None:
            print(f"  {key}: {row['met']}/{row['faces']} met")
    return 0


COMMANDS = {"eval-controls": cmd_eval_controls, "build-mouth-bank": cmd_build_mouth_bank, "eval-mouth": cmd_eval_mouth, "figures": cmd_figures, "calibrate-tracking": cmd_calibrate_tracking, "calibrate-presets": cmd_calibrate_presets, "train-recognizer": cmd_train_recognizer, "eval": cmd_eval, "eval-pose-light": cmd_eval_pose_light}
