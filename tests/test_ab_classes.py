"""ab_classes.py: the quantized sRGB gamut, soft targets, rebalancing, the loss, the decoder.

The two-colour problem that shows why colour-as-classes exists is trained through train.py,
in tests/test_train.py."""

import inspect
import os
import subprocess
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import cpu  # noqa: F401, I001  (before TensorFlow, as every entry point does)
import keras
import numpy as np
import pytest
from keras import layers

import ab_classes
import helpers
import lab

SIZE = 32


@pytest.fixture(scope="module")
def bins():
    return ab_classes.quantized_gamut()


def random_ab(rng, shape):
    """ab spread over the whole sRGB range, inside and at the edge of the gamut."""
    return rng.uniform(-100.0, 100.0, shape + (2,)).astype(np.float32)


def srgb_cube(steps):
    axis = np.linspace(0.0, 1.0, steps)
    return np.stack(np.meshgrid(axis, axis, axis, indexing="ij"), axis=-1).reshape(-1, 3)


# --------------------------------------------------------------------------- gamut


def test_gamut_bins_are_distinct_points_of_the_grid(bins):
    # How many there are is left to the two gamut tests below: every grid point in sRGB, no other.
    assert bins.ndim == 2 and bins.shape[1] == 2 and len(bins) > 0
    # the grid the left-out test searches reaches past every bin, so it sees every point
    assert np.abs(bins).max() < 130.0
    np.testing.assert_array_equal(bins, np.round(bins / 10.0) * 10.0)
    assert len(np.unique(bins, axis=0)) == len(bins)


def test_every_bin_centre_is_an_8_bit_srgb_colour_at_some_lightness(bins):
    """For each centre, the best L's round trip is within tolerance, and the 8-bit sRGB colour
    it maps to really has (almost) that ab: the centre is a colour a photo can contain."""
    lightness = np.linspace(0.0, 100.0, 401)
    colours = np.concatenate(
        np.broadcast_arrays(lightness[:, None, None], bins[None, :, :1], bins[None, :, 1:]),
        axis=-1,
    ).astype(np.float32)
    errors = np.abs(lab.rgb_to_lab(lab.lab_to_rgb(colours)) - colours).max(axis=-1)
    best = errors.argmin(axis=0)
    assert errors.min(axis=0).max() < ab_classes.GAMUT_TOLERANCE
    best_colours = colours[best, np.arange(len(bins))]
    eight_bit = lab.rgb_to_lab(lab.lab_to_rgb_uint8(best_colours))
    assert np.abs(eight_bit[:, 1:] - bins).max() < 2.0  # 8-bit rounding moves ab by < 2


def test_grid_points_left_out_are_clipped_by_srgb_at_every_lightness(bins):
    axis = np.arange(-13, 14) * 10.0
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    kept = {tuple(b) for b in bins.tolist()}
    left_out = np.array([g for g in grid if tuple(g.tolist()) not in kept], np.float32)
    lightness = np.linspace(0.0, 100.0, 401)
    colours = np.concatenate(
        np.broadcast_arrays(lightness[:, None, None], left_out[None, :, :1], left_out[None, :, 1:]),
        axis=-1,
    )
    assert not ab_classes.is_in_srgb_gamut(colours).any()


def test_every_srgb_colour_lies_within_one_grid_step_of_a_bin(bins):
    ab = lab.rgb_to_lab(srgb_cube(33))[:, 1:]
    nearest = bins[ab_classes.nearest_bins_numpy(ab, bins)]
    assert np.linalg.norm(ab - nearest, axis=-1).max() < 10.0


def test_nearest_bins_numpy_equals_a_search_over_all_bins(bins):
    ab = random_ab(np.random.default_rng(1), (500,))
    brute = ((ab[:, None, :] - bins[None]) ** 2).sum(-1).argmin(-1)
    np.testing.assert_array_equal(ab_classes.nearest_bins_numpy(ab, bins), brute)


# --------------------------------------------------------------------------- soft-encoding


def test_soft_encoding_sums_to_one(bins):
    encoded = helpers.soft_encode_numpy(random_ab(np.random.default_rng(2), (300,)), bins)
    np.testing.assert_allclose(encoded.sum(axis=-1), 1.0, atol=1e-5)


def test_soft_encoding_puts_its_mass_on_the_k_nearest_bins_closest_heaviest(bins):
    ab = random_ab(np.random.default_rng(3), (300,))
    for neighbours in (5, 10):
        encoded = helpers.soft_encode_numpy(ab, bins, neighbours=neighbours)
        distances = ((ab[:, None, :] - bins[None]) ** 2).sum(-1)
        order = np.argsort(distances, axis=-1)
        nearest_mass = np.take_along_axis(encoded, order[:, :neighbours], axis=-1)
        assert (nearest_mass > 0).all()
        assert np.all(np.take_along_axis(encoded, order[:, neighbours:], axis=-1) == 0)
        assert np.all(np.diff(nearest_mass, axis=-1) <= 1e-7)


