"""Measure trained runs against honest baselines; write the tables and figures the README shows.

    python evaluate.py --data data/mountains-synth --runs runs/ --out results/ --update-readme
    python evaluate.py --photos ../shared/realdata --data data/mountains-synth --runs runs/ \
        --out results-real/ --images images-real/

Every folder under --runs with a config.json is a run (see train.py). Each run's model.keras is
applied to the test split (or to a folder of real photos with --photos), and every test image is
scored; two baselines are scored the same way: gray (ab = 0) and the train split's mean colour.

Metrics, per image, then averaged over images:
    seed loss       mean squared a*b* error / 255^2: the seed study's `loss` (MSE on ab/255)
    seed accuracy   the seed study's Keras `accuracy` on its 2-channel output, i.e. categorical
                    accuracy: the share of pixels where argmax over (a, b) of the prediction, on the
                    seed's scale (ab + 128) / 255, equals that of the truth (ties go to a)
    ab RMSE         root mean squared a*b* error, in Lab units
    PSNR, SSIM      on the sRGB result against the sRGB original (skimage.metrics, data range 1);
                    a perfect prediction has infinite PSNR, reported as PSNR_CAP_DB (100 dB)
    AuC             area under the cumulative curve of the per-pixel ab error (L2 in the ab plane)
                    over thresholds 0..150, as a fraction of the full area (Zhang et al. 2016)
    colorfulness    Hasler and Suesstrunk (2003) on sRGB 0..255, of the result and of the original

Runs of the same model, preset and loss are one group: the tables show mean +- std over seeds and
n. Groups are compared pairwise, and with the gray baseline, on the same test images: a bootstrap
over images of the per-image difference (each group's per-image metric averaged over its seeds)
gives a 95% interval; a difference is called significant when that interval excludes zero.
An MSE- and a classification-trained version of one model (train.py --loss classification) are
two groups, side by side in every table and figure; the loss curves give each its own axis.

Writes --out/metrics.csv (one row per run and baseline), --out/per_image.csv, --out/summary.md,
and --images/Figure_1..N.png, curves.png, auc.png, colorfulness.png; --update-readme rewrites the
block between the results markers in README.md (with --photos: the block between the
real-photos markers, a table without figures), and nothing else.
"""

import argparse
import csv
import io
import json
import os
import sys
from itertools import combinations
from pathlib import Path

import numpy as np
from tqdm import tqdm

import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)
import dataset
import lab

AUC_THRESHOLDS = np.arange(0, 151, dtype=np.float64)  # ab error thresholds, Zhang et al. 2016
PSNR_CAP_DB = 100.0  # what a perfect prediction (infinite PSNR) is reported as
SEED_AB_OFFSET = 128.0  # the seed's OpenCV Lab stored ab + 128 ...
SEED_AB_SCALE = 255.0  # ... and trained on that divided by 255
README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"
# With --photos, --update-readme writes this block instead: the real photos get their own table.
PHOTOS_README_START = "<!-- real-photos:start -->"
PHOTOS_README_END = "<!-- real-photos:end -->"
FIGURE_WIDTH_IN = 10.0
FIGURE_DPI = 96  # 960 px wide: the width a README shows without scaling much
CONFIDENCE = 0.95

MODEL_NAMES = {"autoencoder": "Autoencoder", "resnet": "ResNet", "unet": "U-Net"}
MODEL_ORDER = list(MODEL_NAMES)
# What history.csv's loss and val_loss mean per train.py --loss: the y axis of the curves.
LOSS_AXIS_LABELS = {"mse": "MSE of ab/128", "mae": "MAE of ab/128", "huber": "Huber loss of ab/128",
                    "classification": "rebalanced cross-entropy (ab bins)"}
# The seed study's test-set table (DESIGN.md): loss = MSE on ab/255, accuracy = categorical.
SEED_PUBLISHED = {"autoencoder": (0.00312, 0.747), "resnet": (0.00335, 0.719),
                  "unet": (0.00350, 0.755)}

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
README_COMPARED = ["ab_rmse", "auc"]


class RunError(Exception):
    """A run that cannot be evaluated on this data; the message names the run."""


# --------------------------------------------------------------------------- metrics


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


# --------------------------------------------------------------------------- runs


