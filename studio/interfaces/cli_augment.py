"""`face-studio augment`: a folder of faces (or a CSV of them) multiplied into labelled variants.
Registered by `cli`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from studio.errors import StudioError

FORMATS = ("jpg", "png")


def add_parsers(sub, device_flag, whole_number) -> None:
    aug = sub.add_parser("augment", help="turn a folder (or CSV) of faces into labelled variants with a manifest")
    aug.add_argument("input", type=Path, nargs="?", help="a folder of photos, or a CSV with a 'path' column and "
                                                          "any labels (an 'expression' label is kept where a "
                                                          "variant keeps the expression)")
    aug.add_argument("-o", "--output", type=Path, help="the output folder (a rerun into it resumes)")
    aug.add_argument("--per-face", type=whole_number(1), default=4, help="variants of each face (default 4)")
    aug.add_argument("--spec", type=Path, default=None,
                     help="sampling spec, .json or .yaml (default: every preset, removal, pose, light; "
                          "--print-spec shows it)")
    aug.add_argument("--seed", type=int, default=0, help="the same seed draws the same variants (default 0)")
    aug.add_argument("--workers", type=whole_number(1), default=1,
                     help="worker processes, each with its own models (default 1); with --ray: Ray actors "
                          "(default: one per CPU of the cluster)")
    aug.add_argument("--ray", metavar="ADDRESS", default=None,
                     help="run on a Ray cluster: 'auto' (the cluster this machine is in), 'local' (start one "
                          "here) or HOST:PORT of its head")
    aug.add_argument("--format", choices=FORMATS, default="jpg", help="image format (default jpg, quality 95)")
    aug.add_argument("--max-side", type=whole_number(64), default=None,
                     help="shrink larger photos to this long side first (e.g. 256 for a training set)")
    aug.add_argument("--backend", choices=("geometry", "generator"), default="geometry",
                     help="renderer (default geometry, the fastest; `edit --recipe` with the same one "
                          "remakes any image)")
    device_flag(aug)
    aug.add_argument("--print-spec", action="store_true", help="print the default sampling spec (JSON) and stop")
    aug.add_argument("--quiet", action="store_true", help="no progress bar")

    gain = sub.add_parser("eval-augment", help="train the recognizer on a few people with and without their "
                                                "studio variants, and compare on the test people")
    gain.add_argument("--faces-dir", type=Path, default=None, help="the face sets (default ../shared/data/faces)")
    gain.add_argument("--people", type=whole_number(2), default=20, help="training people per seed (default 20)")
    gain.add_argument("--seeds", type=whole_number(1), default=3, help="seeds (default 3)")
    gain.add_argument("--epochs", type=whole_number(1), default=20)
    gain.add_argument("--workers", type=whole_number(1), default=1, help="augment's worker processes")
    gain.add_argument("--out", type=Path, default=None, help="write README.md and results.json here (e.g. docs/augment)")
    gain.add_argument("--quick", action="store_true", help="4 people, 1 seed, 2 epochs: a check that it runs")
    device_flag(gain)


def cmd_augment(args) -> int:
    from studio.augment.spec import SamplingSpec, load_spec

    if args.print_spec:
        print(json.dumps(SamplingSpec().to_dict(), indent=2))
        return 0
    if args.input is None or args.output is None:
        raise StudioError("augment needs the photos (a folder or CSV) and -o OUTPUT_FOLDER")
    from tqdm import tqdm

    from studio.augment.run import augment
    from studio.augment.sources import read_sources
    from studio.augment.work import Settings

    spec = load_spec(args.spec)
    sources = read_sources(args.input)
    output = args.output.resolve()
    if args.input.is_dir() and (output == args.input.resolve() or args.input.resolve() in output.parents):
        raise StudioError("-o must not be inside the input folder: its images would be read as sources next time")
    if output.exists() and not output.is_dir():
        raise StudioError(f"-o {args.output} is a file, not a folder")
    settings = Settings(spec, args.per_face, args.seed, args.format, args.max_side, args.backend)
    bar = tqdm(total=len(sources) * args.per_face, unit="image", desc="augment", file=sys.stderr,
               dynamic_ncols=True, disable=args.quiet or not sys.stderr.isatty())

    def progress(done: int, expected: int) -> None:
        bar.total = max(expected, done)
        bar.update(done - bar.n)

    try:
        summary = augment(sources, args.output, settings, args.workers, args.ray, args.device, progress)
    finally:
        bar.close()
    print(f"wrote {summary.made} images to {args.output} ({summary.images} in its manifest, "
          f"{summary.made / summary.seconds if summary.seconds else 0:.2f} images/s this run); "
          f"{summary.skipped} skipped (skipped.csv)")
    return 0


def cmd_eval_augment(args) -> int:
    from dataclasses import replace

    from studio import paths
    from studio.evaluation.augment_gain import GainConfig, quick, run_gain, write_report
    from studio.operations.studio import Studio

    config = GainConfig(args.faces_dir or paths.faces_dir(), people=args.people, seeds=tuple(range(args.seeds)),
                        epochs=args.epochs, workers=args.workers)
    if args.quick:
        config = quick(config)
    studio = Studio.load(backend="geometry", device=args.device)
    try:
        result = run_gain(studio, config, log=lambda text: print(text, flush=True))
    finally:
        studio.close()
    for name, runs in result["sets"].items():
        real = [100 * t["accuracy"] for t in runs["real"]]
        aug = [100 * t["accuracy"] for t in runs["augmented"]]
        print(f"{name}: real photos {sum(real) / len(real):.1f}%, with the studio's variants "
              f"{sum(aug) / len(aug):.1f}% (test accuracy, mean of {len(real)} seeds)")
    if args.out:
        print(f"wrote {write_report(result, args.out)}")
    return 0


COMMANDS = {"augment": cmd_augment, "eval-augment": cmd_eval_augment}
