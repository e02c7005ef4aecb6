"""The training config as typed sections, parsed once: ``load_config`` reads a TOML file and its ``--set``
overrides, ``parse_config`` checks the whole of it into a ``TrainConfig`` that every caller (the CLI, the Prefect
flow, the study, each torch.distributed rank) hands on as it is. Each default is written once, here or in the
section's own module (``[solver]``: training/solver.py, ``[skewscout]``: training/skewscout/settings.py); a missing
section takes its defaults; an unknown key is refused in one line naming the section's valid keys, so that a typo
does not train with the default. Keys that depend on the chosen dataset, partitioner, topology or algorithm are
the keyword arguments of its registered entry. No torch here: the registries are looked up only when a config
names an entry."""
from __future__ import annotations

import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from catalog.errors import UserError
from training.registry import keyword_args
from training.skewscout.settings import SkewScoutConfig
from training.solver import LR_SCHEDULES, SolverConfig

BN_POLICIES = ("shared", "local")
BACKENDS = ("sim", "dist")
__all__ = ["LR_SCHEDULES", "SolverConfig", "TrainConfig", "load_config", "parse_config"]


@dataclass
class DataConfig:
    name: str = ""
    options: dict = field(default_factory=dict)      # the dataset loader's keyword arguments (path, test_fraction, ...)


@dataclass
class PartitionConfig:
    name: str = "iid"
    num_partitions: int = 5
    seed: int | None = None                          # None: the run's seed
    options: dict = field(default_factory=dict)      # the partitioner's own arguments (skew, alpha, level, ...)


@dataclass
class ModelConfig:
    name: str = "lenet_bn"
    bn_stats: str = "shared"                         # shared (the paper's: averaged like weights) | local


@dataclass
class AlgorithmConfig:
    name: str = "bsp"
    knobs: dict = field(default_factory=dict)        # the algorithm class's own keyword arguments


@dataclass
class TopologyConfig:
    """The gossip graph of the algorithms that gossip (dsgd, dsgdm, qgm); ``create_algorithm`` turns it into a
    Metropolis–Hastings mixing matrix over the partitions (``training.topology``), once."""
    name: str = "ring"
    options: dict = field(default_factory=dict)      # the graph builder's own arguments (torus: rows)


@dataclass
class RunConfig:
    seed: int = 0
    device: str = "cpu"
    backend: str = "sim"                             # sim (one process, vectorized) | dist (torchrun, one per rank)
    eval_every: int | None = None                    # None: a tenth of the run
    checkpoint_every: int | None = None              # None: at every evaluation


