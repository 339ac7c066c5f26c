"""What one training is made of, shared by train.py (model.fit on one device) and distributed.py
(tf.distribute, its own loop): the tf.data pipeline, the model, loss and optimizer factory, the
precision policy and train_into_run, which takes a run folder from the dataset to the finished
config.json. The options are recipe.TrainConfig. It imports neither script: data flows
train.py -> distributed.py -> training.py -> runs.py.
"""

import dataclasses
import math
from pathlib import Path

import numpy as np

import cpu  # TensorFlow's CPU settings: before TensorFlow loads
import keras
import tensorflow as tf

import ab_classes
import callbacks
import dataset
import lab
import models
import runs
from recipe import LOSSES, OPTIMIZERS

LOSS_DESCRIPTIONS = {
    "mse": "mean squared error of ab/128",
    "mae": "mean absolute error of ab/128",
    "huber": "Huber loss of ab/128",
    "distance": "mean Euclidean distance in the ab plane of ab/128 (the error AuC thresholds)",
    "classification": "class-rebalanced cross-entropy over quantized ab bins "
                      "(not comparable with the regression losses)",
}
BF16_CPU_FLAGS = ("avx512_bf16", "amx_bf16")


@dataclasses.dataclass
class RunState:
    """What a fit function gets of the run folder: where it is, the first epoch still to run,
    the best val_loss so far, the speed callback, (classification only) the ab classes and the
    epochs run since the best one (what --patience has waited through before a resume)."""

    folder: Path
    start: int
    best: float
    speed: callbacks.TrainingSpeed
    classes: dict = None
    since_best: int = 0


# --------------------------------------------------------------------------- data


def binomial_blur(images):
    """(N, H, W, 1) smoothed by the 3x3 binomial kernel, edges mirrored (no dark border)."""
    taps = tf.constant([1.0, 2.0, 1.0]) / 4.0
    kernel = tf.reshape(taps[:, None] * taps[None, :], (3, 3, 1, 1))
    padded = tf.pad(images, [[0, 0], [1, 1], [1, 1], [0, 0]], mode="REFLECT")
    return tf.nn.conv2d(padded, kernel, strides=1, padding="VALID")


