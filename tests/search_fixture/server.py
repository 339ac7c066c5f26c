"""A tiny image search engine for the scraper's tests, served on 127.0.0.1.

It imitates what makes real engines hard to scrape: results appended by JavaScript as the page
scrolls, a "show more results" button, thumbnails inlined as data: URIs, and a preview panel that
shows a result's full-size URL only after a click. Behind the results sit good photos and the bad
targets a collector meets in the wild (404, 500, a slow server, HTML served as image/jpeg, an
oversized file, exact and near duplicates, a tiny image, redirect chains, a 503 and a 429 that
clear on retry). All images are drawn with Pillow at start, so nothing binary is committed.

    server = FixtureServer(); server.start(); ...; server.stop()
"""
import base64
import collections
import dataclasses
import hashlib
import html
import io
import json
import random
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.parse
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from PIL import Image, ImageDraw

HERE = Path(__file__).parent
ENGINE_FILE = HERE / "engine.json"
THUMB_SIDE = 32          # below the tests' --min-size, so a thumbnail rescues no failed original
BIG_THUMB_SIDE = 64      # the one result without a full-size URL has a usable thumbnail
PAGE_SIZE = 4            # results per fetch of /api/results
SCROLL_RESULTS = 8       # results loaded by scrolling; after that, the "more" button appears


def draw_photo(seed, size):
    """A colourful picture unlike any other seed's: a gradient sky and random shapes."""
    rng = random.Random(seed)
    width, height = size
    image = Image.new("RGB", size)
    top = [rng.randrange(256) for _ in range(3)]
    bottom = [rng.randrange(256) for _ in range(3)]
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        colour = tuple(int(a + (b - a) * t) for a, b in zip(top, bottom))
        draw.line([(0, y), (width, y)], fill=colour)
    for _ in range(12):
        x0, y0 = rng.randrange(width), rng.randrange(height)
        x1, y1 = x0 + rng.randrange(8, width // 2), y0 + rng.randrange(8, height // 2)
        colour = tuple(rng.randrange(256) for _ in range(3))
        shape = draw.ellipse if rng.random() < 0.5 else draw.rectangle
        shape([x0, y0, x1, y1], fill=colour)
    return image


def encode(image, kind):
    buffer = io.BytesIO()
    image.save(buffer, format=kind, **({"quality": 92} if kind == "JPEG" else {}))
    return buffer.getvalue()


def data_uri(image):
    return "data:image/jpeg;base64," + base64.b64encode(encode(image, "JPEG")).decode()


def noise_png(side, seed):
    """A real PNG that compresses badly: the oversized file."""
    rng = random.Random(seed)
    return encode(Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3)), "PNG")


@dataclasses.dataclass
class Result:
    """One search result: its id, the URL its preview reveals, its thumbnail, and its fate."""
    id: str
    full: str | None          # path of the full-size URL (None: the preview never shows one)
    thumb: str                # data: URI
    outcome: str              # "ok", "ok_thumbnail", "duplicate", ... or the failure reason
    embedded: str | None = None  # the original, only in the tile's /imgres?imgurl= link


