"""Entry point for one rank under torchrun: train this rank's partition, exchange what the algorithm sends. The
config arrives parsed (``training.runner`` pickles the ``TrainConfig`` it checked), so no rank parses it again."""
from __future__ import annotations

import pickle
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    import torch
    import torch.distributed as dist

    from training.comm import DistComm
    from training.trainer import Trainer

    config_path, out = argv[0], argv[1]
    resume = "--no-resume" not in argv
    config = pickle.loads(Path(config_path).read_bytes())
    backend = "nccl" if torch.cuda.is_available() and config.run.device.startswith("cuda") else "gloo"
    dist.init_process_group(backend)
    torch.set_num_threads(1)
    try:
        Trainer(config, out, comm=DistComm()).run(resume=resume)
    finally:
        dist.destroy_process_group()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
