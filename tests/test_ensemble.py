"""ensemble.py: the saved average predicts the members' mean colour, keeps the model contract,
and refuses members that cannot be averaged."""

import fractions
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import cpu  # noqa: F401  (before TensorFlow, as every entry point does)
import ensemble
from helpers import make_member


def test_ensemble_predicts_the_mean_of_its_members(tmp_path):
    import keras

    folders = [make_member(tmp_path / f"m{seed}", seed) for seed in (1, 2, 3)]
    assert ensemble.main([*map(str, folders), "--out", str(tmp_path / "model")]) == 0
    x = np.random.default_rng(0).uniform(-1, 1, (2, 32, 48, 1)).astype(np.float32)
    members = [keras.saving.load_model(f / "model.keras") for f in folders]
    expected = np.mean([m.predict(x, verbose=0) for m in members], axis=0)
    model = keras.saving.load_model(tmp_path / "model" / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    assert np.abs(expected - members[0].predict(x, verbose=0)).max() > 1e-3  # not one member

    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["seed"] == "1+2+3" and config["run_name"] == "model"
    assert (config["image_size"], config["stride"], config["model"]) == (32, 4, "unet")
    assert [m["seed"] for m in config["members"]] == [1, 2, 3]
    assert "best_val_loss" not in config  # the members' own, listed with each of them


def test_networks_of_different_families_average_at_their_common_stride(tmp_path):
    import keras

    unet = make_member(tmp_path / "unet", 1, stride=4)
    autoencoder = make_member(tmp_path / "ae", 1, stride=2, model="autoencoder")
    assert ensemble.main([str(unet), str(autoencoder), "--out", str(tmp_path / "model")]) == 0
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert (config["stride"], config["model"], config["seed"]) == (4, "unet+autoencoder", "1+1")
    assert [m["model"] for m in config["members"]] == ["unet", "autoencoder"]
    x = np.random.default_rng(0).uniform(-1, 1, (1, 8, 12, 1)).astype(np.float32)
    expected = np.mean([keras.saving.load_model(f / "model.keras").predict(x, verbose=0)
                        for f in (unet, autoencoder)], axis=0)
    model = keras.saving.load_model(tmp_path / "model" / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


@pytest.mark.parametrize("problem, message", [
    ("unfinished", "not a finished run"),
    ("other size", "differ in image_size"),
    ("same seed", "same arguments .same seed 1.: they are one network twice"),
])
def test_members_that_cannot_be_averaged_are_refused(tmp_path, problem, message):
    first = make_member(tmp_path / "a", 1)
    second = make_member(tmp_path / "b", 1 if problem == "same seed" else 2,
                         image_size=64 if problem == "other size" else 32,
                         status="running" if problem == "unfinished" else "finished")
    with pytest.raises(SystemExit, match=message):
        ensemble.main([str(first), str(second), "--out", str(tmp_path / "model")])
    assert not (tmp_path / "model").exists()


def test_a_member_whose_model_is_cut_short_is_named_and_nothing_is_written(tmp_path):
    first, second = (make_member(tmp_path / name, seed) for name, seed in (("a", 1), ("b", 2)))
    model = second / "model.keras"
    model.write_bytes(model.read_bytes()[:100])
    with pytest.raises(SystemExit, match=f"^ensemble.py: {re.escape(str(second))}: its "
                                         "model.keras cannot be read"):
        ensemble.main([str(first), str(second), "--out", str(tmp_path / "model")])
    assert not (tmp_path / "model").exists()


def set_config(folder, **changes):
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, **changes}))


def test_runs_of_one_seed_trained_differently_are_two_networks(tmp_path):
    first = make_member(tmp_path / "a", 1)
    second = make_member(tmp_path / "b", 1)
    set_config(first, learning_rate=0.001, cosine=False, dataset_checksum="abc")
    set_config(second, learning_rate=0.003, cosine=False, dataset_checksum="abc")
    assert ensemble.main([str(first), str(second), "--out", str(tmp_path / "lr")]) == 0
    set_config(second, learning_rate=0.001, dataset_checksum="def")  # other landscapes
    assert ensemble.main([str(first), str(second), "--out", str(tmp_path / "data")]) == 0
    set_config(second, dataset_checksum="abc", run="b", verbose=2)  # only names and chatter
    with pytest.raises(SystemExit, match="one network twice"):
        ensemble.main([str(first), str(second), "--out", str(tmp_path / "same")])


