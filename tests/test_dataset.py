"""dataset.py on real files: photo folders, bad input, splits, atomic writes, the loader."""

import hashlib
import io
import json
import os
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import dataset
import download
import files
import lab
import mountains
import photos

REPO = Path(__file__).resolve().parent.parent
SIZE = 32


# --------------------------------------------------------------------------- helpers


def colourful(seed, width=48, height=40):
    """A photo-like colourful image: two random colours blended by a gradient, plus noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    t = ((x / width + y / height) / 2)[..., None]
    a, b = rng.uniform(20, 235, (2, 3))
    image = a * (1 - t) + b * t + rng.normal(0, 6, (height, width, 3))
    image[..., rng.integers(3)] = rng.uniform(0, 60)  # one channel low: clearly coloured
    return np.clip(image, 0, 255).astype(np.uint8)


def flat(rgb, width=48, height=40):
    return np.broadcast_to(np.array(rgb, np.uint8), (height, width, 3)).copy()


def save(path, array, **options):
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(array).save(path, **options)
    return path


def good_photos(folder, count=3, start=0, suffix=".png"):
    return [save(folder / f"good{start + i:03d}{suffix}", colourful(start + i))
            for i in range(count)]


def build(src, out, *extra):
    code = dataset.main(["--images", str(src), "--size", str(SIZE), "--out", str(out),
                         "--workers", "2", *extra])
    assert code == 0
    return dataset.read_meta(out)


def images_by_id(out):
    """{id: Lab (SIZE, SIZE, 3)} over all splits of a dataset folder."""
    meta = dataset.read_meta(out)
    found = {}
    for split in dataset.SPLITS:
        lightness, ab = dataset.load_split(out, split)
        for i, member in enumerate(meta["members"][split]):
            found[member["id"]] = lab.join_lab(lightness[i], ab[i])
    return found


def split_by_id(meta):
    return {m["id"]: split for split in dataset.SPLITS for m in meta["members"][split]}


def skipped_by_id(meta):
    return {entry["id"]: entry for entry in meta["skipped"]}


def array_bytes(out):
    return {p.name: p.read_bytes() for p in sorted(Path(out).glob("*.npy"))}


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def png_with_declared_size(width, height):
    """A tiny valid PNG whose header claims width x height (what a decompression bomb does)."""
    buffer = io.BytesIO()
    Image.fromarray(colourful(0, 8, 8)).save(buffer, "PNG")
    data = bytearray(buffer.getvalue())
    data[16:24] = struct.pack(">II", width, height)  # IHDR width, height
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(data[12:29])))  # IHDR crc
    return bytes(data)


# --------------------------------------------------------------------------- bad input


def make_truncated_jpeg(folder):
    buffer = io.BytesIO()
    Image.fromarray(colourful(7, 64, 48)).save(buffer, "JPEG")
    (folder / "truncated.jpg").write_bytes(buffer.getvalue()[: len(buffer.getvalue()) // 2])
    return "truncated.jpg"


def make_corrupt_png(folder):
    data = bytearray(save(folder / "corrupt.png", colourful(8, 64, 48)).read_bytes())
    data[len(data) // 2: len(data) // 2 + 40] = bytes(40)
    (folder / "corrupt.png").write_bytes(bytes(data))
    return "corrupt.png"


def make_html_named_jpg(folder):
    (folder / "page.jpg").write_text("<!DOCTYPE html><html><body>Access denied</body></html>")
    return "page.jpg"


def make_empty_file(folder):
    (folder / "empty.jpg").write_bytes(b"")
    return "empty.jpg"


def make_bomb(folder):
    (folder / "bomb.png").write_bytes(png_with_declared_size(30000, 30000))  # 900 MP
    return "bomb.png"


def make_bomb_just_over_the_limit(folder):
    (folder / "big.png").write_bytes(png_with_declared_size(12000, 11000))  # 132 MP > 120
    return "big.png"


def make_too_small(folder):
    save(folder / "tiny.png", colourful(9, 30, 20))
    return "tiny.png"


def make_grayscale_saved_as_rgb(folder):
    gray = np.asarray(Image.fromarray(colourful(10)).convert("L").convert("RGB"))
    save(folder / "gray.jpg", gray, quality=90)
    return "gray.jpg"


def make_directory_named_jpg(folder):
    (folder / "folder.jpg").mkdir()
    return "folder.jpg"


def make_broken_symlink(folder):
    (folder / "gone.jpg").symlink_to(folder / "does-not-exist.jpg")
    return "gone.jpg"


BAD_INPUTS = [
    (make_truncated_jpeg, "corrupt or truncated"),
    (make_corrupt_png, "corrupt or truncated"),
    (make_html_named_jpg, "not an image"),
    (make_empty_file, "empty file"),
    (make_bomb, "decompression bomb"),
    (make_bomb_just_over_the_limit, "decompression bomb"),
    (make_too_small, "too small"),
    (make_grayscale_saved_as_rgb, "grayscale"),
    # Tests run as root, where chmod 000 does not stop reading; these two are real
    # os-level read failures (EISDIR, ENOENT) that take the same "unreadable" path.
    (make_directory_named_jpg, "unreadable"),
    (make_broken_symlink, "unreadable"),
]


@pytest.mark.parametrize("make_bad, kind", BAD_INPUTS, ids=[m.__name__[5:] for m, _ in BAD_INPUTS])
def test_bad_input_is_skipped_with_its_reason_and_good_files_arrive(tmp_path, make_bad, kind):
    src = tmp_path / "photos"
    good = good_photos(src, 3)
    bad_id = make_bad(src)
    meta = build(src, tmp_path / "ds")
    skipped = skipped_by_id(meta)
    assert list(skipped) == [bad_id]
    assert skipped[bad_id]["kind"] == kind
    assert skipped[bad_id]["reason"].startswith(kind + ": ")
    assert sorted(split_by_id(meta)) == sorted(p.name for p in good)


def test_html_file_reason_says_it_is_html(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 1)
    make_html_named_jpg(src)
    meta = build(src, tmp_path / "ds")
    assert "HTML" in skipped_by_id(meta)["page.jpg"]["reason"]


def test_skipped_inputs_are_printed_with_their_reason(tmp_path, capsys):
    src = tmp_path / "photos"
    good_photos(src, 2)
    make_too_small(src)
    build(src, tmp_path / "ds")
    printed = capsys.readouterr().out
    assert "skipped 1: 1 too small" in printed
    assert "tiny.png: too small: 30x20" in printed


@pytest.mark.parametrize("mode, suffix", [("L", ".png"), ("1", ".bmp"), ("I;16", ".png"),
                                          ("I", ".tiff"), ("F", ".tiff"), ("LA", ".png")])
def test_gray_modes_are_converted_and_skipped_as_grayscale(tmp_path, mode, suffix):
    src = tmp_path / "photos"
    good_photos(src, 1)
    gray = Image.fromarray(colourful(3)).convert("L")
    image = gray.convert(mode) if mode not in ("I;16", "I") else \
        Image.fromarray(np.asarray(gray).astype(np.uint16) * 257).convert(mode)
    image.save(src / f"gray{suffix}")
    meta = build(src, tmp_path / "ds")
    assert skipped_by_id(meta)[f"gray{suffix}"]["kind"] == "grayscale"


def test_sixteen_bit_gray_keeps_its_brightness(tmp_path):
    """I;16 values span 0..65535; Pillow's plain convert would clip them to white."""
    level = 30000  # about 46% gray
    Image.fromarray(np.full((40, 48), level, np.uint16)).save(tmp_path / "g.png")
    rgb, _, skipped = photos.prepare_photos(tmp_path, SIZE, min_chroma=0, workers=1)
    assert skipped == []
    assert abs(int(rgb[0, 16, 16, 0]) - round(level / 257)) <= 1


