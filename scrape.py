"""Collect real mountain photos from an image search engine, full size, resumably.

    python scrape.py --engine commons --query "mountain landscape" --max-images 300 \
        --contact you@example.org --out data/commons
    python scrape.py --query "alps summer" --query "mountain landscape" \
        --max-images 2500 --out data/raw
    python scrape.py --engine google --query "dolomites" --out data/raw
    python scrape.py --search-url "https://example.org/s?q={query}" --query peaks --out data/raw
    python dataset.py --images data/raw --out data/mountains-real

The commons and openverse engines (apis.py) read public JSON APIs, no browser, and keep only freely
licensed photos, recording licence, author and page of each (ATTRIBUTION.md lists them). For the
search engines, a headless system Chromium (driven by Selenium 4 through the system chromedriver;
nothing is ever downloaded at run time) opens the results page, scrolls and presses "more results"
until it has enough candidates, then reveals each result's full-size URL. download.py fetches and
verifies them (http(s) only, timeouts, size cap, bounded redirects, content type, magic bytes, a
full Pillow decode, per-host politeness, retries on 429/5xx), names each kept photo by its sha256,
keeps exact and near duplicates once, and records every candidate in OUT/manifest.jsonl: the same
command run again resumes where it stopped.
"""
import argparse
import dataclasses
import json
import math
import os
import re
import shutil
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path

from tqdm import tqdm

import apis
import cli
import download

INSTALL_HINT = "sudo apt-get install chromium chromium-driver"
# Chromium as root on a machine without (or with a closed) network: no sandbox, no GPU, and none
# of the background traffic (updates, sync, field trials) that would only produce refused
# connections.
CHROMIUM_FLAGS = ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run", "--disable-quic", "--window-size=1280,1000")
DEFAULT_ENGINE = "bing"
# Hosts that serve only thumbnails: never a full-size original, whatever a preview shows first.
THUMBNAIL_HOSTS = re.compile(r"(^encrypted-tbn\d*\.|(^|\.)gstatic\.com$|\.mm\.bing\.net$)")


# --------------------------------------------------------------------------------------------
# Engines: everything that differs between search engines lives in one record each.
# --------------------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Engine:
    """How one results page is read; a changed page layout is fixed here and nowhere else.

    A result tile's full-size URL comes either from an attribute of the tile (`url_attribute`,
    parsed as JSON when `url_json_key` is set) or, for engines that only show it in a preview
    panel, from the `preview_image` that appears after clicking the tile; failing that, from
    the `imgurl` parameter of an `embedded_link` in the tile (Google's /imgres links).
    """
    name: str
    search_url: str            # results page, with {query}
    tile: str                  # CSS selector of one result (what gets clicked)
    tile_fallbacks: tuple = ()  # selectors tried in turn when `tile` matches nothing
    thumbnail: str = "img"     # CSS selector of the tile's thumbnail, relative to the tile
    more_button: str = ""      # CSS selector of the "more results" button, if the page has one
    consent_button: str = ""   # CSS selector of a cookie banner's "accept" button
    url_attribute: str = ""    # tile attribute holding the full-size URL (or JSON with it)
    url_json_key: str = ""     # key of the full-size URL in that attribute's JSON
    page_json_key: str = ""    # key of the hosting page's URL in that attribute's JSON
    thumbnail_json_key: str = ""  # key of the thumbnail's URL in that attribute's JSON
    page_attribute: str = ""   # tile attribute holding the hosting page's URL
    embedded_link: str = ""    # CSS selector of a link whose URL embeds imgurl= / imgrefurl=
    preview_image: str = ""    # CSS selector of the full-size image in the preview panel
    preview_link: str = ""     # CSS selector of the link to the hosting page in that panel