def test_one_member_folder_given_twice_is_refused(tmp_path):
    member = make_member(tmp_path / "a", 1)
    with pytest.raises(SystemExit, match="given twice"):
        ensemble.main([str(member), str(tmp_path / "." / "a"), "--view-scale", "5/4",
                       "--out", str(tmp_path / "model")])
    assert not (tmp_path / "model").exists()


def test_a_view_scale_the_image_size_cannot_take_is_refused_before_any_network_loads(tmp_path):
    # 32 px at stride 4 seen 4/3 larger: the sides would have to be multiples of 3.
    members = [make_member(tmp_path / f"m{seed}", seed, stride=4) for seed in (1, 2)]
    (members[0] / "model.keras").write_bytes(b"not a model: loading it would fail otherwise")
    with pytest.raises(SystemExit, match="multiples of 3 px .*members' 32 px"):
        ensemble.main([*map(str, members), "--view-scale", "4/3", "--out", str(tmp_path / "m"),
                       "--calibrate", str(tmp_path / "nowhere")])
    assert not (tmp_path / "m").exists()


@pytest.mark.parametrize("kind", ["trained run", "other folder"])
def test_out_that_is_not_an_ensemble_is_refused_and_kept(tmp_path, kind):
    members = [make_member(tmp_path / f"m{seed}", seed) for seed in (1, 2)]
    if kind == "trained run":
        out = make_member(tmp_path / "run", 3)
    else:
        out = tmp_path / "notes"
        out.mkdir()
        (out / "model.keras").write_text("mine")
    before = {path.name: path.read_bytes() for path in out.iterdir()}
    with pytest.raises(SystemExit, match="not an ensemble"):
        ensemble.main([*map(str, members), "--out", str(out)])
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before


def test_out_inside_a_file_is_refused_before_the_members_load(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit, match="notes.txt is a file"):
        ensemble.main([str(make_member(tmp_path / "m1", 1)), "--view-scale", "5/4", "--out",
                       str(tmp_path / "notes.txt" / "model")])
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_an_earlier_ensemble_is_replaced_as_one_unit(tmp_path, monkeypatch):
    members = [make_member(tmp_path / f"m{seed}", seed) for seed in (1, 2, 3)]
    out = tmp_path / "model"
    assert ensemble.main([str(members[0]), str(members[1]), "--out", str(out)]) == 0
    before = {path.name: path.read_bytes() for path in out.iterdir()}

    def killed(*args, **kwargs):  # the process dies while it writes config.json
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(ensemble.files, "write_json_atomic", killed)
        with pytest.raises(KeyboardInterrupt):
            ensemble.main([str(members[0]), str(members[2]), "--out", str(out)])
    assert {path.name: path.read_bytes() for path in out.iterdir()} == before
    assert sorted(path.name for path in tmp_path.iterdir()) == ["m1", "m2", "m3", "model"]

    assert ensemble.main([str(members[0]), str(members[2]), "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["seed"] == "1+3" and sorted(path.name for path in out.iterdir()) == [
        "config.json", "model.keras"]
    assert (out / "model.keras").read_bytes() != before["model.keras"]


def test_one_member_or_out_among_members_is_a_usage_error(tmp_path):
    first = make_member(tmp_path / "a", 1)
    for argv in ([str(first), "--out", str(tmp_path / "model")],
                 [str(first), str(make_member(tmp_path / "b", 2)), "--out", str(first)]):
        with pytest.raises(SystemExit) as exit_info:
            ensemble.main(argv)
        assert exit_info.value.code == 2


def test_one_network_seen_larger_predicts_what_models_viewed_at_makes_of_it(tmp_path):
    import keras

    import models

    member = make_member(tmp_path / "m1", 1, stride=4)
    out = tmp_path / "model"
    assert ensemble.main([str(member), "--view-scale", "3/2", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["view_scale"], config["stride"]) == ("3/2", 8)  # 8 * 3/2 = 12, a multiple of 4
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 24, 1)).astype(np.float32)
    network = keras.saving.load_model(member / "model.keras")
    expected = np.asarray(models.viewed_at(network, "3/2")(x))
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    assert np.abs(expected - network.predict(x, verbose=0)).max() > 1e-3


def test_several_view_scales_average_the_views_of_the_members(tmp_path):
    import keras

    import models

    members = [make_member(tmp_path / f"m{seed}", seed, stride=4) for seed in (1, 2)]
    out = tmp_path / "model"
    assert ensemble.main([*map(str, members), "--view-scale", "1", "3/2", "--out", str(out)]) == 0
    config = json.loads((out / "config.json").read_text())
    assert (config["view_scale"], config["stride"]) == ("1 3/2", 8)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 24, 1)).astype(np.float32)
    networks = [keras.saving.load_model(member / "model.keras") for member in members]
    expected = np.mean([np.asarray(models.viewed_at(network, scale)(x))
                        for network in networks for scale in ("1", "3/2")], axis=0)
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)


