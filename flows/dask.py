"""Where a stage's batch tasks run: a Dask cluster through prefect-dask when an address is given, else threads here.

``task_map`` turns a Prefect task runner into the ``map_*(fn, items)`` argument every pipeline stage takes: one
Prefect task per item (a class, a shard of photos; never one per photo) running the stage's own function.
"""
from __future__ import annotations

from prefect import task
from prefect.cache_policies import NO_CACHE


def task_runner(address: str | None, local_workers: int = 2):
    if address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=address)
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=local_workers)


@task(name="batch", cache_policy=NO_CACHE)
def _run(fn, item):
    return fn(item)


def task_map(name: str, run_name, *, address: str | None = None, workers: int = 2, retries: int = 0,
             retry_delay_seconds=0):
    """``map(fn, items)``: one task named ``run_name(item)`` per item on ``task_runner(address, workers)``; yields
    the results in item order. ``fn`` must pickle when ``address`` is given (the stages pass module-level
    functions bound with ``functools.partial``)."""
    def run(fn, items):
        t = _run.with_options(name=name, retries=retries, retry_delay_seconds=retry_delay_seconds)
        with task_runner(address, workers) as runner:
            futures = [runner.submit(t.with_options(task_run_name=run_name(it)), parameters={"fn": fn, "item": it})
                       for it in items]
            for f in futures:
                yield f.result()
    return run