# The Google and Bing selectors below are our best knowledge of their result pages (2024/2025);
# they could not be checked from this machine, which has no internet. Both sites change their
# markup often: when a run finds no results, open the page in a browser, look up the tile and
# preview selectors with the inspector and fix them here (or pass --engine-file).
ENGINES = {
    "google": Engine(
        name="google",
        search_url="https://www.google.com/search?udm=2&hl=en&q={query}",
        tile="div[data-lpage]",
        tile_fallbacks=("div[data-ri]", "div.ivg-i", "div[jsname='dTDiAc']", "div.isv-r"),
        thumbnail="img",
        more_button="input.mye4qd, a.T7sFge",
        consent_button="button#L2AGLb, button[aria-label='Reject all'], "
                       "form[action*='consent'] button",
        page_attribute="data-lpage",
        embedded_link="a[href*='imgurl=']",
        preview_image="img.sFlh5c.iPVvYb, img.sFlh5c.FyHeAf, img.n3VNCb, img[jsname='kn3ccd']",
        preview_link="a.YsLeY, a.Hnk30e",
    ),
    "bing": Engine(
        name="bing",
        search_url="https://www.bing.com/images/search?q={query}&form=HDRSC2",
        tile="a.iusc",
        thumbnail="img.mimg, img",
        more_button="a.btn_seemore",
        consent_button="#bnp_btn_accept",
        url_attribute="m",
        url_json_key="murl",
        page_json_key="purl",
        thumbnail_json_key="turl",
    ),
}


def generic_engine(search_url):
    """Any results page: every linked image is a result whose link may be its full-size file."""
    return Engine(name="generic", search_url=search_url, tile="a[href]:has(img), img:not(a img)",
                  thumbnail="img", url_attribute="href")


def load_engine_file(path):
    """An engine in JSON, with the fields of Engine: for other sites, or a layout changed today."""
    try:
        fields = json.loads(Path(path).read_text())
        fields["tile_fallbacks"] = tuple(fields.get("tile_fallbacks", ()))
        return Engine(**fields)
    except (OSError, ValueError, TypeError) as error:
        raise SystemExit(f"Cannot read the engine file {path}: {error}")


def choose_engine(name=None, search_url=None, engine_file=None):
    """The results page to read: `engine_file`, else the engine `name` (bing when None) with
    `search_url` in place of its own; a `search_url` with no engine named is read generically."""
    if engine_file:
        engine = load_engine_file(engine_file)
    elif search_url and name is None:
        return generic_engine(search_url)
    else:
        engine = ENGINES[name or DEFAULT_ENGINE]
    if search_url:
        engine = dataclasses.replace(engine, search_url=search_url)
    require_http(engine.search_url, "the search URL")
    return engine


def require_http(url, what):
    """file:, javascript: and the like are never opened: only http(s) pages and APIs."""
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise SystemExit(f"scrape.py: {what} must be an http:// or https:// URL, not {url!r}")


# --------------------------------------------------------------------------------------------
# Browser: reading result tiles from a live page.
# --------------------------------------------------------------------------------------------

def find_executable(given, names, what):
    """The browser or driver to use; exits with the install command when there is none."""
    if given:
        if Path(given).is_file() and os.access(given, os.X_OK):
            return str(given)
        raise SystemExit(f"{what} not found at {given}. Install Chromium and its driver with: "
                         f"{INSTALL_HINT}")
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise SystemExit(f"{what} not found on PATH (looked for {', '.join(names)}). Install it with: "
                     f"{INSTALL_HINT}  (or point to one with --browser / --driver)")


def chromium_flags(headful=False):
    """--headful drops --headless (run under Xvfb): headless Chromium is more often blocked."""
    return [flag for flag in CHROMIUM_FLAGS if not (headful and flag.startswith("--headless"))]


def open_browser(browser_path, driver_path, profile_dir, extra_flags=(), headful=False):
    """Headless Chromium through the given chromedriver; Selenium Manager is never consulted.

    An explicit Service path makes Selenium skip its driver manager, and SE_OFFLINE keeps it
    offline should any code path still reach it.
    """
    os.environ.setdefault("SE_OFFLINE", "true")
    from selenium import webdriver
    from selenium.common.exceptions import WebDriverException
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = browser_path
    for flag in (*chromium_flags(headful), *extra_flags):
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile_dir}")
    try:
        driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    except WebDriverException as error:
        first_line = (error.msg or str(error)).strip().splitlines()[0]
        raise SystemExit(f"Could not start {browser_path} through {driver_path}: {first_line}\n"
                         f"Chromium and chromedriver must be the same version: {INSTALL_HINT}")
    driver.set_page_load_timeout(60)
    return driver


