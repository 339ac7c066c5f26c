"""The recipe search behind `make model`: each variant trained with several seeds on built-in
landscapes only, then scored on the real photos of photos/ against the gray baseline.

    python tools/variants.py                      # train what is missing, score, print the table
    python tools/variants.py --only base zoom     # some variants
    python tools/variants.py --update-readme      # also rewrite the README's variants table
    python tools/variants.py --photos held-out --whole-frames   # other photos, scored whole

A variant is a dataset (how many landscapes, how much zoom, how many with boulders in front,
how many golden sunsets, cast shadows, skies brightest overhead, sunsets at twilight, alpenglow
and meadows dry in patches) and train.py options. Runs go to runs/variants/<variant>/, scores
to results/variants/<variant>/ (evaluate.py --photos), the table to results/variants/table.md;
other photos' and whole frames' scores and table go beside them
(results/variants-held-out-whole-frames/ for the example above). It resumes: finished runs are
skipped. The README's table keeps one row per variant and kind of CPU: --update-readme replaces
the rows it scored on this kind of CPU and keeps the rest as they were written. Photos are
never trained on; a variant is judged by how it does on them, with a bootstrap interval over
the photos, against gray on the same photos. With 20 photos, differences of a few tenths of an
AuC point are noise: prefer changes that make the landscapes more like the world.
"""

import argparse
import csv
import dataclasses
import difflib
import subprocess
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import cli  # noqa: E402
import cpu  # noqa: E402  (TensorFlow's settings before it loads; the CPU's name for the table)
import dataset  # noqa: E402
import files  # noqa: E402
import metrics  # noqa: E402
import mountains  # noqa: E402
import report  # noqa: E402
import runs  # noqa: E402

HERE = Path(__file__).resolve().parent.parent
PHOTOS = HERE / "photos"  # the repository's 20 photos, which the README's tables score
README_START = "<!-- variants:start -->"
README_END = "<!-- variants:end -->"
RESAMPLES = 2000
RUNS = Path("runs/variants")  # relative to HERE: one folder of seeds per variant
RESULTS = Path("results/variants")
FIGURE = Path("images/model-real-photos.png")  # the README's first screen shows it
FIGURE_PHOTOS = 6  # evenly spaced over the photos in file-name order: a fixed rule
DATA_LETTERS = {"sunsets": "u"}  # a dataset folder's letter for an option, where not its first
LIGHTS = "light.tsv"  # in the photos' folder: the light each photo was taken in (read_lights)
LIGHT_START = "<!-- light:start -->"
LIGHT_END = "<!-- light:end -->"
LIGHT_FIGURE = Path("images/sunset-light.png")


def unet(epochs, *options):
    """train.py options of a seed U-Net trained this many epochs."""
    return ("--model", "unet", "--epochs", str(epochs), *options)


@dataclasses.dataclass(frozen=True)
class Variant:
    """One recipe: what it changes, in words, and how it is made."""

    change: str
    images: int = 1000
    zoom: float = 1.0
    fine: float = 1.0  # dataset.py --fine: textures up to this many times finer per pixel
    boulders: float = 0.0  # dataset.py --boulders: the share of landscapes with rocks in front
    golden: float = 0.0  # dataset.py --golden: the share of sunsets whose whole sky glows
    shadows: float = 0.0  # dataset.py --shadows: the share of sunlit landscapes in cast shadow
    overhead: float = 0.0  # dataset.py --overhead: the share of clear skies brightest at the top
    twilight: float = 0.0  # dataset.py --twilight: the share of sunsets with the land lit dimly
    alpenglow: float = 0.0  # dataset.py --alpenglow: the share of clear skies with a low sun
    patchy: float = 0.0  # dataset.py --patchy: the share of green scenes with dry meadow patches
    sunsets: float = mountains.SUNSETS  # dataset.py --sunsets: the share of sunset skies
    train: tuple = unet(6)
    members: int = 1  # > 1: each seed is the average of this many networks of each recipe
    also: tuple = ()  # train.py options of further recipes averaged in, `members` networks each
    also_members: int = 0  # > 0: this many networks of each recipe in `also` instead
    view: str = "1"  # ensemble.py --view-scale (models.viewed_at); "1 5/4" averages two views
    own_data: bool = False  # each network trains on landscapes of its own (data_of)
    calibrate: bool = False  # ensemble.py --calibrate on the first network's landscapes
    chroma_bands: int = 1  # ensemble.py --chroma-bands: with calibrate, a gain per chroma band
    agreed_octaves: int = 0  # ensemble.py --agreed-octaves: detail kept as far as views agree
    guided_radius: int = 0  # ensemble.py --guided-radius: the colour's edges led onto L's

    @property
    def data(self):
        """data/variants/landscapes-<images>, with -z<zoom>, -f<fine>, -b<boulders>,
        -g<golden>, -s<shadows>, -o<overhead>, -t<twilight>, -a<alpenglow>, -p<patchy>,
        -u<sunsets> for each rendering option away from its default."""
        options = "".join(f"-{DATA_LETTERS.get(name, name[0])}{value:g}"
                          for name, value in self.rendering.items()
                          if value != dataset.RENDER_OPTIONS[name])
        return Path("data/variants") / f"landscapes-{self.images}{options}"

    def data_of(self, seed):
        """The dataset that network `seed` trains on: the variant's, or with own_data, one
        rendered from dataset.py --seed `seed`, so that the networks of an average have seen
        different landscapes (<data>-d<seed>)."""
        return self.data.with_name(f"{self.data.name}-d{seed}") if self.own_data else self.data

    @property
    def rendering(self):
        """dataset.py's rendering options (dataset.RENDER_OPTIONS) as this variant sets them."""
        return {name: getattr(self, name) for name in dataset.RENDER_OPTIONS}

    @property
    def recipes(self):
        return (self.train, *self.also)

    def networks(self, seed):
        """(train.py options, network seed) of each network that ensemble seed `seed` averages:
        seeds (seed-1)*k+1 .. seed*k of each recipe, k networks of it."""
        counts = (self.members,) + (self.also_members or self.members,) * len(self.also)
        return [(recipe, member) for recipe, count in zip(self.recipes, counts)
                for member in range((seed - 1) * count + 1, seed * count + 1)]


