"""The tables, CSV files and README text of an evaluation: what evaluate.py writes as text.

Tables are built from the scores metrics.py computes; the README's results blocks are replaced
between their markers and nothing else in the README changes. Every file goes through files.py.
"""

import csv
import io
from pathlib import Path

import numpy as np

import files
from metrics import (COMPARED, CONFIDENCE, METRIC_INFO, METRIC_KEYS, METRICS, PSNR_CAP_DB,
                     summarize)

README_START = "<!-- results:start -->"
README_END = "<!-- results:end -->"
# With --photos, --update-readme writes this block instead: the real photos get their own table.
PHOTOS_README_START = "<!-- real-photos:start -->"
PHOTOS_README_END = "<!-- real-photos:end -->"
README_COMPARED = ["ab_rmse", "auc"]
# The seed study's test-set table (DESIGN.md): loss = MSE on ab/255, accuracy = categorical.
SEED_PUBLISHED = {"autoencoder": (0.00312, 0.747), "resnet": (0.00335, 0.719),
                  "unet": (0.00350, 0.755)}


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
    """One row per group and baseline: (label, the seed study's network or None, n text,
    {metric: text}). Only the seed preset trained with MSE is the network the seed study
    published numbers for; the large presets and other losses are this project's own."""
    rows = []
    for key, entries in groups.items():
        cells = {}
        for metric, _, decimals, _ in METRICS:
            mean, std, n = summarize(entries, metric)
            if metric == "colorfulness_original":
                n = 1  # the same originals for every seed: a spread would be fake
            cells[metric] = format_value(mean, std, n, decimals)
        seed_network = key[0] if key[1:] == ("seed", "mse") else None
        rows.append((labels[key], seed_network, f"n={len(entries)}", cells))
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


def readme_block(rows, comparisons, source, summary, figure_paths, other_paths, trained=""):
    """The README's results block; summary: the path of evaluate.py's summary.md as the README
    links it (results/study/summary.md after make reproduce)."""
    lines = [
        "## Results", "",
        f"Scored by `evaluate.py` on {source}. {trained} Means over images, "
        "mean ± std over seeds where n > 1. The seed study's published numbers were measured on "
        "its own test set of scraped photos at 128x128: they sit beside ours for reference, not "
        "as a like-for-like comparison. Its `loss` is MSE on ab/255 and its `accuracy` is "
        "Keras' categorical accuracy on the two ab channels (does the larger of a and b match?): "
        "neither says much about colour, so the second table adds real colorization metrics; "
        f"`{summary}` has every paired comparison.", "",
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


def photos_readme_block(rows, comparisons, count, source, trained="", figure_paths=(),
                        credits=None, plots=()):
    """The real-photo table, and the comparison figures of the photos (labelled as real);
    count: how many photos were scored; credits: the README's link to the photos'
    ATTRIBUTION.md, if they have one; plots: [(title, link)] of the photos' own plots."""
    against_gray = [row for row in comparisons if row["versus_gray"]]
    lines = [
        "### On real photos", "",
        f"The same runs scored by `evaluate.py --photos` on {source}, prepared like any photo "
        f"folder (dataset.py: centre crop, resized to the training size). {trained} Means over "
        "photos, mean ± std over seeds where n > 1. The photos are for evaluation only: no model "
        "trains on them.", "",
        quality_table(rows), "",
        "Each model against the gray baseline on the same photos (bootstrap 95% interval over "
        f"photos; with {count} photos only large gaps are significant):", "",
        comparison_table(against_gray, README_COMPARED)]
    if figure_paths:
        lines += ["", "Each figure is one real photo, taken evenly spaced in file-name order (not "
                  "picked by result): the grayscale input, what each model made of it (its first "
                  "seed), and the original photo."
                  + (f" Authors and licences: [{credits}]({credits}); a figure made from a "
                     "CC-BY-SA photo is shared under CC-BY-SA." if credits else ""), ""]
        for index, path in enumerate(figure_paths, start=1):
            lines += [f"![Real photo {index}]({path})", ""]
    if plots:
        named = " and ".join(title[0].lower() + title[1:] for title, _ in plots)
        lines += [""] * (lines[-1] != "") + [f"The same runs' {named} on the real photos:", ""]
        for title, path in plots:
            lines += [f"![{title} on the real photos]({path})", ""]
    return "\n".join(lines).rstrip("\n")


def readme_block_bounds(path, start_marker=README_START, end_marker=README_END):
    """(the README's text, where its start marker ends, where its end marker begins), once the
    file is known to hold both markers in order."""
    path = Path(path)
    if not path.is_file():
        raise SystemExit(f"{path}: no such README (its block cannot be rewritten)")
    text = path.read_text()
    start = text.find(start_marker)
    end = text.find(end_marker)
    if start < 0 or end < start:
        raise SystemExit(f"{path}: needs the markers {start_marker} and {end_marker}, in order")
    return text, start + len(start_marker), end


def check_readme(path, start_marker=README_START, end_marker=README_END):
    """The README's text, once it is known to hold both markers in order: evaluate.py checks
    this before scoring, so that a wrong --readme stops it before it writes anything."""
    return readme_block_bounds(path, start_marker, end_marker)[0]


def update_readme(path, block, start_marker=README_START, end_marker=README_END):
    """Replace what lies between the two markers; everything else stays byte for byte."""
    text, head_end, end = readme_block_bounds(path, start_marker, end_marker)
    new = text[:head_end] + "\n" + block + "\n" + text[end:]
    if new != text:
        files.write_bytes_atomic(path, new.encode())
    return new != text


# --------------------------------------------------------------------------- csv


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


def write_tables(out, entries, image_ids, rows, comparisons, bad, source, resamples):
    """--out/metrics.csv (one row per run and baseline), per_image.csv and summary.md."""
    out = Path(out)
    files.write_bytes_atomic(out / "metrics.csv", metrics_csv(entries))
    files.write_bytes_atomic(out / "per_image.csv", per_image_csv(entries, image_ids))
    summary = summary_markdown(rows, comparisons, bad, source, resamples)
    files.write_bytes_atomic(out / "summary.md", summary.encode())