def build_catalogue():
    """The results in page order, the files behind them (path -> (bytes, type)), expected fates."""
    photos = {name: draw_photo(seed, (96, 72) if seed % 2 else (80, 88))
              for seed, name in enumerate("abcdefhijk", start=1)}
    files = {f"/img/{name}.jpg": (encode(image, "JPEG"), "image/jpeg")
             for name, image in photos.items()}
    files["/img/b.png"] = (encode(photos["b"], "PNG"), "image/png")
    files["/img/a-copy.jpg"] = files["/img/a.jpg"]
    near = photos["b"].resize((photos["b"].width * 9 // 10, photos["b"].height * 9 // 10),
                              Image.Resampling.LANCZOS)
    files["/img/b-resized.jpg"] = (encode(near, "JPEG"), "image/jpeg")
    files["/img/tiny.png"] = (encode(draw_photo(50, (24, 24)), "PNG"), "image/png")
    files["/img/fake.jpg"] = (b"<!doctype html><html><body>Not a photo</body></html>",
                              "image/jpeg")
    files["/img/huge.png"] = (noise_png(220, 51), "image/png")
    g_thumbnail = draw_photo(60, (BIG_THUMB_SIDE, BIG_THUMB_SIDE))

    def thumb(name):
        source = photos.get(name) or draw_photo(zlib.crc32(name.encode()), (60, 60))
        return data_uri(source.resize((THUMB_SIDE, THUMB_SIDE)))

    results = [
        Result("a", "/img/a.jpg", thumb("a"), "ok"),
        Result("b", "/img/b.png", thumb("b"), "ok"),
        Result("missing", "/img/missing.jpg", thumb("missing"), "http_404"),
        Result("c", "/img/c.jpg", thumb("c"), "ok"),
        Result("a-copy", "/img/a-copy.jpg", thumb("a"), "duplicate"),
        Result("slow", "/slow/e.jpg", thumb("e"), "timeout"),
        Result("b-resized", "/img/b-resized.jpg", thumb("b"), "near_duplicate"),
        Result("tiny", "/img/tiny.png", thumb("tiny"), "too_small"),
        Result("fake", "/img/fake.jpg", thumb("fake"), "bad_magic"),
        Result("huge", "/img/huge.png", thumb("huge"), "too_large"),
        Result("d", "/hop/3/d.jpg", thumb("d"), "ok"),
        Result("loop", "/hop/9/i.jpg", thumb("i"), "too_many_redirects"),
        Result("f", "/flaky/f.jpg", thumb("f"), "ok"),
        Result("g", None, data_uri(g_thumbnail), "ok_thumbnail"),
        Result("broken", "/broken/j.jpg", thumb("j"), "http_500"),
        Result("h", "/busy/h.jpg", thumb("h"), "ok"),
        Result("j", "/img/j.jpg", thumb("j"), "ok"),
        Result("k", None, thumb("k"), "ok", embedded="/img/k.jpg"),
    ]
    return results, files


# Google's hosts the fixture imitates over TLS: the preview's interim thumbnail and the consent
# wall. Both are HSTS-preloaded, so Chromium only ever asks for them over https.
THUMBNAIL_HOST = "encrypted-tbn0.gstatic.com"
CONSENT_HOST = "consent.google.com"


def self_signed_context():
    """A TLS context with a throwaway certificate (Chromium runs with --ignore-certificate-errors)."""
    with tempfile.TemporaryDirectory() as folder:
        key, cert = f"{folder}/key.pem", f"{folder}/cert.pem"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        key, "-out", cert, "-days", "2", "-subj", "/CN=fixture"],
                       check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
    return context


