"""Colour as classes: Zhang-style quantized ab, soft targets, rebalancing, annealed mean.

MSE regression averages the plausible colours of a pixel into gray-brown. Zhang, Isola and
Efros (Colorful Image Colorization, ECCV 2016) predict a distribution over quantized ab
instead, weight rare colours up, and decode with an "annealed mean" between mode and mean.
This module holds every piece of that, so train.py only swaps the loss and the output head:

    bins = quantized_gamut()                              # (Q, 2) ab centres, sRGB gamut
    prior = class_prior(train_ab, bins)                   # smoothed empirical distribution
    weights = rebalancing_weights(prior)                  # E_prior[weights] = 1
    logits = classification_head(features_at_quarter_resolution, len(bins))
    model.compile(loss=make_loss(bins, weights), ...)     # y_true = ab/128, full resolution
    ab_model = ab_output_model(model, bins)               # outputs ab/128 at full resolution

The saved ab_model uses built-in Keras layers only (Rescaling, Softmax, a fixed 1x1 Conv2D,
UpSampling2D), so it keeps the project's model contract and loads in safe mode.
"""

import functools
import json

import cpu  # noqa: F401  (TensorFlow's CPU settings: before TensorFlow loads)
import keras
import numpy as np
import tensorflow as tf
from keras import layers
from tqdm import tqdm

import files
import lab
from recipe import MIX, NEIGHBOURS, SIGMA, TEMPERATURE

GRID = 10.0  # ab quantization step, as in the paper
GAMUT_TOLERANCE = 0.5  # max |Lab -> sRGB -> Lab| error, in Lab units, of an in-gamut colour
TARGET_STRIDE = 4  # the class distribution is predicted at a quarter of the input resolution
GRAY_THRESHOLD = 5.0  # an image whose |a| and |b| never exceed this has no colour to learn


# ---------------------------------------------------------------------------------------------
# The quantized gamut


def is_in_srgb_gamut(lab_colours, tolerance=GAMUT_TOLERANCE):
    """True where a Lab colour survives Lab -> sRGB -> Lab: sRGB can show it.

    lab.lab_to_rgb clips out-of-gamut colours into the sRGB cube, so the round trip of
    such a colour lands elsewhere; of an in-gamut colour it comes back within float error.
    """
    lab_colours = np.asarray(lab_colours, dtype=np.float32)
    round_trip = lab.rgb_to_lab(lab.lab_to_rgb(lab_colours))
    return np.abs(round_trip - lab_colours).max(axis=-1) < tolerance


@functools.lru_cache(maxsize=8)
def _gamut_bins(grid, tolerance, lightness_steps):
    """Cached: the gamut takes ~0.1 s and every caller asks for the same one."""
    half_range = int(np.ceil(130.0 / grid))  # sRGB a*, b* stay within about -108..+99
    axis = np.arange(-half_range, half_range + 1) * grid
    centres = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    lightness = np.linspace(0.0, 100.0, lightness_steps)
    colours = np.concatenate(
        np.broadcast_arrays(lightness[:, None, None], centres[None, :, :1], centres[None, :, 1:]),
        axis=-1,
    )  # (L, Q, 3)
    reachable = is_in_srgb_gamut(colours, tolerance).any(axis=0)
    return centres[reachable].astype(np.float32)


def quantized_gamut(grid=GRID, tolerance=GAMUT_TOLERANCE, lightness_steps=201):
    """ab bin centres (Q, 2), float32: the grid points that are an sRGB colour at some L.

    A bin is kept when its centre (a, b), at some lightness L in 0..100, is in the sRGB
    gamut (see is_in_srgb_gamut). For grid 10 that gives 229 bins, and every sRGB colour
    lies within 9.3 units of one. The paper's 313 bins reach beyond sRGB: of the 261 grid
    cells that sRGB colours fall into, 32 have their centre outside the gamut.
    """
    if grid <= 0:
        raise ValueError(f"grid must be positive, got {grid}")
    return _gamut_bins(float(grid), float(tolerance), int(lightness_steps)).copy()


