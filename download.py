"""Downloading photos safely and keeping the folder's manifest: the HTTP half of scrape.py.

Every URL is checked the way a collector owes its user: http(s) only, timeouts, a size cap,
bounded redirects, the content type, magic bytes and a full Pillow decode; requests to one host
are paced and 429/5xx are retried with backoff. Each kept photo is named by the sha256 of its
bytes; exact and near duplicates (dHash) are kept once.

Every candidate gets one line in OUT/manifest.jsonl, appended and fsynced before the next one, and
every photo is written atomically (files.py): a killed run loses nothing it wrote, and the same
command run again resumes without downloading a finished URL twice.
"""
import base64
import collections
import dataclasses
import hashlib
import http.client
import io
import json
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from PIL import Image
from tqdm import tqdm

import files
import photos

# Wikimedia and Openverse ask for a User-Agent that names the tool and a way to reach its user.
USER_AGENT = "mountain-photo-scraper/2.0 (colorization research; contact: {contact}) Python-urllib"
NO_CONTACT = "none given, see scrape.py --contact"
ATTRIBUTION = "ATTRIBUTION.md"
MANIFEST = "manifest.jsonl"
MANIFEST_FIELDS = ("query", "engine", "url", "thumbnail", "page_url", "key", "status", "error",
                   "from_thumbnail", "sha256", "phash", "width", "height", "file",
                   "licence", "licence_url", "author")
# What a candidate may carry besides its URLs: the licence terms its engine reported.
LICENCE_FIELDS = ("licence", "licence_url", "author")
# The magic bytes of the formats Pillow decodes and dataset.py reads, and the file extension.
MAGIC = ((b"\xff\xd8\xff", "jpg"), (b"\x89PNG\r\n\x1a\n", "png"), (b"GIF87a", "gif"),
         (b"GIF89a", "gif"), (b"BM", "bmp"))


def short_url(url):
    """data: URIs are kilobytes long; the manifest records their type and hash instead."""
    if url and url.startswith("data:"):
        kind = url[5:].split(",", 1)[0]
        return f"data:{kind};sha256={hashlib.sha256(url.encode()).hexdigest()}"
    return url


def candidate_key(candidate):
    """What identifies a candidate across runs: its full-size URL, else its thumbnail."""
    return candidate["url"] or short_url(candidate["thumbnail"])


# --------------------------------------------------------------------------------------------
# Downloading: one URL to verified bytes, or a reason why not.
# --------------------------------------------------------------------------------------------

class FetchError(Exception):
    """A download that failed for `reason` (a short word the summary counts by)."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Redirects are followed by fetch() itself, so it can count them and check each scheme."""

    def redirect_request(self, *args, **kwargs):
        return None


class HostPacer:
    """Spaces requests to the same host by at least `delay` seconds, across all threads."""

    def __init__(self, delay):
        self.delay = delay
        self.next_slot = {}
        self.lock = threading.Lock()

    def wait(self, host):
        with self.lock:
            now = time.monotonic()
            slot = max(now, self.next_slot.get(host, now))
            self.next_slot[host] = slot + self.delay
        time.sleep(max(0.0, slot - now))


@dataclasses.dataclass
class FetchSettings:
    timeout: float = 20.0
    max_bytes: int = 30 << 20
    max_redirects: int = 5
    retries: int = 3
    backoff: float = 1.0
    contact: str = NO_CONTACT

    @property
    def user_agent(self):
        return USER_AGENT.format(contact=self.contact)


OPENER = urllib.request.build_opener(_NoRedirect)


def read_limited(response, max_bytes, deadline):
    """The body, refusing more than max_bytes and giving up at the deadline."""
    length = response.headers.get("Content-Length")
    if length and length.isdigit() and int(length) > max_bytes:
        raise FetchError("too_large", f"{length} bytes")
    chunks, size = [], 0
    while True:
        if time.monotonic() > deadline:
            raise FetchError("timeout", "download took too long")
        chunk = response.read(1 << 16)
        if not chunk:
            return b"".join(chunks)
        size += len(chunk)
        if size > max_bytes:
            raise FetchError("too_large", f"more than {max_bytes} bytes")
        chunks.append(chunk)