# Reads tile number `index`: its thumbnail source and, when the engine keeps it in an attribute,
# the full-size and hosting-page URLs. Runs in the page, so re-rendered tiles never go stale.
READ_TILE_JS = """
const [engine, index] = arguments;
const tile = document.querySelectorAll(engine.tile)[index];
if (!tile) return null;
let thumb = tile.matches('img') ? tile : tile.querySelector(engine.thumbnail);
let thumbnail = thumb ? (thumb.src || thumb.currentSrc || thumb.getAttribute('data-src')) : null;
let url = null, page = engine.page_attribute ? tile.getAttribute(engine.page_attribute) : null;
const link = !engine.embedded_link ? null :
  (tile.matches(engine.embedded_link) ? tile : tile.querySelector(engine.embedded_link));
if (engine.url_attribute) {
  let value = engine.url_attribute === 'href' ? tile.href
                                              : tile.getAttribute(engine.url_attribute);
  if (value && engine.url_json_key) {
    try {
      const data = JSON.parse(value);
      url = data[engine.url_json_key] || null;
      page = (engine.page_json_key && data[engine.page_json_key]) || page;
      thumbnail = (engine.thumbnail_json_key && data[engine.thumbnail_json_key]) || thumbnail;
    } catch (e) { url = null; }
  } else { url = value || null; }
}
return {thumbnail: thumbnail || null, url: url, page_url: page || null,
        embedded: link ? link.href : null};
"""

# The http(s) sources of the preview panel's visible images (Google keeps hidden panels for the
# neighbouring results) and the link to the hosting page.
READ_PREVIEW_JS = """
const [engine] = arguments;
const sources = Array.from(document.querySelectorAll(engine.preview_image))
  .filter(img => img.getClientRects().length > 0).map(img => img.src || img.currentSrc)
  .filter(src => /^https?:/.test(src || ''));
const link = engine.preview_link ? document.querySelector(engine.preview_link) : null;
return {sources: sources, page_url: link ? link.href : null};
"""


def count_tiles(driver, engine):
    return driver.execute_script("return document.querySelectorAll(arguments[0]).length;",
                                 engine.tile)


def click_if_present(driver, selector):
    """Clicks the first visible element matching selector; True when it did."""
    if not selector:
        return False
    return bool(driver.execute_script("""
        const el = Array.from(document.querySelectorAll(arguments[0]))
          .find(e => e.offsetParent !== null && !e.disabled);
        if (!el) return false;
        el.scrollIntoView({block: 'center'}); el.click(); return true;""", selector))


def load_more_results(driver, engine, wanted, pause, patience):
    """Scrolls and presses "more results" until `wanted` tiles exist or the page stops growing."""
    stale_rounds = 0
    count = count_tiles(driver, engine)
    while count < wanted and stale_rounds < patience:
        driver.execute_script("window.scrollTo(0, document.body.scrollHeight);")
        click_if_present(driver, engine.more_button)
        deadline = time.monotonic() + pause
        new_count = count
        while time.monotonic() < deadline and new_count == count:
            time.sleep(0.1)
            new_count = count_tiles(driver, engine)
        stale_rounds = stale_rounds + 1 if new_count == count else 0
        count = new_count
    return count


def reveal_in_preview(driver, engine, index, previous, preview_timeout):
    """Clicks tile `index` and waits for the preview to show a full-size URL it did not show
    before.

    Engines first show a thumbnail in the panel and swap in the original later, so the first
    http(s) source that was not in the panel before the click and is not on a thumbnail host
    (Google's encrypted-tbn*.gstatic.com) is the original.
    """
    from selenium.common.exceptions import WebDriverException

    tiles = driver.find_elements("css selector", engine.tile)
    if index >= len(tiles):
        return None, None
    tile = tiles[index]
    try:
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'});", tile)
        tile.click()
    except WebDriverException:
        driver.execute_script("arguments[0].click();", tile)
    deadline = time.monotonic() + preview_timeout
    while True:
        preview = driver.execute_script(READ_PREVIEW_JS, dataclasses.asdict(engine))
        fresh = [src for src in preview["sources"]
                 if src not in previous and not is_thumbnail_host(src)]
        if fresh:
            return fresh[0], preview["page_url"]
        if time.monotonic() > deadline:
            return None, preview["page_url"]
        time.sleep(0.05)


def is_thumbnail_host(url):
    return bool(THUMBNAIL_HOSTS.search(urllib.parse.urlsplit(url or "").hostname or ""))


def embedded_original(link):
    """The original and its page from a Google-style /imgres?imgurl=...&imgrefurl=... link."""
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(link or "").query)
    url = query.get("imgurl", [None])[0]
    return (url if url and not is_thumbnail_host(url) else None), query.get("imgrefurl", [None])[0]


class SearchBlocked(Exception):
    """The engine answered with a block or consent page instead of results."""


