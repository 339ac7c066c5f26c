"""metrics.py: each metric on known cases, and the bootstrap on known differences."""

import cpu  # noqa: F401, I001  (before TensorFlow, as every entry point does)
import keras
import numpy as np
import pytest

import metrics


def test_perfect_prediction_scores_loss_0_accuracy_1_auc_1_and_capped_psnr():
    rng = np.random.default_rng(1)
    lightness = rng.uniform(20, 80, size=(2, 16, 16, 1)).astype(np.float32)
    ab = rng.uniform(-40, 40, size=(2, 16, 16, 2)).astype(np.float32)
    scores = metrics.score_batch(lightness, ab, ab.copy())
    np.testing.assert_array_equal(scores["seed_loss"], 0.0)
    np.testing.assert_array_equal(scores["seed_accuracy"], 1.0)
    np.testing.assert_array_equal(scores["ab_rmse"], 0.0)
    np.testing.assert_allclose(scores["auc"], 1.0)
    np.testing.assert_array_equal(scores["psnr"], metrics.PSNR_CAP_DB)
    np.testing.assert_allclose(scores["ssim"], 1.0)
    np.testing.assert_allclose(scores["colorfulness_diff"], 0.0)


def test_gray_prediction_matches_hand_computed_values():
    # Four pixels at L=50: ab (3, 4) and (6, -8), twice each. Gray predicts (0, 0).
    ab = np.array([[[3, 4], [6, -8]], [[3, 4], [6, -8]]], dtype=np.float32)[None]
    lightness = np.full((1, 2, 2, 1), 50.0, dtype=np.float32)
    gray = np.zeros_like(ab)
    # squared errors 9+16 and 36+64 over 4 values -> 31.25 in Lab units
    assert metrics.seed_loss(gray, ab)[0] == pytest.approx(31.25 / 255**2)
    assert metrics.ab_rmse(gray, ab)[0] == pytest.approx(np.sqrt(31.25))
    # truth argmax: b for (3, 4), a for (6, -8); gray ties, and a tie goes to a: half right
    assert metrics.seed_accuracy(gray, ab)[0] == pytest.approx(0.5)
    # ab errors 5 and 10: the curve is 0 below 5, 0.5 from 5 to 9, 1 from 10 on;
    # trapezoids: 0.25 (4..5) + 4 * 0.5 (5..9) + 0.75 (9..10) + 140 (10..150) = 143
    scores = metrics.score_batch(lightness, ab, gray)
    assert scores["auc"][0] == pytest.approx(143 / 150)
    assert scores["colorfulness"][0] == pytest.approx(0.0, abs=0.01)  # Lab gray: sRGB gray


def test_auc_matches_brute_force_count():
    rng = np.random.default_rng(2)
    pred = rng.normal(0, 30, size=(3, 8, 8, 2))
    true = rng.normal(0, 30, size=(3, 8, 8, 2))
    fast = metrics.area_under_curve(metrics.cumulative_error_curve(
        metrics.ab_error(pred, true)))
    for image in range(3):
        errors = [np.hypot(*(pred[image, y, x] - true[image, y, x]))
                  for y in range(8) for x in range(8)]
        shares = [sum(e <= t for e in errors) / len(errors) for t in range(151)]
        area = sum((shares[t] + shares[t + 1]) / 2 for t in range(150))
        assert fast[image] == pytest.approx(area / 150)


def test_colorfulness_of_flat_gray_is_zero():
    gray = np.full((1, 10, 10, 3), 128.0)
    assert metrics.colorfulness(gray)[0] == 0.0


def test_colorfulness_of_a_coloured_image_is_positive():
    image = np.zeros((1, 10, 10, 3))
    image[..., 0] = 255.0
    assert metrics.colorfulness(image)[0] > 0.0


def test_seed_accuracy_equals_keras_categorical_accuracy():
    rng = np.random.default_rng(3)
    true = rng.uniform(-60, 60, size=(4, 8, 8, 2)).astype(np.float32)
    pred = rng.uniform(-60, 60, size=(4, 8, 8, 2)).astype(np.float32)
    pred[0] = 0.0  # gray: ties between a and b, resolved the way Keras resolves them
    metric = keras.metrics.CategoricalAccuracy()
    metric.update_state(metrics.seed_scale(true), metrics.seed_scale(pred))
    ours = np.mean(metrics.seed_accuracy(pred, true))
    assert ours == pytest.approx(float(metric.result()), abs=1e-6)


def test_bootstrap_calls_a_constant_shift_significant_and_noise_not():
    rng = np.random.default_rng(4)
    idx = rng.integers(0, 50, size=(500, 50))
    shifted = metrics.bootstrap_ci(1.0 + rng.normal(0, 0.1, 50), idx)
    centred = rng.normal(0, 1, 50)
    centred -= centred.mean()
    noise = metrics.bootstrap_ci(centred, idx)
    assert shifted[1] > 0
    assert noise[1] < 0 < noise[2]
