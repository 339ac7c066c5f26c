"""The figures of an evaluation: comparison rows of images, loss curves, AuC and colorfulness.

matplotlib is imported only when a figure is drawn, so importing this module stays cheap. Every
PNG is 960 px wide (FIGURE_WIDTH_IN x FIGURE_DPI) and written through files.py.
"""

import io
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

import files
import lab
import runs
from metrics import AUC_THRESHOLDS, summarize

FIGURE_WIDTH_IN = 10.0
FIGURE_DPI = 96  # 960 px wide: the width a README shows without scaling much
HEADING_IN = 0.35  # the line above a real photo's comparison row
# What history.csv's loss and val_loss mean per train.py --loss: the y axis of the curves.
LOSS_AXIS_LABELS = {"mse": "MSE of ab/128", "mae": "MAE of ab/128", "huber": "Huber loss of ab/128",
                    "classification": "rebalanced cross-entropy (ab bins)"}


class FigureStyle(NamedTuple):
    """How a set of comparison figures is named and labelled."""

    prefix: str  # files PREFIX_1.png ... PREFIX_N.png
    original: str  # title of the last panel
    headings: tuple = ()  # one line above each figure, or none


TEST_IMAGES = FigureStyle("Figure", "original")


def real_photo_style(ids, credits):
    """Real photos get their own files (Photo_N.png) and a heading naming the photo as real,
    with its author and licence where the folder's ATTRIBUTION.md gives them."""
    headings = []
    for number, image_id in enumerate(ids, start=1):
        credit = credits.get(Path(str(image_id)).name)
        headings.append(f"Real photo {number}: {image_id}" + (f" ({credit})" if credit else ""))
    return FigureStyle("Photo", "original photo", tuple(headings))


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
    files.write_bytes_atomic(path, buffer.getvalue())


def comparison_figure(path, panels, heading=None):
    """One row of images with a title above each: panels = [(title, uint8 RGB)]; 960 px wide,
    as tall as the tallest panel for its width (square for square images, lower for whole frames).
    A heading, when given, is a line above the whole row (a real photo's name and credit)."""
    columns = len(panels)
    panel_in = FIGURE_WIDTH_IN / columns
    panel_height_in = panel_in * max(image.shape[0] / image.shape[1] for _, image in panels)
    if columns > 5:  # narrow panels: "U-Net (large, mse)" goes on two lines
        panels = [(title.replace(" (", "\n("), image) for title, image in panels]
    title_in = 0.4 if all("\n" not in title for title, _ in panels) else 0.6
    heading_in = HEADING_IN if heading else 0.0
    height = panel_height_in + title_in + heading_in
    fig = new_figure(height)
    gap = 0.04  # inches between images
    for i, (title, image) in enumerate(panels):
        ax = fig.add_axes([(i * panel_in + gap / 2) / FIGURE_WIDTH_IN, gap / 2 / height,
                           (panel_in - gap) / FIGURE_WIDTH_IN, (panel_height_in - gap) / height])
        ax.imshow(image, interpolation="lanczos" if image.shape[0] < 200 else "antialiased")
        ax.set_axis_off()
        ax.set_title(title, fontsize=11 if columns <= 6 else 9, pad=4)
    if heading:
        fig.text(0.5, 1 - 0.5 * HEADING_IN / height, heading, ha="center", va="center",
                 fontsize=11, fontweight="bold")
    save_figure(fig, path)


def grid_figure(path, rows, heading=None, footer=None):
    """Rows of images under a label each: rows = [(label, [uint8 RGB, ...])], the same photos
    in every row, one per column; 960 px wide. Shows several photos and several models in one
    picture (the README's first screen), where comparison_figure shows one photo. A footer
    (the photos' credits) is a small line below, wrapped to the figure's width."""
    import textwrap

    columns = max(len(images) for _, images in rows)
    panel_in = FIGURE_WIDTH_IN / columns
    label_in = 0.3
    heading_in = HEADING_IN if heading else 0.0
    footer_lines = textwrap.wrap(footer, 150) if footer else []
    footer_in = 0.16 * len(footer_lines) + (0.1 if footer_lines else 0.0)
    height = len(rows) * (panel_in + label_in) + heading_in + footer_in
    fig = new_figure(height)
    gap = 0.03
    for r, (label, images) in enumerate(rows):
        top = heading_in + r * (panel_in + label_in)  # inches from the top edge
        fig.text(0.5, 1 - (top + 0.5 * label_in) / height, label, ha="center", va="center",
                 fontsize=11)
        for c, image in enumerate(images):
            bottom = height - top - label_in - panel_in
            ax = fig.add_axes([(c * panel_in + gap / 2) / FIGURE_WIDTH_IN,
                               (bottom + gap / 2) / height, (panel_in - gap) / FIGURE_WIDTH_IN,
                               (panel_in - gap) / height])
            ax.imshow(image, interpolation="lanczos" if image.shape[0] < 200 else "antialiased")
            ax.set_axis_off()
    if heading:
        fig.text(0.5, 1 - 0.5 * HEADING_IN / height, heading, ha="center", va="center",
                 fontsize=11, fontweight="bold")
    if footer_lines:
        fig.text(0.5, 0.05 / height, "\n".join(footer_lines), ha="center", va="bottom",
                 fontsize=7.5, linespacing=1.3)
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
            records = runs.read_history(entry["folder"])
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


def write_comparisons(images_dir, groups, labels, lightness, true_ab, indices, style):
    """One comparison figure per chosen image: input, each group's first seed, the original.
    style: FigureStyle (file prefix, name of the last panel, heading per image or None)."""
    images_dir = Path(images_dir)
    paths = []

    def rgb(index, ab):
        return lab.lab_to_rgb_uint8(lab.join_lab(lightness[index], ab))

    progress = tqdm(indices, desc="figures", unit="fig", leave=False)
    for figure_number, index in enumerate(progress, start=1):
        panels = [("grayscale input", rgb(index, np.zeros_like(true_ab[index])))]
        for key, entries in groups.items():
            first_seed_ab = entries[0]["scores"]["figure_ab"][figure_number - 1]
            panels.append((labels[key], rgb(index, first_seed_ab)))
        panels.append((style.original, rgb(index, true_ab[index])))
        path = images_dir / f"{style.prefix}_{figure_number}.png"
        heading = style.headings[figure_number - 1] if style.headings else None
        comparison_figure(path, panels, heading)
        paths.append(path)
    for stale in images_dir.glob(f"{style.prefix}_*.png"):
        suffix = stale.stem.split("_", 1)[1]
        if suffix.isdigit() and int(suffix) > len(indices):
            stale.unlink()
    return paths


def write_figures(images_dir, groups, baselines, labels, lightness, true_ab, indices,
                  style=TEST_IMAGES, curves=True):
    """All README figures; returns (figure paths, [(title, path)] of the plots). curves=False
    leaves out the training curves, which the images scored do not change (real photos)."""
    images_dir = Path(images_dir)
    figure_paths = write_comparisons(images_dir, groups, labels, lightness, true_ab, indices,
                                     style)
    plots = []
    if curves:
        plots.append(("Train and validation loss", images_dir / "curves.png"))
        curves_figure(plots[-1][1], groups, labels)
    plots.append(("Cumulative ab error", images_dir / "auc.png"))
    auc_figure(plots[-1][1], groups, baselines, labels)
    plots.append(("Colorfulness", images_dir / "colorfulness.png"))
    colorfulness_figure(plots[-1][1], groups, baselines, labels)
    return figure_paths, plots
