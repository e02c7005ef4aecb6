"""The download stage: one Prefect task per shard of photos; the flow alone writes the catalog."""
from __future__ import annotations

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from catalog import connect
from flows.config import BuildConfig
from flows.dask import task_runner
from pipeline.download import ShardSettings, download_shard, read_jobs, recorded_shards, shard, shard_name, write_rows


@task(name="download-shard", task_run_name="download-shard-{shard_id}", retries=2, retry_delay_seconds=5,
      cache_policy=NO_CACHE)
def download_shard_task(shard_id: int, jobs: list, settings: ShardSettings, name: str | None = None):
    return download_shard(shard_id, jobs, settings, name=name)


@flow(name="download", flow_run_name="download")
def download_flow(catalog: str, home: str, static_base: str | None = None, shorter_side: int | None = None,
                  longest_side: int | None = None, shard_size: int = 256, dask_address: str | None = None,
                  output_format: str = "files") -> dict:
    settings = ShardSettings(home, shorter_side, longest_side, output_format=output_format)   # checks the format
    con = connect(catalog)
    jobs = read_jobs(con, static_base)
    taken = recorded_shards(con)
    ok = failed = 0
    runner = task_runner(dask_address)
    with runner:
        futures = [runner.submit(download_shard_task, parameters=dict(shard_id=sid, jobs=part, settings=settings,
                                                                     name=shard_name(sid, taken)))
                   for sid, part in shard(jobs, shard_size)]
        for fut in futures:                      # workers write files/tars; only this process writes rows
            rows = fut.result()
            write_rows(con, rows)
            n_ok = sum(1 for s in rows["status"].to_pylist() if s == "ok")
            ok, failed = ok + n_ok, failed + rows.num_rows - n_ok
    return {"downloaded": ok, "failed": failed, "shards": len(futures)}


def download_stage(cfg: BuildConfig) -> dict:
    return download_flow(cfg.catalog, cfg.home, cfg.static_base, cfg.shorter_side, cfg.longest_side,
                         dask_address=cfg.dask_address, output_format=cfg.output_format)
