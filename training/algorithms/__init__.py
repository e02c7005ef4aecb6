"""Decentralized training algorithms with the paper's semantics, one module each, one small interface."""
from training.algorithms.base import BYTES_DENSE, BYTES_SPARSE, Algorithm
from training.algorithms.bsp import BSP
from training.algorithms.dgc import DGC
from training.algorithms.fedavg import FedAvg
from training.algorithms.gaia import Gaia

ALGORITHMS = {a.name: a for a in (BSP, DGC, FedAvg, Gaia)}

__all__ = ["ALGORITHMS", "Algorithm", "BSP", "BYTES_DENSE", "BYTES_SPARSE", "DGC", "FedAvg", "Gaia"]