# make model's views (the Makefile's MODEL_VIEW): each photo seen at 1, 5/4, 3/2 and 7/4 times
# its size
FOUR_VIEWS = "1 5/4 3/2 7/4"
UNET_6 = unet(6)
AUTOENCODER_6 = ("--model", "autoencoder", "--epochs", "6")
CLASSIFICATION_PLAIN_6 = UNET_6 + ("--loss", "classification", "--rebalance-mix", "1")
UNET_10_LR2_COSINE = unet(10, "--learning-rate", "0.002", "--cosine")
UNET_10_LR2_COSINE_DISTANCE = UNET_10_LR2_COSINE + ("--loss", "distance")


MODEL_LEARNING_RATE = 0.002  # make model's (the Makefile's MODEL_TRAIN), at batches of 32


def decay_distance(epochs, weight_decay="1", learning_rate=f"{MODEL_LEARNING_RATE:g}"):
    """train.py options of make model's networks trained this many epochs (with another weight
    decay or learning rate, if given)."""
    return unet(epochs, "--learning-rate", learning_rate, "--cosine", "--loss", "distance",
                "--weight-decay", weight_decay)


# make model's networks
UNET_10_LR2_COSINE_DISTANCE_DECAY = decay_distance(10)
# make model's networks trained on classification instead (no rebalancing)
UNET_10_LR2_COSINE_CLASSIFICATION_DECAY = UNET_10_LR2_COSINE + (
    "--loss", "classification", "--rebalance-mix", "1", "--weight-decay", "1")
UNET_10_LR3_COSINE_DISTANCE = unet(10, "--learning-rate", "0.003", "--cosine", "--loss", "distance")
# make model's networks as seed ResNets: another family, whose mistakes differ more
RESNET_10_LR2_COSINE_DISTANCE_DECAY = ("--model", "resnet", *UNET_10_LR2_COSINE_DISTANCE_DECAY[2:])


def study_view_ensemble(single, train, note="", **data):
    """The average of 3 networks of a 2,500-landscape variant `single`, seen 5/4 larger; `data`
    holds the Variant's dataset fields (rendering options, own_data) away from their defaults."""
    return Variant(f"the average of 3 {single} networks, the photo shown 5/4 larger{note}",
                   images=2500, train=train, members=3, view="5/4", **data)


def make_model_variant(change, **fields):
    """make model's recipe (the Makefile's MODEL_* defaults: 2,500 twilight landscapes, three of
    its networks, four views) with `fields` of the Variant changed, so that a variant of it
    spells out only what it changes."""
    recipe = dict(images=2500, twilight=1.0, train=UNET_10_LR2_COSINE_DISTANCE_DECAY, members=3,
                  view=FOUR_VIEWS)
    return Variant(change, **{**recipe, **fields})


# make model's calibration (the Makefile's MODEL_CALIBRATE and MODEL_CHROMA_BANDS)
CHROMA_CALIBRATED = dict(calibrate=True, chroma_bands=12)


# make model-sunset: the Makefile's MODEL_* settings with MODEL_LIGHT=sunset are this one
SUNSET_LIGHT = "sunset-light"
SUNSET_LIGHTING = dict(sunsets=0.6, golden=0.5, alpenglow=1.0)  # its landscapes' options


def with_calibrated(name, variant, kinds=("calibrated",)):
    """The ensemble variant `name` and, after it, the same networks calibrated, so that the rows
    differ by the gains alone: calibrated-<rest of name> with one gain (ensemble.py --calibrate)
    and chroma-calibrated-<rest of name> with make model's gains by chroma band, as `kinds` asks."""
    rest = name.removeprefix("ensemble-")
    calibrations = {
        "calibrated": dict(change=f"{name} with ensemble.py --calibrate, as "
                                  "calibrated-twilight-views", calibrate=True),
        "chroma-calibrated": dict(change=f"{name} with ensemble.py --chroma-bands "
                                         f"{CHROMA_CALIBRATED['chroma_bands']}, as "
                                         "chroma-calibrated-twilight-views", **CHROMA_CALIBRATED),
    }
    return {name: variant, **{f"{kind}-{rest}": dataclasses.replace(variant, **calibrations[kind])
                              for kind in kinds}}


def batch_variants(batch, scale_learning_rate=False):
    """make model's recipe on batches of `batch` (16 or 64) instead of 32, plain and with its
    gains by chroma band: 32/batch times the steps in the same epochs, each noisier or calmer, in
    about the same time. Over the run's steps the weight decay shrinks the kernels as much as make
    model's does: AdamW shrinks them by the learning rate times the decay at each step, so the
    decay is scaled by batch/32, or with scale_learning_rate the learning rate is (the linear
    scaling rule for SGD's batch size) and the decay stays."""
    scale = f"{batch / 32:g}"
    steps = {16: "twice", 64: "half"}[batch]  # the steps of batches of 32, in words
    change = (f"ensemble-twilight-decay-distance-views on batches of {batch} instead of 32: "
              f"{steps} the steps, ")
    if scale_learning_rate:
        rate = f"{MODEL_LEARNING_RATE * batch / 32:g}"
        name, train = f"ensemble-batch{batch}-lr-twilight-views", decay_distance(10, "1", rate)
        change += (f"the learning rate scaled with the batch (train.py --batch-size {batch} "
                   f"--learning-rate {rate})")
    else:
        name, train = f"ensemble-batch{batch}-twilight-views", decay_distance(10, scale)
        change += ("the weight decay scaled to shrink the kernels as much over the run (train.py "
                   f"--batch-size {batch} --weight-decay {scale})")
    return with_calibrated(name, make_model_variant(
        change, train=train + ("--batch-size", str(batch))), ("chroma-calibrated",))