def discover_runs(runs_dir):
    """Every folder under runs_dir holding a config.json, in a stable order."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise SystemExit(f"--runs {runs_dir}: no such folder; train a model with train.py first")
    found = []
    for folder in sorted(path.parent for path in runs_dir.rglob("config.json")):
        if not any(run in folder.parents for run in found):  # not a file inside a run
            found.append(folder)
    return found


def read_config(folder):
    """config.json of a run, checked for the keys evaluate.py relies on."""
    try:
        with open(folder / "config.json") as f:
            config = json.load(f)
    except (OSError, json.JSONDecodeError) as exc:
        raise RunError(f"run {folder.name}: cannot read config.json ({exc})") from exc
    missing = [k for k in ("model", "preset", "loss", "seed", "image_size") if k not in config]
    if missing:
        raise RunError(f"run {folder.name}: config.json lacks {', '.join(missing)}")
    config.setdefault("run_name", folder.name)
    return config


def check_run(folder, config, image_size, checksum=None):
    """Refuse a run that cannot be compared fairly on this data: why, named, in the message."""
    name = config["run_name"]
    if not (folder / "model.keras").is_file():
        raise RunError(f"run {name} ({folder}): model.keras is missing; did training finish?")
    if int(config["image_size"]) != int(image_size):
        raise RunError(f"run {name}: trained on {config['image_size']}x{config['image_size']} "
                       f"images, but the evaluation images are {image_size}x{image_size}")
    stride = int(config.get("stride", 1))
    if image_size % stride:
        raise RunError(f"run {name}: image size {image_size} is not a multiple of the model's "
                       f"stride {stride}")
    if checksum is not None and config.get("dataset_checksum") != checksum:
        raise RunError(f"run {name}: trained on another dataset (checksum "
                       f"{str(config.get('dataset_checksum'))[:12]}, this one {checksum[:12]}); "
                       f"evaluate it with --data {config.get('data', '<its dataset>')}")


def load_runs(folders, image_size, checksum, skip_bad):
    """(good runs as (folder, config), bad runs as messages); without skip_bad any bad run exits."""
    good, bad = [], []
    for folder in folders:
        try:
            config = read_config(folder)
            check_run(folder, config, image_size, checksum)
            good.append((folder, config))
        except RunError as exc:
            bad.append(str(exc))
    if bad and not skip_bad:
        raise SystemExit("cannot evaluate:\n  " + "\n  ".join(bad)
                         + "\n(--skip-bad evaluates the other runs)")
    return good, bad


def group_key(config):
    return (str(config["model"]), str(config["preset"]), str(config["loss"]))


def group_sort_key(key):
    model = MODEL_ORDER.index(key[0]) if key[0] in MODEL_ORDER else len(MODEL_ORDER)
    return (model, key)


def group_labels(keys):
    """Short display names: the model's name, plus its preset and/or loss where the model has
    groups that differ in them (an MSE- and a classification-trained U-Net: "U-Net (mse)")."""
    labels = {}
    for key in keys:
        model, preset, loss = key
        name = MODEL_NAMES.get(model, model)
        siblings = [k for k in keys if k[0] == model]
        differing = [part for index, part in ((1, preset), (2, loss))
                     if len({k[index] for k in siblings}) > 1]
        labels[key] = f"{name} ({', '.join(differing)})" if differing else name
    return labels


# --------------------------------------------------------------------------- scoring


def load_model(folder, config):
    import keras

    try:
        return keras.saving.load_model(folder / "model.keras")
    except Exception as exc:  # any failure to load is a bad run, reported with its cause
        raise RunError(f"run {config['run_name']}: cannot load model.keras ({exc})") from exc


def score_predictor(name, predict, lightness, true_ab, true_rgb, batch_size, keep):
    """Score predict(L batch) -> ab batch over all images; keep the predictions at indices keep."""
    parts, kept = [], {}
    with tqdm(total=len(lightness), desc=name, unit="img", leave=False) as bar:
        for start in range(0, len(lightness), batch_size):
            stop = min(start + batch_size, len(lightness))
            pred_ab = predict(lightness[start:stop])
            if pred_ab.shape != true_ab[start:stop].shape:
                raise RunError(f"run {name}: predicted shape {pred_ab.shape}, expected "
                               f"{true_ab[start:stop].shape}")
            parts.append(score_batch(lightness[start:stop], true_ab[start:stop], pred_ab,
                                     true_rgb[start:stop]))
            for index in keep:
                if start <= index < stop:
                    kept[index] = pred_ab[index - start]
            bar.update(stop - start)
    scores = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    scores["figure_ab"] = np.stack([kept[i] for i in keep]) if len(keep) else None
    return scores


def model_predictor(model):
    import keras

    def predict(lightness):
        output = model(lab.encode_l(lightness), training=False)  # eager: no retracing per shape
        return lab.decode_ab(keras.ops.convert_to_numpy(output).astype(np.float32))
    return predict


def constant_predictor(ab):
    ab = np.asarray(ab, dtype=np.float32).reshape(1, 1, 1, 2)

    def predict(lightness):
        return np.broadcast_to(ab, lightness.shape[:3] + (2,)).copy()
    return predict


def train_mean_ab(folder, chunk=256):
    """Mean (a, b) over every pixel of the train split, summed in chunks to bound memory."""
    _, ab = dataset.load_split(folder, "train")
    if len(ab) == 0:
        return None
    total = np.zeros(2)
    for start in range(0, len(ab), chunk):
        total += np.asarray(ab[start:start + chunk], np.float64).sum(axis=(0, 1, 2))
    return total / (len(ab) * ab.shape[1] * ab.shape[2])


def figure_indices(count, wanted):
    """Evenly spaced test images, the same for every run of evaluate.py on the same data."""
    if count == 0 or wanted <= 0:
        return np.zeros(0, dtype=int)
    return np.unique(np.linspace(0, count - 1, min(wanted, count)).round().astype(int))


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
    """Paired comparisons: every pair of groups, and every group against the gray baseline."""
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
            rows.append({"a": labels[a], "b": labels.get(b, "gray baseline"), "metric": metric,
                         "diff": mean, "low": low, "high": high,
                         "significant": bool(low > 0 or high < 0)})
    return rows


def verdict(row):
    if not row["significant"]:
        return "not significant"
    direction = METRIC_INFO[row["metric"]][3]
    if direction == 0:
        return f"significant: {row['a']} {'higher' if row['diff'] > 0 else 'lower'}"
    better = row["a"] if row["diff"] * direction > 0 else row["b"]
    return f"significant: {better} better"


# --------------------------------------------------------------------------- tables


def format_value(mean, std, n, decimals):
    if not np.isfinite(mean):
        return "-"
    if n > 1 and np.isfinite(std):
        return f"{mean:.{decimals}f} ± {std:.{decimals}f}"
    return f"{mean:.{decimals}f}"


def table_rows(groups, baselines, labels):
    """One row per group and baseline: (label, model key or None, n text, {metric: text})."""
    rows = []
    for key, entries in groups.items():
        cells = {}
        for metric, _, decimals, _ in METRICS:
            mean, std, n = summarize(entries, metric)
            if metric == "colorfulness_original":
                n = 1  # the same originals for every seed: a spread would be fake
            cells[metric] = format_value(mean, std, n, decimals)
        rows.append((labels[key], key[0], f"n={len(entries)}", cells))
    for name, entry in baselines.items():
        cells = {m: format_value(summarize([entry], m)[0], float("nan"), 1, d)
                 for m, _, d, _ in METRICS}
        rows.append((entry["label"], None, "-", cells))
    return rows


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def seed_table(rows):
    """Our numbers on the seed study's two metrics, beside the numbers it published."""
    header = ["model", "seeds", "seed loss: MSE of ab/255 (ours)", "seed loss (published)",
              "seed accuracy: categorical a vs b (ours)", "seed accuracy (published)"]
    body = []
    for label, model, n, cells in rows:
        published = SEED_PUBLISHED.get(model)
        body.append([label, n, cells["seed_loss"], f"{published[0]:.5f}" if published else "-",
                     cells["seed_accuracy"], f"{published[1]:.3f}" if published else "-"])
    return markdown_table(header, body)