def retry_delay(error, attempt, backoff):
    """Exponential backoff, or the server's Retry-After when it gives a (small) number."""
    after = error.headers.get("Retry-After", "") if error.headers else ""
    if after.strip().isdigit():
        return min(float(after), 60.0)
    return backoff * 2 ** attempt


def fetch_once(url, settings, pacer, deadline, accept="image/*"):
    """One request; returns (status, response or error). Raises FetchError for network failures."""
    pacer.wait(urllib.parse.urlsplit(url).hostname)
    request = urllib.request.Request(url, headers={"User-Agent": settings.user_agent,
                                                   "Accept": accept})
    remaining = max(0.05, min(settings.timeout, deadline - time.monotonic()))
    try:
        return OPENER.open(request, timeout=remaining)
    except urllib.error.HTTPError as error:
        return error
    except (socket.timeout, TimeoutError):
        raise FetchError("timeout", url)
    except urllib.error.URLError as error:
        if isinstance(error.reason, (socket.timeout, TimeoutError)):
            raise FetchError("timeout", url)
        raise FetchError("connection", str(error.reason))
    except (http.client.HTTPException, OSError) as error:
        raise FetchError("connection", str(error))


def fetch(url, settings, pacer, accept="image/*"):
    """The bytes and content type behind an http(s) URL, following at most max_redirects."""
    deadline = time.monotonic() + settings.timeout
    redirects, attempt = 0, 0
    while True:
        if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
            raise FetchError("bad_scheme", url[:80])
        response = fetch_once(url, settings, pacer, deadline, accept)
        status = response.status if hasattr(response, "status") else response.code
        if status in (301, 302, 303, 307, 308):
            response.close()
            redirects += 1
            if redirects > settings.max_redirects:
                raise FetchError("too_many_redirects", f"more than {settings.max_redirects}")
            url = urllib.parse.urljoin(url, response.headers.get("Location", ""))
            continue
        if status == 429 or 500 <= status < 600:
            response.close()
            if attempt >= settings.retries:
                raise FetchError(f"http_{status}", f"after {attempt} retries")
            time.sleep(retry_delay(response, attempt, settings.backoff))
            attempt += 1
            deadline = time.monotonic() + settings.timeout
            continue
        if status != 200:
            response.close()
            raise FetchError(f"http_{status}", url)
        with response:
            try:
                body = read_limited(response, settings.max_bytes, deadline)
            except (socket.timeout, TimeoutError):
                raise FetchError("timeout", url)
            except (http.client.HTTPException, OSError) as error:
                raise FetchError("connection", str(error))
        return body, response.headers.get("Content-Type", "")


def fetch_json(url, settings, pacer):
    """A JSON API's answer, with the downloader's politeness (pacing, retries, User-Agent)."""
    body, _ = fetch(url, settings, pacer, accept="application/json")
    try:
        return json.loads(body)
    except ValueError as error:
        raise FetchError("bad_json", f"{url}: {error}")


def decode_data_uri(uri, max_bytes):
    """The bytes and content type of a data: URI (how engines inline their thumbnails)."""
    header, _, payload = uri[5:].partition(",")
    kind = header.split(";")[0]
    try:
        body = (base64.b64decode(payload, validate=False) if header.endswith(";base64")
                else urllib.parse.unquote_to_bytes(payload))
    except ValueError as error:
        raise FetchError("bad_data_uri", str(error))
    if len(body) > max_bytes:
        raise FetchError("too_large", f"{len(body)} bytes")
    return body, kind


