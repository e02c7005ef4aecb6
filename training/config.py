"""The training config as typed sections. Each default is written once, here; an unknown key is refused in one
line naming the section's valid keys, so that a typo does not train with the default. Keys that depend on the
chosen dataset, partitioner or algorithm are the keyword arguments of its registered loader or class."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields

from catalog.errors import UserError
from training.registry import keyword_args
from training.skewscout.settings import SkewScoutConfig

BN_POLICIES = ("shared", "local")
LR_SCHEDULES = ("step", "cosine")
BACKENDS = ("sim", "dist")


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
    """The gossip graph of the algorithms that take a ``topology`` (dsgd, dsgdm, qgm); the trainer turns it into a
    Metropolis–Hastings mixing matrix over the partitions (``training.topology``)."""
    name: str = "ring"
    options: dict = field(default_factory=dict)      # the graph builder's own arguments (torus: rows)


@dataclass
class SolverConfig:
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 5e-4
    batch_size: int = 20                             # per partition
    iterations: int = 1000
    lr_schedule: str = "step"                        # step: × lr_gamma at each of lr_steps | cosine: to 0 at the end
    lr_steps: list = field(default_factory=lambda: [0.5, 0.75])    # fractions of the run where the LR drops
    lr_gamma: float = 0.1

    def __post_init__(self):
        if self.lr_schedule not in LR_SCHEDULES:
            raise ValueError(f"lr_schedule {self.lr_schedule!r}: use \"step\" (lr_steps = [] keeps it constant) "
                             f"or \"cosine\"")
        if self.lr_schedule == "cosine" and self.lr_steps:
            raise ValueError("lr_schedule \"cosine\" takes no lr_steps: set lr_steps = []")

    def lr_at(self, iteration: int) -> float:
        """The learning rate of one iteration (0-based) of the run."""
        if self.lr_schedule == "cosine":
            return self.lr * 0.5 * (1 + math.cos(math.pi * iteration / self.iterations))
        return self.lr * self.lr_gamma ** sum(iteration >= int(f * self.iterations) for f in self.lr_steps)


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

    @classmethod
    def of(cls, config: dict | TrainConfig) -> TrainConfig:
        return config if isinstance(config, TrainConfig) else parse_config(config)


SECTIONS = {"data": DataConfig, "partition": PartitionConfig, "model": ModelConfig, "algorithm": AlgorithmConfig,
            "solver": SolverConfig, "run": RunConfig, "skewscout": SkewScoutConfig, "topology": TopologyConfig}
OPEN_FIELDS = {"data": "options", "partition": "options", "algorithm": "knobs",    # keys the chosen entry defines
               "topology": "options"}
TOPOLOGY_ARGS = ("topology", "topology_opts")     # an algorithm's graph comes from [topology], not [algorithm]


def _entry_keys(section: str, name: str) -> list[str]:
    """The keys the registered dataset, partitioner or algorithm ``name`` takes (its keyword arguments)."""
    if section == "data":
        from training.data import DATASETS
        return keyword_args(DATASETS.lookup(name).load, leave_out=("seed",))
    if section == "partition":
        from training.partitions import PARTITIONERS
        return keyword_args(PARTITIONERS.lookup(name), leave_out=("num_partitions", "seed"))
    if section == "topology":
        from training.topology import TOPOLOGIES
        return keyword_args(TOPOLOGIES.lookup(name), leave_out=("k",))
    from training.algorithms import ALGORITHMS, Algorithm
    return keyword_args(ALGORITHMS.lookup(name),
                        leave_out=tuple(keyword_args(Algorithm)) + ("compress_mask",) + TOPOLOGY_ARGS)


def takes_topology(algorithm: str) -> bool:
    """Whether the registered algorithm gossips over a graph (its constructor takes ``topology``)."""
    from training.algorithms import ALGORITHMS
    return "topology" in keyword_args(ALGORITHMS.lookup(algorithm))


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
    """A plain dict (a TOML file after ``--set`` overrides) as a ``TrainConfig``; ``UserError`` on a mistake."""
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

