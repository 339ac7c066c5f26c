"""models.py: the seed graphs' exact sizes, fully convolutional shapes, strides and budgets."""

import cpu  # noqa: F401, I001  (before TensorFlow, as every entry point does)
import keras
import numpy as np
import pytest

import ab_classes
import models

SEED_PARAMETERS = {"autoencoder": 109_378, "resnet": 52_338, "unet": 1_089_794}
# Forward GFLOP per 128x128 image of the seed graphs, measured independently (DESIGN.md).
SEED_GFLOP = {"autoencoder": 0.61, "resnet": 1.71, "unet": 0.67}
ALL = [(name, preset) for preset in models.PRESETS for name in models.MODELS]


@pytest.mark.parametrize("name", models.MODELS)
def test_seed_preset_has_the_seed_studys_parameter_count(name):
    model = models.build_model(name, "seed", input_shape=(128, 128, 1))
    assert model.count_params() == SEED_PARAMETERS[name]


@pytest.mark.parametrize("name", models.MODELS)
def test_seed_flop_count_matches_the_reference_measurement(name):
    model = models.build_model(name, "seed", input_shape=(128, 128, 1))
    assert models.forward_flops(model) / 1e9 == pytest.approx(SEED_GFLOP[name], abs=0.01)


@pytest.mark.parametrize("name, preset", ALL)
@pytest.mark.parametrize("height, width", [(32, 32), (64, 96)])
def test_model_maps_l_to_ab_of_the_same_size(name, preset, height, width):
    model = models.build_model(name, preset)
    output = model(np.zeros((2, height, width, 1), np.float32), training=False)
    assert tuple(output.shape) == (2, height, width, 2)


@pytest.mark.parametrize("name, preset", ALL)
def test_total_stride_by_name_matches_the_built_graph(name, preset):
    assert models.total_stride(name, preset) == models.total_stride(models.build_model(name, preset))


@pytest.mark.parametrize("name", models.MODELS)
def test_large_preset_costs_one_to_one_and_a_half_gflop(name):
    model = models.build_model(name, "large", input_shape=(128, 128, 1))
    assert 1.0 <= models.forward_flops(model) / 1e9 <= 1.5


def test_large_resnet_uses_identity_add_blocks_and_sees_the_whole_image():
    model = models.build_model("resnet", "large", input_shape=(128, 128, 1))
    assert any(isinstance(layer, keras.layers.Add) for layer in model.layers)
    assert models.describe("resnet", "large")["receptive_field"] >= 128


def test_large_autoencoder_has_no_skip_connections():
    model = models.build_model("autoencoder", "large")
    merges = (keras.layers.Add, keras.layers.Concatenate)
    assert not any(isinstance(layer, merges) for layer in model.layers)


@pytest.mark.parametrize("name, preset", ALL)
def test_output_stays_float32_under_mixed_bfloat16(name, preset):
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = models.build_model(name, preset)
    finally:
        keras.mixed_precision.set_global_policy(previous)
    output = model(np.zeros((1, 32, 32, 1), np.float32), training=False)
    assert model.layers[1].compute_dtype == "bfloat16"
    assert keras.backend.standardize_dtype(output.dtype) == "float32"


def test_unknown_model_name_is_a_value_error():
    with pytest.raises(ValueError, match="unknown model"):
        models.build_model("vgg")


# --------------------------------------------------------------------------- classification head

NUM_BINS = 229  # ab_classes.quantized_gamut() at grid 10


