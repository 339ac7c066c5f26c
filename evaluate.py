"""Measure trained runs against honest baselines; write the tables and figures the README shows.

    python evaluate.py --runs runs/study --out results/study --update-readme
    python evaluate.py --photos photos --runs runs/study --out results/study/real-photos

Every folder under --runs with a config.json is a run (see train.py): point --runs at the
folder of one experiment (study.py's runs/study, make demo's runs/demo), not at runs/, which
holds them all. Runs must be finished, and the runs of one model, preset and loss must share
one recipe and differ in their seeds; evaluate.py names any that do not and stops (--skip-bad
leaves them out). Each run's model.keras is applied to the test split (or to a folder of real
photos with --photos), and every test image is scored; two baselines are scored the same way:
gray (ab = 0) and the train split's mean colour. Photos are scored on their centre squares, as
dataset.py crops them, unless --whole-frames scores each one whole, as colorize.py colours it.

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
and the figures: Figure_1..N.png (with --photos: Photo_1..N.png, each headed "Real photo" with its
credit from the folder's ATTRIBUTION.md), curves.png (the training curves: not with --photos,
whose images do not change them), auc.png, colorfulness.png. They go to --images, by default
--out/figures; only with --update-readme do they default to the README's own
images/ (images/real-photos/ with --photos), so evaluating an experiment never overwrites the
README's figures. --update-readme rewrites the block between the results markers in README.md
(with --photos: the block between the real-photos markers), and nothing else. The comparison
figures show N evenly spaced images in a fixed order (test split order; photos by file name),
chosen by that rule alone, never by how well a model did on them.

This file finds the runs, loads the images and scores every run; the metrics and the bootstrap
live in metrics.py, the tables, CSV files and README text in report.py, the figures in figures.py.
"""

import argparse
import os
import sys
from pathlib import Path
from typing import NamedTuple

import numpy as np
from tqdm import tqdm

import cli
import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)
import dataset
import figures
import lab
import metrics
import photos
import recipe
import report
import runs
from runs import RunError  # a run that cannot be evaluated on this data

MODEL_NAMES = {"autoencoder": "Autoencoder", "resnet": "ResNet", "unet": "U-Net"}
MODEL_ORDER = list(MODEL_NAMES)


# --------------------------------------------------------------------------- runs


def discover_runs(runs_dir):
    """Every folder under runs_dir holding a config.json, in a stable order."""
    runs_dir = Path(runs_dir)
    if not runs_dir.is_dir():
        raise SystemExit(f"--runs {runs_dir}: no such folder; train a model with train.py first")
    found = []
    for folder in sorted(path.parent for path in runs_dir.rglob(runs.CONFIG_FILE)):
        if not any(run in folder.parents for run in found):  # not a file inside a run
            found.append(folder)
    return found


def read_checked_config(folder):
    """config.json of a run, checked for the keys evaluate.py relies on."""
    config = runs.read_run(folder)
    missing = [k for k in ("model", "preset", "loss", "seed", "image_size") if k not in config]
    if missing:
        raise RunError(f"run {folder.name}: config.json lacks {', '.join(missing)}")
    config.setdefault("run_name", folder.name)
    return config


def check_run(folder, config, image_size, checksum=None):
    """Refuse a run that cannot be compared fairly on this data: why, named, in the message."""
    name = config["run_name"]
    runs.check_finished(folder, config)
    if int(config["image_size"]) != int(image_size):
        raise RunError(f"run {name}: trained on {config['image_size']}x{config['image_size']} "
                       f"images, but the evaluation images are {image_size}x{image_size}")
    stride = int(config.get("stride", 1))
    if image_size % stride:
        raise RunError(f"run {name}: image size {image_size} is not a multiple of the model's "
                       f"stride {stride}")
    if checksum is not None and not runs.trained_on(config, checksum):
        raise RunError(f"run {name}: trained on another dataset (checksum "
                       f"{str(config.get('dataset_checksum'))[:12]}, this one {checksum[:12]}); "
                       f"evaluate it with --data {config.get('data', '<its dataset>')}")


