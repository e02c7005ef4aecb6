"""The filter stage of `build`: (optionally train,) score shards of photos, decide, evaluate against truth."""
from __future__ import annotations

from pathlib import Path

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from catalog import connect, load_classes
from flows.config import BuildConfig
from flows.dask import task_runner


@task(name="filter-score-shard", task_run_name="filter-shard-{shard_id}", retries=1, cache_policy=NO_CACHE)
def score_shard_task(shard_id: int, photos: list, model: str, weights: str | None, home: str, classes_file: str | None):
    from pipeline.filter import load_classifier
    from pipeline.filter.score import device_for, predict, score_rows

    clf = load_classifier(model, weights)
    return score_rows(clf, load_classes(classes_file), photos, predict(clf, photos, home, device_for(), workers=0))


@flow(name="filter", flow_run_name="filter-{model}")
def filter_flow(catalog: str, home: str, model: str = "pnasnet5large", weights: str | None = None,
                rule: str = "mass", threshold: float = 0.2, train: bool = False, dask_address: str | None = None,
                classes_file: str | None = None, shard_size: int = 512) -> dict:
    from pipeline.filter import decide, evaluate, load_classifier, train_classifier
    from pipeline.filter.score import pending, write_scores

    con = connect(catalog)
    out: dict = {}
    if train:
        weights = str(Path(home) / "classifier" / "classifier.pth")
        out["train"] = train_classifier(con, home, weights, show_progress=False)
    clf = load_classifier(model, weights)                    # refuses random weights before any work
    photos = pending(con, clf)
    runner = task_runner(dask_address)
    with runner:
        futures = [runner.submit(score_shard_task, parameters=dict(shard_id=i // shard_size,
                                 photos=photos[i:i + shard_size], model=model, weights=weights, home=home,
                                 classes_file=classes_file)) for i in range(0, len(photos), shard_size)]
        for f in futures:
            write_scores(con, f.result())
    out |= {"model": clf.name, "weights_sha256": clf.weights_sha256[:12], "scored": len(photos)}
    out |= decide(con, clf.name, clf.weights_sha256, rule, threshold)
    if con.execute("SELECT count(*) FROM sim_truth").fetchall()[0][0]:
        out["vs_ground_truth"] = evaluate(con)
    return out


def filter_stage(cfg: BuildConfig) -> dict:
    return filter_flow(cfg.catalog, cfg.home, cfg.filter_model, cfg.filter_weights, cfg.filter_rule,
                       cfg.filter_threshold, cfg.filter_train, cfg.dask_address, cfg.classes_file)
