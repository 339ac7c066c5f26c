"""Train one colorization network on a dataset folder and write a run folder.

    python train.py --model unet --data data/mountains-synth --epochs 30 --seed 0
    python train.py --model resnet --optimizer rmsprop --batch-size 32   # the seed's setup
    python train.py --model unet --loss classification   # Zhang-style colour classes

writes runs/<run>/ (default <run> = {model}-{preset}-{loss}-s{seed}):

    model.keras   the best-val-loss model (L/50-1 in, ab/128 out, float32 output)
    history.csv   one row per finished epoch (Keras CSVLogger)
    config.json   every argument, versions, CPU features, dataset checksum, image size, stride
    ab_classes.json   --loss classification only: bin centres, prior, rebalancing weights
    backup/       the resume state while a run is unfinished

Re-running the same command after a crash or Ctrl-C continues from the last finished epoch;
re-running it after the run finished does nothing. Different arguments into the same run
folder are refused: pick another --run name or delete the folder.
"""

import argparse
import sys
from pathlib import Path

import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)

import cli
import recipe


def parse_args(argv=None):
    """The command line as a TrainConfig (a usage error exits with status 2)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=cli.HelpFormatter)
    parser.add_argument("--model", required=True, choices=recipe.MODELS, help="network family")
    parser.add_argument("--preset", default="seed", choices=recipe.PRESETS,
                        help="seed = the seed study's graph, large = the modern ~1.3 GFLOP one")
    parser.add_argument("--width", type=float, default=1.0, help="filter-count multiplier")
    parser.add_argument("--data", type=Path, default=Path("data/mountains-synth"),
                        help="dataset folder written by dataset.py")
    parser.add_argument("--epochs", type=int, default=30, help="epochs in total")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="images per step; with --distribute the global batch, split "
                             "evenly across all replicas of all workers")
    parser.add_argument("--loss", default="mse", choices=recipe.LOSSES,
                        help="regression on ab/128 (distance: the Euclidean ab error, which "
                             "AuC thresholds), or classification over quantized ab "
                             "(Zhang et al. 2016: soft targets, rebalanced, annealed mean)")
    parser.add_argument("--huber-delta", type=float, default=0.1,
                        help="huber loss: quadratic below this ab/128 error (0.1 = 12.8 ab units)")
    parser.add_argument("--neighbours", type=int, default=recipe.NEIGHBOURS,
                        help="classification: soft targets on this many nearest bins "
                             "(the paper 5, its official code 10)")
    parser.add_argument("--sigma", type=float, default=recipe.SIGMA,
                        help="classification: Gaussian of the soft targets and of the prior's "
                             "smoothing, in ab units")
    parser.add_argument("--rebalance-mix", type=float, default=recipe.MIX,
                        help="classification: share of the uniform distribution in the "
                             "rebalancing prior (lambda; 1 = no rebalancing)")
    parser.add_argument("--mse-weight", type=float, default=0.0,
                        help="classification: add this many times the squared error of the "
                             "predicted distribution's mean ab (in 10-unit grid steps) to the "
                             "cross-entropy: MSE plus classification (0 = off)")
    parser.add_argument("--temperature", type=float, default=recipe.TEMPERATURE,
                        help="classification: annealed-mean temperature of the saved model "
                             "(-> 0: the mode, 1: the mean)")
    parser.add_argument("--optimizer", default="adam", choices=recipe.OPTIMIZERS, help="optimizer")
    parser.add_argument("--learning-rate", type=float, default=1e-3,
                        help="learning rate for the global batch (--batch-size), whatever the "
                             "number of devices or workers")
    parser.add_argument("--cosine", action="store_true",
                        help="decay the learning rate along a cosine from --learning-rate to 0 "
                             "over --epochs (default: constant)")
    parser.add_argument("--weight-decay", type=float, default=0.0,
                        help="shrink every kernel by this share of itself times the learning "
                             "rate each step, apart from the gradient (decoupled, as AdamW; "
                             "0 = off)")
    parser.add_argument("--precision", default="auto", choices=recipe.PRECISIONS,
                        help="auto = mixed bfloat16 if the CPU has AVX512_BF16/AMX or a GPU "
                             "is present, else float32; the output layer and loss stay float32; "
                             "a resumed run keeps the precision it started in")
    parser.add_argument("--no-flip", dest="flip", action="store_false",
                        help="turn off random horizontal flips of the training images "
                             "(flips on: %(default)s)")
    parser.add_argument("--tone", type=float, default=0.0,
                        help="random tone curve on the training images' L: gamma of L/100 up "
                             "to exp(+-TONE), ab untouched (0 = off)")
    parser.add_argument("--hue", type=float, default=0.0, metavar="DEGREES",
                        help="turn each training image's ab by a random angle up to +-DEGREES: "
                             "hue domain randomisation, chroma and L untouched (0 = off)")
    parser.add_argument("--sharpen", type=float, default=0.0, metavar="K",
                        help="sharpen each training image's L by a random amount up to K "
                             "(unsharp mask, 1 = photo-like detail per pixel; 0 = off)")
    parser.add_argument("--patience", type=int, default=0,
                        help="stop after this many epochs without val improvement (0 = never)")
    parser.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs")
    parser.add_argument("--steps-per-execution", type=int, default=1,
                        help="training steps per call into TensorFlow (fewer Python round trips; "
                             "the same steps and numbers)")
    parser.add_argument("--xla", action="store_true",
                        help="compile with XLA (off by default: 3-8x slower on the test CPU)")
    parser.add_argument("--seed", type=int, default=0, help="seed of weights, shuffling, flips")
    parser.add_argument("--runs", type=Path, default=Path("runs"), help="folder of run folders")
    parser.add_argument("--run", default=None,
                        help="run folder name (default {model}-{preset}-{loss}-s{seed})")
    parser.add_argument("--distribute", default="none", choices=("none", "mirrored", "multiworker"),
                        help="none = model.fit on one device; mirrored = tf.distribute over the "
                             "local GPUs (or the CPU); multiworker = over the machines listed in "
                             "the TF_CONFIG environment variable (see distributed.py)")
    parser.add_argument("--peer-timeout", type=float, default=300,
                        help="multiworker: seconds to wait for all workers to come up")
    parser.add_argument("--verbose", type=int, default=1, choices=(0, 1, 2),
                        help="Keras fit verbosity: 1 = progress bar, 2 = one line per epoch")
    args = parser.parse_args(argv)
    for name in ("epochs", "batch_size", "steps_per_execution"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.width <= 0 or args.learning_rate <= 0 or args.huber_delta <= 0:
        parser.error("--width, --learning-rate and --huber-delta must be positive")
    if args.patience < 0:
        parser.error("--patience must be 0 (off) or positive")
    if args.peer_timeout <= 0:
        parser.error("--peer-timeout must be positive")
    if args.neighbours < 1 or args.sigma <= 0 or args.temperature <= 0:
        parser.error("--neighbours must be at least 1; --sigma and --temperature positive")
    if args.tone < 0 or args.hue < 0 or args.sharpen < 0 or args.weight_decay < 0:
        parser.error("--tone, --hue, --sharpen and --weight-decay must be 0 (off) or positive")
    if not 0 < args.rebalance_mix <= 1:
        parser.error("--rebalance-mix must be in (0, 1]")
    if args.mse_weight < 0 or (args.mse_weight and args.loss != "classification"):
        parser.error("--mse-weight must be >= 0 and is for --loss classification")
    if args.distribute != "none" and (args.xla or args.steps_per_execution > 1):
        parser.error("--xla and --steps-per-execution are model.fit's: distributed.py's own "
                     "loop would ignore them (use them with --distribute none)")
    if not 0 <= args.seed <= 2**32 - 1:
        parser.error("--seed must be in 0..2**32-1 (Keras' seed range)")
    cli.check_output_folders(parser, ("--runs", args.runs, "a folder of run folders"))
    if args.run is None:
        args.run = f"{args.model}-{args.preset}-{args.loss}-s{args.seed}"
    if args.run in ("", ".", "..") or Path(args.run).name != args.run:
        parser.error(f"--run {args.run!r} must be a plain folder name: it goes inside --runs")
    return recipe.TrainConfig(**vars(args))


def fit_on_one_device(config, run, train_arrays, val_arrays):
    """Keras' model.fit: the path of --distribute none (distributed.fit drives the same parts)."""
    import training
    steps = training.steps_per_epoch(len(train_arrays[0]), config.batch_size)
    model = training.build_compiled_model(config, run.classes, steps)
    train_data = training.make_dataset(*train_arrays, config.batch_size,
                                       **training.augmentation_of(config))
    val_data = training.make_dataset(*val_arrays, config.batch_size)
    callbacks = training.make_callbacks(config, run,
                                        training.model_to_save(model, config, run.classes))
    return model.fit(train_data, validation_data=val_data, epochs=config.epochs,
                     initial_epoch=run.start, callbacks=callbacks, shuffle=False,
                     verbose=config.verbose)


def train(config):
    """Fit one model into its run folder (see the top of this file); returns its config.json.

    --distribute none is model.fit here; the others go to distributed.py. TensorFlow loads
    here, not at import: --help and usage errors answer at once.
    """
    import distributed
    import training

    if config.distribute != "none":
        return distributed.train_distributed(config)
    return training.train_into_run(config, fit_on_one_device)


def main(argv=None):
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
