"""The colorization metrics and the paired bootstrap: pure numpy, no files, no Keras.

Every metric is computed per image, so that evaluate.py can average over images and compare two
models on the same images. METRICS names each one, its column title, its decimals and which
direction is better; report.py and figures.py format what is computed here.
"""

from itertools import combinations

import numpy as np

import lab

AUC_THRESHOLDS = np.arange(0, 151, dtype=np.float64)  # ab error thresholds, Zhang et al. 2016
PSNR_CAP_DB = 100.0  # what a perfect prediction (infinite PSNR) is reported as
SEED_AB_OFFSET = 128.0  # the seed's OpenCV Lab stored ab + 128 ...
SEED_AB_SCALE = 255.0  # ... and trained on that divided by 255
CONFIDENCE = 0.95

# key, column title, decimals, +1 if higher is better / -1 if lower is better / 0 if neither
METRICS = [
    ("seed_loss", "seed loss (MSE of ab/255)", 5, -1),
    ("seed_accuracy", "seed accuracy (categorical, a vs b)", 3, +1),
    ("ab_rmse", "ab RMSE", 2, -1),
    ("auc", "AuC (ab error 0-150)", 3, +1),
    ("psnr", "PSNR dB", 2, +1),
    ("ssim", "SSIM", 3, +1),
    ("colorfulness", "colorfulness", 1, 0),
    ("colorfulness_original", "colorfulness of original", 1, 0),
    ("colorfulness_diff", "colorfulness - original", 1, 0),
]
METRIC_KEYS = [m[0] for m in METRICS]
METRIC_INFO = {m[0]: m for m in METRICS}
COMPARED = ["seed_loss", "seed_accuracy", "ab_rmse", "auc", "psnr", "ssim", "colorfulness_diff"]


def seed_scale(ab):
    """a*b* -> the seed study's target scale, (ab + 128) / 255, in float32 as Keras saw it."""
    return ((np.asarray(ab, dtype=np.float32) + SEED_AB_OFFSET) / SEED_AB_SCALE).astype(np.float32)


def seed_loss(pred_ab, true_ab):
    """Per image (N,): MSE on the seed's ab/255 scale; the +128 offset cancels in a difference."""
    diff = (np.asarray(pred_ab, np.float64) - np.asarray(true_ab, np.float64)) / SEED_AB_SCALE
    return np.mean(diff**2, axis=(1, 2, 3))


def seed_accuracy(pred_ab, true_ab):
    """Per image (N,): what Keras' `accuracy` meant for the seed's 2-channel softmax-free output."""
    same = np.argmax(seed_scale(pred_ab), axis=-1) == np.argmax(seed_scale(true_ab), axis=-1)
    return np.mean(same, axis=(1, 2))


def ab_rmse(pred_ab, true_ab):
    """Per image (N,): root mean squared error over both ab channels, in Lab units."""
    diff = np.asarray(pred_ab, np.float64) - np.asarray(true_ab, np.float64)
    return np.sqrt(np.mean(diff**2, axis=(1, 2, 3)))


def ab_error(pred_ab, true_ab):
    """Per pixel (N, H, W): Euclidean distance in the ab plane, the error Zhang et al. threshold."""
    diff = np.asarray(pred_ab, np.float64) - np.asarray(true_ab, np.float64)
    return np.sqrt(np.sum(diff**2, axis=-1))


def cumulative_error_curve(errors, thresholds=AUC_THRESHOLDS):
    """Per image (N, T): the share of pixels whose ab error is at most each threshold."""
    flat = np.sort(np.asarray(errors, np.float64).reshape(len(errors), -1), axis=1)
    counts = np.stack([np.searchsorted(row, thresholds, side="right") for row in flat])
    return counts / flat.shape[1]


def area_under_curve(curves, thresholds=AUC_THRESHOLDS):
    """AuC as a fraction: trapezoid area under the cumulative curve / the threshold range."""
    curves = np.asarray(curves, np.float64)
    widths = np.diff(thresholds)
    area = np.sum((curves[..., 1:] + curves[..., :-1]) / 2 * widths, axis=-1)
    return area / (thresholds[-1] - thresholds[0])


def colorfulness(rgb255):
    """Hasler and Suesstrunk (2003) colorfulness of sRGB images (..., H, W, 3) in 0..255."""
    rgb = np.asarray(rgb255, np.float64)
    red, green, blue = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    rg = red - green
    yb = 0.5 * (red + green) - blue
    axes = (-2, -1)
    spread = np.sqrt(np.var(rg, axis=axes) + np.var(yb, axis=axes))
    centre = np.sqrt(np.mean(rg, axis=axes) ** 2 + np.mean(yb, axis=axes) ** 2)
    return spread + 0.3 * centre


