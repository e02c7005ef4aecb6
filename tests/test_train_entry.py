"""One training entry point (issue 20): `flickr-mammal train` and the Prefect train task call
``training.runner.train`` with the same ``TrainConfig`` and return the same record; they resume the same way; a
section left out takes its defaults. The task's function runs without a Prefect server (``.fn``)."""
from __future__ import annotations

import json

import pytest

from catalog.errors import UserError
from flows.cli import main
from training.config import read_config

TOML = """
[data]
name = "digits"
test_fraction = 0.1

[partition]
name = "label-exclusive"
num_partitions = 3

[model]
name = "test_lenet_gn"

[solver]
lr = 0.05
batch_size = 4
iterations = 4

[run]
eval_every = 2
"""          # no [algorithm]: the default, bsp
VOLATILE = ("wall_s", "metrics", "curves")      # where the run lies and how long it took


def _cli(capsys, *argv) -> dict:
    assert main(["train", *argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def _same(a: dict, b: dict) -> dict:
    return {k: v for k, v in a.items() if k not in VOLATILE}, {k: v for k, v in b.items() if k not in VOLATILE}


def test_cli_and_flow_give_the_same_record_for_the_same_config(tmp_path, capsys):
    from flows.train import train_task

    path = tmp_path / "tiny.toml"
    path.write_text(TOML)
    cli = _cli(capsys, str(path), "--out", str(tmp_path / "cli"), "--no-resume")
    rec = train_task.fn(read_config(path), str(tmp_path / "flow"), resume=False)
    flow = json.loads(json.dumps(rec.as_dict()))
    a, b = _same(cli, flow)
    assert a == b
    assert cli["algorithm"] == "bsp" and cli["iteration"] == 4 and set(cli["per_partition"]) == {"0", "1", "2"}
    assert cli["accuracy"] == cli["acc_mean"] and cli["bytes"] > 0
    assert (tmp_path / "flow" / "curves.png").is_file() and (tmp_path / "cli" / "metrics.jsonl").is_file()
    # resuming a finished run: both paths load its checkpoint and return its record unchanged
    again = train_task.fn(read_config(path), str(tmp_path / "cli"), resume=True).as_dict()
    assert {k: v for k, v in again.items() if k not in ("curves", "metrics")} == \
           {k: v for k, v in cli.items() if k not in ("curves", "metrics")}


def test_overrides_and_missing_sections_are_read_once_the_same_way(tmp_path):
    path = tmp_path / "tiny.toml"
    path.write_text(TOML)
    cfg = read_config(path, ["algorithm.name=\"fedavg\"", "algorithm.iter_local=2"])
    assert cfg.algorithm.name == "fedavg" and cfg.algorithm.knobs == {"iter_local": 2}
    assert cfg.skewscout.enabled is False and cfg.topology.name == "ring"          # sections left out: defaults
    with pytest.raises(UserError, match=r"^\[algorithm\] unknown key 'iter_locl'; valid keys: name, iter_local"):
        read_config(path, ["algorithm.name=\"fedavg\"", "algorithm.iter_locl=2"])
    empty = tmp_path / "empty.toml"
    empty.write_text("")
    with pytest.raises(UserError, match=r"^\[data\] names no dataset; set \[data\] name = one of: cifar10, digits"):
        from training.runner import train
        train(read_config(empty), tmp_path / "empty")


@pytest.mark.slow
def test_the_train_task_under_a_prefect_server_returns_the_record(tmp_path, prefect_harness):
    """The task proper (not ``.fn``), inside a flow on a temporary Prefect API: it takes the TrainConfig and returns
    the same TrainRecord as a call without Prefect."""
    from prefect import flow

    from flows.train import train_task

    path = tmp_path / "tiny.toml"
    path.write_text(TOML)
    cfg = read_config(path)

    @flow(name="train-entry-test")
    def one_run():
        return train_task(cfg, str(tmp_path / "prefect"), resume=False)

    rec = one_run()
    plain = train_task.fn(cfg, str(tmp_path / "plain"), resume=False)
    a, b = _same(rec.as_dict(), plain.as_dict())
    assert a == b and rec.algorithm == "bsp"


def test_a_run_folder_of_another_config_starts_afresh(tmp_path, capsys):
    """A checkpoint left by a run of an edited config is not resumed as if it were this config's (the study's
    folders and `train --out` alike); the same config resumes."""
    from training.runner import train

    def cfg(lr):
        path = tmp_path / f"lr{lr}.toml"
        path.write_text(TOML.replace("lr = 0.05", f"lr = {lr}"))
        return read_config(str(path))

    out = tmp_path / "run"
    first = train(cfg(0.05), out)
    again = train(cfg(0.05), out)                          # the same config: its finished checkpoint is resumed
    assert again.final == first.final
    assert "another config" not in capsys.readouterr().err
    other = train(cfg(0.2), out)                           # an edited config: trained afresh, with its own lr
    assert "holds a run of another config; starting afresh" in capsys.readouterr().err
    assert other.final["lr"] == pytest.approx(4 * first.final["lr"]) and other.final["iteration"] == 4
    assert json.loads((out / "config.json").read_text())["solver"]["lr"] == pytest.approx(0.2)
