"""Average several finished runs into one run folder whose model.keras predicts their mean colour.

    python ensemble.py runs/model-members/member-s1 runs/model-members/member-s2 \
        runs/model-members/member-s3 --out runs/model

The members must be finished train.py runs of one image size: several seeds of one recipe, or
networks of different families, whose mistakes differ more. --view-scale 5/4 shows the average
its input enlarged by that much (models.viewed_at): real photos carry more detail per pixel
than the landscapes the networks learnt on; with it, one member is allowed. Several scales
(--view-scale 1 5/4 3/2 7/4) average the views too: which one suits a photo best differs from
photo to photo.

Averaging pulls colours toward gray wherever networks or views disagree. --calibrate DATA
fits one gain for the ensemble's ab on DATA's validation split (landscapes it never trained
on), seen as photos are, with its views, and applies it (models.with_chroma_gain): the
least-squares factor, so the colour it gives back is what those landscapes call for on
average. The pull is strongest where the networks are least sure, and there their colours
come out faintest: --chroma-bands N fits a gain for each of N bands of the ensemble's chroma
instead (equal shares of the pixels), applied along a line through the bands' medians, so
faint colours can get more back than vivid ones.

On real photos the networks and views disagree most in the colour's fine detail, where they are
least right: --agreed-octaves N keeps the detail of the mean at each of N octaves (Gaussian
sigma 1, 2, 4, ... px) only in the share that the predictions agree on (models.agreed_average);
on landscapes like their own they agree there and it stays. --guided-radius R then moves the
colour's edges onto L's (models.with_guided_filter: the colour fitted as a straight-line function
of L* in every window of 2R + 1 pixels, a window whose L* varies by less than --guided-eps counting
as flat): the networks paint from half resolution, and averaging softens their edges further. The
gains are fitted after both.

The ensemble is a run folder like any other: evaluate.py scores it and colorize.py uses it,
with no special case; its config.json is its first member's, with the members listed, the
seed, model, preset and loss replaced by theirs, the stride by the least common multiple of
theirs (times what the view scales need) and the view scales recorded. The model.keras keeps
the project's contract (L/50-1 in, ab/128 out). Both files are written into a temporary folder
that then takes the place of --out as one unit: a killed run leaves the previous ensemble or
the new one, never one's model with the other's config.json. --out may be a new or empty
folder or an earlier ensemble, never a trained run or any other folder.
"""

import argparse
import fractions
import math
import sys
from pathlib import Path

import numpy as np

import cli
import cpu  # noqa: F401  (TensorFlow's CPU settings: before write_ensemble loads it)
import dataset
import files
import lab
import recipe
import runs

# models.with_guided_filter's eps for --guided-eps, in L* units squared: chosen with the radius
# on test landscapes (make model's networks, no photos), where 0.1 to 1 scored alike, 3 lower
GUIDED_EPS = 1.0


class EnsembleError(Exception):
    pass


def read_member(folder):
    """A finished run's config.json, or an EnsembleError that says what is wrong with it."""
    try:
        return runs.read_finished_run(folder)
    except runs.RunError as error:
        raise EnsembleError(str(error)) from None


def check_out(out):
    """Refuse an --out that the ensemble would replace but that is not an earlier ensemble (a
    config.json listing "members"), so that no trained run or other folder is lost to it."""
    out = Path(out)
    refusal = files.not_a_folder("--out", out, "an ensemble's run folder")
    if refusal:
        raise EnsembleError(refusal)
    if not out.exists() or not any(out.iterdir()):
        return
    try:
        config = runs.read_run(out)
    except runs.RunError:
        config = {}
    if "members" not in config:
        raise EnsembleError(f"--out {out} exists and is not an ensemble (its config.json lists no "
                            f"members); it would be replaced: choose a new --out, or delete it")