def check_image(body, content_type, max_pixels):
    """Verifies that body is a whole, decodable photo; returns (extension, PIL image)."""
    kind = content_type.split(";")[0].strip().lower()
    if kind and not (kind.startswith("image/") or kind == "application/octet-stream"):
        raise FetchError("not_image", f"content type {kind}")
    extension = next((ext for magic, ext in MAGIC if body.startswith(magic)), None)
    if extension is None and body[:4] == b"RIFF" and body[8:12] == b"WEBP":
        extension = "webp"
    if extension is None:
        raise FetchError("bad_magic", repr(body[:8]))
    try:
        with Image.open(io.BytesIO(body)) as probe:
            if probe.width * probe.height > max_pixels:
                raise FetchError("too_many_pixels", f"{probe.width}x{probe.height}")
            probe.verify()
        image = Image.open(io.BytesIO(body))
        image.load()
    except FetchError:
        raise
    except Exception as error:  # Pillow raises many kinds on broken files
        raise FetchError("undecodable", f"{type(error).__name__}: {error}")
    return extension, image


def dhash(image, side=8):
    """64-bit difference hash: survives resizing and recompression, unlike sha256."""
    small = image.convert("L").resize((side + 1, side), Image.Resampling.LANCZOS)
    pixels = small.tobytes()
    bits = 0
    for row in range(side):
        for col in range(side):
            left = pixels[row * (side + 1) + col]
            right = pixels[row * (side + 1) + col + 1]
            bits = (bits << 1) | (left > right)
    return f"{bits:016x}"


def hamming(hash_a, hash_b):
    return (int(hash_a, 16) ^ int(hash_b, 16)).bit_count()


def fetch_source(source, settings, pacer):
    if source.startswith("data:"):
        return decode_data_uri(source, settings.max_bytes)
    return fetch(source, settings, pacer)


def download_candidate(candidate, settings, pacer, max_pixels, min_size):
    """Downloads and verifies a candidate: its original, else its thumbnail if that is big enough.

    Returns a dict with body, extension, image, from_thumbnail and error (the original's failure
    reason, or None); body is None when neither source gave a usable image.
    """
    error = "no_full_url"
    sources = [(candidate["url"], False), (candidate["thumbnail"], True)]
    for source, is_thumbnail in sources:
        if not source:
            continue
        try:
            body, content_type = fetch_source(source, settings, pacer)
            extension, image = check_image(body, content_type, max_pixels)
            if is_thumbnail and min(image.size) < min_size:
                continue
        except Exception as failure:  # one odd URL must not end a run of thousands
            if not is_thumbnail:
                error = failure.reason if isinstance(failure, FetchError) else \
                    type(failure).__name__
            continue
        return {"body": body, "extension": extension, "image": image,
                "from_thumbnail": is_thumbnail, "error": None if not is_thumbnail else error}
    return {"body": None, "error": error, "from_thumbnail": False}


# --------------------------------------------------------------------------------------------
# The output folder: photos named by content, and the manifest that makes runs resumable.
# --------------------------------------------------------------------------------------------

LEFTOVER = re.compile(r"\.(?P<name>.+)\.tmp-\d+")


def remove_partial_photos(out):
    """Photos a killed run left half-written (files.py temporary names) are deleted."""
    for path in out.iterdir():
        match = LEFTOVER.fullmatch(path.name)
        if match:
            files.remove_leftovers(out / match["name"])


