"""The variants made on this machine: in this process (one worker), or in worker processes that
each load the models once (a process pool's initializer) and take one photo at a time."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
import multiprocessing

from studio.augment.work import Job, Settings, make_variants
from studio.errors import StudioError
from studio.operations.studio import Studio

_studio: Studio | None = None   # a worker process's models, loaded once by its pool's initializer


def _start_worker(backend: str, device: str, threads: int) -> None:
    global _studio
    import cv2
    import torch

    torch.set_num_threads(threads)   # N workers share the cores instead of each taking all of them
    cv2.setNumThreads(threads)
    _studio = Studio.load(backend=backend, device=device)


def _work(job: Job, settings: Settings) -> list[dict]:
    return make_variants(_studio, job, settings)


def run_local(jobs: Iterable[Job], settings: Settings, workers: int = 1, device: str = "auto") -> Iterator[list[dict]]:
    """Each photo's rows, in the order they finish."""
    if workers <= 1:
        studio = Studio.load(backend=settings.backend, device=device)
        try:
            for job in jobs:
                yield make_variants(studio, job, settings)
        finally:
            studio.close()
        return
    threads = max(1, (os.cpu_count() or 1) // workers)
    # spawned, not forked: MediaPipe's and PyTorch's threads do not survive a fork
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                               initargs=(settings.backend, device, threads))
    pending, queue = set(), iter(jobs)
    try:
        for job in queue:          # two photos per worker in flight, the rest read only when needed
            pending.add(pool.submit(_work, job, settings))
            if len(pending) >= 2 * workers:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                yield future.result()
                job = next(queue, None)
                if job is not None:
                    pending.add(pool.submit(_work, job, settings))
    except BrokenProcessPool:
        raise StudioError("a worker process stopped (out of memory?); rerun the same command to resume") from None
    finally:
        for future in pending:
            future.cancel()
        pool.shutdown(wait=True, cancel_futures=True)
