"""Training on the real face sets, kept tiny: data, networks, resume, export."""

import json

import numpy as np
import pytest
import torch

from studio import paths
from studio.synthesis.dataset import (
    DataConfig,
    build_dataset,
    load_pairs,
    person_split,
    read_pairs,
)
from studio.synthesis.networks import GeneratorConfig, ResidualGenerator

pytestmark = pytest.mark.skipif(not (paths.faces_dir() / "manifest.csv").is_file(),
                                reason="needs ../shared/data/faces")


def test_split_is_by_person_and_saved():
    pairs = read_pairs(paths.faces_dir())
    split = json.loads((paths.WEIGHTS_DIR / "g2gan_split.json").read_text())
    assert split == person_split([p.subject for p in pairs])      # the saved split is the rule's
    parts = [set(split[k]) for k in ("train", "val", "test")]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(parts[2]) >= 10
    assert {p.subject for p in pairs} == parts[0] | parts[1] | parts[2]
    assert all(p.neutral_file != p.expression_file for p in pairs)


def test_pair_crops_overlap_and_geometry_moves_toward_the_expression(tmp_path):
    path = build_dataset(DataConfig(faces_dir=paths.faces_dir(), size=64, limit=14, cache_dir=tmp_path))
    pairs = load_pairs(path, [p.subject for p in read_pairs(paths.faces_dir())[:14]])
    assert len(pairs) == 14 and pairs.neutral.shape == (14, 64, 64, 3)
    # after alignment the two photos of a person overlap on the stable points ...
    from studio.face.mesh import STABLE
    drift = np.linalg.norm(pairs.neutral_points[:, STABLE] - pairs.expression_points[:, STABLE], axis=2).mean()
    assert drift < 1.5   # pixels at 64 px
    # ... and the geometry warp brings the neutral crop closer to the real expression than it was
    before = np.abs(pairs.neutral.astype(int) - pairs.expression).mean()
    after = np.abs(pairs.warp_ne.astype(int) - pairs.expression).mean()
    assert after < before