def nearest_bins_numpy(ab, bins, grid=GRID):
    """Index of the nearest bin centre for every ab (..., 2): exact, and fast on big arrays.

    Rounding to the grid finds the nearest grid point; where that point is a bin it is also
    the nearest bin. Only the few colours whose grid point lies outside the gamut need a
    search over all bins.
    """
    ab = np.asarray(ab, dtype=np.float32)
    bins = np.asarray(bins, dtype=np.float32)
    flat = ab.reshape(-1, 2)
    cells = np.rint(bins / grid).astype(np.int64)
    offset = -cells.min() + 1
    size = cells.max() + offset + 2
    table = np.full((size, size), -1, dtype=np.int64)
    table[cells[:, 0] + offset, cells[:, 1] + offset] = np.arange(len(bins))
    pixel_cells = np.clip(np.rint(flat / grid).astype(np.int64) + offset, 0, size - 1)
    index = table[pixel_cells[:, 0], pixel_cells[:, 1]]
    missing = np.flatnonzero(index < 0)
    if missing.size:
        distances = ((flat[missing, None, :] - bins[None, :, :]) ** 2).sum(axis=-1)
        index[missing] = distances.argmin(axis=-1)
    return index.reshape(ab.shape[:-1])


# ---------------------------------------------------------------------------------------------
# Soft-encoding of the target


CANDIDATE_REACH = 160.0  # the candidate table covers |a|, |b| up to this (sRGB: within ~110)
FAR_AWAY = 1.0e4  # ab of the padding bin that fills short candidate lists; never among the k


@functools.lru_cache(maxsize=16)
def _candidate_table(bins_bytes, neighbours, grid):
    """(C, M) int32 table: for each cell of a `grid` lattice, every bin that can be among the k
    nearest of some point in the cell; short rows are padded with index Q (FAR_AWAY). Exact:
    at any point of the cell the k-th nearest bin is no farther than T, the k-th smallest
    farthest-point distance from the cell to a bin, and a bin whose nearest-point distance
    from the cell exceeds T is never within T.
    """
    bins = np.frombuffer(bins_bytes, np.float32).reshape(-1, 2).astype(np.float64)
    half = int(np.ceil(CANDIDATE_REACH / grid))
    axis = np.arange(-half, half + 1) * grid
    cells = np.stack(np.meshgrid(axis, axis, indexing="ij"), axis=-1).reshape(-1, 2)
    offset = np.abs(bins[None, :, :] - cells[:, None, :])  # (C, Q, 2)
    nearest = (np.maximum(offset - grid / 2, 0.0) ** 2).sum(axis=-1)
    farthest = ((offset + grid / 2) ** 2).sum(axis=-1)
    threshold = np.sort(farthest, axis=1)[:, neighbours - 1]
    candidate = nearest <= threshold[:, None] * (1 + 1e-9)
    table = np.full((len(cells), candidate.sum(axis=1).max()), len(bins), dtype=np.int32)
    for row, mask in enumerate(candidate):
        found = np.flatnonzero(mask)
        table[row, : len(found)] = found
    return table, half


