"""The stage registry (flows/stages.py): a stage registered once appears in `build --help`, takes its settings
from `--set` / `--config`, and runs in `build`; the stage order is written in one place."""
from __future__ import annotations

import json
import pickle
import re
from dataclasses import asdict, dataclass
from pathlib import Path

import duckdb
import pytest

from tests.conftest import REPO


@dataclass
class ToySettings:
    word: str = "hello"
    times: int = 1
    ratio: float | None = None
    loud: bool = False


def toy_stage(cfg, prefect: bool = True) -> dict:
    """A whole stage: reads its settings from the config, writes the catalog, returns a summary."""
    from catalog import connect

    s = cfg.toy
    con = connect(cfg.catalog)
    con.execute("CREATE TABLE IF NOT EXISTS toy (word VARCHAR)")
    word = s.word.upper() if s.loud else s.word
    con.executemany("INSERT INTO toy VALUES (?)", [[word]] * s.times)
    n = con.execute("SELECT count(*) FROM toy").fetchone()[0]
    con.close()
    return {"rows": n, "ratio": s.ratio, "prefect": prefect}


@pytest.fixture
def toy():
    """The toy stage registered after geocode for one test; the registry is put back afterwards."""
    from flows import stages

    before = dict(stages.STAGES)
    stages.register_stage("toy", ToySettings, "tests.test_stages:toy_stage", "a stage made in a test",
                          after="geocode")
    yield stages
    stages.STAGES.clear()
    stages.STAGES.update(before)


@pytest.fixture
def catalog(tmp_path):
    from catalog import connect

    path = tmp_path / "catalog.duckdb"
    connect(path).close()
    return path


def _help(verb: str) -> str:
    import argparse

    from flows.cli import build_parser

    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return " ".join(sub.choices[verb].format_help().split())      # argparse wraps lines: compare words


def _rows(path) -> list:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute("SELECT word FROM toy").fetchall()
    finally:
        con.close()


def test_a_toy_stage_appears_in_build_help_in_its_place(toy):
    text = _help("build")
    assert "crawl,download,dedup,filter,geocode,toy,export,train" in text
    assert "toy a stage made in a test" in text
    assert "word: str = 'hello'; times: int = 1; ratio: float | None = None; loud: bool = False" in text
    assert "geocode,toy,export" in _help("demo")