VARIANTS = {  # in the table's order
    "base": Variant("make demo's U-Net: 1,000 landscapes, 6 epochs, MSE"),
    "zoom": Variant("renders up to 2.5x larger, random crops (dataset.py --zoom 2.5)", zoom=2.5),
    "tone": Variant("random tone curve on L (train.py --tone 0.3)",
                    train=UNET_6 + ("--tone", "0.3")),
    "hue": Variant("hue domain randomisation: ab turned by up to +-30 degrees (train.py --hue 30)",
                   train=UNET_6 + ("--hue", "30")),
    "sharpen": Variant("sharpness randomisation: L unsharp-masked by up to 2 (train.py "
                       "--sharpen 2)", train=UNET_6 + ("--sharpen", "2")),
    "classification": Variant("class-rebalanced classification (Zhang et al., lambda 0.5)",
                              train=UNET_6 + ("--loss", "classification")),
    "classification-mild": Variant("classification, milder rebalancing (--rebalance-mix 0.9)",
                                   train=UNET_6 + ("--loss", "classification",
                                                   "--rebalance-mix", "0.9")),
    "study": Variant("the study's setting: 2,500 landscapes, 10 epochs", images=2500,
                     train=unet(10)),
    "classification-plain": Variant("classification, no rebalancing (--rebalance-mix 1)",
                                    train=CLASSIFICATION_PLAIN_6),
    "classification-mse": Variant("MSE plus classification: classification-plain with "
                                  "--mse-weight 1",
                                  train=CLASSIFICATION_PLAIN_6 + ("--mse-weight", "1")),
    "ensemble": Variant("the average of 3 base networks (ensemble.py)", members=3),
    "ensemble-classification": Variant("the average of 3 classification-plain networks",
                                       train=CLASSIFICATION_PLAIN_6, members=3),
    "ensemble-2500": Variant("the average of 3 U-Nets on 2,500 landscapes, 8 epochs",
                             images=2500, train=unet(8), members=3),
    "ensemble-autoencoder": Variant("the average of 3 seed Autoencoders (1,000 landscapes, "
                                    "6 epochs)", train=AUTOENCODER_6, members=3),
    "ensemble-mixed": Variant("the average of 3 base U-Nets and 3 seed Autoencoders",
                              members=3, also=(AUTOENCODER_6,)),
    "ensemble-mixed-loss": Variant("the average of 3 base U-Nets and 3 classification-plain "
                                   "U-Nets", members=3, also=(CLASSIFICATION_PLAIN_6,)),
    "ensemble-mixed-vivid": Variant("ensemble-mixed-loss with the classification U-Nets decoded "
                                    "nearer their mode (--temperature 0.2)", members=3,
                                    also=(CLASSIFICATION_PLAIN_6 + ("--temperature", "0.2"),)),
    "ensemble-mixed-mse": Variant("the average of 3 base U-Nets and 3 classification-mse U-Nets",
                                  members=3,
                                  also=(CLASSIFICATION_PLAIN_6 + ("--mse-weight", "1"),)),
    "ensemble-three": Variant("the average of 3 base U-Nets, 3 classification-plain U-Nets and "
                              "3 seed Autoencoders", members=3,
                              also=(CLASSIFICATION_PLAIN_6, AUTOENCODER_6)),
    "view": Variant("base, the photo shown 5/4 larger (ensemble.py --view-scale 5/4)", view="5/4"),
    "ensemble-view": Variant("ensemble, the photo shown 5/4 larger", members=3, view="5/4"),
    "study-view": Variant("the study's setting (2,500 landscapes, 10 epochs), the photo shown "
                          "5/4 larger", images=2500, train=unet(10), view="5/4"),
    "ensemble-study-view": study_view_ensemble("study-view", unet(10)),
    "study-view-15": Variant("study-view trained for 15 epochs instead of 10", images=2500,
                             train=unet(15), view="5/4"),
    "study-view-cosine": Variant("study-view with the learning rate decayed along a cosine to 0 "
                                 "(train.py --cosine)", images=2500,
                                 train=unet(10, "--cosine"), view="5/4"),
    "study-view-25": Variant("study-view trained for 25 epochs instead of 10", images=2500,
                             train=unet(25), view="5/4"),
    "ensemble-study-view-25": study_view_ensemble("study-view-25", unet(25),
                                                  " (2.5 times make model's training)"),
    "study-view-25-cosine": Variant("study-view-25 with train.py --cosine", images=2500,
                                    train=unet(25, "--cosine"), view="5/4"),
    "study-view-lr2": Variant("study-view with twice the learning rate (train.py "
                              "--learning-rate 0.002)", images=2500,
                              train=unet(10, "--learning-rate", "0.002"), view="5/4"),
    "study-view-lr2-cosine": Variant("study-view-lr2 with train.py --cosine", images=2500,
                                     train=UNET_10_LR2_COSINE, view="5/4"),
    "ensemble-study-view-lr2-cosine": study_view_ensemble("study-view-lr2-cosine",
                                                          UNET_10_LR2_COSINE),
    "study-view-lr2-cosine-distance": Variant("study-view-lr2-cosine trained on the Euclidean ab "
                                              "distance, the error AuC thresholds (train.py "
                                              "--loss distance)", images=2500,
                                              train=UNET_10_LR2_COSINE_DISTANCE, view="5/4"),
    "ensemble-study-view-lr2-cosine-distance": study_view_ensemble(
        "study-view-lr2-cosine-distance", UNET_10_LR2_COSINE_DISTANCE),
    "study-view-lr3-cosine-distance": Variant("study-view-lr2-cosine-distance with a learning "
                                              "rate starting at 0.003", images=2500,
                                              train=UNET_10_LR3_COSINE_DISTANCE, view="5/4"),
    "ensemble-study-view-lr3-cosine-distance": study_view_ensemble(
        "study-view-lr3-cosine-distance", UNET_10_LR3_COSINE_DISTANCE),
    "shadows-distance": Variant("study-view-lr2-cosine-distance, half the sunlit landscapes with "
                                "land in a cast shadow, lit by the sky alone (dataset.py "
                                "--shadows 0.5)", images=2500, shadows=0.5,
                                train=UNET_10_LR2_COSINE_DISTANCE, view="5/4"),
    "ensemble-shadows-distance": study_view_ensemble("shadows-distance",
                                                     UNET_10_LR2_COSINE_DISTANCE, shadows=0.5),
    "ensemble-own-data-distance": study_view_ensemble(
        "study-view-lr2-cosine-distance", UNET_10_LR2_COSINE_DISTANCE,
        ", each trained on 2,500 landscapes of its own (dataset.py --seed: the network's seed)",
        own_data=True),
    "decay-distance": Variant("study-view-lr2-cosine-distance with decoupled weight decay "
                              "(train.py --weight-decay 1: over the run's steps, it alone would "
                              "shrink the kernels to 0.54 of their size)", images=2500,
                              train=UNET_10_LR2_COSINE_DISTANCE_DECAY, view="5/4"),
    "ensemble-decay-distance": study_view_ensemble("decay-distance",
                                                   UNET_10_LR2_COSINE_DISTANCE_DECAY),
    "ensemble-decay-distance-views": Variant(
        "ensemble-decay-distance, each photo seen at 1, 5/4, 3/2 and 7/4 times its size and the "
        "four views averaged (ensemble.py --view-scale 1 5/4 3/2 7/4)", images=2500,
        train=UNET_10_LR2_COSINE_DISTANCE_DECAY, members=3, view=FOUR_VIEWS),
    "decay-distance-views": Variant("decay-distance, each photo seen at 1, 5/4, 3/2 and 7/4 times "
                                    "its size and the views averaged", images=2500,
                                    train=UNET_10_LR2_COSINE_DISTANCE_DECAY, view=FOUR_VIEWS),
    "fine-decay-distance-views": Variant("decay-distance-views on landscapes rendered up to 7/4 "
                                         "as large and brought down to 128 px: textures up to "
                                         "7/4 as fine per pixel (dataset.py --fine 1.75)",
                                         images=2500, fine=1.75,
                                         train=UNET_10_LR2_COSINE_DISTANCE_DECAY,
                                         view=FOUR_VIEWS),
    "twilight-decay-distance-views": Variant("decay-distance-views, every sunset's land lit far "
                                             "more dimly than its sky, as at twilight (dataset.py "
                                             "--twilight 1)", images=2500, twilight=1.0,
                                             train=UNET_10_LR2_COSINE_DISTANCE_DECAY,
                                             view=FOUR_VIEWS),
    "ensemble-twilight-decay-distance-views": make_model_variant(
        "ensemble-decay-distance-views on the twilight landscapes (dataset.py --twilight 1)"),
    "calibrated-twilight-views": make_model_variant(
        "ensemble-twilight-decay-distance-views, its colours multiplied by the gain that fits "
        "the validation landscapes best, seen as photos are (ensemble.py --calibrate)",
        calibrate=True),
    "chroma-calibrated-twilight-views": make_model_variant(
        "calibrated-twilight-views with a gain for each of 12 bands of the ensemble's chroma "
        "instead of one, so that faint colours get more back than vivid ones (ensemble.py "
        "--chroma-bands 12)", **CHROMA_CALIBRATED),
    "calibrated-6-twilight-views": make_model_variant(
        "calibrated-twilight-views averaging 6 networks instead of 3 (twice make model's "
        "training)", members=6, calibrate=True),
    "chroma-calibrated-agreed-twilight-views": make_model_variant(
        "chroma-calibrated-twilight-views with the detail of the networks' and views' mean colour "
        "at 4 octaves (Gaussian sigma 1 to 8 px) kept only in the share they agree on, the gains "
        "fitted after it (ensemble.py --agreed-octaves 4)", agreed_octaves=4, **CHROMA_CALIBRATED),
    "guided-chroma-calibrated-agreed-twilight-views": make_model_variant(
        "chroma-calibrated-agreed-twilight-views with the colour's edges led onto L's by a guided "
        "filter (the colour a straight-line function of L* in every 9x9 window; radius and eps "
        "chosen on landscapes), the gains fitted after it (ensemble.py --guided-radius 4)",
        agreed_octaves=4, guided_radius=4, **CHROMA_CALIBRATED),
    "chroma-calibrated-6-twilight-views": make_model_variant(
        "chroma-calibrated-twilight-views averaging 6 networks instead of 3 (twice make model's "
        "training)", members=6, **CHROMA_CALIBRATED),
    **with_calibrated("ensemble-alpenglow-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views, 3 in 10 clear skies with the sun low behind the "
        "camera, the land lit warm under a blue sky (dataset.py --alpenglow 0.3)",
        alpenglow=0.3), ("calibrated", "chroma-calibrated")),
    **with_calibrated("ensemble-golden-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views, a quarter of the sunsets golden up to the "
        "zenith, no blue left overhead (dataset.py --golden 0.25)", golden=0.25),
        ("chroma-calibrated",)),
    SUNSET_LIGHT: make_model_variant(
        "make model-sunset, for photos taken in low, warm light (colorize.py --light sunset): "
        "make model's recipe on landscapes 6 in 10 under a sunset sky, half of them golden up to "
        "the zenith, the clear ones lit by alpenglow (dataset.py --sunsets 0.6 --golden 0.5 "
        "--alpenglow 1)", **SUNSET_LIGHTING, **CHROMA_CALIBRATED),
    "guided-sunset-light": make_model_variant(
        "sunset-light with the colour's edges led onto L's by make model's guided filter, the "
        "gains fitted after it (ensemble.py --guided-radius 4)", guided_radius=4,
        **SUNSET_LIGHTING, **CHROMA_CALIBRATED),
    **batch_variants(16),
    **batch_variants(64),
    **batch_variants(64, scale_learning_rate=True),
    "ensemble-mixed-twilight-views": make_model_variant(
        "ensemble-twilight-decay-distance-views with 3 more U-Nets averaged in, trained the "
        "same way on classification without rebalancing (6 networks)",
        also=(UNET_10_LR2_COSINE_CLASSIFICATION_DECAY,)),
    **with_calibrated("ensemble-2-1-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views with its third network trained on classification "
        "without rebalancing instead, as in ensemble-mixed-twilight-views (make model's "
        "training)", members=2, also=(UNET_10_LR2_COSINE_CLASSIFICATION_DECAY,),
        also_members=1)),
    **with_calibrated("ensemble-2-1-resnet-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views with its third network a seed ResNet trained "
        "the same way: another family, whose mistakes differ more (the ResNet trains about half "
        "as fast)", members=2, also=(RESNET_10_LR2_COSINE_DISTANCE_DECAY,), also_members=1),
        ("chroma-calibrated",)),
    **with_calibrated("ensemble-float32-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views trained in float32 where train.py would pick "
        "mixed bfloat16 (train.py --precision float32)",
        train=UNET_10_LR2_COSINE_DISTANCE_DECAY + ("--precision", "float32"))),
    **with_calibrated("ensemble-12k-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views on 12,500 landscapes seen twice each instead of "
        "2,500 seen ten times (make model's training steps)", images=12500,
        train=decay_distance(2))),
    **with_calibrated("ensemble-25k-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views on 25,000 landscapes seen once each instead of "
        "2,500 seen ten times (make model's training steps)", images=25000,
        train=decay_distance(1))),
    **with_calibrated("ensemble-patchy-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views, half the summer and spring scenes with their "
        "meadows dried to yellow-brown in patches (dataset.py --patchy 0.5)", patchy=0.5)),
    "ensemble-shadows-twilight-views": make_model_variant(
        "ensemble-twilight-decay-distance-views, half the sunlit landscapes with land in a cast "
        "shadow (dataset.py --shadows 0.5), the option that takes the most green alone",
        shadows=0.5),
    **with_calibrated("ensemble-varied-twilight-views", make_model_variant(
        "ensemble-twilight-decay-distance-views with the generator's options for more of the "
        "world on together, golden skies aside (they cost): boulders 0.25, shadows 0.5, "
        "overhead 0.5, alpenglow 0.3, patchy 0.5", boulders=0.25, shadows=0.5, overhead=0.5,
        alpenglow=0.3, patchy=0.5)),
    "ensemble-6x5-twilight-views": make_model_variant(
        "ensemble-twilight-decay-distance-views with make model's training split over 6 "
        "networks of 5 epochs each instead of 3 of 10", train=decay_distance(5), members=6),
    "overhead-decay-distance": Variant("decay-distance, half the clear and hazy skies brightest "
                                       "at the top of the frame and pale blue there (dataset.py "
                                       "--overhead 0.5)", images=2500, overhead=0.5,
                                       train=UNET_10_LR2_COSINE_DISTANCE_DECAY, view="5/4"),
    "decay-2-distance": Variant("decay-distance with twice the decay (train.py --weight-decay 2: "
                                "alone it would shrink the kernels to 0.29)", images=2500,
                                train=UNET_10_LR2_COSINE_DISTANCE + ("--weight-decay", "2"),
                                view="5/4"),
    "decay-0.5-distance": Variant("decay-distance with half the decay (train.py --weight-decay "
                                  "0.5: alone it would shrink the kernels to 0.73)", images=2500,
                                  train=UNET_10_LR2_COSINE_DISTANCE + ("--weight-decay", "0.5"),
                                  view="5/4"),
    "study-view-wide": Variant("study-view with U-Nets 1.5 times as wide (train.py --width 1.5)",
                               images=2500, train=unet(10, "--width", "1.5"), view="5/4"),
    "study-view-25-half": Variant("study-view-25 with U-Nets half as wide (train.py --width 0.5), "
                                  "about twice as fast to train", images=2500,
                                  train=unet(25, "--width", "0.5"), view="5/4"),
    "ensemble-view-1.5": Variant("ensemble, the photo shown 3/2 larger", members=3, view="3/2"),
    "ensemble-view-2": Variant("ensemble, the photo shown twice as large", members=3, view="2"),
    "ensemble-mixed-mse-view": Variant("ensemble-mixed-mse, the photo shown 5/4 larger",
                                       members=3, view="5/4",
                                       also=(CLASSIFICATION_PLAIN_6 + ("--mse-weight", "1"),)),
    "boulders-view": Variant("view, a quarter of the landscapes with boulders in front "
                             "(dataset.py --boulders 0.25)", boulders=0.25, view="5/4"),
    "ensemble-boulders-view": Variant("ensemble-view, a quarter of the landscapes with boulders "
                                      "in front", boulders=0.25, members=3, view="5/4"),
    "golden-view": Variant("boulders-view, half the sunsets golden overhead (dataset.py "
                           "--golden 0.5)", boulders=0.25, golden=0.5, view="5/4"),
    "more": Variant("4,000 landscapes", images=4000),
    "fresh": Variant("6,000 landscapes seen once each (1 epoch): base's steps, no repeats",
                     images=6000, train=unet(1)),
    "large-view": Variant("the large U-Net preset (1,000 landscapes, 6 epochs), the photo shown "
                          "5/4 larger", train=UNET_6 + ("--preset", "large"), view="5/4"),
    "large": Variant("the large U-Net, 4,000 landscapes", images=4000,
                     train=UNET_6 + ("--preset", "large")),
}