def make_dataset(lightness, ab, batch_size, shuffle=False, flip=False, tone=0.0, hue=0.0,
                 sharpen=0.0, seed=0, take=None, shard=(0, 1)):
    """A tf.data pipeline over (memory-mapped) Lab arrays -> (L/50-1, ab/128) batches.

    Only indices live in tf.data: each batch gathers its rows from the arrays with one sorted
    fancy-index read, so a dataset larger than memory is never loaded, let alone twice.
    Flipping is horizontal and applied to L and ab together. `tone` > 0 gives each training
    image a random tone curve on L alone (gamma of L/100 between exp(-tone) and exp(tone)):
    a camera's exposure and contrast do not change what colour a thing is, and procedural
    scenes tie colour to lightness more tightly than photos do. `hue` > 0 turns each training
    image's ab plane by a random angle of up to +-hue degrees (chroma and L unchanged): domain
    randomisation of the generator's palette, whose exact hues are its own, not the world's.
    `sharpen` > 0 sharpens each training image's L by a random amount k up to `sharpen`
    (L + k (L - its 3x3 binomial blur)): photos brought to 128 px carry more detail per pixel
    than the landscapes (mean |gradient of L| 4.6 against 3.2; k = 1 gives the landscapes 4.8).
    Each augmentation draws with its own op seed: ops seeded alike draw the same numbers, which
    would flip exactly the images that get a dark tone curve or a negative hue turn.
    For tf.distribute (see
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

    @tf.autograph.experimental.do_not_convert
    def random_tone(x, y):
        gamma = tf.exp(tf.random.uniform((tf.shape(x)[0], 1, 1, 1), -tone, tone, seed=seed + 1))
        return tf.clip_by_value((x + 1.0) * 0.5, 0.0, 1.0) ** gamma * 2.0 - 1.0, y

    @tf.autograph.experimental.do_not_convert
    def random_hue(x, y):
        angle = tf.random.uniform((tf.shape(y)[0], 1, 1), -hue, hue, seed=seed + 2) * (np.pi / 180)
        cos, sin = tf.cos(angle), tf.sin(angle)
        a, b = y[..., 0], y[..., 1]
        return x, tf.stack([a * cos - b * sin, a * sin + b * cos], axis=-1)

    @tf.autograph.experimental.do_not_convert
    def random_sharpen(x, y):
        amount = tf.random.uniform((tf.shape(x)[0], 1, 1, 1), 0.0, sharpen, seed=seed + 3)
        return tf.clip_by_value(x + amount * (x - binomial_blur(x)), -1.0, 1.0), y

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
    if tone > 0:
        data = data.map(random_tone, num_parallel_calls=tf.data.AUTOTUNE)
    if hue > 0:
        data = data.map(random_hue, num_parallel_calls=tf.data.AUTOTUNE)
    if sharpen > 0:
        data = data.map(random_sharpen, num_parallel_calls=tf.data.AUTOTUNE)
    return data.prefetch(tf.data.AUTOTUNE)


def load_data(folder):
    """(meta, train arrays, val arrays), or a clear SystemExit when the dataset is unusable."""
    try:
        meta = dataset.read_meta(folder)
        dataset.check_generator(meta, folder)
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
    """The Keras dtype policy for --precision: auto = bfloat16 where the hardware has it and
    oneDNN may use it (not under ONEDNN_MAX_CPU_ISA=AVX2, which imitates an AVX2-only CPU)."""
    if choice == "float32":
        return "float32"
    if choice == "bfloat16":
        return "mixed_bfloat16"
    has_bf16 = (any(flag in cpu.flags() for flag in BF16_CPU_FLAGS)
                and cpu.bfloat16_kernels())
    return "mixed_bfloat16" if has_bf16 or tf.config.list_physical_devices("GPU") else "float32"


@keras.saving.register_keras_serializable(package="training")
class AbDistance(keras.losses.Loss):
    """Per pixel, the Euclidean distance between predicted and true ab (on the ab/128 scale).

    AuC is one minus the mean of this distance clipped at 150 ab units, over 150: a network
    trained on it learns the colour nearest to all the likely ones (their geometric median),
    where MSE learns their mean, which for a pixel that may be green or gray is a grayish green
    far from both. `epsilon` smooths the square root's kink at zero error.
    """

    def __init__(self, epsilon=1e-3, name="ab_distance", **kwargs):
        super().__init__(name=name, **kwargs)
        self.epsilon = float(epsilon)

    def call(self, y_true, y_pred):
        error = keras.ops.cast(y_pred, "float32") - keras.ops.cast(y_true, "float32")
        return keras.ops.sqrt(keras.ops.sum(keras.ops.square(error), axis=-1)
                              + self.epsilon ** 2)

    def get_config(self):
        return {**super().get_config(), "epsilon": self.epsilon}


def build_loss(name, huber_delta=0.1):
    """A Keras loss on the ab/128 scale: built-in ones, and AbDistance (registered, so a
    compiled model.keras loads wherever training.py is imported; colorize.py, ensemble.py and
    evaluate.py load without compiling, in safe mode)."""
    if name == "mse":
        return keras.losses.MeanSquaredError()
    if name == "mae":
        return keras.losses.MeanAbsoluteError()
    if name == "huber":
        return keras.losses.Huber(delta=huber_delta)
    if name == "distance":
        return AbDistance()
    raise ValueError(f"unknown loss {name!r}; choose one of {LOSSES}")


def steps_per_epoch(count, batch_size):
    """make_dataset's batches per epoch: the last one may be short, not dropped."""
    return -(-count // batch_size)


def learning_rate_of(config, steps_per_epoch=None):
    """--learning-rate, or with --cosine a schedule from it down to 0 over all the run's steps.

    A constant rate leaves Adam's last steps as large as its first, so the saved weights are
    wherever the last noisy step left them; a decaying rate settles them. The schedule counts
    the optimizer's own steps, which the epoch backup restores, so a resumed run picks it up
    where the killed one stopped.
    """
    if not config.cosine:
        return config.learning_rate
    if not steps_per_epoch:
        raise ValueError("--cosine needs the number of steps per epoch")
    return keras.optimizers.schedules.CosineDecay(config.learning_rate,
                                                  config.epochs * steps_per_epoch)


NOT_DECAYED = ("bias", "gamma", "beta")  # offsets and BatchNorm scales: no size to regularise


def build_optimizer(name, learning_rate, weight_decay=0.0):
    """The optimizer; weight_decay > 0 shrinks every kernel by that share of itself times the
    learning rate each step, apart from the gradient (decoupled, as AdamW): a network that must
    keep its weights small cannot memorise the landscapes' particulars as cheaply."""
    optimizers = {"adam": keras.optimizers.Adam, "rmsprop": keras.optimizers.RMSprop}
    if name not in optimizers:
        raise ValueError(f"unknown optimizer {name!r}; choose one of {OPTIMIZERS}")
    optimizer = optimizers[name](learning_rate, weight_decay=weight_decay or None)
    if weight_decay:
        optimizer.exclude_from_weight_decay(var_names=list(NOT_DECAYED))
    return optimizer


def prepare_classes(config, run_dir, train_ab):
    """The ab classes of a classification run: read back on resume, else computed and written.

    The prior comes from the train split at the loss's resolution; reading it back keeps a
    resumed run on exactly the loss it started with.
    """
    path = Path(run_dir) / runs.CLASSES_FILE
    if not path.is_file():
        bins = ab_classes.quantized_gamut()
        try:
            prior = ab_classes.class_prior(train_ab, bins, sigma=config.sigma,
                                           progress=config.verbose > 0)
        except ValueError as error:
            raise SystemExit(f"train.py: --loss classification: {error}") from None
        weights = ab_classes.rebalancing_weights(prior, config.rebalance_mix)
        ab_classes.write_classes(path, bins, prior, weights, neighbours=config.neighbours,
                                 sigma=config.sigma, rebalance_mix=config.rebalance_mix,
                                 temperature=config.temperature,
                                 target_stride=ab_classes.TARGET_STRIDE)
    return ab_classes.read_classes(path)


def build_compiled_model(config, classes=None, steps_per_epoch=None):
    """The network of config's model/preset/width, compiled with its loss and optimizer
    (steps_per_epoch: the optimizer steps of one epoch, which --cosine needs).

    For --loss classification (classes from prepare_classes) it is the logits model, trained
    on ab/128 targets by the rebalanced loss; save model_to_save(...) of it. Build under the
    wanted precision policy; XLA stays off unless --xla (3 to 8x slower on the reference CPU).
    """
    optimizer = build_optimizer(config.optimizer, learning_rate_of(config, steps_per_epoch),
                                config.weight_decay)
    if config.loss != "classification":
        model = models.build_model(config.model, config.preset, config.width)
        model.compile(optimizer=optimizer, loss=build_loss(config.loss, config.huber_delta),
                      jit_compile=config.xla, steps_per_execution=config.steps_per_execution)
        return model
    if classes is None:
        raise ValueError("--loss classification needs the run's classes (prepare_classes)")
    model = models.build_model(config.model, config.preset, config.width, head="classification",
                               num_bins=len(classes["bins"]))
    model.compile(optimizer=optimizer, jit_compile=config.xla,
                  steps_per_execution=config.steps_per_execution,
                  loss=ab_classes.make_loss(classes["bins"], classes["weights"],
                                            config.neighbours, config.sigma,
                                            mse_weight=config.mse_weight))
    return model


def model_to_save(model, config, classes=None):
    """What model.keras holds: L/50-1 in, ab/128 out at full size, whatever the loss.

    A classification model is wrapped in its annealed-mean decoder (shared layers, built-in
    Keras only), so evaluate.py and colorize.py need no special case; a distance model is saved
    without its compiled loss, which only this module knows.
    """
    if config.loss == "distance":  # uncompiled: plain Keras loads it without AbDistance
        return keras.Model(model.input, model.output, name=model.name)
    if config.loss != "classification":
        return model
    return ab_classes.ab_output_model(model, classes["bins"], config.temperature)


def make_callbacks(config, run, saved_model=None):
    """callbacks.make_callbacks with config's --patience and --tensorboard."""
    return callbacks.make_callbacks(run.folder, run.best, run.speed, saved_model,
                                    patience=config.patience, tensorboard=config.tensorboard,
                                    since_best=run.since_best)


# --------------------------------------------------------------------------- one run


def record_classes(config, run_dir, train_ab, record):
    """prepare_classes, and what config.json says of them; None for a regression loss."""
    if config.loss != "classification":
        return None
    classes = prepare_classes(config, run_dir, train_ab)
    record["ab_classes"] = {"file": runs.CLASSES_FILE, "bins": len(classes["bins"]),
                            **{key: classes[key] for key in ("neighbours", "sigma",
                                                             "rebalance_mix", "temperature",
                                                             "target_stride")}}
    return classes


def best_row(rows):
    """(index, val_loss) of the row of history.csv's `rows` with the lowest val_loss, the first
    of equals; (None, inf) where none has one. A NaN val_loss is never the best, as
    BestModelCheckpoint and EarlyStopping judge it (NaN < x is false): config.json's results and
    the resumed callbacks then name the epoch whose model model.keras holds."""
    losses = [float(row["val_loss"]) for row in rows]
    numbers = [index for index, loss in enumerate(losses) if not math.isnan(loss)]
    if not numbers:
        return None, math.inf
    index = min(numbers, key=losses.__getitem__)
    return index, losses[index]


def results_of(rows, run_dir):
    """The results config.json gets from history.csv, or a SystemExit if training diverged."""
    best, best_val_loss = best_row(rows)
    if best is None or any(math.isnan(float(row["loss"])) for row in rows):
        raise SystemExit(f"train.py: training diverged (NaN loss) in {run_dir}; a run folder "
                         "keeps its arguments, so to try a lower --learning-rate train into "
                         "another --run name or delete the folder")
    return {"status": "finished", "epochs_run": len(rows), "best_val_loss": best_val_loss,
            "best_epoch": int(rows[best]["epoch"]) + 1}


def epochs_since_best(rows):
    """How many epochs of history.csv's `rows` came after the lowest val_loss (all of them
    where none has one): what --patience has already waited through when a run resumes."""
    best, _ = best_row(rows)
    return len(rows) - 1 - best if best is not None else len(rows)


def run_policy(record, choice):
    """The precision policy to train in: the one config.json recorded when the run started,
    else resolve_precision(choice). A run resumed on another machine keeps its precision
    (both run on every CPU, bfloat16 slower without native support): --precision auto might
    choose otherwise there, and one run would mix the numerics of two."""
    return record.get("policy") or resolve_precision(choice)


def augmentation_of(config):
    """make_dataset's keywords for the training split: shuffled and augmented as config says,
    every draw from --seed. train.py and distributed.py both take them from here."""
    return dict(shuffle=True, flip=config.flip, tone=config.tone, hue=config.hue,
                sharpen=config.sharpen, seed=config.seed)


def train_into_run(config, fit):
    """Fit one model into config's run folder; returns the finished config (with the results).

    fit(config, run, train_arrays, val_arrays) -> keras History trains from run.start to
    config.epochs with make_callbacks(config, run, ...) (train.fit_on_one_device, or
    distributed.fit under a strategy). A finished run is left as it is; one whose training
    ended but was killed before config.json said so is finished from its history.csv.
    """
    meta, (train_l, train_ab), (val_l, val_ab) = load_data(config.data)
    stride = models.total_stride(config.model, config.preset, config.head)
    if meta["size"] % stride:
        raise SystemExit(f"train.py: images of {meta['size']} px are not a multiple of the "
                         f"{config.model}-{config.preset} stride {stride} (loss {config.loss})")
    here = resolve_precision(config.precision)
    run_dir = config.run_dir
    record = runs.open_run_dir(run_dir, config.arguments(), meta, stride=stride, policy=here)
    if record.get("status") == "finished":
        runs.remove_backup(run_dir)  # left by a kill just after config.json said finished
        print(f"{run_dir} is already finished (best val loss {record['best_val_loss']:.5f}); "
              "nothing to do")
        return record

    classes = record_classes(config, run_dir, train_ab, record)
    record["loss_description"] = LOSS_DESCRIPTIONS[config.loss] + (
        f", plus {config.mse_weight:g} x the squared error of its mean ab in grid steps"
        if config.mse_weight else "")
    runs.write_config(run_dir, record)

    start, ended = runs.resume_point(run_dir, config.epochs)
    done = runs.trim_history(run_dir, start)
    _, best = best_row(done)
    policy = run_policy(record, config.precision)
    if ended:
        print(f"{run_dir}: its training ended after {len(done)} epochs; recording its results")
    elif start:
        print(f"resuming {run_dir} at epoch {start + 1} of {config.epochs}")
    if policy != here:
        print(f"precision {policy}, as the run started (--precision {config.precision} would "
              f"be {here} on this machine)")
    print(f"{config.model}-{config.preset}: {len(train_l)} training, {len(val_l)} validation "
          f"images of {meta['size']} px, precision {policy}")

    run = RunState(run_dir, start, best, callbacks.TrainingSpeed(len(train_l)), classes,
                   epochs_since_best(done))
    if not ended:
        previous_policy = keras.mixed_precision.global_policy()
        keras.mixed_precision.set_global_policy(policy)
        try:
            keras.utils.set_random_seed(config.seed)
            fit(config, run, (train_l, train_ab), (val_l, val_ab))
        finally:
            keras.mixed_precision.set_global_policy(previous_policy)
        record["images_per_second"] = run.speed.images_per_second()

    rows = runs.trim_history(run_dir, math.inf)
    record.update(results_of(rows, run_dir))
    runs.finish_run(run_dir, record)
    print(f"best val loss {record['best_val_loss']:.5f} (epoch {record['best_epoch']}), "
          f"{len(rows)} epochs run ({len(rows) - len(done)} in this call)"
          + (f", {record['images_per_second']:.1f} training images/s" if not ended else ""))
    return record
