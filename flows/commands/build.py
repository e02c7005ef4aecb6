"""`flickr-mammal build`: every registered stage (flows/stages.py) as one Prefect flow. Each stage's settings are set
by name, `--set STAGE.KEY=VALUE` or a `--config` TOML file with one `[stage]` section per stage; there are no
per-stage flags to keep in step with the settings dataclasses."""
from __future__ import annotations

HELP = "run the pipeline stages in order as one Prefect flow; every stage setting via --set STAGE.KEY=VALUE or --config"

# flags kept for the settings users give most: each sets the field of that name in every stage that has one
SHORTCUTS = {"api_url": ("--api-url", "URL"), "static_base": ("--static-base", "URL"),
             "classes": ("--classes", "NAMES"), "classes_file": ("--classes-file", "FILE"),
             "key_file": ("--key-file", "FILE"), "rate": ("--rate", "PER_HOUR")}
CONFIG_KEYS = ("stages", "dask_address")       # top-level keys of a --config file besides its [stage] sections


def add_stage_arguments(p, default_stages: list[str] | None = None) -> None:
    """The flags `build` and `deploy` share, and a help epilog listing each stage's settings (from the registry)."""
    import argparse
    import textwrap

    from flows.commands.common import add_catalog_argument, comma_list
    from flows.stage_settings import keys_text
    from flows.stages import STAGES

    p.formatter_class = argparse.RawDescriptionHelpFormatter
    add_catalog_argument(p)
    p.add_argument("--home", help="data directory for images, exports and runs (default: beside the catalog)")
    p.add_argument("--stages", type=comma_list, default=default_stages,
                   help=f"comma-separated subset of {','.join(STAGES)}; they run in this order (default: "
                        f"{','.join(default_stages) if default_stages else 'all'})")
    p.add_argument("--config", metavar="TOML", help="stage settings file: one [stage] section per stage (keys below); "
                                                    "top-level stages = [...] and dask_address")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="STAGE.KEY=VALUE",
                   help="one stage setting, typed from its settings class, e.g. --set export.level=country "
                        "(repeatable; wins over --config)")
    for name, (flag, metavar) in SHORTCUTS.items():
        owners = [s for s, st in STAGES.items() if name in _field_names(st.settings)]
        p.add_argument(flag, dest=name, metavar=metavar,
                       help=f"same as {' '.join(f'--set {s}.{name}={metavar}' for s in owners)}")
    p.add_argument("--dask", dest="dask_address", help="Dask scheduler address for download/filter shards")
    lines = [f"  {n:<10}{st.help}\n" + textwrap.fill(keys_text(st.settings), 118, initial_indent=" " * 12,
                                                    subsequent_indent=" " * 12) for n, st in STAGES.items()]
    p.epilog = "stages, in pipeline order, and their settings (--set STAGE.KEY=VALUE or [STAGE] in --config):\n" + \
        "\n".join(lines)


def _field_names(cls) -> set[str]:
    from dataclasses import fields

    return {f.name for f in fields(cls)}


def add_arguments(p) -> None:
    from flows.commands.common import add_prefect_argument

    add_stage_arguments(p)
    add_prefect_argument(p, default=True)
    p.add_argument("--json", action="store_true")


def chosen_stages(args) -> list[str]:
    """The stages this run executes, in pipeline order: --stages, else the config file's, else all."""
    from flows.stages import in_order, stage_names

    names = args.stages or _config(args)[0].get("stages") or stage_names()
    return in_order(names.split(",") if isinstance(names, str) else names)


def creates_catalog(args) -> bool:
    """`build` may start from a missing catalog only when its first stage creates data (crawl)."""
    from flows.stages import get_stage

    stages = chosen_stages(args)
    return bool(stages) and get_stage(stages[0]).creates_catalog


def _config(args) -> tuple[dict, dict[str, dict]]:
    from flows.stage_settings import read_config_file
    from flows.stages import stage_names

    return read_config_file(args.config, stage_names(), CONFIG_KEYS) if getattr(args, "config", None) else ({}, {})


def build_config(args):
    """BuildConfig from the flags `build` and `deploy` share. Each stage's settings: its --config section, then
    the shortcut flags, then --set (the later wins); a setting given nowhere keeps its dataclass default."""
    from pathlib import Path

    from flows.config import BuildConfig
    from flows.stage_settings import parse_assignment, typed_value
    from flows.stages import STAGES, get_stage

    top, sections = _config(args)
    values = {name: {k: typed_value(name, st.settings, k, v, from_text=False)
                     for k, v in sections.get(name, {}).items()} for name, st in STAGES.items()}
    for key in SHORTCUTS:
        raw = getattr(args, key, None)
        if raw is not None:
            for name, st in STAGES.items():
                if key in _field_names(st.settings):
                    values[name][key] = typed_value(name, st.settings, key, raw, from_text=True)
    for text in getattr(args, "overrides", []) or []:
        name, key, raw = parse_assignment(text)
        values[name][key] = typed_value(name, get_stage(name).settings, key, raw, from_text=True)
    return BuildConfig(catalog=args.catalog, home=args.home or str(Path(args.catalog).parent),
                       stages=chosen_stages(args), dask_address=args.dask_address or top.get("dask_address"),
                       settings=values)


def run(args) -> int:
    from flows.commands.common import print_json

    cfg = build_config(args)
    if args.prefect:
        from flows.build import build_flow
        from flows.engine import run_flow

        out = run_flow(build_flow, cfg)
    else:
        from flows.stages import run_stages

        out = run_stages(cfg, prefect=False)
    if args.json:
        print_json(out)
    else:
        for stage, s in out.items():
            print(f"{stage}: {s}")
    return 0