def psnr(true_rgb, pred_rgb):
    """PSNR in dB of sRGB in [0, 1]; a perfect match (infinite PSNR) is reported as PSNR_CAP_DB."""
    from skimage.metrics import peak_signal_noise_ratio

    if np.array_equal(true_rgb, pred_rgb):
        return PSNR_CAP_DB
    return min(PSNR_CAP_DB, float(peak_signal_noise_ratio(true_rgb, pred_rgb, data_range=1.0)))


def ssim(true_rgb, pred_rgb):
    """SSIM of sRGB in [0, 1]; the window shrinks (odd, at least 3) for images under 7 pixels."""
    from skimage.metrics import structural_similarity

    window = min(7, min(true_rgb.shape[:2]))
    window -= 1 - window % 2
    if window < 3:
        return float("nan")
    return float(structural_similarity(true_rgb, pred_rgb, data_range=1.0, channel_axis=-1,
                                       win_size=window))


def to_rgb(lightness, ab):
    """Lab in Lab units (..., H, W, 1) + (..., H, W, 2) -> sRGB float32 in [0, 1]."""
    return lab.lab_to_rgb(lab.join_lab(lightness, ab))


def score_batch(lightness, true_ab, pred_ab, true_rgb=None):
    """Every metric for a batch of images: dict key -> (N,), plus "curve" -> (N, T)."""
    if true_rgb is None:
        true_rgb = to_rgb(lightness, true_ab)
    pred_rgb = to_rgb(lightness, pred_ab)
    curves = cumulative_error_curve(ab_error(pred_ab, true_ab))
    result = {
        "seed_loss": seed_loss(pred_ab, true_ab),
        "seed_accuracy": seed_accuracy(pred_ab, true_ab),
        "ab_rmse": ab_rmse(pred_ab, true_ab),
        "auc": area_under_curve(curves),
        "psnr": np.array([psnr(t, p) for t, p in zip(true_rgb, pred_rgb)]),
        "ssim": np.array([ssim(t, p) for t, p in zip(true_rgb, pred_rgb)]),
        "colorfulness": colorfulness(pred_rgb * 255.0),
        "colorfulness_original": colorfulness(true_rgb * 255.0),
    }
    result["colorfulness_diff"] = result["colorfulness"] - result["colorfulness_original"]
    result["curve"] = curves
    return result



# --------------------------------------------------------------------------- aggregation


def summarize(entries, metric):
    """(mean, std, n) over entries of their image-averaged metric; std is nan for one entry."""
    values = np.array([np.nanmean(e["scores"][metric]) for e in entries])
    std = float(np.std(values, ddof=1)) if len(values) > 1 else float("nan")
    return float(np.mean(values)), std, len(values)


def per_image_mean(entries, metric):
    """Per-image metric averaged over a group's seeds: what paired comparisons compare."""
    return np.mean([e["scores"][metric] for e in entries], axis=0)


def bootstrap_ci(diff, resample_idx, level=CONFIDENCE):
    """(mean, low, high) of the mean of diff, by resampling images with the given index rows."""
    diff = np.asarray(diff, np.float64)
    means = diff[resample_idx].mean(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(diff.mean()), float(low), float(high)


def compare(groups, baselines, labels, metrics, resamples, seed):
    """Paired comparisons: every pair of groups, and every group against the gray baseline
    (versus_gray: True, so that a table of those rows never depends on how gray is spelled)."""
    keys = list(groups)
    pairs = [(a, b) for a, b in combinations(keys, 2)] + [(a, "gray") for a in keys]
    if not pairs:
        return []
    count = len(next(iter(groups.values()))[0]["scores"]["seed_loss"])
    rng = np.random.default_rng(seed)
    resample_idx = rng.integers(0, count, size=(resamples, count))
    rows = []
    for a, b in pairs:
        for metric in metrics:
            values_a = per_image_mean(groups[a], metric)
            values_b = (baselines[b]["scores"][metric] if b == "gray"
                        else per_image_mean(groups[b], metric))
            mean, low, high = bootstrap_ci(values_a - values_b, resample_idx)
            rows.append({"a": labels[a], "b": "gray baseline" if b == "gray" else labels[b],
                         "versus_gray": b == "gray", "metric": metric,
                         "diff": mean, "low": low, "high": high,
                         "significant": bool(low > 0 or high < 0)})
    return rows