def neighbour_weights(ab, bins, neighbours=NEIGHBOURS, sigma=SIGMA, grid=GRID):
    """TensorFlow: for ab (P, 2), the k nearest bins (P, k) and their Gaussian weights (P, k).

    Exact, without a distance to every bin: each pixel looks up the few candidate bins of its
    grid cell (_candidate_table, about 20 instead of Q) and picks the k nearest of those.
    Index 0 of each row is the nearest bin, which sets the pixel's rebalancing weight.
    """
    bins = np.asarray(bins, dtype=np.float32)
    if not 1 <= neighbours <= len(bins):
        raise ValueError(f"neighbours must be in 1..{len(bins)}, got {neighbours}")
    table, half = _candidate_table(bins.tobytes(), int(neighbours), float(grid))
    centres = tf.constant(np.concatenate([bins, [[FAR_AWAY, FAR_AWAY]]]).astype(np.float32))
    ab = tf.cast(ab, tf.float32)
    cell = tf.clip_by_value(tf.cast(tf.round(ab / grid), tf.int32) + half, 0, 2 * half)
    candidates = tf.gather(tf.constant(table), cell[:, 0] * (2 * half + 1) + cell[:, 1])
    squared = tf.reduce_sum(tf.square(ab[:, None, :] - tf.gather(centres, candidates)), -1)
    negative_nearest, position = tf.math.top_k(-squared, k=neighbours)  # (P, M) -> (P, k)
    index = tf.gather(candidates, position, batch_dims=1)
    distance2 = -negative_nearest
    weights = tf.exp(-(distance2 - distance2[:, :1]) / (2.0 * sigma**2))  # shift: no underflow
    return index, weights / tf.reduce_sum(weights, axis=-1, keepdims=True)


# ---------------------------------------------------------------------------------------------
# Which images take part, at which resolution


def non_gray_images(ab, threshold=GRAY_THRESHOLD):
    """Per-image mask (N,): 1.0 where some pixel has |a| or |b| above threshold.

    Grayscale-only images (old photos, fog) teach nothing about colour and pull every
    prediction to gray; Zhang left them out of the loss the same way.
    """
    if isinstance(ab, np.ndarray):
        return (np.abs(ab).max(axis=(1, 2, 3)) > threshold).astype(np.float32)
    return tf.cast(tf.reduce_max(tf.abs(ab), axis=(1, 2, 3)) > threshold, tf.float32)


def downsample_targets(ab, stride=TARGET_STRIDE):
    """(N, H, W, 2) -> (N, H/stride, W/stride, 2) by block mean: the colour each output cell sees.

    Numpy in, numpy out (for the prior); tensors go through average pooling (for the loss).
    """
    if stride == 1:
        return ab
    if isinstance(ab, np.ndarray):
        n, height, width, channels = ab.shape
        height, width = height // stride * stride, width // stride * stride
        blocks = ab[:, :height, :width].reshape(
            n, height // stride, stride, width // stride, stride, channels
        )
        return blocks.mean(axis=(2, 4), dtype=np.float32)
    return tf.nn.avg_pool2d(ab, ksize=stride, strides=stride, padding="VALID")


# ---------------------------------------------------------------------------------------------
# Class rebalancing


def smooth_distribution(distribution, bins, sigma=SIGMA):
    """Blur a distribution over bins with a Gaussian on the ab plane, keeping its total mass."""
    bins = np.asarray(bins, dtype=np.float64)
    distances = ((bins[:, None, :] - bins[None, :, :]) ** 2).sum(axis=-1)
    kernel = np.exp(-distances / (2 * sigma**2))
    kernel /= kernel.sum(axis=0, keepdims=True)  # each bin spreads exactly its own mass
    return kernel @ np.asarray(distribution, dtype=np.float64)


def class_prior(
    train_ab,
    bins,
    sigma=SIGMA,
    stride=TARGET_STRIDE,
    gray_threshold=GRAY_THRESHOLD,
    chunk=256,
    progress=False,
):
    """Smoothed empirical distribution (Q,) of the nearest bins of the training targets.

    train_ab: (N, H, W, 2) in Lab units, typically a read-only memmap from dataset.load_split;
    read in chunks. It counts what the loss sees: targets downsampled by `stride`, colour
    images only.
    """
    counts = np.zeros(len(bins), dtype=np.float64)
    starts = range(0, len(train_ab), chunk)
    for start in tqdm(starts, desc="class prior", unit="chunk", disable=not progress):
        block = np.asarray(train_ab[start : start + chunk], dtype=np.float32)
        block = block[non_gray_images(block, gray_threshold) > 0]
        index = nearest_bins_numpy(downsample_targets(block, stride), bins)
        counts += np.bincount(index.ravel(), minlength=len(bins))
    if counts.sum() == 0:
        raise ValueError("no colour pixels in the training targets: cannot estimate a prior")
    return smooth_distribution(counts / counts.sum(), bins, sigma).astype(np.float32)


