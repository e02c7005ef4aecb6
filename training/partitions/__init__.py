"""Partitioners (geographic, label-exclusive, degree-of-skew, Dirichlet, IID) and skew metrics."""
from training.partitions.dirichlet import DirichletPartitioner
from training.partitions.factory import PARTITIONERS, create_partitioner
from training.partitions.geographic import GeographicPartitioner
from training.partitions.iid import IidPartitioner
from training.partitions.label_exclusive import LabelExclusivePartitioner
from training.partitions.metrics import label_skew_metrics
from training.partitions.partitioner import Partitioner
from training.partitions.skew import SkewPartitioner

__all__ = ["DirichletPartitioner", "GeographicPartitioner", "IidPartitioner", "LabelExclusivePartitioner",
           "PARTITIONERS", "Partitioner", "SkewPartitioner", "create_partitioner", "label_skew_metrics"]
