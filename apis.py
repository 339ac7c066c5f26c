"""Licence-aware public image APIs: Wikimedia Commons and Openverse, over plain JSON.

scrape.py's `--engine commons` and `--engine openverse` read these APIs (no browser): every result
is checked to be a photo (JPEG/PNG/WebP, not SVG), large enough and under one of the wanted free
licences, and becomes a candidate carrying licence, licence_url, author (plain text) and page_url
for download.py to fetch with its usual politeness (User-Agent with a contact, pacing, retries).
"""
import collections
import html
import re
import urllib.parse

import download

COMMONS_API = "https://commons.wikimedia.org/w/api.php"
OPENVERSE_API = "https://api.openverse.org/v1/images/"
API_ENGINES = {"commons": COMMONS_API, "openverse": OPENVERSE_API}
FREE_LICENCES = "cc0,pdm,by,by-sa"
PHOTO_TYPES = {"image/jpeg", "image/png", "image/webp", "jpg", "jpeg", "png", "webp"}
OPENVERSE_LICENCES = {"by", "by-sa", "by-nc", "by-nd", "by-nc-sa", "by-nc-nd", "cc0", "pdm"}

def licence_code(name, url=None):
    """A short licence code (cc0, pdm, by, by-sa, by-nc, ...) from a licence's name or URL."""
    found = re.search(r"creativecommons\.org/(?:licenses/([a-z+-]+)|publicdomain/(zero|mark))",
                      (url or "").lower())
    if found:
        return found[1] or {"zero": "cc0", "mark": "pdm"}[found[2]]
    text = re.sub(r"[\s_]+", "-", (name or "").strip().lower())
    if text.startswith("cc0") or text == "cc-zero":
        return "cc0"
    if text in ("pd", "pdm", "public-domain") or text.startswith(("pd-", "public-domain-")):
        return "pdm"
    found = re.fullmatch(r"cc-(by(?:-(?:nc|nd|sa))*)(?:-\d.*)?", text)
    return found[1] if found else (text or None)


def plain_text(markup):
    """Commons' Artist field is HTML (links to user pages); the manifest wants the name."""
    text = html.unescape(re.sub(r"<[^>]+>", " ", markup or ""))
    return " ".join(text.split()) or None


def api_url(base, defaults, paging):
    """base with its parameters: the defaults, then base's own (a user's --api-url wins), then
    the paging ones."""
    parts = urllib.parse.urlsplit(base)
    params = {**defaults, **dict(urllib.parse.parse_qsl(parts.query)), **paging}
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(params)))


def meta_value(extmetadata, key):
    entry = extmetadata.get(key)
    return entry.get("value") if isinstance(entry, dict) else entry


def commons_candidate(page, min_size, licences):
    """(candidate, None) for a free photo of one search result page, else (None, why not)."""
    if "missing" in page or not page.get("imageinfo"):
        return None, "missing"
    info = page["imageinfo"][0]
    if info.get("mime") not in PHOTO_TYPES:
        return None, "not_a_photo"
    if min(info.get("width") or 0, info.get("height") or 0) < min_size:
        return None, "too_small"
    meta = info.get("extmetadata") or {}
    if str(meta_value(meta, "NonFree") or "").lower() in ("true", "1", "yes"):
        return None, "non_free"
    licence = licence_code(meta_value(meta, "LicenseShortName"), meta_value(meta, "LicenseUrl"))
    if licence not in licences:
        return None, "licence"
    return {"url": info["url"], "thumbnail": None, "page_url": info.get("descriptionurl"),
            "licence": licence, "licence_url": meta_value(meta, "LicenseUrl") or None,
            "author": plain_text(meta_value(meta, "Artist"))}, None