def read_manifest(path, repair=False):
    """The manifest's complete records; a line torn by a kill is dropped.

    With `repair` the torn line is also cut off the file, so that the next append starts on
    a line of its own: only the collector (Collection) may do that. A reader (dataset.py)
    must not, as the "torn" line may be the record a running scrape is writing right now.
    """
    if not path.exists():
        return []
    raw = path.read_bytes()
    complete = raw[: raw.rfind(b"\n") + 1]
    if repair and len(complete) != len(raw):
        with open(path, "r+b") as handle:
            handle.truncate(len(complete))
    records = []
    for line in complete.decode("utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and {"key", "status", "query"} <= set(record):
            records.append(record)
    return records


class Collection:
    """The output folder: what is kept, and the manifest every decision is appended to."""

    def __init__(self, out, near_dup_threshold, min_size):
        self.out = Path(out)
        self.out.mkdir(parents=True, exist_ok=True)
        remove_partial_photos(self.out)
        self.manifest_path = self.out / MANIFEST
        self.records = read_manifest(self.manifest_path, repair=True)
        self.done = {record["key"] for record in self.records}
        kept = [record for record in self.records if record["status"] == "ok"]
        self.sha256s = {record["sha256"] for record in kept}
        self.phashes = [record["phash"] for record in kept]
        self.near_dup_threshold = near_dup_threshold
        self.min_size = min_size
        self.manifest = open(self.manifest_path, "a", encoding="utf-8")

    def kept_for(self, query):
        return sum(1 for r in self.records if r["status"] == "ok" and r["query"] == query)

    def keys_for(self, query):
        return {r["key"] for r in self.records if r["query"] == query}

    def add(self, query, engine, candidate, result):
        """Decides what happens to one downloaded candidate and records it; returns its record."""
        record = dict.fromkeys(MANIFEST_FIELDS)
        record.update(query=query, engine=engine, url=candidate["url"],
                      thumbnail=short_url(candidate["thumbnail"]), page_url=candidate["page_url"],
                      key=candidate_key(candidate), error=result["error"],
                      from_thumbnail=result["from_thumbnail"])
        record.update({field: candidate.get(field) for field in LICENCE_FIELDS})
        if result["body"] is None:
            record["status"] = "failed"
        else:
            self.judge(record, result)
        self.append(record)
        return record

    def judge(self, record, result):
        image, body = result["image"], result["body"]
        digest = hashlib.sha256(body).hexdigest()
        phash = dhash(image)
        record.update(sha256=digest, phash=phash, width=image.width, height=image.height)
        if min(image.width, image.height) < self.min_size:
            record["status"] = "too_small"
        elif digest in self.sha256s:
            record["status"] = "duplicate"
        elif any(hamming(phash, other) <= self.near_dup_threshold for other in self.phashes):
            record["status"] = "near_duplicate"
        else:
            record["status"] = "ok"
            record["file"] = f"{digest}.{result['extension']}"
            self.write_file(record["file"], body)
            self.sha256s.add(digest)
            self.phashes.append(phash)

    def write_file(self, name, body):
        with files.atomic_path(self.out / name) as temp:
            temp.write_bytes(body)
            os.chmod(temp, 0o644)  # photos are for everyone's tools, whatever the umask

    def append(self, record):
        self.manifest.write(json.dumps(record, sort_keys=True) + "\n")
        self.manifest.flush()
        os.fsync(self.manifest.fileno())
        self.records.append(record)
        self.done.add(record["key"])

    def close(self):
        self.manifest.close()


@dataclasses.dataclass
class DownloadOptions:
    """How candidates are downloaded and checked (scrape.py fills it from its command line)."""
    settings: FetchSettings = dataclasses.field(default_factory=lambda: FetchSettings())
    host_delay: float = 0.5
    workers: int = 8
    max_pixels: int = 60_000_000
    min_size: int = 128


def download_all(collection, query, engine_name, candidates, needed, options):
    """Downloads candidates in a thread pool; their results are judged in page order.

    Judging in order keeps the outcome (which of two near-duplicates is kept) independent of
    thread timing; downloads still overlap. Stops submitting once `needed` photos were kept.
    """
    settings, workers = options.settings, options.workers
    pacer = HostPacer(options.host_delay)
    max_pixels, min_size = options.max_pixels, options.min_size
    kept, pending = 0, collections.deque()
    queue = iter(candidates)
    with ThreadPoolExecutor(workers) as pool, \
            tqdm(total=len(candidates), desc=f"download '{query}'", unit="img") as bar:
        def submit_next():
            candidate = next(queue, None)
            if candidate is not None:
                pending.append((candidate, pool.submit(download_candidate, candidate, settings,
                                                       pacer, max_pixels, min_size)))
        for _ in range(workers * 2):
            submit_next()
        while pending:
            candidate, future = pending.popleft()
            record = collection.add(query, engine_name, candidate, future.result())
            kept += record["status"] == "ok"
            bar.update()
            if kept >= needed:
                for _, other in pending:
                    other.cancel()
                break
            submit_next()
    return kept


def read_attributions(folder):
    """{photo path: licence, licence_url, author, page_url, source} of each kept photo.

    Read from every manifest under the folder (what dataset.py stores in meta.json), found the
    way dataset.py finds photos (photos.walk_following_links) and keyed like its ids: the path
    relative to `folder`, so that `--images photos/` still credits photos/commons/x.png.
    `source` is the URL the bytes came from: the thumbnail for a photo kept from it. Photos from
    search engines have None where no licence is known.
    """
    folder = Path(folder)
    attributions = {}
    for root, _, names in photos.walk_following_links(folder):
        if MANIFEST not in names:
            continue
        prefix = Path(root).relative_to(folder)
        for record in read_manifest(Path(root) / MANIFEST):
            if not record.get("file"):
                continue
            source = (record.get("thumbnail") if record.get("from_thumbnail")
                      else record.get("url") or record.get("thumbnail"))
            attributions[(prefix / record["file"]).as_posix()] = {
                "licence": record.get("licence"), "licence_url": record.get("licence_url"),
                "author": record.get("author"), "page_url": record.get("page_url"),
                "source": source}
    return attributions


def attribution_markdown(attributions):
    """The credits a re-user of these photos owes: author, licence and page of each."""
    lines = ["# Attribution", "",
             "Photos in this folder, with the author and licence their source reported. Check "
             "each page before publishing.", "",
             "| file | author | licence | page |", "| --- | --- | --- | --- |"]
    for name, entry in sorted(attributions.items()):
        licence = entry["licence"] or "unknown"
        if entry["licence_url"]:
            licence = f"[{licence}]({entry['licence_url']})"
        cells = [name, entry["author"] or "unknown", licence, entry["page_url"] or ""]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines) + "\n"


