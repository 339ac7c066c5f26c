"""colorize.py on real files: a tiny model learns an easy colour rule (bright -> orange,
dark -> blue) in a few seconds, then colorizes photos in every mode the tool promises to read."""

import json
import os
import re
import shutil

import numpy as np
import pytest
from PIL import Image

import colorize
import lab

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

TINY_STRIDE = 4
TINY_SIZE = 32
ORANGE_AB = np.array([15.0, 50.0], np.float32)  # both inside the sRGB gamut at the test L* range
BLUE_AB = np.array([5.0, -35.0], np.float32)
L_TOLERANCE_MEAN = 1.0  # L* units: uint8 rounding and rare sRGB gamut clipping, nothing more
L_TOLERANCE_MAX = 3.0
MIN_MEAN_CHROMA = 20.0  # the rule's colours have chroma 35 and 52; gray has 0


def colour_rule(lightness):
    """The ab the tiny model learns: orange where bright, blue where dark, a smooth switch."""
    bright = 1.0 / (1.0 + np.exp(-(lightness[..., None] - 50.0) / 6.0))
    return bright * ORANGE_AB + (1.0 - bright) * BLUE_AB


def smooth_gray_images(count, size, seed):
    """Gray levels (count, size, size) in 30..225: smooth blobs with bright and dark parts."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(30, 225, (count, 4, 4)).astype(np.float32)
    return np.stack([np.asarray(Image.fromarray(c).resize((size, size), Image.Resampling.BICUBIC))
                     for c in coarse]).clip(30, 225)


@pytest.fixture(scope="module")
def run_folder(tmp_path_factory):
    """A run folder like train.py writes: model.keras and config.json (image_size, stride)."""
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    levels = smooth_gray_images(96, TINY_SIZE, seed=0)
    gray_rgb = np.repeat(levels[..., None] / 255.0, 3, axis=-1)
    lightness = lab.rgb_to_l(gray_rgb)
    inputs_l = lab.encode_l(lightness)
    targets = lab.encode_ab(colour_rule(lightness[..., 0]))

    inputs = keras.Input((None, None, 1))
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(inputs)
    x = layers.Conv2D(8, 3, strides=2, padding="same", activation="relu")(x)
    x = layers.UpSampling2D(TINY_STRIDE, interpolation="bilinear")(x)
    x = layers.Concatenate()([x, inputs])
    x = layers.Conv2D(16, 1, activation="relu")(x)
    outputs = layers.Conv2D(2, 1, activation="tanh")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    model.fit(inputs_l, targets, batch_size=16, epochs=40, verbose=0)

    folder = tmp_path_factory.mktemp("runs") / "tiny-run"
    folder.mkdir()
    model.save(folder / "model.keras")
    config = {"model": "tiny", "image_size": TINY_SIZE, "stride": TINY_STRIDE,
              "status": "finished"}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def gray_picture(width, height):
    """uint8 (height, width): dark on the left, bright on the right, with a soft texture."""
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    return np.round(40 + 170 * x + 10 * np.sin(12 * y) * np.cos(9 * x)).astype(np.uint8)


def run_colorize(run_folder, *args):
    return colorize.main(["--model", str(run_folder), *map(str, args)])


def output_lab(path):
    with Image.open(path) as image:
        return lab.rgb_to_lab(np.asarray(image.convert("RGB")))


def assert_colorized(path, expected_lightness):
    """Same size, same L* as the input within the tolerance, and clearly not gray."""
    out_lab = output_lab(path)
    assert out_lab.shape[:2] == expected_lightness.shape
    difference = np.abs(out_lab[..., 0] - expected_lightness)
    assert difference.mean() < L_TOLERANCE_MEAN
    assert difference.max() < L_TOLERANCE_MAX
    chroma = np.hypot(out_lab[..., 1], out_lab[..., 2])
    assert chroma.mean() > MIN_MEAN_CHROMA


def gray_lightness(levels, maximum=255.0):
    gray_rgb = np.repeat(np.asarray(levels, np.float64)[..., None] / maximum, 3, axis=-1)
    return lab.rgb_to_l(gray_rgb)[..., 0]


def test_grayscale_png_is_colorized_at_full_size(run_folder, tmp_path):
    levels = gray_picture(120, 80)
    Image.fromarray(levels).save(tmp_path / "scan.png")
    assert run_colorize(run_folder, tmp_path / "scan.png", "--out", tmp_path / "out") == 0
    assert_colorized(tmp_path / "out" / "scan.png", gray_lightness(levels))


def test_model_colour_rule_shows_bright_orange_and_dark_blue(run_folder, tmp_path):
    levels = gray_picture(120, 80)
    Image.fromarray(levels).save(tmp_path / "scan.png")
    run_colorize(run_folder, tmp_path / "scan.png", "--out", tmp_path / "out")
    out_lab = output_lab(tmp_path / "out" / "scan.png")
    assert out_lab[:, :20, 2].mean() < -15  # the dark left edge: b* toward blue
    assert out_lab[:, -20:, 2].mean() > 15  # the bright right edge: b* toward yellow-orange


def test_saturation_scales_the_predicted_chroma_and_keeps_lightness(run_folder, tmp_path):
    levels = gray_picture(120, 80)
    Image.fromarray(levels).save(tmp_path / "scan.png")
    chroma = {}
    for saturation in ("1", "0.5"):
        out = tmp_path / f"out-{saturation}"
        assert run_colorize(run_folder, tmp_path / "scan.png", "--out", out,
                            "--saturation", saturation) == 0
        out_lab = output_lab(out / "scan.png")
        assert np.abs(out_lab[..., 0] - gray_lightness(levels)).mean() < L_TOLERANCE_MEAN
        chroma[saturation] = np.hypot(out_lab[..., 1], out_lab[..., 2])
    assert chroma["1"].mean() > MIN_MEAN_CHROMA
    ratio = chroma["0.5"].mean() / chroma["1"].mean()
    assert 0.45 < ratio < 0.55


@pytest.mark.parametrize("value", ["0", "-1", "vivid"])
def test_saturation_must_be_a_positive_number(run_folder, tmp_path, value):
    with pytest.raises(SystemExit) as stop:
        run_colorize(run_folder, tmp_path / "scan.png", "--saturation", value)
    assert stop.value.code == 2


def test_rgb_jpeg_with_exif_rotation_comes_out_upright(run_folder, tmp_path):
    stored = np.repeat(gray_picture(90, 60)[..., None], 3, axis=-1)
    stored[..., 0] = np.clip(stored[..., 0].astype(int) + 30, 0, 255)  # a colour photo
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: viewers rotate 90 degrees clockwise
    Image.fromarray(stored).save(tmp_path / "photo.jpg", quality=98, exif=exif)
    with Image.open(tmp_path / "photo.jpg") as saved:
        upright = np.rot90(np.asarray(saved.convert("RGB")), k=-1)
    assert run_colorize(run_folder, tmp_path / "photo.jpg", "--out", tmp_path / "out") == 0
    with Image.open(tmp_path / "out" / "photo.jpg") as result:
        assert result.size == (60, 90)
        assert result.getexif().get(0x0112, 1) == 1  # not rotated a second time by viewers
    # JPEG re-encoding of the output adds its own error to the L* comparison
    out_lab = output_lab(tmp_path / "out" / "photo.jpg")
    difference = np.abs(out_lab[..., 0] - lab.rgb_to_l(upright)[..., 0])
    assert difference.mean() < 2 * L_TOLERANCE_MEAN
    assert np.hypot(out_lab[..., 1], out_lab[..., 2]).mean() > MIN_MEAN_CHROMA


def test_rgba_png_keeps_its_alpha_exactly(run_folder, tmp_path):
    levels = gray_picture(64, 48)
    alpha = np.random.default_rng(1).integers(0, 256, levels.shape, dtype=np.uint8)
    rgba = np.dstack([levels, levels, levels, alpha])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "cutout.png")
    assert run_colorize(run_folder, tmp_path / "cutout.png", "--out", tmp_path / "out") == 0
    with Image.open(tmp_path / "out" / "cutout.png") as result:
        assert result.mode == "RGBA"
        assert np.array_equal(np.asarray(result.getchannel("A")), alpha)
    assert_colorized(tmp_path / "out" / "cutout.png", gray_lightness(levels))


def test_16_bit_png_is_read_at_full_depth(run_folder, tmp_path):
    levels = gray_picture(100, 70).astype(np.uint16) * 257 + 100  # 16-bit values, not 8-bit ones
    Image.fromarray(levels).save(tmp_path / "scan16.png")
    with Image.open(tmp_path / "scan16.png") as saved:
        assert saved.mode.startswith("I")
    assert run_colorize(run_folder, tmp_path / "scan16.png", "--out", tmp_path / "out") == 0
    assert_colorized(tmp_path / "out" / "scan16.png", gray_lightness(levels, 65535.0))


def test_a_shape_is_traced_when_it_repeats_and_gives_the_eager_colours(run_folder):
    import keras

    model = keras.saving.load_model(run_folder / "model.keras", compile=False)
    network = colorize.ShapeTracedModel(model)
    wide, tall = (lab.encode_l(np.full((1, 8, 12, 1), level, np.float32)) for level in (30, 70))
    first = np.asarray(network(wide))
    assert network.graphs == {}  # a shape seen once runs eagerly: no trace for a single photo
    again = np.asarray(network(wide))
    assert list(network.graphs) == [(1, 8, 12, 1)]
    np.testing.assert_allclose(again, first, atol=1e-5)
    np.testing.assert_allclose(np.asarray(network(wide)), first, atol=1e-5)
    other = np.asarray(network(tall[:, :, :8]))
    assert list(network.graphs) == [(1, 8, 12, 1)]
    np.testing.assert_allclose(other, np.asarray(model(tall[:, :, :8], training=False)),
                               atol=1e-6)


def test_a_folder_of_same_size_photos_goes_through_one_traced_graph(run_folder, tmp_path,
                                                                     monkeypatch):
    made = []

    class Recorded(colorize.ShapeTracedModel):  # the real class, its instances kept to look at
        def __init__(self, model):
            super().__init__(model)
            made.append(self)

    monkeypatch.setattr(colorize, "ShapeTracedModel", Recorded)
    pictures = [gray_picture(90, 60), gray_picture(90, 60)[:, ::-1], gray_picture(90, 60)[::-1]]
    for index, levels in enumerate(pictures):
        Image.fromarray(np.ascontiguousarray(levels)).save(tmp_path / f"photo{index}.png")
    assert run_colorize(run_folder, tmp_path, "--out", tmp_path / "out") == 0
    assert len(made) == 1 and list(made[0].graphs) == [(1, 32, 48, 1)]  # 60x90 -> 32x48
    for index, levels in enumerate(pictures):
        assert_colorized(tmp_path / "out" / f"photo{index}.png", gray_lightness(levels))


def test_odd_size_is_padded_and_cropped_back(run_folder, tmp_path):
    levels = gray_picture(517, 333)
    Image.fromarray(levels).save(tmp_path / "odd.png")
    assert run_colorize(run_folder, tmp_path / "odd.png", "--out", tmp_path / "out") == 0
    assert_colorized(tmp_path / "out" / "odd.png", gray_lightness(levels))


def test_corrupt_file_in_a_folder_fails_alone(run_folder, tmp_path):
    scans = tmp_path / "scans"
    (scans / "1950s").mkdir(parents=True)
    Image.fromarray(gray_picture(40, 30)).save(scans / "a.png")
    Image.fromarray(gray_picture(50, 30)).save(scans / "1950s" / "b.jpg")
    (scans / "broken.jpg").write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    status = run_colorize(run_folder, scans, "--out", tmp_path / "out")
    assert status != 0
    assert (tmp_path / "out" / "a.png").is_file()
    assert (tmp_path / "out" / "1950s" / "b.jpg").is_file()
    assert not (tmp_path / "out" / "broken.jpg").exists()
    assert sorted(p.name for p in (tmp_path / "out").rglob("*")) == ["1950s", "a.png", "b.jpg"]


def test_side_by_side_pair_is_twice_as_wide(run_folder, tmp_path):
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    run_colorize(run_folder, tmp_path / "a.png", "--out", tmp_path / "out", "--side-by-side")
    with Image.open(tmp_path / "out" / "a-side-by-side.png") as pair:
        assert pair.size == (80, 30)
        left = np.asarray(pair.convert("RGB"))[:, :40]
    assert np.array_equal(left[..., 0], gray_picture(40, 30))


def test_format_option_changes_format_and_suffix(run_folder, tmp_path):
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    run_colorize(run_folder, tmp_path / "a.png", "--out", tmp_path / "out", "--format", "webp")
    with Image.open(tmp_path / "out" / "a.webp") as result:
        assert result.format == "WEBP"


def test_output_path_equal_to_input_is_refused(run_folder, tmp_path):
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    before = (tmp_path / "a.png").read_bytes()
    with pytest.raises(SystemExit, match="input"):
        run_colorize(run_folder, tmp_path / "a.png", "--out", tmp_path)
    assert (tmp_path / "a.png").read_bytes() == before


def scans_folder(tmp_path):
    """tmp_path/scans with a.png and 1950s/b.png, and the bytes of each."""
    scans = tmp_path / "scans"
    (scans / "1950s").mkdir(parents=True)
    Image.fromarray(gray_picture(40, 30)).save(scans / "a.png")
    Image.fromarray(gray_picture(50, 30)).save(scans / "1950s" / "b.png")
    return scans, {path: path.read_bytes() for path in scans.rglob("*.png")}


def test_out_above_the_input_folder_takes_every_photo(run_folder, tmp_path, monkeypatch):
    scans, originals = scans_folder(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert run_colorize(run_folder, "scans", "--out", ".") == 0
    assert_colorized(tmp_path / "a.png", gray_lightness(gray_picture(40, 30)))
    assert_colorized(tmp_path / "1950s" / "b.png", gray_lightness(gray_picture(50, 30)))
    assert {path: path.read_bytes() for path in scans.rglob("*.png")} == originals


def test_out_equal_to_the_input_folder_is_refused(run_folder, tmp_path):
    scans, originals = scans_folder(tmp_path)
    for out in (scans, scans / "1950s" / ".."):
        with pytest.raises(SystemExit, match="input folder"):
            run_colorize(run_folder, scans, "--out", out, "--format", "jpg")
    assert {path: path.read_bytes() for path in scans.rglob("*")
            if path.is_file()} == originals  # nothing new written beside the originals


def test_out_inside_the_input_folder_leaves_earlier_outputs_out(run_folder, tmp_path):
    scans, _ = scans_folder(tmp_path)
    for _ in range(2):
        assert run_colorize(run_folder, scans, "--out", scans / "colorized") == 0
    written = sorted(p.relative_to(scans / "colorized").as_posix()
                     for p in (scans / "colorized").rglob("*.png"))
    assert written == ["1950s/b.png", "a.png"]


def test_output_landing_on_an_input_is_refused_with_out_above_the_folder(run_folder, tmp_path,
                                                                          monkeypatch):
    scans, originals = scans_folder(tmp_path)
    (scans / "scans").mkdir()
    Image.fromarray(gray_picture(30, 30)).save(scans / "scans" / "a.png")  # -> ./scans/a.png
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit, match="it is the input scans/a.png"):
        run_colorize(run_folder, "scans", "--out", ".")
    assert all(path.read_bytes() == data for path, data in originals.items())


@pytest.mark.parametrize("text", ['{"image_size": 32,', '{"image_size": null, "stride": 4}',
                                  '{"image_size": "big", "stride": 4}', '[32, 4]', '\xff',
                                  '{"image_size": 0, "stride": 4, "status": "finished"}'])
def test_broken_config_json_stops_with_its_name(tmp_path, text):
    (tmp_path / "config.json").write_bytes(text.encode("latin-1"))
    with pytest.raises(SystemExit) as stop:
        colorize.read_model_config(tmp_path / "model.keras")
    assert str(tmp_path / "config.json") in str(stop.value.code)


def test_a_run_still_training_is_refused_by_name(run_folder, tmp_path):
    # Its model.keras is only the best epoch so far: colorizing with it would be a surprise.
    shutil.copytree(run_folder, tmp_path / "run")
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    (tmp_path / "run" / "config.json").write_text(json.dumps({**config, "status": "running"}))
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    with pytest.raises(SystemExit, match=r"run: not a finished run .status 'running'."):
        colorize.main(["--model", str(tmp_path / "run"), str(tmp_path / "a.png"), "--out",
                       str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


def test_missing_model_names_the_train_command(tmp_path):
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    with pytest.raises(SystemExit, match="make model"):
        colorize.main(["--model", str(tmp_path / "runs" / "none"), str(tmp_path / "a.png")])


@pytest.mark.parametrize("cut", [lambda data: data[:len(data) // 2],
                                 lambda data: b"not a model, a text file\n"])
def test_a_model_file_cut_short_or_not_keras_is_named_as_such(run_folder, tmp_path, cut):
    shutil.copytree(run_folder, tmp_path / "run")
    model = tmp_path / "run" / "model.keras"
    model.write_bytes(cut(model.read_bytes()))
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    with pytest.raises(SystemExit, match=f"^{re.escape(str(model))} is not a Keras model file"):
        colorize.main(["--model", str(model), str(tmp_path / "a.png"), "--out",
                       str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("out, message", [("taken", "taken is a file, not a folder"),
                                          ("taken/sub", "taken/sub cannot be a folder .*taken is")])
def test_out_that_is_or_runs_through_a_file_is_refused_before_the_model_loads(
        run_folder, tmp_path, out, message):
    # model.keras is not loadable here: the --out message shows the check comes first
    shutil.copytree(run_folder, tmp_path / "run")
    (tmp_path / "run" / "model.keras").write_text("not a model")
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    (tmp_path / "taken").write_text("a file, not a folder")
    with pytest.raises(SystemExit, match=f"--out .*{message}"):
        colorize.main(["--model", str(tmp_path / "run"), str(tmp_path / "a.png"), "--out",
                       str(tmp_path / out)])
    assert (tmp_path / "taken").read_text() == "a file, not a folder"


def test_help_shows_the_side_by_side_default(capsys):
    with pytest.raises(SystemExit):
        colorize.parse_args(["--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "colorized version (default: False)" in help_text


def test_without_model_it_uses_the_make_model_run(run_folder, tmp_path, monkeypatch):
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)  # a fresh checkout: no runs/model yet
    with pytest.raises(SystemExit, match=r"no trained model at runs/model.*make model"):
        colorize.main([str(tmp_path / "a.png"), "--out", "first"])
    assert not (tmp_path / "first").exists()

    shutil.copytree(run_folder, tmp_path / "runs" / "model")  # what `make model` leaves
    assert colorize.main([str(tmp_path / "a.png"), "--out", "second"]) == 0
    with Image.open(tmp_path / "second" / "a.png") as result:
        assert result.mode == "RGB" and result.size == (40, 30)


def test_sunset_light_uses_the_make_model_sunset_run(run_folder, tmp_path, monkeypatch):
    Image.fromarray(gray_picture(40, 30)).save(tmp_path / "a.png")
    monkeypatch.chdir(tmp_path)
    shutil.copytree(run_folder, tmp_path / "runs" / "model")  # make model's is not sunset's
    with pytest.raises(SystemExit, match=r"no trained model at runs/model-sunset.*"
                                         r"`make model-sunset`"):
        colorize.main(["--light", "sunset", str(tmp_path / "a.png"), "--out", "first"])
    assert not (tmp_path / "first").exists()

    shutil.copytree(run_folder, tmp_path / colorize.LIGHT_MODELS["sunset"][0])
    assert colorize.main(["--light", "sunset", str(tmp_path / "a.png"), "--out", "second"]) == 0
    assert (tmp_path / "second" / "a.png").is_file()


def test_light_with_a_model_is_a_usage_error(run_folder, tmp_path, capsys):
    # --light picks a default model: beside --model it would be silently ignored
    with pytest.raises(SystemExit) as exit_info:
        colorize.main(["--model", str(run_folder), "--light", "sunset", str(tmp_path)])
    assert exit_info.value.code == 2
    assert "--light chooses the default model" in capsys.readouterr().err


def test_model_without_config_gets_seed_study_defaults(tmp_path):
    size_and_stride = colorize.read_model_config(tmp_path / "model.keras")
    assert size_and_stride == (colorize.DEFAULT_RENDER_SIZE, colorize.DEFAULT_STRIDE)


@pytest.mark.parametrize("mode, name", [("1", "bw.png"), ("LA", "la.png"), ("P", "palette.gif"),
                                        ("CMYK", "print.jpg"), ("I", "int.tiff"),
                                        ("F", "float.tiff")])
def test_other_pillow_modes_are_colorized(run_folder, tmp_path, mode, name):
    Image.fromarray(gray_picture(50, 30)).convert(mode).save(tmp_path / name)
    assert run_colorize(run_folder, tmp_path / name, "--out", tmp_path / "out") == 0
    (output,) = (tmp_path / "out").iterdir()
    out_lab = output_lab(output)
    assert out_lab.shape[:2] == (30, 50)
    assert np.hypot(out_lab[..., 1], out_lab[..., 2]).mean() > MIN_MEAN_CHROMA


@pytest.mark.parametrize("mode, full_scale", [("I", 255), ("I", 65535), ("F", 1), ("F", 255)])
def test_int_and_float_modes_take_white_from_their_value_range(run_folder, tmp_path, mode,
                                                               full_scale):
    levels = gray_picture(50, 30)
    values = levels / 255.0 * full_scale
    values[0, 0] = full_scale  # one white pixel, so the range is unambiguous
    image = Image.fromarray(values.astype(np.int32 if mode == "I" else np.float32))
    image.save(tmp_path / "scan.tiff")
    assert run_colorize(run_folder, tmp_path / "scan.tiff", "--out", tmp_path / "out") == 0
    expected = gray_lightness(np.round(values), full_scale) if mode == "I" else \
        gray_lightness(values, full_scale)
    difference = np.abs(output_lab(tmp_path / "out" / "scan.tiff")[..., 0] - expected)
    assert np.median(difference) < L_TOLERANCE_MEAN