@dataclass
class TrainConfig:
    data: DataConfig
    partition: PartitionConfig
    model: ModelConfig
    algorithm: AlgorithmConfig
    solver: SolverConfig
    run: RunConfig
    skewscout: SkewScoutConfig
    topology: TopologyConfig = field(default_factory=TopologyConfig)

    @property
    def eval_every(self) -> int:
        return self.run.eval_every or max(1, self.solver.iterations // 10)

    @property
    def checkpoint_every(self) -> int:
        return self.run.checkpoint_every or self.eval_every

    @property
    def partition_seed(self) -> int:
        return self.run.seed if self.partition.seed is None else self.partition.seed

    def as_dict(self) -> dict:
        """The config as a plain dict of TOML sections (the chosen entry's keys back in their section):
        ``parse_config(c.as_dict()) == c``."""
        out = {}
        for name in SECTIONS:
            if name == "topology" and not takes_topology(self.algorithm.name):
                continue                          # [topology] is refused for an algorithm that does not gossip
            section = asdict(getattr(self, name))
            section |= section.pop(OPEN_FIELDS[name], {}) if name in OPEN_FIELDS else {}
            out[name] = section
        return out


SECTIONS = {"data": DataConfig, "partition": PartitionConfig, "model": ModelConfig, "algorithm": AlgorithmConfig,
            "solver": SolverConfig, "run": RunConfig, "skewscout": SkewScoutConfig, "topology": TopologyConfig}
OPEN_FIELDS = {"data": "options", "partition": "options", "algorithm": "knobs",    # keys the chosen entry defines
               "topology": "options"}


def _entry_keys(section: str, name: str) -> list[str]:
    """The keys the registered dataset, partitioner, topology or algorithm ``name`` takes (its keyword
    arguments)."""
    if section == "data":
        from training.data import DATASETS
        return keyword_args(DATASETS.lookup(name).load, leave_out=("seed",))
    if section == "partition":
        from training.partitions import PARTITIONERS
        return keyword_args(PARTITIONERS.lookup(name), leave_out=("num_partitions", "seed"))
    if section == "topology":
        from training.topology import TOPOLOGIES
        return keyword_args(TOPOLOGIES.lookup(name), leave_out=("k",))
    from training.algorithms import ALGORITHMS
    return ALGORITHMS.lookup(name).config_keys()


def takes_topology(algorithm: str) -> bool:
    """Whether the registered algorithm gossips over a graph (``Algorithm.gossips``)."""
    from training.algorithms import ALGORITHMS
    return ALGORITHMS.lookup(algorithm).gossips


def _section(section: str, raw: dict):
    cls = SECTIONS[section]
    if not isinstance(raw, dict):
        raise UserError(f"[{section}] must be a table of keys, got {raw!r}")
    fixed = {f.name for f in fields(cls)} - {OPEN_FIELDS.get(section)}
    open_keys: list[str] = []
    name = raw.get("name", getattr(cls, "name", ""))
    if section in OPEN_FIELDS and name:           # no [data] name: the caller brings its own data
        try:
            open_keys = _entry_keys(section, name)
        except ValueError as e:
            raise UserError(f"[{section}] {e}") from None
    valid = sorted(fixed) + open_keys
    for key in raw:
        if key not in valid:
            raise UserError(f"[{section}] unknown key {key!r}; valid keys: {', '.join(valid)}")
    defaults = {f.name: f.default for f in fields(cls)}
    kw = {k: _as(defaults[k], v) for k, v in raw.items() if k in fixed}
    if section in OPEN_FIELDS:
        kw[OPEN_FIELDS[section]] = {k: v for k, v in raw.items() if k in open_keys}
    try:
        return cls(**kw)
    except ValueError as e:
        raise UserError(f"[{section}] {e}") from None


def _as(default, value):
    """An int where the default is an int, a float where it is a float (``--set solver.lr=1`` is an int)."""
    numeric = isinstance(value, (int, float)) and not isinstance(value, bool)
    return type(default)(value) if numeric and type(default) in (int, float) else value


def parse_config(config: dict) -> TrainConfig:
    """A plain dict (a TOML file after ``--set`` overrides) as a ``TrainConfig``; ``UserError`` on a mistake. A
    section left out takes its defaults."""
    if not isinstance(config, dict):
        raise UserError(f"a training config is a table of sections, got {type(config).__name__}")
    for section in config:
        if section not in SECTIONS:
            raise UserError(f"unknown config section [{section}]; sections: {', '.join(SECTIONS)}")
    c = TrainConfig(**{s: _section(s, config.get(s, {})) for s in SECTIONS})
    if c.model.bn_stats not in BN_POLICIES:
        raise UserError(f"model.bn_stats {c.model.bn_stats!r}: use one of {', '.join(BN_POLICIES)}")
    if c.run.backend not in BACKENDS:
        raise UserError(f"run.backend {c.run.backend!r}: use one of {', '.join(BACKENDS)}")
    if "topology" in config and not takes_topology(c.algorithm.name):
        from training.algorithms import list_algorithms
        gossip = ", ".join(a for a in list_algorithms() if takes_topology(a))
        raise UserError(f"[topology] is for the gossip algorithms ({gossip}); algorithm {c.algorithm.name!r} talks "
                        f"to every partition, so leave [topology] out")
    return c



def load_config(path: str | Path, overrides: list[str] | None = None) -> dict:
    """A TOML config file as a plain dict, with ``--set section.key=value`` overrides applied (a value is read as
    TOML, else kept as a bare string). ``parse_config`` checks it."""
    p = Path(path)
    if not p.is_file():
        raise UserError(f"config {p} not found; examples are in training/configs/")
    try:
        cfg = tomllib.loads(p.read_text())
    except tomllib.TOMLDecodeError as e:
        raise UserError(f"config {p}: {e}") from None
    for item in overrides or []:
        key, eq, raw = item.partition("=")
        if not eq or "." not in key:
            raise UserError(f"--set {item!r}: use section.key=value, e.g. algorithm.iter_local=50")
        try:
            value = tomllib.loads(f"v = {raw}")["v"]
        except tomllib.TOMLDecodeError:
            value = raw                                 # a bare string
        section, _, name = key.partition(".")
        section_table = cfg.setdefault(section, {})
        if not isinstance(section_table, dict):
            raise UserError(f"--set {item!r}: [{section}] is not a table in {p}")
        section_table[name] = value
    return cfg


def read_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """``load_config`` then ``parse_config``: what the CLI and the Prefect flow both call on a config file."""
    return parse_config(load_config(path, overrides))