@pytest.mark.parametrize("name, preset", ALL)
@pytest.mark.parametrize("height, width", [(32, 32), (64, 96)])
def test_classification_head_gives_bin_logits_at_quarter_resolution(name, preset, height, width):
    model = models.build_model(name, preset, head="classification", num_bins=NUM_BINS)
    logits = model(np.zeros((2, height, width, 1), np.float32), training=False)
    assert tuple(logits.shape) == (2, height // 4, width // 4, NUM_BINS)
    assert keras.backend.standardize_dtype(logits.dtype) == "float32"


@pytest.mark.parametrize("name, preset", ALL)
def test_wrapped_classification_model_outputs_full_size_ab(name, preset):
    bins = ab_classes.quantized_gamut()
    logits_model = models.build_model(name, preset, head="classification", num_bins=len(bins))
    ab_model = ab_classes.ab_output_model(logits_model, bins)
    ab = ab_model(np.zeros((2, 64, 96, 1), np.float32), training=False)
    assert tuple(ab.shape) == (2, 64, 96, 2)
    assert np.abs(keras.ops.convert_to_numpy(ab)).max() <= 1.0  # a mean of bin centres / 128


@pytest.mark.parametrize("name, preset", ALL)
def test_classification_stride_by_name_matches_the_built_graph(name, preset):
    built = models.build_model(name, preset, head="classification", num_bins=NUM_BINS)
    by_name = models.total_stride(name, preset, head="classification")
    assert by_name == models.total_stride(built)
    assert by_name % 4 == 0 and by_name % models.total_stride(name, preset) == 0


def test_classification_head_shares_the_regression_trunk():
    regression = models.build_model("unet", "large")
    classification = models.build_model("unet", "large", head="classification",
                                        num_bins=NUM_BINS)
    assert ([type(layer) for layer in regression.layers[:-1]]
            == [type(layer) for layer in classification.layers[:-1]])
    assert classification.layers[-1].name == "ab_logits"


def test_classification_head_without_bins_is_a_value_error():
    with pytest.raises(ValueError, match="num_bins"):
        models.build_model("unet", head="classification")


def pointwise_network():
    """ab = (L, L / 2) pixel by pixel: what it returns shows what it was shown."""
    inputs = keras.Input((None, None, 1))
    outputs = keras.layers.Concatenate()([inputs, keras.layers.Rescaling(0.5)(inputs)])
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("scale, seen", [("5/4", (10, 15)), ("3/2", (12, 18)), ("2", (16, 24))])
def test_viewed_at_shows_the_input_enlarged_and_returns_ab_at_its_size(scale, seen, tmp_path):
    viewed = models.viewed_at(pointwise_network(), scale)
    x = np.random.default_rng(0).uniform(-1, 1, (2, 8, 12, 1)).astype(np.float32)
    assert tuple(viewed.get_layer("view")(x).shape[1:3]) == seen
    y = np.asarray(viewed(x))
    assert y.shape == (2, 8, 12, 2)
    np.testing.assert_allclose(y[..., 1], y[..., 0] / 2, atol=1e-6)
    assert np.abs(y[..., 0] - x[..., 0]).max() > 0.05  # resampled, not passed through
    constant = np.full((1, 8, 12, 1), 0.3, np.float32)  # resampling keeps a flat image flat
    np.testing.assert_allclose(np.asarray(viewed(constant))[..., 0], 0.3, atol=1e-6)
    viewed.save(tmp_path / "viewed.keras")
    loaded = keras.saving.load_model(tmp_path / "viewed.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), y, atol=1e-6)


def test_viewed_at_refuses_a_scale_that_is_not_positive():
    with pytest.raises(ValueError, match="positive"):
        models.viewed_at(pointwise_network(), 0)


def test_viewed_at_several_scales_averages_the_views_and_saves_the_network_once(tmp_path):
    inputs = keras.Input((None, None, 1))
    network = keras.Model(inputs, keras.layers.Conv2D(2, 3, padding="same")(inputs))
    x = np.random.default_rng(1).uniform(-1, 1, (2, 8, 12, 1)).astype(np.float32)
    views = [np.asarray(models.viewed_at(network, scale)(x)) for scale in ("1", "5/4", "3/2")]
    averaged = models.viewed_at(network, ["1", "5/4", "3/2"])
    y = np.asarray(averaged(x))
    np.testing.assert_allclose(y, np.mean(views, axis=0), atol=1e-6)
    assert np.abs(views[2] - views[0]).max() > 1e-3  # the views differ, so the mean is new
    averaged.save(tmp_path / "views.keras")
    loaded = keras.saving.load_model(tmp_path / "views.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), y, atol=1e-6)
    assert len(loaded.weights) == len(network.weights) == 2  # one kernel and bias, shared


def test_viewed_at_refuses_no_scales_and_a_scale_that_is_not_positive_among_several():
    for scales in ([], ["1", "-1/2"]):
        with pytest.raises(ValueError, match="positive"):
            models.viewed_at(pointwise_network(), scales)


def offset_network(offset, detail):
    """ab = (offset + detail * L) on both channels: networks that agree on the coarse colour
    `offset` and paint the input's pixel noise as detail of their own strength and sign."""
    inputs = keras.Input((None, None, 1))
    ab = keras.layers.Rescaling(detail, offset=offset)(inputs)
    return keras.Model(inputs, keras.layers.Concatenate()([ab, ab]))


def test_agreed_average_of_predictions_that_agree_is_their_mean(tmp_path):
    networks = [offset_network(0.1, 1.0), offset_network(0.1, 0.9)]
    x = np.random.default_rng(2).uniform(-0.3, 0.3, (2, 16, 24, 1)).astype(np.float32)
    agreed = models.agreed_average(networks, "1", octaves=3)
    mean = np.asarray(models.average_of(networks)(x))
    y = np.asarray(agreed(x))
    assert y.shape == mean.shape == (2, 16, 24, 2)
    np.testing.assert_allclose(y, mean, atol=0.01)  # spread 0.05^2 against 0.95^2: detail kept
    agreed.save(tmp_path / "agreed.keras")
    loaded = keras.saving.load_model(tmp_path / "agreed.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), y, atol=1e-6)


def agreed_reference(predictions, octaves):
    """models.agreed_average's rule in NumPy, from the predictions (N, B, H, W, 2)."""
    from scipy.ndimage import gaussian_filter  # scikit-image's dependency

    def blur(x, sigma):  # zero outside the image, as the model's padded convolutions
        return gaussian_filter(x, (0, sigma, sigma, 0), mode="constant", truncate=3.0)

    previous, detail = predictions, 0
    for octave in range(octaves):
        sigma = 2 ** octave
        norm = blur(np.ones(predictions.shape[1:4] + (1,)), sigma)
        lows = np.stack([blur(p, sigma) / norm for p in predictions])
        bands = previous - lows
        agreed_band = bands.mean(axis=0)
        agreed = np.sum(agreed_band ** 2, axis=-1, keepdims=True)
        spread = np.maximum(np.sum(bands ** 2, axis=-1, keepdims=True).mean(axis=0) - agreed, 0)
        agreed, spread = blur(agreed, sigma), blur(spread, sigma)
        detail = detail + agreed / (agreed + spread + 1e-12) * agreed_band
        previous = lows
    return previous.mean(axis=0) + detail


def test_agreed_average_follows_its_rule_over_every_member_and_view():
    networks = [offset_network(0.1, 1.0), offset_network(-0.1, 0.4), offset_network(0.0, -0.3)]
    x = np.random.default_rng(4).uniform(-0.5, 0.5, (2, 16, 24, 1)).astype(np.float32)
    predictions = np.stack([np.asarray(models.viewed_at(network, scale)(x), np.float64)
                            for network in networks for scale in ("1", "3/2")])
    y = np.asarray(models.agreed_average(networks, ["1", "3/2"], octaves=3)(x))
    np.testing.assert_allclose(y, agreed_reference(predictions, 3), atol=1e-4)
    assert np.abs(y - predictions.mean(axis=0)).max() > 0.02  # not the plain mean


def test_agreed_average_drops_the_detail_predictions_disagree_on_and_keeps_the_coarse_colour():
    networks = [offset_network(0.2, 1.0), offset_network(0.2, -0.5)]  # mean detail 0.25 L
    x = np.random.default_rng(3).uniform(-0.3, 0.3, (2, 32, 32, 1)).astype(np.float32)
    mean = np.asarray(models.average_of(networks)(x))
    y = np.asarray(models.agreed_average(networks, "1", octaves=4)(x))
    assert np.std(y - 0.2) < 0.4 * np.std(mean - 0.2)  # share of the detail about 0.1
    assert np.mean(y) == pytest.approx(0.2, abs=0.005)  # the colour both agree on stays


def test_agreed_average_needs_two_predictions_and_an_octave():
    with pytest.raises(ValueError, match="two predictions"):
        models.agreed_average([offset_network(0.1, 1.0)], "1", octaves=2)
    with pytest.raises(ValueError, match="one octave"):
        models.agreed_average([offset_network(0.1, 1.0), offset_network(0.1, 0.5)], "1", 0)


def colour_of(ab):
    """A network that paints the fixed colour `ab` (B, H, W, 2) whatever its input."""
    inputs = keras.Input((None, None, 1))
    zero = keras.layers.Rescaling(0.0)(keras.layers.Concatenate()([inputs, inputs]))
    return keras.Model(inputs, keras.ops.add(zero, keras.ops.convert_to_tensor(ab)))


def guided_reference(lightness, ab, radius, eps):
    """models.with_guided_filter's rule in NumPy: box means over the pixels inside the image."""
    from scipy.ndimage import uniform_filter  # scikit-image's dependency

    def box(x):
        size = (1, 2 * radius + 1, 2 * radius + 1, 1)
        inside = uniform_filter(np.ones(x.shape[:3] + (1,)), size, mode="constant")
        return uniform_filter(x, size, mode="constant") / inside

    mean_l, mean_ab = box(lightness), box(ab)
    slope = (box(lightness * ab) - mean_l * mean_ab) / (box(lightness ** 2) - mean_l ** 2 + eps)
    offset = mean_ab - slope * mean_l
    return box(slope) * lightness + box(offset)


def test_guided_filter_follows_its_rule_and_loads_in_safe_mode(tmp_path):
    rng = np.random.default_rng(5)
    lightness = rng.uniform(0, 100, (2, 20, 28, 1))
    ab = rng.uniform(-0.5, 0.5, (2, 20, 28, 2))
    guided = models.with_guided_filter(colour_of(ab.astype(np.float32)), radius=2, eps=1.0)
    x = (lightness / 50 - 1).astype(np.float32)
    y = np.asarray(guided(x))
    np.testing.assert_allclose(y, guided_reference(lightness, ab, 2, 1.0), atol=1e-5)
    assert np.abs(y - ab).max() > 0.1  # noise that L does not explain is smoothed away
    guided.save(tmp_path / "guided.keras")
    loaded = keras.saving.load_model(tmp_path / "guided.keras", safe_mode=True)
    np.testing.assert_allclose(np.asarray(loaded(x)), y, atol=1e-6)


def test_guided_filter_computes_in_float32_under_a_bfloat16_policy():
    rng = np.random.default_rng(6)
    lightness = rng.uniform(0, 100, (1, 16, 16, 1))
    ab = rng.uniform(-0.5, 0.5, (1, 16, 16, 2))
    network = colour_of(ab.astype(np.float32))  # built in float32, as saved members load
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        guided = models.with_guided_filter(network, radius=2, eps=1.0)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    y = np.asarray(guided((lightness / 50 - 1).astype(np.float32)))
    np.testing.assert_allclose(y, guided_reference(lightness, ab, 2, 1.0), atol=1e-4)


def test_guided_filter_keeps_a_colour_that_follows_l_and_smooths_one_over_flat_l():
    lightness = np.tile(np.linspace(10, 90, 24), (1, 16, 1))[..., None]  # a ramp left to right
    x = (lightness / 50 - 1).astype(np.float32)
    follows = np.concatenate([0.004 * lightness - 0.2, -0.002 * lightness], axis=-1)
    y = np.asarray(models.with_guided_filter(colour_of(follows.astype(np.float32)), 3, 1.0)(x))
    np.testing.assert_allclose(y, follows, atol=2e-3)  # a straight line in L is kept (eps
    # shrinks its slope by the window's variance of L over that plus eps: 2% here)
    flat = np.zeros((1, 16, 24, 1), np.float32)  # L* 50 everywhere
    stripes = np.zeros((1, 16, 24, 2), np.float32)
    stripes[:, :, ::2] = 0.4
    y = np.asarray(models.with_guided_filter(colour_of(stripes), 3, 1.0)(flat))
    assert np.abs(y[:, 4:-4, 4:-4] - 0.2).max() < 0.02  # where L says nothing: the mean colour


def test_guided_filter_takes_colour_off_the_wrong_side_of_an_edge_in_l_and_not_off_the_right():
    lightness = np.full((1, 24, 24, 1), 30.0)
    lightness[:, :12] = 80.0  # a bright sky above dark land: the edge between rows 11 and 12
    sky = np.zeros((1, 24, 24, 2), np.float32)
    sky[:, :13, :, 1] = -0.3  # blue bleeds one row into the land
    x = (lightness / 50 - 1).astype(np.float32)
    y = np.asarray(models.with_guided_filter(colour_of(sky), radius=4, eps=1.0)(x))
    assert np.abs(y[:, 12, :, 1]).max() < 0.4 * 0.3  # the land's row at the edge loses most
    np.testing.assert_allclose(y[:, :12, :, 1], -0.3, atol=1e-3)  # the sky keeps all its blue
    blurred = np.asarray(keras.layers.AveragePooling2D(9, strides=1, padding="same")(sky))
    assert blurred[:, 11, :, 1].max() > -0.25  # where a blur of the same size takes it


def test_guided_filter_needs_a_radius_and_a_positive_eps():
    with pytest.raises(ValueError, match="radius"):
        models.with_guided_filter(pointwise_network(), 0, 1.0)
    with pytest.raises(ValueError, match="eps"):
        models.with_guided_filter(pointwise_network(), 2, 0.0)


def test_help_answers_without_building_a_model(capsys, monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("--help built a model")
    monkeypatch.setattr(models, "build_model", refuse)
    with pytest.raises(SystemExit) as exit_info:
        models.main(["--help"])
    assert exit_info.value.code == 0
    assert "--size" in capsys.readouterr().out


def test_table_counts_flops_at_the_size_asked_for(capsys):
    assert models.main(["--size", "64"]) == 0
    out = capsys.readouterr().out
    assert "per 64x64 image" in out
    unet = next(line for line in out.splitlines() if line.startswith("unet ") and " seed " in line)
    assert float(unet.split()[3]) == pytest.approx(SEED_GFLOP["unet"] / 4, abs=0.01)


@pytest.mark.parametrize("size", ["100", "48", "0"])
def test_a_size_the_models_cannot_take_is_a_usage_error(size, capsys):
    with pytest.raises(SystemExit) as exit_info:
        models.parse_args(["--size", size])
    assert exit_info.value.code == 2
    assert "--size must be a positive multiple of 32" in capsys.readouterr().err
    assert models.parse_args(["--size", "96"]).size == 96