def test_agreed_octaves_build_models_agreed_average_and_are_recorded(tmp_path, capsys):
    import keras

    import models

    members = [make_member(tmp_path / f"m{seed}", seed, stride=4) for seed in (1, 2)]
    out = tmp_path / "model"
    assert ensemble.main([*map(str, members), "--view-scale", "1", "3/2", "--agreed-octaves", "2",
                          "--out", str(out)]) == 0
    assert "its detail at 2 octaves kept as far as they agree" in capsys.readouterr().out
    assert json.loads((out / "config.json").read_text())["agreed_octaves"] == 2
    x = np.random.default_rng(0).uniform(-1, 1, (1, 16, 24, 1)).astype(np.float32)
    networks = [keras.saving.load_model(member / "model.keras") for member in members]
    expected = np.asarray(models.agreed_average(networks, ["1", "3/2"], 2)(x))
    model = keras.saving.load_model(out / "model.keras", safe_mode=True)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, atol=1e-5)
    plain = np.mean([np.asarray(models.viewed_at(network, ["1", "3/2"])(x))
                     for network in networks], axis=0)
    assert np.abs(expected - plain).max() > 1e-3  # some detail was not agreed on


@pytest.mark.parametrize("members, extra, message", [
    (1, ["--view-scale", "5/4", "--agreed-octaves", "2"], "at least two predictions"),
    (2, ["--agreed-octaves", "-1"], "0 or more"),
])
def test_agreed_octaves_without_two_predictions_or_below_zero_are_refused(tmp_path, capsys,
                                                                          members, extra,
                                                                          message):
    folders = [make_member(tmp_path / f"m{seed}", seed) for seed in range(1, members + 1)]
    with pytest.raises(SystemExit) as exit_info:
        ensemble.main([*map(str, folders), "--out", str(tmp_path / "model"), *extra])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_the_same_view_scale_twice_is_a_usage_error(tmp_path):
    member = make_member(tmp_path / "a", 1)
    with pytest.raises(SystemExit) as exit_info:
        ensemble.main([str(member), "--view-scale", "5/4", "1.25", "--out", str(tmp_path / "m")])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("stride, scale, needed", [(32, "5/4", 128), (32, "3/2", 64), (32, "2", 16),
                                                   (4, "1", 4), (6, "3/4", 8)])
def test_view_stride_makes_the_enlarged_side_a_multiple_of_the_network_stride(stride, scale,
                                                                              needed):
    assert ensemble.view_stride(stride, [scale]) == needed
    side = needed * fractions.Fraction(scale)
    assert side.denominator == 1 and side.numerator % stride == 0


def test_view_stride_of_several_scales_fits_every_view():
    scales = ["1", "5/4", "3/2", "7/4"]
    needed = ensemble.view_stride(32, scales)
    assert needed == 128  # 5/4 and 7/4 need 128, 3/2 needs 64, 1 needs 32
    for scale in scales:
        side = needed * fractions.Fraction(scale)
        assert side.denominator == 1 and side.numerator % 32 == 0


@pytest.mark.parametrize("scale", ["0", "-1", "abc", "1/0"])
def test_a_view_scale_that_is_not_a_positive_fraction_is_a_usage_error(tmp_path, scale):
    member = make_member(tmp_path / "a", 1)
    with pytest.raises(SystemExit) as exit_info:
        ensemble.main([str(member), "--view-scale", scale, "--out", str(tmp_path / "model")])
    assert exit_info.value.code == 2


def test_the_script_sets_up_the_cpu_before_keras_loads():
    """write_ensemble imports Keras late; cpu.py must already be in, or its thread settings
    are lost and it warns (as `make model` showed)."""
    result = subprocess.run([sys.executable, "-c", "import sys, ensemble; "
                             "print('cpu' in sys.modules, 'tensorflow' in sys.modules)"],
                            cwd=Path(ensemble.__file__).parent, capture_output=True, text=True,
                            check=True)
    assert result.stdout.split() == ["True", "False"]


def tinted_dataset(folder, rgb, count=60, size=32):
    """Small images of one tint, a little varied in brightness."""
    from helpers import write_images

    rng = np.random.default_rng(0)
    images = [np.full((size, size, 3), np.clip(np.array(rgb) * rng.uniform(0.6, 1.2), 0, 255),
                      np.uint8) for _ in range(count)]
    write_images(folder, images, [f"img{i}" for i in range(count)], "test")
    return folder