def load_runs(folders, image_size, checksum, skip_bad):
    """(good runs as (folder, config), bad runs as messages); without skip_bad any bad run exits.
    Checked before any model loads, so that a mistake costs seconds, not a whole scoring."""
    good, bad = [], []
    for folder in folders:
        try:
            config = read_checked_config(folder)
            check_run(folder, config, image_size, checksum)
            good.append((folder, config))
        except RunError as exc:
            bad.append(str(exc))
    groups = {}
    for folder, config in good:
        groups.setdefault(group_key(config), []).append((folder, config))
    for group in groups.values():
        try:
            check_group(group)
        except RunError as exc:
            bad.append(str(exc))
            good = [run for run in good if run not in group]
    if bad and not skip_bad:
        raise SystemExit("cannot evaluate:\n  " + "\n  ".join(bad)
                         + "\n(--skip-bad evaluates the other runs)")
    return good, bad


def group_key(config):
    return (str(config["model"]), str(config["preset"]), str(config["loss"]))


def training_recipe(config):
    """What made a run but its seed (recipe.network_of), with ensemble.py's view scales, how
    many networks it averages, how many octaves of its detail it keeps as far as they agree and
    how many colour gains it was calibrated with."""
    values = {key: value for key, value in recipe.network_of(config).items() if key != "seed"}
    values["view_scale"] = config.get("view_scale") or None
    values["networks"] = len(config.get("members") or [config])
    values["agreed octaves"] = config.get("agreed_octaves", 0)
    gains = config.get("ab_gain")  # one number, or one per chroma band
    values["colour gains"] = 0 if gains is None else np.size(gains)
    return values


def check_group(members):
    """Refuse a group, [(folder, config)], that is not one recipe over distinct seeds: its
    mean ± std would pool unlike runs, or count one seed twice."""
    def named(folders):
        shown = ", ".join(str(folder) for folder in folders[:4])
        return shown + (f" and {len(folders) - 4} more" if len(folders) > 4 else "")

    model, preset, loss = group_key(members[0][1])
    group = f"{model} (preset {preset}, loss {loss})"
    by_seed = {}
    for folder, config in members:
        by_seed.setdefault(str(config["seed"]), []).append(folder)
    twice = {seed: folders for seed, folders in by_seed.items() if len(folders) > 1}
    if twice:
        seed, folders = next(iter(twice.items()))
        raise RunError(f"runs {named(folders)}: {group} with the same seed {seed} (one seed "
                       "counted twice); score them separately, with --runs pointing at a folder "
                       "of one experiment")
    recipes = [training_recipe(config) for _, config in members]
    differ = [key for key in recipes[0] if len({repr(r[key]) for r in recipes}) > 1]
    if differ:
        values = "; ".join(f"{key}: {', '.join(sorted({str(r[key]) for r in recipes}))}"
                           for key in differ)
        raise RunError(f"runs {named([folder for folder, _ in members])}: {group} trained "
                       f"differently ({values}); score each recipe separately, with --runs "
                       "pointing at a folder of one")


def seed_order(seed):
    """Sort key of a seed that never compares a number with text: train.py's seeds (numbers) in
    numeric order, then ensemble.py's ("1+2+3") as text, as they always sorted."""
    return (0, seed, "") if isinstance(seed, int) else (1, 0, str(seed))


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
    import models  # Keras loads here, so that --help and argument errors stay instant

    try:
        return models.load_saved(folder / runs.MODEL_FILE)
    except models.SavedModelError as exc:  # a bad run, reported with its cause
        raise RunError(f"run {config['run_name']}: cannot load model.keras ({exc})") from exc


def score_predictor(name, predict, lightness, true_ab, true_rgb, batch_size, keep):
    """Score predict(L batch) -> ab batch over all images; keep the predictions at indices keep.
    Whole frames (lists of images of different shapes) go one per batch (batch_size 1)."""
    parts, kept = [], {}
    with tqdm(total=len(lightness), desc=name, unit="img", leave=False) as bar:
        for start in range(0, len(lightness), batch_size):
            stop = min(start + batch_size, len(lightness))
            batch_l, batch_ab, batch_rgb = (np.asarray(images[start:stop])
                                            for images in (lightness, true_ab, true_rgb))
            pred_ab = predict(batch_l)
            if pred_ab.shape != batch_ab.shape:
                raise RunError(f"run {name}: predicted shape {pred_ab.shape}, expected "
                               f"{batch_ab.shape}")
            parts.append(metrics.score_batch(batch_l, batch_ab, pred_ab, batch_rgb))
            for index in keep:
                if start <= index < stop:
                    kept[index] = pred_ab[index - start]
            bar.update(stop - start)
    scores = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    scores["figure_ab"] = [kept[i] for i in keep] if len(keep) else None
    return scores


