"""scrape.py against a fixture image search engine: real headless Chromium, real HTTP on 127.0.0.1.

The fixture (tests/search_fixture) appends results as the page scrolls, hides later ones behind a
"show more results" button, inlines thumbnails as data: URIs and reveals full-size URLs only in a
preview panel after a click; behind the results sit good photos and every kind of bad target.
"""
import collections
import contextlib
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import apis
import dataset
import download
import scrape
from api_fixture import server as api_fixture
from api_fixture.server import ApiServer
from search_fixture.server import ENGINE_FILE, FixtureServer

ROOT = Path(__file__).resolve().parents[1]
QUERY = "alpine lakes"
# Chromium resolves a few Google hosts on its own (sign-in, extension updates); in the tests it may
# resolve nothing but the fixture's address.
OFFLINE = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"


def scrape_argv(server, out, *extra):
    """The fixture engine with small limits, so every bad target fails fast."""
    return ["--engine-file", str(ENGINE_FILE), "--search-url", server.base + "/search?q={query}",
            "--query", QUERY, "--out", str(out), "--max-images", "100", "--min-size", "48",
            "--timeout", "1", "--max-bytes", "100000", "--max-redirects", "5", "--retries", "2",
            "--backoff", "0.05", "--host-delay", "0.01", "--scroll-pause", "0.6",
            "--patience", "2", "--preview-timeout", "1", "--workers", "4",
            "--browser-arg=" + server.host_rules, "--browser-arg=--ignore-certificate-errors",
            *extra]


def run_scrape(argv):
    """main() in this process, returning its exit code and what it printed."""
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = scrape.main(argv)
    return code, printed.getvalue()


def manifest(out):
    return [json.loads(line) for line in (Path(out) / download.MANIFEST).read_text().splitlines()]


def kept_files(out):
    """sha256 of every photo file in the folder, checked against its name."""
    digests = set()
    for path in Path(out).iterdir():
        if path.name in (download.MANIFEST, download.ATTRIBUTION):
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        assert path.stem == digest, f"{path.name} is not named by its content"
        digests.add(digest)
    return digests


def expected_kept(server):
    return server.expected_sha256("ok") | server.expected_sha256("ok_thumbnail")


def record_for(records, result_id):
    return next(r for r in records if r["page_url"].endswith("/visit/" + result_id))


@pytest.fixture(scope="module")
def server():
    fixture = FixtureServer(slow_seconds=3.0).start()
    yield fixture
    fixture.stop()


@pytest.fixture(scope="module")
def scraped(server, tmp_path_factory):
    """One full scrape of the fixture engine, shared by the tests that inspect its outcome."""
    out = tmp_path_factory.mktemp("raw")
    code, printed = run_scrape(scrape_argv(server, out))
    assert code == 0
    return out, manifest(out), printed


def test_missing_browser_exits_with_install_command(tmp_path):
    with pytest.raises(SystemExit) as stop:
        scrape.main(["--query", "x", "--out", str(tmp_path), "--browser", str(tmp_path / "none")])
    assert scrape.INSTALL_HINT in str(stop.value)


def test_missing_driver_exits_with_install_command(tmp_path):
    with pytest.raises(SystemExit) as stop:
        scrape.main(["--query", "x", "--out", str(tmp_path), "--driver", str(tmp_path / "none")])
    assert "sudo apt-get install chromium chromium-driver" in str(stop.value)


def test_browser_starts_without_selenium_manager(server, tmp_path, monkeypatch):
    from selenium.webdriver.common.selenium_manager import SeleniumManager

    def refuse(*args, **kwargs):
        raise AssertionError("Selenium Manager was asked for a driver")

    monkeypatch.setattr(SeleniumManager, "binary_paths", refuse)
    driver = scrape.open_browser(scrape.find_executable(None, ("chromium",), "Chromium"),
                                 scrape.find_executable(None, ("chromedriver",), "chromedriver"),
                                 tmp_path, [OFFLINE])
    try:
        driver.get(server.base + "/search?q=peaks")
        assert driver.title == "Fixture image search"
    finally:
        driver.quit()


def test_collects_exactly_the_expected_photos(server, scraped):
    out, _, _ = scraped
    assert kept_files(out) == expected_kept(server)


def test_failures_are_counted_by_reason(server, scraped):
    _, records, _ = scraped
    assert download.summarize(records)["failures"] == dict(server.expected_failures())


def test_duplicates_and_small_photos_are_recorded_not_kept(scraped):
    _, records, _ = scraped
    assert record_for(records, "a-copy")["status"] == "duplicate"
    assert record_for(records, "b-resized")["status"] == "near_duplicate"
    assert record_for(records, "tiny")["status"] == "too_small"
    assert all(record_for(records, name)["file"] is None
               for name in ("a-copy", "b-resized", "tiny"))