@pytest.mark.parametrize("mode, suffix", [("P", ".png"), ("P", ".gif"), ("RGBA", ".png"),
                                          ("RGBA", ".webp"), ("CMYK", ".jpg"),
                                          ("CMYK", ".tiff"), ("RGB", ".bmp"),
                                          ("RGB", ".JPEG"), ("RGB", ".webp")])
def test_colour_modes_and_formats_are_kept(tmp_path, mode, suffix):
    src = tmp_path / "photos"
    Image.fromarray(colourful(4)).convert(mode).save(src.mkdir() or src / f"photo{suffix}")
    meta = build(src, tmp_path / "ds")
    assert meta["skipped"] == []
    assert list(split_by_id(meta)) == [f"photo{suffix}"]


def test_transparent_pixels_become_white(tmp_path):
    rgba = np.zeros((64, 64, 4), np.uint8)
    rgba[..., :3] = colourful(5, 64, 64)
    rgba[:, 32:, 3] = 255  # right half opaque, left half fully transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
    rgb, _, _ = photos.prepare_photos(tmp_path, SIZE, workers=1)
    assert rgb[0, :, :12].min() == 255


def test_exif_orientation_is_honoured(tmp_path):
    stored = np.concatenate([flat((220, 30, 30), 32, 48), flat((30, 30, 220), 32, 48)], axis=1)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 degrees clockwise to display": the left half ends on top
    Image.fromarray(stored).save(tmp_path / "rotated.jpg", exif=exif, quality=95)
    rgb, _, _ = photos.prepare_photos(tmp_path, SIZE, fit="resize", workers=1)
    top, bottom = rgb[0, :8].reshape(-1, 3).mean(0), rgb[0, -8:].reshape(-1, 3).mean(0)
    assert top[0] > 180 and top[2] < 80  # red on top
    assert bottom[2] > 180 and bottom[0] < 80  # blue at the bottom