def commons_results(fetch_json, base, query, min_size, licences):
    """Every search result in the File namespace, page after page (formatversion 1 or 2)."""
    defaults = {"action": "query", "format": "json", "formatversion": "2",
                "generator": "search", "gsrsearch": f"{query} filetype:bitmap",
                "gsrnamespace": "6", "gsrlimit": "50", "prop": "imageinfo",
                "iiprop": "url|size|mime|extmetadata", "iiextmetadatalanguage": "en",
                "iiextmetadatafilter": "LicenseShortName|LicenseUrl|Artist|NonFree"}
    paging = {}
    while True:
        answer = fetch_json(api_url(base, defaults, paging))
        if "error" in answer:
            error = answer["error"]
            raise download.FetchError("api_error", f"{error.get('code')}: {error.get('info')}")
        pages = (answer.get("query") or {}).get("pages") or []
        if isinstance(pages, dict):  # formatversion 1: keyed by page id
            pages = list(pages.values())
        for page in sorted(pages, key=lambda page: page.get("index", 0)):
            yield commons_candidate(page, min_size, licences)
        if not answer.get("continue"):
            return
        paging = answer["continue"]


def openverse_candidate(item, min_size, licences):
    licence = (item.get("license") or "").lower()
    if not item.get("url"):
        return None, "missing"
    if item.get("filetype") and item["filetype"].lower() not in PHOTO_TYPES:
        return None, "not_a_photo"
    if item.get("width") and item.get("height") and min(item["width"], item["height"]) < min_size:
        return None, "too_small"
    if licence not in licences:
        return None, "licence"
    return {"url": item["url"], "thumbnail": None, "page_url": item.get("foreign_landing_url"),
            "licence": licence, "licence_url": item.get("license_url"),
            "author": plain_text(item.get("creator"))}, None


def openverse_results(fetch_json, base, query, min_size, licences):
    """Every result of the Openverse images API, page after page, up to its page_count."""
    wanted = sorted(set(licences) & OPENVERSE_LICENCES)
    if not wanted:
        raise download.FetchError("licence", f"Openverse knows none of {sorted(licences)}")
    defaults = {"q": query, "page_size": "20", "license": ",".join(wanted)}
    page = 1
    while True:
        answer = fetch_json(api_url(base, defaults, {"page": str(page)}))
        results = answer.get("results") or []
        for item in results:
            yield openverse_candidate(item, min_size, licences)
        if not results or page >= int(answer.get("page_count") or 0):
            return
        page += 1


def api_candidates(results, wanted, known, skipped):
    """Up to `wanted` new candidates from an engine's results; skipped counts the rest by
    reason."""
    candidates, seen = [], set(known)
    for candidate, reason in results:
        if candidate is None:
            skipped[reason] += 1
            continue
        key = download.candidate_key(candidate)
        if key not in seen:
            seen.add(key)
            candidates.append(candidate)
            if len(candidates) >= wanted:
                break
    return candidates


class ApiFailed(Exception):
    """The API could not be read for one query (HTTP failure or an error answer)."""


class ApiSearch:
    """Candidates from the Commons or Openverse API, with the downloader's politeness."""

    def __init__(self, name, licences, min_size, settings, host_delay, base=None):
        if name not in API_ENGINES:
            raise ValueError(f"unknown API engine {name!r}; known: {sorted(API_ENGINES)}")
        self.name, self.licences, self.min_size = name, set(licences), min_size
        self.base = base or API_ENGINES[name]
        self.settings, self.pacer = settings, download.HostPacer(host_delay)
        self.results = commons_results if name == "commons" else openverse_results

    def candidates(self, query, wanted, collection):
        def fetch_json(url):
            return download.fetch_json(url, self.settings, self.pacer)
        skipped = collections.Counter()
        results = self.results(fetch_json, self.base, query, self.min_size, self.licences)
        try:
            found = api_candidates(results, wanted, collection.done, skipped)
        except download.FetchError as error:
            raise ApiFailed(f"'{query}': the {self.name} API at {self.base} failed: {error}")
        if skipped:
            reasons = ", ".join(f"{why} {n}" for why, n in sorted(skipped.items()))
            print(f"'{query}': {self.name} results skipped: {reasons}")
        return found

    def explain_no_results(self, query):
        return (f"No photos under the licences {','.join(sorted(self.licences))} for '{query}' "
                f"from {self.base}")

    def close(self):
        pass