BEFORE = "base"  # make demo's recipe
# make model: the Makefile's MODEL_* settings are this one (tests/test_variants.py checks)
RECOMMENDED = "guided-chroma-calibrated-agreed-twilight-views"


def build_data(variant, seed):
    """Render the landscapes that network `seed` of the variant trains on: once, and again when
    another version of the generator drew them (networks trained on them stay valid when they
    come out the same: train.py compares the dataset's checksum)."""
    data = variant.data_of(seed)
    try:
        if dataset.is_current(dataset.read_meta(HERE / data)):
            return
    except dataset.DatasetError:  # missing, or of another format
        pass
    print(f"variants.py: rendering {data}", flush=True)
    options = []
    for name, value in variant.rendering.items():
        options += [f"--{name}", str(value)]
    run_script("dataset.py", ["--synthetic", str(variant.images), *options, "--seed",
                              str(seed if variant.own_data else 0), "--out", str(data)],
               f"rendering {data} failed (dataset.py's message is above)")


def run_script(script, arguments, failure, **options):
    """python <script> <arguments> in the project folder (subprocess.run `options`); when it
    fails, variants.py ends with `failure`, the script's own message being above it."""
    if subprocess.run([sys.executable, str(HERE / script), *arguments], cwd=HERE,
                      **options).returncode:
        raise SystemExit(f"variants.py: {failure}")