def test_animated_gif_gives_its_first_frame(tmp_path):
    green, blue = Image.fromarray(flat((40, 200, 40))), Image.fromarray(flat((40, 40, 200)))
    green.save(tmp_path / "anim.gif", save_all=True, append_images=[blue], duration=100, loop=0)
    rgb, ids, skipped = photos.prepare_photos(tmp_path, SIZE, workers=1)
    assert ids == ["anim.gif"] and skipped == []
    assert rgb[0, ..., 1].mean() > 150 and rgb[0, ..., 2].mean() < 100


def test_multipage_tiff_gives_its_first_page(tmp_path):
    green, blue = Image.fromarray(flat((40, 200, 40))), Image.fromarray(flat((40, 40, 200)))
    green.save(tmp_path / "pages.tiff", save_all=True, append_images=[blue])
    assert Image.open(tmp_path / "pages.tiff").n_frames == 2
    rgb, ids, _ = photos.prepare_photos(tmp_path, SIZE, workers=1)
    assert ids == ["pages.tiff"]
    assert rgb[0, ..., 1].mean() > 150 and rgb[0, ..., 2].mean() < 100


# --------------------------------------------------------------------------- fitting


def thirds():
    """96x32: red | green | blue."""
    return np.concatenate([flat((220, 30, 30), 32, 32), flat((30, 200, 30), 32, 32),
                           flat((30, 30, 220), 32, 32)], axis=1)


def test_crop_keeps_the_centre(tmp_path):
    save(tmp_path / "wide.png", thirds())
    rgb, _, _ = photos.prepare_photos(tmp_path, SIZE, fit="crop", workers=1)
    assert rgb[0, :, 4:-4, 1].min() > 150 and rgb[0, :, 4:-4, 0].max() < 80


def test_pad_keeps_everything_with_black_bars(tmp_path):
    save(tmp_path / "wide.png", thirds())
    rgb, _, _ = photos.prepare_photos(tmp_path, SIZE, fit="pad", workers=1)
    assert rgb[0, :8].max() == 0 and rgb[0, -8:].max() == 0
    middle = rgb[0, 16]
    assert middle[1, 0] > 150 and middle[16, 1] > 150 and middle[-2, 2] > 150


def test_resize_squashes_everything_in(tmp_path):
    save(tmp_path / "wide.png", thirds())
    rgb, _, _ = photos.prepare_photos(tmp_path, SIZE, fit="resize", workers=1)
    assert rgb[0, :, 1, 0].min() > 150 and rgb[0, :, -2, 2].min() > 150


def test_frame_keeps_the_whole_photo_its_shorter_side_the_size(tmp_path):
    save(tmp_path / "wide.png", thirds())
    save(tmp_path / "tall.png", thirds().transpose(1, 0, 2))
    frames, ids, _ = photos.prepare_photos(tmp_path, SIZE, fit=photos.FRAME, workers=1)
    shapes = {photo_id: frame.shape for photo_id, frame in zip(ids, frames)}
    assert shapes == {"wide.png": (SIZE, 3 * SIZE, 3), "tall.png": (3 * SIZE, SIZE, 3)}
    wide = frames[ids.index("wide.png")]
    assert wide[:, 2, 0].min() > 150 and wide[:, -3, 2].min() > 150  # red and blue ends kept
    assert photos.working_size(512, 683, 128) == (128, 171)  # as colorize.py works on a photo


def test_draft_mode_decodes_nearly_the_same_pixels(tmp_path):
    y, x = np.mgrid[0:768, 0:1024]
    smooth = np.stack([x / 4, y / 3, 255 - x / 4], -1).astype(np.uint8)
    save(tmp_path / "big.jpg", smooth, quality=92)
    fast, _, _ = photos.prepare_photos(tmp_path, SIZE, draft=True, workers=1)
    full, _, _ = photos.prepare_photos(tmp_path, SIZE, draft=False, workers=1)
    assert np.abs(fast.astype(int) - full.astype(int)).mean() < 2.0


# --------------------------------------------------------------------------- folder, meta


