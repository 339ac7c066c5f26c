"""download.py on its own: the manifest, the fetch checks and the duplicate rules."""
import json

import pytest

import download
from search_fixture.server import FixtureServer

QUERY = "alpine lakes"


@pytest.fixture(scope="module")
def server():
    fixture = FixtureServer().start()
    yield fixture
    fixture.stop()


def test_torn_manifest_line_is_dropped_and_only_the_collector_cuts_it_off(tmp_path):
    path = tmp_path / download.MANIFEST
    line = json.dumps({"key": "a", "status": "failed", "query": QUERY})
    torn = line + "\n" + '{"key": "b", "sta'
    path.write_text(torn)
    assert [r["key"] for r in download.read_manifest(path)] == ["a"]
    assert download.read_attributions(tmp_path) == {}
    assert path.read_text() == torn  # a reader leaves a running scrape's next line alone
    collection = download.Collection(tmp_path, near_dup_threshold=6, min_size=48)
    collection.close()
    assert [r["key"] for r in collection.records] == ["a"]
    assert path.read_text() == line + "\n"


def test_download_refuses_non_http_schemes():
    with pytest.raises(download.FetchError) as failure:
        download.fetch("file:///etc/passwd", download.FetchSettings(), download.HostPacer(0))
    assert failure.value.reason == "bad_scheme"


def test_near_duplicate_detection_can_be_turned_off(server, tmp_path):
    collection = download.Collection(tmp_path, near_dup_threshold=-1, min_size=48)
    statuses = []
    for path in ("/img/b.png", "/img/b-resized.jpg"):
        body, kind = server.files[path]
        extension, image = download.check_image(body, kind, max_pixels=10 ** 6)
        candidate = {"url": server.base + path, "thumbnail": None, "page_url": None}
        result = {"body": body, "extension": extension, "image": image,
                  "from_thumbnail": False, "error": None}
        statuses.append(collection.add(QUERY, "fixture", candidate, result)["status"])
    collection.close()
    assert statuses == ["ok", "ok"]


def test_kept_photo_is_world_readable_and_dead_runs_leftovers_go(server, tmp_path):
    leftover = tmp_path / ".abc.jpg.tmp-999999999"  # no such pid: a killed run's half photo
    leftover.write_bytes(b"half")
    collection = download.Collection(tmp_path, near_dup_threshold=6, min_size=48)
    body, kind = server.files["/img/a.jpg"]
    extension, image = download.check_image(body, kind, max_pixels=10 ** 6)
    result = {"body": body, "extension": extension, "image": image,
              "from_thumbnail": False, "error": None}
    candidate = {"url": server.base + "/img/a.jpg", "thumbnail": None, "page_url": None}
    record = collection.add(QUERY, "fixture", candidate, result)
    collection.close()
    assert not leftover.exists()
    assert (tmp_path / record["file"]).stat().st_mode & 0o777 == 0o644
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([record["file"],
                                                                 download.MANIFEST])


def test_read_attributions_lists_only_kept_photos(tmp_path):
    records = [{"query": "q", "key": "u1", "status": "ok", "file": "aa.jpg", "url": "http://x/1",
                "licence": "by", "licence_url": "https://l", "author": "Ann",
                "page_url": "http://p/1"},
               {"query": "q", "key": "u2", "status": "duplicate", "file": None, "url": "u2"},
               {"query": "q", "key": "u3", "status": "ok", "file": "bb.png", "url": None,
                "thumbnail": "data:image/jpeg;sha256=ff", "page_url": "http://p/3"}]
    (tmp_path / download.MANIFEST).write_text("".join(json.dumps(r) + "\n" for r in records))
    assert download.read_attributions(tmp_path) == {
        "aa.jpg": {"licence": "by", "licence_url": "https://l", "author": "Ann",
                   "page_url": "http://p/1", "source": "http://x/1"},
        "bb.png": {"licence": None, "licence_url": None, "author": None,
                   "page_url": "http://p/3", "source": "data:image/jpeg;sha256=ff"}}
    assert download.read_attributions(tmp_path / "nowhere") == {}
    assert download.write_attribution_file(tmp_path).read_text().count("| aa.jpg | Ann |") == 1


def test_read_attributions_credits_photos_in_subfolders_and_thumbnails_as_sources(tmp_path):
    top = {"query": "q", "key": "u1", "status": "ok", "file": "aa.jpg", "url": "http://x/1",
           "from_thumbnail": False, "author": "Ann"}
    nested = {"query": "q", "key": "u2", "status": "ok", "file": "67cb.png",
              "url": "http://x/2-original", "thumbnail": "http://x/2-thumb",
              "from_thumbnail": True, "author": "Bob", "licence": "cc-by-sa-4.0",
              "page_url": "http://p/2"}
    (tmp_path / download.MANIFEST).write_text(json.dumps(top) + "\n")
    (tmp_path / "commons").mkdir()
    (tmp_path / "commons" / download.MANIFEST).write_text(json.dumps(nested) + "\n")
    attributions = download.read_attributions(tmp_path)
    assert sorted(attributions) == ["aa.jpg", "commons/67cb.png"]
    assert attributions["aa.jpg"]["source"] == "http://x/1"
    assert attributions["commons/67cb.png"] == {
        "licence": "cc-by-sa-4.0", "licence_url": None, "author": "Bob",
        "page_url": "http://p/2", "source": "http://x/2-thumb"}
    assert download.read_attributions(tmp_path / "commons") == {
        "67cb.png": attributions["commons/67cb.png"]}


def test_a_photo_kept_from_its_thumbnail_is_credited_to_the_thumbnail(tmp_path):
    record = {"query": "q", "key": "u", "status": "ok", "file": "cc.jpg",
              "url": "http://x/original-that-failed", "thumbnail": "http://x/thumb",
              "from_thumbnail": True, "error": "http_404"}
    (tmp_path / download.MANIFEST).write_text(json.dumps(record) + "\n")
    assert download.read_attributions(tmp_path)["cc.jpg"]["source"] == "http://x/thumb"