def blocked_page(url):
    """Names Google's CAPTCHA and standalone consent pages, so they are not blamed on selectors."""
    parts = urllib.parse.urlsplit(url)
    if parts.path.startswith("/sorry/"):
        return ("Google's CAPTCHA page", "headless Chromium was taken for a robot: try "
                "--headful under Xvfb, fewer queries, or --engine commons / bing")
    if re.fullmatch(r"consent\.google\.[a-z.]+", parts.hostname or ""):
        return ("Google's consent page", "its buttons were not found: accept it once in a "
                "browser, or use --engine bing / commons")
    return None


def check_not_blocked(driver, query):
    found = blocked_page(driver.current_url)
    if found:
        raise SearchBlocked(f"'{query}': {found[0]} ({driver.current_url}) instead of results; "
                            f"{found[1]}")


def settle_tile_selector(driver, engine, timeout):
    """The engine with the first of its tile selectors that matches, waiting up to `timeout`."""
    selectors = (engine.tile, *engine.tile_fallbacks)
    deadline = time.monotonic() + timeout
    while True:
        for selector in selectors:
            if count_tiles(driver, dataclasses.replace(engine, tile=selector)):
                return dataclasses.replace(engine, tile=selector)
        if time.monotonic() > deadline:
            return engine
        time.sleep(0.1)


def collect_candidates(driver, engine, query, wanted, options, known, seen_before):
    """Opens the results page for `query` and returns up to `wanted` new candidates, in page order.

    A candidate is a dict with url (full size, may be None), thumbnail, page_url (the hosting
    page, None when the engine names none: the results page is nobody's photo page); `known`
    holds the keys already in the manifest (skipped), seen_before how many of them this query's
    page showed. `options` (BrowserOptions) says how long to wait for the page.
    Raises SearchBlocked for a CAPTCHA or consent page.
    """
    page = engine.search_url.replace("{query}", urllib.parse.quote_plus(query))
    driver.get(page)
    if click_if_present(driver, engine.consent_button):
        time.sleep(options.scroll_pause)
    check_not_blocked(driver, query)
    engine = settle_tile_selector(driver, engine, options.scroll_pause)
    total = load_more_results(driver, engine, wanted + seen_before, options.scroll_pause,
                              options.patience)
    engine_fields = dataclasses.asdict(engine)
    previous_preview = set()
    if engine.preview_image:
        previous_preview = set(driver.execute_script(READ_PREVIEW_JS, engine_fields)["sources"])
    candidates, seen = [], set(known)
    for index in tqdm(range(total), desc=f"results '{query}'", unit="result", leave=False):
        if len(candidates) >= wanted:
            break
        tile = driver.execute_script(READ_TILE_JS, engine_fields, index)
        if tile is None:
            continue
        url, page_url = tile["url"], tile["page_url"]
        if url and is_thumbnail_host(url):
            url = None
        if not url and engine.preview_image:
            url, preview_page = reveal_in_preview(driver, engine, index, previous_preview,
                                                  options.preview_timeout)
            previous_preview.add(url)
            page_url = preview_page or page_url
        if not url and engine.embedded_link:  # read again: the click may have filled the link
            tile = driver.execute_script(READ_TILE_JS, engine_fields, index) or tile
            url, embedded_page = embedded_original(tile["embedded"] or driver.current_url)
            page_url = embedded_page or page_url
        candidate = {"url": url, "thumbnail": tile["thumbnail"], "page_url": page_url}
        key = download.candidate_key(candidate)
        if key is None or key in seen:
            continue
        seen.add(key)
        candidates.append(candidate)
    return candidates


# --------------------------------------------------------------------------------------------
# Command line.
# --------------------------------------------------------------------------------------------