def test_photo_folder_becomes_a_loadable_dataset(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 5)
    good_photos(src / "sub" / "deeper", 5, start=5, suffix=".jpg")
    meta = build(src, tmp_path / "ds")
    assert sum(meta["counts"].values()) == 10
    assert "sub/deeper/good009.jpg" in split_by_id(meta)
    for split in dataset.SPLITS:
        lightness, ab = dataset.load_split(tmp_path / "ds", split)
        assert lightness.shape == (meta["counts"][split], SIZE, SIZE, 1)
        assert ab.shape == (meta["counts"][split], SIZE, SIZE, 2)
        assert lightness.dtype == ab.dtype == np.float32
        if len(lightness):
            assert 0 <= lightness.min() and lightness.max() <= 100


def manifest_record(name, index, **fields):
    """A kept photo's line as download.py writes it (every manifest field, licence terms too)."""
    record = dict.fromkeys(download.MANIFEST_FIELDS)
    record.update(query="alps", engine="commons", key=f"url:https://x.org/{name}", status="kept",
                  url=f"https://x.org/{name}", page_url=f"https://x.org/File:{name}",
                  licence="by-sa", licence_url="https://creativecommons.org/licenses/by-sa/4.0/",
                  author=f"Author {index}", file=name, **fields)
    return record


def test_meta_credits_each_member_photo_from_the_manifest(tmp_path):
    src = tmp_path / "photos"
    kept = [p.name for p in good_photos(src, 3)]
    gray = make_grayscale_saved_as_rgb(src)
    assert build(src, tmp_path / "plain")["attributions"] == {}
    records = [manifest_record(name, i) for i, name in enumerate([*kept, gray])]
    records.append({**manifest_record("lost.jpg", 9), "status": "failed", "file": None})
    (src / download.MANIFEST).write_text("".join(json.dumps(r) + "\n" for r in records))
    meta = build(src, tmp_path / "ds")
    assert gray in skipped_by_id(meta)
    members = [m["id"] for split in dataset.SPLITS for m in meta["members"][split]]
    assert sorted(meta["attributions"]) == sorted(members) == sorted(kept)
    assert meta["attributions"][kept[1]] == {
        "licence": "by-sa", "licence_url": "https://creativecommons.org/licenses/by-sa/4.0/",
        "author": "Author 1", "page_url": f"https://x.org/File:{kept[1]}",
        "source": f"https://x.org/{kept[1]}"}


def test_meta_credits_photos_of_a_scrape_in_a_subfolder_and_leaves_its_manifest_alone(
        tmp_path):
    src = tmp_path / "photos"
    kept = [p.name for p in good_photos(src / "commons", 3)]
    manifest = src / "commons" / download.MANIFEST
    lines = "".join(json.dumps(manifest_record(name, i)) + "\n" for i, name in enumerate(kept))
    manifest.write_text(lines + '{"key": "being written by a running scr')
    meta = build(src, tmp_path / "ds")
    assert sorted(meta["attributions"]) == sorted(f"commons/{name}" for name in kept)
    assert meta["attributions"][f"commons/{kept[0]}"]["author"] == "Author 0"
    assert manifest.read_text().endswith("running scr")


def test_meta_records_source_rule_members_and_true_checksums(tmp_path):
    src = tmp_path / "photos"
    photos = good_photos(src, 4)
    meta = build(src, tmp_path / "ds", "--fit", "pad")
    assert meta["size"] == SIZE and meta["fit"] == "pad"
    assert meta["source"] == "photos" and meta["source_folder"] == str(src.resolve())
    assert meta["split"]["fractions"] == [0.8, 0.1, 0.1] and "sha256" in meta["split"]["rule"]
    sha = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in photos}
    for split in dataset.SPLITS:
        for member in meta["members"][split]:
            assert member["sha256"] == sha[member["id"]]
            assert dataset.split_of(member["sha256"]) == split
    for name, checksum in meta["checksums"].items():
        assert hashlib.sha256((tmp_path / "ds" / name).read_bytes()).hexdigest() == checksum


def test_dataset_pixels_are_the_lab_of_the_prepared_photos(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 3)
    rgb, ids, _ = photos.prepare_photos(src, SIZE, workers=1)
    stored = images_by_id(build(src, tmp_path / "ds") and tmp_path / "ds")
    for image, photo_id in zip(rgb, ids):
        assert np.array_equal(stored[photo_id], lab.rgb_to_lab(image))


def test_prepare_photos_reports_skips_and_keeps_order(tmp_path):
    good_photos(tmp_path, 3)
    make_empty_file(tmp_path)
    rgb, ids, skipped = photos.prepare_photos(tmp_path, SIZE, workers=2)
    assert rgb.shape == (3, SIZE, SIZE, 3) and rgb.dtype == np.uint8
    assert ids == ["good000.png", "good001.png", "good002.png"]
    assert [(s["id"], s["kind"]) for s in skipped] == [("empty.jpg", "empty file")]