def write_attribution_file(folder):
    """ATTRIBUTION.md beside the photos, when any of them has a known licence; its path or None."""
    attributions = read_attributions(folder)
    if not any(entry["licence"] for entry in attributions.values()):
        return None
    path = Path(folder) / ATTRIBUTION
    files.write_text_atomic(path, attribution_markdown(attributions))
    return path


def summarize(records):
    """Counts like img2dataset's: candidates, kept, duplicates, too small, failures by reason."""
    statuses = collections.Counter(record["status"] for record in records)
    failures = collections.Counter(record["error"] for record in records
                                   if record["status"] == "failed")
    return {
        "candidates": len(records),
        "downloaded": statuses["ok"],
        "from_thumbnails": sum(1 for r in records if r["status"] == "ok" and r["from_thumbnail"]),
        "duplicates": statuses["duplicate"],
        "near_duplicates": statuses["near_duplicate"],
        "too_small": statuses["too_small"],
        "failed": statuses["failed"],
        "failures": dict(sorted(failures.items())),
    }


def format_summary(summary, new):
    failures = ", ".join(f"{reason} {count}" for reason, count in summary["failures"].items())
    return "\n".join([
        f"this run: {new} new candidates",
        f"candidates {summary['candidates']}, downloaded {summary['downloaded']} "
        f"({summary['from_thumbnails']} from thumbnails), duplicates {summary['duplicates']}, "
        f"near-duplicates {summary['near_duplicates']}, too small {summary['too_small']}, "
        f"failed {summary['failed']}" + (f": {failures}" if failures else ""),
    ])
