"""The study's small statistics and its verdict rule, shared by every finding: a spread over seeds, a precondition
measured on controls, and the verdict that checks the precondition before it looks at a treatment."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

REPRODUCED, NOT_REPRODUCED = "reproduced", "not reproduced"
NOT_TESTABLE = "not testable here"     # the precondition failed on the controls: the treatment says nothing here
PENDING = "pending"                    # the controls have not run (yet)


@dataclass(frozen=True)
class Spread:
    """Mean and sample standard deviation over seeds (a fraction for accuracies)."""
    mean: float
    std: float

    @classmethod
    def of(cls, values) -> Spread:
        v = np.array(values, dtype=float)
        return cls(float(v.mean()), float(v.std(ddof=1)) if len(v) > 1 else 0.0)

    @classmethod
    def maybe(cls, values) -> Spread | None:
        """None where no run finished (a treatment not trained because its precondition failed)."""
        values = list(values)
        return cls.of(values) if values else None


@dataclass(frozen=True)
class Check:
    """A finding's precondition, measured on its control runs only: whether it holds, and the measured values the
    report prints beside it (accuracies as fractions, gaps in points)."""
    holds: bool
    values: dict


def verdict(check: Check | None, judge: Callable[[], bool | None]) -> str:
    """The precondition first: without controls the finding is pending; where it fails the verdict is "not testable
    here" and ``judge`` (which reads the treatment runs; None while they have not run) is never called."""
    if check is None:
        return PENDING
    if not check.holds:
        return NOT_TESTABLE
    judged = judge()
    return PENDING if judged is None else REPRODUCED if judged else NOT_REPRODUCED


def beyond_noise(diff_points: float, a: Spread, b: Spread, floor: float = 1.0) -> bool:
    """A difference counts when it is above ``floor`` points and above the two seed spreads together."""
    return abs(diff_points) > floor and abs(diff_points) > 100 * (a.std + b.std)


def finals(results: dict, name: str, key, seeds: int) -> list[float]:
    """Final accuracy of each seed's run of (name, key) that exists."""
    return [results[(name, key, s)][-1]["acc_mean"] for s in range(seeds) if (name, key, s) in results]