def model_predictor(model, stride=None):
    """L batch -> ab batch through the model; with a stride, each image padded by reflection to
    a multiple of it and cropped back, as colorize.py colours a whole frame."""
    import keras

    def network(encoded):
        output = model(encoded, training=False)  # eager: no retracing per shape
        return keras.ops.convert_to_numpy(output).astype(np.float32)

    if stride is not None:  # whole frames come in a few shapes: each traced once it repeats
        import colorize

        traced = colorize.ShapeTracedModel(model)
        return lambda lightness: np.stack([colorize.padded_prediction(traced, image[..., 0],
                                                                      stride)
                                           for image in lightness])
    return lambda lightness: lab.decode_ab(network(lab.encode_l(lightness)))


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


# --------------------------------------------------------------------------- data


class Images(NamedTuple):
    """The images every run is scored on, with what the tables say about where they came from."""

    lightness: np.ndarray  # (N, H, W, 1) L in Lab units; whole frames: a list of (h, w, 1)
    ab: np.ndarray  # (N, H, W, 2) the true a*b*; whole frames: a list of (h, w, 2)
    ids: list
    size: int
    checksum: str | None  # the dataset's; None for real photos, which any run may be scored on
    source: str  # "the 7 test images of `data/x`", for the summary
    whole_frames: bool = False  # photos whole, shorter side `size`, instead of centre squares


def load_test_data(data):
    """The dataset's test split as Images, or a clear exit."""
    try:
        meta = dataset.read_meta(data)
        lightness, ab = dataset.load_split(data, "test")
    except dataset.DatasetError as exc:
        raise SystemExit(str(exc)) from exc
    if len(lightness) == 0:
        raise SystemExit(f"{data}: the test split is empty, nothing to evaluate; "
                         "build the dataset from more images")
    ids = [m["id"] for m in meta.get("members", {}).get("test", [])] or list(range(len(ab)))
    return Images(np.asarray(lightness), np.asarray(ab), ids, int(meta["size"]), meta["checksum"],
                  f"the {len(lightness)} test images of `{data}`")


def read_photos(folder, size, fit="crop"):
    """(uint8 sRGB (N, size, size, 3), ids) of a folder of real photos, decoded and cropped the
    way dataset.py does (fit photos.FRAME: a list of whole frames); skipped photos are listed on
    stderr, and a folder without a usable one is a clear exit. tools/colour_stats.py reads photo
    folders through it too."""
    if not Path(folder).is_dir():
        raise SystemExit(f"{folder}: no such folder of photos")
    try:
        rgb, ids, skipped = photos.prepare_photos(folder, size, fit)
    except (dataset.DatasetError, ValueError, OSError) as exc:
        raise SystemExit(f"{folder}: {exc}") from exc
    for entry in skipped:
        print(f"skipped {entry['id']}: {entry['reason']}", file=sys.stderr)
    if len(rgb) == 0:
        raise SystemExit(f"{folder}: no usable photos there ({len(skipped)} skipped)")
    return rgb, ids


def load_photos(folder, size, whole_frames=False):
    """A folder of real photos (--photos) as Images: their centre squares, or whole frames."""
    if not whole_frames:
        rgb, ids = read_photos(folder, size)
        lightness, ab = lab.split_lab(lab.rgb_to_lab(rgb))
        return Images(lightness.astype(np.float32), ab.astype(np.float32), list(ids), size,
                      None, f"{len(rgb)} real photos from `{folder}`")
    frames, ids = read_photos(folder, size, photos.FRAME)
    lightness, ab = zip(*(lab.split_lab(lab.rgb_to_lab(frame).astype(np.float32))
                          for frame in frames))
    return Images(list(lightness), list(ab), list(ids), size, None,
                  f"{len(frames)} real photos from `{folder}`, whole (shorter side {size} px)",
                  whole_frames=True)


def photo_size(folders, requested):
    """The runs' common image size (or --size): photos are prepared at the size models saw."""
    if requested is not None:
        return requested
    sizes = []
    for folder in folders:
        try:
            sizes.append(int(read_checked_config(folder)["image_size"]))
        except (RunError, ValueError, TypeError):
            continue
    if not sizes:
        raise SystemExit("--photos: no run under --runs has a readable config.json with its "
                         "image size")
    return max(set(sizes), key=sizes.count)