def quality_table(rows):
    header = ["model", "seeds", "ab RMSE", "AuC (ab error 0-150)", "PSNR dB", "SSIM",
              "colorfulness (original)", "colorfulness - original"]
    body = [[label, n, cells["ab_rmse"], cells["auc"], cells["psnr"], cells["ssim"],
             f"{cells['colorfulness']} ({cells['colorfulness_original']})",
             cells["colorfulness_diff"]] for label, _, n, cells in rows]
    return markdown_table(header, body)


def comparison_table(comparisons, metrics):
    body = []
    for row in comparisons:
        if row["metric"] not in metrics:
            continue
        decimals = METRIC_INFO[row["metric"]][2] + 1
        body.append([f"{row['a']} - {row['b']}", METRIC_INFO[row["metric"]][1],
                     f"{row['diff']:+.{decimals}f}",
                     f"[{row['low']:+.{decimals}f}, {row['high']:+.{decimals}f}]", verdict(row)])
    if not body:
        return "(one model group only: nothing to compare)"
    return markdown_table(["comparison", "metric", "mean difference", "95% interval", "verdict"],
                          body)


def summary_markdown(rows, comparisons, bad, source, resamples):
    parts = [
        "# Evaluation summary", "",
        f"Scored on {source}. Values are means over images; "
        "with several seeds, mean ± std over seeds and n; n=1 means one seed, so no spread. "
        f"PSNR of a perfect prediction is reported as {PSNR_CAP_DB:.0f} dB. The seed study's "
        "published numbers come from its own test set of scraped photos, not from these images.",
        "", "## The seed study's metrics", "", seed_table(rows), "",
        "## Colorization metrics", "", quality_table(rows), "",
        "## Paired differences", "",
        f"Bootstrap over the same images ({resamples} resamples), per-image metric averaged over "
        f"seeds; significant when the {CONFIDENCE:.0%} interval excludes zero.", "",
        comparison_table(comparisons, COMPARED), ""]
    if bad:
        parts += ["## Runs not evaluated", ""] + [f"- {message}" for message in bad] + [""]
    return "\n".join(parts)


