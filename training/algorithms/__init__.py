"""Decentralized training algorithms with the paper's semantics, one module each, one small interface; importing
a module registers its algorithm."""
from training.algorithms.base import (
                                      ALGORITHMS,
                                      BYTES_DENSE,
                                      BYTES_SPARSE,
                                      Algorithm,
                                      list_algorithms,
                                      register_algorithm,
)
from training.algorithms.bsp import BSP
from training.algorithms.dgc import DGC
from training.algorithms.factory import AlgorithmSetup, create_algorithm
from training.algorithms.fedavg import FedAvg
from training.algorithms.fedprox import FedProx
from training.algorithms.gaia import Gaia
from training.algorithms.gossip import DSGD, QGM, DSGDm
from training.algorithms.scaffold import Scaffold
from training.algorithms.ssp import SSP

__all__ = ["ALGORITHMS", "Algorithm", "AlgorithmSetup", "BSP", "BYTES_DENSE", "BYTES_SPARSE", "DGC", "DSGD", "DSGDm",
           "FedAvg", "FedProx", "Gaia", "QGM", "SSP", "Scaffold", "create_algorithm", "list_algorithms",
           "register_algorithm"]