def photo_credits(folder):
    """{file name: "author, licence"} from the table in folder/ATTRIBUTION.md (see photos/), or
    {} when the folder has none: figures of real photos carry their credit."""
    path = Path(folder) / "ATTRIBUTION.md"
    if not path.is_file():
        return {}
    credits, columns = {}, None
    for line in path.read_text(encoding="utf-8").splitlines():
        cells = [cell.strip().strip("`") for cell in line.strip().strip("|").split("|")]
        if columns is None:
            if {"file", "author", "licence"} <= set(cells):
                columns = cells
            continue
        if len(cells) == len(columns) and not set(line) <= set("|-: "):
            row = dict(zip(columns, cells))
            credits[row["file"]] = f"{row['author']}, {row['licence']}"
    return credits


# --------------------------------------------------------------------------- the steps


def find_runs(runs_dir):
    folders = discover_runs(runs_dir)
    if not folders:
        raise SystemExit(f"no runs under {runs_dir} (folders with a config.json); "
                         "train one with train.py")
    return folders


def score_runs(good, images, true_rgb, batch_size, keep, skip_bad, bad):
    """{group key: [entry per seed]} in table order, and the groups' labels; a run that fails
    is added to bad (with skip_bad) or stops the evaluation."""
    groups = {}
    for folder, config in tqdm(good, desc="runs", unit="run"):
        try:
            model = load_model(folder, config)
            stride = int(config.get("stride", 1)) if images.whole_frames else None
            scores = score_predictor(config["run_name"], model_predictor(model, stride),
                                     images.lightness, images.ab, true_rgb, batch_size, keep)
        except RunError as exc:
            if not skip_bad:
                raise SystemExit(f"cannot evaluate:\n  {exc}") from exc
            bad.append(str(exc))
            continue
        groups.setdefault(group_key(config), []).append(
            {"name": config["run_name"], "kind": "run", "config": config, "folder": folder,
             "scores": scores})
    if not groups:
        raise SystemExit("no run could be evaluated:\n  " + "\n  ".join(bad))
    groups = {k: sorted(groups[k], key=lambda e: seed_order(e["config"]["seed"]))
              for k in sorted(groups, key=group_sort_key)}
    labels = group_labels(list(groups))
    for key, entries in groups.items():
        for entry in entries:
            entry["label"] = labels[key]
    return groups, labels


def baseline_entries(data, images, true_rgb, batch_size, keep):
    """Gray, and the train split's mean colour where a train split is at hand."""
    baselines = {"gray": {"label": "gray baseline (ab = 0)", "short": "gray\n(ab = 0)",
                          "predict": constant_predictor([0, 0])}}
    try:
        mean_ab = train_mean_ab(data)
    except dataset.DatasetError:
        mean_ab = None  # only with --photos and no dataset: the gray baseline still stands
    if mean_ab is not None:
        baselines["mean"] = {"label": "train-mean colour baseline", "short": "train-mean\ncolour",
                             "predict": constant_predictor(mean_ab)}
    entries = {}
    for name, spec in baselines.items():
        scores = score_predictor(name, spec["predict"], images.lightness, images.ab, true_rgb,
                                 batch_size, keep)
        entries[name] = {"name": f"baseline-{name}", "kind": "baseline", "label": spec["label"],
                         "short": spec["short"], "scores": scores, "config": None}
    return entries


def figure_folder(images, out, readme, update_readme, photos):
    """--images if given; else the README's images/ (images/real-photos/ for photos) when the
    README is being updated, and --out/figures otherwise: README figures change only on purpose."""
    if images is not None:
        return Path(images)
    if update_readme:
        folder = Path(readme).parent / "images"
        return folder / "real-photos" if photos is not None else folder
    return Path(out) / "figures"


def readme_markers(photos):
    """The markers of the block --update-readme rewrites: the real-photos block with --photos."""
    if photos is not None:
        return report.PHOTOS_README_START, report.PHOTOS_README_END
    return report.README_START, report.README_END


def write_readme_block(readme, photos, count, results, figure_paths, plots, summary):
    """The README's results block (or, for photos, its real-photo block), links made relative;
    summary: the summary.md written beside the tables, which the results block points to."""
    base = Path(readme).resolve().parent

    def from_readme(path):  # links and folder names as the README sees them
        return Path(os.path.relpath(Path(path).resolve(), base)).as_posix()

    rows, comparisons, source, trained = results
    if photos is not None:
        credits = Path(photos) / "ATTRIBUTION.md"
        block = report.photos_readme_block(
            rows, comparisons, count, f"{count} real photos from `{from_readme(photos)}`", trained,
            [from_readme(p) for p in figure_paths],
            from_readme(credits) if credits.is_file() else None,
            [(t, from_readme(p)) for t, p in plots])
    else:
        block = report.readme_block(rows, comparisons, source, from_readme(summary),
                                    [from_readme(p) for p in figure_paths],
                                    [(t, from_readme(p)) for t, p in plots], trained)
    changed = report.update_readme(readme, block, *readme_markers(photos))
    print(f"{readme}: {'real-photo' if photos else 'results'} block "
          f"{'updated' if changed else 'unchanged'}")


