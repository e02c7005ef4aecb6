"""The offline Flickr service: Flickr's REST API and static image host over real HTTP on loopback."""
from __future__ import annotations

import json
import logging
import math
import re
import struct
import threading
import time
import zlib
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlparse

import numpy as np

from catalog.licenses import load_licenses
from pipeline.sim.faults import Faults
from pipeline.sim.images import render
from pipeline.sim.owners import nsid
from pipeline.sim.world import World

DEMO_API_KEY = "offline-demo-key"
DEMO_API_SECRET = "offline-demo-secret"
RESULT_CAP = 4000          # Flickr serves at most the first 4,000 results of a query
PER_PAGE_MAX, PER_PAGE_GEO_MAX, PER_PAGE_DEFAULT = 500, 250, 100
IMAGE_PATH = re.compile(r"^/static/(\d+)/(\d+)_([0-9a-f]+)(?:_([a-z]))?\.jpg$")
log = logging.getLogger("flickr_mammal.sim")


class ApiFail(Exception):
    def __init__(self, code: int, message: str):
        super().__init__(message)
        self.code, self.message = code, message


def _parse_date(value: str | None, name: str) -> int | None:
    if value in (None, ""):
        return None
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return int(datetime.strptime(value, fmt).replace(tzinfo=UTC).timestamp())
        except ValueError:
            pass
    raise ApiFail(18, f"Illogical arguments: bad {name}")


