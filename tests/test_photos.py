"""photos.py: one reading of every Pillow mode, shared by training (dataset.py) and inference
(colorize.py)."""

import struct

import numpy as np
import pytest
from PIL import Image

import colorize
import dataset
import lab
import photos

SIDE = 24


def ramp(top, dtype):
    """(SIDE, SIDE) levels from 0 to `top` in steps that 8 bits hold exactly (multiples of
    top / 255), so the 8-bit training path and the 16-bit inference path can agree exactly."""
    steps = np.round(np.linspace(0, 255, SIDE * SIDE)).reshape(SIDE, SIDE)
    return (steps * (top // 255)).astype(dtype)


def sixteen_bit_png(path):
    Image.fromarray(ramp(65535, np.uint16)).save(path)  # Pillow reads it back as I;16
    return path


def int_tiff(top):
    def write(path):
        Image.fromarray(ramp(top, np.int32), "I").save(path)
        return path
    return write


def palette_png(path):
    rng = np.random.default_rng(0)
    rgb = rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    Image.fromarray(rgb).quantize(16).save(path)
    return path


CASES = {"I;16": (sixteen_bit_png, ".png"), "I 8-bit range": (int_tiff(255), ".tif"),
         "I 16-bit range": (int_tiff(65535), ".tif"), "P": (palette_png, ".png")}


@pytest.mark.parametrize("case", sorted(CASES))
def test_training_and_inference_read_the_same_lightness(tmp_path, case):
    write, suffix = CASES[case]
    path = write(tmp_path / f"photo{suffix}")
    expected_mode = case.split()[0]
    with Image.open(path) as image:
        assert image.mode == expected_mode
    # The training path at the image's own size (a same-size resize leaves pixels alone).
    rgb, ids, skipped = photos.prepare_photos(path, SIDE, "resize", min_chroma=0.0, workers=1)
    assert skipped == [] and len(rgb) == 1
    training = lab.rgb_to_l(rgb[0])[..., 0]
    inference, alpha = colorize.photo_lightness(colorize.read_photo(path))
    assert alpha is None
    np.testing.assert_allclose(inference, training, atol=1e-3)
    if expected_mode != "P":
        assert training.max() > 99.9  # white stays white: the range was read the same, and right


def s15_fixed16(value):
    return struct.pack(">i", round(value * 65536))


def xyz_tag(x, y, z):
    return b"XYZ " + bytes(4) + s15_fixed16(x) + s15_fixed16(y) + s15_fixed16(z)


def wide_gamut_icc():
    """An ICC v2 display profile with Adobe RGB (1998)'s primaries and gamma 2.2: Pillow can
    only build sRGB, and a camera's Adobe RGB photo is what a non-sRGB profile looks like."""
    name = b"Adobe RGB-like test profile"
    description = (b"desc" + bytes(4) + struct.pack(">I", len(name) + 1) + name + b"\0"
                   + bytes(4 + 4 + 2 + 1 + 67))  # empty Unicode and ScriptCode descriptions
    gamma = b"curv" + bytes(4) + struct.pack(">IH", 1, round(2.2 * 256))
    tags = [(b"desc", description), (b"wtpt", xyz_tag(0.9642, 1.0, 0.8249)),  # D50
            (b"rXYZ", xyz_tag(0.6097, 0.3111, 0.0195)), (b"gXYZ", xyz_tag(0.2053, 0.6257, 0.0609)),
            (b"bXYZ", xyz_tag(0.1492, 0.0632, 0.7446)),
            (b"rTRC", gamma), (b"gTRC", gamma), (b"bTRC", gamma)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for signature, body in tags:
        body += bytes(-len(body) % 4)
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = (struct.pack(">I", offset + len(data)) + bytes(4) + struct.pack(">I", 0x02100000)
              + b"mntrRGB XYZ " + bytes(12) + b"acsp" + bytes(28)
              + s15_fixed16(0.9642) + s15_fixed16(1.0) + s15_fixed16(0.8249) + bytes(48))
    return header + struct.pack(">I", len(tags)) + table + data


@pytest.mark.parametrize("mode", ["RGB", "RGBA"])
def test_embedded_icc_profile_gives_training_and_inference_the_same_lightness(tmp_path, mode):
    rng = np.random.default_rng(4)
    stored = rng.integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)
    image = Image.fromarray(stored)
    if mode == "RGBA":
        image.putalpha(255)  # opaque: training's white background does not show
    image.save(tmp_path / "adobe.png", icc_profile=wide_gamut_icc())
    rgb, ids, skipped = photos.prepare_photos(tmp_path / "adobe.png", SIDE, "resize",
                                              min_chroma=0.0, workers=1)
    assert skipped == [] and len(rgb) == 1
    training = lab.rgb_to_l(rgb[0])[..., 0]
    # The profile matters: read as if it were sRGB, the same pixels have another lightness.
    assert np.abs(lab.rgb_to_l(stored)[..., 0] - training).mean() > 1.0
    inference, alpha = colorize.photo_lightness(colorize.read_photo(tmp_path / "adobe.png"))
    assert (alpha is None) == (mode == "RGB")
    np.testing.assert_allclose(inference, training, atol=1e-3)


def test_int_image_in_8_bit_range_reads_as_the_same_8_bit_picture(tmp_path):
    levels = ramp(255, np.uint8)
    Image.fromarray(levels).save(tmp_path / "gray.png")
    Image.fromarray(levels.astype(np.int32), "I").save(tmp_path / "gray.tif")
    rgb, ids, _ = photos.prepare_photos(tmp_path, SIDE, "resize", min_chroma=0.0, workers=1)
    assert ids == ["gray.png", "gray.tif"]
    np.testing.assert_array_equal(rgb[0], rgb[1])


@pytest.mark.parametrize("mode, values, white", [
    ("I;16", [0, 100], 65535.0),  # I;16 says its range, however dark the picture
    ("I", [0, 255], 255.0),
    ("I", [0, 256], 65535.0),
    ("I", [0, 1], 1.0),
    ("I", [0, 70000], 70000.0),  # beyond 16 bits: the image's own maximum
    ("F", [0.0, 0.5], 1.0),
    ("F", [0.0, 200.0], 255.0),
])
def test_white_is_the_smallest_range_that_holds_every_value(mode, values, white):
    array = np.array([values], dtype={"I;16": np.uint16, "I": np.int32, "F": np.float32}[mode])
    image = Image.fromarray(array) if mode == "I;16" else Image.fromarray(array, mode)
    assert image.mode == mode
    assert photos.gray_full_scale(image) == white


def test_dataset_uses_the_photo_reader_for_its_arrays(tmp_path):
    rng = np.random.default_rng(3)
    (tmp_path / "src").mkdir()
    for i in range(3):
        noise = rng.integers(0, 256, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(noise).save(tmp_path / "src" / f"p{i}.png")
    meta = dataset.build_from_photos(tmp_path / "src", tmp_path / "ds", size=32, workers=1,
                                     fractions=(1.0, 0.0, 0.0))
    rgb, ids, _ = photos.prepare_photos(tmp_path / "src", 32, workers=1)
    lightness, ab = dataset.load_split(tmp_path / "ds", "train")
    by_id = {member["id"]: row for row, member in enumerate(meta["members"]["train"])}
    for image, photo_id in zip(rgb, ids):
        expected = lab.rgb_to_lab(image)
        np.testing.assert_allclose(lightness[by_id[photo_id], ..., 0], expected[..., 0],
                                   atol=1e-4)
        np.testing.assert_allclose(ab[by_id[photo_id]], expected[..., 1:], atol=1e-4)


def test_list_photos_takes_other_suffixes_and_keeps_sorted_order(tmp_path):
    for name in ("b.ppm", "a/c.JPG", "a/d.txt", "e.png"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    names = [p.relative_to(tmp_path).as_posix() for p in photos.list_photos(tmp_path)]
    assert names == ["a/c.JPG", "e.png"]
    everything = photos.list_photos(tmp_path, photos.readable_suffixes())
    assert [p.relative_to(tmp_path).as_posix() for p in everything] == ["a/c.JPG", "b.ppm",
                                                                        "e.png"]


def test_pad_measures_chroma_of_the_photo_not_of_its_black_bars(tmp_path):
    # A wide, faintly blue photo: chroma 7.5 on its own, 1.9 averaged with the bars of --fit pad.
    path = tmp_path / "wide.png"
    Image.new("RGB", (512, 128), (120, 128, 140)).save(path)
    rgb, ids, skipped = photos.prepare_photos(path, 128, "pad", workers=1)
    assert skipped == [] and len(rgb) == 1
    assert rgb[0, 0, 0].tolist() == list(photos.PAD_COLOUR)  # the bars are there
    gray = tmp_path / "gray.png"
    Image.new("RGB", (512, 128), (128, 128, 128)).save(gray)
    _, _, skipped = photos.prepare_photos(gray, 128, "pad", workers=1)
    assert [entry["kind"] for entry in skipped] == ["grayscale"]


def test_list_photos_follows_symlinked_folders_once_without_looping(tmp_path):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "peak.jpg").write_bytes(b"x")
    folder = tmp_path / "photos"
    (folder / "own").mkdir(parents=True)
    (folder / "own" / "a.png").write_bytes(b"x")
    (folder / "linked").symlink_to(elsewhere)
    (folder / "own" / "loop").symlink_to(folder)  # a link to an ancestor
    names = [p.relative_to(folder).as_posix() for p in photos.list_photos(folder)]
    assert names == ["linked/peak.jpg", "own/a.png"]