def training_summary(groups, labels):
    """One sentence on how long the runs trained, so the block says what produced it."""
    def epochs_of(config):
        return str(config.get("epochs_run") or config.get("epochs") or "?")

    epochs = {labels[key]: sorted({epochs_of(e["config"]) for e in entries})
              for key, entries in groups.items()}
    spans = {tuple(v) for v in epochs.values()}
    if len(spans) == 1:
        (span,) = spans
        return f"Every run trained for {'/'.join(span)} epochs."
    return "Epochs per run: " + "; ".join(
        f"{label} {'/'.join(v)}" for label, v in epochs.items()) + "."


def readme_block(rows, comparisons, source, figure_paths, other_paths, trained=""):
    lines = [
        "## Results", "",
        f"Scored by `evaluate.py` on {source}. {trained} Means over images, "
        "mean ± std over seeds where n > 1. The seed study's published numbers were measured on "
        "its own test set of scraped photos at 128x128: they sit beside ours for reference, not "
        "as a like-for-like comparison. Its `loss` is MSE on ab/255 and its `accuracy` is "
        "Keras' categorical accuracy on the two ab channels (does the larger of a and b match?): "
        "neither says much about colour, so the second table adds real colorization metrics; "
        "`results/summary.md` has every paired comparison.", "",
        seed_table(rows), "", quality_table(rows), "",
        "Paired differences over the same images (bootstrap 95% interval):", "",
        comparison_table(comparisons, README_COMPARED), ""]
    if figure_paths:
        lines += ["Each figure is one test image: the grayscale input, what each model made of it "
                  "(its first seed), and the original.", ""]
    for index, path in enumerate(figure_paths, start=1):
        lines.append(f"![Figure {index}]({path})")
        lines.append("")
    for title, path in other_paths:
        lines.append(f"![{title}]({path})")
        lines.append("")
    return "\n".join(lines).rstrip("\n")


def photos_readme_block(rows, comparisons, source, trained=""):
    """The real-photo table: numbers only, no figures, since the photos are not ours to show."""
    against_gray = [row for row in comparisons if row["b"] == "gray baseline"]
    return "\n".join([
        "### On real photos", "",
        f"The same runs scored by `evaluate.py --photos` on {source}, prepared like any photo "
        f"folder (dataset.py: centre crop, resized to the training size). {trained} Means over "
        "photos, mean ± std over seeds where n > 1. The photos are not part of this repository "
        "and no figure shows them.", "",
        quality_table(rows), "",
        "Each model against the gray baseline on the same photos (bootstrap 95% interval over "
        "photos; with 20 photos only large gaps are significant):", "",
        comparison_table(against_gray, README_COMPARED)])


def update_readme(path, block, start_marker=README_START, end_marker=README_END):
    """Replace what lies between the two markers; everything else stays byte for byte."""
    path = Path(path)
    text = path.read_text()
    start = text.find(start_marker)
    end = text.find(end_marker)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: needs the markers {start_marker} and {end_marker}, in order")
    head = text[:start + len(start_marker)]
    new = head + "\n" + block + "\n" + text[end:]
    if new != text:
        write_atomic(path, new.encode())
    return new != text


# --------------------------------------------------------------------------- files