def train_run(name, variant, seed, runs, *options):
    build_data(variant, seed)
    run_script("train.py", [*variant.train, "--data", str(variant.data_of(seed)), "--seed",
                            str(seed), "--runs", runs, "--verbose", "0", *options],
               f"{name} seed {seed} failed; rerun to resume it")


def member_folder(variant, recipe, seed):
    """Where one ensemble member lives: shared by every variant that averages the same
    network (same landscapes, same train.py options, same seed), so it is trained once."""
    slug = "-".join(option.lstrip("-") for option in recipe)
    return RUNS / "members" / variant.data_of(seed).name / f"{slug}-s{seed}"


def train_seeds(name, variant, seeds):
    """One run per seed in runs/variants/<name>/; for an ensemble variant, seed s is the
    average of its networks (Variant.networks). A variant with a
    view scale is built by ensemble.py too, from one network when members is 1."""
    for seed in seeds:
        if variant.members == 1 and variant.view == "1":
            train_run(name, variant, seed, str(RUNS / name))
            continue
        out = HERE / RUNS / name / f"ensemble-s{seed}"
        if (out / runs.CONFIG_FILE).is_file():
            continue
        networks = variant.networks(seed)
        folders = [member_folder(variant, recipe, member) for recipe, member in networks]
        for (recipe, member), folder in zip(networks, folders):
            train_run(name, dataclasses.replace(variant, train=recipe), member,
                      str(folder.parent), "--run", folder.name)
        calibrate = (["--calibrate", str(variant.data_of(networks[0][1])),
                      "--chroma-bands", str(variant.chroma_bands)] if variant.calibrate else [])
        agreed = (["--agreed-octaves", str(variant.agreed_octaves)] if variant.agreed_octaves
                  else [])
        guided = (["--guided-radius", str(variant.guided_radius)] if variant.guided_radius
                  else [])
        run_script("ensemble.py", [*map(str, folders), "--view-scale", *variant.view.split(),
                                   *agreed, *guided, *calibrate, "--out",
                                   str(out.relative_to(HERE))],
                   f"{name} seed {seed}: ensemble.py failed (its message is above); rerun to "
                   "build it again")


