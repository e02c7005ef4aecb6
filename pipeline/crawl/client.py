"""`flickrapi` in parsed-json mode with our own retries, rate limit and call counting."""
from __future__ import annotations

import json
import logging
import random
import threading

import flickrapi
import requests
from tenacity import RetryCallState, retry, retry_if_exception, stop_after_attempt

from catalog.errors import UserError
from pipeline.crawl.credentials import Credentials
from pipeline.crawl.ratelimit import bucket_for

FLICKR_REST_URL = "https://api.flickr.com/services/rest/"
RETRYABLE_CODES = {"105", "10", "0"}       # service unavailable, search unavailable, generic
EXTRAS = "geo,license,date_upload,date_taken,owner_name,tags,url_z,url_c"
log = logging.getLogger("flickr_mammal.crawl")
logging.getLogger("flickrapi").setLevel(logging.CRITICAL)   # it logs every non-200 body; we retry those


class InvalidKey(UserError):
    pass


class Transient(Exception):
    """A failure worth retrying: 5xx, 429, codes 105/10, malformed JSON, timeouts, dropped connections."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


def _wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    backoff = min(30.0, 0.25 * 2 ** (state.attempt_number - 1)) * (0.5 + random.random())   # full jitter
    ra = getattr(exc, "retry_after", None)
    return max(backoff, ra or 0.0)


class FlickrClient:
    """Thread-safe: each thread gets its own flickrapi object (its own HTTP session)."""

    def __init__(self, creds: Credentials, api_url: str | None = None, *, calls_per_hour: float = 3600.0,
                 timeout: float = 20.0, attempts: int = 8):
        self.creds, self.api_url = creds, api_url or FLICKR_REST_URL
        self.timeout, self.attempts = timeout, attempts
        self.bucket = bucket_for(creds.fingerprint, calls_per_hour)
        self._local = threading.local()
        self._count_lock = threading.Lock()
        self.calls = 0

    def _api(self) -> flickrapi.FlickrAPI:
        api = getattr(self._local, "api", None)
        if api is None:
            api = flickrapi.FlickrAPI(self.creds.key, self.creds.secret, format="parsed-json",
                                      store_token=False, cache=False, timeout=self.timeout)
            api.REST_URL = self.api_url
            api.flickr_oauth.session.hooks["response"].append(self._remember)
            self._local.api = api
        return api

    def _remember(self, resp, *args, **kwargs):
        self._local.last = (resp.status_code, resp.headers.get("Retry-After"))

    def call(self, method: str, **params) -> dict:
        """One API call with retries; raises InvalidKey (never retried) or UserError when it keeps failing."""
        try:
            return retry(retry=retry_if_exception(lambda e: isinstance(e, Transient)),
                         wait=_wait, stop=stop_after_attempt(self.attempts), reraise=True)(self._once)(method, params)
        except Transient as e:
            raise UserError(f"Flickr API at {self.api_url} kept failing ({e}) after {self.attempts} attempts; "
                            f"rerun the same command to resume") from None

    def _once(self, method: str, params: dict) -> dict:
        self.bucket.acquire()
        with self._count_lock:
            self.calls += 1
        self._local.last = (None, None)
        try:
            fn = self._api()
            for part in method.split("."):
                fn = getattr(fn, part)
            return fn(**params)
        except flickrapi.FlickrError as e:
            code = str(e.code) if e.code is not None else ""
            status, retry_after = self._local.last
            if code == "100":
                raise InvalidKey("Flickr rejected the API key (code 100: invalid API key): check FLICKR_API_KEY "
                                 "/ FLICKR_API_SECRET or --key-file; nothing was written") from None
            if code == "96" or code == "97":
                raise InvalidKey(f"Flickr rejected the request signature (code {code}): check FLICKR_API_SECRET "
                                 f"or --key-file; nothing was written") from None
            if code in RETRYABLE_CODES or (status is not None and (status >= 500 or status == 429)) or not code:
                ra = float(retry_after) if retry_after and retry_after.replace(".", "", 1).isdigit() else None
                raise Transient(f"HTTP {status}" if status and status != 200 else f"code {code or '?'}", ra) from None
            raise UserError(f"Flickr API error {code} for {method}: {e}") from None
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise Transient("malformed JSON") from None
        except requests.exceptions.ConnectionError as e:
            if self.calls <= 1 and "Connection refused" in str(e):
                raise UserError(f"cannot reach the Flickr API at {self.api_url} (connection refused): check "
                                f"--api-url, or start the offline service with `flickr-mammal sim serve`") from None
            raise Transient("connection error") from None
        except requests.exceptions.Timeout:
            raise Transient("timeout") from None
        except requests.exceptions.InvalidURL:
            raise UserError(f"--api-url {self.api_url!r} is not a valid URL") from None
        except requests.exceptions.MissingSchema:
            raise UserError(f"--api-url {self.api_url!r} is not a valid URL: it needs http:// or https://") from None

    def search(self, **params) -> dict:
        return self.call("photos.search", **params)

    def check_key(self) -> None:
        """A cheap authenticated call before anything is written."""
        self.call("photos.licenses.getInfo")