def test_every_result_gets_one_manifest_line_with_all_fields(server, scraped):
    _, records, _ = scraped
    assert len(records) == len(server.results)
    assert all(set(download.MANIFEST_FIELDS) <= set(record) for record in records)
    assert sorted(r["page_url"].rsplit("/", 1)[1] for r in records) == \
        sorted(result.id for result in server.results)


def test_thumbnail_host_is_never_kept_as_an_original(server, scraped):
    _, records, _ = scraped
    assert server.requests[("/images", True)] >= len(server.results) - 2  # the trap was shown
    assert not any(scrape.is_thumbnail_host(r["url"]) for r in records if r["url"])
    assert server.downloads()["/images"] == 0


def test_embedded_original_is_used_when_the_preview_shows_only_thumbnails(server, scraped):
    _, records, _ = scraped
    record = record_for(records, "k")
    assert (record["status"], record["url"]) == ("ok", server.base + "/img/k.jpg")


@pytest.mark.parametrize("path, name, url", [
    ("/captcha", "Google's CAPTCHA page", "/sorry/index?continue="),
    ("/consent-wall", "Google's consent page", "https://consent.google.com/ml?continue=")])
def test_block_pages_are_reported_by_name(server, tmp_path, capsys, path, name, url):
    argv = scrape_argv(server, tmp_path / "raw", "--search-url", server.base + path + "?q={query}")
    assert scrape.main(argv) == 1
    err = capsys.readouterr().err
    assert name in err and url in err
    assert "layout may have changed" not in err


def test_result_without_full_url_falls_back_to_its_thumbnail(server, scraped):
    out, records, _ = scraped
    record = record_for(records, "g")
    assert (record["status"], record["from_thumbnail"], record["url"]) == ("ok", True, None)
    assert {record["sha256"]} == server.expected_sha256("ok_thumbnail")
    assert (out / record["file"]).exists()


def test_redirect_chain_within_limit_is_followed(server, scraped):
    _, records, _ = scraped
    record = record_for(records, "d")
    assert record["url"] == server.base + "/hop/3/d.jpg"
    assert record["status"] == "ok"
    assert record_for(records, "loop")["error"] == "too_many_redirects"


def test_429_and_503_are_retried_and_500_given_up(server, scraped):
    downloads = server.downloads()
    assert (downloads["/flaky/f.jpg"], downloads["/busy/h.jpg"]) == (2, 2)
    assert downloads["/broken/j.jpg"] == 1 + 2  # --retries 2


def test_summary_counts_the_folder(server, scraped):
    _, _, printed = scraped
    kept = len(expected_kept(server))
    assert f"candidates {len(server.results)}, downloaded {kept} (1 from thumbnails)" in printed
    assert f"failed {sum(server.expected_failures().values())}: " in printed


def test_rerun_downloads_nothing_new(server, scraped):
    out, records, _ = scraped
    before = server.downloads()
    code, printed = run_scrape(scrape_argv(server, out))
    assert code == 0
    assert server.downloads() == before
    assert manifest(out) == records
    assert "this run: 0 new candidates" in printed


def test_query_with_enough_photos_is_not_searched_again(server, scraped):
    out, records, _ = scraped
    kept = sum(r["status"] == "ok" for r in records)
    before = server.requests.copy()
    code, printed = run_scrape(scrape_argv(server, out, "--max-images", str(kept)))
    assert code == 0
    assert f"'{QUERY}': {kept} photos already collected" in printed
    assert server.requests == before  # neither the browser nor the downloader asked for anything


def test_killed_run_resumes_to_the_same_photos(tmp_path):
    server = FixtureServer(slow_seconds=3.0, image_delay=0.15).start()
    try:
        out = tmp_path / "raw"
        argv = scrape_argv(server, out, "--workers", "1")
        # Its own process group, so the kill takes chromedriver and Chromium with it, as a
        # killed terminal would; killing the scraper alone leaves an orphaned browser behind.
        process = subprocess.Popen([sys.executable, str(ROOT / "scrape.py"), *argv], cwd=ROOT,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                   start_new_session=True)
        path = out / download.MANIFEST
        deadline = time.monotonic() + 90
        while not (path.exists() and path.read_text().count("\n") >= 4):
            assert process.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
        finished = [json.loads(line)["url"] for line in path.read_text().splitlines()]
        assert len(finished) < len(server.results)
        at_kill = server.downloads()

        code, _ = run_scrape(argv)
        assert code == 0
        records = manifest(out)
        assert kept_files(out) == expected_kept(server)
        assert collections.Counter(r["key"] for r in records).most_common(1)[0][1] == 1
        paths = [url.replace(server.base, "") for url in finished if url]
        assert all(server.downloads()[p] == at_kill[p] for p in paths)
    finally:
        server.stop()