def test_calibrate_fits_the_least_squares_gain_on_the_validation_split(tmp_path):
    import keras

    import dataset
    import lab

    data = tinted_dataset(tmp_path / "data", (210, 130, 60))  # warm: a > 0, b > 0
    members = [make_member(tmp_path / f"m{seed}", seed, constant_ab=ab)  # known colour: the
               for seed, ab in ((1, (0.05, 0.10)), (2, (0.15, 0.10)))]  # gain has a closed form
    plain, calibrated = tmp_path / "plain", tmp_path / "calibrated"
    assert ensemble.main([*map(str, members), "--view-scale", "1", "2", "--out", str(plain)]) == 0
    assert ensemble.main([*map(str, members), "--view-scale", "1", "2", "--out", str(calibrated),
                          "--calibrate", str(data)]) == 0
    lightness, truth = (np.asarray(a, np.float64) for a in dataset.load_split(data, "val"))
    assert len(truth) > 0
    predicted = np.array([0.10, 0.10]) * lab.AB_SCALE  # the members' mean, at every pixel
    expected = float(np.sum(truth * predicted) / (truth[..., 0].size * np.sum(predicted ** 2)))
    config = json.loads((calibrated / "config.json").read_text())
    assert config["ab_gain"] == [pytest.approx(expected, rel=1e-3)]
    assert config["ab_gain"][0] > 1.5  # the members are far paler than the tint
    model = keras.saving.load_model(calibrated / "model.keras", safe_mode=True)
    np.testing.assert_allclose(lab.decode_ab(model.predict(lab.encode_l(lightness), verbose=0)),
                               np.broadcast_to(expected * predicted, truth.shape), rtol=1e-3)
    assert "ab_gain" not in json.loads((plain / "config.json").read_text())


def test_chroma_bands_recover_a_gain_that_falls_with_chroma():
    import keras
    from keras import layers

    import lab

    inputs = keras.Input((None, None, 1))  # predicts ab = L_in * (0.2, 0.1): chroma follows L
    outputs = layers.Conv2D(2, 1, use_bias=False,
                            kernel_initializer=keras.initializers.Constant((0.2, 0.1)))(inputs)
    model = keras.Model(inputs, outputs)
    lightness = np.random.default_rng(0).uniform(5, 100, (12, 16, 16, 1))
    predicted = lab.decode_ab(model.predict(lab.encode_l(lightness), verbose=0))
    chroma = np.linalg.norm(predicted, axis=-1, keepdims=True)

    def wanted(c):  # faint colours want far more gain than vivid ones
        return 2.0 - c / 40

    truth = predicted * wanted(chroma)
    chromas, gains = ensemble.fit_chroma_gains(model, lightness, truth, bands=8, batch=5)
    assert len(chromas) == len(gains) == 8 and np.all(np.diff(chromas) > 0)
    # each band's least-squares gain leans to its vivid end, where the squares weigh more
    np.testing.assert_allclose(gains, wanted(chromas), rtol=0.02)
    assert np.all(gains <= wanted(chromas))
    _, one_gain = ensemble.fit_chroma_gains(model, lightness, truth)
    assert one_gain == pytest.approx([np.sum(predicted * truth) / np.sum(predicted ** 2)],
                                     rel=1e-5)


def test_calibrating_by_chroma_bands_saves_the_gains_it_reports(tmp_path, capsys):
    import keras

    import dataset
    import lab

    data = tinted_dataset(tmp_path / "data", (210, 130, 60))
    members = [make_member(tmp_path / f"m{seed}", seed, constant_ab=(0.05 * seed, 0.05),
                           ab_per_l=(0.03, 0.04)) for seed in (1, 2)]  # chroma follows L
    plain, banded = tmp_path / "plain", tmp_path / "banded"
    assert ensemble.main([*map(str, members), "--out", str(plain)]) == 0
    assert ensemble.main([*map(str, members), "--out", str(banded), "--calibrate", str(data),
                          "--chroma-bands", "4"]) == 0
    assert "over 4 chroma bands" in capsys.readouterr().out
    config = json.loads((banded / "config.json").read_text())
    chromas, gains = np.array(config["ab_gain_chroma"]), np.array(config["ab_gain"])
    assert len(gains) == 4 and np.all(np.diff(chromas) > 0) and np.all(gains > 1)
    assert np.ptp(gains) > 0.01  # the bands want different gains, or the test shows nothing
    x = lab.encode_l(np.asarray(dataset.load_split(data, "val")[0]))
    before = keras.saving.load_model(plain / "model.keras").predict(x, verbose=0)
    after = keras.saving.load_model(banded / "model.keras", safe_mode=True).predict(x, verbose=0)
    squared = np.sum(lab.decode_ab(before) ** 2, axis=-1, keepdims=True)
    np.testing.assert_allclose(after, before * np.interp(squared, chromas ** 2, gains),
                               rtol=2e-3, atol=1e-5)


