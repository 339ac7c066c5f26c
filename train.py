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
import csv
import json
import math
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

import cpu  # noqa: F401,E402  (TensorFlow's CPU settings: before TensorFlow loads)

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import ab_classes  # noqa: E402
import dataset  # noqa: E402
import lab  # noqa: E402
import models  # noqa: E402

LOSSES = ("mse", "mae", "huber", "classification")
LOSS_DESCRIPTIONS = {
    "mse": "mean squared error of ab/128",
    "mae": "mean absolute error of ab/128",
    "huber": "Huber loss of ab/128",
    "classification": "class-rebalanced cross-entropy over quantized ab bins "
                      "(not comparable with the regression losses)",
}
CLASSES_FILE = "ab_classes.json"
OPTIMIZERS = ("adam", "rmsprop")
PRECISIONS = ("auto", "float32", "bfloat16")
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")
NOT_COMPARED_ON_RESUME = ("verbose", "peer_timeout")  # not results; every other one must match
REPORTED_CPU_FLAGS = ("avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile",
                      "amx_bf16", "amx_int8")


# --------------------------------------------------------------------------- data


def make_dataset(lightness, ab, batch_size, shuffle=False, flip=False, seed=0, take=None,
                 shard=(0, 1)):
    """A tf.data pipeline over (memory-mapped) Lab arrays -> (L/50-1, ab/128) batches.

    Only indices live in tf.data: each batch gathers its rows from the arrays with one sorted
    fancy-index read, so a dataset larger than memory is never loaded, let alone twice.
    Flipping is horizontal and applied to L and ab together. For tf.distribute (see
    distributed.py), `take` keeps the first images of each (shuffled) epoch and
    shard = (index, count) reads every count-th of them: each worker reads only its share.
    """
    count, height, width = lightness.shape[:3]

    def gather(indices):
        rows = np.sort(indices)
        return lab.encode_l(lightness[rows]), lab.encode_ab(ab[rows])

    @tf.autograph.experimental.do_not_convert  # plain TF ops; AutoGraph only warns about closures
    def read_batch(indices):
        x, y = tf.numpy_function(gather, [indices], (tf.float32, tf.float32), stateful=False)
        x.set_shape((None, height, width, 1))
        y.set_shape((None, height, width, 2))
        return x, y

    @tf.autograph.experimental.do_not_convert
    def random_flip(x, y):
        mirrored = tf.random.uniform((tf.shape(x)[0], 1, 1, 1), seed=seed) < 0.5
        return (tf.where(mirrored, tf.reverse(x, axis=[2]), x),
                tf.where(mirrored, tf.reverse(y, axis=[2]), y))

    data = tf.data.Dataset.range(count)
    if shuffle:
        data = data.shuffle(count, seed=seed, reshuffle_each_iteration=True)
    if take is not None:
        data = data.take(take)
    if shard[1] > 1:
        data = data.shard(shard[1], shard[0])
    data = data.batch(batch_size).map(read_batch, num_parallel_calls=tf.data.AUTOTUNE)
    if flip:
        data = data.map(random_flip, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def load_data(folder):
    """(meta, train arrays, val arrays), or a clear SystemExit when the dataset is unusable."""
    try:
        meta = dataset.read_meta(folder)
        train = dataset.load_split(folder, "train")
        val = dataset.load_split(folder, "val")
    except dataset.DatasetError as error:
        raise SystemExit(f"train.py: {error}") from None
    if len(train[0]) == 0 or len(val[0]) == 0:
        raise SystemExit(f"train.py: {folder} has {len(train[0])} training and {len(val[0])} "
                         "validation images; both splits need at least one")
    return meta, train, val


# --------------------------------------------------------------------------- model and loss


def resolve_precision(choice):
    """The Keras dtype policy for --precision: auto = bfloat16 where the hardware has it."""
    if choice == "float32":
        return "float32"
    if choice == "bfloat16":
        return "mixed_bfloat16"
    has_bf16 = any(flag in cpu_flags() for flag in BF16_CPU_FLAGS)
    return "mixed_bfloat16" if has_bf16 or tf.config.list_physical_devices("GPU") else "float32"


def build_loss(name, huber_delta=0.1):
    """A built-in Keras loss (so model.keras stays loadable in safe mode), on the ab/128 scale."""
    if name == "mse":
        return keras.losses.MeanSquaredError()
    if name == "mae":
        return keras.losses.MeanAbsoluteError()
    if name == "huber":
        return keras.losses.Huber(delta=huber_delta)
    raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")


def build_optimizer(name, learning_rate):
    if name == "adam":
        return keras.optimizers.Adam(learning_rate)
    if name == "rmsprop":
        return keras.optimizers.RMSprop(learning_rate)
    raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")


def head_of(args):
    return "classification" if args.loss == "classification" else "regression"


def prepare_classes(args, run_dir, train_ab):
    """The ab classes of a classification run: read back on resume, else computed and written.

    The prior comes from the train split at the loss's resolution; reading it back keeps a
    resumed run on exactly the loss it started with.
    """
    path = Path(run_dir) / CLASSES_FILE
    if not path.is_file():
        bins = ab_classes.quantized_gamut()
        try:
            prior = ab_classes.class_prior(train_ab, bins, sigma=args.sigma,
                                           progress=args.verbose > 0)
        except ValueError as error:
            raise SystemExit(f"train.py: --loss classification: {error}") from None
        weights = ab_classes.rebalancing_weights(prior, args.rebalance_mix)
        ab_classes.write_classes(path, bins, prior, weights, neighbours=args.neighbours,
                                 sigma=args.sigma, rebalance_mix=args.rebalance_mix,
                                 temperature=args.temperature,
                                 target_stride=ab_classes.TARGET_STRIDE)
    return ab_classes.read_classes(path)


def build_compiled_model(args, classes=None):
    """The network of --model/--preset/--width, compiled with the loss and optimizer of args.

    For --loss classification (classes from prepare_classes) it is the logits model, trained
    on ab/128 targets by the rebalanced loss; save model_to_save(...) of it. Build under the
    wanted precision policy; XLA stays off unless --xla (3 to 8x slower on the reference CPU).
    """
    optimizer = build_optimizer(args.optimizer, args.learning_rate)
    if args.loss != "classification":
        model = models.build_model(args.model, args.preset, args.width)
        model.compile(optimizer=optimizer, loss=build_loss(args.loss, args.huber_delta),
                      jit_compile=args.xla)
        return model
    if classes is None:
        raise ValueError("--loss classification needs the run's classes (prepare_classes)")
    model = models.build_model(args.model, args.preset, args.width, head="classification",
                               num_bins=len(classes["bins"]))
    model.compile(optimizer=optimizer, jit_compile=args.xla,
                  loss=ab_classes.make_loss(classes["bins"], classes["weights"],
                                            args.neighbours, args.sigma))
    return model


def model_to_save(model, args, classes=None):
    """What model.keras holds: L/50-1 in, ab/128 out at full size, whatever the loss.

    A classification model is wrapped in its annealed-mean decoder (shared layers, built-in
    Keras only), so evaluate.py and colorize.py need no special case.
    """
    if args.loss != "classification":
        return model
    return ab_classes.ab_output_model(model, classes["bins"], args.temperature)


# --------------------------------------------------------------------------- run folder


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def environment():
    """What the numbers depend on besides the arguments: versions and hardware."""
    flags = cpu_flags()
    return {
        "versions": {"python": platform.python_version(), "tensorflow": tf.__version__,
                     "keras": keras.__version__, "numpy": np.__version__},
        "cpu_features": sorted(flag for flag in REPORTED_CPU_FLAGS if flag in flags),
        "cpu_count": os.cpu_count(),
        "gpus": [gpu.name for gpu in tf.config.list_physical_devices("GPU")],
    }


def write_json_atomic(path, data):
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def arguments_of(args):
    return {key: str(value) if isinstance(value, Path) else value
            for key, value in sorted(vars(args).items())}


def open_run_dir(args, meta, stride, policy):
    """Create or reopen the run folder; refuse one made with other arguments or another dataset.

    Returns (run_dir, config).
    """
    run_dir = args.runs / args.run
    config_path = run_dir / "config.json"
    if config_path.is_file():
        with open(config_path) as f:
            config = json.load(f)
        old, new = config.get("arguments", {}), arguments_of(args)
        changed = sorted(k for k in set(old) | set(new)
                         if old.get(k) != new.get(k) and k not in NOT_COMPARED_ON_RESUME)
        if changed:
            details = ", ".join(f"--{k.replace('_', '-')} was {old.get(k)!r}, now {new.get(k)!r}"
                                for k in changed)
            raise SystemExit(f"train.py: {run_dir} was started with other arguments ({details}); "
                             "use the original arguments to resume, another --run name, or "
                             "delete the folder")
        if config.get("dataset_checksum") != meta["checksum"]:
            raise SystemExit(f"train.py: {run_dir} was trained on a dataset with checksum "
                             f"{config.get('dataset_checksum')}, but {args.data} now has "
                             f"{meta['checksum']}; train into a new run folder")
        return run_dir, config
    if run_dir.exists() and any(run_dir.iterdir()):
        raise SystemExit(f"train.py: {run_dir} exists but has no config.json; it is not a run "
                         "folder of this project (delete it or choose another --run)")
    run_dir.mkdir(parents=True, exist_ok=True)
    config = {"arguments": arguments_of(args), **arguments_of(args), **environment(),
              "run_name": args.run, "dataset_checksum": meta["checksum"],
              "image_size": meta["size"], "stride": stride, "policy": policy,
              "status": "running"}
    write_json_atomic(config_path, config)
    return run_dir, config


def resume_epoch(backup_dir):
    """The first epoch still to run according to the backup (0 for a fresh run)."""
    path = Path(backup_dir) / "training_metadata.json"
    if not path.is_file():
        return 0
    with open(path) as f:
        return int(json.load(f)["epoch"])


def trim_history(path, epoch):
    """Keep the rows of epochs before `epoch`; return them.

    An epoch killed after CSVLogger wrote its row but before the backup was written runs
    again on resume; dropping its row here keeps each epoch in history.csv exactly once.
    """
    path = Path(path)
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
        fields = rows[0].keys() if rows else None
    kept = [row for row in rows if int(row["epoch"]) < epoch]
    if len(kept) != len(rows) or epoch == 0:
        tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
        with open(tmp, "w", newline="") as f:
            if kept:
                writer = csv.DictWriter(f, fieldnames=list(fields))
                writer.writeheader()
                writer.writerows(kept)
        os.replace(tmp, path)
    return kept


# --------------------------------------------------------------------------- callbacks


class AtomicBackupAndRestore(keras.callbacks.BackupAndRestore):
    """Keras' BackupAndRestore, but a kill while it writes never leaves a broken backup.

    Weights are written under a temporary name and renamed, then the epoch counter the same
    way; a kill between the two renames resumes one epoch early, which is harmless.
    """

    def _save_model(self):
        os.makedirs(self.backup_dir, exist_ok=True)
        incoming = os.path.join(self.backup_dir, "incoming.weights.h5")
        self.model.save_weights(incoming, overwrite=True)
        os.replace(incoming, self._weights_path)
        write_json_atomic(self._training_metadata_path,
                          {"epoch": self._current_epoch, "batch": self._last_batch_seen})


class BestModelCheckpoint(keras.callbacks.Callback):
    """Save the model whenever val_loss improves; the file is renamed into place, never torn."""

    def __init__(self, path, best=math.inf, monitor="val_loss", saved_model=None):
        super().__init__()
        self.path, self.best, self.monitor = Path(path), best, monitor
        self.saved_model = saved_model  # None: the model being trained

    def on_epoch_end(self, epoch, logs=None):
        value = (logs or {}).get(self.monitor)
        if value is None or not value < self.best:
            return
        self.best = float(value)
        tmp = self.path.with_name(f".incoming-{os.getpid()}.keras")
        (self.saved_model or self.model).save(tmp)
        os.replace(tmp, self.path)


class TrainingSpeed(keras.callbacks.Callback):
    """Training images/s, validation excluded."""

    def __init__(self, images_per_epoch):
        super().__init__()
        self.images_per_epoch, self.seconds, self.epochs = images_per_epoch, 0.0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self.started = time.perf_counter()

    def on_test_begin(self, logs=None):
        self.seconds += time.perf_counter() - self.started
        self.epochs += 1

    def images_per_second(self):
        return self.images_per_epoch * self.epochs / self.seconds if self.seconds else 0.0


def make_callbacks(args, run_dir, best, speed, saved_model=None):
    """Order matters: the CSV row and the best model are written before the backup.

    The backup holds the trained model's weights; model.keras holds saved_model (if given).
    """
    callbacks = [speed, keras.callbacks.TerminateOnNaN(),
                 BestModelCheckpoint(run_dir / "model.keras", best=best, saved_model=saved_model),
                 keras.callbacks.CSVLogger(str(run_dir / "history.csv"), append=True)]
    if args.patience:
        callbacks.append(keras.callbacks.EarlyStopping(patience=args.patience))
    if args.tensorboard:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard")))
    callbacks.append(AtomicBackupAndRestore(str(run_dir / "backup")))
    return callbacks


# --------------------------------------------------------------------------- command line


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--model", required=True, choices=models.MODELS, help="network family")
    parser.add_argument("--preset", default="seed", choices=models.PRESETS,
                        help="seed = the seed study's graph, large = the modern ~1.3 GFLOP one")
    parser.add_argument("--width", type=float, default=1.0, help="filter-count multiplier")
    parser.add_argument("--data", type=Path, default=Path("data/mountains-synth"),
                        help="dataset folder written by dataset.py")
    parser.add_argument("--epochs", type=int, default=30, help="epochs in total")
    parser.add_argument("--batch-size", type=int, default=32,
                        help="images per step; with --distribute the global batch, split "
                             "evenly across all replicas of all workers")
    parser.add_argument("--loss", default="mse", choices=LOSSES,
                        help="regression on ab/128, or classification over quantized ab "
                             "(Zhang et al. 2016: soft targets, rebalanced, annealed mean)")
    parser.add_argument("--huber-delta", type=float, default=0.1,
                        help="huber loss: quadratic below this ab/128 error (0.1 = 12.8 ab units)")
    parser.add_argument("--neighbours", type=int, default=ab_classes.NEIGHBOURS,
                        help="classification: soft targets on this many nearest bins "
                             "(the paper 5, its official code 10)")
    parser.add_argument("--sigma", type=float, default=ab_classes.SIGMA,
                        help="classification: Gaussian of the soft targets and of the prior's "
                             "smoothing, in ab units")
    parser.add_argument("--rebalance-mix", type=float, default=ab_classes.MIX,
                        help="classification: share of the uniform distribution in the "
                             "rebalancing prior (lambda; 1 = no rebalancing)")
    parser.add_argument("--temperature", type=float, default=ab_classes.TEMPERATURE,
                        help="classification: annealed-mean temperature of the saved model "
                             "(-> 0: the mode, 1: the mean)")
    parser.add_argument("--optimizer", default="adam", choices=OPTIMIZERS, help="optimizer")
    parser.add_argument("--learning-rate", type=float, default=1e-3,
                        help="learning rate for the global batch (--batch-size), whatever the "
                             "number of devices or workers")
    parser.add_argument("--precision", default="auto", choices=PRECISIONS,
                        help="auto = mixed bfloat16 if the CPU has AVX512_BF16/AMX or a GPU "
                             "is present, else float32; the output layer and loss stay float32")
    parser.add_argument("--no-flip", dest="flip", action="store_false",
                        help="turn off random horizontal flips of the training images "
                             "(flips on: %(default)s)")
    parser.add_argument("--patience", type=int, default=0,
                        help="stop after this many epochs without val improvement (0 = never)")
    parser.add_argument("--tensorboard", action="store_true", help="write TensorBoard logs")
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
    for name in ("epochs", "batch_size"):
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
    if not 0 < args.rebalance_mix <= 1:
        parser.error("--rebalance-mix must be in (0, 1]")
    if args.run is None:
        args.run = f"{args.model}-{args.preset}-{args.loss}-s{args.seed}"
    return args


def fit_on_one_device(args, run_dir, best, speed, classes, train_arrays, val_arrays):
    """Keras' model.fit: the path of --distribute none (distributed.fit drives the same parts)."""
    model = build_compiled_model(args, classes)
    train_data = make_dataset(*train_arrays, args.batch_size, shuffle=True, flip=args.flip,
                              seed=args.seed)
    val_data = make_dataset(*val_arrays, args.batch_size)
    return model.fit(train_data, validation_data=val_data, epochs=args.epochs,
                     callbacks=make_callbacks(args, run_dir, best, speed,
                                              model_to_save(model, args, classes)),
                     shuffle=False, verbose=args.verbose)


def train(args, fit=fit_on_one_device):
    """Fit one model into its run folder; returns the finished config (with the results).

    With --distribute, distributed.train_distributed sets up the strategy and calls this with
    its own fit.
    """
    if args.distribute != "none" and fit is fit_on_one_device:
        import distributed  # it imports this module
        return distributed.train_distributed(args)
    meta, (train_l, train_ab), (val_l, val_ab) = load_data(args.data)
    stride = models.total_stride(args.model, args.preset, head_of(args))
    if meta["size"] % stride:
        raise SystemExit(f"train.py: images of {meta['size']} px are not a multiple of the "
                         f"{args.model}-{args.preset} stride {stride} (loss {args.loss})")
    policy = resolve_precision(args.precision)
    run_dir, config = open_run_dir(args, meta, stride, policy)
    if config.get("status") == "finished":
        print(f"{run_dir} is already finished (best val loss {config['best_val_loss']:.5f}); "
              "nothing to do")
        return config

    classes = None
    if args.loss == "classification":
        classes = prepare_classes(args, run_dir, train_ab)
        config["ab_classes"] = {"file": CLASSES_FILE, "bins": len(classes["bins"]),
                                **{key: classes[key] for key in ("neighbours", "sigma",
                                                                 "rebalance_mix", "temperature",
                                                                 "target_stride")}}
    config["loss_description"] = LOSS_DESCRIPTIONS[args.loss]
    write_json_atomic(run_dir / "config.json", config)

    start = resume_epoch(run_dir / "backup")
    done = trim_history(run_dir / "history.csv", start)
    best = min((float(row["val_loss"]) for row in done), default=math.inf)
    if start:
        print(f"resuming {run_dir} at epoch {start + 1} of {args.epochs}")
    print(f"{args.model}-{args.preset}: {len(train_l)} training, {len(val_l)} validation images "
          f"of {meta['size']} px, precision {policy}")

    previous_policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(policy)
    try:
        keras.utils.set_random_seed(args.seed)
        speed = TrainingSpeed(len(train_l))
        history = fit(args, run_dir, best, speed, classes, (train_l, train_ab), (val_l, val_ab))
    finally:
        keras.mixed_precision.set_global_policy(previous_policy)

    rows = trim_history(run_dir / "history.csv", math.inf)
    losses = [float(row["val_loss"]) for row in rows]
    if not losses or any(math.isnan(float(row["loss"])) for row in rows):
        raise SystemExit(f"train.py: training diverged (NaN loss) in {run_dir}; "
                         "try a lower --learning-rate")
    config.update(status="finished", epochs_run=len(rows), best_val_loss=min(losses),
                  best_epoch=int(rows[int(np.argmin(losses))]["epoch"]) + 1,
                  images_per_second=speed.images_per_second())
    write_json_atomic(run_dir / "config.json", config)
    print(f"best val loss {config['best_val_loss']:.5f} (epoch {config['best_epoch']}), "
          f"{len(rows)} epochs run ({len(history.epoch)} in this call), "
          f"{config['images_per_second']:.1f} training images/s")
    return config


def main(argv=None):
    train(parse_args(argv))
    return 0


if __name__ == "__main__":
    sys.exit(main())