def score(name, photos, results=None, whole_frames=False):
    """evaluate.py on the variant's finished runs; an unfinished one (a killed --seeds 6) is
    left out and named on stderr, so the seeds column counts what was scored."""
    run_script("evaluate.py", ["--photos", str(photos), "--runs", str(RUNS / name), "--out",
                               str((results or RESULTS) / name), "--skip-bad",
                               *(["--whole-frames"] if whole_frames else [])],
               f"scoring {name} failed (evaluate.py's message is above)",
               stdout=subprocess.DEVNULL)


def read_per_image(path, only=None):
    """{run name: {metric: per-image array}} and each run's kind, from evaluate's per_image.csv;
    with `only`, a set of photo file names, the rows of those photos alone."""
    scores, kinds = {}, {}
    with open(path, newline="") as f:
        for row in csv.DictReader(f):
            if only is not None and Path(row["image_id"]).name not in only:
                continue
            entry = scores.setdefault(row["name"], {})
            kinds[row["name"]] = row["kind"]
            for metric in ("auc", "ab_rmse", "colorfulness", "colorfulness_original"):
                entry.setdefault(metric, []).append(float(row[metric]))
    arrays = {name: {k: np.array(v) for k, v in entry.items()} for name, entry in scores.items()}
    return arrays, kinds


def seed_mean(path, only=None):
    """(per-image metrics averaged over a variant's seeds, their runs, the gray baseline)."""
    scores, kinds = read_per_image(path, only)
    runs = [scores[name] for name, kind in kinds.items() if kind == "run"]
    if not runs:
        raise SystemExit(f"variants.py: {path} scores no run"
                         + (" on those photos" if only is not None else ""))
    mean = {metric: np.mean([run[metric] for run in runs], axis=0) for metric in runs[0]}
    return mean, runs, scores["baseline-gray"]


def summarize_variant(path, reference=None, seed=0, only=None):
    """AuC gain over gray (points, with its interval), ab RMSE and colorfulness as ratios;
    with a reference variant's per_image.csv, also the paired AuC gain over that variant; with
    `only` (photo file names), on those photos alone."""
    mean, runs, gray = seed_mean(path, only)
    count = len(gray["auc"])
    resample_idx = np.random.default_rng(seed).integers(0, count, size=(RESAMPLES, count))
    gain, low, high = metrics.bootstrap_ci(100 * (mean["auc"] - gray["auc"]), resample_idx)
    seeds_gain = [100 * (run["auc"].mean() - gray["auc"].mean()) for run in runs]
    versus = None
    if reference is not None:
        reference_mean, _, reference_gray = seed_mean(reference, only)
        if not np.array_equal(reference_gray["auc"], gray["auc"]):
            raise SystemExit(f"variants.py: {path} and {reference} were scored on other photos")
        versus = metrics.bootstrap_ci(100 * (mean["auc"] - reference_mean["auc"]), resample_idx)
    return {"seeds": len(runs), "auc_gain": gain, "low": low, "high": high, "versus": versus,
            "auc_gain_std": float(np.std(seeds_gain, ddof=1)) if len(runs) > 1 else float("nan"),
            "rmse_ratio": float(mean["ab_rmse"].mean() / gray["ab_rmse"].mean()),
            "colorfulness_ratio": float(mean["colorfulness"].mean()
                                        / mean["colorfulness_original"].mean()),
            "photos": count}


def trained_on(folder):
    """The machine the variant's networks trained on, as config.json names it (cpu_kind; an
    ensemble's is its first member's), so that rows scored elsewhere keep their CPU. Runs from
    before it was recorded count as trained on this machine, where they always were."""
    kinds = sorted({runs.read_run(path.parent).get("cpu_kind") or cpu.kind()
                    for path in Path(folder).glob(f"*/{runs.CONFIG_FILE}")})
    return " / ".join(kinds) if kinds else cpu.kind()


def first_run(name, root=None):
    """The first seed's finished run folder of a variant (what evaluate.py's figures show)."""
    root = HERE / RUNS if root is None else Path(root)  # HERE as it is now, not at import
    folders = sorted(path.parent for path in (root / name).glob(f"*/{runs.CONFIG_FILE}")
                     if is_finished(path.parent))
    if not folders:
        raise SystemExit(f"variants.py: {name} has no finished run to draw; train it first")
    return folders[0]


def check_figure_runs(names, no_train):
    """--update-readme draws FIGURE from the first runs of BEFORE and RECOMMENDED: one that this
    call does not train must be there already (first_run), or every variant would be trained
    and scored, and the README's table rewritten, before the figure failed."""
    for name in (BEFORE, RECOMMENDED):
        if no_train or name not in names:
            first_run(name)


def is_finished(folder):
    try:
        runs.read_finished_run(folder)
    except runs.RunError:
        return False
    return True