def rebalancing_weights(prior, mix=MIX):
    """Per-bin loss weights (Q,): inverse of prior mixed with uniform, E_prior[w] = 1.

    Without them the loss is dominated by the common low-chroma bins (sky, rock, haze)
    and the network learns to predict those.
    """
    if not 0.0 < mix <= 1.0:
        raise ValueError(f"mix (lambda) must be in (0, 1], got {mix}")
    prior = np.asarray(prior, dtype=np.float64)
    weights = 1.0 / ((1.0 - mix) * prior + mix / len(prior))
    return (weights / (prior * weights).sum()).astype(np.float32)


# ---------------------------------------------------------------------------------------------
# The loss


@keras.saving.register_keras_serializable(package="ab_classes")
class RebalancedClassLoss(keras.losses.Loss):
    """Class-rebalanced cross-entropy between predicted bin logits and soft-encoded ab.

    y_true: ab / 128 (the project's target), at `target_stride` times the logits' resolution.
    y_pred: logits (N, h, w, Q). Returns the per-pixel loss; gray images contribute zero.
    `mse_weight` > 0 adds that many times the squared error of the distribution's mean ab,
    in units of the bin grid (GRID ab units): the cross-entropy rewards putting mass on the
    right colours, the squared error a mean that lands near the truth, as MSE regression does.
    """

    def __init__(
        self,
        bins,
        weights,
        neighbours=NEIGHBOURS,
        sigma=SIGMA,
        target_stride=TARGET_STRIDE,
        gray_threshold=GRAY_THRESHOLD,
        mse_weight=0.0,
        name="rebalanced_class_loss",
        **kwargs,
    ):
        super().__init__(name=name, **kwargs)
        self.bins = np.asarray(bins, dtype=np.float32)
        self.weights = np.asarray(weights, dtype=np.float32)
        if self.bins.ndim != 2 or self.bins.shape[1] != 2:
            raise ValueError(f"bins must have shape (Q, 2), got {self.bins.shape}")
        if self.weights.shape != (len(self.bins),):
            raise ValueError(
                f"weights must have shape ({len(self.bins)},), got {self.weights.shape}"
            )
        self.neighbours = int(neighbours)
        self.sigma = float(sigma)
        self.target_stride = int(target_stride)
        self.gray_threshold = float(gray_threshold)
        self.mse_weight = float(mse_weight)

    def call(self, y_true, y_pred):
        ab = tf.cast(y_true, tf.float32) * lab.AB_SCALE
        image_mask = non_gray_images(ab, self.gray_threshold)  # on full-resolution targets
        ab = tf.reshape(downsample_targets(ab, self.target_stride), (-1, 2))
        logits = tf.cast(y_pred, tf.float32)
        pixel_shape = tf.shape(logits)[:-1]
        index, soft = neighbour_weights(ab, self.bins, self.neighbours, self.sigma)
        log_probs = tf.nn.log_softmax(tf.reshape(logits, (-1, len(self.bins))), axis=-1)
        cross_entropy = -tf.reduce_sum(soft * tf.gather(log_probs, index, batch_dims=1), -1)
        rebalanced = cross_entropy * tf.gather(tf.constant(self.weights), index[:, 0])
        if self.mse_weight > 0:
            mean_ab = tf.matmul(tf.exp(log_probs), tf.constant(self.bins))
            squared = tf.reduce_sum(tf.square(mean_ab - ab), -1)
            rebalanced += self.mse_weight * squared / GRID**2
        return tf.reshape(rebalanced, pixel_shape) * image_mask[:, None, None]

    def get_config(self):
        config = super().get_config()
        config.update(
            bins=self.bins.tolist(),
            weights=self.weights.tolist(),
            neighbours=self.neighbours,
            sigma=self.sigma,
            target_stride=self.target_stride,
            gray_threshold=self.gray_threshold,
            mse_weight=self.mse_weight,
        )
        return config