def test_generic_search_url_reads_linked_images(server, tmp_path):
    out = tmp_path / "raw"
    code, _ = run_scrape(["--search-url", server.base + "/gallery?q={query}", "--query", "peaks",
                          "--out", str(out), "--min-size", "48", "--timeout", "1",
                          "--host-delay", "0.01", "--scroll-pause", "0.3", "--patience", "1",
                          "--browser-arg=" + OFFLINE])
    assert code == 0
    assert kept_files(out) == server.gallery_expected_sha256()
    # The gallery names no hosting pages; its own address is nobody's photo page.
    assert [record["page_url"] for record in manifest(out)] == [None] * len(manifest(out))


def test_browser_search_runs_on_plain_options_without_a_command_line(server, tmp_path):
    engine = scrape.choose_engine(search_url=server.base + "/gallery?q={query}")
    assert engine.name == "generic"
    options = scrape.BrowserOptions(extra_flags=(OFFLINE,), scroll_pause=0.3, patience=1)
    search = scrape.BrowserSearch(engine, options, tmp_path / "profile")
    collection = download.Collection(tmp_path / "raw", near_dup_threshold=6, min_size=48)
    try:
        candidates = search.candidates("peaks", 10, collection)
    finally:
        search.close()
        collection.close()
    keys = sorted(download.candidate_key(c).replace(server.base, "") for c in candidates)
    assert keys == ["/img/c.jpg", "/img/d.jpg", "/img/h.jpg", "/visit/g"]


def test_page_without_results_names_the_selector_to_fix(server, tmp_path, capsys):
    code = scrape.main(["--search-url", server.base + "/visit/{query}", "--query", "peaks",
                        "--out", str(tmp_path), "--scroll-pause", "0.3", "--patience", "1",
                        "--browser-arg=" + OFFLINE])
    assert code == 1
    assert "--engine-file" in capsys.readouterr().err


def test_scraped_folder_builds_a_dataset(server, scraped, tmp_path):
    out, records, _ = scraped
    assert dataset.main(["--images", str(out), "--out", str(tmp_path / "ds"), "--size", "32",
                         "--workers", "1"]) == 0
    meta = dataset.read_meta(tmp_path / "ds")
    assert sum(meta["counts"].values()) == sum(r["status"] == "ok" for r in records)


# --------------------------------------------------------------------------------------------
# The licensed engines, against tests/api_fixture (MediaWiki and Openverse JSON on 127.0.0.1).
# --------------------------------------------------------------------------------------------

CONTACT = "tests@example.org"


@pytest.fixture(scope="module")
def api():
    fixture = ApiServer().start()
    yield fixture
    fixture.stop()


def api_argv(engine, api_url, out, *extra):
    return ["--engine", engine, "--api-url", api_url, "--query", "alps", "--out", str(out),
            "--max-images", "100", "--min-size", "48", "--timeout", "2", "--retries", "2",
            "--backoff", "0.05", "--host-delay", "0", "--contact", CONTACT, *extra]


def commons_url(api, version):
    return f"{api.base}/w/api.php?formatversion={version}"


@pytest.mark.parametrize("version", ["1", "2"])
def test_commons_keeps_exactly_the_free_photos(api, tmp_path, version):
    out = tmp_path / "raw"
    code, printed = run_scrape(api_argv("commons", commons_url(api, version), out))
    assert code == 0
    assert kept_files(out) == api.expected_sha256(api_fixture.COMMONS)
    records = manifest(out)
    assert {r["url"].rsplit("/", 1)[1]: r["status"] for r in records} == \
        {"a.jpg": "ok", "b.png": "ok", "c.webp": "ok", "a-copy.jpg": "duplicate", "d.jpg": "ok"}
    assert "skipped: licence 1, missing 1, non_free 1, not_a_photo 1, too_small 1" in printed
    assert api.requests["/files/peak.svg"] + api.requests["/files/nonfree.jpg"] + \
        api.requests["/files/tiny.jpg"] + api.requests["/files/nc.jpg"] == 0
    assert any(f"contact: {CONTACT}" in agent for agent in api.user_agents)


