"""The generators measured on held-out people against their real photos (G2-GAN's PSNR / SSIM),
side by side with no edit and with geometry alone, on the saved test split.

Synthesis: the neutral crop -> each expression (geometry from the real expression photo).
Removal: each expression crop -> the neutral. All on aligned crops at the training size.
Besides the whole crop, PSNR is also taken around the target's mouth (the lips region, where
the shipped generators may act), so their effect is not averaged away by the rest of the face.
"""

from __future__ import annotations

import time

import numpy as np
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from studio.synthesis.dataset import PairArrays
from studio.synthesis.generators import REMOVAL, SYNTHESIS, Generators


def mouth_regions(points: np.ndarray, size: int) -> np.ndarray:
    """B x S x S bool: around each target's lips (feature_region's "lips", above 5%)."""
    import torch

    from studio.synthesis.heatmaps import render_heatmap
    from studio.synthesis.networks import feature_region

    heat = torch.from_numpy(np.stack([render_heatmap(p, size) for p in points]))
    return (feature_region(heat, "lips")[:, 0] > 0.05).numpy()


def _scores(made: np.ndarray, real: np.ndarray, mouth: np.ndarray) -> dict[str, float]:
    psnr = np.mean([peak_signal_noise_ratio(r, m, data_range=255) for m, r in zip(made, real)])
    ssim = np.mean([structural_similarity(r, m, channel_axis=2, data_range=255) for m, r in zip(made, real)])
    error = ((made.astype(np.float64) - real) ** 2).mean(axis=-1)
    mouth_psnr = np.mean([10 * np.log10(255.0 ** 2 / max(e[m].mean(), 1e-10)) for e, m in zip(error, mouth)])
    return {"psnr": float(psnr), "ssim": float(ssim), "mouth_psnr": float(mouth_psnr)}


def task_arrays(pairs: PairArrays, task: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(source crops, source warped to the target geometry, the real target, target points)."""
    if task == SYNTHESIS:
        return pairs.neutral, pairs.warp_ne, pairs.expression, pairs.expression_points
    return pairs.expression, pairs.warp_en, pairs.neutral, pairs.neutral_points


def evaluate(pairs: PairArrays, generators: Generators | None, batch: int = 16) -> dict:
    """{task: {row: {"psnr", "ssim"}}, plus mask coverage and time per crop} for synthesis and removal."""
    report = {"pairs": len(pairs), "people": len(set(pairs.subjects))}
    for task in (SYNTHESIS, REMOVAL):
        source, warped, real, points = task_arrays(pairs, task)
        mouth = mouth_regions(points, real.shape[1])
        rows = {"no edit": _scores(source, real, mouth), "geometry": _scores(warped, real, mouth)}
        if generators is not None:
            outs, masks, seconds = [], [], 0.0
            for i in range(0, len(pairs), batch):
                start = time.perf_counter()
                out, _, mask = generators.run(task, warped[i:i + batch], points[i:i + batch])
                seconds += time.perf_counter() - start
                outs.append(out)
                masks.append(mask)
            rows["generator"] = _scores(np.concatenate(outs), real, mouth)
            report[f"{task}_mask_coverage"] = float(np.concatenate(masks).mean())
            report[f"{task}_ms_per_crop"] = 1000.0 * seconds / len(pairs)
        report[task] = rows
    return report


def comparison_grid(pairs: PairArrays, generators: Generators, task: str = SYNTHESIS,
                    count: int = 6) -> np.ndarray:
    """One row per pair: input, geometry, generator, real photo (uint8 RGB), the first `count`
    pairs of different people."""
    first = {}
    for i, subject in enumerate(pairs.subjects):
        first.setdefault(subject, i)
    index = np.array(list(first.values())[:count])
    source, warped, real, points = task_arrays(pairs, task)
    made, _, _ = generators.run(task, warped[index], points[index])
    rows = [np.concatenate([source[i], warped[i], m, real[i]], axis=1) for i, m in zip(index, made)]
    return np.concatenate(rows, axis=0)


def format_report(report: dict) -> str:
    lines = [f"{report['pairs']} pairs of {report['people']} people ({report.get('people_set', 'test')})", "",
             "| task | row | PSNR (dB) | SSIM | mouth PSNR (dB) |", "| --- | --- | --- | --- | --- |"]
    for task in (SYNTHESIS, REMOVAL):
        for row, s in report[task].items():
            lines.append(f"| {task} | {row} | {s['psnr']:.2f} | {s['ssim']:.3f} | {s['mouth_psnr']:.2f} |")
    for task in (SYNTHESIS, REMOVAL):
        if f"{task}_mask_coverage" in report:
            lines.append(f"\n{task}: mask coverage {report[f'{task}_mask_coverage']:.3f}, "
                         f"{report[f'{task}_ms_per_crop']:.1f} ms per crop (batched)")
    return "\n".join(lines)