def textured_dataset(folder, rgb, count=60, size=32):
    """Small images of one tint whose brightness varies from pixel to pixel: L with edges."""
    from helpers import write_images

    rng = np.random.default_rng(0)
    images = [np.clip(np.array(rgb) * rng.uniform(0.3, 1.2, (size, size, 1)), 0, 255)
              .astype(np.uint8) for _ in range(count)]
    write_images(folder, images, [f"img{i}" for i in range(count)], "test")
    return folder


def test_guided_radius_filters_the_average_and_the_gain_is_fitted_after_it(tmp_path, capsys):
    import keras

    import dataset
    import lab
    import models

    data = textured_dataset(tmp_path / "data", (210, 130, 60))
    members = [make_member(tmp_path / f"m{seed}", seed) for seed in (1, 2)]
    out = tmp_path / "model"
    assert ensemble.main([*map(str, members), "--guided-radius", "2", "--calibrate", str(data),
                          "--out", str(out)]) == 0
    assert "its colour's edges led onto L's within 2 px" in capsys.readouterr().out
    config = json.loads((out / "config.json").read_text())
    assert (config["guided_radius"], config["guided_eps"]) == (2, ensemble.GUIDED_EPS)

    average = models.average_of([keras.saving.load_model(m / "model.keras") for m in members])
    guided = models.with_guided_filter(average, 2, ensemble.GUIDED_EPS)
    lightness, truth = dataset.load_split(data, "val")
    x = lab.encode_l(np.asarray(lightness))
    gains = {}
    for name, model in (("plain", average), ("guided", guided)):
        predicted = lab.decode_ab(model.predict(x, verbose=0)).astype(np.float64)
        gains[name] = np.sum(predicted * truth) / np.sum(predicted ** 2)
    assert abs(gains["guided"] / gains["plain"] - 1) > 0.01  # the order shows in the gain
    assert config["ab_gain"] == [pytest.approx(gains["guided"], abs=1e-4)]
    saved = keras.saving.load_model(out / "model.keras", safe_mode=True)
    np.testing.assert_allclose(saved.predict(x, verbose=0),
                               guided.predict(x, verbose=0) * config["ab_gain"][0], atol=1e-4)


@pytest.mark.parametrize("extra, message", [
    (["--chroma-bands", "3"], "needs --calibrate"),
    (["--chroma-bands", "0", "--calibrate", "data"], "at least 1"),
    (["--guided-radius", "-1"], "--guided-radius must be 0 or more"),
    (["--guided-radius", "2", "--guided-eps", "0"], "--guided-eps must be greater than zero"),
])
def test_chroma_bands_or_a_guided_filter_out_of_range_are_refused(tmp_path, capsys, extra,
                                                                   message):
    members = [make_member(tmp_path / f"m{seed}", seed) for seed in (1, 2)]
    with pytest.raises(SystemExit) as exit_info:
        ensemble.main([*map(str, members), "--out", str(tmp_path / "model"), *extra])
    assert exit_info.value.code == 2 and message in capsys.readouterr().err


def test_calibrating_against_colours_the_ensemble_does_not_follow_is_refused(tmp_path):
    data = tinted_dataset(tmp_path / "data", (60, 110, 210))  # blue: b < 0, against the members
    members = [make_member(tmp_path / f"m{seed}", seed, constant_ab=(0.0, 0.1))
               for seed in (1, 2)]
    with pytest.raises(SystemExit, match="no positive gain fits"):
        ensemble.main([*map(str, members), "--out", str(tmp_path / "model"),
                       "--calibrate", str(data)])
    assert not (tmp_path / "model" / "config.json").exists()


def test_calibrating_on_a_folder_that_is_no_dataset_says_so(tmp_path):
    members = [make_member(tmp_path / f"m{seed}", seed) for seed in (1, 2)]
    with pytest.raises(SystemExit, match="--calibrate"):
        ensemble.main([*map(str, members), "--out", str(tmp_path / "model"),
                       "--calibrate", str(tmp_path / "nowhere")])
    assert not (tmp_path / "model" / "config.json").exists()