def test_commons_records_licence_author_and_page(api, tmp_path):
    out = tmp_path / "raw"
    assert run_scrape(api_argv("commons", commons_url(api, "2"), out))[0] == 0
    by_file = {r["url"].rsplit("/", 1)[1]: r for r in manifest(out)}
    first = by_file["a.jpg"]
    assert (first["licence"], first["licence_url"], first["author"]) == \
        ("by-sa", api_fixture.BY_SA, "Ann & Bo")
    assert first["page_url"] == "https://commons.wikimedia.org/wiki/File:Alps_a.jpg"
    assert (by_file["b.png"]["licence"], by_file["c.webp"]["licence"]) == ("cc0", "pdm")
    credits = (out / download.ATTRIBUTION).read_text()
    assert all(by_file[name]["file"] in credits for name in ("a.jpg", "b.png", "c.webp"))
    assert "Ann & Bo" in credits and "[by-sa](" + api_fixture.BY_SA + ")" in credits


def test_commons_rerun_downloads_nothing_new(api, tmp_path):
    out = tmp_path / "raw"
    argv = api_argv("commons", commons_url(api, "1"), out)
    assert run_scrape(argv)[0] == 0
    records, before = manifest(out), api.file_requests()
    code, printed = run_scrape(argv)
    assert code == 0
    assert api.file_requests() == before
    assert manifest(out) == records
    assert "this run: 0 new candidates" in printed


def test_commons_second_page_429_is_retried(tmp_path):
    """Its own server: the 429 answers only the first request for the second page, ever."""
    fixture = ApiServer().start()
    try:
        out = tmp_path / "raw"
        code, _ = run_scrape(api_argv("commons", commons_url(fixture, "2"), out))
        assert code == 0
        offset = f"gsroffset={api_fixture.COMMONS_PAGE}&"
        second_page = [n for key, n in fixture.requests.items()
                       if key.startswith("/w/api.php?") and offset in key + "&"]
        assert second_page == [2], "the 429 on the second page was not retried once"
        # the pages after the refused one were read too: their photos are kept
        kept = {r["url"].rsplit("/", 1)[1] for r in manifest(out) if r["status"] == "ok"}
        assert {"c.webp", "d.jpg"} <= kept
        assert kept_files(out) == fixture.expected_sha256(api_fixture.COMMONS)
    finally:
        fixture.stop()


def test_licence_option_narrows_what_is_kept(api, tmp_path):
    out = tmp_path / "raw"
    assert run_scrape(api_argv("commons", commons_url(api, "2"), out, "--licence", "cc0"))[0] == 0
    assert {r["licence"] for r in manifest(out)} == {"cc0"}
    assert kept_files(out) == {hashlib.sha256(api.files["/files/b.png"][0]).hexdigest()}


def test_openverse_keeps_exactly_the_free_photos(api, tmp_path):
    out = tmp_path / "raw"
    code, printed = run_scrape(api_argv("openverse", api.base + "/v1/images/", out))
    assert code == 0
    assert kept_files(out) == api.expected_sha256(api_fixture.OPENVERSE)
    records = manifest(out)
    assert download.summarize(records)["failures"] == {"http_404": 1}
    assert {r["url"].rsplit("/", 1)[1]: r["status"] for r in records} == \
        {"a.jpg": "ok", "dead.jpg": "failed", "a-copy.jpg": "duplicate", "b.png": "ok",
         "c.webp": "ok"}
    by_file = {r["url"].rsplit("/", 1)[1]: r for r in records}
    assert (by_file["c.webp"]["licence"], by_file["c.webp"]["author"]) == ("pdm", "Eve E.")
    assert by_file["a.jpg"]["page_url"] == "https://www.flickr.com/photos/x/a"
    assert "skipped: licence 1, missing 1, not_a_photo 1, too_small 1" in printed
    before = api.file_requests()
    assert run_scrape(api_argv("openverse", api.base + "/v1/images/", out))[0] == 0
    assert api.file_requests() == before


@pytest.mark.parametrize("option", ["--search-url", "--api-url"])
def test_file_urls_are_refused(tmp_path, capsys, option):
    engine = ["--engine", "commons"] if option == "--api-url" else []
    with pytest.raises(SystemExit):
        scrape.main([*engine, option, "file:///etc/passwd?q={query}", "--query", "x",
                     "--out", str(tmp_path)])
    assert "must be an http:// or https:// URL" in capsys.readouterr().err
    assert not (tmp_path / download.MANIFEST).exists()


@pytest.mark.parametrize("engine, option, refused", [
    (["--engine", "bing"], ["--api-url", "http://127.0.0.1:9/api"], "--api-url is the endpoint"),
    ([], ["--api-url", "http://127.0.0.1:9/api"], "--api-url is the endpoint"),
    (["--engine", "openverse"], ["--search-url", "http://127.0.0.1:9/?q={query}"],
     "give --api-url, not --search-url")])