def ensemble_config(folders, configs, out, view_scales=(1,), agreed_octaves=0):
    """The ensemble's config.json: what evaluate.py and colorize.py read, and its members.

    Members may be of different families (an Autoencoder and a U-Net make different mistakes):
    the ensemble's stride is then the least common multiple of theirs, and its model, preset
    and loss name every one that takes part ("unet+autoencoder"). The view scales are recorded
    as fractions ("5/4", or "1 5/4 3/2" for several) and multiply the stride as view_stride
    says; agreed_octaves as ensemble.py --agreed-octaves gave it (0: off)."""
    sizes = {config.get("image_size") for config in configs}
    if len(sizes) > 1:
        raise EnsembleError(f"the members differ in image_size: {sorted(map(str, sizes))}")
    resolved = [Path(folder).resolve() for folder in folders]
    twice = sorted({str(path) for path in resolved if resolved.count(path) > 1})
    if twice:
        raise EnsembleError(f"a member folder is given twice: {', '.join(twice)}")
    networks = [recipe.network_of(config) for config in configs]
    for i, network in enumerate(networks):
        if network in networks[:i]:
            twin = folders[networks.index(network)]
            raise EnsembleError(f"{twin} and {folders[i]} were trained with the same arguments "
                                f"(same seed {configs[i].get('seed')}): they are one network twice")
    record = dict(configs[0])
    for key in ("best_val_loss", "best_epoch", "images_per_second", "epochs_run"):
        record.pop(key, None)  # a member's own results, not the ensemble's
    for key in ("model", "preset", "loss"):
        record[key] = "+".join(dict.fromkeys(str(config.get(key)) for config in configs))
    seeds = [config.get("seed") for config in configs]
    stride = math.lcm(*(int(config.get("stride", 1)) for config in configs))
    needed, size = view_stride(stride, view_scales), sizes.pop()
    if size is not None and int(size) % needed:  # evaluate.py would refuse the ensemble
        raise EnsembleError(f"--view-scale {' '.join(map(str, view_scales))} needs image sides "
                            f"that are multiples of {needed} px (so that each enlarged side is a "
                            f"multiple of the members' stride {stride}); the members' {size} px "
                            f"are not: choose other scales")
    record.update(run=Path(out).name, run_name=Path(out).name, runs=str(Path(out).parent),
                  seed="+".join(map(str, seeds)), stride=needed,
                  view_scale=" ".join(str(fractions.Fraction(scale)) for scale in view_scales),
                  agreed_octaves=agreed_octaves,
                  members=[{"run": str(folder), "model": config.get("model"),
                            "seed": config.get("seed"),
                            "best_val_loss": config.get("best_val_loss")}
                           for folder, config in zip(folders, configs)])
    return record


def view_stride(stride, scales):
    """What input sides must be multiples of when a network of `stride` is viewed at each of
    `scales` (p/q): every enlarged side, side * p / q, has to be a whole multiple of the
    stride."""
    return math.lcm(*(scale.denominator * stride // math.gcd(scale.numerator, stride)
                      for scale in map(fractions.Fraction, scales)))


def fit_chroma_gains(model, lightness, ab, bands=1, batch=32):
    """(chromas, gains): the factors that bring the model's ab nearest, in squared error, to
    the truth `ab` of the images `lightness`, one for each of `bands` bands of the predicted
    chroma holding equal shares of the pixels: sum(p * t) / sum(p * p) within the band,
    with the band's median chroma. One band is one least-squares gain for every pixel."""
    squared, cross = [], []  # per pixel, float32: a large validation split stays affordable
    for start in range(0, len(ab), batch):
        predicted = lab.decode_ab(model.predict(lab.encode_l(lightness[start:start + batch]),
                                                verbose=0)).astype(np.float64)
        squared.append(np.sum(predicted * predicted, axis=-1).astype(np.float32).ravel())
        truth = np.asarray(ab[start:start + batch], np.float64)
        cross.append(np.sum(predicted * truth, axis=-1).astype(np.float32).ravel())
    squared, cross = np.concatenate(squared), np.concatenate(cross)
    band = np.searchsorted(np.quantile(squared, np.linspace(0, 1, bands + 1)[1:-1]), squared,
                           side="right")
    power = np.bincount(band, squared, bands)
    gains = np.bincount(band, cross, bands) / np.maximum(power, np.finfo(float).tiny)
    if np.any(power == 0) or np.any(gains <= 0):
        raise EnsembleError("the ensemble's colours do not follow the validation landscapes' "
                            "(no positive gain fits every chroma band); train it longer, use "
                            "fewer --chroma-bands or leave --calibrate off")
    chromas = np.sqrt([np.median(squared[band == k]) for k in range(bands)])
    if np.any(np.diff(chromas) <= 0):
        raise EnsembleError(f"the ensemble's colours are too few to split into {bands} chroma "
                            f"bands; use fewer --chroma-bands")
    return chromas, gains