def test_a_toy_stage_runs_in_build_with_its_settings_from_set_and_config(toy, catalog, tmp_path, capsys):
    from flows.cli import main

    assert main(["build", "--catalog", str(catalog), "--stages", "toy", "--set", "toy.word=hi", "--set",
                 "toy.times=3", "--set", "toy.ratio=0.5", "--no-prefect", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["toy"] and out["toy"]["rows"] == 3 and out["toy"]["ratio"] == 0.5
    assert out["toy"]["prefect"] is False and out["toy"]["seconds"] >= 0
    assert _rows(catalog) == [("hi",)] * 3

    conf = tmp_path / "build.toml"
    conf.write_text('stages = ["toy"]\n\n[toy]\nword = "yo"\ntimes = 5\nloud = true\n')
    assert main(["build", "--catalog", str(catalog), "--config", str(conf), "--set", "toy.times=2",
                 "--no-prefect", "--json"]) == 0       # --set wins over the file
    assert json.loads(capsys.readouterr().out)["toy"]["rows"] == 5
    assert _rows(catalog)[3:] == [("YO",)] * 2


@pytest.mark.parametrize("argv, message", [
    (["--set", "toy.colour=red"], "toy.colour: no such setting; toy settings are word, times, ratio, loud"),
    (["--set", "toy.times=many"], "toy.times='many': expected int"),
    (["--set", "toys.word=x"], "unknown stage 'toys'; stages are crawl, download, dedup, filter, geocode, toy"),
    (["--set", "toy.word"], "--set 'toy.word': expected STAGE.KEY=VALUE"),
    (["--stages", "toy,sing"], "unknown stage 'sing'"),
], ids=["unknown key", "bad type", "unknown stage", "no value", "unknown stage in --stages"])
def test_a_wrong_setting_is_one_line(toy, catalog, capsys, argv, message):
    from flows.cli import main

    assert main(["build", "--catalog", str(catalog), "--stages", "toy", *argv, "--no-prefect"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert "toy" not in {t for (t,) in duckdb.connect(str(catalog), read_only=True).execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}


def prefect_only_stage(cfg) -> dict:
    raise AssertionError("must not run under --no-prefect")


def test_no_prefect_refuses_a_prefect_only_stage_before_any_stage_runs(toy, catalog, capsys):
    from flows.cli import main

    toy.register_stage("late", ToySettings, prefect_only_stage, "a stage without a plain path", after="toy")
    assert main(["build", "--catalog", str(catalog), "--stages", "toy,late", "--no-prefect"]) == 2
    assert capsys.readouterr().err.strip() == ("flickr-mammal: error: stage late: runs only as a Prefect task; drop "
                                               "--no-prefect or leave late out of --stages")
    assert "toy" not in {t for (t,) in duckdb.connect(str(catalog), read_only=True).execute(
        "SELECT table_name FROM information_schema.tables").fetchall()}


def test_every_registered_stage_runs_with_and_without_prefect():
    """`build --no-prefect` runs every stage: each function takes ``prefect``."""
    import inspect

    from flows.stages import STAGES

    for name, st in STAGES.items():
        assert "prefect" in inspect.signature(st.function()).parameters, name


def test_a_wrong_config_file_is_one_line(toy, catalog, tmp_path, capsys):
    from flows.cli import main

    for text, message in (('[toys]\nword = "x"\n', "unknown section [toys]"),
                          ('colour = "red"\n', "unknown key 'colour'"),
                          ('[toy]\ntimes = "3"\n', "toy.times='3': expected int"),
                          ("[toy\n", "--config")):
        conf = tmp_path / "bad.toml"
        conf.write_text(text)
        assert main(["build", "--catalog", str(catalog), "--config", str(conf), "--no-prefect"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and message in err[0], (text, err)


def test_every_stage_setting_is_settable_by_name_and_typed_from_its_field():
    """Each registered stage's every field goes through `--set` and lands typed in BuildConfig, no flag needed."""
    import argparse
    import types
    import typing
    from dataclasses import fields

    from flows.commands import build
    from flows.stage_settings import field_types
    from flows.stages import STAGES

    p = argparse.ArgumentParser()
    build.add_arguments(p)
    examples = {str: "abc", int: "7", float: "0.25", bool: "true", list[str]: "a,b"}
    sets, want = [], {}
    for name, st in STAGES.items():
        for f in fields(st.settings):
            tp = field_types(st.settings)[f.name]
            union = isinstance(tp, types.UnionType)
            base = next(a for a in typing.get_args(tp) if a is not type(None)) if union else tp
            if (name, f.name) in {("download", "output_format"), ("export", "partitioner"), ("export", "level"),
                                  ("export", "licenses"), ("filter", "rule"), ("download", "shorter_side"),
                                  ("download", "longest_side")}:
                continue            # values the dataclass checks (choices, exclusive sizes): covered elsewhere
            sets += ["--set", f"{name}.{f.name}={examples[base]}"]
            want[(name, f.name)] = {"abc": "abc", "7": 7, "0.25": 0.25, "true": True, "a,b": ["a", "b"]}[
                examples[base]]
    cfg = build.build_config(p.parse_args(["--catalog", "c.duckdb", *sets]))
    for (name, key), value in want.items():
        assert getattr(getattr(cfg, name), key) == value, (name, key)


def test_build_config_survives_prefect_parameters_and_pickle(toy):
    """Deployments pass ``asdict(cfg)`` as the flow's parameter and Prefect validates it back with pydantic; Dask
    pickles it. Both give the same typed config."""
    import pydantic

    from flows.config import BuildConfig

    cfg = BuildConfig(catalog="c.duckdb", stages=["toy", "geocode"],
                      settings={"toy": ToySettings(word="x", times=2), "export": {"level": "country"}})
    assert cfg.stages == ["geocode", "toy"] and cfg.export.level == "country" and cfg.toy.times == 2
    assert cfg.crawl == toy.STAGES["crawl"].settings()
    back = pydantic.TypeAdapter(BuildConfig).validate_python(json.loads(json.dumps(asdict(cfg))))
    assert back == cfg and isinstance(back.toy, ToySettings)
    assert pickle.loads(pickle.dumps(cfg)) == cfg


def test_the_stage_order_is_written_in_one_place():
    """The registry's order: no other file of the product lists three or more stages in a row (help texts, the
    build flow, BuildConfig, demo and deploy all read the registry)."""
    from flows.commands.build import build_config
    from flows.config import BuildConfig
    from flows.stages import STAGES, stage_names

    names = stage_names()
    sep = r"[\s,'\"`→>|/\-]+"
    runs = [sep.join(names[i:i + 3]) for i in range(len(names) - 2)]
    pattern = re.compile("|".join(f"(?<![\\w.]){r}(?!\\w)" for r in runs))
    files = [p for pkg in ("flows", "pipeline", "catalog", "training") for p in (REPO / pkg).rglob("*.py")]
    files += [REPO / "README.md", REPO / "Makefile"]
    hits = [f"{p.relative_to(REPO)}: {m.group(0)!r}" for p in files if p.exists()
            for m in pattern.finditer(p.read_text())]
    assert not hits, hits
    assert BuildConfig().stages == names and list(STAGES) == names
    assert all(isinstance(STAGES[n].settings, type) for n in names)
    import argparse

    from flows.commands import build
    p = argparse.ArgumentParser()
    build.add_arguments(p)
    assert build_config(p.parse_args(["--catalog", "c.duckdb", "--stages", ",".join(reversed(names))])
                        ).stages == names


def test_build_creates_a_catalog_only_when_its_first_stage_creates_data(tmp_path):
    import argparse

    from flows.commands import build

    p = argparse.ArgumentParser()
    build.add_arguments(p)
    assert build.creates_catalog(p.parse_args([]))                               # crawl first
    assert build.creates_catalog(p.parse_args(["--stages", "geocode,crawl"]))     # run in order: crawl first
    assert not build.creates_catalog(p.parse_args(["--stages", "download,export"]))


@pytest.mark.heavy
def test_a_toy_stage_runs_in_the_build_flow_under_prefect(toy, catalog, prefect_harness, capsys):
    from flows.cli import main

    assert main(["build", "--catalog", str(catalog), "--stages", "toy", "--set", "toy.times=2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["toy"]["rows"] == 2 and out["toy"]["prefect"] is True
    assert Path(catalog).exists()