def test_tensorflow_soft_encoding_equals_numpy_reference(bins):
    ab = random_ab(np.random.default_rng(4), (2, 8, 8))
    for neighbours, sigma in ((5, 5.0), (10, 8.0)):
        expected = helpers.soft_encode_numpy(ab, bins, neighbours, sigma)
        actual = helpers.soft_encode(ab, bins, neighbours, sigma).numpy()
        assert actual.shape == (2, 8, 8, len(bins))
        np.testing.assert_allclose(actual, expected, atol=1e-5)


def test_neighbours_from_the_candidate_table_are_the_k_nearest_of_all_bins(bins):
    """Every point of a 1-unit lattice over the whole ab range, gamut edge and beyond included:
    the k bins found are at the k smallest distances a search over all bins finds."""
    axis = np.arange(-130.0, 130.5, 1.0, dtype=np.float32)
    ab = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    distances = ((ab[:, None, :] - bins[None]) ** 2).sum(-1)
    for neighbours in (1, 5, 10):
        index, _ = ab_classes.neighbour_weights(ab, bins, neighbours)
        found = np.sort(np.take_along_axis(distances, index.numpy(), axis=-1), axis=-1)
        brute = np.sort(distances, axis=-1)[:, :neighbours]
        np.testing.assert_allclose(found, brute, atol=1e-3)
        assert index.numpy().max() < len(bins)  # never the padding entry
        assert all(len(set(row)) == neighbours for row in index.numpy()[::97])


# --------------------------------------------------------------------------- rebalancing


def test_gray_images_are_masked_out():
    ab = np.zeros((3, 8, 8, 2), np.float32)
    ab[0] += np.random.default_rng(5).normal(0.0, 1.0, (8, 8, 2))  # sensor noise, no colour
    ab[1, 2, 3] = [30.0, -4.0]  # one coloured pixel is enough
    ab[2, ...] = [-6.0, 0.0]
    np.testing.assert_array_equal(ab_classes.non_gray_images(ab), [0.0, 1.0, 1.0])
    np.testing.assert_array_equal(ab_classes.non_gray_images(ab), ab_classes.non_gray_images(
        keras.ops.convert_to_tensor(ab)).numpy())


def write_memmapped_ab(path, ab):
    np.save(path, ab)
    return np.load(path, mmap_mode="r")


def test_rebalancing_weights_have_expectation_one_under_the_prior(bins, tmp_path):
    train_ab = write_memmapped_ab(tmp_path / "ab.npy", random_ab(np.random.default_rng(6),
                                                                 (10, 16, 16)) * 0.4)
    prior = ab_classes.class_prior(train_ab, bins, chunk=3)
    weights = ab_classes.rebalancing_weights(prior)
    assert prior.sum() == pytest.approx(1.0, abs=1e-5)
    assert float((prior * weights).sum()) == pytest.approx(1.0, abs=1e-5)


def test_rare_bins_weigh_more_than_common_bins(bins):
    prior = ab_classes.smooth_distribution(np.linspace(1.0, 50.0, len(bins)) ** 2, bins)
    prior /= prior.sum()
    weights = ab_classes.rebalancing_weights(prior)
    assert np.all(np.diff(weights[np.argsort(prior)]) < 0)  # the rarer, the heavier


def test_class_prior_counts_chunks_like_one_pass_and_ignores_gray_images(bins, tmp_path):
    colour = random_ab(np.random.default_rng(7), (6, 16, 16)) * 0.5
    with_gray = np.concatenate([colour, np.zeros((4, 16, 16, 2), np.float32)])
    one_pass = ab_classes.class_prior(colour, bins, chunk=100)
    chunked = ab_classes.class_prior(write_memmapped_ab(tmp_path / "ab.npy", with_gray), bins,
                                     chunk=4)
    np.testing.assert_allclose(chunked, one_pass, atol=1e-7)


# --------------------------------------------------------------------------- loss


@pytest.mark.parametrize("mse_weight", [0.0, 2.0])
def test_loss_equals_numpy_weighted_cross_entropy_on_soft_targets(bins, mse_weight):
    rng = np.random.default_rng(8)
    ab = random_ab(rng, (2, 16, 16)) * 0.5
    ab[1] = 1.0  # a gray image: left out
    logits = rng.normal(0.0, 2.0, (2, 4, 4, len(bins))).astype(np.float32)
    weights = rng.uniform(0.5, 3.0, len(bins)).astype(np.float32)

    pooled = ab_classes.downsample_targets(ab, 4)
    targets = helpers.soft_encode_numpy(pooled, bins)
    shifted = logits - logits.max(-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(-1, keepdims=True))
    per_pixel = -(targets * log_probs).sum(-1) * weights[ab_classes.nearest_bins_numpy(pooled,
                                                                                       bins)]
    mean_ab = np.exp(log_probs) @ bins  # MSE plus classification: the mean's squared error
    per_pixel += mse_weight * ((mean_ab - pooled) ** 2).sum(-1) / ab_classes.GRID**2
    per_pixel[1] = 0.0
    loss = ab_classes.make_loss(bins, weights, mse_weight=mse_weight)
    actual = float(loss(ab / lab.AB_SCALE, logits))
    assert actual == pytest.approx(per_pixel.mean(), rel=1e-4)