def test_options_of_the_other_kind_of_engine_are_refused(tmp_path, capsys, engine, option,
                                                          refused):
    with pytest.raises(SystemExit):
        scrape.main([*engine, *option, "--query", "x", "--out", str(tmp_path / "raw")])
    assert refused in capsys.readouterr().err
    assert not (tmp_path / "raw").exists()


@pytest.mark.parametrize("option, value, refused", [
    ("--retries", "-1", "--retries must be 0 or more"),
    ("--min-size", "-1", "--min-size must be 0 or more"),
    ("--max-redirects", "-1", "--max-redirects must be 0 or more"),
    ("--backoff", "-0.5", "--backoff must be 0 or more"),
    ("--host-delay", "-0.5", "--host-delay must be 0 or more"),
    ("--scroll-pause", "-1", "--scroll-pause must be 0 or more"),
    ("--patience", "-1", "--patience must be 0 or more"),
    ("--preview-timeout", "-1", "--preview-timeout must be 0 or more"),
    ("--near-dup-threshold", "-2", "--near-dup-threshold must be -1 (off) or 0 or more")])
def test_negative_counts_sizes_and_delays_are_usage_errors(capsys, option, value, refused):
    with pytest.raises(SystemExit) as stop:
        scrape.parse_args(["--query", "x", option, value])
    assert stop.value.code == 2 and refused in capsys.readouterr().err


def test_zero_counts_and_delays_and_near_dup_detection_off_are_accepted():
    args = scrape.parse_args(["--query", "x", "--retries", "0", "--min-size", "0",
                              "--max-redirects", "0", "--backoff", "0", "--host-delay", "0",
                              "--near-dup-threshold", "-1"])
    assert (args.retries, args.max_redirects, args.near_dup_threshold) == (0, 0, -1)


@pytest.mark.parametrize("inside", ["", "photos"])
def test_an_out_that_is_or_is_inside_a_file_is_refused_before_any_search(tmp_path, capsys, inside):
    out = tmp_path / "notes.txt"
    out.write_text("mine")
    with pytest.raises(SystemExit) as stop:
        scrape.main(["--engine", "commons", "--api-url", "http://127.0.0.1:9/api",
                     "--query", "x", "--out", str(out / inside)])
    error = capsys.readouterr().err
    assert stop.value.code == 2 and f"--out {out / inside} " in error
    assert f"{out} is a file" in error
    assert out.read_text() == "mine"


def test_engine_file_with_file_url_is_refused(tmp_path):
    engine = tmp_path / "engine.json"
    engine.write_text(json.dumps({"name": "x", "search_url": "file:///tmp/{query}", "tile": "a"}))
    with pytest.raises(SystemExit) as stop:
        scrape.main(["--engine-file", str(engine), "--query", "x", "--out", str(tmp_path)])
    assert "http:// or https://" in str(stop.value)


def test_headful_drops_only_the_headless_flag():
    assert "--headless=new" in scrape.chromium_flags()
    assert scrape.chromium_flags(headful=True) == \
        [flag for flag in scrape.CHROMIUM_FLAGS if flag != "--headless=new"]


@pytest.mark.parametrize("name, url, code", [
    ("CC BY-SA 4.0", None, "by-sa"), ("CC BY 2.0", None, "by"), ("CC0", None, "cc0"),
    ("Public domain", None, "pdm"), ("CC BY-NC-SA 3.0", None, "by-nc-sa"), ("GFDL", None, "gfdl"),
    ("whatever", "https://creativecommons.org/publicdomain/zero/1.0/", "cc0"),
    ("", "http://creativecommons.org/licenses/by-sa/3.0/de/deed.en", "by-sa")])
def test_licence_codes(name, url, code):
    assert apis.licence_code(name, url) == code


def test_commons_folder_builds_a_dataset(api, tmp_path):
    out = tmp_path / "raw"
    assert run_scrape(api_argv("commons", commons_url(api, "2"), out))[0] == 0
    assert dataset.main(["--images", str(out), "--out", str(tmp_path / "ds"), "--size", "32",
                         "--workers", "1"]) == 0
    meta = dataset.read_meta(tmp_path / "ds")
    assert sum(meta["counts"].values()) == len(api.expected_sha256(api_fixture.COMMONS))
    members = {m["id"] for split in dataset.SPLITS for m in meta["members"][split]}
    assert set(meta["attributions"]) == members
    assert all(entry["licence"] in ("cc0", "pdm", "by", "by-sa") and entry["page_url"]
               for entry in meta["attributions"].values())