def parse_args(argv=None):
    parser = argparse.ArgumentParser(
        description="Collect full-size photos: freely licensed ones from Wikimedia Commons or "
                    "Openverse (JSON APIs), or any from an image search (headless Chromium).",
        formatter_class=cli.HelpFormatter)
    parser.add_argument("--query", action="append", required=True,
                        help="search query; repeat for several")
    parser.add_argument("--out", default="data/raw", help="folder for photos and manifest.jsonl")
    parser.add_argument("--max-images", type=int, default=2500,
                        help="photos to keep in all, shared evenly between the queries")
    parser.add_argument("--engine", choices=sorted([*ENGINES, *apis.API_ENGINES]), default=None,
                        help="commons/openverse: licensed photos over an API; bing/google: "
                             "image search in Chromium (default: bing)")
    parser.add_argument("--api-url", default=None,
                        help="API endpoint of commons/openverse (default: the public one); its "
                             "own query parameters override scrape.py's")
    parser.add_argument("--licence", default=apis.FREE_LICENCES,
                        help="licences kept by commons/openverse, comma-separated codes (cc0, "
                             "pdm, by, by-sa, by-nc, ...); non-free files are never kept")
    parser.add_argument("--contact", default=download.NO_CONTACT,
                        help="your e-mail or URL, sent in the User-Agent as Wikimedia asks")
    parser.add_argument("--headful", action="store_true",
                        help="show the browser window (run under Xvfb): headless Chromium is "
                             "blocked more often")
    parser.add_argument("--search-url", default=None,
                        help="results page URL with {query}: alone, read any page's linked "
                             "images; with --engine/--engine-file, replaces that engine's URL")
    parser.add_argument("--engine-file", default=None,
                        help="JSON engine definition (the fields of scrape.Engine)")
    parser.add_argument("--browser", default=None, help="Chromium binary (default: from PATH)")
    parser.add_argument("--driver", default=None, help="chromedriver binary (default: from PATH)")
    parser.add_argument("--browser-arg", action="append", default=[], metavar="FLAG",
                        help="extra Chromium command-line flag; repeat for several (e.g. "
                             "--browser-arg=--proxy-server=host:port)")
    parser.add_argument("--min-size", type=int, default=128,
                        help="drop photos whose shorter side is below this many pixels")
    parser.add_argument("--near-dup-threshold", type=int, default=6,
                        help="dHash Hamming distance (of 64 bits) at or below which two photos "
                             "count as the same; -1 turns near-duplicate detection off")
    parser.add_argument("--workers", type=int, default=8, help="concurrent downloads")
    parser.add_argument("--timeout", type=float, default=20.0,
                        help="seconds allowed for one download (connect + whole body)")
    parser.add_argument("--max-bytes", type=int, default=30 << 20, help="largest file accepted")
    parser.add_argument("--max-pixels", type=int, default=60_000_000,
                        help="largest image accepted, in pixels (decompression bombs)")
    parser.add_argument("--max-redirects", type=int, default=5, help="redirects followed per URL")
    parser.add_argument("--retries", type=int, default=3, help="retries on HTTP 429 and 5xx")
    parser.add_argument("--backoff", type=float, default=1.0,
                        help="first retry delay in seconds, doubled on each retry")
    parser.add_argument("--host-delay", type=float, default=0.5,
                        help="seconds between two requests to the same host")
    parser.add_argument("--scroll-pause", type=float, default=BrowserOptions.scroll_pause,
                        help="seconds to wait for new results after a scroll")
    parser.add_argument("--patience", type=int, default=BrowserOptions.patience,
                        help="scrolls without new results before a page counts as exhausted")
    parser.add_argument("--preview-timeout", type=float, default=BrowserOptions.preview_timeout,
                        help="seconds to wait for a clicked result's full-size URL")
    parser.add_argument("--oversample", type=float, default=1.5,
                        help="candidates gathered per photo still needed (failures are common)")
    args = parser.parse_args(argv)
    if args.engine in apis.API_ENGINES and (args.search_url or args.engine_file):
        parser.error(f"--engine {args.engine} reads an API: give --api-url, not --search-url "
                     "or --engine-file")
    if args.api_url and args.engine not in apis.API_ENGINES:
        api_engines = " or ".join(sorted(apis.API_ENGINES))
        parser.error(f"--api-url is the endpoint of --engine {api_engines}; the browser engines "
                     "read a results page (--search-url), not an API")
    args.licences = {code.strip().lower() for code in args.licence.split(",") if code.strip()}
    if args.api_url and urllib.parse.urlsplit(args.api_url).scheme not in ("http", "https"):
        parser.error(f"--api-url must be an http:// or https:// URL, not {args.api_url!r}")
    if args.search_url and urllib.parse.urlsplit(args.search_url).scheme not in ("http", "https"):
        parser.error(f"--search-url must be an http:// or https:// URL, not {args.search_url!r}")
    for name in ("max_images", "workers", "max_bytes", "max_pixels"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("min_size", "retries", "max_redirects", "backoff", "host_delay",
                 "scroll_pause", "patience", "preview_timeout"):
        if getattr(args, name) < 0:
            parser.error(f"--{name.replace('_', '-')} must be 0 or more")
    if args.near_dup_threshold < -1:
        parser.error("--near-dup-threshold must be -1 (off) or 0 or more")
    cli.check_output_folders(parser,
                             ("--out", args.out, "a folder for photos and manifest.jsonl"))
    if args.search_url and "{query}" not in args.search_url:
        parser.error("--search-url must contain {query}")
    if args.timeout <= 0 or args.oversample < 1:
        parser.error("--timeout must be positive and --oversample at least 1")
    return args


def explain_no_results(engine, query):
    return (f"No results for '{query}' on {engine.search_url.replace('{query}', query)} with the "
            f"tile selectors {[engine.tile, *engine.tile_fallbacks]}. The page layout may have "
            f"changed: fix the '{engine.name}' entry of ENGINES in scrape.py, or describe the "
            f"page in a JSON file for --engine-file.")


@dataclasses.dataclass(frozen=True)
class BrowserOptions:
    """How Chromium is started and a results page read (main() fills it from the command line)."""
    browser: str = None          # Chromium binary; None: the first on PATH
    driver: str = None           # chromedriver binary; None: the one on PATH
    extra_flags: tuple = ()      # more Chromium command-line flags
    headful: bool = False
    scroll_pause: float = 2.0    # seconds to wait for new results after a scroll
    patience: int = 3            # scrolls without new results before a page is exhausted
    preview_timeout: float = 4.0  # seconds to wait for a clicked result's full-size URL


class BrowserSearch:
    """Candidates from a results page in Chromium, started on the first query that needs it."""

    def __init__(self, engine, options, profile):
        self.engine, self.options, self.profile, self.driver = engine, options, profile, None
        self.name = engine.name
        self.browser = find_executable(options.browser, ("chromium", "chromium-browser",
                                                         "google-chrome"), "Chromium")
        self.driver_path = find_executable(options.driver, ("chromedriver",), "chromedriver")

    def candidates(self, query, wanted, collection):
        from selenium.common.exceptions import WebDriverException

        self.driver = self.driver or open_browser(self.browser, self.driver_path, self.profile,
                                                  self.options.extra_flags, self.options.headful)
        try:
            return collect_candidates(self.driver, self.engine, query, wanted, self.options,
                                      collection.done, len(collection.keys_for(query)))
        except WebDriverException as error:
            raise SearchBlocked(f"'{query}': the browser failed: {error.msg or error}")

    def explain_no_results(self, query):
        return explain_no_results(self.engine, query)

    def close(self):
        if self.driver is not None:
            self.driver.quit()


def main(argv=None):
    args = parse_args(argv)
    settings = download.FetchSettings(args.timeout, args.max_bytes, args.max_redirects,
                                      args.retries, args.backoff, args.contact)
    options = download.DownloadOptions(settings, args.host_delay, args.workers, args.max_pixels,
                                       args.min_size)
    with tempfile.TemporaryDirectory(prefix="scrape-profile-") as profile:
        if args.engine in apis.API_ENGINES:
            search = apis.ApiSearch(args.engine, args.licences, args.min_size, settings,
                                    args.host_delay, args.api_url)
        else:
            engine = choose_engine(args.engine, args.search_url, args.engine_file)
            search = BrowserSearch(engine, BrowserOptions(
                args.browser, args.driver, tuple(args.browser_arg), args.headful,
                args.scroll_pause, args.patience, args.preview_timeout), profile)
        collection = download.Collection(args.out, args.near_dup_threshold, args.min_size)
        goal = math.ceil(args.max_images / len(args.query))
        before, problems = len(collection.records), []
        try:
            for query in args.query:
                needed = goal - collection.kept_for(query)
                if needed <= 0:
                    print(f"'{query}': {goal} photos already collected")
                    continue
                try:
                    candidates = search.candidates(query, math.ceil(needed * args.oversample),
                                                   collection)
                except (SearchBlocked, apis.ApiFailed) as blocked:
                    problems.append(str(blocked))
                    continue
                if not candidates and not collection.keys_for(query):
                    problems.append(search.explain_no_results(query))
                download.download_all(collection, query, search.name, candidates, needed,
                                      options)
        finally:
            search.close()
            collection.close()
    credits = download.write_attribution_file(args.out)
    print(download.format_summary(download.summarize(collection.records),
                                  len(collection.records) - before))
    if credits:
        print(f"authors and licences of the photos: {credits}")
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