class LocalServer:
    """A test server on a free port of 127.0.0.1, in a background thread; subclasses route."""

    def __init__(self):
        self.requests = collections.Counter()
        self.lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self):
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()

    def _handler_class(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                try:
                    server.handle(self, urllib.parse.urlsplit(self.path))
                except (BrokenPipeError, ConnectionResetError):
                    pass

        return Handler


class FixtureServer(LocalServer):
    """The fixture engine on a free port of 127.0.0.1, in a background thread.

    `requests` counts requests per path, split by who made them: the browser (its user agent
    says HeadlessChrome) or the scraper's downloader (anything else).
    """

    def __init__(self, slow_seconds=3.0, image_delay=0.0):
        self.results, self.files = build_catalogue()
        self.slow_seconds = slow_seconds
        self.image_delay = image_delay
        super().__init__()
        self.tls = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.tls.daemon_threads = True
        self.tls.socket = self_signed_context().wrap_socket(self.tls.socket, server_side=True)
        self.tls_thread = threading.Thread(target=self.tls.serve_forever, daemon=True)

    def start(self):
        self.tls_thread.start()
        return super().start()

    def stop(self):
        self.tls.shutdown()
        self.tls.server_close()
        super().stop()

    @property
    def host_rules(self):
        """Chromium's resolver rules: Google's two hosts to the TLS side, nothing else at all."""
        port = self.tls.server_address[1]
        return (f"--host-resolver-rules=MAP {THUMBNAIL_HOST} 127.0.0.1:{port}, "
                f"MAP {CONSENT_HOST} 127.0.0.1:{port}, MAP * ~NOTFOUND, EXCLUDE 127.0.0.1")

    def downloads(self):
        """Requests the downloader made (not the browser), per path."""
        with self.lock:
            return collections.Counter({path: n for (path, by_browser), n in self.requests.items()
                                        if not by_browser})

    def expected_sha256(self, outcome):
        """sha256 of the bytes the scraper should keep for results with this outcome."""
        digests = set()
        for result in self.results:
            if result.outcome != outcome:
                continue
            if outcome == "ok_thumbnail":
                body = base64.b64decode(result.thumb.split(",", 1)[1])
            else:
                path = result.full or result.embedded
                body = self.files["/img/" + path.rsplit("/", 1)[1]][0]
            digests.add(hashlib.sha256(body).hexdigest())
        return digests

    def expected_failures(self):
        kept = {"ok", "ok_thumbnail", "duplicate", "near_duplicate", "too_small"}
        return collections.Counter(r.outcome for r in self.results if r.outcome not in kept)

    def handle(self, handler, url):
        by_browser = "HeadlessChrome" in handler.headers.get("User-Agent", "")
        with self.lock:
            self.requests[(url.path, by_browser)] += 1
            count = self.requests[(url.path, by_browser)]
        self.route(handler, url.path, urllib.parse.parse_qs(url.query), count)

    def route(self, handler, path, query, count):
        """Dispatches one GET; `count` is how often this client asked for this path so far."""
        parts = path.strip("/").split("/")
        if path == "/search":
            return self.send(handler, 200, (HERE / "results.html").read_bytes(), "text/html")
        if path == "/gallery":
            return self.send(handler, 200, self.gallery_page(), "text/html")
        if path == "/api/results":
            start, size = int(query["start"][0]), int(query["count"][0])
            page = [{"id": r.id, "thumb": r.thumb, "full": r.full, "embedded": r.embedded,
                     "interim": f"https://{THUMBNAIL_HOST}/images?q=tbn:{r.id}"}
                    for r in self.results[start:start + size]]
            return self.send(handler, 200, json.dumps(page).encode(), "application/json")
        if path == "/images":  # the thumbnail host: what Google shows before the original
            return self.send(handler, 200, encode(draw_photo(70, (THUMB_SIDE, THUMB_SIDE)),
                                                  "JPEG"), "image/jpeg")
        if path == "/captcha":
            return self.redirect(handler, "/sorry/index?continue=/search")
        if path == "/consent-wall":
            return self.redirect(handler, f"https://{CONSENT_HOST}/ml?continue=/search")
        if path == "/sorry/index":
            return self.send(handler, 429, b"<html><body>Our systems have detected unusual "
                             b"traffic<form><input name='captcha'></form></body></html>",
                             "text/html")
        if path == "/ml":
            return self.send(handler, 200, b"<html><body>Before you continue to Google"
                             b"<button id='agree-elsewhere'>Accept all</button></body></html>",
                             "text/html")
        if parts[0] == "visit":
            return self.send(handler, 200, b"<html><body>A page about mountains</body></html>",
                             "text/html")
        if parts[0] == "hop" and len(parts) == 3:
            hops = int(parts[1])
            target = f"/hop/{hops - 1}/{parts[2]}" if hops > 1 else f"/img/{parts[2]}"
            return self.redirect(handler, target)
        if parts[0] == "slow":
            time.sleep(self.slow_seconds)
        if parts[0] == "flaky" and count == 1:
            return self.send(handler, 503, b"try later", "text/plain")
        if parts[0] == "busy" and count == 1:
            return self.send(handler, 429, b"slow down", "text/plain", {"Retry-After": "0"})
        if parts[0] == "broken":
            return self.send(handler, 500, b"oops", "text/plain")
        name = "/img/" + parts[-1]
        if name not in self.files:
            return self.send(handler, 404, b"not found", "text/plain")
        time.sleep(self.image_delay)
        body, kind = self.files[name]
        return self.send(handler, 200, body, kind)

    @staticmethod
    def redirect(handler, target):
        handler.send_response(302)
        handler.send_header("Location", target)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    @staticmethod
    def send(handler, status, body, kind, headers=None):
        handler.send_response(status)
        handler.send_header("Content-Type", kind)
        handler.send_header("Content-Length", str(len(body)))
        for key, value in (headers or {}).items():
            handler.send_header(key, value)
        handler.end_headers()
        handler.wfile.write(body)

    def gallery_page(self):
        """A plain page for the generic mode: linked thumbnails, a bare image, a link to HTML."""
        by_id = {r.id: r for r in self.results}
        items = [f'<a href="/img/c.jpg"><img src="{by_id["c"].thumb}"></a>',
                 '<a href="/img/h.jpg"><img src="/img/h.jpg" width="60"></a>',
                 f'<a href="/visit/g"><img src="{by_id["g"].thumb}"></a>',
                 '<p><img src="/img/d.jpg" width="60"></p>']
        body = "\n".join(f"<div style='height:300px'>{item}</div>" for item in items)
        return f"<!doctype html><html><body><h1>{html.escape('Gallery')}</h1>{body}</body></html>" \
            .encode()

    def gallery_expected_sha256(self):
        by_id = {r.id: r for r in self.results}
        bodies = [self.files["/img/c.jpg"][0], self.files["/img/h.jpg"][0],
                  self.files["/img/d.jpg"][0],
                  base64.b64decode(by_id["g"].thumb.split(",", 1)[1])]
        return {hashlib.sha256(body).hexdigest() for body in bodies}