def write_atomic(path, data):
    """Write bytes to a temporary name next to path, then rename: never half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


def csv_bytes(header, rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def csv_number(value):
    return f"{value:.6g}" if np.isfinite(value) else "nan"


def metrics_csv(entries):
    header = ["name", "kind", "group", "model", "preset", "loss", "seed", "images"] + METRIC_KEYS
    rows = []
    for e in entries:
        config = e.get("config") or {}
        rows.append([e["name"], e["kind"], e["label"], config.get("model", ""),
                     config.get("preset", ""), config.get("loss", ""), config.get("seed", ""),
                     len(e["scores"]["seed_loss"])]
                    + [csv_number(np.nanmean(e["scores"][m])) for m in METRIC_KEYS])
    return csv_bytes(header, rows)


def per_image_csv(entries, image_ids):
    header = ["name", "kind", "image_index", "image_id"] + METRIC_KEYS
    rows = []
    for e in entries:
        for i, image_id in enumerate(image_ids):
            rows.append([e["name"], e["kind"], i, image_id]
                        + [csv_number(e["scores"][m][i]) for m in METRIC_KEYS])
    return csv_bytes(header, rows)


# --------------------------------------------------------------------------- figures


def new_figure(height_in, width_in=FIGURE_WIDTH_IN):
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    return Figure(figsize=(width_in, height_in), dpi=FIGURE_DPI)


def save_figure(fig, path):
    """PNG without the alpha channel matplotlib adds: a tenth smaller, looks the same."""
    from PIL import Image

    rendered = io.BytesIO()
    fig.savefig(rendered, format="png", dpi=FIGURE_DPI)
    rendered.seek(0)
    buffer = io.BytesIO()
    with Image.open(rendered) as image:
        image.convert("RGB").save(buffer, format="PNG", optimize=True)
    write_atomic(path, buffer.getvalue())


def comparison_figure(path, panels):
    """One row of images with a title above each: panels = [(title, uint8 RGB)]; 960 px wide."""
    columns = len(panels)
    panel_in = FIGURE_WIDTH_IN / columns
    if columns > 5:  # narrow panels: "U-Net (large, mse)" goes on two lines
        panels = [(title.replace(" (", "\n("), image) for title, image in panels]
    title_in = 0.4 if all("\n" not in title for title, _ in panels) else 0.6
    fig = new_figure(panel_in + title_in)
    height = panel_in + title_in
    gap = 0.04  # inches between images
    for i, (title, image) in enumerate(panels):
        ax = fig.add_axes([(i * panel_in + gap / 2) / FIGURE_WIDTH_IN, gap / 2 / height,
                           (panel_in - gap) / FIGURE_WIDTH_IN, (panel_in - gap) / height])
        ax.imshow(image, interpolation="lanczos" if image.shape[0] < 200 else "antialiased")
        ax.set_axis_off()
        ax.set_title(title, fontsize=11 if columns <= 6 else 9, pad=4)
    save_figure(fig, path)


def curves_figure(path, groups, labels):
    """Train (solid) and val (dashed) loss per epoch, one panel per group, one colour per seed.

    Each panel's y axis names its loss: a classification run's cross-entropy and a regression
    run's MSE are different quantities and never share an axis. Returns (title, y label) of
    each panel.
    """
    keys = list(groups)
    columns = min(3, max(1, len(keys)))
    rows = -(-len(keys) // columns) if keys else 1
    fig = new_figure(3.2 * rows)
    axes = fig.subplots(rows, columns, squeeze=False)
    for ax in axes.flat[len(keys):]:
        ax.set_axis_off()
    for ax, key in zip(axes.flat, keys):
        positive = True
        for colour, entry in enumerate(groups[key]):
            history = entry["folder"] / "history.csv"
            if not history.is_file():
                continue
            with open(history) as f:
                records = list(csv.DictReader(f))
            epochs = [int(r["epoch"]) + 1 for r in records if "epoch" in r]
            for column, style in (("loss", "-"), ("val_loss", "--")):
                if records and column in records[0]:
                    values = [float(r[column]) for r in records]
                    positive &= min(values) > 0
                    part = "train" if column == "loss" else "val"
                    ax.plot(epochs, values, style, color=f"C{colour}",
                            label=f"seed {entry['config']['seed']} {part}")
        if positive and ax.lines:
            ax.set_yscale("log")
        ax.set_title(labels[key] if key[2] in labels[key] else f"{labels[key]} ({key[2]})",
                     fontsize=11)
        ax.set_xlabel("epoch")
        ax.set_ylabel(LOSS_AXIS_LABELS.get(key[2], f"{key[2]} loss"))
        ax.grid(True, alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=8)
    fig.tight_layout()
    save_figure(fig, path)
    return [(ax.get_title(), ax.get_ylabel()) for ax in axes.flat[:len(keys)]]


def auc_figure(path, groups, baselines, labels):
    """Cumulative share of pixels within each ab error threshold, models and baselines."""
    fig = new_figure(4.6)
    ax = fig.add_subplot()
    for colour, (key, entries) in enumerate(groups.items()):
        curve = np.mean([e["scores"]["curve"].mean(axis=0) for e in entries], axis=0)
        auc, _, n = summarize(entries, "auc")
        ax.plot(AUC_THRESHOLDS, curve, color=f"C{colour}", lw=2,
                label=f"{labels[key]}: AuC {auc:.3f} (n={n})")
    for style, entry in zip(("--", ":"), baselines.values()):
        curve = entry["scores"]["curve"].mean(axis=0)
        ax.plot(AUC_THRESHOLDS, curve, style, color="0.35", lw=1.8,
                label=f"{entry['label']}: AuC {np.mean(entry['scores']['auc']):.3f}")
    ax.set_xlim(0, AUC_THRESHOLDS[-1])
    ax.set_ylim(0, 1.01)
    ax.set_xlabel("threshold on the per-pixel ab error (L2 in the ab plane)")
    ax.set_ylabel("share of pixels within threshold")
    ax.set_title("Cumulative ab error (Zhang et al. 2016); AuC = area / 150")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    save_figure(fig, path)


def colorfulness_figure(path, groups, baselines, labels):
    """Mean colorfulness of each result beside the originals': desaturation MSE does not show."""
    bars = []  # (name, mean, std or None, colour)
    for colour, (key, entries) in enumerate(groups.items()):
        mean, std, n = summarize(entries, "colorfulness")
        label = labels[key].replace(" (", "\n(")  # one line per word group: no overlap
        bars.append((f"{label}\n(n={n})", mean, std if n > 1 else None, f"C{colour}"))
    for entry in baselines.values():
        bars.append((entry["short"], float(np.mean(entry["scores"]["colorfulness"])), None, "0.65"))
    original = float(np.mean(next(iter(baselines.values()))["scores"]["colorfulness_original"]))
    bars.append(("original", original, None, "0.25"))
    fig = new_figure(4.0)
    ax = fig.add_subplot()
    positions = np.arange(len(bars))
    ax.bar(positions, [b[1] for b in bars], color=[b[3] for b in bars], width=0.7)
    for x, (_, mean, std, _) in zip(positions, bars):
        top = mean
        if std is not None:
            ax.errorbar(x, mean, yerr=std, color="black", capsize=5)
            top += std
        ax.text(x, top + 0.01 * max(original, 1), f"{mean:.1f}", ha="center", va="bottom",
                fontsize=10)
    ax.axhline(original, color="0.25", lw=1, ls="--")
    ax.set_ylim(0, 1.15 * max(max(b[1] + (b[2] or 0) for b in bars), 1e-6))
    ax.set_xticks(positions, [b[0] for b in bars], fontsize=9)
    ax.set_ylabel("colorfulness (Hasler & Süsstrunk)")
    ax.set_title("Mean colorfulness of the results and of the originals "
                 "(error bars: std over seeds)")
    ax.grid(True, axis="y", alpha=0.3)
    fig.tight_layout()
    save_figure(fig, path)


