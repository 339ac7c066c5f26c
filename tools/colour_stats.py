"""Colour statistics of photo folders and of the built-in landscapes, side by side.

The generator is tuned toward real photos by comparing these numbers, never by copying photos:

    python tools/colour_stats.py ../shared/realdata --synthetic 300
    python tools/colour_stats.py --synthetic 300 --size 128 --seed 0

Each column is one source; rows are chroma percentiles, mean a/b and the ab spread per L bin
(mean distance of a pixel's ab to its bin's mean ab: zero when colour is a function of L),
the share of pixels with sky-, vegetation-, warm- and neutral-like colours, and the detail per
pixel (mean |gradient of L|). --view-scales also gives each folder's detail when its photos are
shown enlarged as ensemble.py --view-scale shows them to a network (models.viewed_at):

    python tools/colour_stats.py photos --synthetic 300 --view-scales 1 5/4 3/2 2
"""

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cli  # noqa: E402
import ensemble  # noqa: E402
import evaluate  # noqa: E402
import lab  # noqa: E402
import mountains  # noqa: E402

L_BINS = [(0, 20), (20, 40), (40, 60), (60, 80), (80, 101)]


def render_synthetic(count, size, seed):
    return np.stack([mountains.render_landscape((seed, i), size) for i in range(count)])


def ab_spread(lab_pixels, lo, hi):
    """Mean distance of ab to the bin's mean ab over pixels with lo <= L < hi (nan if none)."""
    in_bin = (lab_pixels[:, 0] >= lo) & (lab_pixels[:, 0] < hi)
    if not in_bin.any():
        return float("nan")
    ab = lab_pixels[in_bin, 1:]
    return float(np.mean(np.hypot(*(ab - ab.mean(axis=0)).T)))


def detail(lightness):
    """Mean |gradient of L| (N, H, W) per pixel: how much fine structure a pixel carries."""
    lightness = np.asarray(lightness, np.float64)
    down, right = np.diff(lightness, axis=1)[:, :, :-1], np.diff(lightness, axis=2)[:, :-1, :]
    return float(np.mean(np.hypot(down, right)))


def detail_seen_at(lightness, scale):
    """detail() of L (N, H, W) after models.view_resampler(scale): what the network sees."""
    import cpu  # noqa: F401  (TensorFlow's settings before it loads)
    import models

    enlarged = models.view_resampler(scale)(np.asarray(lightness, np.float32)[..., None])
    return detail(np.asarray(enlarged)[..., 0])


def colour_stats(images):
    """A flat dict of named statistics of a stack of uint8 RGB images."""
    lab_images = lab.rgb_to_lab(images)
    pixels = lab_images.reshape(-1, 3)
    lightness, a, b = pixels.T
    chroma = np.hypot(a, b)
    stats = {"images": len(images), "L mean": lightness.mean(), "a mean": a.mean(),
             "b mean": b.mean()}
    for q in (10, 50, 90, 99):
        stats[f"chroma p{q}"] = np.percentile(chroma, q)
    stats["chroma mean"] = chroma.mean()
    for lo, hi in L_BINS:
        in_bin = (lightness >= lo) & (lightness < hi)
        name = f"L{lo}-{min(hi, 100)}"
        stats[f"{name} share"] = in_bin.mean()
        stats[f"{name} a"] = a[in_bin].mean() if in_bin.any() else np.nan
        stats[f"{name} b"] = b[in_bin].mean() if in_bin.any() else np.nan
        stats[f"{name} chroma"] = chroma[in_bin].mean() if in_bin.any() else np.nan
        stats[f"{name} ab spread"] = ab_spread(pixels, lo, hi)
    stats["sky-like (b<-8)"] = np.mean(b < -8)
    stats["green (a<-4,b>4)"] = np.mean((a < -4) & (b > 4))
    stats["warm (a>4,b>8)"] = np.mean((a > 4) & (b > 8))
    stats["yellow (b>15)"] = np.mean(b > 15)
    stats["neutral (C<6)"] = np.mean(chroma < 6)
    stats["snow/cloud (L>80,C<8)"] = np.mean((lightness > 80) & (chroma < 8))
    stats["detail (mean |grad L|)"] = detail(lab_images[..., 0])
    return stats


def print_table(columns):
    names = list(columns)
    rows = list(next(iter(columns.values())))
    print(f"{'statistic':24s}" + "".join(f"{n[-18:]:>20s}" for n in names))
    for row in rows:
        cells = []
        for n in names:
            value = columns[n][row]
            cells.append(f"{value:20.0f}" if row == "images" else f"{value:20.3f}"
                         if "share" in row or "like" in row or "(" in row else f"{value:20.2f}")
        print(f"{row:24s}" + "".join(cells))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("folders", nargs="*", help="folders of photos (searched recursively)")
    parser.add_argument("--synthetic", type=int, default=0,
                        help="also measure this many built-in landscapes")
    parser.add_argument("--size", type=int, default=128, help="image side in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the built-in landscapes")
    parser.add_argument("--view-scales", type=ensemble.positive_fraction, nargs="+", default=[],
                        metavar="P/Q", help="also the folders' detail per pixel when shown "
                                            "this much larger (ensemble.py --view-scale)")
    args = parser.parse_args(argv)
    if args.synthetic < 0:
        parser.error("--synthetic must be 0 or more")
    if not args.folders and args.synthetic == 0:
        parser.error("give at least one folder or --synthetic N")
    if args.size < 4:
        parser.error("--size must be at least 4")  # the landscapes' least (render_landscape)
    if args.seed < 0:
        parser.error("--seed must be 0 or positive")
    if args.view_scales and not args.folders:
        parser.error("--view-scales measures the folders' photos: give at least one folder")
    if len(set(args.view_scales)) < len(args.view_scales):
        parser.error("--view-scales names the same scale twice")  # as ensemble.py --view-scale
    for folder in args.folders:  # all of them before the first is read
        if not Path(folder).is_dir():
            parser.error(f"{folder}: no such folder of photos")
    return args


def main(argv=None):
    args = parse_args(argv)
    columns, folders = {}, {}
    for folder in args.folders:
        # read as evaluate.py --photos reads them (photos.py: any mode to sRGB, centre crop,
        # Lanczos; gray ones skipped, as dataset.py skips them)
        folders[str(folder)] = evaluate.read_photos(folder, args.size)[0]
        columns[str(folder)] = colour_stats(folders[str(folder)])
    if args.synthetic > 0:
        images = render_synthetic(args.synthetic, args.size, args.seed)
        columns[f"synthetic s{args.seed}"] = colour_stats(images)
    print_table(columns)
    for name, images in folders.items():
        lightness = lab.rgb_to_lab(images)[..., 0] if args.view_scales else None
        for scale in args.view_scales:
            print(f"{name} shown {scale}x larger: detail {detail_seen_at(lightness, scale):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