def _bomb_png() -> bytes:
    """A tiny PNG whose header declares 30000 x 30000 pixels: a decompression bomb on the wire."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096))
            + chunk(b"IEND", b""))


class SimServer:
    """Serve a ``World`` the way Flickr serves the real one. Context manager; binds 127.0.0.1."""

    def __init__(self, world: World, host: str = "127.0.0.1", port: int = 0,
                 api_key: str = DEMO_API_KEY, api_secret: str = DEMO_API_SECRET, faults: Faults | None = None):
        self.world, self.api_key, self.api_secret = world, api_key, api_secret
        self.faults = faults or Faults()
        self.stats: dict[str, int] = {}
        self.search_log: list[tuple[str, int | None, int | None, int]] = []   # (text, min, max, page) served
        self._lock = threading.Lock()
        self._httpd = _QuietServer((host, port), _handler_for(self))
        self._httpd.daemon_threads = True
        self._thread: threading.Thread | None = None

    # ---- lifecycle -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        return self._httpd.server_address[1]

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/rest/"

    @property
    def static_base(self) -> str:
        return f"http://127.0.0.1:{self.port}/static"

    def start(self) -> SimServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever, name="flickr-sim", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def count(self, key: str, n: int = 1) -> None:
        with self._lock:
            self.stats[key] = self.stats.get(key, 0) + n

    def persistent_image_fault(self, photo_id: int) -> str | None:
        return self.faults.persistent_image_fault(photo_id)

    # ---- API -----------------------------------------------------------------------------------
    def check_key(self, params: dict, headers, method: str, url: str, body: str) -> None:
        auth = headers.get("Authorization", "")
        if auth.startswith("OAuth "):
            from oauthlib.common import Request
            from oauthlib.oauth1.rfc5849 import signature, utils

            oauth = dict(utils.parse_authorization_header(auth))
            if oauth.get("oauth_consumer_key") != self.api_key:
                raise ApiFail(100, "Invalid API Key (Key not found)")
            req = Request(url, http_method=method, body=body, headers=dict(headers))
            req.params = signature.collect_parameters(uri_query=urlparse(url).query, body=body,
                                                      headers=dict(headers), exclude_oauth_signature=True)
            req.signature = unquote(oauth.get("oauth_signature", ""))
            if not signature.verify_hmac_sha1(req, self.api_secret, None):
                raise ApiFail(96, "Invalid signature")
            return
        key = params.get("api_key")
        if key != self.api_key:
            raise ApiFail(100, "Invalid API Key (Key has invalid format)" if key else "Invalid API Key (Key not found)")

    def call(self, params: dict) -> str:
        """One API call's JSON text."""
        method = params.get("method", "")
        self.count(f"api:{method}")
        if method == "flickr.photos.search":
            return self.search(params)
        return json.dumps(self._call(method, params), separators=(",", ":"))

    def _call(self, method: str, params: dict) -> dict:
        if method == "flickr.photos.licenses.getInfo":
            return {"licenses": {"license": [{"id": lic.license_id, "name": lic.name, "url": lic.url}
                                             for lic in load_licenses()]}, "stat": "ok"}
        if method == "flickr.test.echo":
            return {k: {"_content": v} for k, v in params.items() if k != "api_key"} | {"stat": "ok"}
        raise ApiFail(112, f'Method "{method}" not found')

    def search(self, p: dict) -> str:
        w = self.world
        text = (p.get("text") or p.get("tags") or "").strip().lower()
        if not text:
            raise ApiFail(3, "Parameterless searches have been disabled. Please use flickr.photos.getRecent instead.")
        geo = p.get("has_geo") in ("1", "true") or "bbox" in p or "lat" in p
        try:
            per_page = int(p.get("per_page") or PER_PAGE_DEFAULT)
            page = max(1, int(p.get("page") or 1))
        except ValueError:
            raise ApiFail(18, "Illogical arguments") from None
        per_page = max(1, min(per_page, PER_PAGE_GEO_MAX if geo else PER_PAGE_MAX))
        lo = _parse_date(p.get("min_upload_date"), "min_upload_date")
        hi = _parse_date(p.get("max_upload_date"), "max_upload_date")
        label = w.text_to_label.get(text)
        with self._lock:
            self.search_log.append((text, lo, hi, page))
        rows = w.search_rows(label, lo, hi) if label is not None else np.empty(0, dtype=np.int64)
        mt_lo = _parse_date(p.get("min_taken_date"), "min_taken_date")
        mt_hi = _parse_date(p.get("max_taken_date"), "max_taken_date")
        if mt_lo is not None:
            rows = rows[w.date_taken[rows] >= mt_lo]
        if mt_hi is not None:
            rows = rows[w.date_taken[rows] <= mt_hi]
        if p.get("license"):
            allowed = [int(x) for x in p["license"].split(",") if x.strip().isdigit()]
            rows = rows[np.isin(w.license[rows], allowed)]
        if p.get("sort", "date-posted-desc") == "date-posted-desc":
            rows = rows[::-1]
        total = len(rows)
        pages = math.ceil(total / per_page) if total else 0
        reachable = rows[:RESULT_CAP]
        start = (page - 1) * per_page
        if start >= len(reachable) and len(reachable):
            start %= len(reachable)            # past the cap Flickr repeats earlier results
        chunk = list(reachable[start:start + per_page])
        if page > 1 and start >= per_page and (hash((label, lo, hi, page)) % 40 == 0):
            chunk.insert(0, reachable[start - 1])   # now and then a row shows up on two pages
        extras = set(x.strip() for x in (p.get("extras") or "").split(","))
        head = json.dumps({"page": page, "pages": pages, "perpage": per_page, "total": str(total)},
                          separators=(",", ":"))
        return f'{{"photos":{head[:-1]},"photo":{self.photos_json(chunk, extras)}}},"stat":"ok"}}'

    def photos_json(self, rows, extras: set[str]) -> str:
        """The JSON array of ``photo_json`` for every row, byte for byte as ``json.dumps(..., separators=(",",
        ":"))`` writes it, built column by column (a page costs ~2 ms instead of ~12 ms of dicts and encoding:
        the server shares the crawl's two cores). Every value is ASCII without quotes or backslashes."""
        w = self.world
        rows = np.asarray(rows, dtype=np.int64)
        if not len(rows):
            return "[]"
        pid, owner, secret = w.photo_id[rows].tolist(), w.owner[rows].tolist(), w.secret[rows].tolist()
        server, farm, rl = w.server[rows].tolist(), w.farm[rows].tolist(), rows.tolist()
        cols = [[f'{{"id":"{i}","owner":"{nsid(o)}","secret":"{sc}","server":"{sv}","farm":{f},'
                 f'"title":"IMG_{i % 10000:04d}","ispublic":1,"isfriend":0,"isfamily":0'
                 for i, o, sc, sv, f in zip(pid, owner, secret, server, farm)]]
        if "geo" in extras:
            cols.append([f',"latitude":"{f"{la:.6f}".rstrip("0")}","longitude":"{f"{lo:.6f}".rstrip("0")}",'
                         f'"accuracy":"{a}","context":0' for la, lo, a in
                         zip(w.latitude[rows].tolist(), w.longitude[rows].tolist(), w.accuracy[rows].tolist())])
        if "license" in extras:
            cols.append([f',"license":"{x}"' for x in w.license[rows].tolist()])
        if "date_upload" in extras:
            cols.append([f',"dateupload":"{x}"' for x in w.date_upload[rows].tolist()])
        if "date_taken" in extras:
            taken = np.datetime_as_string(w.date_taken[rows].astype("datetime64[s]"), unit="s").tolist()
            cols.append([f',"datetaken":"{t[:10]} {t[11:]}","datetakengranularity":"0"' for t in taken])
        if "owner_name" in extras:
            cols.append([f',"ownername":"user{o % 100000}"' for o in owner])
        if "tags" in extras:
            cols.append([',"tags":"nature wildlife"'] * len(rl))
        for size, has in (("z", w.has_z), ("c", w.has_c)):
            if f"url_{size}" in extras:
                long = {"z": 640, "c": 800}[size]
                short = long * 3 // 4
                cols.append([f',"url_{size}":"{self.static_base}/{sv}/{i}_{sc}_{size}.jpg",'
                             f'"height_{size}":"{short if land else long}","width_{size}":"{long if land else short}"'
                             if h else "" for i, sc, sv, h, land in
                             zip(pid, secret, server, has[rows].tolist(), w.landscape[rows].tolist())])
        return "[" + ",".join("".join(parts) + "}" for parts in zip(*cols)) + "]"

    def photo_json(self, r: int, extras: set[str]) -> dict:
        """One photo as Flickr's search returns it (the reference for ``photos_json``)."""
        w = self.world
        pid, secret, server = int(w.photo_id[r]), str(w.secret[r]), str(w.server[r])
        d = {"id": str(pid), "owner": nsid(int(w.owner[r])), "secret": secret, "server": server,
             "farm": int(w.farm[r]), "title": f"IMG_{pid % 10000:04d}", "ispublic": 1, "isfriend": 0, "isfamily": 0}
        if "geo" in extras:
            d |= {"latitude": f"{w.latitude[r]:.6f}".rstrip("0"), "longitude": f"{w.longitude[r]:.6f}".rstrip("0"),
                  "accuracy": str(w.accuracy[r]), "context": 0}
        if "license" in extras:
            d["license"] = str(w.license[r])
        if "date_upload" in extras:
            d["dateupload"] = str(int(w.date_upload[r]))
        if "date_taken" in extras:
            d["datetaken"] = datetime.fromtimestamp(int(w.date_taken[r]), UTC).strftime("%Y-%m-%d %H:%M:%S")
            d["datetakengranularity"] = "0"
        if "owner_name" in extras:
            d["ownername"] = f"user{w.owner[r] % 100000}"
        if "tags" in extras:
            d["tags"] = "nature wildlife"
        for size, has in (("z", w.has_z), ("c", w.has_c)):
            if f"url_{size}" in extras and has[r]:
                width, height = w.dimensions(r, size)
                d[f"url_{size}"] = f"{self.static_base}/{server}/{pid}_{secret}_{size}.jpg"
                d[f"height_{size}"], d[f"width_{size}"] = str(height), str(width)
        return d

    # ---- static images -------------------------------------------------------------------------
    def image(self, path: str) -> tuple[int, dict, bytes]:
        m = IMAGE_PATH.match(path)
        r = self.world.row(int(m.group(2))) if m else None
        size = (m.group(4) or "") if m else ""
        if r is None or self.world.secret[r] != m.group(3) or str(self.world.server[r]) != m.group(1) \
                or size not in ("", "z", "c") or (size == "z" and not self.world.has_z[r]) \
                or (size == "c" and not self.world.has_c[r]):
            return 404, {"Content-Type": "text/html"}, b"<html><body>404 Not Found</body></html>"
        pid = int(self.world.photo_id[r])
        kind = self.faults.persistent_image_fault(pid)
        if kind == "img_missing":
            return 404, {"Content-Type": "text/html"}, b"<html><body>404 Not Found</body></html>"
        if kind == "img_html":
            return (200, {"Content-Type": "text/html; charset=utf-8"},
                    b"<!DOCTYPE html><html><body>This photo is no longer available</body></html>")
        if kind == "img_notimage":
            return 200, {"Content-Type": "image/jpeg"}, b"GIF89a-not-really" + bytes(range(256)) * 8
        if kind == "img_bomb":
            return 200, {"Content-Type": "image/png"}, _bomb_png()
        transient = self.faults.draw("img_5xx", "img_429", "img_truncated")
        if transient == "img_5xx":
            self.count("fault:img_5xx")
            return 503, {"Content-Type": "text/html"}, b"<html>503 Service Unavailable</html>"
        if transient == "img_429":
            self.count("fault:img_429")
            return (429, {"Content-Type": "text/html", "Retry-After": f"{self.faults.retry_after_s:g}"},
                    b"Too Many Requests")
        body = render(pid, int(self.world.true_label[r]), self.world.dimensions(r, size),
                      burst_of=int(self.world.burst_of[r]))
        self.count("images")
        if transient == "img_truncated":
            self.count("fault:img_truncated")
            return 200, {"Content-Type": "image/jpeg", "X-Truncate": str(len(body))}, body[: len(body) // 2]
        return 200, {"Content-Type": "image/jpeg"}, body


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request, client_address):   # clients that time out or hang up are normal here
        import sys
        if not isinstance(sys.exc_info()[1], (BrokenPipeError, ConnectionResetError, TimeoutError)):
            super().handle_error(request, client_address)