def test_rerun_gives_byte_identical_arrays(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 12)
    first = build(src, tmp_path / "one", "--workers", "1")
    second = build(src, tmp_path / "two", "--workers", "2")
    assert first["checksum"] == second["checksum"]
    assert array_bytes(tmp_path / "one") == array_bytes(tmp_path / "two")


def test_split_fractions_flag_is_used(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 6)
    meta = build(src, tmp_path / "ds", "--split", "0", "0", "1")
    assert meta["counts"] == {"train": 0, "val": 0, "test": 6}


def test_split_fractions_that_do_not_sum_to_one_are_refused(tmp_path):
    with pytest.raises(SystemExit):
        dataset.parse_args(["--images", str(tmp_path), "--out", "x",
                            "--split", "0.5", "0.1", "0.1"])


# --------------------------------------------------------------------------- splits, duplicates


def test_adding_photos_never_moves_an_existing_photo(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 30)
    before = split_by_id(build(src, tmp_path / "ds"))
    good_photos(src, 20, start=30)
    after = split_by_id(build(src, tmp_path / "ds"))
    assert len(after) == 50
    assert {photo_id: after[photo_id] for photo_id in before} == before
    assert len(set(before.values())) > 1  # the photos did spread over several splits


def test_exact_duplicates_are_kept_once_in_one_split(tmp_path):
    src = tmp_path / "photos"
    original = save(src / "a.jpg", colourful(1))
    for copy in ("b.jpg", "sub/a-copy.jpg"):
        (src / copy).parent.mkdir(exist_ok=True)
        (src / copy).write_bytes(original.read_bytes())
    good_photos(src, 4)
    meta = build(src, tmp_path / "ds")
    assert "a.jpg" in split_by_id(meta)
    duplicates = {e["id"]: e for e in meta["skipped"] if e["kind"] == "duplicate"}
    assert sorted(duplicates) == ["b.jpg", "sub/a-copy.jpg"]
    assert all(e["duplicate_of"] == "a.jpg" for e in duplicates.values())
    digests = [m["sha256"] for split in dataset.SPLITS for m in meta["members"][split]]
    assert len(digests) == len(set(digests)) == 5


# --------------------------------------------------------------------------- no usable image


def test_folder_without_usable_image_exits_with_a_message(tmp_path):
    src = tmp_path / "photos"
    src.mkdir()
    make_html_named_jpg(src)
    make_too_small(src)
    with pytest.raises(SystemExit) as raised:
        dataset.main(["--images", str(src), "--size", str(SIZE), "--out", str(tmp_path / "ds")])
    assert "no usable image" in str(raised.value.code)
    assert not (tmp_path / "ds").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["photos"]  # no temporary folder left


def test_folder_without_image_files_exits_with_a_message(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "notes.txt").write_text("no photos here")
    with pytest.raises(SystemExit) as raised:
        dataset.main(["--images", str(tmp_path / "photos"), "--out", str(tmp_path / "ds")])
    assert "no usable image" in str(raised.value.code)