def make_loss(bins, weights, neighbours=NEIGHBOURS, sigma=SIGMA, target_stride=TARGET_STRIDE,
              gray_threshold=GRAY_THRESHOLD, mse_weight=0.0):
    """The Keras loss for `model.compile(loss=...)` of a logits model (see RebalancedClassLoss)."""
    return RebalancedClassLoss(bins, weights, neighbours, sigma, target_stride, gray_threshold,
                               mse_weight)


# ---------------------------------------------------------------------------------------------
# Heads: logits for training, annealed-mean ab for the saved model


def classification_head(features, num_bins, downsample=1, name="ab_logits"):
    """Shared by all three families: features -> Q logits at 1/4 of the input resolution.

    Features already at 1/4 resolution get a 1x1 conv. Finer features (a ResNet's full
    resolution: downsample=4; a U-Net's 1/2: downsample=2) get a conv with kernel and stride
    `downsample`, a linear map from each patch to its logits. float32, so that the softmax
    and the loss stay exact under a mixed-precision policy.
    """
    if downsample < 1:
        raise ValueError(f"downsample must be a positive integer, got {downsample}")
    return layers.Conv2D(num_bins, downsample, strides=downsample, dtype="float32",
                         name=name)(features)


def decode_annealed_mean(logits, bins, temperature=TEMPERATURE, upsample=TARGET_STRIDE):
    """Keras layers: logits -> softmax(logits / T) -> expected ab / 128 -> bilinear upsampling.

    The expectation over bin centres is a 1x1 convolution whose fixed, non-trainable kernel
    holds the centres, so the whole decoder is built-in layers and loads in safe mode.
    """
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature}")
    bins = np.asarray(bins, dtype=np.float32)
    annealed = layers.Rescaling(1.0 / temperature, dtype="float32", name="ab_anneal")(logits)
    probabilities = layers.Softmax(axis=-1, dtype="float32", name="ab_probabilities")(annealed)
    expectation = layers.Conv2D(
        2, 1, use_bias=False, trainable=False, dtype="float32", name="ab_expectation"
    )
    ab = expectation(probabilities)
    expectation.set_weights([(bins / lab.AB_SCALE).reshape(1, 1, len(bins), 2)])
    if upsample > 1:
        ab = layers.UpSampling2D(
            upsample, interpolation="bilinear", dtype="float32", name="ab_upsample"
        )(ab)
    return ab


def ab_output_model(logits_model, bins, temperature=TEMPERATURE, upsample=TARGET_STRIDE):
    """Wrap a trained logits model into the project contract: L/50-1 in, ab/128 out, full size.

    It shares the logits model's layers (no copy); save this one as model.keras.
    """
    ab = decode_annealed_mean(logits_model.outputs[0], bins, temperature, upsample)
    return keras.Model(logits_model.input, ab, name=f"{logits_model.name}_annealed_mean")


# ---------------------------------------------------------------------------------------------
# Storing the classes with a run


def write_classes(path, bins, prior, weights, **settings):
    """Write bins, prior, weights and settings (neighbours, sigma, ...) as JSON, atomically."""
    record = {
        "bins": np.asarray(bins, dtype=float).tolist(),
        "prior": np.asarray(prior, dtype=float).tolist(),
        "weights": np.asarray(weights, dtype=float).tolist(),
        **settings,
    }
    files.write_json_atomic(path, record, indent=1)


def read_classes(path):
    """Read what write_classes wrote; bins, prior, weights come back as float32 arrays."""
    with open(path) as handle:
        record = json.load(handle)
    for key in ("bins", "prior", "weights"):
        record[key] = np.asarray(record[key], dtype=np.float32)
    return record
