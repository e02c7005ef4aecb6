"""Partitioners (geographic, label-exclusive, degree-of-skew, Dirichlet, IID) and skew metrics; importing a module
registers its partitioner."""
from training.partitions.dirichlet import DirichletPartitioner
from training.partitions.factory import create_partitioner, list_partitioners
from training.partitions.geographic import GeographicPartitioner
from training.partitions.iid import IidPartitioner
from training.partitions.label_exclusive import LabelExclusivePartitioner
from training.partitions.metrics import label_skew_metrics
from training.partitions.partitioner import PARTITIONERS, Partitioner, register_partitioner
from training.partitions.skew import SkewPartitioner

__all__ = ["DirichletPartitioner", "GeographicPartitioner", "IidPartitioner", "LabelExclusivePartitioner",
           "PARTITIONERS", "Partitioner", "SkewPartitioner", "create_partitioner", "label_skew_metrics",
           "list_partitioners", "register_partitioner"]