def test_cli_exit_status_is_non_zero_when_nothing_is_usable(tmp_path):
    (tmp_path / "photos").mkdir()
    make_empty_file(tmp_path / "photos")
    done = subprocess.run([sys.executable, "dataset.py", "--images", str(tmp_path / "photos"),
                           "--out", str(tmp_path / "ds")], cwd=REPO, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode != 0
    assert "no usable image" in done.stderr and "empty.jpg: empty file" in done.stderr


def test_failed_build_leaves_the_previous_dataset(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 3)
    before = build(src, tmp_path / "ds")
    for photo in src.iterdir():
        photo.write_bytes(b"")
    with pytest.raises(SystemExit):
        build(src, tmp_path / "ds")
    assert dataset.read_meta(tmp_path / "ds")["checksum"] == before["checksum"]


# --------------------------------------------------------------------------- atomicity


def test_build_killed_midway_leaves_the_previous_dataset_intact(tmp_path):
    old_src, new_src, out = tmp_path / "old", tmp_path / "new", tmp_path / "ds"
    good_photos(old_src, 4)
    before = build(old_src, out)
    old_arrays = array_bytes(out)
    jpeg = save(new_src / "0000.jpg", colourful(99, 640, 480), quality=90).read_bytes()
    for i in range(1, 400):  # enough full-size decodes on one worker to take a few seconds
        (new_src / f"{i:04d}.jpg").write_bytes(jpeg)
    process = subprocess.Popen(
        [sys.executable, "dataset.py", "--images", str(new_src), "--size", str(SIZE),
         "--out", str(out), "--workers", "1", "--no-draft"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    staging = tmp_path / f".ds.tmp-{process.pid}" / "staging.npy"
    deadline = time.monotonic() + 60
    while not staging.exists() and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.005)
    time.sleep(0.2)  # let it write some rows
    os.killpg(process.pid, signal.SIGKILL)  # the build and its decoding workers
    assert process.wait(timeout=30) == -signal.SIGKILL  # it was killed, it did not finish
    assert staging.parent.exists()  # killed midway: its temporary folder is still there
    assert dataset.read_meta(out) == before
    assert array_bytes(out) == old_arrays
    assert dataset.load_split(out, "train")[0].shape[0] == before["counts"]["train"]


def test_leftovers_of_dead_runs_are_removed_by_the_next_run(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 2)
    leftover = tmp_path / f".ds.tmp-{dead_pid()}"
    leftover.mkdir()
    (leftover / "staging.npy").write_bytes(b"half")
    build(src, tmp_path / "ds")
    assert not leftover.exists()


def test_folder_of_a_running_build_is_left_alone(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 2)
    running = tmp_path / f".ds.tmp-{os.getppid()}"
    running.mkdir()
    build(src, tmp_path / "ds")
    assert running.exists()


def test_dataset_moved_aside_by_a_killed_swap_is_restored(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 2)
    before = build(src, tmp_path / "ds")
    os.rename(tmp_path / "ds", tmp_path / f".ds.old-{dead_pid()}")
    files.remove_leftovers(tmp_path / "ds")
    assert dataset.read_meta(tmp_path / "ds") == before


def test_rebuild_replaces_the_dataset_and_leaves_nothing_behind(tmp_path):
    src = tmp_path / "photos"
    good_photos(src, 2)
    build(src, tmp_path / "ds")
    good_photos(src, 2, start=2)
    meta = build(src, tmp_path / "ds")
    assert sum(meta["counts"].values()) == 4
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ds", "photos"]


# --------------------------------------------------------------------------- what --out may be


def contents(folder):
    """{path relative to folder: bytes} of every file below it: what a refusal must leave."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(Path(folder).rglob("*")) if p.is_file()}


def test_an_out_folder_holding_other_files_is_refused_and_kept(tmp_path):
    holidays = tmp_path / "holidays"
    save(holidays / "holiday.jpg", colourful(0))
    before = contents(holidays)
    result = subprocess.run([sys.executable, str(REPO / "dataset.py"), "--synthetic", "3",
                             "--size", "16", "--workers", "1", "--out", str(holidays)],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "no meta.json" in result.stderr and str(holidays) in result.stderr
    assert contents(holidays) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["holidays"]  # no temporary left


def test_the_photo_folder_as_out_is_refused_and_kept(tmp_path):
    src = tmp_path / "raw"
    good_photos(src, 2)
    before = contents(src)
    with pytest.raises(SystemExit) as exit_info:
        dataset.main(["--images", str(src), "--size", str(SIZE), "--out", str(src)])
    assert "is the photo folder" in str(exit_info.value.code)
    assert contents(src) == before


def test_an_out_inside_the_photo_folder_is_refused(tmp_path):
    src = tmp_path / "raw"
    good_photos(src, 2)
    before = contents(src)
    with pytest.raises(SystemExit) as exit_info:
        dataset.main(["--images", str(src), "--size", str(SIZE), "--out", str(src / "ds")])
    assert "is the photo folder" in str(exit_info.value.code) and "or inside it" in \
        str(exit_info.value.code)
    assert contents(src) == before


def test_a_photo_folder_inside_the_dataset_folder_is_refused(tmp_path):
    good_photos(tmp_path / "src", 2)
    build(tmp_path / "src", tmp_path / "ds")  # a real dataset: one dataset.py may replace
    good_photos(tmp_path / "ds" / "photos", 2)
    before = contents(tmp_path / "ds")
    with pytest.raises(SystemExit) as exit_info:
        dataset.main(["--images", str(tmp_path / "ds" / "photos"), "--size", str(SIZE),
                      "--out", str(tmp_path / "ds")])
    assert "would delete the photos" in str(exit_info.value.code)
    assert contents(tmp_path / "ds") == before


@pytest.mark.parametrize("inside", ["", "ds"])
def test_an_out_that_is_or_is_inside_a_file_is_refused_and_kept(tmp_path, inside):
    target = tmp_path / "notes.txt"
    target.write_text("keep me")
    with pytest.raises(SystemExit) as exit_info:
        dataset.main(["--synthetic", "3", "--size", "16", "--workers", "1", "--out",
                      str(target / inside)])
    assert f"{target} is a file" in str(exit_info.value.code)
    assert target.read_text() == "keep me"
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]


def test_a_folder_with_a_meta_json_of_something_else_is_refused(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    (folder / "meta.json").write_text('{"title": "not a dataset"}')
    with pytest.raises(dataset.DatasetError, match="no meta.json of dataset.py"):
        dataset.build_synthetic(3, 16, 0, folder, workers=1)
    assert [p.name for p in folder.iterdir()] == ["meta.json"]


def test_an_empty_out_folder_is_used(tmp_path):
    (tmp_path / "ds").mkdir()
    meta = dataset.build_synthetic(3, 16, 0, tmp_path / "ds", workers=1)
    assert dataset.read_meta(tmp_path / "ds") == meta


def test_a_dataset_folder_is_replaced_by_another_kind_of_dataset(tmp_path):
    good_photos(tmp_path / "src", 2)
    build(tmp_path / "src", tmp_path / "ds")
    assert dataset.main(["--synthetic", "3", "--size", "16", "--workers", "1",
                         "--out", str(tmp_path / "ds")]) == 0
    assert dataset.read_meta(tmp_path / "ds")["source"] == "synthetic"


# --------------------------------------------------------------------------- synthetic, loader


def test_synthetic_build_is_deterministic(tmp_path):
    one = dataset.build_synthetic(6, SIZE, 3, tmp_path / "one", workers=1)
    two = dataset.build_synthetic(6, SIZE, 3, tmp_path / "two", workers=2)
    assert one["checksum"] == two["checksum"]
    assert array_bytes(tmp_path / "one") == array_bytes(tmp_path / "two")
    assert sum(one["counts"].values()) == 6


def test_synthetic_dataset_of_this_generator_passes_the_check(tmp_path):
    meta = dataset.build_synthetic(4, 16, 1, tmp_path / "ds", workers=1)
    assert dataset.read_meta(tmp_path / "ds")["generator_fingerprint"] == \
        mountains.generator_fingerprint()
    dataset.check_generator(meta, tmp_path / "ds")  # no error


def test_member_scenes_are_what_the_landscapes_show(tmp_path):
    meta = dataset.build_synthetic(40, 16, 2, tmp_path / "ds", workers=1)
    scenes = dataset.member_scenes(meta, "train")
    lightness, ab = dataset.load_split(tmp_path / "ds", "train")
    assert len(scenes) == len(ab) == meta["counts"]["train"]
    upper_b = {"sunset": [], "clear": []}  # b* of the upper sky, member by member
    for scene, image_ab in zip(scenes, ab):
        if scene.sky in upper_b:
            upper_b[scene.sky].append(image_ab[:4, :, 1].mean())
    assert upper_b["sunset"] and upper_b["clear"]
    assert np.mean(upper_b["sunset"]) > np.mean(upper_b["clear"]) + 10
    with pytest.raises(dataset.DatasetError, match="built-in landscapes"):
        dataset.member_scenes({"source": "photos", "members": {"train": []}}, "train")


def test_member_scenes_of_a_dataset_with_more_sunsets_are_its_own(tmp_path):
    # the sky shares decide which scene a seed draws: member_scenes reads them from meta.json
    meta = dataset.build_synthetic(30, 16, 2, tmp_path / "ds", workers=1, sunsets=1.0)
    assert dataset.read_meta(tmp_path / "ds")["sunsets"] == 1.0
    assert {scene.sky for scene in dataset.member_scenes(meta, "train")} == {"sunset"}
    plain = dataset.build_synthetic(30, 16, 2, tmp_path / "plain", workers=1)
    assert plain["sunsets"] == mountains.SUNSETS
    assert len({scene.sky for scene in dataset.member_scenes(plain, "train")}) > 1


@pytest.mark.parametrize("change", ["another hash", "another version", "missing"])
def test_synthetic_dataset_of_another_generator_is_refused(tmp_path, change):
    dataset.build_synthetic(4, 16, 1, tmp_path / "ds", workers=1)
    meta = dataset.read_meta(tmp_path / "ds")
    if change == "another hash":
        meta["generator_fingerprint"]["rendering_sha256"] = "0" * 64
    elif change == "another version":
        meta["generator_fingerprint"]["version"] -= 1
    else:
        del meta["generator_fingerprint"]  # built before datasets recorded it
    with pytest.raises(dataset.DatasetError) as error:
        dataset.check_generator(meta, tmp_path / "ds")
    message = str(error.value)
    assert "another version of the landscape generator" in message
    assert f"now version {mountains.GENERATOR_VERSION}" in message
    assert f"python dataset.py --synthetic 4 --size 16 --seed 1 --out {tmp_path / 'ds'}" in message


@pytest.mark.parametrize("option, default, value, flag", [("zoom", 1.0, 3.0, "--zoom 3"),
                                                          ("fine", 1.0, 1.5, "--fine 1.5"),
                                                          ("boulders", 0.0, 1.0, "--boulders 1"),
                                                          ("golden", 0.0, 1.0, "--golden 1"),
                                                          ("shadows", 0.0, 1.0, "--shadows 1"),
                                                          ("overhead", 0.0, 1.0, "--overhead 1"),
                                                          ("twilight", 0.0, 1.0, "--twilight 1"),
                                                          ("alpenglow", 0.0, 1.0,
                                                           "--alpenglow 1"),
                                                          ("patchy", 0.0, 1.0, "--patchy 1")])
def test_a_rendering_option_is_recorded_and_asked_for_again(tmp_path, option, default, value,
                                                            flag):
    plain = dataset.build_synthetic(24, 16, 1, tmp_path / "plain", workers=1)  # sunsets among them
    changed = dataset.build_synthetic(24, 16, 1, tmp_path / "changed", workers=1,
                                      **{option: value})
    assert (plain[option], changed[option]) == (default, value)
    assert plain["checksum"] != changed["checksum"]
    meta = dataset.read_meta(tmp_path / "changed")
    assert meta[option] == value
    meta["generator_fingerprint"]["rendering_sha256"] = "0" * 64
    with pytest.raises(dataset.DatasetError, match=f"--seed 1 {flag} --out"):
        dataset.check_generator(meta, tmp_path / "changed")


def test_rebuild_arguments_give_back_the_recorded_options_exactly(tmp_path):
    options = {"zoom": 1.2345678, "boulders": 0.1 + 0.2, "golden": 0.25,  # 0.30000000000000004
               "sunsets": 0.7}
    meta = dataset.build_synthetic(4, 16, 1, tmp_path / "ds", workers=1, **options)
    arguments = dataset.rebuild_arguments(meta, tmp_path / "ds")
    assert arguments[arguments.index("--golden") + 1] == "0.25"  # short values read as before
    args = dataset.parse_args(arguments)
    assert {name: getattr(args, name) for name in options} == options
    assert args.out == tmp_path / "ds"


@pytest.mark.parametrize("option", ["--boulders", "--golden", "--shadows", "--overhead",
                                    "--twilight", "--alpenglow", "--patchy", "--sunsets"])
@pytest.mark.parametrize("share", ["-0.5", "1.5"])
def test_a_share_outside_zero_to_one_is_refused_by_the_cli(tmp_path, capsys, option, share):
    with pytest.raises(SystemExit) as exit_info:
        dataset.main(["--synthetic", "4", option, share, "--out", str(tmp_path / "ds")])
    assert exit_info.value.code == 2 and option in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("options, named", [(["--zoom", "0.5"], "--zoom"),
                                             (["--fine", "0.5"], "--fine"),
                                             (["--zoom", "2", "--fine", "1.5"], "--fine")])
def test_zoom_or_fine_below_one_or_both_above_it_is_refused_by_the_cli(tmp_path, capsys,
                                                                       options, named):
    with pytest.raises(SystemExit) as exit_info:
        dataset.main(["--synthetic", "4", *options, "--out", str(tmp_path / "ds")])
    assert exit_info.value.code == 2 and named in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_a_negative_seed_is_refused_by_the_cli(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        dataset.main(["--synthetic", "2", "--size", "16", "--seed", "-1",
                      "--out", str(tmp_path / "ds")])
    assert exit_info.value.code == 2 and "--seed must be 0 or positive" in capsys.readouterr().err
    assert not (tmp_path / "ds").exists()


def test_photo_dataset_passes_the_generator_check(tmp_path):
    good_photos(tmp_path / "src")
    meta = build(tmp_path / "src", tmp_path / "ds")
    assert "generator_fingerprint" not in meta
    dataset.check_generator(meta, tmp_path / "ds")  # photos have no generator to disagree with


def test_load_split_gives_read_only_memory_maps(tmp_path):
    dataset.build_synthetic(4, SIZE, 0, tmp_path / "ds", workers=1)
    lightness, ab = dataset.load_split(tmp_path / "ds", "train")
    assert isinstance(lightness, np.memmap) and isinstance(ab, np.memmap)
    with pytest.raises(ValueError):
        lightness[0, 0, 0, 0] = 1.0


def test_missing_dataset_raises_dataset_error(tmp_path):
    with pytest.raises(dataset.DatasetError, match="no dataset"):
        dataset.load_split(tmp_path / "nothing", "train")


def test_array_that_disagrees_with_meta_is_refused(tmp_path):
    dataset.build_synthetic(4, SIZE, 0, tmp_path / "ds", workers=1)
    np.save(tmp_path / "ds" / "val_L.npy", np.zeros((9, SIZE, SIZE, 1), np.float32))
    with pytest.raises(dataset.DatasetError, match="meta.json says"):
        dataset.load_split(tmp_path / "ds", "val")


def test_unknown_split_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="split must be one of"):
        dataset.load_split(tmp_path, "holdout")