def test_generator_keeps_pixels_where_its_mask_is_zero():
    g = ResidualGenerator(GeneratorConfig(base=8, residual_blocks=1)).eval()
    face = torch.rand(1, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        g.head.bias.view(4, 4)[3].fill_(-50.0)   # mask -> 0
        out, residual, mask = g(face, torch.zeros(1, 3, 64, 64))
    assert out.shape == face.shape and mask.max() < 1e-6
    assert torch.allclose(out, face.clamp(-1, 1), atol=1e-5)


def test_generator_mask_opens_only_around_the_features():
    from studio.synthesis.heatmaps import render_heatmap
    from studio.synthesis.networks import feature_region

    g = ResidualGenerator(GeneratorConfig(base=8, residual_blocks=1)).eval()
    points = np.zeros((478, 2), np.float32) + 16.0          # every point at (16, 16): one blob there
    heat = torch.from_numpy(render_heatmap(points, 64))[None]
    with torch.no_grad():
        g.head.bias.view(4, 4)[3].fill_(50.0)   # the network asks for mask 1 everywhere
        _, _, mask = g(torch.zeros(1, 3, 64, 64), heat)
    assert mask[0, 0, 16, 16] > 0.9                     # on the features: as asked
    assert mask[0, 0, 40:, 40:].max() == 0             # far from them: nothing changes
    assert torch.equal(feature_region(heat) > 0, mask > 0)


def test_hue_safe_residual_adds_no_hue_the_face_lacks():
    from studio.synthesis.networks import feature_region, hue_safe_residual

    torch.manual_seed(0)
    raw = torch.randn(2, 3, 32, 32) * 5                      # whatever the network asks for
    region = feature_region(torch.rand(2, 3, 32, 32))
    grey = torch.rand(2, 1, 32, 32).expand(-1, 3, -1, -1) * 2 - 1
    r = hue_safe_residual(raw, grey, region)
    assert torch.allclose(r[:, 0], r[:, 1], atol=1e-6) and torch.allclose(r[:, 1], r[:, 2], atol=1e-6)
    # a face whose pixels all have one hue (red over green/blue, in varying amounts): every output
    # pixel still has that hue or none, never its complement or another one
    luma = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
    direction = torch.tensor([1.0, -0.4, -0.3]).view(1, 3, 1, 1)
    direction = direction - (direction * luma).sum(1, keepdim=True)
    face = torch.rand(2, 1, 32, 32) * 0.5 - 0.2 + torch.rand(2, 1, 32, 32) * 0.4 * direction
    out = face + hue_safe_residual(raw, face, region)
    chroma = out - (out * luma).sum(1, keepdim=True)
    along = (chroma * direction).sum(1) / direction.norm()
    assert (chroma - along[:, None] * direction / direction.norm()).abs().max() < 1e-4   # no other hue
    assert along.min() > -1e-4                                                          # nor its opposite
    assert along.max() > 0.3                                                            # it can colour


def test_a_new_run_can_start_from_another_runs_networks(tmp_path):
    from studio.errors import StudioError
    from studio.synthesis.train import TrainConfig, Trainer

    base = dict(faces_dir=paths.faces_dir(), size=64, steps=2, batch=2, sample_every=2, checkpoint_every=2,
                generator=GeneratorConfig(base=8, residual_blocks=1), limit=60, lambda_identity=0.0, device="cpu")
    first = Trainer(TrainConfig(run_dir=tmp_path / "first", **base))
    first.run(progress=False)
    tuned = Trainer(TrainConfig(run_dir=tmp_path / "tuned", init_from=tmp_path / "first" / "checkpoint.safetensors",
                                **{**base, "steps": 3}))
    assert not tuned.resume() and tuned.step == 0                        # a new run: its own step count ...
    for a, b in zip(first.G_N.state_dict().values(), tuned.G_N.state_dict().values()):
        assert torch.equal(a, b)                                         # ... from the first run's networks
    assert not tuned.opt_G.state                                         # with fresh optimisers
    tuned.run(progress=False)
    again = Trainer(TrainConfig(run_dir=tmp_path / "tuned", init_from=tmp_path / "missing", **{**base, "steps": 3}))
    assert again.resume() and again.step == 3                            # its own checkpoint comes first
    with pytest.raises(StudioError, match="no checkpoint to start from"):
        Trainer(TrainConfig(run_dir=tmp_path / "other", init_from=tmp_path / "missing", **base)).resume()


def test_colour_jitter_is_one_look_per_pair_and_reproducible():
    from studio.synthesis.train import PairSource

    path = build_dataset(DataConfig(faces_dir=paths.faces_dir(), size=64, limit=14))
    pairs = load_pairs(path, [p.subject for p in read_pairs(paths.faces_dir())[:14]])
    source = PairSource(pairs, 64, seed=3, device=torch.device("cpu"))
    plain, jittered = source.batch(7, 4, jitter=0.0), source.batch(7, 4, jitter=0.25)
    assert torch.equal(source.batch(7, 4, jitter=0.25).neutral, jittered.neutral)   # a pure function of the step
    assert not torch.allclose(plain.neutral, jittered.neutral)
    # each pair's images get the same gain and gamma: where a pixel is equal before, it stays equal
    same = (plain.warp_ne == plain.neutral)
    assert same.float().mean() > 0.2
    assert torch.equal(jittered.warp_ne[same], jittered.neutral[same])


def test_resumed_training_matches_an_uninterrupted_run(tmp_path):
    from studio.synthesis.train import TrainConfig, Trainer, export_generators

    def config(run):
        return TrainConfig(faces_dir=paths.faces_dir(), run_dir=tmp_path / run, size=64, steps=4, batch=2,
                           generator=GeneratorConfig(base=8, residual_blocks=1), sample_every=2,
                           checkpoint_every=2, limit=60, lambda_identity=0.0, device="cpu")

    whole = Trainer(config("whole"))
    whole.run(progress=False)
    first = Trainer(TrainConfig(**{**config("split").__dict__, "steps": 2}))
    first.run(progress=False)
    second = Trainer(config("split"))
    assert second.resume() and second.step == 2
    last = second.run(progress=False)
    for a, b in zip(whole.G_E.state_dict().values(), second.G_E.state_dict().values()):
        assert torch.allclose(a, b, atol=1e-6)
    assert np.isfinite([v for k, v in last.items() if isinstance(v, float)]).all()
    assert (tmp_path / "split" / "samples" / "step_000004.png").is_file()
    assert len((tmp_path / "split" / "train.log").read_text().splitlines()) == 4
    weights = export_generators(second, tmp_path / "g.safetensors")
    from safetensors.torch import load_file
    tensors = load_file(str(weights))
    assert any(k.startswith("G_E.") for k in tensors) and any(k.startswith("G_N.") for k in tensors)
    assert not any(k.startswith("D_") for k in tensors)
    # the export command gives the same tensors straight from the checkpoint
    from studio.synthesis.train import export_checkpoint
    again = load_file(str(export_checkpoint(tmp_path / "split" / "checkpoint.safetensors", tmp_path / "c.safetensors")))
    assert again.keys() == tensors.keys() and all(torch.equal(again[k], tensors[k]) for k in tensors)
    # every checkpoint also left its generators; the last ones average into shippable weights
    from studio.synthesis.generators import Generators, average_generators
    snaps = sorted((tmp_path / "split" / "generators").glob("step_*.safetensors"))
    assert [p.name for p in snaps] == ["step_000002.safetensors", "step_000004.safetensors"]
    mean = load_file(str(average_generators(snaps, tmp_path / "mean.safetensors")))
    s2, s4 = (load_file(str(p)) for p in snaps)
    key = next(k for k in mean if k.startswith("G_E.") and k.endswith("weight"))
    assert torch.allclose(mean[key], (s2[key] + s4[key]) / 2) and not torch.equal(s2[key], s4[key])
    assert Generators.load(tmp_path / "mean.safetensors").info["averaged_steps"] == "2,4"
    # shipped weights can be told to change a tighter region than they were trained on: the same
    # networks, masks only ever smaller
    from studio.synthesis.generators import set_region
    wide = Generators.load(tmp_path / "mean.safetensors")
    tight = Generators.load(set_region(tmp_path / "mean.safetensors", "lips"))
    assert (wide.info["region"], tight.info["region"], tight.info["trained_region"]) == ("mouth", "lips", "mouth")
    pairs = load_pairs(build_dataset(DataConfig(faces_dir=paths.faces_dir(), size=64, limit=60)),
                       [p.subject for p in read_pairs(paths.faces_dir())[:60]])
    _, _, m_wide = wide.run("synthesis", pairs.warp_ne[:4], pairs.expression_points[:4])
    _, _, m_tight = tight.run("synthesis", pairs.warp_ne[:4], pairs.expression_points[:4])
    assert (m_tight <= m_wide + 1e-6).all() and m_tight.sum() < 0.8 * m_wide.sum()


def test_identity_chips_match_the_descriptors_own_alignment(studio, analyzed):
    """The chip cut from a training crop by chip_theta equals the chip cut from the photo."""
    from torch.nn import functional as F

    from studio.face.align import align, crop
    from studio.synthesis.face_descriptor import chip_alignment
    from studio.synthesis.train import chip_theta

    a = analyzed("002")
    face = a.faces[0]
    frame = align(face.points, 128)
    crop_pixels = crop(a.photo.rgb, frame)
    points = frame.to_crop(face.points)
    theta = torch.from_numpy(chip_theta(points, 128))[None]
    image = torch.from_numpy(crop_pixels).permute(2, 0, 1)[None].float()
    grid = F.affine_grid(theta, (1, 3, 150, 150), align_corners=False)
    chip = F.grid_sample(image, grid, align_corners=False)[0].permute(1, 2, 0).numpy()
    direct = crop(a.photo.rgb, chip_alignment(face.points, 150)).astype(np.float32)
    assert np.abs(chip - direct).mean() < 8   # same face, same framing (the crop is lower resolution)
    # mirroring the crop (training's flip) with the row-negated theta leaves the chip as it was
    mirrored = torch.tensor([[-1.0], [1.0]]) * theta
    chip2 = F.grid_sample(image.flip(-1), F.affine_grid(mirrored, (1, 3, 150, 150), align_corners=False),
                          align_corners=False)[0].permute(1, 2, 0).numpy()
    assert np.abs(chip2 - chip).mean() < 1.0
