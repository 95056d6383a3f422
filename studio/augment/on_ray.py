"""The variants made on a Ray cluster: one actor per worker, each loading the models once, taking
batches of photos; the photos travel to the actors as bytes and the images come back as bytes, so
the machines need no shared disk, and this process writes the manifest as it does locally."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator

from studio.augment.work import Job, Settings, make_variants
from studio.errors import StudioError

BATCH = 4          # photos per Ray task: enough to hide a task's overhead, few enough to lose little
IN_FLIGHT = 2      # tasks queued per actor


class _Maker:
    def __init__(self, backend: str, device: str):
        from studio.operations.studio import Studio

        self.studio = Studio.load(backend=backend, device=device)

    def make(self, jobs: list[Job], settings: Settings) -> list[list[dict]]:
        return [make_variants(self.studio, job, settings) for job in jobs]


def connect(address: str):
    """`auto`: the cluster this machine belongs to (`ray start`); `local`: a Ray instance started
    here for this run; otherwise a head node's address (HOST:PORT or ray://HOST:PORT)."""
    try:
        import ray
    except ImportError:
        raise StudioError("--ray needs Ray: .venv/bin/pip install -e '.[ray]' in the studio's folder") from None
    try:
        if address == "local":
            ray.init(include_dashboard=False, logging_level="ERROR", log_to_driver=False)
        else:
            ray.init(address=address, logging_level="ERROR", log_to_driver=False)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        raise StudioError(f"cannot reach the Ray cluster at {address}: {str(exc).splitlines()[0]}") from None
    return ray


def run_on_ray(jobs: Iterable[Job], settings: Settings, address: str, workers: int | None = None,
               device: str = "auto") -> Iterator[list[dict]]:
    ray = connect(address)
    try:
        count = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))
        maker = ray.remote(num_cpus=1)(_Maker)
        actors = [maker.remote(settings.backend, device) for _ in range(count)]
        batches = iter(lambda it=iter(jobs): list(itertools.islice(it, BATCH)), [])
        running = {}   # task -> actor
        for actor in actors:
            for batch in itertools.islice(batches, IN_FLIGHT):
                running[actor.make.remote(batch, settings)] = actor
        while running:
            [done], _ = ray.wait(list(running), num_returns=1)
            actor = running.pop(done)
            try:
                results = ray.get(done)
            except ray.exceptions.RayError as exc:
                raise StudioError(f"a Ray worker failed: {str(exc).splitlines()[0]}; rerun to resume") from None
            yield from results
            batch = next(batches, None)
            if batch:
                running[actor.make.remote(batch, settings)] = actor
    finally:
        ray.shutdown()