def before_after_figure(path, photos, before, after, root=None,
                        roles=("make demo", "make model"), only=None):
    """Real photos: grayscale input, `before`'s and `after`'s first networks (each row named by
    its role and variant: the variants' own descriptions outgrow the figure), the original,
    prepared at the size those networks were trained on; FIGURE_PHOTOS of them, or with `only`
    (photo file names) those photos. Returns the names of the photos it shows, in order."""
    import keras

    import evaluate
    import figures
    import lab

    folders = [first_run(name, root) for name in (before, after)]
    images = evaluate.load_photos(photos, evaluate.photo_size(folders, None))
    names = [Path(str(image_id)).name for image_id in images.ids]
    chosen = (evaluate.figure_indices(len(names), FIGURE_PHOTOS) if only is None else
              [index for index, name in enumerate(names) if name in only])
    lightness, truth = images.lightness[chosen], images.ab[chosen]

    def rgb(ab):
        return list(lab.lab_to_rgb_uint8(lab.join_lab(lightness, ab)))

    rows = [("grayscale input", rgb(np.zeros_like(truth)))]
    for role, name, run in zip(roles, (before, after), folders):
        model = keras.saving.load_model(run / runs.MODEL_FILE, compile=False)
        ab = lab.decode_ab(model.predict(lab.encode_l(lightness), verbose=0))
        rows.append((f"{role}: {name}", rgb(ab)))
    rows.append(("original photo", rgb(truth)))
    credits = evaluate.photo_credits(photos)
    footer = ("Photos, left to right: " + "; ".join(
        f"{names[index]} by {credits.get(names[index], 'see its folder')}" for index in chosen)
        + ". Each shared under its licence; with a CC-BY-SA photo, this figure under CC-BY-SA 4.0.")
    figures.grid_figure(path, rows, heading=f"Real photos from {Path(photos).name}/ "
                                            "(never trained on)", footer=footer)
    return [names[index] for index in chosen]


def read_lights(photos):
    """{photo file name: light} from LIGHTS in the photos' folder: the light each photo was
    taken in, labelled by eye; photos it does not name count as taken in any other light."""
    path = Path(photos) / LIGHTS
    if not path.is_file():
        raise SystemExit(f"variants.py: no {path}: which photos were taken in which light?")
    with open(path, newline="", encoding="utf-8") as f:
        lines = (line for line in f if not line.startswith("#"))
        return {row["file"]: row["light"] for row in csv.DictReader(lines, delimiter="\t")}


def sunset_photos(photos):
    """The file names of the photos labelled as taken in sunset light: the ones a user would
    colorize with --light sunset."""
    return {name for name, light in read_lights(photos).items() if light == "sunset"}


def light_rows(photos, sunset):
    """make model and make model-sunset on `sunset` (the file names of the photos labelled
    sunset: sunset_photos) and on the others, as (the photos in words, colorizer, variant,
    summary): each summarized as a variant is, make model-sunset paired with make model photo
    by photo."""
    reference = HERE / RESULTS / RECOMMENDED / "per_image.csv"
    scored = photo_names(reference)
    if sunset - scored:  # a typo in light.tsv would silently shrink the group
        raise SystemExit(f"variants.py: {Path(photos) / LIGHTS} names photos that were not "
                         f"scored: {', '.join(sorted(sunset - scored))}")
    groups = {f"taken in low, warm light ({len(sunset)}, labelled sunset in "
              f"{Path(photos).name}/{LIGHTS})": sunset,
              f"the others ({len(scored - sunset)})": scored - sunset}
    return [(group, role, name, summarize_scored(name, reference if name != RECOMMENDED else None,
                                                 only=only))
            for group, only in groups.items()
            for role, name in (("make model", RECOMMENDED), ("make model-sunset", SUNSET_LIGHT))]


def summarize_scored(name, reference=None, seed=0, only=None, results=None):
    """summarize_variant on the variant's scores in `results`, with the CPU its networks
    trained on: what a row of either table shows."""
    summary = summarize_variant(HERE / (results or RESULTS) / name / "per_image.csv", reference,
                                seed, only)
    summary["measured_on"] = trained_on(HERE / RUNS / name)
    return summary


def photo_names(path):
    """The file names of the photos an evaluate.py per_image.csv scores: the photos the light
    table splits into groups (every run there scores the same ones)."""
    with open(path, newline="") as f:
        return {Path(row["image_id"]).name for row in csv.DictReader(f)}


def score_header(reference):
    """The header of score_cells' columns, the paired gain named after `reference`."""
    return ("measured on | seeds | AuC - gray (points) | 95% interval | "
            f"AuC - {reference} (95% interval) | ab RMSE / gray | colorfulness / original |\n"
            "|---|---|---|---|---|---|---|---|---|")


LIGHT_HEADER = "| photos | colorizer | " + score_header("make model")


def light_table(rows):
    """The README's table by light: one row per group of photos and colorizer (light_rows)."""
    return "\n".join([LIGHT_HEADER, *(f"| {group} | {role} ({name}) | {score_cells(s)} |"
                                      for group, role, name, s in rows)])


HEADER = "| variant | what changes | " + score_header(BEFORE)


def score_cells(s):
    """A summary's cells, from the CPU to the colorfulness: one format for both tables, so that
    their numbers read alike."""
    spread = f" ± {s['auc_gain_std']:.2f}" if s["seeds"] > 1 else ""
    versus = (f"{s['versus'][0]:+.2f} [{s['versus'][1]:+.2f}, {s['versus'][2]:+.2f}]"
              if s.get("versus") else "-")
    return (f"{s['measured_on']} | {s['seeds']} | {s['auc_gain']:+.2f}{spread} | "
            f"[{s['low']:+.2f}, {s['high']:+.2f}] | {versus} | {s['rmse_ratio']:.3f} | "
            f"{s['colorfulness_ratio']:.2f}")


def table_row(name, variant, s):
    return f"| {name} | {variant.change} | {score_cells(s)} |"


def table(rows):
    return "\n".join([HEADER, *(table_row(*row) for row in rows)])


def row_key(line):
    """(variant, measured on) of a table row: one row per variant and kind of CPU."""
    cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
    return cells[0], cells[2]