def write_figures(images_dir, groups, baselines, labels, lightness, true_ab, indices):
    """All README figures; returns (figure paths, [(title, path)] of the plots)."""
    images_dir = Path(images_dir)
    figure_paths = []
    def rgb(index, ab):
        return lab.lab_to_rgb_uint8(lab.join_lab(lightness[index], ab))

    progress = tqdm(indices, desc="figures", unit="fig", leave=False)
    for figure_number, index in enumerate(progress, start=1):
        panels = [("grayscale input", rgb(index, np.zeros_like(true_ab[index])))]
        for key, entries in groups.items():
            first_seed_ab = entries[0]["scores"]["figure_ab"][figure_number - 1]
            panels.append((labels[key], rgb(index, first_seed_ab)))
        panels.append(("original", rgb(index, true_ab[index])))
        path = images_dir / f"Figure_{figure_number}.png"
        comparison_figure(path, panels)
        figure_paths.append(path)
    for stale in images_dir.glob("Figure_*.png"):
        suffix = stale.stem.split("_", 1)[1]
        if suffix.isdigit() and int(suffix) > len(indices):
            stale.unlink()
    plots = [("Train and validation loss", images_dir / "curves.png"),
             ("Cumulative ab error", images_dir / "auc.png"),
             ("Colorfulness", images_dir / "colorfulness.png")]
    curves_figure(plots[0][1], groups, labels)
    auc_figure(plots[1][1], groups, baselines, labels)
    colorfulness_figure(plots[2][1], groups, baselines, labels)
    return figure_paths, plots