def read_calibration_split(folder):
    """The validation split of the dataset `folder` (L, ab), or an EnsembleError saying why it
    cannot calibrate: read before any network loads, so that a wrong folder fails at once."""
    try:
        lightness, ab = dataset.load_split(folder, "val")
    except dataset.DatasetError as error:
        raise EnsembleError(f"--calibrate: {error}") from None
    if len(ab) == 0:
        raise EnsembleError(f"--calibrate: {folder}: its validation split is empty")
    return lightness, ab


def load_member(folder):
    """A member's network, or an EnsembleError naming the member whose model.keras Keras cannot
    load: said in one line before anything is written to --out."""
    import models

    try:
        return models.load_saved(Path(folder) / runs.MODEL_FILE)
    except models.SavedModelError as error:
        raise EnsembleError(f"{folder}: its {runs.MODEL_FILE} cannot be read ({error})") from None


def write_ensemble(folders, out, view_scales=(1,), calibrate=None, chroma_bands=1,
                   agreed_octaves=0, guided_radius=0, guided_eps=GUIDED_EPS):
    """Build and save the average of the members, seen at view_scales, its detail at
    agreed_octaves octaves kept as far as its predictions agree, its colour's edges led onto L's
    by a guided filter of guided_radius px (0: none), its ab multiplied by the gains fitted on
    the dataset `calibrate` when one is given (one for each of chroma_bands); returns the
    config.json."""
    configs = [read_member(folder) for folder in folders]
    record = ensemble_config(folders, configs, out, view_scales, agreed_octaves)
    if guided_radius:
        record.update(guided_radius=guided_radius, guided_eps=guided_eps)
    check_out(out)
    split = read_calibration_split(calibrate) if calibrate is not None else None
    import models  # Keras loads here, so that --help and argument errors stay instant

    members = [load_member(folder) for folder in folders]
    name = f"ensemble-{Path(out).name}"
    if agreed_octaves:
        model = models.agreed_average(members, view_scales, agreed_octaves, name=name)
    else:
        model = models.average_of(members, name=name) if len(members) > 1 else members[0]
        if list(view_scales) != [1]:
            model = models.viewed_at(model, view_scales, name=name)
    if guided_radius:
        model = models.with_guided_filter(model, guided_radius, guided_eps, name=name)
    if split is not None:
        chromas, gains = fit_chroma_gains(model, *split, bands=chroma_bands)
        model = models.with_chroma_gain(model, chromas / lab.AB_SCALE, gains, name=name)
        record.update(ab_gain=[round(float(gain), 4) for gain in gains],
                      ab_gain_chroma=[round(float(chroma), 3) for chroma in chromas],
                      gain_fitted_on=f"{calibrate} (validation split)")
    with files.atomic_dir(out) as tmp:
        model.save(tmp / runs.MODEL_FILE)
        runs.write_config(tmp, record)
    return record


def describe_gains(record):
    """The calibration in words: "colours x1.146", or from the faintest band's to the most
    vivid's."""
    gains = record["ab_gain"]
    if len(gains) == 1:
        return f"colours x{gains[0]:.3f}"
    return (f"colours x{gains[0]:.3f} (faintest) to x{gains[-1]:.3f} (most vivid) over "
            f"{len(gains)} chroma bands")