# --------------------------------------------------------------------------- command line


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("data/mountains-synth"),
                        help="dataset folder: its test split is scored, its train split gives "
                             "the mean-colour baseline")
    parser.add_argument("--runs", type=Path, default=Path("runs"),
                        help="folder of run folders written by train.py")
    parser.add_argument("--out", type=Path, default=Path("results"),
                        help="where metrics.csv, per_image.csv and summary.md go")
    parser.add_argument("--images", type=Path, default=None,
                        help="where the figures go (None: --out/figures; with --update-readme "
                             "the README's images/, or images/real-photos/ with --photos)")
    parser.add_argument("--figures", type=int, default=12,
                        help="number of comparison figures (evenly spaced test images, or "
                             "photos in file-name order)")
    parser.add_argument("--photos", type=Path, metavar="DIR",
                        help="score a folder of real photos instead of the test split")
    parser.add_argument("--size", type=int, default=None,
                        help="with --photos: image side to prepare them at (default: the size "
                             "most runs were trained at); a run trained at another size stops the "
                             "evaluation, or with --skip-bad is left out")
    parser.add_argument("--whole-frames", action="store_true",
                        help="with --photos: score each photo whole, as colorize.py colours it "
                             "(its shorter side --size, padded by reflection to the model's "
                             "stride), instead of its centre square; one photo per batch")
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
    if args.size is not None and args.size < 1:
        parser.error("--size must be a positive number of pixels")
    if args.bootstrap < 100:
        parser.error("--bootstrap must be at least 100")
    cli.check_output_folders(parser, ("--out", args.out, "a folder for the tables"),
                             ("--images", args.images, "a folder for the figures"))
    if args.whole_frames and (args.photos is None or args.update_readme):
        parser.error("--whole-frames scores --photos and writes no README block (its blocks "
                     "score centre squares)")
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.update_readme:  # before scoring: a wrong --readme must not leave the tables written
        report.check_readme(args.readme, *readme_markers(args.photos))
    folders = find_runs(args.runs)
    if args.photos is not None:
        images = load_photos(args.photos, photo_size(folders, args.size), args.whole_frames)
    else:
        images = load_test_data(args.data)
    good, bad = load_runs(folders, images.size, images.checksum, args.skip_bad)
    if images.whole_frames:
        true_rgb = [metrics.to_rgb(*frame) for frame in zip(images.lightness, images.ab)]
    else:
        true_rgb = metrics.to_rgb(images.lightness, images.ab)
    keep = figure_indices(len(images.lightness), args.figures)
    batch_size = 1 if images.whole_frames else args.batch_size
    groups, labels = score_runs(good, images, true_rgb, batch_size, keep, args.skip_bad, bad)
    baselines = baseline_entries(args.data, images, true_rgb, batch_size, keep)

    comparisons = metrics.compare(groups, baselines, labels, metrics.COMPARED, args.bootstrap,
                                  args.seed)
    rows = report.table_rows(groups, baselines, labels)
    entries = [e for group in groups.values() for e in group] + list(baselines.values())
    report.write_tables(args.out, entries, images.ids, rows, comparisons, bad, images.source,
                        args.bootstrap)
    images_dir = figure_folder(args.images, args.out, args.readme, args.update_readme,
                               args.photos)
    style = figures.TEST_IMAGES
    if args.photos is not None:
        style = figures.real_photo_style([images.ids[i] for i in keep], photo_credits(args.photos))
    figure_paths, plots = figures.write_figures(images_dir, groups, baselines, labels,
                                                images.lightness, images.ab, keep, style,
                                                curves=args.photos is None)
    if args.update_readme:
        results = (rows, comparisons, images.source, report.training_summary(groups, labels))
        write_readme_block(args.readme, args.photos, len(images.lightness), results,
                           figure_paths, plots, args.out / "summary.md")
    print(report.seed_table(rows))
    print()
    print(report.quality_table(rows))
    print(f"\nwrote {args.out}/metrics.csv, per_image.csv, summary.md and "
          f"{len(figure_paths) + len(plots)} figures in {images_dir}")
    if bad:
        print("not evaluated:\n  " + "\n  ".join(bad), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
