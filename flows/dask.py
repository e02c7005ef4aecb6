"""Where shard tasks run: a Dask cluster through prefect-dask when an address is given, else threads here."""
from __future__ import annotations


def task_runner(address: str | None, local_workers: int = 2):
    if address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=address)
    from prefect.task_runners import ThreadPoolTaskRunner

    return ThreadPoolTaskRunner(max_workers=local_workers)