# --------------------------------------------------------------------------- data


def load_test_data(data):
    """(L, ab, image ids, size, checksum) of the dataset's test split, or a clear exit."""
    try:
        meta = dataset.read_meta(data)
        lightness, ab = dataset.load_split(data, "test")
    except dataset.DatasetError as exc:
        raise SystemExit(str(exc)) from exc
    if len(lightness) == 0:
        raise SystemExit(f"{data}: the test split is empty, nothing to evaluate; "
                         "build the dataset from more images")
    ids = [m["id"] for m in meta.get("members", {}).get("test", [])] or list(range(len(ab)))
    return np.asarray(lightness), np.asarray(ab), ids, int(meta["size"]), meta["checksum"]


def load_photos(folder, size):
    """(L, ab, ids) of a folder of real photos, decoded and cropped the way dataset.py does."""
    if not Path(folder).is_dir():
        raise SystemExit(f"--photos {folder}: no such folder")
    try:
        rgb, ids, skipped = dataset.prepare_photos(folder, size)
    except (dataset.DatasetError, ValueError, OSError) as exc:
        raise SystemExit(f"--photos {folder}: {exc}") from exc
    for entry in skipped:
        print(f"skipped {entry['id']}: {entry['reason']}", file=sys.stderr)
    if len(rgb) == 0:
        raise SystemExit(f"--photos {folder}: no usable photos there ({len(skipped)} skipped)")
    lightness, ab = lab.split_lab(lab.rgb_to_lab(rgb))
    return lightness.astype(np.float32), ab.astype(np.float32), list(ids)


def photo_size(folders, requested):
    """The runs' common image size (or --size): photos are prepared at the size models saw."""
    if requested:
        return requested
    sizes = []
    for folder in folders:
        try:
            sizes.append(int(read_config(folder)["image_size"]))
        except (RunError, ValueError, TypeError):
            continue
    if not sizes:
        raise SystemExit("--photos: no run says its image size; pass --size")
    return max(set(sizes), key=sizes.count)


# --------------------------------------------------------------------------- command line


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/mountains-synth"),
                        help="dataset folder: its test split is scored, its train split gives "
                             "the mean-colour baseline")
    parser.add_argument("--runs", type=Path, default=Path("runs"),
                        help="folder of run folders written by train.py")
    parser.add_argument("--out", type=Path, default=Path("results"),
                        help="where metrics.csv, per_image.csv and summary.md go")
    parser.add_argument("--images", type=Path, default=Path("images"),
                        help="where the figures go")
    parser.add_argument("--figures", type=int, default=12,
                        help="number of comparison figures (evenly spaced test images)")
    parser.add_argument("--photos", type=Path, metavar="DIR",
                        help="score a folder of real photos instead of the test split")
    parser.add_argument("--size", type=int, default=None,
                        help="with --photos: image side to prepare them at (None: the runs' size)")
    parser.add_argument("--batch-size", type=int, default=32, help="images per prediction batch")
    parser.add_argument("--bootstrap", type=int, default=2000,
                        help="bootstrap resamples of the paired comparisons")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bootstrap")
    parser.add_argument("--skip-bad", action="store_true",
                        help="evaluate the good runs and list the bad ones instead of stopping")
    parser.add_argument("--update-readme", action="store_true",
                        help="rewrite the results block of --readme (with --photos: its "
                             "real-photos block)")
    parser.add_argument("--readme", type=Path, default=Path("README.md"),
                        help="README whose results block --update-readme rewrites")
    args = parser.parse_args(argv)
    if args.figures < 0:
        parser.error("--figures must be 0 or more")
    if args.batch_size < 1:
        parser.error("--batch-size must be at least 1")
    if args.bootstrap < 100:
        parser.error("--bootstrap must be at least 100")
    return args