def _handler_for(sim: SimServer):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *args):   # never log query strings: they may hold api_key
            log.debug("%s %s", self.command, self.path.split("?")[0])

        def _send(self, status: int, headers: dict, body: bytes) -> None:
            truncate_to = headers.pop("X-Truncate", None)
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(truncate_to or len(body)))
            if truncate_to:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            self._dispatch("")

        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            self._dispatch(self.rfile.read(n).decode("utf-8") if n else "")

        def _dispatch(self, body: str):
            url = urlparse(self.path)
            if url.path.startswith("/static/"):
                return self._send(*sim.image(url.path))
            if url.path.rstrip("/") != "/services/rest":
                return self._send(404, {"Content-Type": "text/plain"}, b"not found")
            params = dict(parse_qsl(url.query)) | dict(parse_qsl(body))
            fault = sim.faults.draw("http_5xx", "http_429", "malformed_json", "timeout", "api_105", "api_10")
            if fault:
                sim.count(f"fault:{fault}")
            if fault == "http_5xx":
                return self._send(502, {"Content-Type": "text/html"}, b"<html>502 Bad Gateway</html>")
            if fault == "http_429":
                return self._send(429, {"Content-Type": "text/plain", "Retry-After": f"{sim.faults.retry_after_s:g}"},
                                  b"Too Many Requests")
            if fault == "timeout":
                time.sleep(sim.faults.timeout_s)
            try:
                full_url = f"http://{self.headers.get('Host', '127.0.0.1')}{self.path}"
                sim.check_key(params, self.headers, self.command, full_url, body)
                if fault == "api_105":
                    raise ApiFail(105, "Service currently unavailable")
                if fault == "api_10":
                    raise ApiFail(10, "Sorry, the Flickr search API is not currently available.")
                text = sim.call(params)
            except ApiFail as e:
                text = json.dumps({"stat": "fail", "code": e.code, "message": e.message}, separators=(",", ":"))
            if fault == "malformed_json":
                text = text[: max(1, len(text) // 3)]
            if params.get("nojsoncallback") not in ("1", "true"):
                text = f"jsonFlickrApi({text})"
            self._send(200, {"Content-Type": "application/json; charset=utf-8"}, text.encode())

    return Handler