def merged_table(readme_text, rows):
    """The README's table with these rows added, each replacing the row of the same variant
    measured on the same kind of CPU; rows whose runs are not here stay as they were written,
    so that scoring some variants never drops the others' rows. Variants in VARIANTS' order."""
    start, end = readme_text.find(README_START), readme_text.find(README_END)
    kept = {}
    if 0 <= start < end:
        for line in readme_text[start:end].splitlines()[1:]:
            if line.startswith("| ") and not line.startswith(HEADER.splitlines()[0][:12]):
                kept[row_key(line)] = line
    for row in rows:
        line = table_row(*row)
        kept[row_key(line)] = line
    order = list(VARIANTS)
    lines = sorted(kept.values(), key=lambda line: order.index(row_key(line)[0])
                   if row_key(line)[0] in order else len(order))
    return "\n".join([HEADER, *lines])


def update_light_block(readme, photos):
    """The README's table of make model and make model-sunset by the photos' light, and
    LIGHT_FIGURE: the photos labelled sunset under both."""
    sunset = sunset_photos(photos)
    report.update_readme(readme, "\n" + light_table(light_rows(photos, sunset)) + "\n",
                         LIGHT_START, LIGHT_END)
    before_after_figure(HERE / LIGHT_FIGURE, photos, RECOMMENDED, SUNSET_LIGHT,
                        roles=("make model", "make model-sunset"), only=sunset)
    print(f"wrote the README's table by light and {LIGHT_FIGURE}")


def photos_refusal(folder):
    """Why evaluate.py could score no photo in `folder`, or None: found before the variants
    train for hours, not by evaluate.py after them."""
    import photos  # the module; elsewhere here `photos` is a folder of them

    if not folder.is_dir():
        return f"--photos {folder}: no such folder of photos"
    if not photos.list_photos(folder):
        return f"--photos {folder}: no photos there ({', '.join(photos.IMAGE_SUFFIXES)})"
    return None


def unknown_variant(name):
    """The refusal of a variant name that is not in the table, with the names nearest to it:
    argparse's choices listed all of the table's hundred-odd in one line."""
    near = difflib.get_close_matches(name, VARIANTS, n=3, cutoff=0.5)
    hint = f"; did you mean {', '.join(near)}?" if near else ""
    return f"--only: no variant {name!r}{hint} (--help lists them)"


def results_folder(photos, whole_frames):
    """Where the scores go: RESULTS for photos/' centre squares, what the README's tables show;
    another folder beside it for other photos or whole frames, so that scoring a held-out set
    never overwrites them (results/variants-held-out-whole-frames for --photos held-out
    --whole-frames)."""
    suffix = ("" if photos == PHOTOS else f"-{photos.name}") + \
        ("-whole-frames" if whole_frames else "")
    return RESULTS.with_name(RESULTS.name + suffix) if suffix else RESULTS


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("--only", nargs="+", default=None, metavar="VARIANT",
                        help="these variants (default: all, in the table's order): "
                             + ", ".join(VARIANTS))
    parser.add_argument("--seeds", type=int, default=3, help="training seeds 1..N per variant")
    parser.add_argument("--photos", type=lambda path: Path(path).resolve(),
                        default=PHOTOS,
                        help="the real photos the variants are scored on (never trained on)")
    parser.add_argument("--whole-frames", action="store_true",
                        help="score the whole photos, as colorize.py colours them, instead of "
                             "their centre squares (evaluate.py --whole-frames)")
    parser.add_argument("--no-train", action="store_true",
                        help="only score and tabulate the runs that exist")
    parser.add_argument("--update-readme", action="store_true",
                        help=f"rewrite the README's variants table between its markers and "
                             f"{FIGURE}: real photos before ({BEFORE}) and after ({RECOMMENDED}); "
                             f"once both are scored, also its table of {RECOMMENDED} and "
                             f"{SUNSET_LIGHT} by the photos' light ({LIGHTS}) and {LIGHT_FIGURE}")
    args = parser.parse_args(argv)
    for name in args.only or ():
        if name not in VARIANTS:
            parser.error(unknown_variant(name))
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    refusal = photos_refusal(args.photos)
    if refusal:
        parser.error(refusal)
    args.results = results_folder(args.photos, args.whole_frames)
    if args.update_readme and args.results != RESULTS:
        parser.error("--update-readme writes the README's tables of photos/' centre squares; "
                     "leave out --whole-frames and --photos to score those")
    return args


def main(argv=None):
    args = parse_args(argv)
    readme = HERE / "README.md"
    names = [name for name in VARIANTS if not args.only or name in args.only]  # base first
    if args.update_readme:  # before hours of training, not after
        report.check_readme(readme, README_START, README_END)
        check_figure_runs(names, args.no_train)
    results = args.results
    rows = []
    for name in names:
        variant = VARIANTS[name]
        if not args.no_train:
            train_seeds(name, variant, range(1, args.seeds + 1))
        if not (HERE / RUNS / name).is_dir():
            continue
        score(name, args.photos, results, args.whole_frames)
        reference = HERE / results / BEFORE / "per_image.csv"
        summary = summarize_scored(name, reference if name != BEFORE and reference.is_file()
                                   else None, results=results)
        rows.append((name, variant, summary))
        print(table(rows[-1:]).splitlines()[-1], flush=True)
    if not rows:  # only with --no-train: a table of its header alone would say nothing
        raise SystemExit(f"no runs of {', '.join(names)} in {HERE / RUNS}: nothing to score "
                         "(leave out --no-train to train them)")
    text = table(rows)
    out = HERE / results / "table.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    files.write_text_atomic(out, text + "\n")
    print(text)
    if args.update_readme:
        text = report.check_readme(readme, README_START, README_END)
        report.update_readme(readme, "\n" + merged_table(text, rows) + "\n",
                             README_START, README_END)
        before_after_figure(HERE / FIGURE, args.photos, BEFORE, RECOMMENDED)
        print(f"wrote the README's variants table and {FIGURE}")
        if not (args.photos / LIGHTS).is_file():
            print(f"no {args.photos / LIGHTS}: the README's table by light left as it was")
        elif all((HERE / RESULTS / name / "per_image.csv").is_file()
                 for name in (RECOMMENDED, SUNSET_LIGHT)):
            update_light_block(readme, args.photos)
    return 0


if __name__ == "__main__":
    sys.exit(main())
