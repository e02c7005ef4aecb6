"""A token bucket per API key: Flickr allows 3,600 calls an hour, and abuse expires the key."""
from __future__ import annotations

import threading
import time


class TokenBucket:
    def __init__(self, calls_per_hour: float = 3600.0, burst: int = 10):
        if calls_per_hour <= 0:
            raise ValueError(f"rate must be > 0 calls/hour, got {calls_per_hour}")
        self.rate = calls_per_hour / 3600.0
        self.capacity = float(max(1, burst))
        self.tokens = self.capacity
        self.stamp = time.monotonic()
        self.lock = threading.Lock()

    def acquire(self) -> float:
        """Take one token, sleeping as long as needed; returns the seconds slept."""
        with self.lock:
            now = time.monotonic()
            self.tokens = min(self.capacity, self.tokens + (now - self.stamp) * self.rate)
            self.stamp = now
            self.tokens -= 1.0
            wait = 0.0 if self.tokens >= 0 else -self.tokens / self.rate
        if wait:
            time.sleep(wait)
        return wait


_buckets: dict[tuple[str, float], TokenBucket] = {}
_buckets_lock = threading.Lock()


def bucket_for(key_id: str, calls_per_hour: float) -> TokenBucket:
    """One shared bucket per (key fingerprint, rate) in this process, whichever task calls."""
    with _buckets_lock:
        return _buckets.setdefault((key_id, calls_per_hour), TokenBucket(calls_per_hour))
