"""Wikimedia Commons' and Openverse's JSON APIs in miniature, served on 127.0.0.1 for the tests.

/w/api.php answers `action=query&generator=search&prop=imageinfo` in the documented shape of
formatversion 1 (pages keyed by id, "" for true) or 2 (a list, real booleans), three results a
response with `continue`/`gsroffset`; /v1/images/ answers like Openverse (`results`, `page`,
`page_count`). Among the results sit the traps a licence-aware collector must pass: a non-free
file, a non-commercial licence, an SVG, a tiny image, a missing file, a dead URL and a duplicate
upload. The first request for the second Commons page is answered 429, to be retried.

    server = ApiServer().start(); ...; server.stop()
"""
import collections
import dataclasses
import hashlib
import json
import urllib.parse

from search_fixture.server import LocalServer, draw_photo, encode

COMMONS_PAGE = 3
OPENVERSE_PAGE = 4


@dataclasses.dataclass
class Item:
    """One search result: its file (None: missing), size, type, licence, and its fate."""
    name: str
    file: str | None
    width: int
    height: int
    mime: str
    licence: str              # Commons LicenseShortName / Openverse license code
    licence_url: str | None
    artist: str
    outcome: str              # "ok", "duplicate", a skip reason, or a download failure
    non_free: bool = False


def build_files():
    photos = {name: draw_photo(seed, (96, 72) if seed % 2 else (80, 88))
              for seed, name in enumerate("abcd", start=70)}
    files = {"/files/a.jpg": (encode(photos["a"], "JPEG"), "image/jpeg"),
             "/files/b.png": (encode(photos["b"], "PNG"), "image/png"),
             "/files/c.webp": (encode(photos["c"], "WEBP"), "image/webp"),
             "/files/d.jpg": (encode(photos["d"], "JPEG"), "image/jpeg"),
             "/files/tiny.jpg": (encode(draw_photo(90, (24, 24)), "JPEG"), "image/jpeg"),
             "/files/nc.jpg": (encode(draw_photo(91, (90, 90)), "JPEG"), "image/jpeg"),
             "/files/peak.svg": (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "image/svg+xml")}
    files["/files/a-copy.jpg"] = files["/files/a.jpg"]
    files["/files/nonfree.jpg"] = files["/files/nc.jpg"]
    return files


BY_SA = "https://creativecommons.org/licenses/by-sa/4.0"
ARTIST = '<a href="//commons.wikimedia.org/wiki/User:Ann" title="User:Ann">Ann &amp; Bo</a>'
COMMONS = [
    Item("Alps a.jpg", "/files/a.jpg", 96, 72, "image/jpeg", "CC BY-SA 4.0", BY_SA, ARTIST, "ok"),
    Item("Peak.svg", "/files/peak.svg", 512, 512, "image/svg+xml", "CC0", None, "X",
         "not_a_photo"),
    Item("Lake b.png", "/files/b.png", 80, 88, "image/png", "CC0",
         "http://creativecommons.org/publicdomain/zero/1.0/deed.en", "Cy", "ok"),
    Item("Poster.jpg", "/files/nonfree.jpg", 90, 90, "image/jpeg", "Fair use", None, "Studio",
         "non_free", non_free=True),
    Item("Tiny.jpg", "/files/tiny.jpg", 24, 24, "image/jpeg", "CC0", None, "Dee", "too_small"),
    Item("Gone.jpg", None, 0, 0, "", "", None, "", "missing"),
    Item("Ridge c.webp", "/files/c.webp", 96, 72, "image/webp", "Public domain", None,
         "<span>Eve</span>", "ok"),
    Item("Alps a (copy).jpg", "/files/a-copy.jpg", 96, 72, "image/jpeg", "CC BY 2.0",
         "https://creativecommons.org/licenses/by/2.0", "Fay", "duplicate"),
    Item("Meadow nc.jpg", "/files/nc.jpg", 90, 90, "image/jpeg", "CC BY-NC 4.0",
         "https://creativecommons.org/licenses/by-nc/4.0", "Gus", "licence"),
    Item("Valley d.jpg", "/files/d.jpg", 80, 88, "image/jpeg", "CC BY 4.0",
         "https://creativecommons.org/licenses/by/4.0", "Hal", "ok"),
]
OPENVERSE = [
    Item("a", "/files/a.jpg", 96, 72, "jpg", "by-sa", BY_SA, "Ann", "ok"),
    Item("svg", "/files/peak.svg", 512, 512, "svg", "cc0", None, "X", "not_a_photo"),
    Item("nc", "/files/nc.jpg", 90, 90, "jpg", "by-nc", None, "Gus", "licence"),
    Item("tiny", "/files/tiny.jpg", 24, 24, "jpg", "cc0", None, "Dee", "too_small"),
    Item("dead", "/files/dead.jpg", 90, 90, "jpg", "by", None, "Ivy", "http_404"),
    Item("copy", "/files/a-copy.jpg", 96, 72, "jpg", "cc0", None, "Fay", "duplicate"),
    Item("b", "/files/b.png", 80, 88, "png", "cc0", None, "Cy", "ok"),
    Item("nourl", None, 90, 90, "jpg", "by", None, "Jo", "missing"),
    Item("c", "/files/c.webp", 96, 72, "webp", "pdm", None, "Eve <b>E.</b>", "ok"),
]


