"""`face-studio bench`: where the time of an edit goes, at photo sizes people use.

Each stage is timed on the same photo scaled to about 0.5, 1 and 4 megapixels (the face scales
with it), as the median of several runs after a warm-up. The floor is one cv2.remap of the
whole photo: no dense warp can be cheaper than reading and writing every pixel once.
"""

from __future__ import annotations

import json
import resource
import statistics
import time

import cv2
import numpy as np
from PIL import Image

from studio import paths
from studio.face.image_io import Photo, load_photo
from studio.geometry.mouth import fill_mouth
from studio.geometry.pose import HeadPose
from studio.geometry.shading import light_preset
from studio.geometry.warp import compute_warp
from studio.operations.edit import edit, target_landmarks, target_p
from studio.operations.recipe import EditRecipe
from studio.operations.studio import GENERATOR, GEOMETRY, Studio

BENCH_PHOTO = paths.LONDON_FIXTURES / "002_03.jpg"
MEGAPIXELS = (0.5, 1.0, 4.0)


def _median_ms(fn, repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def bench_size(studio: Studio, base: Photo, megapixels: float, repeats: int) -> dict:
    from studio.synthesis.refine import add_crop_change

    scale = (megapixels * 1e6 / (base.size[0] * base.size[1])) ** 0.5
    size = (round(base.size[0] * scale), round(base.size[1] * scale))
    photo = Photo(np.asarray(Image.fromarray(base.rgb).resize(size, Image.LANCZOS)))
    analyzed = studio.analyze(photo)
    face, _ = analyzed.face(0)
    recipe = EditRecipe(presets={"happiness": 1.0})
    target = target_landmarks(studio, analyzed, 0, target_p(studio, analyzed, recipe))
    pixels = photo.pixels()

    warp = compute_warp(face.points, target, pixels.shape[:2], face.points[:, 2], studio.warp)

    def paste():
        roi = fill_mouth(warp.sample(pixels), warp, face.points, target)
        return warp.paste(pixels, roi)

    h, w = pixels.shape[:2]
    map_x, map_y = np.meshgrid(np.arange(w, dtype=np.float32) + 0.3, np.arange(h, dtype=np.float32) + 0.3)
    row = {
        "megapixels": round(w * h / 1e6, 2), "width": w, "height": h,
        "detect_ms": _median_ms(lambda: studio.analyzer.detect(photo.rgb), repeats),
        "fit_ms": _median_ms(lambda: studio.model.fit(face.points), repeats),
        "warp_ms": _median_ms(lambda: compute_warp(face.points, target, pixels.shape[:2],
                                                   face.points[:, 2], studio.warp), repeats),
        "paste_ms": _median_ms(paste, repeats),
        "cached_edit_ms": _median_ms(lambda: edit(studio.with_backend(GEOMETRY), analyzed, recipe), repeats),
        "generator_edit_ms": (_median_ms(lambda: edit(studio.with_backend(GENERATOR), analyzed, recipe), repeats)
                              if GENERATOR in studio.backends else None),
        "remap_floor_ms": _median_ms(lambda: cv2.remap(pixels, map_x, map_y, cv2.INTER_LINEAR), repeats),
        # the app labels the edited face on every slider move: crop, 3 nets x (face, mirror)
        "recognizer_ms": (_median_ms(lambda: studio.recognizer.probabilities(pixels, target), repeats)
                          if studio.recognizer is not None else None),
        # a head turn (mesh warp and the fill of what it reveals) and a relight, each alone
        "turn_ms": _median_ms(lambda: edit(studio.with_backend(GEOMETRY), analyzed,
                                           EditRecipe(pose=HeadPose(yaw=20))), repeats),
        "relight_ms": _median_ms(lambda: edit(studio.with_backend(GEOMETRY), analyzed,
                                              EditRecipe(light=light_preset("left"))), repeats),
        "relight_dim_ms": _median_ms(lambda: edit(studio.with_backend(GEOMETRY), analyzed,
                                                  EditRecipe(light=light_preset("weak"))), repeats),
        # part controls: a gaze alone (only the irises redrawn), and eyes, brows and lips at once
        "gaze_ms": _median_ms(lambda: edit(studio.with_backend(GEOMETRY), analyzed,
                                           EditRecipe(controls={"gaze_x": 0.7})), repeats),
        "controls_ms": _median_ms(lambda: edit(studio.with_backend(GEOMETRY), analyzed,
                                               EditRecipe(controls={"blink": 0.5, "gaze_x": 0.7, "brows_raise": 0.5,
                                                                    "smile": 0.6})), repeats),
        # the expression's creases and shading alone (part of the cached edit)
        "appearance_ms": (_median_ms(lambda: studio.appearance.apply(pixels, target, target_p(studio, analyzed, recipe)
                                                                     - analyzed.fits[0].p), repeats)
                          if studio.appearance is not None else None),
        # removal with the generators: warp, G_N and the neutralizer; and the neutralizer alone
        "removal_ms": (_median_ms(lambda: edit(studio.with_backend(GENERATOR), analyzed, EditRecipe(remove=True)),
                                  repeats) if GENERATOR in studio.backends else None),
        "neutralizer_ms": (_median_ms(lambda: add_crop_change(pixels, face.points, studio.neutralizer.size,
                                                              studio.neutralizer.change), repeats)
                           if studio.neutralizer is not None else None),
    }
    row["edit_vs_floor"] = row["cached_edit_ms"] / row["remap_floor_ms"]
    return row


def bench_network(studio: Studio, repeats: int) -> dict[str, float]:
    """One generator on one crop (no batching), at the trained size and at 256 px."""
    import torch

    if studio.generators is None:
        return {}
    net = studio.generators.synthesis
    device = next(net.parameters()).device
    # a GPU runs asynchronously: wait for it, or only the launch is timed
    wait = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    times = {}
    for size in sorted({studio.generators.size, 256}):
        face = torch.zeros(1, 3, size, size, device=device)
        heat = torch.zeros(1, net.config.heat_channels, size, size, device=device)
        with torch.inference_mode():
            times[f"generator_{size}px_ms"] = _median_ms(lambda: (net(face, heat), wait()), repeats)
    return times


def run_bench(as_json: bool = False, repeats: int = 15, device: str = "auto") -> int:
    import torch

    from studio.devices import describe_device

    studio = Studio.load(device=device)
    base = load_photo(BENCH_PHOTO)
    rows = [bench_size(studio, base, mp, repeats) for mp in MEGAPIXELS]
    network = bench_network(studio, repeats)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    studio.close()
    if as_json:
        print(json.dumps({"device": studio.device, "device_info": describe_device(studio.device),
                          "rows": rows, "network": network, "peak_rss_mb": round(peak_mb, 1),
                          "threads": cv2.getNumThreads(), "torch_threads": torch.get_num_threads()}))
        return 0
    header = ("MP", "size", "detect", "fit", "warp", "paste", "cached edit", "generator edit", "recognizer",
              "remap floor", "edit/floor", "turn", "relight (face)", "relight (whole photo)", "gaze", "part controls",
              "appearance",
              "removal (generators)", "neutralizer")
    print(f"networks on {describe_device(studio.device)}")
    print(" | ".join(header))
    print(" | ".join("---" for _ in header))
    for r in rows:
        print(f"{r['megapixels']:.2f} | {r['width']}x{r['height']} | {r['detect_ms']:.1f} ms | "
              f"{r['fit_ms']:.2f} ms | {r['warp_ms']:.1f} ms | {r['paste_ms']:.1f} ms | "
              f"{r['cached_edit_ms']:.1f} ms | "
              + (f"{r['generator_edit_ms']:.1f} ms" if r["generator_edit_ms"] is not None else "-") + " | "
              + (f"{r['recognizer_ms']:.1f} ms" if r["recognizer_ms"] is not None else "-")
              + f" | {r['remap_floor_ms']:.1f} ms | {r['edit_vs_floor']:.1f}x | {r['turn_ms']:.1f} ms"
              f" | {r['relight_ms']:.1f} ms | {r['relight_dim_ms']:.1f} ms | {r['gaze_ms']:.1f} ms | "
              f"{r['controls_ms']:.1f} ms | "
              + " | ".join(f"{r[k]:.1f} ms" if r[k] is not None else "-"
                           for k in ("appearance_ms", "removal_ms", "neutralizer_ms")))
    for name, ms in network.items():
        print(f"{name.removesuffix('_ms').replace('_', ' ')}: {ms:.1f} ms (one crop, torch threads {torch.get_num_threads()})")
    print(f"peak memory {peak_mb:.0f} MB; OpenCV threads {cv2.getNumThreads()}")
    return 0