def baseline_entries(args, lightness, ab, true_rgb, keep):
    """Gray, and the train split's mean colour where a train split is at hand."""
    baselines = {"gray": {"label": "gray baseline (ab = 0)", "short": "gray\n(ab = 0)",
                          "predict": constant_predictor([0, 0])}}
    try:
        mean_ab = train_mean_ab(args.data)
    except dataset.DatasetError:
        mean_ab = None  # only with --photos and no dataset: the gray baseline still stands
    if mean_ab is not None:
        baselines["mean"] = {"label": "train-mean colour baseline", "short": "train-mean\ncolour",
                             "predict": constant_predictor(mean_ab)}
    entries = {}
    for name, spec in baselines.items():
        scores = score_predictor(name, spec["predict"], lightness, ab, true_rgb, args.batch_size,
                                 keep)
        entries[name] = {"name": f"baseline-{name}", "kind": "baseline", "label": spec["label"],
                         "short": spec["short"], "scores": scores, "config": None}
    return entries


def main(argv=None):
    args = parse_args(argv)
    folders = discover_runs(args.runs)
    if not folders:
        raise SystemExit(f"no runs under {args.runs} (folders with a config.json); "
                         "train one with train.py")
    if args.photos is not None:
        size = photo_size(folders, args.size)
        lightness, ab, ids = load_photos(args.photos, size)
        checksum, source = None, f"{len(lightness)} real photos from `{args.photos}`"
    else:
        lightness, ab, ids, size, checksum = load_test_data(args.data)
        source = f"the {len(lightness)} test images of `{args.data}`"
    runs, bad = load_runs(folders, size, checksum, args.skip_bad)

    true_rgb = to_rgb(lightness, ab)
    keep = figure_indices(len(lightness), args.figures)
    groups = {}
    for folder, config in tqdm(runs, desc="runs", unit="run"):
        try:
            model = load_model(folder, config)
            scores = score_predictor(config["run_name"], model_predictor(model), lightness, ab,
                                     true_rgb, args.batch_size, keep)
        except RunError as exc:
            if not args.skip_bad:
                raise SystemExit(f"cannot evaluate:\n  {exc}") from exc
            bad.append(str(exc))
            continue
        groups.setdefault(group_key(config), []).append(
            {"name": config["run_name"], "kind": "run", "config": config, "folder": folder,
             "scores": scores})
    if not groups:
        raise SystemExit("no run could be evaluated:\n  " + "\n  ".join(bad))
    groups = {k: sorted(groups[k], key=lambda e: e["config"]["seed"])
              for k in sorted(groups, key=group_sort_key)}
    labels = group_labels(list(groups))
    for key, entries in groups.items():
        for entry in entries:
            entry["label"] = labels[key]
    baselines = baseline_entries(args, lightness, ab, true_rgb, keep)

    comparisons = compare(groups, baselines, labels, COMPARED, args.bootstrap, args.seed)
    rows = table_rows(groups, baselines, labels)
    entries = [e for group in groups.values() for e in group] + list(baselines.values())
    write_atomic(args.out / "metrics.csv", metrics_csv(entries))
    write_atomic(args.out / "per_image.csv", per_image_csv(entries, ids))
    summary = summary_markdown(rows, comparisons, bad, source, args.bootstrap)
    write_atomic(args.out / "summary.md", summary.encode())
    figure_paths, plots = write_figures(args.images, groups, baselines, labels, lightness, ab,
                                        keep)
    if args.update_readme:
        base = args.readme.resolve().parent

        def from_readme(path):  # links and folder names as the README sees them
            return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()

        trained = training_summary(groups, labels)
        if args.photos is not None:
            photos = f"{len(lightness)} real photos from `{from_readme(args.photos)}`"
            block = photos_readme_block(rows, comparisons, photos, trained)
            changed = update_readme(args.readme, block, PHOTOS_README_START, PHOTOS_README_END)
        else:
            block = readme_block(rows, comparisons, source, [from_readme(p) for p in figure_paths],
                                 [(t, from_readme(p)) for t, p in plots], trained)
            changed = update_readme(args.readme, block)
        print(f"{args.readme}: {'real-photo' if args.photos else 'results'} block "
              f"{'updated' if changed else 'unchanged'}")
    print(seed_table(rows))
    print()
    print(quality_table(rows))
    print(f"\nwrote {args.out}/metrics.csv, per_image.csv, summary.md and "
          f"{len(figure_paths) + len(plots)} figures in {args.images}")
    if bad:
        print("not evaluated:\n  " + "\n  ".join(bad), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