class ApiServer(LocalServer):
    """Both APIs and the files behind them on a free port; counts requests per path and query."""

    def __init__(self):
        self.files = build_files()
        self.user_agents = set()
        super().__init__()

    def file_requests(self):
        with self.lock:
            return collections.Counter({path: n for path, n in self.requests.items()
                                        if path.startswith("/files/")})

    def expected_sha256(self, items, outcome="ok"):
        return {hashlib.sha256(self.files[item.file][0]).hexdigest()
                for item in items if item.outcome == outcome}

    def handle(self, handler, url):
        query = dict(urllib.parse.parse_qsl(url.query))
        key = url.path + ("?" + url.query if url.path == "/w/api.php" else "")
        with self.lock:
            self.requests[key] += 1
            if key != url.path:
                self.requests[url.path] += 1
            count = self.requests[key]
            self.user_agents.add(handler.headers.get("User-Agent", ""))
        if url.path == "/w/api.php":
            if query.get("gsroffset") == str(COMMONS_PAGE) and count == 1:
                return self.send(handler, 429, b"{}", {"Retry-After": "0"})
            return self.send(handler, 200, json.dumps(self.commons(query)).encode())
        if url.path == "/v1/images/":
            return self.send(handler, 200, json.dumps(self.openverse(query)).encode())
        if url.path in self.files:
            body, kind = self.files[url.path]
            return self.send(handler, 200, body, {"Content-Type": kind})
        return self.send(handler, 404, b"not found", {"Content-Type": "text/plain"})

    @staticmethod
    def send(handler, status, body, headers=None):
        handler.send_response(status)
        headers = {"Content-Type": "application/json", **(headers or {})}
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)

    def commons_page(self, item, index, version):
        true = True if version == "2" else ""
        page = {"ns": 6, "title": "File:" + item.name, "index": index}
        if item.file is None:
            return {**page, "missing": true, "imagerepository": ""}
        meta = {"LicenseShortName": item.licence, "Artist": item.artist,
                "NonFree": "true" if item.non_free else None, "LicenseUrl": item.licence_url}
        ext = {key: {"value": value, "source": "commons-desc-page"}
               for key, value in meta.items() if value is not None}
        info = {"url": self.base + item.file, "width": item.width, "height": item.height,
                "size": len(self.files[item.file][0]), "mime": item.mime, "extmetadata": ext,
                "descriptionurl": "https://commons.wikimedia.org/wiki/File:" +
                                  urllib.parse.quote(item.name.replace(" ", "_"))}
        return {**page, "pageid": 1000 + index, "imagerepository": "local", "imageinfo": [info]}

    def commons(self, query):
        """One response of generator=search (only the parameters the scraper needs are read)."""
        assert query["generator"] == "search" and query["gsrnamespace"] == "6", query
        version = query.get("formatversion", "1")
        offset = int(query.get("gsroffset", 0))
        chunk = [(offset + i + 1, item)
                 for i, item in enumerate(COMMONS[offset:offset + COMMONS_PAGE])]
        pages = [self.commons_page(item, index, version) for index, item in chunk]
        if version != "2":
            pages = {str(page.get("pageid", -index)): page
                     for page, (index, _) in zip(pages, chunk)}
        answer = {"batchcomplete": True if version == "2" else "", "query": {"pages": pages}}
        if offset + COMMONS_PAGE < len(COMMONS):
            answer["continue"] = {"gsroffset": offset + COMMONS_PAGE, "continue": "gsroffset||"}
        return answer

    def openverse(self, query):
        page = int(query.get("page", 1))
        size = min(int(query.get("page_size", 20)), OPENVERSE_PAGE)
        chunk = OPENVERSE[(page - 1) * size:page * size]
        results = [{"id": f"id-{item.name}", "title": item.name,
                    "url": self.base + item.file if item.file else None,
                    "foreign_landing_url": f"https://www.flickr.com/photos/x/{item.name}",
                    "creator": item.artist, "license": item.licence, "license_version": "4.0",
                    "license_url": item.licence_url, "filetype": item.mime,
                    "width": item.width, "height": item.height, "provider": "flickr"}
                   for item in chunk]
        return {"result_count": len(OPENVERSE), "page_count": -(-len(OPENVERSE) // size),
                "page_size": size, "page": page, "results": results}