def test_loss_survives_serialization(bins):
    loss = ab_classes.make_loss(bins, np.ones(len(bins)), neighbours=10, sigma=7.0, mse_weight=3)
    restored = keras.losses.deserialize(keras.losses.serialize(loss))
    assert (restored.neighbours, restored.sigma, restored.mse_weight) == (10, 7.0, 3.0)
    np.testing.assert_array_equal(restored.bins, bins)


# --------------------------------------------------------------------------- decoding


def logits_model(num_bins):
    """Input L, stride 4, Q logits: the shape every family's classification model has."""
    inputs = keras.Input((None, None, 1))
    features = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(inputs)
    features = layers.Conv2D(16, 3, strides=2, padding="same", activation="relu")(features)
    features = layers.Conv2D(16, 3, padding="same", activation="relu")(features)
    return keras.Model(inputs, ab_classes.classification_head(features, num_bins))


def test_head_on_full_resolution_features_gives_quarter_resolution_logits(bins):
    inputs = keras.Input((None, None, 1))
    features = layers.Conv2D(8, 3, padding="same")(inputs)
    model = keras.Model(inputs, ab_classes.classification_head(features, len(bins), 4))
    logits = model.predict(np.zeros((1, SIZE, 2 * SIZE, 1), np.float32), verbose=0)
    assert logits.shape == (1, SIZE // 4, SIZE // 2, len(bins)) and logits.dtype == np.float32


def test_one_hot_logits_at_small_temperature_decode_to_that_bins_centre(bins):
    logits = keras.Input((None, None, len(bins)))
    decoder = keras.Model(logits, ab_classes.decode_annealed_mean(logits, bins, 0.01))
    chosen = [0, 57, len(bins) // 2, len(bins) - 1]
    one_hot = np.eye(len(bins), dtype=np.float32)[chosen][:, None, None, :]
    ab = decoder.predict(np.tile(one_hot, (1, 2, 2, 1)), verbose=0) * lab.AB_SCALE
    assert ab.shape == (4, 8, 8, 2)
    np.testing.assert_allclose(ab, np.broadcast_to(bins[chosen][:, None, None], ab.shape),
                               atol=1e-3)


def test_keras_decoder_equals_numpy_annealed_mean(bins):
    logits = keras.Input((None, None, len(bins)))
    decoder = keras.Model(logits, ab_classes.decode_annealed_mean(logits, bins, upsample=1))
    values = np.random.default_rng(9).normal(0.0, 3.0, (2, 3, 5, len(bins))).astype(np.float32)
    expected = helpers.annealed_mean_numpy(values, bins, ab_classes.TEMPERATURE)
    np.testing.assert_allclose(decoder.predict(values, verbose=0) * lab.AB_SCALE, expected,
                               atol=1e-3)


def test_saved_ab_model_loads_in_safe_mode_in_a_fresh_process_with_same_output(bins, tmp_path):
    keras.utils.set_random_seed(0)
    ab_model = ab_classes.ab_output_model(logits_model(len(bins)), bins)
    lightness = np.random.default_rng(10).uniform(-1.0, 1.0, (2, SIZE, SIZE, 1)).astype("float32")
    expected = ab_model.predict(lightness, verbose=0)
    assert expected.shape == (2, SIZE, SIZE, 2) and expected.dtype == np.float32
    ab_model.save(tmp_path / "model.keras")
    np.save(tmp_path / "input.npy", lightness)
    script = (
        "import numpy as np, keras\n"
        "model = keras.saving.load_model('model.keras', safe_mode=True)\n"
        "np.save('output.npy', model.predict(np.load('input.npy'), verbose=0))\n"
    )
    environment = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=environment, check=True,
                   timeout=300)
    np.testing.assert_allclose(np.load(tmp_path / "output.npy"), expected, atol=1e-6)


def test_classes_file_round_trips(bins, tmp_path):
    prior = np.full(len(bins), 1.0 / len(bins), np.float32)
    path = tmp_path / "ab_classes.json"
    ab_classes.write_classes(path, bins, prior, ab_classes.rebalancing_weights(prior),
                             neighbours=5, temperature=0.38)
    record = ab_classes.read_classes(path)
    np.testing.assert_array_equal(record["bins"], bins)
    np.testing.assert_allclose(record["weights"], 1.0)
    assert record["temperature"] == 0.38
    assert sorted(os.listdir(tmp_path)) == ["ab_classes.json"]  # no temporary file left behind


def test_reference_soft_encoding_defaults_are_the_losses():
    defaults = inspect.signature(helpers.soft_encode_numpy).parameters
    assert defaults["neighbours"].default == ab_classes.NEIGHBOURS
    assert defaults["sigma"].default == ab_classes.SIGMA
