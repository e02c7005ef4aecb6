"""Partitioners: every row in exactly one partition, the requested skew, determinism, exact error texts."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from training.partitions import (
    DirichletPartitioner,
    GeographicPartitioner,
    IidPartitioner,
    LabelExclusivePartitioner,
    SkewPartitioner,
    create_partitioner,
    label_skew_metrics,
)

LABELS = np.repeat(np.arange(10), [100, 120, 80, 95, 101, 77, 130, 99, 88, 110])


def _setup(p, labels=LABELS, **cols):
    p.dataset = pa.table({"label": labels, **cols})
    return [p.load_partition(k) for k in range(p.num_partitions)]


def _assert_exact_cover(parts, n):
    allidx = np.concatenate(parts)
    assert len(allidx) == n and len(np.unique(allidx)) == n


class TestSuccess:
    @pytest.mark.parametrize("p", [IidPartitioner(5, seed=1), LabelExclusivePartitioner(5),
                                   SkewPartitioner(5, 0.4, seed=1), DirichletPartitioner(5, 0.5, seed=1)])
    def test_every_row_in_exactly_one_partition(self, p):
        _assert_exact_cover(_setup(p), len(LABELS))

    def test_label_exclusive_sends_class_c_to_c_mod_k(self):
        parts = _setup(LabelExclusivePartitioner(4))
        for k, idx in enumerate(parts):
            assert set(np.unique(LABELS[idx]) % 4) == {k}

    @pytest.mark.parametrize("skew", [0.0, 0.2, 0.6, 0.8, 1.0])
    def test_skew_puts_the_requested_fraction_in_the_home_partition(self, skew):
        k = 5
        parts = _setup(SkewPartitioner(k, skew, seed=3))
        for c in range(10):
            n = int((LABELS == c).sum())
            home = int((LABELS[parts[c % k]] == c).sum())
            others = [int((LABELS[parts[j]] == c).sum()) for j in range(k) if j != c % k]
            rest = n - round(skew * n)
            # home gets s*n plus its share of the rest; the rest is spread evenly (within one example)
            assert max(others) - min(others) <= 1
            assert abs(home - (round(skew * n) + rest / k)) <= 1
        if skew == 0.0:
            sizes = [len(p) for p in parts]
            assert max(sizes) - min(sizes) <= 10

    def test_same_seed_same_partitions_other_seed_differs(self):
        a, b, c = (_setup(SkewPartitioner(5, 0.5, seed=s)) for s in (7, 7, 8))
        assert all(np.array_equal(x, y) for x, y in zip(a, b))
        assert not all(np.array_equal(x, y) for x, y in zip(a, c))

    def test_geographic_drops_small_regions_and_rows_without_geography(self):
        cont = np.array(["Europe"] * 500 + ["Asia"] * 400 + ["Antarctica"] * 3 + [None] * 97, dtype=object)
        p = GeographicPartitioner("continent", min_partition_size=10)
        parts = _setup(p, LABELS[:1000], continent=pa.array(cont.tolist(), pa.string()))
        assert p.partition_names == ["Asia", "Europe"]
        assert p.dropped == {"Antarctica": 3, "(no geography)": 97}
        assert [len(x) for x in parts] == [400, 500]

    def test_metrics_zero_for_iid_one_for_disjoint(self):
        m = label_skew_metrics([[10, 10], [10, 10]])
        assert m["tv"] == [0.0, 0.0] and m["missing_frac"] == [0.0, 0.0]
        m = label_skew_metrics([[10, 0], [0, 10]])
        assert m["tv"] == [0.5, 0.5] and m["missing_frac"] == [0.5, 0.5]


class TestFailure:
    def test_dataset_read_before_set(self):
        with pytest.raises(AttributeError, match="The dataset is not set"):
            _ = IidPartitioner(2).dataset

    def test_dataset_set_twice(self):
        p = IidPartitioner(2)
        p.dataset = pa.table({"label": [0, 1]})
        with pytest.raises(ValueError, match="The dataset is already set"):
            p.dataset = pa.table({"label": [0, 1]})

    def test_wrong_type(self):
        with pytest.raises(TypeError, match="The dataset must be a pyarrow.Table, got list."):
            IidPartitioner(2).dataset = [0, 1]

    @pytest.mark.parametrize("kw, msg", [
        (dict(num_partitions=0, skew=0.5), "num_partitions must be a positive integer, got 0."),
                                         (dict(num_partitions=3, skew=1.5), "skew must be in [0, 1], got 1.5.")])
    def test_bad_skew_arguments(self, kw, msg):
        with pytest.raises(ValueError) as e:
            SkewPartitioner(**kw)
        assert str(e.value) == msg

    def test_unknown_level_and_name(self):
        levels = r"Invalid level: 'planet'. Must be one of \(continent, subregion, country\)."
        with pytest.raises(ValueError, match=levels):
            GeographicPartitioner("planet")
        with pytest.raises(ValueError, match=r"Unknown partitioner 'random'; partitioners: dirichlet, geographic"):
            create_partitioner("random")

    def test_dirichlet_gives_up_after_ten_tries(self):
        p = DirichletPartitioner(5, alpha=0.01, seed=0, min_partition_size=200)
        p.dataset = pa.table({"label": LABELS})
        gives_up = "could not give every partition 200 rows in 10 tries"
        with pytest.warns(UserWarning), pytest.raises(ValueError, match=gives_up):
            p.load_partition(0)