def positive_fraction(text):
    """argparse type: "5/4" or "1.25" as a Fraction greater than zero."""
    try:
        value = fractions.Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise argparse.ArgumentTypeError(f"not a fraction: {text!r} (try 5/4)") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be greater than zero, got {text}")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("members", nargs="+", type=Path, help="finished run folders")
    parser.add_argument("--out", type=Path, required=True, help="the ensemble's run folder")
    parser.add_argument("--view-scale", type=positive_fraction, nargs="+",
                        default=[fractions.Fraction(1)], metavar="P/Q",
                        help="show the model its input enlarged by this much (5/4: a 128 px "
                             "photo seen at 160 px); several scales average those views "
                             "(default: 1)")
    parser.add_argument("--calibrate", type=Path, metavar="DATA",
                        help="multiply the ensemble's ab by the gain that fits the validation "
                             "split of the dataset DATA best (least squares), the ensemble seen "
                             "as photos are: gives back the colour averaging takes")
    parser.add_argument("--chroma-bands", type=int, default=1, metavar="N",
                        help="with --calibrate: fit a gain for each of N bands of the "
                             "ensemble's chroma (equal shares of the pixels) instead of one, "
                             "so that faint colours can get more back than vivid ones")
    parser.add_argument("--agreed-octaves", type=int, default=0, metavar="N",
                        help="keep the mean colour's detail at N octaves (Gaussian sigma 1, 2, "
                             "4, ... px) only in the share that the members and views agree on "
                             "(0: off): on real photos they disagree most in fine detail, where "
                             "they are least right")
    parser.add_argument("--guided-radius", type=int, default=0, metavar="R",
                        help="then lead the colour's edges onto L's with a guided filter: the "
                             "colour fitted as a straight-line function of L* in every window of "
                             "2R + 1 px (0: off); the networks paint from half resolution, and "
                             "averaging softens their edges further")
    parser.add_argument("--guided-eps", type=float, default=GUIDED_EPS, metavar="VAR",
                        help="with --guided-radius: the variance of L* (in L* units squared) "
                             "below which a window counts as flat and keeps its mean colour")
    args = parser.parse_args(argv)
    if len(set(args.view_scale)) < len(args.view_scale):
        parser.error("--view-scale names the same scale twice")
    if len(args.members) < 2 and args.view_scale == [1]:
        parser.error("an ensemble needs at least two member runs (or one and a --view-scale)")
    if args.agreed_octaves < 0:
        parser.error(f"--agreed-octaves must be 0 or more, got {args.agreed_octaves}")
    if args.agreed_octaves and len(args.members) * len(args.view_scale) < 2:
        parser.error("--agreed-octaves needs at least two predictions to compare: two members, "
                     "or one seen at two --view-scale")
    if args.guided_radius < 0:
        parser.error(f"--guided-radius must be 0 or more, got {args.guided_radius}")
    if not args.guided_eps > 0:
        parser.error(f"--guided-eps must be greater than zero, got {args.guided_eps}")
    if args.chroma_bands < 1:
        parser.error(f"--chroma-bands must be at least 1, got {args.chroma_bands}")
    if args.chroma_bands > 1 and args.calibrate is None:
        parser.error("--chroma-bands needs --calibrate DATA")
    if args.out.resolve() in {member.resolve() for member in args.members}:
        parser.error("--out must not be one of the members")
    return args


def main(argv=None):
    args = parse_args(argv)
    try:
        record = write_ensemble(args.members, args.out, args.view_scale, args.calibrate,
                                args.chroma_bands, args.agreed_octaves, args.guided_radius,
                                args.guided_eps)
    except EnsembleError as error:
        raise SystemExit(f"ensemble.py: {error}") from None
    scales = [str(scale) for scale in args.view_scale]
    view = ("" if scales == ["1"] else f", photos seen {scales[0]} times larger" if len(scales) == 1
            else f", averaged over photos seen {', '.join(scales[:-1])} and {scales[-1]} times "
                 f"larger")
    agreed = ("" if not args.agreed_octaves else
              f", its detail at {args.agreed_octaves} octaves kept as far as they agree")
    guided = ("" if not args.guided_radius else
              f", its colour's edges led onto L's within {args.guided_radius} px")
    gain = ("" if args.calibrate is None
            else f", {describe_gains(record)} (fitted on {args.calibrate})")
    print(f"wrote {args.out}: the mean of {len(record['members'])} runs "
          f"(seeds {record['seed']}){view}{agreed}{guided}{gain}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
